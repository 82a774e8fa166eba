/* libFuzzer: the shared folder's FUSE requests (backends/fuse_parse.c) and the file server that
 * answers them (backends/fs_*.c) as frames over the buffer it shares with the device
 * (fs_srv_frame), read-only on a small folder made once (a read-only share: whatever the input
 * asks, nothing on the host changes). The input is a series of frames, each a 3-byte
 * little-endian length the frame claims, a 2-byte little-endian reply room (its value * 64
 * bytes, 0: none; it may claim more than the reply area) and the request's bytes, copied into
 * the buffer's request area over what earlier requests left there (a frame may claim more than
 * it brings, or more than the area holds). Each input starts with INIT, which drops every node
 * and handle the last one made. Traps when a frame longer than the request area is answered, or
 * a reply is longer than its room or the reply area, is not as long as its header says, or
 * answers another request. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/fs_server.h"
#include "backends/fuse_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fs_srv *srv;
static uint8_t shm[FS_SHM_SIZE];

static void make_tree(const char *dir)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/sub", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/file", dir);
	f = fopen(p, "w");
	if (f) {
		fputs("some text in a file", f);
		fclose(f);
	}
	snprintf(p, sizeof(p), "%s/link", dir);
	if (symlink("/etc/passwd", p) < 0 && errno != EEXIST)
		__builtin_trap();
	snprintf(p, sizeof(p), "%s/fifo", dir);
	mkfifo(p, 0644);
}

static void init_server(void)
{
	char dir[64];
	int root, proc;

	snprintf(dir, sizeof(dir), "/tmp/phyllome-fuzz-fs-%d", (int)getpid());
	mkdir(dir, 0755);
	make_tree(dir);
	root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	proc = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0 || proc < 0 || fs_srv_open(&srv, root, proc, true, false) < 0)
		__builtin_trap();
}

static void one(const uint8_t *r, size_t have, size_t claim, size_t room)
{
	struct fs_frame in = {.len = (uint32_t)claim, .reply_max = (uint32_t)room}, out;
	struct fuse_in_header ih;
	struct fuse_out_header oh;
	struct fuse_msg m;
	size_t n;

	memcpy(shm, r, have < FS_MAX_REQ ? have : FS_MAX_REQ);
	if (fs_srv_frame(srv, &in, shm, &out) < 0) {
		if (claim <= FS_MAX_REQ)
			__builtin_trap();
		return;
	}
	if (claim > FS_MAX_REQ)
		__builtin_trap();
	(void)fuse_parse(shm, claim, &m);
	n = out.len;
	if (n == 0)
		return;
	if (n > room || n > FS_MAX_REPLY || n < sizeof(oh) || claim < sizeof(ih))
		__builtin_trap();
	memcpy(&oh, shm + FS_SHM_REPLY, sizeof(oh));
	memcpy(&ih, shm, sizeof(ih));
	if (oh.len != n || oh.unique != ih.unique || oh.error > 0 || (oh.error && n != sizeof(oh)))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct {
		struct fuse_in_header h;
		struct fuse_init_in in;
	} init = {{.len = sizeof(init), .opcode = FUSE_INIT}, {.major = 7, .minor = 31}};

	if (!srv)
		init_server();
	fs_srv_handle(srv, (const uint8_t *)&init, sizeof(init), shm + FS_SHM_REPLY, FS_MAX_REPLY);
	while (size >= 5) {
		size_t claim = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16;
		size_t room = ((size_t)data[3] | (size_t)data[4] << 8) * 64, have;

		data += 5;
		size -= 5;
		have = claim < size ? claim : size;
		one(data, have, claim, room);
		data += have;
		size -= have;
	}
	return 0;
}
