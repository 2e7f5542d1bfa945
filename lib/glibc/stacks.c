/* stacks.c - libunwind-ptrace over the stopped threads, and libunwind over
 * a core's threads (their registers from its notes). */
#include "glibc/stacks.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <libunwind-ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE HS_PAGE_SIZE
#define NCACHED 64 /* pages of read-only file mappings kept: 256 KiB */

/* A page of a read-only file mapping (code, .eh_frame, .eh_frame_hdr):
 * what the unwinder reads most, a word at a time, and what does not
 * change while it is mapped. */
struct cached_page {
	uint64_t page; /* address + 1; 0: empty */
	unsigned char b[PAGE];
};

struct hs_stacks {
	unw_addr_space_t as; /* NULL: libunwind could not make one */
	struct hs_source *src;
	/* The maps the cache was filled under: a nudged thread may have
	 * unmapped a file and mapped another there, and the maps are read
	 * again then (a new array). */
	const struct hs_map *maps_v;
	struct cached_page *cache; /* NCACHED, direct-mapped by page number */
	/* The first read of a walk that failed, and why (errno): a walk cut
	 * by it says so, not only libunwind's "bad value". */
	uint64_t bad_addr;
	int bad_errno;
	char why[160];
};

/* libunwind-ptrace finds a frame's unwind table by opening the file the
 * target maps at that address by itself: /proc/PID/root/PATH after a
 * stat(2) (links followed, out of the target's root too), else the host's
 * PATH. The table is found here instead in the module heapscope already
 * opened safely (symbols.c, source/rootfs.h): its PT_GNU_EH_FRAME names
 * .eh_frame_hdr, which libunwind then reads, with the FDEs, through
 * access_mem below, as _UPT_find_proc_info has it do.
 *
 * Memory is read through heapscope's source, never with libunwind-ptrace's
 * own _UPT_access_mem: that reads with PTRACE_PEEKDATA, which faults the
 * page in: a page of .eh_frame the target never touched became a
 * page-cache page mapped into it, with its neighbours (fault-around),
 * 128-384 kB of RSS per attach (issue 11, item 0). The source reads a page
 * the target has (pagemap: present or swapped) with process_vm_readv,
 * and one it has not from the mapped file itself (source/target.c), so
 * nothing is faulted in. Registers and the rest stay libunwind-ptrace's
 * own accessors, given its handle: every callback gets this struct as its
 * arg (libunwind passes the arg given to unw_init_remote to every
 * accessor and to dwarf_search_unwind_table's reads), and hands upt on. */
struct unw_arg {
	void *upt;             /* NULL: a core's thread, whose registers are words */
	const uint64_t *words; /* hs_arch_core_prstatus's */
	int nwords;
	const struct hs_regs *regs; /* else: only pc and sp (a thread another tracer holds) */
	const struct hs_symbols *sym;
	struct hs_stacks *s;
};

extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
					      unw_proc_info_t *pi, int need_unwind_info, void *arg);

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need, void *arg)
{
	const struct unw_arg *a = arg;
	Dwfl_Module *mod = a->sym->dwfl ? dwfl_addrmodule(a->sym->dwfl, ip) : NULL;
	GElf_Addr bias;
	Elf *elf = mod ? dwfl_module_getelf(mod, &bias) : NULL;
	size_t n = 0;
	if (!elf || elf_getphdrnum(elf, &n) != 0)
		return -UNW_ENOINFO;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_GNU_EH_FRAME)
			continue;
		Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_BYTE);
		const unsigned char *h = d ? d->d_buf : NULL;
		/* version 1; eh_frame_ptr in 4 bytes; fde_count udata4; the
		 * table sdata4 relative to the header: what every linker writes */
		if (!h || d->d_size < 12 || h[0] != 1 || ((h[1] & 0x0f) != 0x03 && (h[1] & 0x0f) != 0x0b) ||
		    h[2] != 0x03 || h[3] != 0x3b)
			return -UNW_ENOINFO;
		uint32_t fdes;
		memcpy(&fdes, h + 8, sizeof fdes);
		if ((uint64_t)fdes * 8 > d->d_size - 12)
			return -UNW_ENOINFO;
		Dwarf_Addr start, end;
		dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
		unw_dyn_info_t di;
		memset(&di, 0, sizeof di);
		di.start_ip = start;
		di.end_ip = end;
		di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
		di.u.rti.segbase = ph.p_vaddr + bias;
		di.u.rti.table_data = ph.p_vaddr + bias + 12;
		di.u.rti.table_len = (uint64_t)fdes * 8 / sizeof(unw_word_t);
		return UNW_OBJ(dwarf_search_unwind_table)(as, ip, &di, pi, need, arg);
	}
	return -UNW_ENOINFO;
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	_UPT_put_unwind_info(as, pi, ((struct unw_arg *)arg)->upt);
}

