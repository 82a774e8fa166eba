/* HTTP/1.1 framing for the per-VM API: a request (head through common/http_head.c, then a
 * Content-Length body) out of a connection's input, and a response head. Pure (no I/O), so that
 * it is fuzzed alone (tests/fuzz/fuzz_api_http.c); api_server.c does the sockets. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "api/api_parse.h"
#include "common/http_head.h"

#define API_HEAD_MAX 8192 /* a request head longer than this: 431 */

struct api_http_req {
	struct http_head head;
	size_t head_len;	   /* bytes of the head, through the blank line */
	unsigned long long length; /* Content-Length (0 if absent) */
	bool close;		   /* the client wants the connection closed after the answer */
	bool body_unread;	   /* length > API_MAX_BODY: answered without reading the body */
	const char *body;	   /* length bytes after the head, or NULL when body_unread */
};

/* Frames one request at the start of in[0..n). Returns its total length (head + body) when it is
 * all there (or the head's length when body_unread), 0 while more is needed, or a negative HTTP
 * status for a request that cannot be framed (-400 malformed, -431 head too long, -501 a
 * Transfer-Encoding); after an error the connection is answered and closed. */
long api_http_frame(const char *in, size_t n, struct api_http_req *rq);

/* The response head for status with a body of len bytes of type ctype (NULL: none) and an Allow
 * header (NULL: none), into out[cap]. Returns its length (always < cap for cap >= 256). */
size_t api_http_response_head(char *out, size_t cap, unsigned status, const char *ctype, size_t len,
			      const char *allow, bool close);
/* The reason phrase for status ("Not Found"). */
const char *api_http_reason(unsigned status);
