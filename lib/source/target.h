/* target.h - a live process: stop every thread, read, let go.
 *
 * Read-only by construction: nothing here writes the target's memory or
 * registers. SIGINT, SIGTERM and SIGHUP are not held back while the
 * target is stopped: a handler, armed for the stop, detaches every
 * stopped thread and heapscope dies of the signal at once (the kernel
 * lets go any other as its tracer exits).
 *
 * A stop is bounded by a clock: with max_stop_ns set, reads made while
 * stopped past t_stop + max_stop_ns fail with ETIME (cut_short is set);
 * with wait_ns, threads that have not reported their stop wait_ns after
 * it began (or after a nudge) are left late, and seizing ends with
 * HS_EATTACH when new threads still appear then (or after 64 rounds). */
#ifndef HS_TARGET_H
#define HS_TARGET_H

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "arch.h"
#include "source/source.h"

struct hs_task {
	pid_t tid;
	bool attached;
	/* Its stop was seen. Attached and not stopped: late (seized and
	 * interrupted, but in uninterruptible sleep past wait_ns): it runs
	 * none of its own code, but its registers are unknown. */
	bool stopped;
	bool group_stopped; /* was in a job-control stop: stays stopped after */
	int pending_sig;    /* a signal caught while stopping: re-delivered */
	struct hs_regs regs;
	bool in_malloc;        /* a frame of its stack is in the allocator */
	const char *malloc_fn; /* the innermost such function */
};

struct hs_target {
	struct hs_source src; /* first: the stages read through it */
	pid_t tgid; /* the process, as named */
	/* The task the process is read through (/proc/PID/..., reads; also
	 * src.pid): the process id, or one of its live threads once the main
	 * thread has exited (pthread_exit with others running on: the
	 * process is not a zombie, but the main thread's own /proc files hold
	 * no memory any more). */
	pid_t pid;
	char exe[4096];
	/* Which process this is, beyond its pid: its start time (clock
	 * ticks after boot: a pid used again is another start), its
	 * executable file and where its code and stack begin (an exec puts
	 * another file there, or the same one elsewhere). */
	struct hs_proc_id {
		unsigned long long start;
		unsigned long long dev, ino;
		unsigned long long code, stack;
	} id;
	/* Set when the stop found the pid another process or program than
	 * the opening did (hs_target_changed's word): the stop failed. */
	const char *changed;
	struct hs_task *tasks;
	size_t ntasks, cap;
	struct hs_pagemap pagemap; /* which pages hold data (src.pages, and every read) */
	/* Which pages hold data, for small reads while stopped: a few 2 MiB
	 * blocks of pagemap, one bit a page, direct-mapped. An entry holds
	 * for one stop only (`gen` moves on at every stop, nudge and resume,
	 * when the target may have run). The stream's reader thread reads
	 * too: under pmlock. */
	struct hs_pmcache {
		uint64_t block; /* address / 2 MiB, + 1 (0: empty) */
		uint64_t gen;
		uint64_t data[8]; /* bit i: page i of the block holds data */
	} pmcache[16];
	/* The page states pages() gave while stopped (the heaps' residency,
	 * --leaks' runs), one bit a page, kept for the reads of the same
	 * stop: the walk then reads no pagemap of its own. At most
	 * 16 ranges; emptied with the cache. */
	struct hs_pmrange {
		uint64_t first, npages; /* page numbers */
		uint64_t cap;           /* words data has room for */
		uint64_t *data;
	} known[16];
	size_t nknown;
	uint64_t gen;
	pthread_mutex_t pmlock;
	bool stopped;
	bool gone; /* the target exited while being read */
	struct timespec t_stop, t_resume;
	/* The stop's clock (set by the caller before the stop; 0: unbounded):
	 * its budget, and how long threads may take to report their stop. */
	uint64_t max_stop_ns, wait_ns;
	uint64_t deadline_ns; /* t_stop + max_stop_ns, CLOCK_MONOTONIC ns */
	bool cut_short;       /* the budget ran out while reading (atomic) */
	int rounds;           /* rounds of seizing new threads the stop took */
	pid_t *skipped;       /* threads found exiting while seizing */
	size_t nskipped;
	size_t undetached;    /* late threads still traced after letting go */
	/* A process another tracer holds stopped (gdb: every thread in its
	 * ptrace stop) is read as it is, nothing stopped or resumed
	 * (source/held.h): that tracer, its name, how many threads' thread
	 * pointers were not found, and whether it let any thread run (or
	 * went) before the reading was over. */
	pid_t held_by;
	char held_comm[64];
	size_t held_no_tp;
	bool held_moved;
	/* The two ways glibc counts cores for its arena limit: CPUs online
	 * (/sys/devices/system/cpu/online) and the target's affinity mask
	 * (Cpus_allowed_list); 0 when unknown. */
	int cpus_online, cpus_allowed;
};

