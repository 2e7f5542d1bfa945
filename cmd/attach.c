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
#include "source/budget.h"
#include "source/confine.h"
#include "source/smaps.h"
#include "source/target.h"

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

/* The stop's budget: --max-stop, or its default. */
static uint64_t max_stop_ns(const struct options *o)
{
	return o->max_stop_ns ? o->max_stop_ns : HS_MAX_STOP_DEFAULT_NS;
}

/* Refuses, before anything is stopped, a stop predicted longer than its
 * budget (exit 4). HEAPSCOPE_TEST_PREDICTED_STOP_MS, for the tests only,
 * replaces the prediction (to make a stop run past its budget). */
static int stop_budget(struct hs_target *t, const struct hs_smaps *s, const struct hs_symbols *sym,
		       const struct options *o, struct hs_stop_estimate *e, struct hs_err *err)
{
	hs_stop_estimate(&t->src, s, sym->layout.heap_max, o->leaks != 0, e);
	const char *test = getenv("HEAPSCOPE_TEST_PREDICTED_STOP_MS");
	if (test && *test)
		e->ms = strtod(test, NULL);
	const double budget = (double)max_stop_ns(o) / 1e6;
	if (e->ms <= budget)
		return 0;
	char heap[HS_SIZE_BUF];
	const double rate = e->rate_mib_s;
	return hs_fail(err, HS_EUNSUPPORTED,
		       "pid %d: the stop is predicted to last %.0f ms (%s of heap%s to read at %.0f MiB/s, %zu thread%s), over the budget of %.0f ms: nothing was stopped (allow it with --max-stop=%.0fs)",
		       (int)t->tgid, e->ms, hs_fmt_size(heap, e->heap_bytes + e->copy_bytes),
		       e->copy_bytes ? " and other memory --leaks copies" : "", rate, e->threads, e->threads == 1 ? "" : "s",
		       budget, e->ms / 1e3 * 1.5 + 1);
}

/* Where thread k stands (unwound, stopped): k->in_malloc, or unknown
 * (named in a warning: it may be inside malloc). */
static bool locate(struct hs_stacks *stacks, const struct hs_symbols *sym, const struct hs_target *t,
		   struct hs_task *k, struct hs_warnings *w)
{
	const char *why = NULL;
	/* held by another tracer: pc and sp only (source/held.h) */
	enum hs_stack_where where = t->held_by ? hs_stacks_where_regs(stacks, sym, &k->regs, &k->malloc_fn, &why)
					       : hs_stacks_where(stacks, sym, k->tid, &k->malloc_fn, &why);
	k->in_malloc = where == HS_STACK_IN_MALLOC;
	if (where != HS_STACK_UNKNOWN)
		return true;
	hs_warn(w, "thread %d: its stack cannot be unwound (%s): it may be inside malloc", (int)k->tid, why);
	return false;
}

/* Whether thread k is one to nudge out of the allocator. */
static bool to_nudge(const struct hs_task *k, const bool *unknown, size_t i)
{
	return k->attached && k->stopped && !unknown[i] && k->in_malloc && !k->group_stopped;
}

/* Stops the target with no thread inside the allocator, on the stop's
 * clock (--max-stop, o->max_stop_ns): the threads have a quarter of it
 * to report their stop (one in uninterruptible sleep past that is late:
 * named in a warning, the snapshot not consistent); every thread is
 * unwound once; a thread paused inside malloc (a lock wait, realloc's
 * copy: stacks.h) counts as outside; the threads caught inside elsewhere
 * are let run for an instant together and stopped again, while the others
 * stay stopped (they wait only on each other's locks), and unwound again
 * (only they have moved), until a quarter of the budget has gone by since
 * the stop; reads past
 * the whole budget fail and the target is let go (t->cut_short). A
 * thread whose stack cannot be unwound may be inside malloc: named in a
 * warning, the snapshot not consistent. (SIGINT, SIGTERM and SIGHUP end
 * heapscope at once; the kernel lets the target go: source/target.h.)
 * Then everything the analysis needs is read, and the target let go.
 * *inconsistent: why the snapshot is not consistent. */
