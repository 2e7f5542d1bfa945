/* report.h - renderers of one census: human text, JSON (schema
 * "heapscope/1", shared/JSON.md), byte-for-byte copies of glibc's own
 * malloc_stats() and malloc_info() output, and the OpenMetrics text
 * exposition (Prometheus, the JSON's numbers), and a heap map in SVG. Each is a pure function of the
 * census and the diagnosis; none of them analyses anything. */
#ifndef HS_REPORT_H
#define HS_REPORT_H

#include <stdio.h>

#include "analysis/census.h"
#include "analysis/diagnose.h"

enum hs_format { HS_FMT_TEXT, HS_FMT_JSON, HS_FMT_MALLOC_STATS, HS_FMT_MALLOC_INFO, HS_FMT_PROMETHEUS, HS_FMT_SVG };

struct hs_report_opts {
	enum hs_format format;
	bool pretty; /* JSON indented */
	bool chunks; /* --chunks: every chunk */
	bool bins;   /* --bins: every free list with its chunks */
	bool redact; /* --redact: no byte of the target's memory (previews described) */
};

int hs_report(FILE *out, const struct hs_census *c, const struct hs_diagnosis *d,
	      const struct hs_report_opts *o);

/* The renderers hs_report() picks from; one file each. */
void hs_report_text(FILE *out, const struct hs_census *c, const struct hs_diagnosis *d,
		    const struct hs_report_opts *o);
void hs_report_json(FILE *out, const struct hs_census *c, const struct hs_diagnosis *d,
		    const struct hs_report_opts *o);
void hs_report_malloc_stats(FILE *out, const struct hs_census *c);
void hs_report_malloc_info(FILE *out, const struct hs_census *c);
/* Ends with "# EOF"; --chunks, --bins and --compare add nothing to it. */
void hs_report_prometheus(FILE *out, const struct hs_census *c, const struct hs_diagnosis *d);
/* The heap map (svg.c): every chunk's place, so the walk must have kept
 * the large in-use chunks (hs_walk_opts.keep_big) or every chunk. */
void hs_report_svg(FILE *out, const struct hs_census *c, const struct hs_diagnosis *d);

#endif
