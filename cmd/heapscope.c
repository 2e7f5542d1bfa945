/* heapscope.c - the command line: parse, dispatch, map errors to exit
 * codes. Every stage lives in lib/; this file only strings them together
 * in the order DESIGN.md gives: target, symbols, arenas, walk, bins,
 * census, diagnose, report. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "glibc/arenas.h"
#include "glibc/bins.h"
#include "analysis/census.h"
#include "source/confine.h"
#include "glibc/contents.h"
#include "analysis/diagnose.h"
#include "refcore/refcore_image.h"
#include "refcore/replay.h"
#include "report/report.h"
#include "analysis/resident.h"
#include "glibc/stacks.h"
#include "glibc/symbols.h"
#include "source/target.h"
#include "glibc/types.h"
#include "glibc/walk.h"

#ifndef HS_VERSION
#define HS_VERSION "0.1.0"
#endif

/* How many times, in all, a thread caught inside malloc is let run on. */
#define SNAPSHOT_NUDGES 1000

struct options {
	struct hs_report_opts report;
	bool no_debuginfo;
	bool compare;
	int leaks; /* 0, 1 (sample), 2 (all) */
	int glibc_minor;  /* replay: --glibc=2.N (default 36) */
	unsigned word_size; /* replay: --word-size=4|8 (default 8) */
	uint64_t heap_base; /* replay: --heap-base=ADDR (0: the core's default) */
};

static void usage(FILE *out)
{
	fputs("usage: heapscope attach [options] PID\n"
	      "       heapscope replay [options] TRACE\n"
	      "       heapscope --version | --help\n"
	      "\n"
	      "  -j, --json            JSON (schema heapscope/1)\n"
	      "  -p, --pretty          indented JSON (implies --json)\n"
	      "      --format=FMT      text (default), json, malloc-stats, malloc-info\n"
	      "      --chunks          also list every chunk\n"
	      "      --bins            also list every free list with its chunks\n"
	      "      --compare         set the live heap beside the reference allocator core\n"
	      "      --leaks[=all]     find in-use chunks nothing points to\n"
	      "      --no-debuginfo    ignore debug files: use the symbol-free path\n"
	      "      --glibc=X.Y       replay: glibc version the core models (2.31 ... 2.43; 2.36)\n"
	      "      --word-size=4|8   replay: SIZE_SZ the core models (default 8)\n"
	      "      --heap-base=ADDR  replay: where the simulated heap starts (page-aligned)\n"
	      "\n"
	      "Exit codes: 0 report printed, 2 usage, 3 cannot attach, 4 target not supported,\n"
	      "5 heap inconsistent or corrupt (report printed), 6 target exited while read.\n"
	      "See heapscope(1).\n",
	      out);
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("heapscope: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see heapscope --help)\n", stderr);
	return HS_EUSAGE;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static bool parse_pid(const char *s, pid_t *pid)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT_MAX || s[0] == '+' || s[0] == ' ')
		return false;
	*pid = (pid_t)v;
	return true;
}

/* Stops the target with no thread inside the allocator: a thread caught
 * inside malloc is let run for an instant and stopped again, alone, while
 * the others stay stopped (so it cannot wait on them), a bounded number
 * of times. Then everything the analysis needs is read, and the target
 * let go. */
