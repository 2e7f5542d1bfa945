/* diagnose.c - the verdict and findings, from the census (and the --leaks
 * scan and the process's smaps when there are).
 *
 * The question is "is it a leak, or holes glibc keeps?", and a verdict
 * says only what was measured. Holes are bytes glibc holds from the
 * system but the program does not: free chunks (tcache, fastbins, bins)
 * and the top chunks. In-use bytes are live or leaked, which only --leaks
 * (reachability) or watching them grow can tell. The verdicts, first
 * match:
 *   empty          malloc never ran, or nothing is held
 *   leak-suspected --leaks found significant in-use bytes nothing points to
 *   arena-sprawl   many arenas, most of them mostly holes, the holes spread
 *                  over them (one arena with most of them is fragmented)
 *   trimmable      most holes are the main arena's top chunk, which free()
 *                  keeps (below M_TRIM_THRESHOLD, or grown by consolidation)
 *                  and malloc_trim(0) returns as it is
 *   fragmented     holes outweigh what the program holds
 *   outside-malloc the heap is small or dense, and most of the process's
 *                  RSS is not malloc's (smaps): the memory is elsewhere
 *   healthy        the heap is small or dense and --leaks found little
 *                  unreachable; "no action needed" when the process's
 *                  memory was read and is malloc's or accounted for
 *   in-use         the heap is small or dense, reachability not measured:
 *                  in use, live or leaked (run --leaks, or watch growth)
 * Before all of them, cut-short: the stop reached its budget and the heap
 * was read in part; no verdict is drawn from the numbers then.
 * A holes verdict says "not a leak" only after --leaks looked. Each
 * finding carries bytes and a remedy in the target glibc's own terms
 * (which tunables exist, and how they are spelled, depends on its
 * version). */
#include <stdio.h>
#include <string.h>

#include "analysis/diagnose.h"
#include "base/fmt.h"

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
/* A pin worth a finding: it keeps at least this much from the system. */
#define PIN_FLOOR (1 * MiB)
/* Unreachable bytes that make a leak the verdict: at least this much, and
 * at least a tenth of what the program holds (a conservative scan always
 * finds a little: buffers reached only through registers it missed,
 * pointers hidden in XOR lists...). */
#define LEAK_FLOOR (1 * MiB)
#define LEAK_SHARE 10
/* Most of the RSS is outside malloc when more than half of it is, and at
 * least this much: a small process's code and libraries always are. */
#define OUTSIDE_FLOOR (16 * MiB)
/* glibc's DEFAULT_MMAP_THRESHOLD_MIN: where M_MMAP_THRESHOLD starts. */
#define MMAP_THRESHOLD_DEFAULT (128 * 1024)

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

