/* Logs a guest can grow: capped files with one rotated copy (src/common/capfile.c) behind
 * file= outputs, --log-file and the manager's serial.log; rate-limited warnings
 * (pr_warn_limited); --log-file and --log-max on the command line. */
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

#include "backends/console.h"
#include "common/capfile.h"
#include "common/log.h"
#include "machine/config.h"

struct dir {
	char path[64], file[96], old[100];
};

static int dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	snprintf(d->path, sizeof(d->path), "/tmp/phyllome-logs-XXXXXX");
	if (!mkdtemp(d->path))
		return -1;
	snprintf(d->file, sizeof(d->file), "%s/out", d->path);
	snprintf(d->old, sizeof(d->old), "%s.1", d->file);
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;

	unlink(d->file);
	unlink(d->old);
	rmdir(d->path);
	free(d);
	return 0;
}

static long size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static size_t read_all(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, cap);
	close(fd);
	assert_true(n >= 0);
	return (size_t)n;
}

/* 25 numbered 100-byte records through a 1,000-byte cap: the file holds the newest (up to
 * the cap), PATH.1 the ten before them, in order; nothing else is kept. */
static void test_rotation(void **state)
{
	struct dir *d = *state;
	struct capfile f;
	char rec[100], buf[4096];
	size_t n;

	assert_int_equal(capfile_open(&f, d->file, 1000, 0), 0);
	for (int i = 0; i < 25; i++) {
		memset(rec, 'a' + i, sizeof(rec));
		capfile_write(&f, rec, sizeof(rec));
		assert_true(size_of(d->file) <= 1000);
	}
	assert_int_equal(f.rotations, 2);
	capfile_close(&f);
	n = read_all(d->file, buf, sizeof(buf));
	assert_int_equal(n, 500);
	assert_int_equal(buf[0], 'a' + 20);
	assert_int_equal(buf[499], 'a' + 24);
	n = read_all(d->old, buf, sizeof(buf));
	assert_int_equal(n, 1000);
	assert_int_equal(buf[0], 'a' + 10);
	assert_int_equal(buf[999], 'a' + 19);
}

static void test_huge_write_keeps_tail(void **state)
{
	struct dir *d = *state;
	struct capfile f;
	char big[3000], buf[4096];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('0' + i / 1000);
	assert_int_equal(capfile_open(&f, d->file, 1000, 0), 0);
	capfile_write(&f, big, sizeof(big));
	capfile_close(&f);
	assert_int_equal(read_all(d->file, buf, sizeof(buf)), 1000);
	assert_int_equal(buf[0], '2');
}

