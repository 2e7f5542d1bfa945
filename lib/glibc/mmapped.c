/* mmapped.c - mmapped chunks, found by a page-granular search of the
 * target's anonymous memory and reconciled with mp_.
 *
 * Where they are. sysmalloc_mmap() gives each chunk a mapping of its own,
 * page-aligned, and writes the header at its start (+ the i386
 * correction): prev_size = that offset, size | IS_MMAPPED. Nothing else
 * records it. The kernel merges adjacent anonymous mappings with the same
 * protections and flags into one VMA, so /proc/PID/maps' boundaries are
 * not chunk boundaries: a chunk can sit behind the program's own mmap'd
 * table, behind a thread heap's first part, in the middle of a VMA. The
 * search looks at page boundaries and takes VMA starts only as the places
 * to look first.
 *
 * What it reads. Only pages pagemap says are present or swapped. A page of
 * private anonymous memory that is neither was never written since it was
 * mapped (or was given back by MADV_DONTNEED): it reads as zeros, so it
 * holds no header (glibc wrote every header it made; the page holding one
 * stays present or goes to swap), and reading it would make the kernel
 * give the target a page.
 *
 * How a candidate is checked. A header at a page start m (+ correction):
 * prev_size equals the correction (2.43: bit 0 may be MMAP_HP), the flag
 * bits are exactly IS_MMAPPED (sysmalloc_mmap, mremap_chunk and memalign
 * write size | IS_MMAPPED: PREV_INUSE and NON_MAIN_ARENA are clear), and
 * the mapping it implies, correction + size (+ 2.43's tail), is
 * page-aligned and lies inside one run of anonymous memory that no heap
 * and no chunk already found overlaps. memalign's chunks carry a second,
 * real header inside their mapping (see find_real below); there is one
 * finder for them, used wherever a mapping start is checked.
 *
 * How the set is chosen. Cheapest first: chunks at VMA starts and right
 * after each chunk found (where most are). If their count and bytes agree
 * with mp_.n_mmaps and mp_.mmapped_mem, the search ends there. Else each
 * stretch of anonymous memory no chunk explains yet is read, shortest
 * first, from both ends (search_gap), until they agree. Greedy acceptance
 * can be fooled by a page of the program's own data that passes every
 * check: alone it counts one chunk too many; at the start of a stretch
 * its claim can cover real chunks (too few). Either way the totals
 * disagree, and only then (and only when no thread was inside malloc,
 * which makes them disagree too) every candidate is collected, chunks'
 * insides included, and the non-overlapping subset whose count and bytes
 * agree with mp_ is chosen, earlier (outer) candidates first: a real
 * chunk's header comes before any data inside it, so a look-alike inside
 * a chunk loses to the chunk. What is left is a look-alike that makes
 * both totals come out right in place of a real chunk: it needs that
 * chunk's mapping size exactly (on 2.43, whose byte count glibc itself
 * lets drift, see agrees(), only the count). */
#include "glibc/mmapped.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PAGE HS_PAGE_SIZE
#define PS_WIN 4096   /* page states held: 32 KiB of pagemap, 16 MiB of memory */
#define BULK_PAGES 32 /* present pages read at once by the scan */
#define THP_PAGES 512 /* one 2 MiB transparent huge page */
/* The fallback collects candidates from at most this many present pages
 * (256 MiB) and tries at most this many choices. */
#define FALLBACK_PAGES ((uint64_t)1 << 16)
#define CHOICE_BUDGET ((uint64_t)1 << 20)

struct span {
	uint64_t start, end;
};

/* Page states from the source, a window at a time. */
struct pstates {
	uint64_t first; /* address of st[0]'s page */
	size_t n, grow; /* entries held; the next window's size */
	unsigned char st[PS_WIN];
};

