/* The FUSE wire format (protocol 7.31, what Linux's virtiofs driver speaks): the request and
 * reply headers, the argument blocks of the operations the file server implements, and the
 * constants it uses. Layouts are the protocol's; every field is little-endian on x86. */
#pragma once
#include <stdint.h>

#define FUSE_KERNEL_VERSION	  7
#define FUSE_KERNEL_MINOR_VERSION 31
#define FUSE_ROOT_ID		  1

enum fuse_opcode {
	FUSE_LOOKUP = 1,
	FUSE_FORGET = 2,
	FUSE_GETATTR = 3,
	FUSE_SETATTR = 4,
	FUSE_READLINK = 5,
	FUSE_SYMLINK = 6,
	FUSE_MKNOD = 8,
	FUSE_MKDIR = 9,
	FUSE_UNLINK = 10,
	FUSE_RMDIR = 11,
	FUSE_RENAME = 12,
	FUSE_LINK = 13,
	FUSE_OPEN = 14,
	FUSE_READ = 15,
	FUSE_WRITE = 16,
	FUSE_STATFS = 17,
	FUSE_RELEASE = 18,
	FUSE_FSYNC = 20,
	FUSE_FLUSH = 25,
	FUSE_INIT = 26,
	FUSE_OPENDIR = 27,
	FUSE_READDIR = 28,
	FUSE_RELEASEDIR = 29,
	FUSE_FSYNCDIR = 30,
	FUSE_ACCESS = 34,
	FUSE_CREATE = 35,
	FUSE_DESTROY = 38,
	FUSE_BATCH_FORGET = 42,
	FUSE_FALLOCATE = 43,
	FUSE_READDIRPLUS = 44,
	FUSE_RENAME2 = 45,
	FUSE_LSEEK = 46,
};

/* INIT flags. */
/* fuse_open_out.open_flags */
#define FOPEN_DIRECT_IO (1u << 0) /* the guest keeps no page cache for the file */

#define FUSE_ASYNC_READ	      (1u << 0)
#define FUSE_ATOMIC_O_TRUNC   (1u << 3)
#define FUSE_BIG_WRITES	      (1u << 5)
#define FUSE_AUTO_INVAL_DATA  (1u << 12)
#define FUSE_DO_READDIRPLUS   (1u << 13)
#define FUSE_READDIRPLUS_AUTO (1u << 14)
#define FUSE_PARALLEL_DIROPS  (1u << 18)
#define FUSE_MAX_PAGES	      (1u << 22)

/* SETATTR valid bits. */
#define FATTR_MODE	(1u << 0)
#define FATTR_UID	(1u << 1)
#define FATTR_GID	(1u << 2)
#define FATTR_SIZE	(1u << 3)
#define FATTR_ATIME	(1u << 4)
#define FATTR_MTIME	(1u << 5)
#define FATTR_FH	(1u << 6)
#define FATTR_ATIME_NOW (1u << 7)
#define FATTR_MTIME_NOW (1u << 8)

struct fuse_in_header {
	uint32_t len; /* the whole request, this header included */
	uint32_t opcode;
	uint64_t unique;
	uint64_t nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen; /* 7.38 extensions: 0 at 7.31 */
	uint16_t padding;
};

struct fuse_out_header {
	uint32_t len;
	int32_t error; /* 0 or -errno */
	uint64_t unique;
};

struct fuse_attr {
	uint64_t ino, size, blocks, atime, mtime, ctime;
	uint32_t atimensec, mtimensec, ctimensec;
	uint32_t mode, nlink, uid, gid, rdev, blksize, flags;
};

struct fuse_entry_out {
	uint64_t nodeid, generation;
	uint64_t entry_valid, attr_valid; /* seconds */
	uint32_t entry_valid_nsec, attr_valid_nsec;
	struct fuse_attr attr;
};

struct fuse_forget_in {
	uint64_t nlookup;
};

struct fuse_forget_one {
	uint64_t nodeid, nlookup;
};

struct fuse_batch_forget_in {
	uint32_t count, dummy;
};

