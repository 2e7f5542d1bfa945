/* test_refcore.c - the reference allocator core, without a process.
 *
 * 1. Its structure layouts (lib/refcore/refcore_layout.c, computed by C
 *    rules) and arch/x86_64.c's table, both against an independent oracle:
 *    the offsets measured from each glibc's own DWARF (x86_64: 2.31, 2.36,
 *    2.41, 2.43; tests/unit/measure_layouts.sh prints the rows), and a hand
 *    derivation for i386 2.36 written out below.
 * 2. Its images (every modelled version tested against real glibc, both
 *    word sizes), after a long pseudo-random mix of calls, read by the same
 *    stages as a live process (arenas, walk, bins, census) give exactly
 *    the core's own bookkeeping, with no warning.
 * 3. Targeted algorithm cases at glibc 2.36's exact offsets from the heap
 *    start. Each expectation was derived from malloc.c and the same calls
 *    were run in this machine's glibc 2.36 (a throwaway program printing
 *    ptr - sbrk(0) at start), which gave the same offsets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "arch.h"
#include "glibc/arenas.h"
#include "glibc/bins.h"
#include "analysis/census.h"
#include "refcore/refcore_image.h"
#include "refcore/replay.h"
#include "glibc/walk.h"

static const int versions[] = {31, 36, 41, 43};

/* Offsets and sizes of glibc's malloc structures as glibc's own debug
 * info gives them (gdb `ptype /o` on libc6-dbg's debug file of each
 * version; tests/unit/measure_layouts.sh re-measures and prints these rows
 * exactly). -1: the field does not exist in that version. Not measurable
 * from DWARF, so not checked here: safe_linking, tcache_counts_down,
 * mmap_tail and heap_max (behaviour, not layout: the replay proof against
 * the live glibc covers them, tests/e2e/replay.sh). */
struct measured {
	int vminor;
	int ms_mutex, ms_flags, ms_have_fastchunks, ms_fastbins, nfastbins, ms_top, ms_last_remainder, ms_bins,
		nbins, ms_binmap, ms_next, ms_next_free, ms_attached_threads, ms_system_mem, ms_max_system_mem,
		ms_size;
	int mp_trim_threshold, mp_top_pad, mp_mmap_threshold, mp_arena_test, mp_arena_max, mp_hp_pagesize,
		mp_n_mmaps, mp_n_mmaps_max, mp_max_n_mmaps, mp_no_dyn_threshold, mp_mmapped_mem,
		mp_max_mmapped_mem, mp_sbrk_base, mp_tcache_bins, mp_tcache_max_bytes, mp_tcache_count,
		mp_tcache_unsorted_limit, mp_size;
	int hi_ar_ptr, hi_prev, hi_hsize, hi_mprotect_size, hi_size;
	int tc_counts, tc_entries, tc_size, tc_count_width, tc_nbins;
};

/* x86_64, SIZE_SZ 8: measured (nbins is bins[]'s length / 2 + 1, nfastbins
 * fastbinsY's length, tc_count_width and tc_nbins the counts array's). */
static const struct measured measured[] = {
	{31, /* ms */ 0, 4, 8, 16, 10, 96, 104, 112, 128, 2144, 2160, 2168, 2176, 2184, 2192, 2200,
	 /* mp */ 0, 8, 16, 24, 32, -1, 40, 44, 48, 52, 56, 64, 72, 80, 88, 96, 104, 112,
	 /* hi */ 0, 8, 16, 24, 32, /* tc */ 0, 128, 640, 2, 64},
	{36, /* ms */ 0, 4, 8, 16, 10, 96, 104, 112, 128, 2144, 2160, 2168, 2176, 2184, 2192, 2200,
	 /* mp */ 0, 8, 16, 24, 32, 48, 60, 64, 68, 72, 80, 88, 96, 104, 112, 120, 128, 136,
	 /* hi */ 0, 8, 16, 24, 48, /* tc */ 0, 128, 640, 2, 64},
	{41, /* ms */ 0, 4, 8, 16, 10, 96, 104, 112, 128, 2144, 2160, 2168, 2176, 2184, 2192, 2200,
	 /* mp */ 0, 8, 16, 24, 32, 48, 60, 64, 68, 72, 80, 88, 96, 104, 112, 120, 128, 136,
	 /* hi */ 0, 8, 16, 24, 48, /* tc */ 0, 128, 640, 2, 64},
	{43, /* ms */ 0, 4, -1, -1, 0, 8, 16, 24, 128, 2056, 2072, 2080, 2088, 2096, 2104, 2112,
	 /* mp */ 0, 8, 16, 24, 32, 56, 68, 72, 76, 80, 88, 96, 104, 112, 120, 128, 136, 144,
	 /* hi */ 0, 8, 16, 24, 48, /* tc */ 0, 152, 760, 2, 76},
};

