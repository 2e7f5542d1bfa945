/* replay.c - runs a parsed trace through the reference core. */
#include "refcore/replay.h"

#include <stdlib.h>

int hs_replay(struct hs_refcore *rc, const struct hs_trace *t, const char *name, uint64_t *ptrs,
	      struct hs_err *err)
{
	uint64_t *p = hs_xcalloc(t->nids ? t->nids : 1, sizeof *p);
	int rc_ = 0;
	for (size_t i = 0; i < t->nops && !rc_; i++) {
		const struct hs_trace_op *op = &t->ops[i];
		switch (op->kind) {
		case HS_T_MALLOC:
			p[op->id] = hs_refcore_malloc(rc, op->a);
			break;
		case HS_T_CALLOC:
			p[op->id] = hs_refcore_calloc(rc, op->a, op->b);
			break;
		case HS_T_MEMALIGN:
			p[op->id] = hs_refcore_memalign(rc, op->a, op->b);
			break;
		case HS_T_FREE:
			hs_refcore_free(rc, p[op->id]);
			p[op->id] = 0;
			break;
		case HS_T_REALLOC: {
			uint64_t n = hs_refcore_realloc(rc, p[op->id], op->a);
			/* On failure realloc leaves the block where it was. */
			if (n || op->a == 0)
				p[op->id] = n;
			break;
		}
		case HS_T_TRIM:
			hs_refcore_trim(rc, op->a);
			break;
		}
		if (hs_refcore_error(rc))
			rc_ = hs_fail(err, HS_EUSAGE, "%s:%u: glibc would abort here: %s", name, op->line,
				      hs_refcore_error(rc));
	}
	if (ptrs)
		for (size_t i = 0; i < t->nids; i++)
			ptrs[i] = p[i];
	free(p);
	return rc_;
}
