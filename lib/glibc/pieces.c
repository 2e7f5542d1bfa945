/* pieces.c - main_arena made of pieces.
 *
 * How glibc makes them (malloc.c, sysmalloc, 2.26 to 2.43). main_arena
 * grows by MORECORE (sbrk). When that fails, sysmalloc_mmap_fallback maps
 * a new piece (MAP_HUGETLB of hp_pagesize first when hugetlb=2 set it,
 * and when the system has no huge pages, as here with nr_hugepages 0,
 * plain pages of at least MMAP_AS_MORECORE_SIZE, 1 MiB) and marks the
 * arena NONCONTIGUOUS. glibc.malloc.hugetlb=2 (2.35+) sets
 * __always_fail_morecore, so there every piece is a mapping of its own,
 * the first one too (mp_.sbrk_base is its start). A foreign sbrk that
 * leaves a gap after the break gives pieces inside [heap] the same way.
 * For each new piece sysmalloc does:
 *   av->system_mem += size;     the pieces add up to system_mem, exactly
 *   av->top = brk;              (aligned: mmap and sbrk give pages, so
 *                                chunk2mem is aligned on 64-bit; i386
 *                                has a correction, from sbrk_base only)
 *   set_head(top, size | PREV_INUSE);
 *   old_top: shrunk by two CHUNK_HDR_SZ (rounded down to the alignment)
 *   and two fenceposts written at its end, chunks of size CHUNK_HDR_SZ
 *   (2 * SIZE_SZ) marked in use, the second ending at the old piece's end
 *   (on 64-bit exactly; on i386 up to 8 bytes before it). What is left of
 *   the old top is freed if it is at least MINSIZE, else kept as it is:
 *   a third chunk of CHUNK_HDR_SZ before the fenceposts, or none.
 * Nothing records where the older pieces are. What each leaves is its
 * first chunk at its start, with PREV_INUSE set (the top's head has it;
 * splitting the top and freeing keep it, as nothing precedes the chunk)
 * and prev_size 0 (no chunk precedes it, so nothing ever writes that word:
 * it is the mapping's zero); then a chain of chunk sizes that ends at two
 * (or three) CHUNK_HDR_SZ chunks on a page boundary, or, for the newest
 * piece, at the end of the top chunk.
 *
 * How they are found. The first piece starts at sbrk_base. Its chain is
 * followed to its end; every chunk on the way must be a main-arena chunk
 * (neither IS_MMAPPED nor NON_MAIN_ARENA, a size that is a multiple of
 * MALLOC_ALIGNMENT, at least MINSIZE) inside its run of mappings. While
 * the pieces found add up to less than system_mem, the others are looked
 * for at page starts of private writable anonymous memory (and [heap]),
 * outside the thread heaps' reservations (cut out of that memory once)
 * and the pieces already found: a page whose first words read prev_size
 * 0 and a size with only PREV_INUSE set is followed the same way, and a
 * chain that ends as a piece does is one. What is read is what the
 * answer needs, not the program's memory: first the places pieces
 * usually are (mapping starts, and right after each piece found: mmap
 * puts a new piece next to the last), then each stretch of that memory,
 * shortest first, from both ends in turn, two words at each page start
 * (a piece behind a big mapping of the program's own costs about twice
 * the smaller side, in header reads; 6 GiB of it cost a 1 s stop when
 * every byte was read, 17 to 34 ms now). A page pagemap says is neither
 * present nor swapped is not read: it reads as zeros (a private
 * anonymous page never written since it was mapped, or given back by
 * MADV_DONTNEED), and zeros are no first chunk (a size of 0). The search
 * stops as soon as the pieces add up to system_mem: each piece is counted
 * there, so no further piece can exist. A look-alike (a page of the program's data that passes every
 * check and chains to a fencepost pair or the top) would make the sum
 * overshoot or leave a piece out; a set that does not add up exactly, or
 * that does not hold the top chunk, is a warning (the report is flagged
 * inconsistent), never a guess. The walk then follows each piece again
 * and warns where a chain does not end where its piece does. */
#include "glibc/pieces.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE HS_PAGE_SIZE
#define WIN (64 * 1024) /* bytes read at once while following a chain */
#define PS_BATCH 512    /* page states asked of pagemap at once */