static int snapshot(struct hs_target *t, const struct hs_symbols *sym, const struct options *o,
		    const struct hs_types *types, struct hs_heap *heap, struct hs_index *ix, struct hs_census *c,
		    struct hs_contents *ct, struct hs_progress *progress, const char **inconsistent,
		    struct hs_warnings *w, struct hs_err *err)
{
	struct hs_walk_opts wo = {.keep_chunks = o->report.chunks || o->compare,
				   .keep_big = o->report.format == HS_FMT_SVG,
				   .types = types,
				   .progress = progress};
	struct hs_stacks *stacks = hs_stacks_open(&t->src);
	t->max_stop_ns = max_stop_ns(o);
	t->wait_ns = t->max_stop_ns / 4;
	if (hs_target_stop(t, err)) {
		hs_stacks_close(stacks);
		return err->code;
	}
	const uint64_t nudge_until = t->deadline_ns - 3 * (t->max_stop_ns / 4);
	/* The tasks are fixed from here on (nudging never adds one). */
	bool *unknown = hs_xcalloc(t->ntasks, sizeof *unknown);
	size_t nunknown = 0, nlate = 0;
	for (size_t i = 0; i < t->ntasks; i++) {
		struct hs_task *k = &t->tasks[i];
		if (!k->attached)
			continue;
		if (t->deadline_ns && hs_mono_ns() >= t->deadline_ns) {
			/* Out of budget (thousands of threads): not unwound; the
			 * reads fail now and the stop is cut short (said once). */
			unknown[i] = true;
			nunknown++;
		} else if (!k->stopped) {
			hs_warn(w, "thread %d did not stop within %.0f ms (state %c: uninterruptible sleep or frozen): it runs none of its own code until it does, but it may be inside malloc",
				(int)k->tid, (double)t->wait_ns / 1e6, hs_target_task_state(t, k->tid));
			unknown[i] = true;
			nlate++;
		} else if (!locate(stacks, sym, t, k, w)) {
			unknown[i] = true;
			nunknown++;
		}
	}
	int nudges = 0;
	bool *run = hs_xcalloc(t->ntasks, sizeof *run);
	for (;;) {
		bool busy = false;
		for (size_t i = 0; i < t->ntasks; i++)
			busy |= run[i] = to_nudge(&t->tasks[i], unknown, i);
		const uint64_t now = hs_mono_ns();
		if (!busy || now >= nudge_until)
			break;
		/* Let run together and stopped again (not single-stepped
		 * out: man page, NOTES). */
		nudges += (int)hs_target_nudge(t, run);
		for (size_t i = 0; i < t->ntasks; i++) {
			struct hs_task *k = &t->tasks[i];
			if (!run[i])
				k->in_malloc &= k->attached; /* gone */
			else if (!k->stopped) {
				hs_warn(w, "thread %d did not stop again within %.0f ms of a nudge out of %s: it may be inside malloc",
					(int)k->tid, (double)t->wait_ns / 1e6, k->malloc_fn ? k->malloc_fn : "malloc");
				unknown[i] = true;
				nlate++;
			} else if (!locate(stacks, sym, t, k, w)) {
				unknown[i] = true;
				nunknown++;
			}
		}
	}
	free(run);
	bool busy = false;
	for (size_t i = 0; i < t->ntasks; i++) {
		const struct hs_task *k = &t->tasks[i];
		/* one in a job-control stop inside malloc is never resumed: it
		 * stays inside (it was read as outside: "free chunk in no bin") */
		busy |= to_nudge(k, unknown, i) || (k->attached && k->stopped && k->group_stopped && k->in_malloc);
	}
	free(unknown);
	c->retries = nudges;
	c->consistent = !busy && !nunknown && !nlate;
	if (busy && t->held_by)
		*inconsistent = "a thread is held inside malloc by the process's tracer (see the report)";
	else if (busy)
		*inconsistent = "a thread stayed inside malloc";
	else if (nlate)
		*inconsistent = nlate == 1 ? "a thread did not stop in time (see the report)"
					   : "threads did not stop in time (see the report)";
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
	const char *stage = "the allocator's structures were read";
	if (hs_arenas_read(&t->src, sym, t->tasks, t->ntasks, heap, w, err) == 0) {
		/* Residency before the first heap byte is read (zero page). */
		if (hs_resident_read(&t->src, heap) < 0)
			hs_warn(w, errno == ETIME ? "resident and trimmable bytes are not reported: the stop reached its budget before /proc/%d/pagemap was read"
						  : "cannot read /proc/%d/pagemap: resident and trimmable bytes are not reported",
				(int)t->pid);
		/* --leaks copies the heaps first and walks the copy: each heap
		 * byte is read from the target once. */
		struct hs_contents_source cs;
		hs_contents_source(ct, &t->src, &cs);
		ct->progress = progress;
		stage = "the heaps were copied for --leaks";
		if (o->leaks && t->held_by) {
			/* no registers but pc and sp (source/held.h): the roots
			 * are the stacks from their stack pointers on */
			struct hs_thread_regs *th = hs_xcalloc(t->ntasks + 1, sizeof *th);
			uint64_t(*words)[2] = hs_xcalloc(t->ntasks + 1, sizeof *words);
			for (size_t i = 0; i < t->ntasks; i++) {
				words[i][0] = t->tasks[i].regs.pc;
				words[i][1] = t->tasks[i].regs.sp;
				th[i] = (struct hs_thread_regs){
					.tid = t->tasks[i].tid, .sp = t->tasks[i].regs.sp, .words = words[i], .nwords = 2};
			}
			hs_contents_copy_regs(&t->src, heap, th, t->ntasks, ct, w, err);
			free(words);
			free(th);
		} else if (o->leaks) {
			pid_t *tids = hs_xcalloc(t->ntasks + 1, sizeof *tids);
			size_t n = 0;
			for (size_t i = 0; i < t->ntasks; i++)
				if (t->tasks[i].attached)
					tids[n++] = t->tasks[i].tid;
			hs_contents_copy(&t->src, heap, tids, n, ct, w, err);
			free(tids);
		}
		stage = "the heaps were walked";
		if (!err->code)
			hs_walk(&cs.src, heap, &wo, ix, w, err);
	}
	hs_target_resume(t);
	hs_stacks_close(stacks);
	if (t->held_by && t->held_no_tp) {
		hs_warn(w, "%zu thread%s of %zu: the thread pointer was not found (held by pid %d, %s: no registers but pc and sp): its tcache and arena are not read",
			t->held_no_tp, t->held_no_tp == 1 ? "" : "s", t->ntasks, (int)t->held_by, t->held_comm);
		c->consistent = false;
		*inconsistent = "a thread's tcache could not be found (see the report)";
	}
	if (t->held_by && t->held_moved) {
		c->consistent = false;
		*inconsistent = "the process's tracer let it run while it was read: the heap may have changed meanwhile";
	}
	if (t->cut_short && !t->gone) {
		/* Out of budget: what was read is reported, not consistent; a
		 * read the stage could not do without is an error of its own. */
		c->consistent = false;
		c->cut_short = true;
		*inconsistent = "the stop reached its budget (--max-stop) and the target was let go: the heap was read only in part";
		if (err->code) {
			err->code = 0;
			hs_fail(err, HS_ECORRUPT,
				"pid %d: the stop reached its budget of %.0f ms before %s; the target was let go (allow more with --max-stop)",
				(int)t->tgid, (double)t->max_stop_ns / 1e6, stage);
		}
	}
	if (t->gone && (!err->code || err->code == HS_ECORRUPT)) {
		err->code = 0;
		hs_fail(err, HS_EEXITED, "pid %d exited while being read", (int)t->pid);
	}
	return err->code;
}

