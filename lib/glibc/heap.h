/* heap.h - the allocator's state as read from the target: mp_, the ring
 * of arenas with their heaps and bin heads, each thread's tcache and
 * arena, and the mmapped chunks (which are in no list). arenas.c fills it
 * (with threads.c and mmapped.c); everything after reads it. */
#ifndef HS_HEAP_H
#define HS_HEAP_H

#include <string.h>

#include "glibc/symbols.h"
#include "source/target.h"

struct hs_heapseg {
	uint64_t info;         /* heap_info address; 0 for the main heap */
	uint64_t base;         /* where its system memory starts: heap_info or sbrk_base */
	uint64_t start;        /* first chunk */
	uint64_t end;          /* end of the heap's usable part (heap_info.size) */
	uint64_t size, mprotect_size; /* heap_info.size, .mprotect_size */
	uint64_t *present;      /* resident pages from base on (resident.c) */
	uint64_t present_first; /* page number of bit 0 */
	/* The kernel's page size of its memory (resident.c): a huge page's
	 * when it lies in hugetlb memory (glibc.malloc.hugetlb=2 with huge
	 * pages reserved: MAP_HUGETLB), else 0 for the base page. */
	uint64_t huge_page;
};

/* malloc_state.flags: NONCONTIGUOUS_BIT, glibc's own value. Set once
 * main_arena grew by mmap (pieces.c); then systrim never gives its top
 * back (the break is not where the top ends: MORECORE(0) is NULL with
 * hugetlb=2, the sbrk end otherwise). */
#define HS_ARENA_NONCONTIGUOUS 2u

struct hs_arena {
	int index;
	bool main;
	uint64_t addr;
	uint64_t top, last_remainder, next, next_free;
	uint64_t system_mem, max_system_mem, attached_threads;
	uint32_t mutex, flags;
	int have_fastchunks;
	uint64_t fastbins[HS_MAX_FASTBINS]; /* head chunk addresses (raw) */
	uint64_t bin_fd[HS_NBINS], bin_bk[HS_NBINS]; /* bins 1..nbins-1 */
	uint64_t bin_hdr[HS_NBINS];  /* bin_at(av, i): the fake chunk in bins[] */
	uint64_t binmap[4];
	/* Heaps in address order; the main arena has one, from sbrk_base. */
	struct hs_heapseg *heaps;
	size_t nheaps;
	bool initialised; /* bins set up: malloc has run at least once */
	/* Main arena, one stretch: the program break lies past the top
	 * chunk's end (a foreign sbrk after glibc's last growth; the [heap]
	 * mapping ends past it). systrim then gives nothing back: it trims
	 * only a top that ends at the break. */
	bool break_past_top;
};

struct hs_tcache {
	uint64_t addr; /* tcache_perthread_struct, 0 if the thread has none */
	int nbins;
	uint16_t counts[HS_MAX_TCACHE_BINS]; /* entries held (num_slots converted) */
	uint64_t entries[HS_MAX_TCACHE_BINS]; /* head user pointers (raw) */
};

struct hs_thread {
	pid_t tid;
	struct hs_regs regs;
	uint64_t arena_addr; /* thread_arena */
	int arena;           /* index in heap.arenas, -1 for none */
	struct hs_tcache tcache;
	bool in_malloc;
	const char *malloc_fn; /* which allocator function, if in_malloc */
};

struct hs_mmchunk {
	uint64_t addr, size; /* glibc's chunk: header address, chunksize (inside
			      * the mapping after memalign: addr - map_start
			      * is its prev_size) */
	uint64_t map_start, map_len; /* the whole mapping glibc would munmap */
};

struct hs_mp {
	uint64_t trim_threshold, top_pad, mmap_threshold, arena_test, arena_max, hp_pagesize;
	int32_t n_mmaps, n_mmaps_max, max_n_mmaps, no_dyn_threshold;
	uint64_t mmapped_mem, max_mmapped_mem, sbrk_base;
	uint64_t tcache_bins, tcache_max_bytes, tcache_count, tcache_unsorted_limit;
};

struct hs_heap {
	const struct hs_layout *layout;
	struct hs_mp mp;
	struct hs_arena *arenas;
	size_t narenas;
	struct hs_thread *threads;
	size_t nthreads;
	struct hs_mmchunk *mmapped;
	size_t nmmapped;
	bool malloc_initialised;
	/* Where tcache and thread_arena sit in libc's TLS block: from DWARF,
	 * or found by hs_locate_tls(); -1 when unknown. */
	int64_t tls_tcache, tls_thread_arena;
	bool have_residency; /* heaps[].present were read */
};

/* 2.42+ points a thread's tcache at a static, empty placeholder in libc
 * until the thread first frees: a tcache outside every heap is that. */
bool hs_tcache_placeholder(const struct hs_heap *h, uint64_t v);
/* glibc's heap_max_size(): the size and alignment of a thread heap's
 * reservation. 2.35 to 2.41 make it hp_pagesize * 4 when hugetlb=2 set
 * hp_pagesize; 2.42 (arena_for_chunk's rework) made it HEAP_MAX_SIZE
 * always. */
uint64_t hs_heap_max(const struct hs_heap *h);
/* The arena owning a heap address, -1 if none. */
int hs_arena_of(const struct hs_heap *h, uint64_t addr);
/* Does [start, end) overlap an arena's heap (a thread heap: its whole
 * HEAP_MAX-aligned reservation)? */
bool hs_heap_covers(const struct hs_heap *h, uint64_t start, uint64_t end);
void hs_heap_free(struct hs_heap *h);

/* A target word at b + off, SIZE_SZ bytes wide (4 or 8), little-endian. */
static inline uint64_t hs_word_at(const unsigned char *b, size_t off, unsigned size_sz)
{
	if (size_sz == 4) {
		uint32_t v;
		memcpy(&v, b + off, sizeof v);
		return v;
	}
	uint64_t v;
	memcpy(&v, b + off, sizeof v);
	return v;
}

#endif
