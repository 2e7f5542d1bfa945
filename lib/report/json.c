/* report_json.c - the "heapscope/1" object of shared/JSON.md, built with
 * cJSON (no hand-written escaping). Addresses are "0x..." strings, sizes
 * integers: values of 10^15 and more are written raw, since cJSON prints
 * numbers through a double with 15 significant digits. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "analysis/trend.h"
#include "report/report.h"
#include "report/render.h"

static cJSON *addr(uint64_t a)
{
	char buf[24];
	snprintf(buf, sizeof buf, "0x%" PRIx64, a);
	return cJSON_CreateString(buf);
}

static void put_u(cJSON *o, const char *k, uint64_t v)
{
	cJSON_AddItemToObject(o, k, hs_json_u64(v));
}

static void put_addr(cJSON *o, const char *k, uint64_t a)
{
	cJSON_AddItemToObject(o, k, addr(a));
}

static cJSON *arr(cJSON *o, const char *k)
{
	return cJSON_AddArrayToObject(o, k);
}

static cJSON *obj(cJSON *o, const char *k)
{
	return cJSON_AddObjectToObject(o, k);
}

static void counts(cJSON *o, const struct hs_counts *k)
{
	put_u(o, "system_bytes", k->system_bytes);
	put_u(o, "in_use_bytes", k->in_use.bytes);
	put_u(o, "in_use_chunks", k->in_use.chunks);
	put_u(o, "free_bytes", k->free.bytes);
	put_u(o, "free_chunks", k->free.chunks);
	put_u(o, "tcache_bytes", k->tcache.bytes);
	put_u(o, "tcache_chunks", k->tcache.chunks);
	put_u(o, "fastbin_bytes", k->fast.bytes);
	put_u(o, "fastbin_chunks", k->fast.chunks);
	put_u(o, "bin_bytes", k->bin.bytes);
	put_u(o, "bin_chunks", k->bin.chunks);
	put_u(o, "top_bytes", k->top_bytes);
	put_u(o, "overhead_bytes", k->overhead_bytes);
	put_u(o, "foreign_sbrk_bytes", k->foreign_sbrk_bytes);
}

/* One free list: {"bin", "size", ["size_max"], "count", "bytes", ["chunks"]}.
 * size is the chunk size the list holds (the smallest seen where the list
 * holds a range, which then has size_max). */
static cJSON *list(int index, uint64_t size, bool range, uint64_t size_max, uint64_t count, uint64_t bytes)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "bin", index);
	put_u(o, "size", size);
	if (range)
		put_u(o, "size_max", size_max);
	put_u(o, "count", count);
	put_u(o, "bytes", bytes);
	return o;
}

static void nodes(cJSON *o, const struct hs_binstat *s, const struct hs_report_opts *opt)
{
	if (!opt->bins)
		return;
	cJSON *a = arr(o, "chunks");
	for (uint64_t k = 0; s->nodes && k < s->count; k++)
		cJSON_AddItemToArray(a, addr(s->nodes[k]));
}

static uint64_t sz(uint64_t raw)
{
	return raw & ~(uint64_t)7; /* chunksize(): the flag bits masked */
}

/* bins.tcache of an arena: the tcaches of the threads attached to it,
 * bin by bin (a thread's cache may hold chunks of other arenas). */
static void arena_tcache(cJSON *to, const struct hs_census *c, size_t ai, const struct hs_report_opts *opt)
{
	const struct hs_layout *l = &c->sym->layout;
	for (int i = 0; i < HS_MAX_TCACHE_BINS && i < l->tc_nbins; i++) {
		uint64_t count = 0, bytes = 0;
		for (size_t t = 0; t < c->nthreads; t++)
			if (c->threads[t].thread->arena == (int)ai && c->threads[t].bins) {
				count += c->threads[t].bins->tc[i].count;
				bytes += c->threads[t].bins->tc[i].bytes;
			}
		if (!count)
			continue;
		cJSON *o = list(i, hs_tcache_bin_size(l, i), false, 0, count, bytes);
		if (opt->bins) {
			cJSON *a = arr(o, "chunks");
			for (size_t t = 0; t < c->nthreads; t++) {
				const struct hs_thread_bins *tb = c->threads[t].bins;
				if (c->threads[t].thread->arena != (int)ai || !tb || !tb->tc[i].nodes)
					continue;
				for (uint64_t k = 0; k < tb->tc[i].count; k++)
					cJSON_AddItemToArray(a, addr(tb->tc[i].nodes[k]));
			}
		}
		cJSON_AddItemToArray(to, o);
	}
}

