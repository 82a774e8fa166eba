#include "ui/vnc.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <rfb/rfb.h>
#include <rfb/rfbregion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/unix_sock.h"
#include "ui/display.h"
#include "ui/vnc_gate.h"
#include "ui/web.h"
#include "ui/uilibs.h"

struct vnc {
	rfbScreenInfoPtr screen;
	struct display *d;
	int listen_fd;
	char unix_path[108];
	char *passwords[2];
	struct web *web;	 /* the browser console (web=), or NULL */
	struct audio_tap *sound; /* the guest's sound for the console's pages, or NULL */
	struct gate *gate;	 /* accepts and authenticates clients (vnc_gate.c) */
	unsigned nclients;
	uintptr_t size_gen; /* counts the frame's size changes */
};

/*
 * libvncserver tells a client of a new frame size only if the client had already asked for
 * DesktopSize when the size changed. A client whose ServerInit carried the old size but whose
 * SetEncodings arrived after the change (a viewer connecting while the guest sets its mode) would
 * keep the old size for good. So each client carries (in clientData) the size generation it was
 * last told about, and vnc_poll tells the ones that are behind.
 */
static void catch_up_sizes(struct vnc *v)
{
	rfbClientIteratorPtr it = ui_vnc.rfbGetClientIterator(v->screen);
	rfbClientPtr cl;

	while ((cl = ui_vnc.rfbClientIteratorNext(it)) != NULL) {
		/* Before RFB_NORMAL its ServerInit has not gone out: it will carry the size as it
		 * is now. (Telling it once more would answer its first request with a DesktopSize
		 * alone and then send the picture unasked: a test client that reads one message per
		 * request was seen to fall behind and stall the server's writes.) */
		if (cl->state != RFB_NORMAL)
			cl->clientData = (void *)v->size_gen;
		if (cl->state != RFB_NORMAL || !cl->useNewFBSize ||
		    (uintptr_t)cl->clientData == v->size_gen)
			continue;
		cl->newFBSizePending = TRUE;
		cl->clientData = (void *)v->size_gen;
	}
	ui_vnc.rfbReleaseClientIterator(it);
}

__attribute__((format(printf, 1, 2))) static void vnc_log(const char *fmt, ...)
{
	char line[256];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = 0;
	/* A client comes to libvncserver on a socket pair first (install() says why): what it
	 * finds odd about that socket is no news. */
	if (!strncmp(line, "rfbNewClient: error in getnameinfo", 34) ||
	    !strncmp(line, "setsockopt failed: can't set TCP_NODELAY", 40))
		return;
	pr_info("vnc: %s", line);
}

static void on_key(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;

	display_key(v->d, (uint32_t)keysym, down);
}

static void on_pointer(int buttons, int x, int y, rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;

	display_pointer(v->d, x < 0 ? 0 : (unsigned)x, y < 0 ? 0 : (unsigned)y, (uint8_t)buttons);
}

static void on_gone(rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;

	__atomic_sub_fetch(&v->nclients, 1, __ATOMIC_RELAXED); /* vnc_clients: any thread */
	/* libvncserver 0.9.14 (Debian 12's) never frees a WebSocket client's state (about 45 KiB,
	 * one allocation): every browser console connection leaked it. Later releases free it
	 * after this hook when it is not NULL (LibVNC/libvncserver#571). */
	free(cl->wsctx);
	cl->wsctx = NULL;
}

static enum rfbNewClientAction on_client(rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;

	__atomic_add_fetch(&v->nclients, 1, __ATOMIC_RELAXED);
	cl->clientGoneHook = on_gone;
	/* Its ServerInit comes later, with the size as it is then (catch_up_sizes keeps this
	 * current until then). */
	cl->clientData = (void *)v->size_gen;
	/* Its first picture comes from the shadow frame as it is (libvncserver answers a full
	 * request at once): have it refreshed before the handshake is through. */
	display_kick(v->d);
	return RFB_CLIENT_ACCEPT;
}

/* The guest's frame is 0x00RRGGBB in host (little-endian) order. */
static void set_format(rfbScreenInfoPtr s)
{
	s->serverFormat.redShift = 16;
	s->serverFormat.greenShift = 8;
	s->serverFormat.blueShift = 0;
}

