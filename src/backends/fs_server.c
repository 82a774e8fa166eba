/* The file server's core: its inode and handle tables, INIT/DESTROY/FORGET, the dispatch of
 * one request, and the framed socket loop. The operations are in fs_ops.c (names and
 * attributes) and fs_io.c (open files and folders); the process and its sandbox in
 * fs_sandbox.c. */
#include "backends/fs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

#define FS_MAX_INODES  (1u << 20)
#define FS_MAX_HANDLES (1u << 16)

int fs_openat_beneath(int dirfd, const char *name, uint64_t flags, uint64_t mode)
{
	struct open_how how = {
	    .flags = flags | O_CLOEXEC,
	    .mode = mode,
	    .resolve =
		RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

int fs_stat(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

void fs_attr_fill(struct fuse_attr *a, const struct stat *st)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = (uint64_t)st->st_atim.tv_sec;
	a->mtime = (uint64_t)st->st_mtim.tv_sec;
	a->ctime = (uint64_t)st->st_ctim.tv_sec;
	a->atimensec = (uint32_t)st->st_atim.tv_nsec;
	a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = (uint32_t)st->st_rdev;
	a->blksize = (uint32_t)st->st_blksize;
}

int fs_reply_put(struct fs_reply *r, const void *p, size_t len)
{
	if (len > r->cap - r->len)
		return -ERANGE;
	memcpy(r->buf + r->len, p, len);
	r->len += len;
	return 0;
}

/* ---- inodes ---- */

static uint32_t hash_of(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9E3779B97F4A7C15ull) ^ (uint64_t)ino;

	return (uint32_t)(h ^ (h >> 29)) % FS_HASH_SIZE;
}

struct fs_inode *fs_inode_get(struct fs_srv *s, uint64_t nodeid)
{
	if (nodeid == 0 || nodeid > s->ninodes || s->inodes[nodeid - 1].fd < 0)
		return NULL;
	return &s->inodes[nodeid - 1];
}

static void hash_unlink(struct fs_srv *s, uint32_t idx)
{
	int32_t *p = &s->hash[hash_of(s->inodes[idx].dev, s->inodes[idx].ino)];

	while (*p >= 0 && (uint32_t)*p != idx)
		p = &s->inodes[*p].next;
	if (*p >= 0)
		*p = s->inodes[idx].next;
}

static void inode_free(struct fs_srv *s, uint32_t idx)
{
	hash_unlink(s, idx);
	close(s->inodes[idx].fd);
	s->inodes[idx].fd = -1;
	s->inodes[idx].nlookup = 0;
	s->inodes[idx].next = s->free_inodes;
	s->free_inodes = (int32_t)idx;
}

/* A slot for a new inode: a freed one, or a new one at the end. */
static int inode_slot(struct fs_srv *s, uint32_t *idx)
{
	if (s->free_inodes >= 0) {
		*idx = (uint32_t)s->free_inodes;
		s->free_inodes = s->inodes[*idx].next;
		return 0;
	}
	if (s->ninodes == s->cap_inodes) {
		uint32_t cap = s->cap_inodes ? s->cap_inodes * 2 : 64;
		struct fs_inode *n;

		if (cap > FS_MAX_INODES)
			return -ENFILE;
		n = realloc(s->inodes, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->inodes = n;
		s->cap_inodes = cap;
	}
	*idx = s->ninodes++;
	return 0;
}

/* Takes a lookup reference on the inode fd refers to: the existing node id if the server knows
 * that file (fd is closed), else a new one holding fd. */
static int inode_ref(struct fs_srv *s, int fd, const struct stat *st, uint64_t *nodeid)
{
	uint32_t h = hash_of(st->st_dev, st->st_ino), idx;
	int rc;

	for (int32_t i = s->hash[h]; i >= 0; i = s->inodes[i].next) {
		if (s->inodes[i].dev == st->st_dev && s->inodes[i].ino == st->st_ino) {
			close(fd);
			s->inodes[i].nlookup++;
			*nodeid = (uint64_t)i + 1;
			return 0;
		}
	}
	rc = inode_slot(s, &idx);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	s->inodes[idx] = (struct fs_inode){
	    .fd = fd, .dev = st->st_dev, .ino = st->st_ino, .nlookup = 1, .next = s->hash[h]};
	s->hash[h] = (int32_t)idx;
	*nodeid = (uint64_t)idx + 1;
	return 0;
}

int fs_do_lookup(struct fs_srv *s, struct fs_inode *parent, const char *name,
		 struct fuse_entry_out *e)
{
	struct stat st;
	int fd = fs_openat_beneath(parent->fd, name, O_PATH | O_NOFOLLOW, 0);
	int rc;

	if (fd < 0)
		return fd;
	rc = fs_stat(fd, &st);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	memset(e, 0, sizeof(*e));
	rc = inode_ref(s, fd, &st, &e->nodeid);
	if (rc < 0)
		return rc;
	e->entry_valid = e->attr_valid = FS_TTL_SEC;
	fs_attr_fill(&e->attr, &st);
	return 0;
}

void fs_forget(struct fs_srv *s, uint64_t nodeid, uint64_t n)
{
	struct fs_inode *in = fs_inode_get(s, nodeid);

	if (!in || nodeid == FUSE_ROOT_ID)
		return;
	in->nlookup = n >= in->nlookup ? 0 : in->nlookup - n;
	if (in->nlookup == 0)
		inode_free(s, (uint32_t)(nodeid - 1));
}

/* ---- handles ---- */

int fs_handle_add(struct fs_srv *s, int fd, bool dir, uint64_t *fh)
{
	uint32_t i;

	for (i = 0; i < s->nhandles && s->handles[i].fd >= 0; i++)
		;
	if (i == s->nhandles && s->nhandles == s->cap_handles) {
		uint32_t cap = s->cap_handles ? s->cap_handles * 2 : 16;
		struct fs_handle *n =
		    cap <= FS_MAX_HANDLES ? realloc(s->handles, cap * sizeof(*n)) : NULL;

		if (!n) {
			close(fd);
			return -ENFILE;
		}
		s->handles = n;
		s->cap_handles = cap;
	}
	if (i == s->nhandles)
		s->nhandles++;
	s->handles[i] = (struct fs_handle){.fd = fd, .dir = dir};
	*fh = (uint64_t)i + 1;
	return 0;
}

struct fs_handle *fs_handle_get(struct fs_srv *s, uint64_t fh, bool dir)
{
	if (fh == 0 || fh > s->nhandles || s->handles[fh - 1].fd < 0 ||
	    s->handles[fh - 1].dir != dir)
		return NULL;
	return &s->handles[fh - 1];
}

static void handle_close(struct fs_handle *h)
{
	close(h->fd);
	free(h->dbuf);
	*h = (struct fs_handle){.fd = -1};
}

void fs_handle_drop(struct fs_srv *s, uint64_t fh, bool dir)
{
	struct fs_handle *h = fs_handle_get(s, fh, dir);

	if (h)
		handle_close(h);
}

/* INIT and DESTROY: a new driver (a guest's boot, or its reboot) starts from the root alone. */
static void forget_all(struct fs_srv *s)
{
	for (uint32_t i = 1; i < s->ninodes; i++)
		if (s->inodes[i].fd >= 0)
			inode_free(s, i);
	if (s->ninodes) { /* the root stays */
		s->ninodes = 1;
		s->inodes[0].nlookup = 1;
	}
	s->free_inodes = -1;
	for (uint32_t i = 0; i < s->nhandles; i++)
		if (s->handles[i].fd >= 0)
			handle_close(&s->handles[i]);
	s->nhandles = 0;
}

int fs_srv_open(struct fs_srv **out, int root_fd, int proc_fd, bool readonly, bool chown_new)
{
	struct fs_srv *s = calloc(1, sizeof(*s));
	struct stat st;
	uint64_t id;
	int rc, fd;

	if (!s || fs_stat(root_fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		rc = s ? -ENOTDIR : -ENOMEM;
		free(s);
		close(root_fd);
		close(proc_fd);
		return rc;
	}
	memset(s->hash, 0xff, sizeof(s->hash));
	s->free_inodes = -1;
	s->root_fd = root_fd;
	s->proc_fd = proc_fd;
	s->root_dev = st.st_dev;
	s->readonly = readonly;
	s->chown_new = chown_new;
	fd = dup(root_fd);
	rc = fd < 0 ? -errno : inode_ref(s, fd, &st, &id); /* node id 1 */
	if (rc < 0) {
		fs_srv_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void fs_srv_set_direct_io(struct fs_srv *s, bool on)
{
	s->direct_io = on;
}

void fs_srv_close(struct fs_srv *s)
{
	if (!s)
		return;
	forget_all(s);
	if (s->ninodes)
		close(s->inodes[0].fd);
	close(s->root_fd);
	close(s->proc_fd);
	free(s->inodes);
	free(s->handles);
	free(s);
}

static int op_init(struct fs_srv *s, const struct fuse_msg *m, struct fs_reply *r)
{
	const uint32_t ours = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_AUTO_INVAL_DATA |
			      FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_PARALLEL_DIROPS |
			      FUSE_MAX_PAGES;
	struct fuse_init_out o = {
	    .major = FUSE_KERNEL_VERSION,
	    .minor = FUSE_KERNEL_MINOR_VERSION,
	    .max_readahead = m->in.init.max_readahead,
	    .flags = m->in.init.flags & ours,
	    .max_background = 16,
	    .congestion_threshold = 12,
	    .max_write = FS_MAX_WRITE,
	    .time_gran = 1,
	    .max_pages = FS_MAX_WRITE / 4096,
	};

	if (m->in.init.major != FUSE_KERNEL_VERSION)
		return -EPROTO;
	if (m->in.init.minor < FUSE_KERNEL_MINOR_VERSION)
		o.minor = m->in.init.minor;
	forget_all(s);
	return fs_reply_put(r, &o, sizeof(o));
}

/* 1: the operation has no reply (FORGET, BATCH_FORGET); 0 or -errno otherwise. */
static int dispatch(struct fs_srv *s, const struct fuse_msg *m, struct fs_reply *r)
{
	switch (m->h.opcode) {
	case FUSE_INIT:
		return op_init(s, m, r);
	case FUSE_DESTROY:
		forget_all(s);
		return 0;
	case FUSE_FORGET:
		fs_forget(s, m->h.nodeid, m->in.forget.nlookup);
		return 1;
	case FUSE_BATCH_FORGET:
		for (uint32_t i = 0; i < m->in.batch.count; i++) {
			struct fuse_forget_one f;

			memcpy(&f, m->data + i * sizeof(f), sizeof(f));
			fs_forget(s, f.nodeid, f.nlookup);
		}
		return 1;
	case FUSE_OPEN:
	case FUSE_READ:
	case FUSE_WRITE:
	case FUSE_RELEASE:
	case FUSE_FSYNC:
	case FUSE_FLUSH:
	case FUSE_OPENDIR:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
	case FUSE_RELEASEDIR:
	case FUSE_FSYNCDIR:
	case FUSE_CREATE:
	case FUSE_FALLOCATE:
	case FUSE_LSEEK:
		return fs_op_io(s, m, r);
	default:
		return fs_op_node(s, m, r);
	}
}

size_t fs_srv_handle(struct fs_srv *s, const uint8_t *req, size_t len, uint8_t *out, size_t outcap)
{
	struct fuse_out_header oh = {0};
	struct fuse_msg m;
	size_t cap = outcap < FS_MAX_REPLY ? outcap : FS_MAX_REPLY;
	struct fs_reply r = {.buf = cap < sizeof(oh) ? out : out + sizeof(oh),
			     .cap = cap < sizeof(oh) ? 0 : cap - sizeof(oh)};
	int rc = fuse_parse(req, len, &m);

	if (rc == -EBADMSG)
		return 0;
	if (rc == 0)
		rc = dispatch(s, &m, &r);
	/* No room even for the header: the request was done, its answer cannot be given. */
	if (rc == 1 || outcap < sizeof(oh))
		return 0;
	if (rc < 0)
		r.len = 0;
	oh.len = (uint32_t)(sizeof(oh) + r.len);
	oh.error = rc < 0 ? rc : 0;
	oh.unique = m.h.unique;
	memcpy(out, &oh, sizeof(oh));
	return oh.len;
}

/* ---- frames ---- */

static int full_io(int fd, void *buf, size_t len, bool wr)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = wr ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_srv_frame(struct fs_srv *s, const struct fs_frame *in, uint8_t *shm, struct fs_frame *out)
{
	size_t room = in->reply_max < FS_MAX_REPLY ? in->reply_max : FS_MAX_REPLY;

	if (in->len > FS_MAX_REQ)
		return -EPROTO;
	*out = (struct fs_frame){
	    .len = (uint32_t)fs_srv_handle(s, shm, in->len, shm + FS_SHM_REPLY, room)};
	return 0;
}

int fs_srv_serve(struct fs_srv *s, int fd, uint8_t *shm)
{
	int rc = 0;

	while (rc == 0) {
		struct fs_frame in, out;

		rc = full_io(fd, &in, sizeof(in), false);
		if (rc == 0)
			rc = fs_srv_frame(s, &in, shm, &out);
		if (rc == 0)
			rc = full_io(fd, &out, sizeof(out), true);
	}
	return rc == -EPIPE ? 0 : rc;
}

long fs_call(int fd, size_t len, size_t reply_max)
{
	struct fs_frame f = {.len = (uint32_t)len, .reply_max = (uint32_t)reply_max};
	int rc = len <= FS_MAX_REQ ? full_io(fd, &f, sizeof(f), true) : -EINVAL;

	if (rc == 0)
		rc = full_io(fd, &f, sizeof(f), false);
	if (rc < 0)
		return rc;
	return f.len > reply_max || f.len > FS_MAX_REPLY ? -EPROTO : (long)f.len;
}
