/* The sound back ends' timing and files: the pace that meters a stream's frames by the host's
 * clock (a fake clock here: minutes in microseconds, ticks as late and as irregular as a loaded
 * host makes them), the WAV parser, the wav back end's file and its looped input, and the
 * ring whose reader never waits. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "backends/audio.h"
#include "backends/audio_tap.h"
#include "common/bytes.h"

#define MS 1000000ull
#define S  1000000000ull

/* A deterministic jitter: 1..20 ms between ticks. */
static uint64_t next_step(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (1 + (*seed >> 16) % 20) * MS;
}

/* Ten minutes of ticks at irregular intervals hand out exactly rate * 600 frames: no drift. */
static void test_pace_no_drift(void **st)
{
	static const unsigned rates[] = {48000, 44100, 22050, 96000, 8000};

	(void)st;
	for (unsigned r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		struct audio_pace p;
		uint64_t t0 = 123456789ull, now = t0, total = 0;
		uint32_t seed = r + 1;

		audio_pace_start(&p, rates[r], t0);
		while (now < t0 + 600 * S) {
			uint64_t step = next_step(&seed);

			now = now + step > t0 + 600 * S ? t0 + 600 * S : now + step;
			total += audio_pace_due(&p, now, rates[r] / 5);
		}
		assert_int_equal(total, 600ull * rates[r]);
		assert_int_equal(p.skipped, 0);
	}
}

/* At any instant the frames handed out are the clock's: never ahead, never a frame behind. */
static void test_pace_tracks_clock(void **st)
{
	struct audio_pace p;
	uint64_t total = 0;

	(void)st;
	audio_pace_start(&p, 44100, 0);
	for (uint64_t now = 0; now < 3 * S; now += 333333) {
		total += audio_pace_due(&p, now, 44100);
		assert_int_equal(total, now * 44100 / S);
	}
	/* The next frame is due exactly when the clock says. */
	assert_true(audio_pace_next(&p) > 3 * S - 333333);
	assert_int_equal(audio_pace_due(&p, audio_pace_next(&p) - 1, 44100), 0);
	assert_int_equal(audio_pace_due(&p, audio_pace_next(&p), 44100), 1);
}

/* A thread that wakes late gets what it missed in one piece (no gap, no stall); one that was
 * stalled for longer than the device can catch up skips the rest, counts it, and goes on from
 * the clock's now at the nominal rate. */
static void test_pace_late(void **st)
{
	struct audio_pace p;

	(void)st;
	audio_pace_start(&p, 48000, 0);
	assert_int_equal(audio_pace_due(&p, 10 * MS, 9600), 480);
	assert_int_equal(audio_pace_due(&p, 160 * MS, 9600), 7200);  /* 150 ms late: all of it */
	assert_int_equal(audio_pace_due(&p, 1160 * MS, 9600), 9600); /* 1 s: 200 ms of it */
	assert_int_equal(p.skipped, 48000 - 9600);
	assert_int_equal(audio_pace_due(&p, 1170 * MS, 9600), 480);
	assert_int_equal(audio_pace_due(&p, 1170 * MS, 9600), 0);
	/* A clock that goes backwards (it can't, but) hands out nothing. */
	assert_int_equal(audio_pace_due(&p, 5 * MS, 9600), 0);
}

static size_t make_wav(uint8_t *b, unsigned rate, unsigned ch, const int16_t *s, size_t frames)
{
	size_t n = frames * ch * 2;

	memcpy(b, "RIFF", 4);
	put_le32(b + 4, (uint32_t)(36 + n + 12));
	memcpy(b + 8, "WAVE", 4);
	memcpy(b + 12, "LIST", 4); /* a chunk to skip */
	put_le32(b + 16, 4);
	memcpy(b + 20, "INFO", 4);
	memcpy(b + 24, "fmt ", 4);
	put_le32(b + 28, 16);
	put_le16(b + 32, 1);
	put_le16(b + 34, (uint16_t)ch);
	put_le32(b + 36, rate);
	put_le32(b + 40, rate * ch * 2);
	put_le16(b + 44, (uint16_t)(ch * 2));
	put_le16(b + 46, 16);
	memcpy(b + 48, "data", 4);
	put_le32(b + 52, (uint32_t)n);
	for (size_t i = 0; i < frames * ch; i++)
		put_le16(b + 56 + 2 * i, (uint16_t)s[i]);
	return 56 + n;
}