struct span {
	uint64_t start, end;
};

/* Page states of [first, first + n pages), as the scan asked them. */
struct pstate {
	uint64_t first;
	size_t n;
	unsigned char st[PS_BATCH];
};

/* A window of target bytes, refilled where the chain goes. */
struct reader {
	struct hs_source *src;
	uint64_t lo, hi; /* [lo, hi) is in buf */
	unsigned char buf[WIN];
};

/* The two header words of the chunk at p (p + 2 * SIZE_SZ <= bound).
 * Returns 0, or -1 with errno. */
static int header(struct reader *r, const struct hs_layout *l, uint64_t p, uint64_t bound, uint64_t *ps,
		  uint64_t *raw)
{
	const uint64_t hdr = 2 * l->size_sz;
	if (p < r->lo || p + hdr > r->hi) {
		/* Not past p's mapping: the next one may begin with a page
		 * that cannot be read (2.42+ puts thread stacks' guard pages
		 * there with MADV_GUARD_INSTALL, which the maps do not show). */
		const struct hs_map *m = hs_maps_find(&r->src->maps, p);
		uint64_t lim = m && m->end < bound ? m->end : bound;
		uint64_t len = lim - p < WIN ? lim - p : WIN;
		if (hs_read(r->src, p, r->buf, (size_t)len) < 0) {
			r->lo = r->hi = 0;
			return -1;
		}
		r->lo = p;
		r->hi = p + len;
	}
	*ps = hs_word_at(r->buf, (size_t)(p - r->lo), l->size_sz);
	*raw = hs_word_at(r->buf, (size_t)(p - r->lo + l->size_sz), l->size_sz);
	return 0;
}

/* Follows the chain from first to its piece's end, inside [first, bound).
 * Returns 1 with *end set when it ends as a piece does, 0 when it does
 * not, -1 with errno when the target could not be read. */
static int piece_end(struct reader *r, const struct hs_layout *l, uint64_t first, uint64_t bound, uint64_t top,
		     uint64_t *end)
{
	const uint64_t hdr = 2 * l->size_sz, minsize = 4 * l->size_sz;
	int fences = 0;
	for (uint64_t p = first; p + hdr <= bound;) {
		uint64_t ps, raw;
		if (header(r, l, p, bound, &ps, &raw) < 0)
			return errno == ESRCH || errno == EINTR ? -1 : 0;
		uint64_t size = raw & ~(uint64_t)HS_SIZE_BITS;
		if (raw & (HS_IS_MMAPPED | HS_NON_MAIN_ARENA))
			return 0;
		if (p == top && !fences) {
			if (size < minsize || (size & (l->align - 1)) || size > bound - p)
				return 0;
			*end = p + size;
			return 1;
		}
		if (size == hdr) {
			/* Two fenceposts, after the old top's remainder when
			 * that was CHUNK_HDR_SZ too (below MINSIZE: glibc keeps
			 * it as it is): the second fencepost ends at the
			 * piece's end, or on i386 up to the alignment before. */
			p += hdr;
			uint64_t e = (p + PAGE - 1) & ~(PAGE - 1);
			if (++fences >= 2 && e - p < l->align && e <= bound) {
				*end = e;
				return 1;
			}
			if (fences == 3)
				return 0;
			continue;
		}
		if (fences || size < minsize || (size & (l->align - 1)) || size > bound - p)
			return 0;
		p += size;
	}
	return 0;
}

/* Memory a piece can be in: private, readable and writable, anonymous
 * (named or not) or the program break's [heap]. */
static bool piece_map(const struct hs_map *m)
{
	return (m->prot & (PROT_READ | PROT_WRITE)) == (PROT_READ | PROT_WRITE) &&
	       (hs_map_anonymous(m) || !strcmp(m->path, "[heap]"));
}

/* The end of the run of piece_map mappings that holds addr (0: none). */
static uint64_t run_end(const struct hs_maps *maps, uint64_t addr)
{
	const struct hs_map *m = hs_maps_find(maps, addr);
	if (!m || !piece_map(m))
		return 0;
	uint64_t end = m->end;
	while ((m = hs_maps_find(maps, end)) && piece_map(m))
		end = m->end;
	return end;
}

