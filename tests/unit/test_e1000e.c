/* The e1000e NIC driven through its registers as a driver would: rings and buffers in a plain
 * buffer of "guest RAM", a listening Unix socket standing in for passt, e1000e_poll standing
 * in for the I/O thread, and the interrupt line and MSI messages recorded. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/kvm.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/bytes.h"
#include "devices/e1000e.h"
#include "devices/pci.h"

#define MEM_SIZE (1u << 20)
#define TX_RING	 0x1000u
#define RX_RING	 0x2000u
#define TX_BUF	 0x10000u
#define RX_BUF	 0x40000u
#define NDESC	 8u

/* Registers and bits, from the 82574L datasheet. */
#undef CTRL /* <linux/kvm.h> brings the terminal's */
#define CTRL	 0x0000u
#define STATUS	 0x0008u
#define EECD	 0x0010u
#define EERD	 0x0014u
#define CTRL_EXT 0x0018u
#define MDIC	 0x0020u
#define ICR	 0x00C0u
#define ICS	 0x00C8u
#define IMS	 0x00D0u
#define IMC	 0x00D8u
#define IAM	 0x00E0u
#define RCTL	 0x0100u
#define TCTL	 0x0400u
#define RDBAL	 0x2800u
#define RDLEN	 0x2808u
#define RDH	 0x2810u
#define RDT	 0x2818u
#define TDBAL	 0x3800u
#define TDLEN	 0x3808u
#define TDH	 0x3810u
#define TDT	 0x3818u
#define GPTC	 0x4080u
#define GPRC	 0x4074u
#define RFCTL	 0x5008u
#define RAL0	 0x5400u
#define RAH0	 0x5404u
#define LSC	 (1u << 2)
#define TXDW	 (1u << 0)
#define RXT0	 (1u << 7)
#define ASSERTED (1u << 31)

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct fx {
	int kvm_fd, vm_fd; /* the MSI-X test's VM (KVM's irqfds need one) */
	struct irq_routes routes;
	uint8_t *mem;
	struct guest_mem gm;
	struct e1000e *e;
	char dir[64], path[128];
	int listen_fd, peer;
	int line, lines, msis;
};

static void set_irq(void *opaque, unsigned gsi, int level)
{
	struct fx *f = opaque;

	(void)gsi;
	f->line = level;
	f->lines++;
}

static void send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct fx *f = opaque;

	(void)addr;
	(void)data;
	f->msis++;
}

/* A device on a passt socket in a fresh folder; with routes, MSI-X too. */
static struct fx *make(struct fx *f, struct irq_routes *routes)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct net_config cfg = {.backend = NET_PASST, .mac_set = true, .model = NET_E1000E};
	struct e1000e_env env;
	char err[256];

	f->mem = calloc(1, MEM_SIZE);
	assert_non_null(f->mem);
	gm_init_buffer(&f->gm, f->mem, MEM_SIZE);
	snprintf(f->dir, sizeof(f->dir), "/tmp/e1000e-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/passt.sock", f->dir);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, f->path, strlen(f->path));
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listen_fd, 1), 0);
	memcpy(cfg.mac, MAC, 6);
	snprintf(cfg.target, sizeof(cfg.target), "%s", f->path);
	env = (struct e1000e_env){routes, &f->gm, set_irq, send_msi, f, 0, -1};
	assert_int_equal(e1000e_create(&f->e, &env, &cfg, 0, err, sizeof(err)), 0);
	f->peer = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(f->peer >= 0);
	return f;
}

/* A device on a tap made here (root only; without the rights the test is skipped: f->e
 * NULL), the interface up, and f->peer a packet socket on it with PACKET_VNET_HDR. */
