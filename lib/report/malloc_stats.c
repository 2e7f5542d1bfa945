/* report_mstats.c - glibc's malloc_stats(), byte for byte, from the census.
 *
 * The text is the same from glibc 2.26 to 2.43 (checked against
 * __malloc_stats at glibc-2.31, 2.36, 2.41 and master): "Arena %d:" per
 * arena in ring order, then the totals seeded with mp_.mmapped_mem. glibc
 * keeps the totals in an unsigned int and casts each arena's numbers to
 * unsigned int, so above 4 GiB they wrap modulo 2^32; that is reproduced
 * on purpose. Up to 2.32 the per-arena numbers come from a struct
 * mallinfo (int fields) rather than mallinfo2; converted to unsigned int
 * the result is the same value modulo 2^32, so no version switch is
 * needed here. */
#include "report/report.h"
#include "report/render.h"

/* glibc's `unsigned long` is the target's word: 32 bits on a 32-bit target. */
static unsigned long long target_ulong(const struct hs_census *c, uint64_t v)
{
	unsigned sz = c->sym ? c->sym->layout.size_sz : 8;
	return sz >= 8 ? v : v & 0xffffffffull;
}

void hs_report_malloc_stats(FILE *out, const struct hs_census *c)
{
	static const struct hs_mp nomp; /* no heap read: as a fresh process */
	const struct hs_mp *mp = c->heap ? &c->heap->mp : &nomp;
	unsigned int in_use_b = (unsigned int)mp->mmapped_mem, system_b = in_use_b;

	for (size_t i = 0; i < c->narenas; i++) {
		const struct hs_mallinfo2 *mi = &c->arenas[i].mi;
		fprintf(out, "Arena %d:\n", (int)i);
		fprintf(out, "system bytes     = %10u\n", (unsigned int)mi->arena);
		fprintf(out, "in use bytes     = %10u\n", (unsigned int)mi->uordblks);
		system_b += (unsigned int)mi->arena;
		in_use_b += (unsigned int)mi->uordblks;
	}
	fprintf(out, "Total (incl. mmap):\n");
	fprintf(out, "system bytes     = %10u\n", system_b);
	fprintf(out, "in use bytes     = %10u\n", in_use_b);
	fprintf(out, "max mmap regions = %10u\n", (unsigned int)mp->max_n_mmaps);
	fprintf(out, "max mmap bytes   = %10llu\n", target_ulong(c, mp->max_mmapped_mem));
}
