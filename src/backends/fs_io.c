/* The file server's open files and folders: OPEN, CREATE, READ, WRITE, FLUSH, FSYNC, RELEASE,
 * FALLOCATE, LSEEK, OPENDIR, READDIR(PLUS), FSYNCDIR, RELEASEDIR. A handle (fh) is an index
 * into the server's table of descriptors; only regular files and folders are ever opened. */
#include "backends/fs_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int op_open(struct fs_srv *s, struct fs_inode *in, const struct fuse_msg *m,
		   struct fs_reply *r)
{
	struct fuse_open_out o = {0};
	int flags = (int)m->in.open.flags, fd, rc;

	if (s->readonly && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)))
		return -EROFS;
	fd = fs_reopen(s, in, flags);
	if (fd < 0)
		return fd;
	rc = fs_handle_add(s, fd, false, &o.fh);
	o.open_flags = s->direct_io ? FOPEN_DIRECT_IO : 0;
	return rc < 0 ? rc : fs_reply_put(r, &o, sizeof(o));
}

/* CREATE: a new regular file beneath the folder (O_EXCL first, so that nothing that exists,
 * a device node or a FIFO swapped in on the host, is opened by the create); an existing
 * regular file when the guest did not ask for O_EXCL. Replies entry + open. */
static int op_create(struct fs_srv *s, struct fs_inode *dir, const struct fuse_msg *m,
		     struct fs_reply *r)
{
	const int never =
	    O_CREAT | O_EXCL | O_NOCTTY | O_DIRECTORY | O_PATH | O_TMPFILE | O_DIRECT | O_TRUNC;
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} out = {0};
	int flags = (int)m->in.create.flags, fd, rc;
	bool made = true;

	if (s->readonly)
		return -EROFS;
	fd = fs_openat_beneath(dir->fd, m->name,
			       (uint64_t)((flags & ~never) | O_CREAT | O_EXCL | O_NOFOLLOW),
			       m->in.create.mode & 07777);
	if (fd == -EEXIST && !(flags & O_EXCL))
		made = false;
	else if (fd < 0)
		return fd;
	if (made)
		fs_chown_new(s, dir->fd, m->name, m);
	rc = fs_do_lookup(s, dir, m->name, &out.e);
	if (rc == 0 && !made) {
		/* Opened through the node just looked up: a regular file or nothing. */
		fd = fs_reopen(s, fs_inode_get(s, out.e.nodeid), flags);
		rc = fd < 0 ? fd : 0;
		if (rc == 0 && (flags & O_TRUNC) && ftruncate(fd, 0) < 0)
			rc = -errno;
	}
	out.o.open_flags = s->direct_io ? FOPEN_DIRECT_IO : 0;
	if (rc == 0)
		rc = fs_handle_add(s, fd, false, &out.o.fh); /* closes fd when it fails */
	else if (fd >= 0)
		close(fd);
	if (rc < 0) {
		/* The guest gets an error and no entry: the reference is given back. */
		if (out.e.nodeid)
			fs_forget(s, out.e.nodeid, 1);
		return rc;
	}
	return fs_reply_put(r, &out, sizeof(out));
}

static int op_read(struct fs_srv *s, const struct fuse_msg *m, struct fs_reply *r)
{
	struct fs_handle *h = fs_handle_get(s, m->in.read.fh, false);
	size_t want = m->in.read.size < r->cap ? m->in.read.size : r->cap;
	ssize_t n;

	if (!h)
		return -EBADF;
	if (m->in.read.offset > INT64_MAX)
		return -EINVAL;
	n = pread(h->fd, r->buf, want, (off_t)m->in.read.offset);
	if (n < 0)
		return -errno;
	r->len = (size_t)n;
	return 0;
}

static int op_write(struct fs_srv *s, const struct fuse_msg *m, struct fs_reply *r)
{
	struct fs_handle *h = fs_handle_get(s, m->in.write.fh, false);
	struct fuse_write_out o = {0};
	ssize_t n;

	if (s->readonly)
		return -EROFS;
	if (!h)
		return -EBADF;
	if (m->in.write.offset > INT64_MAX)
		return -EINVAL;
	n = pwrite(h->fd, m->data, m->datalen, (off_t)m->in.write.offset);
	if (n < 0)
		return -errno;
	o.size = (uint32_t)n;
	return fs_reply_put(r, &o, sizeof(o));
}

static int op_opendir(struct fs_srv *s, struct fs_inode *in, struct fs_reply *r)
{
	struct fuse_open_out o = {0};
	/* "." beneath the folder's own O_PATH descriptor: no /proc, no link. */
	int fd = fs_openat_beneath(in->fd, ".", O_RDONLY | O_DIRECTORY, 0);
	int rc;

	if (fd < 0)
		return fd;
	rc = fs_handle_add(s, fd, true, &o.fh);
	return rc < 0 ? rc : fs_reply_put(r, &o, sizeof(o));
}

/* One getdents64 record. */
struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	uint16_t d_reclen;
	uint8_t d_type;
	char d_name[];
};

static size_t dirent_size(bool plus, size_t namelen)
{
	size_t n = sizeof(struct fuse_dirent) + namelen;

	n = (n + 7) & ~(size_t)7;
	return plus ? n + sizeof(struct fuse_entry_out) : n;
}

/* Adds one entry if it fits (1), else 0; READDIRPLUS takes a lookup reference on each entry
 * it returns but "." and "..". */
