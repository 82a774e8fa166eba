/* The hostile guest against the e1000e NIC (8086:10D3), on a tap that L1 answers ARP on
 * (192.168.78.1; hostile.sh): transmit and receive rings outside RAM, in MMIO, straddling the
 * end of RAM, with heads and tails past their ends; transmit descriptors whose buffers lie past
 * RAM, in MMIO or wrap the address space, huge and empty packets, gathers past the largest
 * packet, checksum offsets past the packet, segmentation contexts that don't fit (MSS 0 or 1,
 * header longer than the packet), unknown descriptor types, VLAN insertion, and random ones;
 * receive buffers past RAM; then garbage in every register of BARs 0 and 3 and through the I/O
 * window (all but the ring and enable registers, which would let random DMA land in our own
 * memory). Each bad request must fail alone: a transmit ring outside RAM is not read (TDH stays),
 * every malformed transmit descriptor asking for it is written back done (DD), a frame for a
 * buffer outside RAM comes back with the receive error bit. Afterwards a reset NIC must still
 * send an ARP request and receive L1's reply. Polled: interrupts are off. */
#include "hostile.h"

#define CTRL	 0x0000u
#define ICR	 0x00C0u
#define IMC	 0x00D8u
#define RCTL	 0x0100u
#define TCTL	 0x0400u
#define RDBAL	 0x2800u
#define TDBAL	 0x3800u
#define RAL0	 0x5400u
#define BAR_LEN	 0x20000u
#define MSIX_LEN 0x4000u

/* Ring registers from a base (RDBAL or TDBAL). */
#define BAH 0x04u
#define LEN 0x08u
#define HD  0x10u
#define TL  0x18u

#define CTRL_RST (1u << 26)
#define CTRL_SLU (1u << 6)
#define CTRL_VME (1u << 30)
#define RCTL_ON	 (1u << 1 | 1u << 3 | 1u << 4 | 1u << 15) /* EN, UPE, MPE, BAM */
#define TCTL_EN	 (1u << 1)

#define EOP  0x01u
#define IC   0x04u /* legacy: insert checksum; extended data: TSE */
#define RS   0x08u
#define DEXT 0x20u
#define VLE  0x40u
#define DD   0x01u
#define RXE  0x80u

#define NTX   32u
#define NRX   8u
#define PAST  0x20000000ull /* past the 256 MiB the hostile scenario gives */
#define LAPIC 0xFEE00000ull

static struct {
	uint8_t tx[NTX][16];
	uint8_t rx[NRX][16];
	uint8_t pkt[2048];
	uint8_t rxbuf[NRX][2048];
} er __attribute__((aligned(4096)));

static uint64_t bar;
static uint8_t mac[6];

