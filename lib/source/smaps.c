/* smaps.c - /proc/PID/smaps, and the pagemap of partly resident private
 * anonymous mappings. Nothing here reads the target's memory: a page that
 * is not present is never touched (pagemap only says whether it is). */
#include "source/smaps.h"

#include "source/maps.h"
#include "source/pagemap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096ull
/* Past this many pages of partly resident mappings in all (64 GiB of
 * address space, 16 MiB of pagemap reads), parts are counted in
 * proportion instead: the split must not cost more than the heap read. */
#define MAX_PAGEMAP_PAGES (16ull << 20)

/* "start-end perms offset dev inode path": a mapping's first line, read
 * as maps.c reads /proc/PID/maps. */
static bool header(const char *line, struct hs_smap *out)
{
	struct hs_map m;
	if (!hs_map_parse_line(line, &m))
		return false;
	if (m.end < m.start) {
		free(m.path);
		return false;
	}
	memset(out, 0, sizeof *out);
	out->start = m.start;
	out->end = m.end;
	out->offset = m.offset;
	out->inode = m.inode;
	out->prot = m.prot;
	out->shared = m.shared;
	out->path = m.path;
	return true;
}

/* "Key:   123 kB" into *v (bytes) when the line is that key. */
static bool field(const char *line, const char *key, uint64_t *v)
{
	size_t kl = strlen(key);
	if (strncmp(line, key, kl) || line[kl] != ':')
		return false;
	*v = strtoull(line + kl + 1, NULL, 10) * 1024;
	return true;
}

int hs_smaps_parse(const char *text, struct hs_smaps *s)
{
	size_t cap = 0;
	memset(s, 0, sizeof *s);
	struct hs_smap *cur = NULL;
	for (const char *p = text; p && *p;) {
		struct hs_smap m;
		uint64_t v;
		if (header(p, &m)) {
			if (s->n == cap) {
				cap = cap ? cap * 2 : 64;
				s->v = hs_xrealloc(s->v, cap, sizeof *s->v);
			}
			s->v[s->n] = m;
			cur = &s->v[s->n++];
		} else if (cur) {
			if (field(p, "Rss", &v)) {
				cur->rss = v;
				s->rss += v;
			} else if (field(p, "Pss", &v))
				cur->pss = v;
			else if (field(p, "Anonymous", &v))
				cur->anonymous = v;
			else if (field(p, "Swap", &v))
				cur->swap = v;
			else if (field(p, "Shared_Clean", &v) || field(p, "Shared_Dirty", &v))
				cur->shared_bytes += v;
			else if (field(p, "Private_Clean", &v) || field(p, "Private_Dirty", &v))
				cur->private_bytes += v;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

static bool partly_resident_anon(const struct hs_smap *m)
{
	return !m->path[0] && !m->shared && m->rss && m->rss < m->end - m->start;
}

static void read_pagemap(const struct hs_pagemap *pm, struct hs_smap *m)
{
	uint64_t n = (m->end - m->start) / PAGE;
	unsigned char *st = hs_xcalloc(n ? n : 1, 1);
	if (hs_pagemap_read(pm, m->start, (size_t)n, st) == 0) {
		m->present = hs_xcalloc(n / 64 + 1, sizeof *m->present);
		for (uint64_t i = 0; i < n; i++)
			if (st[i] == HS_PAGE_PRESENT)
				m->present[i / 64] |= 1ull << (i % 64);
	}
	free(st);
}

int hs_smaps_read(pid_t pid, struct hs_smaps *s)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(s, 0, sizeof *s);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t cap = 1 << 16, len = 0;
	char *text = hs_xcalloc(cap, 1);
	for (;;) {
		if (cap - len < 4096) {
			text = hs_xrealloc(text, cap * 2, 1);
			cap *= 2;
		}
		ssize_t got = read(fd, text + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			close(fd);
			free(text);
			errno = e;
			return -1;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	text[len] = 0;
	hs_smaps_parse(text, s);
	free(text);
	if (!s->n) {
		errno = ESRCH;
		return -1;
	}
	uint64_t pages = 0;
	for (size_t i = 0; i < s->n; i++)
		if (partly_resident_anon(&s->v[i]))
			pages += (s->v[i].end - s->v[i].start) / PAGE;
	struct hs_pagemap pm;
	if (pages <= MAX_PAGEMAP_PAGES && hs_pagemap_open(pid, &pm) == 0) {
		for (size_t i = 0; i < s->n; i++)
			if (partly_resident_anon(&s->v[i]))
				read_pagemap(&pm, &s->v[i]);
		hs_pagemap_close(&pm);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s->ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	return 0;
}

uint64_t hs_smap_resident(const struct hs_smap *m, uint64_t start, uint64_t end)
{
	start = start > m->start ? start : m->start;
	end = end < m->end ? end : m->end;
	if (end <= start || !m->rss)
		return 0;
	uint64_t size = m->end - m->start;
	if (start == m->start && end == m->end)
		return m->rss;
	if (m->rss >= size)
		return end - start;
	if (!m->present) /* in proportion, whole pages */
		return (uint64_t)((unsigned __int128)m->rss * (end - start) / size) & ~(PAGE - 1);
	uint64_t bytes = 0;
	for (uint64_t a = start & ~(PAGE - 1); a < end; a += PAGE) {
		uint64_t i = (a - m->start) / PAGE;
		if (m->present[i / 64] & (1ull << (i % 64)))
			bytes += PAGE;
	}
	return bytes;
}

void hs_smaps_free(struct hs_smaps *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].present);
	}
	free(s->v);
	memset(s, 0, sizeof *s);
}
