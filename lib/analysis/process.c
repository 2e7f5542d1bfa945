/* process.c - smaps split by owner.
 *
 * Each mapping's Rss goes to one kind by what the mapping is (shared, a
 * file, the kernel's), except private anonymous ones ([heap], [stack],
 * anonymous, [anon:NAME]), which hold malloc's heaps, malloc's mmapped
 * chunks, thread stacks and everything else, merged by the kernel into
 * one mapping when adjacent: those are cut at malloc's ranges, each part
 * counted by its resident pages, the parts outside malloc's ranges going
 * to stacks when they hold a thread's stack pointer and to other
 * anonymous memory otherwise.
 *
 * Owners of other anonymous memory, recognised by shape only when the
 * runtime that makes that shape is mapped into the process (never from
 * sizes alone):
 *   [anon:NAME]      the program named the mapping (PR_SET_VMA_ANON_NAME;
 *                    CPython 3.13+, glibc 2.39+ with decorate_maps): NAME
 *   python-obmalloc  a Python interpreter is mapped (python3.N or
 *                    libpython3.N), the part is a whole number of
 *                    obmalloc arenas (1 MiB each from 3.10 on, 64-bit,
 *                    256 KiB before: obmalloc mmaps each arena on its own
 *                    and the kernel merges neighbours, so whole
 *                    multiples), and the arenas' first pools read carry
 *                    obmalloc's pool headers (a C extension's mmap of a
 *                    whole number of MiB does not).
 *   jvm-heap         libjvm.so is mapped and the part lies below 32 GiB:
 *                    HotSpot reserves the Java heap (-Xmx) in one piece
 *                    there for compressed oops (zero-based below 32 GiB);
 *                    nothing else of a JVM's is anonymous that low (the
 *                    CDS archive there is file-backed). A heap above
 *                    32 GiB (no compressed oops) stays unknown.
 *   v8-heap          V8 is mapped (node, libnode, libv8) and the part
 *                    starts on a 256 KiB boundary: V8 allocates its heap
 *                    pages 256 KiB-aligned (kPageSize).
 *   unknown          anything else. */
#include "analysis/process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096ull
#define KiB 1024ull
#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)

const char *hs_mem_kind_name(enum hs_mem_kind k)
{
	static const char *const n[HS_MEM_KINDS] = {"arenas", "mmapped_chunks", "stacks", "other_anon", "file", "shared"};
	return k < HS_MEM_KINDS ? n[k] : "unknown";
}

/* A range malloc owns. */
struct owned {
	uint64_t start, end;
	enum hs_mem_kind kind;
};

