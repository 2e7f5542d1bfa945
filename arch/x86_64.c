/* x86_64.c - registers through PTRACE_GETREGS; TLS variant II, where a
 * module's block lies below the thread pointer (%fs base). */
#include "arch.h"

#include <elf.h>
#include <stddef.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#include "base/layout.h"

const struct hs_arch hs_arch = {
	.name = "x86_64",
	.size_sz = 8,
	.malloc_align = 16,
	.tpoff_reloc = R_X86_64_TPOFF64,
	.irelative_reloc = R_X86_64_IRELATIVE,
	.heap_max = 64ull << 20, /* 2 * DEFAULT_MMAP_THRESHOLD_MAX */
	.tcb_self = 16,
	.pthread_tid = 720,
	.syscall_insn = {0x0f, 0x05},
};

int hs_arch_getregs(pid_t tid, struct hs_regs *r)
{
	struct user_regs_struct u;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &u) < 0)
		return -1;
	r->pc = u.rip;
	r->sp = u.rsp;
	r->tp = u.fs_base;
	return 0;
}

int hs_arch_getregs_all(pid_t tid, uint64_t *words, size_t max)
{
	struct user_regs_struct u;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &u) < 0)
		return -1;
	size_t n = sizeof u / sizeof(uint64_t);
	if (n > max)
		n = max;
	memcpy(words, &u, n * sizeof(uint64_t));
	return (int)n;
}

int hs_arch_core_prstatus(const void *desc, size_t len, pid_t *tid, struct hs_regs *r, uint64_t *words,
			  size_t max)
{
	struct elf_prstatus st;
	if (len != sizeof st)
		return -1;
	memcpy(&st, desc, sizeof st);
	struct user_regs_struct u;
	_Static_assert(sizeof u == sizeof st.pr_reg, "pr_reg is user_regs_struct");
	memcpy(&u, &st.pr_reg, sizeof u);
	*tid = st.pr_pid;
	r->pc = u.rip;
	r->sp = u.rsp;
	r->tp = u.fs_base;
	size_t n = sizeof u / sizeof(uint64_t);
	if (n > max)
		n = max;
	memcpy(words, &u, n * sizeof(uint64_t));
	return (int)n;
}

int hs_arch_unw_word(int regnum)
{
	/* libunwind's order (DWARF's: rax rdx rcx rbx rsi rdi rbp rsp r8-r15
	 * rip) into struct user_regs_struct's */
	static const int word[] = {10, 12, 11, 5, 13, 14, 4, 19, 9, 8, 7, 6, 3, 2, 1, 0, 16};
	_Static_assert(offsetof(struct user_regs_struct, rsp) == 19 * 8, "user_regs_struct's rsp");
	_Static_assert(offsetof(struct user_regs_struct, rip) == 16 * 8, "user_regs_struct's rip");
	_Static_assert(offsetof(struct user_regs_struct, rax) == 10 * 8, "user_regs_struct's rax");
	return regnum >= 0 && regnum < (int)(sizeof word / sizeof *word) ? word[regnum] : -1;
}

int hs_arch_tcb_self_offset(void)
{
	return 0;
}

uint64_t hs_arch_tls_addr(uint64_t tp, uint64_t l_tls_offset, uint64_t var_off)
{
	return tp - l_tls_offset + var_off;
}

uint64_t hs_arch_tls_offset_from_got(uint64_t sym_plus_addend, uint64_t got_value)
{
	/* The linker stored S + A - l_tls_offset (a negative tp offset). */
	return sym_plus_addend - got_value;
}

/* Layouts measured against DWARF for 2.31, 2.36, 2.41 and 2.43 and read
 * from malloc.c/arena.c at each release tag (shared/GLIBC-FACTS.md, 5). */
int hs_arch_layout(int vmajor, int vminor, struct hs_layout *l)
{
	if (vmajor != 2 || vminor < 27 || vminor > 43)
		return -1;
	hs_layout_clear(l);
	l->size_sz = 8;
	l->align = 16;
	l->vmajor = vmajor;
	l->vminor = vminor;
	l->safe_linking = vminor >= 32;
	l->tcache_counts_down = vminor >= 42;
	l->mmap_tail = vminor >= 43 ? 16 : 0;
	l->heap_max = hs_arch.heap_max;
	l->nbins = 128;

	if (vminor <= 42) { /* 2.27 added have_fastchunks; 2.43 removed fastbins */
		l->ms_mutex = 0, l->ms_flags = 4, l->ms_have_fastchunks = 8;
		l->ms_fastbins = 0x10, l->nfastbins = 10;
		l->ms_top = 0x60, l->ms_last_remainder = 0x68, l->ms_bins = 0x70;
		l->ms_binmap = 0x860, l->ms_next = 0x870, l->ms_next_free = 0x878;
		l->ms_attached_threads = 0x880, l->ms_system_mem = 0x888;
		l->ms_max_system_mem = 0x890, l->ms_size = 0x898;
	} else {
		l->ms_mutex = 0, l->ms_flags = 4, l->nfastbins = 0;
		l->ms_top = 8, l->ms_last_remainder = 0x10, l->ms_bins = 0x18;
		l->ms_binmap = 0x808, l->ms_next = 0x818, l->ms_next_free = 0x820;
		l->ms_attached_threads = 0x828, l->ms_system_mem = 0x830;
		l->ms_max_system_mem = 0x838, l->ms_size = 0x840;
	}

	l->mp_trim_threshold = 0, l->mp_top_pad = 8, l->mp_mmap_threshold = 0x10;
	l->mp_arena_test = 0x18, l->mp_arena_max = 0x20;
	/* 2.35 added thp_pagesize, hp_pagesize and hp_flags; 2.43 a thp mode. */
	/* The four ints move by less than the words after them, which were
	 * packed right behind the ints and now need realigning. */
	int ishift = vminor >= 43 ? 0x1c : vminor >= 35 ? 0x14 : 0;
	int wshift = vminor >= 43 ? 0x20 : vminor >= 35 ? 0x18 : 0;
	if (vminor >= 35)
		l->mp_hp_pagesize = vminor >= 43 ? 0x38 : 0x30;
	l->mp_n_mmaps = 0x28 + ishift, l->mp_n_mmaps_max = 0x2c + ishift;
	l->mp_max_n_mmaps = 0x30 + ishift, l->mp_no_dyn_threshold = 0x34 + ishift;
	l->mp_mmapped_mem = 0x38 + wshift, l->mp_max_mmapped_mem = 0x40 + wshift;
	l->mp_sbrk_base = 0x48 + wshift, l->mp_tcache_bins = 0x50 + wshift;
	l->mp_tcache_max_bytes = 0x58 + wshift, l->mp_tcache_count = 0x60 + wshift;
	l->mp_tcache_unsorted_limit = 0x68 + wshift, l->mp_size = 0x70 + wshift;

	l->hi_ar_ptr = 0, l->hi_prev = 8, l->hi_hsize = 0x10, l->hi_mprotect_size = 0x18;
	l->hi_size = vminor >= 35 ? 0x30 : 0x20; /* 2.35 added pagesize and padding */

	l->tc_counts = 0;
	if (vminor >= 42) {
		l->tc_count_width = 2, l->tc_nbins = 76, l->tc_entries = 0x98, l->tc_size = 0x2f8;
	} else if (vminor >= 30) {
		l->tc_count_width = 2, l->tc_nbins = 64, l->tc_entries = 0x80, l->tc_size = 0x280;
	} else {
		l->tc_count_width = 1, l->tc_nbins = 64, l->tc_entries = 0x40, l->tc_size = 0x240;
	}
	return 0;
}
