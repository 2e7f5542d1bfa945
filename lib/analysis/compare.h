/* compare.h - the live heap beside the reference allocator core
 * (--compare). Per arena: what a fresh heap would need for the same live
 * set (the in-use chunks re-allocated, in address order, by the core
 * modelling the target's glibc), the same after malloc_trim(0), and what
 * malloc_trim(0) would return from the live heap now; for the process: all
 * arenas' live sets in one arena (what MALLOC_ARENA_MAX=1 would have
 * bought); and every free chunk that sits in a list the core would not
 * have put it in (corruption, or a glibc the model does not know). Part
 * of the diagnose stage: it reads only the census (with every chunk and
 * every list node kept). */
#ifndef HS_COMPARE_H
#define HS_COMPARE_H

#include "analysis/census.h"

struct hs_compare_arena {
	int arena;
	uint64_t live_system_bytes, live_in_use_bytes, live_in_use_chunks;
	uint64_t trimmable_bytes;       /* live: RSS malloc_trim(0) returns now */
	uint64_t fresh_system_bytes;    /* the core's heap for the same live set */
	uint64_t fresh_mmapped_bytes;   /* chunks the core would mmap instead */
	uint64_t fresh_mmapped_chunks;
	uint64_t fresh_trimmed_bytes;   /* the core's heap after malloc_trim(0) */
};

/* A free chunk in a list the core would not have put it in. */
struct hs_misplaced {
	int arena;               /* -1 for a tcache chunk of another arena */
	uint64_t addr, size;
	const char *list;        /* "tcache", "fast", "small", "large", "unsorted", "none" */
	int index;               /* the bin it was found in (-1 for none) */
	const char *expected;    /* the list the core puts it in */
	int expected_index;
};

#define HS_MISPLACED_MAX 64

struct hs_compare {
	char model[16];          /* "2.36": the glibc the core modelled */
	bool modelled;           /* false: the core has no model of the target's glibc */
	struct hs_compare_arena *arenas;
	size_t narenas;
	/* All arenas' live sets in one arena. */
	uint64_t merged_system_bytes, merged_mmapped_bytes, merged_trimmed_bytes;
	/* Process totals: held from the OS now (heaps + mmapped chunks), by a
	 * fresh heap per arena, and by one arena (live mmapped chunks kept as
	 * they are in both). */
	uint64_t live_held_bytes, fresh_held_bytes, merged_held_bytes;
	struct hs_misplaced misplaced[HS_MISPLACED_MAX];
	size_t nmisplaced;       /* kept (at most HS_MISPLACED_MAX) */
	uint64_t misplaced_total;
};

/* c must have been built with every chunk kept (hs_walk_opts.keep_chunks)
 * and every list node kept (hs_bins_read keep_nodes). */
void hs_compare_build(const struct hs_census *c, struct hs_compare *cmp, struct hs_warnings *w);
void hs_compare_free(struct hs_compare *cmp);

#endif