/* snapshot()'s arguments, for the tracer thread (hs_target_in_tracer). */
struct snapshot_call {
	struct hs_target *t;
	struct hs_cli_run *r;
	const struct options *o;
	const char **inconsistent;
	struct hs_err *err;
};

static int snapshot_call(void *p)
{
	struct snapshot_call *a = p;
	return snapshot(a->t, &a->r->sym, a->o, &a->r->types, &a->r->heap, &a->r->ix, &a->r->c, &a->r->ct,
			&a->r->progress, a->inconsistent, &a->r->warn, a->err);
}

int hs_cli_attach_open(pid_t pid, const struct options *o, struct hs_target *t, struct hs_cli_run *r,
		       struct hs_err *err)
{
	struct hs_symbols_opts so = {.no_debuginfo = o->no_debuginfo, .glibc_minor = o->glibc_minor};
	memset(t, 0, sizeof *t);
	t->pagemap.fd = -1;
	hs_progress_open(&r->progress); /* opens the terminal: before hs_confine */
	/* Read-only by construction, before anything of the target is read;
	 * then, once debuginfod had its chance to write its cache, no file
	 * may be opened for writing either. The target's files are parsed
	 * under a stricter filter still (HS_CONFINE_PARSE: no exec, no fork,
	 * nothing that changes the system). */
	if (hs_confine(HS_CONFINE_NO_WRITES, err) || hs_target_open(t, pid, err) ||
	    hs_confine(HS_CONFINE_PARSE, err) || hs_symbols_load(&t->src, &so, &r->sym, err) ||
	    hs_confine(HS_CONFINE_NO_OPEN_FOR_WRITE, err))
		return err->code;
	hs_types_load(&r->sym, &r->types);
	return 0;
}

