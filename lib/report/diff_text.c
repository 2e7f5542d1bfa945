/* diff_text.c - the comparison of two reports for people: whose reports
 * they are and the verdict first, then the totals an on-call engineer
 * reads first (in use, free, top, system, mmapped), then only the rows
 * that changed: arenas, size classes, types, leaks, pins. */
#include <inttypes.h>
#include <string.h>

#include "base/fmt.h"
#include "report/diff.h"

#define MAX_ROWS 20 /* a table's changed rows shown; --json lists all */

typedef char szbuf[HS_SIZE_BUF];

/* A change in bytes for people: "+1.5 MiB", "-112 B", "0 B". */
static const char *sdelta(char buf[HS_SIZE_BUF + 1], int64_t d)
{
	return hs_fmt_size_change(buf, (d > 0) - (d < 0), d < 0 ? -(uint64_t)d : (uint64_t)d);
}

static bool changed(const struct hs_diff_row *r, size_t nfields)
{
	if (r->status != HS_DIFF_BOTH)
		return true;
	for (size_t f = 0; f < nfields; f++)
		if (r->v[f].old != r->v[f].new)
			return true;
	return false;
}

static size_t nchanged(const struct hs_diff_table *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++)
		n += changed(&t->rows[i], t->nfields);
	return n;
}

static void who(FILE *out, const struct hs_diff_side *s)
{
	if (s->core[0])
		fprintf(out, "core %s of ", s->core);
	if (s->pid)
		fprintf(out, "pid %" PRId64 " (%s)", s->pid, s->exe[0] ? s->exe : "?");
	else
		fprintf(out, "%s", s->exe[0] ? s->exe : "?");
}

static void header(FILE *out, const struct hs_diff *d)
{
	if (d->same_process) {
		fputs("the same process: ", out);
		who(out, &d->new);
	} else {
		fputs("two processes: ", out);
		who(out, &d->old);
		fputs(", then ", out);
		who(out, &d->new);
	}
	if (strcmp(d->old.glibc, d->new.glibc))
		fprintf(out, ", glibc %s then %s\n", d->old.glibc, d->new.glibc);
	else
		fprintf(out, ", glibc %s\n", d->new.glibc);
	if (strcmp(d->old.verdict, d->new.verdict))
		fprintf(out, "verdict: %s -> %s: %s\n", d->old.verdict, d->new.verdict, d->new.summary);
	else
		fprintf(out, "verdict: %s, unchanged\n", d->new.verdict);
}

/* "in use   1.2 MiB -> 1.5 MiB  +312.5 KiB (+1000 chunks)" */
static void total(FILE *out, const struct hs_diff *d, const char *label, int bytes, int chunks)
{
	if (!d->total_present[bytes])
		return;
	szbuf a, b;
	char c[HS_SIZE_BUF + 1];
	struct hs_diff_val v = d->totals[bytes];
	fprintf(out, "%-14s %10s -> %10s  %11s", label, hs_fmt_size(a, v.old), hs_fmt_size(b, v.new),
		sdelta(c, hs_diff_delta(v)));
	if (chunks >= 0)
		fprintf(out, "  %+" PRId64 " chunks (%" PRIu64 " -> %" PRIu64 ")", hs_diff_delta(d->totals[chunks]),
			d->totals[chunks].old, d->totals[chunks].new);
	fputc('\n', out);
}

static void totals(FILE *out, const struct hs_diff *d)
{
	total(out, d, "in use", HS_DT_IN_USE, HS_DT_IN_USE_CHUNKS);
	total(out, d, "free (holes)", HS_DT_FREE, HS_DT_FREE_CHUNKS);
	total(out, d, "  tcache", HS_DT_TCACHE, HS_DT_TCACHE_CHUNKS);
	total(out, d, "  fastbins", HS_DT_FASTBIN, HS_DT_FASTBIN_CHUNKS);
	total(out, d, "  bins", HS_DT_BIN, HS_DT_BIN_CHUNKS);
	total(out, d, "top", HS_DT_TOP, -1);
	total(out, d, "overhead", HS_DT_OVERHEAD, -1);
	total(out, d, "system", HS_DT_SYSTEM, -1);
	total(out, d, "mmapped", HS_DT_MMAPPED, HS_DT_MMAPPED_CHUNKS);
	total(out, d, "resident free", HS_DT_RESIDENT_FREE, -1);
	total(out, d, "trimmable", HS_DT_TRIMMABLE, -1);
}

