/* The manager's event-driven waits (src/manager/proc_wait.c): a pidfd only for the process
 * that was meant (not a later one with its pid), a wait that ends when the process does (with
 * no time limit: a wait that missed the end would hang, and meson's timeout fails the test),
 * that runs out while the process lives, and a folder watch that wakes on a new file. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "manager/proc_wait.h"
#include "manager/util.h"

/* A child that lives until its end of the pipe is written to or closed. */
static pid_t child(int *release)
{
	int p[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		_exit(read(p[0], &c, 1) < 0 ? 1 : 0);
	}
	close(p[0]);
	*release = p[1];
	return pid;
}

static void test_pidfd_is_that_process(void **state)
{
	int release, fd;
	pid_t pid = child(&release);
	unsigned long long start = mgr_proc_start(pid);

	(void)state;
	assert_true(start != 0);
	fd = mgr_pidfd(pid, start + 1); /* another process's start time: not ours */
	assert_int_equal(fd, -1);
	fd = mgr_pidfd(pid, start);
	assert_true(fd >= 0);
	close(fd);
	close(release);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(mgr_pidfd(pid, start), -1); /* gone */
	assert_int_equal(mgr_pidfd(0, 0), -1);
}

static void test_wait_ends_with_the_process(void **state)
{
	int release, fds[2] = {-1, -1};
	pid_t pid = child(&release);

	(void)state;
	fds[1] = mgr_pidfd(pid, mgr_proc_start(pid));
	assert_true(fds[1] >= 0);
	/* Alive: the time runs out, the pidfd stays open. */
	assert_int_equal(mgr_wait_pidfds(fds, 2, 20, 20), 0);
	assert_true(fds[1] >= 0);
	/* Ended (reaped or not): the wait without a limit returns, the pidfd is closed. */
	close(release);
	assert_int_equal(mgr_wait_pidfds(fds, 2, -1, 100), 1);
	assert_int_equal(fds[1], -1);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	/* No pidfd left: the fallback's limit, not forever. */
	assert_int_equal(mgr_wait_pidfds(fds, 2, -1, 10), 0);
}

static void test_watch_wakes_on_a_new_file(void **state)
{
	char dir[] = "/tmp/phyllome-wait.XXXXXX", path[64];
	int wfd, pidfd = -1, release, fd;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	wfd = mgr_watch_create(dir);
	assert_true(wfd >= 0);
	assert_int_equal(mgr_wait_create(wfd, &pidfd, 20), 0); /* nothing new */
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mgr_wait_create(wfd, &pidfd, -1), 1);
	assert_int_equal(mgr_wait_create(wfd, &pidfd, 20), 0); /* drained */
	/* The process it waits beside ends: that wakes it too. */
	pid = child(&release);
	pidfd = mgr_pidfd(pid, 0);
	assert_true(pidfd >= 0);
	close(release);
	assert_int_equal(mgr_wait_create(wfd, &pidfd, -1), 1);
	assert_int_equal(pidfd, -1);
	waitpid(pid, NULL, 0);
	close(wfd);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pidfd_is_that_process),
	    cmocka_unit_test(test_wait_ends_with_the_process),
	    cmocka_unit_test(test_watch_wakes_on_a_new_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