static void arena_bins(cJSON *o, const struct hs_census *c, size_t ai, const struct hs_report_opts *opt)
{
	const struct hs_layout *l = &c->sym->layout;
	const struct hs_arena_bins *b = c->arenas[ai].bins;
	cJSON *bins = obj(o, "bins");
	arena_tcache(arr(bins, "tcache"), c, ai, opt);
	cJSON *fast = arr(bins, "fast");
	for (int i = 0; i < l->nfastbins && i < HS_MAX_FASTBINS; i++) {
		const struct hs_binstat *s = &b->fast[i];
		if (!s->count)
			continue;
		cJSON *e = list(i, s->head, false, 0, s->count, s->bytes);
		nodes(e, s, opt);
		cJSON_AddItemToArray(fast, e);
	}
	const struct hs_binstat *u = &b->bin[1];
	cJSON *e = list(1, sz(u->raw_min), true, sz(u->raw_max), u->count, u->bytes);
	nodes(e, u, opt);
	cJSON_AddItemToObject(bins, "unsorted", e);
	cJSON *small = arr(bins, "small"), *large = arr(bins, "large");
	for (int i = 2; i < HS_NBINS && i < l->nbins; i++) {
		const struct hs_binstat *s = &b->bin[i];
		if (!s->count)
			continue;
		bool is_large = i >= 64; /* NSMALLBINS */
		e = list(i, sz(s->raw_min), is_large, sz(s->raw_max), s->count, s->bytes);
		nodes(e, s, opt);
		cJSON_AddItemToArray(is_large ? large : small, e);
	}
}

static void arenas(cJSON *root, const struct hs_census *c, const struct hs_report_opts *opt)
{
	cJSON *a = arr(root, "arenas");
	for (size_t i = 0; i < c->narenas; i++) {
		const struct hs_arena *ar = c->arenas[i].arena;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "index", (double)i);
		put_addr(o, "address", ar->addr);
		cJSON_AddBoolToObject(o, "main", ar->main);
		cJSON *th = arr(o, "threads");
		for (size_t t = 0; t < c->nthreads; t++)
			if (c->threads[t].thread->arena == (int)i)
				cJSON_AddItemToArray(th, cJSON_CreateNumber(c->threads[t].thread->tid));
		cJSON *hs = arr(o, "heaps");
		for (size_t k = 0; k < ar->nheaps; k++) {
			const struct hs_heapseg *s = &ar->heaps[k];
			cJSON *h = cJSON_CreateObject();
			/* start: where the heap's system memory begins (heap_info,
			 * or sbrk_base), so that size = end - start. */
			put_addr(h, "start", s->base);
			put_addr(h, "end", s->end);
			put_u(h, "size", s->end - s->base);
			put_addr(h, "first_chunk", s->start);
			cJSON_AddItemToArray(hs, h);
		}
		counts(o, &c->arenas[i].c);
		arena_bins(o, c, i, opt);
		cJSON_AddItemToArray(a, o);
	}
}

static void threads(cJSON *root, const struct hs_census *c)
{
	cJSON *a = arr(root, "threads");
	for (size_t t = 0; t < c->nthreads; t++) {
		const struct hs_thread *th = c->threads[t].thread;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "tid", th->tid);
		if (th->arena >= 0)
			cJSON_AddNumberToObject(o, "arena", th->arena);
		else
			cJSON_AddNullToObject(o, "arena");
		if (th->tcache.addr)
			put_addr(o, "tcache", th->tcache.addr);
		else
			cJSON_AddNullToObject(o, "tcache");
		put_u(o, "tcache_chunks", c->threads[t].tcache.chunks);
		put_u(o, "tcache_bytes", c->threads[t].tcache.bytes);
		cJSON_AddBoolToObject(o, "in_malloc", th->in_malloc);
		if (th->in_malloc && th->malloc_fn)
			cJSON_AddStringToObject(o, "malloc_function", th->malloc_fn);
		cJSON_AddItemToArray(a, o);
	}
}

