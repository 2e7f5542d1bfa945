/* diff.c - two heapscope/1 reports read, checked and compared (diff.h).
 * Rows of the reports' arrays are matched by a key through one sort and
 * merge, so that a report of 100,000 leak suspects compares in
 * O(n log n). A field the comparison needs that is missing or is not a
 * byte count makes the report malformed (exit 2): a diff of numbers
 * guessed as 0 would look like a change. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/diff.h"

#define SCHEMA "heapscope/1"

const char *const hs_diff_total_names[HS_DT_COUNT] = {
	"system_bytes",   "in_use_bytes",   "in_use_chunks",  "free_bytes",    "free_chunks",
	"tcache_bytes",   "tcache_chunks",  "fastbin_bytes",  "fastbin_chunks", "bin_bytes",
	"bin_chunks",     "top_bytes",      "overhead_bytes", "mmapped_bytes", "mmapped_chunks",
	"resident_free_bytes", "trimmable_bytes",
};
/* The totals only reports that read residency have. */
#define FIRST_OPTIONAL_TOTAL HS_DT_RESIDENT_FREE

const char *hs_diff_status_name(enum hs_diff_status s)
{
	return s == HS_DIFF_APPEARED ? "appeared" : s == HS_DIFF_VANISHED ? "vanished" : "both";
}

/* ---- reading a file ---- */

static int read_all(const char *file, char **buf, size_t *len, struct hs_err *err)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return hs_fail(err, HS_EUSAGE, "%s: cannot read: %s", file, strerror(errno));
	size_t cap = 1 << 16, n = 0;
	char *b = hs_xcalloc(cap, 1);
	for (;;) {
		if (n + 1 >= cap) {
			b = hs_xrealloc(b, cap, 2);
			cap *= 2;
		}
		size_t got = fread(b + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	int bad = ferror(f) ? errno : 0;
	fclose(f);
	if (bad) {
		free(b);
		return hs_fail(err, HS_EUSAGE, "%s: cannot read: %s", file, strerror(bad));
	}
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}

/* Line and column (1-based) of p in buf. */
static void where(const char *buf, const char *p, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (const char *q = buf; q < p && *q; q++) {
		if (*q == '\n') {
			++*line;
			*col = 1;
		} else
			++*col;
	}
}

static bool blank(const char *p)
{
	return !p[strspn(p, " \t\r\n")];
}

/* Is o a heapscope report (an object with a "heapscope/..." schema)? If
 * not, a message for why not. */
static int check_report(const char *file, const cJSON *o, struct hs_err *err)
{
	if (!cJSON_IsObject(o))
		return hs_fail(err, HS_EUSAGE, "%s: not a heapscope report (JSON, but not an object)", file);
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "schema");
	if (!cJSON_IsString(s)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
		if (cJSON_IsString(e))
			return hs_fail(err, HS_EUSAGE, "%s: not a heapscope report: an error a run printed (\"%.*s\")",
				       file, (int)strcspn(e->valuestring, "\n") < 200 ? (int)strcspn(e->valuestring, "\n") : 200,
				       e->valuestring); /* one line */
		return hs_fail(err, HS_EUSAGE, "%s: not a heapscope report (no \"schema\")", file);
	}
	if (strncmp(s->valuestring, "heapscope/", 10) != 0)
		return hs_fail(err, HS_EUSAGE, "%s: not a heapscope report (schema \"%.100s\")", file, s->valuestring);
	return 0;
}

int hs_diff_load(const char *file, cJSON **out, struct hs_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	*out = NULL;
	if (read_all(file, &buf, &len, err))
		return err->code;
	if (blank(buf)) {
		free(buf);
		return hs_fail(err, HS_EUSAGE, "%s: empty, not a heapscope report", file);
	}
	const char *end = NULL;
	cJSON *o = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	unsigned line, col;
	if (!o) {
		where(buf, end ? end : cJSON_GetErrorPtr(), &line, &col);
		free(buf);
		return hs_fail(err, HS_EUSAGE, "%s: not JSON (a syntax error at line %u, column %u)", file, line, col);
	}
	if (end && !blank(end)) {
		where(buf, end + strspn(end, " \t\r\n"), &line, &col);
		free(buf);
		cJSON_Delete(o);
		return hs_fail(err, HS_EUSAGE,
			       "%s: more than one JSON value (another from line %u, column %u): give one report a file",
			       file, line, col);
	}
	free(buf);
	if (check_report(file, o, err)) {
		cJSON_Delete(o);
		return err->code;
	}
	*out = o;
	return 0;
}