/* i386 (SIZE_SZ 4, 4-byte pointers and size_t, MALLOC_ALIGNMENT 16), glibc
 * 2.36, derived by hand from malloc.c/arena.c at glibc-2.36 (no i386 glibc
 * here to measure):
 *   NFASTBINS = fastbin_index(request2size(MAX_FAST_SIZE)) + 1, with
 *   MAX_FAST_SIZE = 80 * 4 / 4 = 80, request2size(80) = (80 + 4 + 15) & ~15
 *   = 96, fastbin_index(96) = (96 >> 3) - 2 = 10: 11 fastbins.
 *   malloc_state: mutex 0, flags 4, have_fastchunks 8 (ints); fastbinsY[11]
 *   at 12 (44 bytes); top 56, last_remainder 60; bins[254] at 64 (1016
 *   bytes); binmap[4] (unsigned int) at 1080; next 1096, next_free 1100,
 *   attached_threads 1104, system_mem 1108, max_system_mem 1112; size 1116.
 *   malloc_par: trim_threshold 0, top_pad 4, mmap_threshold 8, arena_test
 *   12, arena_max 16, thp_pagesize 20, hp_pagesize 24, hp_flags 28 (int),
 *   n_mmaps 32, n_mmaps_max 36, max_n_mmaps 40, no_dyn_threshold 44 (ints),
 *   mmapped_mem 48, max_mmapped_mem 52, sbrk_base 56, tcache_bins 60,
 *   tcache_max_bytes 64, tcache_count 68, tcache_unsorted_limit 72; size 76.
 *   heap_info: ar_ptr 0, prev 4, size 8, mprotect_size 12, pagesize 16,
 *   pad[-3 * SIZE_SZ & MALLOC_ALIGN_MASK] = pad[4] at 20; size 24 (and
 *   24 + 2 * SIZE_SZ = 32 is a multiple of 16, as the comment there asks).
 *   tcache_perthread_struct: uint16_t counts[64] at 0 (128 bytes),
 *   entries[64] at 128 (256 bytes); size 384. */
static const struct measured i386_236 = {
	36, /* ms */ 0, 4, 8, 12, 11, 56, 60, 64, 128, 1080, 1096, 1100, 1104, 1108, 1112, 1116,
	/* mp */ 0, 4, 8, 12, 16, 24, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 72, 76,
	/* hi */ 0, 4, 8, 12, 24, /* tc */ 0, 128, 384, 2, 64};

#define SAME(f)                                                                                      \
	do {                                                                                         \
		if (l->f != m->f)                                                                    \
			fail_msg("%s glibc 2.%d: %s is %d, %s says %d", who, m->vminor, #f, (int)l->f,  \
				 oracle, m->f);                                                      \
	} while (0)

static void check_measured(const char *who, const struct hs_layout *l, const struct measured *m, const char *oracle)
{
	SAME(ms_mutex); SAME(ms_flags); SAME(ms_have_fastchunks); SAME(ms_fastbins); SAME(nfastbins);
	SAME(ms_top); SAME(ms_last_remainder); SAME(ms_bins); SAME(nbins); SAME(ms_binmap); SAME(ms_next);
	SAME(ms_next_free); SAME(ms_attached_threads); SAME(ms_system_mem); SAME(ms_max_system_mem);
	SAME(ms_size); SAME(mp_trim_threshold); SAME(mp_top_pad); SAME(mp_mmap_threshold);
	SAME(mp_arena_test); SAME(mp_arena_max); SAME(mp_hp_pagesize); SAME(mp_n_mmaps);
	SAME(mp_n_mmaps_max); SAME(mp_max_n_mmaps); SAME(mp_no_dyn_threshold); SAME(mp_mmapped_mem);
	SAME(mp_max_mmapped_mem); SAME(mp_sbrk_base); SAME(mp_tcache_bins); SAME(mp_tcache_max_bytes);
	SAME(mp_tcache_count); SAME(mp_tcache_unsorted_limit); SAME(mp_size); SAME(hi_ar_ptr);
	SAME(hi_prev); SAME(hi_hsize); SAME(hi_mprotect_size); SAME(hi_size); SAME(tc_counts);
	SAME(tc_entries); SAME(tc_size); SAME(tc_count_width); SAME(tc_nbins);
}