static void histogram(cJSON *root, const struct hs_census *c)
{
	cJSON *a = arr(root, "histogram");
	for (size_t i = 0; i < c->nhist; i++) {
		const struct hs_hist_row *r = &c->hist[i];
		cJSON *o = cJSON_CreateObject();
		put_u(o, "min", r->min);
		put_u(o, "max", r->max);
		put_u(o, "in_use_chunks", r->in_use.chunks);
		put_u(o, "in_use_bytes", r->in_use.bytes);
		put_u(o, "free_chunks", r->free.chunks);
		put_u(o, "free_bytes", r->free.bytes);
		cJSON_AddItemToArray(a, o);
	}
}

static void mallinfo2(cJSON *root, const struct hs_mallinfo2 *m)
{
	cJSON *o = obj(root, "mallinfo2");
	put_u(o, "arena", m->arena);
	put_u(o, "ordblks", m->ordblks);
	put_u(o, "smblks", m->smblks);
	put_u(o, "hblks", m->hblks);
	put_u(o, "hblkhd", m->hblkhd);
	put_u(o, "usmblks", m->usmblks);
	put_u(o, "fsmblks", m->fsmblks);
	put_u(o, "uordblks", m->uordblks);
	put_u(o, "fordblks", m->fordblks);
	put_u(o, "keepcost", m->keepcost);
}

static void diagnosis(cJSON *root, const struct hs_diagnosis *d)
{
	cJSON *o = obj(root, "diagnosis");
	cJSON_AddStringToObject(o, "verdict", d->verdict ? d->verdict : "healthy");
	cJSON_AddStringToObject(o, "summary", d->summary);
	cJSON *a = arr(o, "findings");
	for (size_t i = 0; i < d->nfindings; i++) {
		const struct hs_finding *f = &d->findings[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "kind", f->kind);
		put_u(e, "bytes", f->bytes);
		cJSON_AddStringToObject(e, "message", f->message);
		cJSON_AddStringToObject(e, "remedy", f->remedy);
		cJSON_AddItemToArray(a, e);
	}
	/* Extensions (man/heapscope.1): the arena limit glibc applies, and
	 * the thresholds as they stand. */
	if (d->arena_limit)
		cJSON_AddNumberToObject(o, "arena_limit", d->arena_limit);
	else
		cJSON_AddNullToObject(o, "arena_limit");
	if (d->cores)
		cJSON_AddNumberToObject(o, "cores", d->cores);
	else
		cJSON_AddNullToObject(o, "cores");
	if (d->cores_from)
		cJSON_AddStringToObject(o, "cores_from", d->cores_from);
	else
		cJSON_AddNullToObject(o, "cores_from");
	if (d->per_core && strcmp(d->cores_from ? d->cores_from : "", "arena_max")) {
		cJSON_AddNumberToObject(o, "arenas_per_core", d->per_core);
		cJSON_AddNumberToObject(o, "arena_test", d->arena_test);
		cJSON_AddBoolToObject(o, "arena_limit_from_test", d->arena_from_test);
		if (d->arena_limit_affinity)
			cJSON_AddNumberToObject(o, "arena_limit_affinity", d->arena_limit_affinity);
		else
			cJSON_AddNullToObject(o, "arena_limit_affinity");
	}
	/* What the verdict rests on. */
	cJSON_AddBoolToObject(o, "leaks_checked", d->leaks_checked);
	cJSON_AddBoolToObject(o, "process_read", d->process_read);
	cJSON_AddBoolToObject(o, "outside_malloc", d->outside_most);
	cJSON_AddBoolToObject(o, "action_needed", d->action_needed);
}

/* The whole process (smaps): its RSS by owner and the largest regions of
 * anonymous memory that are not malloc's. Absent without a process. */
