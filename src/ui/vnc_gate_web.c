/* The gate's browser side: HTTP (the console's page and noVNC's files), TLS, the WebSocket
 * upgrade, frames, and the relay of an authenticated WebSocket client to libvncserver. */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "ui/vnc_gate_int.h"
#include "ui/web.h"
#include "ui/uilibs.h"

/* ---- WebSocket ---- */

void gate_relay_write(struct conn *c)
{
	while (gate_pending(&c->rin)) {
		ssize_t r =
		    send(c->relay, c->rin.p + c->rin.off, gate_pending(&c->rin), MSG_NOSIGNAL);

		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			gate_kill(c);
			return;
		}
		c->rin.off += (size_t)r;
	}
}

static void ws_data(struct gate *g, struct conn *c, const uint8_t *d, size_t n, uint64_t now)
{
	while (n && c->st == C_WSRFB && !c->dead) {
		size_t took = gate_rfb_input(g, c, d, n, now);

		d += took;
		n -= took;
	}
	if (n && c->st == C_RELAY && !gate_buf_put(&c->rin, d, n, RIN_MAX + IO_CHUNK))
		gate_kill(c);
}

void gate_ws_frames(struct gate *g, struct conn *c, const uint8_t *in, size_t n, uint64_t now)
{
	static const uint8_t protocol_error[2] = {0x03, 0xea}; /* 1002 */
	uint8_t data[IO_CHUNK];

	while (n && !c->dead && (c->st == C_WSRFB || c->st == C_RELAY || c->st == C_AUDIO)) {
		size_t used = 0, dlen = 0, take = n < sizeof(data) ? n : sizeof(data);
		enum vncp_ws_event ev = vncp_ws_decode(&c->wsd, in, take, &used, data, &dlen);

		in += used;
		n -= used;
		ws_data(g, c, data, dlen, now);
		if (c->dead)
			return;
		if (ev == VNCP_WS_PING) {
			gate_say_ctl(c, VNCP_WS_OP_PONG, c->wsd.ctl, c->wsd.ctl_len);
		} else if (ev == VNCP_WS_CLOSE) {
			gate_say_ctl(c, VNCP_WS_OP_CLOSE, c->wsd.ctl, c->wsd.ctl_len < 2 ? 0 : 2);
			gate_drain(c, now);
		} else if (ev == VNCP_WS_BAD) {
			pr_debug("vnc-gate: %s: a bad WebSocket frame", c->peer);
			gate_say_ctl(c, VNCP_WS_OP_CLOSE, protocol_error, 2);
			gate_drain(c, now);
		}
	}
	if (c->st == C_RELAY)
		gate_relay_write(c);
}

void gate_ws_input(struct gate *g, struct conn *c, uint64_t now)
{
	uint8_t in[IO_CHUNK];
	ssize_t r = gate_recv(c, in, sizeof(in));

	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r <= 0) {
		gate_kill(c);
		return;
	}
	gate_ws_frames(g, c, in, (size_t)r, now);
}

/* An authenticated raw client's bytes, for libvncserver. */
void gate_raw_input(struct conn *c)
{
	uint8_t in[IO_CHUNK];
	ssize_t r = gate_recv(c, in, sizeof(in));

	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r <= 0 || !gate_buf_put(&c->rin, in, (size_t)r, RIN_MAX + IO_CHUNK)) {
		gate_kill(c);
		return;
	}
	gate_relay_write(c);
}

/* libvncserver's output to a client (one binary frame per read on a WebSocket). */
void gate_relay_read(struct conn *c, uint64_t now)
{
	static const uint8_t going_away[2] = {0x03, 0xe9}; /* 1001 */
	static uint8_t d[4 * IO_CHUNK];			   /* the gate's thread alone uses it */
	ssize_t r = recv(c->relay, d, sizeof(d), 0);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		if (c->ws)
			gate_say_ctl(c, VNCP_WS_OP_CLOSE, going_away, 2);
		gate_drain(c, now);
		return;
	}
	gate_say(c, d, (size_t)r);
	gate_flush(c);
}

/* ---- HTTP: the page, noVNC's files, the WebSocket upgrade ---- */

