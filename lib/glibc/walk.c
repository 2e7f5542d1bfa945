/* walk.c - stream every heap through one window and walk its chunks. */
#include "glibc/walk.h"

#include "source/stream.h"
#include "glibc/types.h"
#include "glibc/pieces.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* 1 MiB: two windows stay in cache between the copy and the walk, and
 * process_vm_readv is already at full speed (GLIBC-FACTS.md 8). */
#define DEFAULT_WINDOW (1u << 20)
/* A chunk body at least this long is jumped over, not streamed: reading
 * its header alone costs about what streaming 16 pages does. */
#define JUMP (64u << 10)
#define PREV_INUSE 1
#define NON_MAIN_ARENA 4
#define SIZE_BITS 7

struct walker {
	struct hs_index *ix;
	struct hs_progress *progress; /* NULL: none */
	uint64_t pshown;              /* where the progress counted up to */
	const struct hs_heap *h;
	const struct hs_layout *l;
	struct hs_warnings *w;
	const struct hs_segment *seg;
	struct hs_walk_arena *wa;
	/* Copies of the index's arrays and count: the hot path works on these
	 * (k is restrict, so byte stores cannot make the compiler reload). */
	struct hs_bitrank rec; /* copied to ix->recorded after the walk */
	uint32_t *fd;
	uint64_t *fd64;
	uint8_t *sz, *flags;
	uint64_t nrec, rec_limit;
	uint64_t unindexed; /* chunks past the set's 32-bit ranks */
	unsigned shift, minsize, hdr;
	bool safe_linking;
	bool keep_chunks;
	bool keep_big; /* keep the large in-use chunks the index does not record */
	bool main; /* the segment's arena is main_arena */
	uint64_t tlo, tspan; /* vptrs lie in [tlo, tlo + tspan); span 0: no types */
	/* Ring of the last chunks that looked in use in this segment. */
	uint64_t tail_addr[HS_TAIL_CHUNKS], tail_size[HS_TAIL_CHUNKS];
	uint64_t ntail;
};

static void kv_put(struct hs_kv **tab, size_t *n, size_t *cap, uint64_t key, uint64_t val)
{
	if (2 * (*n + 1) > *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct hs_kv *nt = hs_xcalloc(ncap, sizeof *nt);
		for (size_t i = 0; i < *cap; i++) {
			if (!(*tab)[i].key)
				continue;
			size_t j = (*tab)[i].key * 0x9e3779b97f4a7c15ull % ncap;
			while (nt[j].key)
				j = (j + 1) % ncap;
			nt[j] = (*tab)[i];
		}
		free(*tab);
		*tab = nt;
		*cap = ncap;
	}
	key++; /* 0 marks an empty slot */
	size_t j = key * 0x9e3779b97f4a7c15ull % *cap;
	while ((*tab)[j].key && (*tab)[j].key != key)
		j = (j + 1) % *cap;
	if (!(*tab)[j].key)
		(*n)++;
	(*tab)[j] = (struct hs_kv){key, val};
}

static bool kv_get(const struct hs_kv *tab, size_t cap, uint64_t key, uint64_t *val)
{
	if (!cap)
		return false;
	key++;
	for (size_t j = key * 0x9e3779b97f4a7c15ull % cap; tab[j].key; j = (j + 1) % cap) {
		if (tab[j].key == key) {
			*val = tab[j].val;
			return true;
		}
	}
	return false;
}

const struct hs_segment *hs_index_seg(const struct hs_index *ix, uint64_t addr)
{
	size_t lo = 0, hi = ix->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < ix->segs[mid].start)
			hi = mid;
		else if (addr >= ix->segs[mid].end)
			lo = mid + 1;
		else
			return &ix->segs[mid];
	}
	return NULL;
}

static uint64_t index_granule(const struct hs_index *ix, uint64_t addr)
{
	const struct hs_segment *s = hs_index_seg(ix, addr);
	if (!s)
		return HS_FD_OTHER;
	if ((addr - s->start) & ((1u << ix->align_shift) - 1))
		return HS_FD_BAD;
	return s->g0 + ((addr - s->start) >> ix->align_shift);
}

uint64_t hs_index_addr(const struct hs_index *ix, uint64_t g)
{
	size_t lo = 0, hi = ix->nsegs;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (g < ix->segs[mid].g0)
			hi = mid;
		else
			lo = mid;
	}
	return ix->segs[lo].start + ((g - ix->segs[lo].g0) << ix->align_shift);
}

