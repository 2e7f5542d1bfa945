/* symbols.c - libdwfl on the target's own files: libc, its debug file,
 * the allocator's globals, struct layouts and TLS offsets. */
#include "glibc/symbols.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
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

/* dwfl keeps a pointer to the callbacks and to the path string. */
struct dw_ctx {
	Dwfl_Callbacks cb;
	char *path;
};

static int open_target_file(pid_t pid, const struct hs_map *m, char *name, size_t size)
{
	if (m->path[0] == '/') {
		snprintf(name, size, "/proc/%d/root%s", (int)pid, m->path);
		char *del = strstr(name, " (deleted)");
		if (!del) {
			int fd = open(name, O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				return fd;
		}
	}
	/* A file replaced on disk (an upgraded libc) or in another mount
	 * namespace: the kernel still holds the mapped one. */
	snprintf(name, size, "/proc/%d/map_files/%llx-%llx", (int)pid, (unsigned long long)m->start,
		 (unsigned long long)m->end);
	return open(name, O_RDONLY | O_CLOEXEC);
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

/* Allocators that replace glibc's malloc when preloaded or linked. */
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
static Dwfl_Module *report_modules(Dwfl *dwfl, pid_t pid, const struct hs_maps *maps, char *libc,
				   size_t libc_size, Dwfl_Module **exe_mod, char *other, size_t other_size)
{
	Dwfl_Module *libc_mod = NULL;
	char exe[PATH_MAX] = "", link[64];
	snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(link, exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = 0;
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
		char file[PATH_MAX + 64];
		int fd = open_target_file(pid, m, file, sizeof file);
		if (fd < 0)
			continue;
		Dwfl_Module *mod = dwfl_report_elf(dwfl, m->path, file, fd, m->start, false);
		if (!mod) {
			close(fd);
			continue;
		}
		if (!libc_mod && is_libc_name(m->path)) {
			libc_mod = mod;
			snprintf(libc, libc_size, "%s", m->path);
		}
		if (!*exe_mod && strcmp(m->path, exe) == 0)
			*exe_mod = mod;
		const char *base = strrchr(m->path, '/') + 1;
		for (size_t k = 0; k < HS_ARRAY_SIZE(other_allocators) && !other[0]; k++) {
			if (strncmp(base, other_allocators[k].file, strlen(other_allocators[k].file)) != 0)
				continue;
			GElf_Addr b;
			char ver[64] = "";
			allocator_version(dwfl_module_getelf(mod, &b), other_allocators[k].version_key, ver, sizeof ver);
			snprintf(other, other_size, "%s%s (%s)", other_allocators[k].name, ver, base);
		}
	}
	dwfl_report_end(dwfl, NULL, NULL);
	return libc_mod;
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

static uint64_t symbol_address(Dwfl_Module *mod, const char *want, int type)
{
	int n = dwfl_module_getsymtab(mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		if (name && strcmp(name, want) == 0 && GELF_ST_TYPE(sym.st_info) == type && addr)
			return addr;
	}
	return 0;
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

int hs_symbols_load(struct hs_source *src, const struct hs_symbols_opts *o, struct hs_symbols *s,
		    struct hs_err *err)
{
	memset(s, 0, sizeof *s);
	hs_layout_clear(&s->layout);
	s->layout.size_sz = hs_arch.size_sz;
	s->layout.align = hs_arch.malloc_align;
	s->layout.heap_max = hs_arch.heap_max;

	struct hs_maps maps;
	if (hs_maps_read(src->pid, &maps, err))
		return err->code;

	struct dw_ctx *ctx = hs_xcalloc(1, sizeof *ctx);
	const char *extra = getenv("HS_DEBUGINFO_PATH");
	char path[PATH_MAX * 2 + 128];
	snprintf(path, sizeof path, "%s%s:.debug:/usr/lib/debug:/proc/%d/root/usr/lib/debug",
		 extra ? extra : "", extra ? ":" : "", (int)src->pid);
	ctx->path = hs_xstrdup(path);
	ctx->cb.find_elf = dwfl_build_id_find_elf;
	ctx->cb.find_debuginfo = o->no_debuginfo ? find_no_debuginfo : dwfl_standard_find_debuginfo;
	ctx->cb.debuginfo_path = &ctx->path;
	Dwfl *dwfl = dwfl_begin(&ctx->cb);
	s->dwfl = dwfl;
	s->ctx = ctx;
	if (!dwfl) {
		hs_maps_free(&maps);
		return hs_fail(err, HS_EINTERNAL, "libdwfl: %s", dwfl_errmsg(-1));
	}
	Dwfl_Module *exe_mod = NULL;
	Dwfl_Module *mod = report_modules(dwfl, src->pid, &maps, s->libc, sizeof s->libc, &exe_mod,
					  s->other_allocator, sizeof s->other_allocator);
	hs_maps_free(&maps);
	if (!s->other_allocator[0] && mod && exe_mod && exe_mod != mod && has_interp(exe_mod) &&
	    symbol_address(exe_mod, "malloc", STT_FUNC))
		snprintf(s->other_allocator, sizeof s->other_allocator,
			 "the executable's own (it defines malloc)");
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
	if (!mod && exe_mod && symbol_address(exe_mod, "main_arena", STT_OBJECT))
		return hs_fail(err, HS_EUNSUPPORTED,
			       "pid %d is a statically linked glibc program that does not name its glibc version (only threaded ones carry __nptl_version): no layout can be chosen safely",
			       (int)src->pid);
	if (!mod)
		return hs_fail(err, HS_EUNSUPPORTED,
			       "pid %d has no glibc: no libc.so is mapped and the executable names no glibc version (another C library such as static musl, or a stripped static glibc program)",
			       (int)src->pid);
	s->libc_mod = mod;
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
	s->layout.safe_linking = s->layout.vmajor > 2 || s->layout.vminor >= 32;
	s->layout.tcache_counts_down = s->layout.vmajor > 2 || s->layout.vminor >= 42;
	s->layout.mmap_tail = s->layout.vmajor > 2 || s->layout.vminor >= 43 ? 2 * s->layout.size_sz : 0;
	tls_block_size(elf, s);
	if (tls_offset_from_got(elf, bias, src, s) != 0 && s->is_static && s->tls_size) {
		/* Static TLS of the executable, module 1: variant II places its
		 * block right below the thread pointer, rounded to its alignment. */
		s->l_tls_offset = (s->tls_size + s->tls_align - 1) & ~(s->tls_align - 1);
		s->have_tls = true;
	}

	if (!o->no_debuginfo && dwarf_path(mod, s, err) == 0)
		return 0;
	if (err->code && err->code != HS_EUNSUPPORTED)
		return err->code;
	err->code = 0; /* DWARF missing or unusable: the symbol-free path */
	return symbol_free_path(mod, elf, bias, s, err);
}

static void tls_block_size(Elf *elf, struct hs_symbols *s)
{
	size_t n = 0;
	if (elf_getphdrnum(elf, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_TLS) {
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
	if (hs_locate_statics(elf, &s->layout, &ma, &mp, &why) != 0)
		return hs_fail(err, HS_EUNSUPPORTED, "glibc %s without debug symbols: %s; install libc6-dbg",
			       s->version, why);
	s->main_arena = ma + bias;
	s->mp = mp + bias;
	s->method = "scan";
	return 0;
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
	};
	if (!s->libc_mod)
		return false;
	Dwarf_Addr start, end;
	dwfl_module_info(s->libc_mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
	if (pc < start || pc >= end)
		return false;
	const char *name = dwfl_module_addrname(s->libc_mod, pc);
	if (!name)
		return false;
	size_t len = strcspn(name, "."); /* _int_free.isra.0, sysmalloc.constprop.0 */
	for (size_t i = 0; i < HS_ARRAY_SIZE(names); i++) {
		if (strlen(names[i]) == len && strncmp(name, names[i], len) == 0) {
			if (fn)
				*fn = names[i];
			return true;
		}
	}
	return false;
}

void hs_symbols_free(struct hs_symbols *s)
{
	if (s->dwfl)
		dwfl_end(s->dwfl);
	struct dw_ctx *ctx = s->ctx;
	if (ctx) {
		free(ctx->path);
		free(ctx);
	}
	s->dwfl = s->ctx = NULL;
}
