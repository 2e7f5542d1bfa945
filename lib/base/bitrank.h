/* bitrank.h - a set of positions added in increasing order, with rank
 * ("how many are before this one") and predecessor in O(1).
 *
 * It replaces a bitmap over the whole span (a bit per 16-byte granule of
 * the heaps, and a rank per 64 of them), whose memory follows the address
 * space: 1.2 GiB for a 100 GiB heap even when it holds 100,000 chunks.
 * Here only the 64-bit words that hold a position are stored, packed in
 * order, each with the rank before it; a bit per word of the span says
 * which words are stored (with a rank per 64 such bits). Memory: 12 bytes
 * per stored word, and 1/512 + 1/1024 byte per position of the span (for
 * 16-byte granules, 19 MiB per TiB of heap). A dense heap (a chunk in
 * every word) costs what the plain bitmap did, plus the 1/512.
 *
 * Ranks are 32-bit: at most 4,294,967,295 positions (hs_bitrank_add
 * refuses more; a heap would need 128 GiB of resident chunk headers). */
#ifndef HS_BITRANK_H
#define HS_BITRANK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/hs.h"

struct hs_bitrank {
	uint64_t span;     /* positions lie in [0, span) */
	uint64_t n;        /* positions added */
	uint64_t nwords;   /* words stored */
	uint64_t last_w;   /* index (in the span) of the last word stored */
	uint64_t *nz;      /* bit per word of the span: stored */
	uint32_t *nzrank;  /* per nz word: stored words before it (after seal) */
	uint64_t *words;   /* the stored words, in order */
	uint32_t *wrank;   /* per stored word: positions before it */
	uint64_t capwords; /* words reserved (address space until used) */
};

/* Room for positions below span, at most max of them. Memory is reserved
 * as address space and counts only where it is written. */
void hs_bitrank_init(struct hs_bitrank *b, uint64_t span, uint64_t max);
void hs_bitrank_free(struct hs_bitrank *b);
/* After the last add, before any query. */
void hs_bitrank_seal(struct hs_bitrank *b);

/* Adds pos, which must be above every position added so far (the
 * caller's promise: the walk goes up the heaps) and below span. Returns
 * false, adding nothing, for a position in a word before the last one's,
 * past the span, or past what was reserved or 32-bit ranks can count:
 * the caller reports it. Inline: the heap walk calls it for every chunk,
 * and a position in the last word stored (most of them) costs one OR. */
static inline bool hs_bitrank_add(struct hs_bitrank *restrict b, uint64_t pos)
{
	const uint64_t w = pos >> 6;
	if (__builtin_expect(!b->nwords || w != b->last_w, 0)) {
		/* A word holds at most 64, so a new word below this n keeps
		 * every rank within 32 bits. */
		if ((b->nwords && w < b->last_w) || pos >= b->span || b->nwords == b->capwords ||
		    b->n > UINT32_MAX - 64)
			return false;
		b->nz[w >> 6] |= 1ull << (w & 63);
		b->wrank[b->nwords++] = (uint32_t)b->n;
		b->last_w = w;
	}
	b->words[b->nwords - 1] |= 1ull << (pos & 63);
	b->n++;
	return true;
}

/* Rank of pos if it is in the set, else -1. */
int64_t hs_bitrank_find(const struct hs_bitrank *b, uint64_t pos);
/* Rank of the greatest position <= pos, or -1 when there is none. */
int64_t hs_bitrank_pred(const struct hs_bitrank *b, uint64_t pos);

/* The positions from a given one on, in order:
 *	struct hs_bitrank_iter it;
 *	for (hs_bitrank_iter_init(&it, b, from); hs_bitrank_iter_next(&it, &pos);)
 * Inline: the census and pins run it over every chunk of the heap. */
struct hs_bitrank_iter {
	const uint64_t *nz, *words;
	uint64_t nnz;         /* words of nz */
	uint64_t zw, zbits;   /* nz word, and its bits not yet visited */
	uint64_t p;           /* next stored word */
	uint64_t w, bits;     /* current word's index and bits left */
};

static inline void hs_bitrank_iter_init(struct hs_bitrank_iter *it, const struct hs_bitrank *b, uint64_t from)
{
	const uint64_t w0 = from >> 6;
	it->nz = b->nz;
	it->words = b->words;
	it->nnz = (b->span + 4095) / 4096;
	it->bits = 0;
	it->p = 0;
	it->w = w0;
	it->zw = w0 >> 6;
	if (from >= b->span || !b->nwords) {
		it->zw = it->nnz;
		it->zbits = 0;
		return;
	}
	const uint64_t z = b->nz[it->zw], below = (1ull << (w0 & 63)) - 1;
	it->p = b->nzrank[it->zw] + (uint64_t)hs_popcount64(z & below);
	it->zbits = z & ~below;
	if (it->zbits & (1ull << (w0 & 63))) { /* from's own word: drop what is before it */
		it->zbits &= it->zbits - 1;
		it->bits = b->words[it->p++] & (~0ull << (from & 63));
	}
}

static inline bool hs_bitrank_iter_next(struct hs_bitrank_iter *it, uint64_t *pos)
{
	while (!it->bits) {
		while (!it->zbits) {
			if (++it->zw >= it->nnz)
				return false;
			it->zbits = it->nz[it->zw];
		}
		it->w = it->zw * 64 + (uint64_t)__builtin_ctzll(it->zbits);
		it->zbits &= it->zbits - 1;
		it->bits = it->words[it->p++];
	}
	*pos = it->w * 64 + (uint64_t)__builtin_ctzll(it->bits);
	it->bits &= it->bits - 1;
	return true;
}

#endif
