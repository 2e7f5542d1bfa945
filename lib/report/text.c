/* report_text.c - the human report: what an on-call engineer needs first
 * (the verdict), then where the memory is (arenas, sizes, threads), then
 * what to do (findings) and what could not be trusted (warnings). About
 * 30 lines for a 4-arena process; --chunks and --bins add the long lists. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "report/render.h"

#define MAX_THREAD_LINES 8 /* beyond this, one summary line: --json lists all */
#define MAX_WARNING_LINES 10
#define ADDRS_PER_LINE 4   /* --bins: node addresses per line */

typedef char szbuf[HS_SIZE_BUF];

/* "chunk" or "chunks": the s, or none for one. */
static const char *pl(uint64_t n)
{
	return n == 1 ? "" : "s";
}

static int arena_threads(const struct hs_census *c, size_t ai)
{
	int n = 0;
	for (size_t t = 0; t < c->nthreads; t++)
		if (c->threads[t].thread && c->threads[t].thread->arena == (int)ai)
			n++;
	return n;
}

static void header(FILE *out, const struct hs_census *c, const struct hs_diagnosis *d)
{
	const struct hs_symbols *s = c->sym;
	fprintf(out, "%s: %s\n", d->verdict, d->summary);
	if (!c->pid) { /* replay: a trace through the reference core, no process */
		fprintf(out, "trace %s, %s, glibc %s as the reference core models it\n", c->exe ? c->exe : "?",
			c->arch ? c->arch : "?", s && s->version[0] ? s->version : "?");
		fprintf(out, "no process (nothing stopped), total %.1f ms\n", c->total_ms);
		return;
	}
	if (c->core)
		fprintf(out, "core %s of ", c->core);
	fprintf(out, "pid %d (%s), %s, glibc %s%s via %s%s%s%s, %zu thread%s\n", (int)c->pid,
		c->exe ? c->exe : "?", c->arch ? c->arch : "?", s && s->version[0] ? s->version : "?",
		s && s->version_given ? " (as --glibc says)" : "", s && s->method ? s->method : "?", s && s->debuginfo[0] ? " (" : "",
		s && s->debuginfo[0] ? s->debuginfo : "", s && s->debuginfo[0] ? ")" : "", c->nthreads,
		c->nthreads == 1 ? "" : "s");
	if (c->core)
		fprintf(out, "read from the core (nothing stopped), total %.1f ms", c->total_ms);
	else if (c->held_by)
		fprintf(out, "held stopped by %s (pid %d): read as it is, nothing stopped or resumed, total %.1f ms",
			c->held_comm ? c->held_comm : "?", (int)c->held_by, c->total_ms);
	else
		fprintf(out, "target stopped %.1f ms, total %.1f ms", c->stopped_ms, c->total_ms);
	if (c->retries)
		fprintf(out, ", %d retr%s", c->retries, c->retries == 1 ? "y" : "ies");
	if (c->max_stop_ms > 0)
		fprintf(out, " (stop predicted %.1f ms, budget %.0f ms)", c->predicted_stop_ms, c->max_stop_ms);
	if (!c->consistent)
		fputs(", snapshot NOT consistent", out);
	fputc('\n', out);
}

static void counts_row(FILE *out, const struct hs_counts *k)
{
	szbuf a, b, e, f, g, h, i, j;
	fprintf(out, " %10s %10s %10s %10s %10s %10s %10s %9s", hs_fmt_size(a, k->system_bytes),
		hs_fmt_size(b, k->in_use.bytes), hs_fmt_size(e, k->free.bytes), hs_fmt_size(f, k->tcache.bytes),
		hs_fmt_size(g, k->fast.bytes), hs_fmt_size(h, k->bin.bytes), hs_fmt_size(i, k->top_bytes),
		hs_fmt_size(j, k->overhead_bytes));
}

