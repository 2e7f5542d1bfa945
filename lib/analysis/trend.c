/* trend.c - watch's deltas, rates and trend words (trend.h). */
#include <stdio.h>
#include <string.h>

#include "analysis/trend.h"
#include "base/fmt.h"

const char *hs_qty_name(enum hs_qty q)
{
	static const char *const names[HS_NQTY] = {
		[HS_Q_SYSTEM] = "system_bytes", [HS_Q_IN_USE] = "in_use_bytes",   [HS_Q_HOLES] = "holes_bytes",
		[HS_Q_TCACHE] = "tcache_bytes", [HS_Q_FASTBINS] = "fastbin_bytes", [HS_Q_BINS] = "bin_bytes",
		[HS_Q_TOP] = "top_bytes",       [HS_Q_MMAPPED] = "mmapped_bytes", [HS_Q_ARENAS] = "arenas",
	};
	return q < HS_NQTY ? names[q] : "?";
}

void hs_sample_of(const struct hs_census *c, uint64_t t_ns, struct hs_sample *s)
{
	const struct hs_counts *k = &c->totals;
	memset(s, 0, sizeof *s);
	s->t_ns = t_ns;
	s->v[HS_Q_SYSTEM] = k->system_bytes;
	s->v[HS_Q_IN_USE] = k->in_use.bytes;
	s->v[HS_Q_TCACHE] = k->tcache.bytes;
	s->v[HS_Q_FASTBINS] = k->fast.bytes;
	s->v[HS_Q_BINS] = k->bin.bytes;
	s->v[HS_Q_TOP] = k->top_bytes;
	s->v[HS_Q_HOLES] = k->tcache.bytes + k->fast.bytes + k->bin.bytes + k->top_bytes;
	s->v[HS_Q_MMAPPED] = k->mmapped.bytes;
	s->v[HS_Q_ARENAS] = c->narenas;
}

void hs_delta_build(const struct hs_sample *prev, const struct hs_sample *cur, size_t index, struct hs_delta *d)
{
	memset(d, 0, sizeof *d);
	d->index = index;
	d->t_ns = cur->t_ns;
	if (!prev)
		return;
	d->seconds = cur->t_ns > prev->t_ns ? (double)(cur->t_ns - prev->t_ns) / 1e9 : 0;
	for (int q = 0; q < HS_NQTY; q++) {
		d->change[q] = (int64_t)(cur->v[q] - prev->v[q]);
		d->per_s[q] = d->seconds > 0 ? (double)d->change[q] / d->seconds : 0;
	}
}

/* The trend's three quantities of a sample. */
enum { T_IN_USE, T_HOLES, T_SYSTEM, T_N };
static double trend_value(const struct hs_sample *s, int which)
{
	switch (which) {
	case T_IN_USE:
		return (double)(s->v[HS_Q_IN_USE] + s->v[HS_Q_MMAPPED]);
	case T_HOLES:
		return (double)s->v[HS_Q_HOLES];
	default:
		return (double)(s->v[HS_Q_SYSTEM] + s->v[HS_Q_MMAPPED]);
	}
}

/* Least-squares slope (per second) of quantity which over s[0..n-1], and
 * its mean. */
static double slope(const struct hs_sample *s, size_t n, int which, double *mean)
{
	double st = 0, sv = 0;
	for (size_t i = 0; i < n; i++) {
		st += (double)(s[i].t_ns - s[0].t_ns) / 1e9;
		sv += trend_value(&s[i], which);
	}
	const double mt = st / (double)n, mv = sv / (double)n;
	double num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		const double dt = (double)(s[i].t_ns - s[0].t_ns) / 1e9 - mt;
		num += dt * (trend_value(&s[i], which) - mv);
		den += dt * dt;
	}
	*mean = mv;
	return den > 0 ? num / den : 0;
}

static double mag(double x)
{
	return x < 0 ? -x : x;
}

/* -1 shrinking, 0 flat, 1 growing: the change over the window against
 * max(HS_TREND_FLAT_BYTES, 5% of the mean). */
static int direction(double per_s, double seconds, double mean)
{
	const double change = per_s * seconds, share = 0.05 * mag(mean);
	const double bar = share > HS_TREND_FLAT_BYTES ? share : HS_TREND_FLAT_BYTES;
	return change > bar ? 1 : change < -bar ? -1 : 0;
}

/* "1.2 MiB/min" of a rate in bytes per second (its magnitude). */
static const char *per_min(char buf[HS_SIZE_BUF + 8], double per_s)
{
	char size[HS_SIZE_BUF];
	snprintf(buf, HS_SIZE_BUF + 8, "%s/min", hs_fmt_size(size, (uint64_t)(mag(per_s) * 60 + 0.5)));
	return buf;
}

void hs_trend_build(const struct hs_sample *s, size_t n, struct hs_trend *t)
{
	memset(t, 0, sizeof *t);
	if (n > HS_TREND_WINDOW) {
		s += n - HS_TREND_WINDOW;
		n = HS_TREND_WINDOW;
	}
	t->intervals = n ? n - 1 : 0;
	if (t->intervals < HS_TREND_MIN_INTERVALS || s[n - 1].t_ns <= s[0].t_ns)
		return;
	t->seconds = (double)(s[n - 1].t_ns - s[0].t_ns) / 1e9;
	double mean[T_N];
	t->in_use_per_s = slope(s, n, T_IN_USE, &mean[T_IN_USE]);
	t->holes_per_s = slope(s, n, T_HOLES, &mean[T_HOLES]);
	t->system_per_s = slope(s, n, T_SYSTEM, &mean[T_SYSTEM]);
	const int used = direction(t->in_use_per_s, t->seconds, mean[T_IN_USE]),
		  holes = direction(t->holes_per_s, t->seconds, mean[T_HOLES]),
		  sys = direction(t->system_per_s, t->seconds, mean[T_SYSTEM]);
	char a[HS_SIZE_BUF + 8], b[HS_SIZE_BUF + 8];
	if (used > 0 && holes <= 0) {
		t->kind = HS_TREND_LEAK;
		t->word = "leak-like growth";
		snprintf(t->sentence, sizeof t->sentence, "in use grows %s while holes %s: %s",
			 per_min(a, t->in_use_per_s), holes ? "shrink" : "stay flat", t->word);
	} else if (used > 0) {
		t->kind = HS_TREND_GROWTH;
		t->word = "growth";
		snprintf(t->sentence, sizeof t->sentence, "in use grows %s and holes grow %s: %s",
			 per_min(a, t->in_use_per_s), per_min(b, t->holes_per_s), t->word);
	} else if (used == 0 && sys > 0) {
		t->kind = HS_TREND_FRAGMENTATION;
		t->word = "fragmentation";
		snprintf(t->sentence, sizeof t->sentence, "system grows %s while in use is flat: %s",
			 per_min(a, t->system_per_s), t->word);
	} else if (used < 0 || sys < 0) {
		t->kind = HS_TREND_SHRINKING;
		t->word = "shrinking";
		if (used < 0)
			snprintf(t->sentence, sizeof t->sentence, "in use shrinks %s: %s", per_min(a, t->in_use_per_s),
				 t->word);
		else
			snprintf(t->sentence, sizeof t->sentence, "system shrinks %s while in use is flat: %s",
				 per_min(a, t->system_per_s), t->word);
	} else {
		t->kind = HS_TREND_STEADY;
		t->word = "steady";
		snprintf(t->sentence, sizeof t->sentence, "system, in use and holes are flat: %s", t->word);
	}
}
