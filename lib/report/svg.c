/* svg.c - --format=svg: a heap map. One band per heap segment of every
 * arena (address order) and one per mmapped chunk (past MM_BANDS, one
 * for the rest); each band is COLS
 * pixel columns, each column a fixed byte range coloured by the state
 * that holds most of its bytes. Adjacent columns of one colour are one
 * <rect>, whose <title> gives its address range and, per state, the
 * bytes and chunks it holds (a chunk counts where it starts), or the one
 * chunk itself. A column's cost is fixed, not the chunks': the size
 * follows the bands and their changes of colour (at most COLS runs a
 * band), so the 2 GiB heap of 21 million chunks is a map of 2 KB.
 *
 * Reads only the census: the recorded chunks of the index with their
 * lists' marks, the large in-use chunks the walk kept for the map
 * (hs_walk_opts.keep_big, or every chunk with --chunks), each arena's top,
 * and the mmapped chunks. Bytes no chunk holds are overhead (heap_info,
 * malloc_state, fenceposts, alignment). Deterministic: the same snapshot
 * gives the same bytes (no timing in it). Over the bands, a tick marks
 * each pin and, with --leaks, each unreachable chunk the scan kept (a
 * sample, or every one with --leaks=all). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/render.h"
#include "report/report.h"
#include "glibc/walk.h"

#define COLS 1024
#define LEFT 8
#define BAND_H 22
#define LABEL_H 16
#define LEGEND_H 40
#define MARK_H 6 /* a leak's or a pin's tick, over the band */
/* Mmapped chunks drawn one band each; past that, the rest (in address
 * order) share one band: a process with thousands of them (a thread
 * stack each, a JVM) keeps a map of kilobytes. */
#define MM_BANDS 64

enum st { ST_INUSE, ST_TCACHE, ST_FAST, ST_BIN, ST_TOP, ST_OVERHEAD, ST_MMAPPED, NST };
static const char *const st_name[NST] = {"in use", "tcache", "fastbin", "bin", "top", "overhead", "mmapped"};
static const char *const st_class[NST] = {"u", "t", "f", "b", "p", "o", "m"};
static const char *const st_colour[NST] = {"#d62728", "#ff7f0e", "#bcbd22", "#2ca02c", "#1f77b4", "#7f7f7f", "#9467bd"};
/* the marks over the bands: chunks --leaks found unreachable, and the
 * chunks that pin a heap's top (VERDICTS, PINS) */
enum mark { MK_LEAK, MK_PIN, NMK };
static const char *const mk_name[NMK] = {"leaked", "pin"};
static const char *const mk_class[NMK] = {"l", "n"};
static const char *const mk_colour[NMK] = {"#000000", "#e377c2"};

/* One chunk to mark: where, and what its title says. */
struct mark_at {
	uint64_t addr, size, held;
	const char *type;
	enum mark kind;
};

/* The C++ types of the in-use chunks that start in a column or a run:
 * the first NTYPES named, with how many, and how many of other types. */
#define NTYPES 3
struct types {
	const char *name[NTYPES];
	uint64_t n[NTYPES], other;
};

struct col {
	uint64_t bytes[NST], chunks[NST];
	uint64_t one_addr, one_size; /* the last chunk that starts here */
	int one_state;
	const char *one_type;
	struct types types;
};

static void types_add(struct types *t, const char *name, uint64_t n)
{
	for (int i = 0; i < NTYPES; i++) {
		if (!t->name[i])
			t->name[i] = name;
		if (t->name[i] == name) { /* names are the type table's: one pointer a type */
			t->n[i] += n;
			return;
		}
	}
	t->other += n;
}

static void types_merge(struct types *into, const struct types *t)
{
	for (int i = 0; i < NTYPES && t->name[i]; i++)
		types_add(into, t->name[i], t->n[i]);
	into->other += t->other;
}

struct band {
	uint64_t base, end, per; /* bytes [base, end), per bytes a column */
	size_t ncols;
	/* the column the last chunk started in, and its first byte: chunks
	 * come mostly in address order, and a division each is their cost */
	size_t ci;
	uint64_t cstart;
	struct col c[COLS];
};

