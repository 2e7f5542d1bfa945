/* fuzz_replay.c - libFuzzer target over the reference core: any text is
 * parsed as a trace and played by every modelled version and word size;
 * the core's image is then read by arenas, walk, bins and census. Nothing
 * may crash, and a heap the core built must read back with no warning and
 * with the census equal to the core's own bookkeeping: a warning is a bug
 * in the model or in a reader, so it aborts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arenas.h"
#include "bins.h"
#include "census.h"
#include "refcore_image.h"
#include "replay.h"
#include "walk.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void play(const struct hs_trace *t, int vminor, unsigned size_sz)
{
	struct hs_refcore_cfg cfg = {2, vminor, size_sz, 0};
	struct hs_refcore *rc = hs_refcore_new(&cfg);
	struct hs_err err = {0};
	/* A trace glibc would abort on (double free) is refused: nothing to read. */
	if (hs_replay(rc, t, "fuzz", NULL, &err) == 0) {
		struct hs_refcore_image ri;
		hs_refcore_image_build(rc, &ri);
		struct hs_warnings w = {0};
		struct hs_heap h;
		struct hs_index ix;
		struct hs_bins b;
		struct hs_census c;
		memset(&ix, 0, sizeof ix);
		memset(&b, 0, sizeof b);
		memset(&c, 0, sizeof c);
		if (hs_arenas_read(&ri.im.src, &ri.sym, &ri.task, 1, &h, &w, &err) != 0)
			abort();
		if (h.malloc_initialised) {
			struct hs_walk_opts o = {.keep_chunks = true};
			if (hs_walk(&ri.im.src, &h, &o, &ix, &w, &err) != 0)
				abort();
			hs_bins_read(&h, &ix, true, &b, &w);
			hs_census_build(&h, &ix, &b, &c, &w);
			struct hs_refcore_stats s;
			hs_refcore_stats(rc, &s);
			if (c.totals.in_use.bytes != s.in_use_bytes || c.totals.bin.bytes != s.bin_bytes ||
			    c.totals.tcache.bytes != s.tcache_bytes || c.totals.fast.bytes != s.fast_bytes ||
			    c.totals.top_bytes != s.top_size || c.totals.system_bytes != s.system_mem) {
				fprintf(stderr, "glibc 2.%d/%u: census differs from the core\n", vminor, size_sz);
				abort();
			}
		}
		if (w.n) {
			fprintf(stderr, "glibc 2.%d/%u: %s\n", vminor, size_sz, w.v[0]);
			abort();
		}
		hs_census_free(&c);
		hs_bins_free(&b);
		hs_index_free(&ix);
		hs_heap_free(&h);
		hs_warnings_free(&w);
		hs_refcore_image_free(&ri);
	}
	hs_refcore_destroy(rc);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size > 20000)
		return -1;
	struct hs_trace t;
	struct hs_err err = {0};
	if (hs_trace_parse("fuzz", (const char *)data, size, &t, &err) != 0)
		return 0;
	/* Keep sizes where a run stays fast: a huge request only takes the
	 * mmap path, which small ones reach as well. */
	for (size_t i = 0; i < t.nops; i++) {
		t.ops[i].a %= 1u << 22;
		t.ops[i].b %= 1u << 22;
		if (t.ops[i].kind == HS_T_CALLOC)
			t.ops[i].a %= 64; /* N * SIZE stays below 256 MiB */
	}
	static const int versions[] = {31, 36, 41, 43};
	for (size_t v = 0; v < sizeof versions / sizeof versions[0]; v++)
		for (unsigned w = 4; w <= 8; w += 4)
			play(&t, versions[v], w);
	hs_trace_free(&t);
	return 0;
}
