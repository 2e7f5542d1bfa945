/* refcore.h - the reference allocator core: a deterministic model of
 * glibc's ptmalloc2 (one arena, one thread) that lays its heap out in a
 * simulated address space exactly as glibc does, for a chosen glibc
 * version and word size.
 *
 * What it promises: after the same sequence of malloc/free/realloc/calloc/
 * memalign/malloc_trim calls, every chunk of the main heap sits at the same
 * offset from the heap start, with the same header words and the same list
 * links (safe-linking included), as in a fresh single-threaded process
 * running that glibc (where nothing else called malloc first); malloc_state,
 * mp_ and the tcache hold the same values. mmapped chunks get addresses
 * from a simulated top-down mmap, so only their sizes match a process
 * (and a memalign above the page size served by mmap can differ, since its
 * lead depends on where the kernel put the mapping).
 *
 * Addresses are simulated: the sbrk heap starts at HS_RC_HEAP_BASE{64,32}
 * or at cfg.heap_base. Out of (simulated) memory is a NULL (0) return, as
 * in glibc; a host that cannot back a huge simulated mapping makes it fail
 * where a real process might have got it (overcommit). */
#ifndef HS_REFCORE_H
#define HS_REFCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/layout.h"

#define HS_RC_HEAP_BASE64 0x555555559000ull
#define HS_RC_HEAP_BASE32 0x56559000ull

struct hs_refcore_cfg {
	int vmajor, vminor; /* glibc version modelled: 2.31 ... 2.41, not 2.38 */
	unsigned size_sz;   /* 8, or 4 (i386: MALLOC_ALIGNMENT 16) */
	/* Where the sbrk heap starts (page-aligned); 0: HS_RC_HEAP_BASE64/32.
	 * Only memalign with an alignment above the page size depends on it:
	 * give a live process's heap start to compare with that process. */
	uint64_t heap_base;
};

/* What glibc's own bookkeeping says, for tests and reconciliation. */
struct hs_refcore_stats {
	uint64_t sbrk_base, top, top_size, system_mem, max_system_mem;
	uint64_t in_use_chunks, in_use_bytes;   /* sbrk heap, the tcache struct included */
	uint64_t tcache_chunks, tcache_bytes;
	uint64_t fast_chunks, fast_bytes;
	uint64_t bin_chunks, bin_bytes;         /* unsorted + small + large */
	uint64_t mmapped_chunks, mmapped_bytes; /* mp_.n_mmaps, mp_.mmapped_mem */
	uint64_t mmapped_map_bytes;             /* what the mappings hold */
	uint64_t mmap_threshold, trim_threshold;
};

struct hs_refcore;

/* NULL when the version or word size is outside the model: 2.31 ... 2.41
 * except 2.38 (its memalign bin scan); 2.42+ (lazy tcache, large tcache
 * bins, 2.43's missing fastbins) are not modelled yet. */
struct hs_refcore *hs_refcore_new(const struct hs_refcore_cfg *cfg);
void hs_refcore_destroy(struct hs_refcore *rc);

uint64_t hs_refcore_malloc(struct hs_refcore *rc, uint64_t bytes);
void hs_refcore_free(struct hs_refcore *rc, uint64_t mem);
uint64_t hs_refcore_realloc(struct hs_refcore *rc, uint64_t mem, uint64_t bytes);
uint64_t hs_refcore_calloc(struct hs_refcore *rc, uint64_t n, uint64_t size);
uint64_t hs_refcore_memalign(struct hs_refcore *rc, uint64_t align, uint64_t bytes);
int hs_refcore_trim(struct hs_refcore *rc, uint64_t pad);

/* A corrupt call (free of a pointer the core never returned, a double
 * free glibc would catch): glibc aborts; the core refuses and says why.
 * NULL while none happened. */
const char *hs_refcore_error(const struct hs_refcore *rc);

const struct hs_layout *hs_refcore_layout_of(const struct hs_refcore *rc);
void hs_refcore_stats(const struct hs_refcore *rc, struct hs_refcore_stats *s);

/* The simulated address space, for the image builder: each region's
 * address, length and bytes (the arena region holds malloc_state and mp_
 * as laid out by hs_refcore_sync()). */
struct hs_refcore_region {
	uint64_t addr;
	size_t len;
	size_t filled; /* bytes[filled, len) are zero: no need to copy them */
	const unsigned char *bytes;
	const char *path; /* "[heap]", "" (anonymous) or "libc" */
};
/* Writes malloc_state, mp_ and the TLS slots into their regions. */
void hs_refcore_sync(struct hs_refcore *rc);
size_t hs_refcore_nregions(const struct hs_refcore *rc);
struct hs_refcore_region hs_refcore_region(const struct hs_refcore *rc, size_t i);
/* Addresses of main_arena, mp_, the thread pointer, libc's l_tls_offset
 * and the offsets of `tcache` and `thread_arena` in libc's TLS block. */
struct hs_refcore_symbols {
	uint64_t main_arena, mp, tp, l_tls_offset;
	int64_t tls_tcache, tls_thread_arena;
};
void hs_refcore_symbols(const struct hs_refcore *rc, struct hs_refcore_symbols *s);

/* Which lists glibc would put a free chunk of this size in: its tcache
 * bin (-1 beyond every tcache bin), its fastbin (by glibc's fastbin_index;
 * whether fastbins take it depends on M_MXFAST) and its regular bin
 * (small 2..63, large 64..126). --compare checks the live lists with it. */
struct hs_refcore_home {
	int tcache, fast, bin;
};
void hs_refcore_home_of(const struct hs_refcore *rc, uint64_t chunk_size, struct hs_refcore_home *h);

/* The structure layout of glibc vmajor.vminor for a word size, computed
 * from the structure definitions by C layout rules (refcore_layout.c).
 * False (l untouched) outside 2.27 ... 2.43 or for another word size. */
bool hs_refcore_layout(int vmajor, int vminor, unsigned size_sz, struct hs_layout *l);

#endif
