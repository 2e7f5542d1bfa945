/* watch.c - watch's text lines, trend and summary (watch.h). */
#include <stdint.h>

#include "base/fmt.h"
#include "report/watch.h"

/* "+196.1 KiB", "-12.0 KiB", "0 B" */
static const char *signed_size(char buf[HS_SIZE_BUF + 1], double v)
{
	return hs_fmt_size_change(buf, (v > 0) - (v < 0), (uint64_t)((v < 0 ? -v : v) + 0.5));
}

/* "in use +196.1 KiB (+195.7 KiB/s, +11.5 MiB/min)" */
static void change(FILE *out, const char *name, const struct hs_delta *d, enum hs_qty q)
{
	char a[HS_SIZE_BUF + 1], b[HS_SIZE_BUF + 1], c[HS_SIZE_BUF + 1];
	fprintf(out, "%s %s (%s/s, %s/min)", name, signed_size(a, (double)d->change[q]), signed_size(b, d->per_s[q]),
		signed_size(c, d->per_s[q] * 60));
}

void hs_report_watch_line(FILE *out, const struct hs_sample *s, const struct hs_delta *d, bool consistent)
{
	char v[8][HS_SIZE_BUF];
	fprintf(out, "#%zu system %s  in use %s  holes %s (tcache %s, fastbins %s, bins %s, top %s)  mmapped %s  arenas %llu",
		d->index, hs_fmt_size(v[0], s->v[HS_Q_SYSTEM]), hs_fmt_size(v[1], s->v[HS_Q_IN_USE]),
		hs_fmt_size(v[2], s->v[HS_Q_HOLES]), hs_fmt_size(v[3], s->v[HS_Q_TCACHE]),
		hs_fmt_size(v[4], s->v[HS_Q_FASTBINS]), hs_fmt_size(v[5], s->v[HS_Q_BINS]),
		hs_fmt_size(v[6], s->v[HS_Q_TOP]), hs_fmt_size(v[7], s->v[HS_Q_MMAPPED]),
		(unsigned long long)s->v[HS_Q_ARENAS]);
	if (d->index > 0) {
		fprintf(out, "  | %.2f s: ", d->seconds);
		change(out, "in use", d, HS_Q_IN_USE);
		fputs(", ", out);
		change(out, "holes", d, HS_Q_HOLES);
		fputs(", ", out);
		change(out, "system", d, HS_Q_SYSTEM);
		if (d->change[HS_Q_MMAPPED]) {
			fputs(", ", out);
			change(out, "mmapped", d, HS_Q_MMAPPED);
		}
		if (d->change[HS_Q_ARENAS])
			fprintf(out, ", arenas %+lld", (long long)d->change[HS_Q_ARENAS]);
	}
	if (!consistent)
		fputs("  [not consistent]", out);
	fputc('\n', out);
}

void hs_report_watch_trend(FILE *out, const struct hs_trend *t)
{
	if (t->word)
		fprintf(out, "trend: %s (%zu intervals, %.1f s)\n", t->sentence, t->intervals, t->seconds);
}

void hs_report_watch_summary(FILE *out, const struct hs_watch_summary *w)
{
	/* the trend first: the last line says how the watch ended */
	if (w->trend.word)
		hs_report_watch_trend(out, &w->trend);
	else if (w->snapshots)
		fprintf(out, "trend: not known (%zu interval%s; it takes %d)\n", w->snapshots - 1,
			w->snapshots == 2 ? "" : "s", HS_TREND_MIN_INTERVALS);
	fprintf(out, "watch of pid %d ended (%s): %zu snapshot%s", w->pid, w->end, w->snapshots,
		w->snapshots == 1 ? "" : "s");
	if (w->snapshots > 1) {
		struct hs_delta d;
		hs_delta_build(&w->first, &w->last, w->snapshots - 1, &d);
		fprintf(out, " over %.2f s; ", d.seconds);
		change(out, "in use", &d, HS_Q_IN_USE);
		fputs(", ", out);
		change(out, "holes", &d, HS_Q_HOLES);
		fputs(", ", out);
		change(out, "system", &d, HS_Q_SYSTEM);
	}
	if (w->inconsistent)
		fprintf(out, "; %zu not consistent", w->inconsistent);
	fputc('\n', out);
}
