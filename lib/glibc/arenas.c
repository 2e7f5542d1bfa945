/* arenas.c - read mp_, the ring of arenas, their heaps, each thread's
 * tcache and arena, and find the mmapped chunks in the maps. */
#include "glibc/arenas.h"

#include "glibc/locate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_ARENAS 65536 /* glibc's own cap is 8 per core; far beyond that is a broken ring */
#define MAX_HEAPS_PER_ARENA 1048576
#define IS_MMAPPED 2
#define SIZE_BITS 7

static uint64_t get_u64(const unsigned char *b, int off)
{
	uint64_t v;
	memcpy(&v, b + off, sizeof v);
	return v;
}

static uint64_t get_word(const unsigned char *b, int off, unsigned size_sz)
{
	if (size_sz == 4) {
		uint32_t v;
		memcpy(&v, b + off, sizeof v);
		return v;
	}
	return get_u64(b, off);
}

static uint32_t get_u32(const unsigned char *b, int off)
{
	uint32_t v;
	memcpy(&v, b + off, sizeof v);
	return v;
}

static int read_or_fail(struct hs_source *src, uint64_t addr, void *buf, size_t len, const char *what,
			struct hs_err *err)
{
	if (hs_read(src, addr, buf, len) == 0)
		return 0;
	if (errno == ESRCH)
		return hs_fail(err, HS_EEXITED, "pid %d exited while being read", (int)src->pid);
	if (errno == EINTR)
		return hs_fail(err, HS_EINTERNAL, "interrupted");
	return hs_fail(err, HS_ECORRUPT, "cannot read %s at 0x%llx: %s", what, (unsigned long long)addr,
		       strerror(errno));
}

static int read_mp(struct hs_source *src, const struct hs_symbols *sym, struct hs_mp *mp,
		   struct hs_err *err)
{
	const struct hs_layout *l = &sym->layout;
	unsigned char *b = hs_xcalloc(1, (size_t)l->mp_size);
	int rc = read_or_fail(src, sym->mp, b, (size_t)l->mp_size, "mp_", err);
	if (rc == 0) {
		unsigned w = l->size_sz;
#define W(f) (l->mp_##f >= 0 ? get_word(b, l->mp_##f, w) : 0)
#define I(f) (l->mp_##f >= 0 ? (int32_t)get_u32(b, l->mp_##f) : 0)
		mp->trim_threshold = W(trim_threshold);
		mp->top_pad = W(top_pad);
		mp->mmap_threshold = W(mmap_threshold);
		mp->arena_test = W(arena_test);
		mp->arena_max = W(arena_max);
		mp->hp_pagesize = W(hp_pagesize);
		mp->n_mmaps = I(n_mmaps);
		mp->n_mmaps_max = I(n_mmaps_max);
		mp->max_n_mmaps = I(max_n_mmaps);
		mp->no_dyn_threshold = I(no_dyn_threshold);
		mp->mmapped_mem = W(mmapped_mem);
		mp->max_mmapped_mem = W(max_mmapped_mem);
		mp->sbrk_base = W(sbrk_base);
		mp->tcache_bins = W(tcache_bins);
		mp->tcache_max_bytes = W(tcache_max_bytes);
		mp->tcache_count = W(tcache_count);
		mp->tcache_unsorted_limit = W(tcache_unsorted_limit);
#undef W
#undef I
	}
	free(b);
	return rc;
}

