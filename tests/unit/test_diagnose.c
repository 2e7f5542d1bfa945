/* test_diagnose.c - the verdict rules, remedies and pins on censuses built
 * by hand: every verdict (with hand-filled --leaks results and process
 * splits), what a verdict may say without --leaks, the arena limit
 * derived by hand from glibc's arena.c (written out below), tunables
 * spelled for the version that has them, the dynamic mmap threshold, and
 * pins picked from a hand-built index of one heap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/diagnose.h"

#define MiB (1024ull * 1024)

struct fx {
	struct hs_symbols sym;
	struct hs_heap heap;
	struct hs_arena arenas[8];
	struct hs_arena_census ac[8];
	struct hs_census c;
};

/* n arenas (0 is main), nothing in them yet; glibc 2.vminor, 64-bit. */
static struct fx *fx_new(int vminor, size_t n)
{
	struct fx *f = calloc(1, sizeof *f);
	f->sym.layout.size_sz = 8;
	f->sym.layout.align = 16;
	f->sym.layout.vmajor = 2;
	f->sym.layout.vminor = vminor;
	f->heap.layout = &f->sym.layout;
	f->heap.malloc_initialised = true;
	f->heap.mp = (struct hs_mp){.trim_threshold = 131072, .mmap_threshold = 131072};
	f->heap.arenas = f->arenas;
	f->heap.narenas = n;
	for (size_t i = 0; i < n; i++) {
		f->arenas[i].index = (int)i;
		f->arenas[i].main = i == 0;
		f->ac[i].arena = &f->arenas[i];
	}
	f->c.sym = &f->sym;
	f->c.heap = &f->heap;
	f->c.arenas = f->ac;
	f->c.narenas = n;
	f->c.cpus_online = 4;
	f->c.cpus_allowed = 2;
	return f;
}

/* Arena i: in use, free (all in bins) and top bytes; totals re-summed. */
static void fx_arena(struct fx *f, size_t i, uint64_t in_use, uint64_t freeb, uint64_t top)
{
	struct hs_counts *k = &f->ac[i].c;
	memset(k, 0, sizeof *k);
	k->in_use = (struct hs_tally){in_use / 64 + 1, in_use};
	k->free = k->bin = (struct hs_tally){freeb / 1024 + 1, freeb};
	k->top_bytes = top;
	k->system_bytes = in_use + freeb + top;
	memset(&f->c.totals, 0, sizeof f->c.totals);
	for (size_t a = 0; a < f->c.narenas; a++) {
		struct hs_counts *t = &f->c.totals, *x = &f->ac[a].c;
		t->in_use.bytes += x->in_use.bytes;
		t->in_use.chunks += x->in_use.chunks;
		t->free.bytes += x->free.bytes;
		t->free.chunks += x->free.chunks;
		t->bin.bytes += x->bin.bytes;
		t->bin.chunks += x->bin.chunks;
		t->top_bytes += x->top_bytes;
		t->system_bytes += x->system_bytes;
	}
}

static const struct hs_finding *finding(const struct hs_diagnosis *d, const char *kind)
{
	for (size_t i = 0; i < d->nfindings; i++)
		if (!strcmp(d->findings[i].kind, kind))
			return &d->findings[i];
	return NULL;
}

/* A process split: rss in all, malloc's part as given, the rest other
 * anonymous memory of one owner. */
static void fx_process(struct hs_process *p, uint64_t rss, uint64_t malloc_bytes, const char *owner)
{
	memset(p, 0, sizeof *p);
	p->have = true;
	p->rss = rss;
	p->bytes[HS_MEM_ARENAS] = malloc_bytes;
	p->bytes[HS_MEM_ANON] = rss - malloc_bytes;
	p->malloc_bytes = malloc_bytes;
	p->outside_bytes = rss - malloc_bytes;
	p->owners[0] = (struct hs_owner){.owner = owner, .bytes = rss - malloc_bytes, .regions = 3};
	p->nowners = 1;
}