static void arenas(FILE *out, const struct hs_census *c)
{
	fprintf(out, "\n%5s %-14s %5s %10s %10s %10s %10s %10s %10s %10s %9s %4s\n", "arena", "address",
		"heaps", "system", "in use", "free", "tcache", "fastbins", "bins", "top", "overhead", "thr");
	size_t nheaps = 0;
	for (size_t i = 0; i < c->narenas; i++) {
		const struct hs_arena *a = c->arenas[i].arena;
		nheaps += a->nheaps;
		fprintf(out, "%4zu%c 0x%-12" PRIx64 " %5zu", i, a->main ? '*' : ' ', a->addr, a->nheaps);
		counts_row(out, &c->arenas[i].c);
		fprintf(out, " %4d\n", arena_threads(c, i));
	}
	fprintf(out, "%5s %-14s %5zu", "total", "", nheaps);
	counts_row(out, &c->totals);
	fprintf(out, " %4zu\n", c->nthreads);

	szbuf a, b, e, f;
	static const struct hs_mp nomp;
	const struct hs_mp *mp = c->heap ? &c->heap->mp : &nomp;
	fprintf(out, "mmapped: %llu chunk%s, %s (max %d region%s, %s)", (unsigned long long)c->totals.mmapped.chunks,
		pl(c->totals.mmapped.chunks), hs_fmt_size(a, c->totals.mmapped.bytes), (int)mp->max_n_mmaps,
		pl((uint64_t)mp->max_n_mmaps), hs_fmt_size(b, mp->max_mmapped_mem));
	if (c->totals.foreign_sbrk_bytes)
		fprintf(out, "\nforeign sbrk: %s of the main arena's system bytes (in its overhead) are the program's own, between glibc's pieces",
			hs_fmt_size(a, c->totals.foreign_sbrk_bytes));
	if (c->have_residency)
		fprintf(out, "\nresident: free chunks and top %s; malloc_trim(0) would return %s",
			hs_fmt_size(e, c->totals.resident_free_bytes), hs_fmt_size(f, c->totals.trimmable_bytes));
	fputc('\n', out);
	/* glibc's own view, which counts tcache chunks as in use. */
	const struct hs_mallinfo2 *m = &c->mallinfo2;
	fprintf(out, "glibc mallinfo2: arena %s, uordblks %s, fordblks %s, keepcost %s, hblkhd %s\n",
		hs_fmt_size(a, m->arena), hs_fmt_size(b, m->uordblks), hs_fmt_size(e, m->fordblks),
		hs_fmt_size(f, m->keepcost), hs_fmt_size((szbuf){0}, m->hblkhd));
}

/* Arenas against the limit glibc applies, and the thresholds as they stand. */
static void limits(FILE *out, const struct hs_census *c, const struct hs_diagnosis *d)
{
	if (!c->heap || !c->narenas)
		return;
	const struct hs_mp *mp = &c->heap->mp;
	szbuf a, b;
	fprintf(out, "arenas: %zu", c->narenas);
	if (d->arena_limit && d->cores) {
		fprintf(out, " of glibc's limit %d (%s%d per core, %d core%s by the %s)", d->arena_limit,
			d->arena_from_test ? "arena_test + 1, more than " : "", d->per_core, d->cores,
			d->cores == 1 ? "" : "s", d->cores_from);
		if (d->arena_limit_affinity)
			fprintf(out, " or %d (%d core%s by the affinity mask, if this glibc predates the fix of BZ 30945)",
				d->arena_limit_affinity, d->cores_affinity, d->cores_affinity == 1 ? "" : "s");
	} else if (d->arena_limit)
		fprintf(out, " of arena_max %d", d->arena_limit);
	fprintf(out, "; thresholds: mmap %s, trim %s (%s)\n", hs_fmt_size(a, mp->mmap_threshold),
		hs_fmt_size(b, mp->trim_threshold), mp->no_dyn_threshold ? "set" : "dynamic");
}

/* The whole process: its RSS by owner, and the largest anonymous regions
 * that are not malloc's. */
