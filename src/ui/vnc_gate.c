#include "ui/vnc_gate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "ui/vnc_proto.h"
#include "ui/web.h"
#include "vmm/seccomp.h"

enum cstate {
	C_SNIFF, /* just accepted: what does it speak? (an RFB client says nothing first) */
	C_TLS,	 /* TLS handshake (the browser console over https/wss) */
	C_HTTP,	 /* reading an HTTP request head */
	C_RFB,	 /* RFB handshake, raw */
	C_WSRFB, /* RFB handshake inside WebSocket frames */
	C_DRAIN, /* sending what is left, then closing */
	C_RELAY, /* authenticated WebSocket client: frames <-> libvncserver */
};

struct buf {
	uint8_t *p;
	size_t len, off;
};

struct conn {
	int fd;
	int relay; /* C_RELAY: the gate's end of the pair to libvncserver */
	enum cstate st;
	bool dead;
	uint64_t last_in, deadline;
	uint8_t src[16];
	char peer[64];
	gnutls_session_t tls;
	size_t tls_retry; /* gnutls_record_send wants the same length again after EAGAIN */
	bool tls_out;	  /* the TLS handshake waits to write */
	struct vncp_rfb rfb;
	struct vncp_ws ws;
	char head[VNCP_HTTP_MAX];
	size_t head_len;
	struct buf out; /* to the client (WebSocket frames, RFB, HTTP) */
	const char *body;
	size_t body_len, body_off;
	struct buf rin; /* from a relayed client, for libvncserver */
};

struct src {
	uint8_t key[16];
	uint64_t t; /* last refill */
	double tokens;
	bool used;
};

#define GATE_SOURCES 256
#define GATE_QUEUE 8
#define OUT_MAX (256u << 10) /* to one client, before the gate stops reading for it */
#define RIN_MAX (64u << 10)
#define IO_CHUNK 16384

struct gate {
	struct gate_params p;
	char *password;
	int lfd, stop_fd;
	pthread_t thread;
	bool started;
	struct conn **c;
	unsigned n, cap;
	uint64_t pause_until; /* accept paused (out of descriptors) */
	struct src src[GATE_SOURCES];
	struct src global;
	gnutls_certificate_credentials_t cred;
	pthread_mutex_t lock; /* q, qn, st */
	struct gate_client q[GATE_QUEUE];
	unsigned qn;
	struct gate_stats st;
	struct pollfd *pfd;
	struct conn **pconn;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void count(struct gate *g, uint64_t *field)
{
	pthread_mutex_lock(&g->lock);
	(*field)++;
	pthread_mutex_unlock(&g->lock);
}

static bool buf_put(struct buf *b, const void *d, size_t n, size_t max)
{
	size_t need = b->len - b->off + n;

	if (need > max)
		return false;
	if (b->off) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	uint8_t *p = realloc(b->p, b->len + n ? b->len + n : 1);
	if (!p)
		return false;
	b->p = p;
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return true;
}

static size_t pending(const struct buf *b)
{
	return b->len - b->off;
}

/* ---- sources and rate limits ---- */

static void source_key(const struct sockaddr_storage *ss, uint8_t key[16], char *peer, size_t n)
{
	memset(key, 0, 16);
	snprintf(peer, n, "local");
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		key[10] = key[11] = 0xff;
		memcpy(key + 12, &a->sin_addr, 4);
		inet_ntop(AF_INET, &a->sin_addr, peer, (socklen_t)n);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;
		bool v4 = IN6_IS_ADDR_V4MAPPED(&a->sin6_addr);

		/* One IPv6 user usually has a whole /64: count it as one source. */
		memcpy(key, &a->sin6_addr, v4 ? 16 : 8);
		inet_ntop(AF_INET6, &a->sin6_addr, peer, (socklen_t)n);
	}
}

/* Token buckets of password failures: burst tokens, one back every every_ms. */
static bool bucket_has(struct src *s, uint64_t now, unsigned burst, unsigned every_ms)
{
	if (!s->used) {
		s->used = true;
		s->tokens = burst;
		s->t = now;
	}
	s->tokens += (double)(now - s->t) / every_ms;
	if (s->tokens > burst)
		s->tokens = burst;
	s->t = now;
	return s->tokens >= 1.0;
}

static struct src *source(struct gate *g, const uint8_t key[16])
{
	struct src *lru = &g->src[0];