static uint64_t ad(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void reg_wr(uint32_t off, uint32_t v)
{
	wr32(bar + off, v);
}

static uint32_t reg_rd(uint32_t off)
{
	return rd32(bar + off);
}

static void ring(uint32_t base, uint64_t at, uint32_t len, uint32_t head, uint32_t tail)
{
	reg_wr(base, (uint32_t)at);
	reg_wr(base + BAH, (uint32_t)(at >> 32));
	reg_wr(base + LEN, len);
	reg_wr(base + HD, head);
	reg_wr(base + TL, tail);
}

/* Registers random writes must spare: CTRL (resets are done on purpose), RCTL, TCTL and both
 * queues' ring registers (0x2800..0x291F, 0x3800..0x391F). */
static int reg_spared(uint32_t off)
{
	off &= BAR_LEN - 4;
	return off == CTRL || off == RCTL || off == TCTL || (off >= 0x2800 && off < 0x2920) ||
	       (off >= 0x3800 && off < 0x3920);
}

static int not_reset(void *arg)
{
	(void)arg;
	return !(reg_rd(CTRL) & CTRL_RST);
}

static void nic_reset(void)
{
	reg_wr(CTRL, CTRL_RST);
	wait_until(not_reset, 0, 100);
	reg_wr(IMC, 0xFFFFFFFFu);
	(void)reg_rd(ICR);
	reg_wr(CTRL, CTRL_SLU);
	memset(&er, 0, sizeof(er));
}

static void legacy(unsigned i, uint64_t addr, uint16_t len, uint8_t cso, uint8_t cmd, uint8_t css)
{
	uint8_t *d = er.tx[i];

	memset(d, 0, 16);
	for (unsigned b = 0; b < 8; b++)
		d[b] = (uint8_t)(addr >> (8 * b));
	d[8] = (uint8_t)len;
	d[9] = (uint8_t)(len >> 8);
	d[10] = cso;
	d[11] = cmd;
	d[13] = css;
}

/* An extended data descriptor (dtyp 1), or of type dtyp: len is 20 bits. */
static void ext(unsigned i, uint64_t addr, uint32_t len, unsigned dtyp, uint8_t cmd, uint8_t popts)
{
	legacy(i, addr, (uint16_t)len, (uint8_t)((len >> 16) & 0xF) | (uint8_t)(dtyp << 4),
	       cmd | DEXT, popts);
}

/* A context descriptor: checksum offsets, segmentation (tucmd: TCP 1, IP 2, TSE 4). */
static void context(unsigned i, const uint8_t off[8], uint32_t paylen, uint8_t tucmd,
		    uint8_t hdrlen, uint16_t mss)
{
	uint8_t *d = er.tx[i];

	for (unsigned b = 0; b < 8; b++)
		d[b] = off[b];
	d[8] = (uint8_t)paylen;
	d[9] = (uint8_t)(paylen >> 8);
	d[10] = (uint8_t)((paylen >> 16) & 0xF);
	d[11] = tucmd | DEXT | RS;
	d[12] = 0;
	d[13] = hdrlen;
	d[14] = (uint8_t)mss;
	d[15] = (uint8_t)(mss >> 8);
}

static int never(void *arg)
{
	(void)arg;
	return 0;
}

/* Gives the NIC's I/O thread time to act on what was just written. */
static void settle(void)
{
	wait_until(never, 0, 50);
}

static int tx_done(void *arg)
{
	return reg_rd(TDBAL + HD) == *(uint32_t *)arg;
}

/* Transmit descriptors 0..tail-1 of er.tx; 1 if the NIC consumed them all within a second. */
static int tx_run(uint32_t tail)
{
	__asm__ volatile("" ::: "memory");
	ring(TDBAL, ad(er.tx), sizeof(er.tx), 0, tail);
	reg_wr(TCTL, TCTL_EN);
	return wait_until(tx_done, &tail, 1000);
}

/* The malformed transmit descriptors, each with RS; 1 when all were consumed and written
 * back done. */
static int bad_tx(void)
{
	static const uint8_t no_fit[8] = {14, 24, 0xFF, 0xFF, 34, 50, 0xFF, 0xFF};
	static const uint8_t far[8] = {200, 255, 0xFF, 0xFF, 250, 255, 0xFF, 0xFF};
	static const uint8_t tcp[8] = {14, 24, 33, 0, 34, 50, 0, 0};
	unsigned n = 0, wanted = 0, done = 0;
	uint32_t tail;

	for (unsigned i = 0; i < sizeof(er.pkt); i++)
		er.pkt[i] = (uint8_t)rnd();
	legacy(n++, PAST, 1514, 0, EOP | RS, 0);
	legacy(n++, LAPIC, 64, 0, EOP | RS, 0);
	legacy(n++, 0xFFFFFFFFFFFFFFF0ull, 0xFFFF, 0, EOP | RS, 0);
	legacy(n++, ad(er.pkt), 0, 0, EOP | RS, 0);	      /* empty */
	legacy(n++, ad(er.pkt), 5, 0, EOP | RS, 0);	      /* shorter than two addresses */
	legacy(n++, ad(er.pkt), 60, 250, EOP | IC | RS, 200); /* checksum past the packet */
	legacy(n++, ad(er.pkt), 60, 58, EOP | IC | RS, 70);   /* checksum start after its slot */
	/* A packet gathered past the largest the NIC takes: three 1 MiB - 1 buffers. */
	ext(n++, 0x100000, 0xFFFFF, 1, RS, 0);
	ext(n++, 0x100000, 0xFFFFF, 1, RS, 0);
	ext(n++, 0x100000, 0xFFFFF, 1, EOP | RS, 0);
	/* Segmentation contexts that don't fit: MSS 0 with a 255-byte header, MSS 1, a header
	 * longer than the packet. */
	context(n++, no_fit, 0xFFFFF, 7, 255, 0);
	ext(n++, ad(er.pkt), 100, 1, EOP | IC | RS, 3);
	context(n++, tcp, 2000, 7, 54, 1);
	ext(n++, 0x100000, 2000, 1, EOP | IC | RS, 3);
	context(n++, tcp, 10, 7, 54, 1400);
	ext(n++, ad(er.pkt), 40, 1, EOP | IC | RS, 3);
	/* Checksum offsets and ends past the packet. */
	context(n++, far, 0, 0, 0, 0);
	ext(n++, ad(er.pkt), 60, 1, EOP | RS, 3);
	/* A segmentation that fits, with a tiny MSS: 8 KiB in 512 frames of 16 bytes. */
	context(n++, tcp, 8192, 7, 54, 16);
	ext(n++, 0x100000, 54 + 8192, 1, EOP | IC | RS, 3);
	/* An unknown descriptor type; VLAN insertion with CTRL.VME. */
	ext(n++, ad(er.pkt), 60, 0xF, EOP | RS, 0);
	reg_wr(CTRL, CTRL_SLU | CTRL_VME);
	ext(n++, ad(er.pkt), 1514, 1, EOP | VLE | RS, 0);
	/* Random ones, with RS. */
	while (n < NTX - 1) {
		for (unsigned b = 0; b < 16; b++)
			er.tx[n][b] = (uint8_t)rnd();
		er.tx[n][11] |= RS;
		er.tx[n][12] = 0;
		n++;
	}
	tail = n;
	if (!tx_run(tail)) {
		puts_("PHYLLOME-HOSTILE-STEP e1000e: TDH ");
		putu(reg_rd(TDBAL + HD));
		puts_(" after malformed descriptors up to TDT ");
		putu(tail);
		puts_("\n");
		return 0;
	}
	for (unsigned i = 0; i < tail; i++) {
		/* Every descriptor here asks for its write-back; each must be done. */
		wanted++;
		if (er.tx[i][12] & DD)
			done++;
	}
	reg_wr(CTRL, CTRL_SLU);
	if (done != wanted) {
		puts_("PHYLLOME-HOSTILE-STEP e1000e: ");
		putu(done);
		puts_(" of ");
		putu(wanted);
		puts_(" malformed transmit descriptors written back\n");
		return 0;
	}
	return 1;
}

/* Transmit rings the NIC must not read: outside RAM, in MMIO, heads and tails past the ring.
 * 1 when TDH never moved. */
static int bad_tx_rings(void)
{
	static const uint64_t at[] = {PAST, LAPIC, 0xFFFFFFFFFFFFF000ull, 0x0FFFFFFFFFFFF000ull};
	int ok = 1;

	for (unsigned i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		ring(TDBAL, at[i], 4096, 0, 0);
		reg_wr(TCTL, TCTL_EN);
		reg_wr(TDBAL + TL, 8); /* the kick, with the ring enabled */
		settle();
		if (reg_rd(TDBAL + HD) != 0)
			ok = 0;
	}
	/* Heads and tails past the ring's end, lengths of no whole descriptor. */
	reg_wr(TCTL, 0);
	ring(TDBAL, ad(er.tx), sizeof(er.tx), 40, 3);
	reg_wr(TCTL, TCTL_EN);
	ring(TDBAL, ad(er.tx), sizeof(er.tx), 0, 0xFFFFFFFFu);
	ring(TDBAL, ad(er.tx), 8, 0, 1);
	ring(TDBAL, ad(er.tx), 0, 0, 1);
	/* A ring that runs past the end of RAM (256 MiB): whatever is in its first descriptors. */
	ring(TDBAL, 0x10000000ull - 64, 4096, 0, 200);
	settle();
	reg_wr(TCTL, 0);
	return ok;
}

static void arp_request(void)
{
	static const uint8_t tail[] = {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1};
	uint8_t *p = er.pkt;

	memset(p, 0, 60);
	memset(p, 0xFF, 6);
	for (unsigned i = 0; i < 6; i++) {
		p[6 + i] = mac[i];
		p[22 + i] = mac[i];
	}
	for (unsigned i = 0; i < sizeof(tail); i++)
		p[12 + i] = tail[i];
	p[28] = 192, p[29] = 168, p[30] = 78, p[31] = 2; /* sender: us */
	p[38] = 192, p[39] = 168, p[40] = 78, p[41] = 1; /* target: L1 */
	legacy(0, ad(p), 60, 0, EOP | RS, 0);
}

static int rx_any(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < NRX; i++)
		if (((volatile uint8_t *)er.rx[i])[12] & DD)
			return 1;
	return 0;
}

