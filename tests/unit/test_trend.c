/* test_trend.c - watch's arithmetic (analysis/trend.h) on samples built
 * by hand: a delta's change and rate use the time between the stops
 * given, not any interval; the first snapshot has no rate; the trend
 * waits for HS_TREND_MIN_INTERVALS intervals; steady in-use growth with
 * a sawtooth top is "leak-like growth"; system growth under flat in-use
 * is "fragmentation"; noise under the flat bar is "steady"; shrinking
 * in-use is "shrinking"; the window keeps the last HS_TREND_WINDOW
 * samples only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/trend.h"

#define MIB (1024u * 1024u)

static struct hs_sample sample(double t_s, uint64_t system, uint64_t in_use, uint64_t top, uint64_t bins)
{
	struct hs_sample s = {0};
	s.t_ns = (uint64_t)(t_s * 1e9);
	s.v[HS_Q_SYSTEM] = system;
	s.v[HS_Q_IN_USE] = in_use;
	s.v[HS_Q_TOP] = top;
	s.v[HS_Q_BINS] = bins;
	s.v[HS_Q_HOLES] = top + bins;
	s.v[HS_Q_ARENAS] = 1;
	return s;
}

static void delta_uses_the_stops_time(void **state)
{
	(void)state;
	struct hs_sample a = sample(10.0, 4 * MIB, 2 * MIB, MIB, 0), b = sample(12.5, 5 * MIB, 3 * MIB, MIB, 0);
	struct hs_delta d;
	hs_delta_build(&a, &b, 1, &d);
	assert_true(d.seconds > 2.4999 && d.seconds < 2.5001);
	assert_int_equal(d.change[HS_Q_IN_USE], MIB);
	assert_int_equal(d.change[HS_Q_HOLES], 0);
	assert_true(d.per_s[HS_Q_IN_USE] > MIB / 2.5 - 1 && d.per_s[HS_Q_IN_USE] < MIB / 2.5 + 1);
	/* shrinking is negative, not a huge unsigned number */
	struct hs_sample c = sample(15.0, 4 * MIB, 2 * MIB, MIB, 0);
	hs_delta_build(&b, &c, 2, &d);
	assert_int_equal(d.change[HS_Q_SYSTEM], -(int64_t)MIB);
	assert_true(d.per_s[HS_Q_SYSTEM] < -(double)MIB / 2.5 + 1 && d.per_s[HS_Q_SYSTEM] > -(double)MIB / 2.5 - 1);
	/* the first: no change, no rate */
	hs_delta_build(NULL, &b, 0, &d);
	assert_int_equal(d.index, 0);
	assert_true(d.seconds == 0 && d.per_s[HS_Q_IN_USE] == 0 && d.change[HS_Q_IN_USE] == 0);
	assert_int_equal(d.t_ns, b.t_ns);
	assert_string_equal(hs_qty_name(HS_Q_IN_USE), "in_use_bytes");
	assert_string_equal(hs_qty_name(HS_Q_ARENAS), "arenas");
}

static void trend_waits_for_enough_intervals(void **state)
{
	(void)state;
	struct hs_sample s[4];
	for (int i = 0; i < 4; i++)
		s[i] = sample(i, 10 * MIB + (uint64_t)i * MIB, 5 * MIB + (uint64_t)i * MIB, MIB, 0);
	struct hs_trend t;
	hs_trend_build(s, HS_TREND_MIN_INTERVALS, &t);
	assert_null(t.word);
	assert_int_equal(t.kind, HS_TREND_UNKNOWN);
	hs_trend_build(s, HS_TREND_MIN_INTERVALS + 1, &t);
	assert_non_null(t.word);
}

/* In use grows 100 KiB/s (6000 KiB/min); top saws between 0 and 128 KiB
 * as sbrk steps: leak-like, and the slope is the growth's. */
