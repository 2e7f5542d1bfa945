/* maps.c - parse /proc/PID/maps into a sorted array of mappings. */
#include "source/maps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

bool hs_map_parse_line(const char *line, struct hs_map *out)
{
	uint64_t start, end, off, inode;
	char perms[5];
	unsigned devmaj, devmin;
	int n = 0;
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 "%n",
		   &start, &end, perms, &off, &devmaj, &devmin, &inode, &n) < 7)
		return false;
	const char *path = line + n;
	while (*path == ' ' || *path == '\t')
		path++;
	size_t len = strcspn(path, "\n");
	memset(out, 0, sizeof *out);
	out->start = start;
	out->end = end;
	out->offset = off;
	out->inode = inode;
	out->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		    (perms[2] == 'x' ? PROT_EXEC : 0);
	out->shared = perms[3] == 's';
	out->path = hs_xcalloc(len + 1, 1);
	memcpy(out->path, path, len);
	return true;
}

const char *hs_maps_parse(const char *text, struct hs_maps *m)
{
	size_t cap = 0;
	const char *bad = NULL;
	memset(m, 0, sizeof *m);
	for (const char *p = text; p && *p;) {
		struct hs_map map;
		if (hs_map_parse_line(p, &map)) {
			if (m->n == cap) {
				cap = cap ? cap * 2 : 64;
				m->v = hs_xrealloc(m->v, cap, sizeof *m->v);
			}
			m->v[m->n++] = map;
		} else if (!bad) {
			bad = p;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return bad;
}

/* What a failed open or read of /proc/PID/maps means, by errno. The
 * process was there when it was opened (hs_target_open), so gone now is
 * "exited while being read". */
static int maps_fail(pid_t pid, const char *path, int e, struct hs_err *err)
{
	switch (e) {
	case ENOENT:
	case ESRCH:
		return hs_fail(err, HS_EEXITED, "pid %d exited while being read", (int)pid);
	case ENOMEM:
	case EMFILE:
	case ENFILE:
		return hs_fail(err, HS_EINTERNAL, "cannot read %s: %s", path, strerror(e));
	default: /* EACCES, EPERM: no permission over it; anything else: not readable */
		return hs_fail(err, HS_EATTACH, "cannot read %s: %s", path, strerror(e));
	}
}

int hs_maps_read(pid_t pid, struct hs_maps *m, struct hs_err *err)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return maps_fail(pid, path, errno, err);
	size_t cap = 1 << 16, len = 0;
	char *text = hs_xcalloc(cap, 1);
	size_t got;
	while ((got = fread(text + len, 1, cap - len - 1, f)) > 0) {
		len += got;
		if (cap - len < 4096) {
			text = hs_xrealloc(text, cap * 2, 1);
			cap *= 2;
		}
	}
	int rerr = ferror(f) ? errno : 0;
	fclose(f);
	text[len] = 0;
	if (rerr) {
		free(text);
		return maps_fail(pid, path, rerr, err);
	}
	const char *bad = hs_maps_parse(text, m);
	int rc = 0;
	if (bad) /* the kernel's own format: a line not understood is not skipped */
		rc = hs_fail(err, HS_EUNSUPPORTED, "cannot parse %s: '%.*s'", path, (int)strcspn(bad, "\n"), bad);
	else if (m->n == 0) /* a process with no memory: its mm is gone */
		rc = hs_fail(err, HS_EEXITED, "pid %d exited while being read (%s is empty)", (int)pid, path);
	free(text);
	if (rc)
		hs_maps_free(m);
	return rc;
}

/* Private anonymous memory, named or not: "[anon:NAME]" (prctl
 * PR_SET_VMA_ANON_NAME; glibc's glibc.mem.decorate_maps names its
 * mmapped chunks "[anon: glibc: malloc]") and private hugetlb memory
 * ("/anon_hugepage (deleted)": glibc.malloc.hugetlb=2). */
bool hs_map_anonymous(const struct hs_map *m)
{
	return !m->shared &&
	       (!m->path[0] || !strncmp(m->path, "[anon:", 6) || !strncmp(m->path, "/anon_hugepage", 14));
}

const struct hs_map *hs_maps_find(const struct hs_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	return NULL;
}

void hs_maps_free(struct hs_maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	memset(m, 0, sizeof *m);
}
