/* test_target.c - reading a live process gives it no page and reads no
 * memory it refuses. A child lays out its memory: a private anonymous
 * mapping with some pages written, some never touched, some written and
 * given back (MADV_DONTNEED); a written page made PROT_NONE; a hole; a
 * private mapping, never touched, of a file that ends inside its last page
 * but one. The test reads it through the live source, stopped and not,
 * whole and a word at a time, and checks every byte against what the
 * child wrote (or the file holds) and, in the child's pagemap, that no
 * absent page became present. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "source/target.h"

#define PG 4096u
#define NPAGES 256 /* 86 runs of written pages: more than one process_vm_readv's iovecs */
#define FILE_PAGES 4            /* mapped, the last one wholly past the end of the file */
#define FILE_SIZE (3 * PG - 100) /* the third page ends in zeros */

/* What the child did to page i of the anonymous mapping. */
static bool written(unsigned i)
{
	return i % 3 == 0 || i % 7 == 1;
}
static bool dropped(unsigned i)
{
	return i % 7 == 1 && i % 3 != 0; /* written, then MADV_DONTNEED */
}
static unsigned char byte_at(unsigned i, unsigned off)
{
	return (unsigned char)(i * 7 + off % 251 + 1) | 1; /* never 0 */
}

struct layout {
	uint64_t anon, prot_none, hole, file;
	unsigned char file_byte;
};

static struct {
	pid_t pid;
	struct layout l;
	char path[64];
} g;

