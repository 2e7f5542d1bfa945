/* run.c - what attach and core do once the target's memory has been
 * read (the snapshot): bins, census, leaks, the process split, then
 * hs_cli_finish's diagnosis and report. */
#include <string.h>

#include "cli.h"

/* The process split's reads, through the target's source, of pages the
 * target has in memory only: a swapped page would be swapped in. */
static int read_mem(void *arg, uint64_t addr, void *buf, size_t len)
{
	const uint64_t page = HS_PAGE_SIZE, first = addr & ~(page - 1), last = (addr + len - 1) & ~(page - 1);
	unsigned char st[2];
	if (!len || last - first > page || hs_pages(arg, first, (size_t)((last - first) / page + 1), st) < 0 ||
	    st[0] != HS_PAGE_PRESENT || (last != first && st[1] != HS_PAGE_PRESENT))
		return -1;
	return hs_read(arg, addr, buf, len);
}

int hs_cli_run_census(struct hs_cli_run *r, const struct options *o, const struct timespec *t0, const char *who,
		      struct hs_err *err)
{
	struct hs_census *c = &r->c;
	hs_bins_read(&r->heap, &r->ix, o->report.bins || o->compare, &r->bins, &r->warn);
	hs_census_build(&r->heap, &r->ix, &r->bins, c, &r->warn);
	if (o->leaks) {
		r->ct.progress = &r->progress;
		hs_leaks_find(&r->heap, &r->ix, &r->ct, &r->types, o->leaks == 2, &r->leaks);
		hs_contents_free(&r->ct);
	}
	c->arch = hs_arch.name;
	c->sym = &r->sym;
	c->typetab = &r->types;
	if (r->have_process) {
		hs_process_build(&r->smaps, &r->heap, r->mem ? read_mem : NULL, r->mem, &r->proc);
		c->process = &r->proc;
	}
	c->total_ms = hs_ms_since(t0);
	if (r->sym.other_allocator[0]) {
		/* glibc's arenas are not where this program's memory is. */
		char held[HS_SIZE_BUF];
		return hs_fail(err, HS_EUNSUPPORTED, "%s: malloc is %s, not glibc's; glibc's arenas hold %s", who,
			       r->sym.other_allocator,
			       hs_fmt_size(held, c->totals.system_bytes + c->totals.mmapped.bytes));
	}
	return 0;
}

int hs_cli_run_report(struct hs_cli_run *r, const struct options *o, const struct timespec *t0, const char *who,
		      const char *inconsistent, struct hs_err *err)
{
	if (hs_cli_run_census(r, o, t0, who, err))
		return err->code;
	hs_cli_finish(&r->heap, &r->c, o->leaks ? &r->leaks : NULL, &r->warn, o, who, inconsistent, err);
	return err->code;
}

void hs_cli_run_clear(struct hs_cli_run *r)
{
	hs_census_free(&r->c);
	hs_leaks_free(&r->leaks);
	hs_smaps_free(&r->smaps);
	hs_contents_free(&r->ct);
	hs_bins_free(&r->bins);
	hs_index_free(&r->ix);
	hs_heap_free(&r->heap);
	hs_warnings_free(&r->warn);
	/* the others' free zeroes them; the census's keeps its header */
	memset(&r->c, 0, sizeof r->c);
	memset(&r->proc, 0, sizeof r->proc);
	r->mem = NULL;
}

void hs_cli_run_free(struct hs_cli_run *r)
{
	hs_cli_run_clear(r);
	hs_types_free(&r->types);
	hs_symbols_free(&r->sym);
	hs_progress_close(&r->progress);
}
