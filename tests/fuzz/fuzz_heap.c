/* fuzz_heap.c - libFuzzer target over everything after `target`: the
 * arenas reader, the heap walk, the free lists, the census, the --leaks
 * copy and mark, the residency and trim figures, the diagnosis and all
 * four renderers, fed a mutated image of a glibc 2.36 heap and of its
 * pagemap (fuzz_image.h). They
 * must never crash, hang or read out of bounds; what is corrupt must come
 * out as warnings. */
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "glibc/arenas.h"
#include "glibc/bins.h"
#include "analysis/census.h"
#include "glibc/contents.h"
#include "analysis/diagnose.h"
#include "fuzz_image.h"
#include "fuzz_stages.h"
#include "source/image.h"
#include "report/report.h"
#include "glibc/walk.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < FZ_HEADER + 32 || size - FZ_HEADER > FZ_MAX_HEAP)
		return -1;
	struct hs_image im;
	hs_image_init(&im);
	unsigned char *libc = hs_image_add(&im, FZ_LIBC, 0x2000, "");
	unsigned char *tls = hs_image_add(&im, FZ_TP - FZ_TLS_OFFSET, 0x100, "");
	size_t heap_len = (size - FZ_HEADER) & ~(size_t)15;
	unsigned char *heap = hs_image_add(&im, FZ_HEAP, heap_len, "[heap]");
	memcpy(libc + 0x100, data, FZ_MS_SIZE);
	memcpy(libc + 0x1000, data + FZ_MS_SIZE, FZ_MP_SIZE);
	memcpy(tls + FZ_TLS_TCACHE, data + FZ_MS_SIZE + FZ_MP_SIZE, 8);
	memcpy(tls + FZ_TLS_ARENA, data + FZ_MS_SIZE + FZ_MP_SIZE + 8, 8);
	memcpy(heap, data + FZ_HEADER, heap_len);
	unsigned char st[FZ_PAGES];
	for (size_t i = 0; i < FZ_PAGES; i++) {
		unsigned v = (data[FZ_PAGES_AT + i / 4] >> (2 * (i % 4))) & 3;
		st[i] = v == 3 ? HS_PAGE_PRESENT : (unsigned char)v;
	}
	hs_image_pages(&im, FZ_HEAP, (heap_len + 4095) / 4096, st);

	struct hs_symbols sym;
	memset(&sym, 0, sizeof sym);
	hs_arch_layout(2, 36, &sym.layout);
	sym.layout.tls_tcache = FZ_TLS_TCACHE;
	sym.layout.tls_thread_arena = FZ_TLS_ARENA;
	sym.main_arena = FZ_MAIN_ARENA;
	sym.mp = FZ_MP;
	sym.have_tls = true;
	sym.l_tls_offset = FZ_TLS_OFFSET;
	sym.method = "dwarf";
	snprintf(sym.version, sizeof sym.version, "2.36");
	struct hs_task task = {.tid = 1, .attached = true, .regs = {.tp = FZ_TP}};

	struct fz_run r;
	struct hs_contents ct = {0};
	struct hs_leaks lk = {0};
	if (fz_read(&im.src, &sym, &task, &r) &&
	    hs_contents_copy(&im.src, &r.h, NULL, 0, &ct, &r.w, &r.err) == 0) {
		hs_leaks_find(&r.h, &r.ix, &ct, NULL, true, &lk);
		r.c.exe = "fuzz";
		r.c.arch = "x86_64";
		struct hs_diagnosis d;
		hs_diagnose(&r.c, &lk, &d);
		fz_report_all(&r.c, &d);
	}
	hs_leaks_free(&lk);
	hs_contents_free(&ct);
	fz_free(&r);
	hs_image_free(&im);
	return 0;
}
