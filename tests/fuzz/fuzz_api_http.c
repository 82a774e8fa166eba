/* libFuzzer: bytes on the API's socket as the API thread frames them (api_http_frame: the
 * request head through common/http_head.c, Content-Length, the body), then routed
 * (api_parse), the query read as vm.screenshot reads it, and the answer's head written.
 * Checked: a framed request lies within the input, its body is where the head ends, every
 * string it fills is terminated within its field, and an incomplete request is never taken for
 * a whole one (every prefix of a framed request frames to 0 or the same head). */
#include <stdint.h>
#include <string.h>

#include "api/api_http.h"
#include "api/api_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct api_http_req rq, part;
	struct api_route rt;
	char head[512], f[8];
	long n;

	if (size > 2 * API_HEAD_MAX + API_MAX_BODY)
		return 0;
	n = api_http_frame(in, size, &rq);
	check(n == 0 || n == -400 || n == -431 || n == -501 || (n > 0 && (size_t)n <= size));
	if (n <= 0)
		return 0;
	check(memchr(rq.head.method, 0, sizeof(rq.head.method)) != NULL);
	check(memchr(rq.head.path, 0, sizeof(rq.head.path)) != NULL);
	check(memchr(rq.head.query, 0, sizeof(rq.head.query)) != NULL);
	check(rq.head.path[0] == '/');
	check(rq.head_len <= (size_t)n && !memcmp(in + rq.head_len - 4, "\r\n\r\n", 4));
	if (rq.body_unread) {
		check(rq.body == NULL && rq.length > API_MAX_BODY && rq.close);
		check((size_t)n == rq.head_len);
	} else {
		check(rq.body == in + rq.head_len && rq.head_len + rq.length == (size_t)n);
	}
	/* A prefix cut inside the request is never whole (cut in the body: needs more). */
	if ((size_t)n > rq.head_len && !rq.body_unread)
		check(api_http_frame(in, (size_t)n - 1, &part) == 0);
	api_parse(rq.head.method, rq.head.path, rq.body, (size_t)rq.length, &rt);
	check(rt.status == 0 || (rt.status >= 400 && rt.status < 600));
	if (http_query_get(rq.head.query, "format", f, sizeof(f)))
		check(strlen(f) < sizeof(f));
	check(api_http_response_head(head, sizeof(head), rt.status ? (unsigned)rt.status : 200,
				     "application/json", rq.length, rt.allow,
				     rq.close) < sizeof(head));
	return 0;
}
