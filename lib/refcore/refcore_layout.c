/* refcore_layout.c - glibc's malloc structures laid out by C rules for a
 * word size (SIZE_SZ 4 or 8): malloc_state, malloc_par, heap_info and
 * tcache_perthread_struct, field by field as each release declares them.
 * For SIZE_SZ 8 the result must equal arch/'s measured tables (unit test). */
#include "refcore/refcore.h"

/* A struct being laid out: the next free offset and the widest alignment. */
struct lay {
	int off, align;
};

static int field(struct lay *s, int size, int align, int count)
{
	s->off = (s->off + align - 1) & -align;
	int at = s->off;
	s->off += size * count;
	if (align > s->align)
		s->align = align;
	return at;
}

static int end(struct lay *s)
{
	return (s->off + s->align - 1) & -s->align;
}

bool hs_refcore_layout(int vmajor, int vminor, unsigned size_sz, struct hs_layout *l)
{
	if (vmajor != 2 || vminor < 27 || vminor > 43 || (size_sz != 4 && size_sz != 8))
		return false;
	const int w = (int)size_sz; /* pointers, size_t and INTERNAL_SIZE_T alike */
	hs_layout_clear(l);
	l->size_sz = size_sz;
	l->align = 16; /* x86_64 and i386 alike (i386: 16 since 2.26) */
	l->vmajor = vmajor;
	l->vminor = vminor;
	l->safe_linking = vminor >= 32;
	l->tcache_counts_down = vminor >= 42;
	l->mmap_tail = vminor >= 43 ? 2 * size_sz : 0;
	/* HEAP_MAX_SIZE = 2 * DEFAULT_MMAP_THRESHOLD_MAX (4 MiB * sizeof(long);
	 * 512 KiB where __WORDSIZE is 32) */
	l->heap_max = size_sz == 8 ? 64ull << 20 : 1ull << 20;
	l->nbins = 128;

	/* NFASTBINS = fastbin_index(request2size(MAX_FAST_SIZE)) + 1 */
	uint64_t max_fast = 80 * size_sz / 4;
	uint64_t nb = (max_fast + size_sz + 15) & ~15ull;
	int nfast = (int)(nb >> (size_sz == 8 ? 4 : 3)) - 2 + 1;

	struct lay s = {0, 1};
	l->ms_mutex = field(&s, 4, 4, 1);
	l->ms_flags = field(&s, 4, 4, 1);
	if (vminor <= 42) {
		l->ms_have_fastchunks = field(&s, 4, 4, 1);
		l->ms_fastbins = field(&s, w, w, nfast);
		l->nfastbins = nfast;
	} else {
		l->nfastbins = 0;
	}
	l->ms_top = field(&s, w, w, 1);
	l->ms_last_remainder = field(&s, w, w, 1);
	l->ms_bins = field(&s, w, w, 128 * 2 - 2);
	l->ms_binmap = field(&s, 4, 4, 4);
	l->ms_next = field(&s, w, w, 1);
	l->ms_next_free = field(&s, w, w, 1);
	l->ms_attached_threads = field(&s, w, w, 1);
	l->ms_system_mem = field(&s, w, w, 1);
	l->ms_max_system_mem = field(&s, w, w, 1);
	l->ms_size = end(&s);

	s = (struct lay){0, 1};
	l->mp_trim_threshold = field(&s, w, w, 1);
	l->mp_top_pad = field(&s, w, w, 1);
	l->mp_mmap_threshold = field(&s, w, w, 1);
	l->mp_arena_test = field(&s, w, w, 1);
	l->mp_arena_max = field(&s, w, w, 1);
	if (vminor >= 43)
		field(&s, 4, 4, 1); /* thp_mode (an enum) */
	if (vminor >= 35) {
		field(&s, w, w, 1); /* thp_pagesize */
		l->mp_hp_pagesize = field(&s, w, w, 1);
		field(&s, 4, 4, 1); /* hp_flags */
	}
	l->mp_n_mmaps = field(&s, 4, 4, 1);
	l->mp_n_mmaps_max = field(&s, 4, 4, 1);
	l->mp_max_n_mmaps = field(&s, 4, 4, 1);
	l->mp_no_dyn_threshold = field(&s, 4, 4, 1);
	l->mp_mmapped_mem = field(&s, w, w, 1);
	l->mp_max_mmapped_mem = field(&s, w, w, 1);
	l->mp_sbrk_base = field(&s, w, w, 1);
	l->mp_tcache_bins = field(&s, w, w, 1);
	l->mp_tcache_max_bytes = field(&s, w, w, 1);
	l->mp_tcache_count = field(&s, w, w, 1);
	l->mp_tcache_unsorted_limit = field(&s, w, w, 1);
	l->mp_size = end(&s);

	s = (struct lay){0, 1};
	l->hi_ar_ptr = field(&s, w, w, 1);
	l->hi_prev = field(&s, w, w, 1);
	l->hi_hsize = field(&s, w, w, 1);
	l->hi_mprotect_size = field(&s, w, w, 1);
	if (vminor >= 35) {
		field(&s, w, w, 1); /* pagesize */
		field(&s, 1, 1, (-3 * w) & 15); /* pad: MALLOC_ALIGNMENT after the header */
	} else {
		field(&s, 1, 1, (-6 * w) & 15);
	}
	l->hi_size = end(&s);

	s = (struct lay){0, 1};
	l->tc_count_width = vminor >= 30 ? 2 : 1;
	l->tc_nbins = vminor >= 42 ? 76 : 64;
	l->tc_counts = field(&s, l->tc_count_width, l->tc_count_width, l->tc_nbins);
	l->tc_entries = field(&s, w, w, l->tc_nbins);
	l->tc_size = end(&s);
	return true;
}
