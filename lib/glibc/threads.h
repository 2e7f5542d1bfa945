/* threads.h - each stopped thread's arena (thread_arena) and tcache, read
 * from libc's TLS block. Where tcache and thread_arena sit in that block
 * comes from DWARF or, without debug symbols, from a signature scan of
 * the block in every thread (GLIBC-FACTS.md 4). */
#ifndef HS_THREADS_H
#define HS_THREADS_H

#include "glibc/heap.h"

/* Fills h->threads from the stopped tasks; the arenas must be read. */
void hs_threads_read(struct hs_source *src, const struct hs_symbols *sym, const struct hs_task *tasks,
		     size_t ntasks, struct hs_heap *h, struct hs_warnings *w);

#endif
