/* trend.h - watch's arithmetic: what changed between two snapshots and
 * how fast, against the time between their stops (not the interval
 * asked: a stop and a slow machine stretch it), and what a run of
 * snapshots says the heap is doing. Pure functions of census numbers. */
#ifndef HS_TREND_H
#define HS_TREND_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/census.h"

/* The quantities a watch line shows, in its order. HOLES is TCACHE +
 * FASTBINS + BINS + TOP; IN_USE and SYSTEM are the arenas' (mmapped
 * chunks are MMAPPED alone); ARENAS counts arenas, not bytes. */
enum hs_qty {
	HS_Q_SYSTEM,
	HS_Q_IN_USE,
	HS_Q_HOLES,
	HS_Q_TCACHE,
	HS_Q_FASTBINS,
	HS_Q_BINS,
	HS_Q_TOP,
	HS_Q_MMAPPED,
	HS_Q_ARENAS,
	HS_NQTY
};
/* "system_bytes", "in_use_bytes", ..., "arenas": the JSON names. */
const char *hs_qty_name(enum hs_qty q);

/* One snapshot's numbers and when its stop began (CLOCK_MONOTONIC ns). */
struct hs_sample {
	uint64_t t_ns;
	uint64_t v[HS_NQTY];
};
void hs_sample_of(const struct hs_census *c, uint64_t t_ns, struct hs_sample *s);

/* What a run of snapshots says, over its last HS_TREND_WINDOW at most,
 * once there are HS_TREND_MIN_INTERVALS intervals: slopes by least
 * squares (a step of top between two snapshots weighs little), for all
 * the program holds (in use + mmapped), the holes, and all glibc holds
 * (system + mmapped). A quantity is flat when its change over the window
 * (slope x window) is at most max(HS_TREND_FLAT_BYTES, 5% of its mean).
 *   in use grows, holes flat or shrinking:  "leak-like growth"
 *   in use grows, holes grow:               "growth"
 *   in use flat, system grows:              "fragmentation"
 *   in use shrinks, or flat as system shrinks: "shrinking"
 *   all flat:                               "steady" */
#define HS_TREND_WINDOW 12
#define HS_TREND_MIN_INTERVALS 3
#define HS_TREND_FLAT_BYTES (256 * 1024)
enum hs_trend_kind { HS_TREND_UNKNOWN, HS_TREND_STEADY, HS_TREND_LEAK, HS_TREND_GROWTH, HS_TREND_FRAGMENTATION, HS_TREND_SHRINKING };
struct hs_trend {
	enum hs_trend_kind kind;
	const char *word;  /* "steady", "leak-like growth", ...; NULL: too few intervals */
	size_t intervals;  /* in the window */
	double seconds;    /* the window's length */
	double in_use_per_s, holes_per_s, system_per_s; /* the slopes */
	char sentence[192]; /* "in use grows 1.2 MiB/min while holes stay flat: leak-like growth" */
};
void hs_trend_build(const struct hs_sample *s, size_t n, struct hs_trend *t);

/* A snapshot against the one before it (JSON "delta"). */
struct hs_delta {
	size_t index;    /* 0 for the first snapshot (no previous: no change) */
	uint64_t t_ns;   /* this snapshot's stop, CLOCK_MONOTONIC */
	double seconds;  /* since the previous stop; 0 for the first */
	int64_t change[HS_NQTY];
	double per_s[HS_NQTY]; /* change / seconds; 0 for the first */
	struct hs_trend trend; /* of the snapshots so far */
};
/* prev: the snapshot before (NULL for the first); index: this one's. */
void hs_delta_build(const struct hs_sample *prev, const struct hs_sample *cur, size_t index, struct hs_delta *d);

#endif
