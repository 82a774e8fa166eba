#include "api/api_http.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

struct fields {
	bool has_length, bad_length, chunked, close, keep_alive;
	unsigned long long length;
};

static int field(void *ctx, const char *k, size_t kn, const char *v, size_t vn)
{
	struct fields *f = ctx;

	if (http_name_is(k, kn, "content-length")) {
		long long x = http_value_num(v, vn, LLONG_MAX);

		/* Two different lengths, or one that is not a number: not framed (RFC 9112, 6.3).
		 */
		if (x < 0 || (f->has_length && f->length != (unsigned long long)x))
			f->bad_length = true;
		f->has_length = true;
		f->length = x < 0 ? 0 : (unsigned long long)x;
	} else if (http_name_is(k, kn, "transfer-encoding")) {
		f->chunked = true;
	} else if (http_name_is(k, kn, "connection")) {
		f->close |= http_has_token(v, vn, "close");
		f->keep_alive |= http_has_token(v, vn, "keep-alive");
	}
	return 0;
}

long api_http_frame(const char *in, size_t n, struct api_http_req *rq)
{
	struct fields f = {0};
	int rc;

	memset(rq, 0, sizeof(*rq));
	rc = http_head_parse(in, n, API_HEAD_MAX, &rq->head, field, &f);
	if (rc == -E2BIG)
		return -431;
	if (rc < 0)
		return -400;
	if (rc == 0)
		return 0;
	if (f.bad_length)
		return -400;
	if (f.chunked)
		return -501;
	rq->head_len = (size_t)rc;
	rq->length = f.length;
	/* HTTP/1.0 closes unless asked to keep alive; 1.1 keeps alive unless asked to close. */
	rq->close = f.close || (rq->head.minor == 0 && !f.keep_alive);
	if (f.length > API_MAX_BODY) {
		rq->body_unread = true;
		rq->close = true; /* the body that follows is not read: the connection ends */
		return rc;
	}
	if (n - (size_t)rc < f.length)
		return 0;
	rq->body = in + rc;
	return (long)(rc + (long)f.length);
}

const char *api_http_reason(unsigned status)
{
	switch (status) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Error";
	}
}

size_t api_http_response_head(char *out, size_t cap, unsigned status, const char *ctype, size_t len,
			      const char *allow, bool close)
{
	char length[48] = "";
	int n;

	/* 204 carries no body and no Content-Length (RFC 9110, 8.6). */
	if (status != 204)
		snprintf(length, sizeof(length), "Content-Length: %zu\r\n", len);
	n = snprintf(out, cap, "HTTP/1.1 %u %s\r\n%s%s%s%s%s%s%s%s\r\n", status,
		     api_http_reason(status), ctype ? "Content-Type: " : "", ctype ? ctype : "",
		     ctype ? "\r\n" : "", allow ? "Allow: " : "", allow ? allow : "",
		     allow ? "\r\n" : "", length, close ? "Connection: close\r\n" : "");
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}
