/* target.c - attach to a live process with ptrace, read it, detach. */
#include "source/target.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define NUDGE_US 200

static const int held_signals[] = {SIGINT, SIGTERM, SIGHUP};

static bool signal_pending(const struct hs_target *t)
{
	(void)t;
	sigset_t s;
	if (sigpending(&s) < 0)
		return false;
	for (size_t i = 0; i < HS_ARRAY_SIZE(held_signals); i++)
		if (sigismember(&s, held_signals[i]))
			return true;
	return false;
}

static int live_read(struct hs_source *src, uint64_t addr, void *buf, size_t len)
{
	struct hs_target *t = (struct hs_target *)src;
	if (t->stopped && signal_pending(t)) {
		errno = EINTR;
		return -1;
	}
	size_t done = 0;
	while (done < len) {
		struct iovec local = {(char *)buf + done, len - done};
		struct iovec remote = {(void *)(uintptr_t)(addr + done), len - done};
		ssize_t n = process_vm_readv(t->pid, &local, 1, &remote, 1, 0);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == ESRCH) {
			t->gone = true;
			return -1;
		}
		/* process_vm_readv stops at a page it cannot read; /proc/PID/mem
		 * reads what the kernel can (and fails where nothing is mapped). */
		ssize_t m = pread(t->memfd, (char *)buf + done, len - done, (off_t)(addr + done));
		if (m <= 0) {
			if (m == 0 || errno == 0)
				errno = EIO;
			if (kill(t->pid, 0) < 0 && errno == ESRCH)
				t->gone = true;
			return -1;
		}
		done += (size_t)m;
	}
	return 0;
}

static int live_pages(struct hs_source *src, uint64_t addr, size_t npages, unsigned char *state)
{
	struct hs_target *t = (struct hs_target *)src;
	return hs_pagemap_read(&t->pagemap, addr, npages, state);
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	int e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return -1;
	}
	buf[n] = 0;
	return 0;
}

static int read_proc_file(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	return read_file(path, buf, size);
}

static long status_field(const char *status, const char *key)
{
	const char *p = strstr(status, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* CPUs in a kernel cpu list ("0-3,8,10-11\n"), 0 if it cannot be parsed. */
static int cpulist_count(const char *s)
{
	int n = 0;
	while (*s && *s != '\n') {
		char *e;
		long a = strtol(s, &e, 10), b = a;
		if (e == s || a < 0)
			return 0;
		if (*e == '-') {
			s = e + 1;
			b = strtol(s, &e, 10);
			if (e == s || b < a)
				return 0;
		}
		n += (int)(b - a + 1);
		s = *e == ',' ? e + 1 : e;
	}
	return n;
}

static void read_cpus(struct hs_target *t)
{
	char buf[4096];
	if (read_file("/sys/devices/system/cpu/online", buf, sizeof buf) == 0)
		t->cpus_online = cpulist_count(buf);
	if (read_proc_file(t->pid, "status", buf, sizeof buf) == 0) {
		const char *p = strstr(buf, "Cpus_allowed_list:");
		if (p) {
			p += strlen("Cpus_allowed_list:");
			while (*p == ' ' || *p == '\t')
				p++;
			t->cpus_allowed = cpulist_count(p);
		}
	}
}

static int why_no_ptrace(struct hs_target *t, struct hs_err *err, int e)
{
	char status[4096] = "";
	read_proc_file(t->pid, "status", status, sizeof status);
	long tracer = status_field(status, "TracerPid:");
	if (tracer > 0 && tracer != getpid())
		return hs_fail(err, HS_EATTACH, "cannot attach to pid %d: already traced by pid %ld",
			       (int)t->tgid, tracer);
	if (e == EPERM) {
		char scope[16] = "";
		if (read_file("/proc/sys/kernel/yama/ptrace_scope", scope, sizeof scope) == 0 &&
		    atoi(scope) >= 1 && geteuid() != 0)
			return hs_fail(err, HS_EATTACH,
				       "cannot attach to pid %d: permission denied (kernel.yama.ptrace_scope=%d; run as root or with CAP_SYS_PTRACE)",
				       (int)t->tgid, atoi(scope));
		return hs_fail(err, HS_EATTACH,
			       "cannot attach to pid %d: permission denied (it belongs to another user or is not dumpable; run as its owner or root)",
			       (int)t->tgid);
	}
	return hs_fail(err, HS_EATTACH, "cannot attach to pid %d: %s", (int)t->tgid, strerror(e));
}

/* The state letter of one task of the process ("R", "S", "Z", ...), or 0
 * when it is gone. */
static char task_state(pid_t tgid, pid_t tid)
{
	char path[64], stat[1024];
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)tgid, (int)tid);
	if (read_file(path, stat, sizeof stat) < 0)
		return 0;
	const char *rp = strrchr(stat, ')');
	return rp && rp[1] == ' ' ? rp[2] : 0;
}

