/* test_held.c - a process another tracer holds (source/held.h): the
 * program counter and stack pointer from /proc's syscall line, and each
 * thread's thread pointer found in its memory, checked against what the
 * threads themselves say (pthread_self(), which is the thread pointer on
 * x86_64, and gettid()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "source/held.h"
#include "source/target.h"

static void test_pc_sp(void **state)
{
	(void)state;
	struct hs_regs r = {.tp = 7};
	assert_true(hs_held_pc_sp("34 0x0 0x0 0x2 0x7f9c0f767528 0x0 0x73 0x7fff88008aa0 0x7f9c0f823df2\n", &r));
	assert_int_equal(r.sp, 0x7fff88008aa0);
	assert_int_equal(r.pc, 0x7f9c0f823df2);
	assert_int_equal(r.tp, 7); /* left as it was */
	assert_true(hs_held_pc_sp("-1 0x7ffc00001000 0x401000\n", &r)); /* stopped outside a system call */
	assert_int_equal(r.sp, 0x7ffc00001000);
	assert_int_equal(r.pc, 0x401000);
	assert_false(hs_held_pc_sp("running\n", &r));
	assert_false(hs_held_pc_sp("", &r));
	assert_false(hs_held_pc_sp("34 0x0 0x0\n", &r)); /* neither form */
}

#define NTHREADS 4

struct said {
	pid_t tid;
	uint64_t tp, sp;
};

static int out_fd;

static void say(void)
{
	int local = 0;
	struct said s = {gettid(), (uint64_t)pthread_self(), (uint64_t)(uintptr_t)&local};
	if (write(out_fd, &s, sizeof s) != (ssize_t)sizeof s)
		_exit(30);
}

static void *thread(void *arg)
{
	(void)arg;
	say();
	for (;;)
		pause();
	return NULL;
}

static void test_thread_pointers(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		out_fd = p[1];
		for (int i = 1; i < NTHREADS; i++) {
			pthread_t th;
			if (pthread_create(&th, NULL, thread, NULL) != 0)
				_exit(31);
		}
		say();
		for (;;)
			pause();
	}
	close(p[1]);
	struct said s[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(read(p[0], &s[i], sizeof s[i]), sizeof s[i]);
	close(p[0]);
	struct hs_target t;
	struct hs_err err = {0};
	assert_int_equal(hs_target_open(&t, pid, &err), 0);
	assert_int_equal(hs_maps_read(pid, &t.src.maps, &err), 0);
	pid_t tids[NTHREADS];
	uint64_t sps[NTHREADS], tps[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		tids[i] = s[i].tid;
		sps[i] = s[i].sp;
	}
	assert_int_equal(hs_held_thread_pointers(&t.src, &t.src.maps, tids, sps, NTHREADS, tps), NTHREADS);
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(tps[i], s[i].tp);
	/* a thread id no block holds: not found, the others still are */
	tids[0] = 1;
	assert_int_equal(hs_held_thread_pointers(&t.src, &t.src.maps, tids, sps, NTHREADS, tps), NTHREADS - 1);
	assert_int_equal(tps[0], 0);
	hs_target_close(&t);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pc_sp),
		cmocka_unit_test(test_thread_pointers),
	};
	return cmocka_run_group_tests_name("held", tests, NULL, NULL);
}
