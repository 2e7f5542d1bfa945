/* test_report.c - the renderers on a census built by hand: malloc_stats and
 * malloc_info text exactly as glibc's format strings give it for the same
 * numbers (2.36, and 2.43 without fastbins), the unsigned-int wrap of
 * malloc_stats above 4 GiB, the JSON object read back with cJSON, the
 * text report's shape, the size formatter and the verdicts.
 *
 * The renderers only format: their input is typed in below and each
 * expected text is derived by hand from glibc's own code (the derivations
 * are written next to them). What these tests do not prove: that a real
 * heap gives these census numbers, or that glibc prints exactly this for
 * them; tests/e2e/exact.sh compares heapscope's output with glibc's own
 * malloc_stats()/malloc_info()/mallinfo2, byte for byte, on live heaps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "analysis/diagnose.h"
#include "report/prometheus.h"
#include "report/render.h"
#include "report/report.h"

/* Everything a census points to, in one place. */
struct fixture {
	struct hs_symbols sym;
	struct hs_heap heap;
	struct hs_arena arenas[2];
	struct hs_heapseg heaps0[1], heaps1[2];
	struct hs_arena_bins abins[2];
	struct hs_thread threads[2];
	struct hs_thread_bins tbins[2];
	struct hs_arena_census ac[2];
	struct hs_thread_census tc[2];
	struct hs_warnings warn;
	struct hs_index index;
	struct hs_chunk chunks[2];
	uint64_t nodes_fast[3], nodes_tc[2];
	struct hs_census c;
};

static void binstat(struct hs_binstat *s, uint64_t count, uint64_t raw_min, uint64_t raw_max, uint64_t raw_total)
{
	s->count = count;
	s->raw_min = raw_min;
	s->raw_max = raw_max;
	s->raw_total = raw_total;
	s->bytes = raw_total - count; /* every test chunk has PREV_INUSE set */
	s->head = raw_min & ~7ull;
}

/* Two arenas on glibc 2.36 x86_64:
 *   arena 0 (main): system 135168, top 100000; fastbin 1: 3 x 48;
 *     unsorted 0x91 + 0x211; small bin 5: one 0x51; large bin 70: 0x1001 + 0x1401
 *   arena 1: two heaps (135168 / 135168, 65536 / 69632), system 200704,
 *     max 266240, top 4992; small bin 2: four 0x21
 *   mp_: 2 mmapped chunks, 270336 bytes; max 3 regions, 400000 bytes. */
static struct fixture *fixture_new(int vminor)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct hs_layout *l = &f->sym.layout;
	l->size_sz = 8;
	l->align = 16;
	l->vmajor = 2;
	l->vminor = vminor;
	l->nfastbins = vminor >= 43 ? 0 : 10;
	l->nbins = 128;
	l->tc_nbins = 64;
	f->sym.method = "dwarf";
	snprintf(f->sym.version, sizeof f->sym.version, "2.%d", vminor);
	f->sym.main_arena = 0x7f0000001000;
	f->sym.mp = 0x7f0000000800;

	f->heap.layout = l;
	f->heap.mp = (struct hs_mp){.trim_threshold = 131072, .mmap_threshold = 131072, .n_mmaps = 2,
				    .max_n_mmaps = 3, .mmapped_mem = 270336, .max_mmapped_mem = 400000,
				    .sbrk_base = 0x555500000000};
	f->heap.malloc_initialised = true;
	f->heap.arenas = f->arenas;
	f->heap.narenas = 2;
	f->heap.threads = f->threads;
	f->heap.nthreads = 2;

	struct hs_arena *a0 = &f->arenas[0], *a1 = &f->arenas[1];
	*a0 = (struct hs_arena){.index = 0, .main = true, .addr = 0x7f0000001000, .system_mem = 135168,
				.max_system_mem = 135168, .heaps = f->heaps0, .nheaps = 1, .initialised = true};
	f->heaps0[0] = (struct hs_heapseg){.base = 0x555500000000, .start = 0x555500000000, .end = 0x555500021000,
					   .size = 135168, .mprotect_size = 135168};
	*a1 = (struct hs_arena){.index = 1, .addr = 0x7e0000000030, .system_mem = 200704, .max_system_mem = 266240,
				.heaps = f->heaps1, .nheaps = 2, .initialised = true};
	f->heaps1[0] = (struct hs_heapseg){.info = 0x7e0000000000, .base = 0x7e0000000000, .start = 0x7e00000008e0,
					   .end = 0x7e0000021000, .size = 135168, .mprotect_size = 135168};
	f->heaps1[1] = (struct hs_heapseg){.info = 0x7e0004000000, .base = 0x7e0004000000, .start = 0x7e0004000030,
					   .end = 0x7e0004010000, .size = 65536, .mprotect_size = 69632};

	struct hs_arena_bins *b0 = &f->abins[0], *b1 = &f->abins[1];
	b0->fast[1] = (struct hs_binstat){.count = 3, .bytes = 144, .raw_total = 147, .raw_min = 49, .raw_max = 49,
					  .head = 48, .nodes = f->nodes_fast};
	f->nodes_fast[0] = 0x555500000400;
	f->nodes_fast[1] = 0x555500000430;
	f->nodes_fast[2] = 0x555500000460;
	binstat(&b0->bin[1], 2, 0x91, 0x211, 0x91 + 0x211);
	binstat(&b0->bin[5], 1, 0x51, 0x51, 0x51);
	binstat(&b0->bin[70], 2, 0x1001, 0x1401, 0x1001 + 0x1401);
	binstat(&b1->bin[2], 4, 0x21, 0x21, 4 * 0x21);

	f->threads[0] = (struct hs_thread){.tid = 100, .arena_addr = a0->addr, .arena = 0,
					   .tcache = {.addr = 0x555500000010, .nbins = 64}};
	f->threads[1] = (struct hs_thread){.tid = 101, .arena_addr = a1->addr, .arena = 1, .in_malloc = true,
					   .malloc_fn = "_int_free", .tcache = {.addr = 0x7e00000008f0, .nbins = 64}};
	f->tbins[0].tc[0] = (struct hs_binstat){.count = 2, .bytes = 64, .nodes = f->nodes_tc};
	f->tbins[0].chunks = 2;
	f->tbins[0].bytes = 64;
	f->nodes_tc[0] = 0x555500000500;
	f->nodes_tc[1] = 0x555500000520;

	/* Classified bytes: arena 0 = 135168 = in use 24992 + free 10176 (tcache
	 * 64, fast 144, bins 672 + 80 + 9216 = 9968) + top 100000; arena 1 =
	 * 200704 = in use 193296 + free 128 + top 4992 + overhead 2288. */
	struct hs_arena_census *c0 = &f->ac[0], *c1 = &f->ac[1];
	c0->arena = a0;
	c0->bins = b0;
	c0->c = (struct hs_counts){.in_use = {300, 24992}, .free = {10, 10176}, .tcache = {2, 64}, .fast = {3, 144},
				   .bin = {5, 9968}, .system_bytes = 135168, .top_bytes = 100000};
	/* int_mallinfo: avail = top + fastbins + bins (tcache counts as in use) */
	c0->mi = (struct hs_mallinfo2){.arena = 135168, .ordblks = 6, .smblks = 3, .hblks = 2, .hblkhd = 270336,
				       .fsmblks = 144, .uordblks = 135168 - 110112, .fordblks = 110112,
				       .keepcost = 100000};
	c1->arena = a1;
	c1->bins = b1;
	c1->c = (struct hs_counts){.in_use = {500, 193296}, .free = {4, 128}, .bin = {4, 128}, .system_bytes = 200704,
				   .top_bytes = 4992, .overhead_bytes = 2288};
	c1->mi = (struct hs_mallinfo2){.arena = 200704, .ordblks = 5, .uordblks = 200704 - 5120, .fordblks = 5120};

	f->tc[0] = (struct hs_thread_census){.thread = &f->threads[0], .bins = &f->tbins[0], .tcache = {2, 64}};
	f->tc[1] = (struct hs_thread_census){.thread = &f->threads[1], .bins = &f->tbins[1]};

	f->chunks[0] = (struct hs_chunk){.addr = 0x555500008d60, .size = 100000, .arena = 0, .apparent = HS_ST_TOP};
	f->chunks[1] = (struct hs_chunk){.addr = 0x7d0000000000, .size = 135168, .arena = -1, .apparent = HS_ST_MMAPPED};
	f->index.chunks = f->chunks;
	f->index.nchunks = 2;

	struct hs_census *c = &f->c;
	c->pid = 4242;
	c->exe = "/usr/bin/victim";
	c->arch = "x86_64";
	c->sym = &f->sym;
	c->heap = &f->heap;
	c->index = &f->index;
	c->stopped_ms = 1.5;
	c->total_ms = 20.25;
	c->consistent = true;
	c->arenas = f->ac;
	c->narenas = 2;
	c->threads = f->tc;
	c->nthreads = 2;
	c->totals = (struct hs_counts){.in_use = {800, 218288}, .free = {14, 10304}, .tcache = {2, 64},
				       .fast = {3, 144}, .bin = {9, 10096}, .mmapped = {2, 270336},
				       .system_bytes = 335872, .top_bytes = 104992, .overhead_bytes = 2288};
	c->hist[0] = (struct hs_hist_row){.min = 0, .max = 63, .in_use = {10, 320}, .free = {6, 192}};
	c->nhist = 1;
	c->mallinfo2 = (struct hs_mallinfo2){.arena = 335872, .ordblks = 11, .smblks = 3, .hblks = 2,
					     .hblkhd = 270336, .fsmblks = 144, .uordblks = 220640,
					     .fordblks = 115232, .keepcost = 100000};
	c->warnings = &f->warn;
	return f;
}

