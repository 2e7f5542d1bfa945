/* cli.h - what the files of cmd/ share: every option heapscope knows,
 * the values a command line gives them, a row of the command table, and
 * the end that attach, core and replay have in common (finish.c), with
 * what attach and core share after the snapshot (run.c).
 *
 * The grammar, in bpftool's way:
 *     heapscope [GLOBAL OPTIONS] COMMAND [OPTIONS] OPERANDS...
 * Global options (-j, -p, --format, --no-debuginfo, --redact, -h, -V) may come
 * before the command or after it; the others come after it. One
 * dispatcher (main.c) parses the options of the whole line with one
 * table (options.c), then hands the operands to the command's cmd_*
 * function; each command says in its row which options it takes, and
 * hs_cli_check() is the one place that refuses the rest. */
#ifndef HS_CLI_H
#define HS_CLI_H

#include <stdio.h>
#include <time.h>

#include "analysis/census.h"
#include "analysis/leaks.h"
#include "analysis/process.h"
#include "glibc/bins.h"
#include "glibc/contents.h"
#include "glibc/symbols.h"
#include "glibc/types.h"
#include "glibc/walk.h"
#include "report/report.h"
#include "source/smaps.h"
#include "source/target.h"

/* Every option, once (options.c gives each its name and its parser). */
enum hs_opt {
	OPT_JSON,
	OPT_PRETTY,
	OPT_FORMAT,
	OPT_CHUNKS,
	OPT_BINS,
	OPT_COMPARE,
	OPT_LEAKS,
	OPT_NODEBUG,
	OPT_GLIBC,
	OPT_WORDSIZE,
	OPT_HEAPBASE,
	OPT_REDACT,
	OPT_MAXSTOP,
	OPT_SYSROOT,
	OPT_OUTPUT,
	OPT_INTERVAL,
	OPT_TIMES,
	OPT_HELP,
	OPT_VERSION,
	OPT_COUNT
};
#define OPT(id) (1u << (id))
/* What every command takes: help, version, and the report's shape. */
#define OPTS_EVERY (OPT(OPT_HELP) | OPT(OPT_VERSION))
#define OPTS_REPORT                                                                                                    \
	(OPT(OPT_JSON) | OPT(OPT_PRETTY) | OPT(OPT_FORMAT) | OPT(OPT_CHUNKS) | OPT(OPT_BINS) | OPT(OPT_REDACT) |             \
	 OPT(OPT_OUTPUT))

/* The values of the options of one command line (the CLI's one piece of
 * global state; filled by the dispatcher, read-only to the commands). */
struct options {
	struct hs_report_opts report;
	bool no_debuginfo;
	bool compare;
	int leaks;          /* 0, 1 (sample), 2 (all) */
	int glibc_minor;    /* --glibc=2.N: replay's model (default 36); attach: a static program's version */
	unsigned word_size; /* replay: --word-size=4|8 (default 8) */
	uint64_t heap_base; /* replay: --heap-base=ADDR (0: the core's default) */
	uint64_t max_stop_ns; /* attach: --max-stop=DURATION (0: not given, HS_MAX_STOP_DEFAULT_NS) */
	const char *sysroot; /* core: --sysroot=DIR, where the core's files are */
	const char *output;  /* -o, --output=FILE (NULL: stdout) */
	/* Where the report goes: stdout, or -o's file (output.h), set by
	 * the dispatcher before the command runs. */
	FILE *out;
	double interval_s;   /* watch: -i SECONDS (0: not given, 5) */
	long times;          /* watch: -n COUNT (0: until interrupted) */
};

/* The stop's budget when --max-stop is not given: 3 s. The 2 GiB heap
 * of 21,474,836 chunks (make bench) is predicted at 0.6 to 0.7 s and
 * read in a stop of 0.5 to 0.7 s on a quiet machine, 2.0 to 2.3 s on a
 * loaded one; a heap of 20 GiB is predicted at 6 s or more and refused
 * (man heapscope, --max-stop). */
#define HS_MAX_STOP_DEFAULT_NS 3000000000ull

/* A row of the command table (main.c). core, watch and diff (DESIGN.md)
 * plug in as rows of their own. */
struct hs_command {
	const char *name;     /* "attach" */
	const char *synopsis; /* "attach PID": named when no command is given */
	unsigned opts;        /* OPT() of every option it takes, global ones included */
	/* Runs it on its operands (argv[0 .. argc-1], the options taken out).
	 * Returns 0, or the exit code with err set. */
	int (*run)(int argc, char **argv, const struct options *o, struct hs_err *err);
};

extern const struct hs_command hs_cmd_attach; /* attach.c */
extern const struct hs_command hs_cmd_replay; /* replay.c */
extern const struct hs_command hs_cmd_core;   /* core.c */
extern const struct hs_command hs_cmd_diff;   /* diff.c */
extern const struct hs_command hs_cmd_watch;  /* watch.c */