int64_t hs_index_find(const struct hs_index *ix, uint64_t addr)
{
	uint64_t g = index_granule(ix, addr);
	return g < ix->ngranules ? hs_bitrank_find(&ix->recorded, g) : -1;
}

uint64_t hs_index_size_big(const struct hs_index *ix, uint64_t ord)
{
	uint64_t v;
	return kv_get(ix->big, ix->capbig, ord, &v) ? v : 0;
}

uint64_t hs_index_ord_addr(const struct hs_index *ix, uint64_t ord)
{
	struct hs_bitrank_iter it;
	uint64_t g;
	hs_bitrank_iter_init(&it, &ix->recorded, 0);
	for (uint64_t i = 0; hs_bitrank_iter_next(&it, &g); i++)
		if (i == ord)
			return hs_index_addr(ix, g);
	return 0;
}

bool hs_index_other(const struct hs_index *ix, uint64_t ord, uint64_t *raw)
{
	return kv_get(ix->other, ix->capother, ord, raw);
}

/* Granule of a pointer for the index: HS_FD_NULL, _OTHER, _BAD or one. */
static inline uint64_t encode_ptr(const struct walker *k, uint64_t v)
{
	if (v == 0)
		return HS_FD_NULL;
	/* A chunk (fastbin link) or a chunk's user memory (tcache link): on
	 * i386 the two differ by 8 in 16-byte granules; the granule taken is
	 * then the chunk's (bins.c subtracts only whole granules). */
	if ((v & (k->l->align - 1)) && ((v + k->hdr) & (k->l->align - 1)))
		return HS_FD_BAD;
	const struct hs_segment *s = k->seg;
	if (v < s->start || v >= s->end)
		s = hs_index_seg(k->ix, v);
	if (!s)
		return HS_FD_OTHER;
	return s->g0 + ((v - s->start) >> k->ix->align_shift);
}

/* Per chunk: hot. */
static inline void record(struct walker *restrict k, bool is_free, uint64_t addr, uint64_t size,
			  uint64_t rawfd, unsigned bits)
{
	const struct hs_segment *seg = k->seg;
	const uint64_t g = seg->g0 + ((addr - seg->start) >> k->shift);
	if (__builtin_expect(!hs_bitrank_add(&k->rec, g), 0)) {
		k->unindexed++;
		return;
	}
	const uint64_t ord = k->nrec++;
	const uint64_t units = size >> k->shift;
	uint64_t fd;
	if (is_free) {
		/* Regular bins link chunks with plain pointers. The last node
		 * points at its bin's header inside malloc_state, which need not
		 * be 16-aligned (2.43's bins start at +0x18): keep any pointer
		 * that is not a chunk as it is. */
		fd = encode_ptr(k, rawfd);
		if (fd == HS_FD_OTHER || fd == HS_FD_BAD) {
			fd = HS_FD_OTHER;
			kv_put(&k->ix->other, &k->ix->nother, &k->ix->capother, ord, rawfd);
		}
	} else {
		/* A tcache or fastbin link, if this is one: safe-linking stores
		 * (&link >> 12) ^ ptr, and &link is the chunk's user pointer. */
		if (k->safe_linking)
			rawfd ^= (addr + k->hdr) >> 12;
		fd = encode_ptr(k, rawfd);
	}
	if (units >= 256)
		kv_put(&k->ix->big, &k->ix->nbig, &k->ix->capbig, ord, size);
	if (k->fd64)
		k->fd64[ord] = fd;
	else
		k->fd[ord] = (uint32_t)fd; /* HS_FD_* become the top three values */
	k->sz[ord] = units < 256 ? (uint8_t)units : 0;
	k->flags[ord] = (uint8_t)((is_free ? HS_CF_FREE : 0) | (bits << 5));
}

static void push_chunk(struct hs_index *ix, struct hs_chunk ch)
{
	if (ix->nchunks == ix->capchunks) {
		ix->capchunks = ix->capchunks ? ix->capchunks * 2 : 1024;
		ix->chunks = hs_xrealloc(ix->chunks, ix->capchunks, sizeof *ix->chunks);
	}
	ix->chunks[ix->nchunks++] = ch;
}