/* _UPT_get_dyn_info_list_addr opens every mapped file to look for it:
 * code registered with _U_dyn_register (rare JITs) is not unwound. */
static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as, (void)addr, (void)arg;
	return -UNW_ENOINFO;
}

/* The page at pg of a read-only file mapping, from the cache or read
 * whole (it lies in one mapping, so in one file). NULL with errno. */
static const unsigned char *file_page(struct hs_stacks *s, uint64_t pg)
{
	if (s->maps_v != s->src->maps.v) {
		for (size_t i = 0; i < NCACHED; i++)
			s->cache[i].page = 0;
		s->maps_v = s->src->maps.v;
	}
	struct cached_page *c = &s->cache[(pg / PAGE) % NCACHED];
	if (c->page != pg + 1) {
		c->page = 0;
		if (hs_read(s->src, pg, c->b, PAGE) < 0)
			return NULL;
		c->page = pg + 1;
	}
	return c->b;
}

/* A read libunwind asked for failed (errno set): kept for the walk's
 * why, libunwind told "bad value". */
static int read_failed(struct hs_stacks *s, uint64_t addr)
{
	if (!s->bad_errno) {
		s->bad_addr = addr;
		s->bad_errno = errno ? errno : EIO;
	}
	return -UNW_EINVAL;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	(void)as;
	struct hs_stacks *s = ((struct unw_arg *)arg)->s;
	if (write)
		return -UNW_EREADONLYREG; /* heapscope never writes the target */
	uint64_t pg = addr & ~(PAGE - 1);
	const struct hs_map *m = hs_maps_find(&s->src->maps, addr);
	if (m && m->inode && !m->shared && !(m->prot & PROT_WRITE) && addr + sizeof *val <= pg + PAGE) {
		const unsigned char *b = file_page(s, pg);
		if (!b)
			return read_failed(s, addr);
		memcpy(val, b + (addr - pg), sizeof *val);
		return 0;
	}
	return hs_read(s->src, addr, val, sizeof *val) < 0 ? read_failed(s, addr) : 0;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	const struct unw_arg *a = arg;
	if (a->upt)
		return _UPT_access_reg(as, reg, val, write, a->upt);
	if (write)
		return -UNW_EREADONLYREG;
	if (a->regs) {
		if (reg != UNW_REG_IP && reg != UNW_REG_SP)
			return -UNW_EBADREG; /* unknown: a frame that needs it is not unwound */
		*val = reg == UNW_REG_IP ? a->regs->pc : a->regs->sp;
		return 0;
	}
	int k = hs_arch_unw_word(reg);
	if (k < 0 || k >= a->nwords)
		return -UNW_EBADREG;
	*val = a->words[k];
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write, void *arg)
{
	const struct unw_arg *a = arg;
	return a->upt ? _UPT_access_fpreg(as, reg, val, write, a->upt) : -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	const struct unw_arg *a = arg;
	return a->upt ? _UPT_resume(as, c, a->upt) : -UNW_EINVAL;
}

/* (it too would open the file; names come from symbols.c) */
static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len, unw_word_t *off,
			 void *arg)
{
	(void)as, (void)addr, (void)buf, (void)len, (void)off, (void)arg;
	return -UNW_ENOINFO;
}

static unw_accessors_t accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = get_dyn_info_list_addr,
	.access_mem = access_mem,
	.access_reg = access_reg,
	.access_fpreg = access_fpreg,
	.resume = resume,
	.get_proc_name = get_proc_name,
};

struct hs_stacks *hs_stacks_open(struct hs_source *src)
{
	struct hs_stacks *s = hs_xcalloc(1, sizeof *s);
	s->src = src;
	s->cache = hs_xcalloc(NCACHED, sizeof *s->cache);
	s->as = unw_create_addr_space(&accessors, 0);
	if (s->as)
		unw_set_caching_policy(s->as, UNW_CACHE_GLOBAL);
	return s;
}

