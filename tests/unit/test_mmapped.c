/* test_mmapped.c - the mmapped-chunk search on address spaces laid out by
 * hand: chunks anywhere in a merged anonymous VMA (behind the program's
 * own memory, beside a thread heap, in named mappings), memaligned ones
 * (before and after mremap), a program page that looks like a header
 * (rejected), pages that hold no data (never read), 2.43's tail and
 * accounting drift, and a real disagreement with mp_ (a warning that
 * names a thread inside malloc).
 *
 * The expected chunks are written down from glibc's own rules, not from
 * the search's: sysmalloc_mmap puts the header at the mapping's start
 * (prev_size 0, size = mapping | IS_MMAPPED; 2.43: mapping - 16), and
 * _int_memalign puts the real one at the first aligned place, prev_size
 * = its offset, leaving the first header stale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "arch.h"
#include "glibc/mmapped.h"
#include "source/image.h"

#define PG 4096ull
#define A0 0x7f0000000000ull /* an anonymous run */

/* A memory source over an image whose pages() says which pages hold no
 * data; any read that touches such a page is counted (it would grow a
 * live target). */
struct tsrc {
	struct hs_source src;
	struct hs_image im;
	struct {
		uint64_t lo, hi;
	} none[16];
	size_t nnone;
	unsigned bad_reads, reads;
	uint64_t bytes_read;
};

static bool is_none(const struct tsrc *t, uint64_t page)
{
	for (size_t i = 0; i < t->nnone; i++)
		if (page >= t->none[i].lo && page < t->none[i].hi)
			return true;
	return false;
}

static int t_read(struct hs_source *src, uint64_t addr, void *buf, size_t len)
{
	struct tsrc *t = (struct tsrc *)src;
	t->reads++;
	t->bytes_read += len;
	for (uint64_t p = addr & ~(PG - 1); p < addr + len; p += PG)
		if (is_none(t, p))
			t->bad_reads++;
	return t->im.src.read(&t->im.src, addr, buf, len);
}

static int t_pages(struct hs_source *src, uint64_t addr, size_t n, unsigned char *st)
{
	struct tsrc *t = (struct tsrc *)src;
	for (size_t i = 0; i < n; i++)
		st[i] = is_none(t, addr + i * PG) ? HS_PAGE_NONE : HS_PAGE_PRESENT;
	return 0;
}

static void t_init(struct tsrc *t)
{
	memset(t, 0, sizeof *t);
	hs_image_init(&t->im);
	t->src.read = t_read;
	t->src.pages = t_pages;
}

static unsigned char *t_add(struct tsrc *t, uint64_t addr, size_t len, const char *path)
{
	unsigned char *b = hs_image_add(&t->im, addr, len, path);
	t->src.maps = t->im.src.maps; /* shared, freed with the image */
	return b;
}

static void t_none(struct tsrc *t, uint64_t lo, uint64_t hi)
{
	t->none[t->nnone].lo = lo;
	t->none[t->nnone++].hi = hi;
}

static void t_free(struct tsrc *t)
{
	hs_image_free(&t->im);
}

static void put(struct tsrc *t, uint64_t addr, uint64_t v)
{
	void *p = hs_image_at(&t->im, addr, 8);
	assert_non_null(p);
	memcpy(p, &v, 8);
}

/* Program data: a non-zero pattern over [a, a + len) with no word that
 * looks like a header. */
static void data(struct tsrc *t, uint64_t a, uint64_t len)
{
	for (uint64_t x = a; x < a + len; x += 8)
		put(t, x, 0x5a5a5a5a00000001ull ^ x);
}

/* sysmalloc_mmap's chunk over [m, m + len): header, then user data */
static void plain(struct tsrc *t, const struct hs_layout *l, uint64_t m, uint64_t len)
{
	put(t, m, 0);
	put(t, m + 8, (len - l->mmap_tail) | 2);
	data(t, m + 16, len - 16);
}

/* _int_memalign's chunk: a mapping [m, m + len) whose first header (the
 * stale one) claims stale_len; the real header at m + off. The lead
 * between holds nothing; its whole pages are not present. */
static void aligned(struct tsrc *t, const struct hs_layout *l, uint64_t m, uint64_t len, uint64_t off,
		    uint64_t stale_len)
{
	put(t, m, 0);
	put(t, m + 8, (stale_len - l->mmap_tail) | 2);
	uint64_t first = (m + PG), last = (m + off) & ~(PG - 1);
	if (last > first)
		t_none(t, first, last);
	put(t, m + off, off);
	put(t, m + off + 8, (len - off - l->mmap_tail) | 2);
	data(t, m + off + 16, len - off - 16);
}

