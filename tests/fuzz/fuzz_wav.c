/* libFuzzer: a WAV file given to --sound ...,in=PATH (a user's file): the parser, and the wav
 * back end looping it into captures of a few formats. Checks: a parsed data chunk lies inside
 * the file and holds whole frames; captures fill exactly what they are asked for. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/audio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct audio_fmt fmts[] = {{48000, 2}, {44100, 1}, {8000, 16}};
	struct wav_info w;
	struct audio_backend *b;
	char err[160];
	int16_t s[16 * 300 + 1];

	if (wav_parse(data, size, &w, err, sizeof(err)) == 0) {
		check(w.data_off <= size && w.data_len <= size - w.data_off);
		check(w.data_len % (2u * w.channels) == 0 && w.data_len > 0);
	}
	if (audio_wav_open_fd(-1, data, size, &b, err, sizeof(err)) < 0)
		return 0;
	for (unsigned i = 0; i < 3; i++) {
		s[fmts[i].channels * 300] = 0x5A5A;
		b->ops->capture(b, &fmts[i], s, 300);
		check(s[fmts[i].channels * 300] == 0x5A5A);
	}
	b->ops->destroy(b);
	return 0;
}