static void process(FILE *out, const struct hs_census *c)
{
	const struct hs_process *p = c->process;
	if (!p)
		return;
	szbuf a, b, e, f, g, h, i;
	if (!p->have) {
		fputs("process: /proc/PID/smaps not read: no split of the RSS\n", out);
		return;
	}
	fprintf(out, "process: RSS %s in %zu mapping%s: malloc's heaps %s, mmapped chunks %s; thread stacks %s, "
		     "other anonymous %s, file-backed %s, shared %s\n",
		hs_fmt_size(a, p->rss), p->nmappings, p->nmappings == 1 ? "" : "s", hs_fmt_size(b, p->bytes[HS_MEM_ARENAS]),
		hs_fmt_size(e, p->bytes[HS_MEM_MMAPPED]), hs_fmt_size(f, p->bytes[HS_MEM_STACKS]),
		hs_fmt_size(g, p->bytes[HS_MEM_ANON]), hs_fmt_size(h, p->bytes[HS_MEM_FILE]),
		hs_fmt_size(i, p->bytes[HS_MEM_SHARED]));
	for (size_t k = 0; k < p->nowners; k++) {
		const struct hs_owner *o = &p->owners[k];
		fprintf(out, "  other anonymous: %s %s in %zu region%s (%s)\n", o->owner, hs_fmt_size(a, o->bytes),
			o->regions, o->regions == 1 ? "" : "s", o->how);
	}
	for (size_t k = 0; k < p->nregions; k++) {
		const struct hs_region *r = &p->regions[k];
		fprintf(out, "  0x%" PRIx64 "-0x%" PRIx64 " %10s resident of %10s  %s\n", r->start, r->end,
			hs_fmt_size(a, r->rss), hs_fmt_size(b, r->end - r->start), r->owner);
	}
	if (p->nregions_all > p->nregions)
		fprintf(out, "  ... %zu more regions\n", p->nregions_all - p->nregions);
}

static void histogram(FILE *out, const struct hs_census *c)
{
	if (!c->nhist)
		return;
	fprintf(out, "\n%-21s %10s %10s %10s %10s\n", "chunk size", "in use", "bytes", "free", "bytes");
	for (size_t i = 0; i < c->nhist; i++) {
		const struct hs_hist_row *r = &c->hist[i];
		szbuf lo, hi, a, b;
		char range[48];
		snprintf(range, sizeof range, "%s - %s", hs_fmt_size(lo, r->min), hs_fmt_size(hi, r->max + 1));
		fprintf(out, "%-21s %10llu %10s %10llu %10s\n", range, (unsigned long long)r->in_use.chunks,
			hs_fmt_size(a, r->in_use.bytes), (unsigned long long)r->free.chunks,
			hs_fmt_size(b, r->free.bytes));
	}
}

static void threads(FILE *out, const struct hs_census *c)
{
	if (!c->nthreads)
		return;
	fputc('\n', out);
	size_t shown = 0;
	uint64_t rest_chunks = 0, rest_bytes = 0;
	for (size_t t = 0; t < c->nthreads; t++) {
		const struct hs_thread_census *tc = &c->threads[t];
		const struct hs_thread *th = tc->thread;
		if (shown >= MAX_THREAD_LINES) {
			rest_chunks += tc->tcache.chunks;
			rest_bytes += tc->tcache.bytes;
			continue;
		}
		shown++;
		szbuf a;
		fprintf(out, "thread %d: arena ", (int)th->tid);
		if (th->arena >= 0)
			fprintf(out, "%d", th->arena);
		else
			fputs("none", out);
		if (th->tcache.addr)
			fprintf(out, ", tcache %llu chunk%s %s", (unsigned long long)tc->tcache.chunks,
				pl(tc->tcache.chunks), hs_fmt_size(a, tc->tcache.bytes));
		else
			fputs(", no tcache", out);
		if (th->in_malloc)
			fprintf(out, ", inside %s", th->malloc_fn ? th->malloc_fn : "malloc");
		fputc('\n', out);
	}
	if (shown < c->nthreads) {
		szbuf a;
		fprintf(out, "... %zu more thread%s: tcache %llu chunk%s %s (--json lists them)\n", c->nthreads - shown,
			pl(c->nthreads - shown), (unsigned long long)rest_chunks, pl(rest_chunks), hs_fmt_size(a, rest_bytes));
	}
}

static void findings(FILE *out, const struct hs_diagnosis *d)
{
	if (!d->nfindings)
		return;
	fputc('\n', out);
	for (size_t i = 0; i < d->nfindings; i++) {
		const struct hs_finding *f = &d->findings[i];
		szbuf a;
		if (f->bytes)
			fprintf(out, "%s (%s): %s\n", f->kind, hs_fmt_size(a, f->bytes), f->message);
		else
			fprintf(out, "%s: %s\n", f->kind, f->message);
		if (f->remedy[0])
			fprintf(out, "  remedy: %s\n", f->remedy);
	}
}

