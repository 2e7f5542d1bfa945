/* symbols.c - libdwfl on the target's own files: libc, its debug file,
 * the allocator's globals, struct layouts and TLS offsets. */
#include "glibc/symbols.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "glibc/locate.h"
#include "source/rootfs.h"

/* debuginfod, as libdwfl itself uses it: libdebuginfod.so.1 loaded at run
 * time (elfutils ships no header for it here), only with DEBUGINFOD_URLS.
 * What it returns is a file of its cache on the host. */
static int debuginfod_find(const unsigned char *id, int idlen, char **shown)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (!urls || !*urls)
		return -1;
	static void *lib;
	if (!lib)
		lib = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return -1;
	void *(*begin)(void) = (void *(*)(void))dlsym(lib, "debuginfod_begin");
	int (*find)(void *, const unsigned char *, int, char **) =
		(int (*)(void *, const unsigned char *, int, char **))dlsym(lib, "debuginfod_find_debuginfo");
	void (*end)(void *) = (void (*)(void *))dlsym(lib, "debuginfod_end");
	void *client = begin && find && end ? begin() : NULL;
	if (!client)
		return -1;
	char *path = NULL;
	hs_rootfs_reading("debuginfod");
	int fd = find(client, id, idlen, &path);
	end(client);
	if (fd < 0) {
		free(path);
		return -1;
	}
	close(fd);
	/* its cache, through the same checks as any other file */
	const char *why;
	fd = path ? hs_rootfs_file(HS_ROOTFS_HOST, path, HS_ROOTFS_MAX_FILE, &why) : -1;
	if (fd >= 0)
		*shown = path;
	else
		free(path);
	return fd;
}

/* dwfl keeps a pointer to the callbacks and to the path string; every
 * module's userdata points here too, for find_debuginfo. */
struct dw_ctx {
	Dwfl_Callbacks cb;
	char *path;  /* the host's debug directories, ':' between them */
	int root;    /* /proc/PID/root (hs_rootfs_open), -1 if it cannot be opened */
	pid_t pid;
	const struct hs_core *core; /* a core's files instead of a process's */
	bool no_debuginfo;
};

/* Every file of the target is opened by hs_rootfs_file(): inside its root,
 * regular files only, never blocking (source/rootfs.h). */
static int open_target_file(const struct dw_ctx *ctx, const struct hs_map *m, char *name, size_t size)
{
	const char *why = NULL;
	if (ctx->core) { /* only the very file the process mapped (build-id) */
		snprintf(name, size, "%s%s", ctx->core->sysroot ? ctx->core->sysroot : "", m->path);
		return hs_core_file_fd(ctx->core, m->path);
	}
	if (m->path[0] == '/' && !strstr(m->path, " (deleted)") && ctx->root >= 0) {
		snprintf(name, size, "/proc/%d/root%s", (int)ctx->pid, m->path);
		int fd = hs_rootfs_file(ctx->root, m->path, HS_ROOTFS_MAX_FILE, &why);
		if (fd >= 0)
			return hs_rootfs_snapshot(fd, &why);
	}
	/* A file replaced on disk (an upgraded libc) or in another mount
	 * namespace: the kernel still holds the mapped one (a link heapscope
	 * chose, to the very inode mapped; still a regular file only). */
	snprintf(name, size, "/proc/%d/map_files/%llx-%llx", (int)ctx->pid, (unsigned long long)m->start,
		 (unsigned long long)m->end);
	int fd = hs_rootfs_file(HS_ROOTFS_HOST, name, HS_ROOTFS_MAX_FILE, &why);
	return fd >= 0 ? hs_rootfs_snapshot(fd, &why) : -1;
}

/* A candidate debug file: a regular file (hs_rootfs_file) whose build-id
 * is the module's. A file of the target's root that names another build-id,
 * or none, is not its debug file, whatever its name. Returns its fd. */
/* Whether the ELF file open at fd has the GNU build-id id. */
static bool same_build_id(int fd, const unsigned char *id, int idlen)
{
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	const void *have = NULL;
	ssize_t n = elf ? dwelf_elf_gnu_build_id(elf, &have) : -1;
	bool same = n == idlen && have && memcmp(have, id, (size_t)idlen) == 0;
	if (elf)
		elf_end(elf);
	return same;
}

static int try_debug_file(const struct dw_ctx *ctx, int root, const char *path, const unsigned char *id,
			  int idlen, char **shown)
{
	if (hs_rootfs_expired())
		return -1; /* the clock is past its bound: no new file */
	const char *why;
	int fd = hs_rootfs_file(root, path, HS_ROOTFS_MAX_FILE, &why);
	if (fd < 0)
		return -1;
	/* The target's: checked, then copied (only a match: the copy is up to
	 * 256 MiB of memory), then checked and parsed as copied. */
	if (root != HS_ROOTFS_HOST) {
		if (!same_build_id(fd, id, idlen)) {
			close(fd);
			return -1;
		}
		if ((fd = hs_rootfs_snapshot(fd, &why)) < 0)
			return -1;
	}
	if (!same_build_id(fd, id, idlen)) {
		close(fd);
		return -1;
	}
	char name[PATH_MAX + 64];
	if (root == HS_ROOTFS_HOST)
		snprintf(name, sizeof name, "%s", path);
	else
		snprintf(name, sizeof name, "/proc/%d/root%s", (int)ctx->pid, path);
	*shown = hs_xstrdup(name);
	return fd;
}

/* libdwfl's own search (dwfl_standard_find_debuginfo) opens what it finds
 * with open(2): a FIFO there blocks it for ever, and a link in the
 * target's root resolves against the host's. This one looks, in order,
 * by build-id in the host's debug directories (HS_DEBUGINFO_PATH, then
 * /usr/lib/debug), by build-id in the target's /usr/lib/debug, by
 * .gnu_debuglink beside the module and in its .debug/ and
 * /usr/lib/debug/DIR/ (the host's, then the target's), and last asks
 * debuginfod (DEBUGINFOD_URLS). Every candidate must carry the module's
 * build-id: a module without one gets no debug file. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			  char **debuginfo_file_name)
{
	(void)base, (void)file_name, (void)debuglink_crc;
	/* libdwfl asks again when the file it was given did not open as a
	 * debug file, and keeps the name of the first answer there: ours,
	 * freed by nobody else until the module goes (a leak, found by
	 * fuzz_symbols), and a name left with no fd is one libdwfl would
	 * open(2) itself, by path, links and all. Dropped first. */
	if (debuginfo_file_name) {
		free(*debuginfo_file_name);
		*debuginfo_file_name = NULL;
	}
	const struct dw_ctx *ctx = userdata ? *userdata : NULL;
	const unsigned char *id = NULL;
	GElf_Addr idaddr;
	int idlen = dwfl_module_build_id(mod, &id, &idaddr);
	errno = ENOENT;
	if (!ctx || ctx->no_debuginfo || idlen < 2 || !id)
		return -1;
	char rel[2 * 64 + 32];
	int k = snprintf(rel, sizeof rel, ".build-id/%02x/", id[0]);
	for (int i = 1; i < idlen && i < 64; i++)
		k += snprintf(rel + k, sizeof rel - (size_t)k, "%02x", id[i]);
	snprintf(rel + k, sizeof rel - (size_t)k, ".debug");

	/* the module's directory as the target sees it */
	char dir[PATH_MAX] = "";
	if (modname && modname[0] == '/') {
		snprintf(dir, sizeof dir, "%s", modname);
		*strrchr(dir, '/') = 0;
	}
	bool link_ok = debuglink_file && *debuglink_file && !strchr(debuglink_file, '/') &&
		       strcmp(debuglink_file, "..") != 0 && strcmp(debuglink_file, ".") != 0;
	char path[2 * PATH_MAX + 256];
	int fd = -1;
	for (int pass = 0; pass < 2 && fd < 0; pass++) {
		/* pass 0: by build-id; pass 1: by .gnu_debuglink */
		if (pass == 1 && !link_ok)
			break;
		for (const char *d = ctx->path; d && *d && fd < 0;) {
			size_t len = strcspn(d, ":");
			if (len && d[0] == '/') {
				if (pass == 0)
					snprintf(path, sizeof path, "%.*s/%s", (int)len, d, rel);
				else
					snprintf(path, sizeof path, "%.*s%s/%s", (int)len, d, dir, debuglink_file);
				fd = try_debug_file(ctx, HS_ROOTFS_HOST, path, id, idlen, debuginfo_file_name);
			}
			d += len + (d[len] == ':');
		}
		if (ctx->root < 0)
			continue;
		if (pass == 0 && fd < 0) {
			snprintf(path, sizeof path, "/usr/lib/debug/%s", rel);
			fd = try_debug_file(ctx, ctx->root, path, id, idlen, debuginfo_file_name);
		}
		if (pass == 1 && dir[0]) {
			static const char *const where[] = {"%s/%s", "%s/.debug/%s", "/usr/lib/debug%s/%s"};
			for (size_t i = 0; i < HS_ARRAY_SIZE(where) && fd < 0; i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
				snprintf(path, sizeof path, where[i], dir, debuglink_file);
#pragma GCC diagnostic pop
				fd = try_debug_file(ctx, ctx->root, path, id, idlen, debuginfo_file_name);
			}
		}
	}
	if (fd < 0 && !hs_rootfs_expired())
		fd = debuginfod_find(id, idlen, debuginfo_file_name);
	errno = fd < 0 ? ENOENT : 0;
	return fd;
}

