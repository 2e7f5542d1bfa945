/* process.h - the whole process's resident memory, split by owner: malloc's
 * arenas (their heaps), malloc's mmapped chunks, thread stacks, other
 * private anonymous memory, file-backed and shared mappings. From smaps
 * (read before the stop) and the heap as read (which ranges are malloc's,
 * where each thread's stack pointer was). The parts add up to smaps' Rss
 * exactly, mapping by mapping: a mapping the kernel merged from several
 * owners is split by its pages' residency (pagemap), and what a split
 * in proportion leaves over goes to its largest part.
 *
 * Other anonymous memory is named by its owner where the shape tells it
 * without guessing (see hs_process_build), "unknown" otherwise. */
#ifndef HS_PROCESS_H
#define HS_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "glibc/heap.h"
#include "source/smaps.h"

enum hs_mem_kind {
	HS_MEM_ARENAS,  /* malloc's heaps: [heap] from sbrk_base, thread heaps' reservations */
	HS_MEM_MMAPPED, /* malloc's mmapped chunks, whole mappings */
	HS_MEM_STACKS,  /* [stack], and the mapping part holding each thread's stack pointer */
	HS_MEM_ANON,    /* every other private anonymous page */
	HS_MEM_FILE,    /* private file mappings (code, data, mapped files) */
	HS_MEM_SHARED,  /* MAP_SHARED mappings, shared memory, the kernel's [vdso] and [vvar] */
	HS_MEM_KINDS
};

/* JSON and text names: "arenas", "mmapped_chunks", "stacks", "other_anon",
 * "file", "shared". */
const char *hs_mem_kind_name(enum hs_mem_kind k);

/* A piece of other anonymous memory: a mapping, or the part of a merged
 * one no other owner holds. */
struct hs_region {
	uint64_t start, end, rss;
	const char *owner; /* see struct hs_owner */
};

/* Other anonymous memory by owner: "python-obmalloc", "jvm-heap",
 * "v8-heap", the name a program gave a mapping ([anon:NAME]), or
 * "unknown"; how says how it was recognised. */
struct hs_owner {
	const char *owner;
	char how[224];
	uint64_t bytes;
	size_t regions;
};

#define HS_PROCESS_REGIONS 8
#define HS_PROCESS_OWNERS 6

struct hs_process {
	bool have; /* smaps was read */
	uint64_t rss;
	uint64_t bytes[HS_MEM_KINDS]; /* sums to rss */
	size_t nmappings;
	uint64_t malloc_bytes;  /* arenas + mmapped chunks */
	uint64_t outside_bytes; /* rss - malloc_bytes */
	/* The language runtime whose memory is recognised, if any:
	 * "Python 3.11", "a JVM", "V8"; where: the file that told. */
	char runtime[32];
	const char *runtime_file;
	struct hs_owner owners[HS_PROCESS_OWNERS]; /* biggest first */
	size_t nowners;
	struct hs_region regions[HS_PROCESS_REGIONS]; /* the largest pieces, by rss */
	size_t nregions, nregions_all; /* kept, and all with resident pages */
	double smaps_ms;
};

/* Reads len bytes of the process at addr into buf: 0, or -1 when they
 * cannot be read or are not in memory (never faulted or swapped in). */
typedef int (*hs_process_read_fn)(void *arg, uint64_t addr, void *buf, size_t len);

/* h may be NULL or hold no arenas (malloc never ran): then nothing is
 * malloc's. s NULL or empty: p->have is false. read (NULL: no memory to
 * look at) lets an owner told by shape be checked by content (Python's
 * obmalloc arenas by their pools' headers); without it such memory is
 * "unknown". p points into s (owner names, runtime_file): keep s until p
 * is no longer used. */
void hs_process_build(const struct hs_smaps *s, const struct hs_heap *h, hs_process_read_fn read, void *arg,
		      struct hs_process *p);

#endif
