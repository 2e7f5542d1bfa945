/* held.h - a process another tracer (gdb) holds stopped, read as it is.
 *
 * Every thread of such a process is in a ptrace stop of that tracer:
 * heapscope cannot trace it too, and does not need to stop it. What
 * PTRACE_GETREGS would give is found without ptrace: the program counter
 * and stack pointer from /proc/PID/task/TID/syscall (the kernel gives
 * them for a thread that is not running), the thread pointer from the
 * thread's control block, which names itself (x86_64's tcbhead_t: tcb and
 * self, at the thread pointer) and holds its thread id (struct pthread's
 * tid). */
#ifndef HS_HELD_H
#define HS_HELD_H

#include "arch.h"
#include "source/maps.h"
#include "source/source.h"

/* The program counter and stack pointer in the text of
 * /proc/PID/task/TID/syscall ("NR ARGS... SP PC", or "-1 SP PC"); false
 * for "running" or anything else. r->tp is left as it is. */
bool hs_held_pc_sp(const char *text, struct hs_regs *r);

/* Finds the thread pointer of each of n threads (tids[i], whose stack
 * pointer is sps[i]) among the control blocks in the target's private
 * anonymous memory (the top of each thread's stack mapping, and small
 * mappings: the main thread's is ld.so's), read through src (pages it has
 * only). tps[i] is 0 for a thread whose block was not found. Returns how
 * many were found. */
size_t hs_held_thread_pointers(struct hs_source *src, const struct hs_maps *maps, const pid_t *tids,
			       const uint64_t *sps, size_t n, uint64_t *tps);

#endif