/* Runs a renderer into a string. */
#define RENDER(buf, call)                                                    \
	do {                                                                 \
		size_t len_;                                                 \
		FILE *out = open_memstream(&(buf), &len_);                   \
		assert_non_null(out);                                        \
		call;                                                        \
		fclose(out);                                                 \
	} while (0)

/* glibc 2.36's __malloc_stats (malloc.c): in_use_b = system_b =
 * (unsigned int) mp_.mmapped_mem; per arena in ring order, from its
 * int_mallinfo: "Arena %d:", "system bytes     = %10u" (mi.arena), "in use
 * bytes     = %10u" (mi.uordblks), each added to the totals; then "Total
 * (incl. mmap):", system_b, in_use_b, "max mmap regions = %10u"
 * (mp_.max_n_mmaps), "max mmap bytes   = %10lu" (mp_.max_mmapped_mem).
 * With the fixture's numbers:
 *   arena 0: arena 135168, uordblks 135168 - 110112 = 25056
 *   arena 1: arena 200704, uordblks 200704 - 5120 = 195584
 *   system: 270336 + 135168 + 200704 = 606208
 *   in use: 270336 + 25056 + 195584 = 490976
 *   max mmap regions 3, max mmap bytes 400000 */
static void test_malloc_stats_236(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(36);
	char *s = NULL;
	RENDER(s, hs_report_malloc_stats(out, &f->c));
	assert_string_equal(s, "Arena 0:\n"
			       "system bytes     =     135168\n"
			       "in use bytes     =      25056\n"
			       "Arena 1:\n"
			       "system bytes     =     200704\n"
			       "in use bytes     =     195584\n"
			       "Total (incl. mmap):\n"
			       "system bytes     =     606208\n"
			       "in use bytes     =     490976\n"
			       "max mmap regions =          3\n"
			       "max mmap bytes   =     400000\n");
	free(s);
	free(f);
}

/* glibc's totals are unsigned int: above 4 GiB they wrap, and the report
 * must wrap the same way. By hand, modulo 2^32:
 *   arena 0x140000000 -> 0x40000000 = 1073741824; uordblks 0x100000010 -> 16
 *   system 0x80000000 + 0x40000000 = 0xc0000000 = 3221225472
 *   in use 0x80000000 + 0x10 = 2147483664
 *   max mmap bytes: %lu of a 64-bit unsigned long, 0x180000000 = 6442450944 */
static void test_malloc_stats_wraps(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(36);
	f->c.narenas = 1;
	f->ac[0].mi.arena = 0x140000000ull;       /* 5 GiB */
	f->ac[0].mi.uordblks = 0x100000010ull;    /* 4 GiB + 16 */
	f->heap.mp.mmapped_mem = 0x80000000ull;   /* 2 GiB */
	f->heap.mp.max_mmapped_mem = 0x180000000ull; /* %lu: not truncated */
	char *s = NULL;
	RENDER(s, hs_report_malloc_stats(out, &f->c));
	assert_string_equal(s, "Arena 0:\n"
			       "system bytes     = 1073741824\n"
			       "in use bytes     =         16\n"
			       "Total (incl. mmap):\n"
			       "system bytes     = 3221225472\n"
			       "in use bytes     = 2147483664\n"
			       "max mmap regions =          3\n"
			       "max mmap bytes   = 6442450944\n");
	free(s);
	free(f);
}

