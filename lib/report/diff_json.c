/* diff_json.c - the comparison of two reports as one "heapscope-diff/1"
 * object (man heapscope, DIFF JSON OUTPUT). Every compared number is
 * {"old", "new", "delta"}; a row of a table has "status" ("both",
 * "appeared", "vanished") and 0 on the side it is not in. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/fmt.h"
#include "report/diff.h"
#include "report/render.h"

/* {"old", "new", "delta"} */
static void val(cJSON *o, const char *name, struct hs_diff_val v)
{
	cJSON *e = cJSON_AddObjectToObject(o, name);
	cJSON_AddItemToObject(e, "old", hs_json_u64(v.old));
	cJSON_AddItemToObject(e, "new", hs_json_u64(v.new));
	cJSON_AddItemToObject(e, "delta", hs_json_i64(hs_diff_delta(v)));
}

static void side(cJSON *root, const char *name, const struct hs_diff_side *s)
{
	cJSON *o = cJSON_AddObjectToObject(root, name);
	cJSON_AddStringToObject(o, "file", s->file);
	cJSON_AddItemToObject(o, "pid", hs_json_i64(s->pid));
	cJSON_AddStringToObject(o, "exe", s->exe);
	if (s->core[0])
		cJSON_AddStringToObject(o, "core", s->core);
	cJSON_AddStringToObject(o, "glibc", s->glibc);
	cJSON_AddStringToObject(o, "verdict", s->verdict);
	cJSON_AddNumberToObject(o, "arenas", (double)s->narenas);
}

/* An array of rows: KEYNAME (the key as a number or string), status, and
 * each field as {"old", "new", "delta"}; aux (when named) as AUXNAME. */
static void table(cJSON *o, const char *name, const struct hs_diff_table *t, const char *keyname, bool numeric,
		  const char *auxname, bool aux_bool)
{
	if (!t->compared) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	cJSON *a = cJSON_AddArrayToObject(o, name);
	for (size_t i = 0; i < t->n; i++) {
		const struct hs_diff_row *r = &t->rows[i];
		cJSON *e = cJSON_CreateObject();
		if (numeric)
			cJSON_AddItemToObject(e, keyname, hs_json_u64(r->num));
		else
			cJSON_AddStringToObject(e, keyname, r->key);
		if (auxname) {
			if (aux_bool)
				cJSON_AddBoolToObject(e, auxname, r->aux != 0);
			else
				cJSON_AddItemToObject(e, auxname, hs_json_u64(r->aux));
		}
		cJSON_AddStringToObject(e, "status", hs_diff_status_name(r->status));
		for (size_t f = 0; f < t->nfields; f++)
			val(e, t->fields[f], r->v[f]);
		cJSON_AddItemToArray(a, e);
	}
}

/* arenas: each also with old_index and new_index (null where it is not). */
static void arenas(cJSON *root, const struct hs_diff *d)
{
	table(root, "arenas", &d->arenas, d->arenas_by_address ? "address" : "index", !d->arenas_by_address, "main",
	      true);
	cJSON *e;
	size_t i = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(root, "arenas"))
	{
		const struct hs_diff_row *r = &d->arenas.rows[i++];
		if (r->old_pos >= 0)
			cJSON_AddNumberToObject(e, "old_index", r->old_pos);
		else
			cJSON_AddNullToObject(e, "old_index");
		if (r->new_pos >= 0)
			cJSON_AddNumberToObject(e, "new_index", r->new_pos);
		else
			cJSON_AddNullToObject(e, "new_index");
	}
}

static void leaks(cJSON *root, const struct hs_diff *d)
{
	if (!d->leaks_compared) {
		cJSON_AddNullToObject(root, "leaks");
		return;
	}
	cJSON *o = cJSON_AddObjectToObject(root, "leaks");
	val(o, "chunks", d->leak_chunks);
	val(o, "bytes", d->leak_bytes);
	table(o, "by_size", &d->leaks_by_size, "size", true, NULL, false);
	table(o, "by_type", &d->leaks_by_type, "type", false, NULL, false);
	if (!d->suspects_compared) {
		cJSON_AddNullToObject(o, "suspects");
		return;
	}
	cJSON *s = cJSON_AddObjectToObject(o, "suspects");
	cJSON_AddBoolToObject(s, "all", d->suspects_all);
	cJSON_AddItemToObject(s, "new_chunks", hs_json_u64(d->suspects_new));
	cJSON_AddItemToObject(s, "new_bytes", hs_json_u64(d->suspects_new_bytes));
	cJSON_AddItemToObject(s, "gone_chunks", hs_json_u64(d->suspects_gone));
	cJSON_AddItemToObject(s, "gone_bytes", hs_json_u64(d->suspects_gone_bytes));
	cJSON_AddItemToObject(s, "kept_chunks", hs_json_u64(d->suspects_kept));
}

static cJSON *build(const struct hs_diff *d)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "schema", "heapscope-diff/1");
	side(root, "old", &d->old);
	side(root, "new", &d->new);
	cJSON_AddBoolToObject(root, "same_process", d->same_process);
	cJSON *v = cJSON_AddObjectToObject(root, "verdict");
	cJSON_AddStringToObject(v, "old", d->old.verdict);
	cJSON_AddStringToObject(v, "new", d->new.verdict);
	cJSON_AddBoolToObject(v, "changed", strcmp(d->old.verdict, d->new.verdict) != 0);
	cJSON *t = cJSON_AddObjectToObject(root, "totals");
	for (int i = 0; i < HS_DT_COUNT; i++)
		if (d->total_present[i])
			val(t, hs_diff_total_names[i], d->totals[i]);
	cJSON_AddStringToObject(root, "arenas_matched_by", d->arenas_by_address ? "address" : "index");
	arenas(root, d);
	table(root, "histogram", &d->classes, "min", true, "max", false);
	table(root, "types", &d->types, "type", false, NULL, false);
	table(root, "pins", &d->pins, "address", false, NULL, false);
	leaks(root, d);
	return root;
}

int hs_diff_json(FILE *out, const struct hs_diff *d, bool pretty)
{
	cJSON *root = build(d);
	char *text = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return HS_EINTERNAL;
	hs_fputs_utf8(out, text);
	fputc('\n', out);
	cJSON_free(text);
	fflush(out);
	return ferror(out) ? HS_EINTERNAL : HS_OK;
}