static void test_wav_parse(void **st)
{
	uint8_t b[256];
	int16_t s[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct wav_info w;
	char err[128];
	size_t n = make_wav(b, 22050, 2, s, 4);

	(void)st;
	assert_int_equal(wav_parse(b, n, &w, err, sizeof(err)), 0);
	assert_int_equal(w.rate, 22050);
	assert_int_equal(w.channels, 2);
	assert_int_equal(w.data_off, 56);
	assert_int_equal(w.data_len, 16);
	/* Cut short: the whole frames that are there. */
	assert_int_equal(wav_parse(b, n - 3, &w, err, sizeof(err)), 0);
	assert_int_equal(w.data_len, 12);
	/* Not 16-bit, not RIFF, no data. */
	put_le16(b + 46, 8);
	assert_int_equal(wav_parse(b, n, &w, err, sizeof(err)), -EINVAL);
	put_le16(b + 46, 16);
	assert_int_equal(wav_parse(b, 40, &w, err, sizeof(err)), -EINVAL);
	b[0] = 'X';
	assert_int_equal(wav_parse(b, n, &w, err, sizeof(err)), -EINVAL);
}

/* The output file: a header that says the stream's format and the bytes written so far, after
 * every piece; a stream of another format later is not mixed in. */
static void test_wav_out(void **st)
{
	int fd = memfd_create("wav-out", MFD_CLOEXEC);
	struct audio_backend *b;
	struct audio_fmt f = {44100, 2}, g = {48000, 2};
	int16_t s[200];
	uint8_t h[44 + 800];
	char err[128];

	(void)st;
	for (int i = 0; i < 200; i++)
		s[i] = (int16_t)(i * 100 - 9000);
	assert_int_equal(audio_wav_open_fd(fd, NULL, 0, &b, err, sizeof(err)), 0);
	b->ops->play(b, &f, s, 100);
	assert_int_equal(pread(fd, h, 44, 0), 44);
	assert_memory_equal(h, "RIFF", 4);
	assert_int_equal(get_le32(h + 24), 44100);
	assert_int_equal(get_le16(h + 22), 2);
	assert_int_equal(get_le32(h + 40), 400);
	b->ops->play(b, &g, s, 100); /* another rate: not written */
	b->ops->play(b, &f, s, 100);
	assert_int_equal(pread(fd, h, sizeof(h), 0), 44 + 800);
	assert_int_equal(get_le32(h + 40), 800);
	assert_int_equal(get_le32(h + 4), 836);
	assert_memory_equal(h + 44, s, 400);
	assert_memory_equal(h + 444, s, 400);
	/* No input: capture is silence. */
	b->ops->capture(b, &f, s, 100);
	for (int i = 0; i < 200; i++)
		assert_int_equal(s[i], 0);
	b->ops->destroy(b); /* closes fd */
}

/* The input file is looped, taken at its own speed whatever the capture's rate, a mono file
 * on every channel. */
static void test_wav_in_loop(void **st)
{
	uint8_t file[256];
	int16_t in[5] = {100, 200, 300, 400, 500}, got[40];
	struct audio_backend *b;
	struct audio_fmt same = {8000, 2}, twice = {16000, 1};
	char err[128];
	size_t n = make_wav(file, 8000, 1, in, 5);

	(void)st;
	assert_int_equal(audio_wav_open_fd(-1, file, n, &b, err, sizeof(err)), 0);
	b->ops->capture(b, &same, got, 12);
	for (int i = 0; i < 12; i++) {
		assert_int_equal(got[2 * i], in[i % 5]);
		assert_int_equal(got[2 * i + 1], in[i % 5]);
	}
	b->ops->destroy(b);
	assert_int_equal(audio_wav_open_fd(-1, file, n, &b, err, sizeof(err)), 0);
	b->ops->capture(b, &twice, got, 20); /* each input frame twice */
	for (int i = 0; i < 20; i++)
		assert_int_equal(got[i], in[(i / 2) % 5]);
	b->ops->destroy(b);
	/* A bad file is refused with a reason. */
	file[8] = 'X';
	assert_int_equal(audio_wav_open_fd(-1, file, n, &b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "in="));
}

/* The ring's reader never waits: what is missing is silence (counted); a full ring drops the
 * oldest bytes (counted) and keeps the newest. */
static void test_ring(void **st)
{
	struct audio_ring r;
	uint8_t in[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, out[16];

	(void)st;
	assert_int_equal(audio_ring_init(&r, 8), 0);
	audio_ring_write(&r, in, 6);
	assert_int_equal(audio_ring_read(&r, out, 4), 4);
	assert_memory_equal(out, in, 4);
	audio_ring_write(&r, in, 10); /* 2 + 10 > 8: 4 dropped */
	assert_int_equal(r.overrun_bytes, 2 + 2);
	assert_int_equal(audio_ring_read(&r, out, 12), 8);
	assert_memory_equal(out, in + 2, 8);
	for (int i = 8; i < 12; i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(r.underrun_bytes, 4);
	audio_ring_free(&r);
}

/* Frames n of a stereo stream whose samples count up from v. */
static void frames_from(int16_t *s, uint32_t n, int16_t v)
{
	for (uint32_t i = 0; i < 2 * n; i++)
		s[i] = (int16_t)(v + (int16_t)i);
}

/* A tap's readers: each from where it began, the format told once per run, whole frames only,
 * a reader a ring behind skips ahead (counted) and never holds the writer. */
static void test_tap(void **st)
{
	const struct audio_fmt f48 = {.rate = 48000, .channels = 2},
			       f44 = {.rate = 44100, .channels = 1};
	struct audio_tap *t = audio_tap_new(256);
	struct audio_tap_reader a, b;
	struct audio_fmt f;
	int16_t in[200], out[200];
	bool nf;

	(void)st;
	assert_non_null(t);
	audio_tap_follow(t, &a);
	assert_int_equal(audio_tap_get(t, &a, &f, &nf, (uint8_t *)out, sizeof(out)), 0);
	frames_from(in, 10, 100);
	audio_tap_put(t, &f48, in, 10); /* 40 bytes */
	audio_tap_follow(t, &b);	/* b starts after them */
	assert_int_equal(audio_tap_get(t, &a, &f, &nf, (uint8_t *)out, 22), 20); /* whole frames */
	assert_true(nf);
	assert_int_equal(f.rate, 48000);
	assert_int_equal(f.channels, 2);
	assert_memory_equal(out, in, 20);
	assert_int_equal(audio_tap_get(t, &a, &f, &nf, (uint8_t *)out, sizeof(out)), 20);
	assert_false(nf);
	assert_memory_equal(out, in + 10, 20);
	assert_int_equal(audio_tap_get(t, &b, &f, &nf, (uint8_t *)out, sizeof(out)), 0);
	/* b falls behind: 2 x 40 frames (320 bytes > 256): it skips to half a ring ago. */
	frames_from(in, 40, 1000);
	audio_tap_put(t, &f48, in, 40);
	frames_from(in, 40, 2000);
	audio_tap_put(t, &f48, in, 40);
	assert_int_equal(audio_tap_get(t, &b, &f, &nf, (uint8_t *)out, sizeof(out)), 128);
	assert_true(nf);
	assert_int_equal(b.skipped, 320 - 128);
	assert_memory_equal(out, in + 80 - 64, 128); /* the newest 32 frames */
	/* A new format: the readers are told, and get only the new run. */
	frames_from(in, 5, -50);
	audio_tap_put(t, &f44, in, 5);
	assert_int_equal(audio_tap_get(t, &b, &f, &nf, (uint8_t *)out, sizeof(out)), 10);
	assert_true(nf);
	assert_int_equal(f.rate, 44100);
	assert_int_equal(f.channels, 1);
	assert_memory_equal(out, in, 10);
	/* More than the ring at once: the tap keeps the newest whole frames, and a reader that was
	 * in the old run goes on from half a ring ago. */
	frames_from(in, 100, 7);
	audio_tap_put(t, &f48, in, 100); /* 400 bytes */
	assert_int_equal(audio_tap_get(t, &b, &f, &nf, (uint8_t *)out, sizeof(out)), 128);
	assert_true(nf);
	assert_memory_equal(out, in + 200 - 64, 128);
	audio_tap_free(t);
}

/* The tee plays into its back end and into the tap; capture is the back end's. */
static void test_tee(void **st)
{
	const struct audio_fmt f = {.rate = 48000, .channels = 2};
	struct audio_tap *t = audio_tap_new(4096);
	struct audio_backend *b = audio_tee_new(audio_none_new(), t);
	struct audio_tap_reader r;
	struct audio_fmt got;
	int16_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8];
	bool nf;

	(void)st;
	assert_non_null(b);
	audio_tap_follow(t, &r);
	b->ops->play(b, &f, in, 4);
	assert_int_equal(audio_tap_get(t, &r, &got, &nf, (uint8_t *)out, sizeof(out)), 16);
	assert_memory_equal(out, in, 16);
	b->ops->capture(b, &f, out, 4); /* the silent back end's silence */
	for (int i = 0; i < 8; i++)
		assert_int_equal(out[i], 0);
	audio_close(b);
	audio_tap_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pace_no_drift), cmocka_unit_test(test_pace_tracks_clock),
	    cmocka_unit_test(test_pace_late),	  cmocka_unit_test(test_wav_parse),
	    cmocka_unit_test(test_wav_out),	  cmocka_unit_test(test_wav_in_loop),
	    cmocka_unit_test(test_ring),	  cmocka_unit_test(test_tap),
	    cmocka_unit_test(test_tee),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