struct search {
	struct hs_source *src;
	const struct hs_heap *h;
	struct hs_warnings *w;
	unsigned ssz;                 /* SIZE_SZ */
	uint64_t align, corr, tail, minsize, ps_mask;
	int err;                      /* errno that ended the search, 0 */
	struct pstates scan, scanb;   /* the scan's windows, up and down */
	struct pstates probe;         /* a candidate's */
	unsigned char *bulk;          /* BULK_PAGES pages */
	struct span *regions;         /* anonymous memory, heaps cut out, sorted */
	size_t nregions;
	uint64_t *anchors;            /* VMA and region starts, sorted */
	size_t nanchors;
	struct hs_mmchunk *v;         /* accepted */
	size_t n, cap;
	uint64_t bytes;
	uint64_t fallback_pages;      /* present pages the fallback looked at */
};

static uint64_t word(const unsigned char *b, size_t off, unsigned ssz)
{
	return hs_word_at(b, off, ssz);
}

static void fatal(struct search *s, int e, uint64_t addr, const char *what)
{
	if (s->err)
		return;
	s->err = e ? e : EIO;
	hs_warn(s->w, "mmapped chunks: search stopped at 0x%llx (%s: %s)", (unsigned long long)addr, what,
		strerror(s->err));
}

/* The state of the page at `page`, from a window of the states of [lo,
 * hi) that grows while the walk goes on in direction dir (+1 up, -1
 * down): a single look reads one small window, a long walk reads pagemap
 * PS_WIN entries at a time. -1 when pagemap cannot be read (the search
 * stops). */
static int page_state_dir(struct search *s, struct pstates *p, uint64_t page, uint64_t lo, uint64_t hi, int dir)
{
	if (p->n && page >= p->first && page - p->first < p->n * PAGE)
		return p->st[(page - p->first) / PAGE];
	bool seq = p->n && (dir > 0 ? page == p->first + p->n * PAGE : page + PAGE == p->first);
	p->grow = seq ? (p->grow < PS_WIN / 2 ? p->grow * 2 : PS_WIN) : 16;
	uint64_t room = dir > 0 ? (hi > page ? (hi - page + PAGE - 1) / PAGE : 1) : (page >= lo ? (page - lo) / PAGE + 1 : 1);
	size_t n = room < p->grow ? (size_t)room : p->grow;
	uint64_t first = dir > 0 ? page : page - (n - 1) * PAGE;
	if (hs_pages(s->src, first, n, p->st) < 0) {
		p->n = 0;
		fatal(s, errno, page, "page states");
		return -1;
	}
	p->first = first;
	p->n = n;
	return p->st[(page - first) / PAGE];
}

static int page_state(struct search *s, struct pstates *p, uint64_t page, uint64_t end)
{
	return page_state_dir(s, p, page, 0, end, 1);
}

/* Reads len bytes at addr, pages that hold no data as the zeros they are.
 * 0; 1 when the memory cannot be read (not a chunk); -1 when the search
 * must stop (the target is gone, heapscope is interrupted). */