#define MAX_TYPE_LINES 10
#define MAX_LEAK_SIZE_LINES 10

static void types(FILE *out, const struct hs_census *c)
{
	if (!c->ntypes)
		return;
	fprintf(out, "\ntypes (in use, by bytes):\n");
	for (size_t i = 0; i < c->ntypes && i < MAX_TYPE_LINES; i++) {
		szbuf a;
		fprintf(out, "  %10s %8llu  %s\n", hs_fmt_size(a, c->types[i].bytes),
			(unsigned long long)c->types[i].chunks, c->types[i].type);
	}
	if (c->ntypes > MAX_TYPE_LINES)
		fprintf(out, "  ... %zu more types (--json lists them)\n", c->ntypes - MAX_TYPE_LINES);
}

static void leaks(FILE *out, const struct hs_leaks *l, const struct hs_report_opts *o, unsigned word)
{
	if (!l)
		return;
	szbuf a, b, e;
	fprintf(out, "\nleaks: %llu chunk%s, %s unreachable; %llu chunk%s (%s) reached only through interior pointers; %s reachable\n",
		(unsigned long long)l->chunks, pl(l->chunks), hs_fmt_size(a, l->bytes), (unsigned long long)l->interior_chunks,
		pl(l->interior_chunks), hs_fmt_size(b, l->interior_bytes), hs_fmt_size(e, l->reachable_bytes));
	if (!l->chunks)
		return;
	fprintf(out, "  %12s %10s %10s\n", "chunk size", "chunks", "bytes");
	for (size_t i = 0; i < l->nby_size && i < MAX_LEAK_SIZE_LINES; i++)
		fprintf(out, "  %12llu %10llu %10s\n", (unsigned long long)l->by_size[i].size,
			(unsigned long long)l->by_size[i].chunks, hs_fmt_size(a, l->by_size[i].bytes));
	if (l->nby_size > MAX_LEAK_SIZE_LINES)
		fprintf(out, "  ... %zu more sizes (--json lists them)\n", l->nby_size - MAX_LEAK_SIZE_LINES);
	for (size_t i = 0; i < l->nby_type && i < MAX_TYPE_LINES; i++)
		fprintf(out, "  type %s: %llu chunk%s, %s\n", l->by_type[i].type,
			(unsigned long long)l->by_type[i].chunks, pl(l->by_type[i].chunks), hs_fmt_size(a, l->by_type[i].bytes));
	size_t shown = l->nsuspects < MAX_LEAK_SIZE_LINES ? l->nsuspects : MAX_LEAK_SIZE_LINES;
	fprintf(out, "  suspects%s:\n", l->all ? "" : " (a sample)");
	for (size_t i = 0; i < shown; i++) {
		const struct hs_leak_suspect *sp = &l->suspects[i];
		char pv[HS_PREVIEW_BUF > HS_DESCRIBE_BUF + 2 ? HS_PREVIEW_BUF : HS_DESCRIBE_BUF + 2];
		if (o->redact) { /* what the bytes are, none of them */
			pv[0] = '(';
			hs_describe_bytes(pv + 1, sp->preview, sp->npreview, word);
			strcat(pv, ")");
		} else
			hs_fmt_preview(pv, sp->preview, sp->npreview < 16 ? sp->npreview : 16);
		fprintf(out, "  0x%-14llx %8llu %s%s%s\n", (unsigned long long)sp->addr, (unsigned long long)sp->size,
			sp->type ? sp->type : "", sp->type ? " " : "", pv);
	}
	if (l->nsuspects > shown)
		fprintf(out, "  ... %zu more (--json lists them)\n", l->nsuspects - shown);
}

/* The chunks that keep free space from the system: address, size, what
 * they hold, and their first bytes as hex and ASCII. */
