/* replay.h - plays a trace (trace.h) through the reference core, with the
 * semantics of a C program making the same calls: `r ID SIZE` keeps ID
 * naming the block realloc returns (realloc(p, 0) frees and leaves ID
 * NULL, as glibc's REALLOC_ZERO_BYTES_FREES does); `f ID` on an ID that is
 * NULL (freed, or its allocation failed) is free(NULL), a no-op; a second
 * `m ID` overwrites the pointer (the old block leaks, as in C). */
#ifndef HS_REPLAY_H
#define HS_REPLAY_H

#include "refcore/refcore.h"
#include "refcore/trace.h"

/* A call glibc would abort on (double free) is HS_EUSAGE naming the line.
 * ptrs (optional, t->nids entries) receives each ID's final pointer. */
int hs_replay(struct hs_refcore *rc, const struct hs_trace *t, const char *name, uint64_t *ptrs,
	      struct hs_err *err);

#endif
