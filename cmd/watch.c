/* watch.c - `heapscope watch [-i SECONDS] [-n COUNT] PID`: attach's
 * snapshot (the bounded stop, --max-stop, the prediction, the
 * consistency check) every SECONDS, a line each with the change since
 * the one before and its rate (report/watch.h), or with --json a whole
 * heapscope/1 report a line with its "delta" (JSON Lines); the trend
 * once a few intervals are in (analysis/trend.h); a summary at the end.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP stay blocked in this thread; the
 * sleep between snapshots waits for them (sigtimedwait), so one that
 * comes between snapshots ends the loop and the summary is printed (exit
 * 0). During a stop they are the stop's own, as for attach: the tracer
 * thread takes them, lets the target go at once and heapscope dies of
 * the signal (no summary: nothing more is done in a signal handler). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "analysis/trend.h"
#include "report/watch.h"

#define DEFAULT_INTERVAL_S 5.0

struct watch {
	pid_t pid;
	const struct options *o;
	bool json;
	sigset_t ends; /* SIGINT, SIGTERM, SIGHUP */
	/* The last HS_TREND_WINDOW samples, oldest first (the trend's), and
	 * the first (the summary's). */
	struct hs_sample win[HS_TREND_WINDOW];
	size_t nwin;
	struct hs_watch_summary sum;
	char end[64];
};

/* An end signal is pending, or comes within ns (0: only look): ends the
 * watch; *w->end says which. */
