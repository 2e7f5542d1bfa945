/* stream.c - a ring of windows filled ahead by a reader thread. */
#include "source/stream.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define NBUF 4     /* windows in the ring: the reader runs up to 3 ahead */
#define OVERLAP 64 /* a chunk header that straddles two windows is whole in the second */

struct buf {
	unsigned char *data;
	uint64_t start;
	size_t len;
	int rc, err; /* hs_read()'s result, and its errno when it failed */
	bool ready;
};

struct hs_stream {
	struct hs_source *src;
	size_t window;
	struct buf b[NBUF];
	/* Windows are numbered in read order; window n lives in b[n % NBUF].
	 * The reader fills `filled` < n <= `taken` + NBUF - 1; the caller
	 * holds window `taken` (-1 before the first). All under mu. */
	uint64_t filled, taken;
	uint64_t next, end; /* where the reader's next window starts; its limit */
	uint64_t gen;       /* bumped when the caller jumps: the reader restarts */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool quit, threaded, running;
	bool filling; /* the reader is writing a window now */
};

static void fill(struct hs_stream *s, struct buf *b, uint64_t start, uint64_t end)
{
	b->start = start;
	b->len = (size_t)(end - start < s->window ? end - start : s->window);
	b->rc = hs_read(s->src, b->start, b->data, b->len);
	b->err = b->rc < 0 ? errno : 0; /* errno is per thread: carried to the caller's */
}

static void *reader(void *arg)
{
	struct hs_stream *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->quit) {
		/* Room for one more, and something left to read? */
		if (!s->running || s->filled + 1 >= s->taken + NBUF || s->next >= s->end) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		uint64_t n = s->filled + 1, gen = s->gen, start = s->next, end = s->end;
		struct buf *b = &s->b[n % NBUF];
		s->filling = true;
		pthread_mutex_unlock(&s->mu);
		fill(s, b, start, end);
		pthread_mutex_lock(&s->mu);
		s->filling = false;
		pthread_cond_broadcast(&s->cv);
		if (gen != s->gen)
			continue; /* the caller jumped meanwhile: this window is stale */
		b->ready = true;
		s->filled = n;
		s->next = b->start + b->len >= s->end ? s->end : b->start + b->len - OVERLAP;
		if (b->rc < 0)
			s->next = s->end; /* stop there: the caller will see the error */
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

struct hs_stream *hs_stream_open(struct hs_source *src, size_t window)
{
	struct hs_stream *s = hs_xcalloc(1, sizeof *s);
	s->src = src;
	s->window = window < 4 * OVERLAP ? 4 * OVERLAP : window;
	for (int i = 0; i < NBUF; i++)
		s->b[i].data = hs_xcalloc(1, s->window);
	s->taken = s->filled = 0; /* window 0 is never used: numbering starts at 1 */
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	/* Without a thread it still works, reading on demand. The reader
	 * takes no signal: during a stop, SIGINT and the like must reach the
	 * thread that traces the target (source/target.h). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	s->threaded = pthread_create(&s->th, NULL, reader, s) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return s;
}

static bool holds(const struct buf *b, uint64_t addr, uint64_t end, size_t need)
{
	uint64_t want = end - addr < need ? end - addr : need;
	return b->ready && addr >= b->start && addr + want <= b->start + b->len;
}

int hs_stream_get(struct hs_stream *s, uint64_t addr, uint64_t end, size_t need,
		  const unsigned char **data, uint64_t *wstart, size_t *wlen)
{
	pthread_mutex_lock(&s->mu);
	for (;;) {
		uint64_t n = s->taken + 1;
		struct buf *b = &s->b[n % NBUF];
		bool in_order = s->running && s->end == end && n <= s->filled;
		if (in_order && holds(b, addr, end, need)) {
			s->taken = n;
			pthread_cond_broadcast(&s->cv); /* a window is free again */
			pthread_mutex_unlock(&s->mu);
			if (b->rc < 0) {
				errno = b->err;
				return -1;
			}
			*data = b->data;
			*wstart = b->start;
			*wlen = b->len;
			return 0;
		}
		if (in_order && b->ready && b->rc == 0 && addr >= b->start + b->len - OVERLAP) {
			s->taken = n; /* a window the caller stepped over: drop it */
			pthread_cond_broadcast(&s->cv);
			continue;
		}
		bool coming = s->running && s->end == end && s->threaded && n > s->filled &&
			      addr >= s->next && addr < s->next + s->window && s->next < s->end;
		if (coming) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		/* Elsewhere (a jump over a big chunk, a new heap): read it here and
		 * let the reader go on from its end. */
		s->gen++;
		s->running = false;
		while (s->filling) /* it may be writing into any buffer */
			pthread_cond_wait(&s->cv, &s->mu);
		pthread_mutex_unlock(&s->mu);
		struct buf tmp = s->b[0];
		/* b[0] is free: the reader's stale window cannot be handed out. */
		fill(s, &tmp, addr, end);
		pthread_mutex_lock(&s->mu);
		s->b[0] = tmp;
		s->b[0].ready = true;
		for (int i = 1; i < NBUF; i++)
			s->b[i].ready = false;
		s->taken = s->filled = NBUF; /* window NBUF lives in b[0] */
		s->end = end;
		s->next = tmp.start + tmp.len >= end ? end : tmp.start + tmp.len - OVERLAP;
		s->running = tmp.rc == 0;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		if (tmp.rc < 0) {
			errno = tmp.err;
			return -1;
		}
		*data = s->b[0].data;
		*wstart = tmp.start;
		*wlen = tmp.len;
		return 0;
	}
}

void hs_stream_close(struct hs_stream *s)
{
	if (!s)
		return;
	if (s->threaded) {
		pthread_mutex_lock(&s->mu);
		s->quit = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->th, NULL);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	for (int i = 0; i < NBUF; i++)
		free(s->b[i].data);
	free(s);
}