static int cmp_heap(const void *x, const void *y)
{
	const struct hs_heapseg *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start;
}

static int cmp_span(const void *x, const void *y)
{
	const struct span *a = x, *b = y;
	uint64_t la = a->end - a->start, lb = b->end - b->start;
	return la < lb ? -1 : la > lb ? 1 : (a->start > b->start) - (a->start < b->start);
}

static void add_piece(struct hs_arena *a, uint64_t base, uint64_t start, uint64_t end)
{
	a->heaps = hs_xrealloc(a->heaps, a->nheaps + 1, sizeof *a->heaps);
	a->heaps[a->nheaps++] = (struct hs_heapseg){.base = base, .start = start, .end = end,
						    .size = end - base, .mprotect_size = end - base};
}

/* The end of the piece found so far that holds addr, 0 if none. */
static uint64_t in_pieces(const struct hs_arena *a, uint64_t addr)
{
	for (size_t k = 0; k < a->nheaps; k++)
		if (addr >= a->heaps[k].base && addr < a->heaps[k].end)
			return a->heaps[k].end;
	return 0;
}

static int gone(struct hs_source *src, struct hs_err *err)
{
	if (errno == ESRCH)
		return hs_fail(err, HS_EEXITED, "pid %d exited while being read", (int)src->pid);
	return hs_fail(err, HS_EINTERNAL, "interrupted while reading the main arena");
}

/* The memory pieces can be in: runs of piece_map mappings with the thread
 * heaps' whole reservations (HEAP_MAX each) cut out, sorted shortest
 * first (a piece behind a small mapping is found before a huge one is
 * looked at). Cut once, so the search skips a reservation at once. */
static size_t regions(const struct hs_heap *h, const struct hs_maps *maps, struct span **out)
{
	uint64_t heap_max = hs_heap_max(h);
	size_t nres = 0, n = 0;
	for (size_t i = 0; i < h->narenas; i++)
		nres += h->arenas[i].main ? 0 : h->arenas[i].nheaps;
	struct span *res = hs_xcalloc(nres + 1, sizeof *res);
	nres = 0;
	for (size_t i = 0; i < h->narenas; i++)
		for (size_t k = 0; !h->arenas[i].main && k < h->arenas[i].nheaps; k++)
			res[nres++] = (struct span){h->arenas[i].heaps[k].info, h->arenas[i].heaps[k].info + heap_max};
	struct span *v = hs_xcalloc(maps->n + nres + 1, sizeof *v);
	for (size_t i = 0; i < maps->n; i++) {
		const struct hs_map *m = &maps->v[i];
		if (!piece_map(m) || (i && maps->v[i - 1].end == m->start && piece_map(&maps->v[i - 1])))
			continue;
		uint64_t lo = m->start, hi = run_end(maps, m->start);
		/* the reservations inside, in any order: cut the lowest first */
		for (;;) {
			const struct span *c = NULL;
			for (size_t k = 0; k < nres; k++)
				if (res[k].start < hi && res[k].end > lo && (!c || res[k].start < c->start))
					c = &res[k];
			if (!c)
				break;
			if (c->start > lo)
				v[n++] = (struct span){lo, c->start};
			lo = c->end;
		}
		if (lo < hi)
			v[n++] = (struct span){lo, hi};
	}
	free(res);
	qsort(v, n, sizeof *v, cmp_span);
	*out = v;
	return n;
}

/* A search for the pieces after the first. */
struct find {
	struct hs_source *src;
	const struct hs_layout *l;
	struct hs_arena *a;
	struct reader *r;
	uint64_t sum;
	int err; /* errno that ended the search (the target gone, interrupted) */
};

/* Is there a piece at the page p, inside [p, bound)? Reads the two header
 * words first, the chain only behind a plausible first chunk. Its end, or
 * 0; 0 with f->err set when the search must stop. */
