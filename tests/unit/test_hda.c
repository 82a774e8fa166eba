/* The HD Audio controller and its codec, driven through the registers as Linux's snd_hda_intel
 * does: CORB and RIRB in a plain buffer of "guest RAM", verbs to the codec, stream descriptors
 * with their buffer descriptor lists, the position buffer, INTx and MSI; streams run by
 * hda_tick on a fake clock, into a back end that records what it is given. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/bytes.h"
#include "devices/hda.h"

#define MEM_SIZE (4u << 20)
#define CORB	 0x1000ull
#define RIRB	 0x2000ull
#define POSBUF	 0x3000ull
#define BDL_OUT	 0x4000ull
#define BDL_IN	 0x4100ull
#define BUF_OUT	 0x10000ull
#define BUF_IN	 0x20000ull
#define MS	 1000000ull
#define SD(n)	 (0x80u + 0x20u * (n))
#define OUT0	 4 /* the first output stream */

#define PLAY_MAX (48000u * 700)

struct rec_backend {
	struct audio_backend b;
	int16_t *played; /* frames played, interleaved */
	uint64_t frames, samples;
	struct audio_fmt fmt;
	uint64_t captured; /* frames captured: sample k of frame n is n * 2 + k */
};

struct env {
	struct guest_mem gm;
	uint8_t *mem;
	struct rec_backend rec;
	struct hda h;
	uint64_t now;
	struct audio_clock clock;
	int level;
	unsigned raises, msis;
	uint16_t corbwp;
	uint8_t rirbrp;
	bool msi;
};

static void rec_play(struct audio_backend *b, const struct audio_fmt *f, const int16_t *s,
		     uint32_t frames)
{
	struct rec_backend *r = (struct rec_backend *)b;
	size_t n = (size_t)frames * f->channels;

	r->fmt = *f;
	if (r->samples + n <= (uint64_t)PLAY_MAX * 2)
		memcpy(r->played + r->samples, s, n * sizeof(*s));
	r->samples += n;
	r->frames += frames;
}

static void rec_capture(struct audio_backend *b, const struct audio_fmt *f, int16_t *s,
			uint32_t frames)
{
	struct rec_backend *r = (struct rec_backend *)b;

	for (uint32_t i = 0; i < frames; i++, r->captured++)
		for (unsigned c = 0; c < f->channels; c++)
			s[i * f->channels + c] = (int16_t)(r->captured * 2 + c);
}

static void rec_destroy(struct audio_backend *b)
{
	(void)b;
}

static const struct audio_backend_ops rec_ops = {rec_play, rec_capture, rec_destroy};

static uint64_t fake_now(void *opaque)
{
	return ((struct env *)opaque)->now;
}

static void set_irq(void *opaque, unsigned gsi, int level)
{
	struct env *e = opaque;

	(void)gsi;
	if (level && !e->level)
		e->raises++;
	e->level = level;
}

static void send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct env *e = opaque;

	assert_int_equal(addr, 0xFEE00000u);
	assert_int_equal(data, 0x4041);
	e->msis++;
}

static void wr(struct env *e, unsigned off, uint32_t v, uint32_t len)
{
	uint8_t b[4];

	put_le32(b, v);
	hda_mmio(&e->h, off, b, len, true);
}

static uint32_t rd(struct env *e, unsigned off, uint32_t len)
{
	uint8_t b[4] = {0};

	hda_mmio(&e->h, off, b, len, false);
	return get_le32(b) & (len == 4 ? 0xFFFFFFFFu : (1u << (8 * len)) - 1);
}

/* What azx_init_chip does: reset, CORB/RIRB at 256 entries, interrupts on. */
static void chip_init(struct env *e)
{
	wr(e, 0x08, 0, 4);
	assert_int_equal(rd(e, 0x08, 4), 0);
	wr(e, 0x08, 1, 4);
	assert_int_equal(rd(e, 0x08, 4) & 1, 1);
	assert_int_equal(rd(e, 0x0E, 2), 1); /* STATESTS: codec 0 */
	wr(e, 0x0E, 1, 2);
	assert_int_equal(rd(e, 0x0E, 2), 0);
	wr(e, 0x40, (uint32_t)CORB, 4);
	wr(e, 0x44, 0, 4);
	wr(e, 0x4E, 2, 1);
	wr(e, 0x48, 0, 2);
	wr(e, 0x4A, 0x8000, 2);
	assert_int_equal(rd(e, 0x4A, 2), 0x8000);
	wr(e, 0x4A, 0, 2);
	assert_int_equal(rd(e, 0x4A, 2), 0);
	wr(e, 0x4C, 2, 1);
	wr(e, 0x50, (uint32_t)RIRB, 4);
	wr(e, 0x54, 0, 4);
	wr(e, 0x5E, 2, 1);
	wr(e, 0x58, 0x8000, 2);
	wr(e, 0x5A, 1, 2);
	wr(e, 0x5C, 3, 1);
	wr(e, 0x20, 0xC0000000u, 4); /* GIE, CIE */
	e->corbwp = 0;
	e->rirbrp = 0;
}