static int arp_reply_seen(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < NRX; i++) {
		const volatile uint8_t *b = er.rxbuf[i];

		if ((((volatile uint8_t *)er.rx[i])[12] & DD) && b[12] == 0x08 && b[13] == 0x06 &&
		    b[21] == 2 && b[28] == 192 && b[31] == 1)
			return 1;
	}
	return 0;
}

/* Sends an ARP request for L1 with receive descriptors at rx (their buffers set by the caller)
 * and waits up to ms for cond. */
static int arp_exchange(int (*cond)(void *), unsigned ms)
{
	reg_wr(RCTL, 0);
	ring(RDBAL, ad(er.rx), sizeof(er.rx), 0, NRX - 1);
	reg_wr(RCTL, RCTL_ON);
	arp_request();
	if (!tx_run(1))
		return 0;
	return wait_until(cond, 0, ms);
}

/* Receive rings outside RAM, then buffers outside RAM: 1 when a frame for such a buffer came
 * back with the error bit (and no buffer of ours was written). */
static int bad_rx(void)
{
	/* The last: 16 bytes before the end of RAM, too few for any frame. */
	static const uint64_t bufs[] = {PAST, LAPIC, 0xFFFFFFFFFFFFF800ull, 0x10000000ull - 16};

	reg_wr(RCTL, 0);
	ring(RDBAL, PAST, 4096, 0, 100);
	reg_wr(RCTL, RCTL_ON);
	arp_request();
	(void)tx_run(1);
	ring(RDBAL, ad(er.rx), sizeof(er.rx), 9, 3); /* a head past the ring */
	ring(RDBAL, LAPIC, 4096, 0, 100);
	settle();
	nic_reset();
	for (unsigned i = 0; i < NRX; i++) {
		uint64_t b = bufs[i % 4];

		for (unsigned k = 0; k < 8; k++)
			er.rx[i][k] = (uint8_t)(b >> (8 * k));
	}
	if (!arp_exchange(rx_any, 2000)) {
		puts_("PHYLLOME-HOSTILE-STEP e1000e: no frame came back for buffers outside RAM\n");
		return 0;
	}
	for (unsigned i = 0; i < NRX; i++)
		if ((er.rx[i][12] & DD) && !(er.rx[i][13] & RXE)) {
			puts_("PHYLLOME-HOSTILE-STEP e1000e: a frame for a buffer outside RAM came "
			      "back without the error bit\n");
			return 0;
		}
	return 1;
}

