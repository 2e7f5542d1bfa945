/* leaks.c - the conservative mark over the copied contents.
 *
 * In-use chunks get ordinals in address order (heap chunks, then mmapped
 * chunks); the set of granules where an in-use heap chunk starts
 * (base/bitrank.h) turns an address into the ordinal in O(1): the last
 * start at or below it. An explicit stack of ordinals replaces recursion.
 * Memory per in-use chunk: 13 bytes (granule, size, mark), plus 4 on the
 * stack while marked, and the set's (at most 12 bytes per 64 granules
 * that hold a start, and 1.2 bits per 64 granules of heap). */
#include "analysis/leaks.h"

#include <stdlib.h>
#include <string.h>

#include "glibc/contents.h"
#include "glibc/types.h"
#include "glibc/walk.h"

#define MARK_START 1
#define MARK_INTERIOR 2

struct marker {
	const struct hs_index *ix;
	const struct hs_contents *ct;
	struct hs_bitrank starts; /* granules where an in-use chunk starts */
	uint64_t *gran;   /* per heap ordinal: granule of the chunk */
	uint32_t *gsize;  /* per heap ordinal: size in granules */
	uint64_t nheap, cap;
	/* mmapped chunks: ordinals nheap + i, sorted by address */
	struct mm { uint64_t addr, size; size_t copy; } *mm;
	size_t nmm;
	uint8_t *mark;
	uint32_t *stack;
	size_t nstack, capstack;
	uint64_t lo, hi; /* every heap segment lies in [lo, hi) */
	unsigned shift, hdr, sz;
	uint64_t scanned;
};

static void add_chunk(struct marker *m, uint64_t g, uint64_t units)
{
	if (m->nheap == m->cap) { /* not reached: cap is the walk's count */
		m->cap = m->cap ? 2 * m->cap : 4096;
		m->gran = hs_xrealloc(m->gran, m->cap, sizeof *m->gran);
		m->gsize = hs_xrealloc(m->gsize, m->cap, sizeof *m->gsize);
	}
	if (!hs_bitrank_add(&m->starts, g))
		return; /* past 2^32 chunks: not looked up, never called leaked */
	m->gran[m->nheap] = g;
	m->gsize[m->nheap] = (uint32_t)units;
	m->nheap++;
}

static inline uint64_t word_at(const struct hs_copy *cp, uint64_t addr)
{
	uint64_t v;
	memcpy(&v, cp->data + (addr - cp->start), sizeof v);
	return v;
}

/* Every in-use chunk of one segment, from the copied headers, as the walk
 * saw them: a chunk is in use when the next one's PREV_INUSE is set, and
 * a small one only if no tcache or fastbin holds it. */
static void list_segment(struct marker *m, const struct hs_heap *h, size_t si)
{
	const struct hs_segment *s = &m->ix->segs[si];
	const struct hs_copy *cp = &m->ct->heaps[si];
	const uint64_t top = h->arenas[s->arena].top, sz = m->sz, minsize = 4 * sz;
	const bool top_here = top >= s->start && top < s->end;
	const uint64_t limit = top_here ? top : s->end;
	for (uint64_t p = s->start; p < limit && p + 2 * sz <= cp->end;) {
		uint64_t size = word_at(cp, p + sz) & ~7ull;
		if (size < minsize) {
			if (size == 2 * sz) { /* fencepost */
				p += size;
				continue;
			}
			return; /* the end marker, or what the walk warned about */
		}
		if ((size & (h->layout->align - 1)) || size > limit - p)
			return;
		uint64_t next = p + size;
		bool inuse;
		if (next == s->end)
			inuse = true;
		else if (next + 2 * sz <= cp->end)
			inuse = word_at(cp, next + sz) & 1;
		else
			return;
		if (inuse && size <= m->ix->rec_limit) {
			int64_t o = hs_index_find(m->ix, p);
			if (o >= 0 && ((m->ix->flags[o] & HS_CF_LISTMASK) || (m->ix->flags[o] & HS_CF_FREE)))
				inuse = false;
		}
		if (inuse)
			add_chunk(m, s->g0 + ((p - s->start) >> m->shift), size >> m->shift);
		p = next;
	}
}

static const struct hs_segment *seg_of(const struct hs_index *ix, uint64_t v, size_t *si)
{
	size_t lo = 0, hi = ix->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v < ix->segs[mid].start)
			hi = mid;
		else if (v >= ix->segs[mid].end)
			lo = mid + 1;
		else {
			*si = mid;
			return &ix->segs[mid];
		}
	}
	return NULL;
}