static void keep_chunk(struct walker *k, uint64_t addr, uint64_t size, uint8_t state)
{
	push_chunk(k->ix, (struct hs_chunk){addr, size, k->seg->arena, state});
}

/* glibc sets NON_MAIN_ARENA on chunks it hands out (free chunks in bins
 * drop it): it is how free() finds the arena. */
static __attribute__((noinline, cold)) void warn_arena_bit(struct walker *k, uint64_t addr)
{
	hs_warn(k->w, "arena %d: in-use chunk 0x%llx has NON_MAIN_ARENA %s", k->seg->arena,
		(unsigned long long)addr, k->main ? "set" : "clear");
}

/* An in-use chunk whose first word lies between the vtables (only C++
 * programs get here: kept out of the hot path). */
static __attribute__((noinline)) void note_type(struct walker *k, bool recorded, uint64_t size, uint64_t w)
{
	int t = hs_types_find(k->ix->types, w);
	if (t < 0)
		return;
	if (recorded)
		k->ix->rtype[k->nrec - 1] = (uint32_t)t + 1;
	else {
		k->ix->type_big[t].chunks++;
		k->ix->type_big[t].bytes += size;
	}
}

/* A chunk's state is settled by the next chunk's PREV_INUSE bit. Chunks
 * a list may hold are recorded; the rest (large, in use) only tallied. */
static inline __attribute__((always_inline)) void settle(struct walker *restrict k, uint64_t addr, uint64_t size, uint64_t rawfd,
			  unsigned bits, bool prev_inuse)
{
	const bool is_free = !prev_inuse;
	if (__builtin_expect(!is_free && !!(bits & NON_MAIN_ARENA) == k->main, 0))
		warn_arena_bit(k, addr);
	if (!is_free) {
		k->tail_addr[k->ntail % HS_TAIL_CHUNKS] = addr;
		k->tail_size[k->ntail % HS_TAIL_CHUNKS] = size;
		k->ntail++;
	}
	if (is_free || size <= k->rec_limit) {
		record(k, is_free, addr, size, rawfd, bits);
	} else {
		struct hs_walk_arena *wa = k->wa;
		int c = hs_size_class(size);
		wa->big_chunks++;
		wa->big_bytes += size;
		wa->hist_big[c].chunks++;
		wa->hist_big[c].bytes += size;
		if (k->keep_big && !k->keep_chunks)
			keep_chunk(k, addr, size, HS_ST_INUSE);
	}
	if (__builtin_expect(!is_free && rawfd - k->tlo < k->tspan, 0))
		note_type(k, size <= k->rec_limit, size, rawfd);
	if (k->keep_chunks)
		keep_chunk(k, addr, size, is_free ? HS_ST_BIN : HS_ST_INUSE);
}

/* Walks one segment. Returns 0, or an exit code when the target could not
 * be read at all. */
/* One SIZE_SZ word of the target (4 or 8 bytes, little-endian). */
static inline uint64_t word_at(const unsigned char *c, unsigned sz)
{
	if (sz == 4) {
		uint32_t v;
		memcpy(&v, c, sizeof v);
		return v;
	}
	uint64_t v;
	memcpy(&v, c, sizeof v);
	return v;
}

static int walk_segment(struct walker *restrict k, struct hs_source *src, const struct hs_arena *a,
			struct hs_stream *st, struct hs_err *err)
{
	/* The chunk before the current one, until its state is known. */
	bool pend = false;
	uint64_t pa = 0, ps = 0, pfd = 0;
	unsigned pbits = 0;
#define SETTLE(inuse)                                          \
	do {                                                   \
		if (pend)                                      \
			settle(k, pa, ps, pfd, pbits, (inuse)); \
		pend = false;                                  \
	} while (0)
	const struct hs_segment *s = k->seg;
	const unsigned sz = k->l->size_sz;
	const uint64_t top = a->top;
	const bool top_here = top >= s->start && top < s->end;
	/* Nothing past the top chunk's header is needed: its body is not read
	 * (reading never-touched pages would only map the zero page). */
	const uint64_t read_end = top_here ? top + 2 * sz : s->end;
	uint64_t p = s->start;
	/* heap_info, the arena's malloc_state, alignment before the first chunk */
	k->wa->overhead_bytes += s->start - a->heaps[s->heap].base;