static void test_verdicts(void **state)
{
	(void)state;
	struct hs_diagnosis d;
	struct fx *f = fx_new(36, 1);
	struct hs_leaks little = {.chunks = 3, .bytes = 300};
	struct hs_process pr;

	f->heap.malloc_initialised = false;
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "empty");
	f->heap.malloc_initialised = true;

	/* A dense heap, nothing else measured: in use, live or leaked. Never
	 * "healthy", never "no action needed". */
	fx_arena(f, 0, 100 * MiB, 2 * MiB, 1 * MiB);
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "in-use");
	assert_non_null(strstr(d.summary, "in use (live or leaked: run --leaks, or watch its growth)"));
	assert_null(strstr(d.summary, "no action"));
	assert_null(strstr(d.summary, "not a leak"));
	assert_false(d.leaks_checked);
	assert_true(d.action_needed);
	assert_null(finding(&d, "holes"));
	/* The same with --leaks finding little: healthy, but "no action
	 * needed" only once the process was read and is malloc's. */
	hs_diagnose(&f->c, &little, &d);
	assert_string_equal(d.verdict, "healthy");
	assert_null(strstr(d.summary, "no action"));
	assert_non_null(strstr(d.summary, "the rest of the process was not read"));
	assert_true(d.action_needed);
	fx_process(&pr, 110 * MiB, 100 * MiB, "unknown");
	f->c.process = &pr;
	hs_diagnose(&f->c, &little, &d);
	assert_string_equal(d.verdict, "healthy");
	assert_non_null(strstr(d.summary, "no action needed"));
	assert_false(d.action_needed);
	assert_null(finding(&d, "outside-malloc"));
	/* Without --leaks the process read changes nothing: still in use. */
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "in-use");
	assert_true(d.action_needed);

	/* Most of the RSS outside malloc (a Python service): the first line
	 * says so and names the owner; never "no action needed". */
	fx_process(&pr, 425 * MiB, 20 * MiB, "python-obmalloc");
	hs_diagnose(&f->c, &little, &d);
	assert_string_equal(d.verdict, "outside-malloc");
	assert_true(d.outside_most);
	assert_true(d.action_needed);
	assert_non_null(strstr(d.summary, "405.0 MiB of 425.0 MiB RSS is outside malloc, 405.0 MiB of it Python's obmalloc arenas"));
	assert_null(strstr(d.summary, "no action"));
	const struct hs_finding *o = finding(&d, "outside-malloc");
	assert_non_null(o);
	assert_int_equal(o->bytes, 405 * MiB);
	assert_non_null(strstr(o->remedy, "tracemalloc"));
	fx_process(&pr, 425 * MiB, 20 * MiB, "jvm-heap");
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "outside-malloc");
	assert_non_null(strstr(finding(&d, "outside-malloc")->remedy, "-Xmx"));
	fx_process(&pr, 425 * MiB, 20 * MiB, "unknown");
	hs_diagnose(&f->c, NULL, &d);
	assert_non_null(strstr(d.summary, "anonymous memory of unknown owner"));
	assert_non_null(strstr(finding(&d, "outside-malloc")->remedy, "mmap"));
	/* More than half, but under 16 MiB (a small process's libraries):
	 * not worth the first line. */
	fx_process(&pr, 12 * MiB, 2 * MiB, "unknown");
	fx_arena(f, 0, 2 * MiB, 0, 0);
	hs_diagnose(&f->c, &little, &d);
	assert_string_equal(d.verdict, "healthy");
	assert_false(d.outside_most);
	f->c.process = NULL;

	/* Holes over 16 MiB and over what is in use. Without --leaks the
	 * holes are named, the in-use part is not called "not a leak". */
	fx_arena(f, 0, 10 * MiB, 200 * MiB, 1 * MiB);
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "fragmented");
	assert_int_equal(finding(&d, "holes")->bytes, 200 * MiB);
	assert_null(strstr(d.summary, "not a leak"));
	assert_non_null(strstr(d.summary, "live or leaked: run --leaks"));
	hs_diagnose(&f->c, &little, &d);
	assert_string_equal(d.verdict, "fragmented");
	assert_non_null(strstr(d.summary, "(not a leak: --leaks found 300 B unreachable)"));
	/* Remedies only where they act: M_MMAP_THRESHOLD at its 128 KiB
	 * start moves nothing that is not mmapped already; malloc_trim is not
	 * offered when no whole free page lies in the holes. */
	const struct hs_finding *hf = finding(&d, "holes");
	assert_null(strstr(hf->remedy, "MMAP_THRESHOLD"));
	assert_non_null(strstr(hf->remedy, "malloc_trim(0) returns their whole free pages"));
	f->c.have_residency = true;
	f->c.totals.trimmable_bytes = 0;
	hs_diagnose(&f->c, NULL, &d);
	hf = finding(&d, "holes");
	assert_null(strstr(hf->remedy, "malloc_trim(0) would"));
	assert_non_null(strstr(hf->remedy, "no malloc setting closes holes"));
	f->c.totals.trimmable_bytes = 150 * MiB;
	f->heap.mp.mmap_threshold = 1052672; /* raised by glibc */
	hs_diagnose(&f->c, NULL, &d);
	hf = finding(&d, "holes");
	assert_non_null(strstr(hf->remedy, "malloc_trim(0) would return 150.0 MiB"));
	assert_non_null(strstr(hf->remedy, "M_MMAP_THRESHOLD is 1.0 MiB now"));
	assert_non_null(strstr(hf->remedy, "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072"));
	f->heap.mp.mmap_threshold = 131072;
	f->c.have_residency = false;
	/* A holes verdict keeps its name when most of the RSS is elsewhere,
	 * and says that too. */
	fx_process(&pr, 1024 * MiB, 211 * MiB, "v8-heap");
	f->c.process = &pr;
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "fragmented");
	assert_non_null(strstr(d.summary, "; 813.0 MiB of 1.0 GiB RSS is outside malloc, 813.0 MiB of it V8's heap pages"));
	f->c.process = NULL;

	/* Holes, but not more than in use: the heap is dense. */
	fx_arena(f, 0, 300 * MiB, 200 * MiB, 1 * MiB);
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "in-use");

	/* The main top is most of the holes: trimmable, below the threshold
	 * (raised by mallopt) as well as above it. */
	fx_arena(f, 0, 1 * MiB, 2 * MiB, 64 * MiB);
	f->heap.mp.trim_threshold = 1ull << 30;
	f->heap.mp.no_dyn_threshold = 1;
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "trimmable");
	const struct hs_finding *t = finding(&d, "top");
	assert_non_null(t);
	assert_int_equal(t->bytes, 64 * MiB);
	assert_non_null(strstr(t->message, "below M_TRIM_THRESHOLD"));
	assert_non_null(strstr(t->remedy, "GLIBC_TUNABLES=glibc.malloc.trim_threshold=N"));

	/* The same top in a main arena grown by mmap (glibc.malloc.hugetlb=2:
	 * malloc.c's systrim only shrinks a contiguous brk heap, measured by
	 * tests/e2e/trim.sh's hugetlb=2 case, where glibc gave back 0 bytes):
	 * not trimmable, and no trim threshold offered as a remedy. Census
	 * says so (trim.sh's "hugetlb=2 8000 0 all" checks census's rule
	 * against the RSS drop). */
	f->ac[0].top_never_trimmed = true;
	hs_diagnose(&f->c, NULL, &d);
	assert_string_not_equal(d.verdict, "trimmable");
	t = finding(&d, "top");
	assert_non_null(t);
	assert_null(strstr(t->remedy, "TRIM_THRESHOLD"));
	assert_null(strstr(t->remedy, "trim_threshold"));
	assert_null(strstr(t->remedy, "malloc_trim"));
	assert_non_null(strstr(t->message, "never gives such a top back"));

	/* The same top in a contiguous main arena whose break the program
	 * moved past it (a foreign sbrk; census sets top_never_trimmed for
	 * it too: trim.sh's "400000 0 all sbrk" measures 0 bytes given back):
	 * the finding names the break, not mmap. */
	f->arenas[0].break_past_top = true;
	hs_diagnose(&f->c, NULL, &d);
	assert_string_not_equal(d.verdict, "trimmable");
	t = finding(&d, "top");
	assert_non_null(t);
	assert_non_null(strstr(t->message, "program break lies past its end"));
	assert_null(strstr(t->remedy, "malloc_trim"));
	free(f);
}