/* options.c: the options of argv[1 .. argc-1] into o, in order; a global
 * one acts where it stands (--help, --version print and set *done).
 * before_command: stop at the first operand (the command's name);
 * otherwise options and operands may mix, and "--" ends the options.
 * *given gets OPT() of each option seen; *operand the index of the first
 * operand. Returns 0, or HS_EUSAGE with err set. */
int hs_cli_parse(int argc, char **argv, bool before_command, struct options *o, unsigned *given, bool *done,
		 int *operand, struct hs_err *err);
/* The one place a command refuses an option: one it does not take
 * (naming the commands that do), or a command's option given before the
 * command. cmds: the command table, for the message. */
int hs_cli_check(const struct hs_command *cmd, unsigned before, unsigned after, const struct hs_command *const *cmds,
		 size_t ncmds, struct hs_err *err);
/* HS_EUSAGE with "MESSAGE (see heapscope --help)" in err. */
int hs_cli_usage_fail(struct hs_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hs_cli_usage(FILE *out);

/* finish.c: the part of a run after the heap is read, shared by attach
 * and replay: diagnosis, report, and the exit code the findings give.
 * When c->consistent is false, inconsistent says why ("a thread stayed
 * inside malloc"). */
void hs_cli_finish(const struct hs_heap *heap, struct hs_census *c, const struct hs_leaks *leaks,
		   struct hs_warnings *warn, const struct options *o, const char *who, const char *inconsistent,
		   struct hs_err *err);
/* The exit code the snapshot's findings give (0, or HS_ECORRUPT with the
 * line naming why: a thread stayed inside the allocator, the heap has
 * warnings): hs_cli_finish's rule, for watch's lines too. */
int hs_cli_findings(const struct hs_heap *heap, const struct hs_census *c, const struct hs_warnings *warn,
		    const char *who, const char *inconsistent, struct hs_err *err);

/* run.c: what attach and core share from the target's symbols to the
 * report. The command fills sym, types, heap, ix (and ct with --leaks,
 * smaps when have_process) and c's header fields (pid, exe, stopped_ms,
 * consistent, ...); hs_cli_run_report reads the bins, builds the census and
 * the leaks, and reports (hs_cli_finish). who: "pid 42", "core FILE". */
struct hs_cli_run {
	struct hs_warnings warn;
	struct hs_symbols sym;
	struct hs_types types;
	struct hs_heap heap;
	struct hs_index ix;
	struct hs_bins bins;
	struct hs_census c;
	struct hs_contents ct;
	struct hs_leaks leaks;
	bool have_process;     /* smaps was asked for: the report splits the process */
	struct hs_smaps smaps; /* the whole process, read before the stop */
	struct hs_process proc;
	/* The target's memory, for what the process split checks by content
	 * (NULL: none): read after the stop, pages it lacks as zeros. */
	struct hs_source *mem;
	/* Progress of the long reads on the terminal (base/progress.h):
	 * opened before the confinement, closed by hs_cli_run_free. */
	struct hs_progress progress;
};
int hs_cli_run_report(struct hs_cli_run *r, const struct options *o, const struct timespec *t0, const char *who,
		      const char *inconsistent, struct hs_err *err);
/* hs_cli_run_report without the report: bins, census, leaks, process
 * split (watch renders its own). */
int hs_cli_run_census(struct hs_cli_run *r, const struct options *o, const struct timespec *t0, const char *who,
		      struct hs_err *err);
/* Frees and empties what one snapshot filled (all but sym and types:
 * watch loads the symbols once and snapshots again). */
void hs_cli_run_clear(struct hs_cli_run *r);
void hs_cli_run_free(struct hs_cli_run *r);

/* attach.c, for attach and watch: hs_cli_attach_open makes heapscope
 * read-only (confine.h), opens the target and loads its symbols and
 * types into r; hs_cli_attach_snapshot reads the process's maps (smaps),
 * refuses a stop predicted over --max-stop, stops the target, reads the
 * heap and lets it go (t must be open), and fills r->c's header fields.
 * Both return 0 or the exit code with err set (inconsistent: why the
 * snapshot is not consistent, as hs_cli_run_report takes it). */
int hs_cli_attach_open(pid_t pid, const struct options *o, struct hs_target *t, struct hs_cli_run *r,
		       struct hs_err *err);
int hs_cli_attach_snapshot(struct hs_target *t, struct hs_cli_run *r, const struct options *o,
			   const char **inconsistent, struct hs_err *err);
/* The operands of CMD PID: exactly one, a positive decimal process id;
 * else HS_EUSAGE with err set. */
int hs_cli_pid_operand(const char *cmd, int argc, char **argv, pid_t *pid, struct hs_err *err);

#endif
