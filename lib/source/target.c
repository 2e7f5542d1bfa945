/* target.c - attach to a live process with ptrace, read it, detach. */
#include "source/target.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "source/held.h"
#include "source/rootfs.h"

#define NUDGE_US 200

/* SIGINT, SIGTERM, SIGHUP during a stop: heapscope lets go, then dies
 * of the signal. Its default action alone would end heapscope at once
 * too, and the kernel detaches a dead tracer's threads, but only after
 * it has unmapped the tracer's memory (a 2 GiB --leaks copy, ASan's
 * shadow: 100 ms and more); the handler detaches first. A handler sees
 * only what a global shows it: the target being stopped, the tracer
 * thread, and whether the task list is being grown (then the kernel
 * detaches). The one piece of global state here, set and cleared by the
 * stop. */
static const int end_signals[] = {SIGINT, SIGTERM, SIGHUP};
static struct {
	struct hs_target *volatile t;
	volatile pid_t tracer;
	volatile sig_atomic_t busy; /* t->tasks is being reallocated */
	unsigned armed;             /* bit i: end_signals[i] has the handler */
} stopping;

static void let_go_and_die(int sig)
{
	struct hs_target *t = stopping.t;
	if (t && !stopping.busy && syscall(SYS_gettid) == stopping.tracer) {
		for (size_t i = 0; i < t->ntasks; i++) {
			const struct hs_task *k = &t->tasks[i];
			if (k->attached && k->stopped)
				ptrace(PTRACE_DETACH, k->tid, NULL, (void *)(long)k->pending_sig);
		}
	}
	raise(sig); /* SA_RESETHAND, SA_NODEFER: the default action, now */
}

/* Arms (t) or disarms (NULL) the handler, for the signals whose action
 * is the default one (one heapscope was started ignoring stays so). */
static void on_end_signals(struct hs_target *t)
{
	stopping.tracer = (pid_t)syscall(SYS_gettid);
	stopping.t = t;
	for (size_t i = 0; i < HS_ARRAY_SIZE(end_signals); i++) {
		struct sigaction old, sa = {.sa_handler = t ? let_go_and_die : SIG_DFL,
					    .sa_flags = SA_RESETHAND | SA_NODEFER};
		if (!t) { /* only what was armed goes back to the default */
			if (stopping.armed & (1u << i))
				sigaction(end_signals[i], &sa, NULL);
			continue;
		}
		if (sigaction(end_signals[i], NULL, &old) < 0 || old.sa_handler != SIG_DFL)
			continue; /* ignored, or someone else's handler: left as it is */
		if (sigaction(end_signals[i], &sa, NULL) == 0)
			stopping.armed |= 1u << i;
	}
	if (!t)
		stopping.armed = 0;
}

struct tracer_call {
	int (*fn)(void *);
	void *arg;
	int rc;
};

static void *tracer(void *p)
{
	struct tracer_call *c = p;
	sigset_t end;
	sigemptyset(&end);
	for (size_t i = 0; i < HS_ARRAY_SIZE(end_signals); i++)
		sigaddset(&end, end_signals[i]);
	pthread_sigmask(SIG_UNBLOCK, &end, NULL);
	c->rc = c->fn(c->arg);
	return NULL;
}

int hs_target_in_tracer(int (*fn)(void *), void *arg)
{
	/* The caller takes none of the stop's signals meanwhile: its handler
	 * must run where the ptrace calls are made. */
	sigset_t end, old;
	sigemptyset(&end);
	for (size_t i = 0; i < HS_ARRAY_SIZE(end_signals); i++)
		sigaddset(&end, end_signals[i]);
	pthread_sigmask(SIG_BLOCK, &end, &old);
	struct tracer_call c = {fn, arg, 0};
	pthread_t th;
	bool apart = pthread_create(&th, NULL, tracer, &c) == 0;
	if (apart)
		pthread_join(th, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!apart)
		c.rc = fn(arg); /* no thread to spare: here, late threads let go at exit */
	return c.rc;
}

/* The stop has reached its budget: reads fail from here on (ETIME), so
 * that whatever reads them ends at once and the target is let go. A
 * clock read through the vDSO: a few ns a read, no system call. */
static bool out_of_time(struct hs_target *t)
{
	if (!t->stopped || !t->deadline_ns)
		return false;
	if (__atomic_load_n(&t->cut_short, __ATOMIC_RELAXED))
		return true;
	if (hs_mono_ns() < t->deadline_ns)
		return false;
	__atomic_store_n(&t->cut_short, true, __ATOMIC_RELAXED);
	return true;
}

