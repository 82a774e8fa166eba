/* Images in the state folder: ROOT/images/NAME@TAG/ holds the image file (disk.qcow2, disk.raw
 * or disk.iso: its format as the catalogue recorded it, never probed) and image.json (what
 * `images` lists and `run NAME` sets a VM up from). Downloads in progress are kept in
 * ROOT/images/.partial/ so that a later pull resumes them. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manager/catalog.h"
#include "manager/store.h"

struct image {
	struct cat_entry meta; /* from the catalogue (url: where it came from) */
	uint64_t size;	       /* bytes */
	int64_t created;
	char digest[140];  /* "sha256:HEX" / "sha512:HEX" as verified; "" if none was given */
	char verified[64]; /* "SHA-512", "SHA-256 + signature", "not verified" */
	char dir[VMDEF_PATH - 32], path[VMDEF_PATH];
};

/* JSON text (malloc'd) and back; load refuses bad names, formats and sizes. 0 or -EINVAL. */
char *image_dump(const struct image *im);
int image_load(struct image *im, const char *json, size_t len, char *err, size_t errlen);

/* ROOT/images/NAME@TAG and the image file's path in it (im->dir, im->path from im->meta). */
int image_paths(const struct store *s, struct image *im);
/* Loads NAME:TAG from the state folder. 0, -ENOENT, or -EINVAL + err. */
int image_get(const struct store *s, const char *name, const char *tag, struct image *im, char *err,
	      size_t errlen);
/* Every stored image, newest first (malloc'd). */
int image_list(const struct store *s, struct image **out, size_t *n);
/* The name of a VM whose disks, backing files or CD-ROM use the image, if any. */
bool image_in_use(const struct store *s, const struct image *im, char *vm, size_t len);
