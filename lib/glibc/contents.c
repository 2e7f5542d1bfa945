/* contents.c - copy the heaps, mmapped chunks and roots while stopped. */
#include "glibc/contents.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch.h"
#include "base/fmt.h"

#define PAGE HS_PAGE_SIZE
#define BATCH 4096 /* page states asked at a time */

struct copier {
	struct hs_source *src;
	struct hs_contents *c;
	struct hs_warnings *w;
	struct hs_err *err;
};

/* A value from a "Key:   123 kB" line of a /proc file, in bytes; 0 if absent. */
static uint64_t proc_kb(const char *path, const char *key)
{
	char buf[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	size_t kl = strlen(key);
	for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, kl) == 0 && p[kl] == ':')
			return strtoull(p + kl + 1, NULL, 10) * 1024;
	return 0;
}

/* Pool slack over RssAnon + VmSwap: the roots' file-backed pages and
 * what the target allocates between the estimate and the stop. */
#define POOL_SLACK (16ull << 20)

int hs_contents_prepare(pid_t pid, struct hs_contents *c, struct hs_err *err)
{
	memset(c, 0, sizeof *c);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	uint64_t need = proc_kb(path, "RssAnon") + proc_kb(path, "VmSwap");
	uint64_t avail = proc_kb("/proc/meminfo", "MemAvailable");
	if (avail && need > avail / 2) {
		char a[HS_SIZE_BUF], b[HS_SIZE_BUF];
		return hs_fail(err, HS_EUNSUPPORTED,
			       "--leaks would copy up to %s of pid %d, more than half of the %s available; run without --leaks",
			       hs_fmt_size(a, need), (int)pid, hs_fmt_size(b, avail));
	}
	size_t len = (size_t)((need + POOL_SLACK + PAGE - 1) & ~(PAGE - 1));
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return 0; /* the copies will map their own memory */
	madvise(p, len, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
	if (madvise(p, len, MADV_POPULATE_WRITE) != 0)
#endif
		for (size_t i = 0; i < len; i += PAGE)
			((volatile unsigned char *)p)[i] = 0;
	c->pool = p;
	c->poollen = len;
	return 0;
}

/* Reads one run of pages that hold data. A part the kernel will not give
 * (an I/O mapping) stays zero; a target gone or a signal is fatal. */
static int read_run(struct copier *k, struct hs_copy *cp, uint64_t a, uint64_t b)
{
	if (a < cp->start)
		a = cp->start;
	if (b > cp->end)
		b = cp->end;
	if (a >= b)
		return 0;
	if (hs_read(k->src, a, cp->data + (a - cp->start), b - a) == 0) {
		k->c->copied_bytes += b - a;
		return 0;
	}
	if (errno == ESRCH)
		return hs_fail(k->err, HS_EEXITED, "pid %d exited while being read", (int)k->src->pid);
	if (errno == EINTR)
		return hs_fail(k->err, HS_EINTERNAL, "interrupted while copying the heap");
	/* Unreadable (a page the target made PROT_NONE, say): no pointer can
	 * be found there, so the mark may call what it alone keeps leaked. */
	hs_warn(k->w, "--leaks: 0x%llx-0x%llx cannot be read (%s): pointers there are not seen",
		(unsigned long long)a, (unsigned long long)b, strerror(errno));
	memset(cp->data + (a - cp->start), 0, b - a);
	return 0;
}


/* The runs of pages of [start, end) that hold data (clipped to it): the
 * source's page states (the target's pagemap). Returns how many (*out
 * malloc'd), or -1 (then err is set): without the page states nothing is
 * copied, since copying every page would give the target the pages it
 * does not have. */
static ssize_t data_runs(struct copier *k, uint64_t start, uint64_t end, struct hs_run **out)
{
	size_t n = 0, cap = 4;
	struct hs_run *v = hs_xcalloc(cap, sizeof *v);
	uint64_t base = start & ~(PAGE - 1), top = (end + PAGE - 1) & ~(PAGE - 1);
	unsigned char st[BATCH];
	uint64_t run = UINT64_MAX, pg = base;
	while (pg < top) {
		size_t want = (size_t)((top - pg) / PAGE < BATCH ? (top - pg) / PAGE : BATCH);
		if (hs_pages(k->src, pg, want, st) < 0) {
			int e = errno;
			free(v);
			if (e == ESRCH)
				hs_fail(k->err, HS_EEXITED, "pid %d exited while being read", (int)k->src->pid);
			else
				hs_fail(k->err, HS_EATTACH,
					"cannot tell which pages of pid %d hold data (/proc/%d/pagemap at 0x%llx: %s); --leaks copies nothing without it",
					(int)k->src->pid, (int)k->src->pid, (unsigned long long)pg, strerror(e));
			return -1;
		}
		for (size_t i = 0; i < want; i++, pg += PAGE) {
			bool data = st[i] != HS_PAGE_NONE;
			if (data && run == UINT64_MAX) {
				run = pg;
			} else if (!data && run != UINT64_MAX) {
				if (n == cap)
					v = hs_xrealloc(v, cap *= 2, sizeof *v);
				v[n++] = (struct hs_run){run, pg};
				run = UINT64_MAX;
			}
		}
	}
	if (run != UINT64_MAX) {
		if (n == cap)
			v = hs_xrealloc(v, cap *= 2, sizeof *v);
		v[n++] = (struct hs_run){run, pg};
	}
	for (size_t i = 0; i < n; i++) {
		v[i].start = v[i].start < start ? start : v[i].start;
		v[i].end = v[i].end > end ? end : v[i].end;
	}
	*out = v;
	return (ssize_t)n;
}

/* Room for a copy of [start, end): from the pool while it lasts (already
 * faulted in), else reserved address space. */
static int alloc_copy(struct copier *k, struct hs_copy *cp, uint64_t start, uint64_t end)
{
	memset(cp, 0, sizeof *cp);
	cp->start = start;
	cp->end = end > start ? end : start;
	uint64_t base = start & ~(PAGE - 1), top = (cp->end + PAGE - 1) & ~(PAGE - 1);
	size_t len = top > base ? top - base : PAGE;
	if (k->c->poollen - k->c->poolused >= len) {
		cp->data = k->c->pool + k->c->poolused + (start - base);
		k->c->poolused += len;
		return 0;
	}
	cp->maplen = len;
	cp->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (cp->map == MAP_FAILED) {
		cp->map = NULL;
		return hs_fail(k->err, HS_EINTERNAL, "out of memory copying 0x%llx bytes for --leaks",
			       (unsigned long long)len);
	}
	cp->data = (unsigned char *)cp->map + (start - base);
	return 0;
}

/* A copy mostly filled while the target is stopped: 2 MiB pages fault 512
 * times less often than 4 KiB ones. Not a sparse one: a huge page per
 * header of a heap of big blocks never written would zero GiBs. */
static void dense_pages(struct hs_copy *cp, const struct hs_run *runs, ssize_t n)
{
	uint64_t data = 0;
	for (ssize_t i = 0; i < n; i++)
		data += runs[i].end - runs[i].start;
	if (cp->map && cp->maplen >= (2u << 20) && data >= cp->maplen / 2)
		madvise(cp->map, cp->maplen, MADV_HUGEPAGE);
}

uint64_t hs_copy_next_run(const struct hs_copy *cp, uint64_t *a, uint64_t end)
{
	if (*a >= end)
		return 0;
	if (!cp->runs)
		return end;
	size_t lo = 0, hi = cp->nruns; /* the first run that ends after *a */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cp->runs[mid].end <= *a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == cp->nruns || cp->runs[lo].start >= end)
		return 0;
	if (cp->runs[lo].start > *a)
		*a = cp->runs[lo].start;
	return cp->runs[lo].end < end ? cp->runs[lo].end : end;
}