static void process(cJSON *root, const struct hs_census *c)
{
	const struct hs_process *p = c->process;
	if (!p)
		return;
	cJSON *o = obj(root, "process");
	cJSON_AddBoolToObject(o, "read", p->have);
	if (!p->have)
		return;
	put_u(o, "rss_bytes", p->rss);
	cJSON_AddNumberToObject(o, "mappings", (double)p->nmappings);
	cJSON_AddNumberToObject(o, "smaps_ms", p->smaps_ms);
	for (int k = 0; k < HS_MEM_KINDS; k++) {
		char name[48];
		snprintf(name, sizeof name, "%s_bytes", hs_mem_kind_name((enum hs_mem_kind)k));
		put_u(o, name, p->bytes[k]);
	}
	put_u(o, "malloc_bytes", p->malloc_bytes);
	put_u(o, "outside_malloc_bytes", p->outside_bytes);
	if (p->runtime[0]) {
		cJSON_AddStringToObject(o, "runtime", p->runtime);
		cJSON_AddStringToObject(o, "runtime_file", p->runtime_file);
	} else {
		cJSON_AddNullToObject(o, "runtime");
		cJSON_AddNullToObject(o, "runtime_file");
	}
	cJSON *a = arr(o, "owners");
	for (size_t i = 0; i < p->nowners; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "owner", p->owners[i].owner);
		put_u(e, "bytes", p->owners[i].bytes);
		cJSON_AddNumberToObject(e, "regions", (double)p->owners[i].regions);
		cJSON_AddStringToObject(e, "how", p->owners[i].how);
		cJSON_AddItemToArray(a, e);
	}
	a = arr(o, "regions");
	for (size_t i = 0; i < p->nregions; i++) {
		const struct hs_region *r = &p->regions[i];
		cJSON *e = cJSON_CreateObject();
		put_addr(e, "start", r->start);
		put_addr(e, "end", r->end);
		put_u(e, "size", r->end - r->start);
		put_u(e, "rss_bytes", r->rss);
		cJSON_AddStringToObject(e, "owner", r->owner);
		cJSON_AddItemToArray(a, e);
	}
	cJSON_AddNumberToObject(o, "regions_total", (double)p->nregions_all);
}

static void thresholds(cJSON *diag, const struct hs_census *c)
{
	if (!c->heap)
		return;
	cJSON *o = obj(diag, "thresholds");
	const struct hs_mp *mp = &c->heap->mp;
	put_u(o, "mmap_threshold", mp->mmap_threshold);
	put_u(o, "trim_threshold", mp->trim_threshold);
	cJSON_AddBoolToObject(o, "dynamic", !mp->no_dyn_threshold);
}

/* --redact: in place of a preview, "preview": null and what the bytes are:
 * "preview_description" ("32 B: text 22 B, zeros 10 B") and "preview_runs"
 * [{"kind", "bytes"}]. */
static void redacted_preview(cJSON *o, const unsigned char *p, unsigned n, unsigned word)
{
	char desc[HS_DESCRIBE_BUF];
	struct hs_byte_run runs[HS_REDACT_RUNS];
	size_t nr = hs_byte_runs(p, n, word, runs);
	cJSON_AddNullToObject(o, "preview");
	cJSON_AddStringToObject(o, "preview_description", hs_describe_bytes(desc, p, n, word));
	cJSON *a = arr(o, "preview_runs");
	for (size_t i = 0; i < nr; i++) {
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "kind", hs_byte_kind_name(runs[i].kind));
		cJSON_AddNumberToObject(r, "bytes", runs[i].bytes);
		cJSON_AddItemToArray(a, r);
	}
}

static void pins(cJSON *root, const struct hs_diagnosis *d, const struct hs_report_opts *opt, unsigned word)
{
	cJSON *a = arr(root, "pins");
	for (size_t i = 0; i < d->npins; i++) {
		const struct hs_pin *p = &d->pins[i];
		char hex[2 * HS_PREVIEW_BYTES + 1];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "arena", p->arena);
		cJSON_AddNumberToObject(o, "heap", (double)p->heap);
		put_addr(o, "address", p->addr);
		put_u(o, "size", p->size);
		if (p->type)
			cJSON_AddStringToObject(o, "type", p->type);
		else
			cJSON_AddNullToObject(o, "type");
		if (opt->redact && p->npreview)
			redacted_preview(o, p->preview, p->npreview, word);
		else if (p->npreview)
			cJSON_AddStringToObject(o, "preview", hs_pin_preview_hex(p, hex));
		else
			cJSON_AddNullToObject(o, "preview");
		put_u(o, "held_bytes", p->held_bytes);
		if (p->npreview >= 8 && !opt->redact)
			put_addr(o, "first_word", p->first_word);
		else
			cJSON_AddNullToObject(o, "first_word");
		put_addr(o, "run_start", p->run_start);
		put_u(o, "run_bytes", p->run_bytes);
		cJSON_AddItemToArray(a, o);
	}
}