static uint64_t piece_at(struct find *f, uint64_t p, uint64_t bound)
{
	const unsigned w = f->l->size_sz;
	unsigned char hb[16];
	uint64_t end;
	if (in_pieces(f->a, p) || p + 2 * w > bound)
		return 0;
	if (hs_read(f->src, p, hb, 2 * w) < 0) {
		if (errno == ESRCH || errno == EINTR)
			f->err = errno;
		return 0;
	}
	uint64_t raw = hs_word_at(hb, w, w), size = raw & ~(uint64_t)HS_SIZE_BITS;
	/* (the chain is read in windows: not behind a size no chunk has) */
	if (hs_word_at(hb, 0, w) != 0 || (raw & HS_SIZE_BITS) != HS_PREV_INUSE || size < 4 * (uint64_t)w ||
	    (size & (f->l->align - 1)))
		return 0;
	int got = piece_end(f->r, f->l, p, bound, f->a->top, &end);
	if (got < 0) {
		f->err = errno ? errno : EIO;
		return 0;
	}
	if (!got)
		return 0;
	add_piece(f->a, p, p, end);
	f->sum += end - p;
	return end;
}

/* One page of the scan of a region: the present page at *at (dir +1) or
 * below it (dir -1), the states asked of pagemap PS_BATCH at a time.
 * Moves *at past what was looked at (past a piece found, from below).
 * False when the region is done or the search must stop. */
static bool scan_step(struct find *f, struct pstate *ps, uint64_t *at, uint64_t other, uint64_t bound, int dir)
{
	uint64_t p = dir > 0 ? *at : *at - PAGE;
	if (dir > 0 ? p >= other : *at <= other)
		return false;
	uint64_t e = in_pieces(f->a, p);
	if (e) {
		/* (a top in [heap] may end off a page) */
		*at = dir > 0 ? (e + PAGE - 1) & ~(PAGE - 1) : p;
		for (size_t k = 0; dir < 0 && k < f->a->nheaps; k++)
			if (p >= f->a->heaps[k].base && p < f->a->heaps[k].end)
				*at = f->a->heaps[k].base;
		return true;
	}
	if (!ps->n || p < ps->first || p >= ps->first + ps->n * PAGE) {
		uint64_t room = dir > 0 ? (other - p) / PAGE : (p - other) / PAGE + 1;
		size_t n = room < PS_BATCH ? (size_t)room : PS_BATCH;
		uint64_t first = dir > 0 ? p : p - (n - 1) * PAGE;
		if (hs_pages(f->src, first, n, ps->st) < 0) {
			if (errno == ESRCH || errno == EINTR) {
				f->err = errno;
				return false;
			}
			memset(ps->st, HS_PAGE_PRESENT, n); /* no pagemap: read as a core is */
		}
		ps->first = first;
		ps->n = n;
	}
	*at = dir > 0 ? p + PAGE : p;
	if (ps->st[(p - ps->first) / PAGE] == HS_PAGE_NONE)
		return true;
	e = piece_at(f, p, bound);
	if (e && dir > 0)
		*at = (e + PAGE - 1) & ~(PAGE - 1);
	return !f->err;
}

/* Pieces one after another from the page p, inside the region that holds
 * it. */
static void chain(struct find *f, const struct span *v, size_t nv, uint64_t p)
{
	const struct span *g = NULL;
	for (size_t i = 0; i < nv && !g; i++)
		if (p >= v[i].start && p < v[i].end)
			g = &v[i];
	while (g && p < g->end && f->sum < f->a->system_mem && !f->err) {
		uint64_t e = piece_at(f, p, g->end);
		if (!e)
			break;
		p = (e + PAGE - 1) & ~(PAGE - 1);
	}
}

int hs_pieces_find(struct hs_source *src, const struct hs_heap *h, struct hs_arena *a, uint64_t first_chunk,
		   struct hs_warnings *w, struct hs_err *err)
{
	const struct hs_layout *l = h->layout;
	const struct hs_maps *maps = &src->maps;
	struct reader *r = hs_xcalloc(1, sizeof *r);
	r->src = src;
	uint64_t end;
	int rc = 0, got;