/* One verb through the CORB; its response from the RIRB. */
static uint32_t verb(struct env *e, unsigned nid, unsigned v, unsigned payload)
{
	uint32_t cmd = (uint32_t)nid << 20 |
		       (v < 0x10 ? (uint32_t)v << 16 | payload : (uint32_t)v << 8 | payload);
	uint8_t ex;

	e->corbwp = (uint16_t)((e->corbwp + 1) & 0xFF);
	put_le32(e->mem + CORB + 4 * e->corbwp, cmd);
	wr(e, 0x48, e->corbwp, 2);
	assert_int_equal(rd(e, 0x4A, 2), e->corbwp); /* CORBRP caught up */
	e->rirbrp = (uint8_t)(e->rirbrp + 1);
	assert_int_equal(rd(e, 0x58, 2), e->rirbrp);
	ex = e->mem[RIRB + 8 * e->rirbrp + 4];
	assert_int_equal(ex, 0);	 /* codec 0, solicited */
	assert_true(rd(e, 0x5D, 1) & 1); /* RINTFL */
	assert_int_equal(e->level, !e->msi);
	assert_true(rd(e, 0x24, 4) & 0xC0000000u);
	wr(e, 0x5D, 1, 1);
	assert_int_equal(e->level, 0);
	return get_le32(e->mem + RIRB + 8 * e->rirbrp);
}

static int setup(void **st)
{
	struct env *e = calloc(1, sizeof(*e));

	e->mem = calloc(1, MEM_SIZE);
	e->rec.b.ops = &rec_ops;
	e->rec.played = calloc(PLAY_MAX * 2, sizeof(int16_t));
	gm_init_buffer(&e->gm, e->mem, MEM_SIZE);
	e->clock.now_ns = fake_now;
	e->clock.opaque = e;
	e->now = 1000 * MS;
	hda_init(&e->h, &e->gm, &e->rec.b, &e->clock, set_irq, send_msi, e);
	e->h.pci.slot = 3;
	chip_init(e);
	*st = e;
	return 0;
}

static int teardown(void **st)
{
	struct env *e = *st;

	hda_destroy(&e->h);
	free(e->rec.played);
	free(e->mem);
	free(e);
	return 0;
}

static void test_registers(void **st)
{
	struct env *e = *st;

	assert_int_equal(rd(e, 0x00, 2), 0x4401); /* 4 out, 4 in, 64-bit */
	assert_int_equal(rd(e, 0x03, 1), 1);	  /* VMAJ */
	assert_int_equal(rd(e, 0x4E, 1), 0x72);	  /* CORBSIZE: caps, 256 entries */
	assert_int_equal(e->h.pci.cfg[0x0A] | e->h.pci.cfg[0x0B] << 8, 0x0403);
	assert_int_equal(get_le16(e->h.pci.cfg + 2), 0x293E);
	/* WALCLK counts 24 MHz on the clock. */
	e->now += 1 * MS;
	assert_int_equal(rd(e, 0x30, 4) - rd(e, 0x2030, 4), 0);
	assert_int_equal(rd(e, 0x30, 4), 24000);
	/* In reset, only GCTL takes writes; leaving it says the codec is there again. */
	wr(e, 0x08, 0, 4);
	wr(e, 0x20, 0xC0000000u, 4);
	assert_int_equal(rd(e, 0x20, 4), 0);
	wr(e, 0x08, 1, 4);
	assert_int_equal(rd(e, 0x0E, 2), 1);
	/* With WAKEEN, STATESTS interrupts (CIS). */
	wr(e, 0x20, 0xC0000000u, 4);
	wr(e, 0x0C, 1, 2);
	assert_int_equal(e->level, 1);
	wr(e, 0x0E, 1, 2);
	assert_int_equal(e->level, 0);
	/* Unknown and out-of-BAR reads. */
	assert_int_equal(rd(e, 0x1000, 4), 0);
	{
		uint8_t b[4];

		hda_mmio(&e->h, HDA_BAR_SIZE - 2, b, 4, false);
		assert_int_equal(get_le32(b), 0xFFFFFFFFu);
	}
}

