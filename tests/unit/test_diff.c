/* test_diff.c - the comparison of two reports (report/diff.h) on reports
 * written by hand: arenas matched by address when a new arena takes a
 * place in glibc's ring (the indexes after it move), by index between
 * two processes; a size class that vanished; pins by address; types
 * largest change first; leak suspects by address; a report whose byte
 * count is not one (negative, fractional, missing) refused with the
 * file and the field named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/diff.h"

#define TOTALS                                                                                                        \
	"\"totals\": {\"system_bytes\": %d, \"in_use_bytes\": %d, \"in_use_chunks\": 1, \"free_bytes\": 0, "          \
	"\"free_chunks\": 0, \"tcache_bytes\": 0, \"tcache_chunks\": 0, \"fastbin_bytes\": 0, \"fastbin_chunks\": 0, " \
	"\"bin_bytes\": 0, \"bin_chunks\": 0, \"top_bytes\": 0, \"overhead_bytes\": 0, \"mmapped_bytes\": 0, "       \
	"\"mmapped_chunks\": 0}"

/* An arena row: index, address, main, in use bytes (system ten times that). */
#define ARENA(idx, addr, main, inuse)                                                                                 \
	"{\"index\": " #idx ", \"address\": \"" addr "\", \"main\": " main ", \"system_bytes\": " #inuse "0, "                \
	"\"in_use_bytes\": " #inuse ", \"in_use_chunks\": 1, \"free_bytes\": 0, \"free_chunks\": 0, "                 \
	"\"tcache_bytes\": 0, \"fastbin_bytes\": 0, \"bin_bytes\": 0, \"top_bytes\": 0, \"overhead_bytes\": 0}"

/* A report of pid with these arrays (and leaks, or "null"). */
static cJSON *report(int pid, int inuse, const char *arenas, const char *hist, const char *pins, const char *types,
		     const char *leaks)
{
	char buf[8192];
	int n = snprintf(buf, sizeof buf,
			 "{\"schema\": \"heapscope/1\", \"target\": {\"pid\": %d, \"exe\": \"/bin/x\", \"glibc\": \"2.36\"}, "
			 "\"diagnosis\": {\"verdict\": \"healthy\", \"summary\": \"s\"}, " TOTALS ", \"arenas\": [%s], "
			 "\"histogram\": [%s], \"pins\": [%s], \"types\": [%s]%s%s}",
			 pid, 10 * inuse, inuse, arenas, hist, pins, types, leaks ? ", \"leaks\": " : "", leaks ? leaks : "");
	assert_true(n > 0 && n < (int)sizeof buf);
	cJSON *o = cJSON_Parse(buf);
	assert_non_null(o);
	return o;
}

static const struct hs_diff_row *row(const struct hs_diff_table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->rows[i].key, key))
			return &t->rows[i];
	fail_msg("no row %s", key);
	return NULL;
}

/* A new arena enters the ring after main: the old second arena is now
 * third, and is matched by its address, not its index. */
static void test_arena_ring(void **state)
{
	(void)state;
	cJSON *a = report(7, 100, ARENA(0, "0x10", "true", 100) "," ARENA(1, "0x20", "false", 5), "", "", "", NULL);
	cJSON *b = report(7, 150,
			  ARENA(0, "0x10", "true", 100) "," ARENA(1, "0x30", "false", 40) "," ARENA(2, "0x20", "false", 15), "",
			  "", "", NULL);
	struct hs_diff d;
	struct hs_err err = {0};
	assert_int_equal(hs_diff_build(a, "a", b, "b", &d, &err), 0);
	assert_true(d.same_process);
	assert_true(d.arenas_by_address);
	assert_int_equal(d.arenas.n, 3);
	const struct hs_diff_row *r = row(&d.arenas, "0x20");
	assert_int_equal(r->status, HS_DIFF_BOTH);
	assert_int_equal(r->old_pos, 1);
	assert_int_equal(r->new_pos, 2);
	assert_int_equal(hs_diff_delta(r->v[1]), 10); /* in_use_bytes 5 -> 15 */
	r = row(&d.arenas, "0x30");
	assert_int_equal(r->status, HS_DIFF_APPEARED);
	assert_int_equal(r->old_pos, -1);
	assert_int_equal(r->v[1].new, 40);
	/* NEW's order */
	assert_string_equal(d.arenas.rows[0].key, "0x10");
	assert_string_equal(d.arenas.rows[1].key, "0x30");
	assert_int_equal(d.arenas.rows[0].aux, 1); /* main */
	assert_int_equal(hs_diff_delta(d.totals[HS_DT_IN_USE]), 50);
	assert_false(d.total_present[HS_DT_TRIMMABLE]);
	hs_diff_free(&d);

	/* Another pid: two processes, arenas by index (0x20 at 1 meets 0x30). */
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(b, "target"), "pid", cJSON_CreateNumber(8));
	assert_int_equal(hs_diff_build(a, "a", b, "b", &d, &err), 0);
	assert_false(d.same_process);
	assert_false(d.arenas_by_address);
	r = row(&d.arenas, "1");
	assert_int_equal(r->status, HS_DIFF_BOTH);
	assert_int_equal(hs_diff_delta(r->v[1]), 35);
	assert_int_equal(row(&d.arenas, "2")->status, HS_DIFF_APPEARED);
	hs_diff_free(&d);

	/* The same pid, another program (a pid reused): two processes. */
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(b, "target"), "pid", cJSON_CreateNumber(7));
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(b, "target"), "exe", cJSON_CreateString("/bin/y"));
	assert_int_equal(hs_diff_build(a, "a", b, "b", &d, &err), 0);
	assert_false(d.same_process);
	hs_diff_free(&d);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

