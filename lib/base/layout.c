/* layout.c - checks that a layout has what the readers need. */
#include "base/layout.h"

#include <stddef.h>
#include <string.h>

void hs_layout_clear(struct hs_layout *l)
{
	memset(l, 0xff, sizeof *l); /* every int field -1 */
	l->size_sz = 8;
	l->align = 16;
	l->vmajor = l->vminor = 0;
	l->safe_linking = false;
	l->tcache_counts_down = false;
	l->heap_max = 0;
	l->nfastbins = 0;
	l->nbins = HS_NBINS;
	l->tc_nbins = 0;
	l->tc_count_width = 0;
}

const char *hs_layout_missing(const struct hs_layout *l)
{
	static const struct {
		const char *name;
		size_t off;
	} need[] = {
#define F(x) {#x, offsetof(struct hs_layout, x)}
		F(ms_size), F(ms_top), F(ms_bins), F(ms_next), F(ms_system_mem),
		F(ms_max_system_mem), F(mp_size), F(mp_n_mmaps), F(mp_max_n_mmaps),
		F(mp_mmapped_mem), F(mp_max_mmapped_mem), F(mp_sbrk_base), F(hi_size),
		F(hi_ar_ptr), F(hi_prev), F(hi_hsize), F(hi_mprotect_size),
#undef F
	};
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
		if (*(const int *)((const char *)l + need[i].off) < 0)
			return need[i].name;
	if (l->nfastbins > 0 && l->ms_fastbins < 0)
		return "ms_fastbins";
	return NULL;
}

/* Every field inside its struct, every struct of a size glibc could have:
 * the readers size their buffers by the struct and index them by the
 * field, and a debug file is the target's to write. 64 KiB is far above
 * any glibc's malloc_state (2200 bytes on x86_64). */
#define MAX_STRUCT 65536

static bool inside(int off, uint64_t len, int size)
{
	return off < 0 || (uint64_t)off + len <= (uint64_t)size;
}

const char *hs_layout_unsound(const struct hs_layout *l)
{
	static const struct {
		const char *what;
		size_t off, size;
	} fields[] = {
#define F(x, s) {#x " lies outside its struct", offsetof(struct hs_layout, x), offsetof(struct hs_layout, s)}
		F(ms_mutex, ms_size), F(ms_flags, ms_size), F(ms_have_fastchunks, ms_size), F(ms_top, ms_size),
		F(ms_last_remainder, ms_size), F(ms_next, ms_size), F(ms_next_free, ms_size),
		F(ms_attached_threads, ms_size), F(ms_system_mem, ms_size), F(ms_max_system_mem, ms_size),
		F(mp_trim_threshold, mp_size), F(mp_top_pad, mp_size), F(mp_mmap_threshold, mp_size),
		F(mp_arena_test, mp_size), F(mp_arena_max, mp_size), F(mp_hp_pagesize, mp_size),
		F(mp_n_mmaps, mp_size), F(mp_n_mmaps_max, mp_size), F(mp_max_n_mmaps, mp_size),
		F(mp_no_dyn_threshold, mp_size), F(mp_mmapped_mem, mp_size), F(mp_max_mmapped_mem, mp_size),
		F(mp_sbrk_base, mp_size), F(mp_tcache_bins, mp_size), F(mp_tcache_max_bytes, mp_size),
		F(mp_tcache_count, mp_size), F(mp_tcache_unsorted_limit, mp_size), F(hi_ar_ptr, hi_size),
		F(hi_prev, hi_size), F(hi_hsize, hi_size), F(hi_mprotect_size, hi_size),
#undef F
	};
	if (l->ms_size > MAX_STRUCT || l->mp_size > MAX_STRUCT || l->hi_size > MAX_STRUCT ||
	    l->tc_size > MAX_STRUCT)
		return "a struct larger than 64 KiB";
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		int off = *(const int *)((const char *)l + fields[i].off);
		int size = *(const int *)((const char *)l + fields[i].size);
		if (!inside(off, l->size_sz, size))
			return fields[i].what;
	}
	if (l->nfastbins < 0 || l->nfastbins > HS_MAX_FASTBINS ||
	    !inside(l->ms_fastbins, (uint64_t)l->nfastbins * l->size_sz, l->ms_size))
		return "fastbinsY lies outside malloc_state";
	if (l->nbins < 1 || l->nbins > HS_NBINS || !inside(l->ms_bins, 2ull * (unsigned)(l->nbins - 1) * l->size_sz, l->ms_size))
		return "bins lies outside malloc_state";
	if (!inside(l->ms_binmap, 16, l->ms_size))
		return "binmap lies outside malloc_state";
	if (l->tc_nbins < 0 || l->tc_nbins > HS_MAX_TCACHE_BINS || l->tc_count_width < 0 || l->tc_count_width > 8)
		return "tcache_perthread_struct has an impossible number of bins";
	if (!inside(l->tc_counts, (uint64_t)l->tc_nbins * (unsigned)l->tc_count_width, l->tc_size) ||
	    !inside(l->tc_entries, (uint64_t)l->tc_nbins * l->size_sz, l->tc_size))
		return "tcache_perthread_struct's arrays lie outside it";
	return NULL;
}