/* Garbage in BAR 0's registers (but the spared ones: every one up to the filter tables, one in
 * 16 beyond), BAR 3 (MSI-X table and PBA) and through the I/O window. */
static void garbage(unsigned slot)
{
	uint64_t msix = cfg32(slot, 0x1C) & ~0xFu;
	uint16_t io = (uint16_t)(cfg32(slot, 0x18) & ~0x3u);

	for (uint32_t off = 0; off < BAR_LEN; off += off < 0x5800 ? 4 : 64) {
		if (reg_spared(off))
			continue;
		wr32(bar + off, rnd());
		(void)rd32(bar + off);
	}
	for (uint32_t off = 0; off < MSIX_LEN; off += 16)
		wr32(msix + off + (rnd() & 12), rnd());
	for (unsigned i = 0; i < 1024; i++) {
		uint32_t off = rnd() & (BAR_LEN - 1);

		outl(io, off);
		if (reg_spared(off))
			(void)inl((uint16_t)(io + 4));
		else
			outl((uint16_t)(io + 4), rnd());
	}
}

int hostile_e1000e(void)
{
	unsigned s;
	int ok = 1;

	for (s = 1; s < 32; s++)
		if (cfg32(s, 0) == 0x10D38086u)
			break;
	if (s == 32)
		return -1;
	bar = cfg32(s, 0x10) & ~0xFu;
	cfg_wr32(s, 4, cfg32(s, 4) | 0x7); /* I/O, memory, bus master */
	nic_reset();
	{
		uint32_t lo = reg_rd(RAL0), hi = reg_rd(RAL0 + 4);

		for (unsigned i = 0; i < 4; i++)
			mac[i] = (uint8_t)(lo >> (8 * i));
		mac[4] = (uint8_t)hi;
		mac[5] = (uint8_t)(hi >> 8);
	}
	if (!bad_tx_rings()) {
		puts_("PHYLLOME-HOSTILE-STEP e1000e: the NIC moved TDH on a ring outside RAM\n");
		ok = 0;
	}
	nic_reset();
	ok &= bad_tx();
	nic_reset();
	ok &= bad_rx();
	garbage(s);
	/* Afterwards: a reset NIC sends an ARP request and receives L1's reply. */
	nic_reset();
	for (unsigned i = 0; i < NRX; i++) {
		uint64_t b = ad(er.rxbuf[i]);

		for (unsigned k = 0; k < 8; k++)
			er.rx[i][k] = (uint8_t)(b >> (8 * k));
	}
	if (!arp_exchange(arp_reply_seen, 3000)) {
		puts_("PHYLLOME-HOSTILE-STEP e1000e: no ARP reply from L1 after the attacks (TDH ");
		putu(reg_rd(TDBAL + HD));
		puts_(", RDH ");
		putu(reg_rd(RDBAL + HD));
		puts_(")\n");
		return 0;
	}
	reg_wr(RCTL, 0);
	reg_wr(TCTL, 0);
	return ok;
}
