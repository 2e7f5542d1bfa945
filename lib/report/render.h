/* render.h - what the renderers (text.c, json.c, malloc_stats.c,
 * malloc_info.c) share beyond base/fmt.h. Internal to report/. */
#ifndef HS_RENDER_H
#define HS_RENDER_H

#include "base/fmt.h"
#include "glibc/walk.h"

/* JSON and text name of a chunk state: "in_use", "tcache", "fastbin",
 * "bin", "top", "mmapped", "free_unlisted". */
const char *hs_state_name(enum hs_state s);

#endif
