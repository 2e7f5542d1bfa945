/* gentrace: a seeded random malloc trace (shared/DESIGN.md's format) for
 * proving the reference core against the real glibc (tests/e2e/replay.sh).
 *   usage: gentrace SEED NOPS > FILE
 *
 * Deterministic: the same SEED and NOPS give the same bytes on every
 * machine (splitmix64, no libc randomness, no floating point).
 * The live set grows and shrinks in waves (its target size drifts between 0
 * and ~1500 blocks, with bursts of frees), so that the trace reaches tcache,
 * fastbins, consolidation, sorting into small and large bins, coalescing
 * into top, trimming and the mmap threshold. Sizes: tiny 1..24, small
 * 25..1008, medium 1009..4096, large 4 KiB..100 KiB, and rarely above the
 * mmap threshold (130 KiB..1 MiB). Operations: malloc, calloc, memalign
 * (alignment 16..4096), realloc (grow and shrink), free, malloc_trim.
 * Ids are never reused: every allocation names a fresh id, only live ids
 * are freed or reallocated, and no id is freed twice. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t range(struct rng *r, uint64_t lo, uint64_t hi)
{
	return lo + next(r) % (hi - lo + 1);
}

/* Roughly log-uniform in [lo, hi]: a random power-of-two band, then uniform. */
static uint64_t logrange(struct rng *r, uint64_t lo, uint64_t hi)
{
	uint64_t a = lo;
	while (a * 2 <= hi && next(r) % 2)
		a *= 2;
	uint64_t b = a * 2 - 1 < hi ? a * 2 - 1 : hi;
	return range(r, a, b);
}

static uint64_t pick_size(struct rng *r)
{
	uint64_t k = next(r) % 1000;
	if (k < 330)
		return range(r, 1, 24);
	if (k < 700)
		return range(r, 25, 1008);
	if (k < 880)
		return range(r, 1009, 4096);
	if (k < 995)
		return logrange(r, 4097, 100 * 1024);
	return range(r, 130 * 1024, 1024 * 1024);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: gentrace SEED NOPS\n");
		return 2;
	}
	char *e1, *e2;
	uint64_t seed = strtoull(argv[1], &e1, 10);
	long long nops = strtoll(argv[2], &e2, 10);
	if (*e1 || *e2 || !*argv[1] || nops < 0 || nops > 100000000) {
		fprintf(stderr, "gentrace: SEED and NOPS are decimal integers (NOPS <= 100000000)\n");
		return 2;
	}
	struct rng r = { seed * 0x2545f4914f6cdd1dULL + 1 };
	/* live[] holds the live ids; an id is never reused, so no id can be
	 * freed twice or used once dead. */
	size_t cap = 1024, nlive = 0;
	uint64_t *live = malloc(cap * sizeof *live);
	if (!live)
		return 1;
	uint64_t next_id = 1, target = 200;
	long long burst = 0;

	printf("# gentrace seed %" PRIu64 ", %lld operations\n", seed, nops);
	for (long long i = 0; i < nops; i++) {
		/* The target size of the live set drifts; now and then a burst of
		 * frees empties most of it (consolidation, coalescing, trimming). */
		if (i % 500 == 0)
			target = range(&r, 0, 1500);
		if (burst == 0 && next(&r) % 2000 == 0)
			burst = (long long)range(&r, nlive / 2, nlive);
		uint64_t k = next(&r) % 1000;
		if (k < 3) {
			uint64_t pad = next(&r) % 2 ? 0 : range(&r, 1, 256 * 1024);
			printf("t %" PRIu64 "\n", pad);
			continue;
		}
		int alloc;
		if (nlive == 0)
			alloc = 1;
		else if (burst > 0)
			alloc = 0;
		else
			alloc = (next(&r) % 100) < (nlive < target ? 65u : 35u);
		if (alloc) {
			if (nlive == cap) {
				cap *= 2;
				uint64_t *n = realloc(live, cap * sizeof *live);
				if (!n)
					return 1;
				live = n;
			}
			uint64_t id = next_id++, size = pick_size(&r), m = next(&r) % 100;
			if (m < 80) {
				printf("m %" PRIu64 " %" PRIu64 "\n", id, size);
			} else if (m < 90) {
				uint64_t n = range(&r, 1, 16);
				printf("c %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", id, n, size / n ? size / n : 1);
			} else {
				uint64_t align = (uint64_t)16 << range(&r, 0, 8); /* 16 .. 4096 */
				printf("a %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", id, align, size);
			}
			live[nlive++] = id;
			continue;
		}
		size_t j = (size_t)(next(&r) % nlive);
		if (burst == 0 && next(&r) % 100 < 20) {
			/* realloc: near the old size (in place) or anywhere */
			uint64_t size = pick_size(&r);
			printf("r %" PRIu64 " %" PRIu64 "\n", live[j], size);
			continue;
		}
		/* free: a random live block, or (half the time) the newest, so that
		 * frees next to top happen too */
		if (next(&r) % 2)
			j = nlive - 1;
		printf("f %" PRIu64 "\n", live[j]);
		live[j] = live[--nlive];
		if (burst > 0)
			burst--;
	}
	free(live);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("gentrace: stdout");
		return 1;
	}
	return 0;
}