/* The segment holding heap ordinal o (by its granule). */
static inline size_t seg_index(const struct marker *m, uint64_t o)
{
	const struct hs_index *ix = m->ix;
	size_t lo = 0, hi = ix->nsegs;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->gran[o] < ix->segs[mid].g0)
			hi = mid;
		else
			lo = mid;
	}
	return lo;
}

static inline uint64_t chunk_addr(const struct marker *m, uint64_t o)
{
	const struct hs_segment *s = &m->ix->segs[seg_index(m, o)];
	return s->start + ((m->gran[o] - s->g0) << m->shift);
}

/* The in-use heap chunk of segment s whose user area holds v, or -1. */
static int64_t lookup_heap(const struct marker *m, const struct hs_segment *s, uint64_t v, bool *start)
{
	uint64_t g = s->g0 + ((v - s->start) >> m->shift);
	int64_t o = hs_bitrank_pred(&m->starts, g);
	if (o < 0 || m->gran[o] < s->g0) /* none, or the last chunk of an earlier segment */
		return -1;
	uint64_t a = s->start + ((m->gran[o] - s->g0) << m->shift);
	if (v < a + m->hdr)
		return -1; /* a chunk header: glibc's own links point there */
	if (v >= a + ((uint64_t)m->gsize[o] << m->shift))
		return -1;
	*start = v == a + m->hdr;
	return o;
}

/* The mmapped chunk whose user area holds v, or -1. */
static int64_t lookup_mmapped(const struct marker *m, uint64_t v, bool *start)
{
	if (!m->nmm || v < m->mm[0].addr)
		return -1;
	size_t lo = 0, hi = m->nmm;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (v < m->mm[mid].addr)
			hi = mid;
		else
			lo = mid;
	}
	const struct mm *c = &m->mm[lo];
	if (v < c->addr + m->hdr || v >= c->addr + c->size)
		return -1;
	*start = v == c->addr + m->hdr;
	return (int64_t)(m->nheap + lo);
}

/* The in-use chunk whose user area holds v: returns its ordinal, or -1;
 * *start tells a pointer to the user area's first byte. A pointer counts
 * in [chunk + 16, chunk + size): the last 8 usable bytes (the next chunk's
 * prev_size word) are scanned but not counted, since that address is the
 * next chunk's header, where glibc's own links (top, bins) point.
 * Heap segments and mmapped chunks are separate mappings that interleave
 * in any order (a thread heap above, below or between mmapped chunks, the
 * main heap anywhere): v is looked up in the segments, and when no
 * segment holds it, in the mmapped chunks. [lo, hi) spans the segments
 * only to skip their search, never to decide. */
static int64_t lookup(const struct marker *m, uint64_t v, bool *start)
{
	if (v >= m->lo && v < m->hi) {
		size_t si;
		const struct hs_segment *s = seg_of(m->ix, v, &si);
		if (s)
			return lookup_heap(m, s, v, start);
	}
	return lookup_mmapped(m, v, start);
}

static void scan(struct marker *m, const unsigned char *p, size_t len)
{
	m->scanned += len;
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, sizeof v);
		bool start;
		int64_t o = lookup(m, v, &start);
		if (o < 0)
			continue;
		uint8_t old = m->mark[o];
		m->mark[o] |= start ? MARK_START : MARK_INTERIOR;
		if (old)
			continue;
		if (m->nstack == m->capstack) {
			m->capstack = m->capstack ? 2 * m->capstack : 4096;
			m->stack = hs_xrealloc(m->stack, m->capstack, sizeof *m->stack);
		}
		m->stack[m->nstack++] = (uint32_t)o;
	}
}

/* Chunk o's user area [*a, *end) and the copy that holds it. */
static const struct hs_copy *user_area(const struct marker *m, uint64_t o, uint64_t *pa, uint64_t *pend)
{
	const struct hs_copy *cp;
	uint64_t a, end;
	if (o < m->nheap) {
		cp = &m->ct->heaps[seg_index(m, o)];
		a = chunk_addr(m, o) + m->hdr;
		end = chunk_addr(m, o) + ((uint64_t)m->gsize[o] << m->shift) + m->sz;
	} else {
		const struct mm *c = &m->mm[o - m->nheap];
		cp = &m->ct->mmapped[c->copy];
		a = c->addr + m->hdr;
		end = c->addr + c->size;
	}
	*pa = a;
	*pend = end < cp->end ? end : cp->end;
	return cp;
}

