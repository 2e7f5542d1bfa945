/* refcore.c - the reference allocator core: glibc's ptmalloc2 algorithm
 * (main arena, one thread) over a simulated address space whose bytes are
 * the heap itself: chunk headers and list links are real little-endian
 * words of SIZE_SZ bytes, the bin headers live inside a malloc_state image,
 * the tcache is a tcache_perthread_struct allocated by the first malloc.
 * Written from a reading of glibc's malloc.c at each release (2.31 ... 2.43);
 * the version switches are named where they act. */
#include "refcore/refcore.h"

#include "base/hs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREV_INUSE 1u
#define IS_MMAPPED 2u
#define NON_MAIN_ARENA 4u
#define SIZE_BITS 7u
#define PAGE 4096ull
#define NBINS 128
#define NSMALLBINS 64
#define BINMAPSHIFT 5
#define TCACHE_SMALL_BINS 64

/* Simulated address space. */
#define LIBC64 0x7ffff7e00000ull
#define MMAP_TOP64 0x7ffff7000000ull
#define LIBC32 0xf7e00000ull
#define MMAP_TOP32 0xf7000000ull
#define LIBC_LEN 0x3000u
#define ARENA_OFF 0x100u
#define MP_OFF 0x1000u
#define TLS_OFF 0x2000u  /* libc's TLS block inside the libc region */
#define TLS_TCACHE 0x10
#define TLS_ARENA 0x20

struct mmregion {
	uint64_t addr, len;
	unsigned char *bytes; /* calloc'd: pages never touched cost nothing */
	uint64_t filled;      /* bytes past this were never touched: zero */
};

struct hs_refcore {
	struct hs_refcore_cfg cfg;
	struct hs_layout lay;
	unsigned sz;              /* SIZE_SZ */
	uint64_t mask;            /* MALLOC_ALIGN_MASK */
	uint64_t minsize, hdr;    /* MINSIZE, CHUNK_HDR_SZ */
	uint64_t min_large;       /* MIN_LARGE_SIZE */
	uint64_t max_fast;        /* global_max_fast; 0 without fastbins */
	int nfast;
	bool safe_link;
	int vmin;
	bool v43;                 /* 2.43: lazy tcache, no fastbins, 16 slots */
	uint64_t wmax;            /* all-ones of a word */

	/* The sbrk heap: [heap_base, brk). */
	uint64_t heap_base, brk;
	unsigned char *heap;
	size_t heap_cap;
	/* libc's data: malloc_state, mp_ and the TLS block. */
	uint64_t libc, arena;
	unsigned char libc_bytes[LIBC_LEN];
	/* mmapped regions, sorted by address. */
	struct mmregion *mm;
	size_t nmm, capmm;
	uint64_t mmap_top, mmap_floor;

	/* malloc_state (bins live in libc_bytes) */
	uint64_t top, last_remainder;
	uint64_t fastbins[16];
	int have_fastchunks;
	uint32_t binmap[4];
	uint64_t system_mem, max_system_mem;
	bool initialized; /* ptmalloc_init ran */

	/* mp_ */
	uint64_t trim_threshold, top_pad, mmap_threshold, arena_test;
	int n_mmaps, n_mmaps_max, max_n_mmaps, no_dyn_threshold;
	uint64_t mmapped_mem, max_mmapped_mem, sbrk_base;
	uint64_t tcache_bins, tcache_max_bytes, tcache_count, tcache_unsorted_limit;

	/* tcache */
	uint64_t tcache; /* tcache_perthread_struct address, 0 = none */
	uint64_t tcache_key;

	char error[160];
};

/* ---- memory ------------------------------------------------------------ */

static unsigned char *at(struct hs_refcore *rc, uint64_t addr, uint64_t len)
{
	if (addr >= rc->heap_base && addr + len <= rc->heap_base + rc->heap_cap)
		return rc->heap + (addr - rc->heap_base);
	if (addr >= rc->libc && addr + len <= rc->libc + LIBC_LEN)
		return rc->libc_bytes + (addr - rc->libc);
	for (size_t i = 0; i < rc->nmm; i++)
		if (addr >= rc->mm[i].addr && addr + len <= rc->mm[i].addr + rc->mm[i].len) {
			struct mmregion *m = &rc->mm[i];
			if (addr + len - m->addr > m->filled)
				m->filled = addr + len - m->addr;
			return m->bytes + (addr - m->addr);
		}
	return NULL;
}

