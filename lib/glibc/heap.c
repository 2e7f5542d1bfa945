/* heap.c - questions about a heap already read: which arena owns an
 * address, what a tcache pointer outside every heap means. */
#include "glibc/heap.h"

#include <stdlib.h>

bool hs_tcache_placeholder(const struct hs_heap *h, uint64_t v)
{
	return h->layout->tcache_counts_down && hs_arena_of(h, v) < 0;
}

int hs_arena_of(const struct hs_heap *h, uint64_t addr)
{
	for (size_t i = 0; i < h->narenas; i++)
		for (size_t k = 0; k < h->arenas[i].nheaps; k++)
			if (addr >= h->arenas[i].heaps[k].start && addr < h->arenas[i].heaps[k].end)
				return (int)i;
	return -1;
}

void hs_heap_free(struct hs_heap *h)
{
	for (size_t i = 0; i < h->narenas; i++) {
		for (size_t k = 0; k < h->arenas[i].nheaps; k++)
			free(h->arenas[i].heaps[k].present);
		free(h->arenas[i].heaps);
	}
	free(h->arenas);
	free(h->threads);
	free(h->mmapped);
	memset(h, 0, sizeof *h);
}

/* glibc's heap_max_size() (malloc/arena.c): up to 2.41,
 *   return mp_.hp_pagesize == 0 ? HEAP_MAX_SIZE : mp_.hp_pagesize * 4;
 * from 2.42 (commit 9f551e28a7 "malloc: Improve arena_for_chunk()", in
 * glibc-2.41..glibc-2.42 of the bminor/glibc mirror), a constant, so that
 * heap_for_ptr is a mask:
 *   return HEAP_MAX_SIZE;
 * (and new_heap uses huge pages only when hp_pagesize <= HEAP_MAX_SIZE). */
uint64_t hs_heap_max(const struct hs_heap *h)
{
	const struct hs_layout *l = h->layout;
	bool hp = h->mp.hp_pagesize && (l->vmajor < 2 || (l->vmajor == 2 && l->vminor < 42));
	return hp ? h->mp.hp_pagesize * 4 : l->heap_max;
}

bool hs_heap_covers(const struct hs_heap *h, uint64_t start, uint64_t end)
{
	uint64_t heap_max = hs_heap_max(h);
	for (size_t i = 0; i < h->narenas; i++) {
		const struct hs_arena *a = &h->arenas[i];
		for (size_t k = 0; k < a->nheaps; k++) {
			uint64_t lo = a->main ? a->heaps[k].start : a->heaps[k].info;
			uint64_t hi = a->main ? a->heaps[k].end : a->heaps[k].info + heap_max;
			if (start < hi && end > lo)
				return true;
		}
	}
	return false;
}
