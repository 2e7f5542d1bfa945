/* walk.h - every chunk of every heap, in address order.
 *
 * The heaps are streamed through one reused window while the target is
 * stopped; nothing of the heap's contents is kept except what the free
 * lists need afterwards: for each chunk a list could hold (every chunk
 * that looks free, and every small chunk that looks in use, as tcache and
 * fastbin chunks do) its size and its next pointer, decoded. The lists are
 * then walked from this index with no further read of the target, which
 * is what makes a fastbin of 21 million nodes cheap.
 *
 * Granules: the heaps' bytes are numbered in units of MALLOC_ALIGNMENT, one
 * segment after the other, so a chunk is a granule number; the recorded
 * ones are a set of granules (base/bitrank.h), whose memory follows the
 * chunks, not the address space the heaps span. */
#ifndef HS_WALK_H
#define HS_WALK_H

#include "glibc/arenas.h"
#include "base/bitrank.h"
#include "base/fmt.h"
#include "base/progress.h"
#include "glibc/types.h"

/* Special values of a stored next pointer (hs_index_next). */
#define HS_FD_NULL UINT64_MAX        /* NULL: the end of a tcache or fastbin list */
#define HS_FD_OTHER (UINT64_MAX - 1) /* outside every heap (see hs_index_other) */
#define HS_FD_BAD (UINT64_MAX - 2)   /* misaligned: cannot be a chunk */
/* Below this many granules (64 GiB of heaps) a next pointer is stored in
 * 4 bytes, the three special values as the top three; above, in 8. */
#define HS_FD32_MAX 0xfffffff0u

/* Per recorded chunk, one byte of flags. */
#define HS_CF_FREE 0x01     /* looks free: the next chunk's PREV_INUSE is clear */
#define HS_CF_LISTMASK 0x0e /* which list holds it (enum hs_list << 1) */
#define HS_CF_VISITED 0x10  /* reached by a list walk (cycle guard) */
#define HS_CF_SIZEBITS 0xe0 /* the low 3 bits of the size field (<< 5) */

enum hs_list { HS_LIST_NONE, HS_LIST_TCACHE, HS_LIST_FAST, HS_LIST_UNSORTED, HS_LIST_SMALL, HS_LIST_LARGE };

enum hs_state { HS_ST_INUSE, HS_ST_TCACHE, HS_ST_FAST, HS_ST_BIN, HS_ST_TOP, HS_ST_MMAPPED, HS_ST_FREE_UNLISTED };

struct hs_segment {
	int arena;
	size_t heap;          /* index in the arena's heaps */
	uint64_t start, end;  /* chunks lie in [start, end) */
	uint64_t g0;          /* granule number of start */
	uint64_t ord0, ord1;  /* recorded chunks of this segment: [ord0, ord1) */
};

/* Size classes of the histogram: [32,63], [64,127], ... by powers of two
 * (class 0 also takes anything smaller). */
#define HS_HIST_CLASSES 40
static inline int hs_size_class(uint64_t size)
{
	if (size < 64)
		return 0;
	int c = 58 - __builtin_clzll(size); /* 64..127 -> 1 */
	return c < HS_HIST_CLASSES - 1 ? c : HS_HIST_CLASSES - 1;
}

struct hs_walk_tally {
	uint64_t chunks, bytes;
};

/* What the walk tallies itself: only the chunks it does not record (in
 * use and too large for any tcache or fastbin); the census adds the
 * recorded ones from the index, after the target runs again. */
struct hs_walk_arena {
	struct hs_walk_tally hist_big[HS_HIST_CLASSES];
	uint64_t big_chunks, big_bytes;
	uint64_t top_bytes;
	uint64_t overhead_bytes; /* headers, alignment, fenceposts */
	/* Of those, the program's own bytes between glibc's pieces of a
	 * contiguous main arena (a foreign sbrk, glibc/pieces.h). */
	uint64_t foreign_bytes;
};

/* The chunks that look in use nearest a heap's top, with their first
 * bytes, copied while the target is stopped: what pins the heap is among
 * them (the diagnosis picks it once the lists are known). Only for the
 * segment that holds its arena's top chunk. */