/* How live_read reads: pagemap first, then only the pages that hold data.
 *
 * On current kernels reading a page the target has not got (never
 * touched, or given back by malloc_trim's MADV_DONTNEED) allocates one for
 * it: a reader that reads a trimmed or sparse heap whole grows its target
 * by what was trimmed (GLIBC-FACTS.md 7). So each page of a read is, by
 * pagemap and the maps of the stop:
 *  - present or swapped: read (a swapped page holds data, so it must be
 *    read; it comes back into RSS as it would at the target's next touch);
 *  - neither, in a private anonymous mapping ("", [heap], [stack],
 *    [anon:NAME]): zeros, without reading it. That is exact by the
 *    kernel's definition of such a mapping: a page that has never been
 *    touched, or was dropped by MADV_DONTNEED or reclaimed after
 *    MADV_FREE, is zero-filled at its next access (mmap(2), madvise(2));
 *    the only other way for it to be absent, swap, is the swapped bit.
 *    (A range a program registered with userfaultfd is the exception: its
 *    missing pages are what its handler supplies; reading one through the
 *    stopped target would wait for that handler forever.);
 *  - neither, in a file-backed or shared mapping: not zeros (it shows the
 *    file, or what another process wrote to the shared memory), and not
 *    to be read through the target either: that maps a page-cache page
 *    into it, with its neighbours (fault-around), or for a hole of shared
 *    memory allocates one. It is read from the file itself (read_file_page:
 *    the page cache the mapping would show, zeros for a hole of shmem),
 *    which changes nothing in the target. Only when the file cannot be
 *    opened (map_files needs CAP_SYS_ADMIN, and the path may be gone) is it
 *    read from the target, exact at the cost of that mapped page: heapscope
 *    reads file-backed memory only for glibc's own variables and the
 *    candidates it checks, a few words an attach;
 *  - in no mapping, or in one without read permission: EFAULT, as
 *    process_vm_readv would say (it refuses PROT_NONE memory; reading it
 *    through /proc/PID/mem, as heapscope once did, faults its pages in,
 *    and the never-touched ones gave zeros heapscope took for data).
 * Runs of pages to read go to the kernel together, several iovecs a call. */
#define PAGE HS_PAGE_SIZE
#define BLOCK_PAGES 512 /* a cache entry: 2 MiB of address space, one 4 KiB pread of pagemap */
#define CACHED_MAX 16   /* reads of up to this many pages (headers, tcache, arena) use the cache */
#define SLICE 4096      /* page states looked up at a time: 16 MiB of address space */
#define NIOV 64         /* iovecs per process_vm_readv */

/* Whether a page of m that is neither present nor swapped reads as zeros. */
static bool zero_when_absent(const struct hs_map *m)
{
	if (m->shared || m->inode != 0)
		return false;
	const char *p = m->path;
	return !p[0] || strcmp(p, "[heap]") == 0 || strncmp(p, "[stack", 6) == 0 || strncmp(p, "[anon:", 6) == 0;
}

/* Page states of npages pages from the page-aligned p: any state but
 * HS_PAGE_NONE means "holds data". While stopped, a range pages() was
 * asked for is answered from what it said (the walk's windows, after the
 * residency of the heaps), a small read from the block cache (reading a
 * header costs no pagemap read of its own); anything else asks pagemap.
 * What is kept holds for the stop: the target does not run, and the
 * kernel alone changes only present into swapped (both data), absent
 * into present by filling it with zeros (khugepaged: it reads the same)
 * or, for a page the program gave up with MADV_FREE, present into absent,
 * which glibc's malloc never does. */
static int page_states(struct hs_target *t, uint64_t p, size_t npages, unsigned char *st)
{
	if (!t->stopped)
		return hs_pagemap_read(&t->pagemap, p, npages, st);
	int rc = 0;
	pthread_mutex_lock(&t->pmlock);
	const uint64_t first = p / PAGE;
	for (size_t r = 0; r < t->nknown; r++) {
		const struct hs_pmrange *k = &t->known[r];
		if (first < k->first || first + npages > k->first + k->npages)
			continue;
		for (size_t i = 0; i < npages; i++) {
			uint64_t b = first - k->first + i;
			st[i] = (k->data[b / 64] >> (b % 64)) & 1 ? HS_PAGE_PRESENT : HS_PAGE_NONE;
		}
		pthread_mutex_unlock(&t->pmlock);
		return 0;
	}
	if (npages > CACHED_MAX) {
		pthread_mutex_unlock(&t->pmlock);
		return hs_pagemap_read(&t->pagemap, p, npages, st);
	}
	for (size_t i = 0; i < npages; i++) {
		uint64_t pg = p / PAGE + i, block = pg / BLOCK_PAGES;
		struct hs_pmcache *e = &t->pmcache[block % HS_ARRAY_SIZE(t->pmcache)];
		if (e->block != block + 1 || e->gen != t->gen) {
			unsigned char s[BLOCK_PAGES];
			e->block = 0;
			if ((rc = hs_pagemap_read(&t->pagemap, block * BLOCK_PAGES * PAGE, BLOCK_PAGES, s)) < 0)
				break;
			memset(e->data, 0, sizeof e->data);
			for (unsigned k = 0; k < BLOCK_PAGES; k++)
				if (s[k] != HS_PAGE_NONE)
					e->data[k / 64] |= 1ull << (k % 64);
			e->block = block + 1;
			e->gen = t->gen;
		}
		unsigned k = (unsigned)(pg % BLOCK_PAGES);
		st[i] = (e->data[k / 64] >> (k % 64)) & 1 ? HS_PAGE_PRESENT : HS_PAGE_NONE;
	}
	pthread_mutex_unlock(&t->pmlock);
	return rc;
}

