/* output.h - -o, --output=FILE: the report written to FILE atomically.
 * A reader of FILE (node_exporter's textfile collector, a cron job) sees
 * the old file or the new one whole, never a part: the report goes to a
 * file with no name yet (O_TMPFILE; a hidden ".heapscope-XXXXXX" where
 * the file system has no O_TMPFILE) in FILE's directory, is flushed and
 * fsync'd, given a name and renamed over FILE (a symbolic link FILE is
 * replaced, its target left alone). On any failure nothing is
 * left behind and an existing FILE is untouched.
 *
 * hs_output_open runs before the command confines itself (source/
 * confine.h forbids creating files): it makes the file, checks FILE's
 * directory and FILE, and keeps both open for the end. */
#ifndef HS_OUTPUT_H
#define HS_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "base/hs.h"

struct hs_output {
	const char *path; /* FILE as given */
	const char *base; /* its last component: its name in dirfd */
	FILE *f;          /* where the report is written (NULL: not open) */
	int fd, dirfd;    /* the file, FILE's directory */
	char tmp[32];     /* the file's own name in dirfd, once it has one ("" before) */
	int werr;         /* the first write's errno (0: none failed) */
	unsigned mode;    /* 0666 less the umask */
};

/* Opens the file the report of FILE path is written to (out->f).
 * Returns 0, or HS_EUSAGE with err set: FILE's directory is missing or
 * not writable, FILE is a directory or not a regular file; the line
 * names FILE and why. */
int hs_output_open(struct hs_output *out, const char *path, struct hs_err *err);
/* Flushes, fsyncs, gives the file the mode a new file gets (0666 less
 * the umask) and renames it over FILE. Returns 0, or HS_EINTERNAL with
 * err set (a write, fsync or rename failed: disk full, ...); then
 * nothing is left and FILE is as it was. Closes out either way. */
int hs_output_commit(struct hs_output *out, struct hs_err *err);
/* Drops the file: FILE is as it was. */
void hs_output_abort(struct hs_output *out);

#endif
