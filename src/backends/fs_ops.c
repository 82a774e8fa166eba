/* The file server's operations on names and attributes: LOOKUP, GETATTR, SETATTR, READLINK,
 * SYMLINK, MKNOD, MKDIR, UNLINK, RMDIR, RENAME(2), LINK, STATFS, ACCESS. Every name is one
 * component (fuse_parse checked it) resolved against its parent's O_PATH descriptor, which the
 * server holds: nothing the guest sends is ever a path. */
#include "backends/fs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/statfs.h>

/* The /proc/self/fd name of an inode's descriptor (the server's own: never guest input). */
static void proc_name(char buf[16], int fd)
{
	snprintf(buf, 16, "%d", fd);
}

int fs_reopen(struct fs_srv *s, struct fs_inode *in, int flags)
{
	const int never = O_CREAT | O_EXCL | O_NOCTTY | O_DIRECTORY | O_NOFOLLOW | O_PATH |
			  O_TMPFILE | O_DIRECT | O_TRUNC;
	struct stat st, st2;
	char name[16];
	int fd, rc = fs_stat(in->fd, &st);

	if (rc < 0)
		return rc;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (!S_ISREG(st.st_mode))
		return -EACCES; /* device nodes, FIFOs, sockets are never opened */
	proc_name(name, in->fd);
	fd = openat(s->proc_fd, name, (flags & ~never) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino ||
	    !S_ISREG(st2.st_mode)) {
		close(fd);
		return -EIO;
	}
	return fd;
}