static void layouts_equal_glibcs_debug_info(void **state)
{
	(void)state;
	for (size_t i = 0; i < HS_ARRAY_SIZE(measured); i++) {
		const struct measured *m = &measured[i];
		struct hs_layout a, b;
		assert_int_equal(hs_arch_layout(2, m->vminor, &a), 0);
		check_measured("arch/x86_64.c", &a, m, "glibc's debug info");
		assert_true(hs_refcore_layout(2, m->vminor, 8, &b));
		check_measured("refcore_layout (8-byte words)", &b, m, "glibc's debug info");
	}
	struct hs_layout l;
	assert_true(hs_refcore_layout(2, 36, 4, &l));
	check_measured("refcore_layout (4-byte words)", &l, &i386_236, "the hand derivation");
}

/* The versions between the measured ones (2.27 ... 2.43 but 31, 36, 41,
 * 43): here the two encodings are only compared with each other. That
 * proves they agree, not that they are right: both follow the same reading
 * of each release's malloc.c, and a misreading shared by both passes. */
static void layout_matches_arch(void **state)
{
	(void)state;
	for (int v = 27; v <= 43; v++) {
		struct hs_layout a, b;
		memset(&a, 0, sizeof a);
		memset(&b, 0, sizeof b);
		assert_int_equal(hs_arch_layout(2, v, &a), 0);
		assert_true(hs_refcore_layout(2, v, 8, &b));
		if (memcmp(&a, &b, sizeof a) != 0)
			fail_msg("glibc 2.%d: computed layout differs from arch/x86_64.c", v);
	}
	struct hs_layout l;
	assert_false(hs_refcore_layout(2, 36, 2, &l));
	assert_false(hs_refcore_layout(2, 44, 8, &l));
}

/* The whole chain over a core's image. */
struct read {
	struct hs_refcore_image ri;
	struct hs_heap h;
	struct hs_index ix;
	struct hs_bins b;
	struct hs_census c;
	struct hs_warnings w;
};

static void read_core(struct hs_refcore *rc, struct read *r)
{
	memset(r, 0, sizeof *r);
	hs_refcore_image_build(rc, &r->ri);
	struct hs_err err = {0};
	assert_int_equal(hs_arenas_read(&r->ri.im.src, &r->ri.sym, &r->ri.task, 1, &r->h, &r->w, &err), 0);
	struct hs_walk_opts o = {.keep_chunks = true};
	assert_int_equal(hs_walk(&r->ri.im.src, &r->h, &o, &r->ix, &r->w, &err), 0);
	hs_bins_read(&r->h, &r->ix, true, &r->b, &r->w);
	hs_census_build(&r->h, &r->ix, &r->b, &r->c, &r->w);
	for (size_t i = 0; i < r->w.n; i++)
		print_error("warning: %s\n", r->w.v[i]);
	assert_int_equal(r->w.n, 0);
}

static void read_free(struct read *r)
{
	hs_census_free(&r->c);
	hs_bins_free(&r->b);
	hs_index_free(&r->ix);
	hs_heap_free(&r->h);
	hs_warnings_free(&r->w);
	hs_refcore_image_free(&r->ri);
}

/* The core's own bookkeeping against the stages' reading of its image:
 * two readings of one heap, so agreement proves that the stages read what
 * the core laid out (and the core lays out what it counts), not that
 * either is glibc; tests/e2e/replay.sh compares both with the real glibc.
 * The mallinfo2 lines restate int_mallinfo's sums (malloc.c) by hand. */
