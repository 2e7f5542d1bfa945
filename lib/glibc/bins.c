/* bins.c - follow every free list through the walk's index. */
#include "glibc/bins.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t hs_tcache_bin_size(const struct hs_layout *l, int i)
{
	/* tidx2usize + overhead: MINSIZE + i * MALLOC_ALIGNMENT */
	return 4 * (uint64_t)l->size_sz + (uint64_t)i * l->align;
}

uint64_t hs_fastbin_size(const struct hs_layout *l, int i)
{
	/* fastbin_index(sz) = (sz >> (SIZE_SZ == 8 ? 4 : 3)) - 2 */
	return (uint64_t)(i + 2) << (l->size_sz == 8 ? 4 : 3);
}

/* glibc's bin_index(): smallbin_index (with SMALLBIN_CORRECTION where
 * MALLOC_ALIGNMENT exceeds CHUNK_HDR_SZ, as on i386) and largebin_index_64
 * or, for 4-byte words with 16-byte alignment, largebin_index_32_big. */
static int bin_index(const struct hs_layout *l, uint64_t sz)
{
	int corr = l->align > 2 * l->size_sz;
	if (sz < (uint64_t)(64 - corr) * l->align)
		return (int)(sz >> 4) + corr;
	if (l->size_sz == 4) {
		if ((sz >> 6) <= 45)
			return 49 + (int)(sz >> 6);
	} else if ((sz >> 6) <= 48) {
		return 48 + (int)(sz >> 6);
	}
	return (sz >> 9) <= 20 ? 91 + (int)(sz >> 9)
	     : (sz >> 12) <= 10 ? 110 + (int)(sz >> 12)
	     : (sz >> 15) <= 4 ? 119 + (int)(sz >> 15)
	     : (sz >> 18) <= 2 ? 124 + (int)(sz >> 18) : 126;
}

static void add_node(struct hs_binstat *st, uint64_t addr, uint64_t size, uint64_t raw, bool keep)
{
	if (keep && (st->count & (st->count - 1)) == 0) /* grow at powers of two */
		st->nodes = hs_xrealloc(st->nodes, st->count ? st->count * 2 : 1, sizeof *st->nodes);
	if (keep)
		st->nodes[st->count] = addr;
	if (st->count == 0) {
		st->head = size;
		st->raw_min = st->raw_max = raw;
	}
	st->raw_min = raw < st->raw_min ? raw : st->raw_min;
	st->raw_max = raw > st->raw_max ? raw : st->raw_max;
	st->count++;
	st->bytes += size;
	st->raw_total += raw;
}

struct list_walk {
	const char *what; /* for warnings: "thread 123 tcache bin 5" */
	enum hs_list kind;
	uint64_t size;     /* every node must have it; 0: any */
	int bin;           /* regular bins: bin_index must match (>= 2) */
	uint64_t max;      /* count the list may not exceed */
	bool want_free;    /* regular bins hold chunks that look free */
	unsigned link_off; /* tcache links point at user memory: 2 * SIZE_SZ */
};

/* Follows one list from first (a chunk address), marking nodes. Stops at
 * the end (NULL, or end_at for regular bins) or at the first bad node. */
static void walk_list(const struct hs_layout *l, struct hs_index *ix, const struct list_walk *lw,
		      uint64_t first, uint64_t end_at, struct hs_binstat *st, bool keep, struct hs_warnings *w)
{
	uint64_t p = first;
	struct hs_index_near near = HS_INDEX_NEAR_INIT(ix);
	while (p != end_at) {
		if (st->count >= lw->max) {
			hs_warn(w, "%s: list goes on past %llu entries (at 0x%llx); cut", lw->what,
				(unsigned long long)lw->max, (unsigned long long)p);
			return;
		}
		int64_t ord = hs_index_find_near(ix, &near, p);
		if (ord < 0) {
			hs_warn(w, "%s: 0x%llx is not a chunk that list could hold; cut", lw->what,
				(unsigned long long)p);
			return;
		}
		uint8_t f = ix->flags[ord];
		uint64_t size = hs_index_size(ix, (uint64_t)ord);
		if (f & HS_CF_VISITED) {
			hs_warn(w, "%s: chunk 0x%llx is reached twice (a cycle, or on two lists); cut", lw->what,
				(unsigned long long)p);
			return;
		}
		if (!!(f & HS_CF_FREE) != lw->want_free) {
			hs_warn(w, "%s: chunk 0x%llx %s; cut", lw->what, (unsigned long long)p,
				lw->want_free ? "is in use by the heap walk" : "looks free to the heap walk");
			return;
		}
		if ((lw->size && size != lw->size) || (lw->bin >= 2 && bin_index(l, size) != lw->bin))
			hs_warn(w, "%s: chunk 0x%llx has size 0x%llx, which does not belong there", lw->what,
				(unsigned long long)p, (unsigned long long)size);
		ix->flags[ord] = (uint8_t)(f | HS_CF_VISITED | (lw->kind << 1));
		add_node(st, p, size, size | (uint64_t)(f >> 5), keep);
		uint64_t nx = hs_index_next(ix, (uint64_t)ord);
		if (nx == HS_FD_NULL) {
			if (end_at)
				hs_warn(w, "%s: chunk 0x%llx has a NULL link", lw->what, (unsigned long long)p);
			return;
		}
		if (nx == HS_FD_OTHER || nx == HS_FD_BAD) {
			uint64_t raw;
			if (end_at && nx == HS_FD_OTHER && hs_index_other(ix, (uint64_t)ord, &raw) && raw == end_at)
				return;
			hs_warn(w, "%s: chunk 0x%llx links to %s; cut", lw->what, (unsigned long long)p,
				nx == HS_FD_BAD ? "a misaligned address" : "an address outside every heap");
			return;
		}
		p = hs_index_addr_near(ix, &near, nx) - lw->link_off;
	}
}

