/* rootfs.h - the target's files, opened as files heapscope does not trust,
 * and the clock on reading them.
 *
 * A container's owner controls every file under its root: its libc, its
 * debug files, the names .gnu_debuglink points to, the executable. Any of
 * them can be a FIFO (open blocks for ever), a device (/dev/zero: endless;
 * others: an open with side effects), a symbolic link to a file of the host
 * (absolute links resolve against heapscope's root, not the container's),
 * a file of terabytes, or an ELF file made to trap a parser. So:
 *
 * - a path of the target is resolved inside its root only: openat2() with
 *   RESOLVE_IN_ROOT (every "/" and ".." stops at the root, absolute links
 *   included) and RESOLVE_NO_MAGICLINKS (no /proc/PID/fd/N, /proc/PID/root
 *   jump out of it), on a directory fd of /proc/PID/root;
 * - whatever the path names is first opened with O_PATH, which opens
 *   nothing (no FIFO wait, no device driver's open); only a regular file of
 *   at most HS_ROOTFS_MAX_FILE bytes is then opened for reading, through
 *   that very O_PATH descriptor (/proc/self/fd/N: the same inode, no second
 *   path walk), O_NONBLOCK | O_NOCTTY, and made blocking again once known
 *   to be a regular file;
 * - the host's own files (debug directories, debuginfod's cache) go through
 *   the same checks with the host's usual path resolution;
 * - what is parsed of the target's is parsed from a sealed copy
 *   (hs_rootfs_snapshot): truncating the original cannot raise SIGBUS in
 *   libelf, at any stage. */
#ifndef HS_ROOTFS_H
#define HS_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The largest file heapscope reads as an ELF object or a debug file: 1 GiB.
 * libc is 2 MiB and its debug file 5-40 MiB on every distribution; the
 * biggest programs people run (a JVM's libjvm, a browser, a database
 * server) are a few hundred MiB with their DWARF. Beyond that a file is
 * more likely a trap (a sparse file of terabytes whose section headers
 * send libelf through all of it) than an object. */
#define HS_ROOTFS_MAX_FILE (1ull << 30)

/* HS_ROOTFS_HOST as the root: a path of the host, resolved as usual. */
#define HS_ROOTFS_HOST (-1)

/* /proc/PID/root as a directory descriptor (O_PATH), the root that
 * hs_rootfs_file() resolves the target's paths in; -1 when it cannot be
 * opened (a process gone, no permission). */
int hs_rootfs_open(pid_t pid);

/* Opens PATH for reading: with root a descriptor from hs_rootfs_open(),
 * PATH as the target sees it (absolute or not, it stays inside root); with
 * HS_ROOTFS_HOST, a path of the host. Only a regular file of at most MAX
 * bytes (HS_ROOTFS_MAX_FILE for what is parsed; a mapped file whose pages
 * are read, not parsed, may be any size); the descriptor is O_CLOEXEC
 * and blocking.
 * Returns it, or -1 with *why saying why not ("a FIFO", "larger than
 * 1 GiB", an errno's text). Linux without openat2 (before 5.6), and the
 * seccomp filter installed after the symbols are loaded, give "openat2 is
 * unavailable" for every path in a root: nothing there is opened then. */
int hs_rootfs_file(int root, const char *path, unsigned long long max, const char **why);

/* A file of the target's, about to be parsed (libelf maps what it parses):
 * its bytes as they are now, in a sealed memfd that no one can shrink,
 * grow or write (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE). The owner of
 * the original can truncate it at any moment, and a mapped page past the
 * new end raises SIGBUS in the parser; a copy cannot be truncated, and no
 * check made on it (its build-id) can be undone by a later change. FD is
 * taken (closed). Only an ELF object (its magic); one larger than
 * HS_ROOTFS_MAX_COPY (the copy is memory) is returned as it is, FD
 * itself, unsealed.
 * Returns the memfd (or FD), or -1 with *why. */
#define HS_ROOTFS_MAX_COPY (256ull << 20)
int hs_rootfs_snapshot(int fd, const char **why);

/* The clock on the symbols stage. hs_rootfs_deadline(SECONDS, ...) starts
 * it; hs_rootfs_deadline(0, NULL) stops it. Past SECONDS, a watchdog
 * thread prints one line on stderr that names the file being read (the
 * last one given to hs_rootfs_file() or hs_rootfs_reading()) and ends the
 * process with exit code 4 (_exit: no target is stopped during this stage,
 * and one only seized is let go by the kernel when its tracer exits). A
 * timer on its own thread, not alarm(): a signal cannot end a system call
 * blocked on a file system in uninterruptible sleep (NFS, FUSE served by
 * the target itself), nor a loop inside libdw, and the run's own signal
 * handlers stay as they are. Between files, hs_rootfs_expired() lets the
 * caller stop cleanly before that. While the clock runs, a SIGBUS (a
 * file libelf maps, truncated by the target meanwhile) ends the run the
 * same way, with its own line. */
void hs_rootfs_deadline(double seconds);
bool hs_rootfs_expired(void);
/* The line (without "heapscope: ") that says the bound was hit and where. */
void hs_rootfs_expired_why(char *out, size_t size);
/* What is being read now, for that line. */
void hs_rootfs_reading(const char *file);
/* The deadline of the symbols stage in seconds: HEAPSCOPE_SYMBOLS_TIMEOUT
 * if set (a positive number), else 10. */
double hs_rootfs_timeout(void);

#endif
