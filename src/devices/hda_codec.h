/* The HD Audio codec on the controller's link (devices/hda.c), at codec address 0: a duplex
 * codec of the Intel High Definition Audio specification's widgets, for the generic parser
 * every HD Audio driver has (Linux's snd_hda_codec_generic, Windows' HDAudio class driver):
 *
 *   NID 0 root -> NID 1 audio function group -> 2 audio output converter (DAC: stereo, output
 *   amp with mute) -> 3 line-out pin (jack, green, rear); 4 audio input converter (ADC: stereo,
 *   input amp with mute) <- 5 microphone pin (jack, pink, rear).
 *
 * Converters take 16-bit PCM at 44.1 or 48 kHz (and the other rates of the 48k and 44.1k
 * families the format's multipliers make), 1 or 2 channels. The controller hands the codec the
 * frames of the stream whose tag the converter was given (verb 706); the DAC's amp scales
 * them (1 dB steps, mute) on their way to the back end; the ADC's scales what the back end
 * captures. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "backends/audio.h"

#define HDA_NID_ROOT 0
#define HDA_NID_AFG  1
#define HDA_NID_DAC  2
#define HDA_NID_OUT  3
#define HDA_NID_ADC  4
#define HDA_NID_MIC  5
#define HDA_NODES    6

#define HDA_AMP_STEPS 0x4A /* gain 0..74, 0 dB at 74 (-74 dB .. 0 dB in 1 dB steps) */

struct hda_codec {
	struct audio_backend *be;
	uint8_t power[HDA_NODES];  /* power state set (verb 705) */
	uint8_t pinctl[HDA_NODES]; /* pin widget control (707) */
	uint8_t unsol[HDA_NODES];  /* unsolicited response enable (708) */
	uint8_t eapd[HDA_NODES];   /* EAPD/BTL enable (70C) */
	uint8_t stream[HDA_NODES]; /* converter stream and channel (706) */
	uint16_t fmt[HDA_NODES];   /* converter format (2) */
	uint8_t amp[HDA_NODES][2]; /* the converter's amp, left and right: mute (bit 7), gain */
	uint32_t ssid;		   /* subsystem id (720..723) */
};

void hda_codec_init(struct hda_codec *c, struct audio_backend *be);
/* Runs one verb (a CORB entry or immediate command whose codec address is 0): returns the
 * response. Unknown verbs and nodes answer 0, as the specification asks. */
uint32_t hda_codec_verb(struct hda_codec *c, uint32_t verb);
/* Whether the converter of that direction listens to stream tag `tag` (1..15). */
bool hda_codec_wants(const struct hda_codec *c, bool out, unsigned tag);
/* Frames the controller's output stream carried to the DAC (scaled in place, then played). */
void hda_codec_play(struct hda_codec *c, const struct audio_fmt *f, int16_t *s, uint32_t frames);
/* Frames for the controller's input stream from the ADC (captured, then scaled). */
void hda_codec_capture(struct hda_codec *c, const struct audio_fmt *f, int16_t *s, uint32_t frames);

/* An HD Audio stream format (the controller's SDnFMT, the converters' verb 2): rate, channels
 * and bytes per sample container (8-bit: 1, 16: 2, 20/24/32: 4). 0, or -EINVAL for a
 * non-PCM or reserved encoding. */
int hda_fmt_decode(uint16_t fmt, struct audio_fmt *f, unsigned *sample_bytes);
