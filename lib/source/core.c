/* core.c - an ELF core file as a memory source (source/core.h). */
#include "source/core.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <unistd.h>

#include "arch.h"
#include "source/rootfs.h"

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif

/* The segment that holds addr in its dumped bytes, or NULL. */
static const struct hs_core_seg *seg_at(const struct hs_core *c, uint64_t addr)
{
	size_t lo = 0, hi = c->nsegs;
	while (lo < hi) { /* the first segment that starts above addr */
		size_t mid = lo + (hi - lo) / 2;
		if (c->segs[mid].vaddr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct hs_core_seg *s = &c->segs[lo - 1];
	return addr - s->vaddr < s->filesz ? s : NULL;
}

/* The map that holds addr, by index, or -1. */
static ssize_t map_at(const struct hs_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < m->v[lo - 1].end ? (ssize_t)(lo - 1) : -1;
}

/* Where the bytes at addr are, and how many in a row: in the core, or in
 * the (verified) file the address maps. NULL: absent. */
static const unsigned char *bytes_at(const struct hs_core *c, uint64_t addr, size_t *n)
{
	const struct hs_core_seg *s = seg_at(c, addr);
	if (s) {
		*n = (size_t)(s->filesz - (addr - s->vaddr));
		return s->data + (addr - s->vaddr);
	}
	ssize_t i = map_at(&c->src.maps, addr);
	if (i < 0 || c->map_file[i] < 0)
		return NULL;
	const struct hs_map *m = &c->src.maps.v[i];
	const struct hs_core_file *f = &c->files[c->map_file[i]];
	uint64_t off = m->offset + (addr - m->start);
	if (off >= f->size)
		return NULL; /* past the file's end: SIGBUS in the process */
	uint64_t stop = m->end - addr < f->size - off ? m->end - addr : f->size - off;
	/* a segment may start inside the map: the core's bytes win there */
	for (size_t k = 0; k < c->nsegs; k++)
		if (c->segs[k].vaddr > addr && c->segs[k].vaddr - addr < stop)
			stop = c->segs[k].vaddr - addr;
	*n = (size_t)stop;
	return f->map + off;
}

/* A large read of the core's own bytes (the heap walk's windows) is
 * read(2), not copied from libelf's mapping: the mapping's pages would
 * count in heapscope's RSS, the whole core in the end (2.4 GB of the
 * bench's core against a goal of 256 MiB); the page cache holds them
 * either way. Small reads stay copies: no system call each. */
#define CORE_PREAD_MIN (64u << 10)

static int pread_all(int fd, unsigned char *out, size_t n, off_t off)
{
	while (n) {
		ssize_t got = pread(fd, out, n, off);
		if (got <= 0) {
			errno = got < 0 ? errno : EFAULT;
			return -1;
		}
		out += got;
		off += got;
		n -= (size_t)got;
	}
	return 0;
}

static int core_read(struct hs_source *src, uint64_t addr, void *buf, size_t len)
{
	const struct hs_core *c = (const struct hs_core *)src;
	unsigned char *out = buf;
	while (len) {
		size_t n = 0;
		const unsigned char *p = bytes_at(c, addr, &n);
		if (!p || !n) {
			errno = EFAULT; /* as process_vm_readv says it */
			return -1;
		}
		n = n < len ? n : len;
		if (n >= CORE_PREAD_MIN && p >= c->image && p < c->image + c->size) {
			if (pread_all(c->fd, out, n, (off_t)(p - c->image)) < 0)
				return -1;
		} else {
			memcpy(out, p, n);
		}
		out += n;
		addr += n;
		len -= n;
	}
	return 0;
}

/* A page holds data when the core or a verified file has its bytes. */
static int core_pages(struct hs_source *src, uint64_t addr, size_t npages, unsigned char *state)
{
	const struct hs_core *c = (const struct hs_core *)src;
	for (size_t i = 0; i < npages; i++) {
		size_t n = 0;
		state[i] = bytes_at(c, addr + i * HS_PAGE_SIZE, &n) ? HS_PAGE_PRESENT : HS_PAGE_NONE;
	}
	return 0;
}

/* The GNU build-id (hex) of an ELF object whose first bytes are at[0 ..
 * len): its PT_NOTE segments, by file offset. "" when there is none. */
static void build_id(const unsigned char *at, size_t len, char out[41])
{
	out[0] = 0;
	Elf64_Ehdr eh;
	if (len < sizeof eh)
		return;
	memcpy(&eh, at, sizeof eh);
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len ||
	    (len - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum)
		return;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, at + eh.e_phoff + i * sizeof ph, sizeof ph);
		if (ph.p_type != PT_NOTE || ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			continue;
		for (uint64_t o = ph.p_offset, end = ph.p_offset + ph.p_filesz; end - o >= sizeof(Elf64_Nhdr);) {
			Elf64_Nhdr nh;
			memcpy(&nh, at + o, sizeof nh);
			uint64_t name = o + sizeof nh, desc = name + ((nh.n_namesz + 3ull) & ~3ull);
			uint64_t next = desc + ((nh.n_descsz + 3ull) & ~3ull);
			if (next > end)
				break;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(at + name, "GNU", 4) == 0 &&
			    nh.n_descsz >= 2 && nh.n_descsz <= 20) {
				for (unsigned k = 0; k < nh.n_descsz; k++)
					snprintf(out + 2 * k, 3, "%02x", at[desc + k]);
				return;
			}
			o = next;
		}
	}
}