/* ---- reading fields: the first problem is the one reported ---- */

struct ctx {
	const char *file;
	struct hs_err *err;
};

static bool failed(const struct ctx *x)
{
	return x->err->code != 0;
}

static void malformed(struct ctx *x, const char *where, const char *name, const char *what)
{
	hs_fail(x->err, HS_EUSAGE, "%s: malformed %s report: %s%s%s %s", x->file, SCHEMA, where, where[0] ? "." : "",
		name, what);
}

/* A byte count or a count: a number, whole, not negative. */
static bool count_of(const cJSON *v, uint64_t *out)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble >= 18446744073709551616.0 ||
	    floor(v->valuedouble) != v->valuedouble)
		return false;
	*out = (uint64_t)v->valuedouble;
	return true;
}

static uint64_t need_count(struct ctx *x, const cJSON *o, const char *where, const char *name)
{
	uint64_t v = 0;
	if (!failed(x) && !count_of(cJSON_GetObjectItemCaseSensitive(o, name), &v))
		malformed(x, where, name, cJSON_HasObjectItem(o, name) ? "is not a count" : "is missing");
	return v;
}

static const cJSON *need(struct ctx *x, const cJSON *o, const char *name, bool array)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!failed(x) && !(array ? cJSON_IsArray(v) : cJSON_IsObject(v)))
		malformed(x, "", name, array ? "is not an array" : "is not an object");
	return v;
}