#define HIST(min, max, u) \
	"{\"min\": " #min ", \"max\": " #max ", \"in_use_chunks\": " #u ", \"in_use_bytes\": " #u "00, \"free_chunks\": 0, \"free_bytes\": 0}"
#define PIN(addr, held) "{\"address\": \"" addr "\", \"size\": 48, \"held_bytes\": " #held "}"
#define TYPE(name, c, b) "{\"type\": \"" name "\", \"in_use_chunks\": " #c ", \"in_use_bytes\": " #b "}"

static void test_rows(void **state)
{
	(void)state;
	cJSON *a = report(7, 1, ARENA(0, "0x10", "true", 1), HIST(0, 63, 3) "," HIST(64, 127, 2),
			  PIN("0x500", 100), TYPE("A", 1, 10) "," TYPE("B", 1, 10), NULL);
	cJSON *b = report(7, 1, ARENA(0, "0x10", "true", 1), HIST(64, 127, 7) "," HIST(128, 255, 1),
			  PIN("0x500", 300) "," PIN("0x900", 50), TYPE("B", 9, 9000) "," TYPE("A", 2, 20) "," TYPE("C", 1, 16),
			  NULL);
	struct hs_diff d;
	struct hs_err err = {0};
	assert_int_equal(hs_diff_build(a, "a", b, "b", &d, &err), 0);
	/* size classes by min: 0 vanished, 64 both, 128 appeared */
	assert_int_equal(d.classes.n, 3);
	assert_int_equal(d.classes.rows[0].num, 0);
	assert_int_equal(d.classes.rows[0].status, HS_DIFF_VANISHED);
	assert_int_equal(d.classes.rows[0].v[0].old, 3);
	assert_int_equal(d.classes.rows[1].status, HS_DIFF_BOTH);
	assert_int_equal(hs_diff_delta(d.classes.rows[1].v[0]), 5);
	assert_int_equal(hs_diff_delta(d.classes.rows[1].v[1]), 500);
	assert_int_equal(d.classes.rows[1].aux, 127);
	assert_int_equal(d.classes.rows[2].status, HS_DIFF_APPEARED);
	/* pins by address */
	const struct hs_diff_row *p = row(&d.pins, "0x500");
	assert_int_equal(p->status, HS_DIFF_BOTH);
	assert_int_equal(hs_diff_delta(p->v[1]), 200);
	assert_int_equal(row(&d.pins, "0x900")->status, HS_DIFF_APPEARED);
	/* types: largest change of bytes first */
	assert_true(d.types.compared);
	assert_string_equal(d.types.rows[0].key, "B");
	assert_string_equal(d.types.rows[1].key, "C");
	assert_string_equal(d.types.rows[2].key, "A");
	assert_false(d.leaks_compared);
	hs_diff_free(&d);
	cJSON_Delete(a);
	cJSON_Delete(b);

	/* no types in one report: not compared */
	a = report(7, 1, ARENA(0, "0x10", "true", 1), "", "", "", NULL);
	b = report(7, 1, ARENA(0, "0x10", "true", 1), "", "", TYPE("A", 1, 10), NULL);
	assert_int_equal(hs_diff_build(a, "a", b, "b", &d, &err), 0);
	assert_false(d.types.compared);
	hs_diff_free(&d);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

#define LEAKS(c, b, sus) \
	"{\"chunks\": " #c ", \"bytes\": " #b ", \"all\": true, \"by_size\": [], \"by_type\": [], \"suspects\": [" sus "]}"
#define SUS(addr, size) "{\"address\": \"" addr "\", \"size\": " #size "}"

static void test_suspects(void **state)
{
	(void)state;
	cJSON *a = report(7, 1, ARENA(0, "0x10", "true", 1), "", "", "", LEAKS(2, 96, SUS("0x100", 32) "," SUS("0x200", 64)));
	cJSON *b = report(7, 1, ARENA(0, "0x10", "true", 1), "", "", "",
			  LEAKS(3, 192, SUS("0x200", 64) "," SUS("0x300", 48) "," SUS("0x400", 80)));
	struct hs_diff d;
	struct hs_err err = {0};
	assert_int_equal(hs_diff_build(a, "a", b, "b", &d, &err), 0);
	assert_true(d.leaks_compared);
	assert_true(d.suspects_compared);
	assert_true(d.suspects_all);
	assert_int_equal(hs_diff_delta(d.leak_bytes), 96);
	assert_int_equal(d.suspects_new, 2);
	assert_int_equal(d.suspects_new_bytes, 128);
	assert_int_equal(d.suspects_gone, 1);
	assert_int_equal(d.suspects_gone_bytes, 32);
	assert_int_equal(d.suspects_kept, 1);
	hs_diff_free(&d);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

/* A byte count that is not one: the file and the field named, exit 2. */
static void test_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {"-5", "1.5", "\"12\"", "null"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *a = report(7, 1, ARENA(0, "0x10", "true", 1), HIST(0, 63, 3), "", "", NULL);
		cJSON *b = report(7, 1, ARENA(0, "0x10", "true", 1), HIST(0, 63, 3), "", "", NULL);
		cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "histogram"), 0);
		cJSON_ReplaceItemInObject(h, "free_bytes", cJSON_Parse(bad[i]));
		struct hs_diff d;
		struct hs_err err = {0};
		assert_int_equal(hs_diff_build(a, "old.json", b, "new.json", &d, &err), HS_EUSAGE);
		assert_non_null(strstr(err.msg, "new.json: malformed heapscope/1 report: histogram[0].free_bytes is not a count"));
		cJSON_Delete(a);
		cJSON_Delete(b);
	}
	/* a schema this heapscope does not read, in both */
	cJSON *a = report(7, 1, ARENA(0, "0x10", "true", 1), "", "", "", NULL);
	cJSON_ReplaceItemInObject(a, "schema", cJSON_CreateString("heapscope/2"));
	struct hs_diff d;
	struct hs_err err = {0};
	assert_int_equal(hs_diff_build(a, "a", a, "a", &d, &err), HS_EUSAGE);
	assert_non_null(strstr(err.msg, "schema heapscope/2 is not one this heapscope reads"));
	cJSON_Delete(a);
}

