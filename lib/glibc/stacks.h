/* stacks.h - is a stopped thread inside the allocator? Decided from its
 * whole stack (libunwind-ptrace), not from arena mutexes: a single-threaded
 * process takes no locks, and a thread can be inside free() several frames
 * below a lock wait. */
#ifndef HS_STACKS_H
#define HS_STACKS_H

#include "glibc/symbols.h"

#define HS_MAX_FRAMES 64

struct hs_stacks;

struct hs_stacks *hs_stacks_open(void);
/* Unwinds thread tid (stopped, traced by us). True if any frame is an
 * allocator function; *fn names the innermost such one. */
bool hs_stacks_in_malloc(struct hs_stacks *s, const struct hs_symbols *sym, pid_t tid, const char **fn);
void hs_stacks_close(struct hs_stacks *s);

#endif