/* glibc 2.36's __malloc_info (malloc.c), per arena:
 *   fastbins: for bin i with chunks, from = chunksize - (MALLOC_ALIGNMENT - 1),
 *     to = chunksize, total = count * to. Arena 0's fastbin 1: 3 x 48:
 *     from 33, to 48, total 144, count 3.
 *   bins 1 .. 127: from/to the least/largest chunksize_nomask (flag bits
 *     kept), total their sum. Arena 0: bin 5 one 0x51 (81 81 81 1); bin 70
 *     0x1001 + 0x1401 (4097 5121 9218 2); unsorted (bin 1) 0x91 + 0x211
 *     (145 529 674 2), printed last as <unsorted>. Arena 1: bin 2 four 0x21
 *     (33 33 132 4).
 *   "fast" total: the fastbin chunks and bytes (3, 144; 0, 0).
 *   "rest": nblocks = 1 (top) + bin chunks, avail = chunksize(top) + bin
 *     totals. Arena 0: 1 + 5 = 6, 100000 + 674 + 81 + 9218 = 109973.
 *     Arena 1: 1 + 4 = 5, 4992 + 132 = 5124.
 *   system current/max: system_mem / max_system_mem. aspace: main arena
 *     total = mprotect = system_mem (135168); other arenas, over their
 *     heap_infos: total = sum of size (135168 + 65536 = 200704), mprotect
 *     = sum of mprotect_size (135168 + 69632 = 204800), subheaps 2.
 * Then for the process: fast 3 144; rest 6 + 5 = 11, 109973 + 5124 =
 * 115097; mmap mp_.n_mmaps 2, mp_.mmapped_mem 270336; system current
 * 135168 + 200704 = 335872, max 135168 + 266240 = 401408; aspace total
 * 335872, mprotect 135168 + 204800 = 339968. */
static const char minfo_236[] =
	"<malloc version=\"1\">\n"
	"<heap nr=\"0\">\n<sizes>\n"
	"  <size from=\"33\" to=\"48\" total=\"144\" count=\"3\"/>\n"
	"  <size from=\"81\" to=\"81\" total=\"81\" count=\"1\"/>\n"
	"  <size from=\"4097\" to=\"5121\" total=\"9218\" count=\"2\"/>\n"
	"  <unsorted from=\"145\" to=\"529\" total=\"674\" count=\"2\"/>\n"
	"</sizes>\n"
	"<total type=\"fast\" count=\"3\" size=\"144\"/>\n"
	"<total type=\"rest\" count=\"6\" size=\"109973\"/>\n"
	"<system type=\"current\" size=\"135168\"/>\n"
	"<system type=\"max\" size=\"135168\"/>\n"
	"<aspace type=\"total\" size=\"135168\"/>\n"
	"<aspace type=\"mprotect\" size=\"135168\"/>\n"
	"</heap>\n"
	"<heap nr=\"1\">\n<sizes>\n"
	"  <size from=\"33\" to=\"33\" total=\"132\" count=\"4\"/>\n"
	"</sizes>\n"
	"<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
	"<total type=\"rest\" count=\"5\" size=\"5124\"/>\n"
	"<system type=\"current\" size=\"200704\"/>\n"
	"<system type=\"max\" size=\"266240\"/>\n"
	"<aspace type=\"total\" size=\"200704\"/>\n"
	"<aspace type=\"mprotect\" size=\"204800\"/>\n"
	"<aspace type=\"subheaps\" size=\"2\"/>\n"
	"</heap>\n"
	"<total type=\"fast\" count=\"3\" size=\"144\"/>\n"
	"<total type=\"rest\" count=\"11\" size=\"115097\"/>\n"
	"<total type=\"mmap\" count=\"2\" size=\"270336\"/>\n"
	"<system type=\"current\" size=\"335872\"/>\n"
	"<system type=\"max\" size=\"401408\"/>\n"
	"<aspace type=\"total\" size=\"335872\"/>\n"
	"<aspace type=\"mprotect\" size=\"339968\"/>\n"
	"</malloc>\n";

static void test_malloc_info_236(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(36);
	char *s = NULL;
	RENDER(s, hs_report_malloc_info(out, &f->c));
	assert_string_equal(s, minfo_236);
	free(s);
	free(f);
}

/* 2.31 prints the same text (only the fastbin links differ in memory). */
static void test_malloc_info_231(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(31);
	char *s = NULL;
	RENDER(s, hs_report_malloc_info(out, &f->c));
	assert_string_equal(s, minfo_236);
	free(s);
	free(f);
}

/* 2.43 has no fastbins: no "fast" totals, per heap or overall. */
static void test_malloc_info_243(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(43);
	char *s = NULL;
	RENDER(s, hs_report_malloc_info(out, &f->c));
	assert_null(strstr(s, "fast"));
	assert_null(strstr(s, "from=\"33\" to=\"48\""));
	assert_non_null(strstr(s, "<heap nr=\"0\">\n<sizes>\n"
				  "  <size from=\"81\" to=\"81\" total=\"81\" count=\"1\"/>\n"));
	assert_non_null(strstr(s, "  <unsorted from=\"145\" to=\"529\" total=\"674\" count=\"2\"/>\n"
				  "</sizes>\n<total type=\"rest\" count=\"6\" size=\"109973\"/>\n"));
	assert_non_null(strstr(s, "</heap>\n<total type=\"rest\" count=\"11\" size=\"115097\"/>\n"
				  "<total type=\"mmap\" count=\"2\" size=\"270336\"/>\n"));
	free(s);
	free(f);
}

static cJSON *get(const cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!v)
		fail_msg("missing JSON field \"%s\"", k);
	return v;
}

