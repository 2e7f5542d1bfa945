/* threads.c - every thread's arena and tcache, through libc's TLS. */
#include "glibc/threads.h"

#include "arch.h"

#include <stdlib.h>

/* The symbol-free path's TLS slots: among the slots of libc's static TLS
 * block, the ones whose value in every stopped thread is NULL or,
 * respectively, an arena of the ring / a tcache chunk. */
static bool is_arena(const struct hs_heap *h, uint64_t v)
{
	for (size_t i = 0; i < h->narenas; i++)
		if (h->arenas[i].addr == v)
			return true;
	return false;
}

/* A tcache_perthread_struct: a chunk of exactly its size whose heads are
 * NULL or aligned user pointers. */
static bool is_tcache(struct hs_source *src, const struct hs_layout *l, uint64_t v)
{
	if (v & (l->align - 1))
		return false;
	uint64_t size;
	if (hs_read_u64(src, v - l->size_sz, &size) < 0)
		return false;
	uint64_t want = ((uint64_t)l->tc_size + l->size_sz + l->align - 1) & ~(uint64_t)(l->align - 1);
	if ((size & ~7ull) != want)
		return false;
	uint64_t e[HS_MAX_TCACHE_BINS];
	int n = l->tc_nbins < HS_MAX_TCACHE_BINS ? l->tc_nbins : HS_MAX_TCACHE_BINS;
	if (hs_read(src, v + (uint64_t)l->tc_entries, e, (size_t)n * 8) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (e[i] & (l->align - 1))
			return false;
	return true;
}

static void locate_tls(struct hs_source *src, const struct hs_symbols *sym, const struct hs_heap *h,
		   int64_t *tls_tcache, int64_t *tls_thread_arena)
{
	const struct hs_layout *l = &sym->layout;
	*tls_tcache = *tls_thread_arena = -1;
	if (!sym->have_tls)
		return;
	for (uint64_t off = 0; off + 8 <= sym->tls_size; off += 8) {
		bool arena_ok = true, tc_ok = true, any_arena = false, any_tc = false;
		for (size_t t = 0; t < h->nthreads && (arena_ok || tc_ok); t++) {
			uint64_t v;
			if (hs_read_u64(src, hs_arch_tls_addr(h->threads[t].regs.tp, sym->l_tls_offset, off), &v) < 0) {
				arena_ok = tc_ok = false;
				break;
			}
			if (v == 0)
				continue;
			bool arena = is_arena(h, v);
			if (arena_ok && arena)
				any_arena = true;
			else
				arena_ok = false;
			if (tc_ok && is_tcache(src, l, v))
				any_tc = true;
			else if (arena || !hs_tcache_placeholder(h, v))
				tc_ok = false;
		}
		if (arena_ok && any_arena && *tls_thread_arena < 0)
			*tls_thread_arena = (int64_t)off;
		else if (tc_ok && any_tc && *tls_tcache < 0)
			*tls_tcache = (int64_t)off;
	}
}

static void read_tcache(struct hs_source *src, const struct hs_layout *l, const struct hs_mp *mp,
			uint64_t v, struct hs_thread *t, struct hs_warnings *w)
{
	unsigned char *b = hs_xcalloc(1, (size_t)l->tc_size);
	if (hs_read(src, v, b, (size_t)l->tc_size) < 0) {
		hs_warn(w, "thread %d: tcache at 0x%llx is not readable", (int)t->tid, (unsigned long long)v);
		free(b);
		return;
	}
	struct hs_tcache *tc = &t->tcache;
	tc->addr = v;
	tc->nbins = l->tc_nbins < HS_MAX_TCACHE_BINS ? l->tc_nbins : HS_MAX_TCACHE_BINS;
	for (int k = 0; k < tc->nbins; k++) {
		uint64_t c = l->tc_count_width == 1 ? b[l->tc_counts + k]
						    : (uint64_t)(b[l->tc_counts + 2 * k] | b[l->tc_counts + 2 * k + 1] << 8);
		if (l->tcache_counts_down) /* 2.42+: num_slots = free slots left */
			c = c <= mp->tcache_count ? mp->tcache_count - c : 0;
		tc->counts[k] = (uint16_t)c;
		tc->entries[k] = hs_word_at(b, (size_t)l->tc_entries + k * (int)l->size_sz, l->size_sz);
	}
	free(b);
}

void hs_threads_read(struct hs_source *src, const struct hs_symbols *sym, const struct hs_task *tasks,
			 size_t ntasks, struct hs_heap *h, struct hs_warnings *w)
{
	const struct hs_layout *l = &sym->layout;
	h->threads = hs_xcalloc(ntasks, sizeof *h->threads);
	h->nthreads = ntasks;
	for (size_t i = 0; i < ntasks; i++) {
		struct hs_thread *t = &h->threads[i];
		t->tid = tasks[i].tid;
		t->regs = tasks[i].regs;
		t->arena = -1;
		t->in_malloc = tasks[i].in_malloc;
		t->malloc_fn = tasks[i].malloc_fn;
	}
	if (!sym->have_tls) {
		if (h->malloc_initialised && ntasks)
			hs_warn(w, "libc's TLS offset is unknown: per-thread tcaches are not read");
		return;
	}
	h->tls_tcache = l->tls_tcache;
	h->tls_thread_arena = l->tls_thread_arena;
	if (h->tls_tcache < 0 || h->tls_thread_arena < 0)
		locate_tls(src, sym, h, &h->tls_tcache, &h->tls_thread_arena);
	for (size_t i = 0; i < ntasks; i++) {
		struct hs_thread *t = &h->threads[i];
		uint64_t v;
		if (h->tls_thread_arena >= 0 &&
		    hs_read_u64(src, hs_arch_tls_addr(t->regs.tp, sym->l_tls_offset, (uint64_t)h->tls_thread_arena), &v) == 0) {
			t->arena_addr = v;
			for (size_t k = 0; k < h->narenas; k++)
				if (h->arenas[k].addr == v)
					t->arena = (int)k;
		}
		if (h->tls_tcache >= 0 &&
		    hs_read_u64(src, hs_arch_tls_addr(t->regs.tp, sym->l_tls_offset, (uint64_t)h->tls_tcache), &v) == 0 &&
		    v != 0 && !hs_tcache_placeholder(h, v))
			read_tcache(src, l, &h->mp, v, t, w);
	}
}
