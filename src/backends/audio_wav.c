/* --sound wav=OUT[,in=IN]: the guest's output into a RIFF WAV file, a WAV file into its input.
 * The output file takes the format (rate, channels) of the first stream that plays; streams
 * of another format later are not written (one warning): a WAV file has one format. Its
 * header's sizes are rewritten after every piece, so the file is whole even if the VMM is
 * killed. The input file is read whole (up to WAV_IN_MAX bytes) and looped: each capture
 * frame takes the input's frame at the same time (nearest, so any rate plays at its own
 * speed) and its channels (a mono input goes to every channel). */
#include "backends/audio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"

#define WAV_HDR	   44u
#define WAV_IN_MAX (256u << 20)
#define WAV_MAX	   0xFFFFFFFFull /* RIFF sizes are 32-bit */

struct wav_backend {
	struct audio_backend b;
	int fd;
	struct audio_fmt fmt; /* the file's (rate 0: nothing written yet) */
	uint64_t data_len;
	bool warned, failed;
	uint8_t *in; /* the input's PCM data (NULL: silence) */
	struct wav_info in_info;
	uint64_t in_frames; /* input frames in in */
	uint64_t in_pos;    /* capture frames produced since the start, at the capture's rate */
	unsigned in_rate;   /* the capture's rate in_pos counts in */
};

int wav_parse(const uint8_t *buf, size_t len, struct wav_info *w, char *err, size_t errlen)
{
	bool have_fmt = false;
	size_t off = 12;

	memset(w, 0, sizeof(*w));
	if (len < 12 || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4)) {
		snprintf(err, errlen, "not a RIFF WAVE file");
		return -EINVAL;
	}
	while (off <= len && len - off >= 8) {
		uint32_t size = get_le32(buf + off + 4);
		const uint8_t *body = buf + off + 8;
		size_t avail = len - off - 8;

		if (!memcmp(buf + off, "fmt ", 4)) {
			uint16_t tag;

			if (size < 16 || avail < 16) {
				snprintf(err, errlen, "short fmt chunk");
				return -EINVAL;
			}
			tag = get_le16(body);
			/* PCM, or WAVE_FORMAT_EXTENSIBLE whose subformat GUID starts with PCM's 1.
			 */
			if (tag == 0xFFFE && size >= 40 && avail >= 40 && get_le16(body + 24) == 1)
				tag = 1;
			w->channels = get_le16(body + 2);
			w->rate = get_le32(body + 4);
			if (tag != 1 || get_le16(body + 14) != 16) {
				snprintf(err, errlen, "not 16-bit PCM (format %u, %u bits)", tag,
					 get_le16(body + 14));
				return -EINVAL;
			}
			if (w->channels < 1 || w->channels > 16 || w->rate < 1000 ||
			    w->rate > 384000) {
				snprintf(err, errlen, "%u channels at %u Hz is not supported",
					 w->channels, w->rate);
				return -EINVAL;
			}
			have_fmt = true;
		} else if (!memcmp(buf + off, "data", 4)) {
			size_t frame;

			if (!have_fmt) {
				snprintf(err, errlen, "data chunk before the fmt chunk");
				return -EINVAL;
			}
			frame = 2u * w->channels;
			w->data_off = off + 8;
			/* A size past the end (a recording cut short) means what is there. */
			w->data_len = (size < avail ? size : avail) / frame * frame;
			if (!w->data_len) {
				snprintf(err, errlen, "no samples");
				return -EINVAL;
			}
			return 0;
		}
		if (size > avail)
			break;
		off += 8 + (size_t)size + (size & 1);
	}
	snprintf(err, errlen, "no %s chunk", have_fmt ? "data" : "fmt");
	return -EINVAL;
}

