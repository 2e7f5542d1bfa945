/* types.h - C++ types of heap objects, from their vtable pointers.
 *
 * An object of a class with virtual functions starts with a pointer into
 * its class's vtable (the symbol _ZTV<class>, an object in the module's
 * symbol table), past the offset-to-top and typeinfo words. So a chunk
 * whose first user word lies in [vtable + 2 words, vtable end) is named by
 * that vtable's class, demangled ("Session", "net::Pool<int>"). The table
 * is built once from the modules libdwfl reported (symbols stage), before
 * the target is stopped. */
#ifndef HS_TYPES_H
#define HS_TYPES_H

#include <stdint.h>
#include <stddef.h>

#include "glibc/symbols.h"

/* Chunks of one C++ type (named from the vtable their first word points
 * into, demangled: "Session"). */
struct hs_type_tally {
	const char *type;
	uint64_t chunks, bytes;
};

struct hs_vtable {
	uint64_t start, end; /* the part a vptr can point into */
	uint32_t type;       /* index in hs_types.names */
};

struct hs_types {
	struct hs_vtable *v; /* sorted by start, not overlapping */
	size_t n;
	char **names; /* demangled class names, one per distinct class */
	size_t nnames;
	uint64_t lo, hi; /* every vptr lies in [lo, hi): a cheap pre-check */
};

/* Collects every vtable of every module in sym->dwfl. Never fails: a
 * module without a symbol table just gives no types. */
void hs_types_load(const struct hs_symbols *sym, struct hs_types *t);
/* The type of an object whose first word is w, or -1. */
static inline int hs_types_find(const struct hs_types *t, uint64_t w)
{
	if (w < t->lo || w >= t->hi)
		return -1;
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w < t->v[mid].start)
			hi = mid;
		else if (w >= t->v[mid].end)
			lo = mid + 1;
		else
			return (int)t->v[mid].type;
	}
	return -1;
}
void hs_types_free(struct hs_types *t);

#endif
