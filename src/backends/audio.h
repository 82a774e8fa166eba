/* A sound device's host end (--sound), and the host clock that paces a sound device's DMA.
 *
 * Samples travel as interleaved signed 16-bit little-endian PCM in the stream's own rate and
 * channel count. A device calls play/capture from its timer thread with as many frames as the
 * host clock says are due (audio_pace), never as fast as the guest fills its buffers: the
 * back end sees the guest's stream at its nominal rate measured by the host's monotonic clock.
 * Back ends: none (discards, gives silence), wav (the output into a RIFF WAV file; a WAV file
 * looped into the capture), pulse (the desktop's sound server). docs/sound.md. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vm_config.h"

struct audio_fmt {
	unsigned rate;	   /* frames per second */
	unsigned channels; /* 1..16 */
};

/* The clock a device paces its streams by: CLOCK_MONOTONIC, or a test's. */
struct audio_clock {
	uint64_t (*now_ns)(void *opaque);
	void *opaque;
};
extern const struct audio_clock audio_host_clock;

static inline uint64_t audio_clock_now(const struct audio_clock *c)
{
	return c->now_ns(c->opaque);
}

/* How many frames of a stream of `rate` are due at a time: frames = elapsed * rate, counted
 * from the stream's start, so rounding never accumulates (no drift). A thread that woke too
 * late gets the frames it missed in one piece, up to max; beyond that (a host that stalled for
 * longer than a device can buffer) the rest is skipped and counted, and the stream's time
 * goes on from now. */
struct audio_pace {
	uint64_t t0;	  /* the stream's start (clock ns) */
	uint64_t frames;  /* frames handed out or skipped since t0 */
	uint64_t skipped; /* of those, skipped because the thread was late by more than max */
	unsigned rate;
};
void audio_pace_start(struct audio_pace *p, unsigned rate, uint64_t now);
uint32_t audio_pace_due(struct audio_pace *p, uint64_t now, uint32_t max);
/* When the next frame is due (clock ns), for a thread that sleeps until then. */
uint64_t audio_pace_next(const struct audio_pace *p);

/* A ring of samples between a device's timer thread and a back end's own thread whose clock
 * is a sound card's (a sound server's back end): the reader never waits for the writer (what is
 * missing is read as silence and counted: an underrun is a short gap, never a stall) and a writer
 * that finds it full drops its oldest frames (counted). Single producer, single consumer,
 * under the caller's lock. Sizes in bytes. */
struct audio_ring {
	uint8_t *buf;
	size_t cap, head, len;
	uint64_t underrun_bytes, overrun_bytes;
};
int audio_ring_init(struct audio_ring *r, size_t cap);
void audio_ring_free(struct audio_ring *r);
void audio_ring_write(struct audio_ring *r, const uint8_t *src, size_t n);
/* Always fills n bytes: the ring's data, then zeroes (silence). Returns the data's bytes. */
size_t audio_ring_read(struct audio_ring *r, uint8_t *dst, size_t n);

struct audio_backend;
struct audio_backend_ops {
	/* The guest's output: frames of f's format (S16LE). */
	void (*play)(struct audio_backend *b, const struct audio_fmt *f, const int16_t *s,
		     uint32_t frames);
	/* The guest's input: fills frames of f's format (S16LE). */
	void (*capture)(struct audio_backend *b, const struct audio_fmt *f, int16_t *s,
			uint32_t frames);
	void (*destroy)(struct audio_backend *b);
};
struct audio_backend {
	const struct audio_backend_ops *ops;
};

/* Opens the back end the configuration names (SOUND_NONE: the silent one). 0 or -errno with
 * one line in err. */
int audio_open(const struct sound_config *c, struct audio_backend **out, char *err, size_t errlen);
void audio_close(struct audio_backend *b);
/* The silent back end (also what tests and fuzzing use). */
struct audio_backend *audio_none_new(void);

/* audio_wav.c: a RIFF WAV's PCM data (16-bit samples only). */
struct wav_info {
	unsigned rate, channels;
	size_t data_off, data_len; /* the data chunk's bytes within the file (whole frames) */
};
/* Pure: parses a WAV file's bytes. 0 or -EINVAL with the reason in err. */
int wav_parse(const uint8_t *buf, size_t len, struct wav_info *w, char *err, size_t errlen);
/* wav=OUT[,in=IN]: out is created (mode 0600) and holds the guest's output in the format of
 * its first stream; in (optional) is read whole and looped into the capture. */
int audio_wav_open(const char *out, const char *in, struct audio_backend **b, char *err,
		   size_t errlen);
/* audio_pulse.c: --sound pulse. audio_pulse_load loads libpulse (dlopen) and must run before
 * the VMM thread's seccomp filter is installed; audio_pulse_open then starts the back end's two
 * threads (they inherit the VMM thread's filter), on the server's socket at server (NULL or "":
 * where libpulse finds it through the environment). 0 or -errno with one line in err. */
int audio_pulse_load(char *err, size_t errlen);
int audio_pulse_open(struct audio_backend **b, const char *server, char *err, size_t errlen);
/* The same on an open file descriptor for the output (tests). */
int audio_wav_open_fd(int out_fd, const uint8_t *in, size_t in_len, struct audio_backend **b,
		      char *err, size_t errlen);
