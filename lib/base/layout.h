/* layout.h - where glibc keeps each field, for one libc build.
 *
 * Filled from the libc's DWARF (symbols.c) or, without debuginfo, from the
 * per-version tables in arch/. Every reader after this stage takes offsets
 * from here and never hard-codes one. A field a version lacks is -1. */
#ifndef HS_LAYOUT_H
#define HS_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

/* The low bits of a chunk's size field. */
#define HS_PREV_INUSE 1u
#define HS_IS_MMAPPED 2u
#define HS_NON_MAIN_ARENA 4u
#define HS_SIZE_BITS 7u

#define HS_NBINS 128
#define HS_MAX_FASTBINS 11 /* i386: 11 (SIZE_SZ 4, fastbin_index by 8) */
#define HS_MAX_TCACHE_BINS 76

struct hs_layout {
	unsigned size_sz;      /* SIZE_SZ: 8, or 4 on 32-bit targets */
	unsigned align;        /* MALLOC_ALIGNMENT */
	int vmajor, vminor;    /* glibc version: 2, 36 */
	bool safe_linking;     /* >= 2.32: tcache and fastbin links mangled */
	bool tcache_counts_down; /* >= 2.42: num_slots counts free slots */
	uint64_t heap_max;     /* HEAP_MAX_SIZE when hp_pagesize is 0 */
	unsigned mmap_tail;    /* bytes of an mmapped chunk's mapping past its size
				  (2.43: CHUNK_HDR_SZ; munmap_chunk adds it back) */

	/* struct malloc_state */
	int ms_size, ms_mutex, ms_flags, ms_have_fastchunks, ms_fastbins, ms_top,
		ms_last_remainder, ms_bins, ms_binmap, ms_next, ms_next_free,
		ms_attached_threads, ms_system_mem, ms_max_system_mem;
	int nfastbins; /* entries of fastbinsY; 0 where fastbins are gone */
	int nbins;     /* NBINS: bins[] holds 2 * (nbins - 1) pointers */

	/* struct malloc_par (mp_) */
	int mp_size, mp_trim_threshold, mp_top_pad, mp_mmap_threshold, mp_arena_test,
		mp_arena_max, mp_hp_pagesize, mp_n_mmaps, mp_n_mmaps_max, mp_max_n_mmaps,
		mp_no_dyn_threshold, mp_mmapped_mem, mp_max_mmapped_mem, mp_sbrk_base,
		mp_tcache_bins, mp_tcache_max_bytes, mp_tcache_count,
		mp_tcache_unsorted_limit;

	/* heap_info */
	int hi_size, hi_ar_ptr, hi_prev, hi_hsize, hi_mprotect_size;

	/* tcache_perthread_struct */
	int tc_size, tc_counts, tc_entries;
	int tc_count_width; /* bytes per counter: 1 (<= 2.29) or 2 */
	int tc_nbins;       /* TCACHE_MAX_BINS (+ large bins in 2.42+) */

	/* TLS: offsets of `tcache` and `thread_arena` inside libc's block. */
	int64_t tls_tcache, tls_thread_arena;
};

/* Marks every field absent (-1), to be filled in by a source. */
void hs_layout_clear(struct hs_layout *l);
/* Names the first field a complete walk needs but the layout lacks, or
 * NULL when the layout is usable. */
const char *hs_layout_missing(const struct hs_layout *l);
/* Says what is impossible in a layout (a field outside its struct, an
 * array past its end, a struct of more than 64 KiB), or NULL: a debug file
 * is the target's to write, and the readers index their buffers by it. */
const char *hs_layout_unsound(const struct hs_layout *l);

#endif
