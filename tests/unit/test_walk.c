/* test_walk.c - the arenas reader, heap walk, free lists and census on a
 * heap laid out by hand in an in-memory image (glibc 2.36 layout): the
 * numbers, and what happens when the heap is corrupt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "arch.h"
#include "glibc/arenas.h"
#include "glibc/bins.h"
#include "analysis/census.h"
#include "source/image.h"
#include "glibc/walk.h"
#include "analysis/resident.h"

#define HEAP 0x555555559000ull
#define HEAP_LEN 0x21000ull
#define LIBC 0x7ffff7e00000ull
#define MAIN_ARENA (LIBC + 0x100)
#define MP (LIBC + 0x1000)

struct fake {
	struct hs_image im;
	struct hs_symbols sym;
	unsigned char *heap, *libc;
};

static void put(unsigned char *base, uint64_t off, uint64_t v)
{
	memcpy(base + off, &v, sizeof v);
}

static uint64_t mangle(uint64_t pos, uint64_t ptr)
{
	return (pos >> 12) ^ ptr;
}

/* tcache struct, A in use, B and C in fastbin 5, D in the unsorted bin,
 * E in use, top. */
static void build(struct fake *f)
{
	memset(f, 0, sizeof *f);
	hs_image_init(&f->im);
	f->heap = hs_image_add(&f->im, HEAP, HEAP_LEN, "[heap]");
	f->libc = hs_image_add(&f->im, LIBC, 0x2000, "");
	assert_int_equal(hs_arch_layout(2, 36, &f->sym.layout), 0);
	f->sym.main_arena = MAIN_ARENA;
	f->sym.mp = MP;
	const struct hs_layout *l = &f->sym.layout;
	unsigned char *ms = f->libc + 0x100, *mp = f->libc + 0x1000;
	for (int i = 1; i < 128; i++) {
		uint64_t hdr = MAIN_ARENA + (uint64_t)l->ms_bins + (uint64_t)(i - 1) * 16 - 16;
		put(ms, (uint64_t)l->ms_bins + (uint64_t)(i - 1) * 16, hdr);
		put(ms, (uint64_t)l->ms_bins + (uint64_t)(i - 1) * 16 + 8, hdr);
	}
	put(ms, (uint64_t)l->ms_next, MAIN_ARENA);
	put(ms, (uint64_t)l->ms_system_mem, HEAP_LEN);
	put(ms, (uint64_t)l->ms_max_system_mem, HEAP_LEN);
	put(ms, (uint64_t)l->ms_top, HEAP + 0x520);
	put(mp, (uint64_t)l->mp_sbrk_base, HEAP);
	put(mp, (uint64_t)l->mp_tcache_max_bytes, 0x408);
	put(mp, (uint64_t)l->mp_tcache_count, 7);

	unsigned char *h = f->heap;
	put(h, 0x008, 0x290 | 1);             /* tcache_perthread_struct */
	put(h, 0x298, 0x70 | 1);              /* A */
	put(h, 0x308, 0x70 | 1);              /* B: fastbin, last */
	put(h, 0x310, mangle(HEAP + 0x310, 0));
	put(h, 0x378, 0x70 | 1);              /* C: fastbin head */
	put(h, 0x380, mangle(HEAP + 0x380, HEAP + 0x300));
	put(h, 0x3e8, 0x110 | 1);             /* D: unsorted */
	uint64_t unsorted = MAIN_ARENA + (uint64_t)l->ms_bins - 16;
	put(h, 0x3f0, unsorted);
	put(h, 0x3f8, unsorted);
	put(h, 0x4f0, 0x110);                 /* E: prev_size, PREV_INUSE clear */
	put(h, 0x4f8, 0x30);
	put(h, 0x528, (HEAP_LEN - 0x520) | 1); /* top */
	put(ms, (uint64_t)l->ms_fastbins + 5 * 8, HEAP + 0x370);
	put(ms, (uint64_t)l->ms_bins, HEAP + 0x3e0);
	put(ms, (uint64_t)l->ms_bins + 8, HEAP + 0x3e0);
}

struct run {
	struct hs_heap heap;
	struct hs_index ix;
	struct hs_bins bins;
	struct hs_census c;
	struct hs_warnings w;
	struct hs_err err;
};