/* Checks the pid (exists, not a kernel thread, not a zombie: a main
 * thread that has exited while others run on is not one; ptrace allowed)
 * and opens it for reading. Fails with HS_EATTACH or HS_EUNSUPPORTED. */
int hs_target_open(struct hs_target *t, pid_t pid, struct hs_err *err);
/* What differs between two openings of one pid: NULL when they are the
 * same process running the same executable, else "another process"
 * (the first exited, its pid used again) or "another program" (exec). */
const char *hs_target_changed(const struct hs_proc_id *before, const struct hs_proc_id *now);
/* Whether process pid has exited: no such process, or no thread of it
 * left that is not exiting (a main thread that called pthread_exit, a
 * zombie, while others run on, is not the process gone). */
bool hs_target_gone(pid_t pid);
/* The process's tracer when it is another one than heapscope (TracerPid),
 * else 0: a process gdb holds stopped is not stopped again, but read as it
 * is (hs_target_stop). */
pid_t hs_target_tracer(const struct hs_target *t);
/* Stops every thread (PTRACE_SEIZE + PTRACE_INTERRUPT, repeated until no
 * new thread appears), reads their registers and the maps. A thread that
 * exits meanwhile is left out (not a permission problem: it is gone); one
 * that does not stop within wait_ns is kept, late. On failure (threads
 * appear faster than they are stopped: HS_EATTACH) every thread has
 * been let go. A process whose every thread another tracer holds in a
 * ptrace stop is not stopped: its threads are taken as they are (held_by
 * set; each one attached, stopped and group_stopped, never resumed, its
 * registers from source/held.h); one traced by another and running fails
 * with HS_EATTACH. */
int hs_target_stop(struct hs_target *t, struct hs_err *err);
/* Lets the stopped threads marked in run[] (one flag per task) run
 * together for an instant and stops them again: to get them out of malloc
 * while the others stay stopped. They run together because one inside
 * malloc may wait on an arena lock another one inside holds, never on a
 * thread outside. A thread in a job-control stop is never resumed. On
 * return run[i] is cleared for a thread that was not resumed or is gone
 * (k->attached false); one still set either stopped again or is late (not
 * stopped within wait_ns). Returns how many were resumed. */
size_t hs_target_nudge(struct hs_target *t, bool *run);
/* Detaches every thread, re-delivering any signal caught meanwhile (a
 * late one once it has stopped; else the kernel, when the tracer thread
 * ends: hs_target_in_tracer). Safe to call twice. */
void hs_target_resume(struct hs_target *t);
double hs_target_stopped_ms(const struct hs_target *t);
/* Runs fn(arg), a stop from hs_target_stop to hs_target_resume, in a
 * thread of its own, and returns what it returns. ptrace ties a tracee to
 * the thread that traces it, and the kernel lets go a thread's tracees
 * when that thread ends: a thread that was seized but never stopped (in
 * uninterruptible sleep, state D), which cannot be detached, is let go
 * when the stop ends instead of staying stopped, once its sleep is over,
 * until heapscope exits (report written, pipe read or not). SIGINT,
 * SIGTERM and SIGHUP go to that thread alone meanwhile (the stop's
 * handler detaches from there). */
int hs_target_in_tracer(int (*fn)(void *), void *arg);
/* The state letter /proc gives one of its threads (R, S, D, T, ...; '?'
 * when it is gone). */
char hs_target_task_state(const struct hs_target *t, pid_t tid);
void hs_target_close(struct hs_target *t);

#endif
