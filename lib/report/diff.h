/* diff.h - what changed between two heapscope/1 reports (`heapscope diff
 * OLD.json NEW.json`): each file read and checked as a report (cJSON),
 * the two compared field by field, and the comparison rendered as text or
 * as one "heapscope-diff/1" object. The comparison reads only the two
 * parsed reports; the renderers read only the comparison. */
#ifndef HS_DIFF_H
#define HS_DIFF_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "base/hs.h"

/* A number in both reports: the change is new - old (signed). */
struct hs_diff_val {
	uint64_t old, new;
};
static inline int64_t hs_diff_delta(struct hs_diff_val v)
{
	return (int64_t)(v.new - v.old);
}

/* A row of a table is in both reports, or only in one of them. */
enum hs_diff_status { HS_DIFF_BOTH, HS_DIFF_APPEARED, HS_DIFF_VANISHED };
const char *hs_diff_status_name(enum hs_diff_status s); /* "both", "appeared", "vanished" */

/* The totals compared, in this order (their JSON names in "totals"). The
 * last two are only in reports that read residency (attach). */
enum {
	HS_DT_SYSTEM, HS_DT_IN_USE, HS_DT_IN_USE_CHUNKS, HS_DT_FREE, HS_DT_FREE_CHUNKS, HS_DT_TCACHE,
	HS_DT_TCACHE_CHUNKS, HS_DT_FASTBIN, HS_DT_FASTBIN_CHUNKS, HS_DT_BIN, HS_DT_BIN_CHUNKS, HS_DT_TOP,
	HS_DT_OVERHEAD, HS_DT_MMAPPED, HS_DT_MMAPPED_CHUNKS, HS_DT_RESIDENT_FREE, HS_DT_TRIMMABLE, HS_DT_COUNT
};
extern const char *const hs_diff_total_names[HS_DT_COUNT];

/* Rows matched by a key across the two reports (arenas, size classes,
 * types, leaks by size and type, pins). */
#define HS_DIFF_FIELDS 10
struct hs_diff_row {
	char *key;             /* "0x7f..." (address), "42" (number), or a type name */
	uint64_t num;          /* the key when it is a number or an address */
	enum hs_diff_status status;
	int old_pos, new_pos;  /* place in each report's array, -1 if not there */
	uint64_t aux;          /* histogram: the class's max; arenas: main (1) */
	struct hs_diff_val v[HS_DIFF_FIELDS]; /* 0 on the side the row is not */
};
struct hs_diff_table {
	bool compared;              /* both reports have it */
	const char *const *fields;  /* names of v[], NULL-terminated */
	size_t nfields;
	struct hs_diff_row *rows;
	size_t n;
};

/* One side: who the report is of. */
struct hs_diff_side {
	const char *file;
	int64_t pid;
	char exe[256], core[256], glibc[16], verdict[32], summary[256];
	size_t narenas;
};

struct hs_diff {
	struct hs_diff_side old, new;
	bool same_process;     /* same pid (not 0) and same executable */
	bool arenas_by_address; /* the same process: arenas matched by address, else by index */
	bool total_present[HS_DT_COUNT];
	struct hs_diff_val totals[HS_DT_COUNT];
	struct hs_diff_table arenas, classes, types, pins;
	/* Leaks: only when both reports were taken with --leaks. */
	bool leaks_compared;
	struct hs_diff_val leak_chunks, leak_bytes;
	struct hs_diff_table leaks_by_size, leaks_by_type;
	/* The suspects by address (the same process only): in NEW only, in
	 * OLD only, in both. all: both reports list every suspect
	 * (--leaks=all), not a sample. */
	bool suspects_compared, suspects_all;
	uint64_t suspects_new, suspects_new_bytes, suspects_gone, suspects_gone_bytes, suspects_kept;
};

/* Reads FILE as one heapscope report: *out gets the parsed object (free
 * with cJSON_Delete). A file that cannot be read, is not JSON, is not a
 * heapscope report, or holds more than one JSON value: HS_EUSAGE, the
 * message naming the file and the problem. */
int hs_diff_load(const char *file, cJSON **out, struct hs_err *err);

/* Compares two loaded reports (files: their names, kept by pointer).
 * Reports of different schemas, a schema this heapscope does not know,
 * or a report without a field the comparison needs: HS_EUSAGE. */
int hs_diff_build(const cJSON *old, const char *old_file, const cJSON *new, const char *new_file,
		  struct hs_diff *d, struct hs_err *err);
void hs_diff_free(struct hs_diff *d);

/* The renderers: text for people (what changed first), JSON for scripts
 * ("heapscope-diff/1", man heapscope). Return 0 or HS_EINTERNAL. */
int hs_diff_text(FILE *out, const struct hs_diff *d);
int hs_diff_json(FILE *out, const struct hs_diff *d, bool pretty);

#endif
