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