static int listen_tcp(const char *host, unsigned port, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
	char h[256], p[8];
	int fd = -1, one = 1, rc;
	size_t n = strlen(host);

	/* [::1] style brackets around an IPv6 address */
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
		snprintf(h, sizeof(h), "%.*s", (int)n - 2, host + 1);
	else
		snprintf(h, sizeof(h), "%s", host);
	snprintf(p, sizeof(p), "%u", port);
	rc = getaddrinfo(h, p, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "--display vnc=%s:%u: %s", host, port, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, VNC_BACKLOG) < 0) {
		rc = -errno;
		snprintf(err, errlen, "--display vnc=%s:%u: cannot listen: %s", host, port,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = rc;
	}
	freeaddrinfo(ai);
	return fd;
}

/* Mode 0600; a stale socket is replaced, never anything else (src/common/unix_sock.c). */
static int listen_unix(const char *path, char *err, size_t errlen)
{
	int fd = unix_sock_listen(path, SOCK_CLOEXEC, VNC_BACKLOG);

	if (fd < 0)
		snprintf(err, errlen, "--display vnc=unix:%s: cannot listen: %s", path,
			 unix_sock_strerror(fd));
	return fd;
}

static int read_password(struct vnc *v, const char *path, char *err, size_t errlen)
{
	char buf[128];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f || !fgets(buf, sizeof(buf), f)) {
		snprintf(err, errlen, "--display password=%s: cannot read it", path);
		if (f)
			fclose(f);
		return -EINVAL;
	}
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = 0;
	if (!n) {
		snprintf(err, errlen, "--display password=%s: the first line is empty", path);
		return -EINVAL;
	}
	/* VNC authentication uses the first 8 characters only. */
	if (n > 8)
		pr_warn("vnc: the password is longer than VNC's 8 characters: only those count");
	v->passwords[0] = strdup(buf);
	v->passwords[1] = NULL;
	explicit_bzero(buf, sizeof(buf));
	return v->passwords[0] ? 0 : -ENOMEM;
}

/* Whether the listening socket is on loopback only (127.0.0.0/8, ::1) or a Unix socket. */
static bool local_only(int fd)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_UNIX)
		return true;
	if (ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* A VNC port other machines can reach needs a password; without TLS, say what crosses the
 * network in clear. */
static int check_exposure(struct vnc *v, const struct display_config *cfg, char *err, size_t errlen)
{
	if (local_only(v->listen_fd))
		return 0;
	if (!v->passwords[0]) {
		snprintf(err, errlen,
			 "--display vnc=%s:%u is reachable from other machines: it needs "
			 "password=FILE (or listen on 127.0.0.1 or unix:PATH)",
			 cfg->vnc_host, cfg->vnc_port);
		return -EINVAL;
	}
	if (!cfg->tls_cert[0])
		pr_warn("vnc: %s:%u is reachable from other machines without TLS: the screen, the "
			"keys and VNC's weak password check cross the network in clear (tls-cert=, "
			"tls-key= for the browser console; an SSH tunnel for VNC viewers: "
			"docs/display.md)",
			cfg->vnc_host, cfg->vnc_port);
	else
		pr_warn("vnc: %s:%u: the browser console uses TLS; VNC viewers there do not (an "
			"SSH tunnel for them: docs/display.md)",
			cfg->vnc_host, cfg->vnc_port);
	return 0;
}

static void wake_display(void *opaque)
{
	display_kick(opaque);
}

static int start_gate(struct vnc *v, const struct display_config *cfg, enum seccomp_mode mode,
		      char *err, size_t errlen)
{
	struct gate_params p = {
	    .listen_fd = v->listen_fd,
	    .password = v->passwords[0],
	    .web = v->web,
	    .sound = v->sound,
	    .tls_cert = cfg->tls_cert[0] ? cfg->tls_cert : NULL,
	    .tls_key = cfg->tls_key[0] ? cfg->tls_key : NULL,
	    .seccomp = mode,
	    .ready = wake_display,
	    .opaque = v->d,
	};

	return gate_start(&v->gate, &p, err, errlen);
}

static void setup_screen(struct vnc *v)
{
	rfbScreenInfoPtr s = v->screen;

	set_format(s);
	s->desktopName = "Phyllome";
	s->screenData = v;
	s->port = 0; /* the gate listens (TCP or Unix) and hands over each client */
	s->ipv6port = 0;
	s->httpPort = 0;
	s->alwaysShared = TRUE; /* several clients at once */
	s->kbdAddEvent = on_key;
	s->ptrAddEvent = on_pointer;
	s->newClientHook = on_client;
	s->deferUpdateTime = 0;
	/* libvncserver writes only to the gate's relays, which the gate empties at once (it drops
	 * a client that falls too far behind instead). Should the gate's thread ever stall, a
	 * write gives up after this long, not the 20 s of libvncserver's default. */
	s->maxClientWait = VNC_MAX_CLIENT_WAIT_MS;
	/* No cursor drawn into the picture: the guest draws its own (and a client its own). */
	ui_vnc.rfbSetCursor(s, NULL);
	if (v->passwords[0]) {
		/* The gate checks the password; libvncserver gets clients past that. */
		s->authPasswdData = v->passwords;
		s->passwordCheck = ui_vnc.rfbCheckPasswordByList;
	}
}

int vnc_start(struct vnc **out, const struct display_config *cfg, struct display *d, uint32_t *fb,
	      unsigned w, unsigned h, struct audio_tap *sound, enum seccomp_mode mode, char *err,
	      size_t errlen)
{
	struct vnc *v;
	int rc = ui_libs_load(UI_LIB_VNC | UI_LIB_TLS, err, errlen);

	if (rc < 0)
		return rc;
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "vnc: out of memory");
		return -ENOMEM;
	}
	v->d = d;
	v->sound = sound;
	v->listen_fd = cfg->vnc_unix[0] ? listen_unix(cfg->vnc_unix, err, errlen)
					: listen_tcp(cfg->vnc_host, cfg->vnc_port, err, errlen);
	if (v->listen_fd < 0) {
		rc = v->listen_fd;
		free(v);
		return rc;
	}
	snprintf(v->unix_path, sizeof(v->unix_path), "%s", cfg->vnc_unix);
	if (cfg->password_file[0])
		rc = read_password(v, cfg->password_file, err, errlen);
	if (rc == 0)
		rc = check_exposure(v, cfg, err, errlen);
	if (rc == 0 && cfg->web_dir[0])
		rc = web_load(&v->web, cfg->web_dir, err, errlen);
	*ui_vnc.rfbLog = vnc_log;
	*ui_vnc.rfbErr = vnc_log;
	v->screen = rc == 0 ? ui_vnc.rfbGetScreen(NULL, NULL, (int)w, (int)h, 8, 3, 4) : NULL;
	if (!v->screen) {
		if (rc == 0)
			snprintf(err, errlen, "vnc: cannot create the server");
		vnc_stop(v);
		return rc ? rc : -ENOMEM;
	}
	v->screen->frameBuffer = (char *)fb;
	setup_screen(v);
	ui_vnc.rfbInitServer(v->screen);
	rc = start_gate(v, cfg, mode, err, errlen);
	if (rc < 0) {
		vnc_stop(v);
		return rc;
	}
	*out = v;
	return 0;
}

