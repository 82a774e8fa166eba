/* xwd2ppm IN.xwd OUT.ppm: an X window dump (what `xwd` writes: ZPixmap, TrueColor or DirectColor
 * (SDL2 picks DirectColor on Xvfb: each channel then indexes the dump's colour map), 24 or 32 bits
 * per pixel) as a binary PPM, so the rig's display-window scenario can compare the window's
 * picture with vm.screenshot's byte for byte. Prints "size=WxH". Exit status 0, or 1 with one line
 * on stderr. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/bytes.h"

/* XWDFileHeader: 25 CARD32s, big-endian, then the window's name (header_size in all). */
enum {
	H_SIZE = 0,
	H_VERSION = 1,
	H_FORMAT = 2,
	H_WIDTH = 4,
	H_HEIGHT = 5,
	H_BYTE_ORDER = 7,
	H_BPP = 11,
	H_BPL = 12,
	H_CLASS = 13,
	H_RED = 14,
	H_GREEN = 15,
	H_BLUE = 16,
	H_NCOLORS = 19,
	H_FIELDS = 25,
};

/* The field of PIXEL that MASK selects, and (BITS) its width. */
static uint32_t field(uint32_t pixel, uint32_t mask, unsigned *bits)
{
	unsigned shift = 0;

	*bits = 0;
	if (!mask)
		return 0;
	while (!(mask >> shift & 1))
		shift++;
	while (shift + *bits < 32 && (mask >> (shift + *bits) & 1))
		(*bits)++;
	return (pixel & mask) >> shift;
}

/* The 8-bit value of channel C (0 red, 1 green, 2 blue) of PIXEL. TrueColor: the field scaled to
 * 8 bits. DirectColor: the field indexes the colour map (XWDColor: pixel, then red, green, blue
 * as 16-bit values, flags, a pad byte; 12 bytes each, big-endian). */
static uint8_t channel(uint32_t pixel, uint32_t mask, unsigned c, const uint8_t *cmap, uint32_t n)
{
	unsigned bits;
	uint32_t v = field(pixel, mask, &bits);

	if (cmap)
		return v < n ? cmap[12 * v + 4 + 2 * c] : 0;
	if (!bits)
		return 0;
	return (uint8_t)(bits >= 8 ? v >> (bits - 8) : v * 255 / ((1u << bits) - 1));
}

int main(int argc, char **argv)
{
	uint32_t h[H_FIELDS], w, ht, bpp, bpl, order;
	size_t len, data;
	uint8_t *f;
	const uint8_t *cmap;
	FILE *in, *out;
	long n;

	if (argc != 3)
		return fprintf(stderr, "usage: xwd2ppm IN.xwd OUT.ppm\n"), 1;
	in = fopen(argv[1], "rb");
	if (!in || fseek(in, 0, SEEK_END) || (n = ftell(in)) < 0 || fseek(in, 0, SEEK_SET))
		return perror(argv[1]), 1;
	len = (size_t)n;
	f = malloc(len ? len : 1);
	if (!f || fread(f, 1, len, in) != len)
		return fprintf(stderr, "xwd2ppm: cannot read %s\n", argv[1]), 1;
	fclose(in);
	if (len < 4 * H_FIELDS)
		return fprintf(stderr, "xwd2ppm: %s: %zu bytes, too short for an XWD header\n",
			       argv[1], len),
		       1;
	for (int i = 0; i < H_FIELDS; i++)
		h[i] = get_be32(f + 4 * i);
	w = h[H_WIDTH], ht = h[H_HEIGHT], bpp = h[H_BPP], bpl = h[H_BPL], order = h[H_BYTE_ORDER];
	if (h[H_VERSION] != 7 || h[H_FORMAT] != 2 || (h[H_CLASS] != 4 && h[H_CLASS] != 5) ||
	    (bpp != 32 && bpp != 24))
		return fprintf(stderr,
			       "xwd2ppm: %s: version %u, format %u, visual class %u, %u bpp: only "
			       "version 7 ZPixmap TrueColor or DirectColor at 24 or 32 bpp\n",
			       argv[1], h[H_VERSION], h[H_FORMAT], h[H_CLASS], bpp),
		       1;
	data = (size_t)h[H_SIZE] + (size_t)h[H_NCOLORS] * 12;
	if (h[H_SIZE] < 4 * H_FIELDS || (uint64_t)bpl < (uint64_t)w * bpp / 8 ||
	    data + (uint64_t)bpl * ht > len)
		return fprintf(stderr,
			       "xwd2ppm: %s: %ux%u, %u bytes a line: %zu bytes is too short\n",
			       argv[1], w, ht, bpl, len),
		       1;
	/* DirectColor: xwd wrote entry i of the map for channel value i in every channel. */
	cmap = h[H_CLASS] == 5 ? f + h[H_SIZE] : NULL;
	out = fopen(argv[2], "wb");
	if (!out)
		return perror(argv[2]), 1;
	fprintf(out, "P6\n%u %u\n255\n", w, ht);
	for (uint32_t y = 0; y < ht; y++) {
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *p = f + data + (size_t)y * bpl + (size_t)x * (bpp / 8);
			uint32_t px = 0;
			uint8_t rgb[3];

			for (unsigned b = 0; b < bpp / 8; b++)
				px |= (uint32_t)p[order ? b : bpp / 8 - 1 - b]
				      << (8 * (bpp / 8 - 1 - b));
			rgb[0] = channel(px, h[H_RED], 0, cmap, h[H_NCOLORS]);
			rgb[1] = channel(px, h[H_GREEN], 1, cmap, h[H_NCOLORS]);
			rgb[2] = channel(px, h[H_BLUE], 2, cmap, h[H_NCOLORS]);
			fwrite(rgb, 1, 3, out);
		}
	}
	free(f);
	if (fclose(out))
		return perror(argv[2]), 1;
	printf("size=%ux%u\n", w, ht);
	return 0;
}