/* The target may run (or has run): cached page states no longer hold. */
static void pages_may_change(struct hs_target *t)
{
	pthread_mutex_lock(&t->pmlock);
	t->gen++;
	for (size_t r = 0; r < t->nknown; r++)
		free(t->known[r].data);
	t->nknown = 0;
	pthread_mutex_unlock(&t->pmlock);
}

/* Keeps what pages() said while stopped for the reads that follow;
 * consecutive answers (residency asks a heap in batches) make one range. */
static void remember(struct hs_target *t, uint64_t addr, size_t npages, const unsigned char *st)
{
	const uint64_t first = addr / PAGE;
	pthread_mutex_lock(&t->pmlock);
	struct hs_pmrange *k = NULL;
	for (size_t r = 0; r < t->nknown && !k; r++)
		if (t->known[r].first + t->known[r].npages == first)
			k = &t->known[r];
	if (!k && t->nknown < HS_ARRAY_SIZE(t->known)) {
		k = &t->known[t->nknown++];
		*k = (struct hs_pmrange){first, 0, 0, NULL};
	}
	if (k) {
		uint64_t old = (k->npages + 63) / 64, n = k->npages + npages, words = (n + 63) / 64;
		/* Grown by half at least: a 100 GiB heap is remembered in some
		 * 50,000 calls (realloc copies under ASan: minutes, not seconds). */
		if (words > k->cap) {
			k->cap = words > k->cap + k->cap / 2 ? words : k->cap + k->cap / 2;
			k->data = hs_xrealloc(k->data, k->cap, sizeof *k->data);
		}
		memset(k->data + old, 0, (words - old) * sizeof *k->data);
		for (size_t i = 0; i < npages; i++) {
			uint64_t b = k->npages + i;
			if (st[i] != HS_PAGE_NONE)
				k->data[b / 64] |= 1ull << (b % 64);
		}
		k->npages = n;
	}
	pthread_mutex_unlock(&t->pmlock);
}

static bool task_exiting(pid_t tgid, pid_t tid);

/* A read failed with errno: ESRCH when the target is gone (reaped, or
 * dying: a killed process's memory goes before its pid does), else as is. */
static int read_failed(struct hs_target *t)
{
	int e = errno;
	if (e == ESRCH || (kill(t->pid, 0) < 0 && errno == ESRCH) || task_exiting(t->tgid, t->pid)) {
		t->gone = true;
		e = ESRCH;
	}
	errno = e;
	return -1;
}

/* Reads n runs, in as few process_vm_readv calls as the kernel allows
 * (it may stop part way: go on from there; a run it refuses is EFAULT). */
static int read_runs(struct hs_target *t, struct iovec *l, struct iovec *r, size_t n)
{
	size_t i = 0;
	while (i < n) {
		ssize_t got = process_vm_readv(t->pid, l + i, n - i, r + i, n - i, 0);
		if (got <= 0) {
			if (got == 0)
				errno = EFAULT;
			return read_failed(t);
		}
		for (size_t left = (size_t)got; left;) {
			size_t k = left < l[i].iov_len ? left : l[i].iov_len;
			l[i].iov_base = (char *)l[i].iov_base + k;
			r[i].iov_base = (char *)r[i].iov_base + k;
			l[i].iov_len -= k;
			r[i].iov_len -= k;
			left -= k;
			if (!l[i].iov_len)
				i++;
		}
		while (i < n && !l[i].iov_len)
			i++;
	}
	return 0;
}

/* Bytes [lo, lo + len) of pg, an absent page of m, a file-backed or
 * shared mapping, from the file itself (through map_files, which names
 * the very file mapped, or else the path seen from the target's root if
 * it is still the same inode): what the page shows, without mapping it
 * into the target. Returns 0; 1 when the file cannot be opened (then it
 * is read from the target: exact, at the cost of a page-cache page mapped
 * there); or -1 with EFAULT for a page past the end of the file, which
 * the kernel would not map either (SIGBUS). */
static int read_file_page(struct hs_target *t, const struct hs_map *m, uint64_t pg, uint64_t lo,
			  unsigned char *dst, size_t len)
{
	char path[4200];
	snprintf(path, sizeof path, "/proc/%d/map_files/%llx-%llx", (int)t->pid, (unsigned long long)m->start,
		 (unsigned long long)m->end);
	/* Regular files only, never a blocking open, nothing outside the
	 * target's root (source/rootfs.h): a mapped device or a path the
	 * target turned into a FIFO is read from the target instead. */
	const char *why;
	int fd = hs_rootfs_file(HS_ROOTFS_HOST, path, UINT64_MAX, &why);
	struct stat st;
	if (fd < 0 && m->path[0] == '/' && m->inode) {
		int root = hs_rootfs_open(t->pid);
		fd = root >= 0 ? hs_rootfs_file(root, m->path, UINT64_MAX, &why) : -1;
		if (root >= 0)
			close(root);
		if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_ino != m->inode)) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return 1;
	}
	uint64_t page_off = m->offset + (pg - m->start), off = page_off + (lo - pg);
	uint64_t size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : UINT64_MAX;
	if (page_off >= size) {
		close(fd);
		errno = EFAULT;
		return -1;
	}
	/* The last page of a file shows zeros past its end. */
	size_t have = off >= size ? 0 : size - off < len ? (size_t)(size - off) : len;
	ssize_t n = have ? pread(fd, dst, have, (off_t)off) : 0;
	close(fd);
	if (n != (ssize_t)have)
		return 1;
	memset(dst + have, 0, len - have);
	return 0;
}

