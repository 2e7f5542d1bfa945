/* image.c - regions of bytes served as a target's memory. */
#include "source/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int image_read(struct hs_source *src, uint64_t addr, void *buf, size_t len)
{
	struct hs_image *im = (struct hs_image *)src;
	unsigned char *out = buf;
	while (len) {
		const struct hs_image_region *r = NULL;
		for (size_t i = 0; i < im->n && !r; i++)
			if (addr >= im->v[i].addr && addr - im->v[i].addr < im->v[i].len)
				r = &im->v[i];
		if (!r) {
			errno = EFAULT; /* as process_vm_readv says it (base/hs.h, errors, rule 4) */
			return -1;
		}
		size_t n = (size_t)(r->addr + r->len - addr);
		n = n < len ? n : len;
		memcpy(out, r->bytes + (addr - r->addr), n);
		out += n;
		addr += n;
		len -= n;
	}
	return 0;
}

void hs_image_init(struct hs_image *im)
{
	memset(im, 0, sizeof *im);
	im->src.read = image_read;
}

static int cmp_map(const void *a, const void *b)
{
	const struct hs_map *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

unsigned char *hs_image_add(struct hs_image *im, uint64_t addr, size_t len, const char *path)
{
	im->v = hs_xrealloc(im->v, im->n + 1, sizeof *im->v);
	im->v[im->n] = (struct hs_image_region){addr, len, hs_xcalloc(1, len)};
	struct hs_maps *m = &im->src.maps;
	m->v = hs_xrealloc(m->v, m->n + 1, sizeof *m->v);
	m->v[m->n++] = (struct hs_map){.start = addr, .end = addr + len, .prot = PROT_READ | PROT_WRITE,
				       .path = hs_xstrdup(path ? path : "")};
	qsort(m->v, m->n, sizeof *m->v, cmp_map);
	return im->v[im->n++].bytes;
}

void *hs_image_at(struct hs_image *im, uint64_t addr, size_t len)
{
	for (size_t i = 0; i < im->n; i++)
		if (addr >= im->v[i].addr && addr + len <= im->v[i].addr + im->v[i].len)
			return im->v[i].bytes + (addr - im->v[i].addr);
	return NULL;
}

static int image_pages(struct hs_source *src, uint64_t addr, size_t npages, unsigned char *state)
{
	struct hs_image *im = (struct hs_image *)src;
	for (size_t i = 0; i < npages; i++) {
		uint64_t a = addr + i * HS_PAGE_SIZE;
		if (a >= im->state_addr && (a - im->state_addr) / HS_PAGE_SIZE < im->state_n) {
			state[i] = im->state[(a - im->state_addr) / HS_PAGE_SIZE];
			continue;
		}
		state[i] = HS_PAGE_NONE;
		for (size_t k = 0; k < im->n && state[i] == HS_PAGE_NONE; k++)
			if (a + HS_PAGE_SIZE > im->v[k].addr && a < im->v[k].addr + im->v[k].len)
				state[i] = HS_PAGE_PRESENT;
	}
	return 0;
}

void hs_image_pages(struct hs_image *im, uint64_t addr, size_t npages, const unsigned char *state)
{
	free(im->state);
	im->state = hs_xcalloc(npages ? npages : 1, 1);
	memcpy(im->state, state, npages);
	im->state_addr = addr;
	im->state_n = npages;
	im->src.pages = image_pages;
}

void hs_image_free(struct hs_image *im)
{
	free(im->state);
	for (size_t i = 0; i < im->n; i++)
		free(im->v[i].bytes);
	free(im->v);
	hs_maps_free(&im->src.maps);
	memset(im, 0, sizeof *im);
}
