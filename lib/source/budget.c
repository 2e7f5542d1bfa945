/* budget.c - the stop predicted from the heaps' resident bytes and a
 * read rate measured on the target. */
#include "source/budget.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define SAMPLE_MAX (8u << 20)
#define SAMPLE_BUF (1u << 20)
#define SAMPLE_PASSES 4
/* Unwinding a stopped thread's stack (libunwind-ptrace, a word at a
 * time through PTRACE_PEEKDATA): 1 to 5 ms measured; the lower end, as
 * the read rate is the best case too. */
#define MS_PER_THREAD 1.0
/* The slowest read rate a prediction assumes. process_vm_readv copies
 * present pages at GiB/s on any machine; a sample slower than this says
 * the sampling was disturbed (a heap mostly of absent pages, a busy
 * target, heapscope descheduled), not that the stop will be: measured in
 * CI, a 12 MiB heap sampled at 3 MiB/s was refused while its stops took
 * under a second. The stop is still cut at the budget if it runs long. */
#define MIN_RATE_MIB_S 256.0

static bool is_heap(const struct hs_smap *m, uint64_t heap_max)
{
	if (strcmp(m->path, "[heap]") == 0)
		return true;
	if (m->shared || m->inode || !(m->prot & PROT_WRITE) || !heap_max || m->start % heap_max)
		return false;
	return !m->path[0] || strstr(m->path, "malloc arena") != NULL;
}

/* Reads the present pages of m from *p on, up to `want` bytes, into buf
 * (SAMPLE_BUF bytes); returns the bytes read, and moves *p on. */
static uint64_t read_present(struct hs_source *src, const struct hs_smap *m, uint64_t *p, uint64_t want,
			     unsigned char *buf)
{
	enum { SLICE = 256 };
	unsigned char st[SLICE];
	uint64_t got = 0;
	while (*p < m->end && got < want) {
		size_t n = (size_t)((m->end - *p) / HS_PAGE_SIZE);
		n = n < SLICE ? n : SLICE;
		if (!n || (src->pages && src->pages(src, *p, n, st) < 0))
			break;
		/* the runs of present pages of this slice, each read whole */
		for (size_t i = 0; i < n && got < want;) {
			size_t j = i;
			while (j < n && (!src->pages || st[j] == HS_PAGE_PRESENT) && (j - i) * HS_PAGE_SIZE < SAMPLE_BUF)
				j++;
			if (j > i) {
				size_t len = (j - i) * HS_PAGE_SIZE;
				if (hs_read(src, *p + i * HS_PAGE_SIZE, buf, len) < 0)
					return got;
				got += len;
			}
			i = j > i ? j : i + 1;
		}
		*p += n * HS_PAGE_SIZE;
	}
	return got;
}

/* The read rate of m's present pages: the best of SAMPLE_PASSES reads of
 * SAMPLE_MAX / SAMPLE_PASSES bytes each (a pass the scheduler cut into is
 * slower than the stop, during which heapscope mostly runs alone); that
 * pass's bytes and time in e. */
static void sample(struct hs_source *src, const struct hs_smap *m, struct hs_stop_estimate *e)
{
	unsigned char *buf = malloc(SAMPLE_BUF);
	if (!buf)
		return;
	/* heapscope's own pages faulted in first: not the target's rate */
	memset(buf, 0, SAMPLE_BUF);
	uint64_t p = m->start;
	for (int pass = 0; pass < SAMPLE_PASSES; pass++) {
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		uint64_t got = read_present(src, m, &p, SAMPLE_MAX / SAMPLE_PASSES, buf);
		double ms = hs_ms_since(&t0);
		if (!got)
			break;
		if (!e->sample_bytes || (double)got / ms > (double)e->sample_bytes / e->sample_ms) {
			e->sample_bytes = got;
			e->sample_ms = ms;
		}
	}
	free(buf);
}

static size_t count_threads(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	size_t n = 0;
	if (!d)
		return 0;
	for (struct dirent *de; (de = readdir(d));)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

void hs_stop_estimate(struct hs_source *src, const struct hs_smaps *s, uint64_t heap_max, bool leaks,
		      struct hs_stop_estimate *e)
{
	memset(e, 0, sizeof *e);
	e->threads = count_threads(src->pid);
	const struct hs_smap *largest = NULL;
	for (size_t i = 0; i < s->n; i++) {
		const struct hs_smap *m = &s->v[i];
		if (!is_heap(m, heap_max)) {
			if (leaks && !m->shared && (m->prot & PROT_WRITE))
				e->copy_bytes += m->rss + m->swap;
			continue;
		}
		e->heap_bytes += m->rss + m->swap;
		if (!largest || m->rss > largest->rss)
			largest = m;
	}
	if (largest && largest->rss)
		sample(src, largest, e);
	e->ms = (double)e->threads * MS_PER_THREAD;
	e->rate_mib_s = MIN_RATE_MIB_S;
	if (e->sample_bytes && e->sample_ms > 0) {
		const double measured = (double)e->sample_bytes / 1048576.0 / (e->sample_ms / 1e3);
		if (measured > e->rate_mib_s)
			e->rate_mib_s = measured;
	}
	e->ms += (double)(e->heap_bytes + e->copy_bytes) / 1048576.0 / e->rate_mib_s * 1e3;
}
