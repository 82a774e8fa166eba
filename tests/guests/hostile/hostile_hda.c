/* The hostile guest against the HD Audio controller (8086:293e, with --sound): a CORB and a
 * RIRB outside RAM, streams whose buffer descriptor lists, buffers, lengths, LVIs and formats are
 * garbage (a list outside RAM must fail its stream with SDnSTS.DESE), garbage written to every
 * register at every width; afterwards, after a controller reset, a well-formed verb through the
 * CORB must still get the codec's answer. */
#include "hostile.h"

#define HDA_ID 0x293E8086u

static struct {
	uint32_t corb[256];
	uint32_t rirb[512];
	uint32_t bdl[8][64]; /* 16 entries of 16 bytes per stream, 128-byte aligned */
	uint32_t pos[16];
	uint8_t buf[4096];
} hr __attribute__((aligned(4096)));

static uint64_t hbar;

/* An address that is anything: past RAM, in MMIO, in our own buffers, unaligned. */
static uint64_t haddr(void)
{
	static const uint64_t bad[] = {0xFFFFFFFFFFFFFF80ull, 0xFEE00000ull, 0x0FFFFF80ull,
				       0x100000000ull, 0};

	return (rnd() & 1) ? bad[rnd() % 5] : (uint64_t)&hr + (rnd() & 0x3FFF);
}

static int out_of_reset(void *arg)
{
	(void)arg;
	return rd32(hbar + 0x08) & 1;
}

static void controller_reset(void)
{
	wr32(hbar + 0x08, 0);
	wr32(hbar + 0x08, 1);
	(void)wait_until(out_of_reset, 0, 100);
}

/* CORB and RIRB at base (256 entries each), running, RIRB interrupts off. */
static void rings(uint64_t corb, uint64_t rirb)
{
	wr8(hbar + 0x4C, 0);
	wr8(hbar + 0x5C, 0);
	wr64(hbar + 0x40, corb);
	wr64(hbar + 0x50, rirb);
	wr8(hbar + 0x4E, 2);
	wr8(hbar + 0x5E, 2);
	wr16(hbar + 0x48, 0);
	wr16(hbar + 0x4A, 0x8000);
	wr16(hbar + 0x4A, 0);
	wr16(hbar + 0x58, 0x8000);
	wr16(hbar + 0x5A, 1);
	wr8(hbar + 0x4C, 2);
	wr8(hbar + 0x5C, 2);
}

static int stream_failed(void *arg)
{
	return rd8(hbar + 0x80 + 0x20 * (unsigned)(uint64_t)arg + 3) & 0x10;
}

static int answered(void *arg)
{
	(void)arg;
	return rd16(hbar + 0x58) == 1;
}

int hostile_hda(void)
{
	for (unsigned s = 1; s < 32; s++) {
		int ok = 1;

		if (cfg32(s, 0) != HDA_ID)
			continue;
		hbar = cfg32(s, 0x10) & ~0xFu;
		cfg_wr32(s, 0x04, cfg32(s, 0x04) | 6);
		controller_reset();
		/* A CORB past RAM: CMEI, no VMM harmed. */
		rings(0xFFFFF000ull, (uint64_t)hr.rirb);
		wr16(hbar + 0x48, 5);
		if (!(rd8(hbar + 0x4D) & 1)) {
			hostile_fail("hda: a CORB outside RAM did not set CORBSTS.CMEI");
			ok = 0;
		}
		/* A RIRB past RAM: the responses are lost (RIRBOIS). */
		rings((uint64_t)hr.corb, 0xFFFFFFFFFFFFF000ull);
		hr.corb[1] = 0x000F0000u;
		wr16(hbar + 0x48, 1);
		/* Stream 4 (the first output) with its list past RAM: DESE. */
		wr32(hbar + 0x80 + 0x20 * 4, 0x1E | 1u << 20);
		wr32(hbar + 0x80 + 0x20 * 4 + 0x08, 4096);
		wr16(hbar + 0x80 + 0x20 * 4 + 0x0C, 1);
		wr16(hbar + 0x80 + 0x20 * 4 + 0x12, 0x0011);
		wr64(hbar + 0x80 + 0x20 * 4 + 0x18, 0xFFFFFFFFFFFFFF80ull);
		wr32(hbar + 0x80 + 0x20 * 4, 0x1E | 1u << 20); /* RUN */
		if (!wait_until(stream_failed, (void *)4ull, 200)) {
			hostile_fail("hda: a descriptor list outside RAM did not fail its stream");
			ok = 0;
		}
		/* Every stream with garbage lists, buffers, lengths and formats, running. */
		for (unsigned round = 0; round < 4; round++) {
			for (unsigned i = 0; i < 8; i++) {
				uint64_t sd = hbar + 0x80 + 0x20 * i;

				for (unsigned e = 0; e < 16; e++) {
					uint64_t a = haddr();

					hr.bdl[i][4 * e] = (uint32_t)a;
					hr.bdl[i][4 * e + 1] = (uint32_t)(a >> 32);
					hr.bdl[i][4 * e + 2] = (rnd() & 1) ? rnd() : rnd() & 0x3FF;
					hr.bdl[i][4 * e + 3] = rnd();
				}
				wr8(sd, 1);
				wr8(sd, 0);
				wr32(sd + 0x08, (rnd() & 1) ? rnd() : rnd() & 0xFFFF);
				wr16(sd + 0x0C, (uint16_t)rnd());
				wr16(sd + 0x12, (uint16_t)rnd());
				wr64(sd + 0x18, (rnd() & 3) ? (uint64_t)hr.bdl[i] : haddr());
				wr64(hbar + 0x70, haddr() | 1);
				wr32(sd, (rnd() & 0x00FF001Cu) | 2);
			}
			(void)wait_until(answered, 0, 30); /* let the streams run a while */
		}
		/* Garbage to every register at every width (not GCTL: a reset comes below). */
		for (unsigned off = 0x0C; off < 0x4000; off += 4) {
			switch (rnd() & 3) {
			case 0:
				wr8(hbar + off + (rnd() & 3), (uint8_t)rnd());
				break;
			case 1:
				wr16(hbar + off + (rnd() & 2), (uint16_t)rnd());
				break;
			default:
				wr32(hbar + off, rnd());
				break;
			}
			(void)rd32(hbar + off);
		}
		/* Reset; a well-formed verb (the root's vendor id) gets its answer. */
		controller_reset();
		memset(&hr, 0, sizeof(hr));
		rings((uint64_t)hr.corb, (uint64_t)hr.rirb);
		hr.corb[1] = 0x000F0000u;
		__asm__ volatile("" ::: "memory");
		wr16(hbar + 0x48, 1);
		if (!wait_until(answered, 0, 200) || hr.rirb[2] != 0x1AF40101u) {
			hostile_fail("hda: a well-formed verb got no answer after the attacks");
			ok = 0;
		}
		controller_reset();
		return ok;
	}
	return -1;
}
