/* Screen images: a 0x00RRGGBB frame to PNG (libpng) or to a binary PPM, in memory. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Each returns 0 with a malloc'd buffer in *out, or -errno. */
int image_png(const uint32_t *px, unsigned w, unsigned h, uint8_t **out, size_t *len);
int image_ppm(const uint32_t *px, unsigned w, unsigned h, uint8_t **out, size_t *len);
