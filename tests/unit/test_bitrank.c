/* test_bitrank.c - the packed position set against a plain sorted array
 * (rank = index, by binary search): dense sets, sparse sets over a span of
 * 2^36 (a 1 TiB heap in 16-byte granules), every query, iteration from
 * any point, and the adds it must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>

#include "base/bitrank.h"

/* The oracle: index of the first element > x. */
static size_t upper(const uint64_t *v, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* n positions below span, increasing, with gaps drawn from [1, maxgap]. */
static uint64_t *make(uint64_t span, size_t n, uint64_t maxgap, uint64_t seed, size_t *got)
{
	uint64_t *v = malloc(n * sizeof *v), p = rnd(&seed) % maxgap;
	size_t k = 0;
	for (; k < n && p < span; k++) {
		v[k] = p;
		p += 1 + rnd(&seed) % maxgap;
	}
	*got = k;
	return v;
}

static void check(uint64_t span, size_t n, uint64_t maxgap, uint64_t seed)
{
	size_t k;
	uint64_t *v = make(span, n, maxgap, seed, &k);
	struct hs_bitrank b;
	hs_bitrank_init(&b, span, k);
	for (size_t i = 0; i < k; i++)
		assert_true(hs_bitrank_add(&b, v[i]));
	hs_bitrank_seal(&b);
	assert_int_equal(b.n, k);
	/* At, next to and between the positions, and random ones. */
	for (size_t i = 0; i < k; i++) {
		assert_int_equal(hs_bitrank_find(&b, v[i]), (int64_t)i);
		assert_int_equal(hs_bitrank_pred(&b, v[i]), (int64_t)i);
		uint64_t x = v[i] + 1;
		if (x < span) {
			int64_t want = upper(v, k, x) ? (int64_t)upper(v, k, x) - 1 : -1;
			assert_int_equal(hs_bitrank_pred(&b, x), want);
			assert_int_equal(hs_bitrank_find(&b, x), i + 1 < k && v[i + 1] == x ? (int64_t)i + 1 : -1);
		}
		if (v[i]) {
			size_t u = upper(v, k, v[i] - 1);
			assert_int_equal(hs_bitrank_pred(&b, v[i] - 1), (int64_t)u - 1);
		}
	}
	for (int t = 0; t < 2000; t++) {
		uint64_t x = rnd(&seed) % span;
		size_t u = upper(v, k, x);
		assert_int_equal(hs_bitrank_pred(&b, x), (int64_t)u - 1);
		assert_int_equal(hs_bitrank_find(&b, x), u && v[u - 1] == x ? (int64_t)u - 1 : -1);
	}
	/* Iteration: from 0, from a position, from between two. */
	uint64_t starts[] = {0, k ? v[k / 2] : 0, k ? v[k / 3] + 1 : 1, rnd(&seed) % span, span - 1};
	for (size_t s = 0; s < sizeof starts / sizeof *starts; s++) {
		size_t i = upper(v, k, starts[s] ? starts[s] - 1 : 0);
		if (!starts[s])
			i = 0;
		struct hs_bitrank_iter it;
		uint64_t pos;
		for (hs_bitrank_iter_init(&it, &b, starts[s]); hs_bitrank_iter_next(&it, &pos); i++) {
			assert_true(i < k);
			assert_int_equal(pos, v[i]);
		}
		assert_int_equal(i, k);
	}
	hs_bitrank_free(&b);
	free(v);
}

static void dense(void **state)
{
	(void)state;
	check(1u << 20, 1u << 20, 1, 1);     /* every position */
	check(1u << 22, 300000, 7, 2);       /* a chunk every 1-7 granules */
	check(1000, 999, 2, 3);              /* a span that is not a multiple of 64 */
}

static void sparse(void **state)
{
	(void)state;
	check(1ull << 36, 100000, 1ull << 20, 4); /* 1 TiB, a chunk per ~8 MiB */
	check(1ull << 33, 50000, 1u << 16, 5);    /* 128 GiB, 1 MiB chunks */
	check(1ull << 33, 50000, 70, 6);          /* clusters across word boundaries */
}

static void empty_and_edges(void **state)
{
	(void)state;
	struct hs_bitrank b;
	hs_bitrank_init(&b, 1ull << 36, 10);
	hs_bitrank_seal(&b);
	assert_int_equal(hs_bitrank_find(&b, 5), -1);
	assert_int_equal(hs_bitrank_pred(&b, 5), -1);
	struct hs_bitrank_iter it;
	uint64_t pos;
	hs_bitrank_iter_init(&it, &b, 0);
	assert_false(hs_bitrank_iter_next(&it, &pos));
	hs_bitrank_free(&b);

	hs_bitrank_init(&b, 1ull << 36, 3);
	assert_true(hs_bitrank_add(&b, 100));
	assert_false(hs_bitrank_add(&b, 3));   /* an earlier word */
	assert_true(hs_bitrank_add(&b, 1ull << 35));
	assert_false(hs_bitrank_add(&b, 100)); /* an earlier word */
	assert_false(hs_bitrank_add(&b, 1ull << 36)); /* past the span */
	assert_true(hs_bitrank_add(&b, (1ull << 36) - 1));
	hs_bitrank_seal(&b);
	assert_int_equal(b.n, 3);
	assert_int_equal(hs_bitrank_pred(&b, 99), -1);
	assert_int_equal(hs_bitrank_pred(&b, 1ull << 34), 0);
	assert_int_equal(hs_bitrank_pred(&b, (1ull << 36) - 2), 1);
	assert_int_equal(hs_bitrank_find(&b, (1ull << 36) - 1), 2);
	hs_bitrank_free(&b);

	/* Full: three words reserved, a fourth refused. */
	hs_bitrank_init(&b, 1ull << 20, 3);
	assert_true(hs_bitrank_add(&b, 0));
	assert_true(hs_bitrank_add(&b, 64));
	assert_true(hs_bitrank_add(&b, 128));
	assert_false(hs_bitrank_add(&b, 192));
	hs_bitrank_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dense),
		cmocka_unit_test(sparse),
		cmocka_unit_test(empty_and_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
