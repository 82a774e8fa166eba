#include "devices/hda_codec.h"

#include <errno.h>
#include <string.h>

/* Parameters (verb F00's payload). */
#define P_VENDOR     0x00
#define P_REVISION   0x02
#define P_NODE_COUNT 0x04
#define P_FG_TYPE    0x05
#define P_AFG_CAPS   0x08
#define P_WIDGET     0x09
#define P_PCM	     0x0A
#define P_STREAM     0x0B
#define P_PIN_CAPS   0x0C
#define P_AMP_IN     0x0D
#define P_CONN_LEN   0x0E
#define P_POWER	     0x0F
#define P_AMP_OUT    0x12

#define VENDOR_ID   0x1AF40101u /* the subsystem vendor the VMM's other PCI functions use */
#define REVISION_ID 0x00100100u
#define SSID	    0x1AF41100u

/* Supported PCM: 16-bit (bit 17); 8, 11.025, 16, 22.05, 32, 44.1, 48, 88.2, 96 kHz. */
#define PCM_CAPS     0x000201FFu
#define STREAM_PCM   0x00000001u
#define POWER_STATES 0x0000000Fu /* D0..D3 */

/* Audio widget capabilities: type (bits 23:20) and flags. */
#define WT_OUT	     (0u << 20)
#define WT_IN	     (1u << 20)
#define WT_PIN	     (4u << 20)
#define WC_STEREO    (1u << 0)
#define WC_IN_AMP    (1u << 1)
#define WC_OUT_AMP   (1u << 2)
#define WC_AMP_OVR   (1u << 3)
#define WC_FMT_OVR   (1u << 4)
#define WC_CONN_LIST (1u << 8)

/* Amp capabilities: mute capable, 1 dB steps (step size 3: 4 x 0.25 dB), 75 steps, 0 dB at
 * the top. */
#define AMP_CAPS (1u << 31 | 3u << 16 | (uint32_t)HDA_AMP_STEPS << 8 | HDA_AMP_STEPS)
#define AMP_MUTE 0x80u

/* Pin capabilities, and configuration defaults: jack at the rear, 1/8" connector; line out
 * green (association 1), microphone in pink (association 2). */
#define PINCAP_OUT (1u << 4)
#define PINCAP_IN  (1u << 5)
#define CFG_OUT	   0x01014010u
#define CFG_MIC	   0x01A19020u

struct node {
	uint32_t widget;   /* P_WIDGET */
	uint32_t pin_caps; /* P_PIN_CAPS */
	uint32_t config;   /* F1C */
	uint8_t conn;	   /* its one connection (0: none) */
};

static const struct node nodes[HDA_NODES] = {
    [HDA_NID_DAC] = {WT_OUT | WC_STEREO | WC_OUT_AMP | WC_AMP_OVR | WC_FMT_OVR, 0, 0, 0},
    [HDA_NID_OUT] = {WT_PIN | WC_STEREO | WC_CONN_LIST, PINCAP_OUT, CFG_OUT, HDA_NID_DAC},
    [HDA_NID_ADC] = {WT_IN | WC_STEREO | WC_IN_AMP | WC_AMP_OVR | WC_FMT_OVR | WC_CONN_LIST, 0, 0,
		     HDA_NID_MIC},
    [HDA_NID_MIC] = {WT_PIN | WC_STEREO, PINCAP_IN, CFG_MIC, 0},
};

static bool is_converter(unsigned nid)
{
	return nid == HDA_NID_DAC || nid == HDA_NID_ADC;
}

void hda_codec_init(struct hda_codec *c, struct audio_backend *be)
{
	memset(c, 0, sizeof(*c));
	c->be = be;
	c->ssid = SSID;
	/* Converters come up at 48 kHz stereo with their amps at 0 dB, unmuted. */
	for (unsigned n = 0; n < HDA_NODES; n++) {
		c->fmt[n] = is_converter(n) ? 0x0011 : 0;
		c->amp[n][0] = c->amp[n][1] = HDA_AMP_STEPS;
	}
}

