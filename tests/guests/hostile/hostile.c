/* The hostile test guest: a freestanding program that finds the VMM's virtio-pci devices and
 * feeds each one malformed requests (descriptor loops, lengths and addresses past RAM or into
 * MMIO, bad indices, nested indirect tables), then writes garbage to every register of every
 * BAR and to every I/O port, attacks the xHCI controller when there is one (commands, contexts,
 * rings and registers full of garbage), and finally checks that a well-behaved request still
 * works on each. NVMe controllers get malformed queues, PRP lists and commands (hostile_nvme.c),
 * the e1000e NIC malformed rings, descriptors and buffers (hostile_e1000e.c), the HD Audio
 * controller malformed rings, descriptor lists and streams (hostile_hda.c).
 * It reports on COM1 ("PHYLLOME-HOSTILE PASS|FAIL ...") and powers off through ACPI.
 * Runs in 64-bit mode with the first 4 GiB identity-mapped, interrupts off. */
#include "hostile.h"

void *memset(void *d, int c, size_t n)
{
	volatile uint8_t *p = d;

	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

/* ---- output --------------------------------------------------------------------------- */
static void putc_(char c)
{
	outb(COM1, (uint8_t)c);
}
void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}
void putx(uint64_t v)
{
	char b[19];
	int i = 18;

	b[i] = 0;
	do {
		b[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v && i > 2);
	b[--i] = 'x';
	b[--i] = '0';
	puts_(b + i);
}
void putu(uint64_t v)
{
	char b[21];
	int i = 20;

	b[i] = 0;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	puts_(b + i);
}

/* ---- time (ACPI PM timer, 24 bits) ---------------------------------------------------- */
static uint32_t tmr(void)
{
	return inl(PM_TMR) & 0xffffff;
}
int wait_until(int (*cond)(void *), void *arg, unsigned ms)
{
	uint64_t elapsed = 0, need = (uint64_t)TMR_HZ * ms / 1000;
	uint32_t last = tmr();

	while (!cond(arg)) {
		uint32_t now = tmr();

		elapsed += (now - last) & 0xffffff;
		last = now;
		if (elapsed >= need)
			return cond(arg);
	}
	return 1;
}

/* ---- PCI configuration through 0xCF8/0xCFC -------------------------------------------- */
uint32_t cfg32(unsigned dev, unsigned off)
{
	outl(0xcf8, 0x80000000u | dev << 11 | (off & 0xfc));
	return inl(0xcfc);
}

/* ---- a virtio-pci device -------------------------------------------------------------- */
struct vdev {
	unsigned slot;
	uint16_t id;
	uint64_t bar0, common, notify, isr, device;
	uint32_t notify_mult;
	uint16_t q; /* the queue a kick makes the device read: tx for net and console */
};

/* Common configuration offsets (virtio 1.2, 4.1.4.3). */
#define C_DFSEL	      0x00
#define C_DF	      0x04
#define C_GFSEL	      0x08
#define C_GF	      0x0c
#define C_STATUS      0x14
#define C_QSEL	      0x16
#define C_QSIZE	      0x18
#define C_QENABLE     0x1c
#define C_QNOTIFY     0x1e
#define C_QDESC	      0x20
#define C_QAVAIL      0x28
#define C_QUSED	      0x30
#define S_ACK	      1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64

#define D_NEXT	   1
#define D_WRITE	   2
#define D_INDIRECT 4

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

#define QSZ 16
/* One set of rings, reused for every test (the device is reset in between). */
static struct {
	struct desc d[QSZ];
	uint8_t pad0[4096 - QSZ * 16];
	uint16_t avail[2 + QSZ + 1];
	uint8_t pad1[4096 - 2 * (3 + QSZ)];
	uint16_t used_hdr[2];
	struct {
		uint32_t id, len;
	} used[QSZ];
	uint16_t avail_event;
} ring __attribute__((aligned(4096)));
static struct desc indirect[8] __attribute__((aligned(16)));
static uint8_t buf[8192] __attribute__((aligned(4096)));

static int find_caps(struct vdev *v)
{
	unsigned off = cfg32(v->slot, 0x34) & 0xfc;
	uint32_t bar = cfg32(v->slot, 0x10);

	v->bar0 = bar & ~0xfu;
	for (int n = 0; off && n < 48; n++, off = (cfg32(v->slot, off) >> 8) & 0xfc) {
		uint32_t h = cfg32(v->slot, off);
		uint64_t at;

		if ((h & 0xff) != 0x09)
			continue;
		at = v->bar0 + cfg32(v->slot, off + 8);
		switch ((h >> 24) & 0xff) {
		case 1:
			v->common = at;
			break;
		case 2:
			v->notify = at;
			v->notify_mult = cfg32(v->slot, off + 16);
			break;
		case 3:
			v->isr = at;
			break;
		case 4:
			v->device = at;
			break;
		}
	}
	return v->common && v->notify && v->isr;
}

static void vreset(struct vdev *v)
{
	wr8(v->common + C_STATUS, 0);
	memset(&ring, 0, sizeof(ring));
}

/* Brings the device up with VERSION_1 (and INDIRECT_DESC when asked) and queue 0 ready. */
static int vsetup(struct vdev *v, int indirect_desc)
{
	vreset(v);
	if (rd8(v->common + C_STATUS) != 0)
		return 0;
	wr8(v->common + C_STATUS, S_ACK | S_DRIVER);
	wr32(v->common + C_GFSEL, 0);
	wr32(v->common + C_GF, indirect_desc ? 1u << 28 : 0);
	wr32(v->common + C_GFSEL, 1);
	wr32(v->common + C_GF, 1); /* VERSION_1 */
	wr8(v->common + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd8(v->common + C_STATUS) & S_FEATURES_OK))
		return 0;
	wr16(v->common + C_QSEL, v->q);
	wr16(v->common + C_QSIZE, QSZ);
	wr64(v->common + C_QDESC, (uint64_t)ring.d);
	wr64(v->common + C_QAVAIL, (uint64_t)ring.avail);
	wr64(v->common + C_QUSED, (uint64_t)ring.used_hdr);
	wr16(v->common + C_QENABLE, 1);
	wr8(v->common + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return 1;
}

static void kick(struct vdev *v)
{
	wr16(v->notify + rd16(v->common + C_QNOTIFY) * v->notify_mult, 0);
}

static int needs_reset(void *arg)
{
	struct vdev *v = arg;

	return (rd8(v->common + C_STATUS) & S_NEEDS_RESET) != 0;
}

static int used_one(void *arg)
{
	(void)arg;
	return *(volatile uint16_t *)&ring.used_hdr[1] != 0;
}

/* Publishes avail entry `head` and moves avail idx to `idx`. */
static void offer(struct vdev *v, uint16_t head, uint16_t idx)
{
	ring.avail[2] = head;
	__asm__ volatile("" ::: "memory");
	*(volatile uint16_t *)&ring.avail[1] = idx;
	kick(v);
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	ring.d[i] = (struct desc){addr, len, flags, next};
}

/* ---- the malformed requests ----------------------------------------------------------- */
#define PAST_RAM 0x7f0000000000ull

struct bad {
	const char *name;
	int indirect; /* negotiate VIRTIO_F_INDIRECT_DESC */
	void (*build)(struct vdev *v, uint16_t *head, uint16_t *idx);
};

static void b_self_loop(struct vdev *v, uint16_t *h, uint16_t *i)
{
	(void)v;
	(void)h;
	(void)i;
	set_desc(0, (uint64_t)buf, 16, D_NEXT, 0);
}
static void b_two_cycle(struct vdev *v, uint16_t *h, uint16_t *i)
{
	(void)v;
	(void)h;
	(void)i;
	set_desc(0, (uint64_t)buf, 16, D_NEXT, 1);
	set_desc(1, (uint64_t)buf, 16, D_NEXT, 0);
}
static void b_next_range(struct vdev *v, uint16_t *h, uint16_t *i)
{
	(void)v;
	(void)h;
	(void)i;
	set_desc(0, (uint64_t)buf, 16, D_NEXT, 200);
}
static void b_head_range(struct vdev *v, uint16_t *h, uint16_t *i)
{
	(void)v;
	(void)i;
	*h = 100;
}
static void b_past_ram(struct vdev *v, uint16_t *h, uint16_t *i)
{
	(void)v;
	(void)h;
	(void)i;
	set_desc(0, PAST_RAM, 512, D_WRITE, 0);
}
static void b_into_mmio(struct vdev *v, uint16_t *h, uint16_t *i)
{
	(void)h;
	(void)i;
	set_desc(0, v->bar0, 4096, D_WRITE, 0);
}
static void b_huge_len(struct vdev *v, uint16_t *h, uint16_t *i)
{
	(void)v;
	(void)h;
	(void)i;
	set_desc(0, (uint64_t)buf, 0xffffffffu, D_WRITE, 0);
}
static void b_wrap(struct vdev *v, uint16_t *h, uint16_t *i)
{
	(void)v;
	(void)h;
	(void)i;
	set_desc(0, 0xfffffffffffff000ull, 0x2000, D_WRITE, 0);
}
static void b_write_then_read(struct vdev *v, uint16_t *h, uint16_t *i)
{
	(void)v;
	(void)h;
	(void)i;
	set_desc(0, (uint64_t)buf, 16, D_NEXT | D_WRITE, 1);
	set_desc(1, (uint64_t)buf + 64, 16, 0, 0);
}
static void b_idx_jump(struct vdev *v, uint16_t *h, uint16_t *i)
{
	(void)v;
	(void)h;
	set_desc(0, (uint64_t)buf, 16, D_WRITE, 0);
	*i = 100;
}
static void b_indirect_unnegotiated(struct vdev *v, uint16_t *h, uint16_t *i)
{
	(void)v;
	(void)h;
	(void)i;
	indirect[0] = (struct desc){(uint64_t)buf, 16, D_WRITE, 0};
	set_desc(0, (uint64_t)indirect, 16, D_INDIRECT, 0);
}
static void b_indirect_nested(struct vdev *v, uint16_t *h, uint16_t *i)
{
	(void)v;
	(void)h;
	(void)i;
	indirect[0] = (struct desc){(uint64_t)indirect, 32, D_INDIRECT, 0};
	set_desc(0, (uint64_t)indirect, 16, D_INDIRECT, 0);
}
static void b_indirect_len(struct vdev *v, uint16_t *h, uint16_t *i)
{
	(void)v;
	(void)h;
	(void)i;
	indirect[0] = (struct desc){(uint64_t)buf, 16, D_WRITE, 0};
	set_desc(0, (uint64_t)indirect, 20, D_INDIRECT, 0);
}
static void b_indirect_past_ram(struct vdev *v, uint16_t *h, uint16_t *i)
{
	(void)v;
	(void)h;
	(void)i;
	set_desc(0, PAST_RAM, 64, D_INDIRECT, 0);
}

static const struct bad bads[] = {
    {"self-loop", 0, b_self_loop},
    {"two-cycle", 0, b_two_cycle},
    {"next-out-of-range", 0, b_next_range},
    {"head-out-of-range", 0, b_head_range},
    {"address-past-ram", 0, b_past_ram},
    {"address-in-mmio", 0, b_into_mmio},
    {"huge-length", 0, b_huge_len},
    {"address-wraps", 0, b_wrap},
    {"writable-then-readable", 0, b_write_then_read},
    {"avail-idx-jump", 0, b_idx_jump},
    {"indirect-not-negotiated", 0, b_indirect_unnegotiated},
    {"indirect-nested", 1, b_indirect_nested},
    {"indirect-bad-length", 1, b_indirect_len},
    {"indirect-past-ram", 1, b_indirect_past_ram},
};

static unsigned failures;

void hostile_fail(const char *what)
{
	failures++;
	puts_("PHYLLOME-HOSTILE-STEP FAIL ");
	puts_(what);
	puts_("\n");
}

static void fail(const struct vdev *v, const char *what)
{
	failures++;
	puts_("PHYLLOME-HOSTILE-STEP FAIL device ");
	putx(v->id);
	puts_(" ");
	puts_(what);
	puts_("\n");
}

static void hostile_requests(struct vdev *v)
{
	unsigned ok = 0;

	for (unsigned k = 0; k < sizeof(bads) / sizeof(bads[0]); k++) {
		uint16_t head = 0, idx = 1;

		if (!vsetup(v, bads[k].indirect)) {
			fail(v, "set-up refused");
			continue;
		}
		bads[k].build(v, &head, &idx);
		offer(v, head, idx);
		if (wait_until(needs_reset, v, 3000))
			ok++;
		else
			fail(v, bads[k].name);
	}
	puts_("PHYLLOME-HOSTILE-STEP device ");
	putx(v->id);
	puts_(": ");
	putu(ok);
	puts_(" of ");
	putu(sizeof(bads) / sizeof(bads[0]));
	puts_(" malformed requests refused with DEVICE_NEEDS_RESET\n");
}

/* A request that must work: returns 1 when the device answered it correctly. */
static int good_request(struct vdev *v)
{
	if (!vsetup(v, 0))
		return 0;
	memset(buf, 0, 1024);
	if (v->id == 0x1042) { /* blk: read sector 0 */
		uint32_t *hdr = (uint32_t *)buf;

		hdr[0] = 0; /* VIRTIO_BLK_T_IN */
		set_desc(0, (uint64_t)buf, 16, D_NEXT, 1);
		set_desc(1, (uint64_t)buf + 512, 512, D_NEXT | D_WRITE, 2);
		set_desc(2, (uint64_t)buf + 1024, 1, D_WRITE, 0);
		buf[1024] = 0xff;
	} else if (v->id == 0x1044) { /* rng: 64 bytes */
		set_desc(0, (uint64_t)buf + 512, 64, D_WRITE, 0);
	} else {
		return -1; /* not checked for this device */
	}
	offer(v, 0, 1);
	if (!wait_until(used_one, NULL, 3000) || needs_reset(v))
		return 0;
	if (v->id == 0x1042)
		return buf[1024] == 0 && ring.used[0].len == 513;
	return ring.used[0].len == 64;
}

/* ---- garbage everywhere --------------------------------------------------------------- */
static uint32_t rnd_state = 0x12345678;
uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Every register of BAR 0 (common, ISR, device config, notify, MSI-X table and PBA), written
 * with garbage at every width, and read back. */
static void garbage_bar(struct vdev *v)
{
	for (uint64_t off = 0; off < 0x8000; off += 4) {
		uint64_t a = v->bar0 + off;

		switch (rnd() & 3) {
		case 0:
			wr8(a + (rnd() & 3), (uint8_t)rnd());
			break;
		case 1:
			wr16(a + (rnd() & 2), (uint16_t)rnd());
			break;
		default:
			wr32(a, rnd());
			break;
		}
		(void)rd32(a);
	}
}

/* Capabilities in configuration space (MSI-X control, the virtio pci_cfg window...). The
 * standard header is left alone so BAR 0 stays where it is. */
static void garbage_config(struct vdev *v)
{
	for (unsigned off = 0x40; off < 0x100; off += 4) {
		outl(0xcf8, 0x80000000u | v->slot << 11 | off);
		outl(0xcfc, rnd());
		outl(0xcf8, 0x80000000u | v->slot << 11 | off);
		(void)inl(0xcfc);
	}
}

/* Every I/O port but COM1 (our report), PM1a control (poweroff), the i8042 (reset line), port
 * 0x92 (fast reset on some chipsets), the PCI configuration ports (0xCF9 resets) and the
 * e1000e's I/O window (io, 32 ports: through it random bytes could aim its rings at our own
 * memory; hostile_e1000e.c writes garbage through it with the ring registers spared). */
static int port_spared(unsigned p, unsigned io)
{
	return (p >= COM1 && p < COM1 + 8) || p == 0x604 || p == 0x605 || p == 0x60 || p == 0x64 ||
	       p == 0x92 || (p >= 0xcf8 && p < 0xd00) || (io && p >= io && p < io + 32);
}

static void garbage_ports(void)
{
	unsigned io = 0;

	for (unsigned s = 1; s < 32; s++)
		if (cfg32(s, 0) == 0x10D38086u)
			io = cfg32(s, 0x18) & ~0x3u;
	for (unsigned p = 0; p < 0x10000; p++) {
		if (port_spared(p, io))
			continue;
		outb((uint16_t)p, (uint8_t)rnd());
		(void)inb((uint16_t)p);
	}
}

void cfg_wr32(unsigned dev, unsigned off, uint32_t v)
{
	outl(0xcf8, 0x80000000u | dev << 11 | off);
	outl(0xcfc, v);
}

/* The display device (1234:1111), when there is one: garbage to every register of its MMIO BAR
 * (EDID, VGA, DISPI, extended), and its VRAM BAR moved over RAM, to an odd address, to sizing
 * (all ones) and back: the VMM moves its VRAM memory slot each time. Afterwards the DISPI ID
 * register must still answer. Returns 1 (answers), 0 (does not) or -1 (no display). */
static int attack_display(void)
{
	for (unsigned s = 1; s < 32; s++) {
		uint32_t id = cfg32(s, 0), bar0, bar2;
		const uint32_t moves[] = {0x00100000u, 0xFFFFFFF0u, 0xC1234560u, 0u};

		if (id != 0x11111234u)
			continue;
		bar0 = cfg32(s, 0x10) & ~0xfu;
		bar2 = cfg32(s, 0x18) & ~0xfu;
		for (unsigned off = 0; off < 0x1000; off += 2) {
			if (rnd() & 1)
				wr16(bar2 + off, (uint16_t)rnd());
			else
				wr8(bar2 + off + (rnd() & 1), (uint8_t)rnd());
			(void)rd16(bar2 + off);
		}
		for (unsigned i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
			cfg_wr32(s, 0x10, moves[i]);
			wr32(bar0 + 0x100, rnd()); /* wherever VRAM is now, or nothing */
		}
		cfg_wr32(s, 0x10, bar0);
		wr32(bar0 + 0x1000, 0x12345678u);
		return rd16(bar2 + 0x500) == 0xB0C5 && rd32(bar0 + 0x1000) == 0x12345678u;
	}
	return -1;
}

/* ---- the xHCI controller (1b36:000d, with --usb) ------------------------------------ */
static struct {
	uint32_t cmd[64][4];
	uint32_t ev[64][4];
	uint64_t erst[2];
	uint64_t dcbaa[32];
	uint32_t ctx[33 * 8];
} xr __attribute__((aligned(4096)));

/* Reset, DCBAA, command ring, one event ring segment at erst (ERSTSZ n), interrupts off, run. */
static void xhci_start(uint64_t bar, uint64_t erst, uint32_t n)
{
	uint64_t op = bar + (rd32(bar) & 0xFF), rt = bar + rd32(bar + 0x18);

	wr32(op, 2);
	memset(&xr, 0, sizeof(xr));
	xr.erst[0] = (uint64_t)xr.ev;
	xr.erst[1] = 64;
	wr32(op + 0x38, 16);
	wr64(op + 0x30, (uint64_t)xr.dcbaa);
	wr64(op + 0x18, (uint64_t)xr.cmd | 1);
	wr32(rt + 0x28, n);
	wr64(rt + 0x38, (uint64_t)xr.ev);
	wr64(rt + 0x30, erst);
	__asm__ volatile("" ::: "memory");
	wr32(op, 1);
}

static void xtrb(unsigned i, uint64_t p, uint32_t st, uint32_t ctl)
{
	xr.cmd[i][0] = (uint32_t)p;
	xr.cmd[i][1] = (uint32_t)(p >> 32);
	xr.cmd[i][2] = st;
	xr.cmd[i][3] = ctl | 1;
}

/* An address that is anything: past RAM, in MMIO, in our own rings, unaligned. */
static uint64_t xaddr(void)
{
	static const uint64_t bad[] = {0xFFFFFFFFFFFFFFF0ull, 0xFEE00000ull, 0x0FFFFFF8ull,
				       0x100000000ull, 0};

	return (rnd() & 1) ? bad[rnd() % 5] : (uint64_t)&xr + (rnd() & 0xFFF);
}

/* Commands, contexts, rings and registers with garbage in them; then a well-formed No-Op
 * command must still complete. 1: it does; 0: it does not; -1: no controller. */
static int attack_xhci(void)
{
	for (unsigned s = 1; s < 32; s++) {
		uint64_t bar, db;

		if (cfg32(s, 0) != 0x000D1B36u)
			continue;
		bar = (cfg32(s, 0x10) & ~0xFu) | (uint64_t)cfg32(s, 0x14) << 32;
		db = bar + rd32(bar + 0x14);
		xhci_start(bar, 0xFFFFF000ull, 1); /* a segment table past RAM */
		xtrb(0, 0, 0, 9u << 10);
		wr32(db, 0);
		for (unsigned round = 0; round < 8; round++) {
			xhci_start(bar, (uint64_t)xr.erst, round & 1 ? 1 : 0xFFFF);
			xr.dcbaa[1 + (rnd() & 15)] = xaddr();
			for (unsigned i = 0; i < 8 * 33; i++)
				xr.ctx[i] = rnd();
			for (unsigned i = 0; i < 63; i++)
				xtrb(i, (rnd() & 3) ? xaddr() : (uint64_t)xr.ctx, rnd(),
				     (rnd() & 0xFFFFFC3Eu) | ((9 + rnd() % 16) << 10));
			xtrb(63, (uint64_t)xr.cmd[63], 0, 6u << 10); /* a Link TRB to itself */
			__asm__ volatile("" ::: "memory");
			wr32(db, 0);
			for (unsigned d = 1; d <= 17; d++)
				wr32(db + 4 * d, rnd() & 0x1F);
		}
		for (uint64_t off = 0x40; off < 0x3000; off += 4)
			if (off != 0x40) /* USBCMD: no reset in the middle of it */
				wr32(bar + off, rnd());
		xhci_start(bar, (uint64_t)xr.erst, 1);
		xtrb(0, 0, 0, 23u << 10); /* No-Op */
		__asm__ volatile("" ::: "memory");
		wr32(db, 0);
		for (unsigned i = 0; i < 64; i++)
			if ((xr.ev[i][3] & 1) && ((xr.ev[i][3] >> 10) & 0x3F) == 33 &&
			    (xr.ev[i][2] >> 24) == 1)
				return 1;
		return 0;
	}
	return -1;
}

void hostile_main(void);
void hostile_main(void)
{
	struct vdev devs[32];
	unsigned n = 0, works = 0, checked = 0;

	puts_("PHYLLOME-HOSTILE-START\n");
	for (unsigned s = 1; s < 32; s++) {
		uint32_t id = cfg32(s, 0);
		struct vdev *v = &devs[n];

		if ((id & 0xffff) != VENDOR_VIRTIO)
			continue;
		memset(v, 0, sizeof(*v));
		v->slot = s;
		v->id = (uint16_t)(id >> 16);
		/* The queue the driver fills and the device reads at once: net's and console's
		 * transmit queues, input's status queue (its event queue waits for events). */
		v->q = (v->id == 0x1041 || v->id == 0x1043 || v->id == 0x1052) ? 1 : 0;
		if (!find_caps(v)) {
			fail(v, "virtio capabilities not found");
			continue;
		}
		n++;
	}
	puts_("PHYLLOME-HOSTILE-STEP found ");
	putu(n);
	puts_(" virtio devices\n");
	for (unsigned i = 0; i < n; i++)
		hostile_requests(&devs[i]);
	if (hostile_nvme())
		puts_(
		    "PHYLLOME-HOSTILE-STEP nvme: malformed queues, PRPs and commands refused; the "
		    "controller works afterwards\n");
	for (unsigned i = 0; i < n; i++) {
		garbage_bar(&devs[i]);
		garbage_config(&devs[i]);
	}
	puts_("PHYLLOME-HOSTILE-STEP garbage written to every BAR register and capability\n");
	garbage_ports();
	puts_("PHYLLOME-HOSTILE-STEP garbage written to every I/O port\n");
	{
		int r = attack_display();

		if (r == 0) {
			puts_("PHYLLOME-HOSTILE display: no answer after the attacks\n");
			failures++;
		} else if (r > 0) {
			puts_("PHYLLOME-HOSTILE-STEP the display answers after garbage in its "
			      "registers and "
			      "VRAM moves\n");
		}
	}
	{
		int r = attack_xhci();

		if (r == 0) {
			puts_("PHYLLOME-HOSTILE xhci: a No-Op command got no completion after the "
			      "attacks\n");
			failures++;
		} else if (r > 0) {
			puts_("PHYLLOME-HOSTILE-STEP the xHCI controller completes a No-Op after "
			      "garbage commands, contexts, rings and registers\n");
		}
	}
	{
		int r = hostile_e1000e();

		if (r == 0) {
			puts_("PHYLLOME-HOSTILE e1000e: a malformed request was not refused alone, "
			      "or the NIC did not work afterwards\n");
			failures++;
		} else if (r > 0) {
			puts_("PHYLLOME-HOSTILE-STEP e1000e: rings and buffers outside RAM, "
			      "malformed descriptors and register garbage refused; ARP with L1 "
			      "works afterwards\n");
		}
	}
	{
		int r = hostile_hda();

		if (r == 0) {
			puts_(
			    "PHYLLOME-HOSTILE hda: a malformed request was not refused, or a verb "
			    "got no answer afterwards\n");
			failures++;
		} else if (r > 0) {
			puts_("PHYLLOME-HOSTILE-STEP hda: CORB, RIRB and descriptor lists outside "
			      "RAM, garbage streams and registers refused; a verb is answered "
			      "afterwards\n");
		}
	}
	for (unsigned i = 0; i < n; i++) {
		int r = good_request(&devs[i]);

		if (r < 0)
			continue;
		checked++;
		if (r)
			works++;
		else
			fail(&devs[i], "a well-formed request failed after the attacks");
	}
	puts_("PHYLLOME-HOSTILE-STEP ");
	putu(works);
	puts_(" of ");
	putu(checked);
	puts_(" devices answered a well-formed request afterwards\n");
	if (failures == 0 && n > 0 && checked > 0)
		puts_("PHYLLOME-HOSTILE PASS\n");
	else
		puts_("PHYLLOME-HOSTILE FAIL\n");
}
