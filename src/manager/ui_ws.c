/* The console's WebSocket pass-through (ui_ws.h). */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "manager/cmds.h"
#include "manager/ui_req.h"
#include "manager/ui_ws.h"
#include "manager/util.h"

/* The VM's display: where its VNC listens, if it runs and has one. */
static int vm_target(const char *vm, struct ui_vnc_target *t, char *err, size_t errlen)
{
	struct vm_entry *e = malloc(sizeof(*e));
	struct store s;
	int rc;

	if (!e)
		return -ENOMEM;
	rc = store_open(&s, err, errlen);
	if (rc == 0) {
		rc = store_resolve(&s, vm, e, err, errlen);
		if (rc == 0) {
			store_refresh(&s, e);
			if (!mgr_running(e)) {
				snprintf(err, errlen, "%s is not running", vm);
				rc = -ENOTCONN;
			} else if ((rc = ui_vnc_target(e->def.display, t)) == -ENOENT) {
				snprintf(err, errlen, "%s has no VNC display (--display %s)", vm,
					 e->def.display[0] ? e->def.display : "none");
			} else if (rc < 0) {
				snprintf(err, errlen, "%s: cannot read --display %s", vm,
					 e->def.display);
			}
		}
		store_close(&s);
	}
	free(e);
	return rc;
}

static int connect_tcp(const struct ui_vnc_target *t, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *a;
	char port[8];
	int fd = -1, rc;

	snprintf(port, sizeof(port), "%u", t->port);
	rc = getaddrinfo(t->host, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "cannot resolve the VNC host %s: %s", t->host,
			 gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	for (a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot connect to the VM's VNC at %s:%u: %s", t->host,
			 t->port, strerror(errno));
		return rc;
	}
	return fd;
}

static bool write_all(int fd, const char *d, size_t n)
{
	while (n) {
		ssize_t w = send(fd, d, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		d += w;
		n -= (size_t)w;
	}
	return true;
}

/* Copies header name's value from the response head (lines ending in \r\n) into out. */
static void head_value(const char *head, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);

	out[0] = 0;
	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l, "\r\n")) {
		l += 2;
		if (!strncasecmp(l, name, nl) && l[nl] == ':') {
			const char *v = l + nl + 1, *end = strstr(v, "\r\n");
			size_t n;

			while (*v == ' ')
				v++;
			n = end ? (size_t)(end - v) : strlen(v);
			if (n < len) {
				memcpy(out, v, n);
				out[n] = 0;
			}
			return;
		}
	}
}

/* Reads the VMM's answer to the handshake: 101, its accept key; keeps what follows. */
static int read_answer(struct ui_ws *w, char *err, size_t errlen)
{
	char head[4096 + 1];
	size_t got = 0;
	char *end = NULL;

	while (!end && got < sizeof(head) - 1) {
		ssize_t r = recv(w->fd, head + got, sizeof(head) - 1 - got, 0);

		if (r <= 0) {
			snprintf(err, errlen,
				 "the VM's VNC closed the connection during the WebSocket "
				 "handshake");
			return -ECONNRESET;
		}
		got += (size_t)r;
		head[got] = 0;
		end = strstr(head, "\r\n\r\n");
	}
	if (!end || strncmp(head, "HTTP/1.1 101", 12)) {
		head[strcspn(head, "\r\n")] = 0;
		snprintf(err, errlen, "the VM's VNC refused the WebSocket: %.200s", head);
		return -EPROTO;
	}
	end += 4;
	w->extra_len = got - (size_t)(end - head);
	memcpy(w->extra, end, w->extra_len);
	end[-2] = 0;
	head_value(head, "Sec-WebSocket-Accept", w->accept, sizeof(w->accept));
	head_value(head, "Sec-WebSocket-Protocol", w->proto, sizeof(w->proto));
	if (!w->accept[0]) {
		snprintf(err, errlen, "the VM's VNC answered the WebSocket without an accept key");
		return -EPROTO;
	}
	return 0;
}

int ui_ws_open(const char *vm, const char *path, const char *key, const char *protocols,
	       struct ui_ws *w, char *err, size_t errlen)
{
	struct ui_vnc_target t;
	struct timeval tv = {.tv_sec = 10};
	char req[1024];
	int rc, n;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	rc = vm_target(vm, &t, err, errlen);
	if (rc < 0)
		return rc;
	w->fd = t.path[0] ? mgr_connect_unix(t.path, 0, "connect to the VM's VNC at", err, errlen)
			  : connect_tcp(&t, err, errlen);
	if (w->fd < 0)
		return w->fd;
	setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
		     "%s%s%s\r\n",
		     path, key, protocols ? "Sec-WebSocket-Protocol: " : "",
		     protocols ? protocols : "", protocols ? "\r\n" : "");
	if (n >= (int)sizeof(req) || !write_all(w->fd, req, (size_t)n)) {
		snprintf(err, errlen, "cannot send the WebSocket handshake to the VM's VNC");
		rc = -EIO;
	} else {
		rc = read_answer(w, err, errlen);
	}
	if (rc < 0) {
		close(w->fd);
		w->fd = -1;
		return rc;
	}
	tv.tv_sec = 0;
	setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

void ui_ws_relay(int client, struct ui_ws *w, const char *extra_in, size_t n)
{
	char buf[65536];
	bool ok = write_all(client, w->extra, w->extra_len) && write_all(w->fd, extra_in, n);

	while (ok) {
		struct pollfd p[2] = {{client, POLLIN, 0}, {w->fd, POLLIN, 0}};

		if (poll(p, 2, -1) < 0) {
			ok = errno == EINTR;
			continue;
		}
		for (int i = 0; i < 2 && ok; i++) {
			ssize_t r;

			if (!p[i].revents)
				continue;
			r = recv(p[i].fd, buf, sizeof(buf), 0);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			ok = r > 0 && write_all(p[1 - i].fd, buf, (size_t)r);
		}
	}
	close(w->fd);
	w->fd = -1;
}