static bool ended_by_signal(struct watch *w, uint64_t ns)
{
	const uint64_t until = hs_mono_ns() + ns;
	for (;;) {
		const uint64_t now = hs_mono_ns(), left = until > now ? until - now : 0;
		struct timespec ts = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
		int sig = sigtimedwait(&w->ends, NULL, &ts);
		if (sig > 0) {
			snprintf(w->end, sizeof w->end, "interrupted by SIG%s", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
			return true;
		}
		if (errno != EINTR || left == 0)
			return false;
	}
}

/* The snapshot just taken, as a line (text) or a report (--json).
 * Returns 0, or the exit code of a failed write; *bad: not consistent. */
static int show(struct watch *w, struct hs_cli_run *r, const char *who, const char *inconsistent, bool *bad,
		struct hs_err *err)
{
	const struct hs_sample *cur = &w->win[w->nwin - 1];
	struct hs_delta d;
	hs_delta_build(w->nwin > 1 ? &w->win[w->nwin - 2] : NULL, cur, w->sum.snapshots, &d);
	hs_trend_build(w->win, w->nwin, &d.trend);
	const char *before = w->sum.trend.word;
	w->sum.trend = d.trend;
	if (w->json) {
		struct hs_err e = {0};
		r->c.delta = &d;
		hs_cli_finish(&r->heap, &r->c, NULL, &r->warn, w->o, who, inconsistent, &e);
		r->c.delta = NULL;
		if (e.code && e.code != HS_ECORRUPT)
			return hs_fail(err, e.code, "%s", e.msg);
		if ((*bad = e.code == HS_ECORRUPT))
			fprintf(stderr, "heapscope: snapshot #%zu: %s\n", d.index, e.msg);
		return 0;
	}
	struct hs_err e = {0};
	*bad = hs_cli_findings(&r->heap, &r->c, &r->warn, who, inconsistent, &e) == HS_ECORRUPT;
	hs_report_watch_line(stdout, cur, &d, !*bad);
	if (d.trend.word && d.trend.word != before)
		hs_report_watch_trend(stdout, &d.trend);
	if (*bad)
		fprintf(stderr, "heapscope: snapshot #%zu: %s\n", d.index, e.msg);
	if (fflush(stdout) != 0 || ferror(stdout))
		return hs_fail(err, HS_EINTERNAL, "cannot write the watch: %s", strerror(errno));
	return 0;
}

/* One snapshot (t open) into the window and onto stdout. */
static int snap(struct watch *w, struct hs_target *t, struct hs_cli_run *r, struct hs_err *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char who[64];
	snprintf(who, sizeof who, "pid %d", (int)w->pid);
	const char *inconsistent = NULL;
	if (hs_cli_attach_snapshot(t, r, w->o, &inconsistent, err) || hs_cli_run_census(r, w->o, &t0, who, err))
		return err->code;
	if (w->nwin == HS_TREND_WINDOW)
		memmove(w->win, w->win + 1, (HS_TREND_WINDOW - 1) * sizeof *w->win);
	else
		w->nwin++;
	hs_sample_of(&r->c, hs_ts_ns(&t->t_stop), &w->win[w->nwin - 1]);
	if (!w->sum.snapshots)
		w->sum.first = w->win[0];
	w->sum.last = w->win[w->nwin - 1];
	bool bad = false;
	if (show(w, r, who, inconsistent, &bad, err))
		return err->code;
	w->sum.snapshots++;
	w->sum.inconsistent += bad;
	return 0;
}

/* The watched process is gone: it exited, its pid names another process
 * (t->changed "another process") or it ran another program (an exec):
 * the summary's ending and the one error line (exit 6). */
static void gone(struct watch *w, const struct hs_target *t, struct hs_err *err)
{
	const bool exec = t->changed && !strcmp(t->changed, "another program");
	snprintf(w->end, sizeof w->end, exec ? "pid %d ran another program" : "pid %d exited", (int)w->pid);
	err->code = 0;
	hs_fail(err, HS_EEXITED, "pid %d %s while being watched (after %zu snapshot%s)", (int)w->pid,
		exec ? "ran another program (exec)"
		: t->changed ? "exited, and the pid names another process now"
			     : "exited",
		w->sum.snapshots, w->sum.snapshots == 1 ? "" : "s");
	err->reported = false; /* --json: the last line is the error object */
}

static int watch(pid_t pid, const struct options *o, struct hs_err *err)
{
	struct watch w = {.pid = pid, .o = o, .json = o->report.format == HS_FMT_JSON};
	struct hs_target t;
	/* the process split only where it is shown: in --json's reports */
	struct hs_cli_run r = {.have_process = w.json};
	const double interval = o->interval_s > 0 ? o->interval_s : DEFAULT_INTERVAL_S;
	sigemptyset(&w.ends);
	sigaddset(&w.ends, SIGINT);
	sigaddset(&w.ends, SIGTERM);
	sigaddset(&w.ends, SIGHUP);
	if (hs_cli_attach_open(pid, o, &t, &r, err)) {
		hs_target_close(&t);
		hs_cli_run_free(&r);
		return err->code;
	}
	const struct hs_proc_id first = t.id; /* the process watched, whatever its pid names later */
	sigset_t old;
	pthread_sigmask(SIG_BLOCK, &w.ends, &old);
	if (!w.json) {
		printf("watch pid %d (%s): a snapshot every %g s, ", (int)pid, t.exe, interval);
		if (o->times)
			printf("%ld time%s\n", o->times, o->times == 1 ? "" : "s");
		else
			printf("until interrupted\n");
	}
	uint64_t next = hs_mono_ns();
	for (;;) {
		if (w.sum.snapshots) {
			hs_target_close(&t);
			hs_cli_run_clear(&r);
			if (hs_target_open(&t, pid, err) && !hs_target_gone(pid))
				break;
			/* its pid used again, or an exec: the process watched is
			 * gone, and a line against another would be a lie */
			if (!err->code && (t.changed = hs_target_changed(&first, &t.id))) {
				gone(&w, &t, err);
				break;
			}
		}
		/* one that came while the target was opened is taken here, not
		 * by the stop (which would die of it) */
		if (!err->code && ended_by_signal(&w, 0))
			break;
		if (err->code || snap(&w, &t, &r, err)) {
			if (err->code == HS_EEXITED || (err->code == HS_EATTACH && hs_target_gone(pid)))
				gone(&w, &t, err);
			break;
		}
		if (o->times && w.sum.snapshots >= (size_t)o->times) {
			snprintf(w.end, sizeof w.end, "%zu snapshot%s taken", w.sum.snapshots,
				 w.sum.snapshots == 1 ? "" : "s");
			break;
		}
		/* Every SECONDS from the first; one that ran late is followed at once. */
		const uint64_t now = hs_mono_ns(), step = (uint64_t)(interval * 1e9);
		next += step;
		if (next < now)
			next = now;
		if (ended_by_signal(&w, next - now))
			break;
	}
	if (!w.end[0])
		snprintf(w.end, sizeof w.end, "%s", "an error");
	w.sum.pid = (int)pid;
	w.sum.end = w.end;
	hs_report_watch_summary(w.json ? stderr : stdout, &w.sum);
	fflush(stdout);
	hs_target_close(&t);
	hs_cli_run_free(&r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err->code && w.sum.inconsistent) {
		hs_fail(err, HS_ECORRUPT, "pid %d: %zu of %zu snapshots may be inconsistent (see above)", (int)pid,
			w.sum.inconsistent, w.sum.snapshots);
		err->reported = true; /* --json: each report says so itself */
	}
	return err->code;
}

/* watch PID */
static int cmd_watch(int argc, char **argv, const struct options *o, struct hs_err *err)
{
	pid_t pid;
	if (hs_cli_pid_operand("watch", argc, argv, &pid, err))
		return err->code;
	if (o->report.format != HS_FMT_TEXT && o->report.format != HS_FMT_JSON)
		return hs_cli_usage_fail(err, "%s", "watch writes text or json (JSON Lines), no other --format");
	return watch(pid, o, err);
}

const struct hs_command hs_cmd_watch = {
	.name = "watch",
	.synopsis = "watch PID",
	/* no --pretty (a report a line), no --leaks, --compare, --chunks or
	 * --bins (a line per snapshot: attach gives the whole picture) */
	.opts = OPTS_EVERY | OPT(OPT_JSON) | OPT(OPT_FORMAT) | OPT(OPT_REDACT) | OPT(OPT_NODEBUG) | OPT(OPT_GLIBC) |
		OPT(OPT_MAXSTOP) | OPT(OPT_INTERVAL) | OPT(OPT_TIMES),
	.run = cmd_watch,
};