static void analyse(struct fake *f, struct run *r)
{
	memset(r, 0, sizeof *r);
	assert_int_equal(hs_arenas_read(&f->im.src, &f->sym, NULL, 0, &r->heap, &r->w, &r->err), 0);
	struct hs_walk_opts o = {.keep_chunks = true, .window = 256};
	assert_int_equal(hs_walk(&f->im.src, &r->heap, &o, &r->ix, &r->w, &r->err), 0);
	hs_bins_read(&r->heap, &r->ix, true, &r->bins, &r->w);
	hs_census_build(&r->heap, &r->ix, &r->bins, &r->c, &r->w);
}

static void release(struct fake *f, struct run *r)
{
	hs_census_free(&r->c);
	hs_bins_free(&r->bins);
	hs_index_free(&r->ix);
	hs_heap_free(&r->heap);
	hs_warnings_free(&r->w);
	hs_image_free(&f->im);
}

static bool warned(const struct run *r, const char *what)
{
	for (size_t i = 0; i < r->w.n; i++)
		if (strstr(r->w.v[i], what))
			return true;
	return false;
}

static void test_clean_heap(void **state)
{
	(void)state;
	struct fake f;
	struct run r;
	build(&f);
	analyse(&f, &r);
	for (size_t i = 0; i < r.w.n; i++)
		print_message("unexpected warning: %s\n", r.w.v[i]);
	assert_int_equal(r.w.n, 0);
	const struct hs_counts *c = &r.c.totals;
	assert_int_equal(c->in_use.chunks, 3);
	assert_int_equal(c->in_use.bytes, 0x290 + 0x70 + 0x30);
	assert_int_equal(c->fast.chunks, 2);
	assert_int_equal(c->fast.bytes, 0xe0);
	assert_int_equal(c->bin.chunks, 1);
	assert_int_equal(c->bin.bytes, 0x110);
	assert_int_equal(c->top_bytes, HEAP_LEN - 0x520);
	assert_int_equal(c->overhead_bytes, 0);
	assert_int_equal(c->in_use.bytes + c->free.bytes + c->top_bytes + c->overhead_bytes, HEAP_LEN);
	/* what glibc's int_mallinfo would say */
	const struct hs_mallinfo2 *m = &r.c.mallinfo2;
	assert_int_equal(m->arena, HEAP_LEN);
	assert_int_equal(m->ordblks, 2);
	assert_int_equal(m->smblks, 2);
	assert_int_equal(m->fsmblks, 0xe0);
	assert_int_equal(m->fordblks, HEAP_LEN - 0x520 + 0xe0 + 0x110);
	assert_int_equal(m->uordblks, 0x290 + 0x70 + 0x30);
	assert_int_equal(m->keepcost, HEAP_LEN - 0x520);
	/* list order and raw sizes as malloc_info reads them */
	const struct hs_binstat *fb = &r.bins.arenas[0].fast[5];
	assert_int_equal(fb->count, 2);
	assert_int_equal(fb->nodes[0], HEAP + 0x370);
	assert_int_equal(fb->nodes[1], HEAP + 0x300);
	assert_int_equal(r.bins.arenas[0].bin[1].raw_total, 0x111);
	/* every chunk's final state */
	assert_int_equal(r.ix.nchunks, 7);
	enum hs_state want[] = {HS_ST_INUSE, HS_ST_INUSE, HS_ST_FAST, HS_ST_FAST, HS_ST_BIN, HS_ST_INUSE, HS_ST_TOP};
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(hs_census_chunk_state(&r.c, &r.ix.chunks[i]), want[i]);
	release(&f, &r);
}

/* The lists' cursor (hs_index_find_near, hs_index_addr_near) answers as
 * the plain lookups do, whatever the order of the questions: addresses in
 * the heap, misaligned, before and past it, in a scrambled order. */
static void test_near_matches_plain(void **state)
{
	(void)state;
	struct fake f;
	struct run r;
	build(&f);
	analyse(&f, &r);
	struct hs_index_near n = HS_INDEX_NEAR_INIT(&r.ix);
	uint64_t x = 12345, found = 0;
	for (int i = 0; i < 20000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t a = HEAP - 0x100 + (x >> 33) % (HEAP_LEN + 0x200);
		if (i % 3 == 0)
			a &= ~0xfull;
		int64_t o = hs_index_find(&r.ix, a);
		assert_int_equal(hs_index_find_near(&r.ix, &n, a), o);
		found += o >= 0;
		if (o >= 0) {
			uint64_t g = r.ix.segs[0].g0 + ((a - HEAP) >> r.ix.align_shift);
			assert_int_equal(hs_index_addr_near(&r.ix, &n, g), hs_index_addr(&r.ix, g));
			assert_int_equal(hs_index_addr_near(&r.ix, &n, g), a);
		}
	}
	assert_true(found > 0);
	release(&f, &r);
}