/* The arena limit, derived by hand from glibc's malloc/arena.c (the same
 * in 2.26 to 2.43 but for the core count), not from heapscope's code:
 *
 *   static mstate arena_get2 (size_t size, mstate avoid_arena) {
 *     static size_t narenas_limit;
 *     a = get_free_list ();
 *     if (a == NULL) {
 *       if (narenas_limit == 0) {
 *         if (mp_.arena_max != 0)
 *           narenas_limit = mp_.arena_max;
 *         else if (narenas > mp_.arena_test) {
 *           int n = __get_nprocs ();      // __get_nprocs_sched () in 2.35..2.38
 *           if (n >= 1)                     // before the fix of BZ 30945
 *             narenas_limit = NARENAS_FROM_NCORES (n);
 *           else
 *             narenas_limit = NARENAS_FROM_NCORES (2);
 *         }
 *       }
 *     repeat:;
 *       size_t n = narenas;
 *       if (__glibc_unlikely (n <= narenas_limit - 1)) {   // 0 - 1: always
 *         ... narenas = n + 1; a = _int_new_arena (size);
 *       } else
 *         a = reused_arena (avoid_arena);
 *
 *   malloc.c: #define NARENAS_FROM_NCORES(n) ((n) * (sizeof (long) == 4 ? 2 : 8))
 *             .arena_test = NARENAS_FROM_NCORES (1)
 *
 * narenas starts at 1 (main_arena). While narenas_limit is 0, every new
 * thread makes an arena (n <= SIZE_MAX). The limit is set by the first
 * new thread that finds narenas > arena_test, i.e. narenas = arena_test
 * + 1; from then on a thread makes an arena while narenas <= limit - 1.
 * So the most arenas are: arena_max if set; else max(NARENAS_FROM_NCORES
 * (cores), arena_test + 1). Cases:
 *   64-bit, arena_test 8, 4 cores:  limit 32 >= 9            -> 32
 *   64-bit, arena_test 8, 1 core:   limit 8; narenas already 9 -> 9
 *   32-bit, arena_test 2, 4 cores:  limit 8 >= 3             -> 8
 *   32-bit, arena_test 2, 1 core:   limit 2; narenas already 3 -> 3
 *   arena_test tuned to 20, 2 cores: limit 16; narenas 21     -> 21
 *   arena_max 3                                               -> 3
 * fixtures/arenas.c measures it on the live glibc (tests/e2e/diagnose.sh). */