/* NT_FILE: count, page size, then count (start, end, file offset in
 * pages), then count names. */
struct nt_file {
	uint64_t start, end, offset;
	const char *name;
};

static size_t parse_nt_file(const unsigned char *d, size_t len, struct nt_file **out)
{
	uint64_t count, page;
	*out = NULL;
	if (len < 16)
		return 0;
	memcpy(&count, d, 8);
	memcpy(&page, d + 8, 8);
	if (count > (len - 16) / 24)
		return 0;
	struct nt_file *v = hs_xcalloc(count + 1, sizeof *v);
	const char *name = (const char *)d + 16 + count * 24, *end = (const char *)d + len;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t e[3];
		memcpy(e, d + 16 + i * 24, sizeof e);
		const char *z = name < end ? memchr(name, 0, (size_t)(end - name)) : NULL;
		if (!z || e[1] < e[0]) {
			free(v);
			return 0;
		}
		v[i] = (struct nt_file){e[0], e[1], e[2] * page, name};
		name = z + 1;
	}
	*out = v;
	return (size_t)count;
}

static unsigned prot_of(uint32_t pf)
{
	return (pf & PF_R ? PROT_READ : 0) | (pf & PF_W ? PROT_WRITE : 0) | (pf & PF_X ? PROT_EXEC : 0);
}

/* The protection the loader gave the file's bytes at offset off: its
 * PT_LOAD that holds them (a mapping the core does not hold says nothing
 * of itself). PROT_READ when the file does not say. */
static unsigned file_prot(const struct hs_core_file *f, uint64_t off)
{
	Elf64_Ehdr eh;
	if (!f->map || f->size < sizeof eh)
		return PROT_READ;
	memcpy(&eh, f->map, sizeof eh);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > f->size ||
	    (f->size - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum)
		return PROT_READ;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, f->map + eh.e_phoff + i * sizeof ph, sizeof ph);
		uint64_t lo = ph.p_offset & ~(HS_PAGE_SIZE - 1);
		if (ph.p_type == PT_LOAD && off >= lo && off < ph.p_offset + ph.p_filesz)
			return prot_of(ph.p_flags);
	}
	return PROT_READ;
}

static const char another_build[] = "another build (its build-id differs)";

/* Opens and verifies the file behind f: the very object the process
 * mapped, by build-id (the core's copy of its first page names it). */
