/* The virtio-fs device (src/virtio/fs.c) on its queues, with the real file server forked on a
 * temporary folder: requests copied out of guest memory, replies copied back bounded by the
 * guest's writable buffers, requests too large, a 1 MiB WRITE and READ through the buffer
 * shared with the server, the frames' length checks on both sides, the hiprio queue's FORGET,
 * and a server that is gone. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "backends/fs_server.h"
#include "backends/fuse_wire.h"
#include "filters.h"
#include "virtio/devices.h"
#include "virtio_fake.h"
#include "virtq_driver.h"

#define REQ_GPA	  DATA_GPA
#define REPLY_GPA (DATA_GPA + 0x200000)
#define CANARY	  0xA5

struct fx {
	struct drv *drv;
	struct virtio_dev d;
	struct fs_config cfg;
	pid_t pid;
	char dir[64];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	void *s;

	assert_int_equal(setup(&s), 0);
	f->drv = s;
	snprintf(f->dir, sizeof(f->dir), "/tmp/phyllome-fsdev-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	strcpy(f->cfg.path, f->dir);
	f->cfg.server_fd =
	    fs_server_spawn(&f->cfg, FILTERS, &f->pid, &f->cfg.shm, err, sizeof(err));
	assert_true(f->cfg.server_fd >= 0);
	strcpy(f->cfg.tag, "myshare");
	f->d.gm = &f->drv->gm;
	assert_int_equal(virtio_fs_init(&f->d, &f->cfg, err, sizeof(err)), 0);
	f->d.vq[0] = f->drv->vq;
	f->d.vq[1] = f->drv->vq;
	vfake.violation = vfake_fail;
	vfake_reset();
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	char cmd[96];
	void *s = f->drv;

	f->d.ops->destroy(&f->d);
	close(f->cfg.server_fd);
	munmap(f->cfg.shm, FS_SHM_SIZE);
	if (f->pid > 0)
		waitpid(f->pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	teardown(&s);
	free(f);
	return 0;
}

/* Offers one chain on queue q (a readable request of len bytes, then a writable buffer of room
 * bytes unless room is 0), runs the device, and returns the bytes it says it wrote (-1: the
 * chain was not returned). */
static long run_req(struct fx *f, unsigned q, const void *req, uint32_t len, uint32_t room)
{
	struct drv *drv = f->drv;
	uint16_t before = rd16(drv, USED_GPA + 2), idx;

	if (req)
		memcpy(drv->mem + REQ_GPA, req, len);
	memset(drv->mem + REPLY_GPA, CANARY, room + 64);
	put_desc(drv, DESC_GPA, 0, REQ_GPA, len, room ? F_NEXT : 0, 1);
	put_desc(drv, DESC_GPA, 1, REPLY_GPA, room, F_WRITE, 0);
	offer(drv, 0);
	f->d.ops->queue_notify(&f->d, q);
	idx = rd16(drv, USED_GPA + 2);
	if (idx == before)
		return -1;
	assert_int_equal((uint16_t)(idx - before), 1);
	return rd32(drv, USED_GPA + 4 + 8u * ((idx - 1u) & (drv->vq.size - 1u)) + 4);
}

static size_t make(uint8_t *buf, uint32_t op, uint64_t node, uint64_t unique, const void *body,
		   size_t len)
{
	struct fuse_in_header h = {
	    .len = (uint32_t)(sizeof(h) + len), .opcode = op, .nodeid = node, .unique = unique};

	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), body, len);
	return sizeof(h) + len;
}

static struct fuse_out_header reply_header(const struct fx *f)
{
	struct fuse_out_header oh;

	memcpy(&oh, f->drv->mem + REPLY_GPA, sizeof(oh));
	return oh;
}

static void init(struct fx *f)
{
	struct fuse_init_in in = {.major = 7, .minor = 38};
	uint8_t buf[128];

	assert_int_equal(
	    run_req(f, 1, buf, (uint32_t)make(buf, FUSE_INIT, 0, 1, &in, sizeof(in)), 4096),
	    16 + 64);
	assert_int_equal(reply_header(f).unique, 1);
	assert_int_equal(reply_header(f).error, 0);
}