/* The mapping that holds the page pg, from the maps of the stop; before
 * the stop (symbols are read then), from the maps as they are now. */
static const struct hs_map *map_of(struct hs_target *t, uint64_t pg, struct hs_maps *now, bool *have_now)
{
	const struct hs_map *m = hs_maps_find(&t->src.maps, pg);
	if (m || t->stopped)
		return m;
	if (!*have_now) {
		struct hs_err err = {0};
		if (hs_maps_read(t->pid, now, &err))
			return NULL;
		*have_now = true;
	}
	return hs_maps_find(now, pg);
}

static int live_read(struct hs_source *src, uint64_t addr, void *buf, size_t len)
{
	struct hs_target *t = (struct hs_target *)src;
	if (out_of_time(t)) {
		errno = ETIME;
		return -1;
	}
	if (!len)
		return 0;
	if (addr + len < addr || addr + len > UINT64_MAX - PAGE) {
		errno = EFAULT;
		return -1;
	}
	const uint64_t end = addr + len;
	unsigned char st[SLICE];
	struct iovec liov[NIOV], riov[NIOV];
	size_t niov = 0;
	const struct hs_map *m = NULL;
	struct hs_maps now = {0};
	bool have_now = false;
	int rc = 0;
	for (uint64_t pg = addr & ~(PAGE - 1); pg < end && !rc;) {
		size_t n = (size_t)((end - pg + PAGE - 1) / PAGE);
		n = n < SLICE ? n : SLICE;
		if (page_states(t, pg, n, st) < 0) {
			rc = read_failed(t);
			break;
		}
		for (size_t i = 0; i < n; i++, pg += PAGE) {
			uint64_t lo = pg > addr ? pg : addr, hi = pg + PAGE < end ? pg + PAGE : end;
			unsigned char *dst = (unsigned char *)buf + (lo - addr);
			if (st[i] == HS_PAGE_NONE) {
				if (!m || pg < m->start || pg >= m->end)
					m = map_of(t, pg, &now, &have_now);
				if (!m || !(m->prot & PROT_READ)) {
					errno = EFAULT;
					rc = -1;
					break;
				}
				if (zero_when_absent(m)) {
					memset(dst, 0, hi - lo);
					continue;
				}
				int r = read_file_page(t, m, pg, lo, dst, hi - lo);
				if (r == 0)
					continue;
				if (r < 0) {
					rc = -1;
					break;
				}
			}
			if (niov && (char *)riov[niov - 1].iov_base + riov[niov - 1].iov_len == (char *)(uintptr_t)lo) {
				riov[niov - 1].iov_len += hi - lo;
				liov[niov - 1].iov_len += hi - lo;
				continue;
			}
			if (niov == NIOV) {
				if ((rc = read_runs(t, liov, riov, niov)) < 0)
					break;
				niov = 0;
			}
			liov[niov] = (struct iovec){dst, hi - lo};
			riov[niov] = (struct iovec){(void *)(uintptr_t)lo, hi - lo};
			niov++;
		}
	}
	if (!rc && niov)
		rc = read_runs(t, liov, riov, niov);
	if (have_now)
		hs_maps_free(&now);
	return rc;
}

static int live_pages(struct hs_source *src, uint64_t addr, size_t npages, unsigned char *state)
{
	struct hs_target *t = (struct hs_target *)src;
	if (out_of_time(t)) {
		errno = ETIME;
		return -1;
	}
	if (hs_pagemap_read(&t->pagemap, addr, npages, state) < 0)
		return read_failed(t);
	if (t->stopped)
		remember(t, addr, npages, state);
	return 0;
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
/* The task's state letter (0: no such task) and its kernel flags. */
static char task_state(pid_t tgid, pid_t tid, unsigned *flags)
{
	char path[64], stat[1024];
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)tgid, (int)tid);
	*flags = 0;
	if (read_file(path, stat, sizeof stat) < 0)
		return 0;
	const char *rp = strrchr(stat, ')');
	if (!rp || rp[1] != ' ')
		return 0;
	/* state ppid pgrp session tty_nr tpgid flags */
	if (sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %u", flags) != 1)
		*flags = 0;
	return rp[2];
}

#define PF_EXITING 0x4 /* include/linux/sched.h: do_exit() has begun */

/* A task that has exited or is exiting: the kernel refuses to trace one
 * whose exit has begun (PTRACE_SEIZE fails with EPERM once exit_state is
 * set, ESRCH once it is reaped), and /proc then shows it as Z or X, or no
 * more. Before that, from the start of do_exit(), its flags carry
 * PF_EXITING: a killed process's memory goes (exit_mm) while it still
 * shows R or D, and reads of it fail with EIO or EFAULT then. Not a
 * permission problem, nor a corrupt heap: it is gone, and holds nothing
 * to read. */
