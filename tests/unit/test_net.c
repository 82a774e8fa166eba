/* virtio-net driven through its ops the way the virtio-pci transport drives them (see
 * net_harness.h): passt's framing both ways, mergeable and single receive buffers, a
 * receive ring running dry, malformed chains, partial reads and writes on the socket, a
 * hang-up, reset; a tap interface when running as root with /dev/net/tun, and a real
 * passt when it is installed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/bytes.h"
#include "net_harness.h"

/* ---- tests ---- */

static void test_ops_and_config(void **state)
{
	struct fixture *f = *state;
	const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	uint8_t cfg[10];
	uint64_t feat;

	net_create(f, mac, 0);
	assert_int_equal(f->d.ops->device_id, VIRTIO_ID_NET);
	assert_int_equal(f->d.ops->num_queues, 2);
	assert_int_equal(f->d.ops->queue_size, 256);
	assert_int_equal(f->d.ops->pci_class, 0x020000);
	assert_int_equal(f->d.ops->config_size, 10);
	feat = f->d.ops->features(&f->d);
	assert_true(feat == (BIT(F_MAC) | BIT(F_STATUS) | BIT(F_MRG_RXBUF))); /* passt */
	f->d.ops->config_read(&f->d, 0, cfg, 10);
	assert_memory_equal(cfg, mac, 6);
	assert_int_equal(get_le16(cfg + 6), 1); /* link up */
	assert_int_equal(get_le16(cfg + 8), 1); /* one queue pair */
	f->d.ops->config_read(&f->d, 7, cfg, 1);
	assert_int_equal(cfg[0], 0);
	f->d.ops->config_write(&f->d, 0, (const uint8_t[2]){0xFF, 0xFF}, 2); /* ignored */
	f->d.ops->config_read(&f->d, 0, cfg, 2);
	assert_memory_equal(cfg, mac, 2);
	assert_false(net_watched()); /* nothing before DRIVER_OK */
}

static void default_mac_of(struct fixture *f, unsigned index, uint8_t mac[6])
{
	if (f->has_dev) {
		f->d.ops->destroy(&f->d);
		close(f->peer);
	}
	net_create(f, NULL, index);
	f->d.ops->config_read(&f->d, 0, mac, 6);
}

static void test_default_mac(void **state)
{
	struct fixture *f = *state;
	uint8_t a[6], b[6], c[6];

	default_mac_of(f, 0, a);
	default_mac_of(f, 0, b);
	default_mac_of(f, 1, c);
	assert_int_equal(a[0], 0x02); /* locally administered, unicast */
	assert_memory_equal(a, b, 6); /* stable */
	assert_memory_not_equal(a, c, 6);
}