static void test_sprawl_and_limit(void **state)
{
	(void)state;
	struct hs_diagnosis d;
	struct fx *f = fx_new(36, 7);
	f->heap.mp.arena_test = 8;
	fx_arena(f, 0, 1 * MiB, 0, 128 * 1024);
	for (size_t i = 1; i < 7; i++)
		fx_arena(f, i, 512 * 1024, 7 * MiB, 200 * 1024);
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "arena-sprawl");
	const struct hs_finding *s = finding(&d, "arena-sprawl");
	assert_non_null(s);
	assert_int_equal(s->bytes, 6 * (7 * MiB + 200 * 1024));
	assert_non_null(strstr(s->remedy, "MALLOC_ARENA_MAX=2"));
	assert_non_null(strstr(s->remedy, "glibc.malloc.arena_max=2"));
	/* One thread arena with most of the holes: fragmentation there, not
	 * sprawl (the finding stays: the thread arenas still hold them). */
	fx_arena(f, 6, 512 * 1024, 60 * MiB, 200 * 1024);
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "fragmented");
	assert_non_null(finding(&d, "arena-sprawl"));
	fx_arena(f, 6, 512 * 1024, 7 * MiB, 200 * 1024);

	/* 4 CPUs online, 2 in the affinity mask, glibc 2.36: 32 by the CPUs
	 * online (Debian 12's 2.36 carries the fix of BZ 30945: measured),
	 * and 16 named for a 2.36 build before it. */
	assert_int_equal(d.cores, 4);
	assert_int_equal(d.arena_limit, 32);
	assert_string_equal(d.cores_from, "online CPUs");
	assert_int_equal(d.arena_limit_affinity, 16);
	assert_non_null(strstr(s->message, "limit here: 32"));
	/* 2.41 and 2.31 never counted the affinity mask. */
	f->sym.layout.vminor = 41;
	hs_diagnose(&f->c, NULL, &d);
	assert_int_equal(d.arena_limit, 32);
	assert_int_equal(d.arena_limit_affinity, 0);
	f->sym.layout.vminor = 31;
	hs_diagnose(&f->c, NULL, &d);
	assert_int_equal(d.arena_limit, 32);
	/* 1 core: arena_test + 1. */
	f->c.cpus_online = f->c.cpus_allowed = 1;
	hs_diagnose(&f->c, NULL, &d);
	assert_int_equal(d.arena_limit, 9);
	assert_true(d.arena_from_test);
	/* 32-bit: arena_test 2 (NARENAS_FROM_NCORES(1)), 2 per core. */
	f->sym.layout.size_sz = 4;
	f->heap.mp.arena_test = 2;
	hs_diagnose(&f->c, NULL, &d);
	assert_int_equal(d.arena_limit, 3);
	f->c.cpus_online = f->c.cpus_allowed = 4;
	hs_diagnose(&f->c, NULL, &d);
	assert_int_equal(d.arena_limit, 8);
	assert_false(d.arena_from_test);
	f->sym.layout.size_sz = 8;
	/* arena_test tuned to 20, 2 cores. */
	f->heap.mp.arena_test = 20;
	f->c.cpus_online = f->c.cpus_allowed = 2;
	hs_diagnose(&f->c, NULL, &d);
	assert_int_equal(d.arena_limit, 21);
	f->heap.mp.arena_test = 8;
	/* arena_max wins. */
	f->heap.mp.arena_max = 3;
	hs_diagnose(&f->c, NULL, &d);
	assert_int_equal(d.arena_limit, 3);
	assert_string_equal(d.cores_from, "arena_max");
	/* Unknown cores: no limit claimed. */
	f->heap.mp.arena_max = 0;
	f->c.cpus_online = 0;
	hs_diagnose(&f->c, NULL, &d);
	assert_int_equal(d.arena_limit, 0);
	assert_null(strstr(finding(&d, "arena-sprawl")->message, "limit"));
	free(f);
}

