/* arenas.c - read mp_, the ring of arenas and their heaps; then each
 * thread's tcache and arena (threads.c) and the mmapped chunks (mmapped.c). */
#include "glibc/arenas.h"

#include "glibc/mmapped.h"
#include "glibc/pieces.h"
#include "glibc/threads.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_ARENAS 65536 /* glibc's own cap is 8 per core; far beyond that is a broken ring */
#define MAX_HEAPS_PER_ARENA 1048576

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
#define W(f) (l->mp_##f >= 0 ? hs_word_at(b, (size_t)(l->mp_##f), w) : 0)
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
		a->fastbins[i] = hs_word_at(b, (size_t)(l->ms_fastbins + i * (int)w), w);
	a->top = hs_word_at(b, (size_t)l->ms_top, w);
	a->last_remainder = l->ms_last_remainder >= 0 ? hs_word_at(b, (size_t)l->ms_last_remainder, w) : 0;
	for (int i = 1; i < l->nbins && i < HS_NBINS; i++) {
		int off = l->ms_bins + (i - 1) * 2 * (int)w;
		a->bin_fd[i] = hs_word_at(b, (size_t)off, w);
		a->bin_bk[i] = hs_word_at(b, (size_t)(off + (int)w), w);
		/* bin_at(): the fake chunk whose fd/bk are the bin's two words */
		a->bin_hdr[i] = addr + (uint64_t)off - 2 * w;
	}
	for (int i = 0; i < 4 && l->ms_binmap >= 0; i++)
		a->binmap[i] = get_u32(b, l->ms_binmap + 4 * i);
	a->next = hs_word_at(b, (size_t)l->ms_next, w);
	a->next_free = l->ms_next_free >= 0 ? hs_word_at(b, (size_t)l->ms_next_free, w) : 0;
	a->attached_threads = l->ms_attached_threads >= 0 ? hs_word_at(b, (size_t)l->ms_attached_threads, w) : 0;
	a->system_mem = hs_word_at(b, (size_t)l->ms_system_mem, w);
	a->max_system_mem = hs_word_at(b, (size_t)l->ms_max_system_mem, w);
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
	uint64_t heap_max = hs_heap_max(h);
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
		uint64_t ar = hs_word_at(buf, (size_t)l->hi_ar_ptr, l->size_sz);
		uint64_t prev = hs_word_at(buf, (size_t)l->hi_prev, l->size_sz);
		s.info = s.base = hi;
		s.size = hs_word_at(buf, (size_t)l->hi_hsize, l->size_sz);
		s.mprotect_size = hs_word_at(buf, (size_t)l->hi_mprotect_size, l->size_sz);
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
	uint64_t hdr[2] = {hs_word_at(hb, (size_t)0, l->size_sz), hs_word_at(hb, (size_t)((int)l->size_sz), l->size_sz)};
	uint64_t top_size = hdr[1] & ~(uint64_t)HS_SIZE_BITS;
	uint64_t first = align_up(h->mp.sbrk_base + 2 * l->size_sz, l->align) - 2 * l->size_sz;
	/* chunk2mem(top) is aligned: on i386 chunks sit 8 bytes before 16 */
	if (((a->top + 2 * l->size_sz) & (l->align - 1)) || top_size > UINT64_MAX - a->top ||
	    top_size > h->layout->heap_max * 1024 * 1024) {
		hs_warn(w, "main arena: top chunk 0x%llx with size field 0x%llx is not a chunk of the main heap",
			(unsigned long long)a->top, (unsigned long long)hdr[1]);
		return 0;
	}
	uint64_t top_end = a->top + top_size;
	/* sysmalloc marks the arena NONCONTIGUOUS once it grew it by mmap
	 * (MORECORE failed; always, with hugetlb=2): then the pieces lie
	 * anywhere, and pieces.c finds them. Else it is one stretch from
	 * sbrk_base to the top chunk's end (a top size that disagrees with
	 * system_mem is then corruption, cut below and warned). */
	if ((a->flags & HS_ARENA_NONCONTIGUOUS) || a->top < h->mp.sbrk_base)
		return hs_pieces_find(src, h, a, first, w, err);
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
	const struct hs_map *brk = hs_maps_find(&src->maps, a->top);
	a->break_past_top = brk && !strcmp(brk->path, "[heap]") && brk->end > ((top_end + HS_PAGE_SIZE - 1) & ~(uint64_t)(HS_PAGE_SIZE - 1));
	struct hs_heapseg s = {0};
	s.base = h->mp.sbrk_base;
	s.start = first;
	s.end = top_end;
	s.size = s.mprotect_size = top_end - h->mp.sbrk_base;
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




int hs_arenas_read(struct hs_source *src, const struct hs_symbols *sym, const struct hs_task *tasks,
		   size_t ntasks, struct hs_heap *h, struct hs_warnings *w, struct hs_err *err)
{
	memset(h, 0, sizeof *h);
	h->layout = &sym->layout;
	if (read_mp(src, sym, &h->mp, err) || read_ring(src, sym, h, w, err))
		return err->code;
	h->malloc_initialised = h->arenas[0].initialised;
	/* Thread arenas first: a main arena in pieces is searched for
	 * outside their heaps. */
	for (size_t i = h->narenas; i-- > 0;) {
		struct hs_arena *a = &h->arenas[i];
		if (!a->initialised)
			continue;
		int rc = a->main ? read_main_heap(src, h, a, w, err) : read_thread_heaps(src, h, a, w, err);
		if (rc)
			return rc;
	}
	hs_threads_read(src, sym, tasks, ntasks, h, w);
	hs_mmapped_find(src, h, w);
	return 0;
}

