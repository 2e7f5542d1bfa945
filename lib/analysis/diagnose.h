/* diagnose.h - the verdict an on-call engineer acts on, from the census:
 * is the memory held by the program, or holes glibc keeps; and findings,
 * each with bytes and a remedy in the target glibc's own terms. */
#ifndef HS_DIAGNOSE_H
#define HS_DIAGNOSE_H

#include "analysis/census.h"
#include "analysis/compare.h"
#include "analysis/leaks.h"
#include "analysis/pins.h"

#define HS_MAX_PINS 32

struct hs_finding {
	const char *kind; /* "holes", "top-pinned", "tcache", "fastbins", "arena-sprawl", ... */
	uint64_t bytes;
	char message[320];
	char remedy[448];
};

struct hs_diagnosis {
	const char *verdict; /* "healthy", "fragmented", "leak-suspected", "arena-sprawl", "trimmable", "empty" */
	char summary[256];   /* the one line the text report leads with */
	struct hs_finding findings[16];
	size_t nfindings;
	const struct hs_leaks *leaks; /* with --leaks, else NULL */
	const struct hs_compare *compare; /* with --compare (set by the caller), else NULL */
	struct hs_pin pins[HS_MAX_PINS]; /* biggest held_bytes first */
	size_t npins;
	/* The arena limit glibc applies in this process: arena_max if set,
	 * else 8 (64-bit) or 2 (32-bit) per core, counted as this glibc
	 * counts them; 0 when the core count is unknown. */
	int arena_limit, cores;
	const char *cores_from; /* "arena_max", "online CPUs", "affinity mask" */
};

/* leaks: the result of the --leaks scan, or NULL when it was not asked for. */
void hs_diagnose(const struct hs_census *c, const struct hs_leaks *leaks, struct hs_diagnosis *d);

#endif