	for (unsigned i = 0; i < GATE_SOURCES; i++) {
		if (g->src[i].used && !memcmp(g->src[i].key, key, 16))
			return &g->src[i];
		if (!g->src[i].used || (lru->used && g->src[i].t < lru->t))
			lru = &g->src[i];
	}
	/* A source that has not failed for a while has its full burst anyway: forgetting the
	 * least recently seen one costs nothing; the global bucket bounds a crowd. */
	memset(lru, 0, sizeof(*lru));
	memcpy(lru->key, key, 16);
	return lru;
}

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
	if (c->tls)
		gnutls_deinit(c->tls);
	if (c->fd >= 0)
		close(c->fd);
	if (c->relay >= 0)
		close(c->relay);
	free(c->out.p);
	free(c->rin.p);
	free(c);
}

static void conn_kill(struct conn *c)
{
	c->dead = true;
}

/* How far a connection got: the least advanced (then the longest silent) goes first when a
 * new one needs its place. */
static int stage(const struct conn *c)
{
	if (c->st == C_DRAIN)
		return 1;
	if (c->st != C_RFB && c->st != C_WSRFB)
		return 0;
	return c->rfb.state == VNCP_RFB_AUTH ? 2 : c->rfb.state == VNCP_RFB_SECTYPE ? 1 : 0;
}

static bool preauth(const struct conn *c)
{
	return !c->dead && c->st != C_RELAY;
}

/* Makes room for a new connection from key: evicts one of that source's if it has its
 * share, else one of anybody's if the gate is full. */
static void admit(struct gate *g, const uint8_t key[16])
{
	struct conn *worst_src = NULL, *worst = NULL;
	unsigned all = 0, mine = 0;

	for (unsigned i = 0; i < g->n; i++) {
		struct conn *c = g->c[i];

		if (!preauth(c))
			continue;
		bool better_victim = !worst || stage(c) < stage(worst) ||
				     (stage(c) == stage(worst) && c->last_in < worst->last_in);
		all++;
		if (better_victim)
			worst = c;
		if (!memcmp(c->src, key, 16)) {
			mine++;
			if (!worst_src || stage(c) < stage(worst_src) ||
			    (stage(c) == stage(worst_src) && c->last_in < worst_src->last_in))
				worst_src = c;
		}
	}
	struct conn *victim = mine >= g->p.max_per_source ? worst_src
			      : all >= g->p.max_preauth	  ? worst
							  : NULL;
	if (victim) {
		pr_debug("vnc-gate: %s evicted for a new connection", victim->peer);
		conn_kill(victim);
		count(g, &g->st.evicted);
	}
}

static void reap(struct gate *g);

static void accept_one(struct gate *g, int fd, const struct sockaddr_storage *ss, uint64_t now)
{
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (g->n == g->cap)
		reap(g); /* those admit() evicted in this round */
	if (!c || g->n == g->cap) {
		free(c);
		close(fd);
		count(g, &g->st.refused);
		return;
	}
	c->fd = fd;
	c->relay = -1;
	c->st = C_SNIFF;
	c->last_in = now;
	c->deadline = now + GATE_SNIFF_MS;
	source_key(ss, c->src, c->peer, sizeof(c->peer));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	admit(g, c->src);
	g->c[g->n++] = c;
	count(g, &g->st.accepted);
}

static void accept_some(struct gate *g, uint64_t now)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss = {0};
		socklen_t len = sizeof(ss);
		int fd = accept4(g->lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				pr_warn("vnc-gate: accept: %s: pausing 100 ms", strerror(errno));
				g->pause_until = now + 100;
			}
			return;
		}
		accept_one(g, fd, &ss, now);
	}
}

/* ---- transport: plain or TLS ---- */

static ssize_t c_recv(struct conn *c, void *b, size_t n)
{
	ssize_t r;

	if (c->tls) {
		r = gnutls_record_recv(c->tls, b, n);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			return -EAGAIN;
		return r < 0 ? -EIO : r;
	}
	r = recv(c->fd, b, n, 0);
	return r < 0 ? -errno : r;
}

static ssize_t c_send(struct conn *c, const void *b, size_t n)
{
	ssize_t r;

	if (c->tls) {
		if (n > IO_CHUNK)
			n = IO_CHUNK;
		if (c->tls_retry)
			n = c->tls_retry;
		r = gnutls_record_send(c->tls, b, n);
		c->tls_retry = 0;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			c->tls_retry = n;
			return -EAGAIN;
		}
		return r < 0 ? -EIO : r;
	}
	r = send(c->fd, b, n, MSG_NOSIGNAL);
	return r < 0 ? -errno : r;
}

