#include "net_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/bytes.h"

/* ---- the fake transport (tests/common/virtio_fake.c) ---- */

bool net_watched(void)
{
	assert_true(vfake.nw <= 1); /* one fd, and the device unwatches before changing */
	return vfake.nw == 1;
}

/* ---- guest memory, rings, the passt end ---- */

uint64_t desc_gpa(unsigned q)
{
	return 0x1000 + q * 0x2000ull;
}

uint64_t avail_gpa(unsigned q)
{
	return desc_gpa(q) + 0x400;
}

uint64_t used_gpa(unsigned q)
{
	return desc_gpa(q) + 0x800;
}

void setup_queue(struct fixture *f, unsigned q, uint16_t size)
{
	struct virtq *vq = &f->d.vq[q];

	memset(f->mem + desc_gpa(q), 0, 0x2000);
	vq->gm = &f->gm;
	virtq_reset(vq);
	vq->size = size;
	vq->desc_gpa = desc_gpa(q);
	vq->avail_gpa = avail_gpa(q);
	vq->used_gpa = used_gpa(q);
	assert_int_equal(virtq_enable(vq), 0);
	f->qsize[q] = size;
	f->next_desc[q] = f->avail_idx[q] = f->used_seen[q] = 0;
}

static uint64_t buf_alloc(struct fixture *f, uint32_t len)
{
	uint64_t a = f->next_buf;

	f->next_buf = ALIGN_UP(a + len, 16);
	assert_true(f->next_buf <= GM_SIZE);
	return a;
}

/* Makes a chain of n segments available: lens[i] bytes each, writable from index
 * first_write on, readable ones filled from data in order. */
uint16_t add_chain(struct fixture *f, unsigned q, const uint32_t *lens, unsigned n,
		   unsigned first_write, const uint8_t *data, uint64_t *gpas)
{
	uint16_t qs = f->qsize[q], head = f->next_desc[q];
	uint8_t *avail = f->mem + avail_gpa(q);

	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % qs);
		uint8_t *desc = f->mem + desc_gpa(q) + 16u * idx;
		uint64_t gpa = buf_alloc(f, lens[i]);
		bool w = i >= first_write;

		if (!w && data) {
			memcpy(f->mem + gpa, data, lens[i]);
			data += lens[i];
		}
		put_le64(desc, gpa);
		put_le32(desc + 8, lens[i]);
		put_le16(desc + 12, (uint16_t)((w ? VIRTQ_DESC_F_WRITE : 0) |
					       (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)));
		put_le16(desc + 14, (uint16_t)((idx + 1) % qs));
		if (gpas)
			gpas[i] = gpa;
	}
	f->next_desc[q] = (uint16_t)((head + n) % qs);
	put_le16(avail + 4 + 2 * (f->avail_idx[q] % qs), head);
	f->avail_idx[q]++;
	put_le16(avail + 2, f->avail_idx[q]);
	return head;
}

uint16_t add_rx(struct fixture *f, uint32_t len)
{
	uint64_t gpa;
	uint16_t head = add_chain(f, RXQ, &len, 1, 0, NULL, &gpa);

	f->rx_gpa[head] = gpa;
	return head;
}

uint16_t used_idx(const struct fixture *f, unsigned q)
{
	return get_le16(f->mem + used_gpa(q) + 2);
}

void used_elem(const struct fixture *f, unsigned q, unsigned i, uint32_t *id, uint32_t *len)
{
	const uint8_t *e = f->mem + used_gpa(q) + 4 + 8 * (i % f->qsize[q]);

	*id = get_le32(e);
	*len = get_le32(e + 4);
}

void pattern(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + i / 251);
}

/* Runs the callback while the watched fd has the watched events, as epoll would. */
unsigned pump(struct fixture *f)
{
	unsigned calls = 0;

	while (net_watched() && calls < 1000) {
		struct pollfd p = {.fd = vfake.w[0].fd, .events = (short)vfake.w[0].events};

		if (poll(&p, 1, 0) != 1)
			break;
		vfake_fire(&f->d, 0, (uint32_t)p.revents);
		calls++;
	}
	return calls;
}

void write_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

