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
	/* "empty", "leak-suspected", "arena-sprawl", "trimmable", "fragmented",
	 * "outside-malloc", "healthy", "in-use" (see diagnose.c) */
	const char *verdict;
	char summary[512]; /* the one line the text report leads with */
	/* What the verdict rests on: was reachability measured (--leaks), was
	 * the whole process read (smaps) and is its memory malloc's or
	 * accounted for; "no action needed" is said only when all hold. */
	bool leaks_checked, process_read, outside_most, action_needed;
	struct hs_finding findings[16];
	size_t nfindings;
	const struct hs_leaks *leaks; /* with --leaks, else NULL */
	const struct hs_compare *compare; /* with --compare (set by the caller), else NULL */
	struct hs_pin pins[HS_MAX_PINS]; /* biggest held_bytes first */
	size_t npins;
	/* The most arenas glibc creates in this process: arena_max if set;
	 * else 8 (64-bit) or 2 (32-bit) per core, the CPUs online, but never
	 * fewer than arena_test + 1 (glibc counts the cores only once more
	 * than arena_test arenas exist: arena_from_test); 0 when the core
	 * count is unknown. per_core: 8 or 2. On 2.35 to 2.38, whose builds
	 * before the fix of BZ 30945 count the affinity mask instead, that
	 * limit and core count when they differ (else 0). */
	int arena_limit, cores, per_core, arena_test;
	bool arena_from_test;
	int arena_limit_affinity, cores_affinity;
	const char *cores_from; /* "arena_max", "online CPUs", "affinity mask" */
};

/* leaks: the result of the --leaks scan, or NULL when it was not asked for. */
void hs_diagnose(const struct hs_census *c, const struct hs_leaks *leaks, struct hs_diagnosis *d);

#endif
