/* virtio-rng and virtio-console driven through their ops the way the virtio-pci
 * transport drives them, against split rings laid out in a buffer of guest memory. The
 * transport's services are replaced by a recorder defined here. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/bytes.h"
#include "virtio/devices.h"
#include "virtio_fake.h"
#include "backends/console.h"

#define GM_SIZE	 (1u << 20)
#define QSIZE	 16
#define BUF_BASE 0x20000u

#define DESC_F_NEXT  1
#define DESC_F_WRITE 2

#define CON_F_SIZE	  0
#define CON_F_MULTIPORT	  1
#define CON_F_EMERG_WRITE 2
#define RXQ		  0
#define TXQ		  1

/* ---- the fake transport (tests/common/virtio_fake.c) ---- */

/* Runs the I/O thread's callback for the one watched fd, as if it were readable. */
static void run_watch(struct virtio_dev *d)
{
	assert_int_equal(vfake.nw, 1);
	assert_true(vfake.w[0].events & EPOLLIN);
	vfake_fire(d, 0, EPOLLIN);
}

/* ---- guest memory and split rings ---- */

struct fixture {
	struct guest_mem gm;
	uint8_t *mem;
	struct virtio_dev d;
	uint16_t next_desc[2], avail_idx[2];
	uint64_t next_buf;
	char dir[64], path[128];
	bool has_dev;
};

struct seg {
	uint32_t len;
	bool write;
	const char *data; /* readable segments: contents (len bytes) */
};

static uint64_t desc_gpa(unsigned q)
{
	return 0x1000 + q * 0x1000ull;
}

static uint64_t avail_gpa(unsigned q)
{
	return desc_gpa(q) + 16ull * QSIZE;
}

static uint64_t used_gpa(unsigned q)
{
	return desc_gpa(q) + 0x800;
}

static void setup_queue(struct fixture *f, unsigned q)
{
	struct virtq *vq = &f->d.vq[q];

	vq->gm = &f->gm;
	virtq_reset(vq);
	vq->size = QSIZE;
	vq->desc_gpa = desc_gpa(q);
	vq->avail_gpa = avail_gpa(q);
	vq->used_gpa = used_gpa(q);
	assert_int_equal(virtq_enable(vq), 0);
	vq->ready = true;
}

static uint64_t buf_alloc(struct fixture *f, uint32_t len)
{
	uint64_t a = f->next_buf;

	f->next_buf = ALIGN_UP(a + len, 16);
	assert_true(f->next_buf <= GM_SIZE);
	return a;
}

/* Makes a chain available on queue q; gpas[i] receives segment i's buffer address. */
static uint16_t add_chain(struct fixture *f, unsigned q, const struct seg *s, unsigned n,
			  uint64_t *gpas)
{
	uint16_t head = f->next_desc[q];
	uint8_t *avail = f->mem + avail_gpa(q);

	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % QSIZE);
		uint8_t *desc = f->mem + desc_gpa(q) + 16u * idx;
		uint64_t gpa = buf_alloc(f, s[i].len);
		uint16_t flags =
		    (uint16_t)((s[i].write ? DESC_F_WRITE : 0) | (i + 1 < n ? DESC_F_NEXT : 0));

		if (!s[i].write && s[i].data)
			memcpy(f->mem + gpa, s[i].data, s[i].len);
		put_le64(desc, gpa);
		put_le32(desc + 8, s[i].len);
		put_le16(desc + 12, flags);
		put_le16(desc + 14, (uint16_t)((idx + 1) % QSIZE));
		if (gpas)
			gpas[i] = gpa;
	}
	f->next_desc[q] = (uint16_t)((head + n) % QSIZE);
	put_le16(avail + 4 + 2 * (f->avail_idx[q] % QSIZE), head);
	f->avail_idx[q]++;
	put_le16(avail + 2, f->avail_idx[q]);
	return head;
}

static uint16_t used_idx(const struct fixture *f, unsigned q)
{
	return get_le16(f->mem + used_gpa(q) + 2);
}