struct run {
	struct hs_layout l;
	struct hs_heap h;
	struct hs_warnings w;
};

static void run_init(struct run *r, int vminor, int n_mmaps, uint64_t mmapped_mem)
{
	memset(r, 0, sizeof *r);
	assert_int_equal(hs_arch_layout(2, vminor, &r->l), 0);
	r->h.layout = &r->l;
	r->h.mp.n_mmaps = n_mmaps;
	r->h.mp.mmapped_mem = mmapped_mem;
}

static void run_free(struct run *r)
{
	hs_heap_free(&r->h);
	hs_warnings_free(&r->w);
}

static void expect(const struct run *r, size_t i, uint64_t addr, uint64_t size, uint64_t map_start, uint64_t map_len)
{
	assert_true(i < r->h.nmmapped);
	assert_int_equal(r->h.mmapped[i].addr, addr);
	assert_int_equal(r->h.mmapped[i].size, size);
	assert_int_equal(r->h.mmapped[i].map_start, map_start);
	assert_int_equal(r->h.mmapped[i].map_len, map_len);
}

static void no_warnings(const struct run *r)
{
	for (size_t i = 0; i < r->w.n; i++)
		print_error("warning: %s\n", r->w.v[i]);
	assert_int_equal(r->w.n, 0);
}

/* One VMA (as the kernel merges them): the program's table, a chunk, the
 * program's table, two chunks back to back, a table at the end. The old
 * search looked only at the VMA's start and saw none of them. */
static void behind_program_memory(void **state)
{
	(void)state;
	struct tsrc t;
	struct run r;
	t_init(&t);
	t_add(&t, A0, 0x100000, "");
	run_init(&r, 36, 3, 0x21000 + 0x32000 + 0x40000);
	data(&t, A0, 0x3000);
	plain(&t, &r.l, A0 + 0x3000, 0x21000);
	data(&t, A0 + 0x24000, 0x5000);
	plain(&t, &r.l, A0 + 0x29000, 0x32000);
	plain(&t, &r.l, A0 + 0x5b000, 0x40000);
	data(&t, A0 + 0x9b000, 0x65000);
	hs_mmapped_find(&t.src, &r.h, &r.w);
	no_warnings(&r);
	assert_int_equal(r.h.nmmapped, 3);
	expect(&r, 0, A0 + 0x3000, 0x21000, A0 + 0x3000, 0x21000);
	expect(&r, 1, A0 + 0x29000, 0x32000, A0 + 0x29000, 0x32000);
	expect(&r, 2, A0 + 0x5b000, 0x40000, A0 + 0x5b000, 0x40000);
	assert_int_equal(t.bad_reads, 0);
	run_free(&r);
	t_free(&t);
}

/* posix_memalign(64 KiB, 1 MiB): the real header 16 bytes before a 64 KiB
 * boundary, in a later page than the stale one; then the same after a
 * mremap grew it (the stale header claims less than the mapping) and
 * after one shrank it (the stale header claims more, past the run's end,
 * into the next mapping's memory). */
static void memaligned(void **state)
{
	(void)state;
	struct tsrc t;
	struct run r;
	run_init(&r, 36, 3, 0);
	t_init(&t);
	t_add(&t, A0, 0x400000, "");
	/* as made: nb 0x100010 + 0x10000 + 0x20 + 8 -> 0x111000 */
	uint64_t m1 = A0 + 0x8000, off1 = 0x10000 - 0x8000 - 16;
	aligned(&t, &r.l, m1, 0x111000, off1, 0x111000);
	/* grown by mremap in place to 0x180000 */
	uint64_t m2 = A0 + 0x119000, off2 = 0x20000 - 0x19000 - 16;
	aligned(&t, &r.l, m2, 0x180000, off2, 0x111000);
	/* shrunk to 0x30000 at the run's end: the stale header claims 0x111000 */
	uint64_t m3 = A0 + 0x400000 - 0x30000, off3 = 0x10000 - 16;
	aligned(&t, &r.l, m3, 0x30000, off3, 0x111000);
	data(&t, A0 + 0x299000, 0x400000 - 0x30000 - 0x299000);
	r.h.mp.mmapped_mem = 0x111000 + 0x180000 + 0x30000;
	hs_mmapped_find(&t.src, &r.h, &r.w);
	no_warnings(&r);
	assert_int_equal(r.h.nmmapped, 3);
	expect(&r, 0, m1 + off1, 0x111000 - off1, m1, 0x111000);
	expect(&r, 1, m2 + off2, 0x180000 - off2, m2, 0x180000);
	expect(&r, 2, m3 + off3, 0x30000 - off3, m3, 0x30000);
	assert_int_equal(t.bad_reads, 0);
	run_free(&r);
	t_free(&t);
}