	/* Where the bytes read last end: a chunk that reaches far past them is
	 * jumped over, and only the next header is read (below). Nothing yet:
	 * the first header is read alone too, and the stream starts (with its
	 * read-ahead) only where chunks lie close together. */
	uint64_t seen = 0;
	unsigned char hb[3 * 8];
	int fences = 0; /* fenceposts in a row just passed */

	while (p < read_end) {
		hs_progress_advance(k->progress, p - k->pshown); /* once a window */
		k->pshown = p;
		const unsigned char *win;
		uint64_t wstart;
		size_t len;
		int rc;
		if (p - seen >= JUMP && p + 3 * sz <= read_end) {
			/* Past a big chunk: its body is not needed (and may be GiBs
			 * the target never touched, which would be read as zeros
			 * page by page): read the next header alone. */
			rc = hs_read(src, p, hb, 3 * sz);
			win = hb;
			wstart = p;
			len = 3 * sz;
		} else {
			rc = hs_stream_get(st, p, read_end, 3 * sz, &win, &wstart, &len);
		}
		if (rc < 0) {
			if (errno == ESRCH)
				return hs_fail(err, HS_EEXITED, "pid %d exited while being read", (int)src->pid);
			if (errno == EINTR)
				return hs_fail(err, HS_EINTERNAL, "interrupted while reading the heap");
			hs_warn(k->w, "arena %d: heap bytes at 0x%llx are not readable (%s); walk of this heap cut",
				a->index, (unsigned long long)p, strerror(errno));
			break;
		}
		const uint64_t wend = wstart + len;
		seen = wend;
		while (p < wend) {
			const unsigned char *c = win + (p - wstart);
			if (p == top) {
				if (p + 2 * sz > wend)
					break;
				uint64_t raw = word_at(c + sz, sz);
				SETTLE(raw & PREV_INUSE);
				uint64_t tsize = raw & ~(uint64_t)SIZE_BITS;
				k->wa->top_bytes += tsize;
				if (k->keep_chunks)
					keep_chunk(k, p, tsize, HS_ST_TOP);
				if (p + tsize != s->end)
					hs_warn(k->w, "arena %d: top chunk 0x%llx of size 0x%llx does not end at its heap's end 0x%llx",
						a->index, (unsigned long long)p, (unsigned long long)tsize,
						(unsigned long long)s->end);
				return 0;
			}
			if (p + 2 * sz > wend) {
				if (wend == read_end)
					goto overrun;
				break; /* the next window holds p */
			}
			uint64_t raw = word_at(c + sz, sz), fd = 0;
			uint64_t size = raw & ~(uint64_t)SIZE_BITS;
			if (size >= k->minsize) {
				if (p + 3 * sz > wend) {
					if (wend == read_end)
						goto overrun;
					break;
				}
				fd = word_at(c + 2 * sz, sz);
			}
			SETTLE(raw & PREV_INUSE);
			if (size < k->minsize) {
				if (size == 2 * sz) { /* fencepost at the end of an old heap */
					k->wa->overhead_bytes += size;
					p += size;
					if (++fences < 2 || !top_here || p >= top || !a->main ||
					    (a->flags & HS_ARENA_NONCONTIGUOUS))
						continue;
					/* Two in the one stretch of a contiguous main
					 * arena: a foreign sbrk (pieces.h). The
					 * program's bytes up to glibc's next piece are
					 * system memory no chunk holds. */
					uint64_t next = hs_pieces_next(src, k->l, p, top, s->end);
					if (!next) {
						if (errno == ESRCH)
							return hs_fail(err, HS_EEXITED, "pid %d exited while being read",
								       (int)src->pid);
						goto overrun;
					}
					k->wa->overhead_bytes += next - p;
					k->wa->foreign_bytes += next - p;
					fences = 0;
					p = next;
					break; /* read on from there */
				}
				if (size == 0 && !top_here) { /* the heap's end marker */
					k->wa->overhead_bytes += s->end - p;
					return 0;
				}
				goto overrun;
			}
			/* Written so that a huge size cannot wrap the address around. */
			if ((size & (k->l->align - 1)) || size > (top_here ? top : s->end) - p)
				goto overrun;
			fences = 0;
			pend = true;
			pa = p;
			ps = size;
			pfd = fd;
			pbits = (unsigned)(raw & SIZE_BITS);
			p += size;
		}
	}
	if (p >= read_end && top_here)
		goto overrun;
	if (!top_here && p == s->end) {
		SETTLE(true);
		return 0;
	}
	k->wa->overhead_bytes += s->end > p ? s->end - p : 0;
	return 0;
overrun:
	SETTLE(true);
	{
		uint64_t raw = 0;
		hs_read(src, p + sz, &raw, sizeof raw);
		hs_warn(k->w, "arena %d: chunk 0x%llx has size field 0x%llx, which overruns its heap [0x%llx, 0x%llx); walk of this heap cut",
			a->index, (unsigned long long)p, (unsigned long long)raw, (unsigned long long)s->start,
			(unsigned long long)(top_here ? top : s->end));
	}
	k->wa->overhead_bytes += (top_here ? top : s->end) - p;
	if (top_here) {
		uint64_t th[2] = {0, 0};
		hs_read(src, top, th, sizeof th);
		k->wa->top_bytes += th[1] & ~(uint64_t)SIZE_BITS;
	}
	return 0;
#undef SETTLE
}