static void child(int wfd, const char *path)
{
	struct layout l = {0};
	unsigned char *a = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *n = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *h = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open(path, O_RDONLY);
	unsigned char *f = fd < 0 ? MAP_FAILED : mmap(NULL, FILE_PAGES * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	if (a == MAP_FAILED || n == MAP_FAILED || h == MAP_FAILED || f == MAP_FAILED)
		_exit(20);
	for (unsigned i = 0; i < NPAGES; i++)
		if (written(i))
			for (unsigned o = 0; o < PG; o++)
				a[i * PG + o] = byte_at(i, o);
	for (unsigned i = 0; i < NPAGES; i++)
		if (dropped(i) && madvise(a + i * PG, PG, MADV_DONTNEED) < 0)
			_exit(21);
	memset(n, 0x5a, PG);
	if (mprotect(n, PG, PROT_NONE) < 0 || munmap(h + PG, PG) < 0)
		_exit(22);
	l.anon = (uintptr_t)a;
	l.prot_none = (uintptr_t)n;
	l.hole = (uintptr_t)h;
	l.file = (uintptr_t)f;
	if (write(wfd, &l, sizeof l) != (ssize_t)sizeof l)
		_exit(23);
	for (;;)
		pause();
}

static int setup(void **state)
{
	(void)state;
	snprintf(g.path, sizeof g.path, "/tmp/hs-test-target.XXXXXX");
	int fd = mkstemp(g.path);
	if (fd < 0)
		return -1;
	unsigned char buf[FILE_SIZE];
	for (unsigned i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i % 253 + 2);
	if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
		return -1;
	close(fd);
	int p[2];
	if (pipe(p) < 0)
		return -1;
	g.pid = fork();
	if (g.pid < 0)
		return -1;
	if (g.pid == 0) {
		close(p[0]);
		child(p[1], g.path);
	}
	close(p[1]);
	ssize_t got = read(p[0], &g.l, sizeof g.l);
	close(p[0]);
	return got == (ssize_t)sizeof g.l ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (g.pid > 0) {
		kill(g.pid, SIGKILL);
		waitpid(g.pid, NULL, 0);
	}
	unlink(g.path);
	return 0;
}

/* The child's pages of the anonymous mapping that hold data, as pagemap says. */
static void states(struct hs_target *t, unsigned char *st)
{
	assert_int_equal(hs_pages(&t->src, g.l.anon, NPAGES, st), 0);
}

static void check_anon(const unsigned char *buf)
{
	for (unsigned i = 0; i < NPAGES; i++)
		for (unsigned o = 0; o < PG; o++) {
			unsigned char want = written(i) && !dropped(i) ? byte_at(i, o) : 0;
			if (buf[i * PG + o] != want)
				fail_msg("page %u offset %u: 0x%02x, want 0x%02x", i, o, buf[i * PG + o], want);
		}
}

static void check_nothing_faulted_in(struct hs_target *t)
{
	unsigned char st[NPAGES];
	states(t, st);
	for (unsigned i = 0; i < NPAGES; i++)
		if ((st[i] != HS_PAGE_NONE) != (written(i) && !dropped(i)))
			fail_msg("page %u: pagemap state %u after the reads", i, st[i]);
}

static unsigned char buf[NPAGES * PG];

/* Absent private anonymous pages read as zeros and stay absent. */
static void anon_reads(struct hs_target *t)
{
	/* whole */
	memset(buf, 0xee, sizeof buf);
	assert_int_equal(hs_read(&t->src, g.l.anon, buf, NPAGES * PG), 0);
	check_anon(buf);
	check_nothing_faulted_in(t);
	/* a word at a time, and across page boundaries */
	memset(buf, 0xee, sizeof buf);
	for (unsigned i = 0; i < NPAGES * PG; i += 8)
		assert_int_equal(hs_read_u64(&t->src, g.l.anon + i, (uint64_t *)(buf + i)), 0);
	check_anon(buf);
	memset(buf, 0xee, sizeof buf);
	for (unsigned i = 0; i < NPAGES * PG; i += 3 * PG)
		assert_int_equal(hs_read(&t->src, g.l.anon + i + PG / 2, buf + i + PG / 2,
					 i + 3 * PG < NPAGES * PG ? 3 * PG : NPAGES * PG - i - PG / 2),
				 0);
	for (unsigned i = PG / 2; i < NPAGES * PG; i++) {
		unsigned pg = i / PG;
		unsigned char want = written(pg) && !dropped(pg) ? byte_at(pg, i % PG) : 0;
		if (buf[i] != want)
			fail_msg("straddling reads: byte %u: 0x%02x, want 0x%02x", i, buf[i], want);
	}
	check_nothing_faulted_in(t);
}

/* What process_vm_readv refuses is refused: PROT_NONE, a hole. */
static void refused_reads(struct hs_target *t)
{
	errno = 0;
	assert_int_equal(hs_read(&t->src, g.l.prot_none, buf, 8), -1);
	assert_true(errno == EFAULT || errno == EIO);
	assert_int_equal(hs_read(&t->src, g.l.hole + PG, buf, 8), -1);
	assert_true(errno == EFAULT || errno == EIO);
	assert_int_equal(hs_read(&t->src, g.l.hole, buf, 3 * PG), -1);
	assert_true(errno == EFAULT || errno == EIO);
	assert_int_equal(hs_read(&t->src, g.l.hole, buf, PG), 0);
}

/* An absent file page is not zeros: its bytes are the file's, zeros past
 * its end in its last page; a page wholly past the end is refused. They
 * are read from the file, not through the child: its pages stay absent. */
static void file_reads(struct hs_target *t)
{
	memset(buf, 0xee, 3 * PG);
	assert_int_equal(hs_read(&t->src, g.l.file + 100, buf, 3 * PG - 100), 0);
	for (unsigned i = 100; i < 3 * PG; i++) {
		unsigned char want = i < FILE_SIZE ? (unsigned char)(i % 253 + 2) : 0;
		if (buf[i - 100] != want)
			fail_msg("file byte %u: 0x%02x, want 0x%02x", i, buf[i - 100], want);
	}
	assert_int_equal(hs_read(&t->src, g.l.file + 3 * PG - 8, buf, 16), -1);
	assert_true(errno == EFAULT || errno == EIO);
	unsigned char fst[FILE_PAGES];
	assert_int_equal(hs_pages(&t->src, g.l.file, FILE_PAGES, fst), 0);
	for (unsigned i = 0; i < FILE_PAGES; i++)
		if (fst[i] != HS_PAGE_NONE)
			fail_msg("file page %u: pagemap state %u after the reads", i, fst[i]);
}

/* Runs one kind of reads on the child before the stop, then stopped:
 * asking pagemap, again from the page states cached by the first, and
 * once more after pages() was asked for everything (then kept for the
 * reads of the stop). */
static void run(void (*reads)(struct hs_target *))
{
	struct hs_target t;
	struct hs_err err = {0};
	assert_int_equal(hs_target_open(&t, g.pid, &err), 0);
	reads(&t);
	assert_int_equal(hs_target_stop(&t, &err), 0);
	reads(&t);
	reads(&t);
	unsigned char st[NPAGES];
	assert_int_equal(hs_pages(&t.src, g.l.anon, NPAGES / 2, st), 0);
	assert_int_equal(hs_pages(&t.src, g.l.anon + NPAGES / 2 * PG, NPAGES / 2, st), 0);
	assert_int_equal(hs_pages(&t.src, g.l.file, FILE_PAGES, st), 0);
	assert_int_equal(hs_pages(&t.src, g.l.prot_none, 1, st), 0);
	assert_int_equal(hs_pages(&t.src, g.l.hole, 3, st), 0);
	assert_true(t.nknown > 0);
	reads(&t);
	hs_target_close(&t);
}

static void test_absent_anonymous_pages_are_zeros_and_stay_absent(void **state)
{
	(void)state;
	run(anon_reads);
}

static void test_refused_memory_is_refused(void **state)
{
	(void)state;
	run(refused_reads);
}

static void test_absent_file_pages_are_the_file(void **state)
{
	(void)state;
	run(file_reads);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent_anonymous_pages_are_zeros_and_stay_absent),
		cmocka_unit_test(test_refused_memory_is_refused),
		cmocka_unit_test(test_absent_file_pages_are_the_file),
	};
	return cmocka_run_group_tests_name("target", tests, setup, teardown);
}