/* A page of the program's own data that passes every check a header can
 * get (prev_size 0, exactly IS_MMAPPED, a page-multiple size inside the
 * run): once alone (taking it would count one chunk too many), once at
 * the start of the program's table where its claim covers two real
 * chunks (taking it would hide them). Both totals of mp_ rule it out. */
static void fake_header_rejected(void **state)
{
	(void)state;
	for (int where = 0; where < 2; where++) {
		struct tsrc t;
		struct run r;
		run_init(&r, 36, 2, 0x21000 + 0x11000);
		t_init(&t);
		t_add(&t, A0, 0x200000, "");
		data(&t, A0, 0x200000);
		/* alone before the chunks, or covering them */
		uint64_t fake = where == 0 ? A0 + 0x8000 : A0, claim = where == 0 ? 0x10000 : 0x80000;
		put(&t, fake, 0);
		put(&t, fake + 8, claim | 2);
		plain(&t, &r.l, A0 + 0x20000, 0x21000);
		plain(&t, &r.l, A0 + 0x41000, 0x11000);
		hs_mmapped_find(&t.src, &r.h, &r.w);
		no_warnings(&r);
		assert_int_equal(r.h.nmmapped, 2);
		expect(&r, 0, A0 + 0x20000, 0x21000, A0 + 0x20000, 0x21000);
		expect(&r, 1, A0 + 0x41000, 0x11000, A0 + 0x41000, 0x11000);
		run_free(&r);
		t_free(&t);
	}
}

/* Named anonymous memory is anonymous memory: a chunk in glibc's own
 * "[anon: glibc: malloc]" (glibc.mem.decorate_maps) and one behind the
 * program's prctl-named table. A file mapping and a shared one are not. */
static void named_mappings(void **state)
{
	(void)state;
	struct tsrc t;
	struct run r;
	run_init(&r, 41, 2, 0x21000 + 0x22000);
	t_init(&t);
	t_add(&t, A0, 0x21000, "[anon: glibc: malloc]");
	plain(&t, &r.l, A0, 0x21000);
	t_add(&t, A0 + 0x100000, 0x40000, "[anon:my table]");
	data(&t, A0 + 0x100000, 0x4000);
	plain(&t, &r.l, A0 + 0x104000, 0x22000);
	data(&t, A0 + 0x126000, 0x40000 - 0x26000);
	unsigned char *f = t_add(&t, A0 + 0x200000, 0x21000, "/usr/lib/libfoo.so");
	memcpy(f + 8, &(uint64_t){0x21000 | 2}, 8); /* a header look-alike in a file */
	hs_mmapped_find(&t.src, &r.h, &r.w);
	no_warnings(&r);
	assert_int_equal(r.h.nmmapped, 2);
	expect(&r, 0, A0, 0x21000, A0, 0x21000);
	expect(&r, 1, A0 + 0x104000, 0x22000, A0 + 0x104000, 0x22000);
	run_free(&r);
	t_free(&t);
}

/* A chunk mapped right below a thread heap shares the heap's read/write
 * VMA: the heap is cut out, the chunk is still found; the heap's own
 * chunk headers are not candidates. */
static void beside_a_thread_heap(void **state)
{
	(void)state;
	struct tsrc t;
	struct run r;
	run_init(&r, 36, 1, 0x21000);
	t_init(&t);
	const uint64_t heap = 0x7f1004000000ull;
	t_add(&t, heap - 0x21000, 0x21000 + 0x84000, "");
	plain(&t, &r.l, heap - 0x21000, 0x21000);
	put(&t, heap + 0x1000, 0);
	put(&t, heap + 0x1008, 0x10000 | 2); /* inside the heap: never a candidate */
	struct hs_arena a = {.index = 1, .main = false};
	struct hs_heapseg seg = {.info = heap, .base = heap, .start = heap + 0x8e0, .end = heap + 0x84000};
	a.heaps = hs_xcalloc(1, sizeof seg);
	a.heaps[0] = seg;
	a.nheaps = 1;
	r.h.arenas = hs_xcalloc(1, sizeof a);
	r.h.arenas[0] = a;
	r.h.narenas = 1;
	hs_mmapped_find(&t.src, &r.h, &r.w);
	no_warnings(&r);
	assert_int_equal(r.h.nmmapped, 1);
	expect(&r, 0, heap - 0x21000, 0x21000, heap - 0x21000, 0x21000);
	run_free(&r);
	t_free(&t);
}

/* A 256 MiB neighbour that was never touched, right after a chunk, and a
 * chunk behind it: found without reading a page that holds no data. */