static void test_fastbin_cycle(void **state)
{
	(void)state;
	struct fake f;
	struct run r;
	build(&f);
	put(f.heap, 0x310, mangle(HEAP + 0x310, HEAP + 0x370)); /* B -> C -> B ... */
	analyse(&f, &r);
	assert_true(warned(&r, "reached twice"));
	assert_int_equal(r.bins.arenas[0].fast[5].count, 2);
	release(&f, &r);
}

static void test_fastbin_garbage(void **state)
{
	(void)state;
	struct fake f;
	struct run r;
	build(&f);
	put(f.heap, 0x380, 0x4141414141414141ull); /* C's link decodes to garbage */
	analyse(&f, &r);
	assert_true(warned(&r, "fastbin 5"));
	assert_int_equal(r.bins.arenas[0].fast[5].count, 1);
	release(&f, &r);
}

static void test_size_overrun(void **state)
{
	(void)state;
	struct fake f;
	struct run r;
	build(&f);
	put(f.heap, 0x3e8, 0x7fff0 | 1); /* D claims more than the heap holds */
	analyse(&f, &r);
	assert_true(warned(&r, "overruns its heap"));
	assert_true(warned(&r, "0x5555555593e0"));
	release(&f, &r);
}

static void test_unsorted_points_outside(void **state)
{
	(void)state;
	struct fake f;
	struct run r;
	build(&f);
	put(f.heap, 0x3f0, 0xdeadbeef0ull); /* D.fd nowhere */
	analyse(&f, &r);
	assert_true(warned(&r, "unsorted bin 1"));
	release(&f, &r);
}

static void test_ring_loop(void **state)
{
	(void)state;
	struct fake f;
	struct run r;
	build(&f);
	/* main_arena.next -> a second arena whose next is itself */
	unsigned char *a2 = hs_image_add(&f.im, 0x7fff00000000ull, 0x1000, "");
	put(f.libc + 0x100, (uint64_t)f.sym.layout.ms_next, 0x7fff00000000ull);
	put(a2, (uint64_t)f.sym.layout.ms_next, 0x7fff00000000ull);
	memset(&r, 0, sizeof r);
	assert_int_equal(hs_arenas_read(&f.im.src, &f.sym, NULL, 0, &r.heap, &r.w, &r.err), 0);
	assert_true(warned(&r, "loops back"));
	assert_int_equal(r.heap.narenas, 2);
	hs_heap_free(&r.heap);
	hs_warnings_free(&r.w);
	hs_image_free(&f.im);
}

/* A thread arena whose heap_info chain loops back on itself, and a main
 * arena whose top chunk lies outside the main heap: both named, neither
 * walked forever. */
static void test_heap_info_cycle(void **state)
{
	(void)state;
	struct fake f;
	struct run r;
	build(&f);
	const struct hs_layout *l = &f.sym.layout;
	const uint64_t H2 = 0x7f0000000000ull; /* 64 MiB aligned */
	unsigned char *h2 = hs_image_add(&f.im, H2, 0x21000, "");
	uint64_t ar = H2 + (uint64_t)l->hi_size;
	put(f.libc + 0x100, (uint64_t)l->ms_next, ar);
	unsigned char *ms2 = h2 + l->hi_size;
	for (int i = 1; i < 128; i++) {
		uint64_t hdr = ar + (uint64_t)l->ms_bins + (uint64_t)(i - 1) * 16 - 16;
		put(ms2, (uint64_t)l->ms_bins + (uint64_t)(i - 1) * 16, hdr);
		put(ms2, (uint64_t)l->ms_bins + (uint64_t)(i - 1) * 16 + 8, hdr);
	}
	put(ms2, (uint64_t)l->ms_next, MAIN_ARENA);
	put(ms2, (uint64_t)l->ms_system_mem, 0x21000);
	put(ms2, (uint64_t)l->ms_top, H2 + 0x1000);
	put(h2, (uint64_t)l->hi_ar_ptr, ar);
	put(h2, (uint64_t)l->hi_prev, H2); /* prev is itself */
	put(h2, (uint64_t)l->hi_hsize, 0x21000);
	put(h2, (uint64_t)l->hi_mprotect_size, 0x21000);
	put(h2, 0x1008, (0x21000 - 0x1000) | 1);
	analyse(&f, &r);
	assert_true(warned(&r, "cycles back to 0x7f0000000000"));
	assert_int_equal(r.heap.narenas, 2);
	assert_int_equal(r.heap.arenas[1].nheaps, 1);
	release(&f, &r);
}