/* Sends what is queued; a connection in C_DRAIN closes once all is out. */
static void flush(struct conn *c)
{
	while (!c->dead && (pending(&c->out) || c->body_off < c->body_len)) {
		bool body = !pending(&c->out);
		const void *p = body ? (const void *)(c->body + c->body_off)
				     : (const void *)(c->out.p + c->out.off);
		size_t n = body ? c->body_len - c->body_off : pending(&c->out);
		ssize_t r = c_send(c, p, n);

		if (r == -EAGAIN || r == -EINTR)
			return;
		if (r <= 0) {
			conn_kill(c);
			return;
		}
		if (body)
			c->body_off += (size_t)r;
		else
			c->out.off += (size_t)r;
	}
	if (!c->dead && c->st == C_DRAIN)
		conn_kill(c);
}

/* Queues bytes for the client (as one binary frame on a WebSocket). */
static void say(struct conn *c, const void *d, size_t n)
{
	uint8_t hdr[10];
	size_t h = 0;

	if (!n)
		return;
	if (c->st == C_WSRFB || c->st == C_RELAY)
		h = vncp_ws_header(hdr, VNCP_WS_BINARY, n);
	if (!buf_put(&c->out, hdr, h, OUT_MAX) || !buf_put(&c->out, d, n, OUT_MAX))
		conn_kill(c); /* a client that reads nothing while sending pings */
}

static void say_ctl(struct conn *c, uint8_t op, const void *d, size_t n)
{
	uint8_t hdr[10];
	size_t h = vncp_ws_header(hdr, op, n);

	if (!buf_put(&c->out, hdr, h, OUT_MAX) || !buf_put(&c->out, d, n, OUT_MAX))
		conn_kill(c);
}

static void drain(struct conn *c, uint64_t now)
{
	c->st = C_DRAIN;
	c->deadline = now + 3 * GATE_HANDSHAKE_MS;
	flush(c);
}

/* ---- the RFB handshake ---- */

static void check_password(struct gate *g, struct conn *c, uint8_t *out, size_t *olen,
			   uint64_t now)
{
	struct src *s = source(g, c->src);
	bool ok;

	/* Only failures cost tokens: an owner who types the password right is never slowed. */
	if (!bucket_has(s, now, GATE_FAIL_BURST, GATE_FAIL_EVERY_MS) ||
	    !bucket_has(&g->global, now, GATE_GFAIL_BURST, GATE_GFAIL_EVERY_MS)) {
		pr_debug("vnc-gate: %s: too many failed passwords", c->peer);
		count(g, &g->st.rate_limited);
		vncp_rfb_result(&c->rfb, false, "too many failed passwords: try again later", out,
				olen);
		return;
	}
	ok = vncp_vnc_auth_ok(c->rfb.challenge, c->rfb.response, g->password);
	if (!ok) {
		s->tokens -= 1;
		g->global.tokens -= 1;
		count(g, &g->st.auth_failed);
		pr_warn("vnc: wrong password from %s", c->peer);
	}
	vncp_rfb_result(&c->rfb, ok, "wrong password", out, olen);
}

static void start_rfb(struct gate *g, struct conn *c, enum cstate st)
{
	uint8_t out[VNCP_RFB_OUT_MAX], challenge[16] = {0};
	size_t olen = 0;

	if (getrandom(challenge, sizeof(challenge), 0) != sizeof(challenge)) {
		conn_kill(c);
		return;
	}
	c->st = st;
	vncp_rfb_start(&c->rfb, g->password != NULL, challenge, out, &olen);
	say(c, out, olen);
}

static unsigned relays(const struct gate *g)
{
	unsigned n = 0;

	for (unsigned i = 0; i < g->n; i++)
		n += !g->c[i]->dead && g->c[i]->st == C_RELAY;
	return n;
}