/* The chunks nearest top, with their first bytes, read now while the
 * target is still stopped. An unreadable one keeps nbytes 0. */
static void keep_tail(struct walker *k, struct hs_source *src, struct hs_tail *t)
{
	uint64_t n = k->ntail < HS_TAIL_CHUNKS ? k->ntail : HS_TAIL_CHUNKS;
	t->all = k->ntail <= HS_TAIL_CHUNKS;
	t->n = (unsigned)n;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = (k->ntail - n + i) % HS_TAIL_CHUNKS;
		struct hs_tail_chunk *c = &t->c[i];
		c->addr = k->tail_addr[r];
		c->size = k->tail_size[r];
		/* The user area runs to the next chunk's size field. */
		uint64_t avail = c->size > 2u * k->l->size_sz ? c->size - k->l->size_sz : 0;
		unsigned want = avail < HS_PREVIEW_BYTES ? (unsigned)avail : HS_PREVIEW_BYTES;
		if (want && hs_read(src, c->addr + k->hdr, c->bytes, want) == 0)
			c->nbytes = want;
	}
}

static int cmp_seg(const void *x, const void *y)
{
	const struct hs_segment *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start;
}

int hs_walk(struct hs_source *src, const struct hs_heap *h, const struct hs_walk_opts *o,
	    struct hs_index *ix, struct hs_warnings *w, struct hs_err *err)
{
	const struct hs_layout *l = h->layout;
	memset(ix, 0, sizeof *ix);
	ix->align_shift = (unsigned)__builtin_ctz(l->align);
	ix->narenas = h->narenas;
	ix->arenas = hs_xcalloc(h->narenas, sizeof *ix->arenas);
	/* Small chunks that look in use may sit in a tcache or a fastbin. */
	uint64_t tc_max = h->mp.tcache_max_bytes + l->size_sz + l->align - 1;
	tc_max &= ~(uint64_t)(l->align - 1);
	uint64_t fast_max = (80 * l->size_sz / 4 + l->size_sz + l->align - 1) & ~(uint64_t)(l->align - 1);
	ix->rec_limit = tc_max > fast_max ? tc_max : fast_max;

	size_t n = 0;
	for (size_t i = 0; i < h->narenas; i++)
		n += h->arenas[i].nheaps;
	ix->segs = hs_xcalloc(n, sizeof *ix->segs);
	ix->tails = hs_xcalloc(n ? n : 1, sizeof *ix->tails);
	for (size_t i = 0; i < h->narenas; i++)
		for (size_t k = 0; k < h->arenas[i].nheaps; k++)
			ix->segs[ix->nsegs++] = (struct hs_segment){
				.arena = (int)i, .heap = k,
				.start = h->arenas[i].heaps[k].start, .end = h->arenas[i].heaps[k].end};
	qsort(ix->segs, ix->nsegs, sizeof *ix->segs, cmp_seg);
	uint64_t g = 0;
	for (size_t i = 0; i < ix->nsegs; i++) {
		ix->segs[i].g0 = g;
		g += (ix->segs[i].end - ix->segs[i].start) >> ix->align_shift;
	}
	ix->ngranules = g;

