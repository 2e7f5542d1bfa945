/* test_symbols.c - libdwfl on this very process: the libc's DWARF must
 * give the same layout as the built-in table for its version (the table is
 * what the symbol-free path trusts), and locate main_arena, mp_ and the
 * TLS slots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* Which malloc serves a program: programs and libraries built here, run,
 * and read. The compiler is the one that built this test. */
static char work[PATH_MAX];

static void build(const char *name, const char *source, const char *flags)
{
	char path[PATH_MAX + 64], cmd[4 * PATH_MAX];
	snprintf(path, sizeof path, "%s/%s.c", work, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(source, f);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof cmd, "cd %s && cc -O0 -w -o %s %s.c %s", work, name, name, flags);
	int rc = system(cmd);
	if (rc != 0)
		print_message("failed: %s\n", cmd);
	assert_int_equal(rc, 0);
}

/* The dynamic symbol `want` of an ELF file. */
static bool dynsym(const char *file, const char *want, GElf_Sym *out)
{
	elf_version(EV_CURRENT);
	int fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	bool found = false;
	Elf_Scn *scn = NULL;
	while (!found && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize && !found; i++) {
			const char *name;
			found = gelf_getsym(d, (int)i, out) && (name = elf_strptr(e, sh.sh_link, out->st_name)) &&
				strcmp(name, want) == 0;
		}
	}
	elf_end(e);
	close(fd);
	return found;
}

/* Starts work/NAME; returns once it printed its line (its start-up done). */
static pid_t start(const char *name)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof path, "%s/%s", work, name);
		dup2(p[1], 1);
		close(p[0]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char line[256];
	ssize_t n = read(p[0], line, sizeof line);
	close(p[0]);
	assert_true(n > 0);
	return pid;
}

