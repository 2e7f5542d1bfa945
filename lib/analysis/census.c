/* census.c - classify every byte once and compute glibc's own numbers. */
#include "analysis/census.h"

#include "analysis/resident.h"
#include "glibc/types.h"

#include <stdlib.h>
#include <string.h>

static void tally_add(struct hs_tally *t, uint64_t chunks, uint64_t bytes)
{
	t->chunks += chunks;
	t->bytes += bytes;
}

static void counts_add(struct hs_counts *to, const struct hs_counts *c)
{
	tally_add(&to->in_use, c->in_use.chunks, c->in_use.bytes);
	tally_add(&to->free, c->free.chunks, c->free.bytes);
	tally_add(&to->tcache, c->tcache.chunks, c->tcache.bytes);
	tally_add(&to->fast, c->fast.chunks, c->fast.bytes);
	tally_add(&to->bin, c->bin.chunks, c->bin.bytes);
	tally_add(&to->mmapped, c->mmapped.chunks, c->mmapped.bytes);
	to->system_bytes += c->system_bytes;
	to->resident_free_bytes += c->resident_free_bytes;
	to->trimmable_bytes += c->trimmable_bytes;
	to->top_bytes += c->top_bytes;
	to->overhead_bytes += c->overhead_bytes;
	to->foreign_sbrk_bytes += c->foreign_sbrk_bytes;
}

/* int_mallinfo() for one arena, from the lists as glibc walks them. */
static void arena_mallinfo(const struct hs_heap *h, const struct hs_arena *a, const struct hs_arena_bins *b,
			   uint64_t top, struct hs_mallinfo2 *mi)
{
	uint64_t fastavail = 0, nfast = 0, avail = top, nblocks = 1;
	for (int i = 0; i < HS_MAX_FASTBINS; i++) {
		fastavail += b->fast[i].bytes;
		nfast += b->fast[i].count;
	}
	avail += fastavail;
	for (int i = 1; i < HS_NBINS; i++) {
		nblocks += b->bin[i].count;
		avail += b->bin[i].bytes;
	}
	memset(mi, 0, sizeof *mi);
	mi->smblks = nfast;
	mi->ordblks = nblocks;
	mi->fordblks = avail;
	mi->uordblks = a->system_mem - avail;
	mi->arena = a->system_mem;
	mi->fsmblks = fastavail;
	if (a->main) {
		mi->hblks = (uint64_t)(int64_t)h->mp.n_mmaps;
		mi->hblkhd = h->mp.mmapped_mem;
		mi->keepcost = top;
	}
}

/* malloc_trim(0) as glibc's mtrim() and systrim() do it, page for page.
 * malloc_consolidate() first merges every fastbin chunk with its free
 * neighbours (tcache chunks stay: they count as in use); each merged run,
 * and each chunk already in a bin, then has its whole pages past the
 * first sizeof(struct malloc_chunk) bytes given back with MADV_DONTNEED;
 * a run that reaches top joins it; last, the main arena's top is cut
 * back to a page boundary (systrim with pad 0). Thread arenas' tops stay. */
struct trim {
	const struct hs_heapseg *seg;
	uint64_t rs, re; /* the run being grown */
	bool fast;       /* it holds a fastbin chunk */
	uint64_t top, top_merge, bytes;
	unsigned chunk_hdr; /* sizeof (struct malloc_chunk) */
};