static int snapshot(struct hs_target *t, const struct hs_symbols *sym, const struct options *o,
		    const struct hs_types *types, struct hs_heap *heap, struct hs_index *ix, struct hs_census *c,
		    struct hs_contents *ct, struct hs_warnings *w, struct hs_err *err)
{
	struct hs_walk_opts wo = {.keep_chunks = o->report.chunks || o->compare, .types = types};
	struct hs_stacks *stacks = hs_stacks_open();
	if (hs_target_stop(t, err)) {
		hs_stacks_close(stacks);
		return err->code;
	}
	int nudges = 0;
	bool busy = true;
	while (busy) {
		busy = false;
		for (size_t i = 0; i < t->ntasks; i++) {
			struct hs_task *k = &t->tasks[i];
			if (!k->attached)
				continue;
			k->in_malloc = hs_stacks_in_malloc(stacks, sym, k->tid, &k->malloc_fn);
			if (!k->in_malloc || k->group_stopped)
				continue;
			busy = true;
			if (nudges < SNAPSHOT_NUDGES) {
				nudges++;
				hs_target_nudge(t, k);
			}
		}
		if (nudges >= SNAPSHOT_NUDGES)
			break;
	}
	c->retries = nudges;
	c->consistent = !busy;
	if (hs_arenas_read(&t->src, sym, t->tasks, t->ntasks, heap, w, err) == 0) {
		/* Residency before the first heap byte is read (on kernels where
		 * reading an absent page maps the zero page, it would count). */
		if (hs_resident_read(&t->src, heap) < 0)
			hs_warn(w, "cannot read /proc/%d/pagemap: resident and trimmable bytes are not reported",
				(int)t->pid);
		/* --leaks copies the heaps first and walks the copy: each heap
		 * byte is read from the target once. */
		struct hs_contents_source cs;
		hs_contents_source(ct, &t->src, &cs);
		if (o->leaks) {
			pid_t *tids = hs_xcalloc(t->ntasks + 1, sizeof *tids);
			size_t n = 0;
			for (size_t i = 0; i < t->ntasks; i++)
				if (t->tasks[i].attached)
					tids[n++] = t->tasks[i].tid;
			hs_contents_copy(&t->src, heap, tids, n, ct, w, err);
			free(tids);
		}
		if (!err->code)
			hs_walk(&cs.src, heap, &wo, ix, w, err);
	}
	hs_target_resume(t);
	hs_stacks_close(stacks);
	if (t->gone && (!err->code || err->code == HS_ECORRUPT)) {
		err->code = 0;
		hs_fail(err, HS_EEXITED, "pid %d exited while being read", (int)t->pid);
	}
	return err->code;
}

/* The part of a run after the heap is read, shared by attach and replay:
 * diagnosis, report, and the exit code the findings give. */
static void report_heap(const struct hs_heap *heap, struct hs_census *c, const struct hs_leaks *leaks,
			struct hs_warnings *warn, const struct options *o, const char *who, struct hs_err *err)
{
	if (!heap->malloc_initialised)
		hs_warn(warn, "malloc has not been initialised in %s: it has never allocated", who);
	struct hs_diagnosis d;
	struct hs_compare cmp = {0};
	if (o->compare)
		hs_compare_build(c, &cmp, warn);
	hs_diagnose(c, leaks, &d);
	d.compare = o->compare ? &cmp : NULL;
	hs_report(stdout, c, &d, &o->report);
	if (fflush(stdout) != 0 || ferror(stdout))
		hs_fail(err, HS_EINTERNAL, "cannot write the report: %s", strerror(errno));
	else if (!c->consistent)
		hs_fail(err, HS_ECORRUPT, "%s: a thread stayed inside malloc; the snapshot may be inconsistent", who);
	else if (warn->n && heap->malloc_initialised)
		hs_fail(err, HS_ECORRUPT, "%s: the heap is inconsistent: %zu warning%s (see the report)", who,
			warn->n + warn->dropped, warn->n + warn->dropped == 1 ? "" : "s");
	hs_compare_free(&cmp);
}