/* Authenticated: the client (or, for a WebSocket, our relay) goes to libvncserver. */
static void hand_over(struct gate *g, struct conn *c)
{
	struct gate_client h = {.fd = -1, .sp = {-1, -1}, .minor = c->rfb.minor};
	int rp[2] = {-1, -1};
	bool ws = c->st == C_WSRFB;

	snprintf(h.peer, sizeof(h.peer), "%s", c->peer);
	/* A raw client's last handshake bytes (a few) go out now: the socket leaves the gate. */
	if (!ws)
		flush(c);
	if (c->dead || (!ws && pending(&c->out)) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, h.sp) < 0 ||
	    send(h.sp[1], "RFB ", 4, MSG_NOSIGNAL) != 4 ||
	    (ws && (relays(g) >= GATE_MAX_RELAYS ||
		    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, rp) < 0)))
		goto refuse;
	pthread_mutex_lock(&g->lock);
	if (g->qn == GATE_QUEUE) {
		pthread_mutex_unlock(&g->lock);
		goto refuse;
	}
	if (ws) {
		h.fd = rp[1];
		c->relay = rp[0];
		c->st = C_RELAY;
		c->deadline = UINT64_MAX;
	} else {
		h.fd = c->fd;
		c->fd = -1;
		conn_kill(c);
	}
	g->q[g->qn++] = h;
	g->st.handed_over++;
	pthread_mutex_unlock(&g->lock);
	g->p.ready(g->p.opaque);
	return;
refuse:
	for (int i = 0; i < 2; i++) {
		if (h.sp[i] >= 0)
			close(h.sp[i]);
		if (rp[i] >= 0)
			close(rp[i]);
	}
	pr_warn("vnc: %s authenticated but the server is full", c->peer);
	count(g, &g->st.refused);
	conn_kill(c);
}

/* Feeds the handshake; returns how many bytes it took. */
static size_t rfb_input(struct gate *g, struct conn *c, const uint8_t *in, size_t n,
			uint64_t now)
{
	uint8_t out[VNCP_RFB_OUT_MAX];
	size_t olen = 0, took = vncp_rfb_feed(&c->rfb, in, n, out, &olen);

	if (c->rfb.state == VNCP_RFB_CHECK)
		check_password(g, c, out, &olen, now);
	else if (c->rfb.state == VNCP_RFB_AUTH && olen)
		c->deadline = now + g->p.auth_ms; /* the challenge is out: a human may type */
	say(c, out, olen);
	if (c->rfb.state == VNCP_RFB_FAIL)
		drain(c, now);
	else if (c->rfb.state == VNCP_RFB_DONE)
		hand_over(g, c);
	return took;
}

static void rfb_raw_input(struct gate *g, struct conn *c, uint64_t now)
{
	uint8_t in[16];
	/* Never more than the step needs: what follows (ClientInit) is libvncserver's. */
	ssize_t r = recv(c->fd, in, vncp_rfb_need(&c->rfb), 0);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		conn_kill(c);
		return;
	}
	c->last_in = now;
	rfb_input(g, c, in, (size_t)r, now);
}

/* ---- WebSocket ---- */

static void relay_write(struct conn *c)
{
	while (pending(&c->rin)) {
		ssize_t r = send(c->relay, c->rin.p + c->rin.off, pending(&c->rin), MSG_NOSIGNAL);

		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			conn_kill(c);
			return;
		}
		c->rin.off += (size_t)r;
	}
}

static void ws_data(struct gate *g, struct conn *c, const uint8_t *d, size_t n, uint64_t now)
{
	while (n && c->st == C_WSRFB && !c->dead) {
		size_t took = rfb_input(g, c, d, n, now);

		d += took;
		n -= took;
	}
	if (n && c->st == C_RELAY && !buf_put(&c->rin, d, n, RIN_MAX + IO_CHUNK))
		conn_kill(c);
}

static void ws_frames(struct gate *g, struct conn *c, const uint8_t *in, size_t n, uint64_t now)
{
	static const uint8_t protocol_error[2] = {0x03, 0xea}; /* 1002 */
	uint8_t data[IO_CHUNK];

	while (n && !c->dead && (c->st == C_WSRFB || c->st == C_RELAY)) {
		size_t used = 0, dlen = 0, take = n < sizeof(data) ? n : sizeof(data);
		enum vncp_ws_event ev = vncp_ws_decode(&c->ws, in, take, &used, data, &dlen);

		in += used;
		n -= used;
		ws_data(g, c, data, dlen, now);
		if (c->dead)
			return;
		if (ev == VNCP_WS_PING) {
			say_ctl(c, VNCP_WS_OP_PONG, c->ws.ctl, c->ws.ctl_len);
		} else if (ev == VNCP_WS_CLOSE) {
			say_ctl(c, VNCP_WS_OP_CLOSE, c->ws.ctl, c->ws.ctl_len < 2 ? 0 : 2);
			drain(c, now);
		} else if (ev == VNCP_WS_BAD) {
			pr_debug("vnc-gate: %s: a bad WebSocket frame", c->peer);
			say_ctl(c, VNCP_WS_OP_CLOSE, protocol_error, 2);
			drain(c, now);
		}
	}
	if (c->st == C_RELAY)
		relay_write(c);
}