/* Modules are reported with the file descriptors heapscope opened:
 * libdwfl must look for no file of its own. */
static int find_no_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		       char **file_name, Elf **elfp)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name, (void)elfp;
	errno = ENOENT;
	return -1;
}

static uint64_t symbol_address(Dwfl_Module *mod, const char *want, int type);

/* A program proper (not ld.so run as a command, which in 2.31 and older
 * exports a malloc of its own that nothing uses after start-up). */
static bool has_interp(Dwfl_Module *mod)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	size_t n = 0;
	if (!elf || elf_getphdrnum(elf, &n) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_INTERP)
			return true;
	}
	return false;
}

/* Allocators that replace glibc's malloc when preloaded or linked (when
 * their malloc is the one bound). Another library whose malloc is bound
 * is not refused: most are wrappers that hand the call on to glibc's
 * (heaptrack, memusage, tracing preloads), whose heap is then the one in
 * use. */
static const struct {
	const char *file, *name, *version_key;
} other_allocators[] = {
	{"libjemalloc", "jemalloc", NULL},
	{"libtcmalloc", "tcmalloc", "gperftools "},
	{"libmimalloc", "mimalloc", NULL},
	{"libsnmalloc", "snmalloc", NULL},
	{"librpmalloc", "rpmalloc", NULL},
	{"libhoard", "Hoard", NULL},
	{"libasan", "AddressSanitizer's allocator", NULL},
	{"libtbbmalloc_proxy", "oneTBB's scalable allocator", NULL},
	{"libscudo", "Scudo", NULL},
	{"libhardened_malloc", "hardened_malloc", NULL},
	{"libefence", "Electric Fence", NULL},
	{"libumem", "umem", NULL},
};

/* jemalloc keeps "5.3.0-0-g<sha>" in its rodata; gperftools "gperftools 2.10". */
static void allocator_version(Elf *elf, const char *key, char *out, size_t size)
{
	size_t n = 0;
	const char *raw = elf ? elf_rawfile(elf, &n) : NULL;
	if (!raw)
		return;
	if (key) {
		const char *p = memmem(raw, n, key, strlen(key));
		if (p)
			snprintf(out, size, " %.*s", (int)strcspn(p + strlen(key), "\n\0 "), p + strlen(key));
		return;
	}
	for (const char *p = raw; p + 48 < raw + n; p++) {
		p = memmem(p, (size_t)(raw + n - p), "-0-g", 4);
		if (!p)
			return;
		const char *v = p;
		while (v > raw && ((v[-1] >= '0' && v[-1] <= '9') || v[-1] == '.'))
			v--;
		if (v < p && strspn(p + 4, "0123456789abcdef") == 40) {
			snprintf(out, size, " %.*s", (int)(p - v), v);
			return;
		}
	}
}

static bool is_libc_name(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	return strncmp(b, "libc.so", 7) == 0 || (strncmp(b, "libc-2.", 7) == 0);
}

/* A libc under another file name (some images rename or relink it): any
 * shared object that carries glibc's banner. */
static int find_renamed_libc(Dwfl_Module *m, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
	(void)userdata, (void)name, (void)start;
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(m, &bias);
	size_t n = 0;
	const char *raw = elf ? elf_rawfile(elf, &n) : NULL;
	static const char banner[] = "GNU C Library";
	GElf_Ehdr eh;
	if (raw && gelf_getehdr(elf, &eh) && eh.e_type == ET_DYN && memmem(raw, n, banner, sizeof banner - 1) &&
	    memmem(raw, n, "release version ", 16)) {
		*(Dwfl_Module **)arg = m;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

/* --no-debuginfo: libdwfl must not even use a debug file's .symtab. */
static int find_no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			     const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			     char **debuginfo_file_name)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
	(void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
	return -1;
}

/* Reports every file the target maps, each at the address of its first
 * mapping (offset 0). Returns libc's module, or NULL. */
static Dwfl_Module *report_modules(Dwfl *dwfl, struct dw_ctx *ctx, const struct hs_maps *maps, const char *exe,
				   char *libc, size_t libc_size, Dwfl_Module **exe_mod)
{
	Dwfl_Module *libc_mod = NULL;
	dwfl_report_begin(dwfl);
	for (size_t i = 0; i < maps->n; i++) {
		const struct hs_map *m = &maps->v[i];
		if (m->path[0] != '/' || m->offset != 0)
			continue;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = maps->v[j].offset == 0 && strcmp(maps->v[j].path, m->path) == 0;
		if (seen)
			continue;
		if (hs_rootfs_expired())
			break; /* the clock is past its bound: no new file */
		char file[PATH_MAX + 64];
		int fd = open_target_file(ctx, m, file, sizeof file);
		if (fd < 0)
			continue;
		Dwfl_Module *mod = dwfl_report_elf(dwfl, m->path, file, fd, m->start, false);
		if (!mod) {
			close(fd);
			continue;
		}
		void **userdata = NULL;
		dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
		if (userdata)
			*userdata = ctx;
		if (!libc_mod && is_libc_name(m->path)) {
			libc_mod = mod;
			snprintf(libc, libc_size, "%s", m->path);
		}
		if (!*exe_mod && strcmp(m->path, exe) == 0)
			*exe_mod = mod;
	}
	dwfl_report_end(dwfl, NULL, NULL);
	return libc_mod;
}

/* What the messages call the target: "pid 42", or "core FILE". */
static const char *target_name(const struct hs_source *src, const struct hs_symbols_opts *o, char *buf, size_t size)
{
	if (o->core)
		snprintf(buf, size, "core %s", o->core->path);
	else
		snprintf(buf, size, "pid %d", (int)src->pid);
	return buf;
}

/* A core whose libc is not on this machine (nor under --sysroot), and
 * whose pages the core does not hold: what is missing, and how to give it. */
static bool core_libc_missing(const struct hs_core *core, struct hs_err *err)
{
	for (size_t i = 0; i < core->nfiles; i++) {
		const struct hs_core_file *f = &core->files[i];
		if (!is_libc_name(f->path) || f->fd >= 0)
			continue;
		hs_fail(err, HS_EUNSUPPORTED,
			"core %s: its libc %s (build-id %s) is %s%s%s, and the core does not hold its pages: give the root it ran in with --sysroot DIR, or read the core where that libc is installed",
			core->path, f->path, f->build_id[0] ? f->build_id : "unknown", f->why,
			core->sysroot ? " under " : "", core->sysroot ? core->sysroot : "");
		return true;
	}
	return false;
}

static int version_from_banner(Elf *elf, struct hs_symbols *s)
{
	size_t n = 0;
	const char *raw = elf_rawfile(elf, &n);
	static const char key[] = "release version ";
	const char *p = raw ? memmem(raw, n, key, sizeof key - 1) : NULL;
	if (!p)
		return -1;
	p += sizeof key - 1;
	size_t i = 0;
	while (i + 1 < sizeof s->version && p + i < raw + n && (p[i] == '.' || (p[i] >= '0' && p[i] <= '9')))
		i++;
	while (i > 0 && p[i - 1] == '.')
		i--;
	memcpy(s->version, p, i);
	s->version[i] = 0;
	if (sscanf(s->version, "%d.%d", &s->layout.vmajor, &s->layout.vminor) != 2)
		return -1;
	return 0;
}

/* A static executable has no banner; since 2.34 its .symtab still names
 * __nptl_version, the version string. */
static int version_from_symbol(Dwfl_Module *mod, struct hs_source *src, struct hs_symbols *s)
{
	int n = dwfl_module_getsymtab(mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		if (!name || strcmp(name, "__nptl_version") != 0)
			continue;
		char v[16] = "";
		if (hs_read(src, addr, v, sizeof v - 1) < 0)
			return -1;
		v[sizeof v - 1] = 0;
		if (sscanf(v, "%d.%d", &s->layout.vmajor, &s->layout.vminor) != 2)
			return -1;
		snprintf(s->version, sizeof s->version, "%d.%d", s->layout.vmajor, s->layout.vminor);
		return 0;
	}
	return -1;
}

/* l_tls_offset from a TPOFF relocation against libc's own TLS block: the
 * dynamic linker stored S + A - l_tls_offset in the GOT slot. */
static int tls_offset_from_got(Elf *elf, GElf_Addr bias, struct hs_source *src, struct hs_symbols *s)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || sh.sh_entsize == 0)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		Elf_Data *symd = NULL;
		Elf_Scn *syms = elf_getscn(elf, sh.sh_link);
		if (syms)
			symd = elf_getdata(syms, NULL);
		size_t n = d ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; i < n; i++) {
			GElf_Rela r;
			if (!gelf_getrela(d, (int)i, &r) || GELF_R_TYPE(r.r_info) != hs_arch.tpoff_reloc)
				continue;
			uint64_t sym_value = 0;
			size_t si = GELF_R_SYM(r.r_info);
			if (si) {
				GElf_Sym sym;
				if (!symd || !gelf_getsym(symd, (int)si, &sym) || sym.st_shndx == SHN_UNDEF)
					continue; /* another module's TLS */
				sym_value = sym.st_value;
			}
			uint64_t got;
			if (hs_read_u64(src, bias + r.r_offset, &got) < 0)
				continue;
			s->l_tls_offset = hs_arch_tls_offset_from_got(sym_value + (uint64_t)r.r_addend, got);
			s->have_tls = true;
			return 0;
		}
	}
	return -1;
}

