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
#include "ui/vnc_gate_int.h"
#include "kvm/seccomp.h"
#include "ui/uilibs.h"

uint64_t gate_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void gate_count(struct gate *g, uint64_t *field)
{
	pthread_mutex_lock(&g->lock);
	(*field)++;
	pthread_mutex_unlock(&g->lock);
}

bool gate_buf_put(struct buf *b, const void *d, size_t n, size_t max)
{
	size_t pend = b->len - b->off;

	if (pend + n > max)
		return false;
	if (!n)
		return true; /* (the buffer may not exist yet: memcpy wants a pointer) */
	/* What was sent moves out once it is most of the buffer (so each byte moves O(1) times);
	 * the buffer grows by doubling. */
	if (b->off && (b->off >= pend || b->len + n > b->cap)) {
		memmove(b->p, b->p + b->off, pend);
		b->len = pend;
		b->off = 0;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 4096;

		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p)
			return false;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return true;
}

size_t gate_pending(const struct buf *b)
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

static struct src *find_source(struct gate *g, const uint8_t key[16])
{
	for (unsigned i = 0; i < GATE_SOURCES; i++)
		if (g->src[i].used && !memcmp(g->src[i].key, key, 16))
			return &g->src[i];
	return NULL;
}

struct src *gate_source(struct gate *g, const uint8_t key[16], uint64_t now)
{
	struct src *lru = find_source(g, key);

	if (lru)
		return lru;
	lru = &g->src[0];
	for (unsigned i = 0; i < GATE_SOURCES; i++)
		if (!g->src[i].used || (lru->used && g->src[i].t < lru->t))
			lru = &g->src[i];
	/* A source that has not failed for a while has its full burst anyway: forgetting the
	 * least recently seen one costs nothing; the global bucket bounds a crowd. */
	memset(lru, 0, sizeof(*lru));
	memcpy(lru->key, key, 16);
	lru->used = true;
	lru->tokens = GATE_FAIL_BURST;
	lru->t = now;
	return lru;
}

/* How long a new connection may stay silent before it is greeted as an RFB client. A browser
 * can connect well before it sends its request (a socket opened ahead, a busy machine), and the
 * greeting then spoils its HTTP (the browser shows an error): an address where that happened
 * lately gets a longer wait, so that the browser's retry works. */
static unsigned sniff_ms(struct gate *g, const uint8_t key[16], uint64_t now)
{
	const struct src *s = find_source(g, key);

	return s && s->browser && now - s->browser < GATE_BROWSER_MEMORY_MS ? GATE_SNIFF_BROWSER_MS
									    : GATE_SNIFF_MS;
}
/* ---- connections ---- */

static void conn_free(struct conn *c)
{
	if (c->tls)
		ui_tls.gnutls_deinit(c->tls);
	if (c->fd >= 0)
		close(c->fd);
	if (c->relay >= 0)
		close(c->relay);
	free(c->out.p);
	free(c->rin.p);
	free(c);
}

void gate_kill(struct conn *c)
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

/* Whether a is a better victim than b: stalled longer (its last handshake step, or its
 * arrival, is older), then less advanced. A viewer in its handshake has just made progress:
 * it is the last to go, after every connection left idle. */
static bool worse(const struct conn *a, const struct conn *b)
{
	return !b || a->progress < b->progress ||
	       (a->progress == b->progress && stage(a) < stage(b));
}

/* Makes room for a new connection from key: the most stalled of that source's makes way if it
 * has its share, else the most stalled of all if the gate is full. */
static void admit(struct gate *g, const uint8_t key[16])
{
	struct conn *worst_src = NULL, *worst = NULL, *victim;
	unsigned all = 0, mine = 0;

	for (unsigned i = 0; i < g->n; i++) {
		struct conn *c = g->c[i];
		bool same = !memcmp(c->src, key, 16);

		if (!preauth(c))
			continue;
		all++;
		mine += same;
		if (worse(c, worst))
			worst = c;
		if (same && worse(c, worst_src))
			worst_src = c;
	}
	if (mine >= g->p.max_per_source)
		victim = worst_src;
	else if (all >= g->p.max_preauth)
		victim = worst;
	else
		return;
	pr_debug("vnc-gate: %s makes way for a new connection", victim->peer);
	gate_kill(victim);
	gate_count(g, &g->st.evicted);
}

static void reap(struct gate *g);