static int held_read(struct search *s, struct pstates *p, uint64_t addr, unsigned char *buf, size_t len,
		     uint64_t end)
{
	while (len) {
		uint64_t page = addr & ~(PAGE - 1);
		size_t n = (size_t)(page + PAGE - addr);
		n = n < len ? n : len;
		int st = page_state(s, p, page, end);
		if (st < 0)
			return -1;
		if (st == HS_PAGE_NONE) {
			memset(buf, 0, n);
		} else if (hs_read(s->src, addr, buf, n) < 0) {
			if (errno == ESRCH || errno == EINTR) {
				fatal(s, errno, addr, "read");
				return -1;
			}
			return 1;
		}
		addr += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* A header sysmalloc_mmap could have written at a mapping's start: the
 * real one of a plain chunk, or the stale one memalign leaves. */
static bool start_header(const struct search *s, uint64_t ps, uint64_t sz)
{
	uint64_t size = sz & ~(uint64_t)HS_SIZE_BITS;
	return (ps & s->ps_mask) == s->corr && (sz & HS_SIZE_BITS) == HS_IS_MMAPPED && size >= s->minsize &&
	       !((s->corr + size + s->tail) & (PAGE - 1));
}

/* memalign's real header, off bytes into the mapping at m: prev_size is
 * off, chunk2mem is aligned, and the mapping it implies (off + size +
 * tail, what munmap_chunk would unmap) is page-aligned and ends by limit. */
static bool real_header(const struct search *s, uint64_t m, uint64_t off, uint64_t ps, uint64_t sz, uint64_t limit,
			struct hs_mmchunk *c)
{
	uint64_t size = sz & ~(uint64_t)HS_SIZE_BITS, len = off + size + s->tail;
	if ((ps & s->ps_mask) != off || (sz & HS_SIZE_BITS) != HS_IS_MMAPPED || ((off + 2 * s->ssz) & (s->align - 1)) ||
	    size < s->minsize || size > limit - m || (len & (PAGE - 1)) || len > limit - m)
		return false;
	*c = (struct hs_mmchunk){m + off, size, m, len};
	return true;
}

/* memalign over the mmap threshold: _int_memalign() takes a chunk of
 * nb + alignment + MINSIZE from sysmalloc_mmap() and writes a new header
 * at the first aligned place past the old one, prev_size = its offset in
 * the mapping (2.43's mmap_set_chunk the same). The old header stays at
 * the mapping's start, stale, and mremap keeps both the offset and the
 * stale header, so the real header lies within the stale one's claim
 * (span). Nothing writes between the two (the lead is never handed out):
 * the words after the stale header are zero up to the real prev_size, the
 * first non-zero word. In an ordinary chunk that word is user data.
 *
 * An alignment below a page puts the real header in the first page. A
 * larger one puts it 2 * SIZE_SZ before a page boundary, and every page
 * of the lead between holds nothing: untouched, not present, skipped for
 * free, unless a transparent huge page backs it (then present and zero).
 * So past the first page only the last 2 * SIZE_SZ bytes of present pages
 * are read, and the walk ends at the first that is not zero, or after a
 * huge page's worth of present zero ones (an ordinary chunk full of
 * zeros). Returns 1 with *c, 0 (no real header: ordinary), -1 (stop). */
static int find_real(struct search *s, uint64_t m, uint64_t span, uint64_t limit, struct hs_mmchunk *c)
{
	const unsigned w = s->ssz;
	unsigned char pg[PAGE];
	const uint64_t from = s->corr + 2 * w, lim0 = span < PAGE ? span : PAGE;
	uint64_t have = from;
	for (uint64_t off = from; off + w <= lim0; off += w) {
		if (off + 2 * w > have && have < lim0) {
			/* 64 bytes first: user data is mostly not zero early */
			uint64_t want = have == from ? from + 64 : lim0;
			want = want < lim0 ? want : lim0;
			int rc = held_read(s, &s->probe, m + have, pg + have, (size_t)(want - have), m + span);
			if (rc)
				return rc < 0 ? -1 : 0;
			have = want;
		}
		uint64_t ps = word(pg, (size_t)off, w);
		if (!ps)
			continue;
		if (off + 2 * w > have)
			return 0;
		return real_header(s, m, off, ps, word(pg, (size_t)(off + w), w), limit, c);
	}
	unsigned zero_present = 0;
	for (uint64_t k = PAGE; k + PAGE - 2 * w < span; k += PAGE) {
		int st = page_state(s, &s->probe, m + k, m + span);
		if (st < 0)
			return -1;
		if (st == HS_PAGE_NONE)
			continue;
		unsigned char spot[16];
		uint64_t off = k + PAGE - 2 * w;
		int rc = held_read(s, &s->probe, m + off, spot, 2 * w, m + span);
		if (rc)
			return rc < 0 ? -1 : 0;
		uint64_t ps = word(spot, 0, w), sz = word(spot, w, w);
		if (ps || sz)
			return real_header(s, m, off, ps, sz, limit, c);
		if (++zero_present >= THP_PAGES)
			return 0;
	}
	return 0;
}

/* Is there an mmapped chunk whose mapping starts at the page m and ends by
 * limit? 1 with *c, 0, -1 (stop). */
static int chunk_at(struct search *s, uint64_t m, uint64_t limit, struct hs_mmchunk *c)
{
	unsigned char hb[16];
	int rc = held_read(s, &s->probe, m + s->corr, hb, 2 * s->ssz, limit);
	if (rc)
		return rc < 0 ? -1 : 0;
	uint64_t ps = word(hb, 0, s->ssz), sz = word(hb, s->ssz, s->ssz);
	if (!start_header(s, ps, sz))
		return 0;
	uint64_t size = sz & ~(uint64_t)HS_SIZE_BITS, len = s->corr + size + s->tail;
	uint64_t span = len < limit - m ? len : limit - m;
	rc = find_real(s, m, span, limit, c);
	if (rc)
		return rc;
	if (len > limit - m)
		return 0;
	*c = (struct hs_mmchunk){m + s->corr, size, m, len};
	return 1;
}

static void accept(struct search *s, const struct hs_mmchunk *c)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = hs_xrealloc(s->v, s->cap, sizeof *s->v);
	}
	s->v[s->n++] = *c;
	s->bytes += c->map_len;
}

