/* test_process.c - smaps parsing and the process split on hand-written
 * smaps: every kind gets exactly the Rss of what it owns, a mapping the
 * kernel merged from a thread heap, mmapped chunks, a thread stack and
 * other memory is cut at malloc's ranges and counted by its page bits,
 * the parts always sum to smaps' Rss, and other anonymous memory is
 * named by shape only when its runtime is mapped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/process.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define HEAP_MAX (64 * MiB)

/* One smaps entry: header line and the fields process.c reads. */
static void entry(char **buf, size_t *len, uint64_t start, uint64_t end, const char *perms, const char *path,
		  uint64_t rss_kb)
{
	char line[512];
	int n = snprintf(line, sizeof line,
			 "%012llx-%012llx %s 00000000 00:00 %d %s\n"
			 "Size:           %8llu kB\nRss:            %8llu kB\nPss:            %8llu kB\n"
			 "Shared_Clean:          0 kB\nPrivate_Dirty:  %8llu kB\nAnonymous:      %8llu kB\nSwap:                  0 kB\n"
			 "VmFlags: rd wr mr mw me ac\n",
			 (unsigned long long)start, (unsigned long long)end, perms, path[0] == '/' ? 42 : 0, path,
			 (unsigned long long)((end - start) / KiB), (unsigned long long)rss_kb,
			 (unsigned long long)rss_kb, (unsigned long long)rss_kb, (unsigned long long)rss_kb);
	*buf = realloc(*buf, *len + (size_t)n + 1);
	memcpy(*buf + *len, line, (size_t)n + 1);
	*len += (size_t)n;
}

static uint64_t sum(const struct hs_process *p)
{
	uint64_t s = 0;
	for (int k = 0; k < HS_MEM_KINDS; k++)
		s += p->bytes[k];
	return s;
}

/* Sets the page bits of [start, end) in mapping m present. */
static void present(struct hs_smap *m, uint64_t start, uint64_t end)
{
	if (!m->present)
		m->present = calloc((m->end - m->start) / 4096 / 64 + 1, 8);
	for (uint64_t a = start; a < end; a += 4096) {
		uint64_t i = (a - m->start) / 4096;
		m->present[i / 64] |= 1ull << (i % 64);
	}
}

static const struct hs_owner *owner(const struct hs_process *p, const char *name)
{
	for (size_t i = 0; i < p->nowners; i++)
		if (!strcmp(p->owners[i].owner, name))
			return &p->owners[i];
	return NULL;
}

/* A C program with one thread arena:
 *   0x555555554000 exe r-xp 8 KiB; 0x555555559000 [heap] 132 KiB (malloc's: 64 KiB resident)
 *   0x7f0000000000 merged rw-p: 1 MiB of the program's own memory (256 KiB
 *                  resident), an mmapped chunk of 1 MiB + 4 KiB (all
 *                  resident), then the thread heap's first 132 KiB (heap_info
 *                  at 0x7f0000201000 is not 64 MiB-aligned here: a hand-made
 *                  layout; 100 KiB resident)
 *   0x7f0000222000 ---p rest of the thread heap's reservation
 *   0x7f1000000000 rw-p 8 MiB: a thread's stack, 40 KiB resident
 *   0x7f2000000000 rw-s 4 MiB shared, 1 MiB resident
 *   0x7ffff7ff0000 [vdso] 8 KiB
 *   0x7ffffffde000 [stack] 132 KiB, 16 KiB resident */