static void test_leak_rule(void **state)
{
	(void)state;
	struct hs_diagnosis d;
	struct fx *f = fx_new(36, 1);
	fx_arena(f, 0, 20 * MiB, 1 * MiB, 1 * MiB);
	struct hs_leak_size by[1] = {{.size = 208, .chunks = 40000, .bytes = 8320000}};
	struct hs_leaks l = {.chunks = 40000, .bytes = 8320000, .by_size = by, .nby_size = 1};

	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "in-use");
	hs_diagnose(&f->c, &l, &d);
	assert_string_equal(d.verdict, "leak-suspected");
	const struct hs_finding *k = finding(&d, "leak");
	assert_non_null(k);
	assert_int_equal(k->bytes, 8320000);
	assert_non_null(strstr(k->message, "40000 in-use chunks"));
	assert_non_null(strstr(d.summary, "unreachable"));
	assert_ptr_equal(d.leaks, &l);

	/* Under a tenth of what is in use: the noise of a conservative scan. */
	l.bytes = 1900000;
	hs_diagnose(&f->c, &l, &d);
	assert_string_equal(d.verdict, "healthy");
	assert_null(finding(&d, "leak"));
	/* Under the 1 MiB floor even when it is most of a small heap. */
	fx_arena(f, 0, 1 * MiB, 0, 64 * 1024);
	l.bytes = 900 * 1024;
	hs_diagnose(&f->c, &l, &d);
	assert_string_equal(d.verdict, "healthy");
	/* A leak outranks holes. */
	fx_arena(f, 0, 10 * MiB, 200 * MiB, 1 * MiB);
	l.bytes = 5 * MiB;
	hs_diagnose(&f->c, &l, &d);
	assert_string_equal(d.verdict, "leak-suspected");
	assert_non_null(finding(&d, "holes"));
	/* One chunk: "1 in-use chunk", not "1 in-use chunks". */
	l.chunks = 1;
	hs_diagnose(&f->c, &l, &d);
	assert_non_null(strstr(finding(&d, "leak")->message, "in 1 in-use chunk that"));
	free(f);
}