/* Do count and bytes agree with mp_? The bytes to the byte, except on
 * 2.43: its mremap_chunk adds new_size - size - offset to mmapped_mem,
 * size lacking the CHUNK_HDR_SZ tail, so mp_ runs ahead of the mappings
 * by the tail once per mremap ever made (munmap_chunk subtracts the true
 * size): any non-negative multiple of it. There only the count and
 * "not more than mp_" are checked. */
static bool agrees(const struct search *s, size_t n, uint64_t bytes)
{
	uint64_t mp = s->h->mp.mmapped_mem;
	if (n != (size_t)s->h->mp.n_mmaps)
		return false;
	if (!s->tail)
		return bytes == mp;
	return bytes <= mp && (mp - bytes) % s->tail == 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_span_len(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	uint64_t lx = x->end - x->start, ly = y->end - y->start;
	return lx < ly ? -1 : lx > ly ? 1 : cmp_span(a, b);
}

static int cmp_chunk(const void *a, const void *b)
{
	const struct hs_mmchunk *x = a, *y = b;
	if (x->map_start != y->map_start)
		return x->map_start < y->map_start ? -1 : 1;
	return x->map_len < y->map_len ? 1 : x->map_len > y->map_len ? -1 : 0;
}

/* The runs of adjacent anonymous mappings (a chunk may span several
 * VMAs: mprotect or madvise on part of it splits its mapping), minus the
 * heaps (a thread heap: its whole HEAP_MAX reservation), and the places
 * to look first: each VMA's start and each run's. */
static void build_regions(struct search *s)
{
	const struct hs_heap *h = s->h;
	const struct hs_maps *maps = &s->src->maps;
	uint64_t heap_max = hs_heap_max(h);
	size_t nheaps = 0;
	for (size_t i = 0; i < h->narenas; i++)
		nheaps += h->arenas[i].nheaps;
	struct span *heaps = hs_xcalloc(nheaps + 1, sizeof *heaps);
	nheaps = 0;
	for (size_t i = 0; i < h->narenas; i++)
		for (size_t k = 0; k < h->arenas[i].nheaps; k++) {
			const struct hs_heapseg *g = &h->arenas[i].heaps[k];
			heaps[nheaps++] = h->arenas[i].main ? (struct span){g->base ? g->base : g->start, g->end}
							    : (struct span){g->info, g->info + heap_max};
		}
	qsort(heaps, nheaps, sizeof *heaps, cmp_span);

	struct span *runs = hs_xcalloc(maps->n + 1, sizeof *runs);
	size_t nruns = 0;
	s->anchors = hs_xcalloc(2 * maps->n + 2 * nheaps + 1, sizeof *s->anchors);
	for (size_t i = 0; i < maps->n; i++) {
		const struct hs_map *m = &maps->v[i];
		if (!hs_map_anonymous(m) || m->end <= m->start)
			continue;
		if (nruns && runs[nruns - 1].end == m->start)
			runs[nruns - 1].end = m->end;
		else
			runs[nruns++] = (struct span){m->start, m->end};
		s->anchors[s->nanchors++] = m->start;
	}
	/* cut the heaps out */
	s->regions = hs_xcalloc(nruns + nheaps + 1, sizeof *s->regions);
	size_t hk = 0;
	for (size_t i = 0; i < nruns; i++) {
		uint64_t lo = runs[i].start;
		while (hk < nheaps && heaps[hk].end <= lo)
			hk++;
		for (size_t k = hk; k < nheaps && heaps[k].start < runs[i].end && lo < runs[i].end; k++) {
			if (heaps[k].start > lo)
				s->regions[s->nregions++] = (struct span){lo, heaps[k].start};
			lo = heaps[k].end > lo ? heaps[k].end : lo;
		}
		if (lo < runs[i].end)
			s->regions[s->nregions++] = (struct span){lo, runs[i].end};
	}
	for (size_t i = 0; i < s->nregions; i++)
		s->anchors[s->nanchors++] = s->regions[i].start;
	qsort(s->anchors, s->nanchors, sizeof *s->anchors, cmp_u64);
	free(runs);
	free(heaps);
}

static const struct span *region_of(const struct search *s, uint64_t addr)
{
	size_t lo = 0, hi = s->nregions;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < s->regions[mid].start)
			hi = mid;
		else if (addr >= s->regions[mid].end)
			lo = mid + 1;
		else
			return &s->regions[mid];
	}
	return NULL;
}

