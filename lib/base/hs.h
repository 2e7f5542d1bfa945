/* hs.h - what every stage of libheapscope shares: exit codes, the error
 * carried back to the CLI, and the list of warnings a report prints. */
#ifndef HS_H
#define HS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* The first fatal error of a run: one line, and the exit code it maps to. */
struct hs_err {
	int code;
	char msg[512];
};

/* Sets err (if not already set) and returns its code, so callers can write
 * `return hs_fail(err, HS_EATTACH, "...")`. */
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
char *hs_xstrdup(const char *s);

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
