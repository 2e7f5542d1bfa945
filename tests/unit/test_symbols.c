/* test_symbols.c - libdwfl on this very process: the libc's DWARF must
 * give the same layout as the built-in table for its version (the table is
 * what the symbol-free path trusts), and locate main_arena, mp_ and the
 * TLS slots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "glibc/symbols.h"
#include "source/target.h"

static void test_dwarf_matches_table(void **state)
{
	(void)state;
	struct hs_target t;
	struct hs_err err = {0};
	struct hs_symbols s;
	struct hs_symbols_opts o = {0};
	assert_int_equal(hs_target_open(&t, getpid(), &err), 0);
	int rc = hs_symbols_load(&t.src, &o, &s, &err);
	if (rc)
		print_message("symbols: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_string_equal(s.method, "dwarf");
	assert_true(s.main_arena != 0 && s.mp != 0);
	assert_true(s.have_tls);
	assert_true(s.layout.tls_tcache >= 0 && s.layout.tls_thread_arena >= 0);

	struct hs_layout want;
	assert_int_equal(hs_arch_layout(s.layout.vmajor, s.layout.vminor, &want), 0);
#define SAME(f) assert_int_equal(s.layout.f, want.f)
	SAME(ms_size), SAME(ms_mutex), SAME(ms_flags), SAME(ms_have_fastchunks), SAME(ms_fastbins);
	SAME(ms_top), SAME(ms_last_remainder), SAME(ms_bins), SAME(ms_binmap), SAME(ms_next);
	SAME(ms_next_free), SAME(ms_attached_threads), SAME(ms_system_mem), SAME(ms_max_system_mem);
	SAME(nfastbins), SAME(nbins);
	SAME(mp_size), SAME(mp_trim_threshold), SAME(mp_top_pad), SAME(mp_mmap_threshold);
	SAME(mp_arena_test), SAME(mp_arena_max), SAME(mp_hp_pagesize), SAME(mp_n_mmaps);
	SAME(mp_n_mmaps_max), SAME(mp_max_n_mmaps), SAME(mp_no_dyn_threshold), SAME(mp_mmapped_mem);
	SAME(mp_max_mmapped_mem), SAME(mp_sbrk_base), SAME(mp_tcache_bins), SAME(mp_tcache_max_bytes);
	SAME(mp_tcache_count), SAME(mp_tcache_unsorted_limit);
	SAME(hi_size), SAME(hi_ar_ptr), SAME(hi_prev), SAME(hi_hsize), SAME(hi_mprotect_size);
	SAME(tc_size), SAME(tc_counts), SAME(tc_entries), SAME(tc_count_width), SAME(tc_nbins);
#undef SAME

	/* thread_arena of this thread: NULL before its first glibc malloc (the
	 * sanitizers bring their own allocator), else main_arena. */
	struct hs_regs r = {0};
	asm volatile("mov %%fs:0, %0" : "=r"(r.tp));
	uint64_t ta;
	assert_int_equal(hs_read_u64(&t.src, hs_arch_tls_addr(r.tp, s.l_tls_offset, (uint64_t)s.layout.tls_thread_arena), &ta), 0);
	assert_true(ta == 0 || ta == s.main_arena);
	hs_symbols_free(&s);
	hs_target_close(&t);
}

static void test_no_such_pid(void **state)
{
	(void)state;
	struct hs_target t;
	struct hs_err err = {0};
	assert_int_equal(hs_target_open(&t, 0x3fffffff, &err), HS_EATTACH);
	assert_non_null(strstr(err.msg, "no such process"));
	hs_target_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dwarf_matches_table),
		cmocka_unit_test(test_no_such_pid),
	};
	return cmocka_run_group_tests_name("symbols", tests, NULL, NULL);
}