/* A dense copy of [start, end): pages without data stay zero. */
static int copy_range(struct copier *k, struct hs_copy *cp, uint64_t start, uint64_t end)
{
	if (alloc_copy(k, cp, start, end))
		return k->err->code;
	struct hs_run *runs;
	ssize_t n = data_runs(k, cp->start, cp->end, &runs);
	if (n < 0)
		return k->err->code;
	dense_pages(cp, runs, n);
	int rc = 0;
	uint64_t at = cp->start;
	for (ssize_t i = 0; i < n && !rc; i++) {
		rc = read_run(k, cp, runs[i].start, runs[i].end);
		hs_progress_advance(k->c->progress, runs[i].end - at);
		at = runs[i].end;
	}
	hs_progress_advance(k->c->progress, cp->end > at ? cp->end - at : 0);
	cp->runs = runs;
	cp->nruns = (size_t)n;
	return rc;
}

static void copy_free(struct hs_copy *cp)
{
	if (cp->map)
		munmap(cp->map, cp->maplen);
	free(cp->runs);
	memset(cp, 0, sizeof *cp);
}

static struct hs_copy *new_root(struct hs_contents *c, const char *what)
{
	if (c->nroots == c->caproots) {
		c->caproots = c->caproots ? 2 * c->caproots : 64;
		c->roots = hs_xrealloc(c->roots, c->caproots, sizeof *c->roots);
	}
	struct hs_copy *r = &c->roots[c->nroots++];
	memset(r, 0, sizeof *r);
	r->what = what;
	return r;
}