/* XML's escapes; control bytes are not XML 1.0 characters: '?' */
static const char *xml_esc(unsigned char c)
{
	return c == '<'			 ? "&lt;"
	       : c == '>'		 ? "&gt;"
	       : c == '&'		 ? "&amp;"
	       : c == '"'		 ? "&quot;"
	       : c < 0x20 && c != '\t' ? "?"
					 : NULL;
}

/* Text of the target's (a path, a type name), as UTF-8 (base/fmt.h). */
static void xml_text(FILE *out, const char *s)
{
	hs_fputs_utf8_esc(out, s, xml_esc);
}

/* A chunk's bytes into the columns it covers; it counts in the first. */
static void band_add(struct band *b, uint64_t addr, uint64_t size, int st, const char *type)
{
	if (addr < b->base || addr >= b->end)
		return;
	uint64_t end = size > b->end - addr ? b->end : addr + size;
	if (addr - b->cstart >= b->per) {
		b->ci = (size_t)((addr - b->base) / b->per);
		b->cstart = b->base + b->ci * b->per;
	}
	const size_t i0 = b->ci;
	struct col *first = &b->c[i0];
	first->chunks[st]++;
	first->one_addr = addr;
	first->one_size = size;
	first->one_state = st;
	first->one_type = type;
	if (type)
		types_add(&first->types, type, 1);
	if (end - b->cstart <= b->per) { /* most chunks: one column */
		first->bytes[st] += end - addr;
		return;
	}
	for (uint64_t a = addr; a < end;) {
		size_t i = (size_t)((a - b->base) / b->per);
		uint64_t ce = b->base + (i + 1) * b->per;
		uint64_t n = (ce < end ? ce : end) - a;
		b->c[i].bytes[st] += n;
		a += n;
	}
}

static void band_init(struct band *b, uint64_t base, uint64_t end)
{
	memset(b, 0, sizeof *b);
	b->base = base;
	b->end = end > base ? end : base + 1;
	uint64_t len = b->end - b->base;
	b->per = (len + COLS - 1) / COLS;
	b->ncols = (size_t)((len + b->per - 1) / b->per);
	b->cstart = base;
}

static uint64_t col_len(const struct band *b, size_t i)
{
	uint64_t s = b->base + i * b->per, e = s + b->per;
	return (e > b->end ? b->end : e) - s;
}

/* The bytes no chunk holds are overhead; the column's colour is the
 * state with most bytes (the first listed on a tie). */
static int col_finish(const struct band *b, size_t i, struct col *c)
{
	uint64_t held = 0;
	for (int s = 0; s < NST; s++)
		held += c->bytes[s];
	uint64_t len = col_len(b, i);
	c->bytes[ST_OVERHEAD] += len > held ? len - held : 0;
	int best = 0;
	for (int s = 1; s < NST; s++)
		if (c->bytes[s] > c->bytes[best])
			best = s;
	return best;
}

static uint64_t col_chunks(const struct col *c)
{
	uint64_t n = 0;
	for (int s = 0; s < NST; s++)
		n += c->chunks[s];
	return n;
}

static void title_run(FILE *out, const struct band *b, size_t i0, size_t i1, const struct col *sum)
{
	uint64_t lo = b->base + i0 * b->per, hi = b->base + i1 * b->per;
	if (hi > b->end)
		hi = b->end;
	const uint64_t nchunks = col_chunks(sum);
	fprintf(out, "<title>0x%" PRIx64 "-0x%" PRIx64 " (%" PRIu64 " bytes)", lo, hi, hi - lo);
	if (nchunks == 1) {
		fprintf(out, "\nchunk 0x%" PRIx64 ", size %" PRIu64 ", %s", sum->one_addr, sum->one_size,
			st_name[sum->one_state]);
		if (sum->one_type) {
			fputs(", type ", out);
			xml_text(out, sum->one_type);
		}
	} else if (sum->types.name[0]) {
		/* several chunks: what the typed ones among them are */
		fputs("\ntypes:", out);
		for (int i = 0; i < NTYPES && sum->types.name[i]; i++) {
			fputs(i ? ", " : " ", out);
			xml_text(out, sum->types.name[i]);
			fprintf(out, " %" PRIu64, sum->types.n[i]);
		}
		if (sum->types.other)
			fprintf(out, ", other types %" PRIu64, sum->types.other);
	}
	for (int s = 0; s < NST; s++)
		if (sum->bytes[s])
			fprintf(out, "\n%s: %" PRIu64 " bytes in %" PRIu64 " chunks", st_name[s], sum->bytes[s],
				sum->chunks[s]);
	fputs("</title>", out);
}