static int cmd_attach(pid_t pid, const struct options *o)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct hs_err err = {0};
	struct hs_warnings warn = {0};
	struct hs_target t;
	struct hs_symbols sym = {0};
	struct hs_heap heap = {0};
	struct hs_index ix = {0};
	struct hs_bins bins = {0};
	struct hs_census c = {0};
	struct hs_types types = {0};
	struct hs_contents ct = {0};
	struct hs_leaks leaks = {0};
	struct hs_symbols_opts so = {.no_debuginfo = o->no_debuginfo};
	int rc = 0;

	memset(&t, 0, sizeof t);
	t.pagemap.fd = -1;
	/* Read-only by construction, before anything of the target is read;
	 * then, once debuginfod had its chance to write its cache, no file
	 * may be opened for writing either. */
	if (hs_confine(HS_CONFINE_NO_WRITES, &err) || hs_target_open(&t, pid, &err) ||
	    hs_symbols_load(&t.src, &so, &sym, &err) || hs_confine(HS_CONFINE_NO_OPEN_FOR_WRITE, &err))
		goto out;
	hs_types_load(&sym, &types);
	if ((o->leaks && hs_contents_prepare(pid, &ct, &err)) || snapshot(&t, &sym, o, &types, &heap, &ix, &c, &ct, &warn, &err))
		goto out;
	hs_bins_read(&heap, &ix, o->report.bins || o->compare, &bins, &warn);
	hs_census_build(&heap, &ix, &bins, &c, &warn);
	if (o->leaks) {
		hs_leaks_find(&heap, &ix, &ct, &types, o->leaks == 2, &leaks);
		hs_contents_free(&ct);
	}
	c.pid = pid;
	c.exe = t.exe;
	c.arch = hs_arch.name;
	c.sym = &sym;
	c.typetab = &types;
	c.stopped_ms = hs_target_stopped_ms(&t);
	c.cpus_online = t.cpus_online;
	c.cpus_allowed = t.cpus_allowed;
	c.total_ms = ms_since(&t0);
	if (sym.other_allocator[0]) {
		/* glibc's arenas are not where this program's memory is. */
		char held[HS_SIZE_BUF];
		hs_fail(&err, HS_EUNSUPPORTED, "pid %d: malloc is %s, not glibc's; glibc's arenas hold %s", (int)pid,
			sym.other_allocator, hs_fmt_size(held, c.totals.system_bytes + c.totals.mmapped.bytes));
		goto out;
	}
	char who[64];
	snprintf(who, sizeof who, "pid %d", (int)pid);
	report_heap(&heap, &c, o->leaks ? &leaks : NULL, &warn, o, who, &err);
out:
	hs_target_close(&t);
	if (err.code) {
		fprintf(stderr, "heapscope: %s\n", err.msg);
		rc = err.code;
	}
	hs_census_free(&c);
	hs_leaks_free(&leaks);
	hs_contents_free(&ct);
	hs_types_free(&types);
	hs_bins_free(&bins);
	hs_index_free(&ix);
	hs_heap_free(&heap);
	hs_symbols_free(&sym);
	hs_warnings_free(&warn);
	return rc;
}

/* replay: the trace through the reference core, then the same stages as
 * attach over the core's image. */
static int cmd_replay(const char *path, const struct options *o)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct hs_err err = {0};
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
	int rcode = 0;
	if (!rc) {
		if (cfg.heap_base)
			hs_fail(&err, HS_EUSAGE,
				"the reference core does not model glibc 2.%d with %u-byte words and a heap at 0x%llx",
				cfg.vminor, cfg.size_sz, (unsigned long long)cfg.heap_base);
		else
			hs_fail(&err, HS_EUSAGE, "the reference core does not model glibc 2.%d with %u-byte words",
				cfg.vminor, cfg.size_sz);
		goto out;
	}
	if (hs_trace_load(path, &tr, &err) || hs_replay(rc, &tr, path, NULL, &err))
		goto out;
	hs_refcore_image_build(rc, &ri);
	struct hs_walk_opts wo = {.keep_chunks = o->report.chunks || o->compare};
	if (hs_arenas_read(&ri.im.src, &ri.sym, &ri.task, 1, &heap, &warn, &err) ||
	    (heap.malloc_initialised && hs_walk(&ri.im.src, &heap, &wo, &ix, &warn, &err)))
		goto out;
	hs_bins_read(&heap, &ix, o->report.bins || o->compare, &bins, &warn);
	c.consistent = true;
	hs_census_build(&heap, &ix, &bins, &c, &warn);
	c.exe = path;
	c.arch = cfg.size_sz == 8 ? "x86_64" : "i386";
	c.sym = &ri.sym;
	c.total_ms = ms_since(&t0);
	char who[PATH_MAX + 16];
	snprintf(who, sizeof who, "trace %s", path);
	report_heap(&heap, &c, NULL, &warn, o, who, &err);
out:
	if (err.code) {
		fprintf(stderr, "heapscope: %s\n", err.msg);
		rcode = err.code;
	}
	hs_census_free(&c);
	hs_bins_free(&bins);
	hs_index_free(&ix);
	hs_heap_free(&heap);
	hs_refcore_image_free(&ri);
	hs_refcore_destroy(rc);
	hs_trace_free(&tr);
	hs_warnings_free(&warn);
	return rcode;
}