static void warnings(cJSON *root, const struct hs_census *c, const struct hs_report_opts *opt)
{
	cJSON *a = arr(root, "warnings");
	const struct hs_warnings *w = c->warnings;
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++) {
		char *r = opt->redact ? hs_redact_warning(w->v[i]) : NULL;
		cJSON_AddItemToArray(a, cJSON_CreateString(r ? r : w->v[i]));
		free(r);
	}
	if (w->dropped) {
		char buf[64];
		snprintf(buf, sizeof buf, "%zu more warnings", w->dropped);
		cJSON_AddItemToArray(a, cJSON_CreateString(buf));
	}
}

static void chunks(cJSON *root, const struct hs_census *c)
{
	cJSON *a = arr(root, "chunks");
	const struct hs_index *ix = c->index;
	for (size_t i = 0; ix && i < ix->nchunks; i++) {
		const struct hs_chunk *ch = &ix->chunks[i];
		cJSON *o = cJSON_CreateObject();
		put_addr(o, "address", ch->addr);
		put_u(o, "size", ch->size);
		cJSON_AddStringToObject(o, "state", hs_state_name(hs_census_chunk_state(c, ch)));
		if (ch->arena >= 0)
			cJSON_AddNumberToObject(o, "arena", ch->arena);
		else
			cJSON_AddNullToObject(o, "arena");
		cJSON_AddItemToArray(a, o);
	}
}

static void types(cJSON *root, const struct hs_census *c)
{
	cJSON *a = arr(root, "types");
	for (size_t i = 0; i < c->ntypes; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", c->types[i].type);
		put_u(o, "in_use_chunks", c->types[i].chunks);
		put_u(o, "in_use_bytes", c->types[i].bytes);
		cJSON_AddItemToArray(a, o);
	}
}

static void leaks(cJSON *root, const struct hs_leaks *l, const struct hs_report_opts *opt, unsigned word)
{
	cJSON *o = obj(root, "leaks");
	put_u(o, "chunks", l->chunks);
	put_u(o, "bytes", l->bytes);
	put_u(o, "interior_chunks", l->interior_chunks);
	put_u(o, "interior_bytes", l->interior_bytes);
	put_u(o, "reachable_chunks", l->reachable_chunks);
	put_u(o, "reachable_bytes", l->reachable_bytes);
	put_u(o, "root_bytes", l->root_bytes);
	put_u(o, "scanned_bytes", l->scanned_bytes);
	cJSON_AddBoolToObject(o, "all", l->all);
	cJSON *a = arr(o, "by_size");
	for (size_t i = 0; i < l->nby_size; i++) {
		cJSON *r = cJSON_CreateObject();
		put_u(r, "size", l->by_size[i].size);
		put_u(r, "chunks", l->by_size[i].chunks);
		put_u(r, "bytes", l->by_size[i].bytes);
		cJSON_AddItemToArray(a, r);
	}
	a = arr(o, "by_type");
	for (size_t i = 0; i < l->nby_type; i++) {
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "type", l->by_type[i].type);
		put_u(r, "chunks", l->by_type[i].chunks);
		put_u(r, "bytes", l->by_type[i].bytes);
		cJSON_AddItemToArray(a, r);
	}
	a = arr(o, "suspects");
	for (size_t i = 0; i < l->nsuspects; i++) {
		const struct hs_leak_suspect *sp = &l->suspects[i];
		char pv[HS_PREVIEW_BUF];
		cJSON *r = cJSON_CreateObject();
		put_addr(r, "address", sp->addr);
		put_u(r, "size", sp->size);
		if (sp->type)
			cJSON_AddStringToObject(r, "type", sp->type);
		else
			cJSON_AddNullToObject(r, "type");
		if (opt->redact)
			redacted_preview(r, sp->preview, sp->npreview, word);
		else
			cJSON_AddStringToObject(r, "preview", hs_fmt_preview(pv, sp->preview, sp->npreview));
		cJSON_AddItemToArray(a, r);
	}
}

/* --compare: {"model", "modelled", "arenas": [...], "merged": {...},
 * "live_held_bytes", "fresh_held_bytes", "merged_held_bytes",
 * "misplaced_total", "misplaced": [...]} */