static void check_against_core(struct hs_refcore *rc, const struct read *r)
{
	struct hs_refcore_stats s;
	hs_refcore_stats(rc, &s);
	const struct hs_counts *t = &r->c.totals;
	assert_int_equal(t->system_bytes, s.system_mem);
	assert_int_equal(t->top_bytes, s.top_size);
	assert_int_equal(t->tcache.chunks, s.tcache_chunks);
	assert_int_equal(t->tcache.bytes, s.tcache_bytes);
	assert_int_equal(t->fast.chunks, s.fast_chunks);
	assert_int_equal(t->fast.bytes, s.fast_bytes);
	assert_int_equal(t->bin.chunks, s.bin_chunks);
	assert_int_equal(t->bin.bytes, s.bin_bytes);
	assert_int_equal(t->in_use.chunks, s.in_use_chunks);
	assert_int_equal(t->in_use.bytes, s.in_use_bytes);
	/* the totals are glibc's (mp_); the chunks found in the maps are the
	 * core's mappings */
	assert_int_equal(t->mmapped.chunks, s.mmapped_chunks);
	assert_int_equal(t->mmapped.bytes, s.mmapped_bytes);
	uint64_t found = 0;
	for (size_t i = 0; i < r->h.nmmapped; i++)
		found += r->h.mmapped[i].map_len;
	assert_int_equal(r->h.nmmapped, s.mmapped_chunks);
	assert_int_equal(found, s.mmapped_map_bytes);
	/* mp_.mmapped_mem equals the mappings, except for 2.43's mremap drift */
	if (hs_refcore_layout_of(rc)->vminor < 43)
		assert_int_equal(s.mmapped_bytes, s.mmapped_map_bytes);
	/* mallinfo2 as glibc's int_mallinfo computes it from the core's state */
	uint64_t avail = s.top_size + s.bin_bytes + s.fast_bytes;
	assert_int_equal(r->c.mallinfo2.arena, s.system_mem);
	assert_int_equal(r->c.mallinfo2.ordblks, s.bin_chunks + 1);
	assert_int_equal(r->c.mallinfo2.smblks, s.fast_chunks);
	assert_int_equal(r->c.mallinfo2.fsmblks, s.fast_bytes);
	assert_int_equal(r->c.mallinfo2.fordblks, avail);
	assert_int_equal(r->c.mallinfo2.uordblks, s.system_mem - avail);
	assert_int_equal(r->c.mallinfo2.keepcost, s.top_size);
	assert_int_equal(r->c.mallinfo2.hblks, s.mmapped_chunks);
	assert_int_equal(r->c.mallinfo2.hblkhd, s.mmapped_bytes);
}

/* xorshift: a fixed, portable sequence */
static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static uint64_t rand_size(uint64_t *x)
{
	uint64_t k = next_rand(x) % 100;
	if (k < 45)
		return 1 + next_rand(x) % 128;
	if (k < 70)
		return 1 + next_rand(x) % 1100;
	if (k < 92)
		return 1000 + next_rand(x) % 70000;
	return 100000 + next_rand(x) % 300000;
}

static void random_mix(struct hs_refcore *rc, uint64_t seed, int n)
{
	uint64_t live[512];
	size_t nlive = 0;
	uint64_t x = seed;
	for (int i = 0; i < n; i++) {
		uint64_t k = next_rand(&x) % 100;
		if ((k < 40 || nlive == 0) && nlive < 512) {
			live[nlive++] = hs_refcore_malloc(rc, rand_size(&x));
		} else if (k < 78 && nlive) {
			size_t j = next_rand(&x) % nlive;
			hs_refcore_free(rc, live[j]);
			live[j] = live[--nlive];
		} else if (k < 85 && nlive < 512) {
			live[nlive++] = hs_refcore_calloc(rc, 1 + next_rand(&x) % 8, rand_size(&x) / 4 + 1);
		} else if (k < 94 && nlive) {
			size_t j = next_rand(&x) % nlive;
			uint64_t p = hs_refcore_realloc(rc, live[j], rand_size(&x));
			if (p)
				live[j] = p;
		} else if (k < 99 && nlive < 512) {
			live[nlive++] = hs_refcore_memalign(rc, 32u << (next_rand(&x) % 8), rand_size(&x));
		} else {
			hs_refcore_trim(rc, next_rand(&x) % 2 ? 0 : 65536);
		}
		assert_null(hs_refcore_error(rc));
	}
}