#define HS_TAIL_CHUNKS 32
struct hs_tail_chunk {
	uint64_t addr, size; /* chunk header address, size (flags masked) */
	unsigned char bytes[HS_PREVIEW_BYTES]; /* the user area's first bytes */
	unsigned nbytes;     /* how many of them were read */
};
struct hs_tail {
	struct hs_tail_chunk c[HS_TAIL_CHUNKS]; /* address order */
	unsigned n;
	bool all; /* c[] holds every chunk that looked in use in the segment */
};

/* One chunk, kept only with --chunks (every chunk; mmapped chunks come
 * last, arena -1) or keep_big (only the in-use chunks larger than
 * rec_limit, which the index does not record: the heap map's). */
struct hs_chunk {
	uint64_t addr, size;
	int arena;
	uint8_t apparent; /* HS_ST_INUSE, HS_ST_BIN (looks free), HS_ST_TOP, HS_ST_MMAPPED */
};

struct hs_index {
	struct hs_segment *segs; /* sorted by start */
	size_t nsegs;
	struct hs_tail *tails;   /* per segment (same order); n = 0 without top */
	uint64_t ngranules;
	struct hs_bitrank recorded; /* granules where a recorded chunk starts */
	uint64_t nrec;
	/* Per recorded chunk: granule of next (decoded), or HS_FD_*; in fd
	 * below HS_FD32_MAX granules, else in fd64 (hs_index_next reads it). */
	uint32_t *fd;
	uint64_t *fd64;
	uint8_t *sz;          /* per recorded chunk: size / align, 0 = in the big table */
	uint8_t *flags;       /* per recorded chunk: HS_CF_* */
	size_t caprec;        /* entries reserved (address space only until used) */
	/* Small side tables: sizes too large for a byte; and the raw next
	 * pointer of free chunks whose next lies outside the heaps (the bin
	 * headers in malloc_state). Open addressing on the ordinal. */
	struct hs_kv { uint64_t key, val; } *big, *other;
	size_t nbig, capbig, nother, capother;
	unsigned align_shift;
	uint64_t rec_limit; /* apparently-in-use chunks up to this size are recorded */
	struct hs_walk_arena *arenas;
	size_t narenas;
	/* C++ types (hs_walk_opts.types): in-use chunks whose first word is a
	 * vptr. Per recorded chunk its type + 1, 0 for none (their final state
	 * is known only from the lists; reserved like fd, touched only where
	 * typed chunks are); the others tallied per type here. */
	const struct hs_types *types;
	uint32_t *rtype;
	struct hs_walk_tally *type_big; /* per type; mmapped chunks included */
	struct hs_chunk *chunks; /* with keep_chunks (every chunk) or keep_big (the big in-use ones) */
	size_t nchunks, capchunks;
};

struct hs_types;
struct hs_walk_opts {
	bool keep_chunks; /* --chunks: keep every chunk */
	/* --format=svg: keep the in-use chunks the index does not record
	 * (larger than rec_limit; at most one per rec_limit bytes of heap),
	 * in segment order, so that every chunk's place is known */
	bool keep_big;
	const struct hs_types *types; /* vtables: tally in-use chunks by type (NULL: none) */
	size_t window;    /* bytes per read; 0 = default */
	struct hs_progress *progress; /* "walking the heaps" (NULL: none) */
};

/* Walks every heap of every arena. Corruption (a size that overruns its
 * heap, a top chunk that is not where the walk ends) is a warning naming
 * the address, and the walk of that heap stops there. */
int hs_walk(struct hs_source *src, const struct hs_heap *h, const struct hs_walk_opts *o,
	    struct hs_index *ix, struct hs_warnings *w, struct hs_err *err);

/* The recorded chunks of one segment, in address order:
 *	struct hs_seg_iter it;
 *	for (hs_seg_iter_init(&it, ix, sg); hs_seg_iter_next(&it);)
 *		... it.ord, it.addr ...
 * Inline: the census and pins run it over every chunk of the heap. */
