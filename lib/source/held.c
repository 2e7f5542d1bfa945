/* held.c - a process another tracer holds: registers without ptrace. */
#include "source/held.h"

#include "source/pagemap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

bool hs_held_pc_sp(const char *text, struct hs_regs *r)
{
	/* The last two fields, whatever comes before them. */
	uint64_t v[9];
	int n = 0;
	const char *p = text;
	while (n < 9) {
		char *e;
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		v[n] = strtoull(p, &e, 0); /* "-1": all ones, as the syscall number no call has */
		if (e == p)
			return false; /* "running" */
		n++;
		p = e;
	}
	if (n != 3 && n != 9)
		return false;
	r->sp = v[n - 2];
	r->pc = v[n - 1];
	return r->pc != 0;
}

/* What is searched: a thread's stack mapping upward from its stack
 * pointer, up to the first control block (glibc puts the thread's own
 * right above its stack and static TLS: stacks may share one mapping, 2.43
 * guards them inside it), at most STACK_UP; the whole of each other
 * mapping up to MAX_SMALL (ld.so allocates the main thread's block, with
 * the static TLS below it, in a mapping of its own), and EDGE at each end
 * of a larger one (that mapping merged with a neighbour); at most MAX_TOTAL in
 * all (pages the target does not have cost no read). */
#define STACK_UP (16u << 20)
#define MAX_SMALL (4u << 20)
#define EDGE (1u << 20) /* of a larger one, each end */
#define MAX_TOTAL (1ull << 30)
#define CHUNK (64u << 10)

struct tcb {
	uint64_t addr;
	unsigned char b[1024]; /* the block's first bytes: tid lies within */
};

/* Adds the control blocks in [from, to) to found; only the first with
 * first. */
static void scan(struct hs_source *src, uint64_t from, uint64_t to, bool first, struct tcb **found, size_t *nfound,
		 uint64_t *budget)
{
	const size_t had = *nfound;
	unsigned char *buf = malloc(CHUNK);
	if (!buf)
		return;
	from &= ~(HS_PAGE_SIZE - 1);
	for (uint64_t at = from; at < to && *budget && !(first && *nfound > had); at += CHUNK) {
		size_t len = to - at < CHUNK ? (size_t)(to - at) : CHUNK;
		*budget = *budget > len ? *budget - len : 0;
		if (hs_read(src, at, buf, len) < 0) {
			/* a guard page in it (2.43 guards stacks inside their
			 * mapping): page by page, the unreadable ones as zeros */
			for (size_t pg = 0; pg < len; pg += HS_PAGE_SIZE) {
				size_t l = len - pg < HS_PAGE_SIZE ? len - pg : HS_PAGE_SIZE;
				if (hs_read(src, at + pg, buf + pg, l) < 0)
					memset(buf + pg, 0, l);
			}
		}
		/* tcbhead_t: tcb at 0 and self at hs_arch.tcb_self, both the
		 * block's own address; blocks are aligned to 64 */
		for (size_t o = 0; o + hs_arch.tcb_self + 8 <= len && !(first && *nfound > had); o += 64) {
			uint64_t tcb, self, addr = at + o;
			memcpy(&tcb, buf + o, 8);
			memcpy(&self, buf + o + hs_arch.tcb_self, 8);
			if (tcb != addr || self != addr)
				continue;
			struct tcb *t = realloc(*found, (*nfound + 1) * sizeof **found);
			if (!t)
				break;
			*found = t;
			t[*nfound].addr = addr;
			memset(t[*nfound].b, 0, sizeof t[*nfound].b);
			hs_read(src, addr, t[*nfound].b, sizeof t[*nfound].b); /* at a mapping's end: partial */
			(*nfound)++;
		}
	}
	free(buf);
}

static int cmp_tcb(const void *x, const void *y)
{
	const struct tcb *a = x, *b = y;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static int32_t tid_at(const struct tcb *c, size_t off)
{
	int32_t v;
	memcpy(&v, c->b + off, sizeof v);
	return v;
}

/* How many threads find their id at off in exactly one block; 0 when one
 * finds it in two (off is not where the id lies). */
static size_t tid_offset_fits(const struct tcb *c, size_t nc, const pid_t *tids, size_t n, size_t off)
{
	size_t fit = 0;
	for (size_t i = 0; i < n; i++) {
		size_t hits = 0;
		for (size_t j = 0; j < nc; j++)
			hits += tid_at(&c[j], off) == tids[i];
		if (hits > 1)
			return 0;
		fit += hits;
	}
	return fit;
}

size_t hs_held_thread_pointers(struct hs_source *src, const struct hs_maps *maps, const pid_t *tids,
			       const uint64_t *sps, size_t n, uint64_t *tps)
{
	struct tcb *c = NULL;
	size_t nc = 0;
	uint64_t budget = MAX_TOTAL;
	memset(tps, 0, n * sizeof *tps);
	for (size_t i = 0; i < maps->n; i++) {
		const struct hs_map *m = &maps->v[i];
		if (!hs_map_anonymous(m) || !(m->prot & PROT_WRITE))
			continue;
		bool stack = false;
		for (size_t k = 0; k < n; k++)
			if (sps[k] >= m->start && sps[k] < m->end) {
				stack = true;
				uint64_t to = m->end - sps[k] > STACK_UP ? sps[k] + STACK_UP : m->end;
				scan(src, sps[k], to, true, &c, &nc, &budget);
			}
		if (stack)
			continue;
		if (m->end - m->start <= MAX_SMALL) {
			scan(src, m->start, m->end, false, &c, &nc, &budget);
		} else {
			/* the kernel merges ld.so's small mapping with an
			 * anonymous neighbour: the block lies at one end */
			scan(src, m->start, m->start + EDGE, false, &c, &nc, &budget);
			scan(src, m->end - EDGE, m->end, false, &c, &nc, &budget);
		}
	}
	/* A block found from two threads' stack pointers (one whose own was
	 * not readable) counts once. */
	qsort(c, nc, sizeof *c, cmp_tcb);
	size_t u = 0;
	for (size_t j = 0; j < nc; j++)
		if (!u || c[u - 1].addr != c[j].addr)
			c[u++] = c[j];
	nc = u;
	/* Which word of the block is the thread id: the one struct pthread
	 * has had on this CPU (hs_arch.pthread_tid), else any that gives
	 * every thread exactly one block. */
	size_t off = hs_arch.pthread_tid, best = tid_offset_fits(c, nc, tids, n, off);
	for (size_t o = hs_arch.tcb_self + 8; o + 4 <= sizeof c->b && best < n; o += 4) {
		size_t fit = tid_offset_fits(c, nc, tids, n, o);
		if (fit > best) {
			best = fit;
			off = o;
		}
	}
	if (!best)
		off = 0;
	size_t got = 0;
	/* One thread and one block: glibc before 2.34 sets the main thread's
	 * tid only when libpthread is loaded. */
	if (!off && n == 1 && nc == 1) {
		tps[0] = c[0].addr;
		got = 1;
	}
	for (size_t i = 0; i < n && off; i++)
		for (size_t j = 0; j < nc && !tps[i]; j++)
			if (tid_at(&c[j], off) == tids[i]) {
				tps[i] = c[j].addr;
				got++;
			}
	free(c);
	return got;
}
