/* test_compare.c - --compare on heaps the reference core builds, against
 * numbers measured from the real glibc: each scenario's calls, and then the
 * live set --compare re-packs (its in-use chunks in address order, the
 * tcache_perthread_struct left out), were played by fixtures/replay.c under
 * glibc 2.31, 2.36, 2.41 and 2.43 (tests/matrix/run.sh) and its mallinfo2
 * read: arena (live and fresh heap), hblkhd (fresh mmapped), arena after a
 * final malloc_trim(0) (fresh trimmed). The live in-use bytes are derived by
 * hand below. A tcache list moved to the wrong bin is named, chunk by
 * chunk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "glibc/bins.h"
#include "analysis/census.h"
#include "analysis/compare.h"
#include "refcore/refcore.h"
#include "refcore/refcore_image.h"
#include "glibc/walk.h"

struct run {
	struct hs_refcore *rc;
	struct hs_refcore_image ri;
	struct hs_heap h;
	struct hs_index ix;
	struct hs_bins b;
	struct hs_census c;
	struct hs_warnings w;
};

enum scenario { MIXED, HOLES, BIG };

/* The calls of each scenario (the same calls, as a trace, gave the measured
 * numbers in `measured` below):
 *   MIXED: 64 x (keep 24 + (i % 5) * 100, drop 24 + (i % 7) * 200), the
 *          drops freed, then malloc(3000) (sorts the unsorted bin);
 *   HOLES: 2000 x malloc(1000), all freed but every 50th (the last one,
 *          kept, pins the heap): a big heap of holes;
 *   BIG:   malloc(200000) (mmapped) and free (the mmap threshold rises to
 *          200704), malloc(200000) again (now from the heap), malloc(24). */
static void build(struct run *r, int vminor, enum scenario sc)
{
	memset(r, 0, sizeof *r);
	struct hs_refcore_cfg cfg = {.vmajor = 2, .vminor = vminor, .size_sz = 8};
	r->rc = hs_refcore_new(&cfg);
	assert_non_null(r->rc);
	if (sc == MIXED) {
		uint64_t drop[64];
		for (int i = 0; i < 64; i++) {
			hs_refcore_malloc(r->rc, 24 + (uint64_t)(i % 5) * 100);
			drop[i] = hs_refcore_malloc(r->rc, 24 + (uint64_t)(i % 7) * 200);
		}
		for (int i = 0; i < 64; i++)
			hs_refcore_free(r->rc, drop[i]);
		hs_refcore_malloc(r->rc, 3000);
	} else if (sc == HOLES) {
		static uint64_t p[2000];
		for (int i = 0; i < 2000; i++)
			p[i] = hs_refcore_malloc(r->rc, 1000);
		for (int i = 0; i < 2000; i++)
			if (i % 50 != 49)
				hs_refcore_free(r->rc, p[i]);
	} else {
		hs_refcore_free(r->rc, hs_refcore_malloc(r->rc, 200000));
		hs_refcore_malloc(r->rc, 200000);
		hs_refcore_malloc(r->rc, 24);
	}
	assert_null(hs_refcore_error(r->rc));
	hs_refcore_image_build(r->rc, &r->ri);
}

static void analyse(struct run *r)
{
	struct hs_err err = {0};
	assert_int_equal(hs_arenas_read(&r->ri.im.src, &r->ri.sym, &r->ri.task, 1, &r->h, &r->w, &err), 0);
	struct hs_walk_opts wo = {.keep_chunks = true};
	assert_int_equal(hs_walk(&r->ri.im.src, &r->h, &wo, &r->ix, &r->w, &err), 0);
	hs_bins_read(&r->h, &r->ix, true, &r->b, &r->w);
	hs_census_build(&r->h, &r->ix, &r->b, &r->c, &r->w);
	r->c.sym = &r->ri.sym;
}

static void done(struct run *r)
{
	hs_census_free(&r->c);
	hs_bins_free(&r->b);
	hs_index_free(&r->ix);
	hs_heap_free(&r->h);
	hs_refcore_image_free(&r->ri);
	hs_refcore_destroy(r->rc);
	hs_warnings_free(&r->w);
}

/* Live in-use bytes by hand: chunk = request2size(n) = (n + 8 + 15) & ~15
 * (at least 32), plus the tcache_perthread_struct's chunk (0x290 = 656; in
 * 2.43 request 760, chunk 768, and allocated later than the first malloc:
 * not in BIG, whose only free is of an mmapped chunk, as glibc's uordblks
 * there shows):
 *   MIXED: keeps 24 124 224 324 424 -> 32 144 240 336 432 (1184 per 5);
 *          64 of them: 12 x 1184 + 32 + 144 + 240 + 336 = 14960; 3000 ->
 *          3008; 14960 + 3008 + 656 = 18624 (2.43: + 768 = 18736).
 *          Cross-check with glibc's measured uordblks 41136 (2.31 - 2.41),
 *          which also counts the tcache's chunks: 7 of each dropped size up
 *          to 1040 (32 240 432 640 832 1040), 7 x 3216 = 22512, and
 *          18624 + 22512 = 41136.
 *   HOLES: 40 x 1008 = 40320, + 656 = 40976 (2.43: 41088). glibc's uordblks
 *          48032 = 40976 + 7 x 1008 in the tcache.
 *   BIG:   200000 -> 200016, 24 -> 32, + 656 = 200704 (2.43: 200048, no
 *          tcache struct; glibc's uordblks says the same, 200048). */
struct expect {
	enum scenario sc;
	const char *name;
	int vminor;
	uint64_t live_system, live_in_use, live_chunks, fresh_system, fresh_mmapped, fresh_mmapped_chunks,
		fresh_trimmed;
};