/* A byte field of a row: its change, or "appeared N" / "vanished N". */
static const char *cell(char buf[HS_SIZE_BUF + 1], const struct hs_diff_row *r, size_t f)
{
	if (r->status == HS_DIFF_BOTH)
		return sdelta(buf, hs_diff_delta(r->v[f]));
	return sdelta(buf, r->status == HS_DIFF_APPEARED ? (int64_t)r->v[f].new : -(int64_t)r->v[f].old);
}

/* "... 12 more" after MAX_ROWS rows. */
static bool room(FILE *out, size_t *shown, size_t total)
{
	if (*shown < MAX_ROWS) {
		++*shown;
		return true;
	}
	if (*shown == MAX_ROWS) {
		fprintf(out, "  ... %zu more (--json lists all)\n", total - MAX_ROWS);
		++*shown;
	}
	return false;
}

static void arenas(FILE *out, const struct hs_diff *d)
{
	const struct hs_diff_table *t = &d->arenas;
	size_t n = nchanged(t), shown = 0;
	fprintf(out, "\narenas: %zu -> %zu (matched by %s), %zu changed\n", d->old.narenas, d->new.narenas,
		d->arenas_by_address ? "address" : "index: two processes", n);
	if (!n)
		return;
	fprintf(out, "%5s %-16s %-9s %11s %11s %11s %11s %11s\n", "arena", d->arenas_by_address ? "address" : "",
		"", "system", "in use", "free", "top", "overhead");
	for (size_t i = 0; i < t->n; i++) {
		const struct hs_diff_row *r = &t->rows[i];
		if (!changed(r, t->nfields) || !room(out, &shown, n))
			continue;
		char a[HS_SIZE_BUF + 1], b[HS_SIZE_BUF + 1], c[HS_SIZE_BUF + 1], e[HS_SIZE_BUF + 1],
			f[HS_SIZE_BUF + 1];
		int idx = r->new_pos >= 0 ? r->new_pos : r->old_pos;
		fprintf(out, "%4d%c %-16s %-9s %11s %11s %11s %11s %11s\n", idx, r->aux ? '*' : ' ',
			d->arenas_by_address ? r->key : "",
			r->status == HS_DIFF_BOTH ? "" : hs_diff_status_name(r->status), cell(a, r, 0), cell(b, r, 1),
			cell(c, r, 3), cell(e, r, 8), cell(f, r, 9));
	}
}

static void classes(FILE *out, const struct hs_diff *d)
{
	const struct hs_diff_table *t = &d->classes;
	size_t n = nchanged(t), shown = 0;
	if (!n)
		return;
	fprintf(out, "\n%-21s %10s %11s %10s %11s   (size classes that changed)\n", "chunk size", "in use",
		"bytes", "free", "bytes");
	for (size_t i = 0; i < t->n; i++) {
		const struct hs_diff_row *r = &t->rows[i];
		if (!changed(r, t->nfields) || !room(out, &shown, n))
			continue;
		szbuf lo, hi;
		char range[48], a[HS_SIZE_BUF + 1], b[HS_SIZE_BUF + 1];
		snprintf(range, sizeof range, "%s - %s", hs_fmt_size(lo, r->num), hs_fmt_size(hi, r->aux + 1));
		fprintf(out, "%-21s %+10" PRId64 " %11s %+10" PRId64 " %11s\n", range, hs_diff_delta(r->v[0]),
			cell(a, r, 1), hs_diff_delta(r->v[2]), cell(b, r, 3));
	}
}