	/* Room for as many chunks as the heaps could hold, reserved as address
	 * space only: pages count once touched, so the walk never stops to
	 * grow (and copy) an array while the target waits. */
	ix->caprec = (size_t)(g / ((4 * l->size_sz) >> ix->align_shift ? (4 * l->size_sz) >> ix->align_shift : 1)) + ix->nsegs + 1;
	if (ix->caprec > UINT32_MAX) /* the set's ranks are 32-bit */
		ix->caprec = UINT32_MAX;
	if (g < HS_FD32_MAX)
		ix->fd = hs_reserve(ix->caprec * sizeof *ix->fd);
	else
		ix->fd64 = hs_reserve(ix->caprec * sizeof *ix->fd64);
	ix->sz = hs_reserve(ix->caprec);
	ix->flags = hs_reserve(ix->caprec);

	struct walker k = {.ix = ix, .h = h, .l = l, .w = w, .minsize = 4 * l->size_sz,
			   .hdr = 2 * l->size_sz, .shift = ix->align_shift, .rec_limit = ix->rec_limit,
			   .safe_linking = l->safe_linking, .fd = ix->fd, .fd64 = ix->fd64,
			   .sz = ix->sz, .flags = ix->flags, .keep_chunks = o && o->keep_chunks,
			   .keep_big = o && o->keep_big};
	if (o && o->types && o->types->n) {
		ix->types = o->types;
		ix->type_big = hs_xcalloc(o->types->nnames, sizeof *ix->type_big);
		ix->rtype = hs_reserve(ix->caprec * sizeof *ix->rtype);
		k.tlo = o->types->lo;
		k.tspan = o->types->hi - o->types->lo;
	}
	size_t wsize = o && o->window ? o->window : DEFAULT_WINDOW;
	hs_bitrank_init(&k.rec, g, ix->caprec);
	struct hs_stream *st = hs_stream_open(src, wsize);
	k.progress = o ? o->progress : NULL;
	hs_progress_start(k.progress, "walking the heaps", g << ix->align_shift);
	int rc = 0;
	for (size_t i = 0; i < ix->nsegs && !rc; i++) {
		struct hs_segment *s = &ix->segs[i];
		const struct hs_arena *a = &h->arenas[s->arena];
		k.seg = s;
		k.wa = &ix->arenas[s->arena];
		k.main = a->main;
		s->ord0 = k.nrec;
		k.ntail = 0;
		k.pshown = s->start;
		rc = walk_segment(&k, src, a, st, err);
		hs_progress_advance(k.progress, s->end - k.pshown);
		s->ord1 = k.nrec;
		if (!rc && a->top >= s->start && a->top < s->end)
			keep_tail(&k, src, &ix->tails[i]);
	}
	hs_progress_end(k.progress);
	ix->nrec = k.nrec;
	hs_bitrank_seal(&k.rec);
	ix->recorded = k.rec;
	hs_stream_close(st);
	if (k.unindexed)
		hs_warn(w, "%llu chunks that lists may hold are past the index's limit of 4,294,967,295 and are not checked",
			(unsigned long long)k.unindexed);
	for (size_t i = 0; ix->types && !rc && i < h->nmmapped; i++) {
		uint64_t w0;
		if (hs_read_u64(src, h->mmapped[i].addr + k.hdr, &w0) == 0 && w0 - k.tlo < k.tspan)
			note_type(&k, false, h->mmapped[i].size, w0);
	}
	for (size_t i = 0; k.keep_chunks && i < h->nmmapped; i++)
		push_chunk(ix, (struct hs_chunk){h->mmapped[i].addr, h->mmapped[i].size, -1, HS_ST_MMAPPED});
	return rc;
}

void hs_index_free(struct hs_index *ix)
{
	free(ix->segs);
	free(ix->tails);
	hs_bitrank_free(&ix->recorded);
	hs_release(ix->fd, ix->caprec * sizeof *ix->fd);
	hs_release(ix->fd64, ix->caprec * sizeof *ix->fd64);
	hs_release(ix->sz, ix->caprec);
	hs_release(ix->flags, ix->caprec);
	free(ix->big);
	free(ix->other);
	hs_release(ix->rtype, ix->caprec * sizeof *ix->rtype);
	free(ix->type_big);
	free(ix->arenas);
	free(ix->chunks);
	memset(ix, 0, sizeof *ix);
}