static void test_config(void **state)
{
	struct fx *f = *state;
	uint8_t cfg[40];

	assert_int_equal(f->d.ops->device_id, VIRTIO_ID_FS);
	assert_int_equal(f->d.ops->num_queues, 2);
	f->d.ops->config_read(&f->d, 0, cfg, sizeof(cfg));
	assert_memory_equal(cfg, "myshare\0", 8);
	assert_int_equal(cfg[36] | cfg[37] << 8 | cfg[38] << 16 | cfg[39] << 24, 1);
	f->d.ops->config_read(&f->d, 38, cfg, 8); /* past the end: zeroes */
	assert_int_equal(cfg[0], 0);
}

/* A reply never goes past the guest's writable buffer: an entry that does not fit is an error
 * header; a buffer too small for even that gets nothing. */
static void test_bounded_replies(void **state)
{
	struct fx *f = *state;
	uint8_t buf[128];
	size_t n;

	init(f);
	n = make(buf, FUSE_LOOKUP, 1, 2, "nothing", 8);
	assert_int_equal(run_req(f, 1, buf, (uint32_t)n, 4096), 16);
	assert_int_equal(reply_header(f).error, -ENOENT);
	n = make(buf, FUSE_GETATTR, 1, 3, (uint8_t[16]){0}, 16);
	assert_int_equal(run_req(f, 1, buf, (uint32_t)n, 4096), 16 + sizeof(struct fuse_attr_out));
	assert_int_equal(run_req(f, 1, buf, (uint32_t)n, 40), 16);
	assert_int_equal(reply_header(f).error, -ERANGE);
	assert_int_equal(f->drv->mem[REPLY_GPA + 40], CANARY);
	assert_int_equal(run_req(f, 1, buf, (uint32_t)n, 8), 0);
	assert_int_equal(f->drv->mem[REPLY_GPA], CANARY);
	/* Too short for a header: nothing is asked of the server, the chain comes back empty. */
	assert_int_equal(run_req(f, 1, buf, 20, 4096), 0);
	assert_int_equal(vfake.needs_reset, 0);
}

/* A request larger than any the server takes is answered by the device itself. */
static void test_oversized(void **state)
{
	struct fx *f = *state;
	uint8_t buf[64];

	init(f);
	memset(f->drv->mem + REQ_GPA, 0, FS_MAX_REQ + 1);
	make(buf, FUSE_WRITE, 1, 9, NULL, 0);
	/* A WRITE without its block, and no room for an answer: the chain comes back empty. */
	assert_int_equal(run_req(f, 1, buf, sizeof(struct fuse_in_header), 0), 0);
	memcpy(f->drv->mem + REQ_GPA, buf, sizeof(struct fuse_in_header));
	assert_int_equal(run_req(f, 1, NULL, FS_MAX_REQ + 1, 4096), 16);
	assert_int_equal(reply_header(f).unique, 9);
	assert_int_equal(reply_header(f).error, -EINVAL);
}

#define BIG	    FS_MAX_WRITE
#define BIG_PAGES   (BIG / 4096u)
#define BIG_IN_GPA  (DATA_GPA + 0x400000) /* the WRITE's block */
#define BIG_OUT_GPA (DATA_GPA + 0x600000) /* the READ's */

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7u + (i >> 12));
}

/* Offers a chain in an indirect table: head bytes readable at REQ_GPA; for a WRITE, BIG_PAGES
 * readable pages at pages_gpa, then a writable reply buffer of reply bytes at REPLY_GPA; for a
 * READ (out), the reply buffer, then BIG_PAGES writable pages. Returns what the device says it
 * wrote. */
