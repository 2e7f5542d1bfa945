/* test_symbols_root.c - the symbols stage on a root of files with no
 * process behind it (hs_symbols_load_root, fuzz_symbols' entry point):
 * this host's libc, written into a temporary root, read as a container's
 * would be; and the same libc made hostile the way fuzz_symbols found:
 * a PT_TLS block of 2^60 bytes, which threads.c's scan would walk word by
 * word with the target stopped, must not be taken. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glibc/symbols.h"
#include "source/image.h"

#define AT 0x7f0000000000ull
#define DIR "/usr/lib/x86_64-linux-gnu"

/* This process's libc, as its maps name it. */
static unsigned char *own_libc(size_t *size)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[PATH_MAX + 128], path[PATH_MAX] = "";
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "/libc.so.6") || strstr(line, "/libc-2."))
			sscanf(strchr(line, '/'), "%4095s", path);
	if (f)
		fclose(f);
	assert_true(path[0]);
	int fd = open(path, O_RDONLY);
	struct stat st;
	assert_true(fd >= 0 && fstat(fd, &st) == 0);
	unsigned char *b = malloc((size_t)st.st_size);
	assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
	close(fd);
	*size = (size_t)st.st_size;
	return b;
}

/* Loads bytes as ROOT/usr/lib/.../libc.so.6 (symbol-free: no debug file
 * needed) and returns the rc; *tls the TLS block size it took. */
static int load_as_root(const unsigned char *b, size_t size, uint64_t *tls, char *version)
{
	char root[] = "/tmp/hs-symroot.XXXXXX", path[PATH_MAX];
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof path, "%s/usr", root), mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/usr/lib", root), mkdir(path, 0755);
	snprintf(path, sizeof path, "%s" DIR, root), mkdir(path, 0755);
	snprintf(path, sizeof path, "%s" DIR "/libc.so.6", root);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(write(fd, b, size), (ssize_t)size);
	close(fd);
	struct hs_image im;
	hs_image_init(&im);
	memcpy(hs_image_add(&im, AT, (size + 0xffff) & ~(size_t)0xffff, DIR "/libc.so.6"), b, size);
	int rootfd = open(root, O_PATH | O_DIRECTORY);
	struct hs_symbols_opts o = {.no_debuginfo = true};
	struct hs_symbols s;
	struct hs_err err = {0};
	int rc = hs_symbols_load_root(&im.src, rootfd, "", "", &o, &s, &err);
	if (rc)
		print_message("load: %s\n", err.msg);
	*tls = s.tls_size;
	snprintf(version, 32, "%s", s.version);
	hs_symbols_free(&s);
	close(rootfd);
	hs_image_free(&im);
	unlink(path);
	snprintf(path, sizeof path, "rm -rf '%s'", root);
	assert_int_equal(system(path), 0);
	return rc;
}

static void test_root_of_files(void **state)
{
	(void)state;
	size_t size;
	unsigned char *b = own_libc(&size);
	uint64_t tls;
	char version[32];
	assert_int_equal(load_as_root(b, size, &tls, version), 0);
	assert_true(tls > 0 && tls < 4096); /* libc's own block, a few hundred bytes */
	assert_true(strncmp(version, "2.", 2) == 0);
	free(b);
}

static void test_huge_tls_block_is_not_taken(void **state)
{
	(void)state;
	size_t size;
	unsigned char *b = own_libc(&size);
	elf_version(EV_CURRENT);
	Elf *elf = elf_memory((char *)b, size);
	GElf_Ehdr eh;
	assert_non_null(gelf_getehdr(elf, &eh));
	size_t at = 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_TLS)
			at = eh.e_phoff + (size_t)i * eh.e_phentsize + offsetof(Elf64_Phdr, p_memsz);
	}
	elf_end(elf);
	assert_true(at > 0);
	uint64_t huge = 1ull << 60;
	memcpy(b + at, &huge, sizeof huge);
	uint64_t tls;
	char version[32];
	assert_int_equal(load_as_root(b, size, &tls, version), 0);
	assert_true(tls == 0); /* no block: the scan does not run */
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_of_files),
		cmocka_unit_test(test_huge_tls_block_is_not_taken),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
