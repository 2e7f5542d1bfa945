/* rootfs.c - the target's files, opened as untrusted; the symbols stage's clock. */
#include "source/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/hs.h"

int hs_rootfs_open(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/root", (int)pid);
	/* heapscope's own choice of magic link: the target's root itself. */
	return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static const char *kind(mode_t m)
{
	return S_ISFIFO(m) ? "a FIFO, not a regular file"
	       : S_ISCHR(m) ? "a character device, not a regular file"
	       : S_ISBLK(m) ? "a block device, not a regular file"
	       : S_ISSOCK(m) ? "a socket, not a regular file"
	       : S_ISDIR(m) ? "a directory, not a regular file"
			    : "not a regular file";
}

int hs_rootfs_file(int root, const char *path, unsigned long long max, const char **why)
{
	int pfd;
	if (root >= 0) {
		char name[PATH_MAX + 32];
		snprintf(name, sizeof name, "the target's %s", path);
		hs_rootfs_reading(name);
		struct open_how how = {
			.flags = O_PATH | O_CLOEXEC,
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
		};
		pfd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
		if (pfd < 0 && errno == ENOSYS) {
			*why = "openat2 is unavailable (Linux before 5.6, or after the seccomp filter): a file in the target's root cannot be opened safely";
			return -1;
		}
	} else {
		hs_rootfs_reading(path);
		pfd = open(path, O_PATH | O_CLOEXEC);
	}
	if (pfd < 0) {
		*why = strerror(errno);
		return -1;
	}
	struct stat st;
	if (fstat(pfd, &st) < 0) {
		*why = strerror(errno);
		close(pfd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = kind(st.st_mode);
		close(pfd);
		return -1;
	}
	if ((unsigned long long)st.st_size > max) {
		*why = "larger than 1 GiB, more than any ELF object heapscope reads";
		close(pfd);
		return -1;
	}
	/* The very inode the O_PATH descriptor holds: no second walk of a
	 * path the target may change in between. */
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", pfd);
	int fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	int e = errno;
	close(pfd);
	if (fd < 0) {
		*why = strerror(e);
		return -1;
	}
	struct stat again;
	if (fstat(fd, &again) < 0 || !S_ISREG(again.st_mode) || again.st_ino != st.st_ino ||
	    again.st_dev != st.st_dev) {
		*why = "changed while it was being opened";
		close(fd);
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		*why = strerror(errno);
		close(fd);
		return -1;
	}
	return fd;
}

int hs_rootfs_snapshot(int fd, const char **why)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		*why = strerror(errno);
		close(fd);
		return -1;
	}
	/* A larger one (a program with its DWARF inside) is parsed as it is,
	 * as the host's files are: not parsing it would leave its frames
	 * without unwind tables. */
	if ((unsigned long long)st.st_size > HS_ROOTFS_MAX_COPY)
		return fd;
	/* Only an ELF object is parsed: a mapped data file (a database's, a
	 * JVM's modules image) is neither copied nor handed to libelf. */
	unsigned char magic[4];
	if (pread(fd, magic, sizeof magic, 0) != (ssize_t)sizeof magic || memcmp(magic, "\177ELF", 4)) {
		*why = "not an ELF object";
		close(fd);
		return -1;
	}
	int m = memfd_create("heapscope-object", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m < 0) {
		*why = strerror(errno);
		close(fd);
		return -1;
	}
	/* What the file holds now, up to the size it had: it may shrink or
	 * grow meanwhile, and the copy is what is parsed either way. */
	off_t off = 0;
	ssize_t n = 1;
	while (off < st.st_size && (n = sendfile(m, fd, &off, (size_t)(st.st_size - off))) > 0)
		;
	int e = errno;
	close(fd);
	if (n < 0) { /* (0: the file shrank meanwhile; what was there is parsed) */
		*why = strerror(e);
		close(m);
		return -1;
	}
	if (fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0 ||
	    lseek(m, 0, SEEK_SET) < 0) {
		*why = strerror(errno);
		close(m);
		return -1;
	}
	return m;
}

