/* core.h - an ELF core file (gdb's gcore, the kernel, coredumpctl dump)
 * served as a target's memory, through the same interface as a live
 * process.
 *
 * The core is mapped read-only by libelf (ELF_C_READ_MMAP), never copied:
 * a read is a memcpy from the mapping. Its PT_LOAD segments hold the bytes
 * the writer dumped ([p_vaddr, p_vaddr + p_filesz)); the address space and
 * the files behind it come from the NT_FILE note; the threads (tid,
 * registers, thread pointer) from the NT_PRSTATUS notes; the executable's
 * entry from NT_AUXV. A page the core does not hold (a file-backed
 * read-only page that neither gcore nor the kernel's default
 * coredump_filter dumps) is read from the file it maps, only when that
 * file is an ELF object whose build-id equals the one in the core's own
 * copy of its first page; otherwise it is absent (EFAULT), never invented.
 * Files are opened through source/rootfs.h's checks (regular files only,
 * at most HS_ROOTFS_MAX_FILE: they are parsed), under a sysroot when one
 * is given: resolved inside it as a target's root (RESOLVE_IN_ROOT: an
 * absolute link there does not lead to the host's file), and mapped
 * read-only too. */
#ifndef HS_CORE_H
#define HS_CORE_H

#include <limits.h>

#include "source/source.h"
#include "source/target.h"

struct hs_core_seg {
	uint64_t vaddr, filesz, memsz;
	const unsigned char *data; /* filesz bytes inside the core's mapping */
};

struct hs_core_file {
	char *path;                /* as the process mapped it (NT_FILE) */
	int fd;                    /* -1: not opened, or not this core's file */
	const unsigned char *map;  /* the whole file, read-only */
	size_t size;
	char build_id[41];         /* the core's (hex), "" when it holds none */
	char found_id[41];         /* the file's found here, "" when none was read */
	const char *why;           /* why fd is -1: "not found", "build-id differs", ... */
};

struct hs_core {
	struct hs_source src; /* first: the stages read through it; src.pid is 0 */
	const char *path;
	const char *sysroot;     /* NULL: the host's own files */
	int rootfd;              /* sysroot opened O_PATH | O_DIRECTORY, or -1 */
	int fd;
	void *elf;                 /* libelf's handle, owning the mapping */
	const unsigned char *image;
	size_t size;
	struct hs_core_seg *segs;  /* sorted by vaddr */
	size_t nsegs;
	struct hs_core_file *files;
	size_t nfiles;
	/* The file behind each map (src.maps.v[i]), an index into files or -1. */
	int *map_file;
	struct hs_task *tasks;     /* one per NT_PRSTATUS, by tid (as /proc/PID/task) */
	size_t ntasks;
	/* Every general-purpose register of each task, as words (--leaks' roots). */
	uint64_t (*regwords)[HS_MAX_REG_WORDS];
	int *nregwords;
	pid_t pid;                 /* the process the core was taken of */
	char exe[PATH_MAX];        /* the executable's path as the process mapped it */
	uint64_t entry;            /* AT_ENTRY */
};

/* Opens CORE. exe: the executable on this machine (the EXECUTABLE operand),
 * or NULL to use the path the core names; sysroot: a directory the core's
 * files are looked up under (a container's root), or NULL. Fails with
 * HS_EUSAGE (cannot be opened, not an ELF core, a sysroot that is not a
 * directory, an EXECUTABLE that is not the core's), HS_EUNSUPPORTED
 * (truncated, another machine's core, no notes). */
int hs_core_open(struct hs_core *c, const char *path, const char *exe, const char *sysroot, struct hs_err *err);
/* A read-only descriptor (dup'd: the caller closes it) of the file the
 * process mapped as path, when it is the very file (build-id); else -1. */
int hs_core_file_fd(const struct hs_core *c, const char *path);
/* The file record for path, or NULL when the core maps no such file. */
const struct hs_core_file *hs_core_file(const struct hs_core *c, const char *path);
void hs_core_close(struct hs_core *c);

#endif