static void leak_with_sawtooth_top(void **state)
{
	(void)state;
	struct hs_sample s[8];
	for (int i = 0; i < 8; i++) {
		uint64_t used = 8 * MIB + (uint64_t)i * 100 * 1024, top = (uint64_t)(i % 2 ? 0 : 128 * 1024);
		s[i] = sample(i, used + top, used, top, 0);
	}
	struct hs_trend t;
	hs_trend_build(s, 8, &t);
	assert_int_equal(t.kind, HS_TREND_LEAK);
	assert_string_equal(t.word, "leak-like growth");
	assert_true(t.in_use_per_s > 100 * 1024 - 1 && t.in_use_per_s < 100 * 1024 + 1);
	assert_string_equal(t.sentence, "in use grows 5.9 MiB/min while holes stay flat: leak-like growth");
	assert_int_equal(t.intervals, 7);
}

/* System grows 1 MiB/s into bins while in use stays put. */
static void fragmentation(void **state)
{
	(void)state;
	struct hs_sample s[5];
	for (int i = 0; i < 5; i++)
		s[i] = sample(i * 2, 20 * MIB + (uint64_t)i * 2 * MIB, 10 * MIB, MIB, (uint64_t)i * 2 * MIB);
	struct hs_trend t;
	hs_trend_build(s, 5, &t);
	assert_int_equal(t.kind, HS_TREND_FRAGMENTATION);
	assert_string_equal(t.sentence, "system grows 60.0 MiB/min while in use is flat: fragmentation");
}

/* Churn: in use jumps by up to 200 KiB either way, under the flat bar
 * (the more of 256 KiB and 5% of 50 MiB = 2.5 MiB): steady; so is a
 * drift under 5% of the mean. Just over the bar: not. */
static void steady_and_the_bar(void **state)
{
	(void)state;
	static const int64_t noise[6] = {0, 200, -150, 100, -200, 50};
	struct hs_sample s[6];
	for (int i = 0; i < 6; i++) {
		uint64_t used = 50 * MIB + (uint64_t)(noise[i] * 1024);
		s[i] = sample(i, 60 * MIB, used, 60 * MIB - used, 0);
	}
	struct hs_trend t;
	hs_trend_build(s, 6, &t);
	assert_int_equal(t.kind, HS_TREND_STEADY);
	assert_string_equal(t.word, "steady");
	/* a drift of 100 KiB/s, 500 KiB in 5 s: over 256 KiB, under 5% of
	 * 50 MiB: still steady */
	for (int i = 0; i < 6; i++) {
		uint64_t used = 50 * MIB + (uint64_t)i * 100 * 1024;
		s[i] = sample(i, 60 * MIB, used, 60 * MIB - used, 0);
	}
	hs_trend_build(s, 6, &t);
	assert_int_equal(t.kind, HS_TREND_STEADY);
	/* a small heap: 300 KiB over 3 s is over the 256 KiB bar */
	for (int i = 0; i < 4; i++)
		s[i] = sample(i, 2 * MIB, MIB + (uint64_t)i * 100 * 1024, MIB, 0);
	hs_trend_build(s, 4, &t);
	assert_int_equal(t.kind, HS_TREND_LEAK);
}

static void shrinking_and_window(void **state)
{
	(void)state;
	struct hs_sample s[HS_TREND_WINDOW + 10];
	const size_t n = HS_TREND_WINDOW + 10;
	/* 10 samples of fast growth, then HS_TREND_WINDOW of shrinking: the
	 * window sees only the shrinking */
	for (size_t i = 0; i < n; i++) {
		uint64_t used = i < 10 ? (uint64_t)i * 10 * MIB : (uint64_t)(100 * MIB - (i - 10) * MIB);
		s[i] = sample((double)i, 200 * MIB, used, MIB, 0);
	}
	struct hs_trend t;
	hs_trend_build(s, n, &t);
	assert_int_equal(t.kind, HS_TREND_SHRINKING);
	assert_int_equal(t.intervals, HS_TREND_WINDOW - 1);
	assert_string_equal(t.sentence, "in use shrinks 60.0 MiB/min: shrinking");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(delta_uses_the_stops_time),
		cmocka_unit_test(trend_waits_for_enough_intervals),
		cmocka_unit_test(leak_with_sawtooth_top),
		cmocka_unit_test(fragmentation),
		cmocka_unit_test(steady_and_the_bar),
		cmocka_unit_test(shrinking_and_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
