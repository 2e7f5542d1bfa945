/* pieces.h - a main arena that is not one stretch from sbrk_base: the
 * pieces sysmalloc added by mmap when MORECORE failed (always, with
 * glibc.malloc.hugetlb=2), or after a foreign sbrk left a gap. */
#ifndef HS_PIECES_H
#define HS_PIECES_H

#include "glibc/heap.h"

/* Adds main_arena's pieces to a->heaps, in address order, the first one
 * from first_chunk (sbrk_base's first chunk). The thread arenas' heaps
 * must be read already (their memory is not searched). A set of pieces
 * that does not add up to system_mem, or that misses the top chunk, is a
 * warning. Returns 0, or an exit code when the target could not be read
 * at all (gone, interrupted). */
int hs_pieces_find(struct hs_source *src, const struct hs_heap *h, struct hs_arena *a, uint64_t first_chunk,
		   struct hs_warnings *w, struct hs_err *err);

#endif