static void test_split(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	const uint64_t M = 0x7f0000000000ull, TH = M + 2 * MiB + 4 * KiB;
	entry(&text, &len, 0x555555554000ull, 0x555555556000ull, "r-xp", "/usr/bin/prog", 8);
	entry(&text, &len, 0x555555559000ull, 0x55555557a000ull, "rw-p", "[heap]", 64);
	entry(&text, &len, M, TH + 132 * KiB, "rw-p", "", 256 + 1028 + 100);
	entry(&text, &len, TH + 132 * KiB, TH + HEAP_MAX, "---p", "", 0);
	entry(&text, &len, 0x7f1000000000ull, 0x7f1000800000ull, "rw-p", "", 40);
	entry(&text, &len, 0x7f2000000000ull, 0x7f2000400000ull, "rw-s", "/dev/zero (deleted)", 1024);
	entry(&text, &len, 0x7ffff7ff0000ull, 0x7ffff7ff2000ull, "r-xp", "[vdso]", 8);
	entry(&text, &len, 0x7ffffffde000ull, 0x7ffffffff000ull, "rw-p", "[stack]", 16);
	struct hs_smaps s;
	hs_smaps_parse(text, &s);
	free(text);
	assert_int_equal(s.n, 8);
	assert_int_equal(s.rss, (8 + 64 + 1384 + 40 + 1024 + 8 + 16) * KiB);
	assert_string_equal(s.v[5].path, "/dev/zero (deleted)");
	assert_true(s.v[5].shared);
	assert_int_equal(s.v[2].anonymous, 1384 * KiB);
	/* The merged mapping's page bits, as pagemap would give them. */
	present(&s.v[2], M, M + 256 * KiB);
	present(&s.v[2], M + 1 * MiB, M + 2 * MiB + 4 * KiB);
	present(&s.v[2], TH, TH + 100 * KiB);

	struct hs_layout l = {.size_sz = 8, .align = 16, .heap_max = HEAP_MAX};
	struct hs_heapseg mainseg = {.base = 0x555555559000ull, .start = 0x555555559000ull, .end = 0x55555557a000ull};
	struct hs_heapseg thseg = {.info = TH, .base = TH, .start = TH + 0x8e0, .end = TH + 132 * KiB};
	struct hs_arena ar[2] = {{.index = 0, .main = true, .heaps = &mainseg, .nheaps = 1},
				 {.index = 1, .heaps = &thseg, .nheaps = 1}};
	struct hs_mmchunk mm = {.addr = M + 1 * MiB, .size = 1 * MiB + 4 * KiB, .map_start = M + 1 * MiB,
				.map_len = 1 * MiB + 4 * KiB};
	struct hs_thread th[2] = {{.tid = 1, .regs = {.sp = 0x7fffffffe000ull}},
				  {.tid = 2, .regs = {.sp = 0x7f10007ff000ull}}};
	struct hs_heap h = {.layout = &l, .arenas = ar, .narenas = 2, .mmapped = &mm, .nmmapped = 1,
			    .threads = th, .nthreads = 2, .malloc_initialised = true};
	struct hs_process p;
	hs_process_build(&s, &h, NULL, NULL, &p);
	assert_true(p.have);
	assert_int_equal(p.rss, s.rss);
	assert_int_equal(sum(&p), p.rss);
	assert_int_equal(p.bytes[HS_MEM_ARENAS], (64 + 100) * KiB);
	assert_int_equal(p.bytes[HS_MEM_MMAPPED], 1028 * KiB);
	assert_int_equal(p.bytes[HS_MEM_STACKS], (40 + 16) * KiB);
	assert_int_equal(p.bytes[HS_MEM_ANON], 256 * KiB);
	assert_int_equal(p.bytes[HS_MEM_FILE], 8 * KiB);
	assert_int_equal(p.bytes[HS_MEM_SHARED], (1024 + 8) * KiB);
	assert_int_equal(p.malloc_bytes, (64 + 100 + 1028) * KiB);
	assert_int_equal(p.outside_bytes, p.rss - p.malloc_bytes);
	assert_int_equal(p.nregions, 1);
	assert_int_equal(p.regions[0].start, M);
	assert_int_equal(p.regions[0].end, M + 1 * MiB);
	assert_int_equal(p.regions[0].rss, 256 * KiB);
	assert_string_equal(p.regions[0].owner, "unknown");
	assert_string_equal(hs_mem_kind_name(HS_MEM_ANON), "other_anon");
	assert_string_equal(hs_mem_kind_name(HS_MEM_MMAPPED), "mmapped_chunks");

	/* pagemap read a moment after smaps: one more page present than Rss
	 * says. The parts still sum to Rss (the largest gives it back). */
	present(&s.v[2], M + 256 * KiB, M + 260 * KiB);
	hs_process_build(&s, &h, NULL, NULL, &p);
	assert_int_equal(sum(&p), p.rss);
	/* Without page bits, parts in proportion, in whole pages: still Rss. */
	free(s.v[2].present);
	s.v[2].present = NULL;
	hs_process_build(&s, &h, NULL, NULL, &p);
	assert_int_equal(sum(&p), p.rss);
	for (int k = 0; k < HS_MEM_KINDS; k++)
		assert_int_equal(p.bytes[k] % 4096, 0);

	/* No heap (malloc never ran): nothing is malloc's. */
	hs_process_build(&s, NULL, NULL, NULL, &p);
	assert_int_equal(p.malloc_bytes, 0);
	assert_int_equal(sum(&p), p.rss);
	hs_process_build(NULL, &h, NULL, NULL, &p);
	assert_false(p.have);
	hs_smaps_free(&s);
}

