/* report_minfo.c - glibc's malloc_info(0, fp), byte for byte, from the census.
 *
 * Checked against __malloc_info at glibc-2.31, 2.36, 2.41, 2.42 and master
 * (2.43). Per arena, in ring order: the non-empty fastbins (size of the
 * first chunk, from = size - (MALLOC_ALIGNMENT - 1), total = count * size),
 * the non-empty regular bins 2..127 with the raw size fields (flag bits
 * included, as chunksize_nomask gives them), then the unsorted bin as
 * <unsorted .../>. "rest" counts top plus every regular-bin chunk; its size
 * is top plus the raw totals. Version differences:
 *   - 2.43 removed fastbins, and with them both <total type="fast"> lines
 *     (per heap and in the grand totals). A development snapshot between
 *     2025-12-17 and 12-29 printed "<sizes>" for "</sizes>"; the 2.43
 *     release has the fix, which is what is reproduced here.
 *   - Up to 2.31 fastbin links are plain pointers, later mangled: the
 *     census has decoded them already, the text is the same. */
#include <inttypes.h>

#include "report/report.h"
#include "report/render.h"

struct mi_ctx {
	FILE *out;
	uint64_t size_mask; /* the target's size_t: %zu wraps at its width */
	unsigned align;
	bool fast;          /* this glibc prints fastbins and "fast" totals */
};

static uint64_t zu(const struct mi_ctx *m, uint64_t v)
{
	return v & m->size_mask;
}

static void size_line(const struct mi_ctx *m, const char *tag, uint64_t from, uint64_t to,
		      uint64_t total, uint64_t count)
{
	fprintf(m->out, "  <%s from=\"%" PRIu64 "\" to=\"%" PRIu64 "\" total=\"%" PRIu64 "\" count=\"%" PRIu64
		"\"/>\n", tag, zu(m, from), zu(m, to), zu(m, total), zu(m, count));
}

struct mi_totals {
	uint64_t nfast, fastavail, nblocks, avail, system, max_system, aspace, aspace_mprotect;
};

static void one_arena(const struct mi_ctx *m, const struct hs_census *c, size_t n, struct mi_totals *t)
{
	const struct hs_arena_census *ac = &c->arenas[n];
	const struct hs_arena *a = ac->arena;
	const struct hs_arena_bins *b = ac->bins;
	const struct hs_layout *l = &c->sym->layout;
	uint64_t nfast = 0, fastavail = 0, nblocks = 1, avail = ac->c.top_bytes;

	fprintf(m->out, "<heap nr=\"%d\">\n<sizes>\n", (int)n);
	if (m->fast) {
		int nfb = l->nfastbins < HS_MAX_FASTBINS ? l->nfastbins : HS_MAX_FASTBINS;
		for (int i = 0; i < nfb; i++) {
			const struct hs_binstat *s = &b->fast[i];
			if (!s->count)
				continue;
			nfast += s->count;
			fastavail += s->count * s->head;
			size_line(m, "size", s->head - (m->align - 1), s->head, s->count * s->head, s->count);
		}
	}
	int nbins = l->nbins > 0 && l->nbins <= HS_NBINS ? l->nbins : HS_NBINS;
	for (int i = 1; i < nbins; i++) {
		nblocks += b->bin[i].count;
		avail += b->bin[i].raw_total;
	}
	for (int i = 2; i < nbins; i++) {
		const struct hs_binstat *s = &b->bin[i];
		if (s->count)
			size_line(m, "size", s->raw_min, s->raw_max, s->raw_total, s->count);
	}
	if (b->bin[1].count)
		size_line(m, "unsorted", b->bin[1].raw_min, b->bin[1].raw_max, b->bin[1].raw_total,
			  b->bin[1].count);

	fputs("</sizes>\n", m->out);
	if (m->fast)
		fprintf(m->out, "<total type=\"fast\" count=\"%" PRIu64 "\" size=\"%" PRIu64 "\"/>\n",
			zu(m, nfast), zu(m, fastavail));
	fprintf(m->out,
		"<total type=\"rest\" count=\"%" PRIu64 "\" size=\"%" PRIu64 "\"/>\n"
		"<system type=\"current\" size=\"%" PRIu64 "\"/>\n"
		"<system type=\"max\" size=\"%" PRIu64 "\"/>\n",
		zu(m, nblocks), zu(m, avail), zu(m, a->system_mem), zu(m, a->max_system_mem));

	if (!a->main) {
		/* glibc sums heap_info.size and .mprotect_size over the heap chain. */
		uint64_t hsize = 0, hprot = 0;
		for (size_t k = 0; k < a->nheaps; k++) {
			hsize += a->heaps[k].size;
			hprot += a->heaps[k].mprotect_size;
		}
		fprintf(m->out,
			"<aspace type=\"total\" size=\"%" PRIu64 "\"/>\n"
			"<aspace type=\"mprotect\" size=\"%" PRIu64 "\"/>\n"
			"<aspace type=\"subheaps\" size=\"%" PRIu64 "\"/>\n",
			zu(m, hsize), zu(m, hprot), zu(m, (uint64_t)a->nheaps));
		t->aspace += hsize;
		t->aspace_mprotect += hprot;
	} else {
		fprintf(m->out,
			"<aspace type=\"total\" size=\"%" PRIu64 "\"/>\n"
			"<aspace type=\"mprotect\" size=\"%" PRIu64 "\"/>\n",
			zu(m, a->system_mem), zu(m, a->system_mem));
		t->aspace += a->system_mem;
		t->aspace_mprotect += a->system_mem;
	}
	fputs("</heap>\n", m->out);

	t->nfast += nfast;
	t->fastavail += fastavail;
	t->nblocks += nblocks;
	t->avail += avail;
	t->system += a->system_mem;
	t->max_system += a->max_system_mem;
}

void hs_report_malloc_info(FILE *out, const struct hs_census *c)
{
	static const struct hs_mp nomp;
	const struct hs_layout *l = &c->sym->layout;
	const struct hs_mp *mp = c->heap ? &c->heap->mp : &nomp;
	struct mi_ctx m = {
		.out = out,
		.size_mask = l->size_sz >= 8 ? UINT64_MAX : 0xffffffffull,
		.align = l->align ? l->align : 16,
		.fast = l->vmajor < 2 || (l->vmajor == 2 && l->vminor < 43),
	};
	struct mi_totals t = {0};

	fputs("<malloc version=\"1\">\n", out);
	for (size_t n = 0; n < c->narenas; n++)
		one_arena(&m, c, n, &t);
	if (m.fast)
		fprintf(out, "<total type=\"fast\" count=\"%" PRIu64 "\" size=\"%" PRIu64 "\"/>\n",
			zu(&m, t.nfast), zu(&m, t.fastavail));
	fprintf(out,
		"<total type=\"rest\" count=\"%" PRIu64 "\" size=\"%" PRIu64 "\"/>\n"
		"<total type=\"mmap\" count=\"%d\" size=\"%" PRIu64 "\"/>\n"
		"<system type=\"current\" size=\"%" PRIu64 "\"/>\n"
		"<system type=\"max\" size=\"%" PRIu64 "\"/>\n"
		"<aspace type=\"total\" size=\"%" PRIu64 "\"/>\n"
		"<aspace type=\"mprotect\" size=\"%" PRIu64 "\"/>\n"
		"</malloc>\n",
		zu(&m, t.nblocks), zu(&m, t.avail), (int)mp->n_mmaps, zu(&m, mp->mmapped_mem),
		zu(&m, t.system), zu(&m, t.max_system), zu(&m, t.aspace), zu(&m, t.aspace_mprotect));
}