static void accept_one(struct gate *g, int fd, const struct sockaddr_storage *ss, uint64_t now)
{
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (g->n == g->cap)
		reap(g); /* those admit() evicted in this round */
	if (c)
		source_key(ss, c->src, c->peer, sizeof(c->peer));
	if (!c || g->n == g->cap) {
		free(c);
		close(fd);
		gate_count(g, &g->st.refused);
		return;
	}
	c->fd = fd;
	c->relay = -1;
	c->st = C_SNIFF;
	c->born = c->progress = now;
	c->deadline = now + sniff_ms(g, c->src, now);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	admit(g, c->src);
	g->c[g->n++] = c;
	gate_count(g, &g->st.accepted);
}

static void accept_some(struct gate *g, uint64_t now)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss = {0};
		socklen_t len = sizeof(ss);
		int fd =
		    accept4(g->lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);

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

ssize_t gate_recv(struct conn *c, void *b, size_t n)
{
	ssize_t r;

	if (c->tls) {
		r = ui_tls.gnutls_record_recv(c->tls, b, n);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			return -EAGAIN;
		return r < 0 ? -EIO : r;
	}
	r = recv(c->fd, b, n, 0);
	return r < 0 ? -errno : r;
}

ssize_t gate_send(struct conn *c, const void *b, size_t n)
{
	ssize_t r;

	if (c->tls) {
		if (n > IO_CHUNK)
			n = IO_CHUNK;
		if (c->tls_retry)
			n = c->tls_retry;
		r = ui_tls.gnutls_record_send(c->tls, b, n);
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
void gate_flush(struct conn *c)
{
	while (!c->dead && (gate_pending(&c->out) || c->body_off < c->body_len)) {
		bool body = !gate_pending(&c->out);
		const void *p = body ? (const void *)(c->body + c->body_off)
				     : (const void *)(c->out.p + c->out.off);
		size_t n = body ? c->body_len - c->body_off : gate_pending(&c->out);
		ssize_t r = gate_send(c, p, n);

		if (r == -EAGAIN || r == -EINTR)
			return;
		if (r <= 0) {
			gate_kill(c);
			return;
		}
		if (body)
			c->body_off += (size_t)r;
		else
			c->out.off += (size_t)r;
	}
	if (!c->dead && c->st == C_DRAIN)
		gate_kill(c);
}

/* Queues bytes for the client (as one binary frame on a WebSocket). */
void gate_say(struct conn *c, const void *d, size_t n)
{
	uint8_t hdr[10];
	size_t h = 0;

	if (!n)
		return;
	size_t max = c->st == C_RELAY ? BACKLOG_MAX : OUT_MAX;

	if (c->ws)
		h = vncp_ws_header(hdr, VNCP_WS_BINARY, n);
	if (!gate_buf_put(&c->out, hdr, h, max) || !gate_buf_put(&c->out, d, n, max)) {
		/* It reads nothing (while asking for updates, or sending pings). */
		pr_info("vnc: %s does not read what it asked for: dropped", c->peer);
		gate_kill(c);
	}
}

void gate_say_ctl(struct conn *c, uint8_t op, const void *d, size_t n)
{
	uint8_t hdr[10];
	size_t h = vncp_ws_header(hdr, op, n);

	if (!gate_buf_put(&c->out, hdr, h, OUT_MAX) || !gate_buf_put(&c->out, d, n, OUT_MAX))
		gate_kill(c);
}

void gate_drain(struct conn *c, uint64_t now)
{
	c->st = C_DRAIN;
	c->deadline = now + 3 * GATE_HANDSHAKE_MS;
	gate_flush(c);
}

/* ---- the RFB handshake ---- */

static void check_password(struct gate *g, struct conn *c, uint8_t *out, size_t *olen, uint64_t now)
{
	struct src *s = gate_source(g, c->src, now);
	bool ok;

	/* Only failures cost tokens: an owner who types the password right is never slowed. */
	if (!bucket_has(s, now, GATE_FAIL_BURST, GATE_FAIL_EVERY_MS) ||
	    !bucket_has(&g->global, now, GATE_GFAIL_BURST, GATE_GFAIL_EVERY_MS)) {
		pr_debug("vnc-gate: %s: too many failed passwords", c->peer);
		gate_count(g, &g->st.rate_limited);
		vncp_rfb_result(&c->rfb, false, "too many failed passwords: try again later", out,
				olen);
		return;
	}
	ok = vncp_vnc_auth_ok(c->rfb.challenge, c->rfb.response, g->password);
	if (!ok) {
		s->tokens -= 1;
		g->global.tokens -= 1;
		gate_count(g, &g->st.auth_failed);
		pr_warn("vnc: wrong password from %s", c->peer);
	}
	vncp_rfb_result(&c->rfb, ok, "wrong password", out, olen);
}

void gate_start_rfb(struct gate *g, struct conn *c, enum cstate st)
{
	c->ws = st == C_WSRFB;
	uint8_t out[VNCP_RFB_OUT_MAX], challenge[16] = {0};
	size_t olen = 0;

	if (getrandom(challenge, sizeof(challenge), 0) != sizeof(challenge)) {
		gate_kill(c);
		return;
	}
	c->st = st;
	vncp_rfb_start(&c->rfb, g->password != NULL, challenge, out, &olen);
	gate_say(c, out, olen);
}

static unsigned relays(const struct gate *g)
{
	unsigned n = 0;

	for (unsigned i = 0; i < g->n; i++)
		n += !g->c[i]->dead && g->c[i]->st == C_RELAY;
	return n;
}

/* Authenticated: the client (or, for a WebSocket, our relay) goes to libvncserver. */
/* Authenticated: libvncserver gets the display's end of a relay. */
static void hand_over(struct gate *g, struct conn *c)
{
	struct gate_client h = {.fd = -1, .sp = {-1, -1}, .minor = c->rfb.minor};
	int rp[2] = {-1, -1};

	snprintf(h.peer, sizeof(h.peer), "%s", c->peer);
	if (relays(g) >= GATE_MAX_RELAYS ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, h.sp) < 0 ||
	    send(h.sp[1], "RFB ", 4, MSG_NOSIGNAL) != 4 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, rp) < 0)
		goto refuse;
	pthread_mutex_lock(&g->lock);
	if (g->qn == GATE_QUEUE) {
		pthread_mutex_unlock(&g->lock);
		goto refuse;
	}
	h.fd = rp[1];
	c->relay = rp[0];
	c->st = C_RELAY;
	c->deadline = UINT64_MAX;
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
	gate_count(g, &g->st.refused);
	gate_kill(c);
}