static void untouched_neighbour_not_read(void **state)
{
	(void)state;
	struct tsrc t;
	struct run r;
	run_init(&r, 36, 2, 0x21000 + 0x21000);
	t_init(&t);
	const uint64_t big = 256ull << 20;
	t_add(&t, A0, 0x21000 + big + 0x21000, "");
	plain(&t, &r.l, A0, 0x21000);
	t_none(&t, A0 + 0x21000, A0 + 0x21000 + big);
	plain(&t, &r.l, A0 + 0x21000 + big, 0x21000);
	hs_mmapped_find(&t.src, &r.h, &r.w);
	no_warnings(&r);
	assert_int_equal(r.h.nmmapped, 2);
	expect(&r, 1, A0 + 0x21000 + big, 0x21000, A0 + 0x21000 + big, 0x21000);
	assert_int_equal(t.bad_reads, 0);
	assert_true(t.reads < 64);
	run_free(&r);
	t_free(&t);
}

/* A chunk at the end of a VMA behind 64 MiB of the program's touched
 * memory: the search reads from both ends of what is unexplained, so it
 * costs about the chunk's own pages, not the table's. */
static void behind_a_big_table(void **state)
{
	(void)state;
	struct tsrc t;
	struct run r;
	run_init(&r, 36, 1, 0x21000);
	t_init(&t);
	const uint64_t big = 64ull << 20;
	t_add(&t, A0, big + 0x21000, "");
	data(&t, A0, big);
	plain(&t, &r.l, A0 + big, 0x21000);
	hs_mmapped_find(&t.src, &r.h, &r.w);
	no_warnings(&r);
	assert_int_equal(r.h.nmmapped, 1);
	expect(&r, 0, A0 + big, 0x21000, A0 + big, 0x21000);
	assert_true(t.bytes_read < 4ull << 20);
	run_free(&r);
	t_free(&t);
}

/* 2.43: the mapping is size + 16 (munmap_chunk adds CHUNK_HDR_SZ), a
 * huge-page chunk has bit 0 of prev_size set (MMAP_HP), and mp_ runs 16
 * bytes ahead of the mappings per mremap: not a disagreement. */
static void glibc_243(void **state)
{
	(void)state;
	struct tsrc t;
	struct run r;
	run_init(&r, 43, 2, 0x21000 + 0x200000 + 2 * 16);
	t_init(&t);
	t_add(&t, A0, 0x400000, "");
	data(&t, A0, 0x4000);
	plain(&t, &r.l, A0 + 0x4000, 0x21000);
	plain(&t, &r.l, A0 + 0x200000, 0x200000);
	put(&t, A0 + 0x200000, 1); /* MMAP_HP */
	hs_mmapped_find(&t.src, &r.h, &r.w);
	no_warnings(&r);
	assert_int_equal(r.h.nmmapped, 2);
	expect(&r, 0, A0 + 0x4000, 0x21000 - 16, A0 + 0x4000, 0x21000);
	expect(&r, 1, A0 + 0x200000, 0x200000 - 16, A0 + 0x200000, 0x200000);
	run_free(&r);
	t_free(&t);
}

/* mp_ counts a chunk the maps do not hold: a warning with both counts,
 * the chunks found still listed, and the thread inside malloc named. */
static void disagreement_is_a_warning(void **state)
{
	(void)state;
	struct tsrc t;
	struct run r;
	run_init(&r, 36, 2, 0x21000 + 0x30000);
	t_init(&t);
	t_add(&t, A0, 0x21000, "");
	plain(&t, &r.l, A0, 0x21000);
	struct hs_thread th = {.tid = 4242, .in_malloc = true, .malloc_fn = "__libc_realloc"};
	r.h.threads = hs_xcalloc(1, sizeof th);
	r.h.threads[0] = th;
	r.h.nthreads = 1;
	hs_mmapped_find(&t.src, &r.h, &r.w);
	assert_int_equal(r.h.nmmapped, 1);
	assert_int_equal(r.w.n, 2);
	assert_string_equal(r.w.v[0], "mmapped chunks: found 1 (135168 bytes) in the maps, mp_ counts 2 (331776 bytes)");
	assert_non_null(strstr(r.w.v[1], "thread 4242 was inside __libc_realloc"));
	run_free(&r);
	t_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(behind_program_memory),
		cmocka_unit_test(memaligned),
		cmocka_unit_test(fake_header_rejected),
		cmocka_unit_test(named_mappings),
		cmocka_unit_test(beside_a_thread_heap),
		cmocka_unit_test(untouched_neighbour_not_read),
		cmocka_unit_test(behind_a_big_table),
		cmocka_unit_test(glibc_243),
		cmocka_unit_test(disagreement_is_a_warning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
