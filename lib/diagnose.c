/* diagnose.c - the verdict and findings, from the census alone.
 *
 * The question is "is it a leak, or holes glibc keeps?". Holes are bytes
 * glibc holds from the system but the program does not: free chunks
 * (tcache, fastbins, bins) and the top chunks. Without --leaks heapscope
 * cannot call anything a leak, so the verdicts here are about holes:
 *   empty        malloc never ran, or nothing is held
 *   arena-sprawl many arenas, most of them mostly holes
 *   trimmable    most holes are the main arena's top chunk, above the trim
 *                threshold: malloc_trim(0) returns them as they are
 *   fragmented   holes outweigh what the program holds
 *   healthy      none of the above
 * Each finding carries bytes and a remedy in glibc's own terms. */
#include <stdio.h>
#include <string.h>

#include "diagnose.h"
#include "report.h"

#define MiB (1024ull * 1024)

/* Below this many bytes of holes nothing is worth an action at 3 a.m.:
 * a few MiB of free lists is the normal working set of any allocator. */
#define HOLES_FLOOR (16 * MiB)
/* Arena sprawl needs more arenas than a small service would ever create
 * with glibc's default of 8 per core... but far fewer than that to hurt:
 * 4 arenas each keeping their own free space already multiply the holes. */
#define SPRAWL_MIN_ARENAS 4
/* An arena is "mostly holes" when its free space and top exceed what the
 * program holds in it. */
#define MOSTLY_HOLES(free_top, in_use) ((free_top) > (in_use))
/* Per-thread caches are small by design (7 or 16 chunks a bin): more than
 * this across all threads is worth naming. */
#define TCACHE_FLOOR (4 * MiB)
/* Fastbins are emptied by any malloc of 1 KiB or more; many MiB sitting
 * there means the program only makes small requests. */
#define FASTBIN_FLOOR (4 * MiB)
/* Unreachable bytes become the verdict above 1 MiB and 5% of what is in
 * use: a few unreachable chunks are common (caches built once, pointers
 * kept only in disguise) and are listed as a finding only. */
#define LEAK_FLOOR (1 * MiB)