/* The oldest of the clients libvncserver still serves, or NULL. */
static rfbClientPtr oldest_client(struct vnc *v, unsigned *live)
{
	rfbClientIteratorPtr it = ui_vnc.rfbGetClientIterator(v->screen);
	rfbClientPtr cl, oldest = NULL;

	*live = 0;
	/* The list starts with the newest. */
	while ((cl = ui_vnc.rfbClientIteratorNext(it)) != NULL) {
		if (cl->sock == RFB_INVALID_SOCKET)
			continue;
		(*live)++;
		oldest = cl;
	}
	ui_vnc.rfbReleaseClientIterator(it);
	return oldest;
}

/*
 * An authenticated client from the gate, at ClientInit. libvncserver has no way to take a client
 * in the middle of its handshake: rfbNewClient greets it (ProtocolVersion) and looks for a
 * WebSocket (waiting for its first bytes). So the client is made on a socket pair whose other
 * end already holds four bytes that are no WebSocket (the greeting goes there, and nobody
 * waits), and then moved to the real socket, at the state the gate has brought it to.
 */
static void install(struct vnc *v, struct gate_client *gc)
{
	rfbClientPtr cl, old;
	unsigned live;

	/* libvncserver select()s on its clients: a descriptor past FD_SETSIZE would end the
	 * process. The gate's caps keep them far below that; this is the line that holds. */
	if (gc->fd >= FD_SETSIZE || gc->sp[0] >= FD_SETSIZE) {
		pr_warn("vnc: %s refused: descriptor %d is past FD_SETSIZE", gc->peer, gc->fd);
		close(gc->fd);
		close(gc->sp[0]);
		close(gc->sp[1]);
		return;
	}
	/* Full: the newest authenticated client wins over the oldest (the owner is never kept
	 * out by clients left connected). */
	old = oldest_client(v, &live);
	if (live >= VNC_MAX_CLIENTS && old) {
		pr_info("vnc: %d clients: %s makes way for %s", VNC_MAX_CLIENTS, old->host,
			gc->peer);
		ui_vnc.rfbCloseClient(old);
	}
	cl = ui_vnc.rfbNewClient(v->screen, gc->sp[0]); /* on failure it closed sp[0] */
	close(gc->sp[1]);
	if (!cl) {
		close(gc->fd);
		return;
	}
	FD_CLR(gc->sp[0], &v->screen->allFds);
	close(gc->sp[0]);
	cl->sock = gc->fd;
	FD_SET(gc->fd, &v->screen->allFds);
	if (gc->fd > v->screen->maxFd)
		v->screen->maxFd = gc->fd;
	cl->protocolMajorVersion = 3;
	cl->protocolMinorVersion = gc->minor;
	cl->state = RFB_INITIALISATION;
	free(cl->host);
	/* libvncserver frees it when the client goes (rfbClientConnectionGone). */
	// cppcheck-suppress memleak
	cl->host = strdup(gc->peer);
	pr_info("vnc: %s connected", gc->peer);
	// cppcheck-suppress memleak
}

