#include "rfb_client.h"

#include <rfb/rfb.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/bytes.h"

static int raw_read(int fd, void *buf, size_t n, int timeout_ms)
{
	uint8_t *p = buf;

	while (n) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&pf, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		r = read(fd, p, n);
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int raw_write(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t r = write(fd, p, n);

		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* WebSocket (RFC 6455): the client's frames are masked binary frames; the server's payloads
 * are gathered frame by frame. */
static int ws_write(struct rfb_client *c, const void *buf, size_t n)
{
	uint8_t *f = malloc(n + 14), mask[4] = {0x12, 0x34, 0x56, 0x78};
	size_t h = 2;
	int rc;

	if (!f)
		return -ENOMEM;
	f[0] = 0x82;
	if (n < 126) {
		f[1] = (uint8_t)(0x80 | n);
	} else {
		f[1] = 0x80 | 126;
		f[2] = (uint8_t)(n >> 8);
		f[3] = (uint8_t)n;
		h = 4;
	}
	memcpy(f + h, mask, 4);
	for (size_t i = 0; i < n; i++)
		f[h + 4 + i] = ((const uint8_t *)buf)[i] ^ mask[i & 3];
	rc = raw_write(c->fd, f, h + 4 + n);
	free(f);
	return rc;
}

static int ws_read(struct rfb_client *c, void *buf, size_t n, int timeout_ms)
{
	uint8_t *p = buf;

	while (n) {
		uint8_t h[10];
		uint64_t len;
		int rc;

		if (c->ws_left) {
			size_t k = n < c->ws_left ? n : (size_t)c->ws_left;

			rc = raw_read(c->fd, p, k, timeout_ms);
			if (rc)
				return rc;
			p += k;
			n -= k;
			c->ws_left -= k;
			continue;
		}
		rc = raw_read(c->fd, h, 2, timeout_ms);
		if (rc)
			return rc;
		if ((h[0] & 0x0f) == 8)
			return -ECONNRESET;
		len = h[1] & 0x7f;
		if (len == 126 && !(rc = raw_read(c->fd, h + 2, 2, timeout_ms)))
			len = (uint64_t)h[2] << 8 | h[3];
		else if (len == 127 && !(rc = raw_read(c->fd, h + 2, 8, timeout_ms)))
			for (int i = 0, j = 2; i < 8; i++, j++)
				len = (i ? len << 8 : 0) | h[j];
		if (rc)
			return rc;
		c->ws_left = len;
	}
	return 0;
}

static int read_full(struct rfb_client *c, void *buf, size_t n, int timeout_ms)
{
	return c->websocket ? ws_read(c, buf, n, timeout_ms) : raw_read(c->fd, buf, n, timeout_ms);
}

static int write_full(struct rfb_client *c, const void *buf, size_t n)
{
	return c->websocket ? ws_write(c, buf, n) : raw_write(c->fd, buf, n);
}

/* The WebSocket upgrade, as a browser on the same host sends it. */
static int ws_upgrade(struct rfb_client *c, const char *addr)
{
	char req[512], resp[1024];
	size_t got = 0;
	int n = snprintf(req, sizeof(req),
			 "GET /websockify HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\n"
			 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n",
			 addr, addr);

	if (raw_write(c->fd, req, (size_t)n))
		return -EIO;
	/* Byte by byte: the server's first frame may follow the head at once. */
	while (got < sizeof(resp) - 1 && !(got >= 4 && !memcmp(resp + got - 4, "\r\n\r\n", 4)))
		if (raw_read(c->fd, resp + got++, 1, 5000))
			return -EPROTO;
	resp[got] = 0;
	return strstr(resp, " 101 ") && strstr(resp, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") ? 0 : -EPROTO;
}

static int open_socket(const char *addr)
{
	int fd;

	if (!strncmp(addr, "unix:", 5)) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", addr + 5);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			close(fd);
			return -errno;
		}
		return fd < 0 ? -errno : fd;
	} else {
		char host[256];
		const char *colon = strrchr(addr, ':');
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;

		if (!colon || (size_t)(colon - addr) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
		if (getaddrinfo(host, colon + 1, &hints, &ai))
			return -EHOSTUNREACH;
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			int e = -errno;

			close(fd);
			fd = e;
		}
		freeaddrinfo(ai);
		return fd;
	}
}

static int handshake(struct rfb_client *c, char *err, unsigned errlen)
{
	uint8_t b[64], n;
	uint32_t namelen;
	bool none = false, vnc = false;

	if (read_full(c, b, 12, 5000) || memcmp(b, "RFB 003.", 8))
		return snprintf(err, errlen, "no RFB greeting"), -EPROTO;
	if (write_full(c, "RFB 003.008\n", 12) || read_full(c, &n, 1, 5000) || n == 0)
		return snprintf(err, errlen, "no security types"), -EPROTO;
	if (read_full(c, b, n, 5000))
		return -EPROTO;
	for (unsigned i = 0; i < n; i++) {
		none |= b[i] == 1;
		vnc |= b[i] == 2;
	}
	if (!none && !(vnc && c->password))
		return snprintf(err, errlen, "the server wants a password"), -EACCES;
	b[0] = none ? 1 : 2;
	if (write_full(c, b, 1))
		return -EPROTO;
	if (!none) {
		char key[9] = {0};

		strncpy(key, c->password, 8);
		if (read_full(c, b, 16, 5000))
			return snprintf(err, errlen, "no challenge"), -EPROTO;
		rfbEncryptBytes(b, key);
		if (write_full(c, b, 16))
			return -EPROTO;
	}
	if (read_full(c, b, 4, 5000) || get_be32(b))
		return snprintf(err, errlen, "security handshake failed"), -EACCES;
	b[0] = 1; /* shared */
	if (write_full(c, b, 1) || read_full(c, b, 24, 5000))
		return snprintf(err, errlen, "no ServerInit"), -EPROTO;
	c->width = get_be16(b);
	c->height = get_be16(b + 2);
	namelen = get_be32(b + 20);
	while (namelen) {
		unsigned k = namelen > sizeof(b) ? sizeof(b) : namelen;

		if (read_full(c, b, k, 5000))
			return -EPROTO;
		if (!c->name[0])
			snprintf(c->name, sizeof(c->name), "%.*s", (int)k, (const char *)b);
		namelen -= k;
	}
	c->fb = calloc((size_t)c->width * c->height + 1, 4);
	if (!c->fb)
		return -ENOMEM;
	return c->hold_formats ? 0 : rfb_send_formats(c);
}

int rfb_send_formats(struct rfb_client *c)
{
	static const uint8_t fmt[20] = {0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0};
	static const uint8_t enc[12] = {2, 0, 0,    2,	  0,	0,
					0, 0, 0xFF, 0xFF, 0xFF, 0x21}; /* raw, DesktopSize */

	return write_full(c, fmt, sizeof(fmt)) || write_full(c, enc, sizeof(enc)) ? -EIO : 0;
}

int rfb_connect(struct rfb_client *c, const char *addr, char *err, unsigned errlen)
{
	c->hold_formats = false;
	return rfb_connect_held(c, addr, err, errlen);
}

int rfb_connect_held(struct rfb_client *c, const char *addr, char *err, unsigned errlen)
{
	bool hold = c->hold_formats, ws = c->websocket;
	const char *password = c->password;
	int rc;

	memset(c, 0, sizeof(*c));
	c->hold_formats = hold;
	c->websocket = ws;
	c->password = password;
	c->fd = open_socket(addr);
	if (c->fd < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", addr, strerror(-c->fd));
		return c->fd;
	}
	rc = ws && ws_upgrade(c, addr) ? -EPROTO : 0;
	if (rc < 0)
		snprintf(err, errlen, "no WebSocket upgrade");
	else
		rc = handshake(c, err, errlen);
	if (rc < 0)
		rfb_close(c);
	return rc;
}

static int rect(struct rfb_client *c, int timeout_ms)
{
	uint8_t h[12];
	unsigned x, y, w, hh;
	int32_t enc;
	uint32_t *row;

	if (read_full(c, h, 12, timeout_ms))
		return -EPROTO;
	x = get_be16(h), y = get_be16(h + 2), w = get_be16(h + 4), hh = get_be16(h + 6);
	enc = (int32_t)get_be32(h + 8);
	if (enc == -223) { /* DesktopSize */
		free(c->fb);
		c->width = w, c->height = hh;
		c->fb = calloc((size_t)w * hh + 1, 4);
		return c->fb ? 0 : -ENOMEM;
	}
	if (enc != 0)
		return -EPROTO;
	c->pixels += (uint64_t)w * hh;
	row = malloc((size_t)w * 4 + 4);
	if (!row)
		return -ENOMEM;
	for (unsigned j = 0; j < hh; j++) {
		if (read_full(c, row, (size_t)w * 4, timeout_ms)) {
			free(row);
			return -EPROTO;
		}
		if (y + j < c->height)
			for (unsigned i = 0; i < w && x + i < c->width; i++)
				c->fb[(size_t)(y + j) * c->width + x + i] = row[i] & 0xFFFFFF;
	}
	free(row);
	return 0;
}

int rfb_update(struct rfb_client *c, bool incremental, int timeout_ms)
{
	uint8_t req[10] = {3, incremental, 0, 0, 0, 0};
	uint8_t t[4];
	int rects = 0;
	/* Once a message has begun, the rest of it is waited for longer: a stall of the server
	 * mid-message (a loaded machine) must not leave the stream cut in the middle. */
	int rest = timeout_ms > 5000 ? timeout_ms : 5000;

	req[6] = (uint8_t)(c->width >> 8), req[7] = (uint8_t)c->width;
	req[8] = (uint8_t)(c->height >> 8), req[9] = (uint8_t)c->height;
	if (write_full(c, req, sizeof(req)))
		return -EIO;
	for (;;) {
		if (read_full(c, t, 1, timeout_ms))
			return rects ? rects : -ETIMEDOUT;
		if (t[0] == 0) {
			unsigned n;

			if (read_full(c, t + 1, 3, rest))
				return -EPROTO;
			n = get_be16(t + 2);
			for (unsigned i = 0; i < n; i++)
				if (rect(c, rest) < 0)
					return -EPROTO;
			return (int)n;
		} else if (t[0] == 2) { /* bell */
			continue;
		} else if (t[0] == 3) { /* cut text */
			uint8_t h[7];
			char skip[256];
			uint32_t len;

			if (read_full(c, h, 7, rest))
				return -EPROTO;
			for (len = get_be32(h + 3); len;) {
				unsigned k = len > sizeof(skip) ? sizeof(skip) : len;

				if (read_full(c, skip, k, rest))
					return -EPROTO;
				len -= k;
			}
		} else {
			return -EPROTO;
		}
	}
}

int rfb_key(struct rfb_client *c, uint32_t keysym, bool down)
{
	uint8_t m[8] = {4,
			down,
			0,
			0,
			(uint8_t)(keysym >> 24),
			(uint8_t)(keysym >> 16),
			(uint8_t)(keysym >> 8),
			(uint8_t)keysym};

	return write_full(c, m, sizeof(m));
}

int rfb_pointer(struct rfb_client *c, unsigned x, unsigned y, uint8_t buttons)
{
	uint8_t m[6] = {5, buttons, (uint8_t)(x >> 8), (uint8_t)x, (uint8_t)(y >> 8), (uint8_t)y};

	return write_full(c, m, sizeof(m));
}

void rfb_close(struct rfb_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->fb);
	c->fb = NULL;
}
