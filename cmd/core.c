/* core.c - `heapscope core CORE [EXECUTABLE]`: the stages of attach over a
 * core file's memory (source/core.h) instead of a stopped process: the
 * same symbols, arenas, walk and report (run.c). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "glibc/arenas.h"
#include "glibc/stacks.h"
#include "source/confine.h"
#include "source/core.h"

/* Nothing can be let run out of malloc in a core: a thread with a frame
 * inside the allocator (its whole stack, unwound from the core's
 * registers as attach unwinds a live thread: a double free aborts three
 * frames below _int_free) makes the snapshot inconsistent; so does one
 * whose stack cannot be unwound (named in a warning: it may be inside). */
static const char *in_malloc(struct hs_core *k, const struct hs_symbols *sym, struct hs_warnings *w)
{
	const char *in = NULL, *unknown = NULL;
	struct hs_stacks *st = hs_stacks_open(&k->src);
	for (size_t i = 0; i < k->ntasks; i++) {
		struct hs_task *t = &k->tasks[i];
		const char *why = NULL;
		enum hs_stack_where where =
			hs_stacks_where_words(st, sym, k->regwords[i], k->nregwords[i], &t->malloc_fn, &why);
		t->in_malloc = where == HS_STACK_IN_MALLOC;
		if (t->in_malloc)
			in = "a thread was inside malloc when the core was taken";
		if (where == HS_STACK_UNKNOWN) {
			hs_warn(w, "thread %d: its stack cannot be unwound (%s): it may be inside malloc", (int)t->tid, why);
			unknown = "a thread's stack could not be unwound";
		}
	}
	hs_stacks_close(st);
	return in ? in : unknown;
}

/* A thread whose control block is not in the core (gdb's gcore writes
 * zeros for what it could not read: a thread stack with guard pages in
 * it, glibc 2.43 on Linux 6.13+) has no tcache or arena to read there:
 * said, not guessed (its tcache's chunks would look in use, and leaked). */
static void check_tcbs(struct hs_core *k, struct hs_warnings *w)
{
	int off = hs_arch_tcb_self_offset();
	for (size_t i = 0; i < k->ntasks && off >= 0; i++) {
		uint64_t tp = k->tasks[i].regs.tp, v = 0;
		if (hs_read_u64(&k->src, tp + (uint64_t)off, &v) == 0 && v == tp)
			continue;
		hs_warn(w, "thread %d: its thread block at 0x%llx is not in the core (%s): its tcache and arena are unknown, and --leaks may name their chunks",
			(int)k->tasks[i].tid, (unsigned long long)tp,
			v ? "another thread pointer there" : "zeros: the core's writer could not read it");
	}
}

/* --leaks: the heaps and roots copied from the core, with the registers
 * its notes hold. */
static int copy_contents(struct hs_core *k, struct hs_cli_run *r, struct hs_err *err)
{
	struct hs_thread_regs *th = hs_xcalloc(k->ntasks + 1, sizeof *th);
	for (size_t i = 0; i < k->ntasks; i++)
		th[i] = (struct hs_thread_regs){k->tasks[i].tid, k->tasks[i].regs.sp, k->regwords[i], k->nregwords[i]};
	r->ct.progress = &r->progress;
	int rc = hs_contents_copy_regs(&k->src, &r->heap, th, k->ntasks, &r->ct, &r->warn, err);
	free(th);
	return rc;
}

static int core(const char *path, const char *exe, const struct options *o, struct hs_err *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct hs_core k;
	memset(&k, 0, sizeof k);
	k.fd = k.rootfd = -1;
	struct hs_cli_run r = {0};
	hs_progress_open(&r.progress); /* opens the terminal: before hs_confine */
	struct hs_symbols_opts so = {.no_debuginfo = o->no_debuginfo, .glibc_minor = o->glibc_minor, .core = &k};
	/* As attach: nothing is written; the core's files are parsed under
	 * the stricter filter. */
	if (hs_confine(HS_CONFINE_NO_WRITES, err) || hs_core_open(&k, path, exe, o->sysroot, err) ||
	    hs_confine(HS_CONFINE_PARSE, err) || hs_symbols_load(&k.src, &so, &r.sym, err) ||
	    hs_confine(HS_CONFINE_NO_OPEN_FOR_WRITE, err))
		goto out;
	hs_types_load(&r.sym, &r.types);
	const char *inconsistent = in_malloc(&k, &r.sym, &r.warn);
	r.c.consistent = !inconsistent;
	check_tcbs(&k, &r.warn);
	struct hs_walk_opts wo = {.keep_chunks = o->report.chunks || o->compare,
				   .keep_big = o->report.format == HS_FMT_SVG,
				   .types = &r.types,
				   .progress = &r.progress};
	if (hs_arenas_read(&k.src, &r.sym, k.tasks, k.ntasks, &r.heap, &r.warn, err) ||
	    (o->leaks && copy_contents(&k, &r, err)))
		goto out;
	/* with --leaks the walk reads the copy, as attach's does */
	struct hs_contents_source cs;
	hs_contents_source(&r.ct, &k.src, &cs);
	if (hs_walk(&cs.src, &r.heap, &wo, &r.ix, &r.warn, err))
		goto out;
	r.c.pid = k.pid;
	r.c.exe = k.exe;
	r.c.core = path;
	char who[PATH_MAX + 16];
	snprintf(who, sizeof who, "core %s", path);
	hs_cli_run_report(&r, o, &t0, who, inconsistent, err);
out:
	hs_cli_run_free(&r);
	hs_core_close(&k);
	return err->code;
}

/* core CORE [EXECUTABLE] */
static int cmd_core(int argc, char **argv, const struct options *o, struct hs_err *err)
{
	if (argc < 1)
		return hs_cli_usage_fail(err, "%s", "core needs a CORE file");
	if (argc > 2)
		return hs_cli_usage_fail(err, "unexpected argument '%s' after the EXECUTABLE", argv[2]);
	return core(argv[0], argc > 1 ? argv[1] : NULL, o, err);
}

const struct hs_command hs_cmd_core = {
	.name = "core",
	.synopsis = "core CORE [EXECUTABLE]",
	.opts = OPTS_EVERY | OPTS_REPORT | OPT(OPT_COMPARE) | OPT(OPT_LEAKS) | OPT(OPT_NODEBUG) | OPT(OPT_SYSROOT) |
		OPT(OPT_GLIBC),
	.run = cmd_core,
};