/* Chunks at the places to look first, each followed by the chunks right
 * after it. Anchors and chains only go up, so what is accepted stays in
 * address order. */
static void anchored(struct search *s)
{
	uint64_t done = 0; /* accepted up to here */
	for (size_t i = 0; i < s->nanchors && !s->err; i++) {
		uint64_t pos = s->anchors[i];
		const struct span *r = region_of(s, pos);
		if (!r || pos < done || (pos & (PAGE - 1)))
			continue;
		while (pos < r->end) {
			struct hs_mmchunk c;
			if (chunk_at(s, pos, r->end, &c) <= 0)
				break;
			accept(s, &c);
			pos = done = c.map_start + c.map_len;
		}
	}
}

/* The next run of present pages from `at` in direction dir, past the
 * pages that hold nothing, not beyond `bound` (dir +1: [at, bound); -1:
 * [bound, at)), at most BULK_PAGES of them, read into s->bulk (a page
 * that cannot be read is left zero). Returns how many (0: none before
 * the bound), *first the lowest; -1: stop. */
static long read_run(struct search *s, struct pstates *ps, int dir, uint64_t at, uint64_t bound, uint64_t *first)
{
	uint64_t lo = dir > 0 ? at : bound, hi = dir > 0 ? bound : at;
	uint64_t p = at; /* dir +1: the run's first page; -1: the end of the run */
	for (;;) {
		if (dir > 0 ? p >= hi : p <= lo) {
			*first = p;
			return 0;
		}
		int st = page_state_dir(s, ps, dir > 0 ? p : p - PAGE, lo, hi, dir);
		if (st < 0)
			return -1;
		if (st != HS_PAGE_NONE)
			break;
		p = dir > 0 ? p + PAGE : p - PAGE;
	}
	size_t n = 1;
	while (n < BULK_PAGES) {
		if (dir > 0 ? p + n * PAGE >= hi : p - lo < (n + 1) * PAGE)
			break;
		uint64_t q = dir > 0 ? p + n * PAGE : p - (n + 1) * PAGE;
		int st = page_state_dir(s, ps, q, lo, hi, dir);
		if (st < 0)
			return -1;
		if (st == HS_PAGE_NONE)
			break;
		n++;
	}
	*first = dir > 0 ? p : p - n * PAGE;
	if (hs_read(s->src, *first, s->bulk, n * PAGE) < 0) {
		if (errno == ESRCH || errno == EINTR) {
			fatal(s, errno, *first, "read");
			return -1;
		}
		/* some page of it cannot be read: the headers one by one */
		memset(s->bulk, 0, n * PAGE);
		for (size_t i = 0; i < n; i++)
			if (hs_read(s->src, *first + i * PAGE + s->corr, s->bulk + i * PAGE + s->corr, 2 * s->ssz) < 0 &&
			    (errno == ESRCH || errno == EINTR)) {
				fatal(s, errno, *first + i * PAGE, "read");
				return -1;
			}
	}
	return (long)n;
}