/* What a fake process holds where the process split reads, and the pool
 * size of its Python (16 KiB from 3.10, 4 KiB before). */
enum fill { FILL_POOLS, FILL_OTHER, FILL_ZEROS, FILL_SOME_OTHER };
struct fake {
	enum fill fill;
	uint32_t pool_size;
};

/* Every 16 KiB (3.10+) or 4 KiB pool boundary holds an obmalloc pool
 * header of size class 3 (64-byte blocks), as init_pool leaves it; or
 * other bytes; or nothing used; or pools with one foreign header among
 * them (the second arena's). */
static int fake_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	const struct fake *f = arg;
	const uint64_t pool = (addr & (f->pool_size - 1)) == 0 ? addr : 0;
	memset(buf, 0, len);
	if (f->fill == FILL_ZEROS)
		return 0;
	if (f->fill == FILL_OTHER || (f->fill == FILL_SOME_OTHER && (addr & (2 * MiB - 1)) < 16 * KiB && (addr >> 21) & 1)) {
		memset(buf, 0xab, len);
		return 0;
	}
	if (!pool || len < 48)
		return -1;
	unsigned char *h = buf;
	uint32_t szidx = 3, size = (szidx + 1) * 16, pool_size = f->pool_size;
	uint32_t next = 48 + 5 * size, maxnext = pool_size - size, count = 5;
	uint64_t freeblock = pool + 48 + size;
	memcpy(h, &count, 4);
	memcpy(h + 8, &freeblock, 8);
	memcpy(h + 36, &szidx, 4);
	memcpy(h + 40, &next, 4);
	memcpy(h + 44, &maxnext, 4);
	return 0;
}

/* Python's obmalloc arenas are told by their pools' headers, not by size
 * alone: a C extension's private mmap of whole MiB in a Python process is
 * unknown memory. */
