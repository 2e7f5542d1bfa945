/* pins.c - the in-use chunks nearest each top that hold free space below. */
#include "analysis/pins.h"

#include <stdlib.h>
#include <string.h>

/* Is recorded chunk o a hole: held by some free list. */
static bool hole(const struct hs_index *ix, uint64_t o)
{
	return ((ix->flags[o] & HS_CF_LISTMASK) >> 1) != HS_LIST_NONE;
}

/* The highest run of contiguous holes of at least HS_PIN_RUN_MIN bytes
 * in a segment, in address order over the index. Returns false if there
 * is none, or if the highest one reaches top (then nothing pins it). */
static bool highest_run(const struct hs_index *ix, const struct hs_segment *sg, uint64_t top,
			uint64_t *ws, uint64_t *we)
{
	uint64_t rs = 0, re = 0, bs = 0, be = 0;
	struct hs_seg_iter it;
	for (hs_seg_iter_init(&it, ix, sg); hs_seg_iter_next(&it);) {
		if (!hole(ix, it.ord))
			continue;
		if (it.addr != re || !re) {
			if (re - rs >= HS_PIN_RUN_MIN) {
				bs = rs;
				be = re;
			}
			rs = it.addr;
		}
		re = it.addr + hs_index_size(ix, it.ord);
	}
	if (re - rs >= HS_PIN_RUN_MIN) {
		bs = rs;
		be = re;
	}
	if (!be || be >= top)
		return false;
	*ws = bs;
	*we = be;
	return true;
}

static bool in_use(const struct hs_index *ix, uint64_t addr)
{
	int64_t o = hs_index_find(ix, addr);
	if (o < 0)
		return true; /* not recorded: in use and too big for any list */
	return !hole(ix, (uint64_t)o) && !(ix->flags[o] & HS_CF_FREE);
}

/* glibc's own blocks have a known type: a thread's tcache_perthread_struct
 * (allocated at the thread's first malloc, or in 2.42+ at its first free,
 * when it can land on top of everything freed before). */
static const char *own_type(const struct hs_census *c, uint64_t addr)
{
	unsigned hdr = c->heap && c->heap->layout ? 2 * c->heap->layout->size_sz : 16;
	for (size_t t = 0; t < c->nthreads; t++) {
		const struct hs_thread *th = c->threads[t].thread;
		if (th && th->tcache.addr && th->tcache.addr == addr + hdr)
			return "tcache_perthread_struct";
	}
	return NULL;
}

static size_t heap_pins(const struct hs_census *c, size_t si, struct hs_pin *out, size_t max)
{
	const struct hs_index *ix = c->index;
	const struct hs_segment *sg = &ix->segs[si];
	const struct hs_tail *t = &ix->tails[si];
	const struct hs_arena *a = c->arenas[sg->arena].arena;
	uint64_t ws, we;
	if (!t->n || !a || !highest_run(ix, sg, a->top, &ws, &we))
		return 0;
	/* The chunk under top always looks in use (a free one would have
	 * merged into top): if the last one kept does not end at top, the walk
	 * was cut short (a warning says where) and what lies above is unknown. */
	if (t->c[t->n - 1].addr + t->c[t->n - 1].size != a->top)
		return 0;
	/* Every chunk above the run must be among the ones the walk kept. */
	if (!t->all && t->c[0].addr > we)
		return 0;
	struct hs_pin p[HS_PINS_PER_HEAP];
	size_t n = 0;
	uint64_t live = 0; /* in-use bytes between the run's end and the pin */
	for (unsigned i = 0; i < t->n; i++) {
		const struct hs_tail_chunk *k = &t->c[i];
		if (k->addr < we || k->addr >= a->top || !in_use(ix, k->addr))
			continue;
		if (n == HS_PINS_PER_HEAP)
			return 0; /* live data above the hole, not a pin */
		struct hs_pin *q = &p[n++];
		memset(q, 0, sizeof *q);
		q->arena = sg->arena;
		q->heap = sg->heap;
		q->addr = k->addr;
		q->size = k->size;
		q->run_start = ws;
		q->run_bytes = we - ws;
		/* Between the run and the pin: holes, and the pins below it. */
		q->held_bytes = (we - ws) + (k->addr - we) - live;
		live += k->size;
		q->type = own_type(c, k->addr);
		memcpy(q->preview, k->bytes, k->nbytes);
		q->npreview = k->nbytes;
		if (k->nbytes >= sizeof q->first_word)
			memcpy(&q->first_word, k->bytes, sizeof q->first_word);
		int ty = !q->type && c->typetab && k->nbytes >= sizeof q->first_word
				 ? hs_types_find(c->typetab, q->first_word) : -1;
		if (ty >= 0)
			q->type = c->typetab->names[ty];
	}
	size_t m = n < max ? n : max;
	memcpy(out, p, m * sizeof *p);
	return m;
}

static int by_held(const void *x, const void *y)
{
	const struct hs_pin *a = x, *b = y;
	if (a->held_bytes != b->held_bytes)
		return a->held_bytes < b->held_bytes ? 1 : -1;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

size_t hs_pins_find(const struct hs_census *c, struct hs_pin *out, size_t max)
{
	const struct hs_index *ix = c->index;
	if (!ix || !ix->tails || !ix->recorded.nz)
		return 0;
	size_t n = 0;
	for (size_t s = 0; s < ix->nsegs && n < max; s++)
		if (ix->segs[s].arena >= 0 && (size_t)ix->segs[s].arena < c->narenas)
			n += heap_pins(c, s, out + n, max - n);
	qsort(out, n, sizeof *out, by_held);
	return n;
}

const char *hs_pin_preview_hex(const struct hs_pin *p, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	unsigned n = p->npreview < HS_PREVIEW_BYTES ? p->npreview : HS_PREVIEW_BYTES;
	for (unsigned i = 0; i < n; i++) {
		buf[2 * i] = hex[p->preview[i] >> 4];
		buf[2 * i + 1] = hex[p->preview[i] & 15];
	}
	buf[2 * n] = 0;
	return buf;
}