static int cmp_mark(const void *x, const void *y)
{
	const struct mark_at *a = x, *b = y;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* The marks [m, m + n) (sorted by kind, then address) that lie in the
 * band: one tick a pixel column and kind, its title the chunk, or how
 * many chunks and bytes when several start in that column. */
static void band_marks(FILE *out, const struct band *b, int y, const struct mark_at *m, size_t n)
{
	for (int k = 0; k < NMK; k++) {
		size_t lo = 0, hi = n; /* first of kind k at or past base */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (m[mid].kind < (enum mark)k || (m[mid].kind == (enum mark)k && m[mid].addr < b->base))
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t i = lo; i < n && m[i].kind == (enum mark)k && m[i].addr < b->end;) {
			const size_t col = (size_t)((m[i].addr - b->base) / b->per);
			size_t j = i;
			uint64_t bytes = 0;
			for (; j < n && m[j].kind == (enum mark)k && m[j].addr < b->end &&
			       (m[j].addr - b->base) / b->per == col; j++)
				bytes += m[j].size;
			fprintf(out, "<rect x=\"%zu\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"%s\"><title>%s: ",
				LEFT + col * COLS / b->ncols, y - MARK_H, COLS / (int)b->ncols > 2 ? COLS / (int)b->ncols : 2,
				MARK_H, mk_class[k], mk_name[k]);
			if (j - i == 1) {
				fprintf(out, "chunk 0x%" PRIx64 ", size %" PRIu64, m[i].addr, m[i].size);
				if (k == MK_PIN)
					fprintf(out, ", keeps %" PRIu64 " bytes from top", m[i].held);
				if (m[i].type) {
					fputs(", type ", out);
					xml_text(out, m[i].type);
				}
			} else {
				fprintf(out, "%zu chunks, %" PRIu64 " bytes, the first 0x%" PRIx64, j - i, bytes, m[i].addr);
			}
			fputs("</title></rect>\n", out);
			i = j;
		}
	}
}

static void band_write(FILE *out, struct band *b, int y, const char *label_fmt, int arena, size_t heap,
		       const struct mark_at *m, size_t nm)
{
	fprintf(out, "<g class=\"band\"><text x=\"%d\" y=\"%d\">", LEFT, y + LABEL_H - 4);
	if (arena >= 0)
		fprintf(out, label_fmt, arena, heap);
	else
		fputs(label_fmt, out);
	fprintf(out, " 0x%" PRIx64 "-0x%" PRIx64 ", %" PRIu64 " bytes, %" PRIu64 " a pixel</text>\n", b->base, b->end,
		b->end - b->base, b->per);
	y += LABEL_H;
	band_marks(out, b, y, m, nm);
	size_t i0 = 0;
	int st0 = -1;
	struct col sum = {0};
	for (size_t i = 0; i <= b->ncols; i++) {
		int st = i < b->ncols ? col_finish(b, i, &b->c[i]) : -1;
		if (st == st0 && i < b->ncols) {
			for (int s = 0; s < NST; s++) {
				sum.bytes[s] += b->c[i].bytes[s];
				sum.chunks[s] += b->c[i].chunks[s];
			}
			if (col_chunks(&b->c[i])) {
				sum.one_addr = b->c[i].one_addr;
				sum.one_size = b->c[i].one_size;
				sum.one_state = b->c[i].one_state;
				sum.one_type = b->c[i].one_type;
				types_merge(&sum.types, &b->c[i].types);
			}
			continue;
		}
		if (st0 >= 0) {
			/* x and width in whole pixels, the band's width fixed */
			size_t x0 = i0 * COLS / b->ncols, x1 = i * COLS / b->ncols;
			fprintf(out, "<rect x=\"%zu\" y=\"%d\" width=\"%zu\" height=\"%d\" class=\"%s\">", LEFT + x0, y,
				x1 - x0, BAND_H, st_class[st0]);
			title_run(out, b, i0, i, &sum);
			fputs("</rect>\n", out);
		}
		if (i < b->ncols) {
			i0 = i;
			st0 = st;
			sum = b->c[i];
		}
	}
	fputs("</g>\n", out);
}