static void test_top_outside_heap(void **state)
{
	(void)state;
	struct fake f;
	struct run r;
	build(&f);
	put(f.libc + 0x100, (uint64_t)f.sym.layout.ms_top, 0x13370000ull); /* nowhere */
	memset(&r, 0, sizeof r);
	int rc = hs_arenas_read(&f.im.src, &f.sym, NULL, 0, &r.heap, &r.w, &r.err);
	assert_int_equal(rc, 0);
	assert_true(warned(&r, "top chunk 0x13370000"));
	assert_int_equal(r.heap.arenas[0].nheaps, 0); /* nothing walked */
	hs_heap_free(&r.heap);
	hs_warnings_free(&r.w);
	hs_image_free(&f.im);
}

/* A top chunk whose size says 1 TiB (and one 4 MiB past its heap): a
 * warning, and the residency and trim figures stay within the heap (they
 * once read the residency bitmap far past its end). */
static void top_size(uint64_t size)
{
	struct fake f;
	struct run r;
	build(&f);
	put(f.heap, 0x528, size | 1);
	memset(&r, 0, sizeof r);
	assert_int_equal(hs_arenas_read(&f.im.src, &f.sym, NULL, 0, &r.heap, &r.w, &r.err), 0);
	assert_int_equal(hs_resident_read(&f.im.src, &r.heap), 0);
	struct hs_walk_opts o = {.window = 256};
	assert_int_equal(hs_walk(&f.im.src, &r.heap, &o, &r.ix, &r.w, &r.err), 0);
	hs_bins_read(&r.heap, &r.ix, false, &r.bins, &r.w);
	hs_census_build(&r.heap, &r.ix, &r.bins, &r.c, &r.w);
	assert_true(warned(&r, "does not end at its heap's end"));
	assert_true(r.c.have_residency);
	/* Free in the heap: the two fastbin chunks, D and the real top. */
	assert_true(r.c.totals.resident_free_bytes <= HEAP_LEN);
	assert_true(r.c.totals.resident_free_bytes >= HEAP_LEN - 0x520);
	assert_true(r.c.totals.trimmable_bytes <= HEAP_LEN);
	release(&f, &r);
}

static void test_top_size_corrupt(void **state)
{
	(void)state;
	top_size(1ull << 40);
	top_size(HEAP_LEN - 0x520 + (4u << 20));
}

/* A main arena glibc grew by mmap (hugetlb=2): NONCONTIGUOUS, the first
 * piece at sbrk_base ends with the old top's 16-byte remainder and two
 * fenceposts, the second piece (holding top) lies elsewhere, after a
 * page of the program's own that starts like a chunk and then breaks. */
#define PIECE2_MAP 0x7ffff0000000ull
#define PIECE2 (PIECE2_MAP + 0x1000)
#define PIECE2_LEN 0x10000ull
static void build_pieces(struct fake *f, uint64_t system_mem)
{
	build(f);
	const struct hs_layout *l = &f->sym.layout;
	unsigned char *ms = f->libc + 0x100, *h = f->heap;
	put(h, 0x528, (HEAP_LEN - 0x520 - 0x30) | 1); /* in use to the fenceposts */
	put(h, HEAP_LEN - 0x28, 0x10 | 1);            /* the old top's remainder */
	put(h, HEAP_LEN - 0x18, 0x10 | 1);            /* fencepost */
	put(h, HEAP_LEN - 0x08, 0x10 | 1);            /* fencepost */
	unsigned char *m = hs_image_add(&f->im, PIECE2_MAP, 0x1000 + PIECE2_LEN, "");
	put(m, 0x008, 0x20 | 1);  /* look-alike: a first chunk... */
	put(m, 0x028, 0x100 | 2); /* ...then IS_MMAPPED: not main_arena's */
	put(m, 0x1008, 0x100 | 1); /* in use */
	put(m, 0x1108, (PIECE2_LEN - 0x100) | 1); /* top */
	put(ms, (uint64_t)l->ms_top, PIECE2 + 0x100);
	put(ms, (uint64_t)l->ms_flags, HS_ARENA_NONCONTIGUOUS);
	put(ms, (uint64_t)l->ms_system_mem, system_mem);
	put(ms, (uint64_t)l->ms_max_system_mem, system_mem);
}