static void test_no_cap_and_append(void **state)
{
	struct dir *d = *state;
	struct capfile f;
	char rec[100] = "";
	struct stat st;
	mode_t old = umask(0);

	assert_int_equal(capfile_open(&f, d->file, 0, 0), 0);
	umask(old);
	for (int i = 0; i < 30; i++)
		capfile_write(&f, rec, sizeof(rec));
	capfile_close(&f);
	assert_int_equal(size_of(d->file), 3000);
	assert_int_equal(access(d->old, F_OK), -1); /* no cap, no PATH.1 */
	assert_int_equal(stat(d->file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* append: an earlier run's lines stay (the manager's logs) and count toward the cap */
	assert_int_equal(capfile_open(&f, d->file, 3050, 1), 0);
	capfile_write(&f, rec, 40);
	assert_int_equal(size_of(d->file), 3040);
	capfile_write(&f, rec, 40);
	capfile_close(&f);
	assert_int_equal(size_of(d->file), 40);
	assert_int_equal(size_of(d->old), 3040);
}

/* A guest printing without end on the serial line: 64 MiB through file= capped at 1 MiB
 * leaves at most 2 MiB on disk. */
static void test_console_bounded(void **state)
{
	struct dir *d = *state;
	static uint8_t chunk[65536];
	struct console c;
	char err[256];

	memset(chunk, 'g', sizeof(chunk));
	log_set_file_max(1 << 20);
	assert_int_equal(console_open(&c, SERIAL_FILE, d->file, err, sizeof(err)), 0);
	for (int i = 0; i < 1024; i++)
		console_output(&c, chunk, sizeof(chunk) - (size_t)(i % 7));
	console_close(&c);
	log_set_file_max(CAPFILE_DEFAULT_MAX);
	assert_true(size_of(d->file) <= 1 << 20);
	assert_true(size_of(d->file) > 0);
	assert_true(size_of(d->old) <= 1 << 20);
	assert_true(size_of(d->old) > (1 << 20) - 65536);
}

static void test_limit_pure(void **state)
{
	struct log_limit l = {0};
	unsigned dropped = 99;
	uint64_t t = 1000;

	(void)state;
	for (int i = 0; i < LOG_LIMIT_BURST; i++) {
		assert_true(log_limit_pass(&l, t + (uint64_t)i, &dropped));
		assert_int_equal(dropped, 0);
	}
	for (int i = 0; i < 500; i++)
		assert_false(log_limit_pass(&l, t + 100 + (uint64_t)i, &dropped));
	/* still in the window */
	assert_false(log_limit_pass(&l, t + LOG_LIMIT_WINDOW_NS - 1, &dropped));
	assert_int_equal(dropped, 0);
	/* the next window: the line goes out, and the 501 dropped are reported */
	assert_true(log_limit_pass(&l, t + LOG_LIMIT_WINDOW_NS, &dropped));
	assert_int_equal(dropped, 501);
	assert_true(log_limit_pass(&l, t + LOG_LIMIT_WINDOW_NS + 1, &dropped));
	assert_int_equal(dropped, 0);
}

static unsigned count_lines(const char *path, const char *needle)
{
	char buf[65536];
	size_t n = read_all(path, buf, sizeof(buf) - 1);
	unsigned k = 0;

	buf[n] = 0;
	for (char *p = buf; (p = strstr(p, needle)); p++)
		k++;
	return k;
}

/* A guest breaking a queue in a loop: 1,000 warnings from one call site make 10 lines; a
 * plain warning is not limited. Lines go to the --log-file capfile. */
static void test_warn_limited(void **state)
{
	struct dir *d = *state;
	struct capfile f;

	assert_int_equal(capfile_open(&f, d->file, 1 << 20, 0), 0);
	log_set_file(&f);
	for (int i = 0; i < 1000; i++)
		pr_warn_limited("queue %d broken", i);
	for (int i = 0; i < 20; i++)
		pr_warn("plain %d", i);
	log_set_file(NULL);
	capfile_close(&f);
	assert_int_equal(count_lines(d->file, "queue "), LOG_LIMIT_BURST);
	assert_int_equal(count_lines(d->file, "warning: plain"), 20);
	assert_int_equal(count_lines(d->file, "queue 9 broken"), 1);
	assert_int_equal(count_lines(d->file, "queue 10 broken"), 0);
}

static int parse(struct vm_config *cfg, const char *a, const char *b, char *err)
{
	static char prog[] = "phyllome-vmm", kopt[] = "--kernel", k[] = "k";
	char *argv[] = {prog, kopt, k, (char *)a, (char *)b, NULL};

	return config_parse(cfg, a ? 5 : 3, argv, err, 256);
}

static void test_options(void **state)
{
	struct vm_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse(&cfg, NULL, NULL, err), 0);
	assert_int_equal(cfg.log_max, CAPFILE_DEFAULT_MAX);
	assert_null(cfg.log_file);
	assert_int_equal(parse(&cfg, "--log-max", "1M", err), 0);
	assert_int_equal(cfg.log_max, 1 << 20);
	assert_int_equal(parse(&cfg, "--log-max", "0", err), 0);
	assert_int_equal(cfg.log_max, 0);
	assert_int_equal(parse(&cfg, "--log-max", "4K", err), -EINVAL);
	assert_non_null(strstr(err, "--log-max"));
	assert_int_equal(parse(&cfg, "--log-max", "lots", err), -EINVAL);
	assert_int_equal(parse(&cfg, "--log-file", "/tmp/vmm.log", err), 0);
	assert_string_equal(cfg.log_file, "/tmp/vmm.log");
}

#define T(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_rotation),	       T(test_huge_write_keeps_tail),
	    T(test_no_cap_and_append), T(test_console_bounded),
	    T(test_limit_pure),	       T(test_warn_limited),
	    T(test_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