static int put_dirent(struct fs_srv *s, struct fs_inode *dir, const struct linux_dirent64 *d,
		      bool plus, struct fs_reply *r)
{
	size_t namelen = strnlen(d->d_name, FUSE_NAME_MAX + 1), size = dirent_size(plus, namelen);
	struct fuse_dirent fd = {.ino = d->d_ino,
				 .off = (uint64_t)d->d_off,
				 .namelen = (uint32_t)namelen,
				 .type = d->d_type};
	uint8_t *p = r->buf + r->len;

	if (namelen > FUSE_NAME_MAX)
		return 1; /* cannot be said in FUSE: skipped */
	if (size > r->cap - r->len)
		return 0;
	memset(p, 0, size);
	if (plus) {
		struct fuse_entry_out e = {0};

		if (fuse_name_ok(d->d_name, FUSE_NAME_MAX) &&
		    fs_do_lookup(s, dir, d->d_name, &e) < 0)
			memset(&e, 0, sizeof(e)); /* gone meanwhile: a plain entry */
		memcpy(p, &e, sizeof(e));
		p += sizeof(e);
	}
	memcpy(p, &fd, sizeof(fd));
	memcpy(p + sizeof(fd), d->d_name, namelen);
	r->len += size;
	return 1;
}

static int op_readdir(struct fs_srv *s, struct fs_inode *dir, const struct fuse_msg *m, bool plus,
		      struct fs_reply *r)
{
	struct fs_handle *h = fs_handle_get(s, m->in.read.fh, true);
	size_t cap = m->in.read.size < r->cap ? m->in.read.size : r->cap;
	struct fs_reply part = {.buf = r->buf, .cap = cap};

	if (!h)
		return -EBADF;
	if (m->in.read.offset > INT64_MAX)
		return -EINVAL;
	if (!h->dbuf && !(h->dbuf = malloc(FS_DIRBUF)))
		return -ENOMEM;
	/* Elsewhere than where the last reply ended (rewinddir, seekdir): seek there. */
	if (m->in.read.offset != h->doff) {
		if (lseek(h->fd, (off_t)m->in.read.offset, SEEK_SET) < 0)
			return -errno;
		h->doff = m->in.read.offset;
		h->dlen = h->dpos = 0;
	}
	for (;;) {
		const struct linux_dirent64 *d;

		if (h->dpos >= h->dlen) {
			ssize_t n = getdents64(h->fd, h->dbuf, FS_DIRBUF);

			if (n < 0)
				return part.len ? 0 : -errno;
			h->dlen = (uint32_t)n;
			h->dpos = 0;
			if (n == 0)
				break;
		}
		d = (const void *)(h->dbuf + h->dpos);
		if (!put_dirent(s, dir, d, plus, &part))
			break;
		h->doff = (uint64_t)d->d_off;
		h->dpos += d->d_reclen;
	}
	r->len = part.len;
	return 0;
}

static int op_fallocate(struct fs_srv *s, const struct fuse_msg *m)
{
	struct fs_handle *h = fs_handle_get(s, m->in.fallocate.fh, false);
	const struct fuse_fallocate_in *a = &m->in.fallocate;

	if (s->readonly)
		return -EROFS;
	if (!h)
		return -EBADF;
	if (a->offset > INT64_MAX || a->length > INT64_MAX)
		return -EINVAL;
	return fallocate(h->fd, (int)a->mode, (off_t)a->offset, (off_t)a->length) < 0 ? -errno : 0;
}

static int op_lseek(struct fs_srv *s, const struct fuse_msg *m, struct fs_reply *r)
{
	struct fs_handle *h = fs_handle_get(s, m->in.lseek.fh, false);
	struct fuse_lseek_out o;
	off_t at;

	if (!h)
		return -EBADF;
	if (m->in.lseek.offset > INT64_MAX)
		return -EINVAL;
	at = lseek(h->fd, (off_t)m->in.lseek.offset, (int)m->in.lseek.whence);
	if (at < 0)
		return -errno;
	o.offset = (uint64_t)at;
	return fs_reply_put(r, &o, sizeof(o));
}

static int op_fsync(struct fs_srv *s, const struct fuse_msg *m, bool dir)
{
	struct fs_handle *h = fs_handle_get(s, m->in.fsync.fh, dir);

	if (!h)
		return -EBADF;
	return ((m->in.fsync.fsync_flags & 1) ? fdatasync(h->fd) : fsync(h->fd)) < 0 ? -errno : 0;
}

int fs_op_io(struct fs_srv *s, const struct fuse_msg *m, struct fs_reply *r)
{
	struct fs_inode *in = fs_inode_get(s, m->h.nodeid);

	if (!in)
		return -ESTALE;
	switch (m->h.opcode) {
	case FUSE_OPEN:
		return op_open(s, in, m, r);
	case FUSE_CREATE:
		return op_create(s, in, m, r);
	case FUSE_READ:
		return op_read(s, m, r);
	case FUSE_WRITE:
		return op_write(s, m, r);
	case FUSE_FLUSH:
		return fs_handle_get(s, m->in.flush.fh, false) ? 0 : -EBADF;
	case FUSE_FSYNC:
		return op_fsync(s, m, false);
	case FUSE_FSYNCDIR:
		return op_fsync(s, m, true);
	case FUSE_RELEASE:
		fs_handle_drop(s, m->in.release.fh, false);
		return 0;
	case FUSE_RELEASEDIR:
		fs_handle_drop(s, m->in.release.fh, true);
		return 0;
	case FUSE_OPENDIR:
		return op_opendir(s, in, r);
	case FUSE_READDIR:
		return op_readdir(s, in, m, false, r);
	case FUSE_READDIRPLUS:
		return op_readdir(s, in, m, true, r);
	case FUSE_FALLOCATE:
		return op_fallocate(s, m);
	case FUSE_LSEEK:
		return op_lseek(s, m, r);
	default:
		return -ENOSYS;
	}
}