static void images_read_back(void **state)
{
	(void)state;
	for (size_t v = 0; v < HS_ARRAY_SIZE(versions) * 2; v++) {
		for (uint64_t seed = 1; seed <= 3; seed++) {
			struct hs_refcore_cfg cfg = {2, versions[v / 2], v % 2 ? 4 : 8, 0};
			struct hs_refcore *rc = hs_refcore_new(&cfg);
			assert_non_null(rc);
			random_mix(rc, seed * 0x9e3779b97f4a7c15ull, 3000);
			struct read r;
			read_core(rc, &r);
			check_against_core(rc, &r);
			read_free(&r);
			hs_refcore_destroy(rc);
		}
	}
}

/* Offsets from the heap start (2.36, SIZE_SZ 8). */
static struct hs_refcore *core36(void)
{
	struct hs_refcore_cfg cfg = {2, 36, 8, 0};
	return hs_refcore_new(&cfg);
}
#define OFF(p) ((p) - HS_RC_HEAP_BASE64)

static void first_malloc_makes_tcache(void **state)
{
	(void)state;
	struct hs_refcore *rc = core36();
	uint64_t p = hs_refcore_malloc(rc, 24);
	/* tcache_perthread_struct: request 0x280, chunk 0x290 at the heap start */
	assert_int_equal(OFF(p), 0x2a0);
	struct hs_refcore_stats s;
	hs_refcore_stats(rc, &s);
	/* sbrk(ALIGN_UP(0x290 + 0x20 + top_pad 0x20000 + MINSIZE 0x20 - 0, 4096)) */
	assert_int_equal(s.system_mem, 0x21000);
	assert_int_equal(OFF(s.top), 0x2b0);
	assert_int_equal(s.top_size, 0x21000 - 0x2b0);
	hs_refcore_destroy(rc);
}

static void tcache_fills_then_fastbin_then_consolidate(void **state)
{
	(void)state;
	struct hs_refcore *rc = core36();
	uint64_t p[9];
	for (int i = 0; i < 9; i++) {
		p[i] = hs_refcore_malloc(rc, 24);
		assert_int_equal(OFF(p[i]), 0x2a0 + 0x20 * (uint64_t)i);
	}
	for (int i = 0; i < 9; i++)
		hs_refcore_free(rc, p[i]);
	struct read r;
	read_core(rc, &r);
	assert_int_equal(r.c.totals.tcache.chunks, 7);
	assert_int_equal(r.c.totals.fast.chunks, 2);
	/* fastbin 0: p[8], then p[7] (LIFO, safe-linked in memory) */
	assert_int_equal(r.b.arenas[0].fast[0].count, 2);
	assert_int_equal(r.b.arenas[0].fast[0].nodes[0], p[8] - 16);
	assert_int_equal(r.b.arenas[0].fast[0].nodes[1], p[7] - 16);
	read_free(&r);
	/* A large request consolidates: p[8] then p[7] fold into top, which
	 * then starts at p[7]'s chunk. */
	uint64_t big = hs_refcore_malloc(rc, 2000);
	assert_int_equal(OFF(big), 0x380);
	hs_refcore_destroy(rc);
}

static void unsorted_sorting_and_last_remainder(void **state)
{
	(void)state;
	struct hs_refcore *rc = core36();
	uint64_t a = hs_refcore_malloc(rc, 0x418); /* chunk 0x420: past the tcache */
	uint64_t guard = hs_refcore_malloc(rc, 24);
	assert_int_equal(OFF(a), 0x2a0);
	assert_int_equal(OFF(guard), 0x6c0);
	hs_refcore_free(rc, a); /* unsorted */
	/* First small request: the unsorted chunk is sorted into large bin 64,
	 * the binmap finds it, the split's remainder becomes last_remainder. */
	uint64_t b = hs_refcore_malloc(rc, 0xf8);
	assert_int_equal(OFF(b), 0x2a0);
	/* Second: served from the last remainder, the only unsorted chunk. */
	uint64_t c = hs_refcore_malloc(rc, 0xf8);
	assert_int_equal(OFF(c), 0x3a0);
	struct read r;
	read_core(rc, &r);
	assert_int_equal(r.h.arenas[0].last_remainder - HS_RC_HEAP_BASE64, 0x490);
	assert_int_equal(r.b.arenas[0].bin[1].count, 1); /* remainder 0x220 in unsorted */
	assert_int_equal(r.b.arenas[0].bin[1].bytes, 0x220);
	read_free(&r);
	hs_refcore_destroy(rc);
}