static void test_bad_backends(void **state)
{
	struct fixture *f = *state;
	struct net_config cfg = {.backend = NET_PASST};
	char err[256] = "";

	snprintf(cfg.target, sizeof(cfg.target), "%s/nobody-listens", f->dir);
	assert_true(virtio_net_init(&f->d, &cfg, 3, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "virtio-net3"));
	assert_non_null(strstr(err, "nobody-listens"));
	cfg.backend = NET_TAP;
	snprintf(cfg.target, sizeof(cfg.target), "a-name-longer-than-ifnamsiz");
	assert_int_equal(virtio_net_init(&f->d, &cfg, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tap"));
}

static void test_tx(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2000], got[2000];
	const uint32_t one[] = {HDR + 60};
	const uint32_t split_hdr[] = {5, 7, 1000};
	const uint32_t many[] = {HDR, 100, 1, 399};
	uint32_t id, len;

	net_up(f, BIT(F_MRG_RXBUF));
	memset(buf, 0, HDR);
	pattern(buf + HDR, sizeof(buf) - HDR, 1);
	add_chain(f, TXQ, one, 1, 1, buf, NULL);
	add_chain(f, TXQ, split_hdr, 3, 3, buf, NULL);
	add_chain(f, TXQ, many, 4, 4, buf, NULL);
	f->d.ops->queue_notify(&f->d, TXQ);
	assert_int_equal(used_idx(f, TXQ), 3);
	assert_int_equal(vfake.notify[TXQ], 1);
	for (unsigned i = 0; i < 3; i++) {
		used_elem(f, TXQ, i, &id, &len);
		assert_int_equal(len, 0);
	}
	assert_int_equal(host_recv(f, got, sizeof(got)), 60);
	assert_memory_equal(got, buf + HDR, 60);
	assert_int_equal(host_recv(f, got, sizeof(got)), 1000);
	assert_memory_equal(got, buf + HDR, 1000);
	assert_int_equal(host_recv(f, got, sizeof(got)), 500);
	assert_memory_equal(got, buf + HDR, 500);
	assert_false(host_readable(f));
	assert_int_equal(vfake.needs_reset, 0);
}

static void test_tx_malformed(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[200] = {0}, got[200];
	const uint32_t writable[] = {HDR + 60, 16};
	const uint32_t short_hdr[] = {8};
	const uint32_t runt[] = {HDR + 10};
	const uint32_t good[] = {HDR + 80};
	uint32_t id, len;

	net_up(f, 0);
	pattern(buf + HDR, sizeof(buf) - HDR, 2);
	add_chain(f, TXQ, writable, 2, 1, buf, NULL);
	add_chain(f, TXQ, short_hdr, 1, 1, buf, NULL);
	add_chain(f, TXQ, runt, 1, 1, buf, NULL); /* no room for an Ethernet header */
	buf[0] = 1;				  /* NEEDS_CSUM: not offered on passt */
	add_chain(f, TXQ, good, 1, 1, buf, NULL);
	buf[0] = 0;
	add_chain(f, TXQ, good, 1, 1, buf, NULL);
	f->d.ops->queue_notify(&f->d, TXQ);
	assert_int_equal(used_idx(f, TXQ), 5);
	for (unsigned i = 0; i < 5; i++) {
		used_elem(f, TXQ, i, &id, &len);
		assert_int_equal(len, 0);
	}
	assert_int_equal(host_recv(f, got, sizeof(got)), 80); /* only the last one */
	assert_memory_equal(got, buf + HDR, 80);
	assert_false(host_readable(f));
	assert_int_equal(vfake.needs_reset, 0);

	/* A ring-level error: a head beyond the queue size. */
	put_le16(f->mem + avail_gpa(TXQ) + 4 + 2 * (f->avail_idx[TXQ] % QSIZE), QSIZE + 3);
	put_le16(f->mem + avail_gpa(TXQ) + 2, ++f->avail_idx[TXQ]);
	f->d.ops->queue_notify(&f->d, TXQ);
	assert_int_equal(vfake.needs_reset, 1);
	assert_false(net_watched()); /* nothing more until reset */
	f->d.ops->reset(&f->d);
	net_start(f, 0, QSIZE);
	assert_true(net_watched());
}

static void test_rx_mergeable(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[2500], got[2600];
	const uint8_t *p;
	uint16_t h[4];

	net_up(f, BIT(F_MRG_RXBUF));
	for (unsigned i = 0; i < 4; i++)
		h[i] = add_rx(f, 1000);
	pattern(frame, sizeof(frame), 3);
	host_send(f, frame, 2500);
	host_send(f, frame + 7, 60);
	assert_true(pump(f) >= 1);
	assert_int_equal(used_idx(f, RXQ), 4);
	assert_int_equal(vfake.notify[RXQ], 1); /* one for the batch */
	p = next_rx(f, h[0], 1000);
	assert_int_equal(p[0], 0);	       /* flags */
	assert_int_equal(p[1], 0);	       /* gso_type */
	assert_int_equal(get_le16(p + 10), 3); /* num_buffers */
	memcpy(got, p + HDR, 1000 - HDR);
	memcpy(got + 1000 - HDR, next_rx(f, h[1], 1000), 1000);
	memcpy(got + 2000 - HDR, next_rx(f, h[2], 512), 512);
	assert_memory_equal(got, frame, 2500);
	p = next_rx(f, h[3], HDR + 60);
	assert_int_equal(get_le16(p + 10), 1);
	assert_memory_equal(p + HDR, frame + 7, 60);
}

static void test_rx_no_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[2500];
	const uint8_t *p;
	uint16_t h[4];

	net_up(f, BIT(F_MRG_RXBUF));
	pattern(frame, sizeof(frame), 4);
	host_send(f, frame, 2500);
	host_send(f, frame, 100);
	assert_int_equal(pump(f), 1);
	assert_false(net_watched()); /* stalled: the backend is not watched */
	assert_int_equal(pump(f), 0);
	assert_int_equal(used_idx(f, RXQ), 0);

	/* One buffer: part of the frame goes in, the rest waits for more. */
	h[0] = add_rx(f, 1000);
	f->d.ops->queue_notify(&f->d, RXQ);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_false(net_watched());
	h[1] = add_rx(f, 1000);
	h[2] = add_rx(f, 1000);
	f->d.ops->queue_notify(&f->d, RXQ);
	assert_int_equal(used_idx(f, RXQ), 3);
	assert_int_equal(get_le16(next_rx(f, h[0], 1000) + 10), 3);
	next_rx(f, h[1], 1000);
	next_rx(f, h[2], 512);
	assert_false(net_watched()); /* the second frame, read next, waits for a buffer too */
	h[3] = add_rx(f, 1000);
	f->d.ops->queue_notify(&f->d, RXQ);
	p = next_rx(f, h[3], HDR + 100);
	assert_memory_equal(p + HDR, frame, 100);
	assert_true(net_watched());
	assert_int_equal(vfake.needs_reset, 0);
}