static void test_remedies_by_version(void **state)
{
	(void)state;
	struct hs_diagnosis d;
	struct fx *f = fx_new(24, 1);
	fx_arena(f, 0, 1 * MiB, 2 * MiB, 64 * MiB);
	/* 2.24: no GLIBC_TUNABLES; the environment variable instead. */
	hs_diagnose(&f->c, NULL, &d);
	const struct hs_finding *t = finding(&d, "top");
	assert_non_null(strstr(t->remedy, "MALLOC_TRIM_THRESHOLD_=N"));
	assert_null(strstr(t->remedy, "GLIBC_TUNABLES"));

	/* Fastbins: glibc.malloc.mxfast exists since 2.31 only. */
	fx_arena(f, 0, 1 * MiB, 0, 1 * MiB);
	f->ac[0].c.fast = f->ac[0].c.free = (struct hs_tally){1000, 20 * MiB};
	f->c.totals.fast = f->c.totals.free = f->ac[0].c.fast;
	f->sym.layout.vminor = 30;
	hs_diagnose(&f->c, NULL, &d);
	assert_non_null(strstr(finding(&d, "fastbins")->remedy, "M_MXFAST"));
	assert_null(strstr(finding(&d, "fastbins")->remedy, "glibc.malloc.mxfast"));
	f->sym.layout.vminor = 31;
	hs_diagnose(&f->c, NULL, &d);
	assert_non_null(strstr(finding(&d, "fastbins")->remedy, "GLIBC_TUNABLES=glibc.malloc.mxfast=0"));

	/* tcache: the default count is 16 from 2.43 on. */
	f->c.totals.tcache = (struct hs_tally){1000, 8 * MiB};
	hs_diagnose(&f->c, NULL, &d);
	assert_non_null(strstr(finding(&d, "tcache")->remedy, "glibc.malloc.tcache_count=0"));
	assert_non_null(strstr(finding(&d, "tcache")->remedy, "default of 7"));
	f->sym.layout.vminor = 43;
	hs_diagnose(&f->c, NULL, &d);
	assert_non_null(strstr(finding(&d, "tcache")->remedy, "default of 16"));
	free(f);
}

static void test_mmap_threshold(void **state)
{
	(void)state;
	struct hs_diagnosis d;
	struct fx *f = fx_new(36, 1);
	fx_arena(f, 0, 10 * MiB, 1 * MiB, 1 * MiB);
	hs_diagnose(&f->c, NULL, &d);
	assert_null(finding(&d, "mmap-threshold"));
	/* Raised by free() of a 1 MiB mmapped chunk. */
	f->heap.mp.mmap_threshold = 1052672;
	f->heap.mp.trim_threshold = 2 * 1052672;
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "in-use");
	const struct hs_finding *m = finding(&d, "mmap-threshold");
	assert_non_null(m);
	assert_int_equal(m->bytes, 1052672);
	assert_non_null(strstr(m->remedy, "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072"));
	/* Set by the program or a tunable: not glibc's doing, no finding. */
	f->heap.mp.no_dyn_threshold = 1;
	hs_diagnose(&f->c, NULL, &d);
	assert_null(finding(&d, "mmap-threshold"));
	free(f);
}

/* One heap [S, S + 2 MiB): an in-use chunk at S, then nfree 0x100-byte
 * fastbin chunks, then nlive in-use 0x100-byte chunks, then top. The walk's
 * tail holds the last 32 chunks that looked in use (fastbin chunks do). */
#define S 0x10000ull
#define HEAP 0x200000ull
struct pinfx {
	struct fx *f;
	struct hs_index ix;
	struct hs_segment seg;
	struct hs_tail tail;
	uint32_t fd[8192];
	uint8_t sz[8192], flags[8192];
};