static void used_elem(const struct fixture *f, unsigned q, unsigned i, uint32_t *id, uint32_t *len)
{
	const uint8_t *e = f->mem + used_gpa(q) + 4 + 8 * (i % QSIZE);

	*id = get_le32(e);
	*len = get_le32(e + 4);
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->mem = aligned_alloc(4096, GM_SIZE);
	if (!f->mem) {
		free(f);
		return -1;
	}
	memset(f->mem, 0, GM_SIZE);
	gm_init_buffer(&f->gm, f->mem, GM_SIZE);
	f->d.gm = &f->gm;
	f->d.guest_features = 1ull << VIRTIO_F_VERSION_1;
	f->next_buf = BUF_BASE;
	snprintf(f->dir, sizeof(f->dir), "/tmp/phyllome-rc-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f->mem);
		free(f);
		return -1;
	}
	vfake.violation = vfake_fail;
	vfake_reset();
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	if (f->has_dev)
		f->d.ops->destroy(&f->d);
	if (f->path[0])
		unlink(f->path);
	rmdir(f->dir);
	free(f->mem);
	free(f);
	return 0;
}

/* ---- virtio-rng ---- */

static void rng_create(struct fixture *f)
{
	char err[128] = "";

	assert_int_equal(virtio_rng_init(&f->d, err, sizeof(err)), 0);
	f->has_dev = true;
	setup_queue(f, 0);
	assert_int_equal(f->d.ops->activate(&f->d), 0);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_rng_ops(void **state)
{
	struct fixture *f = *state;

	rng_create(f);
	assert_int_equal(f->d.ops->device_id, VIRTIO_ID_RNG);
	assert_int_equal(f->d.ops->num_queues, 1);
	assert_int_equal(f->d.ops->queue_size, 256);
	assert_int_equal(f->d.ops->config_size, 0);
	assert_int_equal(f->d.ops->pci_class, 0x00FF00);
	assert_true(f->d.ops->features(&f->d) == 0);
}

static void test_rng_fills(void **state)
{
	struct fixture *f = *state;
	const struct seg two[] = {{100, true, NULL}, {200, true, NULL}};
	const struct seg big[] = {{100u << 10, true, NULL}};
	const struct seg ro[] = {{32, false, "0123456789abcdef0123456789abcdef"}};
	const struct seg mixed[] = {{8, false, "request!"}, {64, true, NULL}};
	uint64_t g2[2], gb[1], gm[2];
	uint16_t h[4];
	uint32_t id, len;

	rng_create(f);
	h[0] = add_chain(f, 0, two, 2, g2);
	h[1] = add_chain(f, 0, big, 1, gb);
	h[2] = add_chain(f, 0, ro, 1, NULL);
	h[3] = add_chain(f, 0, mixed, 2, gm);
	f->d.ops->queue_notify(&f->d, 0);

	assert_int_equal(used_idx(f, 0), 4);
	assert_int_equal(vfake.notify[0], 1); /* once for the batch */
	assert_int_equal(vfake.needs_reset, 0);
	used_elem(f, 0, 0, &id, &len);
	assert_int_equal(id, h[0]);
	assert_int_equal(len, 300);
	assert_false(all_zero(f->mem + g2[0], 100));
	assert_false(all_zero(f->mem + g2[1], 200));
	used_elem(f, 0, 1, &id, &len);
	assert_int_equal(id, h[1]);
	assert_int_equal(len, 64u << 10); /* capped */
	assert_false(all_zero(f->mem + gb[0] + (63u << 10), 1024));
	assert_true(all_zero(f->mem + gb[0] + (64u << 10), 36u << 10));
	used_elem(f, 0, 2, &id, &len);
	assert_int_equal(id, h[2]);
	assert_int_equal(len, 0);
	used_elem(f, 0, 3, &id, &len);
	assert_int_equal(id, h[3]);
	assert_int_equal(len, 64);
	assert_memory_equal(f->mem + gm[0], "request!", 8);

	/* An empty ring: nothing pushed, no interrupt. */
	f->d.ops->queue_notify(&f->d, 0);
	assert_int_equal(used_idx(f, 0), 4);
	assert_int_equal(vfake.notify[0], 1);
}

static void test_rng_malformed(void **state)
{
	struct fixture *f = *state;
	const struct seg one[] = {{16, true, NULL}};
	uint16_t head;

	rng_create(f);
	add_chain(f, 0, one, 1, NULL);
	head = add_chain(f, 0, one, 1, NULL);
	/* The second chain's buffer lies past the end of guest RAM. */
	put_le64(f->mem + desc_gpa(0) + 16u * head, GM_SIZE + 4096ull);
	f->d.ops->queue_notify(&f->d, 0);
	assert_int_equal(vfake.needs_reset, 1);
	assert_int_equal(used_idx(f, 0), 1); /* the good chain before it was answered */
	assert_int_equal(vfake.notify[0], 1);
}

/* ---- virtio-console ---- */

static void con_create(struct fixture *f, enum serial_mode mode, const char *name)
{
	char err[256] = "";

	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	assert_int_equal(virtio_console_init(&f->d, mode, f->path, err, sizeof(err)), 0);
	f->has_dev = true;
	setup_queue(f, RXQ);
	setup_queue(f, TXQ);
}

static uint32_t config_u32(struct fixture *f, uint32_t off, uint32_t len)
{
	uint8_t b[4] = {0};

	f->d.ops->config_read(&f->d, off, b, len);
	return get_le32(b);
}

static size_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, len);
	close(fd);
	assert_true(n >= 0);
	return (size_t)n;
}

