/* mmapped.h - the chunks glibc gave their own mapping: in no list, found
 * by their headers in the target's anonymous mappings and checked
 * against mp_'s count and bytes. */
#ifndef HS_MMAPPED_H
#define HS_MMAPPED_H

#include "glibc/heap.h"

/* Fills h->mmapped; the arenas must be read (their heaps are skipped). A
 * count or byte total that disagrees with mp_ is a warning. */
void hs_mmapped_find(struct hs_source *src, struct hs_heap *h, struct hs_warnings *w);

#endif
