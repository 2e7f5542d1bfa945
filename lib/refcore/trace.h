/* trace.h - the malloc/free trace format (DESIGN.md): one operation a line,
 *
 *     m ID SIZE        malloc           c ID N SIZE   calloc
 *     f ID             free             r ID SIZE     realloc (ID keeps naming the block)
 *     a ID ALIGN SIZE  memalign         t PAD         malloc_trim(PAD)
 *     # comment        (blank lines are ignored)
 *
 * IDs are any tokens without blanks; numbers are decimal or 0x-hex. The
 * parser names IDs by a dense index, so a player keeps one pointer per ID. */
#ifndef HS_TRACE_H
#define HS_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "base/hs.h"

enum hs_trace_kind { HS_T_MALLOC = 'm', HS_T_FREE = 'f', HS_T_CALLOC = 'c', HS_T_REALLOC = 'r',
		     HS_T_MEMALIGN = 'a', HS_T_TRIM = 't' };

struct hs_trace_op {
	char kind;    /* enum hs_trace_kind */
	uint32_t id;  /* dense ID index (not for trim) */
	uint64_t a, b; /* m: a=SIZE; c: a=N b=SIZE; r: a=SIZE; a: a=ALIGN b=SIZE; t: a=PAD */
	unsigned line;
};

struct hs_trace {
	struct hs_trace_op *ops;
	size_t nops;
	size_t nids;
};

/* Parses a trace file. A malformed line, or a free/realloc of an ID no
 * earlier line defined, is HS_EUSAGE with "FILE:LINE: what" in err. */
int hs_trace_load(const char *path, struct hs_trace *t, struct hs_err *err);
/* The same from a buffer (name is used in messages). */
int hs_trace_parse(const char *name, const char *text, size_t len, struct hs_trace *t, struct hs_err *err);
void hs_trace_free(struct hs_trace *t);

#endif
