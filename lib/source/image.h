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
	/* Page states given by hs_image_pages(), NULL when none were. */
	unsigned char *state;
	uint64_t state_addr;
	size_t state_n;
};

void hs_image_init(struct hs_image *im);
/* Adds a zeroed region [addr, addr + len) and returns its bytes. The maps
 * list it as an anonymous read/write mapping. */
unsigned char *hs_image_add(struct hs_image *im, uint64_t addr, size_t len, const char *path);
/* Pointer to the bytes at addr (len must lie in one region), or NULL. */
void *hs_image_at(struct hs_image *im, uint64_t addr, size_t len);
/* Gives the npages pages from the page-aligned addr these states (enum
 * hs_page_state, a byte each; copied): from then on the image answers
 * src.pages as a live target's pagemap would, those pages as given, the
 * other pages of its regions present, pages of no region neither. What a
 * fuzz target's residency and trim paths run on. */
void hs_image_pages(struct hs_image *im, uint64_t addr, size_t npages, const unsigned char *state);
void hs_image_free(struct hs_image *im);

#endif