static void test_obmalloc_by_content(void **state)
{
	(void)state;
	struct {
		const char *lib;
		uint64_t start;
		enum fill fill;
		bool reader;
		const char *want;
	} cases[] = {
		{"/usr/bin/python3.11", 0x7f0000100000ull, FILL_POOLS, true, "python-obmalloc"},
		{"/usr/bin/python3.11", 0x7f0000101000ull, FILL_POOLS, true, "python-obmalloc"}, /* pools 12 KiB in */
		{"/usr/bin/python3.11", 0x7f0000100000ull, FILL_OTHER, true, "unknown"},
		{"/usr/bin/python3.11", 0x7f0000100000ull, FILL_ZEROS, true, "unknown"},
		{"/usr/bin/python3.11", 0x7f0000100000ull, FILL_SOME_OTHER, true, "unknown"},
		{"/usr/bin/python3.11", 0x7f0000100000ull, FILL_POOLS, false, "unknown"},
		{"/usr/bin/python3.8", 0x7f1000100000ull, FILL_POOLS, true, "python-obmalloc"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *text = NULL;
		size_t len = 0;
		uint64_t size = 8 * MiB;
		entry(&text, &len, 0x400000, 0x401000, "r-xp", cases[i].lib, 4);
		entry(&text, &len, cases[i].start, cases[i].start + size, "rw-p", "", size / KiB);
		struct hs_smaps s;
		hs_smaps_parse(text, &s);
		free(text);
		struct hs_process p;
		struct fake f = {cases[i].fill, strstr(cases[i].lib, "3.8") ? 4 * KiB : 16 * KiB};
		hs_process_build(&s, NULL, cases[i].reader ? fake_read : NULL, &f, &p);
		assert_int_equal(p.nowners, 1);
		if (strcmp(p.owners[0].owner, cases[i].want))
			fail_msg("case %zu: %s, want %s", i, p.owners[0].owner, cases[i].want);
		if (!strcmp(cases[i].want, "python-obmalloc"))
			assert_non_null(strstr(p.owners[0].how, "pool headers"));
		hs_smaps_free(&s);
	}
}

/* Other anonymous memory named by shape, each only with its runtime. */
static void test_owners(void **state)
{
	(void)state;
	struct {
		const char *lib;
		uint64_t start, size;
		const char *want;
	} cases[] = {
		/* Python 3.11: obmalloc arenas of 1 MiB, merged: 5 MiB is arenas, 5 MiB + 4 KiB is not */
		{"/usr/lib/libpython3.11.so.1.0", 0x7f0000100000ull, 5 * MiB, "python-obmalloc"},
		{"/usr/lib/libpython3.11.so.1.0", 0x7f0000100000ull, 5 * MiB + 4 * KiB, "unknown"},
		/* Python 3.8: 256 KiB arenas */
		{"/usr/bin/python3.8", 0x7f0000100000ull, 768 * KiB, "python-obmalloc"},
		{"/usr/bin/python3.11", 0x7f0000100000ull, 768 * KiB, "unknown"},
		/* a JVM: the Java heap below 32 GiB */
		{"/usr/lib/jvm/java-17/lib/server/libjvm.so", 0xe0000000ull, 431 * MiB, "jvm-heap"},
		{"/usr/lib/jvm/java-17/lib/server/libjvm.so", 0x7f0000000000ull, 6 * MiB, "unknown"},
		/* V8: pages 256 KiB-aligned */
		{"/usr/bin/node", 0x274348180000ull, 3 * MiB, "v8-heap"},
		{"/usr/bin/node", 0x274348181000ull, 3 * MiB, "unknown"},
		/* the same shapes without their runtime: unknown */
		{"/usr/bin/prog", 0x7f0000100000ull, 5 * MiB, "unknown"},
		{"/usr/bin/prog", 0xe0000000ull, 431 * MiB, "unknown"},
		{"/usr/bin/prog", 0x274348180000ull, 3 * MiB, "unknown"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *text = NULL;
		size_t len = 0;
		entry(&text, &len, 0x400000, 0x401000, "r-xp", cases[i].lib, 4);
		entry(&text, &len, cases[i].start, cases[i].start + cases[i].size, "rw-p", "", cases[i].size / KiB);
		struct hs_smaps s;
		hs_smaps_parse(text, &s);
		free(text);
		struct hs_process p;
		struct fake pools = {FILL_POOLS, strstr(cases[i].lib, "3.8") ? 4 * KiB : 16 * KiB};
		hs_process_build(&s, NULL, fake_read, &pools, &p);
		assert_int_equal(p.nowners, 1);
		if (strcmp(p.owners[0].owner, cases[i].want))
			fail_msg("case %zu (%s at 0x%llx, %llu bytes): %s, want %s", i, cases[i].lib,
				 (unsigned long long)cases[i].start, (unsigned long long)cases[i].size, p.owners[0].owner,
				 cases[i].want);
		assert_int_equal(p.owners[0].bytes, cases[i].size);
		assert_true(strlen(p.owners[0].how) > 10);
		assert_int_equal(sum(&p), p.rss);
		hs_smaps_free(&s);
	}

	/* A mapping the program named: its name, whatever else is mapped. */
	char *text = NULL;
	size_t len = 0;
	entry(&text, &len, 0x400000, 0x401000, "r-xp", "/usr/bin/python3.13", 4);
	entry(&text, &len, 0x7f0000000000ull, 0x7f0000400000ull, "rw-p", "[anon:cpython:pymalloc]", 4096);
	entry(&text, &len, 0x7f0000500000ull, 0x7f0000600000ull, "rw-p", "[anon:cpython:pymalloc]", 1024);
	struct hs_smaps s;
	hs_smaps_parse(text, &s);
	free(text);
	struct hs_process p;
	hs_process_build(&s, NULL, NULL, NULL, &p);
	const struct hs_owner *o = owner(&p, "[anon:cpython:pymalloc]");
	assert_non_null(o);
	assert_int_equal(o->bytes, 5 * MiB);
	assert_int_equal(o->regions, 2);
	assert_string_equal(p.runtime, "Python 3.13");
	assert_int_equal(p.nregions, 2);
	assert_int_equal(p.regions[0].rss, 4 * MiB); /* largest first */
	hs_smaps_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_owners),
		cmocka_unit_test(test_obmalloc_by_content),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