/* libc has some 40 IRELATIVE slots; a hostile file is not followed
 * further. */
#define HS_MAX_IFUNCS 4096

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* libc's IFUNC targets: the values of its R_*_IRELATIVE GOT slots, as
 * the dynamic linker filled them at start-up (read-only since: RELRO). */
static void ifunc_targets(Elf *elf, GElf_Addr bias, struct hs_source *src, struct hs_symbols *s)
{
	Elf_Scn *scn = NULL;
	size_t cap = 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || sh.sh_entsize == 0)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t n = d ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; i < n && s->nifuncs < HS_MAX_IFUNCS; i++) {
			GElf_Rela r;
			uint64_t got;
			if (!gelf_getrela(d, (int)i, &r) || GELF_R_TYPE(r.r_info) != hs_arch.irelative_reloc ||
			    hs_read_u64(src, bias + r.r_offset, &got) < 0 || !got)
				continue;
			if (s->nifuncs == cap)
				s->ifuncs = hs_xrealloc(s->ifuncs, cap = cap ? 2 * cap : 64, sizeof *s->ifuncs);
			s->ifuncs[s->nifuncs++] = got;
		}
	}
	if (s->nifuncs)
		qsort(s->ifuncs, s->nifuncs, sizeof *s->ifuncs, cmp_u64);
}

/* want, or want with a version ("malloc@GLIBC_2.2.5"): .symtab names a
 * versioned dynamic symbol so, .dynsym names it plainly. */
static bool sym_is(const char *name, const char *want)
{
	size_t n = strlen(want);
	return name && strncmp(name, want, n) == 0 && (name[n] == 0 || name[n] == '@');
}

/* One symbol-table entry, as the predicates below judge it. */
struct sym_entry {
	GElf_Sym sym;
	GElf_Addr addr;   /* relocated value */
	GElf_Word shndx;  /* SHN_UNDEF when the module only refers to it */
	Dwarf_Addr bias;
};

/* The address that ok() gives the first entry named `want` it takes, or
 * 0: one walk of the module's symbol table for every question below. */
static uint64_t find_symbol(Dwfl_Module *mod, const char *want, uint64_t (*ok)(const struct sym_entry *, int),
			    int arg)
{
	int n = dwfl_module_getsymtab(mod);
	for (int i = 1; i < n; i++) {
		struct sym_entry e = {.shndx = SHN_UNDEF};
		const char *name = dwfl_module_getsym_info(mod, i, &e.sym, &e.addr, &e.shndx, NULL, &e.bias);
		uint64_t v;
		if (sym_is(name, want) && (v = ok(&e, arg)))
			return v;
	}
	return 0;
}

static uint64_t defined_of_type(const struct sym_entry *e, int type)
{
	return GELF_ST_TYPE(e->sym.st_info) == type && e->shndx != SHN_UNDEF ? e->addr : 0;
}

/* The address of a symbol the module defines, or 0. An undefined symbol
 * is a reference, never a definition, whatever value it carries: a non-PIE
 * executable that takes a function's address gives the undefined symbol
 * the address of its own PLT entry (the "canonical PLT"), st_value != 0
 * with st_shndx == SHN_UNDEF. */
static uint64_t symbol_address(Dwfl_Module *mod, const char *want, int type)
{
	return find_symbol(mod, want, defined_of_type, type);
}

/* Defined, a function, global or weak, visible: able to interpose. */
static uint64_t interposing_function(const struct sym_entry *e, int unused)
{
	(void)unused;
	int type = GELF_ST_TYPE(e->sym.st_info), bind = GELF_ST_BIND(e->sym.st_info);
	int vis = GELF_ST_VISIBILITY(e->sym.st_other);
	if (e->shndx == SHN_UNDEF || !(type == STT_FUNC || type == STT_GNU_IFUNC) ||
	    !(bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE) ||
	    !(vis == STV_DEFAULT || vis == STV_PROTECTED))
		return 0;
	return e->addr;
}

/* A function the module defines and exports, so that it can interpose on
 * another module's (glibc's malloc). */
static uint64_t exported_function(Dwfl_Module *mod, const char *want)
{
	return find_symbol(mod, want, interposing_function, 0);
}

static uint64_t plt_of_undefined(const struct sym_entry *e, int unused)
{
	(void)unused;
	return e->shndx == SHN_UNDEF && e->sym.st_value ? e->sym.st_value + e->bias : 0;
}

/* The canonical PLT address an executable gives its undefined `want`, or 0. */
static uint64_t canonical_plt(Dwfl_Module *mod, const char *want)
{
	return find_symbol(mod, want, plt_of_undefined, 0);
}

/* What the dynamic linker stored for `want` in one of the module's own
 * relocated slots (its GOT entry): the address the module's references to
 * `want` were bound to. -1 when the module has no such relocation. */