static void trim_flush(struct trim *t)
{
	uint64_t size = t->re - t->rs;
	if (!size)
		return;
	if (t->re == t->top && t->fast) {
		t->top_merge = size; /* malloc_consolidate() extends top down */
	} else if (size > HS_PAGE - 1 + t->chunk_hdr) {
		uint64_t pal = (t->rs + t->chunk_hdr + HS_PAGE - 1) & ~(HS_PAGE - 1);
		uint64_t rem = size - (pal - t->rs);
		uint64_t end = pal + (rem & ~(HS_PAGE - 1));
		/* In hugetlb memory the kernel drops whole huge pages only, from
		 * a start on one (else MADV_DONTNEED fails: EINVAL), and mtrim
		 * aligns to the base page: a run gives back only when its first
		 * base page starts a huge page, and then its whole huge pages. */
		const uint64_t hp = t->seg->huge_page;
		if (hp && (pal & (hp - 1)))
			end = pal;
		else if (hp)
			end &= ~(hp - 1);
		if (rem > HS_PAGE - 1 && end > pal)
			t->bytes += hs_resident_bytes(t->seg, pal, end);
	}
	t->rs = t->re = 0;
	t->fast = false;
}

/* systrim: glibc trims only a main top that ends at the break (see
 * heap.h); a main arena grown by mmap (NONCONTIGUOUS: hugetlb=2, or sbrk
 * refused) keeps its top for good, and one whose break a foreign sbrk
 * moved past the top keeps it while the break stays there. The one place
 * that rule lives. */
static bool top_never_trimmed(const struct hs_arena *a)
{
	return a->main && ((a->flags & HS_ARENA_NONCONTIGUOUS) || a->break_past_top);
}

/* One pass over a segment's recorded chunks, in address order: each is
 * tallied with the list that holds it and, when pagemap was read, its
 * resident bytes and its part in what malloc_trim(0) would give back. */
static void classify_segment(const struct hs_heap *h, const struct hs_index *ix, const struct hs_segment *sg,
			     struct hs_census *c, struct hs_walk_tally *used, struct hs_walk_tally *freed)
{
	const struct hs_layout *l = h->layout;
	const struct hs_arena *a = &h->arenas[sg->arena];
	const struct hs_heapseg *seg = &a->heaps[sg->heap];
	struct hs_counts *cc = &c->arenas[sg->arena].c;
	const bool res = h->have_residency;
	const bool top_here = a->top >= sg->start && a->top < sg->end;
	struct trim t = {.seg = seg, .top = top_here ? a->top : UINT64_MAX, .chunk_hdr = 6 * l->size_sz};
	struct hs_seg_iter it;
	for (hs_seg_iter_init(&it, ix, sg); hs_seg_iter_next(&it);) {
		const int kind = (ix->flags[it.ord] & HS_CF_LISTMASK) >> 1;
		const uint64_t size = ix->sz[it.ord] ? (uint64_t)ix->sz[it.ord] << ix->align_shift : hs_index_size(ix, it.ord);
		const int cl = hs_size_class(size);
		/* A chunk that looks free but no bin holds is lost to
		 * glibc as much as one in use: count it with those. */
		struct hs_tally *to = kind == HS_LIST_TCACHE ? &cc->tcache
				    : kind == HS_LIST_FAST ? &cc->fast
				    : kind != HS_LIST_NONE ? &cc->bin : &cc->in_use;
		struct hs_walk_tally *hist = kind == HS_LIST_NONE ? &used[cl] : &freed[cl];
		to->chunks++;
		to->bytes += size;
		hist->chunks++;
		hist->bytes += size;
		if (!res)
			continue;
		if (kind != HS_LIST_NONE)
			cc->resident_free_bytes += hs_resident_bytes(seg, it.addr, it.addr + size);
		/* tcache chunks stay in use through malloc_trim */
		if (kind == HS_LIST_NONE || kind == HS_LIST_TCACHE) {
			trim_flush(&t);
			continue;
		}
		if (it.addr != t.re)
			trim_flush(&t);
		if (!t.re)
			t.rs = it.addr;
		t.re = it.addr + size;
		t.fast |= kind == HS_LIST_FAST;
	}
	if (!res)
		return;
	trim_flush(&t);
	cc->trimmable_bytes += t.bytes;
	if (top_here) {
		uint64_t top_end = a->top + ix->arenas[sg->arena].top_bytes;
		if (top_end > sg->end || top_end < a->top) /* a corrupt size: the walk warned */
			top_end = sg->end;
		cc->resident_free_bytes += hs_resident_bytes(seg, a->top, top_end);
		uint64_t top_size = top_end - a->top + t.top_merge;
		uint64_t minsize = 4 * l->size_sz;
		if (a->main && !top_never_trimmed(a) && top_size > minsize + 1) {
			uint64_t extra = (top_size - minsize - 1) & ~(HS_PAGE - 1);
			cc->trimmable_bytes += hs_resident_bytes(seg, top_end - extra, top_end);
		}
	}
}

