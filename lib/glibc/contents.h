/* contents.h - the bytes --leaks needs, copied while the target is stopped.
 *
 * The heaps' chunk areas (up to the top chunk's header), every mmapped
 * chunk, and the roots of the conservative mark: each thread's registers;
 * each thread's stack from its stack pointer (less the x86_64 red zone) to
 * the end of the mapping that holds it; and every other private writable
 * mapping (the executable's and libraries' .data and .bss, the TLS blocks
 * and TCB ld.so and pthread placed there, the program's own mmap pools,
 * the part of [heap] below the first chunk, where a static executable's
 * TLS lives). Only pages that hold data are copied: present or swapped
 * out, by the source's page states (/proc/PID/pagemap); reading any other
 * page would give the target a page it does not have. Such a page is left
 * zero in the copy (and costs no memory: the copies are reserved address
 * space, touched only where written), which is exact for the mark: in a
 * private anonymous mapping it reads as zeros (never touched, or dropped
 * by MADV_DONTNEED); in a private file mapping (a module's .data, RELRO)
 * it still shows the file, whose bytes were fixed before the process ran
 * and so hold no pointer to a chunk (a page the program wrote is its own
 * anonymous copy, present or swapped). When the page states cannot be
 * read, the copy fails; it never copies every page instead.
 * After the copy the target runs again; the mark reads only this. */
#ifndef HS_CONTENTS_H
#define HS_CONTENTS_H

#include "base/progress.h"
#include "glibc/arenas.h"

struct hs_copy {
	uint64_t start, end;  /* target addresses held */
	unsigned char *data;  /* data[0] is the byte at start */
	void *map;            /* what was reserved */
	size_t maplen;
	const char *what;     /* for roots: "registers", "stack", "mapping" */
	/* Heaps and mmapped chunks: the runs of pages that hold data, in
	 * order; the rest of the copy is zeros. NULL: all of it is data. */
	struct hs_run { uint64_t start, end; } *runs;
	size_t nruns;
};

/* The first run of data of cp in [*a, end): moves *a to its start and
 * returns its end; 0 when there is none. A sparse heap (GiBs of blocks
 * never written) is then scanned for what it holds, not for its size. */
uint64_t hs_copy_next_run(const struct hs_copy *cp, uint64_t *a, uint64_t end);

struct hs_contents {
	struct hs_copy *heaps;   /* one per index segment, in hs_index.segs order */
	size_t nheaps;
	struct hs_copy *mmapped; /* one per hs_heap.mmapped */
	size_t nmmapped;
	struct hs_copy *roots;
	size_t nroots, caproots;
	uint64_t copied_bytes;   /* bytes actually read from the target */
	uint64_t root_bytes;     /* bytes of roots (copied or zero) */
	/* Memory faulted in before the stop, so that the kernel's zeroing of
	 * fresh pages (most of a copy's cost) is not paid while the target
	 * waits; the copies are carved from it while it lasts. */
	unsigned char *pool;
	size_t poollen, poolused;
	/* "copying the heaps", and the mark's "marking reachable chunks"
	 * (lib/analysis/leaks.h); NULL: none. The caller's, not freed. */
	struct hs_progress *progress;
};

/* Before the target is stopped: refuses (HS_EUNSUPPORTED, one line) when
 * the copy could exceed half of MemAvailable, and faults in the pool. The
 * copy is bounded by the target's anonymous resident and swapped memory
 * (RssAnon + VmSwap; written private file pages count as anonymous). */
int hs_contents_prepare(pid_t pid, struct hs_contents *c, struct hs_err *err);
/* While stopped, after hs_arenas_read. tids: the stopped threads. The
 * heap copies are in address order, as hs_walk's segments. */
int hs_contents_copy(struct hs_source *src, const struct hs_heap *h, const pid_t *tids, size_t ntids,
		     struct hs_contents *c, struct hs_warnings *w, struct hs_err *err);

/* The same, with each thread's registers given (a core's NT_PRSTATUS)
 * instead of read from the stopped threads: nwords general-purpose
 * registers as words (0 or less: unreadable, a warning), and sp. */
struct hs_thread_regs {
	pid_t tid;
	uint64_t sp;
	const uint64_t *words;
	int nwords;
};
int hs_contents_copy_regs(struct hs_source *src, const struct hs_heap *h, const struct hs_thread_regs *th,
			  size_t nth, struct hs_contents *c, struct hs_warnings *w, struct hs_err *err);

/* The target seen through the copies: reads a heap copy holds are served
 * from it, any other from `under`. Lets the walk run over the copy, so
 * that --leaks reads each heap byte from the target once. */
struct hs_contents_source {
	struct hs_source src; /* first: what the stages read through */
	struct hs_source *under;
	const struct hs_contents *c;
};
void hs_contents_source(const struct hs_contents *c, struct hs_source *under, struct hs_contents_source *cs);
void hs_contents_free(struct hs_contents *c);

#endif
