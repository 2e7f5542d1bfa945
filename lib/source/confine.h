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
};

int hs_confine(enum hs_confine_stage stage, struct hs_err *err);

#endif
