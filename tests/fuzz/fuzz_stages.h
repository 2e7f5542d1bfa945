/* fuzz_stages.h - every stage after `target` over one image, as the fuzz
 * targets run them: arenas, residency (the image's page states, all
 * present unless the target gave some), walk (every chunk kept, a small
 * window so reads cross window edges), lists (nodes kept), census.
 * Shared by fuzz_heap, fuzz_refcore and fuzz_replay. */
#ifndef FUZZ_STAGES_H
#define FUZZ_STAGES_H

#include <stdio.h>
#include <string.h>

#include "glibc/arenas.h"
#include "glibc/bins.h"
#include "analysis/census.h"
#include "analysis/resident.h"
#include "report/report.h"
#include "glibc/walk.h"

struct fz_run {
	struct hs_err err;
	struct hs_warnings w;
	struct hs_heap h;
	struct hs_index ix;
	struct hs_bins b;
	struct hs_census c;
	bool census; /* c was built */
};

/* Returns true when the census was built (the arenas could be read and
 * malloc had run). */
static inline bool fz_read(struct hs_source *src, const struct hs_symbols *sym, const struct hs_task *task,
			   struct fz_run *r)
{
	memset(r, 0, sizeof *r);
	if (hs_arenas_read(src, sym, task, 1, &r->h, &r->w, &r->err) != 0 || !r->h.malloc_initialised)
		return false;
	hs_resident_read(src, &r->h); /* as attach does, before the walk */
	struct hs_walk_opts o = {.keep_chunks = true, .window = 4096};
	if (hs_walk(src, &r->h, &o, &r->ix, &r->w, &r->err) != 0)
		return false;
	hs_bins_read(&r->h, &r->ix, true, &r->b, &r->w);
	hs_census_build(&r->h, &r->ix, &r->b, &r->c, &r->w);
	r->c.sym = sym;
	r->census = true;
	return true;
}

/* Every renderer, every option, to /dev/null. */
static inline void fz_report_all(const struct hs_census *c, const struct hs_diagnosis *d)
{
	FILE *out = fopen("/dev/null", "w");
	for (int f = HS_FMT_TEXT; f <= HS_FMT_MALLOC_INFO && out; f++) {
		struct hs_report_opts ro = {.format = (enum hs_format)f, .chunks = true, .bins = true};
		hs_report(out, c, d, &ro);
	}
	if (out)
		fclose(out);
}

static inline void fz_free(struct fz_run *r)
{
	hs_census_free(&r->c);
	hs_bins_free(&r->b);
	hs_index_free(&r->ix);
	hs_heap_free(&r->h);
	hs_warnings_free(&r->w);
}

#endif