/* "chunk" or "chunks": the s, or none for one. */
static const char *pl(uint64_t n)
{
	return n == 1 ? "" : "s";
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* How a malloc tunable is set from the environment in glibc 2.vminor
 * (0: unknown, taken as current): GLIBC_TUNABLES since 2.26, before that
 * only the MALLOC_*_ variables some of them have; "" when this version
 * has no such setting. */
static const char *tunable(char *buf, size_t n, int vminor, const char *name, const char *val)
{
	static const struct {
		const char *name, *env;
		int since;
	} t[] = {
		{"trim_threshold", "MALLOC_TRIM_THRESHOLD_", 26}, {"mmap_threshold", "MALLOC_MMAP_THRESHOLD_", 26},
		{"arena_max", "MALLOC_ARENA_MAX", 26},           {"top_pad", "MALLOC_TOP_PAD_", 26},
		{"tcache_count", NULL, 26},                       {"tcache_max", NULL, 26},
		{"mxfast", NULL, 31},                             {"hugetlb", NULL, 35},
	};
	for (size_t i = 0; i < HS_ARRAY_SIZE(t); i++) {
		if (strcmp(t[i].name, name))
			continue;
		if (!vminor || vminor >= t[i].since)
			snprintf(buf, n, "GLIBC_TUNABLES=glibc.malloc.%s=%s", name, val);
		else if (t[i].env)
			snprintf(buf, n, "%s=%s", t[i].env, val);
		else
			buf[0] = 0;
		return buf;
	}
	buf[0] = 0;
	return buf;
}

/* The most arenas glibc's arena_get2() creates. From its source (arena.c,
 * 2.26 to 2.43): narenas_limit is arena_max when set; else it stays 0,
 * which lets every thread make a new arena, until narenas > arena_test
 * (NARENAS_FROM_NCORES(1) = 8 on 64-bit, 2 on 32-bit, unless tuned);
 * only then is it NARENAS_FROM_NCORES(cores), so arena_test + 1 arenas
 * exist even when the cores allow fewer. Cores are __get_nprocs(), the
 * CPUs online; 2.35 to 2.38 as released used __get_nprocs_sched() (the
 * affinity mask) until the fix of BZ 30945 (2.39, backported to their
 * stable branches: Debian 12's 2.36 counts the CPUs online, measured by
 * fixtures/arenas.c under taskset). A build's choice is not visible from
 * outside, so there the affinity's limit is given too when it differs. */
static int limit_for(int cores, int per_core, int arena_test, bool *from_test)
{
	int lim = cores * per_core;
	*from_test = lim < arena_test + 1;
	return *from_test ? arena_test + 1 : lim;
}

static void arena_limit(const struct hs_census *c, int vminor, struct hs_diagnosis *d)
{
	const struct hs_heap *h = c->heap;
	unsigned size_sz = c->sym ? c->sym->layout.size_sz : 8;
	d->per_core = size_sz == 4 ? 2 : 8;
	if (h && h->mp.arena_max) {
		d->arena_limit = (int)h->mp.arena_max;
		d->cores_from = "arena_max";
		return;
	}
	d->cores = c->cpus_online;
	d->cores_from = "online CPUs";
	d->arena_test = h && h->mp.arena_test && h->mp.arena_test < 1u << 20 ? (int)h->mp.arena_test : d->per_core;
	if (!d->cores)
		return;
	d->arena_limit = limit_for(d->cores, d->per_core, d->arena_test, &d->arena_from_test);
	bool sched = vminor >= 35 && vminor <= 38;
	bool alt_test;
	if (sched && c->cpus_allowed && c->cpus_allowed != c->cpus_online &&
	    limit_for(c->cpus_allowed, d->per_core, d->arena_test, &alt_test) != d->arena_limit) {
		d->arena_limit_affinity = limit_for(c->cpus_allowed, d->per_core, d->arena_test, &alt_test);
		d->cores_affinity = c->cpus_allowed;
	}
}

/* What to do about memory outside malloc, by its largest owner. */
static void remedy_outside(const struct hs_process *pr, char *buf, size_t n)
{
	enum hs_mem_kind big = HS_MEM_STACKS;
	for (int k = HS_MEM_STACKS; k < HS_MEM_KINDS; k++)
		if (pr->bytes[k] > pr->bytes[big])
			big = (enum hs_mem_kind)k;
	const char *owner = big == HS_MEM_ANON && pr->nowners ? pr->owners[0].owner : "";
	if (!strcmp(owner, "python-obmalloc"))
		snprintf(buf, n, "Python's own allocator holds it (obmalloc arenas): tracemalloc (python -X tracemalloc) "
				 "or a heap profiler such as memray shows which objects; no malloc setting returns it");
	else if (!strcmp(owner, "jvm-heap"))
		snprintf(buf, n, "the Java heap: jcmd PID GC.heap_info shows how much of it is live, -Xmx bounds it; "
				 "no malloc setting applies");
	else if (!strcmp(owner, "v8-heap"))
		snprintf(buf, n, "V8's heap: a heap snapshot (node --heapsnapshot-signal=SIGUSR2) shows what holds it, "
				 "--max-old-space-size bounds it; no malloc setting applies");
	else if (big == HS_MEM_ANON && !strncmp(owner, "[anon:", 6))
		snprintf(buf, n, "the program's own mapping it named %s: ask the code that names it", owner);
	else if (big == HS_MEM_ANON)
		snprintf(buf, n, "the program's own mmap(2) memory or another allocator's: the largest regions are "
				 "listed under \"process\"; a breakpoint on mmap (or strace -e mmap -k) names whose");
	else if (big == HS_MEM_STACKS)
		snprintf(buf, n, "thread stacks: fewer threads, or smaller stacks (pthread_attr_setstacksize, ulimit -s)");
	else if (big == HS_MEM_FILE)
		snprintf(buf, n, "mapped files and code: page cache the kernel reclaims under pressure");
	else
		snprintf(buf, n, "shared memory (MAP_SHARED, shm, memfd): counted in every process that maps it "
				 "(Pss in /proc/PID/smaps splits it)");
}

static bool leak_significant(const struct hs_leaks *l, uint64_t used)
{
	return l && l->bytes >= LEAK_FLOOR && l->bytes * LEAK_SHARE >= used;
}

void hs_diagnose(const struct hs_census *c, const struct hs_leaks *leaks, struct hs_diagnosis *d)
{
	memset(d, 0, sizeof *d);
	d->leaks = leaks;
	const struct hs_counts *t = &c->totals;
	const struct hs_heap *h = c->heap;
	char b1[HS_SIZE_BUF], b2[HS_SIZE_BUF], b3[HS_SIZE_BUF], b4[HS_SIZE_BUF];
	char tu[128];
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
	if (c->cut_short) {
		/* No verdict from numbers read in part; not a corrupt heap either:
		 * the warnings come from what was not read, and what was checked
		 * against it. */
		size_t nw = c->warnings ? c->warnings->n + c->warnings->dropped : 0;
		d->verdict = "cut-short";
		d->action_needed = true;
		snprintf(d->summary, sizeof d->summary,
			 "the stop reached its budget of %.0f ms and the heap was read in part: no verdict from "
			 "incomplete numbers; run again with --max-stop=%.0fs",
			 c->max_stop_ms, c->max_stop_ms / 1e3 * 2 + 1);
		struct hs_finding *f = add(d, "cut-short", 0);
		if (f) {
			snprintf(f->message, sizeof f->message,
				 "the target was let go at the budget (--max-stop) before every chunk was read: the "
				 "counts are partial, and the warnings (%zu) come from what was not read",
				 nw);
			snprintf(f->remedy, sizeof f->remedy,
				 "run again with a larger budget: --max-stop=%.0fs (the stop was predicted to last %.0f ms)",
				 c->max_stop_ms / 1e3 * 2 + 1, c->predicted_stop_ms);
		}
		return;
	}
	arena_limit(c, vminor, d);
	d->npins = hs_pins_find(c, d->pins, HS_ARRAY_SIZE(d->pins));

	/* The main arena's top chunk, and what glibc would trim from it. */
	const struct hs_arena_census *main = NULL;
	for (size_t i = 0; i < c->narenas; i++)
		if (c->arenas[i].arena && c->arenas[i].arena->main)
			main = &c->arenas[i];
	uint64_t main_top = main ? main->c.top_bytes : 0;
	uint64_t trim_threshold = h ? h->mp.trim_threshold : 0;
	/* A main arena grown by mmap, not sbrk (glibc.malloc.hugetlb=2, or
	 * sbrk refused): neither free() nor malloc_trim(0) ever gives its
	 * top back (census decides: systrim's rule). */
	const bool main_pieces = main && main->top_never_trimmed;

	/* Thread arenas that are mostly holes, and the largest share of
	 * holes any one of them has. */
	size_t holey = 0;
	uint64_t thread_holes = 0, max_arena_holes = 0;
	for (size_t i = 0; i < c->narenas; i++) {
		const struct hs_counts *a = &c->arenas[i].c;
		if (c->arenas[i].arena && c->arenas[i].arena->main)
			continue;
		thread_holes += a->free.bytes + a->top_bytes;
		if (a->free.bytes + a->top_bytes > max_arena_holes)
			max_arena_holes = a->free.bytes + a->top_bytes;
		if (MOSTLY_HOLES(a->free.bytes + a->top_bytes, a->in_use.bytes))
			holey++;
	}

	bool many_holes = holes > used && holes > HOLES_FLOOR;
	bool leaking = leak_significant(leaks, used);
	const struct hs_process *pr = c->process && c->process->have ? c->process : NULL;
	d->leaks_checked = leaks != NULL;
	d->process_read = pr != NULL;
	d->outside_most = pr && pr->outside_bytes * 2 > pr->rss && pr->outside_bytes >= OUTSIDE_FLOOR;
	if (leaking)
		d->verdict = "leak-suspected";
	else if (many_holes && c->narenas >= SPRAWL_MIN_ARENAS && 2 * holey >= c->narenas - 1 &&
		 thread_holes > holes / 2 && 2 * max_arena_holes <= thread_holes)
		d->verdict = "arena-sprawl";
	else if (many_holes && main_top > HOLES_FLOOR && 2 * main_top >= holes && !main_pieces)
		d->verdict = "trimmable";
	else if (many_holes)
		d->verdict = "fragmented";
	else if (d->outside_most)
		d->verdict = "outside-malloc";
	else if (leaks)
		d->verdict = "healthy";
	else
		d->verdict = "in-use";
	d->action_needed = !(!strcmp(d->verdict, "healthy") && pr);

	/* What lies outside malloc, when that is most of the RSS: a clause
	 * the summary leads or ends with. */
	char outside[224] = "";
	if (d->outside_most) {
		const struct hs_owner *o = pr->nowners ? &pr->owners[0] : NULL;
		uint64_t anon = pr->bytes[HS_MEM_ANON];
		if (o && anon >= pr->outside_bytes / 2)
			snprintf(outside, sizeof outside, "%s of %s RSS is outside malloc, %s of it %s",
				 hs_fmt_size(b1, pr->outside_bytes), hs_fmt_size(b2, pr->rss), hs_fmt_size(b3, o->bytes),
				 !strcmp(o->owner, "python-obmalloc") ? "Python's obmalloc arenas"
				 : !strcmp(o->owner, "jvm-heap")      ? "the JVM's Java heap"
				 : !strcmp(o->owner, "v8-heap")       ? "V8's heap pages"
				 : !strcmp(o->owner, "unknown")       ? "anonymous memory of unknown owner"
								      : o->owner);
		else {
			enum hs_mem_kind big = HS_MEM_STACKS;
			for (int k = HS_MEM_STACKS; k < HS_MEM_KINDS; k++)
				if (pr->bytes[k] > pr->bytes[big])
					big = (enum hs_mem_kind)k;
			snprintf(outside, sizeof outside, "%s of %s RSS is outside malloc, %s of it %s",
				 hs_fmt_size(b1, pr->outside_bytes), hs_fmt_size(b2, pr->rss), hs_fmt_size(b3, pr->bytes[big]),
				 big == HS_MEM_STACKS ? "thread stacks"
				 : big == HS_MEM_FILE ? "file-backed (code, mapped files)"
				 : big == HS_MEM_SHARED ? "shared memory" : "other anonymous memory");
		}
	}
	/* In-use bytes without --leaks: live or leaked, unknown. */
	/* A replayed trace has no process to run --leaks on: its blocks are
	 * the ones the trace did not free. */
	bool replay = c->sym && c->sym->method && !strcmp(c->sym->method, "refcore");
	const char *unmeasured = replay ? "what the trace left allocated"
					: "live or leaked: run --leaks, or watch its growth";
	char inuse[96];
	snprintf(inuse, sizeof inuse, "in use (%s)", unmeasured);
	char lk[96] = "";
	if (leaks)
		snprintf(lk, sizeof lk, "--leaks found %s unreachable", hs_fmt_size(b4, leaks->bytes));
	int n = 0;
	if (leaking)
		n = snprintf(d->summary, sizeof d->summary,
			     "%s from the system, %s in use, of which %s (%.1f%%) is unreachable: a leak",
			     hs_fmt_size(b1, held), hs_fmt_size(b2, used), hs_fmt_size(b3, leaks->bytes),
			     pct(leaks->bytes, used));
	else if (many_holes)
		n = leaks ? snprintf(d->summary, sizeof d->summary,
				     "%s from the system, %s in use: %.1f%% is holes glibc keeps (not a leak: %s)",
				     hs_fmt_size(b1, held), hs_fmt_size(b2, used), pct(holes, held), lk)
			  : snprintf(d->summary, sizeof d->summary,
				     "%s from the system, %s in use: %.1f%% is holes glibc keeps; the in-use part is %s",
				     hs_fmt_size(b1, held), hs_fmt_size(b2, used), pct(holes, held), unmeasured);
	else if (d->outside_most)
		n = snprintf(d->summary, sizeof d->summary, "%s; malloc holds %s, %s in use (%s)", outside,
			     hs_fmt_size(b1, held), hs_fmt_size(b2, used), leaks ? lk : unmeasured);
	else
		n = snprintf(d->summary, sizeof d->summary, "%s from the system, %s in use (%.1f%%), %s free or top: %s%s",
			     hs_fmt_size(b1, held), hs_fmt_size(b2, used), pct(used, held), hs_fmt_size(b3, holes),
			     leaks ? lk : inuse,
			     !leaks ? ""
			     : pr   ? ", the process's memory is accounted for: no action needed"
				    : "; the rest of the process was not read");
	if (d->outside_most && strcmp(d->verdict, "outside-malloc") && n > 0 && (size_t)n < sizeof d->summary)
		snprintf(d->summary + n, sizeof d->summary - (size_t)n, "; %s", outside);

	struct hs_finding *f;
	if (leaking && (f = add(d, "leak", leaks->bytes))) {
		snprintf(f->message, sizeof f->message,
			 "%s in %llu in-use chunk%s that nothing points to%s%s",
			 hs_fmt_size(b1, leaks->bytes), (unsigned long long)leaks->chunks, pl(leaks->chunks),
			 leaks->nby_size ? ", most of them chunks of " : "",
			 leaks->nby_size ? hs_fmt_size(b2, leaks->by_size[0].size) : "");
		snprintf(f->remedy, sizeof f->remedy,
			 "find the code that allocates them (the suspects' previews and types below; "
			 "--leaks=all lists every one; heaptrack or valgrind --leak-check=full on a test "
			 "run names the call sites); no malloc setting returns leaked memory");
	}
	if (d->outside_most && (f = add(d, "outside-malloc", pr->outside_bytes))) {
		snprintf(f->message, sizeof f->message,
			 "%s of the %s RSS is not malloc's: other anonymous memory %s, thread stacks %s, "
			 "file-backed %s, shared %s (malloc: heaps %s, mmapped chunks %s)",
			 hs_fmt_size(b1, pr->outside_bytes), hs_fmt_size(b2, pr->rss), hs_fmt_size(b3, pr->bytes[HS_MEM_ANON]),
			 hs_fmt_size(b4, pr->bytes[HS_MEM_STACKS]), hs_fmt_size((char[HS_SIZE_BUF]){0}, pr->bytes[HS_MEM_FILE]),
			 hs_fmt_size((char[HS_SIZE_BUF]){0}, pr->bytes[HS_MEM_SHARED]),
			 hs_fmt_size((char[HS_SIZE_BUF]){0}, pr->bytes[HS_MEM_ARENAS]),
			 hs_fmt_size((char[HS_SIZE_BUF]){0}, pr->bytes[HS_MEM_MMAPPED]));
		remedy_outside(pr, f->remedy, sizeof f->remedy);
	}
	if (t->free.bytes > HOLES_FLOOR && t->free.bytes > t->in_use.bytes && (f = add(d, "holes", t->free.bytes))) {
		snprintf(f->message, sizeof f->message,
			 "%s in %llu free chunk%s between live ones (tcache %s, fastbins %s, bins %s)",
			 hs_fmt_size(b1, t->free.bytes), (unsigned long long)t->free.chunks, pl(t->free.chunks),
			 hs_fmt_size(b2, t->tcache.bytes), hs_fmt_size(b3, t->fast.bytes),
			 hs_fmt_size(b4, t->bin.bytes));
		/* Each remedy only where it acts. malloc_trim(0) returns whole free
		 * pages: not when residency says there are none. M_MMAP_THRESHOLD
		 * only moves blocks at or above it out of the heap, and at its
		 * 128 KiB start every such block is mmapped already: it can only
		 * help once glibc (or the program) raised it, for the blocks
		 * between 128 KiB and the raised value. Below that, no setting
		 * closes holes between live blocks. */
		size_t n = 0;
		if (!c->have_residency)
			n += (size_t)snprintf(f->remedy + n, sizeof f->remedy - n,
					      "malloc_trim(0) returns their whole free pages to the OS (RSS) without "
					      "moving anything");
		else if (t->trimmable_bytes)
			n += (size_t)snprintf(f->remedy + n, sizeof f->remedy - n,
					      "malloc_trim(0) would return %s of RSS now (whole free pages, nothing moves)",
					      hs_fmt_size(b1, t->trimmable_bytes));
		if (h && h->mp.mmap_threshold > MMAP_THRESHOLD_DEFAULT && n < sizeof f->remedy) {
			tunable(tu, sizeof tu, vminor, "mmap_threshold", "131072");
			n += (size_t)snprintf(f->remedy + n, sizeof f->remedy - n,
					      "%sM_MMAP_THRESHOLD is %s now, so blocks from 128 KiB up to it come from "
					      "the heap and leave holes when freed: mallopt(M_MMAP_THRESHOLD, 131072)%s%s "
					      "gives them their own mappings again",
					      n ? "; " : "", hs_fmt_size(b2, h->mp.mmap_threshold), tu[0] ? " or " : "", tu);
		}
		if (!n)
			snprintf(f->remedy, sizeof f->remedy,
				 "no malloc setting closes holes between live blocks%s: free the blocks between "
				 "them, or allocate long-lived blocks apart from short-lived ones (a pool of their own)",
				 c->have_residency ? " (and no free page lies whole inside them for malloc_trim)" : "");
	}
	if (d->npins && d->pins[0].held_bytes >= PIN_FLOOR && (f = add(d, "top-pinned", d->pins[0].held_bytes))) {
		const struct hs_pin *p = &d->pins[0], *hi = p;
		size_t more = 0; /* other pins of the same heap: all must go */
		for (size_t i = 1; i < d->npins; i++) {
			const struct hs_pin *q = &d->pins[i];
			if (q->arena != p->arena || q->heap != p->heap)
				continue;
			more++;
			if (q->addr > hi->addr)
				hi = q;
		}
		char others[160] = "";
		if (more)
			snprintf(others, sizeof others, ", and so do %zu more above it (the highest: a %s %s at 0x%llx)",
				 more, hs_fmt_size(b3, hi->size), hi->type ? hi->type : "chunk",
				 (unsigned long long)hi->addr);
		snprintf(f->message, sizeof f->message,
			 "one %s in-use chunk at 0x%llx (arena %d) holds %s of free space below it from "
			 "the system%s: glibc returns memory from the top of a heap only",
			 hs_fmt_size(b1, p->size), (unsigned long long)p->addr, p->arena,
			 hs_fmt_size(b2, p->held_bytes), others);
		char trim[160] = "";
		if (!c->have_residency)
			snprintf(trim, sizeof trim, "; until then malloc_trim(0) gives back the free pages below but not "
						    "the address space");
		else if (t->trimmable_bytes) /* else malloc_trim has nothing to give: not offered */
			snprintf(trim, sizeof trim, "; until then malloc_trim(0) gives back the free pages below (%s of "
						    "RSS now) but not the address space", hs_fmt_size(b1, t->trimmable_bytes));
		if (hi->type && !strcmp(hi->type, "tcache_perthread_struct"))
			/* 2.42+ allocates a thread's tcache at its first free(). */
			snprintf(f->remedy, sizeof f->remedy,
				 "glibc allocated the thread's tcache at its first free(), above the blocks "
				 "freed since, and keeps it for the thread's life: a malloc and free of a small "
				 "block when the thread starts places it low%s", trim);
		else
			snprintf(f->remedy, sizeof f->remedy,
				 "free %s, or allocate such long-lived blocks before the short-lived ones (or "
				 "from their own mmap)%s", more ? "them" : "it", trim);
	}
	if (main_top > HOLES_FLOOR && main_pieces && (f = add(d, "top", main_top))) {
		/* systrim gives back only a top that ends at the program break */
		const bool moved = main->arena->break_past_top;
		snprintf(f->message, sizeof f->message, "the main arena's top chunk is %s, and %s: %s",
			 hs_fmt_size(b1, main_top),
			 moved ? "the program break lies past its end (the program moved the break itself: a "
				 "foreign sbrk)"
			       : "this main arena grew by mmap, not sbrk (glibc.malloc.hugetlb=2, or sbrk refused)",
			 moved ? "glibc gives a top back only when it ends at the break, neither free() nor "
				 "malloc_trim(0) can now"
			       : "glibc never gives such a top back, neither free() nor malloc_trim(0)");
		snprintf(f->remedy, sizeof f->remedy, "none while %s: later allocations in the main arena reuse it",
			 moved ? "the break stays there" : "the process runs");
	} else if (main_top > HOLES_FLOOR && (f = add(d, "top", main_top))) {
		if (main_top > trim_threshold)
			snprintf(f->message, sizeof f->message,
				 "the main arena's top chunk is %s, above M_TRIM_THRESHOLD (%s): glibc "
				 "has not given it back yet (free() trims only after freeing 64 KiB or more)",
				 hs_fmt_size(b1, main_top), hs_fmt_size(b2, trim_threshold));
		else
			snprintf(f->message, sizeof f->message,
				 "the main arena's top chunk is %s, below M_TRIM_THRESHOLD (%s%s): free() "
				 "keeps it by design",
				 hs_fmt_size(b1, main_top), hs_fmt_size(b2, trim_threshold),
				 h && h->mp.no_dyn_threshold ? ", set by the program or a tunable"
							     : ", raised by glibc's dynamic threshold");
		tunable(tu, sizeof tu, vminor, "trim_threshold", "N");
		snprintf(f->remedy, sizeof f->remedy,
			 "malloc_trim(0) returns %s of it now; a lower mallopt(M_TRIM_THRESHOLD, N)%s%s "
			 "makes free() return it",
			 c->have_residency && main ? hs_fmt_size(b1, main->c.trimmable_bytes) : "most",
			 tu[0] ? " or " : "", tu);
	}
	if (c->narenas >= SPRAWL_MIN_ARENAS && thread_holes > HOLES_FLOOR &&
	    (f = add(d, "arena-sprawl", thread_holes))) {
		char lim[160] = "";
		if (d->arena_limit && d->cores)
			snprintf(lim, sizeof lim, " (glibc's limit here: %d, %s%d per core, %d core%s by the %s%s)",
				 d->arena_limit, d->arena_from_test ? "arena_test + 1, more than " : "", d->per_core,
				 d->cores, d->cores == 1 ? "" : "s", d->cores_from,
				 d->arena_limit_affinity ? "; a build before the BZ 30945 fix counts the affinity mask" : "");
		else if (d->arena_limit)
			snprintf(lim, sizeof lim, " (limit: arena_max %d)", d->arena_limit);
		snprintf(f->message, sizeof f->message,
			 "%zu arenas%s; %zu thread arena%s %s mostly holes, %s in all (thread arenas' "
			 "top chunks are never trimmed by malloc_trim)",
			 c->narenas, lim, holey, pl(holey), holey == 1 ? "is" : "are", hs_fmt_size(b1, thread_holes));
		tunable(tu, sizeof tu, vminor, "arena_max", "2");
		snprintf(f->remedy, sizeof f->remedy,
			 "MALLOC_ARENA_MAX=2%s%s (or mallopt(M_ARENA_MAX, 2) before threads start): "
			 "fewer arenas share their free space",
			 tu[0] && strncmp(tu, "MALLOC_", 7) ? " or " : "", strncmp(tu, "MALLOC_", 7) ? tu : "");
	}
	if (h && !h->mp.no_dyn_threshold && h->mp.mmap_threshold > MMAP_THRESHOLD_DEFAULT &&
	    (f = add(d, "mmap-threshold", h->mp.mmap_threshold))) {
		snprintf(f->message, sizeof f->message,
			 "glibc raised M_MMAP_THRESHOLD from %s to %s (and M_TRIM_THRESHOLD to %s) when the "
			 "program freed an mmapped block that size: blocks below %s now come from the heap, "
			 "and their holes stay",
			 hs_fmt_size(b1, MMAP_THRESHOLD_DEFAULT), hs_fmt_size(b2, h->mp.mmap_threshold),
			 hs_fmt_size(b3, h->mp.trim_threshold), hs_fmt_size(b4, h->mp.mmap_threshold));
		/* Several tunables go in one GLIBC_TUNABLES, ':'-separated. */
		if (!vminor || vminor >= 26)
			snprintf(tu, sizeof tu, "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072:"
				 "glibc.malloc.trim_threshold=131072");
		else
			snprintf(tu, sizeof tu, "MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072");
		snprintf(f->remedy, sizeof f->remedy,
			 "pin the thresholds: mallopt(M_MMAP_THRESHOLD, 131072) and mallopt(M_TRIM_THRESHOLD, "
			 "131072), or %s (setting either turns the dynamic threshold off)", tu);
	}
	if (t->tcache.bytes > TCACHE_FLOOR && (f = add(d, "tcache", t->tcache.bytes))) {
		snprintf(f->message, sizeof f->message,
			 "%s in %llu chunk%s sit in per-thread caches, which glibc's own statistics "
			 "count as in use",
			 hs_fmt_size(b1, t->tcache.bytes), (unsigned long long)t->tcache.chunks, pl(t->tcache.chunks));
		tunable(tu, sizeof tu, vminor, "tcache_count", "0");
		snprintf(f->remedy, sizeof f->remedy,
			 "%s disables the caches (or a count below this glibc's default of %d)",
			 tu[0] ? tu : "upgrade: this glibc has no tcache tunable;", vminor >= 43 ? 16 : 7);
	}
	if (t->fast.bytes > FASTBIN_FLOOR && (f = add(d, "fastbins", t->fast.bytes))) {
		snprintf(f->message, sizeof f->message,
			 "%s in %llu fastbin chunk%s, never coalesced until a large request or a trim",
			 hs_fmt_size(b1, t->fast.bytes), (unsigned long long)t->fast.chunks, pl(t->fast.chunks));
		tunable(tu, sizeof tu, vminor, "mxfast", "0");
		snprintf(f->remedy, sizeof f->remedy,
			 "malloc_trim(0) consolidates them; mallopt(M_MXFAST, 0)%s%s stops using fastbins",
			 tu[0] ? " or " : "", tu);
	}
	if (c->warnings && (c->warnings->n || c->warnings->dropped) && (f = add(d, "inconsistent", 0))) {
		snprintf(f->message, sizeof f->message,
			 "%zu problem%s found reading the heap (see warnings): numbers may be off",
			 c->warnings->n + c->warnings->dropped, c->warnings->n + c->warnings->dropped == 1 ? "" : "s");
		/* 2.34 moved the checking malloc into libc_malloc_debug.so. */
		snprintf(f->remedy, sizeof f->remedy,
			 "run again; if it persists the heap may be corrupt: run the program with "
			 "MALLOC_CHECK_=3%s",
			 vminor >= 34 ? " and LD_PRELOAD=libc_malloc_debug.so.0" : "");
	}
}