static void copy_str(char *dst, size_t size, const cJSON *v)
{
	snprintf(dst, size, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static void side(struct ctx *x, const cJSON *r, struct hs_diff_side *s)
{
	s->file = x->file;
	const cJSON *t = need(x, r, "target", false);
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(t, "pid");
	uint64_t p = 0;
	if (!failed(x) && (!count_of(pid, &p) || p > INT32_MAX))
		malformed(x, "target", "pid", "is not a process id");
	s->pid = (int64_t)p;
	copy_str(s->exe, sizeof s->exe, cJSON_GetObjectItemCaseSensitive(t, "exe"));
	copy_str(s->core, sizeof s->core, cJSON_GetObjectItemCaseSensitive(t, "core"));
	copy_str(s->glibc, sizeof s->glibc, cJSON_GetObjectItemCaseSensitive(t, "glibc"));
	const cJSON *d = need(x, r, "diagnosis", false);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, "verdict");
	if (!failed(x) && !cJSON_IsString(v))
		malformed(x, "diagnosis", "verdict", "is not a string");
	copy_str(s->verdict, sizeof s->verdict, v);
	copy_str(s->summary, sizeof s->summary, cJSON_GetObjectItemCaseSensitive(d, "summary"));
	s->narenas = (size_t)cJSON_GetArraySize(need(x, r, "arenas", true));
}

/* ---- tables: rows of two arrays matched by key ---- */

enum key_kind { KEY_NUM, KEY_ADDR, KEY_STR };

struct table_spec {
	const char *array;        /* for messages: "histogram", "leaks.by_size" */
	const char *key;          /* the key's field */
	enum key_kind kind;
	const char *aux;          /* a field kept beside the key (number or bool), or NULL */
	const char *const *fields; /* NULL-terminated */
	int order;                /* ORDER_KEY, ORDER_POS, or the field sorted by |change|, largest first */
};
#define ORDER_KEY (-1)
#define ORDER_POS (-2)

static int cmp_key(const struct hs_diff_row *a, const struct hs_diff_row *b, enum key_kind kind)
{
	if (kind != KEY_STR)
		return a->num < b->num ? -1 : a->num > b->num;
	return strcmp(a->key, b->key);
}

/* By key (ctx: the enum key_kind); the OLD side's row before the NEW
 * side's; then by place. */
static int by_key_side(const void *pa, const void *pb, void *ctx)
{
	const struct hs_diff_row *a = pa, *b = pb;
	int c = cmp_key(a, b, *(const enum key_kind *)ctx);
	if (c)
		return c;
	bool ao = a->old_pos >= 0, bo = b->old_pos >= 0;
	if (ao != bo)
		return ao ? -1 : 1;
	int pa_ = ao ? a->old_pos : a->new_pos, pb_ = bo ? b->old_pos : b->new_pos;
	return (pa_ > pb_) - (pa_ < pb_);
}

/* Where a row stands in NEW (rows only in OLD after, in OLD's order). */
static long pos_rank(const struct hs_diff_row *r)
{
	return r->new_pos >= 0 ? r->new_pos : (long)INT32_MAX + r->old_pos;
}

static int by_pos(const void *pa, const void *pb)
{
	long a = pos_rank(pa), b = pos_rank(pb);
	return (a > b) - (a < b);
}

/* By the size of the change of field *ctx, largest first. */
static int by_change(const void *pa, const void *pb, void *ctx)
{
	const struct hs_diff_row *a = pa, *b = pb;
	int f = *(const int *)ctx;
	int64_t da = hs_diff_delta(a->v[f]), db = hs_diff_delta(b->v[f]);
	uint64_t ma = da < 0 ? -(uint64_t)da : (uint64_t)da, mb = db < 0 ? -(uint64_t)db : (uint64_t)db;
	if (ma != mb)
		return ma > mb ? -1 : 1;
	return strcmp(a->key, b->key);
}

/* Reads the row of element e (place pos) of one side into r. */
static void read_row(struct ctx *x, const struct table_spec *sp, const cJSON *e, int pos, bool is_new,
		     struct hs_diff_row *r)
{
	char at[64];
	snprintf(at, sizeof at, "%s[%d]", sp->array, pos);
	r->old_pos = is_new ? -1 : pos;
	r->new_pos = is_new ? pos : -1;
	r->status = is_new ? HS_DIFF_APPEARED : HS_DIFF_VANISHED;
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, sp->key);
	char buf[32];
	if (sp->kind == KEY_NUM) {
		if (!count_of(k, &r->num) && !failed(x))
			malformed(x, at, sp->key, "is not a count");
		snprintf(buf, sizeof buf, "%" PRIu64, r->num);
		r->key = hs_xstrdup(buf);
	} else if (!cJSON_IsString(k)) {
		if (!failed(x))
			malformed(x, at, sp->key, "is not a string");
		r->key = hs_xstrdup("");
	} else {
		r->key = hs_xstrdup(k->valuestring);
		if (sp->kind == KEY_ADDR)
			r->num = strtoull(k->valuestring, NULL, 16);
	}
	if (sp->aux) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, sp->aux);
		if (cJSON_IsBool(a))
			r->aux = cJSON_IsTrue(a);
		else
			r->aux = need_count(x, e, at, sp->aux);
	}
	for (size_t i = 0; sp->fields[i]; i++) {
		uint64_t v = need_count(x, e, at, sp->fields[i]);
		if (is_new)
			r->v[i].new = v;
		else
			r->v[i].old = v;
	}
}

static void table(struct ctx *ox, struct ctx *nx, const struct table_spec *sp, const cJSON *oa, const cJSON *na,
		  struct hs_diff_table *t)
{
	t->fields = sp->fields;
	for (t->nfields = 0; sp->fields[t->nfields]; t->nfields++)
		;
	t->compared = cJSON_IsArray(oa) && cJSON_IsArray(na);
	if (!t->compared)
		return;
	size_t no = (size_t)cJSON_GetArraySize(oa), nn = (size_t)cJSON_GetArraySize(na), n = 0;
	struct hs_diff_row *rows = hs_xcalloc(no + nn + 1, sizeof *rows);
	const cJSON *e;
	int pos = 0;
	cJSON_ArrayForEach(e, oa) read_row(ox, sp, e, pos++, false, &rows[n++]);
	pos = 0;
	cJSON_ArrayForEach(e, na) read_row(nx, sp, e, pos++, true, &rows[n++]);
	enum key_kind kind = sp->kind;
	qsort_r(rows, n, sizeof *rows, by_key_side, &kind);
	/* An OLD row followed by a NEW row of the same key: one row, in both. */
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		struct hs_diff_row *r = &rows[i];
		if (i + 1 < n && r->old_pos >= 0 && rows[i + 1].new_pos >= 0 && !cmp_key(r, &rows[i + 1], sp->kind)) {
			struct hs_diff_row *q = &rows[i + 1];
			for (size_t f = 0; f < t->nfields; f++)
				r->v[f].new = q->v[f].new;
			r->new_pos = q->new_pos;
			r->aux = q->aux;
			r->status = HS_DIFF_BOTH;
			free(q->key);
			i++;
		}
		rows[m++] = *r;
	}
	if (sp->order == ORDER_POS)
		qsort(rows, m, sizeof *rows, by_pos);
	else if (sp->order >= 0) {
		int f = sp->order;
		qsort_r(rows, m, sizeof *rows, by_change, &f);
	}
	t->rows = rows;
	t->n = m;
}

