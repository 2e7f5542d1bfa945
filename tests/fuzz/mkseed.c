/* mkseed.c - writes the fuzz target's seed corpus: well-formed images of
 * small 2.36 heaps (tcache, fastbins, unsorted, small and large bins,
 * top) with every page present, the same heap with pages neither present
 * nor swapped and swapped ones among them, and a top chunk whose size runs
 * a TiB past the heap, from which the fuzzer mutates. Usage: mkseed DIR */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_image.h"

static unsigned char buf[FZ_HEADER + 0x4000];

static void put(size_t off, uint64_t v)
{
	memcpy(buf + off, &v, 8);
}

#define MS(o) (o)
#define MPO(o) (FZ_MS_SIZE + (o))
#define H(o) (FZ_HEADER + (o))
#define BIN_HDR(i) (FZ_MAIN_ARENA + 0x70 + ((uint64_t)(i) - 1) * 16 - 16)
#define MANGLE(pos, p) ((((uint64_t)(pos)) >> 12) ^ (uint64_t)(p))

static void base(size_t heap_len)
{
	memset(buf, 0, sizeof buf);
	memset(buf + FZ_PAGES_AT, 0x55, FZ_PAGES / 4); /* every page present */
	for (int i = 1; i < 128; i++) {
		put(MS(0x70 + (size_t)(i - 1) * 16), BIN_HDR(i));
		put(MS(0x70 + (size_t)(i - 1) * 16 + 8), BIN_HDR(i));
	}
	put(MS(0x870), FZ_MAIN_ARENA); /* next */
	put(MS(0x880), 1);             /* attached_threads */
	put(MS(0x888), heap_len);      /* system_mem */
	put(MS(0x890), heap_len);
	put(MPO(0x00), 0x20000);
	put(MPO(0x08), 0x20000);
	put(MPO(0x10), 0x20000);
	put(MPO(0x18), 8);
	put(MPO(0x60), FZ_HEAP); /* sbrk_base */
	put(MPO(0x68), 64);      /* tcache_bins */
	put(MPO(0x70), 0x408);   /* tcache_max_bytes */
	put(MPO(0x78), 7);       /* tcache_count */
	put(FZ_MS_SIZE + FZ_MP_SIZE, FZ_HEAP + 0x10);  /* tcache */
	put(FZ_MS_SIZE + FZ_MP_SIZE + 8, FZ_MAIN_ARENA); /* thread_arena */
}

static void emit(const char *dir, const char *name, size_t heap_len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, FZ_HEADER + heap_len, f) != FZ_HEADER + heap_len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fputs("usage: mkseed DIR\n", stderr);
		return 2;
	}
	const size_t len = 0x4000;
	/* 1: tcache chunk struct, two tcache chunks (bin 0), two fastbin 0x70
	 * chunks, an unsorted chunk, a small-bin chunk, a large-bin chunk, top. */
	base(len);
	uint64_t o = 0;
	put(H(o + 8), 0x290 | 1), o += 0x290;           /* tcache_perthread_struct */
	uint64_t t1 = o; put(H(o + 8), 0x20 | 1), o += 0x20;
	uint64_t t2 = o; put(H(o + 8), 0x20 | 1), o += 0x20;
	uint64_t f1 = o; put(H(o + 8), 0x70 | 1), o += 0x70;
	uint64_t f2 = o; put(H(o + 8), 0x70 | 1), o += 0x70;
	put(H(o + 8), 0x30 | 1), o += 0x30;             /* in use */
	uint64_t u = o; put(H(o + 8), 0x110 | 1), o += 0x110;
	put(H(o), 0x110), put(H(o + 8), 0x30), o += 0x30;
	uint64_t sm = o; put(H(o + 8), 0x90 | 1), o += 0x90;
	put(H(o), 0x90), put(H(o + 8), 0x30), o += 0x30;
	uint64_t lg = o; put(H(o + 8), 0x600 | 1), o += 0x600;
	put(H(o), 0x600), put(H(o + 8), 0x30), o += 0x30;
	put(H(o + 8), (len - o) | 1);                  /* top */
	put(MS(0x60), FZ_HEAP + o);
	/* tcache bin 0: t2 -> t1 */
	put(H(0x10), 1);                                /* counts[0] = 1... */
	put(H(0x10), 2);
	put(H(0x10 + 0x80), FZ_HEAP + t2 + 0x10);
	put(H(t2 + 0x10), MANGLE(FZ_HEAP + t2 + 0x10, FZ_HEAP + t1 + 0x10));
	put(H(t1 + 0x10), MANGLE(FZ_HEAP + t1 + 0x10, 0));
	/* fastbin 5: f2 -> f1 */
	put(MS(0x10 + 5 * 8), FZ_HEAP + f2);
	put(H(f2 + 0x10), MANGLE(FZ_HEAP + f2 + 0x10, FZ_HEAP + f1));
	put(H(f1 + 0x10), MANGLE(FZ_HEAP + f1 + 0x10, 0));
	/* unsorted, small bin 9 (0x90 >> 4), large bin 64 + (0x600 >> 6) - 16 = 72 */
	struct { uint64_t c; int bin; } fr[] = {{u, 1}, {sm, 9}, {lg, 48 + (0x600 >> 6)}};
	for (size_t i = 0; i < 3; i++) {
		put(MS(0x70 + (size_t)(fr[i].bin - 1) * 16), FZ_HEAP + fr[i].c);
		put(MS(0x70 + (size_t)(fr[i].bin - 1) * 16 + 8), FZ_HEAP + fr[i].c);
		put(H(fr[i].c + 0x10), BIN_HDR(fr[i].bin));
		put(H(fr[i].c + 0x18), BIN_HDR(fr[i].bin));
	}
	emit(argv[1], "seed-all-lists", len);
	/* 1b: the same heap, its pages 0 present, 1 neither, 2 swapped, 3
	 * present, and so on (a heap malloc_trim went through, then swap). */
	memset(buf + FZ_PAGES_AT, 0x61, FZ_PAGES / 4);
	emit(argv[1], "seed-pages-mixed", len);
	/* 2: an empty heap (top only). */
	base(0x1000);
	put(H(8), 0x1000 | 1);
	put(MS(0x60), FZ_HEAP);
	emit(argv[1], "seed-top-only", 0x1000);
	/* 3: a top chunk 1 TiB long (the residency bitmap covers one page). */
	put(H(8), (1ull << 40) | 1);
	emit(argv[1], "seed-top-huge", 0x1000);
	return 0;
}
