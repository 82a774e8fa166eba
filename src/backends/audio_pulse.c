/* --sound pulse: the desktop's sound server (PulseAudio, or PipeWire's pulse server) through
 * libpulse-simple, loaded with dlopen (audio_pulse_load, before the VMM thread's seccomp filter
 * forbids mapping code) only when asked for.
 *
 * The device's timer thread never talks to the server: it writes the guest's output into a
 * ring and reads the guest's input from another (backends/audio.h, struct audio_ring), under
 * the back end's lock. One thread per direction moves the rings to and from the server in
 * 10 ms pieces, paced by the server (the sound card's clock): the output thread plays silence
 * where the ring ran dry (an underrun is a gap, never a stall) and the ring drops its oldest
 * frames when the server is slower than the host's clock; the input thread fills the input
 * ring, which gives silence when it is empty. A direction's stream is opened when the guest
 * starts using it (in its format) and closed after half a second without use, so an idle VM
 * holds no stream. If the server can't be reached, the direction retries every second and the
 * guest's stream runs on meanwhile (its output dropped, its input silent). */
#include "backends/audio.h"

#include <errno.h>
#include <pthread.h>
#include <pulse/error.h>
#include <pulse/simple.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/lazylib.h"
#include "common/log.h"

#define PIECE_MS 10
#define PRIME_MS 60 /* a ring's cushion before its reader takes from it */
#define RING_MS	 200
#define IDLE_NS	 500000000ull

struct pulse_fns {
	pa_simple *(*simple_new)(const char *, const char *, pa_stream_direction_t, const char *,
				 const char *, const pa_sample_spec *, const pa_channel_map *,
				 const pa_buffer_attr *, int *);
	int (*simple_write)(pa_simple *, const void *, size_t, int *);
	int (*simple_read)(pa_simple *, void *, size_t, int *);
	void (*simple_free)(pa_simple *);
	const char *(*strerror)(int);
};

/* The library, loaded once per process (it outlives a guest's reboot). */
static struct pulse_fns pa;
static bool pa_loaded;

int audio_pulse_load(char *err, size_t errlen)
{
	const struct lazy_sym simple[] = {{"pa_simple_new", (void **)&pa.simple_new},
					  {"pa_simple_write", (void **)&pa.simple_write},
					  {"pa_simple_read", (void **)&pa.simple_read},
					  {"pa_simple_free", (void **)&pa.simple_free},
					  {NULL, NULL}};
	const struct lazy_sym base[] = {{"pa_strerror", (void **)&pa.strerror}, {NULL, NULL}};
	void *s, *p;

	if (pa_loaded)
		return 0;
	if (lazylib_load(&s, LAZYLIB_PULSE_SIMPLE, "--sound pulse", "libpulse0", simple, err,
			 errlen) < 0 ||
	    lazylib_load(&p, LAZYLIB_PULSE, "--sound pulse", "libpulse0", base, err, errlen) < 0)
		return -ENOENT;
	pa_loaded = true; /* the libraries stay loaded until the process ends */
	return 0;
}

struct pulse_dir {
	struct pulse_backend *pb;
	bool out;
	pthread_t thread;
	bool started;
	struct audio_ring ring;
	struct audio_fmt fmt; /* what the guest's stream is (rate 0: never used) */
	uint64_t last_use;    /* the host clock when the device last played/captured */
	unsigned gen;	      /* bumped when fmt changes: the thread reopens */
	bool primed;	      /* the ring held PRIME_MS since it last ran dry */
};

struct pulse_backend {
	struct audio_backend b;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	struct pulse_dir out, in;
	char server[VM_PATH_MAX + 8]; /* "unix:PATH" for --sound pulse,server=PATH, or "" */
};

static uint64_t now_ns(void)
{
	return audio_clock_now(&audio_host_clock);
}