/* libvncserver's select() also watches fd (the stop and wake signals), so that a new client,
 * a screenshot or a stop is not kept waiting for its timeout. */
static void watch(struct vnc *v, int fd)
{
	if (fd < 0 || fd >= FD_SETSIZE)
		return;
	FD_SET(fd, &v->screen->allFds);
	if (fd > v->screen->maxFd)
		v->screen->maxFd = fd;
}

void vnc_poll(struct vnc *v, long usec, int stop_fd, int wake_fd)
{
	struct gate_client gc;

	while (gate_take(v->gate, &gc))
		install(v, &gc);
	if (!v->nclients) {
		struct pollfd p[2] = {{.fd = stop_fd, .events = POLLIN},
				      {.fd = wake_fd, .events = POLLIN}};

		poll(p, 2, (int)(usec / 1000));
		return;
	}
	watch(v, stop_fd);
	watch(v, wake_fd);
	ui_vnc.rfbProcessEvents(v->screen, usec < 100000 ? usec : 100000);
	catch_up_sizes(v);
}

void vnc_resize(struct vnc *v, uint32_t *fb, unsigned w, unsigned h)
{
	ui_vnc.rfbNewFramebuffer(v->screen, (char *)fb, (int)w, (int)h, 8, 3, 4);
	set_format(v->screen);
	v->size_gen++;
	catch_up_sizes(v);
}

void vnc_mark(struct vnc *v, unsigned x, unsigned y, unsigned w, unsigned h)
{
	ui_vnc.rfbMarkRectAsModified(v->screen, (int)x, (int)y, (int)(x + w), (int)(y + h));
}

unsigned vnc_clients(struct vnc *v)
{
	return __atomic_load_n(&v->nclients, __ATOMIC_RELAXED);
}

void vnc_gate_stats(struct vnc *v, struct gate_stats *s)
{
	gate_stats(v->gate, s);
}

/* libvncserver keeps what a client asked for (FramebufferUpdateRequest) in requestedRegion until
 * an update goes out (rfbSendFramebufferUpdate empties it): a non-empty one is a request still
 * outstanding. */
bool vnc_wants_update(struct vnc *v)
{
	rfbClientIteratorPtr it;
	rfbClientPtr cl;
	bool wants = false;

	if (!v->nclients)
		return false;
	it = ui_vnc.rfbGetClientIterator(v->screen);
	while (!wants && (cl = ui_vnc.rfbClientIteratorNext(it)) != NULL)
		wants = cl->state == RFB_NORMAL && !ui_vnc.sraRgnEmpty(cl->requestedRegion);
	ui_vnc.rfbReleaseClientIterator(it);
	return wants;
}

void vnc_stop(struct vnc *v)
{
	gate_stop(v->gate);
	if (v->screen) {
		ui_vnc.rfbShutdownServer(v->screen, TRUE);
		ui_vnc.rfbScreenCleanup(v->screen);
	}
	if (v->listen_fd >= 0)
		close(v->listen_fd);
	if (v->unix_path[0])
		unlink(v->unix_path);
	web_free(v->web);
	if (v->passwords[0]) {
		explicit_bzero(v->passwords[0], strlen(v->passwords[0]));
		free(v->passwords[0]);
	}
	free(v);
}
