/* render.h - what the renderers (text.c, json.c, malloc_stats.c,
 * malloc_info.c) share beyond base/fmt.h. Internal to report/. */
#ifndef HS_RENDER_H
#define HS_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "base/fmt.h"
#include "glibc/walk.h"

/* A JSON number that is the integer v exactly: cJSON writes 15
 * significant digits (exact below 10^15, < 2^53 too), so larger ones are
 * written raw, digit for digit. */
struct cJSON;
struct cJSON *hs_json_u64(uint64_t v);
struct cJSON *hs_json_i64(int64_t v);

/* JSON and text name of a chunk state: "in_use", "tcache", "fastbin",
 * "bin", "top", "mmapped", "free_unlisted". */
const char *hs_state_name(enum hs_state s);

/* --redact: what a preview's bytes are, without any of them. The bytes
 * are cut into runs of one kind, word by word (word: the target's
 * SIZE_SZ, 8 or 4): an aligned word of zeros is "zeros"; of text bytes
 * (0x20-0x7e, tab, newline, carriage return) "text"; of text then zeros
 * (a string's end) that many of each; any other word whose value could be
 * a user-space address (0x1000 up to 2^47) is "pointer"; the rest is cut
 * byte by byte into "text", "zeros" and "binary". Neighbouring runs of a
 * kind join. At most HS_REDACT_RUNS runs are named; what follows the last
 * is one run of kind "mixed". */
#define HS_REDACT_RUNS 8
enum hs_byte_kind { HS_BK_TEXT, HS_BK_ZEROS, HS_BK_POINTER, HS_BK_BINARY, HS_BK_MIXED };
struct hs_byte_run {
	enum hs_byte_kind kind;
	unsigned bytes;
};
/* Fills runs[HS_REDACT_RUNS] from the n bytes at p; returns how many. */
size_t hs_byte_runs(const unsigned char *p, unsigned n, unsigned word, struct hs_byte_run *runs);
/* "text", "zeros", "pointer", "binary", "mixed". */
const char *hs_byte_kind_name(enum hs_byte_kind k);
/* The runs for people: "32 B: text 22 B, zeros 10 B" ("0 B" for none). */
#define HS_DESCRIBE_BUF (24 + HS_REDACT_RUNS * 20)
const char *hs_describe_bytes(char buf[HS_DESCRIBE_BUF], const unsigned char *p, unsigned n, unsigned word);

/* --redact: a warning with every hexadecimal number that cannot be an
 * address or a size in the target (above 0x7fffffffffff, the top of
 * x86_64 user space: bytes of a corrupt heap, or data taken for a
 * pointer) written as "0x(redacted)". Returns a new string (free it). */
char *hs_redact_warning(const char *w);

#endif
