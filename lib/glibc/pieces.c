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
 * in address order, outside the thread heaps and the pieces already
 * found: a page whose first words read prev_size 0 and a size with only
 * PREV_INUSE set is followed the same way, and a chain that ends as a
 * piece does is one. A page pagemap says is neither present nor swapped
 * is not read: it reads as zeros (a private anonymous page never written
 * since it was mapped, or given back by MADV_DONTNEED), and zeros are no
 * first chunk (a size of 0). The search stops as soon as the pieces add
 * up to system_mem: each piece is counted there, so no further piece can
 * exist. A look-alike (a page of the program's data that passes every
 * check and chains to a fencepost pair or the top) would make the sum
 * overshoot or leave a piece out; a set that does not add up exactly, or
 * that does not hold the top chunk, is a warning (the report is flagged
 * inconsistent), never a guess. The walk then follows each piece again
 * and warns where a chain does not end where its piece does. */
#include "glibc/pieces.h"

#include "glibc/mmapped.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE HS_PAGE_SIZE
#define WIN (64 * 1024) /* bytes read at once while following a chain */
#define PS_BATCH 512    /* page states asked of pagemap at once */

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

static void add_piece(struct hs_arena *a, uint64_t base, uint64_t start, uint64_t end)
{
	a->heaps = hs_xrealloc(a->heaps, a->nheaps + 1, sizeof *a->heaps);
	a->heaps[a->nheaps++] = (struct hs_heapseg){.base = base, .start = start, .end = end,
						    .size = end - base, .mprotect_size = end - base};
}

static bool in_pieces(const struct hs_arena *a, uint64_t addr)
{
	for (size_t k = 0; k < a->nheaps; k++)
		if (addr >= a->heaps[k].base && addr < a->heaps[k].end)
			return true;
	return false;
}

static int gone(struct hs_source *src, struct hs_err *err)
{
	if (errno == ESRCH)
		return hs_fail(err, HS_EEXITED, "pid %d exited while being read", (int)src->pid);
	return hs_fail(err, HS_EINTERNAL, "interrupted while reading the main arena");
}

int hs_pieces_find(struct hs_source *src, const struct hs_heap *h, struct hs_arena *a, uint64_t first_chunk,
		   struct hs_warnings *w, struct hs_err *err)
{
	const struct hs_layout *l = h->layout;
	const struct hs_maps *maps = &src->maps;
	struct reader *r = hs_xcalloc(1, sizeof *r);
	r->src = src;
	uint64_t sum = 0, end;
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
	sum = end - h->mp.sbrk_base;

	unsigned char st[PS_BATCH];
	for (size_t i = 0; i < maps->n && sum < a->system_mem; i++) {
		const struct hs_map *m = &maps->v[i];
		if (!piece_map(m))
			continue;
		uint64_t rend = run_end(maps, m->start);
		for (uint64_t p = m->start; p < m->end && sum < a->system_mem;) {
			if (in_pieces(a, p) || hs_heap_covers(h, p, p + PAGE)) {
				p += PAGE;
				continue;
			}
			size_t n = (size_t)((m->end - p) / PAGE < PS_BATCH ? (m->end - p) / PAGE : PS_BATCH);
			if (hs_pages(src, p, n, st) < 0) {
				if (errno == ESRCH || errno == EINTR) {
					rc = gone(src, err);
					goto out;
				}
				memset(st, HS_PAGE_PRESENT, n); /* no pagemap: read as a core is */
			}
			size_t k = 0;
			for (; k < n && sum < a->system_mem; k++, p += PAGE) {
				uint64_t ps, raw;
				if (st[k] == HS_PAGE_NONE || in_pieces(a, p) || hs_heap_covers(h, p, p + PAGE))
					continue;
				if (header(r, l, p, rend, &ps, &raw) < 0) {
					if (errno == ESRCH || errno == EINTR) {
						rc = gone(src, err);
						goto out;
					}
					continue;
				}
				if (ps != 0 || (raw & HS_SIZE_BITS) != HS_PREV_INUSE)
					continue;
				got = piece_end(r, l, p, rend, a->top, &end);
				if (got < 0) {
					rc = gone(src, err);
					goto out;
				}
				if (got) {
					add_piece(a, p, p, end);
					sum += end - p;
					/* (a top in [heap] may end off a page) */
					p = (end + PAGE - 1) & ~(PAGE - 1);
					break; /* page states from here on */
				}
			}
		}
	}
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
