/* hs.c - errors, warnings and allocation helpers shared by every stage. */
#include "base/hs.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <time.h>

int hs_fail(struct hs_err *err, int code, const char *fmt, ...)
{
	if (err->code)
		return err->code; /* the first error is the one that explains */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	err->code = code;
	return code;
}

void hs_warn(struct hs_warnings *w, const char *fmt, ...)
{
	if (w->n >= HS_MAX_WARNINGS) {
		w->dropped++;
		return;
	}
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->v = hs_xrealloc(w->v, w->cap, sizeof *w->v);
	}
	w->v[w->n++] = hs_xstrdup(buf);
}

void hs_warnings_free(struct hs_warnings *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	memset(w, 0, sizeof *w);
}

static void oom(void)
{
	fputs("heapscope: out of memory\n", stderr);
	exit(HS_EINTERNAL);
}

void *hs_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *hs_xrealloc(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		oom();
	void *q = realloc(p, (n && size) ? n * size : 1);
	if (!q)
		oom();
	return q;
}

char *hs_xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		oom();
	return d;
}

void *hs_reserve(size_t bytes)
{
	void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (p == MAP_FAILED) {
		fputs("heapscope: out of memory\n", stderr);
		exit(HS_EINTERNAL);
	}
	/* 2 MiB pages fault 512 times less often than 4 KiB ones. */
	madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

void hs_release(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes ? bytes : 1);
}

uint64_t hs_ts_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec;
}

uint64_t hs_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return hs_ts_ns(&ts);
}

double hs_ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}
