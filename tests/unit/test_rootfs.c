/* test_rootfs.c - a target's files as heapscope opens them (source/rootfs):
 * inside a root, a link out of it (absolute, "..", a /proc magic link)
 * stays inside; a FIFO, a device, a directory and a file over the size
 * bound are refused without blocking; a regular file is opened, blocking,
 * close-on-exec. And the parsing filter (HS_CONFINE_PARSE) refuses exec,
 * fork and the calls that change the system, and drops the capabilities
 * the rest of a run does not use, in a child. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "source/confine.h"
#include "source/rootfs.h"

static char base[64], root[96], outside[128];

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof base, "/tmp/hs-rootfs.XXXXXX");
	if (!mkdtemp(base))
		return -1;
	snprintf(root, sizeof root, "%s/root", base);
	snprintf(outside, sizeof outside, "%s/outside", base);
	char p[PATH_MAX];
	if (mkdir(root, 0755) || mkdir(outside, 0755))
		return -1;
	snprintf(p, sizeof p, "%s/etc", root);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/secret", outside);
	put(p, "host\n");
	snprintf(p, sizeof p, "%s/etc/secret", root);
	put(p, "in the root\n");
	snprintf(p, sizeof p, "%s/regular", root);
	put(p, "regular\n");
	char t[PATH_MAX];
	snprintf(p, sizeof p, "%s/abs", root);
	snprintf(t, sizeof t, "%s/secret", outside);
	if (symlink(t, p)) /* absolute: the host's file, if followed out */
		return -1;
	snprintf(p, sizeof p, "%s/up", root);
	snprintf(t, sizeof t, "../../../../../../../..%s/secret", outside);
	if (symlink(t, p))
		return -1;
	snprintf(p, sizeof p, "%s/magic", root);
	if (symlink("/proc/self/root/etc/passwd", p))
		return -1;
	snprintf(p, sizeof p, "%s/fifo", root);
	if (mkfifo(p, 0644))
		return -1;
	snprintf(p, sizeof p, "%s/huge", root);
	int fd = open(p, O_CREAT | O_WRONLY, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)HS_ROOTFS_MAX_FILE + 1) || close(fd))
		return -1;
	snprintf(p, sizeof p, "%s/zero", root);
	if (symlink("/dev/zero", p))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static int in_root(const char *path, const char **why)
{
	int r = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(r >= 0);
	int fd = hs_rootfs_file(r, path, HS_ROOTFS_MAX_FILE, why);
	close(r);
	return fd;
}

static void expect_text(int fd, const char *want)
{
	char buf[64] = "";
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	assert_true(n >= 0);
	buf[n] = 0;
	assert_string_equal(buf, want);
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
	assert_false(fl & O_NONBLOCK);
	assert_true(fdfl & FD_CLOEXEC);
	assert_int_equal(fl & O_ACCMODE, O_RDONLY);
	close(fd);
}

static void test_regular_file(void **state)
{
	(void)state;
	const char *why = NULL;
	expect_text(in_root("/regular", &why), "regular\n");
	expect_text(in_root("regular", &why), "regular\n");
}

static void test_links_stay_inside(void **state)
{
	(void)state;
	const char *why = NULL;
	/* both resolve inside the root: /<outside>/secret there does not exist */
	assert_int_equal(in_root("/abs", &why), -1);
	assert_string_equal(why, strerror(ENOENT));
	assert_int_equal(in_root("/up", &why), -1);
	assert_string_equal(why, strerror(ENOENT));
	/* "..": never above the root */
	expect_text(in_root("/../../../etc/secret", &why), "in the root\n");
	/* a magic link (/proc/self/...) is refused; /proc in the root does
	 * not exist here anyway */
	assert_int_equal(in_root("/magic", &why), -1);
}

static void test_not_regular_refused(void **state)
{
	(void)state;
	const char *why = NULL;
	assert_int_equal(in_root("/fifo", &why), -1); /* and it did not block */
	assert_non_null(strstr(why, "FIFO"));
	assert_int_equal(in_root("/huge", &why), -1);
	assert_non_null(strstr(why, "larger than"));
	assert_int_equal(in_root("/", &why), -1);
	assert_non_null(strstr(why, "directory"));
	/* the host's /dev/zero, by the host's path */
	assert_int_equal(hs_rootfs_file(HS_ROOTFS_HOST, "/dev/zero", HS_ROOTFS_MAX_FILE, &why), -1);
	assert_non_null(strstr(why, "character device"));
	/* a host FIFO by its host path: refused, not waited on */
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/fifo", root);
	assert_int_equal(hs_rootfs_file(HS_ROOTFS_HOST, p, HS_ROOTFS_MAX_FILE, &why), -1);
	assert_non_null(strstr(why, "FIFO"));
	/* a mapped file's pages are read whatever its size */
	snprintf(p, sizeof p, "%s/huge", root);
	int fd = hs_rootfs_file(HS_ROOTFS_HOST, p, UINT64_MAX, &why);
	assert_true(fd >= 0);
	close(fd);
}

