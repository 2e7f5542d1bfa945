/* fuzz_replay.c - libFuzzer target over the reference core: any text is
 * parsed as a trace and played by every modelled version and word size;
 * the core's image is then read by arenas, walk, bins and census. Nothing
 * may crash, and a heap the core built must read back with no warning and
 * with the census equal to the core's own bookkeeping: a warning is a bug
 * in the model or in a reader, so it aborts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_stages.h"
#include "refcore/refcore_image.h"
#include "refcore/replay.h"

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
		struct fz_run r;
		bool read = fz_read(&ri.im.src, &ri.sym, &ri.task, &r);
		if (!read && (r.err.code || r.h.malloc_initialised))
			abort(); /* the core's own heap must always be readable */
		if (read) {
			struct hs_refcore_stats s;
			hs_refcore_stats(rc, &s);
			const struct hs_counts *k = &r.c.totals;
			if (k->in_use.bytes != s.in_use_bytes || k->bin.bytes != s.bin_bytes ||
			    k->tcache.bytes != s.tcache_bytes || k->fast.bytes != s.fast_bytes ||
			    k->top_bytes != s.top_size || k->system_bytes != s.system_mem) {
				fprintf(stderr, "glibc 2.%d/%u: census differs from the core\n", vminor, size_sz);
				abort();
			}
		}
		if (r.w.n) {
			fprintf(stderr, "glibc 2.%d/%u: %s\n", vminor, size_sz, r.w.v[0]);
			abort();
		}
		fz_free(&r);
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