static int bound_address(Dwfl_Module *mod, const char *want, struct hs_source *src, uint64_t *out)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	Elf_Scn *scn = NULL;
	while (elf && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_RELA && sh.sh_type != SHT_REL) ||
		    sh.sh_entsize == 0)
			continue;
		Elf_Scn *syms = elf_getscn(elf, sh.sh_link);
		GElf_Shdr symsh;
		Elf_Data *d = elf_getdata(scn, NULL), *symd = syms ? elf_getdata(syms, NULL) : NULL;
		if (!d || !symd || !gelf_getshdr(syms, &symsh))
			continue;
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Rela r = {0};
			GElf_Rel rel;
			if (sh.sh_type == SHT_RELA ? !gelf_getrela(d, (int)i, &r)
						   : !gelf_getrel(d, (int)i, &rel))
				continue;
			if (sh.sh_type == SHT_REL)
				r.r_offset = rel.r_offset, r.r_info = rel.r_info;
			GElf_Sym sym;
			size_t si = GELF_R_SYM(r.r_info);
			if (!si || r.r_addend != 0 || !gelf_getsym(symd, (int)si, &sym))
				continue;
			const char *name = elf_strptr(elf, symsh.sh_link, sym.st_name);
			if (!name || strcmp(name, want) != 0)
				continue;
			if (hs_read_u64(src, bias + r.r_offset, out) < 0)
				return -1;
			return 0;
		}
	}
	return -1;
}

/* Whose malloc the program runs, from where the dynamic linker bound
 * libc's own references to malloc (glibc calls malloc through its GOT so
 * that an interposed malloc serves libc too; the slot is a GLOB_DAT,
 * filled before any code runs). The module that defines and exports
 * malloc at that address, or NULL when the slot does not say (no such
 * relocation, a lazy slot not bound yet). A non-PIE executable that takes
 * malloc's address makes libc's slot hold its canonical PLT entry, which
 * jumps through the executable's own slot: followed once. */
static Dwfl_Module *live_malloc(Dwfl *dwfl, Dwfl_Module *libc, Dwfl_Module *exe, struct hs_source *src)
{
	uint64_t v;
	if (bound_address(libc, "malloc", src, &v) < 0)
		return NULL;
	for (int hop = 0; hop < 2; hop++) {
		Dwfl_Module *m = dwfl_addrmodule(dwfl, v);
		if (!m)
			return NULL;
		if (exported_function(m, "malloc") == v)
			return m;
		if (hop || m != exe || canonical_plt(exe, "malloc") != v ||
		    bound_address(exe, "malloc", src, &v) < 0)
			return NULL;
	}
	return NULL;
}