/* The renderers: a verdict that changed, in the text's second line and
 * in the JSON's verdict object; a size class's change in both. */
static void test_render(void **state)
{
	(void)state;
	cJSON *a = report(7, 1, ARENA(0, "0x10", "true", 1), HIST(64, 127, 2), "", "", NULL);
	cJSON *b = report(7, 3, ARENA(0, "0x10", "true", 1), HIST(64, 127, 9), "", "", NULL);
	cJSON *v = cJSON_GetObjectItem(b, "diagnosis");
	cJSON_ReplaceItemInObject(v, "verdict", cJSON_CreateString("fragmented"));
	cJSON_ReplaceItemInObject(v, "summary", cJSON_CreateString("holes"));
	struct hs_diff d;
	struct hs_err err = {0};
	assert_int_equal(hs_diff_build(a, "a", b, "b", &d, &err), 0);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_int_equal(hs_diff_text(f, &d), 0);
	fclose(f);
	assert_non_null(strstr(text, "the same process: pid 7 (/bin/x), glibc 2.36\nverdict: healthy -> fragmented: holes\n"));
	assert_non_null(strstr(text, "\nin use                1 B ->        3 B         +2 B  +0 chunks (1 -> 1)\n"));
	assert_non_null(strstr(text, "\n64 B - 128 B                  +7      +700 B         +0         0 B\n"));
	free(text);
	f = open_memstream(&text, &len);
	assert_int_equal(hs_diff_json(f, &d, false), 0);
	fclose(f);
	cJSON *j = cJSON_Parse(text);
	assert_non_null(j);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "verdict"), "changed")));
	cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "histogram"), 0);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(row, "in_use_chunks"), "delta")->valuedouble, 7);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "totals"), "in_use_bytes"), "delta")->valuedouble, 2);
	cJSON_Delete(j);
	free(text);
	hs_diff_free(&d);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arena_ring),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_suspects),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_render),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