int hs_cli_attach_snapshot(struct hs_target *t, struct hs_cli_run *r, const struct options *o,
			   const char **inconsistent, struct hs_err *err)
{
	const pid_t pid = t->tgid;
	hs_smaps_read(pid, &r->smaps); /* unreadable: the report has no process split */
	struct hs_stop_estimate est;
	struct snapshot_call call = {t, r, o, inconsistent, err};
	/* A process another tracer holds is not stopped by heapscope: no
	 * stop to predict (est stays 0). */
	memset(&est, 0, sizeof est);
	if ((!hs_target_tracer(t) && stop_budget(t, &r->smaps, &r->sym, o, &est, err)) ||
	    (o->leaks && hs_contents_prepare(pid, &r->ct, err)) || hs_target_in_tracer(snapshot_call, &call))
		return err->code;
	r->c.pid = pid;
	r->c.exe = t->exe;
	r->c.stopped_ms = t->held_by ? 0 : hs_target_stopped_ms(t);
	r->c.held_by = t->held_by;
	r->c.held_comm = t->held_comm;
	r->c.predicted_stop_ms = est.ms;
	r->c.max_stop_ms = t->held_by ? 0 : (double)t->max_stop_ns / 1e6;
	r->c.cpus_online = t->cpus_online;
	r->c.cpus_allowed = t->cpus_allowed;
	r->mem = &t->src;
	return 0;
}

static int attach(pid_t pid, const struct options *o, struct hs_err *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct hs_target t;
	struct hs_cli_run r = {.have_process = true};
	const char *inconsistent = NULL;
	if (hs_cli_attach_open(pid, o, &t, &r, err) || hs_cli_attach_snapshot(&t, &r, o, &inconsistent, err))
		goto out;
	char who[64];
	snprintf(who, sizeof who, "pid %d", (int)pid);
	hs_cli_run_report(&r, o, &t0, who, inconsistent, err);
out:
	hs_target_close(&t);
	hs_cli_run_free(&r);
	return err->code;
}

int hs_cli_pid_operand(const char *cmd, int argc, char **argv, pid_t *pid, struct hs_err *err)
{
	if (argc < 1)
		return hs_cli_usage_fail(err, "%s needs a PID", cmd);
	if (argc > 1)
		return hs_cli_usage_fail(err, "unexpected argument '%s' after the PID", argv[1]);
	if (!parse_pid(argv[0], pid))
		return hs_cli_usage_fail(err, "invalid PID '%s': give a positive process id", argv[0]);
	return 0;
}

/* attach PID */
static int cmd_attach(int argc, char **argv, const struct options *o, struct hs_err *err)
{
	pid_t pid;
	if (hs_cli_pid_operand("attach", argc, argv, &pid, err))
		return err->code;
	return attach(pid, o, err);
}

const struct hs_command hs_cmd_attach = {
	.name = "attach",
	.synopsis = "attach PID",
	.opts = OPTS_EVERY | OPTS_REPORT | OPT(OPT_COMPARE) | OPT(OPT_LEAKS) | OPT(OPT_NODEBUG) | OPT(OPT_GLIBC) |
		OPT(OPT_MAXSTOP),
	.run = cmd_attach,
};
