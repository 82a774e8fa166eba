/* libFuzzer: the shared folder's FUSE requests (backends/fuse_parse.c) and the file server that
 * answers them (backends/fs_*.c), read-only on a small folder made once (a read-only share:
 * whatever the input asks, nothing on the host changes). The input is a series of requests,
 * each a 2-byte little-endian length, a byte giving the reply room (its value * 64 bytes, 0:
 * none) and the request's bytes. Each input starts with INIT, which drops every node and handle
 * the last one made. Traps when a reply is longer than its room, is not as long as its header
 * says, or answers another request. */
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
static uint8_t req[FS_MAX_REQ], out[FS_MAX_REPLY];

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

static void one(const uint8_t *r, size_t len, size_t room)
{
	struct fuse_in_header ih;
	struct fuse_out_header oh;
	struct fuse_msg m;
	size_t n;

	memcpy(req, r, len);
	(void)fuse_parse(req, len, &m);
	n = fs_srv_handle(srv, req, len, out, room);
	if (n == 0)
		return;
	if (n > room || n < sizeof(oh) || len < sizeof(ih))
		__builtin_trap();
	memcpy(&oh, out, sizeof(oh));
	memcpy(&ih, req, sizeof(ih));
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
	fs_srv_handle(srv, (const uint8_t *)&init, sizeof(init), out, sizeof(out));
	while (size >= 3) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8, room = (size_t)data[2] * 64;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		one(data, len, room);
		data += len;
		size -= len;
	}
	return 0;
}