static double num(const cJSON *o, const char *k)
{
	cJSON *v = get(o, k);
	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static cJSON *render_json(struct fixture *f, const struct hs_report_opts *o, char **text)
{
	struct hs_diagnosis d;
	hs_diagnose(&f->c, NULL, &d);
	RENDER(*text, hs_report_json(out, &f->c, &d, o));
	cJSON *root = cJSON_Parse(*text);
	assert_non_null(root);
	return root;
}

static void test_json_fields(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(36);
	struct hs_report_opts o = {.format = HS_FMT_JSON};
	char *text = NULL;
	cJSON *root = render_json(f, &o, &text);
	assert_null(strchr(text, '\t')); /* not pretty */
	assert_string_equal(get(root, "schema")->valuestring, "heapscope/1");

	static const char *const top[] = {"target", "symbols", "snapshot", "totals", "arenas", "threads",
					  "histogram", "mallinfo2", "diagnosis", "pins", "types", "warnings"};
	for (size_t i = 0; i < HS_ARRAY_SIZE(top); i++)
		get(root, top[i]);
	assert_null(cJSON_GetObjectItem(root, "leaks"));  /* only with --leaks */
	assert_null(cJSON_GetObjectItem(root, "chunks")); /* only with --chunks */

	cJSON *t = get(root, "target");
	assert_int_equal(num(t, "pid"), 4242);
	assert_string_equal(get(t, "glibc")->valuestring, "2.36");
	assert_int_equal(num(t, "threads"), 2);
	cJSON *s = get(root, "symbols");
	assert_string_equal(get(s, "source")->valuestring, "dwarf");
	assert_true(cJSON_IsNull(get(s, "debuginfo")));
	assert_string_equal(get(s, "main_arena")->valuestring, "0x7f0000001000");
	assert_true(cJSON_IsBool(get(get(root, "snapshot"), "consistent")));

	/* Totals and arenas: each JSON name carries the census field it names.
	 * The renderer copies, it does not add: so the oracle is the number
	 * typed into that census field (fixture_new), field by field. The
	 * numbers are distinct (but tcache_chunks == mmapped_chunks == 2), so
	 * two names swapped are caught. Adding the arenas up, or checking
	 * JSON.md's invariants on the output, would only re-check the
	 * fixture's arithmetic: exact.sh checks those on real heaps. */
	static const char *const tf[] = {"system_bytes", "in_use_bytes", "in_use_chunks", "free_bytes",
					 "free_chunks", "tcache_bytes", "tcache_chunks", "fastbin_bytes",
					 "fastbin_chunks", "bin_bytes", "bin_chunks", "top_bytes",
					 "overhead_bytes", "mmapped_bytes", "mmapped_chunks"};
	static const double want[3][HS_ARRAY_SIZE(tf)] = {
		/* totals */ {335872, 218288, 800, 10304, 14, 64, 2, 144, 3, 10096, 9, 104992, 2288, 270336, 2},
		/* arena 0 */ {135168, 24992, 300, 10176, 10, 64, 2, 144, 3, 9968, 5, 100000, 0, -1, -1},
		/* arena 1 */ {200704, 193296, 500, 128, 4, 0, 0, 0, 0, 128, 4, 4992, 2288, -1, -1},
	};
	cJSON *tot = get(root, "totals");
	cJSON *arenas = get(root, "arenas");
	assert_int_equal(cJSON_GetArraySize(arenas), 2);
	for (int o = 0; o < 3; o++) {
		cJSON *obj = o == 0 ? tot : cJSON_GetArrayItem(arenas, o - 1);
		for (size_t i = 0; i < HS_ARRAY_SIZE(tf); i++) {
			if (want[o][i] < 0) {
				assert_null(cJSON_GetObjectItem(obj, tf[i])); /* mmapped: process-wide only */
				continue;
			}
			if (num(obj, tf[i]) != want[o][i])
				fail_msg("%s.%s is %.0f, the census has %.0f", o ? "arena" : "totals", tf[i],
					 num(obj, tf[i]), want[o][i]);
		}
	}
	assert_null(cJSON_GetObjectItem(tot, "trimmable_bytes")); /* no residency read */
	cJSON *a;
	cJSON_ArrayForEach(a, arenas) {
		assert_true(cJSON_IsString(get(a, "address")));
		assert_true(cJSON_IsBool(get(a, "main")));
		cJSON *bins = get(a, "bins");
		static const char *const bf[] = {"tcache", "fast", "small", "large"};
		for (size_t i = 0; i < HS_ARRAY_SIZE(bf); i++)
			assert_true(cJSON_IsArray(get(bins, bf[i])));
		assert_true(cJSON_IsObject(get(bins, "unsorted")));
	}
	cJSON *a0 = cJSON_GetArrayItem(arenas, 0), *a1 = cJSON_GetArrayItem(arenas, 1);
	assert_int_equal(cJSON_GetArraySize(get(a1, "heaps")), 2);
	assert_int_equal(num(cJSON_GetArrayItem(get(a1, "heaps"), 1), "size"), 65536);
	cJSON *fast = cJSON_GetArrayItem(get(get(a0, "bins"), "fast"), 0);
	assert_int_equal(num(fast, "size"), 48);
	assert_int_equal(num(fast, "count"), 3);
	cJSON *large = cJSON_GetArrayItem(get(get(a0, "bins"), "large"), 0);
	assert_int_equal(num(large, "size"), 0x1000);
	assert_int_equal(num(large, "size_max"), 0x1400);
	/* bins.tcache: the tcache of thread 100, attached to arena 0 */
	cJSON *tc = cJSON_GetArrayItem(get(get(a0, "bins"), "tcache"), 0);
	assert_int_equal(num(tc, "size"), 32);
	assert_int_equal(num(tc, "count"), 2);
	assert_int_equal(cJSON_GetArraySize(get(get(a1, "bins"), "tcache")), 0);

	cJSON *th = cJSON_GetArrayItem(get(root, "threads"), 1);
	assert_int_equal(num(th, "tid"), 101);
	assert_int_equal(num(th, "arena"), 1);
	assert_string_equal(get(th, "tcache")->valuestring, "0x7e00000008f0");
	assert_true(cJSON_IsTrue(get(th, "in_malloc")));

	cJSON *mi = get(root, "mallinfo2");
	assert_int_equal(num(mi, "uordblks"), 220640);
	assert_int_equal(num(mi, "hblkhd"), 270336);
	cJSON *d = get(root, "diagnosis");
	assert_true(cJSON_IsString(get(d, "verdict")));
	assert_true(cJSON_IsArray(get(d, "findings")));

	cJSON_Delete(root);
	free(text);
	free(f);
}

static void test_json_chunks_bins_pretty(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(36);
	f->sym.debuginfo[0] = '/';
	f->c.have_residency = true;
	f->c.totals.trimmable_bytes = 8192;
	f->c.totals.mmapped.bytes = 12345678901234567ull; /* beyond a double's 15 digits */
	hs_warn(&f->warn, "bad chunk at 0x%x", 0x1234);
	f->warn.dropped = 4;
	struct hs_report_opts o = {.format = HS_FMT_JSON, .pretty = true, .chunks = true, .bins = true};
	char *text = NULL;
	cJSON *root = render_json(f, &o, &text);
	assert_non_null(strchr(text, '\t'));
	assert_non_null(strstr(text, "12345678901234567")); /* written exactly */
	assert_string_equal(get(get(root, "symbols"), "debuginfo")->valuestring, "/");
	assert_int_equal(num(get(root, "totals"), "trimmable_bytes"), 8192);
	num(get(root, "totals"), "resident_free_bytes");

	cJSON *ch = get(root, "chunks");
	assert_int_equal(cJSON_GetArraySize(ch), 2);
	assert_string_equal(get(cJSON_GetArrayItem(ch, 0), "state")->valuestring, "top");
	assert_string_equal(get(cJSON_GetArrayItem(ch, 1), "state")->valuestring, "mmapped");
	assert_true(cJSON_IsNull(get(cJSON_GetArrayItem(ch, 1), "arena")));

	cJSON *bins = get(cJSON_GetArrayItem(get(root, "arenas"), 0), "bins");
	cJSON *nodes = get(cJSON_GetArrayItem(get(bins, "fast"), 0), "chunks");
	assert_int_equal(cJSON_GetArraySize(nodes), 3);
	assert_string_equal(cJSON_GetArrayItem(nodes, 2)->valuestring, "0x555500000460");
	nodes = get(cJSON_GetArrayItem(get(bins, "tcache"), 0), "chunks");
	assert_string_equal(cJSON_GetArrayItem(nodes, 1)->valuestring, "0x555500000520");

	cJSON *w = get(root, "warnings");
	assert_int_equal(cJSON_GetArraySize(w), 2);
	assert_string_equal(cJSON_GetArrayItem(w, 0)->valuestring, "bad chunk at 0x1234");
	assert_string_equal(cJSON_GetArrayItem(w, 1)->valuestring, "4 more warnings");
	cJSON_Delete(root);
	free(text);
	hs_warnings_free(&f->warn);
	free(f);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_text(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(36);
	struct hs_diagnosis d;
	hs_diagnose(&f->c, NULL, &d);
	struct hs_report_opts o = {.format = HS_FMT_TEXT};
	char *s = NULL;
	RENDER(s, hs_report(out, &f->c, &d, &o));
	/* the verdict leads */
	assert_int_equal(strncmp(s, d.verdict, strlen(d.verdict)), 0);
	assert_non_null(strstr(s, "pid 4242 (/usr/bin/victim)"));
	assert_non_null(strstr(s, "glibc 2.36 via dwarf"));
	assert_non_null(strstr(s, "stopped 1.5 ms"));
	assert_non_null(strstr(s, "inside _int_free"));
	assert_true(count_lines(s) < 40);
	free(s);

	o.chunks = o.bins = true;
	RENDER(s, hs_report(out, &f->c, &d, &o));
	assert_non_null(strstr(s, "0x555500008d60"));
	assert_non_null(strstr(s, " top "));
	assert_non_null(strstr(s, "arena 0 fastbin 1 (size 48): 3 chunks, 144 B\n"
				  "    0x555500000400 0x555500000430 0x555500000460\n"));
	free(s);
	free(f);
}

/* One of a thing is said in the singular (issue 15 item 5: "1 chunks",
 * "1 problems"); a replay (pid 0) names no process and no stop; a static
 * program's version that --glibc gave says so. */
static void test_text_singulars(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(36);
	f->c.totals.mmapped = (struct hs_tally){1, 135168};
	f->heap.mp.n_mmaps = 1;
	f->heap.mp.max_n_mmaps = 1;
	f->c.nthreads = 1;
	f->tc[0].tcache = (struct hs_tally){1, 32};
	f->tbins[0].chunks = 1;
	f->tbins[0].bytes = 32;
	hs_warn(&f->warn, "one thing looked wrong");
	f->c.consistent = false;
	struct hs_diagnosis d;
	hs_diagnose(&f->c, NULL, &d);
	struct hs_report_opts o = {.format = HS_FMT_TEXT};
	char *s = NULL;
	RENDER(s, hs_report(out, &f->c, &d, &o));
	assert_non_null(strstr(s, ", 1 thread\n"));
	assert_non_null(strstr(s, "mmapped: 1 chunk, 132.0 KiB (max 1 region,"));
	assert_non_null(strstr(s, "tcache 1 chunk 32 B"));
	assert_non_null(strstr(s, "1 problem found reading the heap"));
	assert_null(strstr(s, "1 chunks"));
	assert_null(strstr(s, "1 problems"));
	assert_null(strstr(s, "1 threads"));
	assert_null(strstr(s, "1 regions"));
	free(s);

	f->sym.version_given = true;
	RENDER(s, hs_report(out, &f->c, &d, &o));
	assert_non_null(strstr(s, "glibc 2.36 (as --glibc says) via dwarf"));
	free(s);

	f->c.pid = 0; /* replay */
	f->c.exe = "t.trace";
	RENDER(s, hs_report(out, &f->c, &d, &o));
	assert_non_null(strstr(s, "\ntrace t.trace, x86_64, glibc 2.36 as the reference core models it\n"
				  "no process (nothing stopped), total 20.2 ms\n"));
	assert_null(strstr(s, "pid 0"));
	assert_null(strstr(s, "stopped 0.0 ms"));
	free(s);
	hs_warnings_free(&f->warn);
	free(f);
}

static void test_fmt_size(void **state)
{
	(void)state;
	char b[HS_SIZE_BUF];
	assert_string_equal(hs_fmt_size(b, 0), "0 B");
	assert_string_equal(hs_fmt_size(b, 112), "112 B");
	assert_string_equal(hs_fmt_size(b, 1023), "1023 B");
	assert_string_equal(hs_fmt_size(b, 1024), "1.0 KiB");
	assert_string_equal(hs_fmt_size(b, 1536), "1.5 KiB");
	assert_string_equal(hs_fmt_size(b, 1048575), "1.0 MiB");
	assert_string_equal(hs_fmt_size(b, 2040109465), "1.9 GiB");
	assert_string_equal(hs_fmt_size(b, UINT64_MAX), "16.0 EiB");
}

static void test_diagnose(void **state)
{
	(void)state;
	struct hs_diagnosis d;
	struct fixture *f = fixture_new(36);
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "in-use"); /* no --leaks: live or leaked, not known */

	/* 1.9 GiB of holes in the main arena's bins, 112 B in use. */
	struct hs_counts k = {.in_use = {1, 112}, .free = {1000, 2000000000ull}, .bin = {1000, 2000000000ull},
			      .system_bytes = 2040000000ull, .top_bytes = 39999888ull};
	f->c.narenas = 1;
	f->ac[0].c = k;
	f->c.totals = k;
	f->c.totals.mmapped = (struct hs_tally){0, 0};
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "fragmented");
	assert_string_equal(d.summary, "1.9 GiB from the system, 112 B in use: 100.0% is holes glibc keeps; the in-use part "
				       "is live or leaked: run --leaks, or watch its growth");
	assert_true(d.nfindings >= 1);
	assert_string_equal(d.findings[0].kind, "holes");
	assert_non_null(strstr(d.findings[0].remedy, "malloc_trim(0)"));

	/* Most of it in the main arena's top chunk: trimmable. */
	k.free = k.bin = (struct hs_tally){10, 1000};
	k.top_bytes = k.system_bytes - 1112;
	f->ac[0].c = k;
	f->c.totals = k;
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "trimmable");

	f->heap.malloc_initialised = false;
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "empty");
	free(f);
}

