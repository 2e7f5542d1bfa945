/* symbols.h - find glibc's allocator inside the target.
 *
 * libdwfl reports the target's modules (files opened through
 * /proc/PID/root so a container's libc is the one read), finds libc's
 * debug file by build-id, and from its DWARF gives the addresses of
 * main_arena and mp_, every struct member offset and the TLS offsets of
 * `tcache` and `thread_arena`. */
#ifndef HS_SYMBOLS_H
#define HS_SYMBOLS_H

#include <limits.h>

#include "base/layout.h"
#include "source/core.h"
#include "source/source.h"

struct hs_symbols {
	char libc[PATH_MAX];      /* libc's file as the target maps it */
	char debuginfo[PATH_MAX]; /* the debug file used, "" if none */
	char build_id[41];
	const char *method; /* "dwarf", "symtab" or "scan": JSON symbols.source */
	char version[32];   /* "2.36", from the banner */
	uint64_t main_arena, mp;
	uint64_t l_tls_offset; /* libc's static TLS offset from the thread pointer */
	uint64_t tls_size;     /* libc's PT_TLS block: where the locate scan looks */
	uint64_t tls_align;
	bool is_static;        /* glibc linked into the executable */
	bool version_given;    /* the version is --glibc's, the program names none */
	/* Another malloc in the process ("jemalloc 5.3.0 (libjemalloc.so.2)"),
	 * which serves the program instead of glibc's; "" if none. Only a
	 * module that defines and exports malloc counts (an undefined symbol
	 * with a value, a non-PIE executable's canonical PLT entry, does not),
	 * and where libc's own GOT slot for malloc says which one the dynamic
	 * linker bound, only that one. */
	char other_allocator[160];
	/* glibc's malloc debugging library (libc_malloc_debug.so) with
	 * MALLOC_CHECK_ on allocates from its own copy of malloc: its file when
	 * main_arena, mp_ and the layout are that library's; "" otherwise. */
	char malloc_lib[PATH_MAX];
	bool have_tls;
	struct hs_layout layout;
	void *dwfl; /* kept to name code addresses (hs_symbols_name) */
	void *libc_mod;
	/* Where libc's own calls of its IFUNC'd string functions (memcpy,
	 * memset, strlen, ...) go in the target: the functions its
	 * R_*_IRELATIVE GOT slots hold, sorted. Names them when no symbol
	 * does (no debug file: .dynsym has no __memmove_avx_unaligned_erms). */
	uint64_t *ifuncs;
	size_t nifuncs;
	void *state_mod; /* the module whose main_arena and mp_ are read */
	void *ctx; /* callbacks and search path libdwfl points to */
};

struct hs_symbols_opts {
	bool no_debuginfo;
	int glibc_minor; /* --glibc=2.N: the version of a static program that names none; 0 if not given */
	/* A core file instead of a live process: its maps, its executable,
	 * and its files (those verified by build-id, source/core.h); NULL
	 * for a live process. */
	const struct hs_core *core;
};

/* Fails with HS_EUNSUPPORTED when the target has no glibc or no usable
 * debug symbols (the message names the package to install). */
int hs_symbols_load(struct hs_source *src, const struct hs_symbols_opts *o,
		    struct hs_symbols *s, struct hs_err *err);
/* The same stage with no process behind it, on files laid out as a
 * target's root: the files src->maps names, resolved inside ROOT (a
 * directory descriptor, hs_rootfs_file; duplicated, not taken), EXE the
 * executable's path in it ("" for none), DEBUG_PATH the host's debug
 * directories (':' between them, "" for none). What tests/fuzz/
 * fuzz_symbols.c feeds hostile libc and debug files through. */
int hs_symbols_load_root(struct hs_source *src, int root, const char *exe, const char *debug_path,
			 const struct hs_symbols_opts *o, struct hs_symbols *s, struct hs_err *err);
/* Is pc in a function at the base of a thread's stack (main and its
 * callers in libc, start_thread, clone), or in no module at all? */
bool hs_symbols_stack_base(const struct hs_symbols *s, uint64_t pc);
/* True when pc lies in libc's allocator (malloc, free, _int_malloc, ...);
 * *fn (when fn is not NULL) names the function. */
bool hs_symbols_in_malloc(const struct hs_symbols *s, uint64_t pc, const char **fn);
/* Is a thread that stands at pc, called from allocator function fn (as
 * hs_symbols_in_malloc names it), at a point where none of the
 * allocator's structures is mid-update? Two such points: waiting for a
 * lock (__lll_lock_wait*: every allocator path takes its locks before it
 * changes what they guard), and realloc copying the old block into the
 * new one (memcpy from _int_realloc, or from __libc_realloc for an
 * mmapped chunk: both chunks are whole and in use). False when pc cannot
 * be named. */
bool hs_symbols_malloc_paused(const struct hs_symbols *s, uint64_t pc, const char *fn);
/* The same for a thread whose functions below fn have no names (no debug
 * file): start is where the innermost frame's function begins (its
 * unwind entry), unnamed how many frames lie between it and fn, all in
 * libc and nameless (_int_realloc). Realloc's copy only: the innermost
 * function one of libc's IFUNC targets (hs_symbols.ifuncs: its memcpy),
 * fn realloc, at most one nameless frame between. */
bool hs_symbols_malloc_paused_unnamed(const struct hs_symbols *s, uint64_t start, int unnamed, const char *fn);
/* Whether pc is in libc and no symbol names it. */
bool hs_symbols_unnamed_libc(const struct hs_symbols *s, uint64_t pc);
/* Whether pc is in libc's module at all. */
bool hs_symbols_in_libc(const struct hs_symbols *s, uint64_t pc);
/* Whether a function that begins at start is one of libc's IFUNC targets. */
bool hs_symbols_ifunc(const struct hs_symbols *s, uint64_t start);
/* Whether allocator function fn (as hs_symbols_in_malloc names it) waits
 * for a lock after it has changed what heapscope reads: a lock wait it
 * calls, however deep, is no pause. */
bool hs_symbols_changes_before_locking(const char *fn);
void hs_symbols_free(struct hs_symbols *s);

#endif
