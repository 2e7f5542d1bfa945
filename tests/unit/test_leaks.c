/* test_leaks.c - the --leaks mark and the vtable types on a heap laid out
 * by hand in an in-memory image (glibc 2.36 layout): which chunks are
 * reachable, interior-only and leaked, and that free chunks and glibc's
 * own links to chunk headers mark nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "arch.h"
#include "glibc/arenas.h"
#include "glibc/bins.h"
#include "analysis/census.h"
#include "glibc/contents.h"
#include "source/image.h"
#include "analysis/leaks.h"
#include "report/report.h"
#include "glibc/types.h"
#include "glibc/walk.h"

#define DATA 0x600000ull
#define VTABLE (DATA + 0x800)
#define HEAP 0x555555559000ull
#define HEAP_LEN 0x21000ull
#define LIBC 0x7ffff7e00000ull
#define MAIN_ARENA (LIBC + 0x100)
#define MP (LIBC + 0x1000)

static void put(unsigned char *base, uint64_t off, uint64_t v)
{
	memcpy(base + off, &v, sizeof v);
}

/* Chunks (header offsets):
 *   0x000 tcache_perthread_struct 0x290, held from "TLS" (the data root)
 *   0x290 A 0x30  held from the data root
 *   0x2c0 B 0x30  held only by A
 *   0x2f0 C 0x40, 0x330 D 0x40: a cycle nothing else points to (leaked)
 *   0x370 E 0x50  held only by a pointer 8 bytes into its user area
 *   0x3c0 G 0x30  free, in fastbin 1; holds a pointer to H
 *   0x3f0 H 0x30  held only by the free G (leaked)
 *   0x420 F 0x500 too large to be recorded; first word a Session vptr;
 *                 nothing points to it but glibc's top pointer, which is
 *                 the address just past it (leaked)
 *   0x920 top */
