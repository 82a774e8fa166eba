/* The virtio-fs device (src/virtio/fs.c) on its queues, with the real file server forked on a
 * temporary folder: requests copied out of guest memory, replies copied back bounded by the
 * guest's writable buffers, requests too large, the hiprio queue's FORGET, and a server that is
 * gone. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	f->cfg.server_fd = fs_server_spawn(f->dir, false, FILTERS, &f->pid, err, sizeof(err));
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
	    cmocka_unit_test_setup_teardown(test_hiprio_forget, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_server_gone, fx_setup, fx_teardown),
	};

	signal(SIGPIPE, SIG_IGN); /* a server gone is EPIPE, as in the VMM */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