static void table_free(struct hs_diff_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->rows[i].key);
	free(t->rows);
	t->rows = NULL;
	t->n = 0;
}

/* ---- the comparison ---- */

static const char *const arena_fields[] = {"system_bytes", "in_use_bytes", "in_use_chunks", "free_bytes",
					   "free_chunks",  "tcache_bytes", "fastbin_bytes", "bin_bytes",
					   "top_bytes",    "overhead_bytes", NULL};
static const char *const class_fields[] = {"in_use_chunks", "in_use_bytes", "free_chunks", "free_bytes", NULL};
static const char *const type_fields[] = {"in_use_chunks", "in_use_bytes", NULL};
static const char *const leak_fields[] = {"chunks", "bytes", NULL};
static const char *const pin_fields[] = {"size", "held_bytes", NULL};
static const char *const suspect_fields[] = {"size", NULL};

static const cJSON *item(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* A part a report may lack (a run without --leaks has no "leaks"): NULL
 * when absent or null; there but of another kind is malformed. */
static const cJSON *optional(struct ctx *x, const cJSON *o, const char *where, const char *name, bool array)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!failed(x) && !(array ? cJSON_IsArray(v) : cJSON_IsObject(v)))
		malformed(x, where, name, array ? "is not an array" : "is not an object");
	return v;
}

/* A non-empty array: types are only compared when both reports name some. */
static const cJSON *nonempty(const cJSON *a)
{
	return cJSON_GetArraySize(a) > 0 ? a : NULL;
}

static void leaks(struct ctx *ox, struct ctx *nx, const cJSON *ol, const cJSON *nl, struct hs_diff *d)
{
	d->leaks_compared = cJSON_IsObject(ol) && cJSON_IsObject(nl);
	if (!d->leaks_compared)
		return;
	d->leak_chunks = (struct hs_diff_val){need_count(ox, ol, "leaks", "chunks"), need_count(nx, nl, "leaks", "chunks")};
	d->leak_bytes = (struct hs_diff_val){need_count(ox, ol, "leaks", "bytes"), need_count(nx, nl, "leaks", "bytes")};
	static const struct table_spec by_size = {"leaks.by_size", "size", KEY_NUM, NULL, leak_fields, ORDER_KEY};
	static const struct table_spec by_type = {"leaks.by_type", "type", KEY_STR, NULL, leak_fields, 1};
	table(ox, nx, &by_size, optional(ox, ol, "leaks", "by_size", true), optional(nx, nl, "leaks", "by_size", true),
	      &d->leaks_by_size);
	table(ox, nx, &by_type, optional(ox, ol, "leaks", "by_type", true), optional(nx, nl, "leaks", "by_type", true),
	      &d->leaks_by_type);
	/* The suspects by address mean something only within one process. */
	if (!d->same_process)
		return;
	struct hs_diff_table s = {0};
	static const struct table_spec sus = {"leaks.suspects", "address", KEY_ADDR, NULL, suspect_fields, ORDER_KEY};
	table(ox, nx, &sus, optional(ox, ol, "leaks", "suspects", true), optional(nx, nl, "leaks", "suspects", true), &s);
	d->suspects_compared = s.compared;
	d->suspects_all = cJSON_IsTrue(item(ol, "all")) && cJSON_IsTrue(item(nl, "all"));
	for (size_t i = 0; i < s.n; i++) {
		const struct hs_diff_row *r = &s.rows[i];
		if (r->status == HS_DIFF_APPEARED) {
			d->suspects_new++;
			d->suspects_new_bytes += r->v[0].new;
		} else if (r->status == HS_DIFF_VANISHED) {
			d->suspects_gone++;
			d->suspects_gone_bytes += r->v[0].old;
		} else
			d->suspects_kept++;
	}
	table_free(&s);
}