static void open_file(struct hs_core_file *f, const char *exe, int rootfd)
{
	f->fd = -1;
	if (!f->build_id[0]) {
		f->why = "the core holds no build-id for it";
		return;
	}
	const char *why = NULL;
	int fd = exe ? hs_rootfs_file(HS_ROOTFS_HOST, exe, HS_ROOTFS_MAX_FILE, &why)
		     : hs_rootfs_file(rootfd >= 0 ? rootfd : HS_ROOTFS_HOST, f->path, HS_ROOTFS_MAX_FILE, &why);
	if (fd < 0) {
		f->why = "not found on this machine";
		return;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	void *map = size > 0 ? mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	if (map == MAP_FAILED) {
		close(fd);
		f->why = "not readable";
		return;
	}
	build_id(map, (size_t)size, f->found_id);
	if (strcmp(f->found_id, f->build_id) != 0) {
		munmap(map, (size_t)size);
		close(fd);
		f->why = another_build;
		return;
	}
	f->fd = fd;
	f->map = map;
	f->size = (size_t)size;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct hs_core_seg *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int cmp_map(const void *a, const void *b)
{
	const struct hs_map *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_task(const void *a, const void *b)
{
	const struct hs_task *x = a, *y = b;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static void add_map(struct hs_maps *m, size_t *cap, uint64_t start, uint64_t end, unsigned prot)
{
	if (m->n == *cap)
		m->v = hs_xrealloc(m->v, *cap = *cap ? 2 * *cap : 64, sizeof *m->v);
	m->v[m->n++] = (struct hs_map){.start = start, .end = end, .prot = prot};
}

/* The address space: every PT_LOAD segment (the kernel writes one per
 * mapping; gdb one per mapping it dumped), and the parts of NT_FILE's
 * mappings no segment covers; each named after its file. */
static void build_maps(struct hs_core *c, const struct nt_file *nf, size_t nnf, const unsigned *seg_prot,
		       const struct hs_core_seg *raw, size_t nraw)
{
	struct hs_maps *m = &c->src.maps;
	size_t cap = 0;
	for (size_t i = 0; i < nraw; i++)
		if (raw[i].memsz)
			add_map(m, &cap, raw[i].vaddr, raw[i].vaddr + raw[i].memsz, seg_prot[i]);
	for (size_t j = 0; j < nnf; j++) {
		uint64_t a = nf[j].start;
		while (a < nf[j].end) {
			/* the next segment at or after a, within the entry */
			uint64_t b = nf[j].end, skip = 0;
			for (size_t i = 0; i < nraw; i++) {
				uint64_t s = raw[i].vaddr, e = raw[i].vaddr + raw[i].memsz;
				if (s <= a && a < e) {
					skip = e;
					break;
				}
				if (s > a && s < b)
					b = s;
			}
			if (skip) {
				a = skip;
				continue;
			}
			int k = -1;
			for (size_t f = 0; f < c->nfiles && k < 0; f++)
				if (strcmp(c->files[f].path, nf[j].name) == 0)
					k = (int)f;
			add_map(m, &cap, a, b, file_prot(&c->files[k], nf[j].offset + (a - nf[j].start)));
			a = b;
		}
	}
	qsort(m->v, m->n, sizeof *m->v, cmp_map);
	c->map_file = hs_xcalloc(m->n + 1, sizeof *c->map_file);
	for (size_t i = 0; i < m->n; i++) {
		struct hs_map *x = &m->v[i];
		c->map_file[i] = -1;
		const struct nt_file *e = NULL;
		for (size_t j = 0; j < nnf && !e; j++)
			if (x->start >= nf[j].start && x->start < nf[j].end)
				e = &nf[j];
		x->path = hs_xstrdup(e ? e->name : "");
		if (!e)
			continue;
		x->offset = e->offset + (x->start - e->start);
		for (size_t f = 0; f < c->nfiles; f++)
			if (strcmp(c->files[f].path, e->name) == 0 && c->files[f].fd >= 0)
				c->map_file[i] = (int)f;
	}
}

/* The files NT_FILE names, once each, with the build-id the core holds
 * for each (from the mapping of its offset 0), then opened and checked. */
static void find_files(struct hs_core *c, const struct nt_file *nf, size_t nnf, const char *exe)
{
	c->files = hs_xcalloc(nnf + 1, sizeof *c->files);
	for (size_t j = 0; j < nnf; j++) {
		bool seen = false;
		for (size_t f = 0; f < c->nfiles && !seen; f++)
			seen = strcmp(c->files[f].path, nf[j].name) == 0;
		if (seen)
			continue;
		struct hs_core_file *f = &c->files[c->nfiles++];
		f->path = hs_xstrdup(nf[j].name);
		f->fd = -1;
		for (size_t k = 0; k < nnf && !f->build_id[0]; k++) {
			if (nf[k].offset != 0 || strcmp(nf[k].name, f->path) != 0)
				continue;
			const struct hs_core_seg *s = seg_at(c, nf[k].start);
			if (s)
				build_id(s->data + (nf[k].start - s->vaddr),
					 (size_t)(s->filesz - (nf[k].start - s->vaddr)), f->build_id);
		}
		bool is_exe = exe && c->exe[0] && strcmp(f->path, c->exe) == 0;
		open_file(f, is_exe ? exe : NULL, c->rootfd);
	}
}

/* The EXECUTABLE operand is the user's word that it is the program: one
 * that is not (missing, another build, nothing to check it by) is a usage
 * error, never quietly passed over. */
static int check_exe(const struct hs_core *c, const char *exe, struct hs_err *err)
{
	const struct hs_core_file *f = c->exe[0] ? hs_core_file(c, c->exe) : NULL;
	if (!f)
		return hs_fail(err, HS_EUSAGE, "core %s names no executable (no AT_ENTRY in a mapped file): %s cannot be checked against it",
			       c->path, exe);
	if (f->fd >= 0)
		return 0;
	if (f->why == another_build)
		return hs_fail(err, HS_EUSAGE, "%s is not the program of core %s: its build-id is %s, that of the core's executable %s is %s",
			       exe, c->path, f->found_id[0] ? f->found_id : "none", f->path, f->build_id);
	return hs_fail(err, HS_EUSAGE, "EXECUTABLE %s: %s (the core's executable %s)", exe, f->why, f->path);
}

static int note(struct hs_core *c, GElf_Nhdr *nh, const char *name, const unsigned char *desc,
		struct nt_file **nf, size_t *nnf, size_t *cap)
{
	if (strcmp(name, "CORE") != 0)
		return 0;
	if (nh->n_type == NT_PRSTATUS) {
		if (c->ntasks == *cap) {
			*cap = *cap ? 2 * *cap : 8;
			c->tasks = hs_xrealloc(c->tasks, *cap, sizeof *c->tasks);
			c->regwords = hs_xrealloc(c->regwords, *cap, sizeof *c->regwords);
			c->nregwords = hs_xrealloc(c->nregwords, *cap, sizeof *c->nregwords);
		}
		struct hs_task *k = &c->tasks[c->ntasks];
		memset(k, 0, sizeof *k);
		int n = hs_arch_core_prstatus(desc, nh->n_descsz, &k->tid, &k->regs, c->regwords[c->ntasks],
					      HS_MAX_REG_WORDS);
		if (n < 0)
			return -1;
		k->attached = true;
		c->nregwords[c->ntasks++] = n;
	} else if (nh->n_type == NT_PRPSINFO && nh->n_descsz == sizeof(struct elf_prpsinfo)) {
		struct elf_prpsinfo ps;
		memcpy(&ps, desc, sizeof ps);
		c->pid = ps.pr_pid;
	} else if (nh->n_type == NT_AUXV) {
		for (size_t o = 0; o + 16 <= nh->n_descsz; o += 16) {
			uint64_t kv[2];
			memcpy(kv, desc + o, sizeof kv);
			if (kv[0] == AT_ENTRY)
				c->entry = kv[1];
		}
	} else if (nh->n_type == NT_FILE && !*nf) {
		*nnf = parse_nt_file(desc, nh->n_descsz, nf);
	}
	return 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* One message for every cut: need is the size the headers read so far
 * describe. */
static int truncated(const struct hs_core *c, uint64_t need, struct hs_err *err)
{
	return hs_fail(err, HS_EUNSUPPORTED,
		       "core %s is truncated: %zu bytes, its program headers describe %llu (cut short by a size limit or a full disk?)",
		       c->path, c->size, (unsigned long long)need);
}

int hs_core_open(struct hs_core *c, const char *path, const char *exe, const char *sysroot, struct hs_err *err)
{
	memset(c, 0, sizeof *c);
	c->fd = c->rootfd = -1;
	c->path = path;
	c->sysroot = sysroot;
	c->src.read = core_read;
	c->src.pages = core_pages;
	/* the root the core's files are resolved in, once: a path that is
	 * not a directory is the user's mistake, not a missing libc */
	if (sysroot && (c->rootfd = open(sysroot, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return hs_fail(err, HS_EUSAGE, "--sysroot=%s: %s", sysroot, strerror(errno));
	const char *why = NULL;
	c->fd = hs_rootfs_file(HS_ROOTFS_HOST, path, ~0ull, &why);
	if (c->fd < 0)
		return hs_fail(err, HS_EUSAGE, "cannot open core %s: %s", path, why ? why : strerror(errno));
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(c->fd, ELF_C_READ_MMAP, NULL);
	c->elf = elf;
	GElf_Ehdr eh;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return hs_fail(err, HS_EUSAGE, "%s is not an ELF core file (not ELF)", path);
	if (eh.e_type != ET_CORE)
		return hs_fail(err, HS_EUSAGE, "%s is an ELF file but not a core (type %u)", path, eh.e_type);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return hs_fail(err, HS_EUNSUPPORTED, "core %s is of another machine (ELF machine %u, class %u); heapscope reads %s cores",
			       path, eh.e_machine, eh.e_ident[EI_CLASS], hs_arch.name);
	c->image = (const unsigned char *)elf_rawfile(elf, &c->size);
	/* A core cut inside its own headers is said as one cut after them:
	 * truncated, whatever libelf would make of the rest (it reads a short
	 * table as none). The file's own header words, then: over 65534
	 * program headers (gdb's cores of many mappings), their count is in
	 * section header 0. */
	Elf64_Ehdr rh;
	if (!c->image || c->size < sizeof rh)
		return hs_fail(err, HS_EUNSUPPORTED, "core %s: its ELF header cannot be read", path);
	memcpy(&rh, c->image, sizeof rh);
	uint64_t nph = rh.e_phnum;
	if (rh.e_phnum == PN_XNUM) {
		Elf64_Shdr sh0;
		if (rh.e_shoff > c->size || c->size - rh.e_shoff < sizeof sh0)
			return truncated(c, sat_add(rh.e_shoff, sizeof sh0), err);
		memcpy(&sh0, c->image + rh.e_shoff, sizeof sh0);
		nph = sh0.sh_info;
	}
	if (nph && rh.e_phentsize != sizeof(Elf64_Phdr))
		return hs_fail(err, HS_EUNSUPPORTED, "core %s: its program headers are %u bytes each, not %zu", path,
			       rh.e_phentsize, sizeof(Elf64_Phdr));
	if (rh.e_phoff > c->size || (c->size - rh.e_phoff) / sizeof(Elf64_Phdr) < nph)
		return truncated(c, sat_add(rh.e_phoff, nph * sizeof(Elf64_Phdr)), err);
	/* then the segments and notes they describe, before any is read */
	uint64_t need = 0;
	for (uint64_t i = 0; i < nph; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, c->image + rh.e_phoff + i * sizeof ph, sizeof ph);
		uint64_t end = sat_add(ph.p_offset, ph.p_filesz);
		if ((ph.p_type == PT_LOAD || ph.p_type == PT_NOTE) && end > need)
			need = end;
	}
	if (need > c->size)
		return truncated(c, need, err);
	size_t n = 0;
	if (elf_getphdrnum(elf, &n) != 0 || n != nph)
		return hs_fail(err, HS_EUNSUPPORTED, "core %s: its program headers cannot be read: %s", path,
			       elf_errmsg(-1));
	struct hs_core_seg *raw = hs_xcalloc(nph + 1, sizeof *raw);
	unsigned *prot = hs_xcalloc(nph + 1, sizeof *prot);
	size_t nraw = 0, cap = 0, nnf = 0;
	struct nt_file *nf = NULL;
	int rc = 0;
	for (size_t i = 0; i < nph && !rc; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph)) {
			rc = hs_fail(err, HS_EUNSUPPORTED, "core %s: program header %zu cannot be read", path, i);
			break;
		}
		if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
			continue;
		if (ph.p_type == PT_LOAD) {
			raw[nraw] = (struct hs_core_seg){ph.p_vaddr, ph.p_filesz < ph.p_memsz ? ph.p_filesz : ph.p_memsz,
							 ph.p_memsz, c->image + ph.p_offset};
			prot[nraw++] = prot_of(ph.p_flags);
			continue;
		}
		Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		GElf_Nhdr nh;
		size_t off = 0, name, desc;
		while (d && !rc && (off = gelf_getnote(d, off, &nh, &name, &desc)) > 0)
			if (note(c, &nh, (const char *)d->d_buf + name, (const unsigned char *)d->d_buf + desc, &nf, &nnf,
				 &cap) < 0)
				rc = hs_fail(err, HS_EUNSUPPORTED, "core %s: a thread's registers are not %s's", path,
					     hs_arch.name);
	}
	if (!rc && !c->ntasks)
		rc = hs_fail(err, HS_EUNSUPPORTED, "core %s has no thread (no NT_PRSTATUS note)", path);
	else if (!rc && !nnf)
		rc = hs_fail(err, HS_EUNSUPPORTED, "core %s has no NT_FILE note: its mapped files are unknown", path);
	if (!rc) {
		c->segs = hs_xcalloc(nraw + 1, sizeof *c->segs);
		memcpy(c->segs, raw, nraw * sizeof *raw);
		c->nsegs = nraw;
		qsort(c->segs, c->nsegs, sizeof *c->segs, cmp_seg);
		if (!c->pid)
			c->pid = c->tasks[0].tid;
		qsort(c->tasks, c->ntasks, sizeof *c->tasks, cmp_task); /* as /proc/PID/task lists them */
		for (size_t j = 0; j < nnf; j++)
			if (c->entry >= nf[j].start && c->entry < nf[j].end)
				snprintf(c->exe, sizeof c->exe, "%s", nf[j].name);
		find_files(c, nf, nnf, exe);
		build_maps(c, nf, nnf, prot, raw, nraw);
		if (exe)
			rc = check_exe(c, exe, err);
	}
	free(nf);
	free(raw);
	free(prot);
	return rc;
}

const struct hs_core_file *hs_core_file(const struct hs_core *c, const char *path)
{
	for (size_t f = 0; f < c->nfiles; f++)
		if (strcmp(c->files[f].path, path) == 0)
			return &c->files[f];
	return NULL;
}

int hs_core_file_fd(const struct hs_core *c, const char *path)
{
	const struct hs_core_file *f = hs_core_file(c, path);
	return f && f->fd >= 0 ? fcntl(f->fd, F_DUPFD_CLOEXEC, 0) : -1;
}

void hs_core_close(struct hs_core *c)
{
	for (size_t f = 0; f < c->nfiles; f++) {
		if (c->files[f].map)
			munmap((void *)c->files[f].map, c->files[f].size);
		if (c->files[f].fd >= 0)
			close(c->files[f].fd);
		free(c->files[f].path);
	}
	free(c->files);
	free(c->segs);
	free(c->map_file);
	free(c->tasks);
	free(c->regwords);
	free(c->nregwords);
	hs_maps_free(&c->src.maps);
	if (c->elf)
		elf_end(c->elf);
	if (c->fd >= 0)
		close(c->fd);
	if (c->rootfd >= 0)
		close(c->rootfd);
	memset(c, 0, sizeof *c);
	c->fd = c->rootfd = -1;
}