int main(int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_CHUNKS, OPT_BINS, OPT_COMPARE, OPT_LEAKS, OPT_NODEBUG, OPT_GLIBC, OPT_WORDSIZE, OPT_HEAPBASE };
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"pretty", no_argument, NULL, 'p'},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"chunks", no_argument, NULL, OPT_CHUNKS},
		{"bins", no_argument, NULL, OPT_BINS},
		{"compare", no_argument, NULL, OPT_COMPARE},
		{"leaks", optional_argument, NULL, OPT_LEAKS},
		{"no-debuginfo", no_argument, NULL, OPT_NODEBUG},
		{"glibc", required_argument, NULL, OPT_GLIBC},
		{"word-size", required_argument, NULL, OPT_WORDSIZE},
		{"heap-base", required_argument, NULL, OPT_HEAPBASE},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct options o = {0};
	const char *cmd = NULL;
	int first = 1;
	if (argc > 1 && argv[1][0] != '-') {
		cmd = argv[1];
		first = 2;
	}
	optind = first;
	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "jphV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			o.report.format = HS_FMT_JSON;
			break;
		case 'p':
			o.report.format = HS_FMT_JSON;
			o.report.pretty = true;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "text") == 0)
				o.report.format = HS_FMT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				o.report.format = HS_FMT_JSON;
			else if (strcmp(optarg, "malloc-stats") == 0)
				o.report.format = HS_FMT_MALLOC_STATS;
			else if (strcmp(optarg, "malloc-info") == 0)
				o.report.format = HS_FMT_MALLOC_INFO;
			else
				return usage_error("unknown format '%s': use text, json, malloc-stats or malloc-info",
						   optarg);
			break;
		case OPT_CHUNKS:
			o.report.chunks = true;
			break;
		case OPT_BINS:
			o.report.bins = true;
			break;
		case OPT_COMPARE:
			o.compare = true;
			break;
		case OPT_LEAKS:
			if (optarg && strcmp(optarg, "all") != 0)
				return usage_error("--leaks takes no value or '=all', not '%s'", optarg);
			o.leaks = optarg ? 2 : 1;
			break;
		case OPT_NODEBUG:
			o.no_debuginfo = true;
			break;
		case OPT_GLIBC: {
			int minor, n = 0;
			if (sscanf(optarg, "2.%d%n", &minor, &n) != 1 || optarg[n] || minor < 31 || minor > 43)
				return usage_error("--glibc takes a version from 2.31 to 2.43, not '%s'", optarg);
			o.glibc_minor = minor;
			break;
		}
		case OPT_WORDSIZE:
			if (strcmp(optarg, "4") != 0 && strcmp(optarg, "8") != 0)
				return usage_error("--word-size takes 4 or 8, not '%s'", optarg);
			o.word_size = (unsigned)atoi(optarg);
			break;
		case OPT_HEAPBASE: {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 16);
			if (errno || end == optarg || *end || v == 0 || (v & 4095) || optarg[0] == '-')
				return usage_error("--heap-base takes a page-aligned hex address, not '%s'", optarg);
			o.heap_base = v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("heapscope %s\n", HS_VERSION);
			return 0;
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!cmd)
		return usage_error("%s", "no command given: use 'attach PID' or 'replay TRACE'");
	if ((o.glibc_minor || o.word_size || o.heap_base) && strcmp(cmd, "replay") != 0)
		return usage_error("%s", "--glibc, --word-size and --heap-base are for replay");
	if (strcmp(cmd, "attach") == 0) {
		if (optind >= argc)
			return usage_error("%s", "attach needs a PID");
		if (optind + 1 < argc)
			return usage_error("unexpected argument '%s' after the PID", argv[optind + 1]);
		pid_t pid;
		if (!parse_pid(argv[optind], &pid))
			return usage_error("invalid PID '%s': give a positive process id", argv[optind]);
		return cmd_attach(pid, &o);
	}
	if (strcmp(cmd, "replay") == 0) {
		if (optind >= argc)
			return usage_error("%s", "replay needs a TRACE file");
		if (optind + 1 < argc)
			return usage_error("unexpected argument '%s' after the TRACE", argv[optind + 1]);
		if (o.leaks || o.no_debuginfo)
			return usage_error("%s", "replay takes the report options, --compare, --glibc, --word-size and --heap-base only");
		return cmd_replay(argv[optind], &o);
	}

	return usage_error("unknown command '%s': use attach or replay", cmd);
}