static void large_bin_best_fit(void **state)
{
	(void)state;
	struct hs_refcore *rc = core36();
	uint64_t A = hs_refcore_malloc(rc, 0x4f8); /* 0x500 */
	hs_refcore_malloc(rc, 24);
	uint64_t B = hs_refcore_malloc(rc, 0x448); /* 0x450 */
	hs_refcore_malloc(rc, 24);
	uint64_t C = hs_refcore_malloc(rc, 0x478); /* 0x480 */
	hs_refcore_malloc(rc, 24);
	hs_refcore_free(rc, A);
	hs_refcore_free(rc, B);
	hs_refcore_free(rc, C);
	/* 0x440: bin 65 holds B (0x450), the smallest that fits; the 0x10
	 * left is less than MINSIZE, so B is taken whole. */
	uint64_t p = hs_refcore_malloc(rc, 0x438);
	assert_int_equal(p, B);
	struct read r;
	read_core(rc, &r);
	assert_int_equal(r.b.arenas[0].bin[68].count, 1); /* A, 0x500 */
	assert_int_equal(r.b.arenas[0].bin[66].count, 1); /* C, 0x480 */
	assert_int_equal(r.b.arenas[0].bin[1].count, 0);
	read_free(&r);
	hs_refcore_destroy(rc);
}

static void mmap_threshold_rises_and_trim(void **state)
{
	(void)state;
	struct hs_refcore *rc = core36();
	hs_refcore_malloc(rc, 24);
	uint64_t m = hs_refcore_malloc(rc, 200000);
	struct hs_refcore_stats s;
	hs_refcore_stats(rc, &s);
	assert_int_equal(s.mmapped_chunks, 1);
	assert_int_equal(s.mmapped_bytes, 0x31000); /* ALIGN_UP(200016 + 8, 4096) */
	hs_refcore_free(rc, m);
	hs_refcore_stats(rc, &s);
	assert_int_equal(s.mmap_threshold, 0x31000);
	assert_int_equal(s.trim_threshold, 0x62000);
	/* Now 200000 comes from an extended top; freeing it leaves top below
	 * the raised trim threshold, so nothing is given back ... */
	uint64_t h = hs_refcore_malloc(rc, 200000);
	assert_true(h > HS_RC_HEAP_BASE64 && OFF(h) < 0x100000);
	hs_refcore_free(rc, h);
	hs_refcore_stats(rc, &s);
	uint64_t before = s.system_mem;
	assert_true(before > 0x21000);
	/* ... until malloc_trim(0): top shrinks to MINSIZE + part of a page. */
	assert_int_equal(hs_refcore_trim(rc, 0), 1);
	hs_refcore_stats(rc, &s);
	assert_true(s.system_mem < before);
	assert_true(s.top_size < 0x1000 + 0x20 + 1);
	hs_refcore_destroy(rc);
}

/* memalign above the page size aligns absolute addresses: the heap's base
 * moves the result (checked against real 2.36 with the live heap start). */
static void heap_base_moves_big_alignments(void **state)
{
	(void)state;
	uint64_t bases[] = {0x555555559000ull, 0x555555560000ull, 0x55555556f000ull};
	uint64_t offs[3];
	for (int i = 0; i < 3; i++) {
		struct hs_refcore_cfg cfg = {2, 36, 8, bases[i]};
		struct hs_refcore *rc = hs_refcore_new(&cfg);
		assert_non_null(rc);
		hs_refcore_malloc(rc, 24);
		uint64_t p = hs_refcore_memalign(rc, 65536, 1000);
		assert_int_equal(p % 65536, 0);
		offs[i] = p - bases[i];
		struct read r;
		read_core(rc, &r);
		check_against_core(rc, &r);
		assert_int_equal(r.h.arenas[0].heaps[0].start, bases[i]);
		read_free(&r);
		hs_refcore_destroy(rc);
	}
	assert_int_not_equal(offs[0], offs[1]);
	struct hs_refcore_cfg bad = {2, 36, 8, 0x555555559001ull};
	assert_null(hs_refcore_new(&bad));
}

