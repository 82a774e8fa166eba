/* Helpers for the qcow2 tests (see qcow2_harness.h). */
#include "qcow2_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

const char *q2t_dir(void)
{
	static char dir[64];

	if (!dir[0]) {
		/* tmpfs when there is one: the tests sync a lot, and model crashes themselves. */
		bool shm = access("/dev/shm", W_OK) == 0;

		snprintf(dir, sizeof(dir), "%s/phyllome-qcow2-XXXXXX", shm ? "/dev/shm" : "/tmp");
		if (!mkdtemp(dir))
			abort();
	}
	return dir;
}

const char *q2t_path(const char *name)
{
	static char bufs[4][512];
	static unsigned next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", q2t_dir(), name);
	return b;
}

static char ddir[256];

const char *q2t_direct_dir(char *why, size_t whylen)
{
	const char *base = getenv("PHYLLOME_DIRECT_DIR");
	char probe[320];
	struct statfs fs;
	int fd;

	if (ddir[0])
		return ddir;
	snprintf(ddir, sizeof(ddir), "%s/phyllome-q2direct-XXXXXX",
		 base && *base ? base : "/var/tmp");
	if (!mkdtemp(ddir)) {
		snprintf(why, whylen, "cannot make a folder in %s", base ? base : "/var/tmp");
		ddir[0] = 0;
		return NULL;
	}
	snprintf(probe, sizeof(probe), "%s/probe", ddir);
	fd = open(probe, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(why, whylen, "%s: open(O_DIRECT): %s (no O_DIRECT on this file system)",
			 ddir, strerror(errno));
		unlink(probe);
		rmdir(ddir);
		ddir[0] = 0;
		return NULL;
	}
	/* Linux 6.6 and later accept O_DIRECT on tmpfs, whose page cache is the storage. */
	if (fstatfs(fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC) {
		snprintf(why, whylen, "%s is tmpfs: its pages are its storage, nothing to bypass",
			 ddir);
		close(fd);
		unlink(probe);
		rmdir(ddir);
		ddir[0] = 0;
		return NULL;
	}
	close(fd);
	unlink(probe);
	return ddir;
}

const char *q2t_dpath(const char *name)
{
	static char bufs[4][400];
	static unsigned next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", ddir, name);
	return b;
}

void q2t_direct_cleanup(void)
{
	if (ddir[0])
		q2t_sh("rm -rf '%s'", ddir);
	ddir[0] = 0;
}

int q2t_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

bool q2t_have_qemu_img(void)
{
	return q2t_sh("qemu-img --version >/dev/null 2>&1") == 0;
}

int q2t_check(const char *img)
{
	int rc = q2t_sh("qemu-img check -q -f qcow2 '%s' >/dev/null 2>&1", img);

	if (rc != 0 && rc != 3)
		q2t_sh("qemu-img check -f qcow2 '%s' 2>&1 | head -20", img);
	return rc;
}

struct qcow2 *q2t_open(const char *img, bool readonly, bool backing, int *fd, char *err,
		       size_t errlen)
{
	struct qcow2 *q = NULL;

	*fd = open(img, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (*fd < 0) {
		snprintf(err, errlen, "cannot open %s", img);
		return NULL;
	}
	if (qcow2_open(&q, *fd, img, readonly, backing, err, errlen) < 0) {
		close(*fd);
		*fd = -1;
		return NULL;
	}
	return q;
}

void q2t_close(struct qcow2 *q, int fd)
{
	qcow2_close(q);
	close(fd);
}

int q2t_rw(struct qcow2 *q, bool write, void *buf, uint64_t off, uint64_t len)
{
	struct iovec v = {.iov_base = buf, .iov_len = len};

	return write ? qcow2_write(q, &v, 1, off, len) : qcow2_read(q, &v, 1, off, len);
}

void q2t_fill(uint8_t *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
}

void q2t_ref_write(const char *raw, const void *buf, uint64_t off, uint64_t len)
{
	int fd = open(raw, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
		abort();
	close(fd);
}
