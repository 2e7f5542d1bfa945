/* resident.c - pagemap: one bit per page of each heap. */
#include "analysis/resident.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define PM_PRESENT (1ull << 63)
#define BATCH 4096 /* pagemap entries per pread */

static int read_seg(int fd, struct hs_heapseg *s)
{
	uint64_t first = s->base / HS_PAGE, last = (s->end + HS_PAGE - 1) / HS_PAGE;
	uint64_t n = last - first;
	s->present = hs_xcalloc(n / 64 + 1, sizeof *s->present);
	s->present_first = first;
	uint64_t buf[BATCH];
	for (uint64_t i = 0; i < n;) {
		size_t want = (size_t)(n - i < BATCH ? n - i : BATCH);
		ssize_t got = pread(fd, buf, want * 8, (off_t)((first + i) * 8));
		if (got <= 0)
			return -1;
		for (size_t k = 0; k < (size_t)got / 8; k++, i++)
			if (buf[k] & PM_PRESENT)
				s->present[i / 64] |= 1ull << (i % 64);
	}
	return 0;
}

int hs_resident_read(pid_t pid, struct hs_heap *h)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/pagemap", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < h->narenas && !rc; i++)
		for (size_t k = 0; k < h->arenas[i].nheaps && !rc; k++)
			rc = read_seg(fd, &h->arenas[i].heaps[k]);
	close(fd);
	h->have_residency = rc == 0;
	return rc;
}

uint64_t hs_resident_bytes(const struct hs_heapseg *seg, uint64_t start, uint64_t end)
{
	uint64_t bytes = 0;
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