/* memalign of an mmapped chunk leaves its old header at the mapping's
 * start; after a mremap grows or shrinks the mapping, the reader must find
 * the real one (a live 2.36 process showed the same false warning). */
static void memaligned_mmapped_then_remapped(void **state)
{
	(void)state;
	for (unsigned w = 4; w <= 8; w += 4) {
		uint64_t sizes[] = {600000, 70000, 100};
		for (size_t i = 0; i < HS_ARRAY_SIZE(sizes); i++) {
			struct hs_refcore_cfg cfg = {2, 36, w, 0};
			struct hs_refcore *rc = hs_refcore_new(&cfg);
			uint64_t p = hs_refcore_memalign(rc, 65536, 300000);
			assert_int_equal(p % 65536, 0);
			p = hs_refcore_realloc(rc, p, sizes[i]);
			hs_refcore_malloc(rc, 24);
			struct read r;
			read_core(rc, &r);
			check_against_core(rc, &r);
			assert_int_equal(r.h.nmmapped, 1);
			assert_int_equal(r.h.mmapped[0].addr, p - 2 * w);
			read_free(&r);
			hs_refcore_destroy(rc);
		}
	}
}

static void trace_errors_name_the_line(void **state)
{
	(void)state;
	struct hs_trace t;
	struct hs_err err = {0};
	const char ok[] = "# c\nm a 10\n\nr a 20\nc b 2 3\na c 64 5\nf a\nt 0\n";
	assert_int_equal(hs_trace_parse("x", ok, sizeof ok - 1, &t, &err), 0);
	assert_int_equal(t.nops, 6);
	assert_int_equal(t.nids, 3);
	hs_trace_free(&t);
	const char *bad[] = {"m a\n", "f z\n", "m a -1\n", "q 1\n", "m a 1 2\n", "r nope 5\n"};
	for (size_t i = 0; i < HS_ARRAY_SIZE(bad); i++) {
		memset(&err, 0, sizeof err);
		assert_int_equal(hs_trace_parse("x.tr", bad[i], strlen(bad[i]), &t, &err), HS_EUSAGE);
		assert_non_null(strstr(err.msg, "x.tr:1:"));
	}
	/* A freed ID is NULL: a second free is free(NULL), as in a C program. */
	struct hs_refcore *rc = core36();
	const char twice[] = "m a 2000\nm g 10\nf a\nf a\nm b 10\nr b 0\nf b\n";
	assert_int_equal(hs_trace_parse("y", twice, sizeof twice - 1, &t, &err), 0);
	uint64_t ptrs[3];
	assert_int_equal(hs_replay(rc, &t, "y", ptrs, &err), 0);
	assert_int_equal(ptrs[0], 0);
	assert_int_not_equal(ptrs[1], 0);
	assert_int_equal(ptrs[2], 0);
	hs_trace_free(&t);
	/* the core refuses what glibc would abort on */
	uint64_t x = hs_refcore_malloc(rc, 24);
	hs_refcore_free(rc, x);
	hs_refcore_free(rc, x);
	assert_non_null(hs_refcore_error(rc));
	hs_refcore_destroy(rc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layouts_equal_glibcs_debug_info),
		cmocka_unit_test(layout_matches_arch),
		cmocka_unit_test(images_read_back),
		cmocka_unit_test(first_malloc_makes_tcache),
		cmocka_unit_test(tcache_fills_then_fastbin_then_consolidate),
		cmocka_unit_test(unsorted_sorting_and_last_remainder),
		cmocka_unit_test(large_bin_best_fit),
		cmocka_unit_test(mmap_threshold_rises_and_trim),
		cmocka_unit_test(heap_base_moves_big_alignments),
		cmocka_unit_test(memaligned_mmapped_then_remapped),
		cmocka_unit_test(trace_errors_name_the_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