/* The device's side: a new format empties the ring (and makes the thread reopen). */
static void use(struct pulse_dir *d, const struct audio_fmt *f)
{
	if (d->fmt.rate != f->rate || d->fmt.channels != f->channels) {
		size_t cap = (size_t)f->rate * f->channels * 2 * RING_MS / 1000;

		audio_ring_free(&d->ring);
		if (audio_ring_init(&d->ring, cap) < 0) {
			d->fmt.rate = 0;
			return;
		}
		d->fmt = *f;
		d->gen++;
		d->primed = false;
	}
	d->last_use = now_ns();
	pthread_cond_broadcast(&d->pb->cond);
}

static void pulse_play(struct audio_backend *b, const struct audio_fmt *f, const int16_t *s,
		       uint32_t frames)
{
	struct pulse_backend *pb = (struct pulse_backend *)b;

	pthread_mutex_lock(&pb->lock);
	use(&pb->out, f);
	if (pb->out.fmt.rate)
		audio_ring_write(&pb->out.ring, (const uint8_t *)s,
				 (size_t)frames * f->channels * 2);
	pthread_mutex_unlock(&pb->lock);
}

static void pulse_capture(struct audio_backend *b, const struct audio_fmt *f, int16_t *s,
			  uint32_t frames)
{
	struct pulse_backend *pb = (struct pulse_backend *)b;
	size_t n = (size_t)frames * f->channels * 2;

	pthread_mutex_lock(&pb->lock);
	use(&pb->in, f);
	if (!pb->in.primed && pb->in.fmt.rate &&
	    pb->in.ring.len >= (size_t)f->rate * f->channels * 2 * PRIME_MS / 1000)
		pb->in.primed = true;
	if (pb->in.primed)
		pb->in.primed = audio_ring_read(&pb->in.ring, (uint8_t *)s, n) == n;
	else
		memset(s, 0, n);
	pthread_mutex_unlock(&pb->lock);
}

/* Waits (under the lock) until the direction is in use, or the back end stops. */
static bool wait_for_use(struct pulse_dir *d)
{
	struct pulse_backend *pb = d->pb;

	while (!pb->stopping && (!d->fmt.rate || now_ns() - d->last_use > IDLE_NS))
		pthread_cond_wait(&pb->cond, &pb->lock);
	return !pb->stopping;
}

static void sleep_locked(struct pulse_backend *pb, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	(void)pthread_cond_timedwait(&pb->cond, &pb->lock, &ts);
}

/* One stream's life: open in the guest's format, move pieces until idle, a new format or the
 * end. Called and returning with the lock held. */
static void run_stream(struct pulse_dir *d, bool *warned)
{
	struct pulse_backend *pb = d->pb;
	pa_sample_spec ss = {PA_SAMPLE_S16LE, d->fmt.rate, (uint8_t)d->fmt.channels};
	size_t piece = (size_t)d->fmt.rate * d->fmt.channels * 2 * PIECE_MS / 1000;
	pa_buffer_attr attr = {(uint32_t)-1, (uint32_t)(piece * 4), (uint32_t)-1, (uint32_t)-1,
			       (uint32_t)piece};
	unsigned gen = d->gen;
	uint8_t *buf = malloc(piece);
	pa_simple *s;
	int e = 0;

	pthread_mutex_unlock(&pb->lock);
	s = buf ? pa.simple_new(pb->server[0] ? pb->server : NULL, "phyllome",
				d->out ? PA_STREAM_PLAYBACK : PA_STREAM_RECORD, NULL,
				d->out ? "guest output" : "guest input", &ss, NULL, &attr, &e)
		: NULL;
	pthread_mutex_lock(&pb->lock);
	if (!s) {
		if (!*warned)
			pr_warn("sound: cannot open a %s stream on the sound server: %s (retrying)",
				d->out ? "playback" : "record", buf ? pa.strerror(e) : "no memory");
		*warned = true;
		free(buf);
		sleep_locked(pb, 1000);
		return;
	}
	*warned = false;
	while (!pb->stopping && gen == d->gen && now_ns() - d->last_use <= IDLE_NS) {
		int rc;

		/* The device's ticks and the server's requests come at their own times: the
		 * output keeps a cushion of PRIME_MS in the ring, built up again after it ran
		 * dry (silence meanwhile, so the server never starves). */
		if (d->out) {
			size_t prime = piece * PRIME_MS / PIECE_MS;

			for (unsigned w = 0; !d->primed && d->ring.len < prime && w < PIECE_MS; w++)
				sleep_locked(pb, 1);
			if (!d->primed && d->ring.len >= prime)
				d->primed = true;
			if (d->primed)
				d->primed = audio_ring_read(&d->ring, buf, piece) == piece;
			else
				memset(buf, 0, piece);
		}
		pthread_mutex_unlock(&pb->lock);
		rc =
		    d->out ? pa.simple_write(s, buf, piece, &e) : pa.simple_read(s, buf, piece, &e);
		pthread_mutex_lock(&pb->lock);
		if (rc < 0) {
			pr_warn("sound: the sound server's stream failed: %s", pa.strerror(e));
			break;
		}
		if (!d->out && gen == d->gen)
			audio_ring_write(&d->ring, buf, piece);
	}
	pthread_mutex_unlock(&pb->lock);
	pa.simple_free(s);
	free(buf);
	pthread_mutex_lock(&pb->lock);
}

