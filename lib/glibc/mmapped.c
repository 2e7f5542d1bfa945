/* mmapped.c - mmapped chunks, found in the maps. */
#include "glibc/mmapped.h"

#include <stdlib.h>
#include <sys/mman.h>

/* memalign() over the mmap threshold over-allocates, then places the chunk
 * inside the mapping with prev_size = its offset, leaving the first header
 * stale (and mremap keeps it stale). The gap is never handed out, so it is
 * zero up to the real header: the first non-zero word in the mapping's
 * first page, after the stale header, is the real prev_size iff it equals
 * its own offset and is followed by an HS_IS_MMAPPED size that ends the
 * mapping (room bytes at most). In an ordinary chunk that word is user
 * data. Returns the chunk's offset (0: none) and sets *size. */
static uint64_t aligned_inside(struct hs_source *src, const struct hs_layout *l, uint64_t a, uint64_t room,
			       uint64_t *size)
{
	uint64_t v[512]; /* one page; user data is mostly non-zero early: 64 bytes first */
	size_t lim = room / 8 < 512 ? (size_t)(room / 8) : 512, have = 0;
	for (size_t i = 2;; i++) {
		if (i + 1 >= have) {
			size_t n = have ? lim : (lim < 8 ? lim : 8);
			if (n <= have || hs_read(src, a + have * 8, v + have, (n - have) * 8) < 0)
				return 0;
			have = n;
			if (i + 1 >= have)
				return 0;
		}
		if (!v[i])
			continue;
		uint64_t off = i * 8, sz = v[i + 1] & ~(uint64_t)HS_SIZE_BITS;
		if (v[i] != off || (off & 15) || !(v[i + 1] & HS_IS_MMAPPED) || (v[i + 1] & 4) ||
		    ((off + sz + l->mmap_tail) & 4095) || off + sz + l->mmap_tail > room)
			return 0;
		*size = sz;
		return off;
	}
}

/* A memaligned mmapped chunk sits `offset` bytes into its mapping with
 * prev_size = offset; the mapping's start keeps the header it had before
 * (prev_size 0, the size it had then). Looks for the real header after
 * the stale one c; on success replaces c and corrects *bytes. */
static bool find_aligned_mmapped(struct hs_source *src, const struct hs_layout *l, struct hs_mmchunk *c,
				 uint64_t map_end, uint64_t *bytes)
{
	unsigned char buf[4096];
	const unsigned w = l->size_sz;
	for (uint64_t off = 2 * w; c->map_start + off + 2 * w <= map_end; off += sizeof buf - l->align) {
		uint64_t n = map_end - (c->map_start + off);
		n = n < sizeof buf ? n : sizeof buf;
		if (hs_read(src, c->map_start + off, buf, (size_t)n) < 0)
			return false;
		for (uint64_t k = 0; k + 2 * w <= n; k += l->align) {
			uint64_t pos = off + k;
			/* chunk2mem aligned: pos + 2 * SIZE_SZ is a multiple of the alignment */
			if ((pos + 2 * w) & (l->align - 1))
				continue;
			uint64_t ps = hs_word_at(buf, k, w), sz = hs_word_at(buf, k + w, w);
			uint64_t size = sz & ~(uint64_t)HS_SIZE_BITS, total = pos + size + l->mmap_tail;
			if (ps != pos || !(sz & HS_IS_MMAPPED) || (sz & 4) || (total & 4095) || total > map_end - c->map_start ||
			    total <= c->map_len)
				continue;
			*bytes += total - c->map_len;
			*c = (struct hs_mmchunk){c->map_start + pos, size, c->map_start, total};
			return true;
		}
	}
	return false;
}

/* mmapped chunks are in no list: look for their headers (HS_IS_MMAPPED, a
 * size that fits the mapping) at the start of anonymous mappings. Adjacent
 * ones share one VMA, so continue after each chunk. */