/* --redact: what the bytes are, word by word, and none of them. */
static void test_describe_bytes(void **state)
{
	(void)state;
	char b[HS_DESCRIBE_BUF];
	struct hs_byte_run r[HS_REDACT_RUNS];
	/* a string, its NUL and zeros: "-token\0\0" is the end of a string,
	 * not an address (its value is below 2^47) */
	unsigned char s[32] = "hs-SECRET-7f3a9c-token";
	assert_string_equal(hs_describe_bytes(b, s, 32, 8), "32 B: text 22 B, zeros 10 B");
	assert_int_equal(hs_byte_runs(s, 32, 8, r), 2);
	assert_int_equal(r[0].kind, HS_BK_TEXT);
	assert_int_equal(r[0].bytes, 22);
	assert_string_equal(hs_byte_kind_name(r[1].kind), "zeros");
	/* a pointer, zeros, binary bytes, then text and binary in one word */
	unsigned char m[32] = {0xb0, 0x7e, 0x13, 0x7b, 0xd8, 0x55, 0, 0, /* 0x55d87b137eb0 */
			       0, 0, 0, 0, 0, 0, 0, 0,
			       0xff, 0xfe, 0x01, 0x80, 0x90, 0xa0, 0xb0, 0xc0,
			       'a', 'b', 0x00, 0x01, 'c', 'd', 'e', 0xff};
	assert_string_equal(hs_describe_bytes(b, m, 32, 8),
			    "32 B: pointer 8 B, zeros 8 B, binary 8 B, text 2 B, zeros 1 B, binary 1 B, text 3 B, binary 1 B");
	/* 4-byte words: a word of zeros and a pointer of 4 bytes; a tail
	 * shorter than a word is cut byte by byte */
	unsigned char w[11] = {0, 0, 0, 0, 0x10, 0x20, 0x55, 0x56, 'x', 'y', 0};
	assert_string_equal(hs_describe_bytes(b, w, 11, 4), "11 B: zeros 4 B, pointer 4 B, text 2 B, zeros 1 B");
	assert_string_equal(hs_describe_bytes(b, w, 0, 8), "0 B");
	/* more runs than are named: the last one is "mixed", and the lengths
	 * still add up */
	unsigned char x[32];
	for (int i = 0; i < 32; i++)
		x[i] = i % 2 ? 'q' : 0x80;
	size_t n = hs_byte_runs(x, 32, 8, r);
	assert_int_equal(n, HS_REDACT_RUNS);
	assert_int_equal(r[n - 1].kind, HS_BK_MIXED);
	unsigned total = 0;
	for (size_t i = 0; i < n; i++)
		total += r[i].bytes;
	assert_int_equal(total, 32);
	hs_describe_bytes(b, x, 32, 8);
	assert_non_null(strstr(b, ", mixed 25 B"));
	assert_int_equal(b[strlen(b) - 1], 'B'); /* not cut short */
}