static int cmp_range(const void *x, const void *y)
{
	const struct hs_run *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* Copies the pages of [start, end) that hold data as roots, one copy per
 * run (a sparse mapping costs only its pagemap). */
static int copy_sparse(struct copier *k, uint64_t start, uint64_t end, const char *what)
{
	struct hs_run *runs;
	ssize_t n = data_runs(k, start, end, &runs);
	if (n < 0)
		return k->err->code;
	int rc = 0;
	for (ssize_t i = 0; i < n && !rc; i++) {
		struct hs_copy *r = new_root(k->c, what);
		rc = alloc_copy(k, r, runs[i].start, runs[i].end);
		if (!rc)
			rc = read_run(k, r, runs[i].start, runs[i].end);
		r->what = what;
		k->c->root_bytes += r->end - r->start;
	}
	free(runs);
	return rc;
}

/* Copies [start, end) less the excluded ranges (sorted) as roots. */
static int copy_root(struct copier *k, uint64_t start, uint64_t end, const struct hs_run *ex, size_t nex,
		     const char *what)
{
	uint64_t a = start;
	for (size_t i = 0; i < nex && a < end; i++) {
		if (ex[i].end <= a || ex[i].start >= end)
			continue;
		if (ex[i].start > a && copy_sparse(k, a, ex[i].start, what))
			return k->err->code;
		if (ex[i].end > a)
			a = ex[i].end;
	}
	if (a < end && copy_sparse(k, a, end, what))
		return k->err->code;
	return 0;
}

/* A module's file: one of its mappings is executable. */
static bool is_module(const struct hs_maps *maps, const char *path)
{
	for (size_t i = 0; i < maps->n; i++)
		if ((maps->v[i].prot & PROT_EXEC) && strcmp(maps->v[i].path, path) == 0)
			return true;
	return false;
}

/* Private writable mappings, and the read-only data of loaded modules:
 * RELRO (.data.rel.ro, .got) is made read-only after relocation, and
 * glibc keeps pointers to malloc'd memory there (the library search
 * path, _dl_find_object's tables in a static executable). Code, shared
 * mappings, and read-only files that are not modules (locale-archive, a
 * program's mapped data files) are not roots. */
static bool is_root(const struct hs_maps *maps, const struct hs_map *m)
{
	if (!(m->prot & PROT_READ) || m->shared || strncmp(m->path, "[v", 2) == 0) /* [vvar], [vdso], ... */
		return false;
	if (m->prot & PROT_WRITE) /* rwx too: a JIT's data */
		return true;
	return !(m->prot & PROT_EXEC) && m->path[0] == '/' && is_module(maps, m->path);
}

static int cmp_heapseg(const void *x, const void *y)
{
	const struct hs_heapseg *a = *(const struct hs_heapseg *const *)x, *b = *(const struct hs_heapseg *const *)y;
	return a->start < b->start ? -1 : a->start > b->start;
}

int hs_contents_copy(struct hs_source *src, const struct hs_heap *h, const pid_t *tids, size_t ntids,
		     struct hs_contents *c, struct hs_warnings *w, struct hs_err *err)
{
	struct hs_thread_regs *th = hs_xcalloc(ntids + 1, sizeof *th);
	uint64_t(*words)[HS_MAX_REG_WORDS] = hs_xcalloc(ntids + 1, sizeof *words);
	for (size_t i = 0; i < ntids; i++) {
		th[i].tid = tids[i];
		th[i].words = words[i];
		th[i].nwords = hs_arch_getregs_all(tids[i], words[i], HS_MAX_REG_WORDS);
		struct hs_regs rg;
		if (th[i].nwords > 0 && hs_arch_getregs(tids[i], &rg) == 0)
			th[i].sp = rg.sp;
	}
	int rc = hs_contents_copy_regs(src, h, th, ntids, c, w, err);
	free(words);
	free(th);
	return rc;
}

int hs_contents_copy_regs(struct hs_source *src, const struct hs_heap *h, const struct hs_thread_regs *th,
			  size_t ntids, struct hs_contents *c, struct hs_warnings *w, struct hs_err *err)
{
	struct copier k = {.src = src, .c = c, .w = w, .err = err};
	const unsigned sz = h->layout->size_sz;
	int rc = 0;

	/* The heaps' chunk areas, up to the top chunk's header, in address
	 * order (the order of the walk's segments). */
	size_t nseg = 0;
	for (size_t a = 0; a < h->narenas; a++)
		nseg += h->arenas[a].nheaps;
	const struct hs_heapseg **seg = hs_xcalloc(nseg + 1, sizeof *seg);
	nseg = 0;
	for (size_t a = 0; a < h->narenas; a++)
		for (size_t i = 0; i < h->arenas[a].nheaps; i++)
			seg[nseg++] = &h->arenas[a].heaps[i];
	qsort(seg, nseg, sizeof *seg, cmp_heapseg);
	c->heaps = hs_xcalloc(nseg + 1, sizeof *c->heaps);
	uint64_t *ends = hs_xcalloc(nseg + 1, sizeof *ends), total = 0;
	for (size_t i = 0; i < nseg; i++) {
		ends[i] = seg[i]->end;
		for (size_t a = 0; a < h->narenas; a++)
			if (h->arenas[a].top >= seg[i]->start && h->arenas[a].top < seg[i]->end)
				ends[i] = h->arenas[a].top + 2 * sz;
		total += ends[i] - seg[i]->start;
	}
	for (size_t i = 0; i < h->nmmapped; i++)
		total += h->mmapped[i].size;
	hs_progress_start(c->progress, "copying the heaps for --leaks", total);
	for (size_t i = 0; i < nseg && !rc; i++, c->nheaps++)
		rc = copy_range(&k, &c->heaps[i], seg[i]->start, ends[i]);
	free(ends);
	c->mmapped = hs_xcalloc(h->nmmapped + 1, sizeof *c->mmapped);
	for (size_t i = 0; i < h->nmmapped && !rc; i++, c->nmmapped++)
		rc = copy_range(&k, &c->mmapped[i], h->mmapped[i].addr, h->mmapped[i].addr + h->mmapped[i].size);
	hs_progress_end(c->progress);

	/* Registers of every thread. */
	uint64_t *sps = hs_xcalloc(ntids + 1, sizeof *sps);
	for (size_t i = 0; i < ntids && !rc; i++) {
		const uint64_t *words = th[i].words;
		int n = th[i].nwords;
		if (n <= 0) {
			hs_warn(w, "thread %d: cannot read its registers for --leaks", (int)th[i].tid);
			continue;
		}
		struct hs_copy *r = new_root(c, "registers");
		r->maplen = (size_t)n * sizeof *words;
		r->map = mmap(NULL, r->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r->map == MAP_FAILED) {
			r->map = NULL;
			rc = hs_fail(err, HS_EINTERNAL, "out of memory");
			break;
		}
		r->data = r->map;
		memcpy(r->data, words, r->maplen);
		r->start = 0;
		r->end = r->maplen;
		c->root_bytes += r->maplen;
		sps[i] = th[i].sp;
	}

	/* What is not a root: the chunk areas and mmapped chunks (reached by
	 * the mark), and each stack below its thread's stack pointer (dead
	 * frames would hide leaks). */
	size_t nex = 0;
	struct hs_run *ex = hs_xcalloc(nseg + h->nmmapped + ntids + 1, sizeof *ex);
	for (size_t i = 0; i < nseg; i++)
		ex[nex++] = (struct hs_run){seg[i]->start, seg[i]->end};
	for (size_t i = 0; i < h->nmmapped; i++)
		ex[nex++] = (struct hs_run){h->mmapped[i].map_start, h->mmapped[i].map_start + h->mmapped[i].map_len};
	for (size_t i = 0; i < ntids; i++) {
		const struct hs_map *m = sps[i] ? hs_maps_find(&src->maps, sps[i]) : NULL;
		if (!m)
			continue;
		uint64_t low = sps[i] > m->start + HS_STACK_REDZONE ? sps[i] - HS_STACK_REDZONE : m->start;
		ex[nex++] = (struct hs_run){m->start, low};
	}
	qsort(ex, nex, sizeof *ex, cmp_range);
	for (size_t i = 0; i < src->maps.n && !rc; i++) {
		const struct hs_map *m = &src->maps.v[i];
		if (!is_root(&src->maps, m))
			continue;
		bool stack = false;
		for (size_t t = 0; t < ntids; t++)
			stack |= sps[t] >= m->start && sps[t] < m->end;
		rc = copy_root(&k, m->start, m->end, ex, nex, stack ? "stack" : "mapping");
	}
	free(ex);
	free(sps);
	free(seg);
	return rc;
}

/* Reads from the heap copies where they hold the whole range, from the
 * target otherwise: with --leaks the walk reads the heaps from the copy,
 * so they are read from the target once. */
static int contents_read(struct hs_source *src, uint64_t addr, void *buf, size_t len)
{
	struct hs_contents_source *cs = (struct hs_contents_source *)src;
	const struct hs_contents *c = cs->c;
	unsigned char *out = buf;
	for (size_t i = 0; i < c->nheaps && len; i++) {
		const struct hs_copy *cp = &c->heaps[i];
		if (!cp->data || addr < cp->start || addr >= cp->end)
			continue;
		size_t n = cp->end - addr < len ? (size_t)(cp->end - addr) : len;
		memcpy(out, cp->data + (addr - cp->start), n);
		out += n;
		addr += n;
		len -= n;
	}
	return len ? hs_read(cs->under, addr, out, len) : 0;
}

/* Page states are the target's: the copies hold what its present and
 * swapped pages held. */
static int contents_pages(struct hs_source *src, uint64_t addr, size_t npages, unsigned char *state)
{
	struct hs_contents_source *cs = (struct hs_contents_source *)src;
	return hs_pages(cs->under, addr, npages, state);
}

void hs_contents_source(const struct hs_contents *c, struct hs_source *under, struct hs_contents_source *cs)
{
	cs->src = *under;
	cs->src.read = contents_read;
	cs->src.pages = contents_pages;
	cs->under = under;
	cs->c = c;
}

void hs_contents_free(struct hs_contents *c)
{
	for (size_t i = 0; i < c->nheaps; i++)
		copy_free(&c->heaps[i]);
	for (size_t i = 0; i < c->nmmapped; i++)
		copy_free(&c->mmapped[i]);
	for (size_t i = 0; i < c->nroots; i++)
		copy_free(&c->roots[i]);
	free(c->heaps);
	free(c->mmapped);
	free(c->roots);
	if (c->pool)
		munmap(c->pool, c->poollen);
	memset(c, 0, sizeof *c);
}
