/* fuzz_heap.c - libFuzzer target over everything after `target`: the
 * arenas reader, the heap walk, the free lists, the census, the --leaks
 * copy and mark, the diagnosis and all four renderers, fed a mutated image of a glibc 2.36 heap. They
 * must never crash, hang or read out of bounds; what is corrupt must come
 * out as warnings. */
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "arenas.h"
#include "bins.h"
#include "census.h"
#include "contents.h"
#include "diagnose.h"
#include "fuzz_image.h"
#include "image.h"
#include "report.h"
#include "walk.h"

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

	struct hs_err err = {0};
	struct hs_warnings w = {0};
	struct hs_heap h;
	struct hs_index ix;
	struct hs_bins b;
	struct hs_census c;
	memset(&ix, 0, sizeof ix);
	memset(&b, 0, sizeof b);
	memset(&c, 0, sizeof c);
	struct hs_contents ct = {0};
	struct hs_leaks lk = {0};
	if (hs_arenas_read(&im.src, &sym, &task, 1, &h, &w, &err) == 0) {
		struct hs_walk_opts o = {.keep_chunks = true, .window = 4096};
		if (hs_walk(&im.src, &h, &o, &ix, &w, &err) == 0 &&
		    hs_contents_copy(&im.src, &h, &ix, NULL, 0, &ct, &w, &err) == 0) {
			hs_bins_read(&h, &ix, true, &b, &w);
			hs_census_build(&h, &ix, &b, &c, &w);
			hs_leaks_find(&h, &ix, &ct, NULL, true, &lk);
			c.sym = &sym;
			c.exe = "fuzz";
			c.arch = "x86_64";
			struct hs_diagnosis d;
			hs_diagnose(&c, &lk, &d);
			FILE *out = fopen("/dev/null", "w");
			for (int f = HS_FMT_TEXT; f <= HS_FMT_MALLOC_INFO && out; f++) {
				struct hs_report_opts ro = {.format = (enum hs_format)f, .chunks = true, .bins = true};
				hs_report(out, &c, &d, &ro);
			}
			if (out)
				fclose(out);
		}
	}
	hs_leaks_free(&lk);
	hs_contents_free(&ct);
	hs_census_free(&c);
	hs_bins_free(&b);
	hs_index_free(&ix);
	hs_heap_free(&h);
	hs_warnings_free(&w);
	hs_image_free(&im);
	return 0;
}