/* The copied bytes of chunk o's user area (NULL if not copied). */
static const unsigned char *user_bytes(const struct marker *m, uint64_t o, size_t *len)
{
	uint64_t a, end;
	const struct hs_copy *cp = user_area(m, o, &a, &end);
	if (a >= end) {
		*len = 0;
		return NULL;
	}
	*len = (size_t)(end - a);
	return cp->data + (a - cp->start);
}

/* Scans chunk o's user area where the copy holds data: the rest is pages
 * the target never had (zeros, no pointer), GiBs in a heap of big blocks
 * of which only the headers were written. */
static void scan_chunk(struct marker *m, uint64_t o)
{
	uint64_t a, end;
	const struct hs_copy *cp = user_area(m, o, &a, &end);
	for (uint64_t b; (b = hs_copy_next_run(cp, &a, end)) != 0; a = b)
		scan(m, cp->data + (a - cp->start), (size_t)(b - a));
}

static uint64_t chunk_size(const struct marker *m, uint64_t o)
{
	return o < m->nheap ? (uint64_t)m->gsize[o] << m->shift : m->mm[o - m->nheap].size;
}

static uint64_t any_addr(const struct marker *m, uint64_t o)
{
	return o < m->nheap ? chunk_addr(m, o) : m->mm[o - m->nheap].addr;
}