static bool task_exiting(pid_t tgid, pid_t tid)
{
	unsigned flags;
	char st = task_state(tgid, tid, &flags);
	return st == 0 || st == 'Z' || st == 'X' || (flags & PF_EXITING);
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
	/* /proc/PID/mem only as a probe: the kernel checks here the access
	 * ptrace will need (memory is read with process_vm_readv). */
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", (int)t->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	close(fd);
	struct hs_pagemap pm;
	if (hs_pagemap_open(t->pid, &pm) < 0)
		return -1;
	hs_pagemap_close(&t->pagemap);
	t->pagemap = pm;
	pages_may_change(t);
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

/* The process's start time, where its code and stack start
 * (/proc/TGID/stat's starttime, startcode, startstack) and its
 * executable file (read through the task reads go through: a main thread
 * that has exited has none). Left 0 if unread. */
static void proc_id(const struct hs_target *t, struct hs_proc_id *id)
{
	char buf[1024], path[64];
	*id = (struct hs_proc_id){0};
	const char *rp;
	if (read_proc_file(t->tgid, "stat", buf, sizeof buf) >= 0 && (rp = strrchr(buf, ')')))
		sscanf(rp + 2,
		       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu %*u %*d %*u %llu %*u %llu",
		       &id->start, &id->code, &id->stack);
	snprintf(path, sizeof path, "/proc/%d/exe", (int)t->pid);
	struct stat st;
	if (stat(path, &st) == 0) {
		id->dev = st.st_dev;
		id->ino = st.st_ino;
	}
}

int hs_target_open(struct hs_target *t, pid_t pid, struct hs_err *err)
{
	memset(t, 0, sizeof *t);
	t->pid = t->tgid = pid;
	t->pagemap.fd = -1;
	pthread_mutex_init(&t->pmlock, NULL);
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
	proc_id(t, &t->id);

	if (open_mem(t) < 0)
		return why_no_ptrace(t, err, errno == EACCES ? EPERM : errno);
	t->src.pages = live_pages;
	return 0;
}

const char *hs_target_changed(const struct hs_proc_id *before, const struct hs_proc_id *now)
{
	if (before->start != now->start)
		return "another process";
	/* an exec of the same file moves the code and the stack (ASLR); one
	 * that moves neither leaves the symbols where they were */
	if (before->dev != now->dev || before->ino != now->ino || before->code != now->code ||
	    before->stack != now->stack)
		return "another program";
	return NULL;
}

bool hs_target_gone(pid_t pid)
{
	return live_thread(pid) == 0;
}

static struct hs_task *task_find(struct hs_target *t, pid_t tid)
{
	for (size_t i = 0; i < t->ntasks; i++)
		if (t->tasks[i].tid == tid)
			return &t->tasks[i];
	return NULL;
}

/* Whether tid was found exiting at an earlier round; remembers it. */
static bool skipped_before(struct hs_target *t, pid_t tid)
{
	for (size_t i = 0; i < t->nskipped; i++)
		if (t->skipped[i] == tid)
			return true;
	if (t->nskipped % 64 == 0)
		t->skipped = hs_xrealloc(t->skipped, t->nskipped + 64, sizeof *t->skipped);
	t->skipped[t->nskipped++] = tid;
	return false;
}

/* Seizes and interrupts every task not yet attached; *added: how many new
 * ones were found (seized, or found exiting for the first time). */
static int seize_new_tasks(struct hs_target *t, int *added, uint64_t until, bool *cut, struct hs_err *err)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)t->tgid);
	DIR *d = opendir(path);
	if (!d) {
		t->gone = true;
		return hs_fail(err, HS_EEXITED, "pid %d exited while being attached", (int)t->tgid);
	}
	*added = 0;
	*cut = false;
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid <= 0 || task_find(t, tid))
			continue;
		if (until && hs_mono_ns() >= until) {
			*cut = true; /* the threads' time to stop is over */
			break;
		}
		if (t->ntasks == t->cap) {
			/* (fences: the handler must not see the list moved
			 * before busy is set, nor busy cleared before it is
			 * in place) */
			stopping.busy = 1;
			atomic_signal_fence(memory_order_seq_cst);
			t->cap = t->cap ? t->cap * 2 : 16;
			t->tasks = hs_xrealloc(t->tasks, t->cap, sizeof *t->tasks);
			atomic_signal_fence(memory_order_seq_cst);
			stopping.busy = 0;
		}
		struct hs_task *k = &t->tasks[t->ntasks];
		memset(k, 0, sizeof *k);
		k->tid = tid;
		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
			int e = errno;
			/* A thread that exited or is exiting, the main thread
			 * included (if none is left, the stop finds the process
			 * gone): skipped, listed again next round if still there. */
			if ((e == ESRCH || e == EPERM) && task_exiting(t->tgid, tid)) {
				/* New all the same: it may have created a thread
				 * since this listing began. */
				if (!skipped_before(t, tid))
					(*added)++;
				continue;
			}
			closedir(d);
			if (e == ESRCH) {
				t->gone = true;
				return hs_fail(err, HS_EEXITED, "pid %d exited while being attached",
					       (int)t->tgid);
			}
			return why_no_ptrace(t, err, e);
		}
		k->attached = true;
		t->ntasks++;
		(*added)++;
		if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0 && errno != ESRCH) {
			closedir(d);
			return hs_fail(err, HS_EATTACH, "cannot interrupt thread %d: %s", (int)tid,
				       strerror(errno));
		}
	}
	closedir(d);
	return 0;
}

