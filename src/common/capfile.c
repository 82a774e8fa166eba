#include "common/capfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int capfile_open(struct capfile *f, const char *path, uint64_t max, int append)
{
	int flags = O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | (append ? 0 : O_TRUNC);
	struct stat st;

	*f = (struct capfile){.fd = -1, .old_fd = -1, .max = max};
	/* 0600: what a guest prints (boot logs, passwords typed at its console) is the VM
	 * owner's. A file that exists keeps its mode. */
	f->fd = open(path, flags, 0600);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &st) == 0)
		f->size = (uint64_t)st.st_size;
	if (max) {
		char old[4096];

		if (snprintf(old, sizeof(old), "%s.1", path) >= (int)sizeof(old)) {
			close(f->fd);
			return -ENAMETOOLONG;
		}
		f->old_fd = open(old, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (f->old_fd < 0) {
			int e = -errno;

			close(f->fd);
			f->fd = -1;
			return e;
		}
	}
	pthread_mutex_init(&f->lock, NULL);
	return 0;
}

static int write_at(int fd, const uint8_t *p, size_t n, off_t off)
{
	while (n) {
		ssize_t w = off < 0 ? write(fd, p, n) : pwrite(fd, p, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
		if (off >= 0)
			off += w;
	}
	return 0;
}

/* PATH -> PATH.1, then PATH emptied. */
static void rotate(struct capfile *f)
{
	uint8_t buf[65536];
	off_t off = 0;
	ssize_t r;

	if (ftruncate(f->old_fd, 0) < 0)
		return;
	while ((r = pread(f->fd, buf, sizeof(buf), off)) > 0) {
		if (write_at(f->old_fd, buf, (size_t)r, off) < 0)
			break;
		off += r;
	}
	if (ftruncate(f->fd, 0) == 0) {
		f->size = 0;
		f->rotations++;
	}
}

void capfile_write(struct capfile *f, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	if (f->fd < 0 || !n)
		return;
	pthread_mutex_lock(&f->lock);
	if (f->max && n > f->max) {
		p += n - f->max;
		n = (size_t)f->max;
	}
	if (f->max && f->size + n > f->max && f->size)
		rotate(f);
	/* O_APPEND: after a rotation the next write lands at the start again. */
	if (write_at(f->fd, p, n, -1) == 0)
		f->size += n;
	pthread_mutex_unlock(&f->lock);
}

void capfile_close(struct capfile *f)
{
	if (f->fd < 0)
		return;
	close(f->fd);
	if (f->old_fd >= 0)
		close(f->old_fd);
	f->fd = f->old_fd = -1;
	pthread_mutex_destroy(&f->lock);
}
