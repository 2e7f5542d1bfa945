/* census.h - the walk and the lists put together: every byte of every
 * arena classified once (in use, tcache, fastbin, bin, top, overhead),
 * per arena, per thread and per size class, and the numbers glibc itself
 * would compute (mallinfo2, malloc_stats, malloc_info). A pure function
 * of what was read; every report is a pure function of the census. */
#ifndef HS_CENSUS_H
#define HS_CENSUS_H

#include "glibc/bins.h"
#include "analysis/leaks.h"
#include "analysis/process.h"
#include "glibc/types.h"

struct hs_delta; /* analysis/trend.h */

struct hs_tally {
	uint64_t chunks, bytes;
};

struct hs_counts {
	struct hs_tally in_use, free, tcache, fast, bin, mmapped;
	uint64_t system_bytes, top_bytes, overhead_bytes;
	/* Of overhead_bytes, the program's own between the main arena's
	 * pieces after a foreign sbrk (glibc counts them in system_mem). */
	uint64_t foreign_sbrk_bytes;
	/* From pagemap, valid when hs_census.have_residency: bytes of free
	 * chunks and top on resident pages, and what malloc_trim(0) would
	 * give back now (JSON totals.resident_free_bytes, trimmable_bytes). */
	uint64_t resident_free_bytes, trimmable_bytes;
};

struct hs_hist_row {
	uint64_t min, max;
	struct hs_tally in_use, free;
};

/* The same fields, meanings and types as glibc's struct mallinfo2. */
struct hs_mallinfo2 {
	uint64_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};

struct hs_arena_census {
	const struct hs_arena *arena;     /* what was read */
	const struct hs_arena_bins *bins; /* its lists, as glibc would list them */
	struct hs_counts c;
	struct hs_mallinfo2 mi; /* int_mallinfo() of this arena alone */
	/* glibc never gives this arena's top back, neither free() nor
	 * malloc_trim(0): a main arena grown by mmap, not sbrk, or one whose
	 * break a foreign sbrk moved past its top (systrim shrinks only a
	 * contiguous brk heap whose top ends at the break). Its top counts
	 * nothing in trimmable_bytes. */
	bool top_never_trimmed;
};

struct hs_thread_census {
	const struct hs_thread *thread;
	const struct hs_thread_bins *bins;
	struct hs_tally tcache;
};

struct hs_census {
	/* Where the numbers come from, for the report's header. */
	pid_t pid;
	const char *exe;
	const char *core; /* the core file read, NULL for a live process */
	const char *arch;
	const struct hs_symbols *sym;
	const struct hs_heap *heap;
	const struct hs_index *index; /* chunks (with --chunks) and list marks */
	double stopped_ms, total_ms;
	/* attach: the stop predicted before it was made, and its budget
	 * (--max-stop); 0 when there was no stop to predict (replay). */
	double predicted_stop_ms, max_stop_ms;
	int retries;
	/* attach: the tracer that held the process stopped (gdb), which
	 * heapscope read as it was, not stopping it; 0 when it stopped it */
	pid_t held_by;
	const char *held_comm;
	bool consistent;
	bool cut_short; /* the stop reached its budget: the heap was read in part */
	bool have_residency; /* hs_counts.resident_free_bytes/trimmable_bytes are set */
	int cpus_online, cpus_allowed; /* from the target stage (hs_target), 0 unknown */

	struct hs_arena_census *arenas;
	size_t narenas;
	struct hs_thread_census *threads;
	size_t nthreads;
	struct hs_counts totals;
	struct hs_hist_row hist[HS_HIST_CLASSES];
	size_t nhist; /* rows in use */
	struct hs_mallinfo2 mallinfo2; /* what mallinfo2() would return */
	const struct hs_warnings *warnings;
	/* In-use chunks by C++ type (from their vptrs), largest bytes first;
	 * mmapped chunks included. Empty when no module has a vtable. */
	struct hs_type_tally *types;
	size_t ntypes;
	/* The vtables the types were named from (pins are named with it too);
	 * NULL when none were loaded. */
	const struct hs_types *typetab;
	/* The whole process's memory (smaps, read before the stop), set by
	 * the caller like the header fields; NULL without a process (replay). */
	const struct hs_process *process;
	/* watch: this snapshot against the one before (analysis/trend.h),
	 * set by the caller like the header fields; NULL otherwise. */
	const struct hs_delta *delta;
};

void hs_census_build(const struct hs_heap *h, const struct hs_index *ix, const struct hs_bins *b,
		     struct hs_census *c, struct hs_warnings *w);
/* State of a kept chunk (hs_index.chunks) once the lists are known. */
enum hs_state hs_census_chunk_state(const struct hs_census *c, const struct hs_chunk *ch);
void hs_census_free(struct hs_census *c);

#endif
