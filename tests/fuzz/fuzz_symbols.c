/* fuzz_symbols.c - libFuzzer target over the symbols stage: the files a
 * target controls on disk (its libc, libc's debug file) mutated, read by
 * hs_symbols_load_root() exactly as a live run reads a container's root
 * (hs_rootfs_file under RESOLVE_IN_ROOT, libdwfl on the descriptors, the
 * debug file by build-id and .gnu_debuglink, its DWARF, libc's symbol
 * tables, relocations and TLS segment, the symbol-free path's scan), and
 * then the arenas reader on the layout they gave. Nothing may crash, hang
 * or grow without bound; a file it cannot use must come out as an error
 * or as the symbol-free path.
 *
 * Why the input is a list of patches, not the files themselves. A libc is
 * 2 MiB and its debug file 10 MiB once decompressed: as libFuzzer inputs,
 * every mutation would copy megabytes and almost every one would land in
 * .text, .eh_frame or DWARF of other compilation units, which the stage
 * never reads. So the real files of every glibc of the matrix (2.31,
 * 2.36 the host's, 2.41, 2.43; tests/fuzz/symbols-bases.sh copies them,
 * the debug files with their sections decompressed so that mutations
 * reach DWARF rather than zlib; inflating a compressed one also took
 * libelf 1.6 s a run here, most of a run's time) are written once into
 * a root per version under /tmp, and an input says what to change in
 * them:
 *
 *   byte 0   which base (modulo their number)
 *   byte 1   flags: 1 --no-debuginfo (the symbol-free path), 2 the debug
 *            directory also given as the host's (HS_DEBUGINFO_PATH-like),
 *            4 libc mapped under another name (found by its banner),
 *            8 libc is also the executable (the static-program path)
 *   then records of 6 + len bytes: sel, len (0-63), off (u32, LE), bytes.
 *            sel bit 7: libc (0) or the debug file (1); sel & 0x7f picks
 *            one of the file's regions the stage reads (ELF header and
 *            program headers, section headers, .dynsym, .dynstr, hash
 *            tables, relocations, .dynamic, .data, .tdata, the build-id
 *            note, .gnu_debuglink, the banner, .symtab, .strtab, the
 *            string tables, .debug_aranges, .debug_str, the malloc.c
 *            compilation unit of .debug_info and its abbreviations), or
 *            anywhere in the file, or truncates the file at off.
 *
 * A seed is two bytes (a base and flags): each real file unchanged, and
 * the mutator works on small records whose offsets fall where the
 * parsers look. After each run the patched bytes are written back, so a
 * run costs what the stage costs, not a copy of the files. libdw and
 * libelf are the system's (not instrumented for coverage or ASan: a fault
 * in them still shows as a crash); the coverage that guides is this
 * repository's code.
 *
 * FZ_SYMBOLS_BASES names the bases' directory (build/fuzz/symbols-bases). */
#include <dirent.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glibc/arenas.h"
#include "glibc/symbols.h"
#include "source/image.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define LIBC_AT 0x7f0000000000ull
#define LIBC_DIR "/usr/lib/x86_64-linux-gnu"
#define MAX_BASES 8
#define MAX_REGIONS 40

struct region {
	size_t off, len;
};

struct file {
	char path[PATH_MAX];
	unsigned char *pristine;
	size_t size;
	struct region r[MAX_REGIONS];
	size_t nr;
};

struct base {
	char root[PATH_MAX];   /* its root directory */
	char debugdir[PATH_MAX]; /* ROOT/usr/lib/debug, for flag 2 */
	int rootfd;
	struct file f[2];      /* libc, debug file (f[1].size 0 when none) */
	struct hs_image im[2]; /* libc mapped as libc.so.6, and as libfoo.so */
};

static struct base bases[MAX_BASES];
static size_t nbases;
static char top[PATH_MAX];
static bool verbose;

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static unsigned char *slurp(const char *path, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	unsigned char *b = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (b && got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n <= 0)
			die(path);
		got += (size_t)n;
	}
	close(fd);
	*size = got;
	return b;
}