size_t gate_rfb_input(struct gate *g, struct conn *c, const uint8_t *in, size_t n, uint64_t now)
{
	uint8_t out[VNCP_RFB_OUT_MAX];
	enum vncp_rfb_state before = c->rfb.state;
	size_t olen = 0, took = vncp_rfb_feed(&c->rfb, in, n, out, &olen);

	/* A step done, not a byte (a client trickling bytes makes no progress). */
	if (c->rfb.state != before)
		c->progress = now;
	if (c->rfb.state == VNCP_RFB_CHECK)
		check_password(g, c, out, &olen, now);
	else if (c->rfb.state == VNCP_RFB_AUTH && olen)
		c->deadline = now + g->p.auth_ms; /* the challenge is out: a human may type */
	gate_say(c, out, olen);
	if (c->rfb.state == VNCP_RFB_FAIL)
		gate_drain(c, now);
	else if (c->rfb.state == VNCP_RFB_DONE && c->audio)
		gate_audio_begin(g, c, now);
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
		gate_kill(c);
		return;
	}
	if (c->rfb.state == VNCP_RFB_VERSION && !c->rfb.have && r >= 4 && !memcmp(in, "GET ", 4)) {
		pr_info(
		    "vnc: %s sent HTTP after the VNC greeting (a browser that waited over %u ms): "
		    "its next connections get %u ms",
		    c->peer, GATE_SNIFF_MS, GATE_SNIFF_BROWSER_MS);
		gate_source(g, c->src, now)->browser = now;
	}
	gate_rfb_input(g, c, in, (size_t)r, now);
}

static void sniff_input(struct gate *g, struct conn *c, uint64_t now)
{
	uint8_t b;
	ssize_t r = recv(c->fd, &b, 1, MSG_PEEK);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		gate_kill(c);
		return;
	}
	c->deadline = c->born + g->p.handshake_ms;
	if (b == 0x16 && g->cred) {
		gate_tls_start(g, c, now);
	} else if (b == 'G') {
		c->st = C_HTTP;
		gate_http_input(g, c, now);
	} else {
		gate_start_rfb(g, c,
			       C_RFB); /* a client that speaks first is not one: it fails there */
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
		gate_tls_input(g, c, now);
		break;
	case C_HTTP:
		gate_http_input(g, c, now);
		break;
	case C_RFB:
		rfb_raw_input(g, c, now);
		break;
	case C_WSRFB:
	case C_AUDIO:
		gate_ws_input(g, c, now);
		break;
	case C_RELAY:
		if (c->ws)
			gate_ws_input(g, c, now);
		else
			gate_raw_input(c);
		break;
	case C_DRAIN:
		break;
	}
}

