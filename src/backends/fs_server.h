/* The shared folder's file server (--fs; docs/shared-folders.md): a process of its own that
 * answers FUSE requests on a folder, every path resolved beneath it. The server never sees
 * guest memory: the virtio-fs device copies each request out of guest memory into a buffer
 * shared with the server (FS_SHM_SIZE bytes, mapped before the server is forked: the request
 * at offset 0, the reply at FS_SHM_REPLY), then sends a frame (struct fs_frame) on the socket
 * between them: device to server, the request's length and the most reply bytes the guest's
 * buffers hold; server to device, once the reply is in the buffer, its length (0: the
 * operation has no reply, as FORGET). Each side checks the lengths it is given against the
 * buffer's areas. A frame is the whole message: the payload crosses once, not through the
 * socket. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/vm_config.h"

#define FS_MAX_WRITE (1u << 20)		   /* the most one READ or WRITE moves */
#define FS_MAX_REQ   (FS_MAX_WRITE + 4096) /* a frame's FUSE request at most */
#define FS_MAX_REPLY (FS_MAX_WRITE + 4096) /* and its reply */
/* The shared buffer: the request area, then the reply area. */
#define FS_SHM_REPLY FS_MAX_REQ
#define FS_SHM_SIZE  (FS_SHM_REPLY + FS_MAX_REPLY)

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
/* cache=none: every file opened from now on is FOPEN_DIRECT_IO (no page cache in the guest). */
void fs_srv_set_direct_io(struct fs_srv *s, bool on);
/* Answers one request of len bytes into out (outcap >= 16 bytes); returns the reply's length,
 * 0 when there is none to send. */
size_t fs_srv_handle(struct fs_srv *s, const uint8_t *req, size_t len, uint8_t *out, size_t outcap);
/* Answers the request a frame announces in shm (FS_SHM_SIZE bytes): its reply goes into shm's
 * reply area and *out is the frame to send back. -EPROTO (nothing answered) when the request is
 * longer than the request area. */
int fs_srv_frame(struct fs_srv *s, const struct fs_frame *in, uint8_t *shm, struct fs_frame *out);
/* Serves frames on fd with the buffer shm until the other end closes it (0) or a frame is
 * malformed (-EPROTO). */
int fs_srv_serve(struct fs_srv *s, int fd, uint8_t *shm);

/* The device's side of one round trip: the request of len bytes is in shm's request area; sends
 * its frame and waits for the reply's. Returns the reply's length (0: none), -EPROTO when the
 * server says more than reply_max (or the reply area) holds, or -errno when the server is gone
 * (-EPIPE: closed). */
long fs_call(int fd, size_t len, size_t reply_max);

/* Forks the server for the folder cfg->path (readonly, cache_none as cfg says; before the VMM's own
 * filter goes on, while it has one thread): it opens the folder, enters its own namespaces with the
 * folder as its root when it can, drops what it does not need, installs its seccomp filter and
 * serves. Returns the VMM's end of the socket pair, or -errno with one line in err; *pid is the
 * server's, *shm the buffer shared with it (FS_SHM_SIZE bytes; it lives as long as the VMM). */
int fs_server_spawn(const struct fs_config *cfg, enum seccomp_mode mode, pid_t *pid, uint8_t **shm,
		    char *err, size_t errlen);
