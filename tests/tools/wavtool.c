/* wavtool: the rig's sound scenario's two ends (shipped beside the VMM into L1).
 *   wavtool tone OUT RATE HZ SECONDS   writes a 16-bit mono sine of HZ at RATE as a WAV file
 *   wavtool measure FILE               reads a WAV file (also one on a raw disk image, whatever
 *                                      follows its data) and prints its format and, over its
 *                                      loud 10 ms windows, the frequency by zero crossings:
 *   "rate=48000 channels=2 frames=N active_ms=M hz=1000.0 hz_median=1000.0 rms=R"
 * The channels are summed (speaker-test plays one channel at a time). WAV parsing is the VMM's
 * own (backends/audio_wav.c). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/audio.h"
#include "common/bytes.h"

#define LOUD_RMS 300.0 /* a window this loud (of 32767) is sound, quieter is silence */

static int tone(const char *out, unsigned rate, double hz, double secs)
{
	size_t frames = (size_t)(rate * secs), n = 44 + 2 * frames;
	uint8_t *b = calloc(1, n);
	FILE *f;

	if (!b)
		return 1;
	memcpy(b, "RIFF", 4);
	put_le32(b + 4, (uint32_t)(n - 8));
	memcpy(b + 8, "WAVEfmt ", 8);
	put_le32(b + 16, 16);
	put_le16(b + 20, 1);
	put_le16(b + 22, 1);
	put_le32(b + 24, rate);
	put_le32(b + 28, rate * 2);
	put_le16(b + 32, 2);
	put_le16(b + 34, 16);
	memcpy(b + 36, "data", 4);
	put_le32(b + 40, (uint32_t)(2 * frames));
	for (size_t i = 0; i < frames; i++)
		put_le16(b + 44 + 2 * i,
			 (uint16_t)(int16_t)lrint(16000.0 * sin(2 * M_PI * hz * (double)i / rate)));
	f = fopen(out, "wb");
	if (!f || fwrite(b, 1, n, f) != n || fclose(f)) {
		perror(out);
		return 1;
	}
	free(b);
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static int measure(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	struct wav_info w;
	char err[128];
	uint8_t *b;
	size_t len, frames, win, crossings = 0, active = 0, nper = 0, last = SIZE_MAX;
	size_t *per = NULL; /* frames between successive rising crossings in one loud stretch */
	double sq = 0;
	int prev = 0;
	bool prev_loud = false;

	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(path);
		return 1;
	}
	len = (size_t)st.st_size;
	if (!len) /* a block device */
		len = (size_t)lseek(fd, 0, SEEK_END);
	if (len > (256u << 20))
		len = 256u << 20;
	b = malloc(len);
	if (!b || pread(fd, b, len, 0) != (ssize_t)len) {
		perror(path);
		return 1;
	}
	if (wav_parse(b, len, &w, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", path, err);
		return 1;
	}
	frames = w.data_len / (2u * w.channels);
	win = w.rate / 100;
	for (size_t s = 0; s + win <= frames; s += win) {
		double e = 0;

		for (size_t i = s; i < s + win; i++) {
			int v = 0;

			for (unsigned c = 0; c < w.channels; c++)
				v += (int16_t)get_le16(b + w.data_off + 2 * (i * w.channels + c));
			e += (double)v * v;
		}
		if (sqrt(e / (double)win) < LOUD_RMS) {
			prev_loud = false;
			last = SIZE_MAX;
			continue;
		}
		for (size_t i = s; i < s + win; i++) {
			int v = 0;

			for (unsigned c = 0; c < w.channels; c++)
				v += (int16_t)get_le16(b + w.data_off + 2 * (i * w.channels + c));
			if ((i > s || prev_loud) && prev < 0 && v >= 0) {
				crossings++;
				if (last != SIZE_MAX &&
				    (per || (per = calloc(frames, sizeof(*per)))))
					per[nper++] = i - last;
				last = i;
			}
			prev = v;
		}
		sq += e;
		active += win;
		prev_loud = true;
	}
	/* hz: crossings over the loud time (a gap or dropped frames inside a loud stretch moves
	 * it); hz_median: from the median period, which a few broken periods do not move. */
	if (nper)
		qsort(per, nper, sizeof(*per), cmp_size);
	printf("rate=%u channels=%u frames=%zu active_ms=%zu hz=%.1f hz_median=%.1f rms=%.0f\n",
	       w.rate, w.channels, frames, active * 1000 / w.rate,
	       active ? (double)crossings * w.rate / (double)active : 0.0,
	       nper ? (double)w.rate / (double)per[nper / 2] : 0.0,
	       active ? sqrt(sq / (double)active) : 0.0);
	free(per);
	free(b);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "tone"))
		return tone(argv[2], (unsigned)atoi(argv[3]), atof(argv[4]), atof(argv[5]));
	if (argc == 3 && !strcmp(argv[1], "measure"))
		return measure(argv[2]);
	fprintf(stderr, "usage: wavtool tone OUT RATE HZ SECONDS | wavtool measure FILE\n");
	return 2;
}