/* Types, or leaks by type or size: "  NAME  +N chunks  +BYTES (OLD -> NEW)". */
static void named(FILE *out, const struct hs_diff_table *t, const char *title, const char *unit)
{
	if (!t->compared)
		return;
	size_t n = nchanged(t), shown = 0;
	if (!n)
		return;
	fprintf(out, "%s, %zu changed:\n", title, n);
	for (size_t i = 0; i < t->n; i++) {
		const struct hs_diff_row *r = &t->rows[i];
		if (!changed(r, t->nfields) || !room(out, &shown, n))
			continue;
		szbuf a, b;
		char c[HS_SIZE_BUF + 1], label[160];
		snprintf(label, sizeof label, "%s%s", r->key, unit);
		fprintf(out, "  %-32s %+8" PRId64 " chunks %11s (%s -> %s)%s%s\n", label, hs_diff_delta(r->v[0]),
			cell(c, r, 1), hs_fmt_size(a, r->v[1].old),
			hs_fmt_size(b, r->v[1].new), r->status == HS_DIFF_BOTH ? "" : ", ",
			r->status == HS_DIFF_BOTH ? "" : hs_diff_status_name(r->status));
	}
}

static void types(FILE *out, const struct hs_diff *d)
{
	if (!d->types.compared)
		return;
	fputc('\n', out);
	if (!nchanged(&d->types))
		fputs("types: no change\n", out);
	named(out, &d->types, "types (largest change first)", "");
}

static void leaks(FILE *out, const struct hs_diff *d)
{
	if (!d->leaks_compared)
		return;
	szbuf a, b;
	char c[HS_SIZE_BUF + 1];
	fprintf(out, "\nleaks: %" PRIu64 " -> %" PRIu64 " chunks (%+" PRId64 "), %s -> %s (%s)\n", d->leak_chunks.old,
		d->leak_chunks.new, hs_diff_delta(d->leak_chunks), hs_fmt_size(a, d->leak_bytes.old),
		hs_fmt_size(b, d->leak_bytes.new), sdelta(c, hs_diff_delta(d->leak_bytes)));
	if (d->suspects_compared)
		fprintf(out, "  suspects%s: %" PRIu64 " new (%s), %" PRIu64 " gone (%s), %" PRIu64 " in both\n",
			d->suspects_all ? "" : " (of the samples)", d->suspects_new, hs_fmt_size(a, d->suspects_new_bytes),
			d->suspects_gone, hs_fmt_size(b, d->suspects_gone_bytes), d->suspects_kept);
	named(out, &d->leaks_by_size, "  by size", " B");
	named(out, &d->leaks_by_type, "  by type", "");
}

static void pins(FILE *out, const struct hs_diff *d)
{
	const struct hs_diff_table *t = &d->pins;
	if (!t->compared)
		return;
	struct hs_diff_val count = {0}, held = {0};
	for (size_t i = 0; i < t->n; i++) {
		count.old += t->rows[i].old_pos >= 0;
		count.new += t->rows[i].new_pos >= 0;
		held.old += t->rows[i].v[1].old;
		held.new += t->rows[i].v[1].new;
	}
	if (!count.old && !count.new)
		return;
	szbuf a, b;
	char c[HS_SIZE_BUF + 1];
	fprintf(out, "\npins: %" PRIu64 " -> %" PRIu64 ", holding %s -> %s (%s)\n", count.old, count.new,
		hs_fmt_size(a, held.old), hs_fmt_size(b, held.new), sdelta(c, hs_diff_delta(held)));
	if (!d->same_process) /* addresses of two processes say nothing of each other */
		return;
	size_t n = nchanged(t), shown = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct hs_diff_row *r = &t->rows[i];
		if (!changed(r, t->nfields) || !room(out, &shown, n))
			continue;
		fprintf(out, "  %s %-8s size %s, holds %s\n", r->key,
			r->status == HS_DIFF_BOTH ? "changed" : r->status == HS_DIFF_APPEARED ? "new" : "gone",
			hs_fmt_size(a, r->new_pos >= 0 ? r->v[0].new : r->v[0].old), cell(c, r, 1));
	}
}

int hs_diff_text(FILE *out, const struct hs_diff *d)
{
	header(out, d);
	totals(out, d);
	arenas(out, d);
	classes(out, d);
	types(out, d);
	leaks(out, d);
	pins(out, d);
	fflush(out);
	return ferror(out) ? HS_EINTERNAL : HS_OK;
}