int hs_bins_read(const struct hs_heap *h, struct hs_index *ix, bool keep_nodes, struct hs_bins *b,
		 struct hs_warnings *w)
{
	const struct hs_layout *l = h->layout;
	memset(b, 0, sizeof *b);
	b->arenas = hs_xcalloc(h->narenas, sizeof *b->arenas);
	b->threads = hs_xcalloc(h->nthreads, sizeof *b->threads);
	b->narenas = h->narenas;
	b->nthreads = h->nthreads;
	char what[96];
	struct list_walk lw = {.what = what, .max = ix->nrec};

	for (size_t t = 0; t < h->nthreads; t++) {
		const struct hs_tcache *tc = &h->threads[t].tcache;
		if (!tc->addr)
			continue;
		for (int i = 0; i < tc->nbins; i++) {
			if (!tc->entries[i] && !tc->counts[i])
				continue;
			snprintf(what, sizeof what, "thread %d tcache bin %d", (int)h->threads[t].tid, i);
			lw.kind = HS_LIST_TCACHE;
			lw.size = i < 64 ? hs_tcache_bin_size(l, i) : 0;
			lw.bin = 0;
			lw.want_free = false;
			/* whole granules only: 16 on x86_64, 0 on i386 (walk.c) */
			lw.link_off = 2 * l->size_sz & ~(l->align - 1);
			lw.max = tc->counts[i];
			struct hs_binstat *st = &b->threads[t].tc[i];
			uint64_t first = tc->entries[i] ? tc->entries[i] - 2 * l->size_sz : 0;
			walk_list(l, ix, &lw, first, 0, st, keep_nodes, w);
			if (st->count != tc->counts[i])
				hs_warn(w, "%s: counts says %u entries, the list has %llu", what, tc->counts[i],
					(unsigned long long)st->count);
			b->threads[t].chunks += st->count;
			b->threads[t].bytes += st->bytes;
		}
	}
	for (size_t i = 0; i < h->narenas; i++) {
		const struct hs_arena *a = &h->arenas[i];
		if (!a->initialised)
			continue;
		lw.max = ix->nrec;
		for (int f = 0; f < l->nfastbins && f < HS_MAX_FASTBINS; f++) {
			snprintf(what, sizeof what, "arena %zu fastbin %d", i, f);
			lw.kind = HS_LIST_FAST;
			lw.size = hs_fastbin_size(l, f);
			lw.bin = 0;
			lw.want_free = false;
			lw.link_off = 0;
			walk_list(l, ix, &lw, a->fastbins[f], 0, &b->arenas[i].fast[f], keep_nodes, w);
		}
		for (int k = 1; k < l->nbins && k < HS_NBINS; k++) {
			snprintf(what, sizeof what, "arena %zu %s bin %d", i,
				 k == 1 ? "unsorted" : k < 64 ? "small" : "large", k);
			lw.kind = k == 1 ? HS_LIST_UNSORTED : k < 64 ? HS_LIST_SMALL : HS_LIST_LARGE;
			lw.size = 0;
			lw.bin = k;
			lw.want_free = true;
			lw.link_off = 0;
			if (a->bin_fd[k] == 0) {
				hs_warn(w, "%s: NULL head", what);
				continue;
			}
			walk_list(l, ix, &lw, a->bin_fd[k], a->bin_hdr[k], &b->arenas[i].bin[k], keep_nodes, w);
		}
	}
	/* A chunk that looks free but no bin holds is lost to glibc. */
	size_t lost = 0;
	for (uint64_t o = 0; o < ix->nrec; o++)
		if ((ix->flags[o] & (HS_CF_FREE | HS_CF_VISITED)) == HS_CF_FREE && lost++ < 10)
			hs_warn(w, "free chunk 0x%llx is in no bin", (unsigned long long)hs_index_ord_addr(ix, o));
	if (lost > 10)
		hs_warn(w, "%zu free chunks in all are in no bin", lost);
	return 0;
}

void hs_bins_free(struct hs_bins *b)
{
	for (size_t i = 0; i < b->narenas; i++) {
		for (int f = 0; f < HS_MAX_FASTBINS; f++)
			free(b->arenas[i].fast[f].nodes);
		for (int k = 0; k < HS_NBINS; k++)
			free(b->arenas[i].bin[k].nodes);
	}
	for (size_t t = 0; t < b->nthreads; t++)
		for (int i = 0; i < HS_MAX_TCACHE_BINS; i++)
			free(b->threads[t].tc[i].nodes);
	free(b->arenas);
	free(b->threads);
	memset(b, 0, sizeof *b);
}
