#include "backends/audio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000ull

static uint64_t host_now(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

const struct audio_clock audio_host_clock = {host_now, NULL};

/* ---- pacing ---- */

/* Frames of `rate` in ns nanoseconds, rounded down, without overflow for any uint64 ns. */
static uint64_t frames_in(uint64_t ns, unsigned rate)
{
	return ns / NS_PER_S * rate + ns % NS_PER_S * rate / NS_PER_S;
}

void audio_pace_start(struct audio_pace *p, unsigned rate, uint64_t now)
{
	p->t0 = now;
	p->frames = 0;
	p->skipped = 0;
	p->rate = rate;
}

uint32_t audio_pace_due(struct audio_pace *p, uint64_t now, uint32_t max)
{
	uint64_t total, due;

	if (!p->rate || now <= p->t0)
		return 0;
	total = frames_in(now - p->t0, p->rate);
	if (total <= p->frames)
		return 0;
	due = total - p->frames;
	if (due > max) {
		p->skipped += due - max;
		p->frames += due - max;
		due = max;
	}
	p->frames += due;
	return (uint32_t)due;
}

uint64_t audio_pace_next(const struct audio_pace *p)
{
	uint64_t n = p->frames + 1;

	if (!p->rate)
		return UINT64_MAX;
	/* The first ns at which frames_in(ns) reaches n: ceil(n * 1e9 / rate). */
	return p->t0 + n / p->rate * NS_PER_S + ((n % p->rate) * NS_PER_S + p->rate - 1) / p->rate;
}

/* ---- the ring ---- */

int audio_ring_init(struct audio_ring *r, size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->buf = malloc(cap);
	if (!r->buf)
		return -ENOMEM;
	r->cap = cap;
	return 0;
}

void audio_ring_free(struct audio_ring *r)
{
	free(r->buf);
	r->buf = NULL;
}

void audio_ring_write(struct audio_ring *r, const uint8_t *src, size_t n)
{
	if (n > r->cap) { /* only the newest cap bytes can stay */
		r->overrun_bytes += n - r->cap;
		src += n - r->cap;
		n = r->cap;
	}
	if (r->len + n > r->cap) { /* drop the oldest */
		size_t drop = r->len + n - r->cap;

		r->head = (r->head + drop) % r->cap;
		r->len -= drop;
		r->overrun_bytes += drop;
	}
	for (size_t done = 0; done < n;) {
		size_t tail = (r->head + r->len) % r->cap;
		size_t k = r->cap - tail < n - done ? r->cap - tail : n - done;

		memcpy(r->buf + tail, src + done, k);
		r->len += k;
		done += k;
	}
}

size_t audio_ring_read(struct audio_ring *r, uint8_t *dst, size_t n)
{
	size_t got = 0;

	while (got < n && r->len) {
		size_t k = r->cap - r->head;

		if (k > r->len)
			k = r->len;
		if (k > n - got)
			k = n - got;
		memcpy(dst + got, r->buf + r->head, k);
		r->head = (r->head + k) % r->cap;
		r->len -= k;
		got += k;
	}
	if (got < n) {
		memset(dst + got, 0, n - got);
		r->underrun_bytes += n - got;
	}
	return got;
}

/* ---- the silent back end ---- */

static void none_play(struct audio_backend *b, const struct audio_fmt *f, const int16_t *s,
		      uint32_t frames)
{
	(void)b;
	(void)f;
	(void)s;
	(void)frames;
}

static void none_capture(struct audio_backend *b, const struct audio_fmt *f, int16_t *s,
			 uint32_t frames)
{
	(void)b;
	memset(s, 0, (size_t)frames * f->channels * sizeof(*s));
}

static void none_destroy(struct audio_backend *b)
{
	free(b);
}

static const struct audio_backend_ops none_ops = {none_play, none_capture, none_destroy};

struct audio_backend *audio_none_new(void)
{
	struct audio_backend *b = calloc(1, sizeof(*b));

	if (b)
		b->ops = &none_ops;
	return b;
}

int audio_open(const struct sound_config *c, struct audio_backend **out, char *err, size_t errlen)
{
	switch (c->kind) {
	case SOUND_WAV:
		return audio_wav_open(c->out, c->in[0] ? c->in : NULL, out, err, errlen);
	case SOUND_PULSE:
		return audio_pulse_open(out, c->server, err, errlen);
	case SOUND_NONE:
		break;
	}
	*out = audio_none_new();
	if (!*out) {
		snprintf(err, errlen, "sound: out of memory");
		return -ENOMEM;
	}
	return 0;
}

void audio_close(struct audio_backend *b)
{
	if (b)
		b->ops->destroy(b);
}
