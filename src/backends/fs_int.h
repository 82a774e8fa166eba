/* Inside the file server (fs_server.c, fs_ops.c, fs_io.c): its tables of inodes (O_PATH
 * descriptors, the FUSE node ids) and open handles, and the helpers the operations share. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "backends/fs_server.h"
#include "backends/fuse_parse.h"

/* Attribute and entry validity the guest may cache: short, so that changes made on the host
 * show within a second. */
#define FS_TTL_SEC 1

struct fs_inode {
	int fd; /* O_PATH|O_NOFOLLOW; -1: a free slot */
	dev_t dev;
	ino_t ino;
	uint64_t nlookup;
	int32_t next; /* hash chain (the free list for a free slot); -1: end */
};

/* A folder handle keeps what getdents64 read beyond the last entry it returned (dbuf[dpos,
 * dlen)) and that entry's offset (doff): the next READDIR at doff goes on from there without a
 * seek, which on some file systems (tmpfs) counts entries from the start, so that entries
 * deleted meanwhile (rm -r deleting as it reads) would make it skip others. */
struct fs_handle {
	int fd; /* -1: free */
	bool dir;
	uint8_t *dbuf; /* folders, once read: FS_DIRBUF bytes */
	uint32_t dlen, dpos;
	uint64_t doff;
};

#define FS_DIRBUF 8192u

#define FS_HASH_SIZE 4096u

struct fs_srv {
	int root_fd, proc_fd;
	dev_t root_dev;
	bool readonly, chown_new;
	bool direct_io;		 /* cache=none: every open file FOPEN_DIRECT_IO */
	struct fs_inode *inodes; /* node id = index + 1; index 0 is the root */
	uint32_t ninodes, cap_inodes;
	int32_t free_inodes; /* the first free slot below ninodes; -1: none */
	int32_t hash[FS_HASH_SIZE];
	struct fs_handle *handles; /* fh = index + 1 */
	uint32_t nhandles, cap_handles;
};

/* A reply's payload area (after the out header). */
struct fs_reply {
	uint8_t *buf;
	size_t cap, len;
};

/* The inode of a node id, or NULL. */
struct fs_inode *fs_inode_get(struct fs_srv *s, uint64_t nodeid);
/* Looks name up beneath parent (never following a link, never leaving the folder) and takes a
 * lookup reference: fills e. 0 or -errno. */
int fs_do_lookup(struct fs_srv *s, struct fs_inode *parent, const char *name,
		 struct fuse_entry_out *e);
/* Gives back n lookup references (FORGET); the root is never forgotten. */
void fs_forget(struct fs_srv *s, uint64_t nodeid, uint64_t n);
void fs_attr_fill(struct fuse_attr *a, const struct stat *st);
int fs_stat(int fd, struct stat *st);
/* Reopens an inode's O_PATH descriptor for I/O (through /proc/self/fd: a regular file only). */
int fs_reopen(struct fs_srv *s, struct fs_inode *in, int flags);
/* Open handles. */
int fs_handle_add(struct fs_srv *s, int fd, bool dir, uint64_t *fh);
struct fs_handle *fs_handle_get(struct fs_srv *s, uint64_t fh, bool dir);
void fs_handle_drop(struct fs_srv *s, uint64_t fh, bool dir);
/* openat2 beneath dirfd with no link followed and no mount crossed. -errno on failure. */
int fs_openat_beneath(int dirfd, const char *name, uint64_t flags, uint64_t mode);
/* New nodes get the caller's uid/gid when the server runs as root (docs/shared-folders.md). */
void fs_chown_new(struct fs_srv *s, int dirfd, const char *name, const struct fuse_msg *m);
int fs_reply_put(struct fs_reply *r, const void *p, size_t len);

/* The operations: 0 or -errno, with r's payload filled. */
int fs_op_node(struct fs_srv *s, const struct fuse_msg *m, struct fs_reply *r);
int fs_op_io(struct fs_srv *s, const struct fuse_msg *m, struct fs_reply *r);
