#include "manager/http.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "manager/util.h"

/* The end of the header block (the blank line), or NULL. */
static const char *headers_end(const char *buf, size_t len, size_t *body_off)
{
	for (size_t i = 0; i + 3 < len; i++) {
		if (!memcmp(buf + i, "\r\n\r\n", 4)) {
			*body_off = i + 4;
			return buf + i;
		}
	}
	return NULL;
}

static bool header_is(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && !strncasecmp(line, name, k) && line[k] == ':';
}

/* Parses the value of a Content-Length header line: digits only, within the limit. */
static int content_length(const char *v, size_t n, size_t *out)
{
	size_t val = 0, i = 0;

	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i == n)
		return -EINVAL;
	for (; i < n && isdigit((unsigned char)v[i]); i++) {
		val = val * 10 + (size_t)(v[i] - '0');
		if (val > HTTP_MAX_RESPONSE)
			return -EFBIG;
	}
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i != n)
		return -EINVAL;
	*out = val;
	return 0;
}

static int parse_status_line(const char *buf, size_t n, int *status)
{
	/* "HTTP/1.x NNN reason" */
	if (n < 12 || memcmp(buf, "HTTP/1.", 7) || !isdigit((unsigned char)buf[7]) ||
	    buf[8] != ' ' || !isdigit((unsigned char)buf[9]) || !isdigit((unsigned char)buf[10]) ||
	    !isdigit((unsigned char)buf[11]) || (n > 12 && buf[12] != ' '))
		return -EINVAL;
	*status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	return *status >= 100 ? 0 : -EINVAL;
}

int http_parse_response(const char *buf, size_t len, bool eof, struct http_response *r, char *err,
			size_t errlen)
{
	size_t body_off, clen = 0;
	bool have_len = false;
	const char *end = headers_end(buf, len, &body_off), *line, *eol;

	memset(r, 0, sizeof(*r));
	if (!end) {
		snprintf(err, errlen, "incomplete HTTP response (no end of headers)");
		return len > HTTP_MAX_RESPONSE ? -EINVAL : -EAGAIN;
	}
	eol = memchr(buf, '\r', (size_t)(end - buf) + 1);
	if (!eol || eol[1] != '\n' || parse_status_line(buf, (size_t)(eol - buf), &r->status) < 0) {
		snprintf(err, errlen, "not an HTTP/1.x response");
		return -EINVAL;
	}
	for (line = eol + 2; line < end; line = eol + 2) {
		size_t n;

		eol = memchr(line, '\r', (size_t)(end - line) + 1);
		n = (size_t)(eol - line);
		if (eol[1] != '\n') {
			snprintf(err, errlen, "malformed header line");
			return -EINVAL;
		}
		if (header_is(line, n, "Content-Length")) {
			size_t v;

			if (have_len || content_length(line + 15, n - 15, &v) < 0) {
				snprintf(err, errlen, "bad or repeated Content-Length");
				return -EINVAL;
			}
			clen = v;
			have_len = true;
		} else if (header_is(line, n, "Transfer-Encoding")) {
			snprintf(err, errlen, "chunked responses are not supported");
			return -EINVAL;
		}
	}
	if (r->status == 204 || r->status == 304) {
		if (have_len && clen) {
			snprintf(err, errlen, "a body on a %d response", r->status);
			return -EINVAL;
		}
		have_len = true;
	}
	if (!have_len && !eof)
		return -EAGAIN;
	if (!have_len)
		clen = len - body_off;
	if (len - body_off < clen)
		return -EAGAIN;
	if (len - body_off > clen) {
		snprintf(err, errlen, "%zu bytes after the response body", len - body_off - clen);
		return -EINVAL;
	}
	r->body = malloc(clen + 1);
	if (!r->body) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(r->body, buf + body_off, clen);
	r->body[clen] = 0;
	r->body_len = clen;
	return 0;
}

void http_response_free(struct http_response *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events until the deadline. 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, long deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	long left = deadline - now_ms();
	int rc;

	if (left <= 0)
		return -ETIMEDOUT;
	rc = poll(&p, 1, (int)left);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	return rc == 0 ? -ETIMEDOUT : 0;
}

static int send_all(int fd, const char *buf, size_t n, long deadline)
{
	while (n) {
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			int rc = wait_fd(fd, POLLOUT, deadline);

			if (rc < 0)
				return rc;
			continue;
		}
		if (w < 0)
			return -errno;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads until the response is complete or EOF. */
static int read_response(int fd, long deadline, struct http_response *r, char *err, size_t errlen)
{
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap);
	int rc = -EAGAIN;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t got;

		if (n == cap) {
			char *nb = cap >= HTTP_MAX_RESPONSE ? NULL : realloc(buf, cap * 2);

			if (!nb) {
				snprintf(err, errlen, "response too large");
				rc = -EFBIG;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		got = recv(fd, buf + n, cap - n, MSG_DONTWAIT);
		if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
			rc = wait_fd(fd, POLLIN, deadline);
			if (rc < 0) {
				snprintf(err, errlen, "no answer within the time limit");
				break;
			}
			rc = -EAGAIN;
			continue;
		}
		if (got < 0) {
			rc = -errno;
			snprintf(err, errlen, "reading the answer: %s", strerror(errno));
			break;
		}
		n += (size_t)got;
		rc = http_parse_response(buf, n, got == 0, r, err, errlen);
		if (rc != -EAGAIN)
			break;
		if (got == 0) {
			snprintf(err, errlen, "connection closed before a complete answer");
			rc = -EPROTO;
			break;
		}
	}
	free(buf);
	return rc;
}

int http_request(const char *sock_path, const char *method, const char *path, const char *body,
		 int timeout_ms, struct http_response *r, char *err, size_t errlen)
{
	long deadline = now_ms() + timeout_ms;
	size_t blen = body ? strlen(body) : 0;
	char head[512];
	int fd, rc, n;

	memset(r, 0, sizeof(*r));
	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		     method, path, blen);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		snprintf(err, errlen, "request line too long");
		return -EINVAL;
	}
	fd = mgr_connect_unix(sock_path, SOCK_NONBLOCK, "connect to", err, errlen);
	if (fd < 0)
		return fd;
	rc = send_all(fd, head, (size_t)n, deadline);
	if (!rc && blen)
		rc = send_all(fd, body, blen, deadline);
	if (rc < 0)
		snprintf(err, errlen, "sending the request: %s", strerror(-rc));
	else
		rc = read_response(fd, deadline, r, err, errlen);
	close(fd);
	return rc;
}

void http_error_text(const struct http_response *r, char *out, size_t len)
{
	json_t *o = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(o, "error"));

	if (msg)
		snprintf(out, len, "%s", msg);
	else
		snprintf(out, len, "HTTP status %d", r->status);
	json_decref(o);
}
