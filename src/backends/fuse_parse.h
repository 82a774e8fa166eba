/* The FUSE request parser (pure, fuzzed): checks a request's header, its length against the
 * bytes that came, the operation's fixed argument block and its names, and hands back a
 * typed view. Nothing a request says is trusted before this has said yes. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "backends/fuse_wire.h"

#define FUSE_NAME_MAX 255  /* one path component */
#define FUSE_LINK_MAX 4095 /* a symbolic link's target */

struct fuse_msg {
	struct fuse_in_header h;
	/* The operation's fixed argument block, copied (aligned) out of the request. */
	union {
		struct fuse_forget_in forget;
		struct fuse_batch_forget_in batch;
		struct fuse_getattr_in getattr;
		struct fuse_setattr_in setattr;
		struct fuse_mknod_in mknod;
		struct fuse_mkdir_in mkdir;
		struct fuse_rename2_in rename; /* RENAME's newdir, flags 0 */
		struct fuse_link_in link;
		struct fuse_open_in open;
		struct fuse_create_in create;
		struct fuse_release_in release;
		struct fuse_flush_in flush;
		struct fuse_read_in read;
		struct fuse_write_in write;
		struct fuse_fsync_in fsync;
		struct fuse_access_in access;
		struct fuse_init_in init;
		struct fuse_fallocate_in fallocate;
		struct fuse_lseek_in lseek;
	} in;
	/* Entry names: NUL-terminated inside the request, 1..FUSE_NAME_MAX bytes, no '/', never
	 * "." or "..". name2 is RENAME's new name, or SYMLINK's target (1..FUSE_LINK_MAX bytes,
	 * anything but NUL: the guest's business, never followed by the server). */
	const char *name, *name2;
	/* WRITE's payload (in.write.size bytes), BATCH_FORGET's array (count entries, unaligned:
	 * read them with memcpy). */
	const uint8_t *data;
	size_t datalen;
};

/* Parses one request of len bytes. Returns 0; -EBADMSG when even the header is unusable (no
 * reply can be addressed); with the header parsed (m->h valid, so the reply can carry its
 * unique): -ENOSYS for an operation the server does not implement, -EINVAL for a malformed
 * body. */
int fuse_parse(const uint8_t *buf, size_t len, struct fuse_msg *m);
/* Whether name is a usable single path component (the rules above). */
int fuse_name_ok(const char *name, size_t maxlen);
