/* stacks.h - is a stopped thread inside the allocator? Decided from its
 * whole stack (libunwind-ptrace), not from arena mutexes: a single-threaded
 * process takes no locks, and a thread can be inside free() several frames
 * below a lock wait. */
#ifndef HS_STACKS_H
#define HS_STACKS_H

#include "glibc/symbols.h"

/* Frames looked at, innermost first. An allocator function is innermost
 * (or right below a lock wait), so a deeper stack is a caller's recursion;
 * only a signal handler deeper than this that interrupted malloc would
 * hide it. */
#define HS_MAX_FRAMES 64

struct hs_stacks;

/* What the unwinding of one thread found. */
enum hs_stack_where {
	HS_STACK_OUTSIDE,   /* no frame in the allocator, to the end of the stack */
	HS_STACK_IN_MALLOC, /* a frame is in the allocator */
	HS_STACK_PAUSED,    /* inside the allocator, at a point where none of its
			     * structures is mid-update: it calls a lock wait or
			     * realloc's copy (hs_symbols_malloc_paused) */
	HS_STACK_UNKNOWN,   /* the stack could not be unwound (libunwind could not
			     * start, or failed part-way): the thread may be
			     * inside malloc. Never read as "outside". */
};

/* Reads the target's memory only through src (pages it has, and the
 * mapped files for those it has not: nothing is faulted in). */
struct hs_stacks *hs_stacks_open(struct hs_source *src);
/* Unwinds thread tid (stopped, traced by us). On HS_STACK_IN_MALLOC and
 * HS_STACK_PAUSED *fn names the innermost allocator function; on
 * HS_STACK_UNKNOWN *why says what failed (the read that failed, if one
 * did: the stop's budget run out is said so), valid until the next call
 * on s. */
enum hs_stack_where hs_stacks_where(struct hs_stacks *s, const struct hs_symbols *sym, pid_t tid,
				    const char **fn, const char **why);
/* The same for a thread of a core: its registers are words (source/core.h's
 * regwords, hs_arch_core_prstatus's), its memory the core's (src). */
enum hs_stack_where hs_stacks_where_words(struct hs_stacks *s, const struct hs_symbols *sym, const uint64_t *words,
					  int nwords, const char **fn, const char **why);
/* The same for a thread of which only the program counter and stack
 * pointer are known (another tracer holds it: source/held.h); a frame
 * whose unwinding needs another register is not unwound (UNKNOWN). */
enum hs_stack_where hs_stacks_where_regs(struct hs_stacks *s, const struct hs_symbols *sym, const struct hs_regs *r,
					 const char **fn, const char **why);
void hs_stacks_close(struct hs_stacks *s);

#endif