static void test_redact_warning(void **state)
{
	(void)state;
	char *r = hs_redact_warning("tcache bin 3: 0x45524345532d7368 is not a chunk that list could hold; cut");
	assert_string_equal(r, "tcache bin 3: 0x(redacted) is not a chunk that list could hold; cut");
	free(r);
	/* addresses and sizes stay: up to 0x7fffffffffff, leading zeros aside */
	static const char keep[] = "arena 0: chunk 0x55d87b137eb0 has size field 0x7fffffffffff, 0x000000000041 0x0";
	r = hs_redact_warning(keep);
	assert_string_equal(r, keep);
	free(r);
	r = hs_redact_warning("0x800000000000 at the start, x0x900000000000000 inside a word, 0XFFFFFFFFFFFFFFFF");
	assert_string_equal(r, "0x(redacted) at the start, x0x900000000000000 inside a word, 0x(redacted)");
	free(r);
}

/* The renderers with --redact, on a pin, a leak suspect and a warning that
 * hold a secret: neither text nor JSON carries any byte of it. */
static void test_redacted_reports(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(36);
	static const char secret[] = "hs-SECRET-7f3a9c-token";
	hs_warn(&f->warn, "fastbin 2: 0x%llx is not a chunk that list could hold; cut", 0x45524345532d7368ull);
	struct hs_diagnosis d;
	hs_diagnose(&f->c, NULL, &d);
	struct hs_leak_suspect sp = {.addr = 0x555500000400, .size = 48, .npreview = 32};
	memcpy(sp.preview, secret, sizeof secret);
	struct hs_leaks l = {.chunks = 1, .bytes = 48, .suspects = &sp, .nsuspects = 1, .all = true};
	d.leaks = &l;
	d.npins = 1;
	memset(&d.pins[0], 0, sizeof d.pins[0]);
	d.pins[0].addr = 0x555500000500;
	d.pins[0].size = 112;
	d.pins[0].npreview = 32;
	memcpy(d.pins[0].preview, secret, sizeof secret);
	memcpy(&d.pins[0].first_word, secret, 8);
	static const char *const forms[] = {"SECRET", "68732d5345", "68 73 2d 53 45", "45532d7368"};
	for (int redact = 0; redact < 2; redact++)
		for (int json = 0; json < 2; json++) {
			struct hs_report_opts o = {.format = json ? HS_FMT_JSON : HS_FMT_TEXT, .redact = redact};
			char *s = NULL;
			RENDER(s, hs_report(out, &f->c, &d, &o));
			bool any = false;
			for (size_t i = 0; i < HS_ARRAY_SIZE(forms); i++)
				any = any || strcasestr(s, forms[i]);
			if (redact) {
				if (any)
					fail_msg("a form of the secret in the redacted %s report:\n%s", json ? "JSON" : "text", s);
				assert_non_null(strstr(s, "32 B: text 22 B, zeros 10 B"));
				assert_non_null(strstr(s, "0x(redacted) is not a chunk"));
			} else {
				assert_true(any); /* the forms are the ones that show */
				assert_null(strstr(s, "redacted"));
			}
			if (json && redact) {
				cJSON *root = cJSON_Parse(s);
				assert_non_null(root);
				assert_true(cJSON_IsTrue(get(root, "redacted")));
				cJSON *p = cJSON_GetArrayItem(get(root, "pins"), 0);
				assert_true(cJSON_IsNull(get(p, "preview")));
				assert_true(cJSON_IsNull(get(p, "first_word")));
				assert_int_equal(cJSON_GetArraySize(get(p, "preview_runs")), 2);
				cJSON *q = cJSON_GetArrayItem(get(get(root, "leaks"), "suspects"), 0);
				assert_true(cJSON_IsNull(get(q, "preview")));
				assert_string_equal(get(q, "preview_description")->valuestring, "32 B: text 22 B, zeros 10 B");
				cJSON_Delete(root);
			}
			free(s);
		}
	hs_warnings_free(&f->warn);
	free(f);
}

