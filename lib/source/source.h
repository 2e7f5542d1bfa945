/* source.h - where the bytes of a target come from.
 *
 * Every stage after `target` reads memory only through this interface, so
 * the same code runs on a live process, and later on a core file or on an
 * image built by the reference allocator core. */
#ifndef HS_SOURCE_H
#define HS_SOURCE_H

#include <sys/types.h>

#include <string.h>

#include "base/hs.h"
#include "source/maps.h"
#include "source/pagemap.h"

struct hs_source {
	/* Reads exactly len bytes at addr. Returns 0, or -1 with errno:
	 * EFAULT/EIO (not mapped or not readable), ESRCH (the target is gone),
	 * EINTR (heapscope was asked to stop), ETIME (a live target's stop ran
	 * out of its budget: source/target.h). */
	int (*read)(struct hs_source *src, uint64_t addr, void *buf, size_t len);
	/* Which of npages pages from the page-aligned addr hold data, one
	 * enum hs_page_state (source/pagemap.h) a byte. NULL when every
	 * page of the source holds data (an image, a copy). Returns 0, or
	 * -1 with errno. */
	int (*pages)(struct hs_source *src, uint64_t addr, size_t npages, unsigned char *state);
	/* The address space, as it was when the target was stopped. */
	struct hs_maps maps;
	pid_t pid; /* 0 when there is no process behind the image */
};

static inline int hs_read(struct hs_source *src, uint64_t addr, void *buf, size_t len)
{
	return src->read(src, addr, buf, len);
}

static inline int hs_read_u64(struct hs_source *src, uint64_t addr, uint64_t *v)
{
	return src->read(src, addr, v, sizeof *v);
}

/* The state of npages pages from the page-aligned addr: see pages above;
 * a source without it reports every page present. */
static inline int hs_pages(struct hs_source *src, uint64_t addr, size_t npages, unsigned char *state)
{
	if (!src->pages) {
		memset(state, HS_PAGE_PRESENT, npages);
		return 0;
	}
	return src->pages(src, addr, npages, state);
}

#endif
