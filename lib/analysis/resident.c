/* resident.c - one bit per page of each heap: present or not. */
#include "analysis/resident.h"

#include <stdlib.h>
#include <string.h>

#define BATCH 4096 /* page states asked at a time */

static int read_seg(struct hs_source *src, struct hs_heapseg *s)
{
	uint64_t first = s->base / HS_PAGE, last = (s->end + HS_PAGE - 1) / HS_PAGE;
	uint64_t n = last - first;
	s->present = hs_xcalloc(n / 64 + 1, sizeof *s->present);
	s->present_first = first;
	unsigned char st[BATCH];
	for (uint64_t i = 0; i < n;) {
		size_t want = (size_t)(n - i < BATCH ? n - i : BATCH);
		if (hs_pages(src, (first + i) * HS_PAGE, want, st) < 0)
			return -1;
		for (size_t k = 0; k < want; k++, i++)
			if (st[k] == HS_PAGE_PRESENT) /* swapped is not resident: see resident.h */
				s->present[i / 64] |= 1ull << (i % 64);
	}
	return 0;
}

/* Hugetlb memory is "/anon_hugepage (deleted)" in the maps, of glibc's
 * own huge page size (mp_.hp_pagesize: it mapped it so). */
static uint64_t huge_page(const struct hs_source *src, const struct hs_heap *h, const struct hs_heapseg *s)
{
	const struct hs_map *m = hs_maps_find(&src->maps, s->base);
	if (!m || strncmp(m->path, "/anon_hugepage", 14))
		return 0;
	return h->mp.hp_pagesize > HS_PAGE ? h->mp.hp_pagesize : 2 << 20;
}

int hs_resident_read(struct hs_source *src, struct hs_heap *h)
{
	int rc = 0;
	for (size_t i = 0; i < h->narenas && !rc; i++)
		for (size_t k = 0; k < h->arenas[i].nheaps && !rc; k++) {
			struct hs_heapseg *s = &h->arenas[i].heaps[k];
			s->huge_page = huge_page(src, h, s);
			rc = read_seg(src, s);
		}
	h->have_residency = rc == 0;
	return rc;
}

uint64_t hs_resident_bytes(const struct hs_heapseg *seg, uint64_t start, uint64_t end)
{
	uint64_t bytes = 0;
	/* The bitmap covers the segment: a range past it (a corrupt top size
	 * of a TiB) is not the segment's memory, and not counted. */
	start = start > seg->base ? start : seg->base;
	end = end < seg->end ? end : seg->end;
	if (!seg->present || end <= start)
		return 0;
	for (uint64_t a = start; a < end;) {
		uint64_t page = a / HS_PAGE, next = (page + 1) * HS_PAGE;
		uint64_t stop = next < end ? next : end;
		uint64_t i = page - seg->present_first;
		if (seg->present[i / 64] & (1ull << (i % 64)))
			bytes += stop - a;
		a = stop;
	}
	return bytes;
}