static void *pulse_thread(void *arg)
{
	struct pulse_dir *d = arg;
	struct pulse_backend *pb = d->pb;
	bool warned = false;

	pthread_mutex_lock(&pb->lock);
	while (wait_for_use(d))
		run_stream(d, &warned);
	pthread_mutex_unlock(&pb->lock);
	return NULL;
}

static void pulse_destroy(struct audio_backend *b)
{
	struct pulse_backend *pb = (struct pulse_backend *)b;

	pthread_mutex_lock(&pb->lock);
	pb->stopping = true;
	pthread_cond_broadcast(&pb->cond);
	pthread_mutex_unlock(&pb->lock);
	if (pb->out.started)
		pthread_join(pb->out.thread, NULL);
	if (pb->in.started)
		pthread_join(pb->in.thread, NULL);
	if (pb->out.fmt.rate)
		pr_info("sound: pulse: output %llu ms dropped (the server slower than the guest), "
			"%llu ms of silence played where the guest's output ran dry",
			(unsigned long long)(pb->out.ring.overrun_bytes * 1000 /
					     (2u * pb->out.fmt.channels * pb->out.fmt.rate)),
			(unsigned long long)(pb->out.ring.underrun_bytes * 1000 /
					     (2u * pb->out.fmt.channels * pb->out.fmt.rate)));
	audio_ring_free(&pb->out.ring);
	audio_ring_free(&pb->in.ring);
	pthread_cond_destroy(&pb->cond);
	pthread_mutex_destroy(&pb->lock);
	free(pb);
}

static const struct audio_backend_ops pulse_ops = {pulse_play, pulse_capture, pulse_destroy};

int audio_pulse_open(struct audio_backend **b, const char *server, char *err, size_t errlen)
{
	struct pulse_backend *pb;
	pthread_condattr_t ca;
	int rc;

	if (!pa_loaded) {
		snprintf(err, errlen, "--sound pulse: libpulse is not loaded");
		return -ENOENT;
	}
	pb = calloc(1, sizeof(*pb));
	if (!pb)
		return -ENOMEM;
	pb->b.ops = &pulse_ops;
	if (server && server[0])
		snprintf(pb->server, sizeof(pb->server), "unix:%s", server);
	pthread_mutex_init(&pb->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_cond_init(&pb->cond, &ca);
	pthread_condattr_destroy(&ca);
	pb->out = (struct pulse_dir){.pb = pb, .out = true};
	pb->in = (struct pulse_dir){.pb = pb, .out = false};
	rc = pthread_create(&pb->out.thread, NULL, pulse_thread, &pb->out);
	pb->out.started = rc == 0;
	if (rc == 0) {
		pthread_setname_np(pb->out.thread, "pulse-out");
		rc = pthread_create(&pb->in.thread, NULL, pulse_thread, &pb->in);
		pb->in.started = rc == 0;
	}
	if (rc) {
		pulse_destroy(&pb->b);
		snprintf(err, errlen, "--sound pulse: cannot start its threads: %s", strerror(rc));
		return -rc;
	}
	pthread_setname_np(pb->in.thread, "pulse-in");
	*b = &pb->b;
	return 0;
}
