/* bins.h - every free list: each thread's tcache, each arena's fastbins,
 * unsorted, small and large bins. Lists are followed through the index
 * the walk kept (safe-linking already decoded there); every node is
 * checked (a chunk start, the right size, not seen before) and a list
 * that goes wrong is cut there with a warning naming the address. The
 * nodes are marked in the index with the list that holds them. */
#ifndef HS_BINS_H
#define HS_BINS_H

#include "glibc/walk.h"

/* What one list holds. min/max/total follow glibc's malloc_info: for
 * regular bins they are the raw size fields (flag bits included); for
 * fastbins `head` is the chunk size of the first node. */
struct hs_binstat {
	uint64_t count;
	uint64_t bytes;     /* sum of chunk sizes (flags masked) */
	uint64_t raw_total; /* sum of raw size fields (malloc_info's total) */
	uint64_t raw_min, raw_max;
	uint64_t head;      /* chunksize of the first node */
	uint64_t *nodes;    /* with --bins: node chunk addresses, in list order */
};

struct hs_arena_bins {
	struct hs_binstat fast[HS_MAX_FASTBINS];
	struct hs_binstat bin[HS_NBINS]; /* [1] unsorted, [2..63] small, [64..] large */
};

struct hs_thread_bins {
	struct hs_binstat tc[HS_MAX_TCACHE_BINS];
	uint64_t chunks, bytes;
};

struct hs_bins {
	struct hs_arena_bins *arenas;   /* per arena */
	struct hs_thread_bins *threads; /* per thread */
	size_t narenas, nthreads;
};

/* keep_nodes (--bins): also keep every node's address, in list order. */
int hs_bins_read(const struct hs_heap *h, struct hs_index *ix, bool keep_nodes, struct hs_bins *b,
		 struct hs_warnings *w);
/* Chunk size held by tcache bin i (its upper bound for 2.42's large bins). */
uint64_t hs_tcache_bin_size(const struct hs_layout *l, int i);
/* Chunk size held by fastbin i. */
uint64_t hs_fastbin_size(const struct hs_layout *l, int i);
void hs_bins_free(struct hs_bins *b);

#endif