static void pinned(FILE *out, const struct hs_diagnosis *d, const struct hs_report_opts *o, unsigned word)
{
	if (!d->npins)
		return;
	fprintf(out, "\npinned (in-use chunks that keep the free space below them from the system):\n");
	fprintf(out, "%5s %4s %-18s %10s %10s  %s\n", "arena", "heap", "address", "size", "holds", "first bytes");
	for (size_t i = 0; i < d->npins; i++) {
		const struct hs_pin *p = &d->pins[i];
		szbuf a, b;
		fprintf(out, "%5d %4zu 0x%-16" PRIx64 " %10s %10s  ", p->arena, p->heap, p->addr,
			hs_fmt_size(a, p->size), hs_fmt_size(b, p->held_bytes));
		if (o->redact) {
			char desc[HS_DESCRIBE_BUF];
			if (p->npreview)
				fprintf(out, "(%s)", hs_describe_bytes(desc, p->preview, p->npreview, word));
			else
				fputs("(unreadable)", out);
		} else {
			unsigned n = p->npreview < 16 ? p->npreview : 16;
			for (unsigned k = 0; k < n; k++)
				fprintf(out, "%02x%s", p->preview[k], k == 7 ? "  " : " ");
			fputc('|', out);
			for (unsigned k = 0; k < n; k++)
				fputc(p->preview[k] >= 0x20 && p->preview[k] < 0x7f ? p->preview[k] : '.', out);
			fputs(p->npreview ? "|" : "| (unreadable)", out);
		}
		if (p->type)
			fprintf(out, " %s", p->type);
		fputc('\n', out);
	}
}

/* --compare: each arena beside what the reference core says a fresh heap
 * would hold for the same live set. */
static void compare(FILE *out, const struct hs_compare *m)
{
	if (!m)
		return;
	if (!m->modelled) {
		fprintf(out, "\ncompare: the reference core has no model of glibc %s\n", m->model);
		return;
	}
	szbuf a, b, e, f, g, h;
	fprintf(out, "\ncompare (reference core, glibc %s model; the live set re-allocated in address order):\n", m->model);
	fprintf(out, "%5s %10s %10s %10s %12s %10s %12s\n", "arena", "held", "in use", "fresh heap", "fresh mmapped",
		"fresh+trim", "trim(0) RSS");
	for (size_t i = 0; i < m->narenas; i++) {
		const struct hs_compare_arena *r = &m->arenas[i];
		fprintf(out, "%5d %10s %10s %10s %12s %10s %12s\n", r->arena, hs_fmt_size(a, r->live_system_bytes),
			hs_fmt_size(b, r->live_in_use_bytes), hs_fmt_size(e, r->fresh_system_bytes),
			hs_fmt_size(f, r->fresh_mmapped_bytes), hs_fmt_size(g, r->fresh_trimmed_bytes),
			hs_fmt_size(h, r->trimmable_bytes));
	}
	fprintf(out, "held from the OS: %s now, %s fresh, %s in one arena (MALLOC_ARENA_MAX=1)\n",
		hs_fmt_size(a, m->live_held_bytes), hs_fmt_size(b, m->fresh_held_bytes),
		hs_fmt_size(e, m->merged_held_bytes));
	if (!m->misplaced_total) {
		fprintf(out, "every free chunk is in the list the core would have put it in\n");
		return;
	}
	fprintf(out, "%llu free chunk%s in a list the core would not have put %s in (corruption, or a glibc "
		     "the model does not know):\n", (unsigned long long)m->misplaced_total, pl(m->misplaced_total),
		m->misplaced_total == 1 ? "it" : "them");
	for (size_t i = 0; i < m->nmisplaced; i++) {
		const struct hs_misplaced *x = &m->misplaced[i];
		fprintf(out, "  arena %d 0x%" PRIx64 " size %" PRIu64 ": in %s %d, the core puts it in %s %d\n",
			x->arena, x->addr, x->size, x->list, x->index, x->expected, x->expected_index);
	}
}

static void warnings(FILE *out, const struct hs_census *c, const struct hs_report_opts *o)
{
	const struct hs_warnings *w = c->warnings;
	if (!w || (!w->n && !w->dropped))
		return;
	fprintf(out, "\nwarnings (%zu):\n", w->n + w->dropped);
	size_t shown = w->n < MAX_WARNING_LINES ? w->n : MAX_WARNING_LINES;
	for (size_t i = 0; i < shown; i++) {
		char *r = o->redact ? hs_redact_warning(w->v[i]) : NULL;
		fprintf(out, "  %s\n", r ? r : w->v[i]);
		free(r);
	}
	if (w->n + w->dropped > shown)
		fprintf(out, "  ... %zu more warning%s (--json lists them)\n", w->n + w->dropped - shown,
			pl(w->n + w->dropped - shown));
}

