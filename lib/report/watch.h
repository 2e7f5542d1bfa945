/* watch.h - watch's text (man heapscope, WATCH OUTPUT): a line per
 * snapshot with its numbers and, from the second on, the change since
 * the one before and its rates; the trend when it is first known or
 * changes; a summary at the end. Pure functions of trend.h's numbers. */
#ifndef HS_REPORT_WATCH_H
#define HS_REPORT_WATCH_H

#include <stdio.h>

#include "analysis/trend.h"

/* One snapshot's line; consistent false marks it "[not consistent]". */
void hs_report_watch_line(FILE *out, const struct hs_sample *s, const struct hs_delta *d, bool consistent);
/* "trend: SENTENCE (N intervals, S s)" */
void hs_report_watch_trend(FILE *out, const struct hs_trend *t);
/* The summary: the trend, then (the last line) why the watch ended (end: "interrupted", "4 snapshots
 * taken", "pid 42 exited"), the snapshots first to last, their change
 * and rates, how many were not consistent, and the trend. */
struct hs_watch_summary {
	int pid;
	const char *end;
	size_t snapshots, inconsistent;
	struct hs_sample first, last;
	struct hs_trend trend;
};
void hs_report_watch_summary(FILE *out, const struct hs_watch_summary *w);

#endif