static struct pinfx *pin_heap(unsigned nfree, unsigned nlive)
{
	struct pinfx *p = calloc(1, sizeof *p);
	p->f = fx_new(36, 1);
	uint64_t top = S + 0x100ull * (1 + nfree + nlive);
	p->f->arenas[0].top = top;
	p->seg = (struct hs_segment){.arena = 0, .heap = 0, .start = S, .end = S + HEAP, .g0 = 0};
	p->ix = (struct hs_index){.segs = &p->seg, .nsegs = 1, .tails = &p->tail, .ngranules = HEAP >> 4,
				  .fd = p->fd, .sz = p->sz, .flags = p->flags, .align_shift = 4};
	hs_bitrank_init(&p->ix.recorded, HEAP >> 4, 8192);
	uint64_t ord = 0;
	uint64_t ring[32];
	unsigned nring = 0;
	for (unsigned i = 0; i < 1 + nfree + nlive; i++) {
		uint64_t a = S + 0x100ull * i, g = (a - S) >> 4;
		assert_true(hs_bitrank_add(&p->ix.recorded, g));
		p->sz[ord] = 0x10;
		p->flags[ord] = (uint8_t)(i >= 1 && i <= nfree ? HS_LIST_FAST << 1 : 0);
		ord++;
		ring[nring++ % 32] = a; /* every one looks in use */
	}
	p->seg.ord1 = ord;
	hs_bitrank_seal(&p->ix.recorded);
	unsigned n = nring < 32 ? nring : 32;
	p->tail.n = n;
	p->tail.all = nring <= 32;
	for (unsigned i = 0; i < n; i++) {
		struct hs_tail_chunk *c = &p->tail.c[i];
		c->addr = ring[(nring - n + i) % 32];
		c->size = 0x100;
		memset(c->bytes, 0xa0 + (int)i, sizeof c->bytes);
		memcpy(c->bytes, "Session!", 8);
		c->nbytes = HS_PREVIEW_BYTES;
	}
	p->f->c.index = &p->ix;
	/* Totals for the verdict: the fastbin chunks are the holes. */
	fx_arena(p->f, 0, 0x100ull * (1 + nlive), 0, HEAP - (top - S));
	p->f->ac[0].c.fast = p->f->ac[0].c.free = (struct hs_tally){nfree, 0x100ull * nfree};
	p->f->c.totals.fast = p->f->c.totals.free = p->f->ac[0].c.fast;
	return p;
}

static void pin_free(struct pinfx *p)
{
	hs_bitrank_free(&p->ix.recorded);
	free(p);
}