static void test_corb_rirb(void **st)
{
	struct env *e = *st;

	assert_int_equal(verb(e, 0, 0xF00, 0x00), 0x1AF40101u);	 /* vendor */
	assert_int_equal(verb(e, 0, 0xF00, 0x04), 0x00010001u);	 /* root: the AFG */
	assert_int_equal(verb(e, 1, 0xF00, 0x04), 0x00020004u);	 /* AFG: nodes 2..5 */
	assert_int_equal(verb(e, 1, 0xF00, 0x05), 1);		 /* audio function group */
	assert_int_equal(verb(e, 2, 0xF00, 0x09) >> 20, 0);	 /* DAC: output converter */
	assert_int_equal(verb(e, 4, 0xF00, 0x09) >> 20, 1);	 /* ADC: input converter */
	assert_int_equal(verb(e, 3, 0xF00, 0x09) >> 20, 4);	 /* pin */
	assert_int_equal(verb(e, 3, 0xF00, 0x0E), 1);		 /* one connection, */
	assert_int_equal(verb(e, 3, 0xF02, 0), 2);		 /* the DAC */
	assert_int_equal(verb(e, 4, 0xF02, 0), 5);		 /* the ADC's: the mic pin */
	assert_int_equal(verb(e, 3, 0xF1C, 0) >> 20 & 0xF, 0);	 /* line out */
	assert_int_equal(verb(e, 5, 0xF1C, 0) >> 20 & 0xF, 0xA); /* mic in */
	assert_true(verb(e, 2, 0xF00, 0x0A) & (1u << 17 | 1u << 5 | 1u << 6));
	/* A verb for an absent codec gets no response. */
	e->corbwp = (uint16_t)(e->corbwp + 1);
	put_le32(e->mem + CORB + 4 * e->corbwp, 0x2F0000u | 1u << 28);
	wr(e, 0x48, e->corbwp, 2);
	assert_int_equal(rd(e, 0x58, 2), e->rirbrp);
	/* RINTCNT 3 is still answered when the CORB is empty. */
	wr(e, 0x5A, 3, 2);
	assert_int_equal(verb(e, 0, 0xF00, 0x02), 0x00100100u);
	/* A CORB outside RAM: CMEI (with CMEIE, an interrupt), the CORB stops. */
	wr(e, 0x4C, 0, 1);
	wr(e, 0x40, 0xFFFFF000u, 4);
	wr(e, 0x4C, 3, 1);
	wr(e, 0x48, (e->corbwp + 1) & 0xFF, 2);
	assert_int_equal(rd(e, 0x4D, 1), 1);
	assert_int_equal(rd(e, 0x4C, 1), 1);
	assert_int_equal(e->level, 1);
	wr(e, 0x4D, 1, 1);
	assert_int_equal(e->level, 0);
}

static void test_immediate(void **st)
{
	struct env *e = *st;

	wr(e, 0x60, 0x000F0000u, 4);
	wr(e, 0x68, 1, 2);
	assert_int_equal(rd(e, 0x68, 2), 2); /* IRV, not busy */
	assert_int_equal(rd(e, 0x64, 4), 0x1AF40101u);
	wr(e, 0x68, 2, 2);
	assert_int_equal(rd(e, 0x68, 2), 0);
}

