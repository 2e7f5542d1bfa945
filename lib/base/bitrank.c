/* bitrank.c - the packed set's memory and its queries. */
#include "base/bitrank.h"

#include "base/hs.h"

/* A query costs two population counts. x86-64's baseline has no popcnt
 * instruction (hs_popcount64 is a dozen); nearly every machine has it, so
 * the queries are built twice and the loader picks (an ifunc). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define QUERY __attribute__((target_clones("popcnt", "default")))
#define POPCOUNT(x) ((uint64_t)__builtin_popcountll(x))
#else
#define QUERY
#define POPCOUNT(x) ((uint64_t)hs_popcount64(x))
#endif

static uint64_t nnz(const struct hs_bitrank *b)
{
	return (b->span + 4095) / 4096;
}

void hs_bitrank_init(struct hs_bitrank *b, uint64_t span, uint64_t max)
{
	*b = (struct hs_bitrank){.span = span};
	uint64_t words = (span + 63) / 64;
	b->capwords = max < words ? max : words;
	b->nz = hs_reserve(nnz(b) * sizeof *b->nz);
	b->nzrank = hs_reserve(nnz(b) * sizeof *b->nzrank);
	b->words = hs_reserve(b->capwords * sizeof *b->words);
	b->wrank = hs_reserve(b->capwords * sizeof *b->wrank);
}

void hs_bitrank_free(struct hs_bitrank *b)
{
	hs_release(b->nz, nnz(b) * sizeof *b->nz);
	hs_release(b->nzrank, nnz(b) * sizeof *b->nzrank);
	hs_release(b->words, b->capwords * sizeof *b->words);
	hs_release(b->wrank, b->capwords * sizeof *b->wrank);
	*b = (struct hs_bitrank){0};
}

void hs_bitrank_seal(struct hs_bitrank *b)
{
	uint64_t acc = 0;
	for (uint64_t i = 0; i < nnz(b); i++) {
		b->nzrank[i] = (uint32_t)acc;
		acc += (uint64_t)hs_popcount64(b->nz[i]);
	}
}

/* Stored words before word w of the span; *stored: whether w is one. */
static inline __attribute__((always_inline)) uint64_t words_before(const struct hs_bitrank *b, uint64_t w, bool *stored)
{
	const uint64_t z = b->nz[w >> 6], bit = 1ull << (w & 63);
	*stored = z & bit;
	return b->nzrank[w >> 6] + POPCOUNT(z & (bit - 1));
}

QUERY int64_t hs_bitrank_find(const struct hs_bitrank *b, uint64_t pos)
{
	if (pos >= b->span || !b->nwords)
		return -1;
	bool stored;
	uint64_t p = words_before(b, pos >> 6, &stored);
	const uint64_t word = b->words[p], bit = 1ull << (pos & 63);
	if (!stored || !(word & bit))
		return -1;
	return (int64_t)(b->wrank[p] + POPCOUNT(word & (bit - 1)));
}

QUERY int64_t hs_bitrank_pred(const struct hs_bitrank *b, uint64_t pos)
{
	if (!b->nwords)
		return -1;
	if (pos >= b->span)
		return (int64_t)b->n - 1;
	bool stored;
	uint64_t p = words_before(b, pos >> 6, &stored);
	if (stored) {
		uint64_t bits = b->words[p] & (~0ull >> (63 - (pos & 63)));
		if (bits)
			return (int64_t)(b->wrank[p] + POPCOUNT(bits)) - 1;
	}
	/* The last position of the stored words before p. */
	return (int64_t)(p < b->nwords ? b->wrank[p] : b->n) - 1;
}
