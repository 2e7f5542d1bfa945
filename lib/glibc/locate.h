/* locate.h - the symbol-free path: find glibc's allocator without debug
 * symbols, from signatures that every build carries (GLIBC-FACTS.md 4).
 *
 *  - main_arena: its initializer leaves a self-pointer in the file's
 *    writable data (.next = &main_arena, .attached_threads = 1);
 *  - mp_: its initializer values (thresholds 128 KiB, arena_test 8, ...).
 * The TLS slots of `tcache` and `thread_arena` are found by threads.c. */
#ifndef HS_LOCATE_H
#define HS_LOCATE_H

#include <gelf.h>

#include "base/layout.h"

/* Scans the libc file's writable sections. Addresses returned are the
 * file's (add the load bias). Whether both were found, uniquely (*why
 * says what was not, when not). */
bool hs_locate_statics(Elf *elf, const struct hs_layout *l, uint64_t *main_arena, uint64_t *mp,
		       const char **why);

#endif
