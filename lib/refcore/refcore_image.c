/* refcore_image.c - lays the reference core's address space into an
 * hs_image, with filled symbols and one task, as a live target would
 * present itself to the stages after `symbols`. */
#include "refcore/refcore_image.h"

#include <stdio.h>
#include <string.h>

/* Copies page by page, leaving all-zero pages alone: the image's region
 * is already zero there, and a huge mapping's untouched pages then cost
 * no memory on either side. */
static void copy_nonzero(unsigned char *dst, const unsigned char *src, size_t len)
{
	static const unsigned char zero[4096];
	for (size_t off = 0; off < len; off += sizeof zero) {
		size_t n = len - off < sizeof zero ? len - off : sizeof zero;
		if (memcmp(src + off, zero, n) != 0)
			memcpy(dst + off, src + off, n);
	}
}

void hs_refcore_image_build(struct hs_refcore *rc, struct hs_refcore_image *ri)
{
	memset(ri, 0, sizeof *ri);
	hs_image_init(&ri->im);
	hs_refcore_sync(rc);
	for (size_t i = 0; i < hs_refcore_nregions(rc); i++) {
		struct hs_refcore_region r = hs_refcore_region(rc, i);
		unsigned char *b = hs_image_add(&ri->im, r.addr, r.len, strcmp(r.path, "libc") == 0 ? "" : r.path);
		copy_nonzero(b, r.bytes, r.filled);
	}
	struct hs_refcore_symbols s;
	hs_refcore_symbols(rc, &s);
	const struct hs_layout *l = hs_refcore_layout_of(rc);
	ri->sym.layout = *l;
	ri->sym.layout.tls_tcache = s.tls_tcache;
	ri->sym.layout.tls_thread_arena = s.tls_thread_arena;
	ri->sym.main_arena = s.main_arena;
	ri->sym.mp = s.mp;
	ri->sym.l_tls_offset = s.l_tls_offset;
	ri->sym.have_tls = true;
	ri->sym.method = "refcore";
	snprintf(ri->sym.version, sizeof ri->sym.version, "%d.%d", l->vmajor, l->vminor);
	snprintf(ri->sym.libc, sizeof ri->sym.libc, "refcore");
	ri->task = (struct hs_task){.tid = 1, .attached = true, .regs = {.tp = s.tp}};
}

void hs_refcore_image_free(struct hs_refcore_image *ri)
{
	hs_image_free(&ri->im);
	memset(ri, 0, sizeof *ri);
}
