#include "ui/image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/uilibs.h"

struct membuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void mem_write(png_structp png, png_bytep data, png_size_t n)
{
	struct membuf *m = ui_png.png_get_io_ptr(png);

	if (m->err)
		return;
	if (m->len + n > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;
		uint8_t *p;

		while (cap < m->len + n)
			cap *= 2;
		p = realloc(m->p, cap);
		if (!p) {
			m->err = -ENOMEM;
			return;
		}
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, data, n);
	m->len += n;
}

static void mem_flush(png_structp png)
{
	(void)png;
}

/* Encodes in the caller's frame; kept apart so that setjmp's rules stay local. */
static int encode(png_structp png, png_infop info, const uint32_t *px, unsigned w, unsigned h,
		  uint8_t *row)
{
	if (setjmp(*ui_png.png_set_longjmp_fn(png, longjmp, sizeof(jmp_buf))))
		return -EIO;
	ui_png.png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
			    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	ui_png.png_set_compression_level(png, 3);
	ui_png.png_write_info(png, info);
	for (unsigned y = 0; y < h; y++) {
		const uint32_t *s = px + (size_t)y * w;

		for (unsigned x = 0; x < w; x++) {
			row[3 * x] = (uint8_t)(s[x] >> 16);
			row[3 * x + 1] = (uint8_t)(s[x] >> 8);
			row[3 * x + 2] = (uint8_t)s[x];
		}
		ui_png.png_write_row(png, row);
	}
	ui_png.png_write_end(png, info);
	return 0;
}

int image_png(const uint32_t *px, unsigned w, unsigned h, uint8_t **out, size_t *len)
{
	struct membuf m = {0};
	png_structp png;
	png_infop info;
	uint8_t *row;
	char err[200];
	int rc = -ENOMEM;

	if (ui_libs_load(UI_LIB_PNG, err, sizeof(err)) < 0)
		return -ENOENT;
	png = ui_png.png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = png ? ui_png.png_create_info_struct(png) : NULL;
	row = malloc((size_t)w * 3 + 1);

	if (png && info && row && w && h) {
		ui_png.png_set_write_fn(png, &m, mem_write, mem_flush);
		rc = encode(png, info, px, w, h, row);
		if (rc == 0 && m.err)
			rc = m.err;
	} else if (png && info && row) {
		rc = -EINVAL;
	}
	ui_png.png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
	free(row);
	if (rc < 0) {
		free(m.p);
		return rc;
	}
	*out = m.p;
	*len = m.len;
	return 0;
}

int image_ppm(const uint32_t *px, unsigned w, unsigned h, uint8_t **out, size_t *len)
{
	char hdr[32];
	int n = snprintf(hdr, sizeof(hdr), "P6\n%u %u\n255\n", w, h);
	size_t total = (size_t)n + (size_t)w * h * 3;
	uint8_t *p = malloc(total), *q;

	if (!p)
		return -ENOMEM;
	memcpy(p, hdr, (size_t)n);
	q = p + n;
	for (size_t i = 0; i < (size_t)w * h; i++) {
		*q++ = (uint8_t)(px[i] >> 16);
		*q++ = (uint8_t)(px[i] >> 8);
		*q++ = (uint8_t)px[i];
	}
	*out = p;
	*len = total;
	return 0;
}