static int state_of(uint8_t flags)
{
	switch ((flags & HS_CF_LISTMASK) >> 1) {
	case HS_LIST_NONE:
		return ST_INUSE; /* looks free, in no list: lost as much as in use */
	case HS_LIST_TCACHE:
		return ST_TCACHE;
	case HS_LIST_FAST:
		return ST_FAST;
	default:
		return ST_BIN;
	}
}

/* One segment's band: recorded chunks, the kept large ones (they come in
 * segment order: *kept is where this segment's start), top. */
static void fill_segment(struct band *b, const struct hs_census *c, const struct hs_segment *sg, size_t *kept)
{
	const struct hs_index *ix = c->index;
	const struct hs_arena *a = &c->heap->arenas[sg->arena];
	struct hs_seg_iter it;
	for (hs_seg_iter_init(&it, ix, sg); hs_seg_iter_next(&it);) {
		const char *type = ix->rtype && ix->rtype[it.ord] ? ix->types->names[ix->rtype[it.ord] - 1] : NULL;
		int st = state_of(ix->flags[it.ord]);
		band_add(b, it.addr, hs_index_size(ix, it.ord), st, st == ST_INUSE ? type : NULL);
	}
	/* with --chunks every chunk is kept: the recorded ones are counted
	 * above, and only the large in-use ones are taken here */
	for (; *kept < ix->nchunks; ++*kept) {
		const struct hs_chunk *ch = &ix->chunks[*kept];
		if (ch->arena < 0 || ch->addr >= sg->end || ch->addr < sg->start)
			break;
		if (ch->apparent == HS_ST_INUSE && ch->size > ix->rec_limit)
			band_add(b, ch->addr, ch->size, ST_INUSE, NULL);
	}
	if (a->top >= sg->start && a->top < sg->end)
		band_add(b, a->top, c->arenas[sg->arena].c.top_bytes, ST_TOP, NULL);
}

/* The mmapped chunks past the ones drawn one by one: one band, one
 * rectangle for all of them, and one tick a kind for the marks in them
 * (how many, the first). */
static void rest_write(FILE *out, const struct hs_mmchunk *mm, size_t n, int y, const struct mark_at *m, size_t nm)
{
	uint64_t bytes = 0, lo = mm[0].addr, hi = mm[n - 1].addr + mm[n - 1].size;
	for (size_t i = 0; i < n; i++)
		bytes += mm[i].size;
	fprintf(out,
		"<g class=\"band\"><text x=\"%d\" y=\"%d\">%zu more mmapped chunks: 0x%" PRIx64 "-0x%" PRIx64
		", %" PRIu64 " bytes in all, not drawn one by one</text>\n",
		LEFT, y + LABEL_H - 4, n, lo, hi, bytes);
	y += LABEL_H;
	for (int k = 0; k < NMK; k++) {
		size_t count = 0;
		uint64_t mbytes = 0, first = 0;
		for (size_t j = 0; j < nm; j++) {
			if (m[j].kind != (enum mark)k || m[j].addr < lo || m[j].addr >= hi)
				continue;
			/* in one of the chunks, not a gap between them */
			size_t a = 0, b = n;
			while (a < b) {
				size_t mid = a + (b - a) / 2;
				if (mm[mid].addr + mm[mid].size <= m[j].addr)
					a = mid + 1;
				else
					b = mid;
			}
			if (a == n || m[j].addr < mm[a].addr)
				continue;
			if (!count++)
				first = m[j].addr;
			mbytes += m[j].size;
		}
		if (count)
			fprintf(out,
				"<rect x=\"%d\" y=\"%d\" width=\"2\" height=\"%d\" class=\"%s\"><title>%s: %zu chunks, %" PRIu64
				" bytes, the first 0x%" PRIx64 "</title></rect>\n",
				LEFT, y - MARK_H, MARK_H, mk_class[k], mk_name[k], count, mbytes, first);
	}
	fprintf(out,
		"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"%s\"><title>%zu mmapped chunks, 0x%" PRIx64
		"-0x%" PRIx64 "\n%s: %" PRIu64 " bytes in %zu chunks</title></rect>\n</g>\n",
		LEFT, y, COLS, BAND_H, st_class[ST_MMAPPED], n, lo, hi, st_name[ST_MMAPPED], bytes, n);
}