/* A task that has exited or is exiting: the kernel refuses to trace one
 * whose exit has begun (PTRACE_SEIZE fails with EPERM once exit_state is
 * set, ESRCH once it is reaped), and /proc then shows it as Z or X, or no
 * more. Not a permission problem: it is gone, and holds nothing to read. */
static bool task_exiting(pid_t tgid, pid_t tid)
{
	char st = task_state(tgid, tid);
	return st == 0 || st == 'Z' || st == 'X';
}

/* A thread of the process that has not exited, or 0. */
static pid_t live_thread(pid_t tgid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)tgid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	pid_t found = 0;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid > 0 && !task_exiting(tgid, tid))
			found = tid;
	}
	closedir(d);
	return found;
}

/* Reads go through t->pid: /proc/PID/mem is opened for it. */
static int open_mem(struct hs_target *t)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", (int)t->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (t->memfd >= 0)
		close(t->memfd);
	t->memfd = fd;
	return 0;
}

/* Reads through another task of the process (the one they went through
 * is gone: a main thread that called pthread_exit). Returns -1 if none. */
static int read_through(struct hs_target *t, pid_t tid)
{
	pid_t was = t->pid;
	t->pid = t->src.pid = tid;
	if (open_mem(t) == 0)
		return 0;
	t->pid = t->src.pid = was;
	return -1;
}