/* How a wait for a thread's stop ended. */
enum wait_end { W_STOPPED, W_GONE, W_LATE, W_RUNNING };

/* What a wait status st says of seized task k: gone, stopped (a signal
 * on its way to it is kept, to be delivered when it is let go), or still
 * running (W_RUNNING: a status that is no stop). */
static enum wait_end take_stop(struct hs_task *k, int st)
{
	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		k->attached = k->stopped = false;
		return W_GONE;
	}
	if (!WIFSTOPPED(st))
		return W_RUNNING;
	int sig = WSTOPSIG(st);
	k->stopped = true;
	if ((st >> 16) == PTRACE_EVENT_STOP) {
		/* The interrupt, or a job-control stop that was under way. */
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			k->group_stopped = true;
		return W_STOPPED;
	}
	if ((st >> 16) == 0) {
		/* A signal on its way to the thread: it is stopped now; deliver
		 * the signal when we let go. */
		k->pending_sig = sig;
		return W_STOPPED;
	}
	return W_STOPPED; /* another ptrace event stop: stopped all the same */
}

/* Waits until a seized task reports its stop, until `until` at the latest
 * (CLOCK_MONOTONIC ns; 0: no bound). waitpid has no timeout: it is
 * polled (WNOHANG), with naps of 20 us doubling up to 1 ms, so a stop
 * that has come costs no nap and one that does not come costs at most
 * 1 ms past the bound. A thread in uninterruptible sleep (state D: a
 * vfork parent, a read of a hung NFS or FUSE file, a frozen cgroup) does
 * not stop until its sleep ends: it is left late (k->stopped false) and
 * the stop goes on without it; it cannot run its own code meanwhile (the
 * interrupt stops it on its way back to user space). */
static enum wait_end wait_stopped(struct hs_task *k, uint64_t until)
{
	unsigned nap_us = 0;
	for (;;) {
		int st;
		pid_t r = waitpid(k->tid, &st, __WALL | WNOHANG);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			k->attached = k->stopped = false; /* ECHILD: gone */
			return W_GONE;
		}
		if (r == 0) {
			if (until && hs_mono_ns() >= until)
				return W_LATE;
			nap_us = nap_us ? (nap_us < 500 ? nap_us * 2 : 1000) : 20;
			usleep(nap_us);
			continue;
		}
		enum wait_end w = take_stop(k, st);
		if (w != W_RUNNING)
			return w;
	}
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* Rounds of listing and seizing threads before the stop gives up on a
 * process whose threads create threads as fast as they are seized: a
 * process that does not fight needs 1 to 3 (a round finds the threads
 * created by those not yet stopped at the round before). */
#define STOP_ROUNDS 64

pid_t hs_target_tracer(const struct hs_target *t)
{
	char status[4096];
	if (read_proc_file(t->pid, "status", status, sizeof status) < 0)
		return 0;
	long tracer = status_field(status, "TracerPid:");
	return tracer > 0 && tracer != getpid() ? (pid_t)tracer : 0;
}

/* Whether thread tid is in a ptrace stop of tracer ('t', TracerPid). */
static bool held_task(const struct hs_target *t, pid_t tid, pid_t tracer)
{
	char path[64], status[4096];
	unsigned flags;
	if (task_state(t->tgid, tid, &flags) != 't')
		return false;
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)t->tgid, (int)tid);
	return read_file(path, status, sizeof status) == 0 && status_field(status, "TracerPid:") == tracer;
}

/* The threads of the process, listed once (none can appear: every one is
 * held), as tasks held by tracer: stopped, never resumed. */
static int held_list(struct hs_target *t, pid_t tracer, struct hs_err *err)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)t->tgid);
	DIR *d = opendir(path);
	if (!d)
		return hs_fail(err, HS_EEXITED, "pid %d exited while being attached", (int)t->tgid);
	struct dirent *de;
	pid_t running = 0;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid <= 0)
			continue;
		if (!held_task(t, tid, tracer)) {
			running = running ? running : tid;
			continue;
		}
		if (t->ntasks == t->cap)
			t->tasks = hs_xrealloc(t->tasks, t->cap = t->cap ? 2 * t->cap : 16, sizeof *t->tasks);
		struct hs_task *k = &t->tasks[t->ntasks++];
		memset(k, 0, sizeof *k);
		k->tid = tid;
		k->attached = k->stopped = k->group_stopped = true;
		char line[512];
		snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)t->tgid, (int)tid);
		if (read_file(path, line, sizeof line) < 0 || !hs_held_pc_sp(line, &k->regs))
			running = running ? running : tid;
	}
	closedir(d);
	if (running)
		return hs_fail(err, HS_EATTACH,
			       "cannot attach to pid %d: already traced by pid %d (%s), and its thread %d runs: a process another tracer holds is read only while that tracer holds every thread stopped (as gdb does): nothing was stopped",
			       (int)t->tgid, (int)tracer, t->held_comm, (int)running);
	if (!t->ntasks)
		return hs_fail(err, HS_EEXITED, "pid %d exited while being attached", (int)t->tgid);
	return 0;
}