static void service(struct gate *g, struct conn *c, short rev, bool relay, uint64_t now)
{
	if (relay) {
		if (rev & POLLOUT)
			gate_relay_write(c);
		if (!c->dead && (rev & (POLLIN | POLLHUP | POLLERR)))
			gate_relay_read(c, now);
		return;
	}
	if ((rev & POLLOUT) && c->st == C_TLS)
		gate_tls_input(g, c, now);
	else if (rev & POLLOUT)
		gate_flush(c);
	if (!c->dead && (rev & (POLLIN | POLLHUP | POLLERR)))
		input(g, c, now);
	/* TLS may hold records it has already read from the socket. */
	for (int i = 0; i < 8 && !c->dead && c->tls && c->st != C_TLS && c->st != C_DRAIN &&
			ui_tls.gnutls_record_check_pending(c->tls);
	     i++)
		input(g, c, now);
	if (!c->dead && gate_pending(&c->out))
		gate_flush(c);
}

static void expire(struct gate *g, struct conn *c, uint64_t now)
{
	if (c->dead || c->deadline > now)
		return;
	if (c->st == C_SNIFF) { /* silent: an RFB client waiting for the server's greeting */
		c->deadline = c->born + g->p.handshake_ms;
		gate_start_rfb(g, c, C_RFB);
		gate_flush(c);
		return;
	}
	pr_debug("vnc-gate: %s: too slow, closed", c->peer);
	gate_count(g, &g->st.expired);
	gate_kill(c);
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

		if (c->st != C_DRAIN && !(c->st == C_RELAY && gate_pending(&c->rin) >= RIN_MAX))
			ev |= POLLIN;
		if (gate_pending(&c->out) || c->body_off < c->body_len || c->tls_out)
			ev |= POLLOUT;
		g->pconn[np] = c;
		g->pfd[np++] = (struct pollfd){.fd = c->fd, .events = ev};
		if (c->st == C_RELAY) {
			ev = POLLIN; /* always: libvncserver must never wait on a client */
			if (gate_pending(&c->rin))
				ev |= POLLOUT;
			g->pconn[np] = c;
			g->pfd[np++] = (struct pollfd){.fd = c->relay, .events = ev};
		}
		if (c->st == C_AUDIO && now + GATE_AUDIO_MS < next)
			next = now + GATE_AUDIO_MS;
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
		pre += g->c[i]->st != C_RELAY && g->c[i]->st != C_AUDIO;
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
		uint64_t now = gate_now_ms();
		unsigned np = build_poll(g, now, &timeout);

		if (poll(g->pfd, np, timeout) < 0 && errno != EINTR) {
			pr_err("vnc-gate: poll: %s", strerror(errno));
			return NULL;
		}
		if (g->pfd[0].revents)
			return NULL;
		now = gate_now_ms();
		for (unsigned i = 2; i < np; i++) {
			struct conn *c = g->pconn[i];

			if (g->pfd[i].revents && !c->dead)
				service(g, c, g->pfd[i].revents, g->pfd[i].fd == c->relay, now);
		}
		for (unsigned i = 0; i < g->n; i++) {
			expire(g, g->c[i], now);
			if (g->c[i]->st == C_AUDIO && !g->c[i]->dead)
				gate_audio_pump(g, g->c[i]);
		}
		reap(g);
		if (g->pfd[1].revents & POLLIN)
			accept_some(g, now);
	}
}

int gate_start(struct gate **out, const struct gate_params *p, char *err, size_t errlen)
{
	struct gate *g;
	int rc = ui_libs_load(UI_LIB_VNC | UI_LIB_TLS, err, errlen);

	if (rc < 0)
		return rc;
	g = calloc(1, sizeof(*g));
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
		rc = ui_tls.gnutls_certificate_allocate_credentials(&g->cred);
		if (rc == 0)
			rc = ui_tls.gnutls_certificate_set_x509_key_file(
			    g->cred, p->tls_cert, p->tls_key, GNUTLS_X509_FMT_PEM);
		if (rc < 0) {
			snprintf(err, errlen, "--display tls-cert=%s,tls-key=%s: %s", p->tls_cert,
				 p->tls_key, ui_tls.gnutls_strerror(rc));
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
		ui_tls.gnutls_certificate_free_credentials(g->cred);
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
