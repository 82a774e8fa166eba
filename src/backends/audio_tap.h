/* The guest's sound output for listeners on other threads (the browser console's sound).
 *
 * A device's timer thread writes what it plays into the tap (through a back end wrapped by
 * audio_tee_new) and every reader follows it at its own position: a reader that falls more than
 * the ring behind skips ahead (counted), so a slow listener never slows the guest or the other
 * listeners. Samples are S16LE interleaved, in the stream's format; a change of format starts a
 * new run that readers are told about. docs/sound.md. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/audio.h"

struct audio_tap;

struct audio_tap_reader {
	uint64_t pos;	  /* bytes of the tap's output already had (or skipped) */
	uint64_t skipped; /* bytes skipped because the reader fell behind */
	uint32_t gen;	  /* the format run it reads */
	bool told;	  /* the run's format was reported to it */
};

/* A tap whose ring holds cap bytes (rounded up to a multiple of 64). NULL: out of memory. */
struct audio_tap *audio_tap_new(size_t cap);
void audio_tap_free(struct audio_tap *t);
/* The writer: frames of f's format. */
void audio_tap_put(struct audio_tap *t, const struct audio_fmt *f, const int16_t *s,
		   uint32_t frames);
/* A new reader starts at what the tap writes next. */
void audio_tap_follow(struct audio_tap *t, struct audio_tap_reader *r);
/* Copies up to max bytes (whole frames) the reader has not had into dst and returns how many.
 * *f: their format; *new_fmt: true when that format is new to this reader (the first call with
 * data, and after every change of format). */
size_t audio_tap_get(struct audio_tap *t, struct audio_tap_reader *r, struct audio_fmt *f,
		     bool *new_fmt, uint8_t *dst, size_t max);
/* A back end that plays into inner and into the tap; capture is inner's. Destroying it destroys
 * inner (not the tap). NULL (inner left open): out of memory. */
struct audio_backend *audio_tee_new(struct audio_backend *inner, struct audio_tap *t);
