/* The shared folder's file server (--fs; docs/shared-folders.md): a process of its own that
 * answers FUSE requests on a folder, every path resolved beneath it. The virtio-fs device
 * copies each request out of guest memory and sends it over a socket in a frame; the
 * server never sees guest memory. Frame: struct fs_frame, then len bytes; device to
 * server, a FUSE request and the most reply bytes the guest's buffers hold; server to
 * device, the FUSE reply (len 0: the operation has no reply, as FORGET). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/vm_config.h"

#define FS_MAX_WRITE (128u << 10)	   /* the most one READ or WRITE moves */
#define FS_MAX_REQ   (FS_MAX_WRITE + 4096) /* a frame's FUSE request at most */
#define FS_MAX_REPLY (FS_MAX_WRITE + 4096) /* and its reply */

struct fs_frame {
	uint32_t len;
	uint32_t reply_max; /* device to server only; 0 in replies */
};

struct fs_srv;

/* A server on root_fd (an O_PATH or O_DIRECTORY descriptor of the shared folder; taken over)
 * and proc_fd (an open /proc/self/fd, to reopen O_PATH handles for I/O; taken over).
 * chown_new: give new files, folders and links the caller's uid/gid (when running as root).
 * Returns 0 or -errno. */
int fs_srv_open(struct fs_srv **s, int root_fd, int proc_fd, bool readonly, bool chown_new);
void fs_srv_close(struct fs_srv *s);
/* Answers one request of len bytes into out (outcap >= 16 bytes); returns the reply's length,
 * 0 when there is none to send. */
size_t fs_srv_handle(struct fs_srv *s, const uint8_t *req, size_t len, uint8_t *out, size_t outcap);
/* Serves frames on fd until the other end closes it (0) or a frame is malformed (-EPROTO). */
int fs_srv_serve(struct fs_srv *s, int fd);

/* Writes all of hdr and then len bytes of body to fd; reads one frame's header and body (up to
 * cap bytes: a longer frame is -EPROTO). Both sides use them. 0 or -errno (-EPIPE: closed). */
int fs_frame_write(int fd, const struct fs_frame *hdr, const void *body, size_t len);
int fs_frame_read(int fd, struct fs_frame *hdr, void *body, size_t cap);

/* Forks the server for the folder at path (before the VMM's own filter goes on, while it has
 * one thread): it opens the folder, enters its own namespaces with the folder as its root when
 * it can, drops what it does not need, installs its seccomp filter and serves. Returns the
 * VMM's end of the socket pair, or -errno with one line in err; *pid is the server's. */
int fs_server_spawn(const char *path, bool readonly, enum seccomp_mode mode, pid_t *pid, char *err,
		    size_t errlen);