/* hs_target_stop for a process another tracer holds: nothing stopped. */
static int held_stop(struct hs_target *t, pid_t tracer, struct hs_err *err)
{
	t->held_by = tracer;
	char path[64], comm[64] = "";
	snprintf(path, sizeof path, "/proc/%d/comm", (int)tracer);
	if (read_file(path, comm, sizeof comm) == 0)
		comm[strcspn(comm, "\n")] = 0;
	snprintf(t->held_comm, sizeof t->held_comm, "%s", comm[0] ? comm : "?");
	if (held_list(t, tracer, err))
		return err->code;
	t->stopped = true;
	pages_may_change(t);
	clock_gettime(CLOCK_MONOTONIC, &t->t_stop);
	t->deadline_ns = 0; /* heapscope holds nothing: no budget to keep */
	hs_maps_free(&t->src.maps);
	if (hs_maps_read(t->pid, &t->src.maps, err))
		return err->code;
	pid_t *tids = hs_xcalloc(t->ntasks, sizeof *tids);
	uint64_t *sps = hs_xcalloc(t->ntasks, sizeof *sps), *tps = hs_xcalloc(t->ntasks, sizeof *tps);
	for (size_t i = 0; i < t->ntasks; i++) {
		tids[i] = t->tasks[i].tid;
		sps[i] = t->tasks[i].regs.sp;
	}
	t->held_no_tp = t->ntasks - hs_held_thread_pointers(&t->src, &t->src.maps, tids, sps, t->ntasks, tps);
	for (size_t i = 0; i < t->ntasks; i++)
		t->tasks[i].regs.tp = tps[i];
	free(tids);
	free(sps);
	free(tps);
	return 0;
}

/* hs_target_resume for a held process: nothing to let go; whether the
 * tracer let a thread run meanwhile. */
static void held_resume(struct hs_target *t)
{
	for (size_t i = 0; i < t->ntasks; i++) {
		struct hs_task *k = &t->tasks[i];
		if (k->attached && !held_task(t, k->tid, t->held_by))
			t->held_moved = true;
		k->attached = k->stopped = false;
	}
	clock_gettime(CLOCK_MONOTONIC, &t->t_resume);
	t->stopped = false;
	pages_may_change(t);
}