static void test_mark(void **state)
{
	(void)state;
	struct hs_image im;
	struct hs_symbols sym;
	memset(&sym, 0, sizeof sym);
	hs_image_init(&im);
	unsigned char *data = hs_image_add(&im, DATA, 0x1000, "");
	unsigned char *h = hs_image_add(&im, HEAP, HEAP_LEN, "[heap]");
	unsigned char *libc = hs_image_add(&im, LIBC, 0x2000, "");
	assert_int_equal(hs_arch_layout(2, 36, &sym.layout), 0);
	sym.main_arena = MAIN_ARENA;
	sym.mp = MP;
	const struct hs_layout *l = &sym.layout;
	unsigned char *ms = libc + 0x100, *mp = libc + 0x1000;
	for (int i = 1; i < 128; i++) {
		uint64_t hdr = MAIN_ARENA + (uint64_t)l->ms_bins + (uint64_t)(i - 1) * 16 - 16;
		put(ms, (uint64_t)l->ms_bins + (uint64_t)(i - 1) * 16, hdr);
		put(ms, (uint64_t)l->ms_bins + (uint64_t)(i - 1) * 16 + 8, hdr);
	}
	put(ms, (uint64_t)l->ms_next, MAIN_ARENA);
	put(ms, (uint64_t)l->ms_system_mem, HEAP_LEN);
	put(ms, (uint64_t)l->ms_max_system_mem, HEAP_LEN);
	put(ms, (uint64_t)l->ms_top, HEAP + 0x920);
	put(ms, (uint64_t)l->ms_fastbins + 1 * 8, HEAP + 0x3c0);
	put(mp, (uint64_t)l->mp_sbrk_base, HEAP);
	put(mp, (uint64_t)l->mp_tcache_max_bytes, 0x408);
	put(mp, (uint64_t)l->mp_tcache_count, 7);

	put(h, 0x008, 0x290 | 1);
	put(h, 0x298, 0x30 | 1);                     /* A */
	put(h, 0x2a0, HEAP + 0x2d0);                 /* A -> B */
	put(h, 0x2c8, 0x30 | 1);                     /* B */
	put(h, 0x2f8, 0x40 | 1);                     /* C */
	put(h, 0x300, HEAP + 0x340);                 /* C -> D */
	put(h, 0x338, 0x40 | 1);                     /* D */
	put(h, 0x340, HEAP + 0x300);                 /* D -> C */
	put(h, 0x378, 0x50 | 1);                     /* E */
	put(h, 0x3c8, 0x30 | 1);                     /* G: fastbin, the only one */
	put(h, 0x3d0, ((HEAP + 0x3d0) >> 12) ^ 0);   /* safe-linked NULL */
	put(h, 0x3d8, HEAP + 0x400);                 /* G -> H, not a root */
	put(h, 0x3f8, 0x30 | 1);                     /* H */
	put(h, 0x428, 0x500 | 1);                    /* F */
	put(h, 0x430, VTABLE + 16);                  /* F's vptr */
	put(h, 0x928, (HEAP_LEN - 0x920) | 1);       /* top */
	put(data, 0x00, HEAP + 0x10);                /* the tcache, as TLS holds it */
	put(data, 0x08, HEAP + 0x2a0);               /* A */
	put(data, 0x10, HEAP + 0x380 + 8);           /* into E */
	put(data, 0x18, HEAP + 0x920);               /* just past F */

	char *name = "Session";
	struct hs_vtable vt = {VTABLE + 16, VTABLE + 0x40, 0};
	struct hs_types ty = {.v = &vt, .n = 1, .names = &name, .nnames = 1, .lo = VTABLE + 16, .hi = VTABLE + 0x40};

	struct hs_heap heap = {0};
	struct hs_index ix = {0};
	struct hs_bins bins = {0};
	struct hs_census c = {0};
	struct hs_warnings w = {0};
	struct hs_err err = {0};
	struct hs_contents ct = {0};
	struct hs_leaks lk;
	assert_int_equal(hs_arenas_read(&im.src, &sym, NULL, 0, &heap, &w, &err), 0);
	struct hs_walk_opts o = {.types = &ty, .window = 256};
	assert_int_equal(hs_walk(&im.src, &heap, &o, &ix, &w, &err), 0);
	assert_int_equal(hs_contents_copy(&im.src, &heap, NULL, 0, &ct, &w, &err), 0);
	hs_bins_read(&heap, &ix, false, &bins, &w);
	hs_census_build(&heap, &ix, &bins, &c, &w);
	hs_leaks_find(&heap, &ix, &ct, &ty, true, &lk);

	assert_int_equal(c.totals.fast.chunks, 1);
	assert_int_equal(lk.reachable_chunks, 3); /* tcache, A, B */
	assert_int_equal(lk.reachable_bytes, 0x290 + 0x30 + 0x30);
	assert_int_equal(lk.interior_chunks, 1);
	assert_int_equal(lk.interior_bytes, 0x50);
	assert_int_equal(lk.chunks, 4);
	assert_int_equal(lk.bytes, 0x40 + 0x40 + 0x30 + 0x500);
	assert_int_equal(lk.nsuspects, 4);
	const uint64_t want[] = {HEAP + 0x2f0, HEAP + 0x330, HEAP + 0x3f0, HEAP + 0x420};
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(lk.suspects[i].addr, want[i]);
	assert_string_equal(lk.suspects[3].type, "Session");
	assert_null(lk.suspects[0].type);
	assert_int_equal(lk.nby_size, 3);
	assert_int_equal(lk.by_size[0].size, 0x500);
	assert_int_equal(lk.by_size[1].size, 0x40);
	assert_int_equal(lk.by_size[1].chunks, 2);
	assert_int_equal(lk.nby_type, 1);
	assert_int_equal(lk.by_type[0].bytes, 0x500);
	assert_int_equal(c.ntypes, 1);
	assert_string_equal(c.types[0].type, "Session");
	assert_int_equal(c.types[0].chunks, 1);
	assert_int_equal(c.types[0].bytes, 0x500);
	/* C's preview: its first word is D's user pointer */
	uint64_t first;
	memcpy(&first, lk.suspects[0].preview, 8);
	assert_int_equal(first, HEAP + 0x340);
	char pv[HS_PREVIEW_BUF];
	hs_fmt_preview(pv, (const unsigned char *)"Hi\0", 3);
	assert_string_equal(pv, "48 69 00 |Hi.|");

	hs_leaks_free(&lk);
	hs_contents_free(&ct);
	hs_census_free(&c);
	hs_bins_free(&bins);
	hs_index_free(&ix);
	hs_heap_free(&heap);
	hs_warnings_free(&w);
	hs_image_free(&im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mark),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
