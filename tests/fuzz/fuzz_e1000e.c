/* libFuzzer: the e1000e NIC's registers and descriptor rings, on a passt socket whose other
 * end the fuzzer holds. Each input starts from a device reset and zeroed guest RAM, then is a
 * sequence of operations, op & 7 and its arguments:
 *   0 register write: a byte picks a register (a known one, or any with bit 7), then 4 bytes
 *   1 register read: a byte as for 0
 *   2 guest RAM write: 2 bytes of address, a length byte, that many bytes
 *   3 passt sends a frame: 2 bytes of length (% 3000 + 1), a pattern for contents
 *   4 the I/O thread's round (e1000e_poll)
 *   5 drain what passt received
 *   6 rings as a driver sets them up: 16 transmit and 16 receive descriptors, enabled
 *   7 a descriptor: a byte (bit 0: receive ring; bits 1..4: index), then its 16 bytes
 * The device must neither crash nor touch memory outside guest RAM (ASan), and every frame
 * passt receives must be a whole frame of a sane length. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backends/netdev.h"
#include "common/bytes.h"
#include "common/log.h"
#include "devices/e1000e.h"
#include "devices/pci.h"

#define RAM_SIZE 0x20000u
#define TX_RING	 0x1000u
#define RX_RING	 0x2000u
#define NDESC	 16u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t regs[] = {
    0x0000, 0x0008, 0x0010, 0x0014, 0x0018, 0x0020, 0x0038, 0x00C0, 0x00C4, 0x00C8, 0x00D0, 0x00D8,
    0x00DC, 0x00E0, 0x00E4, 0x0100, 0x0400, 0x102C, 0x2800, 0x2804, 0x2808, 0x2810, 0x2818, 0x3800,
    0x3804, 0x3808, 0x3810, 0x3818, 0x4000, 0x4074, 0x5008, 0x5200, 0x5400, 0x5404, 0x5600, 0x5000};

/* What passt sends per input: never more than its socket holds (each send costs the socket
 * buffer its bytes and an skb's overhead). */
#define SEND_MAX   32768u
#define FRAMES_MAX 32u

static struct {
	uint8_t *ram;
	struct guest_mem gm;
	struct e1000e *e;
	int peer;
	size_t sent;
	unsigned frames;
	uint8_t buf[8192];
} fz;

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void nop_irq(void *opaque, unsigned gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
}

static void nop_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque;
	(void)addr;
	(void)data;
}

static void init(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct net_config cfg = {.backend = NET_PASST, .model = NET_E1000E};
	struct e1000e_env env = {NULL, &fz.gm, nop_irq, nop_msi, NULL, 0, -1};
	char err[256];
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	log_set_level(LOG_ERR);
	if (!fz.ram)
		fz.ram = calloc(1, RAM_SIZE);
	memset(fz.ram, 0, RAM_SIZE);
	gm_init_buffer(&fz.gm, fz.ram, RAM_SIZE);
	fz.sent = 0;
	fz.frames = 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/fuzz-e1000e-%d.sock", (int)getpid());
	unlink(sa.sun_path);
	check(l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(l, 1) == 0);
	snprintf(cfg.target, sizeof(cfg.target), "%s", sa.sun_path);
	check(e1000e_create(&fz.e, &env, &cfg, 0, err, sizeof(err)) == 0);
	fz.peer = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	check(fz.peer >= 0);
	close(l);
	unlink(sa.sun_path);
}

static void reg_io(uint32_t off, uint32_t *v, bool is_write)
{
	struct pci_dev *p = e1000e_pci(fz.e);
	uint8_t b[4];

	put_le32(b, *v);
	p->ops->bar_io(p, 0, off, b, 4, is_write);
	*v = get_le32(b);
}

static void wr(uint32_t off, uint32_t v)
{
	reg_io(off, &v, true);
}