void fs_chown_new(struct fs_srv *s, int dirfd, const char *name, const struct fuse_msg *m)
{
	struct stat dir;
	gid_t gid = m->h.gid;

	if (!s->chown_new)
		return;
	if (fs_stat(dirfd, &dir) == 0 && (dir.st_mode & S_ISGID))
		gid = (gid_t)-1; /* a set-group-ID folder's group, as the kernel gave it */
	/* Best effort: the node exists either way, owned by the server's user. */
	if (fchownat(dirfd, name, m->h.uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return;
}

static int reply_attr(struct fs_reply *r, int fd)
{
	struct fuse_attr_out o = {.attr_valid = FS_TTL_SEC};
	struct stat st;
	int rc = fs_stat(fd, &st);

	if (rc < 0)
		return rc;
	fs_attr_fill(&o.attr, &st);
	return fs_reply_put(r, &o, sizeof(o));
}

static int reply_entry(struct fs_srv *s, struct fs_inode *parent, const char *name,
		       struct fs_reply *r)
{
	struct fuse_entry_out e;
	int rc = fs_do_lookup(s, parent, name, &e);

	return rc < 0 ? rc : fs_reply_put(r, &e, sizeof(e));
}

static int set_times(struct fs_srv *s, struct fs_inode *in, const struct fuse_setattr_in *a)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};
	char name[16];

	if (a->valid & FATTR_ATIME)
		ts[0] = (struct timespec){.tv_sec = (time_t)a->atime, .tv_nsec = a->atimensec};
	if (a->valid & FATTR_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	if (a->valid & FATTR_MTIME)
		ts[1] = (struct timespec){.tv_sec = (time_t)a->mtime, .tv_nsec = a->mtimensec};
	if (a->valid & FATTR_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	if ((ts[0].tv_nsec != UTIME_OMIT && ts[0].tv_nsec != UTIME_NOW &&
	     ts[0].tv_nsec >= 1000000000) ||
	    (ts[1].tv_nsec != UTIME_OMIT && ts[1].tv_nsec != UTIME_NOW &&
	     ts[1].tv_nsec >= 1000000000))
		return -EINVAL;
	proc_name(name, in->fd);
	return utimensat(s->proc_fd, name, ts, 0) < 0 ? -errno : 0;
}

static int set_size(struct fs_srv *s, struct fs_inode *in, const struct fuse_setattr_in *a)
{
	struct fs_handle *h = (a->valid & FATTR_FH) ? fs_handle_get(s, a->fh, false) : NULL;
	int fd = h ? h->fd : fs_reopen(s, in, O_WRONLY);
	int rc;

	if (fd < 0)
		return fd;
	rc = ftruncate(fd, (off_t)a->size) < 0 ? -errno : 0;
	if (!h)
		close(fd);
	return rc;
}

static int op_setattr(struct fs_srv *s, struct fs_inode *in, const struct fuse_msg *m,
		      struct fs_reply *r)
{
	const struct fuse_setattr_in *a = &m->in.setattr;
	char name[16];
	int rc = 0;

	proc_name(name, in->fd);
	if (a->valid & FATTR_MODE) {
		struct stat st;

		rc = fs_stat(in->fd, &st);
		if (rc == 0 && S_ISLNK(st.st_mode))
			rc = -EOPNOTSUPP;
		if (rc == 0 && fchmodat(s->proc_fd, name, a->mode & 07777, 0) < 0)
			rc = -errno;
	}
	if (rc == 0 && (a->valid & (FATTR_UID | FATTR_GID)) &&
	    fchownat(in->fd, "", (a->valid & FATTR_UID) ? a->uid : (uid_t)-1,
		     (a->valid & FATTR_GID) ? a->gid : (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	if (rc == 0 && (a->valid & FATTR_SIZE))
		rc = set_size(s, in, a);
	if (rc == 0 && (a->valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)))
		rc = set_times(s, in, a);
	return rc < 0 ? rc : reply_attr(r, in->fd);
}

static int op_readlink(struct fs_inode *in, struct fs_reply *r)
{
	ssize_t n = readlinkat(in->fd, "", (char *)r->buf, r->cap);

	if (n < 0)
		return -errno;
	if ((size_t)n >= r->cap)
		return -ENAMETOOLONG;
	r->len = (size_t)n;
	return 0;
}

/* MKNOD: regular files and FIFOs only; device nodes (and sockets) are refused. */
static int op_mknod(struct fs_srv *s, struct fs_inode *dir, const struct fuse_msg *m,
		    struct fs_reply *r)
{
	mode_t mode = m->in.mknod.mode;

	if (!S_ISREG(mode) && !S_ISFIFO(mode))
		return -EPERM;
	if (mknodat(dir->fd, m->name, mode & (S_IFMT | 07777), 0) < 0)
		return -errno;
	fs_chown_new(s, dir->fd, m->name, m);
	return reply_entry(s, dir, m->name, r);
}

static int op_mkdir(struct fs_srv *s, struct fs_inode *dir, const struct fuse_msg *m,
		    struct fs_reply *r)
{
	if (mkdirat(dir->fd, m->name, m->in.mkdir.mode & 07777) < 0)
		return -errno;
	fs_chown_new(s, dir->fd, m->name, m);
	return reply_entry(s, dir, m->name, r);
}

static int op_symlink(struct fs_srv *s, struct fs_inode *dir, const struct fuse_msg *m,
		      struct fs_reply *r)
{
	/* The target is text the guest resolves in its own namespace; the server never follows
	 * a link (RESOLVE_NO_SYMLINKS everywhere). */
	if (symlinkat(m->name2, dir->fd, m->name) < 0)
		return -errno;
	fs_chown_new(s, dir->fd, m->name, m);
	return reply_entry(s, dir, m->name, r);
}

static int op_rename(struct fs_srv *s, struct fs_inode *dir, const struct fuse_msg *m)
{
	struct fs_inode *to = fs_inode_get(s, m->in.rename.newdir);
	const uint32_t flags_ok = 1 /* RENAME_NOREPLACE */ | 2 /* RENAME_EXCHANGE */;

	if (!to)
		return -ESTALE;
	if (m->in.rename.flags & ~flags_ok)
		return -EINVAL;
	return renameat2(dir->fd, m->name, to->fd, m->name2, m->in.rename.flags) < 0 ? -errno : 0;
}

/* LINK: the source is a node id, so it is a file the server itself found beneath the folder;
 * it must still be on the folder's file system, and never a folder. */
static int op_link(struct fs_srv *s, struct fs_inode *dir, const struct fuse_msg *m,
		   struct fs_reply *r)
{
	struct fs_inode *src = fs_inode_get(s, m->in.link.oldnodeid);
	struct stat st;
	char name[16];
	int rc;

	if (!src)
		return -ESTALE;
	rc = fs_stat(src->fd, &st);
	if (rc < 0)
		return rc;
	if (st.st_dev != s->root_dev)
		return -EXDEV;
	if (S_ISDIR(st.st_mode))
		return -EPERM;
	proc_name(name, src->fd);
	if (linkat(s->proc_fd, name, dir->fd, m->name, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	return reply_entry(s, dir, m->name, r);
}

static int op_statfs(struct fs_inode *in, struct fs_reply *r)
{
	struct fuse_statfs_out o = {0};
	struct statfs st;

	if (fstatfs(in->fd, &st) < 0)
		return -errno;
	o.st.blocks = st.f_blocks;
	o.st.bfree = st.f_bfree;
	o.st.bavail = st.f_bavail;
	o.st.files = st.f_files;
	o.st.ffree = st.f_ffree;
	o.st.bsize = (uint32_t)st.f_bsize;
	o.st.namelen = (uint32_t)st.f_namelen;
	o.st.frsize = (uint32_t)st.f_frsize;
	return fs_reply_put(r, &o, sizeof(o));
}

/* ACCESS: the mode bits against the caller's uid/gid, as the guest's kernel checks them. */
static int op_access(struct fs_srv *s, struct fs_inode *in, const struct fuse_msg *m)
{
	uint32_t want = m->in.access.mask & 7, have;
	struct stat st;
	int rc = fs_stat(in->fd, &st);

	if (rc < 0)
		return rc;
	if ((want & 2) && s->readonly)
		return -EROFS;
	if (m->h.uid == 0)
		return !(want & 1) || (st.st_mode & 0111) || S_ISDIR(st.st_mode) ? 0 : -EACCES;
	have = m->h.uid == st.st_uid   ? (st.st_mode >> 6) & 7
	       : m->h.gid == st.st_gid ? (st.st_mode >> 3) & 7
				       : st.st_mode & 7;
	return (want & ~have) ? -EACCES : 0;
}

/* Operations that change the folder: all refused on a readonly=on share. */
static bool writes(uint32_t op)
{
	return op == FUSE_SETATTR || op == FUSE_SYMLINK || op == FUSE_MKNOD || op == FUSE_MKDIR ||
	       op == FUSE_UNLINK || op == FUSE_RMDIR || op == FUSE_RENAME || op == FUSE_RENAME2 ||
	       op == FUSE_LINK;
}

int fs_op_node(struct fs_srv *s, const struct fuse_msg *m, struct fs_reply *r)
{
	struct fs_inode *in = fs_inode_get(s, m->h.nodeid);

	if (!in)
		return -ESTALE;
	if (s->readonly && writes(m->h.opcode))
		return -EROFS;
	switch (m->h.opcode) {
	case FUSE_LOOKUP:
		return reply_entry(s, in, m->name, r);
	case FUSE_GETATTR:
		return reply_attr(r, in->fd);
	case FUSE_SETATTR:
		return op_setattr(s, in, m, r);
	case FUSE_READLINK:
		return op_readlink(in, r);
	case FUSE_SYMLINK:
		return op_symlink(s, in, m, r);
	case FUSE_MKNOD:
		return op_mknod(s, in, m, r);
	case FUSE_MKDIR:
		return op_mkdir(s, in, m, r);
	case FUSE_UNLINK:
		return unlinkat(in->fd, m->name, 0) < 0 ? -errno : 0;
	case FUSE_RMDIR:
		return unlinkat(in->fd, m->name, AT_REMOVEDIR) < 0 ? -errno : 0;
	case FUSE_RENAME:
	case FUSE_RENAME2:
		return op_rename(s, in, m);
	case FUSE_LINK:
		return op_link(s, in, m, r);
	case FUSE_STATFS:
		return op_statfs(in, r);
	case FUSE_ACCESS:
		return op_access(s, in, m);
	default:
		return -ENOSYS;
	}
}