static uint32_t parameter(unsigned nid, unsigned p)
{
	if (nid == HDA_NID_ROOT) {
		return p == P_VENDOR	   ? VENDOR_ID
		       : p == P_REVISION   ? REVISION_ID
		       : p == P_NODE_COUNT ? (uint32_t)HDA_NID_AFG << 16 | 1
					   : 0;
	}
	if (nid == HDA_NID_AFG) {
		switch (p) {
		case P_NODE_COUNT:
			return (uint32_t)HDA_NID_DAC << 16 | (HDA_NODES - HDA_NID_DAC);
		case P_FG_TYPE:
			return 0x01; /* audio function group */
		case P_PCM:
			return PCM_CAPS;
		case P_STREAM:
			return STREAM_PCM;
		case P_POWER:
			return POWER_STATES;
		default:
			return 0; /* AFG caps, amp caps (the widgets override), GPIO */
		}
	}
	switch (p) {
	case P_WIDGET:
		return nodes[nid].widget;
	case P_PCM:
		return is_converter(nid) ? PCM_CAPS : 0;
	case P_STREAM:
		return is_converter(nid) ? STREAM_PCM : 0;
	case P_PIN_CAPS:
		return nodes[nid].pin_caps;
	case P_AMP_OUT:
		return nid == HDA_NID_DAC ? AMP_CAPS : 0;
	case P_AMP_IN:
		return nid == HDA_NID_ADC ? AMP_CAPS : 0;
	case P_CONN_LEN:
		return nodes[nid].conn ? 1 : 0;
	default:
		return 0;
	}
}

/* Set Amplifier Gain/Mute (verb 3): bit 15 output, 14 input, 13 left, 12 right, 11:8 index,
 * 7 mute, 6:0 gain. Only the DAC's output amp and the ADC's input amp exist. */
static void set_amp(struct hda_codec *c, unsigned nid, uint16_t pl)
{
	bool out = pl & 0x8000, in = pl & 0x4000;
	uint8_t v = (uint8_t)(pl & AMP_MUTE);
	unsigned gain = pl & 0x7F;

	if (!((nid == HDA_NID_DAC && out) || (nid == HDA_NID_ADC && in)) || (pl >> 8 & 0xF))
		return;
	v |= (uint8_t)(gain > HDA_AMP_STEPS ? HDA_AMP_STEPS : gain);
	if (pl & 0x2000)
		c->amp[nid][0] = v;
	if (pl & 0x1000)
		c->amp[nid][1] = v;
}

/* Get Amplifier Gain/Mute (verb B): bit 15 output (else input), 13 left (else right). */
static uint32_t get_amp(const struct hda_codec *c, unsigned nid, uint16_t pl)
{
	bool out = pl & 0x8000;

	if ((nid == HDA_NID_DAC && out) || (nid == HDA_NID_ADC && !out))
		return c->amp[nid][(pl & 0x2000) ? 0 : 1];
	return 0;
}

static void function_reset(struct hda_codec *c)
{
	struct audio_backend *be = c->be;
	uint32_t ssid = c->ssid;

	hda_codec_init(c, be);
	c->ssid = ssid;
}

static uint32_t verb12(struct hda_codec *c, unsigned nid, unsigned verb, unsigned pl)
{
	const struct node *n = &nodes[nid];

	switch (verb) {
	case 0xF00:
		return parameter(nid, pl);
	case 0xF02: /* connection list entries from pl: one, in the short form */
		return pl == 0 ? n->conn : 0;
	case 0xF05:
		return (uint32_t)c->power[nid] << 4 | c->power[nid];
	case 0x705:
		c->power[nid] = pl & 0xF;
		return 0;
	case 0xF06:
		return c->stream[nid];
	case 0x706:
		if (is_converter(nid))
			c->stream[nid] = (uint8_t)pl;
		return 0;
	case 0xF07:
		return c->pinctl[nid];
	case 0x707:
		if (n->pin_caps)
			c->pinctl[nid] = (uint8_t)pl;
		return 0;
	case 0xF08:
		return c->unsol[nid];
	case 0x708:
		c->unsol[nid] = (uint8_t)pl;
		return 0;
	case 0xF09: /* pin sense: something is always plugged in */
		return n->pin_caps ? 0x80000000u : 0;
	case 0xF0C:
		return c->eapd[nid];
	case 0x70C:
		c->eapd[nid] = (uint8_t)(pl & 7);
		return 0;
	case 0xF1C:
		return n->config;
	case 0xF20:
		return nid == HDA_NID_AFG ? c->ssid : 0;
	case 0x720:
	case 0x721:
	case 0x722:
	case 0x723:
		if (nid == HDA_NID_AFG) {
			unsigned sh = 8 * (verb - 0x720);

			c->ssid = (c->ssid & ~(0xFFu << sh)) | (uint32_t)pl << sh;
		}
		return 0;
	case 0xF2D: /* converter channel count: 2 */
		return is_converter(nid) ? 1 : 0;
	case 0x7FF:
		if (nid == HDA_NID_AFG)
			function_reset(c);
		return 0;
	default:
		return 0; /* connection select, processing state, coefficients, GPIO, ... */
	}
}