static int cmp_type(const void *x, const void *y)
{
	const struct hs_type_tally *a = x, *b = y;
	if (a->bytes != b->bytes)
		return a->bytes < b->bytes ? 1 : -1;
	return strcmp(a->type, b->type);
}

/* In-use chunks by type: what the walk tallied, plus the recorded chunks
 * it typed that no list holds. */
static void census_types(const struct hs_index *ix, struct hs_census *c)
{
	const struct hs_types *ty = ix->types;
	if (!ty || !ty->nnames)
		return;
	struct hs_type_tally *t = hs_xcalloc(ty->nnames, sizeof *t);
	for (size_t i = 0; i < ty->nnames; i++)
		t[i] = (struct hs_type_tally){ty->names[i], ix->type_big[i].chunks, ix->type_big[i].bytes};
	for (uint64_t ord = 0; ord < ix->nrec; ord++) {
		if (!ix->rtype[ord] || (ix->flags[ord] & (HS_CF_LISTMASK | HS_CF_FREE)))
			continue;
		t[ix->rtype[ord] - 1].chunks++;
		t[ix->rtype[ord] - 1].bytes += hs_index_size(ix, ord);
	}
	for (size_t i = 0; i < ty->nnames; i++)
		if (t[i].chunks)
			t[c->ntypes++] = t[i];
	if (c->ntypes)
		qsort(t, c->ntypes, sizeof *t, cmp_type);
	c->types = t;
}

void hs_census_build(const struct hs_heap *h, const struct hs_index *ix, const struct hs_bins *b,
		     struct hs_census *c, struct hs_warnings *w)
{
	c->heap = h;
	c->index = ix;
	c->narenas = h->narenas;
	c->arenas = hs_xcalloc(h->narenas, sizeof *c->arenas);
	c->nthreads = h->nthreads;
	c->threads = hs_xcalloc(h->nthreads, sizeof *c->threads);