static uint32_t run_paged(struct fx *f, uint32_t head, uint64_t pages_gpa, bool out, uint32_t reply)
{
	struct drv *drv = f->drv;
	const unsigned last = BIG_PAGES + 1;
	unsigned n = 0;
	uint16_t idx;

	put_desc(drv, IND_GPA, n++, REQ_GPA, head, F_NEXT, 1);
	if (out)
		put_desc(drv, IND_GPA, n++, REPLY_GPA, reply, F_WRITE | F_NEXT, 2);
	for (unsigned i = 0; i < BIG_PAGES; i++, n++)
		put_desc(drv, IND_GPA, n, pages_gpa + 4096ull * i, 4096,
			 (out ? F_WRITE : 0) | (n < last ? F_NEXT : 0), (uint16_t)(n + 1));
	if (!out)
		put_desc(drv, IND_GPA, n++, REPLY_GPA, reply, F_WRITE, 0);
	put_desc(drv, DESC_GPA, 0, IND_GPA, n * 16u, F_IND, 0);
	offer(drv, 0);
	f->d.ops->queue_notify(&f->d, 1);
	idx = rd16(drv, USED_GPA + 2);
	return rd32(drv, USED_GPA + 4 + 8u * ((idx - 1u) & (drv->vq.size - 1u)) + 4);
}

/* The guest is offered 1 MiB requests, and a 1 MiB WRITE in 256 pages and the READ of it into
 * 256 pages cross whole through the shared buffer: the host file and the guest's pages hold
 * what was written. */
static void test_big_io(void **state)
{
	struct fx *f = *state;
	struct fuse_init_in in = {.major = 7, .minor = 38, .max_readahead = 1u << 20};
	struct fuse_create_in cr = {.flags = O_RDWR | O_CREAT, .mode = 0644};
	struct fuse_init_out io;
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct fuse_write_in w = {.size = BIG};
	struct fuse_read_in r = {.size = BIG};
	struct fuse_write_out wo;
	uint8_t buf[128], *host = malloc(BIG + 1);
	char path[96];
	size_t n;
	FILE *fp;

	assert_int_equal(
	    run_req(f, 1, buf, (uint32_t)make(buf, FUSE_INIT, 0, 1, &in, sizeof(in)), 4096),
	    16 + 64);
	memcpy(&io, f->drv->mem + REPLY_GPA + 16, sizeof(io));
	assert_int_equal(io.max_write, BIG);
	assert_int_equal(io.max_pages, BIG_PAGES);
	memcpy(buf, &cr, sizeof(cr));
	memcpy(buf + sizeof(cr), "big", 4);
	n = make(buf + 64, FUSE_CREATE, 1, 2, buf, sizeof(cr) + 4);
	assert_int_equal(run_req(f, 1, buf + 64, (uint32_t)n, 4096), 16 + sizeof(e) + sizeof(o));
	memcpy(&e, f->drv->mem + REPLY_GPA + 16, sizeof(e));
	memcpy(&o, f->drv->mem + REPLY_GPA + 16 + sizeof(e), sizeof(o));
	w.fh = r.fh = o.fh;

	for (size_t i = 0; i < BIG; i++)
		f->drv->mem[BIG_IN_GPA + i] = pattern(i);
	/* The WRITE's header and fuse_write_in in one segment, its block in 256 more. */
	n = make(f->drv->mem + REQ_GPA, FUSE_WRITE, e.nodeid, 3, &w, sizeof(w));
	{
		struct fuse_in_header h;

		memcpy(&h, f->drv->mem + REQ_GPA, sizeof(h));
		h.len += BIG;
		memcpy(f->drv->mem + REQ_GPA, &h, sizeof(h));
	}
	assert_int_equal(run_paged(f, (uint32_t)n, BIG_IN_GPA, false, 4096), 16 + sizeof(wo));
	assert_int_equal(reply_header(f).error, 0);
	memcpy(&wo, f->drv->mem + REPLY_GPA + 16, sizeof(wo));
	assert_int_equal(wo.size, BIG);
	snprintf(path, sizeof(path), "%s/big", f->dir);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(host, 1, BIG + 1, fp), BIG);
	fclose(fp);
	assert_memory_equal(host, f->drv->mem + BIG_IN_GPA, BIG);

	/* The READ: its header in 16 bytes, the block in 256 pages. */
	memset(f->drv->mem + BIG_OUT_GPA, 0, BIG);
	n = make(f->drv->mem + REQ_GPA, FUSE_READ, e.nodeid, 4, &r, sizeof(r));
	assert_int_equal(run_paged(f, (uint32_t)n, BIG_OUT_GPA, true, 16), 16 + BIG);
	assert_int_equal(reply_header(f).error, 0);
	assert_int_equal(reply_header(f).len, 16 + BIG);
	assert_memory_equal(f->drv->mem + BIG_OUT_GPA, host, BIG);
	free(host);
}