static bool bulk_header(const struct search *s, size_t i)
{
	const unsigned char *b = s->bulk + i * PAGE + s->corr;
	return start_header(s, word(b, 0, s->ssz), word(b, s->ssz, s->ssz));
}

/* Looks for chunks in [lo, hi), a stretch no chunk found so far covers
 * and that starts where a chunk was looked for already (a VMA start, the
 * end of a chunk): a chunk in it lies behind other memory. Present pages
 * are read from both ends in turn, a run at a time, so the cost is about
 * twice the smaller of what lies before a chunk and what lies after it
 * (a chunk behind a 1 GiB table at the end of a VMA costs its own pages,
 * not the table's). Chunks found from below are skipped whole; a claim
 * must end by the lowest chunk found from above. True when the totals
 * agree (the search ends). */
static bool search_gap(struct search *s, uint64_t lo, uint64_t hi)
{
	uint64_t f = lo, b = hi, top = hi, first;
	while (f < b && !s->err) {
		long n = read_run(s, &s->scan, 1, f, b, &first);
		if (n <= 0)
			return false;
		uint64_t next = first + (uint64_t)n * PAGE;
		for (long i = 0; i < n; i++) {
			struct hs_mmchunk c;
			int rc = bulk_header(s, (size_t)i) ? chunk_at(s, first + (uint64_t)i * PAGE, top, &c) : 0;
			if (rc < 0)
				return false;
			if (rc > 0) {
				accept(s, &c);
				if (agrees(s, s->n, s->bytes))
					return true;
				next = c.map_start + c.map_len;
				break;
			}
		}
		f = next;
		if (f >= b)
			break;
		n = read_run(s, &s->scanb, -1, b, f, &first);
		if (n <= 0)
			return false;
		for (long i = n; i-- > 0;) {
			struct hs_mmchunk c;
			int rc = bulk_header(s, (size_t)i) ? chunk_at(s, first + (uint64_t)i * PAGE, top, &c) : 0;
			if (rc < 0)
				return false;
			if (rc > 0) {
				accept(s, &c);
				if (agrees(s, s->n, s->bytes))
					return true;
				top = c.map_start;
			}
		}
		b = first;
	}
	return false;
}

/* Every candidate in [lo, hi), chunks' insides included, for the
 * fallback; false when the fallback's budget ran out. */
static bool collect(struct search *s, uint64_t lo, uint64_t hi, struct hs_mmchunk **cand, size_t *ncand, size_t *cap)
{
	uint64_t first;
	for (uint64_t p = lo; p < hi && !s->err;) {
		long n = read_run(s, &s->scan, 1, p, hi, &first);
		if (n <= 0)
			return n == 0;
		if ((s->fallback_pages += (uint64_t)n) > FALLBACK_PAGES)
			return false;
		for (long i = 0; i < n; i++) {
			struct hs_mmchunk c;
			int rc = bulk_header(s, (size_t)i) ? chunk_at(s, first + (uint64_t)i * PAGE, hi, &c) : 0;
			if (rc < 0)
				return false;
			if (rc > 0) {
				if (*ncand == *cap) {
					*cap = *cap ? *cap * 2 : 16;
					*cand = hs_xrealloc(*cand, *cap, sizeof **cand);
				}
				(*cand)[(*ncand)++] = c;
			}
		}
		p = first + (uint64_t)n * PAGE;
	}
	return !s->err;
}

