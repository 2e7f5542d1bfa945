/* test_confine.c - once confined, every call that could change another
 * process (or this one through /proc) is refused with EPERM. Runs in a
 * child, since the filter cannot be lifted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "source/confine.h"

/* Exit status of the child: 0 when every forbidden call failed as it must. */
static int child(void)
{
	struct hs_err err = {0};
	if (hs_confine(HS_CONFINE_NO_WRITES, &err) || hs_confine(HS_CONFINE_NO_OPEN_FOR_WRITE, &err))
		return 10;
	static char target[16] = "untouched";
	char src[16] = "overwritten";
	struct iovec l = {src, sizeof src}, r = {target, sizeof target};
	if (process_vm_writev(getpid(), &l, 1, &r, 1, 0) != -1 || errno != EPERM)
		return 11;
	if (ptrace(PTRACE_POKEDATA, getppid(), target, 0) != -1 || errno != EPERM)
		return 12;
	if (ptrace(PTRACE_SETREGS, getppid(), 0, 0) != -1 || errno != EPERM)
		return 13;
	if (open("/proc/self/mem", O_RDWR) != -1 || errno != EPERM)
		return 14;
	if (open("/proc/self/mem", O_WRONLY) != -1 || errno != EPERM)
		return 15;
	int fd = open("/proc/self/mem", O_RDONLY); /* reading stays allowed */
	if (fd < 0)
		return 16;
	close(fd);
	return strcmp(target, "untouched") ? 17 : 0;
}

static void test_forbidden_calls_refused(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child());
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden_calls_refused),
	};
	return cmocka_run_group_tests_name("confine", tests, NULL, NULL);
}
