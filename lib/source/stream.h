/* stream.h - read a large range of the target through two reused windows,
 * the next one read ahead on a helper thread while the caller works on
 * the current one (reading and walking a 2 GiB heap overlap, which halves
 * the time the target is stopped). The source's read must be safe to call
 * from another thread (process_vm_readv is). */
#ifndef HS_STREAM_H
#define HS_STREAM_H

#include "source/source.h"

struct hs_stream;

struct hs_stream *hs_stream_open(struct hs_source *src, size_t window);
/* Gives a window [*wstart, *wstart + *wlen) that holds addr and at least
 * min(need, end - addr) bytes from it; reads ahead from there towards end.
 * Returns 0, or -1 with errno as hs_read() sets it (base/hs.h, errors,
 * rule 4), whichever thread read the window. */
int hs_stream_get(struct hs_stream *s, uint64_t addr, uint64_t end, size_t need,
		  const unsigned char **data, uint64_t *wstart, size_t *wlen);
void hs_stream_close(struct hs_stream *s);

#endif