static void test_codec_verbs(void **st)
{
	struct env *e = *st;

	(void)e;
	/* Amps: set both channels of the DAC's output amp, read each back. */
	verb(e, 2, 0x3, 0xB000 | 0x20);
	assert_int_equal(verb(e, 2, 0xB, 0xA000), 0x20);
	assert_int_equal(verb(e, 2, 0xB, 0x8000), 0x20);
	verb(e, 2, 0x3, 0x9000 | 0x80 | 0x7F); /* right only, muted, gain clamped */
	assert_int_equal(verb(e, 2, 0xB, 0x8000), 0x80 | HDA_AMP_STEPS);
	assert_int_equal(verb(e, 2, 0xB, 0xA000), 0x20);
	assert_int_equal(verb(e, 2, 0xB, 0x2000), 0); /* it has no input amp */
	verb(e, 4, 0x3, 0x7000 | 0x10);		      /* the ADC's input amp */
	assert_int_equal(verb(e, 4, 0xB, 0x2000), 0x10);
	/* Format, stream, power state, pin control. */
	verb(e, 2, 0x2, 0x4011);
	assert_int_equal(verb(e, 2, 0xA, 0), 0x4011);
	verb(e, 2, 0x706, 0x10);
	assert_int_equal(verb(e, 2, 0xF06, 0), 0x10);
	verb(e, 1, 0x705, 3);
	assert_int_equal(verb(e, 1, 0xF05, 0), 0x33);
	verb(e, 3, 0x707, 0x40);
	assert_int_equal(verb(e, 3, 0xF07, 0), 0x40);
	verb(e, 1, 0x721, 0x55);
	assert_int_equal(verb(e, 1, 0xF20, 0), 0x1AF45500u);
	/* Unknown verbs and nodes answer 0; a function reset brings the defaults back. */
	assert_int_equal(verb(e, 0x7F, 0xF00, 0), 0);
	assert_int_equal(verb(e, 2, 0xF77, 0), 0);
	verb(e, 1, 0x7FF, 0);
	assert_int_equal(verb(e, 2, 0xF06, 0), 0);
	assert_int_equal(verb(e, 2, 0xB, 0xA000), HDA_AMP_STEPS);
	assert_int_equal(verb(e, 1, 0xF20, 0), 0x1AF45500u);
}

static void bdl_entry(struct env *e, uint64_t bdl, unsigned i, uint64_t addr, uint32_t len,
		      bool ioc)
{
	put_le64(e->mem + bdl + 16 * i, addr);
	put_le32(e->mem + bdl + 16 * i + 8, len);
	put_le32(e->mem + bdl + 16 * i + 12, ioc);
}

/* Stream n with tag, format, a BDL of `entries` entries of `len` bytes each at buf. */
static void stream_setup(struct env *e, unsigned n, unsigned tag, uint16_t fmt, uint64_t bdl,
			 uint64_t buf, unsigned entries, uint32_t len)
{
	wr(e, SD(n), 1, 1); /* SRST */
	assert_int_equal(rd(e, SD(n), 1) & 1, 1);
	wr(e, SD(n), 0, 1);
	for (unsigned i = 0; i < entries; i++)
		bdl_entry(e, bdl, i, buf + (uint64_t)i * len, len, true);
	wr(e, SD(n), (uint32_t)tag << 20, 4);
	wr(e, SD(n) + 0x08, entries * len, 4);
	wr(e, SD(n) + 0x12, fmt, 2);
	wr(e, SD(n) + 0x0C, entries - 1, 2);
	wr(e, SD(n) + 0x18, (uint32_t)bdl, 4);
	wr(e, SD(n) + 0x1C, 0, 4);
	wr(e, 0x70, (uint32_t)POSBUF | 1, 4);
	wr(e, 0x20, rd(e, 0x20, 4) | 1u << n | 0x80000000u, 4);
}

static void run(struct env *e, unsigned n)
{
	wr(e, SD(n), rd(e, SD(n), 4) | 0x1E, 4); /* RUN, IOCE, FEIE, DEIE */
}

/* 48 kHz 16-bit stereo: 4 entries of 5 ms. One second of irregular ticks plays exactly 48000
 * frames, the guest's buffer over and over, with an interrupt per entry. */