/* The stretches of anonymous memory no accepted chunk covers, shortest
 * first (a chunk behind a small table is found before a huge one is
 * read); searched until the totals agree. */
static void scan_gaps(struct search *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof *s->v, cmp_chunk);
	struct span *gaps = hs_xcalloc(s->nregions + s->n + 1, sizeof *gaps);
	size_t ngaps = 0, k = 0;
	for (size_t i = 0; i < s->nregions; i++) {
		uint64_t lo = s->regions[i].start;
		for (; k < s->n && s->v[k].map_start < s->regions[i].end; k++) {
			if (s->v[k].map_start > lo)
				gaps[ngaps++] = (struct span){lo, s->v[k].map_start};
			lo = s->v[k].map_start + s->v[k].map_len;
		}
		if (lo < s->regions[i].end)
			gaps[ngaps++] = (struct span){lo, s->regions[i].end};
	}
	qsort(gaps, ngaps, sizeof *gaps, cmp_span_len);
	for (size_t i = 0; i < ngaps && !s->err; i++)
		if (search_gap(s, gaps[i].start, gaps[i].end))
			break;
	free(gaps);
}

/* Candidates c[0..n) sorted by start: the first non-overlapping subset,
 * earlier candidates taken before later ones, whose count and bytes agree
 * with mp_. Iterative backtracking (n can be thousands), bounded.
 * Returns 1 with take[] set, 0 if there is none, -1 if the budget ran out. */
static int choose(const struct search *s, const struct hs_mmchunk *c, size_t n, unsigned char *take)
{
	const size_t want = (size_t)s->h->mp.n_mmaps;
	const uint64_t mp = s->h->mp.mmapped_mem;
	/* the state before deciding candidate i */
	size_t *cnt = hs_xcalloc(n + 1, sizeof *cnt);
	uint64_t *byt = hs_xcalloc(n + 1, sizeof *byt), *end = hs_xcalloc(n + 1, sizeof *end);
	uint64_t *rest = hs_xcalloc(n + 1, sizeof *rest); /* bytes of c[i..n) */
	for (size_t i = n; i-- > 0;)
		rest[i] = rest[i + 1] + c[i].map_len;
	int found = 0;
	uint64_t budget = CHOICE_BUDGET;
	size_t i = 0;
	memset(take, 0, n);
	/* take[i]: 0 not decided, 1 taken, 2 left out */
	for (;;) {
		bool back = false;
		if (!budget--) {
			found = -1;
			break;
		}
		if (i == n) {
			if (agrees(s, cnt[n], byt[n])) {
				found = 1;
				break;
			}
			back = true;
		} else if (take[i] == 0) {
			/* cannot reach the count, or (exact bytes) the bytes */
			if (cnt[i] + (n - i) < want || (!s->tail && byt[i] + rest[i] < mp)) {
				back = true;
			} else {
				take[i] = 1;
				if (c[i].map_start >= end[i] && cnt[i] < want && byt[i] + c[i].map_len <= mp) {
					cnt[i + 1] = cnt[i] + 1;
					byt[i + 1] = byt[i] + c[i].map_len;
					end[i + 1] = c[i].map_start + c[i].map_len;
					i++;
					continue;
				}
			}
		}
		if (!back && i < n && take[i] == 1) {
			take[i] = 2;
			cnt[i + 1] = cnt[i];
			byt[i + 1] = byt[i];
			end[i + 1] = end[i];
			i++;
			continue;
		}
		/* back up to the last candidate taken, and leave it out */
		if (i < n)
			take[i] = 0;
		while (i > 0 && take[i - 1] == 2)
			take[--i] = 0;
		if (i == 0)
			break;
		i--; /* take[i] == 1: the next pass leaves it out */
	}
	free(cnt);
	free(byt);
	free(end);
	free(rest);
	return found;
}