static void test_rx_not_mergeable(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[3000];
	const uint8_t *p;
	uint16_t h;

	net_up(f, 0);
	pattern(frame, sizeof(frame), 5);
	h = add_rx(f, 1600);
	host_send(f, frame, 3000); /* does not fit one buffer: dropped */
	host_send(f, frame + 1, 1000);
	pump(f);
	p = next_rx(f, h, HDR + 1000); /* the same buffer took the next frame */
	assert_int_equal(get_le16(p + 10), 1);
	assert_memory_equal(p + HDR, frame + 1, 1000);
	assert_int_equal(used_idx(f, RXQ), 1);
}

static void test_rx_bad_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[1000];
	const uint32_t readable[] = {100};
	const uint8_t *p;
	uint16_t bad[2], h[4];

	net_up(f, BIT(F_MRG_RXBUF));
	bad[0] = add_chain(f, RXQ, readable, 1, 1, frame, NULL);
	bad[1] = add_rx(f, 8); /* shorter than the header */
	h[0] = add_rx(f, 600);
	pattern(frame, sizeof(frame), 6);
	host_send(f, frame, 100);
	pump(f);
	next_rx(f, bad[0], 0);
	next_rx(f, bad[1], 0);
	p = next_rx(f, h[0], HDR + 100);
	assert_memory_equal(p + HDR, frame, 100);

	/* A ring too small for the frame: its buffers come back empty, the next fits. */
	f->d.ops->reset(&f->d);
	net_start(f, BIT(F_MRG_RXBUF), 4);
	for (unsigned i = 0; i < 4; i++)
		h[i] = add_rx(f, 100);
	host_send(f, frame, 1000);
	pump(f);
	for (unsigned i = 0; i < 4; i++)
		next_rx(f, h[i], 0);
	h[0] = add_rx(f, 100);
	f->d.ops->queue_notify(&f->d, RXQ); /* a no-op unless stalled */
	host_send(f, frame, 50);
	pump(f);
	assert_memory_equal(next_rx(f, h[0], HDR + 50) + HDR, frame, 50);
}

static void test_rx_stream_pieces(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[1500], junk[70000] = {0}, lenb[4] = {0, 0, 0x05, 0xDC}; /* 1500 */
	uint16_t h[3];

	net_up(f, BIT(F_MRG_RXBUF));
	for (unsigned i = 0; i < 3; i++)
		h[i] = add_rx(f, 2048);
	pattern(frame, sizeof(frame), 7);
	write_all(f->peer, lenb, 2);
	assert_int_equal(pump(f), 1);
	write_all(f->peer, lenb + 2, 2);
	write_all(f->peer, frame, 700);
	assert_int_equal(pump(f), 1);
	assert_int_equal(used_idx(f, RXQ), 0);
	write_all(f->peer, frame + 700, 800);
	assert_int_equal(pump(f), 1);
	assert_memory_equal(next_rx(f, h[0], HDR + 1500) + HDR, frame, 1500);

	/* Lengths that cannot be a frame are skipped with their bytes. */
	host_send(f, junk, 0);
	host_send(f, junk, sizeof(junk));
	host_send(f, frame, 64);
	pump(f);
	assert_memory_equal(next_rx(f, h[1], HDR + 64) + HDR, frame, 64);
	assert_int_equal(used_idx(f, RXQ), 2);
}