/* hs_prom_escape: OpenMetrics' escaped-string (openmetrics.io, ABNF:
 * normal-char is any UTF-8 character but \ " and newline; bs bs, bs dq
 * and bs "n" the three escapes), and U+FFFD for each byte that RFC 3629
 * does not allow where it stands. */
static void test_prom_escape(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"plain /usr/bin/x", "plain /usr/bin/x"},
		{"a\"b\\c\nd", "a\\\"b\\\\c\\nd"},
		{"tab\tcr\r", "tab\tcr\r"},                      /* allowed as they are */
		{"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"}, /* é € 😀 */
		{"x\xffy", "x\xef\xbf\xbdy"},                    /* never a UTF-8 byte */
		{"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},         /* overlong '/' */
		{"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong, 3 bytes */
		{"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate, U+D800 */
		{"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* U+110000 */
		{"end\xe2\x82", "end\xef\xbf\xbd\xef\xbf\xbd"},   /* cut short at the end */
		{"\xe2\x82\"", "\xef\xbf\xbd\xef\xbf\xbd\\\""},   /* cut short before a quote */
	};
	for (size_t i = 0; i < HS_ARRAY_SIZE(cases); i++) {
		char *s = NULL;
		RENDER(s, hs_prom_escape(out, cases[i].in));
		if (strcmp(s, cases[i].out) != 0)
			fail_msg("case %zu: '%s' escaped as '%s', not '%s'", i, cases[i].in, s, cases[i].out);
		free(s);
	}
}

/* hs_prom_seconds: the JSON's milliseconds in seconds. The oracle is
 * cJSON itself: the digits it prints for ms, times 10^-3, read by strtod,
 * are the double strtod reads from what hs_prom_seconds writes (the two
 * decimals are one number, so one correctly rounded double); and a few
 * written out by hand, cJSON's 15-digit choice among them (0.1 + 0.2 is
 * printed 0.3 by cJSON, so 0.0003 here). */
static void test_prom_seconds(void **state)
{
	(void)state;
	char buf[HS_PROM_SECONDS_BUF];
	static const struct {
		double ms;
		const char *s;
	} hand[] = {
		{1.5, "0.0015"}, {20.25, "0.02025"}, {0, "0"}, {3000, "3"}, {1500, "1.5"}, {0.5, "0.0005"},
		{1e-5, "0.00000001"}, {123456.789, "123.456789"}, {0.1 + 0.2, "0.0003"},
		{1.0000000000000007, "0.0010000000000000007"}, {1e300, "1e297"}, {-2.5, "-0.0025"},
		{17.184372, "0.017184372"},
	};
	for (size_t i = 0; i < HS_ARRAY_SIZE(hand); i++)
		if (strcmp(hs_prom_seconds(buf, hand[i].ms), hand[i].s) != 0)
			fail_msg("%.17g ms: '%s' s, not '%s'", hand[i].ms, buf, hand[i].s);
	assert_string_equal(hs_prom_seconds(buf, 0.0 / 0.0), "NaN");
	assert_string_equal(hs_prom_seconds(buf, 1.0 / 0.0), "+Inf");
	/* a spread of values, against cJSON's digits */
	double ms = 1e-7;
	for (int i = 0; i < 4000; i++, ms *= 1.0123456789) {
		cJSON *n = cJSON_CreateNumber(ms);
		char *t = cJSON_PrintUnformatted(n);
		char shifted[64], *e = strchr(t, 'e');
		int exp = 0;
		if (e) /* "1e-07": the exponent moves */
			exp = atoi(e + 1), *e = 0;
		snprintf(shifted, sizeof shifted, "%se%d", t, exp - 3);
		double want = strtod(shifted, NULL), got = strtod(hs_prom_seconds(buf, ms), NULL);
		if (want != got)
			fail_msg("%.17g ms: cJSON '%s' ms, heapscope '%s' s", ms, t, buf);
		cJSON_free(t);
		cJSON_Delete(n);
	}
}

/* The value written for series (its name and labels exactly as given), or
 * NULL when no line holds it. */
static char *prom_value(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strndup(p + n + 1, strcspn(p + n + 1, "\n"));
	return NULL;
}

/* The exposition of the fixture's census against its JSON report of the
 * same census: the series of totals, arenas, threads and mallinfo2 equal
 * the JSON's numbers, the timings too (1.5 and 20.25 ms: what the e2e
 * suite cannot compare between two snapshots); every family has HELP and
 * TYPE before its samples; "# EOF" ends it; the exe label is escaped; no
 * byte of a preview is in it, redacted or not. */
static void test_prometheus_equals_json(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(36);
	f->c.exe = "/opt/a\"b\\c\nd\xff/victim";
	f->c.max_stop_ms = 3000;
	f->c.predicted_stop_ms = 5.91552734375;
	struct hs_report_opts oj = {.format = HS_FMT_JSON}, op = {.format = HS_FMT_PROMETHEUS};
	char *jtext = NULL, *p = NULL;
	cJSON *root = render_json(f, &oj, &jtext);
	struct hs_diagnosis d;
	hs_diagnose(&f->c, NULL, &d);
	d.npins = 1; /* a pin holding a secret: none of it may show */
	memset(&d.pins[0], 0, sizeof d.pins[0]);
	d.pins[0].npreview = 16;
	memcpy(d.pins[0].preview, "hs-SECRET-7f3a9c", 16);
	RENDER(p, hs_report(out, &f->c, &d, &op));
	assert_null(strstr(p, "SECRET"));
	assert_null(strcasestr(p, "5345435245"));

	size_t len = strlen(p);
	assert_true(len > 6 && strcmp(p + len - 6, "# EOF\n") == 0);
	assert_int_equal(strstr(p, "# EOF"), p + len - 6); /* once, last */
	assert_non_null(strstr(p, "heapscope_target_info{pid=\"4242\",exe=\"/opt/a\\\"b\\\\c\\nd\xef\xbf\xbd/victim\","
				  "arch=\"x86_64\",glibc=\"2.36\",method=\"dwarf\"} 1\n"));

	/* every sample's family has its HELP and TYPE gauge before it */
	char *copy = strdup(p), *save = NULL, *help = NULL, *type = NULL;
	size_t samples = 0;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[128];
		if (sscanf(l, "# HELP %127s", name) == 1) {
			free(help);
			help = strdup(name);
		} else if (sscanf(l, "# TYPE %127s gauge", name) == 1) {
			free(type);
			type = strdup(name);
		} else if (l[0] != '#') {
			size_t n = strcspn(l, "{ ");
			if (!help || !type || strlen(help) != n || strncmp(l, help, n) || strcmp(help, type))
				fail_msg("'%s' without its HELP and TYPE (last: %s, %s)", l, help, type);
			samples++;
		}
	}
	free(copy);
	free(help);
	free(type);
	assert_true(samples > 50);

	/* JSON number -> series, one by one */
	static const char *const kinds[] = {"in_use", "tcache", "fastbin", "bin", "top", "overhead"};
	cJSON *tot = get(root, "totals");
	struct {
		const char *series;
		double json;
	} eq[64];
	size_t neq = 0;
	char names[64][96];
	for (size_t k = 0; k < HS_ARRAY_SIZE(kinds); k++) {
		char field[48];
		snprintf(names[neq], sizeof names[neq], "heapscope_heap_bytes{kind=\"%s\"}", kinds[k]);
		snprintf(field, sizeof field, "%s_bytes", kinds[k]);
		eq[neq].series = names[neq], eq[neq].json = num(tot, field), neq++;
		for (int a = 0; a < 2; a++) {
			cJSON *ar = cJSON_GetArrayItem(get(root, "arenas"), a);
			snprintf(names[neq], sizeof names[neq], "heapscope_arena_bytes{arena=\"%d\",kind=\"%s\"}", a,
				 kinds[k]);
			eq[neq].series = names[neq], eq[neq].json = num(ar, field), neq++;
		}
	}
	static const char *const singles[][2] = {
		{"heapscope_system_bytes", "system_bytes"},   {"heapscope_free_bytes", "free_bytes"},
		{"heapscope_free_chunks", "free_chunks"},     {"heapscope_mmapped_bytes", "mmapped_bytes"},
		{"heapscope_mmapped_chunks", "mmapped_chunks"},
	};
	for (size_t i = 0; i < HS_ARRAY_SIZE(singles); i++)
		eq[neq].series = singles[i][0], eq[neq].json = num(tot, singles[i][1]), neq++;
	eq[neq].series = "heapscope_thread_tcache_bytes{tid=\"100\"}";
	eq[neq++].json = num(cJSON_GetArrayItem(get(root, "threads"), 0), "tcache_bytes");
	eq[neq].series = "heapscope_mallinfo2_uordblks_bytes";
	eq[neq++].json = num(get(root, "mallinfo2"), "uordblks");
	eq[neq].series = "heapscope_mallinfo2_smblks";
	eq[neq++].json = num(get(root, "mallinfo2"), "smblks");
	for (size_t i = 0; i < neq; i++) {
		char *v = prom_value(p, eq[i].series);
		if (!v || strtod(v, NULL) != eq[i].json)
			fail_msg("%s is '%s', the JSON's %.0f", eq[i].series, v ? v : "(none)", eq[i].json);
		free(v);
	}
	/* the timings: the JSON's digits, the point moved three places */
	static const char *const times[][3] = {
		{"heapscope_snapshot_stop_seconds", "stopped_ms", "0.0015"},
		{"heapscope_snapshot_duration_seconds", "total_ms", "0.02025"},
		{"heapscope_snapshot_predicted_stop_seconds", "predicted_stop_ms", "0.00591552734375"},
		{"heapscope_snapshot_max_stop_seconds", "max_stop_ms", "3"},
	};
	for (size_t i = 0; i < HS_ARRAY_SIZE(times); i++) {
		char *v = prom_value(p, times[i][0]);
		char *j = cJSON_PrintUnformatted(get(get(root, "snapshot"), times[i][1]));
		char shifted[64];
		snprintf(shifted, sizeof shifted, "%se-3", j);
		if (!v || strcmp(v, times[i][2]) != 0 || strtod(v, NULL) != strtod(shifted, NULL))
			fail_msg("%s is '%s', the JSON's %s ms", times[i][0], v ? v : "(none)", j);
		free(v);
		cJSON_free(j);
	}
	char *v = prom_value(p, "heapscope_verdict_info{verdict=\"");
	assert_null(v); /* the series is the whole label set, not a prefix */
	char verdict[96];
	snprintf(verdict, sizeof verdict, "heapscope_verdict_info{verdict=\"%s\"}",
		 get(get(root, "diagnosis"), "verdict")->valuestring);
	v = prom_value(p, verdict);
	assert_non_null(v);
	assert_string_equal(v, "1");
	free(v);
	cJSON_Delete(root);
	free(jtext);
	free(p);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malloc_stats_236),
		cmocka_unit_test(test_malloc_stats_wraps),
		cmocka_unit_test(test_malloc_info_236),
		cmocka_unit_test(test_malloc_info_231),
		cmocka_unit_test(test_malloc_info_243),
		cmocka_unit_test(test_json_fields),
		cmocka_unit_test(test_json_chunks_bins_pretty),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_singulars),
		cmocka_unit_test(test_fmt_size),
		cmocka_unit_test(test_describe_bytes),
		cmocka_unit_test(test_redact_warning),
		cmocka_unit_test(test_redacted_reports),
		cmocka_unit_test(test_diagnose),
		cmocka_unit_test(test_prom_escape),
		cmocka_unit_test(test_prom_seconds),
		cmocka_unit_test(test_prometheus_equals_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
