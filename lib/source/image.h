/* image.h - a memory source over buffers in heapscope's own memory: the
 * target of unit tests and fuzzers (and of images the reference allocator
 * core builds), read through the same interface as a live process. */
#ifndef HS_IMAGE_H
#define HS_IMAGE_H

#include "source/source.h"

struct hs_image {
	struct hs_source src; /* first: what the stages read through */
	struct hs_image_region {
		uint64_t addr;
		size_t len;
		unsigned char *bytes;
	} *v;
	size_t n;
};

void hs_image_init(struct hs_image *im);
/* Adds a zeroed region [addr, addr + len) and returns its bytes. The maps
 * list it as an anonymous read/write mapping. */
unsigned char *hs_image_add(struct hs_image *im, uint64_t addr, size_t len, const char *path);
/* Pointer to the bytes at addr (len must lie in one region), or NULL. */
void *hs_image_at(struct hs_image *im, uint64_t addr, size_t len);
void hs_image_free(struct hs_image *im);

#endif