uint32_t hda_codec_verb(struct hda_codec *c, uint32_t cmd)
{
	unsigned nid = cmd >> 20 & 0xFF;
	uint32_t v = cmd & 0xFFFFF;
	unsigned top = v >> 16;

	if (nid >= HDA_NODES)
		return 0;
	if (top == 0x7 || top == 0xF)
		return verb12(c, nid, v >> 8, v & 0xFF);
	switch (top) {
	case 0x2: /* Set Converter Format */
		if (is_converter(nid))
			c->fmt[nid] = (uint16_t)v;
		return 0;
	case 0xA:
		return is_converter(nid) ? c->fmt[nid] : 0;
	case 0x3:
		set_amp(c, nid, (uint16_t)v);
		return 0;
	case 0xB:
		return get_amp(c, nid, (uint16_t)v);
	default:
		return 0;
	}
}

bool hda_codec_wants(const struct hda_codec *c, bool out, unsigned tag)
{
	unsigned nid = out ? HDA_NID_DAC : HDA_NID_ADC;

	return tag && (c->stream[nid] >> 4) == tag;
}

/* The amp's factor in Q15: 0 dB (gain at the top) is exactly 1, each step below 1 dB less. */
static int32_t amp_factor(uint8_t amp)
{
	double f = 32768.0;

	if (amp & AMP_MUTE)
		return 0;
	for (unsigned g = amp & 0x7F; g < HDA_AMP_STEPS; g++)
		f /= 1.1220184543019633; /* 10^(1/20) */
	return (int32_t)(f + 0.5);
}

static void scale(const uint8_t amp[2], const struct audio_fmt *f, int16_t *s, uint32_t frames)
{
	const int32_t k[2] = {amp_factor(amp[0]), amp_factor(amp[1])};

	if (k[0] == 32768 && k[1] == 32768)
		return;
	for (uint32_t i = 0; i < frames; i++) {
		for (unsigned ch = 0; ch < f->channels; ch++) {
			int16_t *p = &s[(size_t)i * f->channels + ch];

			*p = (int16_t)((int32_t)*p * k[ch == 1] / 32768);
		}
	}
}

void hda_codec_play(struct hda_codec *c, const struct audio_fmt *f, int16_t *s, uint32_t frames)
{
	scale(c->amp[HDA_NID_DAC], f, s, frames);
	c->be->ops->play(c->be, f, s, frames);
}

void hda_codec_capture(struct hda_codec *c, const struct audio_fmt *f, int16_t *s, uint32_t frames)
{
	c->be->ops->capture(c->be, f, s, frames);
	scale(c->amp[HDA_NID_ADC], f, s, frames);
}

int hda_fmt_decode(uint16_t fmt, struct audio_fmt *f, unsigned *sample_bytes)
{
	static const unsigned bytes[8] = {1, 2, 4, 4, 4, 0, 0, 0};
	unsigned base = (fmt & 0x4000) ? 44100 : 48000;
	unsigned mult = (fmt >> 11 & 7) + 1, div = (fmt >> 8 & 7) + 1;

	if ((fmt & 0x8000) || mult > 4 || !bytes[fmt >> 4 & 7])
		return -EINVAL;
	f->rate = base * mult / div;
	f->channels = (fmt & 0xF) + 1;
	*sample_bytes = bytes[fmt >> 4 & 7];
	return 0;
}