static void ws_input(struct gate *g, struct conn *c, uint64_t now)
{
	uint8_t in[IO_CHUNK];
	ssize_t r = c_recv(c, in, sizeof(in));

	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r <= 0) {
		conn_kill(c);
		return;
	}
	c->last_in = now;
	ws_frames(g, c, in, (size_t)r, now);
}

/* libvncserver's output to a WebSocket client: one binary frame per read. */
static void relay_read(struct conn *c, uint64_t now)
{
	static const uint8_t going_away[2] = {0x03, 0xe9}; /* 1001 */
	uint8_t d[IO_CHUNK];
	ssize_t r = recv(c->relay, d, sizeof(d), 0);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		say_ctl(c, VNCP_WS_OP_CLOSE, going_away, 2);
		drain(c, now);
		return;
	}
	say(c, d, (size_t)r);
	flush(c);
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

	if (!buf_put(&c->out, hdr, (size_t)n, OUT_MAX)) {
		conn_kill(c);
		return;
	}
	c->body = body;
	c->body_len = len;
	c->body_off = 0;
	drain(c, now);
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
	if (!buf_put(&c->out, resp, (size_t)n, OUT_MAX)) {
		conn_kill(c);
		return;
	}
	start_rfb(g, c, C_WSRFB);
	/* Frames that came with the head. */
	ws_frames(g, c, (const uint8_t *)c->head + head, c->head_len - head, now);
}

static void http_input(struct gate *g, struct conn *c, uint64_t now)
{
	struct vncp_http h;
	const char *type, *data;
	size_t len;
	ssize_t r = c_recv(c, c->head + c->head_len, sizeof(c->head) - c->head_len);
	int rc;

	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r <= 0) {
		conn_kill(c);
		return;
	}
	c->last_in = now;
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

static void tls_input(struct gate *g, struct conn *c, uint64_t now)
{
	int rc = gnutls_handshake(c->tls);

	c->tls_out = false;
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
		c->tls_out = gnutls_record_get_direction(c->tls) == 1;
		return;
	}
	if (rc < 0) {
		pr_debug("vnc-gate: %s: TLS: %s", c->peer, gnutls_strerror(rc));
		conn_kill(c);
		return;
	}
	c->last_in = now;
	c->st = C_HTTP;
	if (gnutls_record_check_pending(c->tls))
		http_input(g, c, now);
}

static void tls_start(struct gate *g, struct conn *c, uint64_t now)
{
	if (gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0) {
		c->tls = NULL;
		conn_kill(c);
		return;
	}
	if (gnutls_set_default_priority(c->tls) < 0 ||
	    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, g->cred) < 0) {
		conn_kill(c);
		return;
	}
	gnutls_transport_set_int(c->tls, c->fd);
	c->st = C_TLS;
	tls_input(g, c, now);
}

static void sniff_input(struct gate *g, struct conn *c, uint64_t now)
{
	uint8_t b;
	ssize_t r = recv(c->fd, &b, 1, MSG_PEEK);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		conn_kill(c);
		return;
	}
	c->deadline = now - GATE_SNIFF_MS + g->p.handshake_ms;
	if (b == 0x16 && g->cred) {
		tls_start(g, c, now);
	} else if (b == 'G') {
		c->st = C_HTTP;
		http_input(g, c, now);
	} else {
		start_rfb(g, c, C_RFB); /* a client that speaks first is not one: it fails there */
		rfb_raw_input(g, c, now);
	}
}

/* ---- the loop ---- */

static void input(struct gate *g, struct conn *c, uint64_t now)
{
	switch (c->st) {
	case C_SNIFF:
		sniff_input(g, c, now);
		break;
	case C_TLS:
		tls_input(g, c, now);
		break;
	case C_HTTP:
		http_input(g, c, now);
		break;
	case C_RFB:
		rfb_raw_input(g, c, now);
		break;
	case C_WSRFB:
	case C_RELAY:
		ws_input(g, c, now);
		break;
	case C_DRAIN:
		break;
	}
}