/* The frames' lengths are checked on both sides: a request longer than the buffer's request
 * area is refused by the server, a reply longer than the guest holds (or than the reply area)
 * by the device. */
static void test_frame_checks(void **state)
{
	struct fx *f = *state;
	struct fs_frame in = {.len = FS_MAX_REQ + 1, .reply_max = 4096}, out = {0};
	int sv[2];

	assert_int_equal(fs_call(f->cfg.server_fd, FS_MAX_REQ + 1, 4096), -EINVAL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* A peer that answers 4097 bytes to a request with room for 4096, then 4096. */
	out.len = 4097;
	assert_int_equal(write(sv[1], &out, sizeof(out)), sizeof(out));
	assert_int_equal(fs_call(sv[0], 16, 4096), -EPROTO);
	assert_int_equal(read(sv[1], &in, sizeof(in)), sizeof(in));
	assert_int_equal(in.len, 16);
	assert_int_equal(in.reply_max, 4096);
	out.len = 4096;
	assert_int_equal(write(sv[1], &out, sizeof(out)), sizeof(out));
	assert_int_equal(fs_call(sv[0], 16, 4096), 4096);
	out.len = FS_MAX_REPLY + 1;
	assert_int_equal(write(sv[1], &out, sizeof(out)), sizeof(out));
	assert_int_equal(fs_call(sv[0], 16, UINT32_MAX), -EPROTO);
	close(sv[1]);
	assert_int_equal(fs_call(sv[0], 16, 4096), -EPIPE);
	close(sv[0]);
}

/* FORGET on the hiprio queue has no reply; the chain still comes back. */
static void test_hiprio_forget(void **state)
{
	struct fx *f = *state;
	struct fuse_forget_in fg = {.nlookup = 1};
	uint8_t buf[64];

	init(f);
	assert_int_equal(
	    run_req(f, 0, buf, (uint32_t)make(buf, FUSE_FORGET, 5, 4, &fg, sizeof(fg)), 0), 0);
	/* The server is still there. */
	assert_int_equal(run_req(f, 1, buf, (uint32_t)make(buf, FUSE_STATFS, 1, 5, NULL, 0), 4096),
			 16 + sizeof(struct fuse_statfs_out));
}

/* The server gone: the device asks for a reset, once, and takes no more requests. */
static void test_server_gone(void **state)
{
	struct fx *f = *state;
	uint8_t buf[64];
	size_t n = make(buf, FUSE_STATFS, 1, 6, NULL, 0);

	init(f);
	kill(f->pid, SIGKILL);
	waitpid(f->pid, NULL, 0);
	f->pid = -1;
	usleep(100000); /* the server proper, its child, goes with it */
	assert_int_equal(run_req(f, 1, buf, (uint32_t)n, 4096), -1);
	assert_int_equal(vfake.needs_reset, 1);
	assert_int_equal(run_req(f, 1, buf, (uint32_t)n, 4096), -1);
	assert_int_equal(vfake.needs_reset, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_bounded_replies, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_oversized, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_big_io, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_frame_checks, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_hiprio_forget, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_server_gone, fx_setup, fx_teardown),
	};

	signal(SIGPIPE, SIG_IGN); /* a server gone is EPIPE, as in the VMM */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
