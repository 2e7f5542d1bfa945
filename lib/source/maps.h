/* maps.h - the target's address space as /proc/PID/maps lists it. */
#ifndef HS_MAPS_H
#define HS_MAPS_H

#include <sys/types.h>

#include "base/hs.h"

struct hs_map {
	uint64_t start, end, offset;
	uint64_t inode;
	unsigned prot; /* PROT_READ | PROT_WRITE | PROT_EXEC */
	bool shared;
	char *path; /* "" for anonymous, "[heap]", "[stack]", a file */
};

/* One line of a maps (or smaps header) file; false if it is not one.
 * out->path is allocated. */
bool hs_map_parse_line(const char *line, struct hs_map *out);

struct hs_maps {
	struct hs_map *v; /* sorted by start, as the kernel lists them */
	size_t n;
};

/* Reads /proc/PID/maps of a process that was there when it was opened.
 * Fails with HS_EEXITED (gone, or nothing mapped any more), HS_EATTACH
 * (no permission, not readable), HS_EUNSUPPORTED (a line it cannot
 * parse) or HS_EINTERNAL (heapscope out of memory or descriptors). */
int hs_maps_read(pid_t pid, struct hs_maps *m, struct hs_err *err);
/* Parses the text of a maps file (the unit tests feed it directly) into
 * m, every line it understands. Returns NULL, or the first line it did
 * not understand. */
const char *hs_maps_parse(const char *text, struct hs_maps *m);
/* The mapping that holds addr, or NULL. */
const struct hs_map *hs_maps_find(const struct hs_maps *m, uint64_t addr);
/* Private anonymous memory, named or not ("[anon:NAME]"), and private
 * hugetlb memory ("/anon_hugepage (deleted)"). */
bool hs_map_anonymous(const struct hs_map *m);
void hs_maps_free(struct hs_maps *m);

#endif