/* In a child: the parsing filter, installed after the read-only one. */
static int parse_child(void)
{
	struct hs_err err = {0};
	unsetenv("DEBUGINFOD_URLS");
	if (hs_confine(HS_CONFINE_NO_WRITES, &err) || hs_confine(HS_CONFINE_PARSE, &err))
		return 10;
	char *argv[] = {"/bin/true", NULL};
	if (execv("/bin/true", argv) != -1 || errno != EPERM)
		return 11;
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	if (p != -1 || errno != EPERM)
		return 12;
	if (unshare(CLONE_NEWNS) != -1 || errno != EPERM)
		return 13;
	if (chroot("/") != -1 || errno != EPERM)
		return 14;
	if (socket(AF_INET, SOCK_STREAM, 0) != -1 || errno != EPERM)
		return 15;
	char p2[PATH_MAX];
	snprintf(p2, sizeof p2, "%s/created", base);
	if (open(p2, O_CREAT | O_RDONLY, 0644) != -1 || errno != EPERM)
		return 16;
	snprintf(p2, sizeof p2, "%s/regular", root);
	if (open(p2, O_WRONLY) != -1 || errno != EPERM)
		return 17;
	/* capabilities the rest of the run does not use: gone */
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) != 0)
		return 19;
	const int gone[] = {CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SETUID, CAP_MKNOD,
			    CAP_SYS_CHROOT, CAP_SYS_TIME, CAP_SYS_BOOT, CAP_CHOWN};
	for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
		if ((d[gone[i] / 32].effective | d[gone[i] / 32].permitted) & (1u << (gone[i] % 32)))
			return 20;
	/* what the run still needs: reading, threads (the watchdog), openat2 */
	const char *why;
	int r = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = r >= 0 ? hs_rootfs_file(r, "/regular", HS_ROOTFS_MAX_FILE, &why) : -1;
	if (fd < 0)
		return 18;
	close(fd);
	hs_rootfs_deadline(5);
	hs_rootfs_deadline(0);
	return 0;
}

static void test_parse_filter(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(parse_child());
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A mapped file cut short while the clock runs: one line, exit 4. */
static void test_sigbus_during_the_stage(void **state)
{
	(void)state;
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/shrinks", base);
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		int fd = open(p, O_CREAT | O_RDWR, 0644);
		if (fd < 0 || ftruncate(fd, 8192))
			_exit(20);
		volatile char *m = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			_exit(21);
		hs_rootfs_deadline(30);
		hs_rootfs_reading("the target's /lib/libc.so.6");
		if (ftruncate(fd, 0))
			_exit(22);
		(void)m[4096];
		_exit(23);
	}
	close(pipefd[1]);
	char line[512] = "";
	ssize_t n = 0, r;
	while ((r = read(pipefd[0], line + n, sizeof line - 1 - (size_t)n)) > 0)
		n += r;
	close(pipefd[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 4);
	assert_true(n > 0);
	line[n] = 0;
	assert_non_null(strstr(line, "shrank while it was being read (SIGBUS), at the target's /lib/libc.so.6"));
	assert_non_null(strchr(line, '\n'));
	assert_ptr_equal(strchr(line, '\n'), line + n - 1); /* one line */
}

/* A file of the target's is parsed from a sealed copy: cut short (or
 * rewritten) afterwards by its owner, the copy still holds every byte it
 * had, maps without SIGBUS, and cannot itself be shrunk or written. */
static void test_snapshot_outlives_truncation(void **state)
{
	(void)state;
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/object", root);
	enum { SIZE = 65536 + 123 };
	static unsigned char want[SIZE];
	for (size_t i = 0; i < SIZE; i++)
		want[i] = (unsigned char)(i * 7 + (i >> 9));
	memcpy(want, "\177ELF", 4);
	int w = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	assert_true(w >= 0);
	assert_int_equal(write(w, want, SIZE), SIZE);
	const char *why = NULL;
	int fd = in_root("/object", &why);
	assert_true(fd >= 0);
	int m = hs_rootfs_snapshot(fd, &why);
	assert_true(m >= 0);
	assert_int_equal(ftruncate(w, 0), 0); /* the owner cuts the original */
	close(w);
	struct stat st;
	assert_int_equal(fstat(m, &st), 0);
	assert_int_equal(st.st_size, SIZE);
	const unsigned char *map = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, m, 0);
	assert_true(map != MAP_FAILED);
	assert_memory_equal(map, want, SIZE);
	munmap((void *)map, SIZE);
	assert_int_equal(ftruncate(m, 0), -1);
	assert_int_equal(write(m, "x", 1), -1);
	assert_true(fcntl(m, F_GETFD) & FD_CLOEXEC);
	close(m);
	/* not an ELF object: neither copied nor parsed */
	assert_int_equal(hs_rootfs_snapshot(in_root("/regular", &why), &why), -1);
	assert_string_equal(why, "not an ELF object");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_file),
		cmocka_unit_test(test_links_stay_inside),
		cmocka_unit_test(test_not_regular_refused),
		cmocka_unit_test(test_parse_filter),
		cmocka_unit_test(test_sigbus_during_the_stage),
		cmocka_unit_test(test_snapshot_outlives_truncation),
	};
	return cmocka_run_group_tests_name("rootfs", tests, setup, teardown);
}
