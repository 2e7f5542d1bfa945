/* hs.h - what every stage of libheapscope shares: exit codes, the error
 * carried back to the CLI, and the list of warnings a report prints. */
#ifndef HS_H
#define HS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Exit codes: a contract (DESIGN.md, man/heapscope.1). */
enum hs_exit {
	HS_OK = 0,
	HS_EUSAGE = 2,       /* bad command line */
	HS_EATTACH = 3,      /* no such process, no permission */
	HS_EUNSUPPORTED = 4, /* no glibc malloc, unknown layout, no debuginfo */
	HS_ECORRUPT = 5,     /* heap inconsistent or corrupt (report still printed) */
	HS_EEXITED = 6,      /* the target exited while being read */
	HS_EINTERNAL = 1,    /* out of memory and the like */
};

/* Errors: one convention, in lib/ and cmd/ alike.
 *
 * 1. A step that can fail takes `struct hs_err *err` (its last parameter)
 *    and returns int: 0 when it did its work; otherwise the exit code,
 *    which hs_fail() stored in err with the one line that explains it:
 *
 *        if (!f)
 *                return hs_fail(err, HS_EATTACH, "cannot read %s: %s", path, strerror(errno));
 *        if (hs_next_step(..., err))
 *                return err->code;        (or goto out, to free first)
 *
 *    Never -1 beside it, never `hs_fail(...), -1`, never an errno left
 *    for the caller to read. What else the step gives (a count, a value)
 *    goes out through a pointer parameter.
 * 2. A finding that does not stop the run (a bad pointer, a page that
 *    cannot be read, a thread whose stack cannot be unwound) is hs_warn():
 *    it is printed in the report and makes the exit code 5. A fallback is
 *    a warning or an error, never silent.
 * 3. A question, which can have no answer without anything having failed
 *    (a lookup, a predicate, a parse of one token), returns bool, a
 *    pointer (NULL: none), an index (-1: none) or an enum that names each
 *    answer. It takes no err and sets no errno.
 * 4. Below all of this, reading the target's memory (a memory source's
 *    read, hs_read(), hs_stream_get()) returns 0, or -1 with errno as the
 *    system call behind it set it: EFAULT or EIO (not readable), ESRCH
 *    (the target is gone), EINTR (heapscope was asked to stop). Those
 *    reads are many and a failed one is as often a finding as an error,
 *    so the caller turns errno at once into hs_fail() or hs_warn(); errno
 *    goes no further up than that caller. A static helper that wraps a
 *    system call may do the same, inside its own file. */

/* The first fatal error of a run: one line, and the exit code it maps to. */
struct hs_err {
	int code;
	char msg[512];
	bool reported; /* a report went out before the error: it is in the report */
};

/* Sets err (if not already set: the first error is the one that explains)
 * and returns err->code, so callers write `return hs_fail(err, ...)`. */
int hs_fail(struct hs_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Non-fatal findings about the target (a bad pointer, a count mismatch):
 * each names an address; any of them makes the exit code 5. */
struct hs_warnings {
	char **v;
	size_t n, cap;
	size_t dropped; /* beyond HS_MAX_WARNINGS, counted, not kept */
};
#define HS_MAX_WARNINGS 1000

void hs_warn(struct hs_warnings *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void hs_warnings_free(struct hs_warnings *w);

/* Allocation that never returns NULL: heapscope cannot do useful work
 * without its own memory, so running out is a clean exit 1. */
void *hs_xcalloc(size_t n, size_t size);
void *hs_xrealloc(void *p, size_t n, size_t size);
/* Address space for an array filled while a target waits: reserved, not
 * committed (pages count once written), with huge pages asked for, so
 * it never stops to grow and copy. Runs out as hs_xcalloc does. */
void *hs_reserve(size_t bytes);
void hs_release(void *p, size_t bytes);
char *hs_xstrdup(const char *s);

/* CLOCK_MONOTONIC, the clock every stop and interval is timed on: now
 * in ns, a time in ns, and the ms since t0. */
uint64_t hs_mono_ns(void);
uint64_t hs_ts_ns(const struct timespec *t);
double hs_ms_since(const struct timespec *t0);

#define HS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Bits set in a word. Spelled out so that it compiles to a handful of
 * instructions on every x86_64, with or without POPCNT
 * (__builtin_popcountll is a libgcc call without -mpopcnt). */
static inline unsigned hs_popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

#endif