static void test_main_in_pieces(void **state)
{
	(void)state;
	struct fake f;
	struct run r;
	build_pieces(&f, HEAP_LEN + PIECE2_LEN);
	analyse(&f, &r);
	for (size_t i = 0; i < r.w.n; i++)
		print_message("unexpected warning: %s\n", r.w.v[i]);
	assert_int_equal(r.w.n, 0);
	assert_int_equal(r.heap.arenas[0].nheaps, 2);
	assert_int_equal(r.heap.arenas[0].heaps[0].end, HEAP + HEAP_LEN);
	assert_int_equal(r.heap.arenas[0].heaps[1].base, PIECE2);
	assert_int_equal(r.heap.arenas[0].heaps[1].end, PIECE2 + PIECE2_LEN);
	const struct hs_counts *c = &r.c.totals;
	assert_int_equal(c->top_bytes, PIECE2_LEN - 0x100);
	assert_int_equal(c->in_use.bytes, 0x290 + 0x70 + 0x30 + (HEAP_LEN - 0x520 - 0x30) + 0x100);
	assert_int_equal(c->overhead_bytes, 0x30);
	assert_int_equal(c->in_use.bytes + c->free.bytes + c->top_bytes + c->overhead_bytes,
			 HEAP_LEN + PIECE2_LEN);
	release(&f, &r);

	/* pieces that do not add up to system_mem: said, never guessed */
	build_pieces(&f, HEAP_LEN + PIECE2_LEN + 0x1000);
	analyse(&f, &r);
	assert_true(warned(&r, "pieces found add up to"));
	release(&f, &r);
}

static void test_maps_parse(void **state)
{
	(void)state;
	struct hs_maps m;
	assert_null(hs_maps_parse("5555-6666 rw-p 00000000 00:00 0                          [heap]\n"
				  "7000-8000 rw-p 00000000 00:00 0 \n"
				  "8000-9000 r-xp 00001000 08:01 1234                       /usr/lib/libc.so.6 (deleted)\n",
				  &m));
	assert_int_equal(m.n, 3);
	assert_string_equal(m.v[0].path, "[heap]");
	assert_string_equal(m.v[1].path, "");
	assert_string_equal(m.v[2].path, "/usr/lib/libc.so.6 (deleted)");
	assert_int_equal(m.v[2].offset, 0x1000);
	assert_non_null(hs_maps_find(&m, 0x7fff));
	assert_null(hs_maps_find(&m, 0x6666));
	hs_maps_free(&m);
	/* a line it does not understand is named, not skipped in silence */
	const char *text = "5555-6666 rw-p 00000000 00:00 0 [heap]\nnot a mapping\n7000-8000 rw-p 00000000 00:00 0\n";
	assert_ptr_equal(hs_maps_parse(text, &m), strstr(text, "not a mapping"));
	assert_int_equal(m.n, 2);
	hs_maps_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_heap),
		cmocka_unit_test(test_near_matches_plain),
		cmocka_unit_test(test_fastbin_cycle),
		cmocka_unit_test(test_fastbin_garbage),
		cmocka_unit_test(test_size_overrun),
		cmocka_unit_test(test_unsorted_points_outside),
		cmocka_unit_test(test_ring_loop),
		cmocka_unit_test(test_heap_info_cycle),
		cmocka_unit_test(test_top_outside_heap),
		cmocka_unit_test(test_top_size_corrupt),
		cmocka_unit_test(test_main_in_pieces),
		cmocka_unit_test(test_maps_parse),
	};
	return cmocka_run_group_tests_name("walk", tests, NULL, NULL);
}
