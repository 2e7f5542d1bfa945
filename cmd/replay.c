/* replay.c - `heapscope replay TRACE`: the trace through the reference
 * core, then the same stages as attach over the core's image. */
#include <limits.h>
#include <stdio.h>

#include "cli.h"
#include "analysis/census.h"
#include "glibc/arenas.h"
#include "glibc/bins.h"
#include "glibc/walk.h"
#include "refcore/refcore_image.h"
#include "refcore/replay.h"

static int replay(const char *path, const struct options *o, struct hs_err *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct hs_warnings warn = {0};
	struct hs_trace tr = {0};
	struct hs_refcore_image ri = {0};
	struct hs_heap heap = {0};
	struct hs_index ix = {0};
	struct hs_bins bins = {0};
	struct hs_census c = {0};
	struct hs_refcore_cfg cfg = {2, o->glibc_minor ? o->glibc_minor : 36, o->word_size ? o->word_size : 8,
				     o->heap_base};
	struct hs_refcore *rc = hs_refcore_new(&cfg);
	if (!rc) {
		if (cfg.heap_base)
			hs_fail(err, HS_EUSAGE,
				"the reference core does not model glibc 2.%d with %u-byte words and a heap at 0x%llx",
				cfg.vminor, cfg.size_sz, (unsigned long long)cfg.heap_base);
		else
			hs_fail(err, HS_EUSAGE, "the reference core does not model glibc 2.%d with %u-byte words",
				cfg.vminor, cfg.size_sz);
		goto out;
	}
	if (hs_trace_load(path, &tr, err) || hs_replay(rc, &tr, path, NULL, err))
		goto out;
	hs_refcore_image_build(rc, &ri);
	struct hs_walk_opts wo = {.keep_chunks = o->report.chunks || o->compare,
				   .keep_big = o->report.format == HS_FMT_SVG};
	if (hs_arenas_read(&ri.im.src, &ri.sym, &ri.task, 1, &heap, &warn, err) ||
	    (heap.malloc_initialised && hs_walk(&ri.im.src, &heap, &wo, &ix, &warn, err)))
		goto out;
	hs_bins_read(&heap, &ix, o->report.bins || o->compare, &bins, &warn);
	c.consistent = true; /* nothing runs beside the core */
	hs_census_build(&heap, &ix, &bins, &c, &warn);
	c.exe = path;
	c.arch = cfg.size_sz == 8 ? "x86_64" : "i386";
	c.sym = &ri.sym;
	c.total_ms = hs_ms_since(&t0);
	char who[PATH_MAX + 16];
	snprintf(who, sizeof who, "trace %s", path);
	hs_cli_finish(&heap, &c, NULL, &warn, o, who, NULL, err);
out:
	hs_census_free(&c);
	hs_bins_free(&bins);
	hs_index_free(&ix);
	hs_heap_free(&heap);
	hs_refcore_image_free(&ri);
	hs_refcore_destroy(rc);
	hs_trace_free(&tr);
	hs_warnings_free(&warn);
	return err->code;
}

/* replay TRACE */
static int cmd_replay(int argc, char **argv, const struct options *o, struct hs_err *err)
{
	/* a metric of a trace is a metric of no process (DESIGN.md) */
	if (o->report.format == HS_FMT_PROMETHEUS)
		return hs_cli_usage_fail(err, "%s", "replay does not take --format=prometheus: it is a format of attach and core");
	if (argc < 1)
		return hs_cli_usage_fail(err, "%s", "replay needs a TRACE file");
	if (argc > 1)
		return hs_cli_usage_fail(err, "unexpected argument '%s' after the TRACE", argv[1]);
	return replay(argv[0], o, err);
}

const struct hs_command hs_cmd_replay = {
	.name = "replay",
	.synopsis = "replay TRACE",
	.opts = OPTS_EVERY | OPTS_REPORT | OPT(OPT_COMPARE) | OPT(OPT_GLIBC) | OPT(OPT_WORDSIZE) | OPT(OPT_HEAPBASE),
	.run = cmd_replay,
};