static void compare(cJSON *root, const struct hs_compare *m)
{
	cJSON *o = obj(root, "compare");
	cJSON_AddStringToObject(o, "model", m->model);
	cJSON_AddBoolToObject(o, "modelled", m->modelled);
	if (!m->modelled)
		return;
	cJSON *a = arr(o, "arenas");
	for (size_t i = 0; i < m->narenas; i++) {
		const struct hs_compare_arena *r = &m->arenas[i];
		cJSON *x = cJSON_CreateObject();
		cJSON_AddNumberToObject(x, "arena", r->arena);
		put_u(x, "live_system_bytes", r->live_system_bytes);
		put_u(x, "live_in_use_bytes", r->live_in_use_bytes);
		put_u(x, "live_in_use_chunks", r->live_in_use_chunks);
		put_u(x, "trimmable_bytes", r->trimmable_bytes);
		put_u(x, "fresh_system_bytes", r->fresh_system_bytes);
		put_u(x, "fresh_mmapped_bytes", r->fresh_mmapped_bytes);
		put_u(x, "fresh_mmapped_chunks", r->fresh_mmapped_chunks);
		put_u(x, "fresh_trimmed_bytes", r->fresh_trimmed_bytes);
		cJSON_AddItemToArray(a, x);
	}
	cJSON *g = obj(o, "merged");
	put_u(g, "system_bytes", m->merged_system_bytes);
	put_u(g, "mmapped_bytes", m->merged_mmapped_bytes);
	put_u(g, "trimmed_bytes", m->merged_trimmed_bytes);
	put_u(o, "live_held_bytes", m->live_held_bytes);
	put_u(o, "fresh_held_bytes", m->fresh_held_bytes);
	put_u(o, "merged_held_bytes", m->merged_held_bytes);
	put_u(o, "misplaced_total", m->misplaced_total);
	a = arr(o, "misplaced");
	for (size_t i = 0; i < m->nmisplaced; i++) {
		const struct hs_misplaced *x = &m->misplaced[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "arena", x->arena);
		put_addr(e, "address", x->addr);
		put_u(e, "size", x->size);
		cJSON_AddStringToObject(e, "list", x->list);
		cJSON_AddNumberToObject(e, "bin", x->index);
		cJSON_AddStringToObject(e, "expected", x->expected);
		cJSON_AddNumberToObject(e, "expected_bin", x->expected_index);
		cJSON_AddItemToArray(a, e);
	}
}

/* watch: "delta", this snapshot against the one before (trend.h); the
 * first has no previous: its rates and trend are null. */
static void delta(cJSON *root, const struct hs_delta *d)
{
	cJSON *o = obj(root, "delta");
	cJSON_AddNumberToObject(o, "index", (double)d->index);
	put_u(o, "monotonic_ns", d->t_ns);
	cJSON_AddNumberToObject(o, "seconds", d->seconds);
	cJSON *ch = obj(o, "change");
	for (int q = 0; q < HS_NQTY; q++)
		cJSON_AddNumberToObject(ch, hs_qty_name(q), (double)d->change[q]);
	if (d->index == 0 || d->seconds <= 0) {
		cJSON_AddNullToObject(o, "per_second");
		cJSON_AddNullToObject(o, "per_minute");
	} else {
		cJSON *ps = obj(o, "per_second"), *pm = obj(o, "per_minute");
		for (int q = 0; q < HS_NQTY; q++) {
			cJSON_AddNumberToObject(ps, hs_qty_name(q), d->per_s[q]);
			cJSON_AddNumberToObject(pm, hs_qty_name(q), d->per_s[q] * 60);
		}
	}
	const struct hs_trend *t = &d->trend;
	if (!t->word) {
		cJSON_AddNullToObject(o, "trend");
		return;
	}
	cJSON *tr = obj(o, "trend");
	cJSON_AddStringToObject(tr, "word", t->word);
	cJSON_AddStringToObject(tr, "sentence", t->sentence);
	cJSON_AddNumberToObject(tr, "intervals", (double)t->intervals);
	cJSON_AddNumberToObject(tr, "seconds", t->seconds);
	cJSON_AddNumberToObject(tr, "in_use_per_minute", t->in_use_per_s * 60);
	cJSON_AddNumberToObject(tr, "holes_per_minute", t->holes_per_s * 60);
	cJSON_AddNumberToObject(tr, "system_per_minute", t->system_per_s * 60);
}