static void test_console_off(void **state)
{
	struct fixture *f = *state;
	char err[128] = "";

	assert_int_equal(virtio_console_init(&f->d, SERIAL_OFF, NULL, err, sizeof(err)), -EINVAL);
	assert_true(err[0] != 0);
}

static void test_console_file_config(void **state)
{
	struct fixture *f = *state;
	uint64_t feat;

	con_create(f, SERIAL_FILE, "out.txt");
	assert_int_equal(f->d.ops->device_id, VIRTIO_ID_CONSOLE);
	assert_int_equal(f->d.ops->num_queues, 2);
	assert_int_equal(f->d.ops->pci_class, 0x078000);
	assert_int_equal(f->d.ops->config_size, 12);
	feat = f->d.ops->features(&f->d);
	assert_true(feat & (1ull << CON_F_EMERG_WRITE));
	assert_false(feat & (1ull << CON_F_SIZE)); /* a file has no size */
	assert_false(feat & (1ull << CON_F_MULTIPORT));
	assert_int_equal(config_u32(f, 0, 2), 0); /* cols */
	assert_int_equal(config_u32(f, 2, 2), 0); /* rows */
	assert_int_equal(config_u32(f, 4, 4), 1); /* max_nr_ports */
	assert_int_equal(config_u32(f, 4, 1), 1); /* a byte of it */
	assert_int_equal(config_u32(f, 8, 4), 0); /* emerg_wr reads 0 */
	assert_int_equal(vfake.nw, 0);		  /* a file gives no input */
}

static void test_console_file_output(void **state)
{
	struct fixture *f = *state;
	const struct seg hello[] = {{7, false, "hello, "}, {6, false, "world\n"}};
	const struct seg rw[] = {{3, false, "ok\n"}, {16, true, NULL}};
	char out[64];
	uint32_t id, len;
	uint16_t h;

	con_create(f, SERIAL_FILE, "out.txt");
	assert_int_equal(f->d.ops->activate(&f->d), 0);
	h = add_chain(f, TXQ, hello, 2, NULL);
	add_chain(f, TXQ, rw, 2, NULL);
	f->d.ops->queue_notify(&f->d, TXQ);
	assert_int_equal(used_idx(f, TXQ), 2);
	used_elem(f, TXQ, 0, &id, &len);
	assert_int_equal(id, h);
	assert_int_equal(len, 0);
	used_elem(f, TXQ, 1, &id, &len);
	assert_int_equal(len, 0);
	assert_int_equal(vfake.notify[TXQ], 1);

	/* Emergency write: a 32-bit write and a byte write at emerg_wr; writes to the
	 * read-only fields are ignored. */
	f->d.ops->config_write(&f->d, 8, (const uint8_t *)"!\0\0\0", 4);
	f->d.ops->config_write(&f->d, 8, (const uint8_t *)"?", 1);
	f->d.ops->config_write(&f->d, 0, (const uint8_t *)"XXXX", 4);
	f->d.ops->config_write(&f->d, 4, (const uint8_t *)"YYYY", 4);
	assert_int_equal(read_file(f->path, out, sizeof(out)), 18);
	assert_memory_equal(out, "hello, world\nok\n!?", 18);
	assert_int_equal(config_u32(f, 4, 4), 1);
	assert_int_equal(vfake.needs_reset, 0);
}