static int cmp_mm(const void *x, const void *y)
{
	const struct mm *a = x, *b = y;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static int cmp_size_bytes(const void *x, const void *y)
{
	const struct hs_leak_size *a = x, *b = y;
	if (a->bytes != b->bytes)
		return a->bytes < b->bytes ? 1 : -1;
	return a->size < b->size ? -1 : a->size > b->size;
}

static int cmp_type_bytes(const void *x, const void *y)
{
	const struct hs_type_tally *a = x, *b = y;
	if (a->bytes != b->bytes)
		return a->bytes < b->bytes ? 1 : -1;
	return strcmp(a->type, b->type);
}

/* Per size: its row in by_size (open addressing on the size). */
struct size_tab {
	struct hs_leak_size *rows;
	size_t n, cap;
	size_t *slot; /* row index + 1 */
};

static struct hs_leak_size *size_row(struct size_tab *t, uint64_t size)
{
	if (2 * (t->n + 1) > t->cap) {
		size_t ncap = t->cap ? 2 * t->cap : 64;
		size_t *ns = hs_xcalloc(ncap, sizeof *ns);
		for (size_t i = 0; i < t->n; i++) {
			size_t j = t->rows[i].size * 0x9e3779b97f4a7c15ull % ncap;
			while (ns[j])
				j = (j + 1) % ncap;
			ns[j] = i + 1;
		}
		free(t->slot);
		t->slot = ns;
		t->cap = ncap;
		t->rows = hs_xrealloc(t->rows, ncap / 2, sizeof *t->rows);
	}
	size_t j = size * 0x9e3779b97f4a7c15ull % t->cap;
	while (t->slot[j] && t->rows[t->slot[j] - 1].size != size)
		j = (j + 1) % t->cap;
	if (!t->slot[j]) {
		t->rows[t->n] = (struct hs_leak_size){.size = size};
		t->slot[j] = ++t->n;
	}
	return &t->rows[t->slot[j] - 1];
}

static int type_of(const struct marker *m, const struct hs_types *types, uint64_t o)
{
	if (!types || !types->n)
		return -1;
	size_t len;
	const unsigned char *p = user_bytes(m, o, &len);
	if (!p || len < 8)
		return -1;
	uint64_t w;
	memcpy(&w, p, sizeof w);
	return hs_types_find(types, w);
}

void hs_leaks_find(const struct hs_heap *h, const struct hs_index *ix, const struct hs_contents *ct,
		   const struct hs_types *types, bool all, struct hs_leaks *out)
{
	memset(out, 0, sizeof *out);
	out->all = all;
	struct marker m = {.ix = ix, .ct = ct, .shift = ix->align_shift, .sz = h->layout->size_sz,
			   .hdr = 2 * h->layout->size_sz};
	/* In-use heap chunks: at most the walk's recorded and big ones. */
	m.cap = ix->nrec + 1;
	for (size_t i = 0; i < ix->narenas; i++)
		m.cap += ix->arenas[i].big_chunks;
	hs_bitrank_init(&m.starts, ix->ngranules, m.cap);
	m.gran = hs_xcalloc(m.cap, sizeof *m.gran);
	m.gsize = hs_xcalloc(m.cap, sizeof *m.gsize);
	for (size_t i = 0; i < ix->nsegs && i < ct->nheaps; i++)
		list_segment(&m, h, i);
	hs_bitrank_seal(&m.starts);
	if (ix->nsegs) {
		m.lo = ix->segs[0].start;
		m.hi = ix->segs[ix->nsegs - 1].end;
	}
	m.nmm = ct->nmmapped;
	m.mm = hs_xcalloc(m.nmm + 1, sizeof *m.mm);
	for (size_t i = 0; i < m.nmm; i++)
		m.mm[i] = (struct mm){h->mmapped[i].addr, h->mmapped[i].size, i};
	if (m.nmm)
		qsort(m.mm, m.nmm, sizeof *m.mm, cmp_mm);
	uint64_t total = m.nheap + m.nmm;
	m.mark = hs_xcalloc(total + 1, 1);

	for (size_t i = 0; i < ct->nroots; i++) {
		const struct hs_copy *r = &ct->roots[i];
		uint64_t a = (r->start + 7) & ~7ull;
		if (a < r->end)
			scan(&m, r->data + (a - r->start), (size_t)(r->end - a));
	}
	out->root_bytes = m.scanned;
	m.scanned = 0;
	/* Of all in-use bytes, the reachable ones are scanned: the line may
	 * end short of its total (then blanked). */
	uint64_t inuse = 0;
	for (uint64_t o = 0; ct->progress && ct->progress->on && o < total; o++)
		inuse += chunk_size(&m, o);
	hs_progress_start(ct->progress, "marking reachable chunks for --leaks", inuse);
	while (m.nstack) {
		uint64_t o = m.stack[--m.nstack];
		scan_chunk(&m, o);
		hs_progress_advance(ct->progress, chunk_size(&m, o));
	}
	hs_progress_end(ct->progress);
	out->scanned_bytes = m.scanned;

	/* Tallies. */
	struct size_tab st = {0};
	struct hs_type_tally *bytype = NULL;
	size_t ntypes = types ? types->nnames : 0;
	if (ntypes)
		bytype = hs_xcalloc(ntypes, sizeof *bytype);
	size_t capsus = 0;
	for (uint64_t o = 0; o < total; o++) {
		uint64_t size = chunk_size(&m, o);
		if (m.mark[o] & MARK_START) {
			out->reachable_chunks++;
			out->reachable_bytes += size;
			continue;
		}
		if (m.mark[o]) {
			out->interior_chunks++;
			out->interior_bytes += size;
			continue;
		}
		out->chunks++;
		out->bytes += size;
		struct hs_leak_size *row = size_row(&st, size);
		row->chunks++;
		row->bytes += size;
		int t = type_of(&m, types, o);
		if (t >= 0) {
			bytype[t].chunks++;
			bytype[t].bytes += size;
		}
		if (!all && (row->chunks > HS_LEAK_SAMPLE_PER_SIZE || out->nsuspects >= HS_LEAK_SAMPLE_MAX))
			continue;
		if (out->nsuspects == capsus) {
			capsus = capsus ? 2 * capsus : 64;
			out->suspects = hs_xrealloc(out->suspects, capsus, sizeof *out->suspects);
		}
		struct hs_leak_suspect *sp = &out->suspects[out->nsuspects++];
		memset(sp, 0, sizeof *sp);
		sp->addr = any_addr(&m, o);
		sp->size = size;
		sp->type = t >= 0 ? types->names[t] : NULL;
		size_t len;
		const unsigned char *p = user_bytes(&m, o, &len);
		sp->npreview = (unsigned)(len < HS_PREVIEW_BYTES ? len : HS_PREVIEW_BYTES);
		if (p)
			memcpy(sp->preview, p, sp->npreview);
	}
	if (st.n)
		qsort(st.rows, st.n, sizeof *st.rows, cmp_size_bytes);
	out->by_size = st.rows;
	out->nby_size = st.n;
	free(st.slot);
	for (size_t t = 0; t < ntypes; t++) {
		if (!bytype[t].chunks)
			continue;
		bytype[t].type = types->names[t];
		bytype[out->nby_type++] = bytype[t];
	}
	if (out->nby_type)
		qsort(bytype, out->nby_type, sizeof *bytype, cmp_type_bytes);
	out->by_type = bytype;

	hs_bitrank_free(&m.starts);
	free(m.gran);
	free(m.gsize);
	free(m.mm);
	free(m.mark);
	free(m.stack);
}

void hs_leaks_free(struct hs_leaks *l)
{
	free(l->by_size);
	free(l->by_type);
	free(l->suspects);
	memset(l, 0, sizeof *l);
}
