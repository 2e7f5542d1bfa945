/* locate.c - signatures of main_arena and mp_ in libc's file. */
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

bool hs_locate_statics(Elf *elf, const struct hs_layout *l, uint64_t *main_arena, uint64_t *mp,
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
		return false;
	}
	if (n_mp != 1) {
		*why = n_mp ? "mp_'s signature matches more than once" : "mp_'s signature is not in libc's data";
		return false;
	}
	return true;
}