int hs_target_open(struct hs_target *t, pid_t pid, struct hs_err *err)
{
	memset(t, 0, sizeof *t);
	t->pid = t->tgid = pid;
	t->memfd = -1;
	t->pagemap.fd = -1;
	t->src.read = live_read;
	t->src.pid = pid;

	char stat[1024];
	if (pid <= 0 || read_proc_file(pid, "stat", stat, sizeof stat) < 0)
		return hs_fail(err, HS_EATTACH, "no such process: %d", (int)pid);
	/* Fields after the parenthesised command: state is the first, flags
	 * the seventh. */
	const char *rp = strrchr(stat, ')');
	char state = 0;
	unsigned long flags = 0;
	if (!rp || sscanf(rp + 2, "%c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
		return hs_fail(err, HS_EATTACH, "cannot parse /proc/%d/stat", (int)pid);
	if (flags & 0x00200000) /* PF_KTHREAD */
		return hs_fail(err, HS_EUNSUPPORTED,
			       "pid %d is a kernel thread: it has no user memory and no malloc", (int)pid);
	if (state == 'Z' || state == 'X') {
		/* The main thread is a zombie. So is the process only when no
		 * thread runs on: a main thread that called pthread_exit leaves
		 * the others running, with all the memory. Its own /proc files
		 * (maps, mem, exe) are empty then: read through a live thread. */
		pid_t tid = live_thread(pid);
		if (!tid)
			return hs_fail(err, HS_EATTACH,
				       "pid %d is a zombie: it has exited and has no memory left to read", (int)pid);
		t->pid = t->src.pid = tid;
	}
	read_cpus(t);

	char path[64];
	snprintf(path, sizeof path, "/proc/%d/exe", (int)t->pid);
	ssize_t n = readlink(path, t->exe, sizeof t->exe - 1);
	if (n < 0) {
		if (errno == EACCES || errno == EPERM)
			return why_no_ptrace(t, err, EPERM);
		return hs_fail(err, HS_EATTACH, "cannot read %s: %s", path, strerror(errno));
	}
	t->exe[n] = 0;

	if (open_mem(t) < 0)
		return why_no_ptrace(t, err, errno == EACCES ? EPERM : errno);
	if (hs_pagemap_open(pid, &t->pagemap) < 0)
		return why_no_ptrace(t, err, errno == EACCES ? EPERM : errno);
	t->src.pages = live_pages;
	return 0;
}

static struct hs_task *task_find(struct hs_target *t, pid_t tid)
{
	for (size_t i = 0; i < t->ntasks; i++)
		if (t->tasks[i].tid == tid)
			return &t->tasks[i];
	return NULL;
}

/* Seizes and interrupts every task not yet attached; returns how many new
 * ones were found, or -1 on a fatal error. */
static int seize_new_tasks(struct hs_target *t, struct hs_err *err)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)t->tgid);
	DIR *d = opendir(path);
	if (!d) {
		t->gone = true;
		return hs_fail(err, HS_EEXITED, "pid %d exited while being attached", (int)t->tgid), -1;
	}
	int added = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid <= 0 || task_find(t, tid))
			continue;
		if (t->ntasks == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 16;
			t->tasks = hs_xrealloc(t->tasks, t->cap, sizeof *t->tasks);
		}
		struct hs_task *k = &t->tasks[t->ntasks];
		memset(k, 0, sizeof *k);
		k->tid = tid;
		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
			int e = errno;
			/* A thread that exited or is exiting, the main thread
			 * included (if none is left, the stop finds the process
			 * gone): skipped, listed again next round if still there. */
			if ((e == ESRCH || e == EPERM) && task_exiting(t->tgid, tid))
				continue;
			closedir(d);
			if (e == ESRCH) {
				t->gone = true;
				return hs_fail(err, HS_EEXITED, "pid %d exited while being attached",
					       (int)t->tgid), -1;
			}
			return why_no_ptrace(t, err, e), -1;
		}
		k->attached = true;
		t->ntasks++;
		added++;
		if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0 && errno != ESRCH) {
			closedir(d);
			return hs_fail(err, HS_EATTACH, "cannot interrupt thread %d: %s", (int)tid,
				       strerror(errno)), -1;
		}
	}
	closedir(d);
	return added;
}

/* Waits until a seized task reports its stop. Returns false if it died. */
static bool wait_stopped(struct hs_task *k)
{
	for (;;) {
		int st;
		pid_t r = waitpid(k->tid, &st, __WALL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			k->attached = false; /* ECHILD: gone */
			return false;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			k->attached = false;
			return false;
		}
		if (!WIFSTOPPED(st))
			continue;
		int sig = WSTOPSIG(st);
		if ((st >> 16) == PTRACE_EVENT_STOP) {
			/* The interrupt, or a job-control stop that was under way. */
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
				k->group_stopped = true;
			return true;
		}
		if ((st >> 16) == 0) {
			/* A signal on its way to the thread: it is stopped now; deliver
			 * the signal when we let go. */
			k->pending_sig = sig;
			return true;
		}
		return true; /* another ptrace event stop: stopped all the same */
	}
}