	uint64_t bound = run_end(maps, h->mp.sbrk_base);
	got = bound ? piece_end(r, l, first_chunk, bound, a->top, &end) : 0;
	if (got < 0) {
		rc = gone(src, err);
		goto out;
	}
	if (!got) {
		hs_warn(w, "main arena: the chunks from sbrk_base 0x%llx do not end as a piece of the main heap does (two fenceposts, or the top chunk)",
			(unsigned long long)h->mp.sbrk_base);
		goto out;
	}
	add_piece(a, h->mp.sbrk_base, first_chunk, end);
	struct find f = {.src = src, .l = l, .a = a, .r = r, .sum = end - h->mp.sbrk_base};
	struct span *v;
	size_t nv = regions(h, maps, &v);
	/* Where pieces mostly are, first: mmap puts each new piece right
	 * below the last or at a mapping's start, so the starts of mappings
	 * and regions and the end of each piece found are looked at. */
	chain(&f, v, nv, (end + PAGE - 1) & ~(PAGE - 1));
	for (size_t i = 0; i < maps->n && f.sum < a->system_mem && !f.err; i++)
		chain(&f, v, nv, maps->v[i].start);
	for (size_t i = 0; i < nv && f.sum < a->system_mem && !f.err; i++)
		chain(&f, v, nv, v[i].start);
	/* Then every present page, two header words each, of each region
	 * from both ends in turn, shortest region first: a piece behind
	 * the program's own memory costs about twice the smaller side. */
	for (size_t i = 0; i < nv && f.sum < a->system_mem && !f.err; i++) {
		uint64_t lo = v[i].start, hi = v[i].end;
		bool up = true, down = true;
		struct pstate *su = hs_xcalloc(2, sizeof *su), *sd = su + 1;
		while ((up || down) && f.sum < a->system_mem && !f.err) {
			if (up)
				up = scan_step(&f, su, &lo, hi, v[i].end, 1);
			if (down && f.sum < a->system_mem && !f.err)
				down = scan_step(&f, sd, &hi, lo, v[i].end, -1);
		}
		free(su);
	}
	free(v);
	if (f.err) {
		errno = f.err;
		rc = gone(src, err);
		goto out;
	}
	uint64_t sum = f.sum;
	if (a->nheaps > 1)
		qsort(a->heaps, a->nheaps, sizeof *a->heaps, cmp_heap);
	bool top_in = false;
	for (size_t k = 0; k < a->nheaps; k++)
		top_in |= a->top >= a->heaps[k].start && a->top < a->heaps[k].end;
	if (sum != a->system_mem || !top_in)
		hs_warn(w, "main arena: %zu pieces found add up to 0x%llx bytes%s, system_mem is 0x%llx",
			a->nheaps, (unsigned long long)sum, top_in ? "" : " without the top chunk",
			(unsigned long long)a->system_mem);
out:
	free(r);
	return rc;
}

uint64_t hs_pieces_next(struct hs_source *src, const struct hs_layout *l, uint64_t from, uint64_t top, uint64_t end)
{
	struct reader *r = hs_xcalloc(1, sizeof *r), *v = hs_xcalloc(1, sizeof *v);
	r->src = v->src = src;
	const uint64_t minsize = 4 * (uint64_t)l->size_sz;
	uint64_t found = 0;
	errno = 0;
	/* In address order, the first that is one: a later place that passes
	 * too (a chunk of glibc's piece on a page start, its neighbour's last
	 * word 0) would leave that piece's first chunks out. The window reads
	 * the gap once; a page the target does not have reads as zeros,
	 * which is no first chunk. */
	for (uint64_t c = (from + l->align - 1) & ~(uint64_t)(l->align - 1); c <= top && !found; c += l->align) {
		uint64_t ps, raw, e;
		if (header(r, l, c, end, &ps, &raw) < 0) {
			if (errno == ESRCH || errno == EINTR)
				break;
			continue;
		}
		uint64_t size = raw & ~(uint64_t)HS_SIZE_BITS;
		if (ps != 0 || (raw & HS_SIZE_BITS) != HS_PREV_INUSE || size < minsize || (size & (l->align - 1)) ||
		    size > end - c)
			continue;
		int got = piece_end(v, l, c, end, top, &e);
		if (got < 0)
			break;
		if (got)
			found = c;
	}
	free(r);
	free(v);
	return found;
}