static void test_console_tx_malformed(void **state)
{
	struct fixture *f = *state;
	const struct seg one[] = {{4, false, "abc\n"}};
	uint16_t head;

	con_create(f, SERIAL_FILE, "out.txt");
	assert_int_equal(f->d.ops->activate(&f->d), 0);
	head = add_chain(f, TXQ, one, 1, NULL);
	put_le32(f->mem + desc_gpa(TXQ) + 16u * head + 8, GM_SIZE); /* runs past RAM */
	f->d.ops->queue_notify(&f->d, TXQ);
	assert_int_equal(vfake.needs_reset, 1);
	assert_int_equal(used_idx(f, TXQ), 0);
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_all(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

/* Waits for the pty's line discipline to pass the bytes written to the master on. */
static void wait_stdin(void)
{
	struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};

	assert_int_equal(poll(&p, 1, 2000), 1);
	usleep(20000);
}

static void test_console_socket(void **state)
{
	struct fixture *f = *state;
	const struct seg four[] = {{4, true, NULL}};
	const struct seg big[] = {{16, true, NULL}};
	const struct seg out[] = {{4, false, "out\n"}};
	uint64_t g[3];
	uint32_t id, len;
	char buf[16];
	int listen_fd, client, accepted;

	con_create(f, SERIAL_SOCKET, "con.sock");
	assert_int_equal(vfake.nw, 1); /* the listening socket, from the start */
	listen_fd = vfake.w[0].fd;
	client = connect_to(f->path);
	run_watch(&f->d); /* accepts: now the client is watched instead */
	assert_int_equal(vfake.nw, 1);
	accepted = vfake.w[0].fd;
	assert_true(accepted != listen_fd);

	/* Input before DRIVER_OK waits; so does its fd. */
	send_all(client, "hello!");
	run_watch(&f->d);
	assert_int_equal(vfake.nw, 0);
	add_chain(f, RXQ, four, 1, &g[0]);
	add_chain(f, RXQ, four, 1, &g[1]);
	assert_int_equal(f->d.ops->activate(&f->d), 0);
	assert_int_equal(used_idx(f, RXQ), 2);
	used_elem(f, RXQ, 0, &id, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(f->mem + g[0], "hell", 4);
	used_elem(f, RXQ, 1, &id, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(f->mem + g[1], "o!", 2);
	assert_int_equal(vfake.notify[RXQ], 1);
	assert_int_equal(vfake.nw, 1);
	assert_int_equal(vfake.w[0].fd, accepted);

	/* No receive buffers: the bytes are kept and input is no longer watched. */
	send_all(client, "abc");
	run_watch(&f->d);
	assert_int_equal(vfake.nw, 0);
	assert_int_equal(used_idx(f, RXQ), 2);
	f->d.ops->queue_notify(&f->d, RXQ); /* a kick with nothing new changes nothing */
	assert_int_equal(vfake.nw, 0);
	add_chain(f, RXQ, big, 1, &g[2]);
	f->d.ops->queue_notify(&f->d, RXQ);
	assert_int_equal(used_idx(f, RXQ), 3);
	used_elem(f, RXQ, 2, &id, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(f->mem + g[2], "abc", 3);
	assert_int_equal(vfake.notify[RXQ], 2);
	assert_int_equal(vfake.nw, 1);
	assert_int_equal(vfake.w[0].fd, accepted);

	/* Guest -> client, and an emergency write. */
	add_chain(f, TXQ, out, 1, NULL);
	f->d.ops->queue_notify(&f->d, TXQ);
	f->d.ops->config_write(&f->d, 8, (const uint8_t *)"#\0\0\0", 4);
	assert_int_equal(recv(client, buf, sizeof(buf), MSG_DONTWAIT), 5);
	assert_memory_equal(buf, "out\n#", 5);

	/* The client hangs up: back to listening. */
	close(client);
	run_watch(&f->d);
	assert_int_equal(vfake.nw, 1);
	assert_int_equal(vfake.w[0].fd, listen_fd);
	assert_int_equal(vfake.needs_reset, 0);
}

static void test_console_reset_keeps_input(void **state)
{
	struct fixture *f = *state;
	const struct seg big[] = {{16, true, NULL}};
	uint64_t g;
	uint32_t id, len;
	int client;

	con_create(f, SERIAL_SOCKET, "con.sock");
	client = connect_to(f->path);
	run_watch(&f->d);
	assert_int_equal(f->d.ops->activate(&f->d), 0);
	send_all(client, "xyz");
	run_watch(&f->d);
	assert_int_equal(vfake.nw, 0);
	f->d.ops->reset(&f->d);
	setup_queue(f, RXQ);
	setup_queue(f, TXQ);
	memset(f->mem, 0, BUF_BASE); /* the new driver's fresh rings */
	f->next_desc[RXQ] = f->avail_idx[RXQ] = 0;
	add_chain(f, RXQ, big, 1, &g);
	f->d.ops->queue_notify(&f->d, RXQ); /* not DRIVER_OK yet: nothing delivered */
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(f->d.ops->activate(&f->d), 0);
	assert_int_equal(used_idx(f, RXQ), 1);
	used_elem(f, RXQ, 0, &id, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(f->mem + g, "xyz", 3);
	assert_int_equal(vfake.nw, 1);
	close(client);
}

static unsigned quit_calls;

static void on_quit(void *opaque)
{
	assert_ptr_equal(opaque, &quit_calls);
	quit_calls++;
}

/* A pseudo-terminal as stdin and stdout: window size, and the escape key. */
static void test_console_tty(void **state)
{
	struct fixture *f = *state;
	const struct seg big[] = {{16, true, NULL}};
	struct winsize ws = {.ws_row = 33, .ws_col = 120};
	char err[256] = "";
	int master, slave, saved_in, saved_out, rc;
	struct termios t;
	uint64_t g;
	uint32_t len, id;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0)
		skip(); /* no /dev/ptmx here */
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);
	assert_int_equal(ioctl(slave, TIOCSWINSZ, &ws), 0);
	fflush(stdout);
	saved_in = dup(STDIN_FILENO);
	saved_out = dup(STDOUT_FILENO);
	dup2(slave, STDIN_FILENO);
	dup2(slave, STDOUT_FILENO);
	rc = virtio_console_init(&f->d, SERIAL_TTY, NULL, err, sizeof(err));
	dup2(saved_out, STDOUT_FILENO); /* the device keeps writing to fd 1: the test's now */
	close(saved_out);
	assert_int_equal(rc, 0);
	f->has_dev = true;
	virtio_console_set_quit_cb(&f->d, on_quit, &quit_calls);
	setup_queue(f, RXQ);
	setup_queue(f, TXQ);

	assert_true(f->d.ops->features(&f->d) & (1ull << CON_F_SIZE));
	assert_int_equal(config_u32(f, 0, 2), 120);
	assert_int_equal(config_u32(f, 2, 2), 33);
	assert_int_equal(vfake.nw, 1);
	assert_int_equal(vfake.w[0].fd, STDIN_FILENO);

	add_chain(f, RXQ, big, 1, &g);
	assert_int_equal(f->d.ops->activate(&f->d), 0);
	assert_int_equal(write(master,
			       "a\x01\x01"
			       "b",
			       4),
			 4);
	wait_stdin();
	run_watch(&f->d);
	assert_int_equal(used_idx(f, RXQ), 1);
	used_elem(f, RXQ, 0, &id, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(f->mem + g,
			    "a\x01"
			    "b",
			    3);
	assert_int_equal(quit_calls, 0);

	assert_int_equal(write(master, "\x01x", 2), 2);
	wait_stdin();
	run_watch(&f->d);
	assert_int_equal(quit_calls, 1);
	assert_int_equal(vfake.nw, 0); /* quitting: input is no longer read */

	f->d.ops->destroy(&f->d); /* restores the terminal */
	f->has_dev = false;
	assert_int_equal(tcgetattr(slave, &t), 0);
	assert_true(t.c_lflag & ICANON);
	dup2(saved_in, STDIN_FILENO);
	close(saved_in);
	close(slave);
	close(master);
	f->path[0] = 0;
}

/* ---- virtio-input (the tablet) ---- */

static void input_cfg(struct fixture *f, uint8_t sel, uint8_t sub, uint8_t *size, uint8_t u[128])
{
	uint8_t b[2] = {sel, sub};

	f->d.ops->config_write(&f->d, 0, b, 2);
	f->d.ops->config_read(&f->d, 2, size, 1);
	f->d.ops->config_read(&f->d, 8, u, 128);
}

static void test_input_config(void **state)
{
	struct fixture *f = *state;
	char err[128] = "";
	uint8_t size, u[128];

	assert_int_equal(virtio_input_init(&f->d, err, sizeof(err)), 0);
	f->has_dev = true;
	assert_int_equal(f->d.ops->device_id, VIRTIO_ID_INPUT);
	assert_int_equal(f->d.ops->num_queues, 2);
	assert_int_equal(f->d.ops->config_size, 136);
	input_cfg(f, 0x01, 0, &size, u); /* name */
	assert_int_equal(size, 15);
	assert_memory_equal(u, "Phyllome Tablet", 15);
	input_cfg(f, 0x11, 3, &size, u); /* EV_ABS: ABS_X, ABS_Y */
	assert_int_equal(size, 1);
	assert_int_equal(u[0], 3);
	input_cfg(f, 0x11, 1, &size, u); /* EV_KEY: BTN_LEFT..BTN_MIDDLE */
	assert_int_equal(size, 0x112 / 8 + 1);
	assert_int_equal(u[0x110 / 8], 0x07);
	input_cfg(f, 0x12, 0, &size, u); /* ABS_X range */
	assert_int_equal(size, 20);
	assert_int_equal(get_le32(u + 4), VIRTIO_INPUT_ABS_MAX);
	input_cfg(f, 0x12, 9, &size, u); /* an axis it doesn't have */
	assert_int_equal(size, 0);
	input_cfg(f, 0xEE, 0xEE, &size, u);
	assert_int_equal(size, 0);
}

static void test_input_events(void **state)
{
	struct fixture *f = *state;
	const struct seg ev[] = {{8, true, NULL}};
	uint64_t g[8];
	char err[128] = "";
	uint32_t id, len;

	assert_int_equal(virtio_input_init(&f->d, err, sizeof(err)), 0);
	f->has_dev = true;
	pthread_mutex_init(&f->d.lock, NULL);
	setup_queue(f, 0);
	setup_queue(f, 1);
	/* Before DRIVER_OK: dropped. */
	virtio_input_pointer(&f->d, 5, 6, 0);
	assert_int_equal(used_idx(f, 0), 0);
	f->d.status = VIRTIO_STATUS_DRIVER_OK;
	for (unsigned i = 0; i < 4; i++)
		add_chain(f, 0, ev, 1, &g[i]);
	/* X, Y, left button down, SYN: four events, four buffers. */
	virtio_input_pointer(&f->d, 1000, 2000, 1);
	assert_int_equal(used_idx(f, 0), 4);
	used_elem(f, 0, 0, &id, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(f->mem + g[0], "\x03\0\0\0\xE8\x03\0\0", 8);
	assert_memory_equal(f->mem + g[1], "\x03\0\x01\0\xD0\x07\0\0", 8);
	assert_memory_equal(f->mem + g[2], "\x01\0\x10\x01\x01\0\0\0", 8);
	assert_memory_equal(f->mem + g[3], "\0\0\0\0\0\0\0\0", 8);
	/* No buffers: events wait, and go out when the driver adds some and kicks. */
	virtio_input_pointer(&f->d, 99999, 0, 0); /* clamped to the axis' maximum */
	assert_int_equal(used_idx(f, 0), 4);
	for (unsigned i = 4; i < 8; i++)
		add_chain(f, 0, ev, 1, &g[i]);
	f->d.ops->queue_notify(&f->d, 0);
	assert_int_equal(used_idx(f, 0), 8);
	assert_int_equal(get_le32(f->mem + g[4] + 4), VIRTIO_INPUT_ABS_MAX);
	assert_memory_equal(f->mem + g[6], "\x01\0\x10\x01\0\0\0\0", 8); /* left up */
	/* The status queue is drained. */
	add_chain(f, 1, ev, 1, NULL);
	f->d.ops->queue_notify(&f->d, 1);
	assert_int_equal(used_idx(f, 1), 1);
	f->d.ops->reset(&f->d);
	pthread_mutex_destroy(&f->d.lock);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_rng_ops),
	    T(test_rng_fills),
	    T(test_rng_malformed),
	    T(test_console_off),
	    T(test_console_file_config),
	    T(test_console_file_output),
	    T(test_console_tx_malformed),
	    T(test_console_socket),
	    T(test_console_reset_keeps_input),
	    T(test_console_tty),
	    T(test_input_config),
	    T(test_input_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
