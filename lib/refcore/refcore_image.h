/* refcore_image.h - the reference core's state as a target: an in-memory
 * image (lib/image.h) of its address space, the symbols a live process's
 * libc would give (layout, main_arena, mp_, TLS) and its one thread, so
 * that arenas -> walk -> bins -> census -> diagnose -> report read the
 * core's heap through the same memory-source interface as a process. */
#ifndef HS_REFCORE_IMAGE_H
#define HS_REFCORE_IMAGE_H

#include "source/image.h"
#include "refcore/refcore.h"
#include "glibc/symbols.h"
#include "source/target.h"

struct hs_refcore_image {
	struct hs_image im;
	struct hs_symbols sym; /* method "refcore", version "2.36" */
	struct hs_task task;
};

/* Snapshots the core (it may go on running afterwards). */
void hs_refcore_image_build(struct hs_refcore *rc, struct hs_refcore_image *ri);
void hs_refcore_image_free(struct hs_refcore_image *ri);

#endif