static int setup_tap(void **state)
{
	struct net_config cfg = {.backend = NET_TAP, .mac_set = true, .model = NET_E1000E};
	struct fx *f = calloc(1, sizeof(*f));
	struct e1000e_env env;
	struct ifreq ifr = {0};
	struct sockaddr_ll sa = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	char err[256];
	int one = 1, s;

	assert_non_null(f);
	*state = f;
	f->kvm_fd = f->vm_fd = f->listen_fd = f->peer = -1;
	f->mem = calloc(1, MEM_SIZE);
	assert_non_null(f->mem);
	gm_init_buffer(&f->gm, f->mem, MEM_SIZE);
	memcpy(cfg.mac, MAC, 6);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "phyt%u", (unsigned)getpid() % 100000u);
	memcpy(cfg.target, ifr.ifr_name, sizeof(ifr.ifr_name));
	env = (struct e1000e_env){NULL, &f->gm, set_irq, send_msi, f, 0, -1};
	if (e1000e_create(&f->e, &env, &cfg, 0, err, sizeof(err)) < 0) {
		print_message("# no tap (%s): skipped\n", err);
		f->e = NULL;
		return 0;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	assert_int_equal(ioctl(s, SIOCGIFINDEX, &ifr), 0);
	close(s);
	f->peer = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	assert_true(f->peer >= 0);
	assert_int_equal(setsockopt(f->peer, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)), 0);
	sa.sll_ifindex = ifr.ifr_ifindex;
	assert_int_equal(bind(f->peer, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return 0;
}

static int teardown_tap(void **state)
{
	struct fx *f = *state;

	if (f->e)
		e1000e_free(f->e); /* closes the tap: it goes away */
	if (f->peer >= 0)
		close(f->peer);
	free(f->mem);
	free(f);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->kvm_fd = f->vm_fd = -1;
	*state = make(f, NULL);
	return 0;
}

/* MSI-X needs KVM's irqfds: a VM with an in-kernel irqchip, or the test is skipped. */
static int setup_msix(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	f->vm_fd = f->kvm_fd < 0 ? -1 : ioctl(f->kvm_fd, KVM_CREATE_VM, 0);
	if (f->vm_fd < 0 || ioctl(f->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    irq_routes_init(&f->routes, f->vm_fd) < 0) {
		*state = f;
		return 0;
	}
	*state = make(f, &f->routes);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->vm_fd >= 0)
		close(f->vm_fd);
	if (f->kvm_fd >= 0)
		close(f->kvm_fd);
	if (!f->e) { /* setup_msix found no KVM */
		free(f);
		return 0;
	}
	e1000e_free(f->e);
	close(f->peer);
	close(f->listen_fd);
	unlink(f->path);
	rmdir(f->dir);
	free(f->mem);
	free(f);
	return 0;
}

/* ---- register access as the guest does it ---- */

static uint32_t rd(struct fx *f, uint32_t off)
{
	struct pci_dev *p = e1000e_pci(f->e);
	uint8_t b[4];

	p->ops->bar_io(p, 0, off, b, 4, false);
	return get_le32(b);
}

static void wr(struct fx *f, uint32_t off, uint32_t v)
{
	struct pci_dev *p = e1000e_pci(f->e);
	uint8_t b[4];

	put_le32(b, v);
	p->ops->bar_io(p, 0, off, b, 4, true);
}

static uint16_t eeprom(struct fx *f, unsigned word)
{
	uint32_t v;

	wr(f, EERD, word << 2 | 1);
	v = rd(f, EERD);
	assert_true(v & 2); /* done */
	return (uint16_t)(v >> 16);
}

static uint32_t mdic(struct fx *f, unsigned phy, unsigned r, bool write, uint16_t data)
{
	wr(f, MDIC, (write ? 1u << 26 : 2u << 26) | phy << 21 | r << 16 | data);
	return rd(f, MDIC);
}

/* ---- the passt end ---- */

static void host_send(struct fx *f, const uint8_t *frame, uint32_t len)
{
	uint8_t l[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			(uint8_t)len};

	assert_int_equal(write(f->peer, l, 4), 4);
	assert_int_equal(write(f->peer, frame, len), (ssize_t)len);
}

static bool host_readable(struct fx *f)
{
	struct pollfd p = {.fd = f->peer, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

static void read_full(int fd, uint8_t *p, size_t len)
{
	while (len) {
		ssize_t r = read(fd, p, len);

		assert_true(r > 0);
		p += r;
		len -= (size_t)r;
	}
}

static uint32_t host_recv(struct fx *f, uint8_t *buf, size_t cap)
{
	uint8_t l[4];
	uint32_t len;

	assert_true(host_readable(f));
	read_full(f->peer, l, 4);
	len = (uint32_t)l[0] << 24 | (uint32_t)l[1] << 16 | (uint32_t)l[2] << 8 | l[3];
	assert_true(len <= cap);
	read_full(f->peer, buf, len);
	return len;
}

static void frame_to(uint8_t *p, size_t len, const uint8_t *dst, unsigned seed)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, "\x02\x00\x00\x00\x00\x01", 6);
	p[12] = 0x08;
	p[13] = 0x00;
	for (size_t i = 14; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed);
}

/* ---- rings ---- */

static void tx_setup(struct fx *f)
{
	wr(f, TDBAL, TX_RING);
	wr(f, TDLEN, NDESC * 16);
	wr(f, TDH, 0);
	wr(f, TDT, 0);
	wr(f, TCTL, 1u << 1);
}

static void tx_legacy(struct fx *f, unsigned i, uint64_t buf, uint16_t len, uint8_t cmd)
{
	uint8_t *d = f->mem + TX_RING + 16 * i;

	memset(d, 0, 16);
	put_le64(d, buf);
	put_le16(d + 8, len);
	d[11] = cmd;
}

static void rx_setup(struct fx *f, uint32_t rctl_extra)
{
	for (unsigned i = 0; i < NDESC; i++) {
		memset(f->mem + RX_RING + 16 * i, 0, 16);
		put_le64(f->mem + RX_RING + 16 * i, RX_BUF + 2048ull * i);
	}
	wr(f, RDBAL, RX_RING);
	wr(f, RDLEN, NDESC * 16);
	wr(f, RDH, 0);
	wr(f, RDT, NDESC - 1);
	wr(f, RCTL, 1u << 1 | 1u << 15 | 1u << 26 | rctl_extra); /* EN, BAM, SECRC */
}

/* ---- tests ---- */

static void test_eeprom_phy_status(void **state)
{
	struct fx *f = *state;
	uint16_t sum = 0;

	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(eeprom(f, i), MAC[2 * i] | MAC[2 * i + 1] << 8);
	for (unsigned i = 0; i < 64; i++)
		sum = (uint16_t)(sum + eeprom(f, i));
	assert_int_equal(sum, 0xBABA);
	assert_int_equal(eeprom(f, 13), 0x10D3);
	assert_true(rd(f, EECD) & (1u << 8 | 1u << 9)); /* present, auto-read done */
	assert_int_equal(mdic(f, 1, 2, false, 0) & 0xFFFF, 0x0141);
	assert_int_equal(mdic(f, 1, 3, false, 0) & 0xFFFF, 0x0CB1);
	assert_true(mdic(f, 1, 1, false, 0) & (1u << 28));	/* ready */
	assert_int_equal(mdic(f, 1, 1, false, 0) & 0x24, 0x24); /* link, autoneg done */
	assert_true(mdic(f, 2, 1, false, 0) & (1u << 30));	/* no PHY at 2 */
	mdic(f, 1, 4, true, 0x0101);
	assert_int_equal(mdic(f, 1, 4, false, 0) & 0xFFFF, 0x0101);
	mdic(f, 1, 0, true, 0x8000); /* PHY reset */
	assert_int_equal(mdic(f, 1, 4, false, 0) & 0xFFFF, 0x0DE1);
	assert_int_equal(rd(f, STATUS) & 0xC3, 0x83); /* full duplex, link up, 1000 Mb/s */
	assert_int_equal(rd(f, RAL0), get_le32(MAC));
	assert_int_equal(rd(f, RAH0), get_le16(MAC + 4) | 1u << 31);
}

static void test_reset(void **state)
{
	struct fx *f = *state;

	wr(f, IMS, 0xFF);
	wr(f, RCTL, 0x8002);
	wr(f, RAL0, 0x11223344);
	wr(f, CTRL, rd(f, CTRL) | 1u << 26);
	assert_int_equal(rd(f, CTRL) & 1u << 26, 0); /* self-clearing */
	assert_int_equal(rd(f, IMS), 0);
	assert_int_equal(rd(f, RCTL), 0);
	assert_int_equal(rd(f, RAL0), get_le32(MAC));
	assert_int_equal(rd(f, ICR), 0);
	assert_int_equal(f->line, 0);
}

static void test_tx_frame(void **state)
{
	struct fx *f = *state;
	uint8_t frame[100], got[200];

	frame_to(frame, sizeof(frame), (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 1);
	memcpy(f->mem + TX_BUF, frame, 40);
	memcpy(f->mem + TX_BUF + 0x1000, frame + 40, 60);
	tx_setup(f);
	wr(f, IMS, TXDW);
	tx_legacy(f, 0, TX_BUF, 40, 0x02);	    /* IFCS */
	tx_legacy(f, 1, TX_BUF + 0x1000, 60, 0x0B); /* EOP, IFCS, RS */
	wr(f, TDT, 2);
	e1000e_poll(f->e);
	assert_int_equal(host_recv(f, got, sizeof(got)), sizeof(frame));
	assert_memory_equal(got, frame, sizeof(frame));
	assert_false(host_readable(f));
	assert_int_equal(rd(f, TDH), 2);
	assert_true(f->mem[TX_RING + 16 + 12] & 1); /* DD on the RS descriptor */
	assert_int_equal(f->line, 1);
	assert_true(rd(f, ICR) & (TXDW | ASSERTED)); /* the read clears it */
	assert_int_equal(f->line, 0);
	assert_int_equal(rd(f, GPTC), 1);
	assert_int_equal(rd(f, GPTC), 0); /* statistics clear on read */
}

/* The Internet checksum of a buffer (0 when a stored checksum is right). */
static uint16_t csum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t pseudo(const uint8_t *ip, uint32_t tcp_len)
{
	uint32_t s = 6 + tcp_len;

	for (unsigned i = 12; i < 20; i += 2)
		s += (uint32_t)ip[i] << 8 | ip[i + 1];
	return s;
}

/* Puts an IPv4/TCP packet of 3000 payload bytes at TX_BUF and transmits it with TSO and MSS
 * 1000, as Linux's e1000e driver asks for it: a context descriptor, then one data descriptor. */
static void tso_send(struct fx *f)
{
	uint8_t *pkt = f->mem + TX_BUF, *d = f->mem + TX_RING;
	const size_t hl = 14 + 20 + 20, pay = 3000;
	uint16_t ps;

	frame_to(pkt, hl + pay, MAC, 3);
	pkt[14] = 0x45;
	pkt[14 + 4] = 0x12; /* IP ID 0x1234 */
	pkt[14 + 5] = 0x34;
	pkt[14 + 8] = 64;
	pkt[14 + 9] = 6;
	memcpy(pkt + 14 + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	memset(pkt + 34, 0, 20);
	put_le32(pkt + 34 + 4, 0); /* sequence number 0 */
	pkt[34 + 12] = 0x50;
	pkt[34 + 13] = 0x19;				    /* ACK, PSH, FIN */
	ps = (uint16_t)~csum(NULL, 0, pseudo(pkt + 14, 0)); /* the pseudo header without length */
	pkt[34 + 16] = (uint8_t)(ps >> 8);
	pkt[34 + 17] = (uint8_t)ps;
	tx_setup(f);
	/* context: IPCSS 14, IPCSO 24, IPCSE 33, TUCSS 34, TUCSO 50, TUCSE 0, TSE|IP|TCP|DEXT */
	memset(d, 0, 32);
	d[0] = 14;
	d[1] = 24;
	put_le16(d + 2, 33);
	d[4] = 34;
	d[5] = 50;
	put_le32(d + 8, (uint32_t)pay | 0u << 20 | (0x20u | 0x04 | 0x02 | 0x01) << 24);
	d[13] = (uint8_t)hl;
	put_le16(d + 14, 1000);
	/* data: the whole packet, TSE|EOP|RS|DEXT, IXSM|TXSM */
	put_le64(d + 16, TX_BUF);
	put_le32(d + 24, (uint32_t)(hl + pay) | 1u << 20 | (0x20u | 0x08 | 0x04 | 0x01) << 24);
	d[16 + 13] = 0x03;
	wr(f, TDT, 2);
	e1000e_poll(f->e);
}

/* On passt (no offloads) the NIC segments it: three frames, each with its lengths, ID,
 * sequence number, flags and checksums. */
static void test_tx_tso(void **state)
{
	struct fx *f = *state;
	uint8_t *pkt = f->mem + TX_BUF, got[2000];
	const size_t hl = 14 + 20 + 20;

	tso_send(f);
	for (unsigned s = 0; s < 3; s++) {
		uint32_t len = host_recv(f, got, sizeof(got));
		const uint8_t *ip = got + 14, *tcp = got + 34;

		assert_int_equal(len, hl + 1000);
		assert_int_equal(ip[2] << 8 | ip[3], 20 + 20 + 1000);
		assert_int_equal(ip[4] << 8 | ip[5], 0x1234 + s);
		assert_int_equal(csum(ip, 20, 0), 0);
		assert_int_equal(get_le32(tcp + 4), __builtin_bswap32(1000 * s));
		assert_int_equal(tcp[13], s == 2 ? 0x19 : 0x10);
		assert_int_equal(csum(tcp, 20 + 1000, pseudo(ip, 20 + 1000)), 0);
		assert_memory_equal(got + hl, pkt + hl + 1000 * s, 1000);
	}
	assert_false(host_readable(f));
}

#define PKT_VNET_HDR 10 /* a packet socket's header: struct virtio_net_hdr, no num_buffers */

/* On a tap (which segments: the NIC hands it the packet whole with a virtio-net GSO header),
 * seen by a packet socket on the tap's interface with PACKET_VNET_HDR: one packet, its IP
 * length and checksum for the whole, the TCP checksum a partial one that completes to the right
 * sum, gso_size 1000. Needs root (CAP_NET_ADMIN) for the tap: skipped otherwise. */
static void test_tx_tso_tap(void **state)
{
	struct fx *f = *state;
	uint8_t *pkt = f->mem + TX_BUF, buf[PKT_VNET_HDR + 4000], *got = buf + PKT_VNET_HDR;
	const size_t hl = 14 + 20 + 20, tcp_len = 20 + 3000;
	const uint8_t *ip = got + 14;
	uint8_t *tcp = got + 34;
	uint16_t c;
	ssize_t n;

	if (!f->e)
		skip();
	tso_send(f);
	do { /* the kernel's own packets on the interface (IPv6 router solicitations, MLD
	      * reports: seen as 76-byte IPv6 frames) are not the NIC's IPv4 one */
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);

		n = recvfrom(f->peer, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
			     &fl);
		assert_true(n > 0);
		if (from.sll_pkttype != PACKET_OUTGOING && n >= PKT_VNET_HDR + 14 &&
		    got[12] == 0x08 && got[13] == 0x00)
			break;
	} while (1);
	assert_int_equal(n, PKT_VNET_HDR + hl + 3000);
	assert_true(buf[0] & 1);		   /* NEEDS_CSUM */
	assert_int_equal(buf[1] & 0x7F, 1);	   /* GSO TCPv4 */
	assert_int_equal(get_le16(buf + 4), 1000); /* gso_size: the MSS */
	assert_int_equal(get_le16(buf + 6), 34);   /* csum_start: TCP */
	assert_int_equal(get_le16(buf + 8), 16);   /* csum_offset: its checksum */
	assert_memory_equal(got, pkt, 14);
	assert_int_equal(ip[2] << 8 | ip[3], 20 + tcp_len);
	assert_int_equal(ip[4] << 8 | ip[5], 0x1234);
	assert_int_equal(csum(ip, 20, 0), 0);
	assert_int_equal(tcp[13], 0x19);
	assert_memory_equal(got + hl, pkt + hl, 3000);
	/* Completed as the kernel completes a partial checksum: the sum from csum_start on. */
	c = csum(tcp, tcp_len, 0);
	tcp[16] = (uint8_t)(c >> 8);
	tcp[17] = (uint8_t)c;
	assert_int_equal(csum(tcp, tcp_len, pseudo(ip, (uint32_t)tcp_len)), 0);
	assert_int_equal(rd(f, GPTC), 3); /* three frames on the wire */
}

static void test_rx_legacy_and_extended(void **state)
{
	struct fx *f = *state;
	uint8_t frame[300], *d = f->mem + RX_RING;

	rx_setup(f, 0);
	wr(f, IMS, RXT0);
	frame_to(frame, sizeof(frame), MAC, 5);
	host_send(f, frame, sizeof(frame));
	e1000e_poll(f->e);
	assert_memory_equal(f->mem + RX_BUF, frame, sizeof(frame));
	assert_int_equal(get_le16(d + 8), sizeof(frame));
	assert_int_equal(d[12] & 3, 3); /* DD, EOP */
	assert_int_equal(rd(f, RDH), 1);
	assert_int_equal(f->line, 1);
	assert_true(rd(f, ICR) & RXT0);
	assert_int_equal(rd(f, GPRC), 1);
	/* Extended descriptors: status and length in the upper half. */
	wr(f, RFCTL, 1u << 15);
	frame_to(frame, sizeof(frame), MAC, 6);
	host_send(f, frame, 100);
	e1000e_poll(f->e);
	assert_memory_equal(f->mem + RX_BUF + 2048, frame, 100);
	assert_int_equal(get_le32(d + 16 + 8) & 3, 3);
	assert_int_equal(get_le16(d + 16 + 12), 100);
	/* A short frame is padded to 60 bytes. */
	host_send(f, frame, 42);
	e1000e_poll(f->e);
	assert_int_equal(get_le16(d + 32 + 12), 60);
}

static void test_rx_filter_and_wait(void **state)
{
	struct fx *f = *state;
	uint8_t frame[200], other[6] = {0x52, 0x54, 0, 0, 0, 9};

	rx_setup(f, 0);
	frame_to(frame, sizeof(frame), other, 1);
	host_send(f, frame, sizeof(frame)); /* not ours: dropped */
	frame_to(frame, sizeof(frame), MAC, 2);
	host_send(f, frame, sizeof(frame));
	e1000e_poll(f->e);
	assert_int_equal(rd(f, RDH), 1);
	assert_int_equal(f->mem[RX_BUF + 14], frame[14]);
	/* No free descriptors: the frame waits for the driver. */
	wr(f, RDT, 1);
	frame_to(frame, sizeof(frame), MAC, 3);
	host_send(f, frame, sizeof(frame));
	e1000e_poll(f->e);
	assert_int_equal(rd(f, RDH), 1);
	wr(f, RDT, 2);
	e1000e_poll(f->e);
	assert_int_equal(rd(f, RDH), 2);
	assert_memory_equal(f->mem + RX_BUF + 2048, frame, sizeof(frame));
	/* A frame of 5000 bytes spans three 2048-byte buffers. */
	wr(f, RCTL, rd(f, RCTL) | 1u << 5); /* long packets */
	wr(f, RDT, 6);
	{
		static uint8_t big[5000];

		frame_to(big, sizeof(big), MAC, 4);
		host_send(f, big, sizeof(big));
		e1000e_poll(f->e);
		assert_int_equal(rd(f, RDH), 5);
		assert_int_equal(f->mem[RX_RING + 16 * 2 + 12] & 3, 1); /* DD, no EOP */
		assert_int_equal(f->mem[RX_RING + 16 * 4 + 12] & 3, 3);
		assert_int_equal(get_le16(f->mem + RX_RING + 16 * 4 + 8), 5000 - 4096);
		assert_memory_equal(f->mem + RX_BUF + 2048 * 4, big + 4096, 5000 - 4096);
	}
}

static void test_interrupts(void **state)
{
	struct fx *f = *state;
	struct pci_dev *p = e1000e_pci(f->e);
	unsigned cap;

	wr(f, ICS, LSC);
	assert_int_equal(f->line, 0); /* masked */
	wr(f, IMS, LSC);
	assert_int_equal(f->line, 1);
	wr(f, IMC, LSC);
	assert_int_equal(f->line, 0);
	wr(f, IMS, LSC);
	assert_int_equal(rd(f, ICR) & (LSC | ASSERTED), LSC | ASSERTED);
	assert_int_equal(f->line, 0);
	assert_int_equal(rd(f, ICR), 0);
	/* Auto-mask on ICR read. */
	wr(f, CTRL_EXT, 1u << 27);
	wr(f, IAM, LSC);
	wr(f, ICS, LSC);
	assert_int_equal(f->line, 1);
	rd(f, ICR);
	assert_int_equal(rd(f, IMS) & LSC, 0);
	/* MSI: one message per rising edge. */
	for (cap = p->cfg[0x34]; cap && p->cfg[cap] != 0x05; cap = p->cfg[cap + 1])
		;
	assert_true(cap != 0);
	p->cfg[cap + 2] |= 1;
	p->ops->cfg_write(p, cap + 2, 2);
	wr(f, IMS, LSC);
	wr(f, ICS, LSC);
	wr(f, ICS, LSC);
	assert_int_equal(f->msis, 1);
	rd(f, ICR);
	wr(f, IMS, LSC);
	wr(f, ICS, LSC);
	assert_int_equal(f->msis, 2);
	assert_int_equal(f->line, 0);
}

static void test_malformed(void **state)
{
	static uint8_t big[0x10000];
	struct fx *f = *state;
	uint8_t frame[100], got[200];

	/* A transmit ring outside guest RAM: nothing moves. */
	wr(f, TDBAL, 0xFFFFF000u);
	wr(f, TDLEN, NDESC * 16);
	wr(f, TCTL, 2);
	wr(f, TDT, 3);
	e1000e_poll(f->e);
	assert_int_equal(rd(f, TDH), 0);
	/* A head beyond the ring. */
	tx_setup(f);
	wr(f, TDH, 100);
	wr(f, TDT, 1);
	e1000e_poll(f->e);
	assert_int_equal(rd(f, TDH), 100);
	/* A buffer outside RAM drops that packet; the next one goes. */
	tx_setup(f);
	frame_to(frame, sizeof(frame), MAC, 1);
	memcpy(f->mem + TX_BUF, frame, sizeof(frame));
	tx_legacy(f, 0, 0xFFFFFFF0ull, 100, 0x09);
	tx_legacy(f, 1, TX_BUF, 0xFFFF, 0x09); /* the largest legacy buffer */
	tx_legacy(f, 2, TX_BUF, 100, 0x09);
	wr(f, TDT, 3);
	e1000e_poll(f->e);
	assert_int_equal(rd(f, TDH), 3);
	assert_true(f->mem[TX_RING + 12] & 1);
	assert_int_equal(host_recv(f, big, sizeof(big)), 0xFFFF);
	assert_int_equal(host_recv(f, got, sizeof(got)), 100);
	assert_false(host_readable(f));
	/* A receive buffer outside RAM: the descriptor says error, the ring goes on. */
	rx_setup(f, 0);
	put_le64(f->mem + RX_RING, 0xFFFFFFFF00ull);
	host_send(f, frame, sizeof(frame));
	host_send(f, frame, sizeof(frame));
	e1000e_poll(f->e);
	assert_int_equal(rd(f, RDH), 2);
	assert_true(f->mem[RX_RING + 13] & 0x80);
	assert_memory_equal(f->mem + RX_BUF + 2048, frame, sizeof(frame));
	/* A receive ring outside RAM: frames are dropped, nothing else. */
	wr(f, RDBAL, 0xFFFFF000u);
	host_send(f, frame, sizeof(frame));
	e1000e_poll(f->e);
	wr(f, 0x1FFFC, 1); /* the last register, and unaligned or odd-sized accesses */
	{
		struct pci_dev *p = e1000e_pci(f->e);
		uint8_t b[8] = {0};

		p->ops->bar_io(p, 0, 2, b, 2, true);
		p->ops->bar_io(p, 0, 0x1FFFE, b, 2, false);
		p->ops->bar_io(p, 3, 0, b, 4, false);
		p->ops->bar_io(p, 2, 4, b, 4, false);
	}
}

static uint64_t pba(struct fx *f)
{
	struct pci_dev *p = e1000e_pci(f->e);
	uint8_t b[8];

	p->ops->bar_io(p, 3, 0x2000, b, 8, false);
	return get_le64(b);
}

/* IVAR routes receive, transmit and other causes to vectors 0, 1 and 2; masked vectors show up
 * in the PBA. Sending clears EIAC's bits from ICR and, with EIAME, masks IAM's bits in IMS. */
static void test_msix(void **state)
{
	struct fx *f = *state;
	struct pci_dev *p;
	unsigned cap;
	uint8_t frame[100], b[4];

	if (!f->e)
		skip();
	p = e1000e_pci(f->e);
	for (cap = p->cfg[0x34]; cap && p->cfg[cap] != 0x11; cap = p->cfg[cap + 1])
		;
	assert_true(cap != 0);
	assert_int_equal(get_le16(p->cfg + cap + 2) & 0x7FF, 4); /* 5 vectors */
	p->cfg[cap + 3] |= 0x80;				 /* enable */
	p->ops->cfg_write(p, cap + 2, 2);
	wr(f, 0x00E4, 0x8 | 0x9u << 8 | 0xAu << 16); /* IVAR: rx 0, tx 1, other 2 */
	wr(f, 0x00DC, 1u << 20 | 1u << 22);	     /* EIAC: RXQ0, TXQ0 */
	wr(f, IAM, 1u << 24);			     /* OTHER */
	wr(f, CTRL_EXT, 1u << 24);		     /* EIAME */
	wr(f, IMS, 1u << 20 | 1u << 22 | 1u << 24 | LSC);
	wr(f, ICS, LSC);
	assert_int_equal(pba(f), 1u << 2);
	assert_int_equal(rd(f, IMS) & (1u << 24), 0); /* auto-masked */
	rx_setup(f, 0);
	frame_to(frame, sizeof(frame), MAC, 1);
	host_send(f, frame, sizeof(frame));
	e1000e_poll(f->e);
	assert_int_equal(pba(f), 1u << 0 | 1u << 2);
	assert_true(rd(f, IMS) & (1u << 20)); /* not in IAM: still enabled */
	put_le32(b, 0);			      /* unmask vector 0: delivered */
	p->ops->bar_io(p, 3, 12, b, 4, true);
	assert_int_equal(pba(f), 1u << 2);
	assert_int_equal(f->line + f->msis, 0);	      /* no INTx or MSI while MSI-X is on */
	assert_int_equal(rd(f, ICR) & (1u << 20), 0); /* EIAC cleared it when sent */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_eeprom_phy_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_frame, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_tso, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_tso_tap, setup_tap, teardown_tap),
	    cmocka_unit_test_setup_teardown(test_rx_legacy_and_extended, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_filter_and_wait, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_interrupts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_msix, setup_msix, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
