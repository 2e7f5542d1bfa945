/* test_compare.c - --compare on heaps the reference core builds: a sane
 * heap has nothing misplaced and re-packs to what the core itself needs;
 * a tcache list moved to the wrong bin is named, chunk by chunk. */
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

static void build(struct run *r, int vminor)
{
	memset(r, 0, sizeof *r);
	struct hs_refcore_cfg cfg = {.vmajor = 2, .vminor = vminor, .size_sz = 8};
	r->rc = hs_refcore_new(&cfg);
	assert_non_null(r->rc);
	uint64_t keep[64], drop[64];
	for (int i = 0; i < 64; i++) {
		keep[i] = hs_refcore_malloc(r->rc, 24 + (uint64_t)(i % 5) * 100);
		drop[i] = hs_refcore_malloc(r->rc, 24 + (uint64_t)(i % 7) * 200);
	}
	for (int i = 0; i < 64; i++)
		hs_refcore_free(r->rc, drop[i]);
	(void)keep;
	hs_refcore_malloc(r->rc, 3000); /* sorts the unsorted bin */
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

/* The core's own heap re-packed by the core: the live set fits in no more
 * than the heap it came from, and every list is where the core put it. */
static void test_sane(void **state)
{
	(void)state;
	static const int versions[] = {31, 36, 41, 43};
	for (size_t v = 0; v < sizeof versions / sizeof *versions; v++) {
		struct run r;
		build(&r, versions[v]);
		analyse(&r);
		assert_int_equal(r.w.n, 0);
		struct hs_compare m;
		hs_compare_build(&r.c, &m, &r.w);
		assert_true(m.modelled);
		assert_int_equal(m.narenas, 1);
		assert_int_equal(m.misplaced_total, 0);
		assert_true(m.arenas[0].fresh_system_bytes <= m.arenas[0].live_system_bytes);
		assert_true(m.arenas[0].fresh_trimmed_bytes <= m.arenas[0].fresh_system_bytes);
		assert_int_equal(m.arenas[0].live_in_use_bytes, r.c.arenas[0].c.in_use.bytes);
		assert_int_equal(m.merged_system_bytes, m.arenas[0].fresh_system_bytes);
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
	build(&r, 36);
	analyse(&r);
	const struct hs_layout *l = r.h.layout;
	uint64_t tc = r.h.threads[0].tcache.addr;
	unsigned n0 = r.h.threads[0].tcache.counts[0];
	assert_true(n0 > 0);
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