static void test_pins(void **state)
{
	(void)state;
	struct hs_diagnosis d;
	/* 900 free 0x100-byte chunks (225 KiB) under one live one. */
	struct pinfx *p = pin_heap(900, 1);
	hs_diagnose(&p->f->c, NULL, &d);
	assert_int_equal(d.npins, 1);
	assert_int_equal(d.pins[0].addr, S + 0x100ull * 901);
	assert_int_equal(d.pins[0].size, 0x100);
	assert_int_equal(d.pins[0].held_bytes, 900 * 0x100);
	assert_int_equal(d.pins[0].run_start, S + 0x100);
	assert_int_equal(d.pins[0].npreview, HS_PREVIEW_BYTES);
	assert_memory_equal(d.pins[0].preview, "Session!", 8);
	assert_int_equal(d.pins[0].first_word, 0x216e6f6973736553ull); /* "Session!" little-endian */
	assert_null(d.pins[0].type);
	char hex[2 * HS_PREVIEW_BYTES + 1];
	hs_pin_preview_hex(&d.pins[0], hex);
	assert_int_equal(strlen(hex), 64);
	assert_memory_equal(hex, "53657373696f6e21", 16);
	free(p->f);
	pin_free(p);

	/* Three live chunks: each holds the run and the holes below it. The
	 * highest is a thread's tcache_perthread_struct (2.42+ allocates it at
	 * the first free, above everything freed before). */
	p = pin_heap(900, 3);
	struct hs_thread th = {.tid = 42, .tcache = {.addr = S + 0x100ull * 903 + 16}};
	struct hs_thread_census tc = {.thread = &th};
	p->f->c.threads = &tc;
	p->f->c.nthreads = 1;
	hs_diagnose(&p->f->c, NULL, &d);
	assert_int_equal(d.npins, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(d.pins[i].held_bytes, 900 * 0x100); /* no holes between them */
	assert_null(d.pins[0].type);
	assert_string_equal(d.pins[2].type, "tcache_perthread_struct");
	const struct hs_finding *tp = finding(&d, "top-pinned");
	assert_null(tp); /* 225 KiB: under the 1 MiB worth a finding */
	free(p->f);
	pin_free(p);

	/* The finding, with 2 more pins above the first, the highest glibc's. */
	p = pin_heap(4200, 3);
	th.tcache.addr = S + 0x100ull * 4203 + 16;
	p->f->c.threads = &tc;
	p->f->c.nthreads = 1;
	hs_diagnose(&p->f->c, NULL, &d);
	tp = finding(&d, "top-pinned");
	assert_non_null(tp);
	assert_int_equal(tp->bytes, 4200 * 0x100);
	assert_non_null(strstr(tp->message, "so do 2 more above it"));
	assert_non_null(strstr(tp->message, "tcache_perthread_struct"));
	assert_non_null(strstr(tp->remedy, "first free()"));
	free(p->f);
	pin_free(p);

	/* A walk cut short before top (the last chunk kept does not end
	 * there): what lies above is unknown, no pin is claimed. */
	p = pin_heap(900, 1);
	p->f->arenas[0].top += 0x100;
	hs_diagnose(&p->f->c, NULL, &d);
	assert_int_equal(d.npins, 0);
	free(p->f);
	pin_free(p);

	/* More than 8 live chunks above the run: live data, not a pin. */
	p = pin_heap(900, 9);
	hs_diagnose(&p->f->c, NULL, &d);
	assert_int_equal(d.npins, 0);
	free(p->f);
	pin_free(p);

	/* A run under 64 KiB is not worth a pin. */
	p = pin_heap(200, 1);
	hs_diagnose(&p->f->c, NULL, &d);
	assert_int_equal(d.npins, 0);
	free(p->f);
	pin_free(p);

	/* No live chunk above the run (it reaches top): nothing pins it. */
	p = pin_heap(900, 0);
	hs_diagnose(&p->f->c, NULL, &d);
	assert_int_equal(d.npins, 0);
	free(p->f);
	pin_free(p);
}

/* A stop cut short at its budget: no verdict from the numbers read in
 * part (here they would say "fragmented"), and not "inconsistent" with a
 * remedy for a corrupt heap: the one finding is cut-short, its remedy a
 * larger --max-stop. */
static void test_cut_short(void **state)
{
	(void)state;
	struct hs_diagnosis d;
	struct fx *f = fx_new(36, 1);
	struct hs_warnings w = {0};
	fx_arena(f, 0, 10 * MiB, 400 * MiB, 1 * MiB);
	hs_warn(&w, "arena 0: heap bytes at 0x1000 are not readable (Timer expired); walk of this heap cut");
	f->c.warnings = &w;
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "fragmented");
	assert_non_null(finding(&d, "inconsistent"));
	f->c.cut_short = true;
	f->c.max_stop_ms = 400;
	f->c.predicted_stop_ms = 390;
	hs_diagnose(&f->c, NULL, &d);
	assert_string_equal(d.verdict, "cut-short");
	assert_true(d.action_needed);
	assert_int_equal(d.nfindings, 1);
	const struct hs_finding *c = finding(&d, "cut-short");
	assert_non_null(c);
	assert_non_null(strstr(c->remedy, "--max-stop=2s"));
	assert_non_null(strstr(c->message, "the warnings (1) come"));
	assert_non_null(strstr(d.summary, "read in part"));
	hs_warnings_free(&w);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_cut_short),
		cmocka_unit_test(test_sprawl_and_limit),
		cmocka_unit_test(test_leak_rule),
		cmocka_unit_test(test_remedies_by_version),
		cmocka_unit_test(test_mmap_threshold),
		cmocka_unit_test(test_pins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