static void finish(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* other_allocator of a running program, "" if glibc's malloc serves it. */
static void whose_malloc(const char *name, char *out, size_t size)
{
	pid_t pid = start(name);
	struct hs_target t;
	struct hs_err err = {0};
	struct hs_symbols s;
	struct hs_symbols_opts o = {0};
	int rc = hs_target_open(&t, pid, &err);
	if (rc == 0)
		rc = hs_symbols_load(&t.src, &o, &s, &err);
	if (rc)
		print_message("%s: %s\n", name, err.msg);
	snprintf(out, size, "%s", rc ? "?" : s.other_allocator);
	if (rc == 0)
		hs_symbols_free(&s);
	hs_target_close(&t);
	finish(pid);
	assert_int_equal(rc, 0);
}

static const char uses_malloc[] =
	"#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n"
	"int main(void) {\n"
	"	void *p = malloc(100);\n"
	"	printf(\"%p %p\\n\", (void *)&malloc, p); /* takes malloc's address */\n"
	"	fflush(stdout);\n"
	"	pause();\n"
	"}\n";

/* A non-PIE executable that takes malloc's address: the dynamic linker
 * binds every reference to malloc (libc's own too) to the executable's
 * PLT entry, so its *undefined* malloc carries that address. It does not
 * define malloc: glibc's serves it (Debian's python3 is such a program). */
static void test_canonical_plt_is_not_a_definition(void **state)
{
	(void)state;
	/* Stripped, as distributions ship them (only .dynsym left), and not. */
	static const char *const flags[] = {"-fno-pic -no-pie -s", "-fno-pic -no-pie"};
	for (size_t i = 0; i < 2; i++) {
		build("plt", uses_malloc, flags[i]);
		char path[PATH_MAX + 64];
		snprintf(path, sizeof path, "%s/plt", work);
		GElf_Sym sym;
		/* The case itself: malloc undefined, with a value. */
		assert_true(dynsym(path, "malloc", &sym));
		assert_int_equal(sym.st_shndx, SHN_UNDEF);
		assert_true(sym.st_value != 0);
		char who[160];
		whose_malloc("plt", who, sizeof who);
		assert_string_equal(who, "");
	}
	/* and the same program as PIE (no canonical PLT) */
	char who[160];
	build("pie", uses_malloc, "-fPIE -pie -s");
	whose_malloc("pie", who, sizeof who);
	assert_string_equal(who, "");
}

/* An executable that defines malloc (and exports it, libc references it)
 * interposes on glibc's: refused by name, PIE or not. */
static void test_executable_that_defines_malloc(void **state)
{
	(void)state;
	static const char src[] =
		"#include <stdio.h>\n#include <stddef.h>\n#include <unistd.h>\n"
		"extern void *__libc_malloc(size_t);\n"
		"void *malloc(size_t n) { return __libc_malloc(n); }\n"
		"int main(void) { printf(\"%p\\n\", malloc(10)); fflush(stdout); pause(); }\n";
	static const char *const flags[] = {"-fno-pic -no-pie -s", "-fPIE -pie -s", "-fPIE -pie"};
	for (size_t i = 0; i < HS_ARRAY_SIZE(flags); i++) {
		build("own", src, flags[i]);
		char who[160];
		whose_malloc("own", who, sizeof who);
		assert_non_null(strstr(who, "the executable's own"));
	}
}

/* A library named like an allocator counts only when its malloc is the
 * one bound: jemalloc built with a prefix (je_malloc only) is not, nor a
 * malloc-defining library dlopen'ed RTLD_LOCAL; one linked in is. */
static void test_named_allocator_only_when_bound(void **state)
{
	(void)state;
	char flags[2 * PATH_MAX];
	static const char prefixed[] =
		"#include <stddef.h>\nextern void *__libc_malloc(size_t);\n"
		"void *je_malloc(size_t n) { return __libc_malloc(n); }\n";
	static const char full[] =
		"#include <stddef.h>\nextern void *__libc_malloc(size_t);\n"
		"void *je_malloc(size_t n) { return __libc_malloc(n); }\n"
		"void *malloc(size_t n) { return __libc_malloc(n); }\n";
	static const char linked[] =
		"#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n"
		"extern void *je_malloc(size_t);\n"
		"int main(void) { printf(\"%p %p\\n\", je_malloc(10), malloc(10)); fflush(stdout); pause(); }\n";
	static const char opened[] =
		"#include <dlfcn.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n"
		"int main(int c, char **v) { (void)c;\n"
		"	char p[4096]; snprintf(p, sizeof p, \"%s.d/libjemalloc.so.2\", v[0]);\n"
		"	if (!dlopen(p, RTLD_NOW | RTLD_LOCAL)) return 1;\n"
		"	printf(\"%p\\n\", malloc(10)); fflush(stdout); pause(); }\n";
	char who[160];

	build("libjemalloc.so.2", prefixed, "-shared -fPIC");
	snprintf(flags, sizeof flags, "-L. -l:libjemalloc.so.2 -Wl,-rpath,%s", work);
	build("prefixed", linked, flags);
	whose_malloc("prefixed", who, sizeof who);
	assert_string_equal(who, "");

	char dir[PATH_MAX + 16];
	snprintf(dir, sizeof dir, "%s/opened.d", work);
	assert_int_equal(mkdir(dir, 0755), 0);
	build("opened.d/libjemalloc.so.2", full, "-shared -fPIC");
	build("opened", opened, "-ldl");
	whose_malloc("opened", who, sizeof who);
	assert_string_equal(who, "");

	build("libjemalloc.so.2", full, "-shared -fPIC");
	build("interposed", linked, flags);
	whose_malloc("interposed", who, sizeof who);
	assert_non_null(strstr(who, "jemalloc"));

	/* A library of no known allocator whose malloc is bound: a wrapper
	 * handing on to glibc's (a tracing preload), whose heap is in use. */
	build("libwrap.so", full, "-shared -fPIC");
	snprintf(flags, sizeof flags, "-L. -l:libwrap.so -Wl,-rpath,%s", work);
	build("wrapped", linked, flags);
	whose_malloc("wrapped", who, sizeof who);
	assert_string_equal(who, "");
}

static int setup_work(void **state)
{
	(void)state;
	snprintf(work, sizeof work, "/tmp/hs-test-symbols.XXXXXX");
	return mkdtemp(work) ? 0 : -1;
}

static int teardown_work(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", work);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dwarf_matches_table),
		cmocka_unit_test(test_no_such_pid),
		cmocka_unit_test(test_canonical_plt_is_not_a_definition),
		cmocka_unit_test(test_executable_that_defines_malloc),
		cmocka_unit_test(test_named_allocator_only_when_bound),
	};
	return cmocka_run_group_tests_name("symbols", tests, setup_work, teardown_work);
}
