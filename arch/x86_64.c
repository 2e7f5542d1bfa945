/* x86_64.c - registers through PTRACE_GETREGS; TLS variant II, where a
 * module's block lies below the thread pointer (%fs base). */
#include "arch.h"

#include <elf.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/user.h>

const struct hs_arch hs_arch = {
	.name = "x86_64",
	.size_sz = 8,
	.malloc_align = 16,
	.tpoff_reloc = R_X86_64_TPOFF64,
	.heap_max = 64ull << 20, /* 2 * DEFAULT_MMAP_THRESHOLD_MAX */
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

uint64_t hs_arch_tls_addr(uint64_t tp, uint64_t l_tls_offset, uint64_t var_off)
{
	return tp - l_tls_offset + var_off;
}

uint64_t hs_arch_tls_offset_from_got(uint64_t sym_plus_addend, uint64_t got_value)
{
	/* The linker stored S + A - l_tls_offset (a negative tp offset). */
	return sym_plus_addend - got_value;
}