struct fuse_getattr_in {
	uint32_t getattr_flags, dummy;
	uint64_t fh;
};

struct fuse_attr_out {
	uint64_t attr_valid;
	uint32_t attr_valid_nsec, dummy;
	struct fuse_attr attr;
};

struct fuse_mknod_in {
	uint32_t mode, rdev, umask, padding;
};

struct fuse_mkdir_in {
	uint32_t mode, umask;
};

struct fuse_rename_in {
	uint64_t newdir;
};

struct fuse_rename2_in {
	uint64_t newdir;
	uint32_t flags, padding;
};

struct fuse_link_in {
	uint64_t oldnodeid;
};

struct fuse_setattr_in {
	uint32_t valid, padding;
	uint64_t fh, size, lock_owner, atime, mtime, ctime;
	uint32_t atimensec, mtimensec, ctimensec, mode, unused4, uid, gid, unused5;
};

struct fuse_open_in {
	uint32_t flags, open_flags;
};

struct fuse_create_in {
	uint32_t flags, mode, umask, open_flags;
};

struct fuse_open_out {
	uint64_t fh;
	uint32_t open_flags, padding;
};

struct fuse_release_in {
	uint64_t fh;
	uint32_t flags, release_flags;
	uint64_t lock_owner;
};

struct fuse_flush_in {
	uint64_t fh;
	uint32_t unused, padding;
	uint64_t lock_owner;
};

struct fuse_read_in {
	uint64_t fh, offset;
	uint32_t size, read_flags;
	uint64_t lock_owner;
	uint32_t flags, padding;
};

struct fuse_write_in {
	uint64_t fh, offset;
	uint32_t size, write_flags;
	uint64_t lock_owner;
	uint32_t flags, padding;
};

struct fuse_write_out {
	uint32_t size, padding;
};

struct fuse_kstatfs {
	uint64_t blocks, bfree, bavail, files, ffree;
	uint32_t bsize, namelen, frsize, padding;
	uint32_t spare[6];
};

struct fuse_statfs_out {
	struct fuse_kstatfs st;
};

struct fuse_fsync_in {
	uint64_t fh;
	uint32_t fsync_flags, padding;
};

struct fuse_access_in {
	uint32_t mask, padding;
};

/* The first 16 bytes are all a 7.31 kernel sends; later ones send 64. */
struct fuse_init_in {
	uint32_t major, minor, max_readahead, flags;
};

struct fuse_init_out {
	uint32_t major, minor, max_readahead, flags;
	uint16_t max_background, congestion_threshold;
	uint32_t max_write, time_gran;
	uint16_t max_pages, map_alignment;
	uint32_t flags2;
	uint32_t unused[7];
};

struct fuse_dirent {
	uint64_t ino, off;
	uint32_t namelen, type;
	char name[];
};

struct fuse_direntplus {
	struct fuse_entry_out entry_out;
	struct fuse_dirent dirent;
};

struct fuse_fallocate_in {
	uint64_t fh, offset, length;
	uint32_t mode, padding;
};

struct fuse_lseek_in {
	uint64_t fh, offset;
	uint32_t whence, padding;
};

struct fuse_lseek_out {
	uint64_t offset;
};

_Static_assert(sizeof(struct fuse_in_header) == 40, "fuse_in_header");
_Static_assert(sizeof(struct fuse_out_header) == 16, "fuse_out_header");
_Static_assert(sizeof(struct fuse_attr) == 88, "fuse_attr");
_Static_assert(sizeof(struct fuse_entry_out) == 128, "fuse_entry_out");
_Static_assert(sizeof(struct fuse_setattr_in) == 88, "fuse_setattr_in");
_Static_assert(sizeof(struct fuse_init_out) == 64, "fuse_init_out");
_Static_assert(sizeof(struct fuse_read_in) == 40, "fuse_read_in");
_Static_assert(sizeof(struct fuse_kstatfs) == 80, "fuse_kstatfs");
_Static_assert(sizeof(struct fuse_dirent) == 24, "fuse_dirent");
