/* budget.h - how long a stop will take, predicted before it is made
 * (--max-stop refuses a stop predicted over its budget).
 *
 * The stop is mostly the reading of the heaps: what they hold in RAM or
 * swap is what it must read (pages they never had are not read). The
 * heaps are found in the mappings alone: [heap], and every arena heap, a
 * private anonymous mapping that starts at a multiple of HEAP_MAX (glibc
 * aligns them so, to find a chunk's heap from its address); their bytes
 * in RAM and swap come from smaps, read before the stop anyway. The read
 * rate is measured on the target, now, while it runs: the best of four
 * reads of 2 MiB of the present pages of its largest heap, through the
 * same reader the stop uses (pagemap, then process_vm_readv), taken as at
 * least 256 MiB/s (a slower sample was disturbed). Unwinding the threads' stacks
 * adds a few milliseconds a thread. */
#ifndef HS_BUDGET_H
#define HS_BUDGET_H

#include "source/smaps.h"
#include "source/source.h"

struct hs_stop_estimate {
	uint64_t heap_bytes;   /* in RAM or swap, in the heaps */
	uint64_t copy_bytes;   /* with --leaks: in RAM or swap in the other private writable mappings */
	uint64_t sample_bytes; /* the best sample read (0: nothing to read), */
	double sample_ms;      /* and how long it took */
	size_t threads;
	double rate_mib_s; /* the rate it assumes: the sample's, at least 256 MiB/s */
	double ms; /* the prediction */
};

/* Predicts the stop of src's process (not stopped), whose smaps are s,
 * with heap_max glibc's HEAP_MAX_SIZE; with leaks, the stop also copies
 * every private writable mapping's data (glibc/contents.h: stacks, .data
 * and .bss, mmapped chunks, the program's own pools), read at the same
 * rate. Reads only pages the process has. */
void hs_stop_estimate(struct hs_source *src, const struct hs_smaps *s, uint64_t heap_max, bool leaks,
		      struct hs_stop_estimate *e);

#endif