static void spit(const char *path, const unsigned char *b, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, b, size) != (ssize_t)size || close(fd) < 0)
		die(path);
}

static void mkdirs(const char *path)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

static void add_region(struct file *f, size_t off, size_t len)
{
	if (f->nr < MAX_REGIONS && len && off < f->size)
		f->r[f->nr++] = (struct region){off, off + len <= f->size ? len : f->size - off};
}

/* The parts of an ELF file the stage reads, from its pristine bytes. */
static void regions(struct file *f, const unsigned char **build_id, size_t *idlen)
{
	static const char *const wanted[] = {
		".note.gnu.build-id", ".dynsym", ".dynstr", ".hash", ".gnu.hash", ".gnu.version",
		".gnu.version_d", ".rela.dyn", ".rela.plt", ".dynamic", ".data", ".tdata",
		".gnu_debuglink", ".shstrtab", ".symtab", ".strtab", ".debug_aranges", ".debug_str",
		".debug_line_str", ".gnu_debugdata", ".debug_rnglists",
	};
	Elf *elf = elf_memory((char *)f->pristine, f->size);
	GElf_Ehdr eh;
	size_t shstrndx;
	if (!elf || !gelf_getehdr(elf, &eh) || elf_getshdrstrndx(elf, &shstrndx) != 0) {
		fprintf(stderr, "fuzz_symbols: %s is not an ELF file\n", f->path);
		exit(2);
	}
	add_region(f, 0, eh.e_phoff + (size_t)eh.e_phnum * eh.e_phentsize);
	add_region(f, eh.e_shoff, (size_t)eh.e_shnum * eh.e_shentsize);
	Elf_Scn *scn = NULL;
	size_t info_off = 0, info_len = 0, abbrev_off = 0, abbrev_len = 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		for (size_t i = 0; i < sizeof wanted / sizeof *wanted; i++)
			if (strcmp(name, wanted[i]) == 0)
				add_region(f, sh.sh_offset, sh.sh_size);
		if (strcmp(name, ".debug_info") == 0)
			info_off = sh.sh_offset, info_len = sh.sh_size;
		if (strcmp(name, ".debug_abbrev") == 0)
			abbrev_off = sh.sh_offset, abbrev_len = sh.sh_size;
	}
	/* The one compilation unit read_dwarf() walks: malloc.c's, and its
	 * abbreviations (a whole compressed section when it cannot be told). */
	Dwarf *dw = info_len ? dwarf_begin_elf(elf, DWARF_C_READ, NULL) : NULL;
	Dwarf_Off off = 0, next;
	size_t hsize;
	Dwarf_Off aoff;
	bool found = false;
	while (dw && !found && dwarf_nextcu(dw, off, &next, &hsize, &aoff, NULL, NULL) == 0) {
		Dwarf_Die die;
		const char *name = dwarf_offdie(dw, off + hsize, &die) ? dwarf_diename(&die) : NULL;
		size_t n = name ? strlen(name) : 0;
		if (n >= 8 && strcmp(name + n - 8, "malloc.c") == 0) {
			add_region(f, info_off + off, next - off);
			add_region(f, abbrev_off + aoff, abbrev_len - aoff < 16384 ? abbrev_len - aoff : 16384);
			found = true;
		}
		off = next;
	}
	if (info_len && !found) {
		add_region(f, info_off, info_len);
		add_region(f, abbrev_off, abbrev_len);
	}
	if (dw)
		dwarf_end(dw);
	/* glibc's banner ("GNU C Library ... release version 2.36"). */
	const unsigned char *b = memmem(f->pristine, f->size, "GNU C Library", 13);
	if (b)
		add_region(f, (size_t)(b - f->pristine), 160);
	if (build_id) {
		const void *id;
		ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
		*build_id = n > 0 ? id : NULL;
		*idlen = n > 0 ? (size_t)n : 0;
	}
	/* build_id points into f->pristine, which outlives elf */
	elf_end(elf);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void add_base(const char *dir, const char *name)
{
	struct base *B = &bases[nbases];
	char src[PATH_MAX * 2];
	snprintf(src, sizeof src, "%s/%s/libc.so.6", dir, name);
	struct file *libc = &B->f[0], *dbg = &B->f[1];
	if (!(libc->pristine = slurp(src, &libc->size)))
		return; /* not a base */
	snprintf(B->root, sizeof B->root, "%s/%s", top, name);
	char d[PATH_MAX * 2];
	snprintf(d, sizeof d, "%s" LIBC_DIR, B->root);
	mkdirs(d);
	snprintf(libc->path, sizeof libc->path, "%s/libc.so.6", d);
	spit(libc->path, libc->pristine, libc->size);
	snprintf(d, sizeof d, "%s" LIBC_DIR "/libfoo.so", B->root);
	if (symlink("libc.so.6", d) < 0)
		die(d);
	const unsigned char *id;
	size_t idlen;
	regions(libc, &id, &idlen);

	snprintf(src, sizeof src, "%s/%s/libc.debug", dir, name);
	snprintf(B->debugdir, sizeof B->debugdir, "%s/usr/lib/debug", B->root);
	if (id && idlen >= 2 && (dbg->pristine = slurp(src, &dbg->size))) {
		int k = snprintf(d, sizeof d, "%s/.build-id/%02x", B->debugdir, id[0]);
		mkdirs(d);
		k += snprintf(d + k, sizeof d - (size_t)k, "/");
		for (size_t i = 1; i < idlen; i++)
			k += snprintf(d + k, sizeof d - (size_t)k, "%02x", id[i]);
		snprintf(d + k, sizeof d - (size_t)k, ".debug");
		snprintf(dbg->path, sizeof dbg->path, "%s", d);
		spit(dbg->path, dbg->pristine, dbg->size);
		regions(dbg, NULL, NULL);
	}
	B->rootfd = open(B->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (B->rootfd < 0)
		die(B->root);
	/* libc's bytes as the process would map them (the data segment a
	 * page further on in a real process: close enough for the GOT
	 * reads, which only need something to read). */
	static const char *const as[] = {LIBC_DIR "/libc.so.6", LIBC_DIR "/libfoo.so"};
	for (int i = 0; i < 2; i++) {
		hs_image_init(&B->im[i]);
		size_t len = (libc->size + 0xffff) & ~(size_t)0xffff;
		memcpy(hs_image_add(&B->im[i], LIBC_AT, len, as[i]), libc->pristine, libc->size);
	}
	fprintf(stderr, "fuzz_symbols: base %zu: %s (%zu regions), debug %s (%zu regions)\n", nbases, libc->path,
		libc->nr, dbg->size ? dbg->path : "none", dbg->nr);
	nbases++;
}

static void cleanup(void)
{
	char cmd[PATH_MAX + 32];
	if (top[0] && strncmp(top, "/tmp/", 5) == 0) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
		if (system(cmd) != 0)
			fprintf(stderr, "fuzz_symbols: could not remove %s\n", top);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	elf_version(EV_CURRENT);
	verbose = getenv("FZ_SYMBOLS_VERBOSE") != NULL;
	unsetenv("DEBUGINFOD_URLS"); /* no network, no host cache */
	const char *dir = getenv("FZ_SYMBOLS_BASES");
	dir = dir ? dir : "build/fuzz/symbols-bases";
	snprintf(top, sizeof top, "/tmp/fuzz-symbols.XXXXXX");
	if (!mkdtemp(top))
		die("mkdtemp");
	atexit(cleanup);
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, by_name);
	if (n < 0)
		die(dir);
	for (int i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.' && nbases < MAX_BASES)
			add_base(dir, ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	if (!nbases) {
		fprintf(stderr, "fuzz_symbols: no libc in %s (tests/fuzz/symbols-bases.sh)\n", dir);
		exit(2);
	}
	return 0;
}

struct patch {
	struct file *f;
	size_t off, len;
	bool truncated;
};

static void put_back(const struct patch *p)
{
	int fd = open(p->f->path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die(p->f->path);
	if (p->truncated && ftruncate(fd, (off_t)p->f->size) < 0)
		die("ftruncate");
	if (pwrite(fd, p->f->pristine + p->off, p->len, (off_t)p->off) != (ssize_t)p->len)
		die("pwrite");
	close(fd);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 2)
		return -1;
	struct base *B = &bases[data[0] % nbases];
	unsigned flags = data[1];
	struct patch done[64];
	size_t np = 0;
	for (size_t i = 2; i + 6 <= size && np < 64;) {
		unsigned sel = data[i], len = data[i + 1] % 64;
		size_t off = (size_t)data[i + 2] | (size_t)data[i + 3] << 8 | (size_t)data[i + 4] << 16 |
			     (size_t)data[i + 5] << 24;
		i += 6;
		len = i + len <= size ? len : (unsigned)(size - i);
		struct file *f = &B->f[sel >> 7];
		if (!f->size) {
			i += len;
			continue;
		}
		size_t k = (sel & 0x7f) % (f->nr + 2);
		struct patch p = {.f = f};
		if (k == f->nr + 1) { /* truncate */
			p.off = off % f->size;
			p.len = f->size - p.off;
			p.truncated = true;
			if (truncate(f->path, (off_t)p.off) < 0)
				die("truncate");
		} else {
			size_t start = k < f->nr ? f->r[k].off + off % f->r[k].len : off % f->size;
			size_t end = k < f->nr ? f->r[k].off + f->r[k].len : f->size;
			p.off = start;
			p.len = len < end - start ? len : end - start;
			int fd = open(f->path, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || pwrite(fd, data + i, p.len, (off_t)p.off) != (ssize_t)p.len)
				die(f->path);
			close(fd);
		}
		i += len;
		done[np++] = p;
	}

	struct hs_image *im = &B->im[flags & 4 ? 1 : 0];
	struct hs_symbols_opts o = {.no_debuginfo = flags & 1};
	struct hs_symbols s;
	struct hs_err err = {0};
	const char *exe = flags & 8 ? im->src.maps.v[0].path : "";
	int rc = hs_symbols_load_root(&im->src, B->rootfd, exe, flags & 2 ? B->debugdir : "", &o, &s, &err);
	if (verbose) /* what a run made of it (FZ_SYMBOLS_VERBOSE=1, replaying a corpus) */
		fprintf(stderr, "fuzz_symbols: %s flags %u, %zu patches: rc %d, %s %s, main_arena %#llx: %s\n",
			B->root, flags, np, rc, s.method ? s.method : "-", s.version,
			(unsigned long long)s.main_arena, err.msg);
	/* What attach does next with what the files said: the arenas reader
	 * sizes its buffers and finds its fields by the layout the debug file
	 * gave (libc's own bytes stand for the memory). */
	if (rc == 0) {
		struct hs_heap h;
		struct hs_warnings w = {0};
		struct hs_err e2 = {0};
		struct hs_task task = {.tid = 1, .attached = true, .regs = {.tp = LIBC_AT + 0x1000}};
		memset(&h, 0, sizeof h);
		hs_arenas_read(&im->src, &s, &task, 1, &h, &w, &e2);
		hs_heap_free(&h);
		hs_warnings_free(&w);
	}
	/* what attach asks of the symbols afterwards, on a few addresses */
	static const uint64_t pcs[] = {LIBC_AT, LIBC_AT + 0x26380, LIBC_AT + 0x9a000, 0};
	for (size_t i = 0; i < sizeof pcs / sizeof *pcs; i++) {
		const char *fn;
		hs_symbols_in_malloc(&s, pcs[i], &fn);
		hs_symbols_stack_base(&s, pcs[i]);
	}
	hs_symbols_free(&s);

	while (np)
		put_back(&done[--np]); /* last first: a truncation undone before the patches under it */
	return 0;
}