/* The socket takes less than we send: frames wait, whole and in order. */
static void test_tx_backpressure(void **state)
{
	struct fixture *f = *state;
	enum { N = 12, LEN = 30000 };
	static uint8_t buf[HDR + LEN], stream[N * (4 + LEN)];
	const uint32_t seg[] = {HDR + LEN};
	int sndbuf = 4096;
	size_t got = 0;

	net_up(f, 0);
	assert_int_equal(setsockopt(vfake.w[0].fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)),
			 0);
	assert_int_equal(fcntl(f->peer, F_SETFL, O_NONBLOCK), 0);
	memset(buf, 0, HDR);
	for (unsigned i = 0; i < N; i++) {
		pattern(buf + HDR, LEN, 10 + i);
		add_chain(f, TXQ, seg, 1, 1, buf, NULL);
	}
	f->d.ops->queue_notify(&f->d, TXQ);
	assert_true(used_idx(f, TXQ) < N);
	assert_true(net_watched() && (vfake.w[0].events & EPOLLOUT));
	for (unsigned round = 0; round < 10000 && got < sizeof(stream); round++) {
		ssize_t r = read(f->peer, stream + got, sizeof(stream) - got);

		if (r > 0)
			got += (size_t)r;
		pump(f);
	}
	assert_int_equal(got, sizeof(stream));
	assert_int_equal(used_idx(f, TXQ), N);
	for (unsigned i = 0; i < N; i++) {
		const uint8_t *s = stream + i * (4 + LEN);

		assert_int_equal(get_le32((const uint8_t[4]){s[3], s[2], s[1], s[0]}), LEN);
		pattern(buf, LEN, 10 + i);
		assert_memory_equal(s + 4, buf, LEN);
	}
	assert_int_equal(vfake.w[0].events, EPOLLIN); /* nothing left to write */
}

static void test_hangup_and_reset(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[HDR + 100] = {0}, cfg[2];
	const uint32_t seg[] = {HDR + 100};
	uint32_t id, len;

	net_up(f, BIT(F_MRG_RXBUF));
	add_rx(f, 100); /* too small for a frame: held while the rest waits */
	host_send(f, frame, 100);
	pump(f);
	assert_false(net_watched());
	f->d.ops->reset(&f->d); /* drops the half-delivered frame */
	assert_false(net_watched());
	net_start(f, BIT(F_MRG_RXBUF), QSIZE);
	assert_true(net_watched());

	close(f->peer);
	f->peer = -1;
	pump(f);
	assert_false(net_watched());
	assert_int_equal(vfake.config_changed, 1);
	f->d.ops->config_read(&f->d, 6, cfg, 2);
	assert_int_equal(get_le16(cfg), 0); /* link down */
	add_chain(f, TXQ, seg, 1, 1, frame, NULL);
	f->d.ops->queue_notify(&f->d, TXQ); /* dropped, but given back */
	assert_int_equal(used_idx(f, TXQ), 1);
	used_elem(f, TXQ, 0, &id, &len);
	assert_int_equal(len, 0);
	f->d.ops->reset(&f->d);
	net_start(f, 0, QSIZE);
	assert_false(net_watched()); /* the link stays down */
}

/* ---- tap: root and /dev/net/tun only ---- */

static int if_up(const char *name)
{
	struct ifreq ifr = {0};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
	rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (rc == 0)
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	close(s);
	return rc;
}