static void reply(struct conn *c, int status, const char *type, const char *body, size_t len,
		  uint64_t now)
{
	char hdr[256];
	const char *text = status == 200   ? "OK"
			   : status == 403 ? "Forbidden"
			   : status == 404 ? "Not Found"
			   : status == 431 ? "Request Header Fields Too Large"
					   : "Bad Request";
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
			 status, text, type, len);

	if (!gate_buf_put(&c->out, hdr, (size_t)n, OUT_MAX)) {
		gate_kill(c);
		return;
	}
	c->body = body;
	c->body_len = len;
	c->body_off = 0;
	gate_drain(c, now);
}

static void error_reply(struct conn *c, int status, const char *why, uint64_t now)
{
	reply(c, status, "text/plain", why, strlen(why), now);
}

static void upgrade(struct gate *g, struct conn *c, const struct vncp_http *h, size_t head,
		    uint64_t now)
{
	char accept[29], resp[256];
	int n;

	if (h->ws_version != 13 || vncp_ws_accept(h->key, accept) < 0) {
		error_reply(c, 400, "a WebSocket needs version 13 and a key\n", now);
		return;
	}
	if (!strcmp(h->path, "/audio") && !g->p.sound) {
		error_reply(c, 404, "this console has no sound (--sound)\n", now);
		return;
	}
	c->audio = !strcmp(h->path, "/audio");
	if (!vncp_origin_ok(h)) {
		pr_warn("vnc: refused a WebSocket from a page of %s (the console is at %s)",
			h->origin, h->host);
		error_reply(c, 403, "another site's page may not open this console\n", now);
		return;
	}
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
		     accept, h->binary ? "Sec-WebSocket-Protocol: binary\r\n" : "");
	if (!gate_buf_put(&c->out, resp, (size_t)n, OUT_MAX)) {
		gate_kill(c);
		return;
	}
	gate_start_rfb(g, c, C_WSRFB);
	/* Frames that came with the head. */
	gate_ws_frames(g, c, (const uint8_t *)c->head + head, c->head_len - head, now);
}

void gate_http_input(struct gate *g, struct conn *c, uint64_t now)
{
	struct vncp_http h;
	const char *type, *data;
	size_t len;
	ssize_t r = gate_recv(c, c->head + c->head_len, sizeof(c->head) - c->head_len);
	int rc;

	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r <= 0) {
		gate_kill(c);
		return;
	}
	c->head_len += (size_t)r;
	rc = vncp_http_parse(c->head, c->head_len, &h);
	if (rc == 0)
		return;
	if (rc < 0) {
		error_reply(c, rc == -E2BIG ? 431 : 400, "bad request\n", now);
		return;
	}
	/* With TLS, the browser console is TLS only: its password and screen never go in clear. */
	if (g->cred && !c->tls) {
		error_reply(c, 403, "this console is served over https only\n", now);
		return;
	}
	if (h.websocket)
		upgrade(g, c, &h, (size_t)rc, now);
	else if (g->p.web && web_find(g->p.web, h.path, &type, &data, &len) == 0)
		reply(c, 200, type, data, len, now);
	else
		error_reply(c, 404, "not found\n", now);
}

/* ---- TLS and the first bytes ---- */

void gate_tls_input(struct gate *g, struct conn *c, uint64_t now)
{
	int rc = ui_tls.gnutls_handshake(c->tls);

	c->tls_out = false;
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
		c->tls_out = ui_tls.gnutls_record_get_direction(c->tls) == 1;
		return;
	}
	if (rc < 0) {
		pr_debug("vnc-gate: %s: TLS: %s", c->peer, ui_tls.gnutls_strerror(rc));
		gate_kill(c);
		return;
	}
	c->progress = now;
	c->st = C_HTTP;
	if (ui_tls.gnutls_record_check_pending(c->tls))
		gate_http_input(g, c, now);
}

void gate_tls_start(struct gate *g, struct conn *c, uint64_t now)
{
	if (ui_tls.gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0) {
		c->tls = NULL;
		gate_kill(c);
		return;
	}
	if (ui_tls.gnutls_set_default_priority(c->tls) < 0 ||
	    ui_tls.gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, g->cred) < 0) {
		gate_kill(c);
		return;
	}
	ui_tls.gnutls_transport_set_int2(c->tls, c->fd, c->fd);
	c->st = C_TLS;
	gate_tls_input(g, c, now);
}