void host_send(struct fixture *f, const uint8_t *frame, uint32_t len)
{
	uint8_t l[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			(uint8_t)len};

	write_all(f->peer, l, 4);
	write_all(f->peer, frame, len);
}

void read_full(int fd, uint8_t *p, size_t len)
{
	for (size_t done = 0; done < len;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		assert_int_equal(poll(&pfd, 1, 2000), 1);
		r = read(fd, p + done, len - done);
		assert_true(r > 0);
		done += (size_t)r;
	}
}

uint32_t host_recv(struct fixture *f, uint8_t *buf, size_t cap)
{
	uint8_t l[4];
	uint32_t len;

	read_full(f->peer, l, 4);
	len = (uint32_t)l[0] << 24 | (uint32_t)l[1] << 16 | (uint32_t)l[2] << 8 | l[3];
	assert_true(len <= cap);
	read_full(f->peer, buf, len);
	return len;
}

bool host_readable(const struct fixture *f)
{
	struct pollfd pfd = {.fd = f->peer, .events = POLLIN};

	return poll(&pfd, 1, 0) == 1;
}

int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->mem = aligned_alloc(4096, GM_SIZE);
	snprintf(f->dir, sizeof(f->dir), "/tmp/phyllome-net-XXXXXX");
	if (!f->mem || !mkdtemp(f->dir)) {
		free(f->mem);
		free(f);
		return -1;
	}
	memset(f->mem, 0, GM_SIZE);
	gm_init_buffer(&f->gm, f->mem, GM_SIZE);
	f->d.gm = &f->gm;
	f->next_buf = BUF_BASE;
	f->listen_fd = f->peer = -1;
	vfake.nqueues = 2;
	vfake.violation = vfake_fail;
	vfake_reset();
	*state = f;
	return 0;
}

int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	if (f->has_dev)
		f->d.ops->destroy(&f->d);
	if (f->passt_pid > 0) {
		kill(f->passt_pid, SIGTERM);
		waitpid(f->passt_pid, NULL, 0);
	}
	if (f->peer >= 0)
		close(f->peer);
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	if (f->path[0])
		unlink(f->path);
	rmdir(f->dir);
	free(f->mem);
	free(f);
	return 0;
}

/* passt's side: a listening socket the device connects to. */
static void passt_listen(struct fixture *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(f->path, sizeof(f->path), "%s/passt.sock", f->dir);
	memcpy(sa.sun_path, f->path, strlen(f->path));
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->listen_fd >= 0);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listen_fd, 4), 0);
}

void net_create(struct fixture *f, const uint8_t *mac, unsigned index)
{
	struct net_config cfg = {.backend = NET_PASST};
	char err[256] = "";

	if (f->listen_fd < 0)
		passt_listen(f);
	snprintf(cfg.target, sizeof(cfg.target), "%s", f->path);
	if (mac) {
		memcpy(cfg.mac, mac, 6);
		cfg.mac_set = true;
	}
	assert_int_equal(virtio_net_init(&f->d, &cfg, index, err, sizeof(err)), 0);
	f->has_dev = true;
	f->peer = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(f->peer >= 0);
}

void net_start(struct fixture *f, uint64_t features, uint16_t rx_size)
{
	f->d.guest_features = BIT(VIRTIO_F_VERSION_1) | features;
	setup_queue(f, RXQ, rx_size);
	setup_queue(f, TXQ, QSIZE);
	assert_int_equal(f->d.ops->activate(&f->d), 0);
}

void net_up(struct fixture *f, uint64_t features)
{
	net_create(f, NULL, 0);
	net_start(f, features, QSIZE);
	assert_true(net_watched());
	assert_int_equal(vfake.w[0].events, EPOLLIN);
}

/* Checks the next used rx element: its head, its length, and returns its buffer. */
const uint8_t *next_rx(struct fixture *f, uint16_t head, uint32_t len)
{
	uint32_t id, l;

	assert_true(used_idx(f, RXQ) != f->used_seen[RXQ]);
	used_elem(f, RXQ, f->used_seen[RXQ]++, &id, &l);
	assert_int_equal(id, head);
	assert_int_equal(l, len);
	return f->mem + f->rx_gpa[head];
}