	/* The walk tallied the large in-use chunks; every other chunk is in
	 * the index, marked with the list that holds it. */
	struct hs_walk_tally (*used)[HS_HIST_CLASSES] = hs_xcalloc(h->narenas, sizeof *used);
	struct hs_walk_tally (*freed)[HS_HIST_CLASSES] = hs_xcalloc(h->narenas, sizeof *freed);
	for (size_t i = 0; i < h->narenas; i++) {
		const struct hs_walk_arena *wa = &ix->arenas[i];
		struct hs_arena_census *ac = &c->arenas[i];
		ac->arena = &h->arenas[i];
		ac->bins = &b->arenas[i];
		ac->c.system_bytes = h->arenas[i].system_mem;
		ac->c.top_bytes = wa->top_bytes;
		ac->c.overhead_bytes = wa->overhead_bytes;
		ac->c.foreign_sbrk_bytes = wa->foreign_bytes;
		ac->top_never_trimmed = top_never_trimmed(ac->arena);
		ac->c.in_use = (struct hs_tally){wa->big_chunks, wa->big_bytes};
		memcpy(used[i], wa->hist_big, sizeof used[i]);
	}
	for (size_t s = 0; s < ix->nsegs; s++)
		classify_segment(h, ix, &ix->segs[s], c, used[ix->segs[s].arena], freed[ix->segs[s].arena]);
	c->have_residency = h->have_residency;
	for (size_t i = 0; i < h->narenas; i++) {
		struct hs_arena_census *ac = &c->arenas[i];
		ac->c.free.chunks = ac->c.tcache.chunks + ac->c.fast.chunks + ac->c.bin.chunks;
		ac->c.free.bytes = ac->c.tcache.bytes + ac->c.fast.bytes + ac->c.bin.bytes;
		arena_mallinfo(h, ac->arena, ac->bins, ac->c.top_bytes, &ac->mi);
		uint64_t sum = ac->c.in_use.bytes + ac->c.free.bytes + ac->c.top_bytes + ac->c.overhead_bytes;
		if (sum != ac->c.system_bytes)
			hs_warn(w, "arena %zu at 0x%llx: chunks, top and headers add up to %llu bytes, system_mem is %llu",
				i, (unsigned long long)ac->arena->addr, (unsigned long long)sum,
				(unsigned long long)ac->c.system_bytes);
		counts_add(&c->totals, &ac->c);
		struct hs_mallinfo2 *m = &c->mallinfo2, *a = &ac->mi;
		m->arena += a->arena;
		m->ordblks += a->ordblks;
		m->smblks += a->smblks;
		m->fsmblks += a->fsmblks;
		m->uordblks += a->uordblks;
		m->fordblks += a->fordblks;
		if (ac->arena->main) {
			m->hblks = a->hblks;
			m->hblkhd = a->hblkhd;
			m->keepcost = a->keepcost;
		}
	}
	/* glibc's own figures (JSON.md: mmapped_bytes as mp_.mmapped_mem
	 * counts them, which 2.43's mremap drift puts ahead of the mappings);
	 * the chunks found in the maps are checked against them (mmapped.c). */
	tally_add(&c->totals.mmapped, h->mp.n_mmaps > 0 ? (uint64_t)h->mp.n_mmaps : 0, h->mp.mmapped_mem);

	/* Histogram over all arenas, rows that hold anything. */
	for (int cl = 0; cl < HS_HIST_CLASSES; cl++) {
		struct hs_hist_row r = {.min = cl ? 32ull << cl : 0, .max = (64ull << cl) - 1};
		for (size_t i = 0; i < h->narenas; i++) {
			tally_add(&r.in_use, used[i][cl].chunks, used[i][cl].bytes);
			tally_add(&r.free, freed[i][cl].chunks, freed[i][cl].bytes);
		}
		if (r.in_use.chunks || r.free.chunks)
			c->hist[c->nhist++] = r;
	}
	free(used);
	free(freed);

	for (size_t t = 0; t < h->nthreads; t++) {
		c->threads[t].thread = &h->threads[t];
		c->threads[t].bins = &b->threads[t];
		c->threads[t].tcache = (struct hs_tally){b->threads[t].chunks, b->threads[t].bytes};
	}
	census_types(ix, c);
	c->warnings = w;
}

enum hs_state hs_census_chunk_state(const struct hs_census *c, const struct hs_chunk *ch)
{
	if (ch->apparent == HS_ST_TOP || ch->apparent == HS_ST_MMAPPED)
		return (enum hs_state)ch->apparent;
	int64_t o = hs_index_find(c->index, ch->addr);
	if (o < 0)
		return HS_ST_INUSE;
	switch ((c->index->flags[o] & HS_CF_LISTMASK) >> 1) {
	case HS_LIST_TCACHE:
		return HS_ST_TCACHE;
	case HS_LIST_FAST:
		return HS_ST_FAST;
	case HS_LIST_NONE:
		return c->index->flags[o] & HS_CF_FREE ? HS_ST_FREE_UNLISTED : HS_ST_INUSE;
	default:
		return HS_ST_BIN;
	}
}

void hs_census_free(struct hs_census *c)
{
	free(c->arenas);
	free(c->threads);
	free(c->types);
	c->types = NULL;
	c->arenas = NULL;
	c->threads = NULL;
}
