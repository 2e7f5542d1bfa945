/* compare.c - the live heap re-packed by the reference core. */
#include "analysis/compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refcore/refcore.h"

/* A thread's tcache_perthread_struct is in every live set; a fresh core
 * allocates its own at its first malloc, so the live ones are not
 * re-allocated. */
static bool is_tcache_struct(const struct hs_census *c, uint64_t chunk, unsigned hdr)
{
	for (size_t t = 0; t < c->nthreads; t++) {
		const struct hs_thread *th = c->threads[t].thread;
		if (th && th->tcache.addr && th->tcache.addr == chunk + hdr)
			return true;
	}
	return false;
}

/* Re-allocates, in address order, the in-use chunks of arena `only` (or of
 * every arena when only < 0) into rc. Returns false if the core refused. */
static bool repack(const struct hs_census *c, struct hs_refcore *rc, int only)
{
	const struct hs_layout *l = c->heap->layout;
	const struct hs_index *ix = c->index;
	for (size_t i = 0; i < ix->nchunks; i++) {
		const struct hs_chunk *ch = &ix->chunks[i];
		if (ch->arena < 0 || (only >= 0 && ch->arena != only))
			continue;
		if (hs_census_chunk_state(c, ch) != HS_ST_INUSE || is_tcache_struct(c, ch->addr, 2 * l->size_sz))
			continue;
		/* request2size(size - SIZE_SZ) is size for every aligned size. */
		if (!hs_refcore_malloc(rc, ch->size - l->size_sz) && hs_refcore_error(rc))
			return false;
	}
	return true;
}

struct footprint {
	uint64_t system, mmapped, mmapped_chunks, trimmed;
};

static bool fresh(const struct hs_census *c, const struct hs_refcore_cfg *cfg, int only, struct footprint *f,
		  struct hs_warnings *w)
{
	struct hs_refcore *rc = hs_refcore_new(cfg);
	if (!rc)
		return false;
	bool ok = repack(c, rc, only);
	struct hs_refcore_stats s;
	hs_refcore_stats(rc, &s);
	f->system = s.system_mem;
	f->mmapped = s.mmapped_bytes;
	f->mmapped_chunks = s.mmapped_chunks;
	hs_refcore_trim(rc, 0);
	hs_refcore_stats(rc, &s);
	f->trimmed = s.system_mem;
	if (!ok)
		hs_warn(w, "--compare: the reference core refused the live set: %s", hs_refcore_error(rc));
	hs_refcore_destroy(rc);
	return ok;
}

static void misplaced(struct hs_compare *cmp, int arena, uint64_t addr, uint64_t size, const char *list, int index,
		      const char *expected, int expected_index)
{
	cmp->misplaced_total++;
	if (cmp->nmisplaced < HS_MISPLACED_MAX)
		cmp->misplaced[cmp->nmisplaced++] =
			(struct hs_misplaced){arena, addr, size, list, index, expected, expected_index};
}

static const char *bin_kind(int bin)
{
	return bin < 64 ? "small" : "large";
}

static uint64_t node_size(const struct hs_index *ix, uint64_t addr)
{
	int64_t o = hs_index_find(ix, addr);
	return o < 0 ? 0 : hs_index_size(ix, (uint64_t)o);
}

/* Every list node against the list the core's free() and unsorted sort
 * would give its size; every free chunk in no list. */
