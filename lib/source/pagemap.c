/* pagemap.c - present and swapped bits from /proc/PID/pagemap. */
#include "source/pagemap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define BATCH 4096 /* entries per pread: 32 KiB on the stack, 16 MiB of address space */

int hs_pagemap_open(pid_t pid, struct hs_pagemap *pm)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/pagemap", (int)pid);
	pm->fd = open(path, O_RDONLY | O_CLOEXEC);
	return pm->fd < 0 ? -1 : 0;
}

int hs_pagemap_read(const struct hs_pagemap *pm, uint64_t addr, size_t npages, unsigned char *state)
{
	uint64_t buf[BATCH];
	uint64_t pg = addr / HS_PAGE_SIZE;
	for (size_t done = 0; done < npages;) {
		size_t want = npages - done < BATCH ? npages - done : BATCH;
		ssize_t got = pread(pm->fd, buf, want * 8, (off_t)((pg + done) * 8));
		if (got < 0)
			return -1;
		if (got < 8) {
			/* past the end of the address space (the last 2 MiB block
			 * of a stack at its very top, without ASLR): no page there */
			memset(state + done, HS_PAGE_NONE, npages - done);
			return 0;
		}
		size_t n = (size_t)got / 8;
		for (size_t i = 0; i < n; i++)
			state[done + i] = buf[i] & PM_PRESENT ? HS_PAGE_PRESENT
					 : buf[i] & PM_SWAPPED ? HS_PAGE_SWAPPED
							       : HS_PAGE_NONE;
		done += n;
	}
	return 0;
}

void hs_pagemap_close(struct hs_pagemap *pm)
{
	if (pm->fd >= 0)
		close(pm->fd);
	pm->fd = -1;
}
