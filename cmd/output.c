/* output.c - -o, --output=FILE: the report to a file with no name in
 * FILE's directory, then flushed, fsync'd, named and renamed over FILE
 * (output.h). */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* The stream's writes: straight to the file, the first failure's errno
 * kept for the one line that names it (stdio keeps only a flag). */
static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
	struct hs_output *out = cookie;
	size_t done = 0;
	while (done < n && !out->werr) {
		ssize_t w = write(out->fd, buf + done, n - done);
		if (w > 0)
			done += (size_t)w;
		else if (w < 0 && errno != EINTR)
			out->werr = errno;
		else if (w == 0)
			out->werr = EIO;
	}
	return out->werr ? 0 : (ssize_t)n;
}

/* Gives the file a hidden name in FILE's directory, ".heapscope-XXXXXX"
 * (never FILE's suffix: the textfile collector reads *.prom only):
 * created (create), or out->fd, made with no name, linked there. Returns
 * the new descriptor (created) or 0 (linked), -1 with errno set. */
static int take_name(struct hs_output *out, bool create)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", out->fd);
	for (int tries = 0; tries < 100; tries++) {
		unsigned char r[6];
		if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
			return -1;
		char *p = out->tmp + snprintf(out->tmp, sizeof out->tmp, ".heapscope-");
		for (size_t i = 0; i < sizeof r; i++)
			*p++ = abc[r[i] % (sizeof abc - 1)];
		*p = 0;
		int rc = create ? openat(out->dirfd, out->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
				: linkat(AT_FDCWD, proc, out->dirfd, out->tmp, AT_SYMLINK_FOLLOW);
		if (rc >= 0)
			return rc;
		if (errno != EEXIST)
			break;
	}
	out->tmp[0] = 0;
	return -1;
}

/* Closes what is open and fails with the line naming FILE and why. */
static int fail(struct hs_output *out, struct hs_err *err, int code, const char *why)
{
	if (out->f)
		fclose(out->f);
	if (out->tmp[0])
		unlinkat(out->dirfd, out->tmp, 0);
	if (out->fd >= 0)
		close(out->fd);
	if (out->dirfd >= 0)
		close(out->dirfd);
	const char *path = out->path;
	*out = (struct hs_output){.fd = -1, .dirfd = -1};
	return hs_fail(err, code, "cannot write the report to %s: %s", path, why);
}

/* The calls of a stream of ours (fopencookie): writes only. */
static const cookie_io_functions_t stream = {.write = cookie_write};

int hs_output_open(struct hs_output *out, const char *path, struct hs_err *err)
{
	*out = (struct hs_output){.path = path, .fd = -1, .dirfd = -1};
	char dir[4096], why[4200];
	const char *slash = strrchr(path, '/');
	out->base = slash ? slash + 1 : path;
	if (slash)
		snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	else
		snprintf(dir, sizeof dir, ".");
	if (!out->base[0] || !strcmp(out->base, ".") || !strcmp(out->base, ".."))
		return fail(out, err, HS_EUSAGE, "it is a directory");
	out->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (out->dirfd < 0) {
		snprintf(why, sizeof why, "its directory %s: %s", dir, strerror(errno));
		return fail(out, err, HS_EUSAGE, why);
	}
	/* FILE itself, not what a link there leads to: the rename replaces
	 * a symbolic link FILE, so its target is neither checked nor written. */
	struct stat st;
	if (fstatat(out->dirfd, out->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			return fail(out, err, HS_EUSAGE, "it is a directory");
		if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) /* a device, a fifo: never renamed over */
			return fail(out, err, HS_EUSAGE, "it exists and is not a regular file");
	} else if (errno != ENOENT) {
		snprintf(why, sizeof why, "%s", strerror(errno));
		return fail(out, err, HS_EUSAGE, why);
	}
	/* The mode a new file gets; umask is read by setting it, so here,
	 * before any thread of heapscope's runs. */
	mode_t mask = umask(0);
	umask(mask);
	out->mode = 0666 & ~mask;
	/* No name until it is whole: a heapscope killed meanwhile leaves
	 * nothing. A file system without O_TMPFILE: a hidden name now. */
	out->fd = openat(out->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (out->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
		out->fd = take_name(out, true);
	if (out->fd < 0) {
		snprintf(why, sizeof why, "cannot create a file in %s: %s", dir, strerror(errno));
		return fail(out, err, HS_EUSAGE, why);
	}
	out->f = fopencookie(out, "w", stream);
	if (!out->f)
		return fail(out, err, HS_EINTERNAL, strerror(errno));
	return 0;
}

int hs_output_commit(struct hs_output *out, struct hs_err *err)
{
	char why[256];
	if ((fflush(out->f) != 0 || ferror(out->f)) && !out->werr)
		out->werr = EIO;
	if (out->werr) {
		snprintf(why, sizeof why, "%s", strerror(out->werr));
		return fail(out, err, HS_EINTERNAL, why);
	}
	if (fsync(out->fd) != 0 || fchmod(out->fd, out->mode) != 0 || (!out->tmp[0] && take_name(out, false) != 0) ||
	    renameat(out->dirfd, out->tmp, out->dirfd, out->base) != 0) {
		snprintf(why, sizeof why, "%s", strerror(errno));
		return fail(out, err, HS_EINTERNAL, why);
	}
	out->tmp[0] = 0; /* it is FILE now */
	/* The rename itself on disk; done whatever this says. */
	fsync(out->dirfd);
	fclose(out->f);
	close(out->fd);
	close(out->dirfd);
	*out = (struct hs_output){.fd = -1, .dirfd = -1};
	return 0;
}

void hs_output_abort(struct hs_output *out)
{
	struct hs_err ignored = {0};
	if (out->f)
		fail(out, &ignored, HS_EINTERNAL, "");
}