static void check_lists(const struct hs_census *c, const struct hs_refcore *rc, struct hs_compare *cmp)
{
	const struct hs_index *ix = c->index;
	struct hs_refcore_home h;
	for (size_t a = 0; a < c->narenas; a++) {
		const struct hs_arena_bins *b = c->arenas[a].bins;
		for (int f = 0; b && f < HS_MAX_FASTBINS; f++)
			for (uint64_t k = 0; b->fast[f].nodes && k < b->fast[f].count; k++) {
				uint64_t p = b->fast[f].nodes[k], sz = node_size(ix, p);
				hs_refcore_home_of(rc, sz, &h);
				if (h.fast != f)
					misplaced(cmp, (int)a, p, sz, "fast", f, "fast", h.fast);
			}
		for (int i = 2; b && i < HS_NBINS; i++)
			for (uint64_t k = 0; b->bin[i].nodes && k < b->bin[i].count; k++) {
				uint64_t p = b->bin[i].nodes[k], sz = node_size(ix, p);
				hs_refcore_home_of(rc, sz, &h);
				if (h.bin != i)
					misplaced(cmp, (int)a, p, sz, bin_kind(i), i, bin_kind(h.bin), h.bin);
			}
	}
	for (size_t t = 0; t < c->nthreads; t++) {
		const struct hs_thread_bins *tb = c->threads[t].bins;
		for (int i = 0; tb && i < HS_MAX_TCACHE_BINS; i++)
			for (uint64_t k = 0; tb->tc[i].nodes && k < tb->tc[i].count; k++) {
				uint64_t p = tb->tc[i].nodes[k], sz = node_size(ix, p);
				hs_refcore_home_of(rc, sz, &h);
				if (h.tcache != i)
					misplaced(cmp, c->threads[t].thread->arena, p, sz, "tcache", i, "tcache", h.tcache);
			}
	}
	for (size_t i = 0; i < ix->nchunks; i++) {
		const struct hs_chunk *ch = &ix->chunks[i];
		if (ch->arena >= 0 && hs_census_chunk_state(c, ch) == HS_ST_FREE_UNLISTED)
			misplaced(cmp, ch->arena, ch->addr, ch->size, "none", -1, "unsorted", 1);
	}
}

void hs_compare_build(const struct hs_census *c, struct hs_compare *cmp, struct hs_warnings *w)
{
	memset(cmp, 0, sizeof *cmp);
	const struct hs_layout *l = c->heap ? c->heap->layout : NULL;
	if (!l || !c->index)
		return;
	struct hs_refcore_cfg cfg = {.vmajor = l->vmajor, .vminor = l->vminor, .size_sz = l->size_sz};
	snprintf(cmp->model, sizeof cmp->model, "%d.%d", l->vmajor, l->vminor);
	struct hs_refcore *probe = hs_refcore_new(&cfg);
	if (!probe)
		return; /* the report says the model is missing: not a heap problem */
	cmp->modelled = true;
	uint64_t live_mmapped = c->totals.mmapped.bytes;
	cmp->live_held_bytes = c->totals.system_bytes + live_mmapped;
	cmp->fresh_held_bytes = live_mmapped;
	cmp->arenas = hs_xcalloc(c->narenas ? c->narenas : 1, sizeof *cmp->arenas);
	cmp->narenas = c->narenas;
	for (size_t a = 0; a < c->narenas; a++) {
		struct hs_compare_arena *ca = &cmp->arenas[a];
		const struct hs_counts *k = &c->arenas[a].c;
		ca->arena = (int)a;
		ca->live_system_bytes = k->system_bytes;
		ca->live_in_use_bytes = k->in_use.bytes;
		ca->live_in_use_chunks = k->in_use.chunks;
		ca->trimmable_bytes = k->trimmable_bytes;
		struct footprint f = {0};
		fresh(c, &cfg, (int)a, &f, w);
		ca->fresh_system_bytes = f.system;
		ca->fresh_mmapped_bytes = f.mmapped;
		ca->fresh_mmapped_chunks = f.mmapped_chunks;
		ca->fresh_trimmed_bytes = f.trimmed;
		cmp->fresh_held_bytes += f.system + f.mmapped;
	}
	struct footprint m = {0};
	fresh(c, &cfg, -1, &m, w);
	cmp->merged_system_bytes = m.system;
	cmp->merged_mmapped_bytes = m.mmapped;
	cmp->merged_trimmed_bytes = m.trimmed;
	cmp->merged_held_bytes = m.system + m.mmapped + live_mmapped;
	check_lists(c, probe, cmp);
	hs_refcore_destroy(probe);
}

void hs_compare_free(struct hs_compare *cmp)
{
	free(cmp->arenas);
	memset(cmp, 0, sizeof *cmp);
}