struct hs_seg_iter {
	struct hs_bitrank_iter bi;
	uint64_t start, g0, next, ord1;
	unsigned shift;
	uint64_t ord, addr; /* the current chunk */
};

static inline void hs_seg_iter_init(struct hs_seg_iter *it, const struct hs_index *ix, const struct hs_segment *sg)
{
	hs_bitrank_iter_init(&it->bi, &ix->recorded, sg->g0);
	it->start = sg->start;
	it->g0 = sg->g0;
	it->shift = ix->align_shift;
	it->next = sg->ord0;
	it->ord1 = sg->ord1;
}

static inline bool hs_seg_iter_next(struct hs_seg_iter *it)
{
	uint64_t g;
	if (it->next >= it->ord1 || !hs_bitrank_iter_next(&it->bi, &g))
		return false;
	it->ord = it->next++;
	it->addr = it->start + ((g - it->g0) << it->shift);
	return true;
}

/* The stored next pointer of recorded chunk ord: a granule or HS_FD_*. */
static inline uint64_t hs_index_next(const struct hs_index *ix, uint64_t ord)
{
	if (ix->fd64)
		return ix->fd64[ord];
	uint32_t v = ix->fd[ord];
	return v >= (uint32_t)HS_FD_BAD ? UINT64_MAX - (UINT32_MAX - v) : v;
}

/* Ordinal of the recorded chunk at addr, or -1. */
int64_t hs_index_find(const struct hs_index *ix, uint64_t addr);
/* Address of granule g. */
uint64_t hs_index_addr(const struct hs_index *ix, uint64_t g);
/* The segment that holds addr, or NULL. */
const struct hs_segment *hs_index_seg(const struct hs_index *ix, uint64_t addr);

/* hs_index_find and hs_index_addr, with the same answers, for a run of
 * lookups that mostly stay in one segment (a free list of millions): a
 * cursor keeps the last segment seen, in locals the compiler can hold in
 * registers, which spares the search of the segments at every step.
 * Start it with HS_INDEX_NEAR_INIT(ix). */
struct hs_index_near {
	uint64_t start, len, g0; /* the segment: [start, start + len), granule g0 */
	unsigned shift;
};
#define HS_INDEX_NEAR_INIT(ix) ((struct hs_index_near){.shift = (ix)->align_shift})

static inline int64_t hs_index_find_near(const struct hs_index *ix, struct hs_index_near *n, uint64_t addr)
{
	if (addr - n->start >= n->len) {
		const struct hs_segment *s = hs_index_seg(ix, addr);
		if (!s)
			return -1;
		*n = (struct hs_index_near){s->start, s->end - s->start, s->g0, n->shift};
	}
	const uint64_t off = addr - n->start;
	if (off & ((1ull << n->shift) - 1))
		return -1;
	return hs_bitrank_find(&ix->recorded, n->g0 + (off >> n->shift));
}

static inline uint64_t hs_index_addr_near(const struct hs_index *ix, const struct hs_index_near *n, uint64_t g)
{
	if (g - n->g0 < n->len >> n->shift)
		return n->start + ((g - n->g0) << n->shift);
	return hs_index_addr(ix, g);
}
/* Size (flags masked) of a recorded chunk. Inline: the lists, the census
 * and pins ask it of every chunk; a size too large for its byte is in
 * the side table (hs_index_size_big). */
uint64_t hs_index_size_big(const struct hs_index *ix, uint64_t ord);
static inline uint64_t hs_index_size(const struct hs_index *ix, uint64_t ord)
{
	const uint8_t s = ix->sz[ord];
	return s ? (uint64_t)s << ix->align_shift : hs_index_size_big(ix, ord);
}
/* Address of the recorded chunk with this ordinal (slow: for messages). */
uint64_t hs_index_ord_addr(const struct hs_index *ix, uint64_t ord);
/* Raw next pointer stored for a recorded free chunk with HS_FD_OTHER. */
bool hs_index_other(const struct hs_index *ix, uint64_t ord, uint64_t *raw);
void hs_index_free(struct hs_index *ix);

#endif
