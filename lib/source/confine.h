/* confine.h - read-only by construction: a seccomp filter that makes the
 * calls able to change another process fail with EPERM, whatever a bug
 * elsewhere might try. Filters stack and cannot be lifted. */
#ifndef HS_CONFINE_H
#define HS_CONFINE_H

#include "base/hs.h"

enum hs_confine_stage {
	/* process_vm_writev, PTRACE_POKE*, PTRACE_SET*REGS*, PTRACE_SETSIGINFO:
	 * installed before anything of the target is read. */
	HS_CONFINE_NO_WRITES,
	/* Opening any file for writing (so no /proc/PID/mem for writing):
	 * installed once the symbols are loaded (debuginfod may write its
	 * cache before that). */
	HS_CONFINE_NO_OPEN_FOR_WRITE,
	/* Before the target's files are parsed (libelf, libdw on what its
	 * owner wrote): no new program (execve), no new process (fork, a
	 * clone without CLONE_VM), none of the calls that change the system
	 * rather than read it (mount, namespaces, chroot, modules, kexec,
	 * reboot, bpf, keyrings, swap, clocks, host names, uid or gid); and
	 * unless debuginfod is in use (DEBUGINFOD_URLS), no socket and no file
	 * opened for writing or created. What the rest of the run needs stays
	 * (ptrace, reads, threads); openat2 stays for hs_rootfs_file()'s
	 * O_PATH walk, the only openat2 heapscope makes. And every capability
	 * the rest of the run does not use is dropped first (confine.c). */
	HS_CONFINE_PARSE,
};

int hs_confine(enum hs_confine_stage stage, struct hs_err *err);

#endif