static void test_output_stream(void **st)
{
	struct env *e = *st;
	uint32_t seed = 7;
	unsigned irqs = 0;

	verb(e, 2, 0x706, 0x10); /* DAC listens to stream 1 */
	for (unsigned i = 0; i < 3840 / 2; i++)
		put_le16(e->mem + BUF_OUT + 2 * i, (uint16_t)(i * 7));
	stream_setup(e, OUT0, 1, 0x0011, BDL_OUT, BUF_OUT, 4, 960);
	run(e, OUT0);
	for (uint64_t t0 = e->now; e->now < t0 + 1000 * MS;) {
		seed = seed * 1103515245u + 12345u;
		e->now += (1 + (seed >> 16) % 9) * MS;
		if (e->now > t0 + 1000 * MS)
			e->now = t0 + 1000 * MS;
		hda_tick(&e->h);
		if (e->level) {
			irqs++;
			assert_true(rd(e, 0x24, 4) & 1u << OUT0);
			assert_int_equal(rd(e, SD(OUT0) + 3, 1) & 0x1C, 4); /* BCIS */
			wr(e, SD(OUT0) + 3, 4, 1);
			assert_int_equal(e->level, 0);
		}
	}
	assert_int_equal(e->rec.frames, 48000);
	assert_int_equal(e->rec.fmt.rate, 48000);
	assert_int_equal(e->rec.fmt.channels, 2);
	for (unsigned i = 0; i < 96000; i++)
		assert_int_equal((uint16_t)e->rec.played[i], (uint16_t)((i % 1920) * 7));
	assert_int_equal(rd(e, SD(OUT0) + 4, 4), 48000 * 4 % 3840);
	assert_int_equal(rd(e, 0x2000 + SD(OUT0) + 4, 4), 48000 * 4 % 3840);
	assert_int_equal(get_le32(e->mem + POSBUF + 8 * OUT0), 48000 * 4 % 3840);
	assert_true(irqs >= 100); /* 200 entries done; ticks up to 9 ms take two at a time */
	/* Stopped: the position stays, nothing more is played. */
	wr(e, SD(OUT0), 0x1C, 1);
	e->now += 500 * MS;
	hda_tick(&e->h);
	assert_int_equal(e->rec.frames, 48000);
}

/* The guest never refills (it is late, or gone): the stream goes on at the nominal rate from
 * the buffer as it is; a host thread that stalls catches up 200 ms at most; no drift after
 * ten minutes of 44.1 kHz. */
static void test_output_timing(void **st)
{
	struct env *e = *st;
	uint32_t seed = 3;
	uint64_t t0;

	verb(e, 2, 0x706, 0x20);
	stream_setup(e, OUT0 + 1, 2, 0x4011, BDL_OUT, BUF_OUT, 2, 4410 * 4);
	run(e, OUT0 + 1);
	t0 = e->now;
	e->now += 150 * MS;
	hda_tick(&e->h);
	assert_int_equal(e->rec.frames, 6615);
	e->now += 1000 * MS; /* a stalled host: 200 ms caught up, the rest skipped */
	hda_tick(&e->h);
	assert_int_equal(e->rec.frames, 6615 + 8820);
	assert_int_equal(e->h.sd[OUT0 + 1].pace.skipped, 44100 - 8820);
	t0 += 1150 * MS;
	while (e->now < t0 + 600000 * MS) {
		seed = seed * 1103515245u + 12345u;
		e->now += (1 + (seed >> 16) % 20) * MS;
		if (e->now > t0 + 600000 * MS)
			e->now = t0 + 600000 * MS;
		hda_tick(&e->h);
	}
	assert_int_equal(e->rec.frames, 6615 + 8820 + 600ull * 44100);
}

/* The ADC's frames land in the input stream's buffers; the ADC's amp at 0 dB leaves them be. */
static void test_input_stream(void **st)
{
	struct env *e = *st;

	verb(e, 4, 0x706, 0x30);
	stream_setup(e, 0, 3, 0x0011, BDL_IN, BUF_IN, 2, 400);
	run(e, 0);
	e->now += 1 * MS; /* 48 frames: 192 bytes */
	hda_tick(&e->h);
	assert_int_equal(rd(e, SD(0) + 4, 4), 192);
	for (unsigned i = 0; i < 96; i++)
		assert_int_equal(get_le16(e->mem + BUF_IN + 2 * i), i);
	e->now += 3 * MS; /* 144 more: across the first entry's end */
	hda_tick(&e->h);
	assert_int_equal(rd(e, SD(0) + 4, 4), 768);
	assert_int_equal(get_le16(e->mem + BUF_IN + 400), 200); /* frame 100's left sample */
	assert_true(e->level);					/* the first entry's IOC */
	wr(e, SD(0) + 3, 4, 1);
	/* A stream whose tag no converter has gets silence. */
	memset(e->mem + BUF_IN, 0x55, 800);
	verb(e, 4, 0x706, 0x40);
	e->now += 2 * MS;
	hda_tick(&e->h);
	assert_int_equal(e->mem[BUF_IN + 799], 0); /* 32 bytes to the end, then from 0 */
	assert_int_equal(e->mem[BUF_IN + 767], 0x55);
	assert_int_equal(e->mem[BUF_IN + 0], 0);
	assert_int_equal(e->mem[BUF_IN + 351], 0);
	assert_int_equal(e->mem[BUF_IN + 352], 0x55);
}

