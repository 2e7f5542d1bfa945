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

/* A main arena that is one stretch (contiguous) but for a foreign sbrk:
 * the program moved the break itself between two of glibc's, so glibc
 * closed its old top with two fenceposts and went on after the
 * program's bytes (sysmalloc counts them in system_mem: "Count foreign
 * sbrk as system_mem"). The start of glibc's next piece in [from, top]
 * (top: the top chunk, the last piece's; end: its end): the first
 * MALLOC_ALIGNMENT step (glibc aligns the break it finds there, which a
 * foreign sbrk of any size may leave anywhere) whose first chunk looks
 * as a piece's does (pieces.c) and whose chain ends as a piece's does,
 * at two fenceposts or at the top chunk. 0 when there is none (or the
 * target could not be read: errno set). */
uint64_t hs_pieces_next(struct hs_source *src, const struct hs_layout *l, uint64_t from, uint64_t top, uint64_t end);

#endif