static enum hs_stack_where walk(struct hs_stacks *s, struct unw_arg *arg, const char **fn, const char **why);

/* walk, its why naming the read that failed, if one did: the stop's
 * budget run out (ETIME: reads fail from then on) reads as what it is. */
static enum hs_stack_where walk_why(struct hs_stacks *s, struct unw_arg *arg, const char **fn, const char **why)
{
	s->bad_errno = 0;
	enum hs_stack_where where = walk(s, arg, fn, why);
	if (where != HS_STACK_UNKNOWN || !s->bad_errno)
		return where;
	if (s->bad_errno == ETIME)
		snprintf(s->why, sizeof s->why, "the stop reached its budget (--max-stop) before it was unwound");
	else
		snprintf(s->why, sizeof s->why, "%s: reading 0x%" PRIx64 ": %s", *why, s->bad_addr,
			 strerror(s->bad_errno));
	*why = s->why;
	return where;
}

enum hs_stack_where hs_stacks_where(struct hs_stacks *s, const struct hs_symbols *sym, pid_t tid,
				    const char **fn, const char **why)
{
	if (!s->as) {
		*why = "libunwind cannot create an address space";
		return HS_STACK_UNKNOWN;
	}
	void *ui = _UPT_create(tid);
	if (!ui) {
		*why = "libunwind-ptrace cannot start on it";
		return HS_STACK_UNKNOWN;
	}
	struct unw_arg arg = {.upt = ui, .sym = sym, .s = s};
	enum hs_stack_where where = walk_why(s, &arg, fn, why);
	_UPT_destroy(ui);
	return where;
}

enum hs_stack_where hs_stacks_where_regs(struct hs_stacks *s, const struct hs_symbols *sym, const struct hs_regs *r,
					 const char **fn, const char **why)
{
	if (!s->as) {
		*why = "libunwind cannot create an address space";
		return HS_STACK_UNKNOWN;
	}
	struct unw_arg arg = {.regs = r, .sym = sym, .s = s};
	return walk_why(s, &arg, fn, why);
}

enum hs_stack_where hs_stacks_where_words(struct hs_stacks *s, const struct hs_symbols *sym, const uint64_t *words,
					  int nwords, const char **fn, const char **why)
{
	if (!s->as) {
		*why = "libunwind cannot create an address space";
		return HS_STACK_UNKNOWN;
	}
	struct unw_arg arg = {.words = words, .nwords = nwords, .sym = sym, .s = s};
	return walk_why(s, &arg, fn, why);
}

/* Whether a pause found at the innermost allocator frame (c stands on
 * it, fn its function) holds for the whole stack: no allocator frame
 * outward changes state before its lock waits
 * (hs_symbols_changes_before_locking), and none lies beyond a frame
 * that is not the allocator's (a signal handler's malloc waiting for a
 * lock while the malloc it interrupted is mid-update). */
static bool pause_holds(unw_cursor_t *c, const struct hs_symbols *sym, const char *fn)
{
	bool inside = true; /* still in the allocator's own frames */
	for (int depth = 0; depth < HS_MAX_FRAMES; depth++) {
		if (hs_symbols_changes_before_locking(fn))
			return false;
		unw_word_t ip;
		int rc = unw_step(c);
		if (rc == 0)
			return true; /* the outermost frame */
		if (rc < 0 || unw_get_reg(c, UNW_REG_IP, &ip) < 0)
			return false;
		if (ip == 0 || hs_symbols_stack_base(sym, ip - 1))
			return true;
		fn = NULL;
		bool in = hs_symbols_in_malloc(sym, ip - 1, &fn);
		if (in && !inside)
			return false;
		inside = in;
	}
	return false;
}

/* For an innermost frame in nameless libc code (no debug file): where
 * its function starts (*start), and whether it is one programs call
 * themselves, not the allocator's: one of libc's IFUNC targets (memcpy's
 * variant), or code waiting in a system call it makes inline (a futex
 * wait: pthread_join tail-calls __pthread_clockjoin_ex, which waits
 * there). The allocator's own nameless code makes no system call inline:
 * its calls go through named wrappers (mmap, munmap, madvise, brk), its
 * lock waits through __lll_lock_wait. */
