/* resident.h - which pages of the heaps are resident (in RAM), from the
 * source's page states (/proc/PID/pagemap for a live target), read while
 * the target is stopped.
 *
 * Resident means present. A swapped-out page is not resident: RSS does
 * not count it, and malloc_trim(0)'s MADV_DONTNEED of it frees swap, not
 * RSS (GLIBC-FACTS.md 7), so it is neither resident free space nor
 * trimmable_bytes ("RSS that malloc_trim(0) would return now"). */
#ifndef HS_RESIDENT_H
#define HS_RESIDENT_H

#include "glibc/arenas.h"
#include "source/source.h"

#define HS_PAGE 4096ull

/* Fills heaps[].present for every heap of every arena. Returns 0, or -1
 * with errno when the page states cannot be read (then residency is not
 * reported). */
int hs_resident_read(struct hs_source *src, struct hs_heap *h);
/* Bytes of [start, end) that lie on resident pages of heap seg. */
uint64_t hs_resident_bytes(const struct hs_heapseg *seg, uint64_t start, uint64_t end);

#endif
