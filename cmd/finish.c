/* finish.c - what attach, core and replay do once the heap is read: diagnose,
 * report, and the exit code the findings give. */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "analysis/compare.h"
#include "analysis/diagnose.h"

void hs_cli_finish(const struct hs_heap *heap, struct hs_census *c, const struct hs_leaks *leaks,
		   struct hs_warnings *warn, const struct options *o, const char *who, const char *inconsistent,
		   struct hs_err *err)
{
	if (!heap->malloc_initialised)
		hs_warn(warn, "malloc has not been initialised in %s: it has never allocated", who);
	struct hs_diagnosis d;
	struct hs_compare cmp = {0};
	if (o->compare)
		hs_compare_build(c, &cmp, warn);
	hs_diagnose(c, leaks, &d);
	d.compare = o->compare ? &cmp : NULL;
	hs_report(o->out, c, &d, &o->report);
	err->reported = true;
	if (fflush(o->out) != 0 || ferror(o->out))
		hs_fail(err, HS_EINTERNAL, "cannot write the report: %s", strerror(errno));
	else
		hs_cli_findings(heap, c, warn, who, inconsistent, err);
	hs_compare_free(&cmp);
}

int hs_cli_findings(const struct hs_heap *heap, const struct hs_census *c, const struct hs_warnings *warn,
		    const char *who, const char *inconsistent, struct hs_err *err)
{
	if (!c->consistent) {
		/* name the thread and what it was changing: its arena (or the
		 * mmapped chunks), through the allocator function it was in */
		const struct hs_thread *k = NULL;
		for (size_t i = 0; i < heap->nthreads && !k; i++)
			if (heap->threads[i].in_malloc)
				k = &heap->threads[i];
		const char *fn = k && k->malloc_fn ? k->malloc_fn : "malloc";
		if (k && c->held_by) /* gdb stopped it there: the heap may be mid-update */
			hs_fail(err, HS_ECORRUPT,
				"%s: thread %d is held inside %s by the process's tracer, pid %d (%s); the snapshot may be inconsistent",
				who, (int)k->tid, fn, (int)c->held_by, c->held_comm ? c->held_comm : "?");
		else if (k && k->arena >= 0)
			hs_fail(err, HS_ECORRUPT, "%s: thread %d stayed inside %s (arena %d); the snapshot may be inconsistent",
				who, (int)k->tid, fn, k->arena);
		else if (k)
			hs_fail(err, HS_ECORRUPT, "%s: thread %d stayed inside %s; the snapshot may be inconsistent", who,
				(int)k->tid, fn);
		else
			hs_fail(err, HS_ECORRUPT, "%s: %s; the snapshot may be inconsistent", who,
				inconsistent ? inconsistent : "the stop did not hold every thread");
	}
	else if (warn->n && heap->malloc_initialised)
		hs_fail(err, HS_ECORRUPT, "%s: the heap is inconsistent: %zu warning%s (see the report)", who,
			warn->n + warn->dropped, warn->n + warn->dropped == 1 ? "" : "s");
	return err->code;
}