/* Reads what passt got: whole frames of sane lengths only. */
static void drain(void)
{
	for (;;) {
		uint8_t l[4];
		ssize_t r = recv(fz.peer, l, 4, MSG_DONTWAIT | MSG_PEEK);
		uint32_t len;

		if (r < 4)
			return;
		len = (uint32_t)l[0] << 24 | (uint32_t)l[1] << 16 | (uint32_t)l[2] << 8 | l[3];
		check(len >= 12 && len <= NETDEV_MAX_FRAME);
		check(recv(fz.peer, l, 4, MSG_DONTWAIT) == 4);
		while (len) {
			size_t chunk = len < sizeof(fz.buf) ? len : sizeof(fz.buf);
			struct pollfd p = {.fd = fz.peer, .events = POLLIN};

			r = recv(fz.peer, fz.buf, chunk, MSG_DONTWAIT);
			if (r < 0 && errno == EAGAIN) {
				check(poll(&p, 1, 1000) == 1);
				continue;
			}
			check(r > 0);
			len -= (uint32_t)r;
		}
	}
}

static void host_send(uint32_t len, uint8_t seed)
{
	uint8_t l[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			(uint8_t)len};

	if (fz.sent + 4 + len > SEND_MAX || fz.frames == FRAMES_MAX)
		return;
	fz.sent += 4 + len;
	fz.frames++;
	for (uint32_t i = 0; i < len; i++)
		fz.buf[i] = (uint8_t)(i * 13 + seed);
	if (len >= 6)
		memset(fz.buf, 0xFF, 6); /* broadcast, so the filter lets it in */
	if (send(fz.peer, l, 4, MSG_DONTWAIT) == 4 &&
	    send(fz.peer, fz.buf, len, MSG_DONTWAIT) != (ssize_t)len)
		check(0); /* a short write would break the stream's framing */
}

static void rings(void)
{
	for (unsigned i = 0; i < NDESC; i++)
		put_le64(fz.ram + RX_RING + 16 * i, 0x8000 + 2048ull * (i % 8));
	wr(0x2800, RX_RING);
	wr(0x2808, NDESC * 16);
	wr(0x2810, 0);
	wr(0x2818, NDESC - 1);
	wr(0x0100, 0x04008002u); /* EN, BAM, SECRC */
	wr(0x3800, TX_RING);
	wr(0x3808, NDESC * 16);
	wr(0x3810, 0);
	wr(0x3818, 0);
	wr(0x0400, 2);
	wr(0x00D0, 0xFFFFFFFFu);
}

/* A register: a known one, or (bit 7 and two more bytes) any. Returns the bytes used, 0 if the
 * input ends first. */
static size_t pick_reg(const uint8_t *d, size_t n, uint32_t *off)
{
	if (n < 1)
		return 0;
	if (!(d[0] & 0x80)) {
		*off = regs[d[0] % (sizeof(regs) / sizeof(regs[0]))];
		return 1;
	}
	if (n < 3)
		return 0;
	*off = (uint32_t)(get_le16(d + 1) * 4u) % 0x20000u;
	return 3;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i = 0;

	init();
	while (i < size) {
		uint8_t op = data[i++];
		uint32_t v = 0;

		switch (op & 7) {
		case 0:
		case 1: {
			size_t used = pick_reg(data + i, size - i, &v);

			if (!used)
				goto out;
			i += used;
			if ((op & 7) == 0) {
				if (i + 4 > size)
					goto out;
				wr(v, get_le32(data + i));
				i += 4;
			} else {
				uint32_t r = 0;

				reg_io(v, &r, false);
			}
			break;
		}
		case 2: {
			uint32_t at, len;

			if (i + 3 > size)
				goto out;
			at = get_le16(data + i) % RAM_SIZE;
			len = data[i + 2];
			i += 3;
			if (len > size - i)
				len = (uint32_t)(size - i);
			if (len > RAM_SIZE - at)
				len = RAM_SIZE - at;
			memcpy(fz.ram + at, data + i, len);
			i += len;
			break;
		}
		case 3:
			if (i + 2 > size)
				goto out;
			host_send(get_le16(data + i) % 3000 + 1, data[i]);
			i += 2;
			break;
		case 4:
			e1000e_poll(fz.e);
			break;
		case 5:
			drain();
			break;
		case 6:
			rings();
			break;
		default:
			if (i + 17 > size)
				goto out;
			memcpy(fz.ram + ((data[i] & 1) ? RX_RING : TX_RING) +
				   16 * ((data[i] >> 1) & 15),
			       data + i + 1, 16);
			i += 17;
			break;
		}
	}
out:
	e1000e_poll(fz.e);
	drain();
	e1000e_free(fz.e);
	close(fz.peer);
	fz.e = NULL;
	return 0;
}