void hs_mmapped_find(struct hs_source *src, struct hs_heap *h, struct hs_warnings *w)
{
	const struct hs_layout *l = h->layout;
	size_t cap = 0;
	uint64_t bytes = 0;
	if (h->mp.n_mmaps <= 0)
		return;
	/* i386: MALLOC_ALIGNMENT 16 > CHUNK_HDR_SZ 8, so sysmalloc_mmap puts
	 * the chunk 8 bytes into its mapping and records that in prev_size. */
	const uint64_t corr = l->align > 2 * l->size_sz ? l->align - 2 * l->size_sz : 0;
	for (size_t i = 0; i < src->maps.n; i++) {
		const struct hs_map *m = &src->maps.v[i];
		if (m->path[0] || m->shared || (m->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE) ||
		    hs_heap_covers(h, m->start, m->end))
			continue;
		for (uint64_t a = m->start; a + corr + 2 * l->size_sz <= m->end;) {
			unsigned char hb[16];
			if (hs_read(src, a + corr, hb, 2 * l->size_sz) < 0)
				break;
			uint64_t hdr[2] = {hs_word_at(hb, (size_t)0, l->size_sz), hs_word_at(hb, (size_t)((int)l->size_sz), l->size_sz)};
			/* munmap_chunk() unmaps prev_size + size (+ a tail in 2.43)
			 * from the chunk back: at a mapping's start prev_size is 0. */
			uint64_t size = hdr[1] & ~(uint64_t)HS_SIZE_BITS;
			uint64_t total = corr + size + l->mmap_tail;
			if (!(hdr[1] & HS_IS_MMAPPED) || (hdr[1] & 4) || (hdr[0] & ~1ull) != corr || size < 4096 - l->mmap_tail - corr ||
			    (total & 4095) || total > m->end - a) {
				/* The mapping goes on but the chunk before claimed less:
				 * that was the stale header memalign leaves at the
				 * mapping's start, outgrown by a mremap. */
				if (h->nmmapped && h->mmapped[h->nmmapped - 1].map_start + h->mmapped[h->nmmapped - 1].map_len == a &&
				    find_aligned_mmapped(src, l, &h->mmapped[h->nmmapped - 1], m->end, &bytes)) {
					a = h->mmapped[h->nmmapped - 1].map_start + h->mmapped[h->nmmapped - 1].map_len;
					continue;
				}
				/* ... or one that claims more than the mapping, which
				 * a mremap shrank. */
				struct hs_mmchunk c = {a, size, a, 0};
				uint64_t found = 0;
				if ((hdr[1] & HS_IS_MMAPPED) && !(hdr[1] & 4) && (hdr[0] & ~1ull) == corr && !(total & 4095) &&
				    total > m->end - a && find_aligned_mmapped(src, l, &c, m->end, &found)) {
					if (h->nmmapped == cap) {
						cap = cap ? cap * 2 : 16;
						h->mmapped = hs_xrealloc(h->mmapped, cap, sizeof *h->mmapped);
					}
					h->mmapped[h->nmmapped++] = c;
					bytes += c.map_len;
					a += c.map_len;
					continue;
				}
				break;
			}
			/* a stale header (memalign) with the real one in the first
			 * page: the gap before it is zero */
			uint64_t inner = 0, off = l->size_sz == 8 ? aligned_inside(src, l, a, m->end - a, &inner) : 0;
			if (off)
				total = off + inner + l->mmap_tail;
			if (h->nmmapped == cap) {
				cap = cap ? cap * 2 : 16;
				h->mmapped = hs_xrealloc(h->mmapped, cap, sizeof *h->mmapped);
			}
			h->mmapped[h->nmmapped++] = off ? (struct hs_mmchunk){a + off, inner, a, total}
							: (struct hs_mmchunk){a + corr, size, a, total};
			bytes += total;
			a += total;
		}
	}
	/* 2.43's mremap_chunk adds new_size - size - offset to mmapped_mem,
	 * size lacking the CHUNK_HDR_SZ tail: mp_ then runs ahead of the maps
	 * by that tail once per growing mremap. glibc's drift, not a corruption. */
	uint64_t drift = h->mp.mmapped_mem - bytes;
	bool mremap_drift = l->mmap_tail && h->mp.mmapped_mem > bytes && drift % l->mmap_tail == 0;
	if (h->nmmapped != (size_t)h->mp.n_mmaps || (bytes != h->mp.mmapped_mem && !mremap_drift))
		hs_warn(w, "mmapped chunks: found %zu (%llu bytes) in the maps, mp_ counts %d (%llu bytes)",
			h->nmmapped, (unsigned long long)bytes, h->mp.n_mmaps,
			(unsigned long long)h->mp.mmapped_mem);
}
