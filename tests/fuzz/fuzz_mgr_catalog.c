/* libFuzzer: what a catalogue, a publisher's checksum file or an image's image.json can hold.
 * The first byte picks the parser; the rest is the file. For the catalogue, every entry that
 * loads must have valid names, be found again by name and tag, and name its checksum source;
 * for a checksum file, the file name is the input's first line and a hit must be lowercase hex
 * of the algorithm's length; an image.json that loads must dump to JSON that loads to the same
 * dump (the manager rewrites these files). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manager/catalog.h"
#include "manager/images.h"
#include "manager/sums.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void fuzz_catalog(const char *text, size_t len)
{
	struct catalog c;
	char err[256];

	if (catalog_parse(&c, text, len, err, sizeof(err)) < 0) {
		check(err[0] != 0 && c.e == NULL && c.n == 0);
		return;
	}
	for (size_t i = 0; i < c.n; i++) {
		const struct cat_entry *e = &c.e[i];

		check(cat_word_valid(e->name) && cat_word_valid(e->tag));
		check(catalog_find(&c, e->name, e->tag) == e);
		check(catalog_find(&c, e->name, "") != NULL);
		check(e->url[0] || e->get[0]);
		check(e->cpus >= 1 && e->memory >= (32u << 20));
		check(e->sig_of == CAT_SIG_NONE || e->keyring[0]);
	}
	catalog_free(&c);
}

static void fuzz_sums(const char *text, size_t len)
{
	const char *nl = memchr(text, '\n', len);
	char file[256];
	struct sums_hit h;
	size_t n;

	if (!nl || (size_t)(nl - text) >= sizeof(file))
		return;
	n = (size_t)(nl - text);
	memcpy(file, text, n);
	file[n] = 0;
	if (sums_find(nl + 1, len - n - 1, file, &h) == 0) {
		check(strlen(h.hex) == (h.algo == SUMS_SHA256 ? 64u : 128u));
		for (const char *p = h.hex; *p; p++)
			check((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
	}
	sums_parse_inline(file, &h);
}

static void fuzz_image(const char *json, size_t len)
{
	static struct image a, b;
	char err[256], *d1, *d2;

	if (image_load(&a, json, len, err, sizeof(err)) < 0)
		return;
	check(cat_word_valid(a.meta.name) && cat_word_valid(a.meta.tag));
	d1 = image_dump(&a);
	check(d1 != NULL);
	check(image_load(&b, d1, strlen(d1), err, sizeof(err)) == 0);
	d2 = image_dump(&b);
	check(d2 != NULL && !strcmp(d1, d2));
	free(d1);
	free(d2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_catalog(text, size - 1);
		break;
	case 1:
		fuzz_sums(text, size - 1);
		break;
	default:
		fuzz_image(text, size - 1);
		break;
	}
	free(text);
	return 0;
}
