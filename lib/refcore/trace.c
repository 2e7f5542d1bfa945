/* trace.c - reads a malloc/free trace (trace.h) into a list of operations. */
#include "refcore/trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* IDs to dense indices: open addressing on an FNV-1a hash. */
struct ids {
	char **key;
	uint32_t *val;
	size_t cap, n;
};

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static long ids_find(struct ids *m, const char *s, size_t n, bool add)
{
	if (add && (m->n + 1) * 2 > m->cap) {
		struct ids g = {0};
		g.cap = m->cap ? m->cap * 2 : 64;
		g.key = hs_xcalloc(g.cap, sizeof *g.key);
		g.val = hs_xcalloc(g.cap, sizeof *g.val);
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->key[i])
				continue;
			size_t j = hash(m->key[i], strlen(m->key[i])) & (g.cap - 1);
			while (g.key[j])
				j = (j + 1) & (g.cap - 1);
			g.key[j] = m->key[i];
			g.val[j] = m->val[i];
		}
		g.n = m->n;
		free(m->key);
		free(m->val);
		*m = g;
	}
	if (!m->cap)
		return -1;
	size_t j = hash(s, n) & (m->cap - 1);
	while (m->key[j]) {
		if (strlen(m->key[j]) == n && memcmp(m->key[j], s, n) == 0)
			return m->val[j];
		j = (j + 1) & (m->cap - 1);
	}
	if (!add)
		return -1;
	m->key[j] = hs_xcalloc(n + 1, 1);
	memcpy(m->key[j], s, n);
	m->val[j] = (uint32_t)m->n;
	return (long)m->n++;
}

static void ids_free(struct ids *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->key[i]);
	free(m->key);
	free(m->val);
}

/* Splits a line into at most 5 blank-separated tokens; returns the count
 * (6 means too many). */
static int tokens(char *s, char *tok[5])
{
	int n = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			*s++ = 0;
		if (!*s)
			return n;
		if (n == 5)
			return 6;
		tok[n++] = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\r')
			s++;
	}
}

static bool number(const char *s, uint64_t *v)
{
	if (!*s || *s == '-' || *s == '+')
		return false;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

int hs_trace_parse(const char *name, const char *text, size_t len, struct hs_trace *t, struct hs_err *err)
{
	memset(t, 0, sizeof *t);
	struct ids ids = {0};
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;
	char *line = NULL;
	size_t linecap = 0;
	for (size_t pos = 0; pos < len && !rc;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		lineno++;
		if (memchr(text + pos, 0, n)) {
			rc = hs_fail(err, HS_EUSAGE, "%s:%u: a NUL byte: not a text trace", name, lineno);
			break;
		}
		if (n + 1 > linecap) {
			linecap = n + 1;
			line = hs_xrealloc(line, linecap, 1);
		}
		memcpy(line, text + pos, n);
		line[n] = 0;
		pos += n + 1;
		char *hash_ = strchr(line, '#');
		if (hash_)
			*hash_ = 0;
		char *tok[5];
		int nt = tokens(line, tok);
		if (nt == 0)
			continue;
		struct hs_trace_op op = {.kind = tok[0][0], .line = lineno};
		int want;
		switch (tok[0][1] ? 0 : tok[0][0]) {
		case 'm': case 'r': want = 3; break;
		case 'f': want = 2; break;
		case 'c': case 'a': want = 4; break;
		case 't': want = 2; break;
		default:
			rc = hs_fail(err, HS_EUSAGE, "%s:%u: unknown operation '%s' (use m, f, c, r, a or t)", name,
				     lineno, tok[0]);
			continue;
		}
		if (nt != want) {
			rc = hs_fail(err, HS_EUSAGE, "%s:%u: '%s' takes %d argument%s, not %d", name, lineno, tok[0],
				     want - 1, want == 2 ? "" : "s", nt - 1);
			continue;
		}
		int first_num = op.kind == 't' ? 1 : 2;
		for (int i = first_num; i < nt && !rc; i++) {
			uint64_t v;
			if (!number(tok[i], &v))
				rc = hs_fail(err, HS_EUSAGE, "%s:%u: '%s' is not a size (a non-negative number)", name,
					     lineno, tok[i]);
			else if (i == first_num)
				op.a = v;
			else
				op.b = v;
		}
		if (rc)
			continue;
		if (op.kind != 't') {
			bool defines = op.kind == 'm' || op.kind == 'c' || op.kind == 'a';
			long id = ids_find(&ids, tok[1], strlen(tok[1]), defines);
			if (id < 0) {
				rc = hs_fail(err, HS_EUSAGE, "%s:%u: '%s %s': no earlier line allocated ID '%s'", name,
					     lineno, tok[0], tok[1], tok[1]);
				continue;
			}
			op.id = (uint32_t)id;
		}
		if (t->nops == cap) {
			cap = cap ? cap * 2 : 256;
			t->ops = hs_xrealloc(t->ops, cap, sizeof *t->ops);
		}
		t->ops[t->nops++] = op;
	}
	free(line);
	t->nids = ids.n;
	ids_free(&ids);
	if (rc)
		hs_trace_free(t);
	return rc;
}

int hs_trace_load(const char *path, struct hs_trace *t, struct hs_err *err)
{
	memset(t, 0, sizeof *t);
	FILE *f = fopen(path, "rb");
	if (!f)
		return hs_fail(err, HS_EUSAGE, "cannot open trace %s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = hs_xrealloc(buf, cap, 1);
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	int rc = bad ? hs_fail(err, HS_EUSAGE, "cannot read trace %s", path) : hs_trace_parse(path, buf, len, t, err);
	free(buf);
	return rc;
}

void hs_trace_free(struct hs_trace *t)
{
	free(t->ops);
	memset(t, 0, sizeof *t);
}
