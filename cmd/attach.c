/* attach.c - `heapscope attach PID`: the stages in the order DESIGN.md
 * gives: target, symbols, arenas, walk, bins, census, diagnose, report. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "analysis/census.h"
#include "analysis/process.h"
#include "analysis/resident.h"
#include "glibc/arenas.h"
#include "glibc/bins.h"
#include "glibc/contents.h"
#include "glibc/stacks.h"
#include "glibc/symbols.h"
#include "glibc/types.h"
#include "glibc/walk.h"
#include "source/confine.h"
#include "source/smaps.h"
#include "source/target.h"

/* How many times, in all, a thread caught inside malloc is let run on. */
#define SNAPSHOT_NUDGES 1000

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
 * of times. A thread whose stack cannot be unwound may be inside malloc:
 * it is named in a warning and the snapshot is not consistent. Then
 * everything the analysis needs is read, and the target let go.
 * *inconsistent: why the snapshot is not consistent, if it is not. */
static int snapshot(struct hs_target *t, const struct hs_symbols *sym, const struct options *o,
		    const struct hs_types *types, struct hs_heap *heap, struct hs_index *ix, struct hs_census *c,
		    struct hs_contents *ct, const char **inconsistent, struct hs_warnings *w, struct hs_err *err)
{
	struct hs_walk_opts wo = {.keep_chunks = o->report.chunks || o->compare, .types = types};
	struct hs_stacks *stacks = hs_stacks_open(&t->src);
	if (hs_target_stop(t, err)) {
		hs_stacks_close(stacks);
		return err->code;
	}
	/* The tasks are fixed from here on (nudging never adds one). */
	bool *unknown = hs_xcalloc(t->ntasks, sizeof *unknown);
	size_t nunknown = 0;
	int nudges = 0;
	bool busy = true;
	while (busy) {
		busy = false;
		for (size_t i = 0; i < t->ntasks; i++) {
			struct hs_task *k = &t->tasks[i];
			if (!k->attached || unknown[i])
				continue;
			const char *why = NULL;
			enum hs_stack_where where = hs_stacks_where(stacks, sym, k->tid, &k->malloc_fn, &why);
			k->in_malloc = where == HS_STACK_IN_MALLOC;
			if (where == HS_STACK_UNKNOWN) {
				unknown[i] = true;
				nunknown++;
				hs_warn(w, "thread %d: its stack cannot be unwound (%s): it may be inside malloc",
					(int)k->tid, why);
				continue;
			}
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
	free(unknown);
	c->retries = nudges;
	c->consistent = !busy && !nunknown;
	if (busy)
		*inconsistent = "a thread stayed inside malloc";
	else if (nunknown)
		*inconsistent = nunknown == 1 ? "a thread's stack could not be unwound (see the report)"
					      : "threads' stacks could not be unwound (see the report)";
	/* A nudged thread ran: it may have mapped, remapped or unmapped memory
	 * (mmapped chunks, heaps) since the maps were read at the stop. */
	if (nudges) {
		struct hs_maps maps;
		if (hs_maps_read(t->pid, &maps, err)) {
			hs_target_resume(t);
			hs_stacks_close(stacks);
			if (kill(t->pid, 0) < 0) {
				t->gone = true;
				err->code = 0;
				hs_fail(err, HS_EEXITED, "pid %d exited while being read", (int)t->pid);
			}
			return err->code;
		}
		hs_maps_free(&t->src.maps);
		t->src.maps = maps;
	}
	if (hs_arenas_read(&t->src, sym, t->tasks, t->ntasks, heap, w, err) == 0) {
		/* Residency before the first heap byte is read (zero page). */
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

static int attach(pid_t pid, const struct options *o, struct hs_err *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
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
	struct hs_smaps smaps = {0}; /* the whole process, read before the stop */
	struct hs_process proc = {0};
	struct hs_symbols_opts so = {.no_debuginfo = o->no_debuginfo};
	const char *inconsistent = NULL;

	memset(&t, 0, sizeof t);
	t.pagemap.fd = -1;
	/* Read-only by construction, before anything of the target is read;
	 * then, once debuginfod had its chance to write its cache, no file
	 * may be opened for writing either. The target's files are parsed
	 * under a stricter filter still (HS_CONFINE_PARSE: no exec, no fork,
	 * nothing that changes the system). */
	if (hs_confine(HS_CONFINE_NO_WRITES, err) || hs_target_open(&t, pid, err) ||
	    hs_confine(HS_CONFINE_PARSE, err) || hs_symbols_load(&t.src, &so, &sym, err) ||
	    hs_confine(HS_CONFINE_NO_OPEN_FOR_WRITE, err))
		goto out;
	hs_types_load(&sym, &types);
	hs_smaps_read(pid, &smaps); /* unreadable: the report has no process split */
	if ((o->leaks && hs_contents_prepare(pid, &ct, err)) ||
	    snapshot(&t, &sym, o, &types, &heap, &ix, &c, &ct, &inconsistent, &warn, err))
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
	hs_process_build(&smaps, &heap, &proc);
	c.process = &proc;
	c.total_ms = hs_cli_ms_since(&t0);
	if (sym.other_allocator[0]) {
		/* glibc's arenas are not where this program's memory is. */
		char held[HS_SIZE_BUF];
		hs_fail(err, HS_EUNSUPPORTED, "pid %d: malloc is %s, not glibc's; glibc's arenas hold %s", (int)pid,
			sym.other_allocator, hs_fmt_size(held, c.totals.system_bytes + c.totals.mmapped.bytes));
		goto out;
	}
	char who[64];
	snprintf(who, sizeof who, "pid %d", (int)pid);
	hs_cli_finish(&heap, &c, o->leaks ? &leaks : NULL, &warn, o, who, inconsistent, err);
out:
	hs_target_close(&t);
	hs_census_free(&c);
	hs_leaks_free(&leaks);
	hs_smaps_free(&smaps);
	hs_contents_free(&ct);
	hs_types_free(&types);
	hs_bins_free(&bins);
	hs_index_free(&ix);
	hs_heap_free(&heap);
	hs_symbols_free(&sym);
	hs_warnings_free(&warn);
	return err->code;
}

/* attach PID */
static int cmd_attach(int argc, char **argv, const struct options *o, struct hs_err *err)
{
	if (argc < 1)
		return hs_cli_usage_fail(err, "%s", "attach needs a PID");
	if (argc > 1)
		return hs_cli_usage_fail(err, "unexpected argument '%s' after the PID", argv[1]);
	pid_t pid;
	if (!parse_pid(argv[0], &pid))
		return hs_cli_usage_fail(err, "invalid PID '%s': give a positive process id", argv[0]);
	return attach(pid, o, err);
}

const struct hs_command hs_cmd_attach = {
	.name = "attach",
	.synopsis = "attach PID",
	.opts = OPTS_EVERY | OPTS_REPORT | OPT(OPT_COMPARE) | OPT(OPT_LEAKS) | OPT(OPT_NODEBUG),
	.run = cmd_attach,
};
