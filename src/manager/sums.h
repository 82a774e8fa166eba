/* Publishers' checksum files: GNU coreutils' "HEX  NAME" / "HEX *NAME" (Debian's SHA512SUMS,
 * Ubuntu's SHA256SUMS, Arch's sha256sums.txt, Alpine's .sha256) and the BSD tagged form
 * "SHA256 (NAME) = HEX" (Fedora's CHECKSUM, FreeBSD's CHECKSUM.SHA256-*). Other lines (comments,
 * the armour of a clearsigned file) are skipped. Pure. */
#pragma once
#include <stddef.h>

enum sums_algo { SUMS_SHA256, SUMS_SHA512 };

struct sums_hit {
	enum sums_algo algo;
	char hex[129]; /* lowercase */
};

/* Finds file's checksum in text[0..len). 0, -ENOENT (not listed), or -EINVAL (listed twice with
 * different sums, or only with an algorithm other than SHA-256/SHA-512). */
int sums_find(const char *text, size_t len, const char *file, struct sums_hit *out);
/* "sha256:HEX" / "sha512:HEX" (a catalogue's inline checksum). 0 or -EINVAL. */
int sums_parse_inline(const char *s, struct sums_hit *out);
const char *sums_algo_name(enum sums_algo a);
