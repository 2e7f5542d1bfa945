/* test_core.c - an ELF core file as a memory source (source/core): a
 * core written here byte by byte, the way the kernel writes one with its
 * default coredump_filter (a library's first page dumped, the rest of its
 * mapping not), beside the library's file. The bytes the core holds are
 * read from it; the pages it does not hold from the file, only when the
 * file's build-id is the one the core's copy of its first page names;
 * otherwise they are absent (EFAULT, HS_PAGE_NONE), never invented. The
 * threads come from NT_PRSTATUS, the pid from NT_PRPSINFO, the
 * executable from NT_AUXV's AT_ENTRY; a truncated core and a file that is
 * not ELF are refused with their exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <unistd.h>

#include "source/core.h"

#define PG 4096
#define LIB_VADDR 0x10000000ull
#define ANON_VADDR 0x20000000ull
#define TP 0x7f0000001000ull

static char dir[64], lib[128], corepath[128];

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + 3);
}

/* An x86_64 ELF header at out, its nph program headers right after it. */
static void put_ehdr(unsigned char *out, unsigned type, unsigned nph)
{
	Elf64_Ehdr eh = {.e_type = (Elf64_Half)type, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			 .e_phoff = sizeof eh, .e_ehsize = sizeof eh, .e_phentsize = sizeof(Elf64_Phdr),
			 .e_phnum = (Elf64_Half)nph};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(out, &eh, sizeof eh);
}

/* A 3-page ELF shared object whose build-id is 20 bytes of idbyte. */
static void write_lib(const char *path, unsigned char idbyte)
{
	static unsigned char f[3 * PG];
	for (size_t i = 0; i < sizeof f; i++)
		f[i] = pattern(i);
	memset(f, 0, 0x300);
	put_ehdr(f, ET_DYN, 2);
	Elf64_Phdr ph[2] = {
		{.p_type = PT_LOAD, .p_flags = PF_R, .p_offset = 0, .p_filesz = sizeof f, .p_memsz = sizeof f},
		{.p_type = PT_NOTE, .p_flags = PF_R, .p_offset = 0x200, .p_filesz = 12 + 4 + 20, .p_memsz = 36},
	};
	memcpy(f + sizeof(Elf64_Ehdr), ph, sizeof ph);
	Elf64_Nhdr nh = {4, 20, NT_GNU_BUILD_ID};
	memcpy(f + 0x200, &nh, sizeof nh);
	memcpy(f + 0x200 + sizeof nh, "GNU", 4);
	memset(f + 0x200 + sizeof nh + 4, idbyte, 20);
	FILE *o = fopen(path, "w");
	assert_non_null(o);
	assert_int_equal(fwrite(f, 1, sizeof f, o), sizeof f);
	fclose(o);
}

static size_t put_note(unsigned char *at, unsigned type, const void *desc, size_t len)
{
	Elf64_Nhdr nh = {5, (Elf64_Word)len, type};
	memcpy(at, &nh, sizeof nh);
	memcpy(at + sizeof nh, "CORE", 5);
	memcpy(at + sizeof nh + 8, desc, len);
	return sizeof nh + 8 + ((len + 3) & ~(size_t)3);
}

/* The core: notes, the library's first page (its mapping is 3 pages),
 * one anonymous page of 0x5a. Returns its size. */
