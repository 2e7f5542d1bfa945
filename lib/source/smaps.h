/* smaps.h - the whole process's memory as /proc/PID/smaps gives it: each
 * mapping with its resident bytes, read before the target is stopped (it
 * costs no stop time), and for a private anonymous mapping that is only
 * partly resident, which of its pages are (from /proc/PID/pagemap), so
 * that the analysis can split a mapping the kernel merged from several
 * owners (a thread heap and the mmapped chunks right below it, a thread
 * stack and a chunk above it). */
#ifndef HS_SMAPS_H
#define HS_SMAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/hs.h"

struct hs_smap {
	uint64_t start, end, offset, inode;
	unsigned prot; /* PROT_READ | PROT_WRITE | PROT_EXEC */
	bool shared;   /* 's' in the permissions: MAP_SHARED */
	char *path;    /* "" anonymous; "[heap]", "[stack]", "[anon:NAME]", a file */
	/* bytes, from the kB fields */
	uint64_t rss, pss, anonymous, swap, shared_bytes, private_bytes;
	/* For a private anonymous mapping with 0 < rss < its size: a bit per
	 * page, set when the page is present (pagemap bit 63); NULL when the
	 * mapping is wholly resident or not at all, or pagemap could not be
	 * read (then parts are counted in proportion). */
	uint64_t *present;
};

struct hs_smaps {
	struct hs_smap *v; /* in address order, as the kernel lists them */
	size_t n;
	uint64_t rss; /* the sum of every mapping's Rss */
	double ms;    /* how long reading took */
};

/* Reads /proc/PID/smaps and the pagemap of partly resident private
 * anonymous mappings. Returns 0, or -1 with errno (the caller warns and
 * reports without the process split). */
int hs_smaps_read(pid_t pid, struct hs_smaps *s);
/* Parses the text of an smaps file (no pagemap: the unit tests feed it). */
int hs_smaps_parse(const char *text, struct hs_smaps *s);
/* Resident bytes of [start, end) inside mapping m (clipped to it): by
 * its page bits when it has them, else all or nothing as its Rss says,
 * else in proportion. Whole pages: start and end are page-aligned in
 * every use. */
uint64_t hs_smap_resident(const struct hs_smap *m, uint64_t start, uint64_t end);
void hs_smaps_free(struct hs_smaps *s);

#endif
