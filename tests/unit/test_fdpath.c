/* "/dev/fd/N" in the VMM (src/common/fdpath.h): a descriptor handed in by phyllome-jail --fd.
 * Only "/dev/fd/" and digits name one; it is opened as a copy, never for writing when it was
 * handed in read-only, never O_DIRECT (the copy shares its flags); other paths are open(). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fdpath.h"

static void test_num(void **state)
{
	(void)state;
	assert_int_equal(fdpath_num("/dev/fd/3"), 3);
	assert_int_equal(fdpath_num("/dev/fd/0"), 0);
	assert_int_equal(fdpath_num("/dev/fd/65535"), 65535);
	assert_int_equal(fdpath_num("/dev/fd/65536"), -1);
	assert_int_equal(fdpath_num("/dev/fd/99999999999"), -1);
	assert_int_equal(fdpath_num("/dev/fd/"), -1);
	assert_int_equal(fdpath_num("/dev/fd/3a"), -1);
	assert_int_equal(fdpath_num("/dev/fd/-3"), -1);
	assert_int_equal(fdpath_num("/dev/fd/3/x"), -1);
	assert_int_equal(fdpath_num("/dev/fd3"), -1);
	assert_int_equal(fdpath_num("/data/disk.img"), -1);
	assert_int_equal(fdpath_num(NULL), -1);
}

static void test_open(void **state)
{
	char path[] = "/tmp/phyllome-fdpath-XXXXXX", name[32], buf[4];
	struct stat a, b;
	int w = mkstemp(path), ro, fd;

	(void)state;
	assert_true(w >= 0);
	assert_int_equal(write(w, "data", 4), 4);
	ro = open(path, O_RDONLY);
	assert_true(ro >= 0);

	/* a copy of the read-only one: reads, is close-on-exec, is the same file */
	snprintf(name, sizeof(name), "/dev/fd/%d", ro);
	fd = fdpath_open(name, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0 && fd != ro);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(pread(fd, buf, 4, 0), 4);
	assert_memory_equal(buf, "data", 4);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstat(ro, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(fd);
	/* never for writing, never O_DIRECT or O_CREAT */
	errno = 0;
	assert_int_equal(fdpath_open(name, O_RDWR), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(fdpath_open(name, O_RDONLY | O_DIRECT), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fdpath_open(name, O_RDONLY | O_CREAT), -1);
	assert_int_equal(errno, EINVAL);
	/* the read-write one may be written */
	snprintf(name, sizeof(name), "/dev/fd/%d", w);
	fd = fdpath_open(name, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "DATA", 4, 0), 4);
	close(fd);
	/* a number that is not open */
	close(ro);
	snprintf(name, sizeof(name), "/dev/fd/%d", ro);
	assert_int_equal(fdpath_open(name, O_RDONLY), -1);
	assert_int_equal(errno, EBADF);
	/* any other path: open() */
	fd = fdpath_open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, 4, 0), 4);
	assert_memory_equal(buf, "DATA", 4);
	close(fd);
	close(w);
	unlink(path);
	errno = 0;
	assert_int_equal(fdpath_open(path, O_RDONLY), -1);
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_num),
	    cmocka_unit_test(test_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
