/* The host ends the user names by path: --serial/--console socket=PATH (and the shared
 * listener behind --api-socket and vnc=unix:) replaces only a stale socket and binds 0600;
 * file=PATH is created 0600. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "backends/console.h"
#include "common/unix_sock.h"

struct dir {
	char path[64];
	char sock[96];
};

static int dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	snprintf(d->path, sizeof(d->path), "/tmp/phyllome-conhost-XXXXXX");
	if (!mkdtemp(d->path))
		return -1;
	snprintf(d->sock, sizeof(d->sock), "%s/s", d->path);
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;

	unlink(d->sock);
	rmdir(d->path);
	free(d);
	return 0;
}

/* A socket bound at path whose owner is gone (closed without unlinking). */
static void make_stale(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(a.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
}

static int connect_to(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), rc;

	strcpy(a.sun_path, path);
	rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	return rc;
}

static void test_regular_file_kept(void **state)
{
	struct dir *d = *state;
	char err[256] = "", buf[8] = "";
	struct console c;
	int fd = open(d->sock, O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(unix_sock_listen(d->sock, SOCK_CLOEXEC, 1), -EEXIST);
	assert_int_equal(console_open(&c, SERIAL_SOCKET, d->sock, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "not a socket"));
	fd = open(d->sock, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "keep", 4);
	close(fd);
}

static void test_symlink_kept(void **state)
{
	struct dir *d = *state;
	char target[128];

	/* A symbolic link to a (stale) socket is not a socket: left alone, as is its target. */
	snprintf(target, sizeof(target), "%s/t", d->path);
	make_stale(target);
	assert_int_equal(symlink(target, d->sock), 0);
	assert_int_equal(unix_sock_clear_stale(d->sock), -EEXIST);
	assert_int_equal(access(target, F_OK), 0);
	unlink(target);
}

static void test_live_socket_kept(void **state)
{
	struct dir *d = *state;
	char err[256] = "";
	struct console c;
	int owner = unix_sock_listen(d->sock, SOCK_CLOEXEC, 4);

	assert_true(owner >= 0);
	assert_int_equal(console_open(&c, SERIAL_SOCKET, d->sock, err, sizeof(err)), -EADDRINUSE);
	assert_non_null(strstr(err, "in use"));
	/* The owner still has its socket: a client reaches it. */
	assert_int_equal(connect_to(d->sock), 0);
	close(owner);
}

static void test_stale_socket_replaced_0600(void **state)
{
	struct dir *d = *state;
	char err[256] = "";
	struct console c;
	struct stat st;
	mode_t old = umask(0);

	make_stale(d->sock);
	assert_int_equal(connect_to(d->sock), -1);
	assert_int_equal(console_open(&c, SERIAL_SOCKET, d->sock, err, sizeof(err)), 0);
	umask(old);
	assert_int_equal(lstat(d->sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(connect_to(d->sock), 0);
	console_close(&c);
}

static void test_fresh_socket_0600(void **state)
{
	struct dir *d = *state;
	struct stat st;
	mode_t old = umask(0);
	int fd = unix_sock_listen(d->sock, SOCK_CLOEXEC, 1);

	umask(old);
	assert_true(fd >= 0);
	assert_int_equal(lstat(d->sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	close(fd);
}

static void test_path_too_long(void **state)
{
	char path[200];

	(void)state;
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = 0;
	assert_int_equal(unix_sock_listen(path, 0, 1), -ENAMETOOLONG);
	assert_int_equal(unix_sock_listen("", 0, 1), -ENAMETOOLONG);
}

static void test_file_output_0600(void **state)
{
	struct dir *d = *state;
	char err[256] = "";
	struct console c;
	struct stat st;
	mode_t old = umask(0);

	assert_int_equal(console_open(&c, SERIAL_FILE, d->sock, err, sizeof(err)), 0);
	umask(old);
	console_output(&c, (const uint8_t *)"boot\n", 5);
	console_close(&c);
	assert_int_equal(stat(d->sock, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 5);
}

#define T(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_regular_file_kept),		T(test_symlink_kept),	   T(test_live_socket_kept),
	    T(test_stale_socket_replaced_0600), T(test_fresh_socket_0600), T(test_path_too_long),
	    T(test_file_output_0600),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
