/* arch.h - what differs between CPUs: registers, the thread pointer and
 * the TLS variant, word size and malloc alignment. One file per CPU
 * (arch/x86_64.c) implements it; the Makefile picks it from `uname -m`. */
#ifndef HS_ARCH_H
#define HS_ARCH_H

#include <stdint.h>
#include <sys/types.h>

struct hs_regs {
	uint64_t pc, sp, tp; /* program counter, stack pointer, thread pointer */
};

struct hs_arch {
	const char *name;      /* "x86_64", as JSON target.arch */
	unsigned size_sz;      /* glibc's SIZE_SZ */
	unsigned malloc_align; /* glibc's MALLOC_ALIGNMENT */
	unsigned tpoff_reloc;  /* R_*_TPOFF64: the GOT slot that gives l_tls_offset */
	unsigned irelative_reloc; /* R_*_IRELATIVE: a GOT slot the IFUNC chose for */
	uint64_t heap_max;     /* glibc's HEAP_MAX_SIZE default */
	/* The thread's control block, where the thread pointer points: the
	 * offset of the word that names the block itself (tcbhead_t.self;
	 * its first word does too), and of the thread id (struct pthread's
	 * tid, glibc 2.31 to 2.43; source/held.c checks it). */
	unsigned tcb_self, pthread_tid;
	/* The system call instruction (x86_64: syscall, 0f 05), as a thread
	 * waiting in one has it right before its program counter. */
	unsigned char syscall_insn[2];
};

extern const struct hs_arch hs_arch;

/* Reads a stopped tracee's registers. Returns 0 or -1 with errno. */
int hs_arch_getregs(pid_t tid, struct hs_regs *r);

/* Every general-purpose register of a stopped tracee, as words (the
 * roots of --leaks). Returns how many (at most max), or -1 with errno. */
#define HS_MAX_REG_WORDS 32
int hs_arch_getregs_all(pid_t tid, uint64_t *words, size_t max);
/* A thread of a core file, from its NT_PRSTATUS note (this CPU's struct
 * elf_prstatus): its id, registers, and every general-purpose register as
 * words (at most max). Returns how many words, or -1 when desc is not
 * this CPU's prstatus. */
int hs_arch_core_prstatus(const void *desc, size_t len, pid_t *tid, struct hs_regs *r, uint64_t *words,
			  size_t max);
/* Where libunwind's register regnum (UNW_X86_64_RAX ... RIP on x86_64)
 * is in those words, or -1 for one they do not hold: a core's threads
 * are unwound from them. */
int hs_arch_unw_word(int regnum);
/* The offset from the thread pointer of the word in which glibc keeps
 * the thread pointer itself (x86_64: tcbhead_t.tcb, 0), or -1 on a CPU
 * without one: tells a thread block that is there from one a core holds
 * as zeros. */
int hs_arch_tcb_self_offset(void);
/* Bytes below the stack pointer a leaf function may still use (the
 * x86_64 ABI's red zone): scanned as part of the stack. */
#define HS_STACK_REDZONE 128

/* Address of a libc TLS variable: its offset inside libc's TLS block
 * (from DWARF), libc's l_tls_offset and the thread pointer. */
uint64_t hs_arch_tls_addr(uint64_t tp, uint64_t l_tls_offset, uint64_t var_off);

/* l_tls_offset from one TPOFF relocation: S + A and the value the dynamic
 * linker wrote into the GOT slot. */
uint64_t hs_arch_tls_offset_from_got(uint64_t sym_plus_addend, uint64_t got_value);

struct hs_layout;
/* The built-in structure layout of glibc vmajor.vminor on this CPU, for
 * the path without debug symbols and for tests. Returns -1 for a version
 * outside the tables (never a guess). TLS offsets are left unset. */
int hs_arch_layout(int vmajor, int vminor, struct hs_layout *l);

#endif