static int packet_socket(const char *name)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(0x88B5)};
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x88B5));

	sll.sll_ifindex = (int)if_nametoindex(name);
	if (s >= 0 && bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static void eth_frame(uint8_t *p, size_t len, unsigned seed)
{
	pattern(p, len, seed);
	memset(p, 0xFF, 6);
	p[12] = 0x88; /* local experimental ethertype */
	p[13] = 0xB5;
}

static void test_tap(void **state)
{
	struct fixture *f = *state;
	struct net_config cfg = {.backend = NET_TAP};
	uint8_t buf[HDR + 200] = {0}, got[300];
	const uint32_t seg[] = {HDR + 200};
	char err[256] = "";
	int ps, found = 0;

	snprintf(cfg.target, sizeof(cfg.target), "phytst%d", (int)getpid() % 100000);
	if (geteuid() != 0 || virtio_net_init(&f->d, &cfg, 0, err, sizeof(err)) < 0)
		skip();
	f->has_dev = true;
	assert_true(f->d.ops->features(&f->d) & BIT(F_CSUM));
	assert_true(f->d.ops->features(&f->d) & BIT(F_HOST_TSO4));
	net_start(f, BIT(F_MRG_RXBUF) | BIT(F_GUEST_CSUM) | BIT(F_GUEST_TSO4), QSIZE);
	ps = if_up(cfg.target) == 0 ? packet_socket(cfg.target) : -1;
	if (ps < 0)
		skip();
	/* guest -> host */
	eth_frame(buf + HDR, 200, 8);
	add_chain(f, TXQ, seg, 1, 1, buf, NULL);
	f->d.ops->queue_notify(&f->d, TXQ);
	assert_int_equal(used_idx(f, TXQ), 1);
	read_full(ps, got, 200);
	assert_memory_equal(got, buf + HDR, 200);
	/* host -> guest, past whatever else the interface sends once up */
	for (unsigned i = 0; i < 16; i++)
		add_rx(f, 2048);
	eth_frame(got, 150, 9);
	assert_int_equal(send(ps, got, 150, 0), 150);
	for (unsigned tries = 0; tries < 200 && !found; tries++) {
		usleep(5000);
		pump(f);
		while (!found && used_idx(f, RXQ) != f->used_seen[RXQ]) {
			uint32_t id, len;
			const uint8_t *p;

			used_elem(f, RXQ, f->used_seen[RXQ]++, &id, &len);
			p = f->mem + f->rx_gpa[id];
			found = len == HDR + 150 && !memcmp(p + HDR, got, 150);
			if (found)
				assert_int_equal(get_le16(p + 10), 1);
		}
	}
	close(ps);
	assert_true(found);
}

/* ---- a real passt, when installed: an ARP request answered ---- */

/* Starts passt on path (foreground, one client, quiet); its pid, or -1. */
static int passt_start(const char *path)
{
	int pid = fork();

	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, STDOUT_FILENO);
		dup2(nul, STDERR_FILENO);
		execlp("passt", "passt", "-f", "-q", "-1", "-s", path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static bool arp_reply_seen(struct fixture *f, const uint8_t mac[6])
{
	while (used_idx(f, RXQ) != f->used_seen[RXQ]) {
		uint32_t id, len;
		const uint8_t *p;

		used_elem(f, RXQ, f->used_seen[RXQ]++, &id, &len);
		p = f->mem + f->rx_gpa[id] + HDR;
		if (len >= HDR + 42 && p[12] == 0x08 && p[13] == 0x06 && p[21] == 2 &&
		    !memcmp(p, mac, 6) && !memcmp(p + 28, "\xc6\x33\x64\x07", 4))
			return true;
	}
	return false;
}

static void test_real_passt(void **state)
{
	struct fixture *f = *state;
	struct net_config cfg = {.backend = NET_PASST};
	uint8_t buf[HDR + 60] = {0}, mac[6], *e = buf + HDR;
	const uint32_t seg[] = {HDR + 60};
	char err[256];
	bool up = false, seen = false;

	snprintf(f->path, sizeof(f->path), "/tmp/phyllome-test-passt-%d.sock", (int)getpid());
	unlink(f->path);
	f->passt_pid = passt_start(f->path);
	assert_true(f->passt_pid > 0);
	snprintf(cfg.target, sizeof(cfg.target), "%s", f->path);
	for (unsigned i = 0; i < 100 && !up; i++) {
		up = virtio_net_init(&f->d, &cfg, 0, err, sizeof(err)) == 0;
		if (!up && waitpid(f->passt_pid, NULL, WNOHANG) == f->passt_pid) {
			f->passt_pid = 0;
			break;
		}
		if (!up)
			usleep(20000);
	}
	if (!up)
		skip(); /* no passt here, or no network for it to copy */
	f->has_dev = true;
	net_start(f, BIT(F_MRG_RXBUF), QSIZE);
	for (unsigned i = 0; i < 8; i++)
		add_rx(f, 2048);
	/* Who has 198.51.100.7? passt answers for any address but the guest's own. */
	f->d.ops->config_read(&f->d, 0, mac, 6);
	memset(e, 0xFF, 6);
	memcpy(e + 6, mac, 6);
	memcpy(e + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);
	memcpy(e + 22, mac, 6);
	memcpy(e + 38, "\xc6\x33\x64\x07", 4);
	add_chain(f, TXQ, seg, 1, 1, buf, NULL);
	f->d.ops->queue_notify(&f->d, TXQ);
	assert_int_equal(used_idx(f, TXQ), 1);
	for (unsigned tries = 0; tries < 400 && !seen; tries++) {
		usleep(5000);
		pump(f);
		seen = arp_reply_seen(f, mac);
	}
	assert_true(seen);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_ops_and_config),
	    T(test_default_mac),
	    T(test_bad_backends),
	    T(test_tx),
	    T(test_tx_malformed),
	    T(test_rx_mergeable),
	    T(test_rx_no_buffers),
	    T(test_rx_not_mergeable),
	    T(test_rx_bad_buffers),
	    T(test_rx_stream_pieces),
	    T(test_tx_backpressure),
	    T(test_hangup_and_reset),
	    T(test_tap),
	    T(test_real_passt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
