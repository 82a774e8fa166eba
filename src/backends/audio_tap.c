#include "backends/audio_tap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct audio_tap {
	pthread_mutex_t lock;
	uint8_t *buf;
	size_t cap;
	uint64_t wpos;	  /* bytes written since the tap was made */
	uint64_t run_pos; /* where the current format's run began */
	uint32_t gen;	  /* the current run (0: nothing written yet) */
	struct audio_fmt fmt;
};

struct audio_tap *audio_tap_new(size_t cap)
{
	struct audio_tap *t = calloc(1, sizeof(*t));

	cap = (cap + 63) & ~(size_t)63;
	if (!t || !cap || !(t->buf = malloc(cap))) {
		free(t);
		return NULL;
	}
	t->cap = cap;
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void audio_tap_free(struct audio_tap *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->buf);
	free(t);
}

/* The ring's first and second pieces for n bytes at byte position pos. */
static size_t ring_first(const struct audio_tap *t, uint64_t pos, size_t n, size_t *off)
{
	*off = (size_t)(pos % t->cap);
	return t->cap - *off < n ? t->cap - *off : n;
}

static void ring_write(struct audio_tap *t, uint64_t pos, const uint8_t *src, size_t n)
{
	size_t off, first = ring_first(t, pos, n, &off);

	memcpy(t->buf + off, src, first);
	memcpy(t->buf, src + first, n - first);
}

static void ring_read(const struct audio_tap *t, uint64_t pos, uint8_t *dst, size_t n)
{
	size_t off, first = ring_first(t, pos, n, &off);

	memcpy(dst, t->buf + off, first);
	memcpy(dst + first, t->buf, n - first);
}

void audio_tap_put(struct audio_tap *t, const struct audio_fmt *f, const int16_t *s,
		   uint32_t frames)
{
	size_t fb = (size_t)f->channels * 2, n = (size_t)frames * fb;
	const uint8_t *p = (const uint8_t *)s;

	if (!fb || !n)
		return;
	pthread_mutex_lock(&t->lock);
	if (!t->gen || t->fmt.rate != f->rate || t->fmt.channels != f->channels) {
		t->gen++;
		t->fmt = *f;
		t->run_pos = t->wpos;
	}
	if (n > t->cap) { /* only the newest ring's worth of whole frames can be kept */
		size_t keep = t->cap / fb * fb;

		t->wpos += n - keep;
		p += n - keep;
		n = keep;
	}
	ring_write(t, t->wpos, p, n);
	t->wpos += n;
	pthread_mutex_unlock(&t->lock);
}

void audio_tap_follow(struct audio_tap *t, struct audio_tap_reader *r)
{
	pthread_mutex_lock(&t->lock);
	*r = (struct audio_tap_reader){.pos = t->wpos, .gen = t->gen, .told = false};
	pthread_mutex_unlock(&t->lock);
}

size_t audio_tap_get(struct audio_tap *t, struct audio_tap_reader *r, struct audio_fmt *f,
		     bool *new_fmt, uint8_t *dst, size_t max)
{
	size_t fb, n = 0;

	*new_fmt = false;
	pthread_mutex_lock(&t->lock);
	if (!t->gen)
		goto out;
	if (r->gen != t->gen) { /* a new run: what is left of the old one is dropped */
		r->gen = t->gen;
		r->told = false;
		if (r->pos < t->run_pos)
			r->pos = t->run_pos;
	}
	fb = (size_t)t->fmt.channels * 2;
	if (t->wpos - r->pos > t->cap) { /* behind by more than the ring: on to half a ring ago */
		uint64_t to = t->wpos - t->cap / 2 / fb * fb;

		r->skipped += to - r->pos;
		r->pos = to;
	}
	n = (size_t)(t->wpos - r->pos);
	if (n > max)
		n = max;
	n -= n % fb;
	if (!n)
		goto out;
	ring_read(t, r->pos, dst, n);
	r->pos += n;
	*f = t->fmt;
	*new_fmt = !r->told;
	r->told = true;
out:
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* ---- the tee ---- */

struct tee {
	struct audio_backend b;
	struct audio_backend *inner;
	struct audio_tap *tap;
};

static void tee_play(struct audio_backend *b, const struct audio_fmt *f, const int16_t *s,
		     uint32_t frames)
{
	struct tee *t = (struct tee *)b;

	t->inner->ops->play(t->inner, f, s, frames);
	audio_tap_put(t->tap, f, s, frames);
}

static void tee_capture(struct audio_backend *b, const struct audio_fmt *f, int16_t *s,
			uint32_t frames)
{
	struct tee *t = (struct tee *)b;

	t->inner->ops->capture(t->inner, f, s, frames);
}

static void tee_destroy(struct audio_backend *b)
{
	struct tee *t = (struct tee *)b;

	audio_close(t->inner);
	free(t);
}

static const struct audio_backend_ops tee_ops = {
    .play = tee_play,
    .capture = tee_capture,
    .destroy = tee_destroy,
};

struct audio_backend *audio_tee_new(struct audio_backend *inner, struct audio_tap *tap)
{
	struct tee *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->b.ops = &tee_ops;
	t->inner = inner;
	t->tap = tap;
	return &t->b;
}
