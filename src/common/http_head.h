/* An HTTP/1.x request head (request line and header fields up to the blank line), parsed from a
 * buffer: the one parser behind the API's socket (src/api) and the browser console's port
 * (src/ui/vnc_proto.c). Header fields go to the caller's callback; values are raw (the helpers
 * below trim and test them). Nothing is allocated. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct http_head {
	char method[16];
	char path[256];	 /* the target without ?query and #fragment */
	char query[256]; /* after '?', without '#fragment'; "" if none */
	int minor;	 /* HTTP/1.minor */
};

/* One header field: name[0..nlen), value[0..vlen) (untrimmed). Returns 0, or a negative errno
 * that ends the parse with it. */
typedef int (*http_field_fn)(void *ctx, const char *name, size_t nlen, const char *value,
			     size_t vlen);

/* Parses the head in buf[0..n). Returns its length (through the blank line) once it is all in,
 * 0 while more is needed, -EINVAL for a malformed head (or what the callback returns), -E2BIG
 * when no head ends within max bytes. */
int http_head_parse(const char *buf, size_t n, size_t max, struct http_head *h, http_field_fn field,
		    void *ctx);

/* Whether name[0..nlen) is the field name lower (ASCII case-insensitive). */
bool http_name_is(const char *name, size_t nlen, const char *lower);
/* Copies a value, spaces and tabs around it trimmed, into dst; false if it does not fit. */
bool http_copy_value(char *dst, size_t cap, const char *v, size_t n);
/* Whether the comma-separated list v[0..n) holds token tok (case-insensitive). */
bool http_has_token(const char *v, size_t n, const char *tok);
/* A decimal number in v[0..n) (spaces around it allowed), max if it is larger; -1 if it is not
 * a number. */
long long http_value_num(const char *v, size_t n, long long max);
/* The value of key in a query string ("a=1&format=ppm"), copied into dst; false if absent or
 * too long. No percent-decoding: keys and values here are plain words. */
bool http_query_get(const char *query, const char *key, char *dst, size_t cap);