/* live_system, fresh_*: measured (glibc's mallinfo2, as said at the top);
 * live_in_use, live_chunks: by hand (above). */
static const struct expect measured[] = {
	{MIXED, "mixed", 31, 135168, 18624, 66, 135168, 0, 0, 20480},
	{MIXED, "mixed", 36, 135168, 18624, 66, 135168, 0, 0, 20480},
	{MIXED, "mixed", 41, 135168, 18624, 66, 135168, 0, 0, 20480},
	{MIXED, "mixed", 43, 135168, 18736, 66, 135168, 0, 0, 20480},
	{HOLES, "holes", 31, 2027520, 40976, 41, 135168, 0, 0, 45056},
	{HOLES, "holes", 36, 2027520, 40976, 41, 135168, 0, 0, 45056},
	{HOLES, "holes", 41, 2027520, 40976, 41, 135168, 0, 0, 45056},
	{HOLES, "holes", 43, 2027520, 41088, 41, 135168, 0, 0, 40960},
	{BIG, "big", 31, 331776, 200704, 3, 135168, 200704, 1, 4096},
	{BIG, "big", 36, 331776, 200704, 3, 135168, 200704, 1, 4096},
	{BIG, "big", 41, 331776, 200704, 3, 135168, 200704, 1, 4096},
	{BIG, "big", 43, 331776, 200048, 2, 135168, 200704, 1, 4096},
};

#define EXPECT_EQ(got, want)                                                                          \
	do {                                                                                          \
		if ((uint64_t)(got) != (uint64_t)(want))                                              \
			fail_msg("%s, glibc 2.%d: %s is %llu, glibc/by hand %llu", e->name, e->vminor, #got, \
				 (unsigned long long)(got), (unsigned long long)(want));              \
	} while (0)

/* A sane heap re-packed: nothing misplaced; the live and fresh footprints
 * are glibc's own (the one arena's live set is also "all arenas in one"). */
static void test_sane(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof measured / sizeof *measured; i++) {
		const struct expect *e = &measured[i];
		struct run r;
		build(&r, e->vminor, e->sc);
		analyse(&r);
		assert_int_equal(r.w.n, 0);
		struct hs_compare m;
		hs_compare_build(&r.c, &m, &r.w);
		assert_true(m.modelled);
		assert_int_equal(m.narenas, 1);
		EXPECT_EQ(m.misplaced_total, 0);
		EXPECT_EQ(m.arenas[0].live_system_bytes, e->live_system);
		EXPECT_EQ(m.arenas[0].live_in_use_bytes, e->live_in_use);
		EXPECT_EQ(m.arenas[0].live_in_use_chunks, e->live_chunks);
		EXPECT_EQ(m.arenas[0].fresh_system_bytes, e->fresh_system);
		EXPECT_EQ(m.arenas[0].fresh_mmapped_bytes, e->fresh_mmapped);
		EXPECT_EQ(m.arenas[0].fresh_mmapped_chunks, e->fresh_mmapped_chunks);
		EXPECT_EQ(m.arenas[0].fresh_trimmed_bytes, e->fresh_trimmed);
		EXPECT_EQ(m.merged_system_bytes, e->fresh_system);
		EXPECT_EQ(m.merged_mmapped_bytes, e->fresh_mmapped);
		EXPECT_EQ(m.merged_trimmed_bytes, e->fresh_trimmed);
		hs_compare_free(&m);
		done(&r);
	}
}

/* tcache bin 0's chunks (size 0x20) moved to bin 1 (size 0x30): the list
 * reader warns, and --compare names every one of them as misplaced. */
static void test_misplaced_tcache(void **state)
{
	(void)state;
	struct run r;
	build(&r, 36, MIXED);
	analyse(&r);
	const struct hs_layout *l = r.h.layout;
	uint64_t tc = r.h.threads[0].tcache.addr;
	/* By hand: the drops of size 24 (chunk 0x20) are i = 0, 7, ..., 63, ten
	 * of them; the first 7 freed fill tcache bin 0 (tcache_count 7). */
	unsigned n0 = r.h.threads[0].tcache.counts[0];
	assert_int_equal(n0, 7);
	unsigned char *counts = hs_image_at(&r.ri.im, tc + (uint64_t)l->tc_counts, 4);
	unsigned char *entries = hs_image_at(&r.ri.im, tc + (uint64_t)l->tc_entries, 16);
	assert_non_null(counts);
	assert_non_null(entries);
	memcpy(counts + 2, counts, 2);
	memset(counts, 0, 2);
	memcpy(entries + 8, entries, 8);
	memset(entries, 0, 8);
	hs_census_free(&r.c);
	hs_bins_free(&r.b);
	hs_index_free(&r.ix);
	hs_heap_free(&r.h);
	hs_warnings_free(&r.w);
	memset(&r.c, 0, sizeof r.c);
	memset(&r.b, 0, sizeof r.b);
	memset(&r.ix, 0, sizeof r.ix);
	memset(&r.h, 0, sizeof r.h);
	analyse(&r);
	assert_true(r.w.n > 0); /* the list reader saw it too */
	struct hs_compare m;
	hs_compare_build(&r.c, &m, &r.w);
	assert_int_equal(m.misplaced_total, n0);
	for (size_t i = 0; i < m.nmisplaced; i++) {
		assert_string_equal(m.misplaced[i].list, "tcache");
		assert_int_equal(m.misplaced[i].index, 1);
		assert_int_equal(m.misplaced[i].expected_index, 0);
		assert_int_equal(m.misplaced[i].size, 0x20);
	}
	hs_compare_free(&m);
	done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sane),
		cmocka_unit_test(test_misplaced_tcache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