void hs_report_svg(FILE *out, const struct hs_census *c, const struct hs_diagnosis *d)
{
	const struct hs_index *ix = c->index;
	const struct hs_heap *h = c->heap;
	size_t nm = 0;
	const struct hs_leaks *lk = d ? d->leaks : NULL;
	struct mark_at *m = hs_xcalloc((lk ? lk->nsuspects : 0) + (d ? d->npins : 0) + 1, sizeof *m);
	for (size_t i = 0; lk && i < lk->nsuspects; i++)
		m[nm++] = (struct mark_at){lk->suspects[i].addr, lk->suspects[i].size, 0, lk->suspects[i].type, MK_LEAK};
	for (size_t i = 0; d && i < d->npins; i++)
		m[nm++] = (struct mark_at){d->pins[i].addr, d->pins[i].size, d->pins[i].held_bytes, d->pins[i].type, MK_PIN};
	qsort(m, nm, sizeof *m, cmp_mark);
	size_t nmm = h ? h->nmmapped : 0, each = nmm > MM_BANDS ? MM_BANDS - 1 : nmm;
	size_t nbands = (ix ? ix->nsegs : 0) + each + (nmm > each);
	int width = COLS + 2 * LEFT, height = LEGEND_H + (int)nbands * (LABEL_H + BAND_H + 4) + 8;
	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"sans-serif\" font-size=\"11\">\n<style>",
		width, height, width, height);
	for (int s = 0; s < NST; s++)
		fprintf(out, ".%s{fill:%s}", st_class[s], st_colour[s]);
	for (int k = 0; k < NMK; k++)
		fprintf(out, ".%s{fill:%s}", mk_class[k], mk_colour[k]);
	fputs("text{fill:#222}</style>\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n<title>heapscope heap map", out);
	if (c->pid)
		fprintf(out, " of pid %d", (int)c->pid);
	if (c->exe) {
		fputs(" (", out);
		xml_text(out, c->exe);
		fputs(")", out);
	}
	fputs("</title>\n<g class=\"legend\">", out);
	for (int s = 0; s < NST; s++) {
		int x = LEFT + s * 110;
		fprintf(out, "<rect x=\"%d\" y=\"8\" width=\"14\" height=\"14\" class=\"%s\"/><text x=\"%d\" y=\"19\">%s</text>", x,
			st_class[s], x + 18, st_name[s]);
	}
	/* the marks' entries only when there is something to mark with */
	for (int k = 0; k < NMK; k++) {
		if (k == MK_LEAK && !lk)
			continue;
		int x = LEFT + (NST + k) * 110 - (k == MK_PIN && !lk ? 110 : 0);
		fprintf(out, "<rect x=\"%d\" y=\"8\" width=\"14\" height=\"%d\" class=\"%s\"/><text x=\"%d\" y=\"19\">%s</text>", x,
			MARK_H, mk_class[k], x + 18, mk_name[k]);
	}
	fputs("</g>\n", out);
	int y = LEGEND_H;
	struct band *b = hs_xcalloc(1, sizeof *b);
	size_t kept = 0;
	for (size_t s = 0; ix && s < ix->nsegs; s++, y += LABEL_H + BAND_H + 4) {
		const struct hs_segment *sg = &ix->segs[s];
		band_init(b, h->arenas[sg->arena].heaps[sg->heap].base, sg->end);
		fill_segment(b, c, sg, &kept);
		band_write(out, b, y, "arena %d heap %zu:", sg->arena, sg->heap, m, nm);
	}
	for (size_t i = 0; i < each; i++, y += LABEL_H + BAND_H + 4) {
		const struct hs_mmchunk *mm = &h->mmapped[i];
		band_init(b, mm->addr, mm->addr + mm->size);
		band_add(b, mm->addr, mm->size, ST_MMAPPED, NULL);
		band_write(out, b, y, "mmapped chunk:", -1, 0, m, nm);
	}
	if (nmm > each)
		rest_write(out, h->mmapped + each, nmm - each, y, m, nm);
	free(b);
	free(m);
	fputs("</svg>\n", out);
}
