/* target.h - a live process: stop every thread, read, let go.
 *
 * Read-only by construction: nothing here writes the target's memory or
 * registers. While the target is stopped, SIGINT, SIGTERM and SIGHUP are
 * held back from heapscope and reads fail with EINTR when one is pending,
 * so the caller detaches first and the signal takes effect after. */
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
		uint64_t *data;
	} known[16];
	size_t nknown;
	uint64_t gen;
	pthread_mutex_t pmlock;
	/* A held-back signal was seen pending (reads fail with EINTR), and
	 * when the kernel was last asked (CLOCK_MONOTONIC ns); both atomic. */
	bool interrupted;
	uint64_t signal_checked;
	sigset_t oldmask;
	bool stopped;
	bool gone; /* the target exited while being read */
	struct timespec t_stop, t_resume;
	/* The two ways glibc counts cores for its arena limit: CPUs online
	 * (/sys/devices/system/cpu/online) and the target's affinity mask
	 * (Cpus_allowed_list); 0 when unknown. */
	int cpus_online, cpus_allowed;
};

/* Checks the pid (exists, not a kernel thread, not a zombie: a main
 * thread that has exited while others run on is not one; ptrace allowed)
 * and opens it for reading. Fails with HS_EATTACH or HS_EUNSUPPORTED. */
int hs_target_open(struct hs_target *t, pid_t pid, struct hs_err *err);
/* Stops every thread (PTRACE_SEIZE + PTRACE_INTERRUPT, repeated until no
 * new thread appears), reads their registers and the maps. A thread that
 * exits meanwhile is left out (not a permission problem: it is gone). */
int hs_target_stop(struct hs_target *t, struct hs_err *err);
/* Lets one stopped thread run for an instant and stops it again (to get
 * it out of malloc while the others stay stopped). A thread in a
 * job-control stop is never resumed. Returns whether it is still there. */
bool hs_target_nudge(struct hs_target *t, struct hs_task *k);
/* Detaches every thread, re-delivering any signal caught meanwhile, and
 * lets held-back signals to heapscope through. Safe to call twice. */
void hs_target_resume(struct hs_target *t);
double hs_target_stopped_ms(const struct hs_target *t);
void hs_target_close(struct hs_target *t);

#endif