static void chunks(FILE *out, const struct hs_census *c)
{
	const struct hs_index *ix = c->index;
	size_t n = ix ? ix->nchunks : 0;
	fprintf(out, "\nchunks (%zu):\n%-18s %12s %-13s %s\n", n, "address", "size", "state", "arena");
	for (size_t i = 0; i < n; i++) {
		const struct hs_chunk *ch = &ix->chunks[i];
		fprintf(out, "0x%-16" PRIx64 " %12" PRIu64 " %-13s ", ch->addr, ch->size,
			hs_state_name(hs_census_chunk_state(c, ch)));
		if (ch->arena >= 0)
			fprintf(out, "%d\n", ch->arena);
		else
			fputs("-\n", out);
	}
}

/* One free list: a title line, then its nodes (when kept). */
static void list_nodes(FILE *out, const struct hs_binstat *s)
{
	if (!s->nodes)
		return;
	for (uint64_t k = 0; k < s->count; k++)
		fprintf(out, "%s0x%" PRIx64 "%s", k % ADDRS_PER_LINE ? " " : "    ", s->nodes[k],
			(k % ADDRS_PER_LINE == ADDRS_PER_LINE - 1 || k + 1 == s->count) ? "\n" : "");
}

static void list_line(FILE *out, const char *who, const char *kind, int i, const struct hs_binstat *s,
		      uint64_t size)
{
	szbuf a;
	fprintf(out, "%s %s %d", who, kind, i);
	if (size)
		fprintf(out, " (size %" PRIu64 ")", size);
	fprintf(out, ": %llu chunk%s, %s\n", (unsigned long long)s->count, pl(s->count), hs_fmt_size(a, s->bytes));
	list_nodes(out, s);
}

static void bins(FILE *out, const struct hs_census *c)
{
	const struct hs_layout *l = &c->sym->layout;
	fputs("\nfree lists:\n", out);
	for (size_t t = 0; t < c->nthreads; t++) {
		const struct hs_thread_bins *tb = c->threads[t].bins;
		char who[32];
		snprintf(who, sizeof who, "thread %d", (int)c->threads[t].thread->tid);
		for (int i = 0; tb && i < c->threads[t].thread->tcache.nbins && i < HS_MAX_TCACHE_BINS; i++)
			if (tb->tc[i].count)
				list_line(out, who, "tcache", i, &tb->tc[i], hs_tcache_bin_size(l, i));
	}
	for (size_t ai = 0; ai < c->narenas; ai++) {
		const struct hs_arena_bins *b = c->arenas[ai].bins;
		char who[32];
		snprintf(who, sizeof who, "arena %zu", ai);
		for (int i = 0; i < l->nfastbins && i < HS_MAX_FASTBINS; i++)
			if (b->fast[i].count)
				list_line(out, who, "fastbin", i, &b->fast[i], b->fast[i].head);
		for (int i = 1; i < HS_NBINS && i < l->nbins; i++) {
			const struct hs_binstat *s = &b->bin[i];
			if (!s->count)
				continue;
			const char *kind = i == 1 ? "unsorted" : i < 64 ? "smallbin" : "largebin";
			list_line(out, who, kind, i, s, i > 1 && i < 64 ? (s->raw_min & ~(uint64_t)7) : 0);
		}
	}
}

void hs_report_text(FILE *out, const struct hs_census *c, const struct hs_diagnosis *d,
		    const struct hs_report_opts *o)
{
	unsigned word = c->sym && c->sym->layout.size_sz ? c->sym->layout.size_sz : 8;
	header(out, c, d);
	if (o->redact)
		fputs("redacted: no byte of the target's memory below; previews say what the bytes are\n", out);
	arenas(out, c);
	limits(out, c, d);
	process(out, c);
	histogram(out, c);
	threads(out, c);
	findings(out, d);
	leaks(out, d->leaks, o, word);
	types(out, c);
	pinned(out, d, o, word);
	compare(out, d->compare);
	warnings(out, c, o);
	if (o->chunks)
		chunks(out, c);
	if (o->bins)
		bins(out, c);
}
