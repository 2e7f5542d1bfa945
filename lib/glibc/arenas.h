/* arenas.h - the allocator's own structures, read from the target: mp_,
 * the ring of arenas with their heaps and bin heads, each thread's tcache
 * and arena, and the mmapped chunks (which are in no list). */
#ifndef HS_ARENAS_H
#define HS_ARENAS_H

#include "glibc/heap.h"

/* Reads everything but the chunks themselves. The target must be stopped.
 * Problems with the structures (a ring that does not close, a heap_info
 * that points elsewhere) are warnings; only a target that cannot be read
 * at all is an error. */
int hs_arenas_read(struct hs_source *src, const struct hs_symbols *sym,
		   const struct hs_task *tasks, size_t ntasks, struct hs_heap *h,
		   struct hs_warnings *w, struct hs_err *err);

#endif
