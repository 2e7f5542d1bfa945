/* progress.c - see progress.h. */
#include "base/progress.h"

#include "base/fmt.h"
#include "base/hs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void hs_progress_on(struct hs_progress *p, int fd, uint64_t after_ns, uint64_t (*now_ns)(void))
{
	memset(p, 0, sizeof *p);
	p->on = true;
	p->fd = fd;
	p->after_ns = after_ns;
	p->now_ns = now_ns ? now_ns : hs_mono_ns;
}

void hs_progress_open(struct hs_progress *p)
{
	memset(p, 0, sizeof *p);
	const char *env = getenv("HEAPSCOPE_PROGRESS");
	const bool force = env && !strcmp(env, "1");
	if ((env && !strcmp(env, "0")) || (!force && !isatty(2)))
		return;
	/* A description of its own, non-blocking: O_NONBLOCK set on fd 2
	 * would change the terminal for every process sharing it. O_APPEND:
	 * forced onto a file (2>>log), a fresh description would write over
	 * the file's start. */
	int fd = open("/proc/self/fd/2", O_WRONLY | O_APPEND | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	uint64_t after = HS_PROGRESS_AFTER_NS;
	const char *ms = getenv("HEAPSCOPE_PROGRESS_AFTER_MS");
	char *end;
	unsigned long long v;
	/* a whole number of ms up to a day; anything else keeps the second */
	if (ms && *ms >= '0' && *ms <= '9' && (errno = 0, v = strtoull(ms, &end, 10), !errno && !*end) &&
	    v <= 86400000ull)
		after = (uint64_t)v * 1000000ull;
	hs_progress_on(p, fd, after, NULL);
	p->own_fd = true;
}

void hs_progress_close(struct hs_progress *p)
{
	if (p && p->on && p->own_fd)
		close(p->fd);
	if (p)
		p->on = false;
}

void hs_progress_start(struct hs_progress *p, const char *what, uint64_t total)
{
	if (!p || !p->on)
		return;
	p->what = what;
	p->total = total;
	p->done = 0;
	p->next_check = 0; /* the first advance reads the clock */
	p->t0 = p->now_ns();
	p->last = 0;
}

/* One write, never retried: a full terminal drops the update (EAGAIN). */
static void put(struct hs_progress *p, const char *s, size_t n)
{
	ssize_t rc = write(p->fd, s, n);
	(void)rc;
	p->writes++;
}

void hs_progress_tick(struct hs_progress *p)
{
	p->next_check = p->done + HS_PROGRESS_STEP;
	const uint64_t now = p->now_ns();
	if (now - p->t0 < p->after_ns || (p->last && now - p->last < HS_PROGRESS_INTERVAL_NS))
		return;
	p->last = now ? now : 1;
	char line[HS_PROGRESS_LINE + 2], done[HS_SIZE_BUF], total[HS_SIZE_BUF];
	const uint64_t d = p->done < p->total ? p->done : p->total;
	int n = snprintf(line, sizeof line - 1, "\rheapscope: %s: %s of %s (%d%%)", p->what, hs_fmt_size(done, d),
			 hs_fmt_size(total, p->total), p->total ? (int)(d * 100 / p->total) : 100);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;
	/* blank what a longer line before left */
	unsigned len = (unsigned)n - 1;
	while ((unsigned)n - 1 < p->shown && (size_t)n < sizeof line - 1)
		line[n++] = ' ';
	p->shown = len;
	put(p, line, (size_t)n);
}

void hs_progress_end(struct hs_progress *p)
{
	if (!p || !p->on || !p->shown)
		return;
	char line[HS_PROGRESS_LINE + 3];
	size_t n = 0;
	line[n++] = '\r';
	for (unsigned i = 0; i < p->shown && n < sizeof line - 1; i++)
		line[n++] = ' ';
	line[n++] = '\r';
	put(p, line, n);
	p->shown = 0;
}
