/* locate.c - signatures of main_arena, mp_ and the TLS slots. */
#include "glibc/locate.h"

#include <string.h>

static uint64_t word_at(const unsigned char *b, int off)
{
	uint64_t v;
	memcpy(&v, b + off, sizeof v);
	return v;
}

static uint32_t int_at(const unsigned char *b, int off)
{
	uint32_t v;
	memcpy(&v, b + off, sizeof v);
	return v;
}

/* DEFAULT_MMAP_THRESHOLD_MIN, DEFAULT_TOP_PAD (Linux), DEFAULT_TRIM_THRESHOLD */
#define INIT_THRESHOLD 0x20000u
#define INIT_N_MMAPS_MAX 65536u
#define INIT_TCACHE_BINS 64u

static bool is_main_arena(const unsigned char *b, const struct hs_layout *l, uint64_t vaddr)
{
	return word_at(b, l->ms_next) == vaddr && word_at(b, l->ms_attached_threads) == 1 &&
	       int_at(b, l->ms_mutex) == 0 && word_at(b, l->ms_system_mem) == 0 &&
	       word_at(b, l->ms_top) == 0;
}

static bool is_mp(const unsigned char *b, const struct hs_layout *l)
{
	uint64_t count = word_at(b, l->mp_tcache_count);
	return word_at(b, l->mp_trim_threshold) == INIT_THRESHOLD &&
	       word_at(b, l->mp_top_pad) == INIT_THRESHOLD &&
	       word_at(b, l->mp_mmap_threshold) == INIT_THRESHOLD && word_at(b, l->mp_arena_test) == 8 &&
	       int_at(b, l->mp_n_mmaps_max) == INIT_N_MMAPS_MAX &&
	       word_at(b, l->mp_tcache_bins) == INIT_TCACHE_BINS && (count == 7 || count == 16) &&
	       word_at(b, l->mp_sbrk_base) == 0;
}

int hs_locate_statics(Elf *elf, const struct hs_layout *l, uint64_t *main_arena, uint64_t *mp,
		      const char **why)
{
	int n_arena = 0, n_mp = 0;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    (sh.sh_flags & (SHF_WRITE | SHF_ALLOC)) != (SHF_WRITE | SHF_ALLOC))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		const unsigned char *b = d->d_buf;
		for (size_t off = 0; off + 8 <= d->d_size; off += 8) {
			if (off + (size_t)l->ms_size <= d->d_size && is_main_arena(b + off, l, sh.sh_addr + off)) {
				*main_arena = sh.sh_addr + off;
				n_arena++;
			}
			if (off + (size_t)l->mp_size <= d->d_size && is_mp(b + off, l)) {
				*mp = sh.sh_addr + off;
				n_mp++;
			}
		}
	}
	if (n_arena != 1) {
		*why = n_arena ? "main_arena's signature matches more than once" : "main_arena's signature is not in libc's data";
		return -1;
	}
	if (n_mp != 1) {
		*why = n_mp ? "mp_'s signature matches more than once" : "mp_'s signature is not in libc's data";
		return -1;
	}
	return 0;
}

static bool is_arena(const struct hs_heap *h, uint64_t v)
{
	for (size_t i = 0; i < h->narenas; i++)
		if (h->arenas[i].addr == v)
			return true;
	return false;
}

/* A tcache_perthread_struct: a chunk of exactly its size whose heads are
 * NULL or aligned user pointers. */
static bool is_tcache(struct hs_source *src, const struct hs_layout *l, uint64_t v)
{
	if (v & (l->align - 1))
		return false;
	uint64_t size;
	if (hs_read_u64(src, v - l->size_sz, &size) < 0)
		return false;
	uint64_t want = ((uint64_t)l->tc_size + l->size_sz + l->align - 1) & ~(uint64_t)(l->align - 1);
	if ((size & ~7ull) != want)
		return false;
	uint64_t e[HS_MAX_TCACHE_BINS];
	int n = l->tc_nbins < HS_MAX_TCACHE_BINS ? l->tc_nbins : HS_MAX_TCACHE_BINS;
	if (hs_read(src, v + (uint64_t)l->tc_entries, e, (size_t)n * 8) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (e[i] & (l->align - 1))
			return false;
	return true;
}

void hs_locate_tls(struct hs_source *src, const struct hs_symbols *sym, const struct hs_heap *h,
		   int64_t *tls_tcache, int64_t *tls_thread_arena)
{
	const struct hs_layout *l = &sym->layout;
	*tls_tcache = *tls_thread_arena = -1;
	if (!sym->have_tls)
		return;
	for (uint64_t off = 0; off + 8 <= sym->tls_size; off += 8) {
		bool arena_ok = true, tc_ok = true, any_arena = false, any_tc = false;
		for (size_t t = 0; t < h->nthreads && (arena_ok || tc_ok); t++) {
			uint64_t v;
			if (hs_read_u64(src, hs_arch_tls_addr(h->threads[t].regs.tp, sym->l_tls_offset, off), &v) < 0) {
				arena_ok = tc_ok = false;
				break;
			}
			if (v == 0)
				continue;
			bool arena = is_arena(h, v);
			if (arena_ok && arena)
				any_arena = true;
			else
				arena_ok = false;
			if (tc_ok && is_tcache(src, l, v))
				any_tc = true;
			else if (arena || !hs_tcache_placeholder(h, v))
				tc_ok = false;
		}
		if (arena_ok && any_arena && *tls_thread_arena < 0)
			*tls_thread_arena = (int64_t)off;
		else if (tc_ok && any_tc && *tls_tcache < 0)
			*tls_tcache = (int64_t)off;
	}
}