/* Descriptors outside RAM, empty entries, an empty buffer or a bad format fail that stream
 * (DESE, its interrupt), and only it. */
static void test_bad_descriptors(void **st)
{
	struct env *e = *st;

	verb(e, 2, 0x706, 0x10);
	stream_setup(e, OUT0, 1, 0x0011, BDL_OUT, BUF_OUT, 2, 960);
	stream_setup(e, OUT0 + 1, 2, 0x0011, BDL_IN, BUF_OUT, 1, 960);
	wr(e, SD(OUT0 + 1) + 0x18, 0xFFFFFF80u, 4); /* the list outside RAM */
	run(e, OUT0);
	run(e, OUT0 + 1);
	e->now += 10 * MS;
	hda_tick(&e->h);
	assert_int_equal(rd(e, SD(OUT0 + 1) + 3, 1) & 0x10, 0x10);
	assert_int_equal(e->level, 1);
	assert_int_equal(rd(e, SD(OUT0 + 1) + 4, 4), 0);
	assert_int_equal(e->rec.frames, 480); /* the good one played */
	/* A buffer outside RAM, and an empty entry. */
	bdl_entry(e, BDL_OUT, 1, 0xFFFFF000u, 960, true);
	e->now += 10 * MS;
	hda_tick(&e->h);
	assert_int_equal(rd(e, SD(OUT0) + 3, 1) & 0x10, 0x10);
	assert_true(e->h.stream_errors >= 2);
	stream_setup(e, OUT0 + 2, 1, 0x0011, BDL_OUT, BUF_OUT, 2, 960);
	bdl_entry(e, BDL_OUT, 0, BUF_OUT, 0, false);
	run(e, OUT0 + 2);
	e->now += 10 * MS;
	hda_tick(&e->h);
	assert_int_equal(rd(e, SD(OUT0 + 2) + 3, 1) & 0x10, 0x10);
	/* No buffer length, a reserved format. */
	stream_setup(e, OUT0 + 3, 1, 0x0011, BDL_OUT, BUF_OUT, 2, 960);
	wr(e, SD(OUT0 + 3) + 0x08, 0, 4);
	run(e, OUT0 + 3);
	assert_int_equal(rd(e, SD(OUT0 + 3) + 3, 1) & 0x10, 0x10);
	stream_setup(e, 1, 1, 0x8011, BDL_IN, BUF_IN, 2, 960);
	run(e, 1);
	assert_int_equal(rd(e, SD(1) + 3, 1) & 0x10, 0x10);
	/* A stream reset brings a failed stream back. */
	wr(e, SD(1), 1, 1);
	wr(e, SD(1), 0, 1);
	assert_int_equal(rd(e, SD(1) + 3, 1) & 0x10, 0);
}

/* With MSI on, a stream's interrupt is a message; INTx stays down. */
static void test_msi(void **st)
{
	struct env *e = *st;
	unsigned cap = e->h.msi_cap;

	put_le32(e->h.pci.cfg + cap + 4, 0xFEE00000u);
	put_le32(e->h.pci.cfg + cap + 8, 0);
	put_le16(e->h.pci.cfg + cap + 12, 0x4041);
	e->h.pci.cfg[cap + 2] |= 1;
	e->h.pci.ops->cfg_write(&e->h.pci, cap + 2, 2);
	e->msi = true;
	verb(e, 2, 0x706, 0x10);
	assert_int_equal(e->msis, 1); /* the response above */
	stream_setup(e, OUT0, 1, 0x0011, BDL_OUT, BUF_OUT, 4, 960);
	run(e, OUT0);
	e->now += 6 * MS;
	hda_tick(&e->h);
	assert_int_equal(e->msis, 2);
	assert_int_equal(e->level, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corb_rirb, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_immediate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_codec_verbs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_stream, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_timing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_input_stream, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_descriptors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_msi, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