/* The totals disagree and no thread was inside malloc: collect every
 * candidate in the anonymous memory, chunks' insides included, and choose
 * the subset that agrees with mp_. Replaces the accepted set when one
 * does; true then. */
static bool fallback(struct search *s)
{
	struct hs_mmchunk *cand = NULL;
	size_t ncand = 0, cap = 0;
	bool all = true;
	for (size_t i = 0; i < s->nregions && all; i++)
		all = collect(s, s->regions[i].start, s->regions[i].end, &cand, &ncand, &cap);
	bool ok = false;
	if (all && ncand) {
		qsort(cand, ncand, sizeof *cand, cmp_chunk);
		unsigned char *take = hs_xcalloc(ncand, 1);
		int rc = choose(s, cand, ncand, take);
		if (rc > 0) {
			s->n = 0;
			s->bytes = 0;
			for (size_t i = 0; i < ncand; i++)
				if (take[i] == 1)
					accept(s, &cand[i]);
			ok = true;
		} else if (rc < 0) {
			hs_warn(s->w, "mmapped chunks: %zu candidates, too many ways to choose among them", ncand);
		}
		free(take);
	} else if (s->fallback_pages > FALLBACK_PAGES) {
		hs_warn(s->w, "mmapped chunks: gave up choosing among candidates after %llu MiB of anonymous memory",
			(unsigned long long)(FALLBACK_PAGES * PAGE >> 20));
	}
	free(cand);
	return ok;
}

void hs_mmapped_find(struct hs_source *src, struct hs_heap *h, struct hs_warnings *w)
{
	const struct hs_layout *l = h->layout;
	if (h->mp.n_mmaps <= 0)
		return;
	struct search s = {
		.src = src,
		.h = h,
		.w = w,
		.ssz = l->size_sz,
		.align = l->align,
		/* i386: MALLOC_ALIGNMENT 16 > CHUNK_HDR_SZ 8, so sysmalloc_mmap
		 * puts the chunk 8 bytes into its mapping and records that in
		 * prev_size. */
		.corr = l->align > 2 * l->size_sz ? l->align - 2 * l->size_sz : 0,
		.tail = l->mmap_tail,
		.minsize = 4 * (uint64_t)l->size_sz,
		/* 2.43: prev_size bit 0 is MMAP_HP (a huge-page mapping) */
		.ps_mask = l->vmajor > 2 || l->vminor >= 43 ? ~(uint64_t)1 : ~(uint64_t)0,
	};
	s.bulk = hs_xcalloc(BULK_PAGES, PAGE);
	build_regions(&s);
	anchored(&s);
	if (!s.err && !agrees(&s, s.n, s.bytes))
		scan_gaps(&s);
	bool ok = agrees(&s, s.n, s.bytes);
	const struct hs_thread *busy = NULL;
	for (size_t i = 0; i < h->nthreads && !busy; i++)
		if (h->threads[i].in_malloc)
			busy = &h->threads[i];
	if (!ok && !s.err && !busy)
		ok = fallback(&s);
	if (s.n > 1)
		qsort(s.v, s.n, sizeof *s.v, cmp_chunk);
	h->mmapped = s.v;
	h->nmmapped = s.n;
	if (!ok && !s.err) {
		hs_warn(w, "mmapped chunks: found %zu (%llu bytes) in the maps, mp_ counts %d (%llu bytes)", s.n,
			(unsigned long long)s.bytes, h->mp.n_mmaps, (unsigned long long)h->mp.mmapped_mem);
		if (busy)
			hs_warn(w, "mmapped chunks: thread %d was inside %s, which maps, remaps and unmaps them",
				(int)busy->tid, busy->malloc_fn ? busy->malloc_fn : "the allocator");
	}
	free(s.bulk);
	free(s.regions);
	free(s.anchors);
}