static int put_all(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *c = p;

	while (n) {
		ssize_t k = pwrite(fd, c, n, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -errno;
		c += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static int write_header(struct wav_backend *w)
{
	uint8_t h[WAV_HDR];
	unsigned block = 2u * w->fmt.channels;

	memcpy(h, "RIFF", 4);
	put_le32(h + 4, (uint32_t)(36 + w->data_len));
	memcpy(h + 8, "WAVEfmt ", 8);
	put_le32(h + 16, 16);
	put_le16(h + 20, 1);
	put_le16(h + 22, (uint16_t)w->fmt.channels);
	put_le32(h + 24, w->fmt.rate);
	put_le32(h + 28, w->fmt.rate * block);
	put_le16(h + 32, (uint16_t)block);
	put_le16(h + 34, 16);
	memcpy(h + 36, "data", 4);
	put_le32(h + 40, (uint32_t)w->data_len);
	return put_all(w->fd, h, sizeof(h), 0);
}

static void wav_play(struct audio_backend *b, const struct audio_fmt *f, const int16_t *s,
		     uint32_t frames)
{
	struct wav_backend *w = (struct wav_backend *)b;
	size_t n = (size_t)frames * f->channels * 2;

	if (w->fd < 0 || w->failed || !frames)
		return;
	if (!w->fmt.rate)
		w->fmt = *f;
	if (w->fmt.rate != f->rate || w->fmt.channels != f->channels) {
		if (!w->warned)
			pr_warn(
			    "sound: the WAV file is %u Hz, %u channels; the guest's stream of %u "
			    "Hz, %u channels is not written",
			    w->fmt.rate, w->fmt.channels, f->rate, f->channels);
		w->warned = true;
		return;
	}
	if (WAV_HDR + w->data_len + n > WAV_MAX - 8) {
		if (!w->warned)
			pr_warn("sound: the WAV file reached 4 GiB: nothing more is written");
		w->warned = true;
		return;
	}
	if (put_all(w->fd, s, n, WAV_HDR + w->data_len) < 0) {
		pr_err("sound: cannot write the WAV file: %s: no more output", strerror(errno));
		w->failed = true;
		return;
	}
	w->data_len += n;
	if (write_header(w) < 0)
		w->failed = true;
}

static void wav_capture(struct audio_backend *b, const struct audio_fmt *f, int16_t *s,
			uint32_t frames)
{
	struct wav_backend *w = (struct wav_backend *)b;
	const struct wav_info *in = &w->in_info;

	if (!w->in) {
		memset(s, 0, (size_t)frames * f->channels * sizeof(*s));
		return;
	}
	if (w->in_rate != f->rate) { /* a new rate: keep the input's time, count in the new one */
		if (w->in_rate)
			w->in_pos = w->in_pos * f->rate / w->in_rate;
		w->in_rate = f->rate;
	}
	for (uint32_t i = 0; i < frames; i++, w->in_pos++) {
		uint64_t src = w->in_pos * in->rate / f->rate % w->in_frames;
		const uint8_t *fr = w->in + src * in->channels * 2;

		for (unsigned c = 0; c < f->channels; c++) {
			unsigned ic = c < in->channels ? c : in->channels - 1;

			s[(size_t)i * f->channels + c] = (int16_t)get_le16(fr + 2 * ic);
		}
	}
}

static void wav_destroy(struct audio_backend *b)
{
	struct wav_backend *w = (struct wav_backend *)b;

	if (w->fd >= 0)
		close(w->fd);
	free(w->in);
	free(w);
}

static const struct audio_backend_ops wav_ops = {wav_play, wav_capture, wav_destroy};

int audio_wav_open_fd(int out_fd, const uint8_t *in, size_t in_len, struct audio_backend **b,
		      char *err, size_t errlen)
{
	struct wav_backend *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->b.ops = &wav_ops;
	w->fd = out_fd;
	if (in) {
		char why[128];

		if (wav_parse(in, in_len, &w->in_info, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "--sound: in=: %s", why);
			free(w);
			return -EINVAL;
		}
		w->in = malloc(w->in_info.data_len);
		if (!w->in) {
			free(w);
			return -ENOMEM;
		}
		memcpy(w->in, in + w->in_info.data_off, w->in_info.data_len);
		w->in_frames = w->in_info.data_len / (2u * w->in_info.channels);
	}
	*b = &w->b;
	return 0;
}

/* Reads a whole file of at most max bytes. */
static int slurp(const char *path, size_t max, uint8_t **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	*len = (size_t)st.st_size < max ? (size_t)st.st_size : max;
	buf = malloc(*len ? *len : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < *len) {
		ssize_t k = read(fd, buf + got, *len - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	*len = got;
	*out = buf;
	return 0;
}

int audio_wav_open(const char *out, const char *in, struct audio_backend **b, char *err,
		   size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd, rc;

	if (in) {
		rc = slurp(in, WAV_IN_MAX, &buf, &len);
		if (rc < 0) {
			snprintf(err, errlen, "--sound: cannot read in=%s: %s", in,
				 rc == -EINVAL ? "not a regular file" : strerror(-rc));
			return rc;
		}
	}
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "--sound: cannot create wav=%s: %s", out, strerror(-rc));
		free(buf);
		return rc;
	}
	rc = audio_wav_open_fd(fd, buf, len, b, err, errlen);
	free(buf);
	if (rc < 0)
		close(fd);
	return rc;
}
