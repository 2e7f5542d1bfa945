/* source.h - where the bytes of a target come from.
 *
 * Every stage after `target` reads memory only through this interface, so
 * the same code runs on a live process, and later on a core file or on an
 * image built by the reference allocator core. */
#ifndef HS_SOURCE_H
#define HS_SOURCE_H

#include <sys/types.h>

#include "base/hs.h"
#include "source/maps.h"

struct hs_source {
	/* Reads exactly len bytes at addr. Returns 0, or -1 with errno:
	 * EFAULT/EIO (not mapped or not readable), ESRCH (the target is gone),
	 * EINTR (heapscope was asked to stop). */
	int (*read)(struct hs_source *src, uint64_t addr, void *buf, size_t len);
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

#endif
