/* A small HTTP/1.1 client for the VMM's API socket (docs/api.md): one request per connection
 * (Connection: close), a response read to its Content-Length or to EOF. The manager only talks
 * to its own VMMs on local Unix sockets, so a full HTTP library (libcurl, with TLS and its
 * dozens of libraries) would bring much and add nothing here. The response parser is pure,
 * unit-tested and fuzzed (tests/fuzz/fuzz_mgr_http.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_RESPONSE (16u << 20) /* a screenshot fits; anything bigger is refused */

struct http_response {
	int status;
	char *body; /* malloc'd, NUL-terminated (the body may hold NULs: use body_len) */
	size_t body_len;
};

/* Parses a complete response (status line, headers, body) in buf[0..len); eof: the peer
 * has closed the connection. With a Content-Length the body must be all there; without one
 * (and not 204/304), the body ends at EOF. Chunked transfer coding is refused. 0, -EAGAIN
 * (more is coming) or -EINVAL + err. */
int http_parse_response(const char *buf, size_t len, bool eof, struct http_response *r, char *err,
			size_t errlen);
void http_response_free(struct http_response *r);

/* METHOD path on the Unix socket sock_path, with an optional JSON body, within timeout_ms.
 * 0 (any HTTP status) or a negative errno + err (no connection, timeout, garbage). */
int http_request(const char *sock_path, const char *method, const char *path, const char *body,
		 int timeout_ms, struct http_response *r, char *err, size_t errlen);

/* The "error" member of a JSON error body, or a short description of the status. */
void http_error_text(const struct http_response *r, char *out, size_t len);