static void service(struct gate *g, struct conn *c, short rev, bool relay, uint64_t now)
{
	if (relay) {
		if (rev & POLLOUT)
			relay_write(c);
		if (!c->dead && (rev & (POLLIN | POLLHUP | POLLERR)))
			relay_read(c, now);
		return;
	}
	if ((rev & POLLOUT) && c->st == C_TLS)
		tls_input(g, c, now);
	else if (rev & POLLOUT)
		flush(c);
	if (!c->dead && (rev & (POLLIN | POLLHUP | POLLERR)))
		input(g, c, now);
	/* TLS may hold records it has already read from the socket. */
	for (int i = 0; i < 8 && !c->dead && c->tls && c->st != C_TLS && c->st != C_DRAIN &&
			gnutls_record_check_pending(c->tls);
	     i++)
		input(g, c, now);
	if (!c->dead && pending(&c->out))
		flush(c);
}

static void expire(struct gate *g, struct conn *c, uint64_t now)
{
	if (c->dead || c->deadline > now)
		return;
	if (c->st == C_SNIFF) { /* silent: an RFB client waiting for the server's greeting */
		c->deadline = now - GATE_SNIFF_MS + g->p.handshake_ms;
		start_rfb(g, c, C_RFB);
		flush(c);
		return;
	}
	pr_debug("vnc-gate: %s: too slow, closed", c->peer);
	count(g, &g->st.expired);
	conn_kill(c);
}

static unsigned build_poll(struct gate *g, uint64_t now, int *timeout)
{
	unsigned np = 0;
	uint64_t next = UINT64_MAX;

	g->pfd[np++] = (struct pollfd){.fd = g->stop_fd, .events = POLLIN};
	g->pfd[np++] = (struct pollfd){.fd = now < g->pause_until ? -1 : g->lfd, .events = POLLIN};
	if (now < g->pause_until)
		next = g->pause_until;
	for (unsigned i = 0; i < g->n; i++) {
		struct conn *c = g->c[i];
		short ev = 0;

		if (c->st != C_DRAIN && !(c->st == C_RELAY && pending(&c->rin) >= RIN_MAX))
			ev |= POLLIN;
		if (pending(&c->out) || c->body_off < c->body_len || c->tls_out)
			ev |= POLLOUT;
		g->pconn[np] = c;
		g->pfd[np++] = (struct pollfd){.fd = c->fd, .events = ev};
		if (c->st == C_RELAY) {
			ev = pending(&c->out) < OUT_MAX / 2 ? POLLIN : 0;
			if (pending(&c->rin))
				ev |= POLLOUT;
			g->pconn[np] = c;
			g->pfd[np++] = (struct pollfd){.fd = c->relay, .events = ev};
		}
		if (c->deadline < next)
			next = c->deadline;
	}
	*timeout = next == UINT64_MAX ? -1 : next <= now ? 0 : (int)(next - now);
	return np;
}

static void reap(struct gate *g)
{
	unsigned j = 0, pre = 0, rel = 0;

	for (unsigned i = 0; i < g->n; i++) {
		if (g->c[i]->dead) {
			conn_free(g->c[i]);
			continue;
		}
		pre += g->c[i]->st != C_RELAY;
		rel += g->c[i]->st == C_RELAY;
		g->c[j++] = g->c[i];
	}
	g->n = j;
	pthread_mutex_lock(&g->lock);
	g->st.preauth = pre;
	g->st.relays = rel;
	pthread_mutex_unlock(&g->lock);
}

static void *gate_thread(void *arg)
{
	struct gate *g = arg;

	if (seccomp_install(SECCOMP_GATE, g->p.seccomp) < 0) {
		pr_err("vnc: cannot install the gate's seccomp filter; nobody can connect");
		return NULL;
	}
	for (;;) {
		int timeout;
		uint64_t now = now_ms();
		unsigned np = build_poll(g, now, &timeout);

		if (poll(g->pfd, np, timeout) < 0 && errno != EINTR) {
			pr_err("vnc-gate: poll: %s", strerror(errno));
			return NULL;
		}
		if (g->pfd[0].revents)
			return NULL;
		now = now_ms();
		for (unsigned i = 2; i < np; i++) {
			struct conn *c = g->pconn[i];

			if (g->pfd[i].revents && !c->dead)
				service(g, c, g->pfd[i].revents, g->pfd[i].fd == c->relay, now);
		}
		for (unsigned i = 0; i < g->n; i++)
			expire(g, g->c[i], now);
		reap(g);
		if (g->pfd[1].revents & POLLIN)
			accept_some(g, now);
	}
}