static size_t write_core(const char *path, const char *libpath)
{
	static unsigned char c[4 * PG];
	memset(c, 0, sizeof c);
	put_ehdr(c, ET_CORE, 3);

	size_t n = 0x200;
	struct elf_prstatus st;
	memset(&st, 0, sizeof st);
	st.pr_pid = 4321;
	struct user_regs_struct *u = (struct user_regs_struct *)&st.pr_reg;
	u->fs_base = TP;
	u->rsp = 0x7ffd0000;
	u->rip = 0x401000;
	n += put_note(c + n, NT_PRSTATUS, &st, sizeof st);
	struct elf_prpsinfo ps;
	memset(&ps, 0, sizeof ps);
	ps.pr_pid = 4321;
	n += put_note(c + n, NT_PRPSINFO, &ps, sizeof ps);
	uint64_t auxv[4] = {AT_ENTRY, LIB_VADDR + PG + 0x10, AT_NULL, 0};
	n += put_note(c + n, NT_AUXV, auxv, sizeof auxv);
	unsigned char nf[256] = {0};
	uint64_t hdr[5] = {1, PG, LIB_VADDR, LIB_VADDR + 3 * PG, 0};
	memcpy(nf, hdr, sizeof hdr);
	size_t nl = strlen(libpath) + 1;
	memcpy(nf + sizeof hdr, libpath, nl);
	n += put_note(c + n, 0x46494c45 /* NT_FILE */, nf, sizeof hdr + nl);
	size_t notes_end = n;

	/* the library's first page as the process had it: the file's */
	FILE *l = fopen(libpath, "r");
	assert_non_null(l);
	assert_int_equal(fread(c + PG, 1, PG, l), PG);
	fclose(l);
	memset(c + 2 * PG, 0x5a, PG);
	Elf64_Phdr ph[3] = {
		{.p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = notes_end - 0x200},
		{.p_type = PT_LOAD, .p_flags = PF_R, .p_offset = PG, .p_vaddr = LIB_VADDR, .p_filesz = PG,
		 .p_memsz = 3 * PG},
		{.p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = 2 * PG, .p_vaddr = ANON_VADDR, .p_filesz = PG,
		 .p_memsz = PG},
	};
	memcpy(c + sizeof(Elf64_Ehdr), ph, sizeof ph);
	FILE *o = fopen(path, "w");
	assert_non_null(o);
	assert_int_equal(fwrite(c, 1, 3 * PG, o), 3 * PG);
	fclose(o);
	return 3 * PG;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/hs-test-core.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(lib, sizeof lib, "%s/libx.so", dir);
	snprintf(corepath, sizeof corepath, "%s/core", dir);
	write_lib(lib, 0xab);
	write_core(corepath, lib);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char p[192];
	const char *names[] = {"libx.so", "core", "cut", "text"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

static void test_reads_core_and_file(void **state)
{
	(void)state;
	write_lib(lib, 0xab);
	struct hs_core c;
	struct hs_err err = {0};
	assert_int_equal(hs_core_open(&c, corepath, NULL, NULL, &err), 0);
	/* the threads, the pid, the executable (the mapping of AT_ENTRY) */
	assert_int_equal(c.ntasks, 1);
	assert_int_equal(c.tasks[0].tid, 4321);
	assert_true(c.tasks[0].attached);
	assert_int_equal(c.tasks[0].regs.tp, TP);
	assert_int_equal(c.tasks[0].regs.sp, 0x7ffd0000);
	assert_int_equal(c.pid, 4321);
	assert_string_equal(c.exe, lib);
	assert_true(c.nregwords[0] > 0);

	/* from the core: the anonymous page, the library's first page */
	unsigned char b[PG];
	assert_int_equal(hs_read(&c.src, ANON_VADDR + 100, b, 16), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(b[i], 0x5a);
	/* the core's own segments hold the library's first page, not its
	 * second (that one comes from the file) */
	bool first = false, second = false;
	for (size_t i = 0; i < c.nsegs; i++) {
		first |= LIB_VADDR - c.segs[i].vaddr < c.segs[i].filesz && LIB_VADDR + PG - c.segs[i].vaddr <= c.segs[i].filesz;
		second |= LIB_VADDR + PG - c.segs[i].vaddr < c.segs[i].filesz;
	}
	assert_true(first);
	assert_false(second);
	/* from the file: pages 1 and 2, and a read across the core's page
	 * into the file's */
	assert_int_equal(hs_read(&c.src, LIB_VADDR + PG, b, PG), 0);
	for (size_t i = 0; i < PG; i++)
		assert_int_equal(b[i], pattern(PG + i));
	assert_int_equal(hs_read(&c.src, LIB_VADDR + PG - 8, b, 16), 0);
	for (size_t i = 0; i < 16; i++)
		assert_int_equal(b[i], pattern(PG - 8 + i));
	/* nothing mapped there */
	errno = 0;
	assert_int_equal(hs_read(&c.src, 0x30000000, b, 8), -1);
	assert_int_equal(errno, EFAULT);
	unsigned char st[3];
	assert_int_equal(hs_pages(&c.src, LIB_VADDR, 3, st), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(st[i], HS_PAGE_PRESENT);
	assert_int_equal(hs_pages(&c.src, 0x30000000, 1, st), 0);
	assert_int_equal(st[0], HS_PAGE_NONE);
	/* the address space: the library's 3 pages, named, read-only */
	const struct hs_map *m = hs_maps_find(&c.src.maps, LIB_VADDR + 2 * PG);
	assert_non_null(m);
	assert_string_equal(m->path, lib);
	int fd = hs_core_file_fd(&c, lib);
	assert_true(fd >= 0);
	close(fd);
	hs_core_close(&c);
}

static void test_other_build_is_absent(void **state)
{
	(void)state;
	write_lib(lib, 0xcd); /* the same path, another build */
	struct hs_core c;
	struct hs_err err = {0};
	assert_int_equal(hs_core_open(&c, corepath, NULL, NULL, &err), 0);
	unsigned char b[16];
	/* the core's own page still reads; the file's pages do not */
	assert_int_equal(hs_read(&c.src, LIB_VADDR, b, 16), 0);
	errno = 0;
	assert_int_equal(hs_read(&c.src, LIB_VADDR + PG, b, 16), -1);
	assert_int_equal(errno, EFAULT);
	unsigned char st[2];
	assert_int_equal(hs_pages(&c.src, LIB_VADDR + PG, 2, st), 0);
	assert_int_equal(st[0], HS_PAGE_NONE);
	assert_int_equal(st[1], HS_PAGE_NONE);
	assert_int_equal(hs_core_file_fd(&c, lib), -1);
	const struct hs_core_file *f = hs_core_file(&c, lib);
	assert_non_null(f);
	assert_string_equal(f->build_id, "abababababababababababababababababababab");
	assert_non_null(strstr(f->why, "build-id differs"));
	hs_core_close(&c);
	write_lib(lib, 0xab);
}

static void test_truncated_and_not_elf(void **state)
{
	(void)state;
	char cut[192], text[192];
	snprintf(cut, sizeof cut, "%s/cut", dir);
	snprintf(text, sizeof text, "%s/text", dir);
	FILE *in = fopen(corepath, "r"), *out = fopen(cut, "w");
	assert_non_null(in);
	assert_non_null(out);
	unsigned char buf[PG * 2 + 100];
	assert_int_equal(fread(buf, 1, sizeof buf, in), sizeof buf);
	fwrite(buf, 1, sizeof buf, out);
	fclose(in);
	fclose(out);
	struct hs_core c;
	struct hs_err err = {0};
	assert_int_equal(hs_core_open(&c, cut, NULL, NULL, &err), HS_EUNSUPPORTED);
	assert_non_null(strstr(err.msg, "is truncated"));
	hs_core_close(&c);

	out = fopen(text, "w");
	assert_non_null(out);
	fputs("not a core\n", out);
	fclose(out);
	memset(&err, 0, sizeof err);
	assert_int_equal(hs_core_open(&c, text, NULL, NULL, &err), HS_EUSAGE);
	assert_non_null(strstr(err.msg, "not ELF"));
	hs_core_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_core_and_file),
		cmocka_unit_test(test_other_build_is_absent),
		cmocka_unit_test(test_truncated_and_not_elf),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
