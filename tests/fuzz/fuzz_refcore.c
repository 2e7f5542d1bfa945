/* fuzz_refcore.c - libFuzzer target over heaps the reference core builds.
 *
 * The input is a program and a mutation: byte 0 picks the glibc version,
 * byte 1 the word size; then pairs (op, arg) drive the core's malloc,
 * free, realloc, calloc, memalign and malloc_trim until a 0xff byte; the
 * rest are (offset, xor) triples applied to the image of the heap and of
 * malloc_state. The stages after `target` (arenas, walk, lists, census,
 * diagnosis, --compare, every renderer) must never crash, hang or read
 * out of bounds on any of them, and:
 *   - unmutated, the heap must read back with no warning and exactly as
 *     the core's own bookkeeping has it (a differential check);
 *   - mutated, an arena whose bytes do not add up must come with a
 *     warning (corruption is flagged, never reported as sane numbers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/compare.h"
#include "analysis/diagnose.h"
#include "fuzz_stages.h"
#include "refcore/refcore.h"
#include "refcore/refcore_image.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define MAX_LIVE 256

static const int versions[] = {31, 36, 41, 43};

/* Request sizes: tiny to above the mmap threshold, biased small. */
static uint64_t size_of(unsigned char a, unsigned char b)
{
	switch (a & 7) {
	case 0: case 1: case 2: return a >> 3;                     /* 0..31 */
	case 3: case 4: return 32 + (uint64_t)b * 4;                 /* small */
	case 5: return 1024 + (uint64_t)b * 64;                      /* large */
	case 6: return 8192 + (uint64_t)b * 512;                     /* big */
	default: return 128 * 1024 + (uint64_t)b * 4096;             /* mmapped */
	}
}

static void run_program(struct hs_refcore *rc, const unsigned char *p, size_t n, size_t *used)
{
	uint64_t live[MAX_LIVE] = {0};
	size_t i = 0;
	for (; i + 2 < n && p[i] != 0xff; i += 3) {
		unsigned op = p[i] % 6, slot = p[i + 1] % MAX_LIVE;
		uint64_t sz = size_of(p[i + 1], p[i + 2]);
		switch (op) {
		case 0: case 1:
			if (!live[slot])
				live[slot] = hs_refcore_malloc(rc, sz);
			break;
		case 2:
			if (live[slot]) {
				hs_refcore_free(rc, live[slot]);
				live[slot] = 0;
			}
			break;
		case 3:
			if (live[slot])
				live[slot] = hs_refcore_realloc(rc, live[slot], sz);
			break;
		case 4:
			if (!live[slot])
				live[slot] = p[i + 2] & 1 ? hs_refcore_calloc(rc, 1 + (p[i + 2] >> 5), sz)
							  : hs_refcore_memalign(rc, 16ull << (p[i + 2] >> 5), sz);
			break;
		default:
			hs_refcore_trim(rc, (uint64_t)p[i + 2] << 8);
			break;
		}
		if (hs_refcore_error(rc))
			break;
	}
	*used = i < n && p[i] == 0xff ? i + 1 : i;
}

/* Applies (offset hi, offset lo, xor) triples to the heap and the arena. */
static size_t mutate(struct hs_image *im, const unsigned char *p, size_t n)
{
	size_t applied = 0;
	for (size_t i = 0; i + 2 < n; i += 3) {
		struct hs_image_region *r = &im->v[(size_t)p[i] % im->n];
		if (!r->len || !p[i + 2])
			continue;
		size_t off = (((size_t)p[i] << 8 | p[i + 1]) * 7919u) % r->len;
		r->bytes[off] ^= p[i + 2];
		applied++;
	}
	return applied;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 2)
		return -1;
	struct hs_refcore_cfg cfg = {.vmajor = 2, .vminor = versions[data[0] % (sizeof versions / sizeof *versions)], .size_sz = data[1] & 1 ? 4 : 8};
	struct hs_refcore *rc = hs_refcore_new(&cfg);
	if (!rc)
		return -1;
	size_t used;
	run_program(rc, data + 2, size - 2, &used);
	if (hs_refcore_error(rc)) { /* a program glibc would abort on: not an image */
		hs_refcore_destroy(rc);
		return -1;
	}
	struct hs_refcore_stats st;
	hs_refcore_stats(rc, &st);
	struct hs_refcore_image ri;
	hs_refcore_image_build(rc, &ri);
	size_t mutations = mutate(&ri.im, data + 2 + used, size - 2 - used);

	struct fz_run r;
	if (fz_read(&ri.im.src, &ri.sym, &ri.task, &r)) {
		struct hs_census *c = &r.c;
		const struct hs_warnings *w = &r.w;
		c->exe = "fuzz";
		c->arch = cfg.size_sz == 8 ? "x86_64" : "i386";
		c->consistent = true;
		struct hs_compare cmp;
		hs_compare_build(c, &cmp, &r.w);
		struct hs_diagnosis d;
		hs_diagnose(c, NULL, &d);
		d.compare = &cmp;
		fz_report_all(c, &d);
		for (size_t i = 0; i < c->narenas; i++) {
			const struct hs_counts *k = &c->arenas[i].c;
			if (k->in_use.bytes + k->free.bytes + k->top_bytes + k->overhead_bytes != k->system_bytes &&
			    !w->n && !w->dropped) {
				fprintf(stderr, "arena %zu does not add up and no warning says so\n", i);
				abort();
			}
		}
		if (!mutations) {
			/* The core's heap read back exactly as the core keeps it. */
			const struct hs_counts *t = &c->totals;
			if (w->n || t->system_bytes != st.system_mem || t->top_bytes != st.top_size ||
			    t->tcache.chunks != st.tcache_chunks || t->tcache.bytes != st.tcache_bytes ||
			    t->fast.chunks != st.fast_chunks || t->fast.bytes != st.fast_bytes ||
			    t->bin.chunks != st.bin_chunks || t->bin.bytes != st.bin_bytes ||
			    t->mmapped.chunks != st.mmapped_chunks || cmp.misplaced_total) {
				fprintf(stderr, "glibc 2.%d: heapscope read the core's heap differently (%zu warnings%s%s)\n",
					cfg.vminor, w->n, w->n ? ": " : "", w->n ? w->v[0] : "");
				abort();
			}
		}
		hs_compare_free(&cmp);
	}
	fz_free(&r);
	hs_refcore_image_free(&ri);
	hs_refcore_destroy(rc);
	return 0;
}