int hs_diff_build(const cJSON *old, const char *old_file, const cJSON *new, const char *new_file,
		  struct hs_diff *d, struct hs_err *err)
{
	memset(d, 0, sizeof *d);
	/* hs_diff_load checked them; a caller that parsed its own is checked here */
	if (check_report(old_file, old, err) || check_report(new_file, new, err))
		return err->code;
	const char *os = item(old, "schema")->valuestring, *ns = item(new, "schema")->valuestring;
	if (strcmp(os, ns) != 0)
		return hs_fail(err, HS_EUSAGE, "%s and %s are reports of different schemas (%s and %s)", old_file,
			       new_file, os, ns);
	if (strcmp(os, SCHEMA) != 0)
		return hs_fail(err, HS_EUSAGE, "%s: schema %s is not one this heapscope reads (it reads %s)", old_file,
			       os, SCHEMA);
	struct ctx ox = {old_file, err}, nx = {new_file, err};
	side(&ox, old, &d->old);
	side(&nx, new, &d->new);
	/* the executables compared whole, not as kept (cut at 255 bytes) */
	const cJSON *oe = item(item(old, "target"), "exe"), *ne = item(item(new, "target"), "exe");
	d->same_process = d->old.pid != 0 && d->old.pid == d->new.pid && cJSON_IsString(oe) && cJSON_IsString(ne) &&
			  !strcmp(oe->valuestring, ne->valuestring);
	d->arenas_by_address = d->same_process;

	const cJSON *ot = need(&ox, old, "totals", false), *nt = need(&nx, new, "totals", false);
	for (int i = 0; i < HS_DT_COUNT; i++) {
		const char *name = hs_diff_total_names[i];
		if (i >= FIRST_OPTIONAL_TOTAL && !(cJSON_HasObjectItem(ot, name) && cJSON_HasObjectItem(nt, name)))
			continue;
		d->totals[i] = (struct hs_diff_val){need_count(&ox, ot, "totals", name), need_count(&nx, nt, "totals", name)};
		d->total_present[i] = true;
	}

	struct table_spec arenas = {"arenas", d->arenas_by_address ? "address" : "index",
				    d->arenas_by_address ? KEY_ADDR : KEY_NUM, "main", arena_fields, ORDER_POS};
	table(&ox, &nx, &arenas, optional(&ox, old, "", "arenas", true), optional(&nx, new, "", "arenas", true), &d->arenas);
	static const struct table_spec classes = {"histogram", "min", KEY_NUM, "max", class_fields, ORDER_KEY};
	table(&ox, &nx, &classes, need(&ox, old, "histogram", true), need(&nx, new, "histogram", true), &d->classes);
	static const struct table_spec types = {"types", "type", KEY_STR, NULL, type_fields, 1};
	table(&ox, &nx, &types, nonempty(optional(&ox, old, "", "types", true)), nonempty(optional(&nx, new, "", "types", true)),
	      &d->types);
	/* Pins by address within one process; between two, only their sums. */
	struct table_spec pins = {"pins", "address", KEY_ADDR, NULL, pin_fields, ORDER_KEY};
	table(&ox, &nx, &pins, optional(&ox, old, "", "pins", true), optional(&nx, new, "", "pins", true), &d->pins);
	leaks(&ox, &nx, optional(&ox, old, "", "leaks", false), optional(&nx, new, "", "leaks", false), d);
	if (failed(&ox)) {
		hs_diff_free(d);
		return err->code;
	}
	return 0;
}

void hs_diff_free(struct hs_diff *d)
{
	table_free(&d->arenas);
	table_free(&d->classes);
	table_free(&d->types);
	table_free(&d->pins);
	table_free(&d->leaks_by_size);
	table_free(&d->leaks_by_type);
}
