/* progress.h - one line on a terminal saying how far a long read is.
 *
 * A struct the caller owns (no global state), handed down to the stages
 * that read (the heap walk, --leaks' copy and mark). It prints nothing
 * until `after` has passed since start, then rewrites ONE line with \r at
 * most every 100 ms ("heapscope: walking the heaps: 812.0 MiB of 2.0 GiB
 * (40%)"), and blanks it at end. Off unless stderr is a terminal
 * (HEAPSCOPE_PROGRESS=0 turns it off, =1 on whatever stderr is).
 *
 * The target may be stopped while this runs: advance() is an add and a
 * compare; the clock is read once per HS_PROGRESS_STEP bytes; and the line
 * is written to a non-blocking descriptor of its own, so a terminal that
 * does not drain (XOFF, a stuck pty) costs a dropped update, never a
 * longer stop. */
#ifndef HS_PROGRESS_H
#define HS_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#define HS_PROGRESS_STEP (1u << 20)              /* bytes between clock reads */
#define HS_PROGRESS_INTERVAL_NS 100000000ull     /* at most 10 lines a second */
#define HS_PROGRESS_AFTER_NS 1000000000ull       /* silent for the first second */
#define HS_PROGRESS_LINE 128

struct hs_progress {
	bool on;                      /* false (as zeroed): nothing is written */
	int fd;
	bool own_fd;                  /* fd was opened here (closed by hs_progress_close) */
	uint64_t after_ns;            /* silence after start */
	uint64_t (*now_ns)(void);     /* the clock (CLOCK_MONOTONIC; a fake in tests) */
	const char *what;             /* "walking the heaps" */
	uint64_t total, done, next_check;
	uint64_t t0, last;            /* start; the last line written (0: none yet) */
	unsigned shown;               /* length of the line on screen (0: none) */
	unsigned long writes;         /* lines written (for tests) */
};

/* On when stderr is a terminal (or HEAPSCOPE_PROGRESS=1), off with
 * HEAPSCOPE_PROGRESS=0; HEAPSCOPE_PROGRESS_AFTER_MS replaces the one second
 * of silence (for tests). Opens the terminal again, non-blocking: call it
 * before the confinement that forbids opening for writing. */
void hs_progress_open(struct hs_progress *p);
/* On, writing to fd with the clock now_ns (NULL: CLOCK_MONOTONIC). */
void hs_progress_on(struct hs_progress *p, int fd, uint64_t after_ns, uint64_t (*now_ns)(void));
void hs_progress_close(struct hs_progress *p);

/* A job of `total` bytes begins (p may be NULL: no progress). */
void hs_progress_start(struct hs_progress *p, const char *what, uint64_t total);
void hs_progress_tick(struct hs_progress *p);
static inline void hs_progress_advance(struct hs_progress *p, uint64_t bytes)
{
	if (!p || !p->on)
		return;
	p->done += bytes;
	if (p->done >= p->next_check)
		hs_progress_tick(p);
}
/* The job is over: its line, if one was shown, is blanked. */
void hs_progress_end(struct hs_progress *p);

#endif
