/* stream.c - double-buffered read-ahead over a memory source. */
#include "stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define OVERLAP 64 /* a chunk header that straddles two windows is whole in the second */

enum { IDLE, QUEUED, DONE };

struct buf {
	unsigned char *data;
	uint64_t start;
	size_t len;
	int state, rc, err;
};

struct hs_stream {
	struct hs_source *src;
	size_t window;
	struct buf b[2];
	int cur; /* the buffer the caller holds */
	uint64_t bytes;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool quit, threaded;
};

static void *reader(void *arg)
{
	struct hs_stream *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		int i = s->b[0].state == QUEUED ? 0 : s->b[1].state == QUEUED ? 1 : -1;
		if (s->quit)
			break;
		if (i < 0) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		struct buf *b = &s->b[i];
		pthread_mutex_unlock(&s->mu);
		int rc = hs_read(s->src, b->start, b->data, b->len);
		int err = errno;
		pthread_mutex_lock(&s->mu);
		b->rc = rc;
		b->err = err;
		b->state = DONE;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

struct hs_stream *hs_stream_open(struct hs_source *src, size_t window)
{
	struct hs_stream *s = hs_xcalloc(1, sizeof *s);
	s->src = src;
	s->window = window;
	for (int i = 0; i < 2; i++)
		s->b[i].data = hs_xcalloc(1, window);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	/* Without a thread it still works, reading on demand. */
	s->threaded = pthread_create(&s->th, NULL, reader, s) == 0;
	return s;
}

static bool holds(const struct buf *b, uint64_t addr, uint64_t end, size_t need)
{
	uint64_t want = end - addr < need ? end - addr : need;
	return b->state == DONE && b->rc == 0 && addr >= b->start && addr + want <= b->start + b->len;
}

int hs_stream_get(struct hs_stream *s, uint64_t addr, uint64_t end, size_t need,
		  const unsigned char **data, uint64_t *wstart, size_t *wlen)
{
	int other = !s->cur;
	struct buf *o = &s->b[other];
	pthread_mutex_lock(&s->mu);
	while (o->state == QUEUED)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	if (!holds(o, addr, end, need)) {
		/* Not what was read ahead (a jump over a big chunk): read here. */
		o->start = addr;
		o->len = (size_t)(end - addr < s->window ? end - addr : s->window);
		o->rc = hs_read(s->src, o->start, o->data, o->len);
		o->err = errno;
		o->state = DONE;
		if (o->rc < 0) {
			o->state = IDLE;
			return -1;
		}
	}
	s->bytes += o->len;
	s->cur = other;
	*data = o->data;
	*wstart = o->start;
	*wlen = o->len;
	/* Read ahead what comes next into the buffer the caller let go. */
	struct buf *n = &s->b[!other];
	uint64_t next = o->start + o->len;
	n->state = IDLE;
	if (next < end && o->len > OVERLAP) {
		next -= OVERLAP;
		n->start = next;
		n->len = (size_t)(end - next < s->window ? end - next : s->window);
		if (s->threaded) {
			pthread_mutex_lock(&s->mu);
			n->state = QUEUED;
			pthread_cond_broadcast(&s->cv);
			pthread_mutex_unlock(&s->mu);
		}
	}
	return 0;
}

uint64_t hs_stream_bytes_read(const struct hs_stream *s)
{
	return s->bytes;
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
	free(s->b[0].data);
	free(s->b[1].data);
	free(s);
}