static int cmp_owned(const void *x, const void *y)
{
	const struct owned *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

enum runtime { RT_NONE, RT_PYTHON, RT_JVM, RT_V8 };

struct ctx {
	struct hs_process *p;
	enum runtime rt;
	uint64_t py_arena; /* obmalloc's arena size */
	uint64_t py_pool;  /* and pool size */
	hs_process_read_fn read;
	void *arg;
	const uint64_t *sps;
	size_t nsps;
	struct hs_region *all; /* every piece of other anonymous memory */
	size_t nall, capall;
};

/* Which runtime is mapped: the first of Python, a JVM, V8 found. */
static void find_runtime(const struct hs_smaps *s, struct ctx *c)
{
	for (size_t i = 0; i < s->n; i++) {
		const char *b = base_name(s->v[i].path);
		unsigned minor = 0;
		int n = 0;
		if (s->v[i].path[0] != '/')
			continue;
		if ((sscanf(b, "libpython3.%u%n", &minor, &n) == 1 || sscanf(b, "python3.%u%n", &minor, &n) == 1) &&
		    (b[n] == 0 || b[n] == '.' || b[n] == 'd' || b[n] == 'm')) {
			c->rt = RT_PYTHON;
			/* obmalloc.c: ARENA_BITS 20 (USE_LARGE_ARENAS, 64-bit) from 3.10, else 18 */
			c->py_arena = minor >= 10 ? 1 * MiB : 256 * KiB;
			/* POOL_BITS 14 (USE_LARGE_POOLS) from 3.10, else 12 */
			c->py_pool = minor >= 10 ? 16 * KiB : 4 * KiB;
			snprintf(c->p->runtime, sizeof c->p->runtime, "Python 3.%u", minor);
			c->p->runtime_file = s->v[i].path;
			return;
		}
		if (!strcmp(b, "libjvm.so")) {
			c->rt = RT_JVM;
			snprintf(c->p->runtime, sizeof c->p->runtime, "a JVM");
			c->p->runtime_file = s->v[i].path;
			return;
		}
		if (!strcmp(b, "node") || !strcmp(b, "nodejs") || !strncmp(b, "libnode.so", 10) ||
		    !strncmp(b, "libv8.so", 8)) {
			c->rt = RT_V8;
			snprintf(c->p->runtime, sizeof c->p->runtime, "V8");
			c->p->runtime_file = s->v[i].path;
			return;
		}
	}
}

/* How many arenas of [start, end) are probed at most: evenly spread. */
#define PY_PROBES 64

/* Whether [start, end), a whole number of obmalloc arenas by size, holds
 * them: the first pool of each probed arena (at its first pool boundary)
 * carries obmalloc's pool header (Objects/obmalloc.c, 3.8 to 3.13, 64-bit:
 * count, freeblock, nextpool, prevpool as words, then arenaindex, szidx,
 * nextoffset, maxnextoffset as 32-bit), set by init_pool: a size class
 * szidx below 64, maxnextoffset exactly POOL_SIZE less its block size
 * ((szidx + 1) * 16), nextoffset between the header (48 bytes) and
 * POOL_SIZE, freeblock 0 or inside the pool. A pool never used reads as
 * zeros and tells nothing. At least one header, and none that is not one:
 * *seen and *matched say how many were read and matched. */
static bool obmalloc_pools(const struct ctx *c, uint64_t start, uint64_t end, unsigned *seen, unsigned *matched)
{
	*seen = *matched = 0;
	if (!c->read)
		return false;
	const uint64_t n = (end - start) / c->py_arena;
	const uint64_t step = n > PY_PROBES ? n / PY_PROBES : 1;
	for (uint64_t k = 0; k < n; k += step) {
		uint64_t pool = (start + k * c->py_arena + c->py_pool - 1) & ~(c->py_pool - 1);
		unsigned char h[48];
		if (c->read(c->arg, pool, h, sizeof h) < 0)
			continue;
		uint64_t freeblock;
		uint32_t szidx, nextoffset, maxnextoffset;
		memcpy(&freeblock, h + 8, 8);
		memcpy(&szidx, h + 36, 4);
		memcpy(&nextoffset, h + 40, 4);
		memcpy(&maxnextoffset, h + 44, 4);
		static const unsigned char zeros[48];
		if (!memcmp(h, zeros, sizeof h))
			continue; /* never used */
		(*seen)++;
		if (szidx >= 64 || maxnextoffset != c->py_pool - (uint64_t)(szidx + 1) * 16 || nextoffset < 48 ||
		    nextoffset > c->py_pool || (freeblock && (freeblock <= pool || freeblock >= pool + c->py_pool)))
			return false;
		(*matched)++;
	}
	return *matched > 0;
}

/* The owner of a piece of other anonymous memory (in mapping m), and how
 * it was told. (An anonymous mapping right after a module's data is not
 * taken for its .bss: mmap fills such gaps too, and the .bss's size is
 * in the ELF file, not in the maps.) */
static const char *owner_of(const struct ctx *c, const struct hs_smap *m, uint64_t start, uint64_t end, char *how,
			    size_t nhow)
{
	const struct hs_process *p = c->p;
	if (!strncmp(m->path, "[anon:", 6)) {
		snprintf(how, nhow, "the program named the mapping %s (prctl PR_SET_VMA_ANON_NAME)", m->path);
		return m->path;
	}
	if (m->path[0])
		goto unknown;
	switch (c->rt) {
	case RT_PYTHON: {
		unsigned seen, matched;
		if ((end - start) % c->py_arena == 0 && obmalloc_pools(c, start, end, &seen, &matched)) {
			snprintf(how, nhow, "%s is mapped; whole %llu KiB obmalloc arenas, pool headers in %u of %u read",
				 p->runtime, (unsigned long long)(c->py_arena / KiB), matched, seen);
			return "python-obmalloc";
		}
		break;
	}
	case RT_JVM:
		if (end <= 32 * GiB) {
			snprintf(how, nhow,
				 "a JVM is mapped (%s) and the memory lies below 32 GiB, where HotSpot reserves "
				 "its Java heap (-Xmx) for compressed oops",
				 p->runtime_file);
			return "jvm-heap";
		}
		break;
	case RT_V8:
		if (start % (256 * KiB) == 0) {
			snprintf(how, nhow,
				 "V8 is mapped (%s) and the memory starts on a 256 KiB boundary, as V8's heap "
				 "pages do",
				 p->runtime_file);
			return "v8-heap";
		}
		break;
	case RT_NONE:
		break;
	}
unknown:
	snprintf(how, nhow, "%s", c->rt == RT_NONE ? "no known runtime is mapped"
						   : "not in the shape of the runtime's own memory");
	return "unknown";
}

static bool holds_sp(const struct ctx *c, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = c->nsps;
	while (lo < hi) { /* first sp >= start */
		size_t mid = lo + (hi - lo) / 2;
		if (c->sps[mid] < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->nsps && c->sps[lo] < end;
}

static void add_owner(struct hs_process *p, const char *owner, const char *how, uint64_t bytes)
{
	for (size_t i = 0; i < p->nowners; i++)
		if (!strcmp(p->owners[i].owner, owner)) {
			p->owners[i].bytes += bytes;
			p->owners[i].regions++;
			return;
		}
	if (p->nowners == HS_PROCESS_OWNERS) { /* more names than kept: the rest are "unknown"'s */
		for (size_t i = 0; i < p->nowners; i++)
			if (!strcmp(p->owners[i].owner, "unknown")) {
				p->owners[i].bytes += bytes;
				p->owners[i].regions++;
				return;
			}
		return;
	}
	struct hs_owner *o = &p->owners[p->nowners++];
	o->owner = owner;
	snprintf(o->how, sizeof o->how, "%s", how);
	o->bytes = bytes;
	o->regions = 1;
}

/* One part of a private anonymous mapping outside malloc's ranges. */
static void outside_part(struct ctx *c, const struct hs_smap *m, uint64_t start, uint64_t end, uint64_t rss,
			 enum hs_mem_kind *kind)
{
	if (!strcmp(m->path, "[stack]") || holds_sp(c, start, end)) {
		*kind = HS_MEM_STACKS;
		return;
	}
	*kind = HS_MEM_ANON;
	if (c->nall == c->capall) {
		c->capall = c->capall ? 2 * c->capall : 64;
		c->all = hs_xrealloc(c->all, c->capall, sizeof *c->all);
	}
	c->all[c->nall++] = (struct hs_region){start, end, rss, NULL};
}

struct part {
	uint64_t start, end, rss;
	enum hs_mem_kind kind;
	bool outside; /* a piece of other memory (stack or anonymous) */
};

/* Splits a private anonymous mapping at malloc's ranges (o[first..]). */
static void split(struct ctx *c, const struct hs_smap *m, const struct owned *o, size_t no, size_t first)
{
	struct hs_process *p = c->p;
	size_t cap = 8, n = 0;
	struct part *v = hs_xcalloc(cap, sizeof *v);
	uint64_t a = m->start;
	for (size_t i = first; a < m->end; i++) {
		uint64_t s = i < no && o[i].start < m->end ? (o[i].start > a ? o[i].start : a) : m->end;
		if (n + 2 > cap) {
			cap *= 2;
			v = hs_xrealloc(v, cap, sizeof *v);
		}
		if (s > a)
			v[n++] = (struct part){a, s, hs_smap_resident(m, a, s), HS_MEM_ANON, true};
		if (s >= m->end)
			break;
		uint64_t e = o[i].end < m->end ? o[i].end : m->end;
		if (e > s)
			v[n++] = (struct part){s, e, hs_smap_resident(m, s, e), o[i].kind, false};
		a = e > a ? e : a;
	}
	/* The parts add up to the mapping's Rss: what pagemap (read a moment
	 * after smaps) or a split in proportion leaves over, either way,
	 * goes to or comes from the largest part. */
	uint64_t sum = 0;
	size_t big = 0;
	for (size_t k = 0; k < n; k++) {
		sum += v[k].rss;
		if (v[k].rss > v[big].rss)
			big = k;
	}
	if (n && sum < m->rss)
		v[big].rss += m->rss - sum;
	for (uint64_t over = sum > m->rss ? sum - m->rss : 0; over;) {
		size_t b = 0;
		for (size_t k = 0; k < n; k++)
			if (v[k].rss > v[b].rss)
				b = k;
		uint64_t take = v[b].rss < over ? v[b].rss : over;
		v[b].rss -= take;
		over -= take;
	}
	for (size_t k = 0; k < n; k++) {
		enum hs_mem_kind kind = v[k].kind;
		if (v[k].outside)
			outside_part(c, m, v[k].start, v[k].end, v[k].rss, &kind);
		p->bytes[kind] += v[k].rss;
	}
	free(v);
}

static int cmp_region_rss(const void *x, const void *y)
{
	const struct hs_region *a = x, *b = y;
	if (a->rss != b->rss)
		return a->rss < b->rss ? 1 : -1;
	return a->start < b->start ? -1 : a->start > b->start;
}

static int cmp_owner_bytes(const void *x, const void *y)
{
	const struct hs_owner *a = x, *b = y;
	if (a->bytes != b->bytes)
		return a->bytes < b->bytes ? 1 : -1;
	return strcmp(a->owner, b->owner);
}

void hs_process_build(const struct hs_smaps *s, const struct hs_heap *h, hs_process_read_fn read, void *arg,
		      struct hs_process *p)
{
	memset(p, 0, sizeof *p);
	if (!s || !s->n)
		return;
	p->have = true;
	p->rss = s->rss;
	p->nmappings = s->n;
	p->smaps_ms = s->ms;
	struct ctx c = {.p = p, .read = read, .arg = arg};
	find_runtime(s, &c);

	/* malloc's ranges, sorted (they never overlap each other). */
	size_t no = 0, capo = 16;
	struct owned *o = hs_xcalloc(capo, sizeof *o);
	uint64_t *sps = NULL;
	if (h) {
		uint64_t heap_max = h->layout ? hs_heap_max(h) : 0;
		for (size_t i = 0; i < h->narenas; i++)
			for (size_t k = 0; k < h->arenas[i].nheaps; k++) {
				const struct hs_heapseg *g = &h->arenas[i].heaps[k];
				if (no == capo)
					o = hs_xrealloc(o, capo *= 2, sizeof *o);
				o[no++] = h->arenas[i].main || !g->info || !heap_max
						  ? (struct owned){g->base, g->end, HS_MEM_ARENAS}
						  : (struct owned){g->info, g->info + heap_max, HS_MEM_ARENAS};
			}
		for (size_t i = 0; i < h->nmmapped; i++) {
			if (no == capo)
				o = hs_xrealloc(o, capo *= 2, sizeof *o);
			o[no++] = (struct owned){h->mmapped[i].map_start, h->mmapped[i].map_start + h->mmapped[i].map_len,
						 HS_MEM_MMAPPED};
		}
		sps = hs_xcalloc(h->nthreads + 1, sizeof *sps);
		for (size_t i = 0; i < h->nthreads; i++)
			if (h->threads[i].regs.sp)
				sps[c.nsps++] = h->threads[i].regs.sp;
		qsort(sps, c.nsps, sizeof *sps, cmp_u64);
	}
	qsort(o, no, sizeof *o, cmp_owned);
	c.sps = sps;

	for (size_t i = 0; i < s->n; i++) {
		const struct hs_smap *m = &s->v[i];
		if (m->shared) {
			p->bytes[HS_MEM_SHARED] += m->rss;
			continue;
		}
		bool anon = !m->path[0] || !strcmp(m->path, "[heap]") || !strcmp(m->path, "[stack]") ||
			    !strncmp(m->path, "[anon:", 6);
		if (!anon) {
			/* [vdso], [vvar]: the kernel's pages, shared by every process */
			p->bytes[m->path[0] == '[' ? HS_MEM_SHARED : HS_MEM_FILE] += m->rss;
			continue;
		}
		size_t lo = 0, hi = no; /* the first range ending past the mapping's start */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (o[mid].end <= m->start)
				lo = mid + 1;
			else
				hi = mid;
		}
		split(&c, m, o, no, lo);
	}
	p->malloc_bytes = p->bytes[HS_MEM_ARENAS] + p->bytes[HS_MEM_MMAPPED];
	p->outside_bytes = p->rss - p->malloc_bytes;

	/* Owners and the largest pieces of other anonymous memory. */
	for (size_t i = 0; i < c.nall; i++) {
		struct hs_region *r = &c.all[i];
		const struct hs_smap *m = NULL;
		for (size_t lo = 0, hi = s->n; lo < hi;) { /* its mapping */
			size_t mid = lo + (hi - lo) / 2;
			if (r->start < s->v[mid].start)
				hi = mid;
			else if (r->start >= s->v[mid].end)
				lo = mid + 1;
			else {
				m = &s->v[mid];
				break;
			}
		}
		char how[224];
		r->owner = m ? owner_of(&c, m, r->start, r->end, how, sizeof how) : "unknown";
		if (!m)
			snprintf(how, sizeof how, "no mapping");
		if (r->rss)
			add_owner(p, r->owner, how, r->rss);
	}
	qsort(p->owners, p->nowners, sizeof *p->owners, cmp_owner_bytes);
	qsort(c.all, c.nall, sizeof *c.all, cmp_region_rss);
	for (size_t i = 0; i < c.nall && c.all[i].rss; i++) {
		p->nregions_all++;
		if (p->nregions < HS_PROCESS_REGIONS)
			p->regions[p->nregions++] = c.all[i];
	}
	free(c.all);
	free(o);
	free(sps);
}