int hs_target_stop(struct hs_target *t, struct hs_err *err)
{
	sigset_t hold;
	sigemptyset(&hold);
	for (size_t i = 0; i < HS_ARRAY_SIZE(held_signals); i++)
		sigaddset(&hold, held_signals[i]);
	sigprocmask(SIG_BLOCK, &hold, &t->oldmask);
	t->stopped = true;
	clock_gettime(CLOCK_MONOTONIC, &t->t_stop);

	/* Threads can be created by threads not yet stopped: list again until
	 * a listing finds nobody new (then nobody is left to create one). */
	for (int round = 0;; round++) {
		int added = seize_new_tasks(t, err);
		if (added < 0)
			return err->code;
		if (added == 0)
			break;
		if (round > 10000)
			return hs_fail(err, HS_EATTACH, "pid %d keeps creating threads faster than they can be stopped",
				       (int)t->tgid);
	}
	size_t alive = 0;
	for (size_t i = 0; i < t->ntasks; i++) {
		struct hs_task *k = &t->tasks[i];
		if (!k->attached || !wait_stopped(k))
			continue;
		if (hs_arch_getregs(k->tid, &k->regs) < 0)
			continue;
		alive++;
	}
	/* Keep only live tasks, the main thread first as /proc lists it. */
	size_t j = 0;
	for (size_t i = 0; i < t->ntasks; i++)
		if (t->tasks[i].attached)
			t->tasks[j++] = t->tasks[i];
	t->ntasks = j;
	/* The task reads went through has exited (a main thread that called
	 * pthread_exit meanwhile): through another, stopped now, from here on. */
	struct hs_task *r = task_find(t, t->pid);
	if (alive > 0 && (!r || !r->attached)) {
		for (size_t i = 0; i < t->ntasks && (!r || !r->attached); i++)
			if (read_through(t, t->tasks[i].tid) == 0)
				r = &t->tasks[i];
	}
	if (alive == 0 || !r || !r->attached) {
		t->gone = true;
		return hs_fail(err, HS_EEXITED, "pid %d exited while being attached", (int)t->tgid);
	}

	hs_maps_free(&t->src.maps);
	if (hs_maps_read(t->pid, &t->src.maps, err)) {
		t->gone = kill(t->pid, 0) < 0;
		if (t->gone) {
			err->code = 0;
			return hs_fail(err, HS_EEXITED, "pid %d exited while being read", (int)t->tgid);
		}
		return err->code;
	}
	return 0;
}

int hs_target_nudge(struct hs_target *t, struct hs_task *k)
{
	(void)t;
	if (!k->attached || k->group_stopped)
		return 0;
	int sig = k->pending_sig;
	k->pending_sig = 0;
	if (ptrace(PTRACE_CONT, k->tid, NULL, (void *)(long)sig) < 0)
		goto gone;
	/* Long enough to be scheduled and move on; short against a request. */
	usleep(NUDGE_US);
	if (ptrace(PTRACE_INTERRUPT, k->tid, NULL, NULL) < 0 || !wait_stopped(k) ||
	    hs_arch_getregs(k->tid, &k->regs) < 0) {
		goto gone;
	}
	return 0;
gone:
	k->attached = false;
	return -1;
}

void hs_target_resume(struct hs_target *t)
{
	if (!t->stopped)
		return;
	for (size_t i = 0; i < t->ntasks; i++) {
		struct hs_task *k = &t->tasks[i];
		if (!k->attached)
			continue;
		ptrace(PTRACE_DETACH, k->tid, NULL, (void *)(long)k->pending_sig);
		k->attached = false;
	}
	clock_gettime(CLOCK_MONOTONIC, &t->t_resume);
	t->stopped = false;
	/* A held-back SIGINT/SIGTERM/SIGHUP now ends heapscope, as asked. */
	sigprocmask(SIG_SETMASK, &t->oldmask, NULL);
}

double hs_target_stopped_ms(const struct hs_target *t)
{
	return (double)(t->t_resume.tv_sec - t->t_stop.tv_sec) * 1e3 +
	       (double)(t->t_resume.tv_nsec - t->t_stop.tv_nsec) / 1e6;
}

void hs_target_close(struct hs_target *t)
{
	hs_target_resume(t);
	if (t->memfd >= 0)
		close(t->memfd);
	t->memfd = -1;
	hs_pagemap_close(&t->pagemap);
	free(t->tasks);
	t->tasks = NULL;
	hs_maps_free(&t->src.maps);
}