static cJSON *build(const struct hs_census *c, const struct hs_diagnosis *d, const struct hs_report_opts *opt)
{
	const struct hs_symbols *s = c->sym;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "schema", "heapscope/1");
	unsigned word = s && s->layout.size_sz ? s->layout.size_sz : 8;
	if (opt->redact) /* absent without --redact: the report is as it always was */
		cJSON_AddBoolToObject(root, "redacted", true);

	cJSON *o = obj(root, "target");
	cJSON_AddNumberToObject(o, "pid", c->pid);
	cJSON_AddStringToObject(o, "exe", c->exe ? c->exe : "");
	if (c->core) /* absent for a live process */
		cJSON_AddStringToObject(o, "core", c->core);
	cJSON_AddStringToObject(o, "arch", c->arch ? c->arch : "");
	cJSON_AddStringToObject(o, "glibc", s->version);
	if (s->version_given) /* absent unless --glibc named a version the program does not */
		cJSON_AddBoolToObject(o, "glibc_given", true);
	cJSON_AddNumberToObject(o, "threads", (double)c->nthreads);

	o = obj(root, "symbols");
	cJSON_AddStringToObject(o, "source", s->method ? s->method : "");
	if (s->debuginfo[0])
		cJSON_AddStringToObject(o, "debuginfo", s->debuginfo);
	else
		cJSON_AddNullToObject(o, "debuginfo");
	put_addr(o, "main_arena", s->main_arena);
	put_addr(o, "mp", s->mp);

	o = obj(root, "snapshot");
	cJSON_AddNumberToObject(o, "stopped_ms", c->stopped_ms);
	cJSON_AddNumberToObject(o, "total_ms", c->total_ms);
	cJSON_AddNumberToObject(o, "retries", c->retries);
	cJSON_AddBoolToObject(o, "consistent", c->consistent);
	if (c->held_by) { /* another tracer held it stopped: read as it was */
		cJSON *by = cJSON_AddObjectToObject(o, "stopped_by");
		cJSON_AddNumberToObject(by, "pid", c->held_by);
		cJSON_AddStringToObject(by, "name", c->held_comm ? c->held_comm : "");
	} else {
		cJSON_AddNullToObject(o, "stopped_by");
	}
	if (c->max_stop_ms > 0) {
		cJSON_AddNumberToObject(o, "predicted_stop_ms", c->predicted_stop_ms);
		cJSON_AddNumberToObject(o, "max_stop_ms", c->max_stop_ms);
	} else {
		cJSON_AddNullToObject(o, "predicted_stop_ms");
		cJSON_AddNullToObject(o, "max_stop_ms");
	}

	o = obj(root, "totals");
	counts(o, &c->totals);
	put_u(o, "mmapped_bytes", c->totals.mmapped.bytes);
	put_u(o, "mmapped_chunks", c->totals.mmapped.chunks);
	if (c->have_residency) { /* only when pagemap was read */
		put_u(o, "resident_free_bytes", c->totals.resident_free_bytes);
		put_u(o, "trimmable_bytes", c->totals.trimmable_bytes);
	}

	arenas(root, c, opt);
	threads(root, c);
	histogram(root, c);
	mallinfo2(root, &c->mallinfo2);
	diagnosis(root, d);
	thresholds(cJSON_GetObjectItem(root, "diagnosis"), c);
	process(root, c);
	pins(root, d, opt, word);
	if (d->leaks)
		leaks(root, d->leaks, opt, word);
	types(root, c);
	if (d->compare)
		compare(root, d->compare);
	warnings(root, c, opt);
	if (opt->chunks)
		chunks(root, c);
	if (c->delta)
		delta(root, c->delta);
	return root;
}

void hs_report_json(FILE *out, const struct hs_census *c, const struct hs_diagnosis *d,
		    const struct hs_report_opts *o)
{
	cJSON *root = build(c, d, o);
	char *text = o->pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text) {
		fputs("heapscope: out of memory\n", stderr);
		exit(HS_EINTERNAL);
	}
	hs_fputs_utf8(out, text);
	fputc('\n', out);
	cJSON_free(text);
}
