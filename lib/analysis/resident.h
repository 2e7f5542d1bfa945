/* resident.h - which pages of the heaps are resident, from
 * /proc/PID/pagemap, read while the target is stopped and before any heap
 * byte is read: reading a never-touched page maps the shared zero page,
 * which pagemap would then report as present although RSS does not count
 * it (GLIBC-FACTS.md 7). */
#ifndef HS_RESIDENT_H
#define HS_RESIDENT_H

#include "glibc/arenas.h"

#define HS_PAGE 4096ull

/* Fills heaps[].present for every heap of every arena. Returns 0, or -1
 * when pagemap cannot be read (then residency is simply not reported). */
int hs_resident_read(pid_t pid, struct hs_heap *h);
/* Bytes of [start, end) that lie on resident pages of heap seg. */
uint64_t hs_resident_bytes(const struct hs_heapseg *seg, uint64_t start, uint64_t end);

#endif