int gate_start(struct gate **out, const struct gate_params *p, char *err, size_t errlen)
{
	struct gate *g = calloc(1, sizeof(*g));
	int rc;

	if (!g)
		return -ENOMEM;
	g->p = *p;
	g->p.max_preauth = p->max_preauth ? p->max_preauth : GATE_MAX_PREAUTH;
	g->p.max_per_source = p->max_per_source ? p->max_per_source : GATE_MAX_PER_SOURCE;
	g->p.handshake_ms = p->handshake_ms ? p->handshake_ms : GATE_HANDSHAKE_MS;
	g->p.auth_ms = p->auth_ms ? p->auth_ms : GATE_AUTH_MS;
	g->lfd = p->listen_fd;
	/* accept_some() takes what is waiting and must not block when nothing is. */
	fcntl(g->lfd, F_SETFL, fcntl(g->lfd, F_GETFL) | O_NONBLOCK);
	g->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	/* One more than the caps: the newcomer that evicts someone needs its place first. */
	g->cap = g->p.max_preauth + GATE_MAX_RELAYS + 1;
	g->c = calloc(g->cap, sizeof(*g->c));
	g->pfd = calloc(2 + 2 * g->cap, sizeof(*g->pfd));
	g->pconn = calloc(2 + 2 * g->cap, sizeof(*g->pconn));
	g->password = p->password ? strdup(p->password) : NULL;
	pthread_mutex_init(&g->lock, NULL);
	if (g->stop_fd < 0 || !g->c || !g->pfd || !g->pconn || (p->password && !g->password)) {
		snprintf(err, errlen, "vnc: out of memory");
		gate_stop(g);
		return -ENOMEM;
	}
	if (p->tls_cert) {
		rc = gnutls_certificate_allocate_credentials(&g->cred);
		if (rc == 0)
			rc = gnutls_certificate_set_x509_key_file(g->cred, p->tls_cert, p->tls_key,
								  GNUTLS_X509_FMT_PEM);
		if (rc < 0) {
			snprintf(err, errlen, "--display tls-cert=%s,tls-key=%s: %s", p->tls_cert,
				 p->tls_key, gnutls_strerror(rc));
			gate_stop(g);
			return -EINVAL;
		}
	}
	rc = pthread_create(&g->thread, NULL, gate_thread, g);
	if (rc) {
		snprintf(err, errlen, "vnc: cannot start its gate thread: %s", strerror(rc));
		gate_stop(g);
		return -rc;
	}
	pthread_setname_np(g->thread, "vnc-gate");
	g->started = true;
	*out = g;
	return 0;
}

bool gate_take(struct gate *g, struct gate_client *c)
{
	bool got = false;

	pthread_mutex_lock(&g->lock);
	if (g->qn) {
		*c = g->q[0];
		memmove(g->q, g->q + 1, --g->qn * sizeof(g->q[0]));
		got = true;
	}
	pthread_mutex_unlock(&g->lock);
	return got;
}

void gate_stats(struct gate *g, struct gate_stats *s)
{
	pthread_mutex_lock(&g->lock);
	*s = g->st;
	pthread_mutex_unlock(&g->lock);
}

void gate_stop(struct gate *g)
{
	uint64_t one = 1;
	struct gate_client c;

	if (!g)
		return;
	if (g->started) {
		if (write(g->stop_fd, &one, sizeof(one)) < 0)
			pr_warn("vnc: cannot stop the gate's thread");
		pthread_join(g->thread, NULL);
	}
	for (unsigned i = 0; i < g->n; i++)
		conn_free(g->c[i]);
	while (gate_take(g, &c)) {
		close(c.fd);
		close(c.sp[0]);
		close(c.sp[1]);
	}
	if (g->cred)
		gnutls_certificate_free_credentials(g->cred);
	if (g->stop_fd >= 0)
		close(g->stop_fd);
	if (g->password) {
		explicit_bzero(g->password, strlen(g->password));
		free(g->password);
	}
	pthread_mutex_destroy(&g->lock);
	free(g->c);
	free(g->pfd);
	free(g->pconn);
	free(g);
}
