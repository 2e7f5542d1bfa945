/* pins.h - what keeps a heap's free space from going back to the system.
 *
 * glibc returns memory from the top of a heap only (the main heap's top
 * is cut with sbrk or MADV_DONTNEED by malloc_trim, a thread heap is
 * shrunk from its end): free space below an in-use chunk stays with the
 * process until that chunk, and every in-use chunk above it, is freed.
 * The classic case is one live 100-byte chunk near top holding gigabytes
 * of freed small blocks beneath it.
 *
 * For each heap that holds its arena's top chunk: the highest run of
 * contiguous free chunks (tcache, fastbin and bin chunks alike: they are
 * all holes) of at least HS_PIN_RUN_MIN bytes, and the in-use chunks
 * between its end and top (at most HS_PINS_PER_HEAP of them: more than
 * that is live data, not a pin). A pin's held_bytes are the free bytes
 * from the start of that run up to the pin: what would join top, and
 * could be trimmed, if this chunk and every in-use chunk above it were
 * freed. Part of the diagnose stage: it reads the census and the chunks
 * the walk kept from the top of each heap (hs_index.tails). */
#ifndef HS_PINS_H
#define HS_PINS_H

#include "analysis/census.h"

#define HS_PIN_RUN_MIN (64u * 1024)
#define HS_PINS_PER_HEAP 8

struct hs_pin {
	int arena;
	size_t heap;            /* index in the arena's heaps */
	uint64_t addr, size;    /* chunk header address and chunk size */
	uint64_t held_bytes;
	uint64_t run_start, run_bytes; /* the free run it keeps from top */
	const char *type;       /* "tcache_perthread_struct" for glibc's own;
				   else NULL (no vtable naming yet) */
	uint64_t first_word;    /* the user area's first word (a vtable, maybe) */
	unsigned char preview[HS_PREVIEW_BYTES];
	unsigned npreview;      /* 0: the bytes could not be read */
};

/* Fills at most max pins, biggest held_bytes first; returns how many. */
size_t hs_pins_find(const struct hs_census *c, struct hs_pin *out, size_t max);

/* The preview as JSON and text carry it: lowercase hex, two digits a
 * byte, no separators ("48656c6c6f00"); buf needs 2 * HS_PREVIEW_BYTES + 1. */
const char *hs_pin_preview_hex(const struct hs_pin *p, char *buf);

#endif
