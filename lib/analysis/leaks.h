/* leaks.h - in-use chunks that nothing points to (--leaks).
 *
 * A conservative mark, in the way of Boehm's collector and Valgrind's
 * leak check: every word of the roots (the writable segments of the
 * executable and its libraries, each thread's registers, its stack from
 * the stack pointer up, its TLS) that holds the address of an in-use
 * chunk's user area marks that chunk, and marked chunks are scanned word
 * by word in turn. Pointers to the start of a user area and interior
 * pointers are counted apart. What stays unmarked is a leak suspect.
 * Part of the diagnose stage: it reads the census (which chunks are in
 * use) and the heap contents the snapshot copied while the target was
 * stopped. */
#ifndef HS_LEAKS_H
#define HS_LEAKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/fmt.h"
#include "glibc/types.h"

/* Leaked chunks of one chunk size. */
struct hs_leak_size {
	uint64_t size;
	uint64_t chunks, bytes;
};

struct hs_leak_suspect {
	uint64_t addr, size;  /* chunk header address and chunk size */
	const char *type;     /* NULL when the first word is no vtable */
	unsigned char preview[HS_PREVIEW_BYTES]; /* the user area's first bytes */
	unsigned npreview;
};

struct hs_leaks {
	uint64_t chunks, bytes;                   /* unreachable in-use chunks */
	uint64_t interior_chunks, interior_bytes; /* reached only through interior pointers */
	uint64_t reachable_chunks, reachable_bytes;
	uint64_t root_bytes;    /* bytes of roots scanned */
	uint64_t scanned_bytes; /* bytes of marked chunks scanned */
	struct hs_leak_size *by_size;  /* largest bytes first */
	size_t nby_size;
	struct hs_type_tally *by_type; /* largest bytes first */
	size_t nby_type;
	struct hs_leak_suspect *suspects; /* a sample, or every one with --leaks=all */
	size_t nsuspects;
	bool all;
};

struct hs_heap;
struct hs_index;
struct hs_contents;
struct hs_types;

/* Suspects kept without --leaks=all: a few of each size, this many in all. */
#define HS_LEAK_SAMPLE_PER_SIZE 3u
#define HS_LEAK_SAMPLE_MAX 30u

/* The mark, from the copied contents only (the target runs again). Which
 * chunks are in use: a chunk whose next chunk has PREV_INUSE set and that
 * no tcache or fastbin holds (the index's list marks), and every mmapped
 * chunk. types may be NULL. */
void hs_leaks_find(const struct hs_heap *h, const struct hs_index *ix, const struct hs_contents *ct,
		   const struct hs_types *types, bool all, struct hs_leaks *out);
void hs_leaks_free(struct hs_leaks *l);

#endif
