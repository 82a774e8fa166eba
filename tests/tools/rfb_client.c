#include "rfb_client.h"

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

static int read_full(int fd, void *buf, size_t n, int timeout_ms)
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

static int write_full(int fd, const void *buf, size_t n)
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
	bool none = false;

	if (read_full(c->fd, b, 12, 5000) || memcmp(b, "RFB 003.", 8))
		return snprintf(err, errlen, "no RFB greeting"), -EPROTO;
	if (write_full(c->fd, "RFB 003.008\n", 12) || read_full(c->fd, &n, 1, 5000) || n == 0)
		return snprintf(err, errlen, "no security types"), -EPROTO;
	if (read_full(c->fd, b, n, 5000))
		return -EPROTO;
	for (unsigned i = 0; i < n; i++)
		none |= b[i] == 1;
	if (!none)
		return snprintf(err, errlen, "the server wants a password"), -EACCES;
	b[0] = 1;
	if (write_full(c->fd, b, 1) || read_full(c->fd, b, 4, 5000) || get_be32(b))
		return snprintf(err, errlen, "security handshake failed"), -EACCES;
	b[0] = 1; /* shared */
	if (write_full(c->fd, b, 1) || read_full(c->fd, b, 24, 5000))
		return snprintf(err, errlen, "no ServerInit"), -EPROTO;
	c->width = get_be16(b);
	c->height = get_be16(b + 2);
	namelen = get_be32(b + 20);
	while (namelen) {
		unsigned k = namelen > sizeof(b) ? sizeof(b) : namelen;

		if (read_full(c->fd, b, k, 5000))
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

	return write_full(c->fd, fmt, sizeof(fmt)) || write_full(c->fd, enc, sizeof(enc)) ? -EIO
											  : 0;
}

int rfb_connect(struct rfb_client *c, const char *addr, char *err, unsigned errlen)
{
	memset(c, 0, sizeof(*c));
	return rfb_connect_held(c, addr, err, errlen);
}

int rfb_connect_held(struct rfb_client *c, const char *addr, char *err, unsigned errlen)
{
	bool hold = c->hold_formats;
	int rc;

	memset(c, 0, sizeof(*c));
	c->hold_formats = hold;
	c->fd = open_socket(addr);
	if (c->fd < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", addr, strerror(-c->fd));
		return c->fd;
	}
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

	if (read_full(c->fd, h, 12, timeout_ms))
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
		if (read_full(c->fd, row, (size_t)w * 4, timeout_ms)) {
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
	if (write_full(c->fd, req, sizeof(req)))
		return -EIO;
	for (;;) {
		if (read_full(c->fd, t, 1, timeout_ms))
			return rects ? rects : -ETIMEDOUT;
		if (t[0] == 0) {
			unsigned n;

			if (read_full(c->fd, t + 1, 3, rest))
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

			if (read_full(c->fd, h, 7, rest))
				return -EPROTO;
			for (len = get_be32(h + 3); len;) {
				unsigned k = len > sizeof(skip) ? sizeof(skip) : len;

				if (read_full(c->fd, skip, k, rest))
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

	return write_full(c->fd, m, sizeof(m));
}

int rfb_pointer(struct rfb_client *c, unsigned x, unsigned y, uint8_t buttons)
{
	uint8_t m[6] = {5, buttons, (uint8_t)(x >> 8), (uint8_t)x, (uint8_t)(y >> 8), (uint8_t)y};

	return write_full(c->fd, m, sizeof(m));
}

void rfb_close(struct rfb_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->fb);
	c->fb = NULL;
}
