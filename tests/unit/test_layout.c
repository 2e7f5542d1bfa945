/* test_layout.c - hs_layout_unsound(): every built-in layout is sound (the
 * symbol-free path trusts them, and a debug file's layout is held to the
 * same bounds), and a layout a hostile debug file could give, with a field
 * outside its struct, an array past its end or a struct of megabytes, is
 * named before any reader indexes a buffer with it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "arch.h"
#include "base/layout.h"

static void test_builtin_layouts_are_sound(void **state)
{
	(void)state;
	int seen = 0;
	for (int minor = 20; minor <= 50; minor++) {
		struct hs_layout l;
		hs_layout_clear(&l);
		if (hs_arch_layout(2, minor, &l) < 0)
			continue;
		seen++;
		const char *bad = hs_layout_unsound(&l);
		if (bad)
			print_message("glibc 2.%d: %s\n", minor, bad);
		assert_null(bad);
		assert_null(hs_layout_missing(&l));
	}
	assert_true(seen >= 10); /* 2.27 to 2.43 */
}

static void test_hostile_layouts_are_named(void **state)
{
	(void)state;
	struct hs_layout good;
	hs_layout_clear(&good);
	assert_int_equal(hs_arch_layout(2, 36, &good), 0);
	struct hs_layout l = good;
	l.ms_top = l.ms_size; /* DW_AT_data_member_location past the struct */
	assert_string_equal(hs_layout_unsound(&l), "ms_top lies outside its struct");
	l = good;
	l.mp_sbrk_base = l.mp_size - 4;
	assert_string_equal(hs_layout_unsound(&l), "mp_sbrk_base lies outside its struct");
	l = good;
	l.hi_prev = 1 << 20;
	assert_string_equal(hs_layout_unsound(&l), "hi_prev lies outside its struct");
	l = good;
	l.nbins = 1000; /* bins[] of a DW_TAG_array_type made long */
	assert_string_equal(hs_layout_unsound(&l), "bins lies outside malloc_state");
	l = good;
	l.ms_bins = l.ms_size - 16;
	assert_string_equal(hs_layout_unsound(&l), "bins lies outside malloc_state");
	l = good;
	l.nfastbins = 12;
	assert_string_equal(hs_layout_unsound(&l), "fastbinsY lies outside malloc_state");
	l = good;
	l.ms_size = 1 << 30; /* a struct whose buffer would be a GiB */
	assert_string_equal(hs_layout_unsound(&l), "a struct larger than 64 KiB");
	l = good;
	l.tc_entries = l.tc_size - 8;
	assert_string_equal(hs_layout_unsound(&l), "tcache_perthread_struct's arrays lie outside it");
	l = good;
	l.tc_nbins = 100000;
	assert_string_equal(hs_layout_unsound(&l), "tcache_perthread_struct has an impossible number of bins");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_layouts_are_sound),
		cmocka_unit_test(test_hostile_layouts_are_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
