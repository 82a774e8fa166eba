#include "common/http_head.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

bool http_name_is(const char *name, size_t nlen, const char *lower)
{
	return nlen == strlen(lower) && !strncasecmp(name, lower, nlen);
}

static void trim(const char **v, size_t *n)
{
	while (*n && (**v == ' ' || **v == '\t'))
		(*v)++, (*n)--;
	while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

bool http_copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	trim(&v, &n);
	if (n >= cap)
		return false;
	memcpy(dst, v, n);
	dst[n] = 0;
	return true;
}

bool http_has_token(const char *v, size_t n, const char *tok)
{
	for (size_t i = 0; i <= n;) {
		size_t j = i;

		while (j < n && v[j] != ',')
			j++;
		const char *t = v + i;
		size_t tn = j - i;

		trim(&t, &tn);
		if (http_name_is(t, tn, tok))
			return true;
		i = j + 1;
	}
	return false;
}

long long http_value_num(const char *v, size_t n, long long max)
{
	long long x = 0;

	trim(&v, &n);
	if (!n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x > (max - (v[i] - '0')) / 10 ? max : x * 10 + (v[i] - '0');
	}
	return x;
}

bool http_query_get(const char *query, const char *key, char *dst, size_t cap)
{
	size_t kn = strlen(key);

	for (const char *p = query; *p;) {
		size_t n = strcspn(p, "&");

		if (n > kn && !strncmp(p, key, kn) && p[kn] == '=') {
			if (n - kn - 1 >= cap)
				return false;
			memcpy(dst, p + kn + 1, n - kn - 1);
			dst[n - kn - 1] = 0;
			return true;
		}
		p += n + (p[n] == '&');
	}
	return false;
}

/* Copies s[0..n) into dst[cap]; false if it does not fit. */
static bool copy_part(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return false;
	memcpy(dst, s, n);
	dst[n] = 0;
	return true;
}

/* "METHOD /target HTTP/1.x": the method a token of letters, the target from '/'. */
static int request_line(struct http_head *h, const char *l, size_t n)
{
	const char *sp = memchr(l, ' ', n), *sp2, *t;
	size_t m, tn, p, q;

	if (!sp || sp == l)
		return -EINVAL;
	m = (size_t)(sp - l);
	for (size_t i = 0; i < m; i++)
		if (l[i] < 'A' || l[i] > 'Z')
			return -EINVAL;
	if (!copy_part(h->method, sizeof(h->method), l, m))
		return -EINVAL;
	t = sp + 1;
	sp2 = memchr(t, ' ', n - m - 1);
	if (!sp2 || *t != '/' || (size_t)(l + n - sp2) != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
	    sp2[8] < '0' || sp2[8] > '9')
		return -EINVAL;
	h->minor = sp2[8] - '0';
	tn = (size_t)(sp2 - t);
	for (p = 0; p < tn && t[p] != '?' && t[p] != '#'; p++)
		if ((unsigned char)t[p] <= ' ' || t[p] == 0x7f)
			return -EINVAL;
	for (q = p; q < tn && t[q] != '#'; q++)
		if ((unsigned char)t[q] <= ' ' || t[q] == 0x7f)
			return -EINVAL;
	if (!copy_part(h->path, sizeof(h->path), t, p))
		return -EINVAL;
	if (p < q)
		return copy_part(h->query, sizeof(h->query), t + p + 1, q - p - 1) ? 0 : -EINVAL;
	h->query[0] = 0;
	return 0;
}

static int field_line(const char *l, size_t n, http_field_fn field, void *ctx)
{
	const char *colon = memchr(l, ':', n);
	size_t k;

	if (!colon || colon == l)
		return -EINVAL;
	k = (size_t)(colon - l);
	for (size_t i = 0; i < k; i++)
		if (l[i] == ' ' || l[i] == '\t')
			return -EINVAL; /* no space before the colon (RFC 9112, 5.1) */
	return field ? field(ctx, l, k, colon + 1, n - k - 1) : 0;
}

int http_head_parse(const char *buf, size_t n, size_t max, struct http_head *h, http_field_fn field,
		    void *ctx)
{
	size_t end = 0, i = 0;

	if (n > max)
		n = max;
	for (size_t j = 3; j < n && !end; j++)
		if (!memcmp(buf + j - 3, "\r\n\r\n", 4))
			end = j + 1;
	if (!end)
		return n >= max ? -E2BIG : 0;
	memset(h, 0, sizeof(*h));
	for (unsigned line = 0; i < end - 2; line++) {
		const char *l = buf + i;
		const char *cr = memchr(l, '\r', end - i);
		size_t ln = (size_t)(cr - l);
		int rc;

		if (cr[1] != '\n' || memchr(l, 0, ln) || memchr(l, '\n', ln))
			return -EINVAL;
		rc = line == 0 ? request_line(h, l, ln) : field_line(l, ln, field, ctx);
		if (rc < 0)
			return rc;
		i += ln + 2;
	}
	return (int)end;
}