static int stop(struct hs_target *t, struct hs_err *err)
{
	const pid_t tracer = hs_target_tracer(t);
	if (tracer)
		return held_stop(t, tracer, err);

	/* SIGINT, SIGTERM and SIGHUP are not held back: heapscope lets go
	 * and dies of them at once (let_go_and_die); a thread it could not
	 * detach (not stopped), the kernel lets go as its tracer exits, as
	 * PTRACE_DETACH does (it runs on, a signal it was stopped with is
	 * delivered, an interrupt not yet taken is dropped, a job-control
	 * stop stays). */
	on_end_signals(t);
	t->stopped = true;
	t->cut_short = false;
	pages_may_change(t);
	clock_gettime(CLOCK_MONOTONIC, &t->t_stop);
	const uint64_t t0 = ts_ns(&t->t_stop);
	t->deadline_ns = t->max_stop_ns ? t0 + t->max_stop_ns : 0;
	const uint64_t until = t->wait_ns ? t0 + t->wait_ns : 0;

	/* Threads can be created by threads not yet stopped: list again until
	 * a listing finds nobody new (then nobody is left to create one), for
	 * STOP_ROUNDS rounds or until the threads' time to stop is over. */
	for (t->rounds = 1;; t->rounds++) {
		const size_t from = t->ntasks;
		int added = 0;
		bool cut;
		if (seize_new_tasks(t, &added, until, &cut, err))
			return err->code;
		if (added == 0 && !cut)
			break;
		if (cut && t->rounds == 1)
			return hs_fail(err, HS_EATTACH,
				       "pid %d: threads appear faster than they can be stopped, or are more than can be in %.0f ms (a quarter of --max-stop; %zu seized)",
				       (int)t->tgid, (double)t->wait_ns / 1e6, t->ntasks);
		if (t->rounds >= STOP_ROUNDS || (t->rounds > 1 && until && hs_mono_ns() >= until) || cut)
			return hs_fail(err, HS_EATTACH,
				       "pid %d: threads appear faster than they can be stopped (new ones at each of %d listings in %.0f ms, %zu seized)",
				       (int)t->tgid, t->rounds, (double)(hs_mono_ns() - t0) / 1e6, t->ntasks);
		/* The new ones stop before the next listing: then a listing
		 * that finds no new thread proves that none is left to create
		 * one (a late thread runs none of its code either). */
		for (size_t i = from; i < t->ntasks; i++)
			if (t->tasks[i].attached)
				wait_stopped(&t->tasks[i], until);
	}
	size_t alive = 0;
	for (size_t i = 0; i < t->ntasks; i++) {
		struct hs_task *k = &t->tasks[i];
		if (!k->attached)
			continue;
		enum wait_end w = k->stopped ? W_STOPPED : wait_stopped(k, until);
		if (w == W_LATE)
			alive++; /* seized, not stopped in time: the caller says so */
		else if (w == W_STOPPED && hs_arch_getregs(k->tid, &k->regs) == 0)
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

	/* An exec between the opening and the stop: the memory is another
	 * program's, which the symbols loaded at the opening do not describe. */
	struct hs_proc_id now;
	proc_id(t, &now);
	if ((t->changed = hs_target_changed(&t->id, &now)))
		return hs_fail(err, HS_EEXITED, "pid %d ran another program (exec) while being attached", (int)t->tgid);

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

int hs_target_stop(struct hs_target *t, struct hs_err *err)
{
	int rc = stop(t, err);
	if (!rc)
		return 0;
	size_t seized = 0;
	for (size_t i = 0; i < t->ntasks; i++)
		seized += t->tasks[i].attached;
	hs_target_resume(t);
	/* Said when seizing failed: whether every thread it had seized was
	 * let go. */
	if (rc == HS_EATTACH && t->rounds) {
		size_t n = strlen(err->msg);
		if (!seized)
			snprintf(err->msg + n, sizeof err->msg - n, ": nothing was stopped");
		else if (t->undetached)
			snprintf(err->msg + n, sizeof err->msg - n,
				 ": %zu threads let go, %zu not stopped yet (let go as the stop ends)",
				 seized - t->undetached, t->undetached);
		else
			snprintf(err->msg + n, sizeof err->msg - n, ": every thread let go");
	}
	return rc;
}

size_t hs_target_nudge(struct hs_target *t, bool *run)
{
	size_t ran = 0;
	for (size_t i = 0; i < t->ntasks; i++) {
		struct hs_task *k = &t->tasks[i];
		if (!run[i])
			continue;
		if (!k->attached || k->group_stopped || !k->stopped) {
			run[i] = false;
			continue;
		}
		/* pending_sig cleared once delivered: the SIGINT handler may run
		 * in between and lets go with it */
		if (ptrace(PTRACE_CONT, k->tid, NULL, (void *)(long)k->pending_sig) < 0) {
			k->attached = k->stopped = run[i] = false; /* gone */
			continue;
		}
		k->pending_sig = 0;
		k->stopped = false;
		ran++;
	}
	if (!ran)
		return 0;
	/* Long enough to be scheduled and move on; short against a request. */
	usleep(NUDGE_US);
	pages_may_change(t);
	for (size_t i = 0; i < t->ntasks; i++)
		if (run[i] && ptrace(PTRACE_INTERRUPT, t->tasks[i].tid, NULL, NULL) < 0)
			t->tasks[i].attached = run[i] = false;
	/* As long as a thread may take to stop; one that does not (it went
	 * into uninterruptible sleep) is late, as at the stop. */
	const uint64_t until = t->wait_ns ? hs_mono_ns() + t->wait_ns : 0;
	for (size_t i = 0; i < t->ntasks; i++) {
		struct hs_task *k = &t->tasks[i];
		if (!run[i])
			continue;
		enum wait_end w = wait_stopped(k, until);
		if (w == W_GONE || (w == W_STOPPED && hs_arch_getregs(k->tid, &k->regs) < 0))
			k->attached = k->stopped = run[i] = false;
	}
	return ran;
}

/* How long, in all, letting go waits for threads seized but not yet seen
 * stopped (they stop at once unless in uninterruptible sleep): ptrace
 * detaches only a stopped thread. */
#define RESUME_WAIT_NS 20000000u

/* Detaches every stopped thread; waits up to until for the ones not yet
 * seen stopped. One still not stopped stays traced, with its interrupt
 * pending, until it stops (then a later call detaches it) or heapscope
 * exits (the kernel then detaches it and drops the interrupt). */
static void detach_all(struct hs_target *t, uint64_t until)
{
	t->undetached = 0;
	for (size_t i = 0; i < t->ntasks; i++) {
		struct hs_task *k = &t->tasks[i];
		if (!k->attached)
			continue;
		if (!k->stopped && wait_stopped(k, until) != W_STOPPED) {
			t->undetached += k->attached;
			continue;
		}
		ptrace(PTRACE_DETACH, k->tid, NULL, (void *)(long)k->pending_sig);
		k->attached = k->stopped = false;
	}
}

void hs_target_resume(struct hs_target *t)
{
	if (!t->stopped)
		return;
	if (t->held_by) {
		held_resume(t);
		return;
	}
	detach_all(t, hs_mono_ns() + RESUME_WAIT_NS);
	clock_gettime(CLOCK_MONOTONIC, &t->t_resume);
	t->stopped = false;
	on_end_signals(NULL);
	pages_may_change(t);
}

char hs_target_task_state(const struct hs_target *t, pid_t tid)
{
	unsigned flags;
	char st = task_state(t->tgid, tid, &flags);
	return st ? st : '?';
}

double hs_target_stopped_ms(const struct hs_target *t)
{
	return (double)(t->t_resume.tv_sec - t->t_stop.tv_sec) * 1e3 +
	       (double)(t->t_resume.tv_nsec - t->t_stop.tv_nsec) / 1e6;
}

void hs_target_close(struct hs_target *t)
{
	hs_target_resume(t);
	/* A late thread that has stopped since: let it go now. */
	detach_all(t, 1); /* one look, no wait */
	pages_may_change(t); /* frees what it remembered */
	hs_pagemap_close(&t->pagemap);
	pthread_mutex_destroy(&t->pmlock);
	free(t->tasks);
	t->tasks = NULL;
	free(t->skipped);
	t->skipped = NULL;
	t->nskipped = 0;
	hs_maps_free(&t->src.maps);
}