static void parse_arena(const unsigned char *b, const struct hs_layout *l, uint64_t addr,
			struct hs_arena *a)
{
	unsigned w = l->size_sz;
	a->addr = addr;
	a->mutex = l->ms_mutex >= 0 ? get_u32(b, l->ms_mutex) : 0;
	a->flags = l->ms_flags >= 0 ? get_u32(b, l->ms_flags) : 0;
	a->have_fastchunks = l->ms_have_fastchunks >= 0 ? (int)get_u32(b, l->ms_have_fastchunks) : 0;
	for (int i = 0; i < l->nfastbins && i < HS_MAX_FASTBINS; i++)
		a->fastbins[i] = get_word(b, l->ms_fastbins + i * (int)w, w);
	a->top = get_word(b, l->ms_top, w);
	a->last_remainder = l->ms_last_remainder >= 0 ? get_word(b, l->ms_last_remainder, w) : 0;
	for (int i = 1; i < l->nbins && i < HS_NBINS; i++) {
		int off = l->ms_bins + (i - 1) * 2 * (int)w;
		a->bin_fd[i] = get_word(b, off, w);
		a->bin_bk[i] = get_word(b, off + (int)w, w);
		/* bin_at(): the fake chunk whose fd/bk are the bin's two words */
		a->bin_hdr[i] = addr + (uint64_t)off - 2 * w;
	}
	for (int i = 0; i < 4 && l->ms_binmap >= 0; i++)
		a->binmap[i] = get_u32(b, l->ms_binmap + 4 * i);
	a->next = get_word(b, l->ms_next, w);
	a->next_free = l->ms_next_free >= 0 ? get_word(b, l->ms_next_free, w) : 0;
	a->attached_threads = l->ms_attached_threads >= 0 ? get_word(b, l->ms_attached_threads, w) : 0;
	a->system_mem = get_word(b, l->ms_system_mem, w);
	a->max_system_mem = get_word(b, l->ms_max_system_mem, w);
	/* malloc_init_state points every bin at itself; zeroed bins mean
	 * malloc has never run (main_arena lives in .data/.bss). */
	a->initialised = a->bin_fd[1] != 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static void add_heap(struct hs_arena *a, const struct hs_heapseg *s)
{
	a->heaps = hs_xrealloc(a->heaps, a->nheaps + 1, sizeof *a->heaps);
	a->heaps[a->nheaps++] = *s;
}

static int cmp_heap(const void *x, const void *y)
{
	const struct hs_heapseg *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* The heaps of a thread arena: heap_for_ptr(top), then the prev chain. */
static int read_thread_heaps(struct hs_source *src, const struct hs_heap *h, struct hs_arena *a,
			     struct hs_warnings *w, struct hs_err *err)
{
	const struct hs_layout *l = h->layout;
	uint64_t heap_max = h->mp.hp_pagesize ? h->mp.hp_pagesize * 4 : l->heap_max;
	uint64_t hi = a->top & ~(heap_max - 1);
	unsigned char buf[256];
	if ((size_t)l->hi_size > sizeof buf)
		return hs_fail(err, HS_EUNSUPPORTED, "heap_info of %d bytes is larger than expected", l->hi_size);
	for (size_t n = 0; hi; n++) {
		if (n >= MAX_HEAPS_PER_ARENA) {
			hs_warn(w, "arena %d at 0x%llx: heap_info chain does not end (cycle?); cut after %zu heaps",
				a->index, (unsigned long long)a->addr, n);
			break;
		}
		for (size_t k = 0; k < a->nheaps; k++) {
			if (a->heaps[k].info == hi) {
				hs_warn(w, "arena %d: heap_info chain cycles back to 0x%llx", a->index,
					(unsigned long long)hi);
				return 0;
			}
		}
		if (hs_read(src, hi, buf, (size_t)l->hi_size) < 0) {
			if (errno == ESRCH || errno == EINTR)
				return read_or_fail(src, hi, buf, 1, "heap_info", err);
			hs_warn(w, "arena %d: heap_info at 0x%llx is not readable", a->index, (unsigned long long)hi);
			return 0;
		}
		struct hs_heapseg s = {0};
		uint64_t ar = get_word(buf, l->hi_ar_ptr, l->size_sz);
		uint64_t prev = get_word(buf, l->hi_prev, l->size_sz);
		s.info = s.base = hi;
		s.size = get_word(buf, l->hi_hsize, l->size_sz);
		s.mprotect_size = get_word(buf, l->hi_mprotect_size, l->size_sz);
		if (ar != a->addr || s.size > heap_max || s.size < (uint64_t)l->hi_size) {
			hs_warn(w, "arena %d: heap_info at 0x%llx names arena 0x%llx with size 0x%llx: not this arena's heap",
				a->index, (unsigned long long)hi, (unsigned long long)ar, (unsigned long long)s.size);
			return 0;
		}
		/* The arena's first heap holds the malloc_state itself. */
		uint64_t first = hi + (uint64_t)l->hi_size;
		if (a->addr == first)
			first = a->addr + (uint64_t)l->ms_size;
		s.start = align_up(first + 2 * l->size_sz, l->align) - 2 * l->size_sz;
		s.end = hi + s.size;
		add_heap(a, &s);
		hi = prev;
	}
	if (a->nheaps > 1)
		qsort(a->heaps, a->nheaps, sizeof *a->heaps, cmp_heap);
	return 0;
}

static int read_main_heap(struct hs_source *src, const struct hs_heap *h, struct hs_arena *a,
			  struct hs_warnings *w, struct hs_err *err)
{
	const struct hs_layout *l = h->layout;
	if (a->system_mem == 0 || h->mp.sbrk_base == 0)
		return 0; /* nothing taken from the system yet */
	unsigned char hb[16];
	if (hs_read(src, a->top, hb, 2 * l->size_sz) < 0) {
		if (errno == ESRCH || errno == EINTR)
			return read_or_fail(src, a->top, hb, 2 * l->size_sz, "main arena's top chunk", err);
		hs_warn(w, "main arena: top chunk 0x%llx is not readable: not a chunk of the main heap",
			(unsigned long long)a->top);
		return 0;
	}
	uint64_t hdr[2] = {get_word(hb, 0, l->size_sz), get_word(hb, (int)l->size_sz, l->size_sz)};
	uint64_t top_size = hdr[1] & ~(uint64_t)SIZE_BITS;
	/* chunk2mem(top) is aligned: on i386 chunks sit 8 bytes before 16 */
	if (((a->top + 2 * l->size_sz) & (l->align - 1)) || a->top < h->mp.sbrk_base || top_size > UINT64_MAX - a->top ||
	    top_size > h->layout->heap_max * 1024 * 1024) {
		hs_warn(w, "main arena: top chunk 0x%llx with size field 0x%llx is not a chunk of the main heap",
			(unsigned long long)a->top, (unsigned long long)hdr[1]);
		return 0;
	}
	uint64_t top_end = a->top + top_size;
	/* The main heap lies in memory the process has: from sbrk_base to the
	 * top chunk's end, one run of readable mappings. Anything else is
	 * corrupt (and would have the walk size its index for a heap that does
	 * not exist). */
	uint64_t mapped_end = a->top, mapped_start = a->top;
	for (const struct hs_map *m; (m = hs_maps_find(&src->maps, mapped_end)) && (m->prot & PROT_READ);)
		mapped_end = m->end;
	for (const struct hs_map *m; mapped_start && (m = hs_maps_find(&src->maps, mapped_start - 1)) &&
				     (m->prot & PROT_READ);)
		mapped_start = m->start;
	if (src->maps.n && h->mp.sbrk_base < mapped_start) {
		hs_warn(w, "main arena: sbrk_base 0x%llx is not in the mappings that hold the top chunk 0x%llx",
			(unsigned long long)h->mp.sbrk_base, (unsigned long long)a->top);
		return 0;
	}
	if (src->maps.n && top_end > mapped_end) {
		hs_warn(w, "main arena: top chunk 0x%llx with size 0x%llx runs past its mapping (ends 0x%llx); cut there",
			(unsigned long long)a->top, (unsigned long long)top_size, (unsigned long long)mapped_end);
		top_end = mapped_end;
	}
	struct hs_heapseg s = {0};
	s.base = h->mp.sbrk_base;
	s.start = align_up(h->mp.sbrk_base + 2 * l->size_sz, l->align) - 2 * l->size_sz;
	s.end = top_end;
	s.size = s.mprotect_size = top_end - h->mp.sbrk_base;
	if (top_end - h->mp.sbrk_base != a->system_mem)
		hs_warn(w, "main arena: top chunk 0x%llx ends 0x%llx bytes after sbrk_base 0x%llx, system_mem is 0x%llx (non-contiguous main heap)",
			(unsigned long long)a->top, (unsigned long long)(top_end - h->mp.sbrk_base),
			(unsigned long long)h->mp.sbrk_base, (unsigned long long)a->system_mem);
	add_heap(a, &s);
	return 0;
}

static int read_ring(struct hs_source *src, const struct hs_symbols *sym, struct hs_heap *h,
		     struct hs_warnings *w, struct hs_err *err)
{
	const struct hs_layout *l = &sym->layout;
	unsigned char *b = hs_xcalloc(1, (size_t)l->ms_size);
	uint64_t addr = sym->main_arena;
	size_t cap = 0;
	int rc = 0;
	for (;;) {
		if (h->narenas >= MAX_ARENAS) {
			hs_warn(w, "arena ring does not return to main_arena after %zu arenas; cut", h->narenas);
			break;
		}
		if (h->narenas > 0) {
			bool seen = false;
			for (size_t i = 0; i < h->narenas && !seen; i++)
				seen = h->arenas[i].addr == addr;
			if (seen) {
				hs_warn(w, "arena ring loops back to 0x%llx without passing main_arena",
					(unsigned long long)addr);
				break;
			}
		}
		if (hs_read(src, addr, b, (size_t)l->ms_size) < 0) {
			if (h->narenas == 0 || errno == ESRCH || errno == EINTR) {
				rc = read_or_fail(src, addr, b, (size_t)l->ms_size, "malloc_state", err);
				break;
			}
			hs_warn(w, "arena %zu at 0x%llx is not readable; ring cut", h->narenas,
				(unsigned long long)addr);
			break;
		}
		if (h->narenas == cap) {
			cap = cap ? cap * 2 : 8;
			h->arenas = hs_xrealloc(h->arenas, cap, sizeof *h->arenas);
		}
		struct hs_arena *a = &h->arenas[h->narenas];
		memset(a, 0, sizeof *a);
		a->index = (int)h->narenas;
		a->main = h->narenas == 0;
		parse_arena(b, l, addr, a);
		h->narenas++;
		if (a->main && !a->initialised)
			break; /* never initialised: next is still the static self-link */
		if (a->next == sym->main_arena || a->next == 0) {
			if (a->next == 0)
				hs_warn(w, "arena %d at 0x%llx has a NULL next pointer", a->index,
					(unsigned long long)addr);
			break;
		}
		addr = a->next;
	}
	free(b);
	return rc;
}

static void read_tcache(struct hs_source *src, const struct hs_layout *l, const struct hs_mp *mp,
			uint64_t v, struct hs_thread *t, struct hs_warnings *w)
{
	unsigned char *b = hs_xcalloc(1, (size_t)l->tc_size);
	if (hs_read(src, v, b, (size_t)l->tc_size) < 0) {
		hs_warn(w, "thread %d: tcache at 0x%llx is not readable", (int)t->tid, (unsigned long long)v);
		free(b);
		return;
	}
	struct hs_tcache *tc = &t->tcache;
	tc->addr = v;
	tc->nbins = l->tc_nbins < HS_MAX_TCACHE_BINS ? l->tc_nbins : HS_MAX_TCACHE_BINS;
	for (int k = 0; k < tc->nbins; k++) {
		uint64_t c = l->tc_count_width == 1 ? b[l->tc_counts + k]
						    : (uint64_t)(b[l->tc_counts + 2 * k] | b[l->tc_counts + 2 * k + 1] << 8);
		if (l->tcache_counts_down) /* 2.42+: num_slots = free slots left */
			c = c <= mp->tcache_count ? mp->tcache_count - c : 0;
		tc->counts[k] = (uint16_t)c;
		tc->entries[k] = get_word(b, l->tc_entries + k * (int)l->size_sz, l->size_sz);
	}
	free(b);
}

static void read_threads(struct hs_source *src, const struct hs_symbols *sym, const struct hs_task *tasks,
			 size_t ntasks, struct hs_heap *h, struct hs_warnings *w)
{
	const struct hs_layout *l = &sym->layout;
	h->threads = hs_xcalloc(ntasks, sizeof *h->threads);
	h->nthreads = ntasks;
	for (size_t i = 0; i < ntasks; i++) {
		struct hs_thread *t = &h->threads[i];
		t->tid = tasks[i].tid;
		t->regs = tasks[i].regs;
		t->arena = -1;
		t->in_malloc = tasks[i].in_malloc;
		t->malloc_fn = tasks[i].malloc_fn;
	}
	if (!sym->have_tls) {
		if (h->malloc_initialised && ntasks)
			hs_warn(w, "libc's TLS offset is unknown: per-thread tcaches are not read");
		return;
	}
	h->tls_tcache = l->tls_tcache;
	h->tls_thread_arena = l->tls_thread_arena;
	if (h->tls_tcache < 0 || h->tls_thread_arena < 0)
		hs_locate_tls(src, sym, h, &h->tls_tcache, &h->tls_thread_arena);
	for (size_t i = 0; i < ntasks; i++) {
		struct hs_thread *t = &h->threads[i];
		uint64_t v;
		if (h->tls_thread_arena >= 0 &&
		    hs_read_u64(src, hs_arch_tls_addr(t->regs.tp, sym->l_tls_offset, (uint64_t)h->tls_thread_arena), &v) == 0) {
			t->arena_addr = v;
			for (size_t k = 0; k < h->narenas; k++)
				if (h->arenas[k].addr == v)
					t->arena = (int)k;
		}
		if (h->tls_tcache >= 0 &&
		    hs_read_u64(src, hs_arch_tls_addr(t->regs.tp, sym->l_tls_offset, (uint64_t)h->tls_tcache), &v) == 0 &&
		    v != 0 && !hs_tcache_placeholder(h, v))
			read_tcache(src, l, &h->mp, v, t, w);
	}
}

static bool in_arena_heap(const struct hs_heap *h, uint64_t start, uint64_t end)
{
	uint64_t heap_max = h->mp.hp_pagesize ? h->mp.hp_pagesize * 4 : h->layout->heap_max;
	for (size_t i = 0; i < h->narenas; i++) {
		const struct hs_arena *a = &h->arenas[i];
		for (size_t k = 0; k < a->nheaps; k++) {
			uint64_t lo = a->main ? a->heaps[k].start : a->heaps[k].info;
			uint64_t hi = a->main ? a->heaps[k].end : a->heaps[k].info + heap_max;
			if (start < hi && end > lo)
				return true;
		}
	}
	return false;
}

/* memalign() over the mmap threshold over-allocates, then places the chunk
 * inside the mapping with prev_size = its offset, leaving the first header
 * stale (and mremap keeps it stale). The gap is never handed out, so it is
 * zero up to the real header: the first non-zero word in the mapping's
 * first page, after the stale header, is the real prev_size iff it equals
 * its own offset and is followed by an IS_MMAPPED size that ends the
 * mapping (room bytes at most). In an ordinary chunk that word is user
 * data. Returns the chunk's offset (0: none) and sets *size. */
static uint64_t aligned_inside(struct hs_source *src, const struct hs_layout *l, uint64_t a, uint64_t room,
			       uint64_t *size)
{
	uint64_t v[512]; /* one page; user data is mostly non-zero early: 64 bytes first */
	size_t lim = room / 8 < 512 ? (size_t)(room / 8) : 512, have = 0;
	for (size_t i = 2;; i++) {
		if (i + 1 >= have) {
			size_t n = have ? lim : (lim < 8 ? lim : 8);
			if (n <= have || hs_read(src, a + have * 8, v + have, (n - have) * 8) < 0)
				return 0;
			have = n;
			if (i + 1 >= have)
				return 0;
		}
		if (!v[i])
			continue;
		uint64_t off = i * 8, sz = v[i + 1] & ~(uint64_t)SIZE_BITS;
		if (v[i] != off || (off & 15) || !(v[i + 1] & IS_MMAPPED) || (v[i + 1] & 4) ||
		    ((off + sz + l->mmap_tail) & 4095) || off + sz + l->mmap_tail > room)
			return 0;
		*size = sz;
		return off;
	}
}

/* A memaligned mmapped chunk sits `offset` bytes into its mapping with
 * prev_size = offset; the mapping's start keeps the header it had before
 * (prev_size 0, the size it had then). Looks for the real header after
 * the stale one c; on success replaces c and corrects *bytes. */
static bool find_aligned_mmapped(struct hs_source *src, const struct hs_layout *l, struct hs_mmchunk *c,
				 uint64_t map_end, uint64_t *bytes)
{
	unsigned char buf[4096];
	const unsigned w = l->size_sz;
	for (uint64_t off = 2 * w; c->map_start + off + 2 * w <= map_end; off += sizeof buf - l->align) {
		uint64_t n = map_end - (c->map_start + off);
		n = n < sizeof buf ? n : sizeof buf;
		if (hs_read(src, c->map_start + off, buf, (size_t)n) < 0)
			return false;
		for (uint64_t k = 0; k + 2 * w <= n; k += l->align) {
			uint64_t pos = off + k;
			/* chunk2mem aligned: pos + 2 * SIZE_SZ is a multiple of the alignment */
			if ((pos + 2 * w) & (l->align - 1))
				continue;
			uint64_t ps = get_word(buf, (int)k, w), sz = get_word(buf, (int)(k + w), w);
			uint64_t size = sz & ~(uint64_t)SIZE_BITS, total = pos + size + l->mmap_tail;
			if (ps != pos || !(sz & IS_MMAPPED) || (sz & 4) || (total & 4095) || total > map_end - c->map_start ||
			    total <= c->map_len)
				continue;
			*bytes += total - c->map_len;
			*c = (struct hs_mmchunk){c->map_start + pos, size, c->map_start, total};
			return true;
		}
	}
	return false;
}

/* mmapped chunks are in no list: look for their headers (IS_MMAPPED, a
 * size that fits the mapping) at the start of anonymous mappings. Adjacent
 * ones share one VMA, so continue after each chunk. */
static void find_mmapped(struct hs_source *src, struct hs_heap *h, struct hs_warnings *w)
{
	const struct hs_layout *l = h->layout;
	size_t cap = 0;
	uint64_t bytes = 0;
	if (h->mp.n_mmaps <= 0)
		return;
	/* i386: MALLOC_ALIGNMENT 16 > CHUNK_HDR_SZ 8, so sysmalloc_mmap puts
	 * the chunk 8 bytes into its mapping and records that in prev_size. */
	const uint64_t corr = l->align > 2 * l->size_sz ? l->align - 2 * l->size_sz : 0;
	for (size_t i = 0; i < src->maps.n; i++) {
		const struct hs_map *m = &src->maps.v[i];
		if (m->path[0] || m->shared || (m->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE) ||
		    in_arena_heap(h, m->start, m->end))
			continue;
		for (uint64_t a = m->start; a + corr + 2 * l->size_sz <= m->end;) {
			unsigned char hb[16];
			if (hs_read(src, a + corr, hb, 2 * l->size_sz) < 0)
				break;
			uint64_t hdr[2] = {get_word(hb, 0, l->size_sz), get_word(hb, (int)l->size_sz, l->size_sz)};
			/* munmap_chunk() unmaps prev_size + size (+ a tail in 2.43)
			 * from the chunk back: at a mapping's start prev_size is 0. */
			uint64_t size = hdr[1] & ~(uint64_t)SIZE_BITS;
			uint64_t total = corr + size + l->mmap_tail;
			if (!(hdr[1] & IS_MMAPPED) || (hdr[1] & 4) || (hdr[0] & ~1ull) != corr || size < 4096 - l->mmap_tail - corr ||
			    (total & 4095) || total > m->end - a) {
				/* The mapping goes on but the chunk before claimed less:
				 * that was the stale header memalign leaves at the
				 * mapping's start, outgrown by a mremap. */
				if (h->nmmapped && h->mmapped[h->nmmapped - 1].map_start + h->mmapped[h->nmmapped - 1].map_len == a &&
				    find_aligned_mmapped(src, l, &h->mmapped[h->nmmapped - 1], m->end, &bytes)) {
					a = h->mmapped[h->nmmapped - 1].map_start + h->mmapped[h->nmmapped - 1].map_len;
					continue;
				}
				/* ... or one that claims more than the mapping, which
				 * a mremap shrank. */
				struct hs_mmchunk c = {a, size, a, 0};
				uint64_t found = 0;
				if ((hdr[1] & IS_MMAPPED) && !(hdr[1] & 4) && (hdr[0] & ~1ull) == corr && !(total & 4095) &&
				    total > m->end - a && find_aligned_mmapped(src, l, &c, m->end, &found)) {
					if (h->nmmapped == cap) {
						cap = cap ? cap * 2 : 16;
						h->mmapped = hs_xrealloc(h->mmapped, cap, sizeof *h->mmapped);
					}
					h->mmapped[h->nmmapped++] = c;
					bytes += c.map_len;
					a += c.map_len;
					continue;
				}
				break;
			}
			/* a stale header (memalign) with the real one in the first
			 * page: the gap before it is zero */
			uint64_t inner = 0, off = l->size_sz == 8 ? aligned_inside(src, l, a, m->end - a, &inner) : 0;
			if (off)
				total = off + inner + l->mmap_tail;
			if (h->nmmapped == cap) {
				cap = cap ? cap * 2 : 16;
				h->mmapped = hs_xrealloc(h->mmapped, cap, sizeof *h->mmapped);
			}
			h->mmapped[h->nmmapped++] = off ? (struct hs_mmchunk){a + off, inner, a, total}
							: (struct hs_mmchunk){a + corr, size, a, total};
			bytes += total;
			a += total;
		}
	}
	/* 2.43's mremap_chunk adds new_size - size - offset to mmapped_mem,
	 * size lacking the CHUNK_HDR_SZ tail: mp_ then runs ahead of the maps
	 * by that tail once per growing mremap. glibc's drift, not a corruption. */
	uint64_t drift = h->mp.mmapped_mem - bytes;
	bool mremap_drift = l->mmap_tail && h->mp.mmapped_mem > bytes && drift % l->mmap_tail == 0;
	if (h->nmmapped != (size_t)h->mp.n_mmaps || (bytes != h->mp.mmapped_mem && !mremap_drift))
		hs_warn(w, "mmapped chunks: found %zu (%llu bytes) in the maps, mp_ counts %d (%llu bytes)",
			h->nmmapped, (unsigned long long)bytes, h->mp.n_mmaps,
			(unsigned long long)h->mp.mmapped_mem);
}

int hs_arenas_read(struct hs_source *src, const struct hs_symbols *sym, const struct hs_task *tasks,
		   size_t ntasks, struct hs_heap *h, struct hs_warnings *w, struct hs_err *err)
{
	memset(h, 0, sizeof *h);
	h->layout = &sym->layout;
	if (read_mp(src, sym, &h->mp, err) || read_ring(src, sym, h, w, err))
		return err->code;
	h->malloc_initialised = h->arenas[0].initialised;
	for (size_t i = 0; i < h->narenas; i++) {
		struct hs_arena *a = &h->arenas[i];
		if (!a->initialised)
			continue;
		int rc = a->main ? read_main_heap(src, h, a, w, err) : read_thread_heaps(src, h, a, w, err);
		if (rc)
			return rc;
	}
	read_threads(src, sym, tasks, ntasks, h, w);
	find_mmapped(src, h, w);
	return 0;
}

bool hs_tcache_placeholder(const struct hs_heap *h, uint64_t v)
{
	return h->layout->tcache_counts_down && hs_arena_of(h, v) < 0;
}

int hs_arena_of(const struct hs_heap *h, uint64_t addr)
{
	for (size_t i = 0; i < h->narenas; i++)
		for (size_t k = 0; k < h->arenas[i].nheaps; k++)
			if (addr >= h->arenas[i].heaps[k].start && addr < h->arenas[i].heaps[k].end)
				return (int)i;
	return -1;
}

void hs_heap_free(struct hs_heap *h)
{
	for (size_t i = 0; i < h->narenas; i++) {
		for (size_t k = 0; k < h->arenas[i].nheaps; k++)
			free(h->arenas[i].heaps[k].present);
		free(h->arenas[i].heaps);
	}
	free(h->arenas);
	free(h->threads);
	free(h->mmapped);
	memset(h, 0, sizeof *h);
}