static uint64_t rd(struct hs_refcore *rc, uint64_t addr)
{
	unsigned char *p = at(rc, addr, rc->sz);
	if (!p) {
		/* Only a corrupt call can get here; glibc would crash. */
		if (!rc->error[0])
			snprintf(rc->error, sizeof rc->error, "read of unmapped 0x%llx", (unsigned long long)addr);
		return 0;
	}
	if (rc->sz == 4) {
		uint32_t v;
		memcpy(&v, p, 4);
		return v;
	}
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void wr(struct hs_refcore *rc, uint64_t addr, uint64_t v)
{
	unsigned char *p = at(rc, addr, rc->sz);
	if (!p) {
		if (!rc->error[0])
			snprintf(rc->error, sizeof rc->error, "write to unmapped 0x%llx", (unsigned long long)addr);
		return;
	}
	if (rc->sz == 4) {
		uint32_t x = (uint32_t)v;
		memcpy(p, &x, 4);
	} else {
		memcpy(p, &v, 8);
	}
}

static void zero(struct hs_refcore *rc, uint64_t addr, uint64_t len)
{
	unsigned char *p = at(rc, addr, len);
	if (p)
		memset(p, 0, len);
}

/* ---- chunk accessors (malloc_chunk: prev_size, size, fd, bk, fd_nextsize, bk_nextsize) */

#define W(n) ((uint64_t)(n) * rc->sz)
static uint64_t prev_size(struct hs_refcore *rc, uint64_t p) { return rd(rc, p); }
static void set_prev_size(struct hs_refcore *rc, uint64_t p, uint64_t v) { wr(rc, p, v); }
static uint64_t size_nomask(struct hs_refcore *rc, uint64_t p) { return rd(rc, p + W(1)); }
static uint64_t csize(struct hs_refcore *rc, uint64_t p) { return rd(rc, p + W(1)) & ~(uint64_t)SIZE_BITS; }
static void set_head(struct hs_refcore *rc, uint64_t p, uint64_t v) { wr(rc, p + W(1), v); }
static void set_head_size(struct hs_refcore *rc, uint64_t p, uint64_t s)
{
	set_head(rc, p, (size_nomask(rc, p) & SIZE_BITS) | s);
}
static void set_foot(struct hs_refcore *rc, uint64_t p, uint64_t s) { wr(rc, p + s, s); }
static uint64_t fd(struct hs_refcore *rc, uint64_t p) { return rd(rc, p + W(2)); }
static uint64_t bk(struct hs_refcore *rc, uint64_t p) { return rd(rc, p + W(3)); }
static uint64_t fd_ns(struct hs_refcore *rc, uint64_t p) { return rd(rc, p + W(4)); }
static uint64_t bk_ns(struct hs_refcore *rc, uint64_t p) { return rd(rc, p + W(5)); }
static void set_fd(struct hs_refcore *rc, uint64_t p, uint64_t v) { wr(rc, p + W(2), v); }
static void set_bk(struct hs_refcore *rc, uint64_t p, uint64_t v) { wr(rc, p + W(3), v); }
static void set_fd_ns(struct hs_refcore *rc, uint64_t p, uint64_t v) { wr(rc, p + W(4), v); }
static void set_bk_ns(struct hs_refcore *rc, uint64_t p, uint64_t v) { wr(rc, p + W(5), v); }
static bool prev_inuse(struct hs_refcore *rc, uint64_t p) { return size_nomask(rc, p) & PREV_INUSE; }
static bool is_mmapped(struct hs_refcore *rc, uint64_t p) { return size_nomask(rc, p) & IS_MMAPPED; }
static bool inuse_at(struct hs_refcore *rc, uint64_t p, uint64_t s) { return size_nomask(rc, p + s) & PREV_INUSE; }
static void set_inuse_at(struct hs_refcore *rc, uint64_t p, uint64_t s)
{
	wr(rc, p + s + W(1), size_nomask(rc, p + s) | PREV_INUSE);
}
static void clear_inuse_at(struct hs_refcore *rc, uint64_t p, uint64_t s)
{
	wr(rc, p + s + W(1), size_nomask(rc, p + s) & ~(uint64_t)PREV_INUSE);
}
static uint64_t mem2chunk(struct hs_refcore *rc, uint64_t m) { return m - W(2); }
static uint64_t chunk2mem(struct hs_refcore *rc, uint64_t p) { return p + W(2); }

/* Safe-linking (2.32+): PROTECT_PTR(pos, ptr) = (pos >> 12) ^ ptr. */
static uint64_t protect(struct hs_refcore *rc, uint64_t pos, uint64_t ptr)
{
	return rc->safe_link ? ((pos >> 12) ^ ptr) & rc->wmax : ptr;
}

/* ---- sizes and bins ---------------------------------------------------- */

static uint64_t request2size(struct hs_refcore *rc, uint64_t req)
{
	if (req + rc->sz + rc->mask < rc->minsize)
		return rc->minsize;
	return (req + rc->sz + rc->mask) & ~rc->mask;
}

/* checked_request2size: 0 for a request glibc refuses (> PTRDIFF_MAX). */
static uint64_t checked_request2size(struct hs_refcore *rc, uint64_t req)
{
	if (req > (rc->wmax >> 1))
		return 0;
	return request2size(rc, req);
}

static bool in_smallbin_range(struct hs_refcore *rc, uint64_t sz) { return sz < rc->min_large; }

static int smallbin_index(struct hs_refcore *rc, uint64_t sz)
{
	/* SMALLBIN_WIDTH is MALLOC_ALIGNMENT (16); SMALLBIN_CORRECTION is 1 on i386 */
	return (int)(sz >> 4) + (rc->sz == 4 ? 1 : 0);
}

static int largebin_index(struct hs_refcore *rc, uint64_t sz)
{
	if (rc->sz == 8) {
		if ((sz >> 6) <= 48)
			return 48 + (int)(sz >> 6);
	} else { /* largebin_index_32_big: MALLOC_ALIGNMENT 16 on 32-bit */
		if ((sz >> 6) <= 45)
			return 49 + (int)(sz >> 6);
	}
	if ((sz >> 9) <= 20)
		return 91 + (int)(sz >> 9);
	if ((sz >> 12) <= 10)
		return 110 + (int)(sz >> 12);
	if ((sz >> 15) <= 4)
		return 119 + (int)(sz >> 15);
	if ((sz >> 18) <= 2)
		return 124 + (int)(sz >> 18);
	return 126;
}

static int bin_index(struct hs_refcore *rc, uint64_t sz)
{
	return in_smallbin_range(rc, sz) ? smallbin_index(rc, sz) : largebin_index(rc, sz);
}

static int fastbin_index(struct hs_refcore *rc, uint64_t sz) { return (int)(sz >> (rc->sz == 8 ? 4 : 3)) - 2; }

static uint64_t bin_at(struct hs_refcore *rc, int i)
{
	return rc->arena + (uint64_t)rc->lay.ms_bins + W((i - 1) * 2) - W(2);
}

static uint64_t unsorted(struct hs_refcore *rc) { return bin_at(rc, 1); }
static void mark_bin(struct hs_refcore *rc, int i) { rc->binmap[i >> BINMAPSHIFT] |= 1u << (i & 31); }

/* tcache: csize2tidx; counts and entries inside the heap. */
static uint64_t csize2tidx(struct hs_refcore *rc, uint64_t x) { return (x - rc->minsize + rc->mask) / 16; }

static unsigned tc_count(struct hs_refcore *rc, uint64_t i)
{
	unsigned char *p = at(rc, rc->tcache + (uint64_t)rc->lay.tc_counts + i * (unsigned)rc->lay.tc_count_width,
			      (uint64_t)rc->lay.tc_count_width);
	unsigned v = rc->lay.tc_count_width == 1 ? p[0] : (unsigned)(p[0] | p[1] << 8);
	if (rc->lay.tcache_counts_down)
		v = (unsigned)rc->tcache_count - v; /* num_slots: free slots left */
	return v;
}

static void tc_set_count(struct hs_refcore *rc, uint64_t i, unsigned v)
{
	unsigned char *p = at(rc, rc->tcache + (uint64_t)rc->lay.tc_counts + i * (unsigned)rc->lay.tc_count_width,
			      (uint64_t)rc->lay.tc_count_width);
	if (rc->lay.tcache_counts_down)
		v = (unsigned)rc->tcache_count - v;
	p[0] = (unsigned char)v;
	if (rc->lay.tc_count_width == 2)
		p[1] = (unsigned char)(v >> 8);
}

static uint64_t tc_entry(struct hs_refcore *rc, uint64_t i)
{
	return rd(rc, rc->tcache + (uint64_t)rc->lay.tc_entries + W(i));
}

static void tc_set_entry(struct hs_refcore *rc, uint64_t i, uint64_t v)
{
	wr(rc, rc->tcache + (uint64_t)rc->lay.tc_entries + W(i), v);
}

static void tcache_put(struct hs_refcore *rc, uint64_t p, uint64_t idx)
{
	uint64_t e = chunk2mem(rc, p);
	/* 2.29-2.33: key is the tcache itself; 2.34+: a random tcache_key */
	wr(rc, e + W(1), rc->vmin >= 34 ? rc->tcache_key : rc->tcache);
	wr(rc, e, protect(rc, e, tc_entry(rc, idx)));
	tc_set_entry(rc, idx, e);
	tc_set_count(rc, idx, tc_count(rc, idx) + 1);
}

static uint64_t tcache_get(struct hs_refcore *rc, uint64_t idx)
{
	uint64_t e = tc_entry(rc, idx);
	uint64_t next = rd(rc, e);
	tc_set_entry(rc, idx, rc->safe_link ? ((e >> 12) ^ next) & rc->wmax : next);
	tc_set_count(rc, idx, tc_count(rc, idx) - 1);
	wr(rc, e + W(1), 0);
	return e;
}

/* ---- the simulated system: sbrk and mmap -------------------------------- */

/* sbrk(incr): returns the old break, or 0 on failure (MORECORE_FAILURE). */
static uint64_t sbrk_(struct hs_refcore *rc, int64_t incr)
{
	uint64_t old = rc->brk;
	if (incr > 0) {
		uint64_t nbrk = rc->brk + (uint64_t)incr;
		if (nbrk > rc->mmap_floor || nbrk < rc->brk)
			return 0;
		size_t need = (size_t)(nbrk - rc->heap_base);
		if (need > rc->heap_cap) {
			size_t cap = rc->heap_cap ? rc->heap_cap : 1 << 20;
			while (cap < need)
				cap *= 2;
			rc->heap = hs_xrealloc(rc->heap, cap, 1);
			memset(rc->heap + rc->heap_cap, 0, cap - rc->heap_cap);
			rc->heap_cap = cap;
		}
		rc->brk = nbrk;
	} else if (incr < 0) {
		uint64_t dec = (uint64_t)-incr;
		if (dec > rc->brk - rc->heap_base)
			return 0;
		rc->brk -= dec;
		/* The kernel hands back zeroed pages if the break grows again. */
		memset(rc->heap + (rc->brk - rc->heap_base), 0, (size_t)dec);
	}
	return old;
}

static int cmp_mm(const void *a, const void *b)
{
	const struct mmregion *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Top-down first fit below mmap_top, as the kernel places anonymous maps. */
static uint64_t find_hole(struct hs_refcore *rc, uint64_t len, uint64_t ignore)
{
	uint64_t hi = rc->mmap_top;
	for (size_t i = rc->nmm; i-- > 0;) {
		if (rc->mm[i].addr == ignore)
			continue;
		uint64_t end = rc->mm[i].addr + rc->mm[i].len;
		if (end <= hi && hi - end >= len)
			return hi - len;
		if (rc->mm[i].addr < hi)
			hi = rc->mm[i].addr;
	}
	if (hi >= len && hi - len >= rc->mmap_floor)
		return hi - len;
	return 0;
}

static uint64_t mmap_(struct hs_refcore *rc, uint64_t len)
{
	if (len == 0 || len > rc->wmax / 2)
		return 0;
	uint64_t a = find_hole(rc, len, 0);
	if (!a)
		return 0;
	unsigned char *b = calloc(1, (size_t)len);
	if (!b)
		return 0;
	if (rc->nmm == rc->capmm) {
		rc->capmm = rc->capmm ? rc->capmm * 2 : 16;
		rc->mm = hs_xrealloc(rc->mm, rc->capmm, sizeof *rc->mm);
	}
	rc->mm[rc->nmm++] = (struct mmregion){a, len, b, 0};
	qsort(rc->mm, rc->nmm, sizeof *rc->mm, cmp_mm);
	return a;
}

static struct mmregion *mm_find(struct hs_refcore *rc, uint64_t addr)
{
	for (size_t i = 0; i < rc->nmm; i++)
		if (rc->mm[i].addr == addr)
			return &rc->mm[i];
	return NULL;
}

static void munmap_(struct hs_refcore *rc, uint64_t addr)
{
	struct mmregion *r = mm_find(rc, addr);
	if (!r)
		return;
	free(r->bytes);
	*r = rc->mm[--rc->nmm];
	qsort(rc->mm, rc->nmm, sizeof *rc->mm, cmp_mm);
}

/* mremap(MREMAP_MAYMOVE): in place when it shrinks or the space after it
 * is free, else moved to a new hole. Returns the new address or 0. */
static uint64_t mremap_(struct hs_refcore *rc, uint64_t addr, uint64_t newlen)
{
	struct mmregion *r = mm_find(rc, addr);
	if (!r || newlen > rc->wmax / 2)
		return 0;
	uint64_t a = addr;
	if (newlen > r->len) {
		bool room = addr + newlen <= rc->mmap_top;
		for (size_t i = 0; i < rc->nmm && room; i++)
			if (rc->mm[i].addr > addr && rc->mm[i].addr < addr + newlen)
				room = false;
		if (!room) {
			a = find_hole(rc, newlen, addr);
			if (!a)
				return 0;
		}
	}
	/* A fresh zeroed block with what was written copied over: the pages
	 * never written stay untouched (a 1 GiB mapping costs one page). */
	unsigned char *b = calloc(1, (size_t)newlen);
	if (!b)
		return 0;
	if (r->filled > newlen)
		r->filled = newlen;
	memcpy(b, r->bytes, (size_t)r->filled);
	free(r->bytes);
	r->bytes = b;
	r->addr = a;
	r->len = newlen;
	qsort(rc->mm, rc->nmm, sizeof *rc->mm, cmp_mm);
	return a;
}

/* ---- init -------------------------------------------------------------- */

static void malloc_init_state(struct hs_refcore *rc)
{
	for (int i = 1; i < NBINS; i++) {
		uint64_t b = bin_at(rc, i);
		set_fd(rc, b, b);
		set_bk(rc, b, b);
	}
	rc->max_fast = rc->nfast ? ((64 * rc->sz / 4 + rc->sz) & ~rc->mask) : 0; /* set_max_fast(DEFAULT_MXFAST) */
	rc->have_fastchunks = 0;
	rc->top = unsorted(rc); /* initial_top */
}

static void ptmalloc_init(struct hs_refcore *rc)
{
	if (rc->initialized)
		return;
	rc->initialized = true;
	malloc_init_state(rc);
}

/* ---- free lists ---------------------------------------------------------- */

static void unlink_chunk(struct hs_refcore *rc, uint64_t p)
{
	uint64_t f = fd(rc, p), b = bk(rc, p);
	set_bk(rc, f, b);
	set_fd(rc, b, f);
	if (!in_smallbin_range(rc, csize(rc, p)) && fd_ns(rc, p) != 0) {
		if (fd_ns(rc, f) == 0) {
			if (fd_ns(rc, p) == p) {
				set_fd_ns(rc, f, f);
				set_bk_ns(rc, f, f);
			} else {
				set_fd_ns(rc, f, fd_ns(rc, p));
				set_bk_ns(rc, f, bk_ns(rc, p));
				set_bk_ns(rc, fd_ns(rc, p), f);
				set_fd_ns(rc, bk_ns(rc, p), f);
			}
		} else {
			set_bk_ns(rc, fd_ns(rc, p), bk_ns(rc, p));
			set_fd_ns(rc, bk_ns(rc, p), fd_ns(rc, p));
		}
	}
}

/* Puts p at the front of the unsorted bin (free's and the splits' way). */
static void to_unsorted(struct hs_refcore *rc, uint64_t p, uint64_t size)
{
	uint64_t b = unsorted(rc), f = fd(rc, b);
	set_fd(rc, p, f);
	set_bk(rc, p, b);
	if (!in_smallbin_range(rc, size)) {
		set_fd_ns(rc, p, 0);
		set_bk_ns(rc, p, 0);
	}
	set_fd(rc, b, p);
	set_bk(rc, f, p);
}

static void malloc_consolidate(struct hs_refcore *rc)
{
	rc->have_fastchunks = 0;
	uint64_t ub = unsorted(rc);
	for (int i = 0; i < rc->nfast; i++) {
		uint64_t p = rc->fastbins[i];
		rc->fastbins[i] = 0;
		while (p) {
			uint64_t nextp = protect(rc, p + W(2), fd(rc, p));
			uint64_t size = csize(rc, p);
			uint64_t next = p + size;
			uint64_t nextsize = csize(rc, next);
			if (!prev_inuse(rc, p)) {
				uint64_t ps = prev_size(rc, p);
				size += ps;
				p -= ps;
				unlink_chunk(rc, p);
			}
			if (next != rc->top) {
				bool nextinuse = inuse_at(rc, next, nextsize);
				if (!nextinuse) {
					size += nextsize;
					unlink_chunk(rc, next);
				} else {
					clear_inuse_at(rc, next, 0);
				}
				uint64_t first = fd(rc, ub);
				set_fd(rc, ub, p);
				set_bk(rc, first, p);
				if (!in_smallbin_range(rc, size)) {
					set_fd_ns(rc, p, 0);
					set_bk_ns(rc, p, 0);
				}
				set_head(rc, p, size | PREV_INUSE);
				set_bk(rc, p, ub);
				set_fd(rc, p, first);
				set_foot(rc, p, size);
			} else {
				size += nextsize;
				set_head(rc, p, size | PREV_INUSE);
				rc->top = p;
			}
			p = nextp;
		}
	}
}

/* ---- sysmalloc / systrim --------------------------------------------------- */

static void int_free(struct hs_refcore *rc, uint64_t p);
static uint64_t int_malloc(struct hs_refcore *rc, uint64_t bytes);
static void tcache_init_bytes(struct hs_refcore *rc, uint64_t bytes);

/* 2.43: a tcache that is still the inactive placeholder is allocated the
 * first time _int_malloc could stash into it: _int_malloc(av,
 * request2size(sizeof (tcache_perthread_struct))), a chunk 16 bytes larger
 * than the one free's path (__libc_malloc2) makes. */
static void tcache_init_av(struct hs_refcore *rc)
{
	if (!rc->tcache)
		tcache_init_bytes(rc, request2size(rc, (uint64_t)rc->lay.tc_size));
}

static uint64_t sysmalloc_mmap(struct hs_refcore *rc, uint64_t nb)
{
	uint64_t size;
	bool aligned_hdr = rc->hdr == 16; /* MALLOC_ALIGNMENT == CHUNK_HDR_SZ */
	if (rc->v43) {
		/* padding up front, CHUNK_HDR_SZ at the end (mmap_set_chunk) */
		uint64_t padding = 16 - rc->hdr;
		size = (nb + padding + rc->hdr + PAGE - 1) & ~(PAGE - 1);
		uint64_t mm = mmap_(rc, size);
		if (!mm)
			return 0;
		uint64_t p = mm + padding;
		set_prev_size(rc, p, padding);
		set_head(rc, p, (size - padding - rc->hdr) | IS_MMAPPED);
		rc->n_mmaps++;
		if (rc->n_mmaps > rc->max_n_mmaps)
			rc->max_n_mmaps = rc->n_mmaps;
		rc->mmapped_mem += size;
		if (rc->mmapped_mem > rc->max_mmapped_mem)
			rc->max_mmapped_mem = rc->mmapped_mem;
		return chunk2mem(rc, p);
	}
	if (aligned_hdr)
		size = (nb + rc->sz + PAGE - 1) & ~(PAGE - 1);
	else
		size = (nb + rc->sz + rc->mask + PAGE - 1) & ~(PAGE - 1);
	if (size <= nb)
		return 0;
	/* 2.43: the mapping has CHUNK_HDR_SZ more than the chunk's size */
	uint64_t mm = mmap_(rc, size);
	if (!mm)
		return 0;
	uint64_t front = aligned_hdr ? 0 : (chunk2mem(rc, mm) & rc->mask);
	uint64_t p;
	if (front) {
		uint64_t corr = 16 - front;
		p = mm + corr;
		set_prev_size(rc, p, corr);
		set_head(rc, p, (size - corr) | IS_MMAPPED);
	} else {
		p = mm;
		set_prev_size(rc, p, 0);
		set_head(rc, p, size | IS_MMAPPED);
	}
	rc->n_mmaps++;
	if (rc->n_mmaps > rc->max_n_mmaps)
		rc->max_n_mmaps = rc->n_mmaps;
	rc->mmapped_mem += size;
	if (rc->mmapped_mem > rc->max_mmapped_mem)
		rc->max_mmapped_mem = rc->mmapped_mem;
	return chunk2mem(rc, p);
}

static uint64_t sysmalloc(struct hs_refcore *rc, uint64_t nb)
{
	if (nb >= rc->mmap_threshold && rc->n_mmaps < rc->n_mmaps_max) {
		uint64_t m = sysmalloc_mmap(rc, nb);
		if (m)
			return m;
	}
	uint64_t old_top = rc->top;
	uint64_t old_size = old_top == unsorted(rc) ? 0 : csize(rc, old_top);
	uint64_t old_end = old_top + old_size;
	/* main arena, contiguous */
	int64_t size = (int64_t)(nb + rc->top_pad + rc->minsize);
	size -= (int64_t)old_size;
	size = (int64_t)(((uint64_t)size + PAGE - 1) & ~(PAGE - 1));
	uint64_t brk = 0, snd_brk = 0;
	if (size > 0)
		brk = sbrk_(rc, size);
	if (brk == 0) {
		/* MORECORE failed: glibc falls back to mmap as morecore
		 * (non-contiguous from then on); not modelled. */
		return 0;
	}
	if (rc->sbrk_base == 0)
		rc->sbrk_base = brk;
	rc->system_mem += (uint64_t)size;
	if (brk == old_end && old_size) {
		set_head(rc, old_top, ((uint64_t)size + old_size) | PREV_INUSE);
	} else {
		/* First time through (or a foreign sbrk, which cannot happen here). */
		uint64_t front = chunk2mem(rc, brk) & rc->mask, correction = 0, aligned_brk = brk;
		if (front) {
			correction = 16 - front;
			aligned_brk += correction;
		}
		correction += old_size;
		uint64_t end_mis = brk + (uint64_t)size + correction;
		correction += ((end_mis + PAGE - 1) & ~(PAGE - 1)) - end_mis;
		snd_brk = sbrk_(rc, (int64_t)correction);
		if (snd_brk == 0) {
			correction = 0;
			snd_brk = rc->brk;
		}
		rc->top = aligned_brk;
		set_head(rc, rc->top, (snd_brk - aligned_brk + correction) | PREV_INUSE);
		rc->system_mem += correction;
		if (old_size != 0) {
			old_size = (old_size - 2 * rc->hdr) & ~rc->mask;
			set_head(rc, old_top, old_size | PREV_INUSE);
			set_head(rc, old_top + old_size, rc->hdr | PREV_INUSE);
			set_head(rc, old_top + old_size + rc->hdr, rc->hdr | PREV_INUSE);
			if (old_size >= rc->minsize)
				int_free(rc, old_top);
		}
	}
	if (rc->system_mem > rc->max_system_mem)
		rc->max_system_mem = rc->system_mem;
	uint64_t p = rc->top;
	uint64_t psize = csize(rc, p);
	if (psize >= nb + rc->minsize) {
		rc->top = p + nb;
		set_head(rc, p, nb | PREV_INUSE);
		set_head(rc, rc->top, (psize - nb) | PREV_INUSE);
		return chunk2mem(rc, p);
	}
	return 0;
}

static int systrim(struct hs_refcore *rc, uint64_t pad)
{
	uint64_t top_size = csize(rc, rc->top);
	int64_t top_area = (int64_t)top_size - (int64_t)rc->minsize - 1;
	if (top_area <= (int64_t)pad)
		return 0;
	uint64_t extra = ((uint64_t)top_area - pad) & ~(PAGE - 1);
	if (extra == 0)
		return 0;
	if (rc->brk != rc->top + top_size)
		return 0;
	uint64_t cur = rc->brk;
	sbrk_(rc, -(int64_t)extra);
	uint64_t released = cur - rc->brk;
	if (released) {
		rc->system_mem -= released;
		set_head(rc, rc->top, (top_size - released) | PREV_INUSE);
		return 1;
	}
	return 0;
}

static void munmap_chunk(struct hs_refcore *rc, uint64_t p)
{
	uint64_t size = csize(rc, p);
	uint64_t block = p - prev_size(rc, p);
	uint64_t total = prev_size(rc, p) + size + rc->lay.mmap_tail;
	rc->n_mmaps--;
	rc->mmapped_mem -= total;
	munmap_(rc, block);
}

/* free() of an mmapped chunk: the dynamic threshold rises to its size
 * (up to DEFAULT_MMAP_THRESHOLD_MAX: 4 MiB * sizeof(long), 512 KiB on
 * 32-bit), the trim threshold to twice that; then the mapping goes. */
static void free_mmapped(struct hs_refcore *rc, uint64_t p)
{
	uint64_t s = size_nomask(rc, p);
	uint64_t max = rc->sz == 8 ? 32ull << 20 : 512ull << 10;
	if (!rc->no_dyn_threshold && s > rc->mmap_threshold && s <= max) {
		rc->mmap_threshold = csize(rc, p);
		rc->trim_threshold = 2 * rc->mmap_threshold;
	}
	munmap_chunk(rc, p);
}

static uint64_t mremap_chunk(struct hs_refcore *rc, uint64_t p, uint64_t new_size)
{
	uint64_t offset = prev_size(rc, p);
	uint64_t size = csize(rc, p);
	uint64_t block = p - offset;
	uint64_t total = offset + size + rc->lay.mmap_tail;
	new_size = (new_size + offset + rc->sz + PAGE - 1) & ~(PAGE - 1);
	if (total == new_size)
		return p;
	uint64_t cp = mremap_(rc, block, new_size);
	if (!cp)
		return 0;
	p = cp + offset;
	set_head(rc, p, (new_size - offset - rc->lay.mmap_tail) | IS_MMAPPED);
	rc->mmapped_mem += new_size - size - offset; /* glibc's own sum (2.43: CHUNK_HDR_SZ short) */
	if (rc->mmapped_mem > rc->max_mmapped_mem)
		rc->max_mmapped_mem = rc->mmapped_mem;
	return p;
}

/* ---- _int_malloc ------------------------------------------------------------ */

static uint64_t split_to_unsorted(struct hs_refcore *rc, uint64_t victim, uint64_t size, uint64_t nb,
				  bool set_lr)
{
	uint64_t rsize = size - nb;
	if (rsize < rc->minsize) {
		set_inuse_at(rc, victim, size);
	} else {
		uint64_t rem = victim + nb;
		to_unsorted(rc, rem, rsize);
		if (set_lr)
			rc->last_remainder = rem;
		set_head(rc, victim, nb | PREV_INUSE);
		set_head(rc, rem, rsize | PREV_INUSE);
		set_foot(rc, rem, rsize);
	}
	return chunk2mem(rc, victim);
}

static uint64_t int_malloc(struct hs_refcore *rc, uint64_t bytes)
{
	uint64_t nb = checked_request2size(rc, bytes);
	if (nb == 0)
		return 0;
	int idx;

	if (nb <= rc->max_fast) {
		idx = fastbin_index(rc, nb);
		uint64_t victim = rc->fastbins[idx];
		if (victim) {
			rc->fastbins[idx] = protect(rc, victim + W(2), fd(rc, victim));
			uint64_t tc_idx = csize2tidx(rc, nb);
			if (rc->tcache && tc_idx < rc->tcache_bins) {
				uint64_t tv;
				while (tc_count(rc, tc_idx) < rc->tcache_count && (tv = rc->fastbins[idx]) != 0) {
					rc->fastbins[idx] = protect(rc, tv + W(2), fd(rc, tv));
					tcache_put(rc, tv, tc_idx);
				}
			}
			return chunk2mem(rc, victim);
		}
	}

	if (in_smallbin_range(rc, nb)) {
		idx = smallbin_index(rc, nb);
		uint64_t bin = bin_at(rc, idx);
		uint64_t victim = bk(rc, bin);
		if (victim != bin) {
			uint64_t bck = bk(rc, victim);
			set_inuse_at(rc, victim, nb);
			set_bk(rc, bin, bck);
			set_fd(rc, bck, bin);
			uint64_t tc_idx = csize2tidx(rc, nb);
			if (rc->v43 && tc_idx < rc->tcache_bins)
				tcache_init_av(rc);
			if (rc->tcache && tc_idx < rc->tcache_bins) {
				uint64_t tv;
				while (tc_count(rc, tc_idx) < rc->tcache_count && (tv = bk(rc, bin)) != bin) {
					bck = bk(rc, tv);
					set_inuse_at(rc, tv, nb);
					set_bk(rc, bin, bck);
					set_fd(rc, bck, bin);
					tcache_put(rc, tv, tc_idx);
				}
			}
			return chunk2mem(rc, victim);
		}
	} else {
		idx = largebin_index(rc, nb);
		if (rc->have_fastchunks)
			malloc_consolidate(rc);
	}

	uint64_t tcache_nb = 0;
	uint64_t tc_idx = csize2tidx(rc, nb);
	if ((rc->tcache || rc->v43) && tc_idx < rc->tcache_bins)
		tcache_nb = nb;
	bool return_cached = false;
	uint64_t tcache_unsorted_count = 0;
	uint64_t ub = unsorted(rc);

	for (;;) {
		int iters = 0;
		uint64_t victim;
		while ((victim = bk(rc, ub)) != ub) {
			uint64_t bck = bk(rc, victim);
			uint64_t size = csize(rc, victim);
			if (in_smallbin_range(rc, nb) && bck == ub && victim == rc->last_remainder &&
			    size > nb + rc->minsize) {
				uint64_t rsize = size - nb, rem = victim + nb;
				set_fd(rc, ub, rem);
				set_bk(rc, ub, rem);
				rc->last_remainder = rem;
				set_fd(rc, rem, ub);
				set_bk(rc, rem, ub);
				if (!in_smallbin_range(rc, rsize)) {
					set_fd_ns(rc, rem, 0);
					set_bk_ns(rc, rem, 0);
				}
				set_head(rc, victim, nb | PREV_INUSE);
				set_head(rc, rem, rsize | PREV_INUSE);
				set_foot(rc, rem, rsize);
				return chunk2mem(rc, victim);
			}
			set_bk(rc, ub, bck);
			set_fd(rc, bck, ub);
			if (size == nb) {
				set_inuse_at(rc, victim, size);
				if (rc->v43)
					tcache_init_av(rc);
				if (tcache_nb && rc->tcache && tc_count(rc, tc_idx) < rc->tcache_count) {
					tcache_put(rc, victim, tc_idx);
					return_cached = true;
					continue;
				}
				return chunk2mem(rc, victim);
			}
			int vi;
			uint64_t fwd;
			if (in_smallbin_range(rc, size)) {
				vi = smallbin_index(rc, size);
				bck = bin_at(rc, vi);
				fwd = fd(rc, bck);
			} else {
				vi = largebin_index(rc, size);
				bck = bin_at(rc, vi);
				fwd = fd(rc, bck);
				if (fwd != bck) {
					uint64_t rs = size | PREV_INUSE;
					if (rs < size_nomask(rc, bk(rc, bck))) {
						fwd = bck;
						bck = bk(rc, bck);
						set_fd_ns(rc, victim, fd(rc, fwd));
						set_bk_ns(rc, victim, bk_ns(rc, fd(rc, fwd)));
						set_bk_ns(rc, fd(rc, fwd), victim);
						set_fd_ns(rc, bk_ns(rc, victim), victim);
					} else {
						while (rs < size_nomask(rc, fwd))
							fwd = fd_ns(rc, fwd);
						if (rs == size_nomask(rc, fwd)) {
							fwd = fd(rc, fwd);
						} else {
							set_fd_ns(rc, victim, fwd);
							set_bk_ns(rc, victim, bk_ns(rc, fwd));
							set_bk_ns(rc, fwd, victim);
							set_fd_ns(rc, bk_ns(rc, victim), victim);
						}
						bck = bk(rc, fwd);
					}
				} else {
					set_fd_ns(rc, victim, victim);
					set_bk_ns(rc, victim, victim);
				}
			}
			mark_bin(rc, vi);
			set_bk(rc, victim, bck);
			set_fd(rc, victim, fwd);
			set_bk(rc, fwd, victim);
			set_fd(rc, bck, victim);

			++tcache_unsorted_count;
			if (return_cached && rc->tcache_unsorted_limit > 0 &&
			    tcache_unsorted_count > rc->tcache_unsorted_limit)
				return tcache_get(rc, tc_idx);
			if (++iters >= 10000)
				break;
		}
		if (return_cached)
			return tcache_get(rc, tc_idx);

		if (!in_smallbin_range(rc, nb)) {
			uint64_t bin = bin_at(rc, idx);
			victim = fd(rc, bin);
			if (victim != bin && size_nomask(rc, victim) >= nb) {
				uint64_t size;
				victim = bk_ns(rc, victim);
				while ((size = csize(rc, victim)) < nb)
					victim = bk_ns(rc, victim);
				if (victim != bk(rc, bin) && size_nomask(rc, victim) == size_nomask(rc, fd(rc, victim)))
					victim = fd(rc, victim);
				unlink_chunk(rc, victim);
				return split_to_unsorted(rc, victim, size, nb, false);
			}
		}

		++idx;
		uint64_t bin = bin_at(rc, idx);
		unsigned block = (unsigned)idx >> BINMAPSHIFT;
		uint32_t map = rc->binmap[block];
		uint32_t bit = 1u << (idx & 31);
		bool use_top = false;
		for (;;) {
			if (bit > map || bit == 0) {
				do {
					if (++block >= 4) {
						use_top = true;
						break;
					}
				} while ((map = rc->binmap[block]) == 0);
				if (use_top)
					break;
				idx = (int)(block << BINMAPSHIFT);
				bin = bin_at(rc, idx);
				bit = 1;
			}
			while ((bit & map) == 0) {
				idx++;
				bin = bin_at(rc, idx);
				bit <<= 1;
			}
			victim = bk(rc, bin);
			if (victim == bin) {
				rc->binmap[block] = map &= ~bit;
				idx++;
				bin = bin_at(rc, idx);
				bit <<= 1;
			} else {
				uint64_t size = csize(rc, victim);
				unlink_chunk(rc, victim);
				return split_to_unsorted(rc, victim, size, nb, in_smallbin_range(rc, nb));
			}
		}

		victim = rc->top;
		uint64_t size = victim == unsorted(rc) ? 0 : csize(rc, victim);
		if (size >= nb + rc->minsize) {
			rc->top = victim + nb;
			set_head(rc, victim, nb | PREV_INUSE);
			set_head(rc, rc->top, (size - nb) | PREV_INUSE);
			return chunk2mem(rc, victim);
		} else if (rc->have_fastchunks) {
			malloc_consolidate(rc);
			idx = bin_index(rc, nb);
		} else {
			return sysmalloc(rc, nb);
		}
	}
}

/* ---- _int_free ----------------------------------------------------------- */

/* _int_free_create_chunk (2.39's split of _int_free): p of size, merged
 * with the following chunk if that is free, put in a bin or made top.
 * Returns the final size. */
static uint64_t create_chunk(struct hs_refcore *rc, uint64_t p, uint64_t size, uint64_t next, uint64_t nextsize)
{
	if (next != rc->top) {
		if (!inuse_at(rc, next, nextsize)) {
			unlink_chunk(rc, next);
			size += nextsize;
		} else {
			clear_inuse_at(rc, next, 0);
		}
		if (rc->vmin >= 41 && in_smallbin_range(rc, size)) {
			/* 2.41+: small chunks skip the unsorted bin */
			int i = smallbin_index(rc, size);
			uint64_t b = bin_at(rc, i), f = fd(rc, b);
			mark_bin(rc, i);
			set_bk(rc, p, b);
			set_fd(rc, p, f);
			set_fd(rc, b, p);
			set_bk(rc, f, p);
		} else {
			to_unsorted(rc, p, size);
		}
		set_head(rc, p, size | PREV_INUSE);
		set_foot(rc, p, size);
	} else {
		size += nextsize;
		set_head(rc, p, size | PREV_INUSE);
		rc->top = p;
	}
	return size;
}

/* The tail of a free that consolidates: fastbins, then trim. */
static void maybe_consolidate(struct hs_refcore *rc, uint64_t size)
{
	if (size >= 65536) { /* FASTBIN_CONSOLIDATION_THRESHOLD */
		if (rc->have_fastchunks)
			malloc_consolidate(rc);
		if (csize(rc, rc->top) >= rc->trim_threshold)
			systrim(rc, rc->top_pad);
	}
}

/* _int_free_merge_chunk: coalesce p with its free neighbours and bin it. */
static void merge_chunk(struct hs_refcore *rc, uint64_t p, uint64_t size)
{
	uint64_t next = p + size;
	if (!prev_inuse(rc, next)) {
		snprintf(rc->error, sizeof rc->error, "double free or corruption (!prev) (0x%llx)",
			 (unsigned long long)chunk2mem(rc, p));
		return;
	}
	uint64_t nextsize = csize(rc, next);
	if (!prev_inuse(rc, p)) {
		uint64_t ps = prev_size(rc, p);
		size += ps;
		p -= ps;
		unlink_chunk(rc, p);
	}
	size = create_chunk(rc, p, size, next, nextsize);
	maybe_consolidate(rc, size);
}

static void int_free(struct hs_refcore *rc, uint64_t p)
{
	uint64_t size = csize(rc, p);
	uint64_t tc_idx = csize2tidx(rc, size);
	if (rc->tcache && tc_idx < rc->tcache_bins) {
		uint64_t e = chunk2mem(rc, p);
		uint64_t key = rc->vmin >= 34 ? rc->tcache_key : rc->tcache;
		if (rd(rc, e + W(1)) == key) {
			for (uint64_t t = tc_entry(rc, tc_idx); t; t = protect(rc, t, rd(rc, t))) {
				if (t == e) {
					snprintf(rc->error, sizeof rc->error,
						 "free(): double free detected in tcache 2 (0x%llx)",
						 (unsigned long long)e);
					return;
				}
			}
		}
		if (tc_count(rc, tc_idx) < rc->tcache_count) {
			tcache_put(rc, p, tc_idx);
			return;
		}
	}

	if (size <= rc->max_fast) {
		rc->have_fastchunks = 1;
		int idx = fastbin_index(rc, size);
		uint64_t old = rc->fastbins[idx];
		if (old == p) {
			snprintf(rc->error, sizeof rc->error, "double free or corruption (fasttop) (0x%llx)",
				 (unsigned long long)chunk2mem(rc, p));
			return;
		}
		set_fd(rc, p, protect(rc, p + W(2), old));
		rc->fastbins[idx] = p;
		return;
	}
	if (is_mmapped(rc, p)) {
		munmap_chunk(rc, p);
		return;
	}
	merge_chunk(rc, p, size);
}

/* ---- tcache_init and the public entry points ---------------------------------- */

static void tcache_init_bytes(struct hs_refcore *rc, uint64_t bytes)
{
	uint64_t v = int_malloc(rc, bytes);
	if (v) {
		rc->tcache = v;
		zero(rc, v, (uint64_t)rc->lay.tc_size);
		/* 2.42+: num_slots start full (tc_set_count converts) */
		for (int i = 0; i < rc->lay.tc_nbins && rc->lay.tcache_counts_down; i++)
			tc_set_count(rc, (uint64_t)i, 0);
	}
}

static void tcache_init(struct hs_refcore *rc)
{
	tcache_init_bytes(rc, (uint64_t)rc->lay.tc_size);
}

static void maybe_init_tcache(struct hs_refcore *rc)
{
	if (!rc->tcache)
		tcache_init(rc);
}

static bool chunk_ok(struct hs_refcore *rc, uint64_t mem, const char *who)
{
	if ((mem & rc->mask) || !at(rc, mem - W(2), W(2))) {
		snprintf(rc->error, sizeof rc->error, "%s(): invalid pointer 0x%llx", who, (unsigned long long)mem);
		return false;
	}
	return true;
}

/* 2.43's _int_free_chunk: no tcache, no fastbin. */
static void free_chunk(struct hs_refcore *rc, uint64_t p)
{
	if (is_mmapped(rc, p)) {
		free_mmapped(rc, p);
		return;
	}
	merge_chunk(rc, p, csize(rc, p));
}

static void free43(struct hs_refcore *rc, uint64_t mem)
{
	uint64_t p = mem2chunk(rc, mem);
	uint64_t size = csize(rc, p);
	if (size < rc->tcache_max_bytes) {
		uint64_t tc_idx = csize2tidx(rc, size);
		if (rc->tcache && rd(rc, mem + W(1)) == rc->tcache_key) {
			for (uint64_t i = 0; i < (uint64_t)rc->lay.tc_nbins; i++)
				for (uint64_t t = tc_entry(rc, i); t; t = protect(rc, t, rd(rc, t)))
					if (t == mem) {
						snprintf(rc->error, sizeof rc->error,
							 "free(): double free detected in tcache 2 (0x%llx)",
							 (unsigned long long)mem);
						return;
					}
			wr(rc, mem + W(1), 0);
		}
		if (rc->tcache && tc_idx < rc->tcache_bins && tc_count(rc, tc_idx) < rc->tcache_count) {
			tcache_put(rc, p, tc_idx);
			return;
		}
		if (!rc->tcache) { /* tcache_free_init: allocate it, free again */
			tcache_init(rc);
			if (rc->tcache) {
				free43(rc, mem);
				return;
			}
		}
	}
	free_chunk(rc, p);
}

uint64_t hs_refcore_malloc(struct hs_refcore *rc, uint64_t bytes)
{
	ptmalloc_init(rc);
	if (rc->v43) {
		uint64_t nb = checked_request2size(rc, bytes);
		if (nb == 0)
			return 0;
		uint64_t idx = csize2tidx(rc, nb);
		if (nb < rc->tcache_max_bytes && rc->tcache && tc_entry(rc, idx))
			return tcache_get(rc, idx);
		return int_malloc(rc, bytes);
	}
	uint64_t tbytes = checked_request2size(rc, bytes);
	if (tbytes == 0)
		return 0;
	uint64_t tc_idx = csize2tidx(rc, tbytes);
	maybe_init_tcache(rc);
	if (tc_idx < rc->tcache_bins && rc->tcache && tc_count(rc, tc_idx) > 0)
		return tcache_get(rc, tc_idx);
	return int_malloc(rc, bytes);
}

void hs_refcore_free(struct hs_refcore *rc, uint64_t mem)
{
	if (mem == 0)
		return;
	if (!chunk_ok(rc, mem, "free"))
		return;
	if (rc->v43) {
		free43(rc, mem);
		return;
	}
	uint64_t p = mem2chunk(rc, mem);
	if (is_mmapped(rc, p)) {
		free_mmapped(rc, p);
		return;
	}
	maybe_init_tcache(rc);
	int_free(rc, p);
}

static uint64_t int_realloc(struct hs_refcore *rc, uint64_t oldp, uint64_t oldsize, uint64_t nb)
{
	uint64_t next = oldp + oldsize;
	uint64_t nextsize = csize(rc, next);
	uint64_t newp, newsize;
	if (oldsize >= nb) {
		newp = oldp;
		newsize = oldsize;
	} else if (next == rc->top && (newsize = oldsize + nextsize) >= nb + rc->minsize) {
		set_head_size(rc, oldp, nb);
		rc->top = oldp + nb;
		set_head(rc, rc->top, (newsize - nb) | PREV_INUSE);
		return chunk2mem(rc, oldp);
	} else if (next != rc->top && !inuse_at(rc, next, nextsize) && (newsize = oldsize + nextsize) >= nb) {
		newp = oldp;
		unlink_chunk(rc, next);
	} else {
		uint64_t newmem = int_malloc(rc, nb - rc->mask);
		if (newmem == 0)
			return 0;
		newp = mem2chunk(rc, newmem);
		newsize = csize(rc, newp);
		if (newp == next) {
			newsize += oldsize;
			newp = oldp;
		} else {
			uint64_t sz = oldsize - rc->sz; /* memsize */
			unsigned char *src = at(rc, chunk2mem(rc, oldp), sz), *dst = at(rc, newmem, sz);
			if (src && dst)
				memmove(dst, src, (size_t)sz);
			if (rc->v43)
				free_chunk(rc, oldp);
			else
				int_free(rc, oldp);
			return newmem;
		}
	}
	uint64_t rsize = newsize - nb;
	if (rsize < rc->minsize) {
		set_head_size(rc, newp, newsize);
		set_inuse_at(rc, newp, newsize);
	} else {
		uint64_t rem = newp + nb;
		set_head_size(rc, newp, nb);
		set_head(rc, rem, rsize | PREV_INUSE);
		set_inuse_at(rc, rem, rsize);
		if (rc->v43)
			free_chunk(rc, rem);
		else
			int_free(rc, rem);
	}
	return chunk2mem(rc, newp);
}

uint64_t hs_refcore_realloc(struct hs_refcore *rc, uint64_t oldmem, uint64_t bytes)
{
	ptmalloc_init(rc);
	if (bytes == 0 && oldmem != 0) { /* REALLOC_ZERO_BYTES_FREES */
		hs_refcore_free(rc, oldmem);
		return 0;
	}
	if (oldmem == 0)
		return hs_refcore_malloc(rc, bytes);
	if (!chunk_ok(rc, oldmem, "realloc"))
		return 0;
	if (rc->v43) {
		uint64_t oldp = mem2chunk(rc, oldmem), oldsize = csize(rc, oldp);
		uint64_t usable = oldsize - rc->hdr + rc->sz; /* memsize */
		if (!is_mmapped(rc, oldp) && !inuse_at(rc, oldp, oldsize))
			usable = 0;
		if (bytes <= usable && usable - bytes < 2 * rc->sz)
			return oldmem;
		uint64_t nb = checked_request2size(rc, bytes);
		if (nb == 0)
			return 0;
		if (is_mmapped(rc, oldp)) {
			uint64_t np = mremap_chunk(rc, oldp, nb);
			if (np)
				return chunk2mem(rc, np);
			if (bytes <= usable)
				return oldmem;
			uint64_t newmem = hs_refcore_malloc(rc, bytes);
			if (!newmem)
				return 0;
			munmap_chunk(rc, oldp);
			return newmem;
		}
		return int_realloc(rc, oldp, oldsize, nb);
	}
	uint64_t oldp = mem2chunk(rc, oldmem);
	uint64_t oldsize = csize(rc, oldp);
	if (rc->vmin >= 37) {
		/* 2.37: keep the block when it shrinks by up to trim_threshold;
		 * 2.38-2.41: only when it changes by less than 2 * SIZE_SZ, or
		 * an mmapped one by up to a page (musable: chunksize - CHUNK_HDR_SZ
		 * for mmapped chunks, memsize otherwise). */
		uint64_t usable = is_mmapped(rc, oldp) ? oldsize - rc->hdr
				  : inuse_at(rc, oldp, oldsize) ? oldsize - rc->hdr + rc->sz : 0;
		if (bytes <= usable) {
			uint64_t diff = usable - bytes;
			if (rc->vmin == 37 ? diff <= rc->trim_threshold
					   : diff < 2 * rc->sz || (is_mmapped(rc, oldp) && diff <= PAGE))
				return oldmem;
		}
	}
	if (!is_mmapped(rc, oldp))
		maybe_init_tcache(rc);
	uint64_t nb = checked_request2size(rc, bytes);
	if (nb == 0)
		return 0;
	if (is_mmapped(rc, oldp)) {
		uint64_t np = mremap_chunk(rc, oldp, nb);
		if (np)
			return chunk2mem(rc, np);
		if (oldsize - rc->sz >= nb)
			return oldmem;
		uint64_t newmem = hs_refcore_malloc(rc, bytes);
		if (!newmem)
			return 0;
		munmap_chunk(rc, oldp);
		return newmem;
	}
	return int_realloc(rc, oldp, oldsize, nb);
}

uint64_t hs_refcore_calloc(struct hs_refcore *rc, uint64_t n, uint64_t elem)
{
	uint64_t bytes;
	if (__builtin_mul_overflow(n, elem, &bytes) || bytes > rc->wmax)
		return 0;
	ptmalloc_init(rc);
	if (rc->v43) {
		uint64_t nb = checked_request2size(rc, bytes);
		if (nb && nb < rc->tcache_max_bytes && rc->tcache && tc_entry(rc, csize2tidx(rc, nb))) {
			uint64_t idx = csize2tidx(rc, nb);
			uint64_t m = tcache_get(rc, idx);
			zero(rc, m, idx * 16 + rc->minsize - rc->sz); /* tidx2usize */
			return m;
		}
		uint64_t mem = int_malloc(rc, bytes);
		if (mem && !is_mmapped(rc, mem2chunk(rc, mem)))
			zero(rc, mem, csize(rc, mem2chunk(rc, mem)) - rc->sz);
		return mem;
	}
	if (rc->vmin == 41) { /* 2.41: calloc takes from the tcache too */
		uint64_t tb = checked_request2size(rc, bytes);
		if (tb == 0)
			return 0;
		uint64_t idx = csize2tidx(rc, tb);
		maybe_init_tcache(rc);
		if (idx < rc->tcache_bins && rc->tcache && tc_count(rc, idx) > 0) {
			uint64_t m = tcache_get(rc, idx);
			zero(rc, m, csize(rc, mem2chunk(rc, m)) - rc->sz);
			return m;
		}
	}
	maybe_init_tcache(rc);
	uint64_t mem = int_malloc(rc, bytes);
	if (!mem)
		return 0;
	uint64_t p = mem2chunk(rc, mem);
	if (is_mmapped(rc, p))
		return mem;
	zero(rc, mem, csize(rc, p) - rc->sz);
	return mem;
}

static uint64_t int_memalign43(struct hs_refcore *rc, uint64_t alignment, uint64_t nb)
{
	uint64_t m = int_malloc(rc, nb + alignment + rc->minsize);
	if (!m)
		return 0;
	uint64_t p = mem2chunk(rc, m);
	if (is_mmapped(rc, p)) {
		uint64_t base = p - prev_size(rc, p);
		uint64_t msize = prev_size(rc, p) + csize(rc, p) + rc->hdr;
		uint64_t newp = mem2chunk(rc, (m + alignment - 1) & -alignment);
		set_prev_size(rc, newp, newp - base);
		set_head(rc, newp, (msize - (newp - base) - rc->hdr) | IS_MMAPPED);
		return chunk2mem(rc, newp);
	}
	uint64_t size = csize(rc, p);
	if (m & (alignment - 1)) {
		uint64_t newp = mem2chunk(rc, (m + rc->minsize + alignment - 1) & -alignment);
		uint64_t lead = newp - p;
		size -= lead;
		set_head(rc, newp, size | PREV_INUSE);
		set_inuse_at(rc, newp, size);
		set_head_size(rc, p, lead);
		merge_chunk(rc, p, lead);
		p = newp;
	}
	if (size - nb >= rc->minsize) {
		uint64_t next = p + size;
		set_head_size(rc, p, nb);
		maybe_consolidate(rc, create_chunk(rc, p + nb, size - nb, next, csize(rc, next)));
	}
	return chunk2mem(rc, p);
}

static uint64_t int_memalign(struct hs_refcore *rc, uint64_t alignment, uint64_t bytes)
{
	uint64_t nb = checked_request2size(rc, bytes);
	if (nb == 0)
		return 0;
	if (rc->v43)
		return int_memalign43(rc, alignment, nb);
	uint64_t m = int_malloc(rc, nb + alignment + rc->minsize);
	if (!m)
		return 0;
	uint64_t p = mem2chunk(rc, m);
	if (m % alignment) {
		uint64_t brk = mem2chunk(rc, (m + alignment - 1) & -alignment);
		if (brk - p < rc->minsize)
			brk += alignment;
		uint64_t newp = brk, lead = brk - p;
		uint64_t newsize = csize(rc, p) - lead;
		if (is_mmapped(rc, p)) {
			set_prev_size(rc, newp, prev_size(rc, p) + lead);
			set_head(rc, newp, newsize | IS_MMAPPED);
			return chunk2mem(rc, newp);
		}
		set_head(rc, newp, newsize | PREV_INUSE);
		set_inuse_at(rc, newp, newsize);
		set_head_size(rc, p, lead);
		if (rc->vmin >= 39)
			merge_chunk(rc, p, lead); /* no tcache, no fastbin */
		else
			int_free(rc, p);
		p = newp;
	}
	if (!is_mmapped(rc, p)) {
		uint64_t size = csize(rc, p);
		if (rc->vmin >= 39) {
			uint64_t next = p + size, nextsize = csize(rc, next);
			if (size > nb && (size - nb >= rc->minsize || next == rc->top || !inuse_at(rc, next, nextsize))) {
				set_head_size(rc, p, nb);
				maybe_consolidate(rc, create_chunk(rc, p + nb, size - nb, next, nextsize));
			}
		} else if (size > nb + rc->minsize) {
			uint64_t rem = p + nb;
			set_head(rc, rem, (size - nb) | PREV_INUSE);
			set_head_size(rc, p, nb);
			int_free(rc, rem);
		}
	}
	return chunk2mem(rc, p);
}

uint64_t hs_refcore_memalign(struct hs_refcore *rc, uint64_t alignment, uint64_t bytes)
{
	ptmalloc_init(rc);
	if (alignment <= 16)
		return hs_refcore_malloc(rc, bytes);
	if (alignment < rc->minsize)
		alignment = rc->minsize;
	if (alignment > rc->wmax / 2 + 1)
		return 0;
	if (alignment & (alignment - 1)) {
		uint64_t a = 32;
		while (a < alignment)
			a <<= 1;
		alignment = a;
	}
	if (rc->vmin == 41 || rc->v43) {
		/* 2.41, 2.43: a tcache chunk that happens to be aligned is taken */
		uint64_t nb = checked_request2size(rc, bytes);
		if (nb == 0)
			return 0;
		uint64_t idx = csize2tidx(rc, nb);
		if (idx < rc->tcache_bins && rc->tcache && tc_count(rc, idx) > 0 &&
		    (!rc->v43 || nb < rc->tcache_max_bytes)) {
			uint64_t ep = 0, e = tc_entry(rc, idx); /* ep: the entry whose next points at e */
			while (e && (e & (alignment - 1))) {
				ep = e;
				e = protect(rc, e, rd(rc, e));
			}
			if (e) {
				uint64_t next = protect(rc, e, rd(rc, e));
				if (!ep)
					tc_set_entry(rc, idx, next);
				else
					wr(rc, ep, protect(rc, ep, next));
				tc_set_count(rc, idx, tc_count(rc, idx) - 1);
				wr(rc, e + W(1), 0);
				return e;
			}
		}
	}
	return int_memalign(rc, alignment, bytes);
}

int hs_refcore_trim(struct hs_refcore *rc, uint64_t pad)
{
	ptmalloc_init(rc);
	malloc_consolidate(rc);
	const uint64_t psm1 = PAGE - 1;
	int psindex = bin_index(rc, PAGE);
	int result = 0;
	for (int i = 1; i < NBINS; i++) {
		if (i != 1 && i < psindex)
			continue;
		uint64_t bin = bin_at(rc, i);
		for (uint64_t p = bk(rc, bin); p != bin; p = bk(rc, p)) {
			uint64_t size = csize(rc, p);
			if (size > psm1 + W(6)) {
				uint64_t pal = (p + W(6) + psm1) & ~psm1;
				size -= pal - p;
				if (size > psm1) {
					zero(rc, pal, size & ~psm1); /* MADV_DONTNEED */
					result = 1;
				}
			}
		}
	}
	return result | (rc->sbrk_base ? systrim(rc, pad) : 0);
}

/* ---- lifetime, state for the image --------------------------------------------- */

struct hs_refcore *hs_refcore_new(const struct hs_refcore_cfg *cfg)
{
	/* 2.38 scanned the bins in memalign and 2.42 reworked tcache, calloc
	 * and mmap sizing: not modelled, so refused rather than approximated. */
	if (cfg->vmajor != 2 || cfg->vminor < 31 || cfg->vminor > 43 || cfg->vminor == 38 || cfg->vminor == 42 ||
	    (cfg->size_sz != 4 && cfg->size_sz != 8))
		return NULL;
	uint64_t top = cfg->size_sz == 8 ? MMAP_TOP64 : MMAP_TOP32;
	/* room for the heap to grow below the simulated mmap area */
	if (cfg->heap_base && ((cfg->heap_base & (PAGE - 1)) || cfg->heap_base < 0x10000 ||
			       cfg->heap_base > top - (cfg->size_sz == 8 ? 1ull << 36 : 1ull << 30)))
		return NULL;
	struct hs_refcore *rc = hs_xcalloc(1, sizeof *rc);
	rc->cfg = *cfg;
	hs_refcore_layout(cfg->vmajor, cfg->vminor, cfg->size_sz, &rc->lay); /* in range: checked above */
	rc->sz = cfg->size_sz;
	rc->vmin = cfg->vminor;
	rc->wmax = rc->sz == 8 ? UINT64_MAX : UINT32_MAX;
	rc->mask = 15;
	rc->hdr = 2 * rc->sz;
	rc->minsize = (4 * rc->sz + 15) & ~15ull;
	rc->min_large = (uint64_t)(NSMALLBINS - (rc->sz == 4 ? 1 : 0)) * 16;
	rc->nfast = rc->lay.nfastbins;
	rc->safe_link = rc->lay.safe_linking;
	rc->heap_base = cfg->heap_base ? cfg->heap_base : rc->sz == 8 ? HS_RC_HEAP_BASE64 : HS_RC_HEAP_BASE32;
	rc->brk = rc->heap_base;
	rc->libc = rc->sz == 8 ? LIBC64 : LIBC32;
	rc->arena = rc->libc + ARENA_OFF;
	rc->mmap_top = rc->sz == 8 ? MMAP_TOP64 : MMAP_TOP32;
	rc->mmap_floor = rc->heap_base + (rc->sz == 8 ? (1ull << 40) : (1ull << 30));
	if (rc->mmap_floor > rc->mmap_top / 4 * 3)
		rc->mmap_floor = rc->heap_base + (rc->mmap_top - rc->heap_base) / 2;
	rc->trim_threshold = 128 * 1024;
	rc->top_pad = 128 * 1024;
	rc->mmap_threshold = 128 * 1024;
	rc->arena_test = rc->sz == 4 ? 2 : 8;
	rc->n_mmaps_max = 65536;
	rc->tcache_bins = TCACHE_SMALL_BINS;
	rc->v43 = cfg->vminor >= 43;
	/* tidx2usize(63); 2.43: MAX_TCACHE_SMALL_SIZE + 1, a chunk size bound */
	rc->tcache_max_bytes = rc->v43 ? 63 * 16 + rc->minsize + 1 : 63 * 16 + rc->minsize - rc->sz;
	rc->tcache_count = rc->v43 ? 16 : 7;
	rc->tcache_key = rc->sz == 8 ? 0x7e57ca11ab1e5eedull : 0x7e57ca11u;
	return rc;
}

void hs_refcore_destroy(struct hs_refcore *rc)
{
	if (!rc)
		return;
	for (size_t i = 0; i < rc->nmm; i++)
		free(rc->mm[i].bytes);
	free(rc->mm);
	free(rc->heap);
	free(rc);
}

const char *hs_refcore_error(const struct hs_refcore *rc)
{
	return rc->error[0] ? rc->error : NULL;
}

const struct hs_layout *hs_refcore_layout_of(const struct hs_refcore *rc)
{
	return &rc->lay;
}

static void put(struct hs_refcore *rc, uint64_t addr, int off, uint64_t v, int width)
{
	if (off < 0)
		return;
	unsigned char *p = at(rc, addr + (uint64_t)off, (uint64_t)width);
	for (int i = 0; i < width; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

void hs_refcore_sync(struct hs_refcore *rc)
{
	const struct hs_layout *l = &rc->lay;
	uint64_t a = rc->arena, mp = rc->libc + MP_OFF;
	int w = (int)rc->sz;
	put(rc, a, l->ms_mutex, 0, 4);
	put(rc, a, l->ms_flags, 0, 4); /* main arena: contiguous, not corrupt */
	put(rc, a, l->ms_have_fastchunks, (uint64_t)rc->have_fastchunks, 4);
	for (int i = 0; i < rc->nfast; i++)
		put(rc, a, l->ms_fastbins + i * w, rc->fastbins[i], w);
	put(rc, a, l->ms_top, rc->initialized ? rc->top : 0, w);
	put(rc, a, l->ms_last_remainder, rc->last_remainder, w);
	for (int i = 0; i < 4; i++)
		put(rc, a, l->ms_binmap + 4 * i, rc->binmap[i], 4);
	put(rc, a, l->ms_next, a, w);
	put(rc, a, l->ms_next_free, 0, w);
	put(rc, a, l->ms_attached_threads, 1, w);
	put(rc, a, l->ms_system_mem, rc->system_mem, w);
	put(rc, a, l->ms_max_system_mem, rc->max_system_mem, w);

	put(rc, mp, l->mp_trim_threshold, rc->trim_threshold, w);
	put(rc, mp, l->mp_top_pad, rc->top_pad, w);
	put(rc, mp, l->mp_mmap_threshold, rc->mmap_threshold, w);
	put(rc, mp, l->mp_arena_test, rc->arena_test, w);
	put(rc, mp, l->mp_arena_max, 0, w);
	put(rc, mp, l->mp_hp_pagesize, 0, w);
	put(rc, mp, l->mp_n_mmaps, (uint64_t)(uint32_t)rc->n_mmaps, 4);
	put(rc, mp, l->mp_n_mmaps_max, (uint64_t)(uint32_t)rc->n_mmaps_max, 4);
	put(rc, mp, l->mp_max_n_mmaps, (uint64_t)(uint32_t)rc->max_n_mmaps, 4);
	put(rc, mp, l->mp_no_dyn_threshold, (uint64_t)(uint32_t)rc->no_dyn_threshold, 4);
	put(rc, mp, l->mp_mmapped_mem, rc->mmapped_mem, w);
	put(rc, mp, l->mp_max_mmapped_mem, rc->max_mmapped_mem, w);
	put(rc, mp, l->mp_sbrk_base, rc->sbrk_base, w);
	put(rc, mp, l->mp_tcache_bins, rc->tcache_bins, w);
	put(rc, mp, l->mp_tcache_max_bytes, rc->tcache_max_bytes, w);
	put(rc, mp, l->mp_tcache_count, rc->tcache_count, w);
	put(rc, mp, l->mp_tcache_unsorted_limit, rc->tcache_unsorted_limit, w);

	put(rc, rc->libc + TLS_OFF, TLS_TCACHE, rc->tcache, w);
	put(rc, rc->libc + TLS_OFF, TLS_ARENA, rc->initialized ? rc->arena : 0, w);
}

size_t hs_refcore_nregions(const struct hs_refcore *rc)
{
	return 1 + (rc->brk > rc->heap_base ? 1 : 0) + rc->nmm;
}

struct hs_refcore_region hs_refcore_region(const struct hs_refcore *rc, size_t i)
{
	if (i == 0)
		return (struct hs_refcore_region){rc->libc, LIBC_LEN, LIBC_LEN, rc->libc_bytes, "libc"};
	if (rc->brk > rc->heap_base && i == 1)
		return (struct hs_refcore_region){rc->heap_base, (size_t)(rc->brk - rc->heap_base),
						  (size_t)(rc->brk - rc->heap_base), rc->heap, "[heap]"};
	const struct mmregion *m = &rc->mm[i - 1 - (rc->brk > rc->heap_base ? 1 : 0)];
	return (struct hs_refcore_region){m->addr, (size_t)m->len, (size_t)(m->filled < m->len ? m->filled : m->len),
					  m->bytes, ""};
}

void hs_refcore_symbols(const struct hs_refcore *rc, struct hs_refcore_symbols *s)
{
	s->main_arena = rc->arena;
	s->mp = rc->libc + MP_OFF;
	/* TLS variant II: tp - l_tls_offset is libc's block */
	s->l_tls_offset = 0x100;
	s->tp = rc->libc + TLS_OFF + s->l_tls_offset;
	s->tls_tcache = TLS_TCACHE;
	s->tls_thread_arena = TLS_ARENA;
}

void hs_refcore_stats(const struct hs_refcore *rc0, struct hs_refcore_stats *s)
{
	struct hs_refcore *rc = (struct hs_refcore *)rc0;
	memset(s, 0, sizeof *s);
	s->sbrk_base = rc->sbrk_base;
	s->top = rc->top;
	s->top_size = rc->sbrk_base ? csize(rc, rc->top) : 0;
	s->system_mem = rc->system_mem;
	s->max_system_mem = rc->max_system_mem;
	s->mmap_threshold = rc->mmap_threshold;
	s->trim_threshold = rc->trim_threshold;
	s->mmapped_chunks = (uint64_t)rc->n_mmaps;
	s->mmapped_bytes = rc->mmapped_mem;
	for (size_t i = 0; i < rc->nmm; i++)
		s->mmapped_map_bytes += rc->mm[i].len;
	for (uint64_t i = 0; rc->tcache && i < rc->tcache_bins; i++) {
		uint64_t n = tc_count(rc, i);
		s->tcache_chunks += n;
		for (uint64_t e = tc_entry(rc, i); e; e = protect(rc, e, rd(rc, e)))
			s->tcache_bytes += csize(rc, mem2chunk(rc, e));
	}
	for (int i = 0; i < rc->nfast; i++)
		for (uint64_t p = rc->fastbins[i]; p; p = protect(rc, p + W(2), fd(rc, p))) {
			s->fast_chunks++;
			s->fast_bytes += csize(rc, p);
		}
	for (int i = 1; i < NBINS; i++) {
		uint64_t b = bin_at(rc, i);
		for (uint64_t p = fd(rc, b); p && p != b; p = fd(rc, p)) { /* 0: bins not set up yet */
			s->bin_chunks++;
			s->bin_bytes += csize(rc, p);
		}
	}
	/* In use: every chunk of the heap that is neither top nor in a bin
	 * (tcache and fastbin chunks look in use; subtract them). */
	if (rc->sbrk_base) {
		uint64_t p = (rc->sbrk_base + W(2) + 15) / 16 * 16 - W(2);
		uint64_t busy = 0, busyb = 0;
		while (p < rc->top) {
			uint64_t sz = csize(rc, p);
			if (sz == 0)
				break;
			if (inuse_at(rc, p, sz) && p + sz <= rc->top) {
				busy++;
				busyb += sz;
			}
			p += sz;
		}
		s->in_use_chunks = busy - s->tcache_chunks - s->fast_chunks;
		s->in_use_bytes = busyb - s->tcache_bytes - s->fast_bytes;
	}
}

void hs_refcore_home_of(const struct hs_refcore *crc, uint64_t size, struct hs_refcore_home *h)
{
	/* The index helpers only read the configuration. */
	struct hs_refcore *rc = (struct hs_refcore *)crc;
	h->bin = bin_index(rc, size);
	h->fast = fastbin_index(rc, size);
	uint64_t t = csize2tidx(rc, size);
	h->tcache = size >= rc->minsize && t < HS_MAX_TCACHE_BINS ? (int)t : -1;
}