static const char *module_path(Dwfl_Module *m)
{
	const char *p = dwfl_module_info(m, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	return p ? p : "?";
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

static bool is_malloc_debug(Dwfl_Module *m)
{
	return strncmp(base_name(module_path(m)), "libc_malloc_debug.so", 20) == 0;
}

/* Names the allocator a module's malloc is: a known one with its version,
 * or the executable's own. Leaves out "" for any other library. */
static void name_allocator(Dwfl_Module *m, Dwfl_Module *exe, char *out, size_t size)
{
	const char *base = base_name(module_path(m));
	for (size_t k = 0; k < HS_ARRAY_SIZE(other_allocators); k++) {
		if (strncmp(base, other_allocators[k].file, strlen(other_allocators[k].file)) != 0)
			continue;
		GElf_Addr b;
		char ver[64] = "";
		allocator_version(dwfl_module_getelf(m, &b), other_allocators[k].version_key, ver, sizeof ver);
		snprintf(out, size, "%s%s (%s)", other_allocators[k].name, ver, base);
		return;
	}
	if (m == exe)
		snprintf(out, size, "the executable's own (it defines malloc)");
	else
		out[0] = 0;
}

struct candidates {
	Dwfl_Module *libc, *exe;
	Dwfl_Module *named;    /* first known allocator library defining malloc */
	Dwfl_Module *debug;    /* glibc's libc_malloc_debug.so, defining malloc */
};

static int find_candidates(Dwfl_Module *m, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
	(void)userdata, (void)name, (void)start;
	struct candidates *c = arg;
	if (m == c->libc || m == c->exe)
		return DWARF_CB_OK;
	const char *base = base_name(module_path(m));
	if (!c->debug && is_malloc_debug(m) && exported_function(m, "malloc"))
		c->debug = m;
	for (size_t k = 0; k < HS_ARRAY_SIZE(other_allocators) && !c->named; k++)
		if (strncmp(base, other_allocators[k].file, strlen(other_allocators[k].file)) == 0 &&
		    exported_function(m, "malloc"))
			c->named = m;
	return DWARF_CB_OK;
}

/* Which malloc serves the program. Sets s->other_allocator when it is not
 * glibc's, and returns glibc's malloc debugging library when that is the
 * one (it runs on glibc's state or, with MALLOC_CHECK_, on its own). The
 * GOT says which when it can; otherwise a module counts only when it
 * defines and exports malloc (a reference is not a definition). */
static Dwfl_Module *which_malloc(Dwfl *dwfl, Dwfl_Module *libc, Dwfl_Module *exe, struct hs_source *src,
				 struct hs_symbols *s)
{
	struct candidates c = {.libc = libc, .exe = exe};
	dwfl_getmodules(dwfl, find_candidates, &c, 0);
	Dwfl_Module *live = live_malloc(dwfl, libc, exe, src);
	if (live == libc)
		return NULL;
	if (!live) {
		/* The GOT did not say: any library of a known allocator, then
		 * glibc's debugging library, then the executable, each only if
		 * it defines malloc itself. */
		if (c.named)
			live = c.named;
		else if (c.debug)
			live = c.debug;
		else if (exe && exe != libc && has_interp(exe) && exported_function(exe, "malloc"))
			live = exe;
		else
			return NULL;
	}
	if (is_malloc_debug(live))
		return live;
	name_allocator(live, exe, s->other_allocator, sizeof s->other_allocator);
	return NULL;
}

static Dwarf_Die *type_of(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(die, DW_AT_type, &a) || !dwarf_formref_die(&a, out))
		return NULL;
	if (dwarf_peel_type(out, out) != 0)
		return NULL;
	return out;
}

static int64_t type_size(Dwarf_Die *t)
{
	Dwarf_Word sz;
	return dwarf_aggregate_size(t, &sz) == 0 ? (int64_t)sz : -1;
}

struct member_want {
	const char *name;
	int *off;
	int *count;      /* for arrays: number of elements, if wanted */
	int *elem_size;  /* for arrays: bytes per element, if wanted */
};

static void read_members(Dwarf_Die *st, struct member_want *w, size_t nw)
{
	Dwarf_Die m;
	if (dwarf_child(st, &m) != 0)
		return;
	do {
		if (dwarf_tag(&m) != DW_TAG_member)
			continue;
		const char *name = dwarf_diename(&m);
		if (!name)
			continue;
		for (size_t i = 0; i < nw; i++) {
			if (strcmp(name, w[i].name) != 0)
				continue;
			Dwarf_Attribute a;
			Dwarf_Word off;
			if (dwarf_attr(&m, DW_AT_data_member_location, &a) && dwarf_formudata(&a, &off) == 0)
				*w[i].off = (int)off;
			Dwarf_Die t, e;
			if ((w[i].count || w[i].elem_size) && type_of(&m, &t) &&
			    dwarf_tag(&t) == DW_TAG_array_type && type_of(&t, &e)) {
				int64_t all = type_size(&t), one = type_size(&e);
				if (all > 0 && one > 0) {
					if (w[i].count)
						*w[i].count = (int)(all / one);
					if (w[i].elem_size)
						*w[i].elem_size = (int)one;
				}
			}
		}
	} while (dwarf_siblingof(&m, &m) == 0);
}

static void read_struct(Dwarf_Die *die, const char *name, struct hs_layout *l)
{
	int64_t size = type_size(die);
	if (size <= 0)
		return;
	if (strcmp(name, "malloc_state") == 0) {
		struct member_want w[] = {
			{"mutex", &l->ms_mutex, NULL, NULL},
			{"flags", &l->ms_flags, NULL, NULL},
			{"have_fastchunks", &l->ms_have_fastchunks, NULL, NULL},
			{"fastbinsY", &l->ms_fastbins, &l->nfastbins, NULL},
			{"top", &l->ms_top, NULL, NULL},
			{"last_remainder", &l->ms_last_remainder, NULL, NULL},
			{"bins", &l->ms_bins, NULL, NULL},
			{"binmap", &l->ms_binmap, NULL, NULL},
			{"next", &l->ms_next, NULL, NULL},
			{"next_free", &l->ms_next_free, NULL, NULL},
			{"attached_threads", &l->ms_attached_threads, NULL, NULL},
			{"system_mem", &l->ms_system_mem, NULL, NULL},
			{"max_system_mem", &l->ms_max_system_mem, NULL, NULL},
		};
		int nbinptrs = -1;
		struct member_want b = {"bins", &l->ms_bins, &nbinptrs, NULL};
		read_members(die, w, HS_ARRAY_SIZE(w));
		read_members(die, &b, 1);
		if (nbinptrs > 0)
			l->nbins = nbinptrs / 2 + 1;
		l->ms_size = (int)size;
	} else if (strcmp(name, "malloc_par") == 0) {
		struct member_want w[] = {
			{"trim_threshold", &l->mp_trim_threshold, NULL, NULL},
			{"top_pad", &l->mp_top_pad, NULL, NULL},
			{"mmap_threshold", &l->mp_mmap_threshold, NULL, NULL},
			{"arena_test", &l->mp_arena_test, NULL, NULL},
			{"arena_max", &l->mp_arena_max, NULL, NULL},
			{"hp_pagesize", &l->mp_hp_pagesize, NULL, NULL},
			{"n_mmaps", &l->mp_n_mmaps, NULL, NULL},
			{"n_mmaps_max", &l->mp_n_mmaps_max, NULL, NULL},
			{"max_n_mmaps", &l->mp_max_n_mmaps, NULL, NULL},
			{"no_dyn_threshold", &l->mp_no_dyn_threshold, NULL, NULL},
			{"mmapped_mem", &l->mp_mmapped_mem, NULL, NULL},
			{"max_mmapped_mem", &l->mp_max_mmapped_mem, NULL, NULL},
			{"sbrk_base", &l->mp_sbrk_base, NULL, NULL},
			{"tcache_bins", &l->mp_tcache_bins, NULL, NULL},
			{"tcache_small_bins", &l->mp_tcache_bins, NULL, NULL},
			{"tcache_max_bytes", &l->mp_tcache_max_bytes, NULL, NULL},
			{"tcache_count", &l->mp_tcache_count, NULL, NULL},
			{"tcache_unsorted_limit", &l->mp_tcache_unsorted_limit, NULL, NULL},
		};
		read_members(die, w, HS_ARRAY_SIZE(w));
		l->mp_size = (int)size;
	} else if (strcmp(name, "_heap_info") == 0) {
		struct member_want w[] = {
			{"ar_ptr", &l->hi_ar_ptr, NULL, NULL},
			{"prev", &l->hi_prev, NULL, NULL},
			{"size", &l->hi_hsize, NULL, NULL},
			{"mprotect_size", &l->hi_mprotect_size, NULL, NULL},
		};
		read_members(die, w, HS_ARRAY_SIZE(w));
		l->hi_size = (int)size;
	} else if (strcmp(name, "tcache_perthread_struct") == 0) {
		struct member_want w[] = {
			{"counts", &l->tc_counts, &l->tc_nbins, &l->tc_count_width},
			{"num_slots", &l->tc_counts, &l->tc_nbins, &l->tc_count_width},
			{"entries", &l->tc_entries, NULL, NULL},
		};
		read_members(die, w, HS_ARRAY_SIZE(w));
		l->tc_size = (int)size;
	}
}

/* DW_OP_addr N, or for TLS DW_OP_const*u N; DW_OP_form_tls_address (or
 * the older DW_OP_GNU_push_tls_address). */
static int var_location(Dwarf_Die *die, uint64_t *val, bool *tls)
{
	Dwarf_Attribute a;
	Dwarf_Op *ops;
	size_t n;
	if (!dwarf_attr(die, DW_AT_location, &a) || dwarf_getlocation(&a, &ops, &n) != 0 || n == 0)
		return -1;
	if (n == 1 && ops[0].atom == DW_OP_addr) {
		*val = ops[0].number;
		*tls = false;
		return 0;
	}
	if (n == 2 && (ops[1].atom == DW_OP_form_tls_address || ops[1].atom == DW_OP_GNU_push_tls_address)) {
		*val = ops[0].number;
		*tls = true;
		return 0;
	}
	return -1;
}

static int read_dwarf(Dwfl_Module *mod, struct hs_symbols *s, struct hs_err *err)
{
	uint64_t fn = symbol_address(mod, "__libc_malloc", STT_FUNC);
	if (!fn)
		fn = symbol_address(mod, "malloc", STT_FUNC);
	Dwarf_Addr bias;
	Dwarf_Die *cu = fn ? dwfl_module_addrdie(mod, fn, &bias) : NULL;
	if (!cu)
		return hs_fail(err, HS_EUNSUPPORTED, "libc's debug file has no DWARF for malloc.c");
	Dwarf_Die d;
	if (dwarf_child(cu, &d) != 0)
		return hs_fail(err, HS_EUNSUPPORTED, "libc's DWARF for malloc.c is empty");
	struct hs_layout *l = &s->layout;
	do {
		int tag = dwarf_tag(&d);
		const char *name = dwarf_diename(&d);
		if (!name)
			continue;
		if (tag == DW_TAG_structure_type && !dwarf_hasattr(&d, DW_AT_declaration)) {
			read_struct(&d, name, l);
		} else if (tag == DW_TAG_variable) {
			uint64_t v;
			bool tls;
			if (var_location(&d, &v, &tls) != 0)
				continue;
			if (!tls && strcmp(name, "main_arena") == 0)
				s->main_arena = v + bias;
			else if (!tls && strcmp(name, "mp_") == 0)
				s->mp = v + bias;
			else if (tls && strcmp(name, "tcache") == 0)
				l->tls_tcache = (int64_t)v;
			else if (tls && strcmp(name, "thread_arena") == 0)
				l->tls_thread_arena = (int64_t)v;
		}
	} while (dwarf_siblingof(&d, &d) == 0);
	if (!s->main_arena || !s->mp)
		return hs_fail(err, HS_EUNSUPPORTED, "libc's DWARF does not locate %s",
			       !s->main_arena ? "main_arena" : "mp_");
	return 0;
}

static void tls_block_size(Elf *elf, struct hs_symbols *s);
static int dwarf_path(Dwfl_Module *mod, struct hs_symbols *s, struct hs_err *err);
static int symbol_free_path(Dwfl_Module *mod, Elf *elf, GElf_Addr bias, struct hs_symbols *s,
			    struct hs_err *err);
static int debug_state(struct hs_source *src, const struct hs_symbols_opts *o, Dwfl_Module *dbg,
		       struct hs_symbols *s, struct hs_err *err);

/* Where the stage finds the target's files: its mappings, the root they
 * resolve in, its executable's path, the host's debug directories. */
struct where {
	const struct hs_maps *maps;
	int root;           /* owned by the stage from here: closed by hs_symbols_free */
	const char *exe;    /* "" when unknown */
	const char *debug_path;
};
static int bounded_load(struct hs_source *src, const struct where *w, const struct hs_symbols_opts *o,
			struct hs_symbols *s, struct hs_err *err);
static int load(struct hs_source *src, const struct where *w, const struct hs_symbols_opts *o,
		struct hs_symbols *s, struct hs_err *err);

/* The symbols stage runs against the clock (source/rootfs.h): past its
 * bound, one line names the file being read and the run ends with exit 4. */
int hs_symbols_load(struct hs_source *src, const struct hs_symbols_opts *o, struct hs_symbols *s,
		    struct hs_err *err)
{
	memset(s, 0, sizeof *s);
	/* The host's debug directories; for a core, --sysroot's after them
	 * (as a target's root: resolved inside it). */
	const char *extra = getenv("HS_DEBUGINFO_PATH");
	char path[PATH_MAX + 128];
	snprintf(path, sizeof path, "%s%s/usr/lib/debug", extra ? extra : "", extra ? ":" : "");
	if (o->core) { /* its maps and executable from its notes; files checked by build-id */
		int root = o->core->rootfd >= 0 ? fcntl(o->core->rootfd, F_DUPFD_CLOEXEC, 0) : -1;
		struct where w = {&o->core->src.maps, root, o->core->exe, path};
		return bounded_load(src, &w, o, s, err);
	}
	struct hs_maps maps;
	if (hs_maps_read(src->pid, &maps, err))
		return err->code;
	char exe[PATH_MAX] = "", link[64];
	snprintf(link, sizeof link, "/proc/%d/exe", (int)src->pid);
	ssize_t n = readlink(link, exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = 0;
	struct where w = {&maps, hs_rootfs_open(src->pid), exe, path};
	int rc = bounded_load(src, &w, o, s, err);
	hs_maps_free(&maps);
	return rc;
}

int hs_symbols_load_root(struct hs_source *src, int root, const char *exe, const char *debug_path,
			 const struct hs_symbols_opts *o, struct hs_symbols *s, struct hs_err *err)
{
	memset(s, 0, sizeof *s);
	struct where w = {&src->maps, root >= 0 ? fcntl(root, F_DUPFD_CLOEXEC, 0) : -1, exe, debug_path};
	return bounded_load(src, &w, o, s, err);
}

static int bounded_load(struct hs_source *src, const struct where *w, const struct hs_symbols_opts *o,
			struct hs_symbols *s, struct hs_err *err)
{
	hs_rootfs_deadline(hs_rootfs_timeout());
	int rc = load(src, w, o, s, err);
	if (hs_rootfs_expired()) {
		/* files were refused past the bound: that, not what followed */
		char why[sizeof err->msg];
		hs_rootfs_expired_why(why, sizeof why);
		err->code = 0;
		rc = hs_fail(err, HS_EUNSUPPORTED, "%s", why);
	}
	hs_rootfs_deadline(0);
	return rc;
}

static int load(struct hs_source *src, const struct where *w, const struct hs_symbols_opts *o,
		struct hs_symbols *s, struct hs_err *err)
{
	char who[PATH_MAX + 16];
	hs_layout_clear(&s->layout);
	s->layout.size_sz = hs_arch.size_sz;
	s->layout.align = hs_arch.malloc_align;
	s->layout.heap_max = hs_arch.heap_max;

	struct dw_ctx *ctx = hs_xcalloc(1, sizeof *ctx);
	ctx->path = hs_xstrdup(w->debug_path);
	ctx->pid = src->pid;
	ctx->core = o->core;
	ctx->root = w->root;
	ctx->no_debuginfo = o->no_debuginfo;
	ctx->cb.find_elf = find_no_elf;
	ctx->cb.find_debuginfo = o->no_debuginfo ? find_no_debuginfo : find_debuginfo;
	ctx->cb.debuginfo_path = &ctx->path;
	Dwfl *dwfl = dwfl_begin(&ctx->cb);
	s->dwfl = dwfl;
	s->ctx = ctx;
	if (!dwfl)
		return hs_fail(err, HS_EINTERNAL, "libdwfl: %s", dwfl_errmsg(-1));
	Dwfl_Module *exe_mod = NULL;
	Dwfl_Module *mod = report_modules(dwfl, ctx, w->maps, w->exe, s->libc, sizeof s->libc, &exe_mod);
	if (!mod && o->core && core_libc_missing(o->core, err))
		return err->code;
	GElf_Addr bias;
	Elf *elf = NULL;
	if (!mod) {
		dwfl_getmodules(dwfl, find_renamed_libc, &mod, 0);
		if (mod)
			snprintf(s->libc, sizeof s->libc, "%s",
				 dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
	}
	if (!mod && exe_mod) {
		/* No libc.so: a static executable carries its malloc itself. */
		elf = dwfl_module_getelf(exe_mod, &bias);
		if (elf && (version_from_banner(elf, s) == 0 || version_from_symbol(exe_mod, src, s) == 0)) {
			mod = exe_mod;
			s->is_static = true;
			snprintf(s->libc, sizeof s->libc, "%s", dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
		}
	}
	if (!mod && exe_mod && symbol_address(exe_mod, "main_arena", STT_OBJECT)) {
		if (!o->glibc_minor)
			return hs_fail(err, HS_EUNSUPPORTED,
				       "%s is a statically linked glibc program that does not name its glibc version (only threaded ones carry __nptl_version): no layout can be chosen safely; give it with --glibc=X.Y",
				       target_name(src, o, who, sizeof who));
		/* The user's word for the version, said in the report. A wrong
		 * one with another layout (safe-linking, tcache counts,
		 * fastbins) reads as a corrupt heap (exit 5); one with the same
		 * layout reads the same. */
		mod = exe_mod;
		s->is_static = s->version_given = true;
		s->layout.vmajor = 2;
		s->layout.vminor = o->glibc_minor;
		snprintf(s->version, sizeof s->version, "2.%d", o->glibc_minor);
		snprintf(s->libc, sizeof s->libc, "%s", dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
	}
	if (!mod)
		return hs_fail(err, HS_EUNSUPPORTED,
			       "%s has no glibc: no libc.so is mapped and the executable names no glibc version (another C library such as static musl, or a stripped static glibc program)",
			       target_name(src, o, who, sizeof who));
	s->libc_mod = s->state_mod = mod;
	Dwfl_Module *debug_mod = s->is_static ? NULL : which_malloc(dwfl, mod, exe_mod, src, s);
	elf = dwfl_module_getelf(mod, &bias);
	if (!elf)
		return hs_fail(err, HS_EUNSUPPORTED, "cannot read %s: %s", s->libc, dwfl_errmsg(-1));
	const unsigned char *bits;
	GElf_Addr idaddr;
	int idlen = dwfl_module_build_id(mod, &bits, &idaddr);
	for (int i = 0; i < idlen && i < 20; i++)
		snprintf(s->build_id + 2 * i, 3, "%02x", bits[i]);
	if (!s->is_static && version_from_banner(elf, s) != 0)
		return hs_fail(err, HS_EUNSUPPORTED, "%s has no glibc version banner: not glibc", s->libc);
	if (o->glibc_minor && (s->layout.vmajor != 2 || s->layout.vminor != o->glibc_minor))
		return hs_fail(err, HS_EUSAGE, "--glibc=2.%d, but %s names glibc %s: --glibc is for a program that names none",
			       o->glibc_minor, s->libc, s->version);
	s->layout.safe_linking = s->layout.vmajor > 2 || s->layout.vminor >= 32;
	s->layout.tcache_counts_down = s->layout.vmajor > 2 || s->layout.vminor >= 42;
	s->layout.mmap_tail = s->layout.vmajor > 2 || s->layout.vminor >= 43 ? 2 * s->layout.size_sz : 0;
	tls_block_size(elf, s);
	if (!s->is_static)
		ifunc_targets(elf, bias, src, s);
	if (tls_offset_from_got(elf, bias, src, s) != 0 && s->is_static && s->tls_size) {
		/* Static TLS of the executable, module 1: variant II places its
		 * block right below the thread pointer, rounded to its alignment. */
		s->l_tls_offset = (s->tls_size + s->tls_align - 1) & ~(s->tls_align - 1);
		s->have_tls = true;
	}

	if (o->no_debuginfo || dwarf_path(mod, s, err) != 0) {
		if (err->code && err->code != HS_EUNSUPPORTED)
			return err->code;
		err->code = 0; /* DWARF missing or unusable: the symbol-free path */
		if (symbol_free_path(mod, elf, bias, s, err))
			return err->code;
	}
	return debug_mod ? debug_state(src, o, debug_mod, s, err) : 0;
}

/* MALLOC_CHECK_ or glibc.malloc.check asked for in the environment the
 * target started with (the only way to turn the check on: glibc reads the
 * tunable once, at its first malloc; 0 leaves it off). */
static bool check_requested(pid_t pid)
{
	char path[64], buf[1 << 16];
	if (!pid)
		return true; /* a core: no environment to ask */
	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true; /* cannot tell: assume it is */
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return true;
	buf[n] = 0;
	for (char *e = buf; e < buf + n; e += strlen(e) + 1) {
		if (strncmp(e, "MALLOC_CHECK_=", 14) == 0 && e[14] && strcmp(e + 14, "0") != 0)
			return true;
		if (strncmp(e, "GLIBC_TUNABLES=", 15) != 0)
			continue;
		for (const char *t = strstr(e, "glibc.malloc.check="); t; t = strstr(t + 1, "glibc.malloc.check=")) {
			const char *v = t + strlen("glibc.malloc.check=");
			if (*v && *v != ':' && !(v[0] == '0' && (v[1] == 0 || v[1] == ':')))
				return true;
		}
	}
	return n == (ssize_t)sizeof buf - 1; /* cut short: cannot tell */
}

/* glibc's malloc debugging library (libc_malloc_debug.so, 2.34+) serves
 * malloc. Its wrappers call libc's malloc, whose state is then the one in
 * use and already located, unless MALLOC_CHECK_ (glibc.malloc.check) is on:
 * then they allocate from the library's own copy of malloc.c (built
 * without tcache), with its own main_arena and mp_, and only those hold
 * the program's memory: read them instead, or refuse when they cannot be
 * found. __malloc_debugging_hooks (its .symtab, in the debug file) says
 * which; without it, the environment the target started with. */
static int debug_state(struct hs_source *src, const struct hs_symbols_opts *o, Dwfl_Module *dbg,
		       struct hs_symbols *s, struct hs_err *err)
{
	const char *base = base_name(module_path(dbg));
	char who[PATH_MAX + 16];
	uint64_t hooks = symbol_address(dbg, "__malloc_debugging_hooks", STT_OBJECT);
	uint32_t v = 0;
	bool check;
	if (hooks) {
		if (hs_read(src, hooks, &v, sizeof v) < 0)
			return hs_fail(err, HS_EEXITED, "%s exited while being read", target_name(src, o, who, sizeof who));
		check = v & 4; /* MALLOC_CHECK_HOOK */
	} else {
		check = check_requested(src->pid);
		if (check)
			return hs_fail(err, HS_EUNSUPPORTED,
				       "%s: malloc is glibc's malloc debugging library (%s) with MALLOC_CHECK_ (glibc.malloc.check) on: it allocates from its own heap, not libc's, and finding that heap needs the library's debug symbols%s; install libc6-dbg",
				       target_name(src, o, who, sizeof who), base, o->no_debuginfo ? " (not read with --no-debuginfo)" : "");
	}
	if (!check)
		return 0;

	/* The library's own state, with its own layout (same glibc, same
	 * malloc_state; an mp_ without the tcache fields). */
	struct hs_layout was = s->layout;
	hs_layout_clear(&s->layout);
	s->layout.size_sz = was.size_sz;
	s->layout.align = was.align;
	s->layout.heap_max = was.heap_max;
	s->layout.vmajor = was.vmajor;
	s->layout.vminor = was.vminor;
	s->layout.safe_linking = was.safe_linking;
	s->layout.tcache_counts_down = was.tcache_counts_down;
	s->layout.mmap_tail = was.mmap_tail;
	s->main_arena = s->mp = 0;
	Dwarf_Addr dwbias;
	bool dwarf = dwfl_module_getdwarf(dbg, &dwbias) && read_dwarf(dbg, s, err) == 0;
	const char *why = hs_layout_missing(&s->layout);
	why = why ? why : hs_layout_unsound(&s->layout);
	if (!dwarf || why) {
		err->code = 0;
		return hs_fail(err, HS_EUNSUPPORTED,
			       "%s: malloc is glibc's malloc debugging library (%s) with MALLOC_CHECK_ on, and its debug file does not describe its heap (%s)",
			       target_name(src, o, who, sizeof who), base, why ? why : "no DWARF");
	}
	const char *debugfile = NULL;
	dwfl_module_info(dbg, NULL, NULL, NULL, NULL, NULL, NULL, &debugfile);
	snprintf(s->debuginfo, sizeof s->debuginfo, "%s", debugfile ? debugfile : "");
	s->method = "dwarf";
	/* No tcache in this build; thread_arena is in the library's own TLS block. */
	s->layout.tls_tcache = -1;
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(dbg, &bias);
	s->have_tls = false;
	s->tls_size = 0;
	if (elf) {
		tls_block_size(elf, s);
		tls_offset_from_got(elf, bias, src, s);
	}
	s->state_mod = dbg;
	snprintf(s->malloc_lib, sizeof s->malloc_lib, "%s", module_path(dbg));
	return 0;
}

/* libc's TLS block is a few hundred bytes, a static program's with its own
 * __thread data rarely more than a few KiB. A larger PT_TLS is a hostile
 * file's: threads.c's locate scan reads every word of the block, with the
 * target stopped (found by fuzz_symbols: 2^60 bytes, a stop for ever). */
#define TLS_BLOCK_MAX (1u << 20)

static void tls_block_size(Elf *elf, struct hs_symbols *s)
{
	size_t n = 0;
	if (elf_getphdrnum(elf, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_TLS && ph.p_memsz <= TLS_BLOCK_MAX) {
			s->tls_size = ph.p_memsz;
			s->tls_align = ph.p_align ? ph.p_align : 1;
		}
	}
}

/* libdwfl names no file for what debuginfod fetched: it is in the
 * client's cache, under the build-id. */
static void debuginfod_cached(struct hs_symbols *s)
{
	const char *cache = getenv("DEBUGINFOD_CACHE_PATH");
	const char *home = getenv("HOME");
	char path[PATH_MAX];
	if (cache)
		snprintf(path, sizeof path, "%s/%s/debuginfo", cache, s->build_id);
	else
		snprintf(path, sizeof path, "%s/.cache/debuginfod_client/%s/debuginfo", home ? home : "",
			 s->build_id);
	if (getenv("DEBUGINFOD_URLS") && access(path, R_OK) == 0)
		snprintf(s->debuginfo, sizeof s->debuginfo, "%s", path);
}

static int dwarf_path(Dwfl_Module *mod, struct hs_symbols *s, struct hs_err *err)
{
	Dwarf_Addr dwbias;
	if (!dwfl_module_getdwarf(mod, &dwbias))
		return hs_fail(err, HS_EUNSUPPORTED, "no DWARF");
	const char *debugfile = NULL;
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, &debugfile);
	snprintf(s->debuginfo, sizeof s->debuginfo, "%s", debugfile ? debugfile : "");
	if (!debugfile)
		debuginfod_cached(s);
	if (read_dwarf(mod, s, err))
		return err->code;
	const char *miss = hs_layout_missing(&s->layout);
	if (miss)
		return hs_fail(err, HS_EUNSUPPORTED, "glibc %s: libc's DWARF lacks %s", s->version, miss);
	/* the symbol-free path's built-in layout then, not this one */
	const char *bad = hs_layout_unsound(&s->layout);
	if (bad)
		return hs_fail(err, HS_EUNSUPPORTED, "glibc %s: libc's DWARF is not sound: %s", s->version, bad);
	s->method = "dwarf";
	return 0;
}

/* Without debug symbols: the built-in layout for this version, main_arena
 * and mp_ from libc's own .symtab if it kept one, else by signature. */
static int symbol_free_path(Dwfl_Module *mod, Elf *elf, GElf_Addr bias, struct hs_symbols *s,
			    struct hs_err *err)
{
	s->debuginfo[0] = 0;
	s->main_arena = s->mp = 0;
	int vmajor = s->layout.vmajor, vminor = s->layout.vminor;
	if (hs_arch_layout(vmajor, vminor, &s->layout) < 0)
		return hs_fail(err, HS_EUNSUPPORTED,
			       "glibc %s: no debug symbols for %s (build-id %s) and no built-in layout for this version; install its debug symbols (libc6-dbg) or set DEBUGINFOD_URLS",
			       s->version, s->libc, s->build_id);
	s->main_arena = symbol_address(mod, "main_arena", STT_OBJECT);
	s->mp = symbol_address(mod, "mp_", STT_OBJECT);
	if (s->main_arena && s->mp) {
		s->method = "symtab";
		return 0;
	}
	const char *why = NULL;
	uint64_t ma = 0, mp = 0;
	if (!hs_locate_statics(elf, &s->layout, &ma, &mp, &why))
		return hs_fail(err, HS_EUNSUPPORTED, "glibc %s without debug symbols: %s; install libc6-dbg",
			       s->version, why);
	s->main_arena = ma + bias;
	s->mp = mp + bias;
	s->method = "scan";
	return 0;
}

/* The entry of names[] that name, less a "__GI_" alias prefix and a
 * ".isra.0"-style suffix, is (prefix: begins with), or NULL. */
static const char *named(const char *name, const char *const *names, size_t n, bool prefix)
{
	if (strncmp(name, "__GI_", 5) == 0)
		name += 5;
	size_t len = strcspn(name, "."); /* _int_free.isra.0, sysmalloc.constprop.0 */
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		if ((prefix ? l <= len : l == len) && strncmp(name, names[i], l) == 0)
			return names[i];
	}
	return NULL;
}

bool hs_symbols_in_malloc(const struct hs_symbols *s, uint64_t pc, const char **fn)
{
	static const char *const names[] = {
		"malloc", "free", "realloc", "calloc", "memalign", "posix_memalign", "aligned_alloc",
		"valloc", "pvalloc", "malloc_trim", "malloc_stats", "malloc_info", "mallinfo",
		"mallinfo2", "mallopt", "malloc_usable_size", "mtrim", "_int_malloc", "_int_free",
		"_int_free_merge_chunk", "_int_free_create_chunk", "_int_free_maybe_consolidate",
		"_int_realloc", "_int_memalign", "_mid_memalign", "malloc_consolidate", "sysmalloc",
		"sysmalloc_mmap", "sysmalloc_mmap_fallback", "systrim", "heap_trim", "shrink_heap",
		"grow_heap", "new_heap", "alloc_new_heap", "_int_new_arena", "arena_get2",
		"arena_get_retry", "get_free_list", "reused_arena", "tcache_init",
		"tcache_thread_shutdown", "tcache_get", "tcache_put", "tcache_get_n", "tcache_put_n",
		"munmap_chunk", "mremap_chunk", "ptmalloc_init", "int_mallinfo", "unlink_chunk",
		"__libc_malloc", "__libc_free", "__libc_realloc", "__libc_calloc", "__libc_memalign",
		"__libc_valloc", "__libc_pvalloc", "__malloc_trim", "__libc_mallinfo2",
		"__libc_mallinfo", "__malloc_stats", "__malloc_info", "__libc_mallopt",
		"__posix_memalign", "__libc_malloc2", "__malloc_arena_thread_freeres",
		"malloc_printerr", "__malloc_fork_lock_parent", "__malloc_fork_unlock_parent",
		"__malloc_fork_unlock_child", "_int_free_chunk", "__libc_free_chunk",
		/* libc_malloc_debug.so's own, with MALLOC_CHECK_ */
		"malloc_check", "free_check", "realloc_check", "memalign_check", "top_check",
		"mem2chunk_check", "mem2mem_check", "__debug_malloc", "__debug_free", "__debug_realloc",
		"__debug_calloc", "__debug_memalign", "__debug_valloc", "__debug_pvalloc",
		"__debug_posix_memalign", "__debug_aligned_alloc", "malloc_hook_ini",
		"realloc_hook_ini", "memalign_hook_ini", "generic_hook_ini",
	};
	Dwfl_Module *mod = NULL;
	Dwarf_Addr start, end;
	if (s->libc_mod) {
		dwfl_module_info(s->libc_mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
		if (pc >= start && pc < end)
			mod = s->libc_mod;
	}
	if (!mod && s->state_mod && s->state_mod != s->libc_mod) {
		dwfl_module_info(s->state_mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
		if (pc >= start && pc < end)
			mod = s->state_mod;
	}
	if (!mod)
		return false;
	const char *name = dwfl_module_addrname(mod, pc);
	const char *entry = name ? named(name, names, HS_ARRAY_SIZE(names), false) : NULL;
	if (entry && fn)
		*fn = entry;
	return entry != NULL;
}

bool hs_symbols_malloc_paused(const struct hs_symbols *s, uint64_t pc, const char *fn)
{
	static const char *const lock_waits[] = {"__lll_lock_wait_private", "__lll_lock_wait"};
	/* memcpy's builds: __memmove_avx_unaligned_erms, __memcpy_evex_... */
	static const char *const copies[] = {"__memmove_", "__memcpy_", "memmove", "memcpy"};
	static const char *const reallocs[] = {"_int_realloc", "__libc_realloc", "realloc"};
	if (!s->dwfl || !fn)
		return false;
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, pc);
	const char *name = mod ? dwfl_module_addrname(mod, pc) : NULL;
	if (!name)
		return false;
	if (named(name, lock_waits, HS_ARRAY_SIZE(lock_waits), false))
		return true;
	return named(name, copies, HS_ARRAY_SIZE(copies), true) &&
	       named(fn, reallocs, HS_ARRAY_SIZE(reallocs), false);
}

bool hs_symbols_changes_before_locking(const char *fn)
{
	/* arena.c: _int_new_arena and get_free_list, inlined into arena_get2
	 * (the new heap not yet on the arena list, attached_threads moved);
	 * tcache_thread_shutdown (the thread's tcache already gone, an entry
	 * in flight); __malloc_arena_thread_freeres (thread_arena cleared) */
	static const char *const changers[] = {"arena_get2", "_int_new_arena", "get_free_list",
					       "tcache_thread_shutdown", "__malloc_arena_thread_freeres"};
	return fn && named(fn, changers, HS_ARRAY_SIZE(changers), false);
}

bool hs_symbols_malloc_paused_unnamed(const struct hs_symbols *s, uint64_t start, int unnamed, const char *fn)
{
	static const char *const reallocs[] = {"_int_realloc", "__libc_realloc", "realloc"};
	return fn && unnamed <= 1 && named(fn, reallocs, HS_ARRAY_SIZE(reallocs), false) && hs_symbols_ifunc(s, start);
}

bool hs_symbols_in_libc(const struct hs_symbols *s, uint64_t pc)
{
	Dwarf_Addr start, end;
	if (!s->libc_mod)
		return false;
	dwfl_module_info(s->libc_mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
	return pc >= start && pc < end;
}

bool hs_symbols_unnamed_libc(const struct hs_symbols *s, uint64_t pc)
{
	return hs_symbols_in_libc(s, pc) && !dwfl_module_addrname(s->libc_mod, pc);
}

bool hs_symbols_ifunc(const struct hs_symbols *s, uint64_t start)
{
	return s->nifuncs && bsearch(&start, s->ifuncs, s->nifuncs, sizeof *s->ifuncs, cmp_u64);
}

bool hs_symbols_stack_base(const struct hs_symbols *s, uint64_t pc)
{
	/* The outer frames of every thread glibc starts: main's callers and a
	 * thread's start routine's. Reached without passing malloc, every
	 * frame that could be inside it has been seen. */
	static const char *const names[] = {
		"main", "__libc_start_call_main", "__libc_start_main", "__libc_start_main_impl", "_start",
		"start_thread", "clone", "clone3", "__clone", "__clone3", "__clone_internal",
	};
	if (!s->dwfl)
		return false;
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, pc);
	if (!mod)
		return true; /* no code there: not a frame at all */
	const char *name = dwfl_module_addrname(mod, pc);
	return name && named(name, names, HS_ARRAY_SIZE(names), false);
}

void hs_symbols_free(struct hs_symbols *s)
{
	if (s->dwfl)
		dwfl_end(s->dwfl);
	struct dw_ctx *ctx = s->ctx;
	if (ctx) {
		if (ctx->root >= 0)
			close(ctx->root);
		free(ctx->path);
		free(ctx);
	}
	s->dwfl = s->ctx = NULL;
	free(s->ifuncs);
	s->ifuncs = NULL;
	s->nifuncs = 0;
}