/* --- the clock ----------------------------------------------------------- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stop;
	struct timespec end;
	double seconds;
	char file[PATH_MAX + 64];
} clk = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool past(const struct timespec *end)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > end->tv_sec || (now.tv_sec == end->tv_sec && now.tv_nsec >= end->tv_nsec);
}

/* The one line (without "heapscope: ") that says the bound was hit. */
static void say(char *out, size_t size)
{
	snprintf(out, size,
		 "loading symbols took longer than %g s, at %s: a file that does not answer or a parser caught in it (HEAPSCOPE_SYMBOLS_TIMEOUT sets the bound); nothing was stopped",
		 clk.seconds, clk.file[0] ? clk.file : "the target's modules");
}

void hs_rootfs_expired_why(char *out, size_t size)
{
	pthread_mutex_lock(&clk.lock);
	say(out, size);
	pthread_mutex_unlock(&clk.lock);
}

static void *watchdog(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&clk.lock);
	while (!clk.stop) {
		if (pthread_cond_timedwait(&clk.cond, &clk.lock, &clk.end) == ETIMEDOUT && !clk.stop &&
		    past(&clk.end)) {
			char line[PATH_MAX + 512] = "heapscope: ";
			size_t n = strlen(line);
			say(line + n, sizeof line - n - 1);
			n = strlen(line);
			line[n++] = '\n';
			/* The main thread may hold locks of stdio or malloc: only
			 * write(2) and _exit(2) from here. */
			ssize_t w = write(STDERR_FILENO, line, n);
			(void)w;
			_exit(HS_EUNSUPPORTED);
		}
	}
	pthread_mutex_unlock(&clk.lock);
	return NULL;
}

/* libelf maps the files it parses: one the target truncates meanwhile
 * faults with SIGBUS on the first page past its new end. During the
 * symbols stage that is the target's doing, not a bug: one line, exit 4. */
static struct sigaction old_bus;
static bool bus_set;

static void on_sigbus(int sig)
{
	(void)sig;
	static const char a[] = "heapscope: a file of the target shrank while it was being read (SIGBUS), at ";
	static const char b[] = "; nothing was stopped\n";
	char line[sizeof a + sizeof clk.file + sizeof b];
	size_t n = 0, f = strnlen(clk.file, sizeof clk.file);
	memcpy(line, a, sizeof a - 1), n += sizeof a - 1;
	memcpy(line + n, clk.file, f), n += f;
	memcpy(line + n, b, sizeof b - 1), n += sizeof b - 1;
	ssize_t w = write(STDERR_FILENO, line, n); /* one write: one line */
	(void)w;
	_exit(HS_EUNSUPPORTED);
}

void hs_rootfs_deadline(double seconds)
{
	if (bus_set) {
		sigaction(SIGBUS, &old_bus, NULL);
		bus_set = false;
	}
	if (seconds > 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_sigbus;
		sigemptyset(&sa.sa_mask);
		bus_set = sigaction(SIGBUS, &sa, &old_bus) == 0;
	}
	if (clk.running) {
		pthread_mutex_lock(&clk.lock);
		clk.stop = true;
		pthread_cond_signal(&clk.cond);
		pthread_mutex_unlock(&clk.lock);
		pthread_join(clk.thread, NULL);
		pthread_cond_destroy(&clk.cond);
		clk.running = false;
	}
	clk.seconds = 0;
	if (seconds <= 0)
		return;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&clk.cond, &ca);
	pthread_condattr_destroy(&ca);
	clock_gettime(CLOCK_MONOTONIC, &clk.end);
	long long ns = (long long)(seconds * 1e9) + clk.end.tv_nsec;
	clk.end.tv_sec += (time_t)(ns / 1000000000);
	clk.end.tv_nsec = (long)(ns % 1000000000);
	clk.seconds = seconds;
	clk.stop = false;
	clk.file[0] = 0;
	if (pthread_create(&clk.thread, NULL, watchdog, NULL) == 0)
		clk.running = true;
	else
		pthread_cond_destroy(&clk.cond); /* no thread: only the checks between files */
}

bool hs_rootfs_expired(void)
{
	return clk.seconds > 0 && past(&clk.end);
}

void hs_rootfs_reading(const char *file)
{
	pthread_mutex_lock(&clk.lock);
	snprintf(clk.file, sizeof clk.file, "%s", file);
	pthread_mutex_unlock(&clk.lock);
}

double hs_rootfs_timeout(void)
{
	const char *v = getenv("HEAPSCOPE_SYMBOLS_TIMEOUT");
	char *end;
	double s = v ? strtod(v, &end) : 0;
	return v && end != v && *end == 0 && s > 0 ? s : 10;
}