static struct hs_finding *add(struct hs_diagnosis *d, const char *kind, uint64_t bytes)
{
	if (d->nfindings >= HS_ARRAY_SIZE(d->findings))
		return NULL;
	struct hs_finding *f = &d->findings[d->nfindings++];
	memset(f, 0, sizeof *f);
	f->kind = kind;
	f->bytes = bytes;
	return f;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void hs_diagnose(const struct hs_census *c, const struct hs_leaks *leaks, struct hs_diagnosis *d)
{
	memset(d, 0, sizeof *d);
	d->leaks = leaks;
	const struct hs_counts *t = &c->totals;
	const struct hs_heap *h = c->heap;
	char b1[HS_SIZE_BUF], b2[HS_SIZE_BUF], b3[HS_SIZE_BUF], b4[HS_SIZE_BUF];
	int vminor = c->sym ? c->sym->layout.vminor : 0;

	uint64_t held = t->system_bytes + t->mmapped.bytes;  /* from the OS */
	uint64_t used = t->in_use.bytes + t->mmapped.bytes;  /* the program's */
	uint64_t holes = t->free.bytes + t->top_bytes;

	if ((h && !h->malloc_initialised) || held == 0) {
		d->verdict = "empty";
		snprintf(d->summary, sizeof d->summary, "%s",
			 h && !h->malloc_initialised ? "malloc has not run in this process: no heap"
						     : "no heap memory held");
		return;
	}

	/* The main arena's top chunk, and what glibc would trim from it. */
	const struct hs_arena_census *main = NULL;
	for (size_t i = 0; i < c->narenas; i++)
		if (c->arenas[i].arena && c->arenas[i].arena->main)
			main = &c->arenas[i];
	uint64_t main_top = main ? main->c.top_bytes : 0;
	uint64_t trim_threshold = h ? h->mp.trim_threshold : 0;

	/* Thread arenas that are mostly holes. */
	size_t holey = 0;
	uint64_t thread_holes = 0;
	for (size_t i = 0; i < c->narenas; i++) {
		const struct hs_counts *a = &c->arenas[i].c;
		if (c->arenas[i].arena && c->arenas[i].arena->main)
			continue;
		thread_holes += a->free.bytes + a->top_bytes;
		if (MOSTLY_HOLES(a->free.bytes + a->top_bytes, a->in_use.bytes))
			holey++;
	}

	bool many_holes = holes > used && holes > HOLES_FLOOR;
	if (many_holes && c->narenas >= SPRAWL_MIN_ARENAS && 2 * holey >= c->narenas - 1 &&
	    thread_holes > holes / 2)
		d->verdict = "arena-sprawl";
	else if (many_holes && main_top > trim_threshold && main_top > HOLES_FLOOR && 2 * main_top >= holes)
		d->verdict = "trimmable";
	else if (many_holes)
		d->verdict = "fragmented";
	else
		d->verdict = "healthy";

	if (many_holes)
		snprintf(d->summary, sizeof d->summary,
			 "%s from the system, %s in use: %.1f%% is holes glibc keeps (not a leak)",
			 hs_fmt_size(b1, held), hs_fmt_size(b2, used), pct(holes, held));
	else
		snprintf(d->summary, sizeof d->summary,
			 "%s from the system, %s in use (%.1f%%), %s free or top: no action needed",
			 hs_fmt_size(b1, held), hs_fmt_size(b2, used), pct(used, held),
			 hs_fmt_size(b3, holes));

	struct hs_finding *f;
	if (t->free.bytes > HOLES_FLOOR && t->free.bytes > t->in_use.bytes && (f = add(d, "holes", t->free.bytes))) {
		snprintf(f->message, sizeof f->message,
			 "%s in %llu free chunks between live ones (tcache %s, fastbins %s, bins %s)",
			 hs_fmt_size(b1, t->free.bytes), (unsigned long long)t->free.chunks,
			 hs_fmt_size(b2, t->tcache.bytes), hs_fmt_size(b3, t->fast.bytes),
			 hs_fmt_size(b4, t->bin.bytes));
		if (c->have_residency)
			snprintf(f->remedy, sizeof f->remedy,
				 "malloc_trim(0) would return %s of RSS now (whole free pages, nothing moves); "
				 "mallopt(M_MMAP_THRESHOLD, N) gives blocks >= N their own mappings",
				 hs_fmt_size(b1, t->trimmable_bytes));
		else
			snprintf(f->remedy, sizeof f->remedy,
				 "malloc_trim(0) returns their whole free pages to the OS (RSS) without moving "
				 "anything; mallopt(M_MMAP_THRESHOLD, N) gives blocks >= N their own mappings");
	}
	if (main_top > trim_threshold && main_top > HOLES_FLOOR && (f = add(d, "top", main_top))) {
		snprintf(f->message, sizeof f->message,
			 "the main arena's top chunk is %s, above M_TRIM_THRESHOLD (%s): glibc "
			 "has not given it back yet",
			 hs_fmt_size(b1, main_top), hs_fmt_size(b2, trim_threshold));
		snprintf(f->remedy, sizeof f->remedy,
			 "malloc_trim(0) returns it now; mallopt(M_TRIM_THRESHOLD, N) or "
			 "GLIBC_TUNABLES=glibc.malloc.trim_threshold=N makes free() return it");
	}
	if (c->narenas >= SPRAWL_MIN_ARENAS && thread_holes > HOLES_FLOOR &&
	    (f = add(d, "arena-sprawl", thread_holes))) {
		snprintf(f->message, sizeof f->message,
			 "%zu arenas; %zu thread arenas are mostly holes, %s in all (thread arenas' "
			 "top chunks are never trimmed by malloc_trim)",
			 c->narenas, holey, hs_fmt_size(b1, thread_holes));
		snprintf(f->remedy, sizeof f->remedy,
			 "MALLOC_ARENA_MAX=2 or GLIBC_TUNABLES=glibc.malloc.arena_max=2 "
			 "(mallopt(M_ARENA_MAX, 2) before threads start)");
	}
	if (t->tcache.bytes > TCACHE_FLOOR && (f = add(d, "tcache", t->tcache.bytes))) {
		snprintf(f->message, sizeof f->message,
			 "%s in %llu chunks sit in per-thread caches, which glibc's own statistics "
			 "count as in use",
			 hs_fmt_size(b1, t->tcache.bytes), (unsigned long long)t->tcache.chunks);
		snprintf(f->remedy, sizeof f->remedy,
			 "GLIBC_TUNABLES=glibc.malloc.tcache_count=0 disables the caches "
			 "(or a smaller count%s)", vminor >= 43 ? "; the default is 16 since 2.43" : "");
	}
	if (t->fast.bytes > FASTBIN_FLOOR && (f = add(d, "fastbins", t->fast.bytes))) {
		snprintf(f->message, sizeof f->message,
			 "%s in %llu fastbin chunks, never coalesced until a large request or a trim",
			 hs_fmt_size(b1, t->fast.bytes), (unsigned long long)t->fast.chunks);
		snprintf(f->remedy, sizeof f->remedy,
			 "malloc_trim(0) consolidates them; mallopt(M_MXFAST, 0) or "
			 "GLIBC_TUNABLES=glibc.malloc.mxfast=0 stops using fastbins");
	}
	if (leaks && leaks->chunks && (f = add(d, "leaks", leaks->bytes))) {
		snprintf(f->message, sizeof f->message,
			 "%s in %llu in-use chunks nothing points to (%.1f%% of what is in use)%s",
			 hs_fmt_size(b1, leaks->bytes), (unsigned long long)leaks->chunks, pct(leaks->bytes, used),
			 leaks->nby_type ? "; see the types leaked" : "");
		snprintf(f->remedy, sizeof f->remedy,
			 "find who allocates chunks of the sizes listed (heaptrack, valgrind --leak-check=full) "
			 "and free them when the last pointer is dropped");
		if (leaks->bytes > LEAK_FLOOR && leaks->bytes * 20 > used) {
			d->verdict = "leak-suspected";
			snprintf(d->summary, sizeof d->summary,
				 "%s from the system, %s in use: %s of it unreachable (leak suspects)",
				 hs_fmt_size(b1, held), hs_fmt_size(b2, used), hs_fmt_size(b3, leaks->bytes));
		}
	}
	if (c->warnings && (c->warnings->n || c->warnings->dropped) && (f = add(d, "inconsistent", 0))) {
		snprintf(f->message, sizeof f->message,
			 "%zu problems found reading the heap (see warnings): numbers may be off",
			 c->warnings->n + c->warnings->dropped);
		/* 2.34 moved the checking malloc into libc_malloc_debug.so. */
		snprintf(f->remedy, sizeof f->remedy,
			 "run again; if it persists the heap may be corrupt: run the program with "
			 "MALLOC_CHECK_=3%s",
			 vminor >= 34 ? " and LD_PRELOAD=libc_malloc_debug.so.0" : "");
	}
}
