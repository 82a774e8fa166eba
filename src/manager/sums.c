#include "manager/sums.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const char *sums_algo_name(enum sums_algo a)
{
	return a == SUMS_SHA512 ? "SHA-512" : "SHA-256";
}

/* n hex digits at p into out (lowercased); the algorithm from the length. */
static int take_hex(const char *p, size_t n, struct sums_hit *out)
{
	if (n != 64 && n != 128)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)p[i]))
			return -EINVAL;
		out->hex[i] = (char)tolower((unsigned char)p[i]);
	}
	out->hex[n] = 0;
	out->algo = n == 64 ? SUMS_SHA256 : SUMS_SHA512;
	return 0;
}

int sums_parse_inline(const char *s, struct sums_hit *out)
{
	struct sums_hit h;

	if (strncmp(s, "sha256:", 7) && strncmp(s, "sha512:", 7))
		return -EINVAL;
	if (take_hex(s + 7, strlen(s + 7), &h) < 0 ||
	    h.algo != (!strncmp(s, "sha256:", 7) ? SUMS_SHA256 : SUMS_SHA512))
		return -EINVAL;
	*out = h;
	return 0;
}

static bool name_is(const char *p, size_t n, const char *file)
{
	if (n >= 2 && p[0] == '.' && p[1] == '/') {
		p += 2;
		n -= 2;
	}
	return n == strlen(file) && !memcmp(p, file, n);
}

/* One line: 1 and *hit if it lists file, 0 if not, -EINVAL if it lists file with an algorithm
 * we do not take. */
static int parse_line(const char *l, size_t n, const char *file, struct sums_hit *hit)
{
	size_t h = 0;

	while (h < n && isxdigit((unsigned char)l[h]))
		h++;
	/* GNU: HEX, one space, then a space (text) or '*' (binary), or just one space. */
	if (h > 0 && h + 1 < n && l[h] == ' ') {
		size_t s = h + 1;

		if (l[s] == ' ' || l[s] == '*')
			s++;
		if (!name_is(l + s, n - s, file))
			return 0;
		return take_hex(l, h, hit) < 0 ? -EINVAL : 1;
	}
	/* BSD: ALGO (NAME) = HEX */
	{
		const char *open = memchr(l, '(', n), *close;
		size_t alen;

		if (!open)
			return 0;
		alen = (size_t)(open - l);
		while (alen && l[alen - 1] == ' ')
			alen--;
		close = NULL;
		for (const char *q = l + n; q > open; q--)
			if (q[-1] == ')') {
				close = q - 1;
				break;
			}
		if (!close || !name_is(open + 1, (size_t)(close - open - 1), file))
			return 0;
		if (close + 4 > l + n || memcmp(close, ") = ", 4))
			return 0;
		if (take_hex(close + 4, (size_t)(l + n - close - 4), hit) < 0)
			return -EINVAL;
		if ((alen == 6 && !memcmp(l, "SHA256", 6) && hit->algo == SUMS_SHA256) ||
		    (alen == 6 && !memcmp(l, "SHA512", 6) && hit->algo == SUMS_SHA512))
			return 1;
		return -EINVAL;
	}
}

int sums_find(const char *text, size_t len, const char *file, struct sums_hit *out)
{
	const char *p = text, *end = text + len;
	bool found = false, refused = false;

	if (!file[0])
		return -ENOENT;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		struct sums_hit hit;
		int rc;

		if (le > p && le[-1] == '\r')
			le--;
		rc = parse_line(p, (size_t)(le - p), file, &hit);
		if (rc < 0) {
			refused = true;
		} else if (rc == 1) {
			if (found && (hit.algo != out->algo || strcmp(hit.hex, out->hex)))
				return -EINVAL;
			*out = hit;
			found = true;
		}
		p = nl ? nl + 1 : end;
	}
	return found ? 0 : refused ? -EINVAL : -ENOENT;
}
