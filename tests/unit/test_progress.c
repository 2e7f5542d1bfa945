/* test_progress.c - base/progress.h on a fake clock, written to a file:
 * silent for the first `after`, then one line rewritten with \r at most
 * every 100 ms however often advanced, the clock read once per
 * HS_PROGRESS_STEP bytes, the text "what: DONE of TOTAL (P%)", and the
 * line blanked at end (nothing at all when nothing was shown). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/progress.h"

static uint64_t fake_ns, clock_reads;
static uint64_t fake_clock(void)
{
	clock_reads++;
	return fake_ns;
}

/* What p wrote to fd, from its start (NUL-terminated, static). */
static const char *written(int fd)
{
	static char buf[1 << 16];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static int tmpfd(void)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	return dup(fileno(f));
}

static void test_silent_first_then_rate_limited(void **state)
{
	(void)state;
	int fd = tmpfd();
	struct hs_progress p;
	fake_ns = 5000000000ull;
	hs_progress_on(&p, fd, HS_PROGRESS_AFTER_NS, fake_clock);
	hs_progress_start(&p, "walking the heaps", 4096ull << 20);
	/* 900 ms in 1 MiB steps: nothing */
	for (int i = 0; i < 900; i++) {
		fake_ns += 1000000;
		hs_progress_advance(&p, 1 << 20);
	}
	assert_int_equal(p.writes, 0);
	assert_string_equal(written(fd), "");
	/* the next 2 s, a clock read every 1 ms: lines at 1.0, 1.1, ...
	 * 2.9 s, no more (at most 10 a second) */
	for (int i = 0; i < 2000; i++) {
		fake_ns += 1000000;
		hs_progress_advance(&p, 1 << 20);
	}
	assert_int_equal(p.writes, 20);
	const char *w = written(fd);
	/* the first line shown at 1 s, 1000 MiB in; the last at 2.9 s */
	static const char first[] = "\rheapscope: walking the heaps: 1000.0 MiB of 4.0 GiB (24%)\r";
	assert_int_equal(strncmp(w, first, sizeof first - 1), 0);
	assert_non_null(strstr(w, "\rheapscope: walking the heaps: 2.8 GiB of 4.0 GiB (70%)"));
	assert_null(strchr(w, '\n'));
	hs_progress_end(&p);
	w = written(fd);
	size_t n = strlen(w);
	assert_true(n > 2 && w[n - 1] == '\r');
	/* blanked: the tail after the last line's \r is spaces then \r */
	const char *last = w + n - 2;
	while (last > w && *last == ' ')
		last--;
	assert_int_equal(*last, '\r');
	assert_true((size_t)(w + n - 2 - last) >= strlen("heapscope: walking the heaps: 2.8 GiB of 4.0 GiB (70%)"));
	close(fd);
}

static void test_clock_read_once_per_step(void **state)
{
	(void)state;
	int fd = tmpfd();
	struct hs_progress p;
	fake_ns = 1;
	hs_progress_on(&p, fd, HS_PROGRESS_AFTER_NS, fake_clock);
	hs_progress_start(&p, "x", 1ull << 40);
	clock_reads = 0;
	/* 64 MiB in 64-byte chunks: a million advances, 65 clock reads */
	for (int i = 0; i < (1 << 20); i++)
		hs_progress_advance(&p, 64);
	assert_in_range(clock_reads, 64, 65);
	close(fd);
}

static void test_end_writes_nothing_when_nothing_shown(void **state)
{
	(void)state;
	int fd = tmpfd();
	struct hs_progress p;
	fake_ns = 1;
	hs_progress_on(&p, fd, HS_PROGRESS_AFTER_NS, fake_clock);
	hs_progress_start(&p, "copying", 100 << 20);
	hs_progress_advance(&p, 100 << 20);
	hs_progress_end(&p);
	assert_string_equal(written(fd), "");
	close(fd);
}

static void test_off_and_null_are_silent(void **state)
{
	(void)state;
	struct hs_progress off = {0}; /* zeroed: off */
	hs_progress_start(&off, "x", 10);
	hs_progress_advance(&off, 10);
	hs_progress_end(&off);
	hs_progress_start(NULL, "x", 10);
	hs_progress_advance(NULL, 10);
	hs_progress_end(NULL);
	assert_int_equal(off.writes, 0);
}

static void test_shorter_line_blanks_the_longer(void **state)
{
	(void)state;
	int fd = tmpfd();
	struct hs_progress p;
	fake_ns = 1;
	hs_progress_on(&p, fd, 0, fake_clock);
	hs_progress_start(&p, "a long description of the job", 1000);
	hs_progress_advance(&p, 10);
	hs_progress_end(&p);
	size_t before = strlen(written(fd));
	hs_progress_start(&p, "short", 1000);
	hs_progress_advance(&p, 1000);
	const char *w = written(fd) + before;
	/* "\rheapscope: short: 1000 B of 1000 B (100%)" then spaces to the old length */
	assert_int_equal(strncmp(w, "\rheapscope: short: 1000 B of 1000 B (100%)", 42), 0);
	hs_progress_end(&p);
	/* blanked once: a second end writes nothing */
	const unsigned long writes = p.writes;
	hs_progress_end(&p);
	assert_int_equal(p.writes, writes);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_silent_first_then_rate_limited),
		cmocka_unit_test(test_clock_read_once_per_step),
		cmocka_unit_test(test_end_writes_nothing_when_nothing_shown),
		cmocka_unit_test(test_off_and_null_are_silent),
		cmocka_unit_test(test_shorter_line_blanks_the_longer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