static bool ifunc_or_syscall(struct hs_stacks *s, unw_cursor_t *c, unw_word_t ip, const struct hs_symbols *sym,
			     unw_word_t *start)
{
	unw_proc_info_t pi;
	if (unw_get_proc_info(c, &pi) == 0)
		*start = pi.start_ip;
	if (*start && hs_symbols_ifunc(sym, *start))
		return true;
	unsigned char insn[sizeof hs_arch.syscall_insn];
	return hs_read(s->src, ip - sizeof insn, insn, sizeof insn) == 0 &&
	       memcmp(insn, hs_arch.syscall_insn, sizeof insn) == 0;
}

static enum hs_stack_where walk(struct hs_stacks *s, struct unw_arg *arg, const char **fn, const char **why)
{
	const struct hs_symbols *sym = arg->sym;
	enum hs_stack_where where = HS_STACK_OUTSIDE;
	unw_word_t inner = 0, inner_start = 0; /* the innermost frame's pc, its function's start */
	int unnamed = 0; /* frames above the innermost in libc, nameless (no debug file) */
	bool nameless = false; /* every frame so far nameless libc code, not an IFUNC'd string function or a wait */
	unw_cursor_t c;
	int rc = unw_init_remote(&c, s->as, arg);
	if (rc < 0) {
		*why = unw_strerror(rc);
		where = HS_STACK_UNKNOWN;
	}
	for (int i = 0; where == HS_STACK_OUTSIDE && i < HS_MAX_FRAMES; i++) {
		unw_word_t ip;
		if ((rc = unw_get_reg(&c, UNW_REG_IP, &ip)) < 0) {
			*why = unw_strerror(rc);
			where = HS_STACK_UNKNOWN;
			break;
		}
		if (ip == 0)
			break; /* the outermost frame */
		/* Outer frames hold return addresses: look at the call. */
		const uint64_t pc = i ? ip - 1 : ip;
		/* libc code no symbol names (only without a debug file), asked
		 * only where it matters */
		const bool anon = (i == 0 || nameless || unnamed == i - 1) && hs_symbols_unnamed_libc(sym, pc);
		if (i == 0) {
			inner = ip;
			if (anon)
				nameless = !ifunc_or_syscall(s, &c, ip, sym, &inner_start);
		}
		if (hs_symbols_in_malloc(sym, pc, fn)) {
			/* A pause is the allocator calling a lock wait or its copy
			 * straight from this frame (a deeper innermost frame, a
			 * signal handler below, is none; without a debug file, the
			 * copy through one nameless frame), and holding outward. */
			bool paused = (i == 1 && hs_symbols_malloc_paused(sym, inner, *fn)) ||
				      (i == unnamed + 1 && inner_start &&
				       hs_symbols_malloc_paused_unnamed(sym, inner_start, unnamed, *fn));
			where = paused && pause_holds(&c, sym, *fn) ? HS_STACK_PAUSED : HS_STACK_IN_MALLOC;
			break;
		}
		/* Nameless libc code called from outside libc (no debug file):
		 * an exported allocator function tail-calls its static helpers
		 * (2.42+: free jumps to _int_free_chunk), leaving no named frame;
		 * that code is taken to be the allocator's (memcpy's and the
		 * other IFUNC'd string functions, which users call, and a wait
		 * in a system call are told apart: ifunc_or_syscall). */
		if (i > 0 && nameless && !hs_symbols_in_libc(sym, pc)) {
			where = HS_STACK_IN_MALLOC;
			*fn = "libc code without a symbol";
			break;
		}
		nameless = nameless && anon;
		/* Nameless libc frames right above the innermost (no debug
		 * file: _int_realloc has no symbol in .dynsym). */
		if (i > 0 && unnamed == i - 1 && anon)
			unnamed++;
		if ((rc = unw_step(&c)) < 0) {
			/* Past the base of the stack (main, start_thread) there
			 * is no frame malloc could be in; a return address in no
			 * module is a chain gone astray after the frames that
			 * could be malloc's were seen (libunwind on static
			 * executables): the end, not a doubt. */
			if (hs_symbols_stack_base(sym, pc))
				break;
			*why = unw_strerror(rc);
			where = HS_STACK_UNKNOWN;
		} else if (rc == 0) {
			break; /* the outermost frame */
		}
	}
	return where;
}

void hs_stacks_close(struct hs_stacks *s)
{
	if (!s)
		return;
	if (s->as)
		unw_destroy_addr_space(s->as);
	free(s->cache);
	free(s);
}
