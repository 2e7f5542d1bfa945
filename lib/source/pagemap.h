/* pagemap.h - which pages of a process hold data (/proc/PID/pagemap).
 *
 * The one pagemap reader of heapscope. On current kernels, reading a page
 * that is neither present nor swapped (never touched, or given back by
 * malloc_trim's MADV_DONTNEED) through process_vm_readv or /proc/PID/mem
 * makes the kernel give the target a page: the inspector grows its RSS.
 * pagemap's present and swapped bits (63, 62) need only the access ptrace
 * already has (PFNs, which need CAP_SYS_ADMIN, are not used). */
#ifndef HS_PAGEMAP_H
#define HS_PAGEMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HS_PAGE_SIZE 4096ull

enum hs_page_state {
	HS_PAGE_NONE = 0,    /* neither: a private anonymous page reads as zeros */
	HS_PAGE_PRESENT = 1, /* in RAM */
	HS_PAGE_SWAPPED = 2, /* in swap: reading it swaps it in */
};

struct hs_pagemap {
	int fd; /* -1 when closed */
};

/* Opens /proc/PID/pagemap. Returns 0, or -1 with errno. */
int hs_pagemap_open(pid_t pid, struct hs_pagemap *pm);
/* The state of npages pages from the page-aligned addr, one enum
 * hs_page_state a byte. Returns 0, or -1 with errno. */
int hs_pagemap_read(const struct hs_pagemap *pm, uint64_t addr, size_t npages, unsigned char *state);
void hs_pagemap_close(struct hs_pagemap *pm);

#endif
