#include "ui/vnc.h"

#include <errno.h>
#include <netdb.h>
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
#include "ui/display.h"
#include "ui/web.h"

struct vnc {
	rfbScreenInfoPtr screen;
	struct display *d;
	int listen_fd;
	char unix_path[108];
	char *passwords[2];
	struct web *web; /* the browser console (web=), or NULL */
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
	rfbClientIteratorPtr it = rfbGetClientIterator(v->screen);
	rfbClientPtr cl;

	while ((cl = rfbClientIteratorNext(it)) != NULL) {
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
	rfbReleaseClientIterator(it);
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

	v->nclients--;
	/* libvncserver 0.9.14 (Debian 12's) never frees a WebSocket client's state (about 45 KiB,
	 * one allocation): every browser console connection leaked it. Later releases free it
	 * after this hook when it is not NULL (LibVNC/libvncserver#571). */
	free(cl->wsctx);
	cl->wsctx = NULL;
}

static enum rfbNewClientAction on_client(rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;

	v->nclients++;
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
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 8) < 0) {
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

static int listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, rc;
	mode_t old;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	/* Replace a stale socket, never anything else. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "--display vnc=unix:%s: socket: %s", path, strerror(errno));
		return -errno;
	}
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (rc < 0 || listen(fd, 8) < 0) {
		rc = -errno;
		snprintf(err, errlen, "--display vnc=unix:%s: cannot listen: %s", path,
			 strerror(errno));
		close(fd);
		return rc;
	}
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

int vnc_start(struct vnc **out, const struct display_config *cfg, struct display *d, uint32_t *fb,
	      unsigned w, unsigned h, char *err, size_t errlen)
{
	struct vnc *v = calloc(1, sizeof(*v));
	int rc = 0;

	if (!v) {
		snprintf(err, errlen, "vnc: out of memory");
		return -ENOMEM;
	}
	v->d = d;
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
	if (rc == 0 && cfg->web_dir[0])
		rc = web_load(&v->web, cfg->web_dir, err, errlen);
	rfbLog = vnc_log;
	rfbErr = vnc_log;
	v->screen = rc == 0 ? rfbGetScreen(NULL, NULL, (int)w, (int)h, 8, 3, 4) : NULL;
	if (!v->screen) {
		if (rc == 0)
			snprintf(err, errlen, "vnc: cannot create the server");
		vnc_stop(v);
		return rc ? rc : -ENOMEM;
	}
	set_format(v->screen);
	v->screen->frameBuffer = (char *)fb;
	v->screen->desktopName = "Phyllome";
	v->screen->screenData = v;
	v->screen->port = 0; /* we listen ourselves (TCP or Unix) and hand over each client */
	v->screen->ipv6port = 0;
	v->screen->httpPort = 0;
	v->screen->alwaysShared = TRUE; /* several clients at once */
	v->screen->kbdAddEvent = on_key;
	v->screen->ptrAddEvent = on_pointer;
	v->screen->newClientHook = on_client;
	v->screen->deferUpdateTime = 0;
	/* No cursor drawn into the picture: the guest draws its own (and a client its own). */
	rfbSetCursor(v->screen, NULL);
	if (v->passwords[0]) {
		v->screen->authPasswdData = v->passwords;
		v->screen->passwordCheck = rfbCheckPasswordByList;
	}
	rfbInitServer(v->screen);
	*out = v;
	return 0;
}

void vnc_poll(struct vnc *v, long usec, int stop_fd, int wake_fd)
{
	struct pollfd p[3] = {{.fd = v->listen_fd, .events = POLLIN},
			      {.fd = stop_fd, .events = POLLIN},
			      {.fd = wake_fd, .events = POLLIN}};
	/* With no client there is nothing for libvncserver to do: sleep on the listening socket
	 * (and the stop and wake signals) alone. With clients, check for new ones every 100 ms at
	 * least. */
	int timeout = v->nclients ? 0 : (int)(usec / 1000);

	if (poll(p, 3, timeout) > 0 && (p[0].revents & POLLIN)) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		/* With the browser console on, a browser's plain GET gets the page; the rest
		 * (RFB, and WebSocket, which libvncserver speaks) goes to the VNC server. */
		if (fd >= 0 && v->web && web_classify(fd, 100) == WEB_HTTP)
			web_serve(v->web, fd);
		else if (fd >= 0 && !rfbNewClient(v->screen, fd))
			close(fd);
	}
	if (v->nclients) {
		rfbProcessEvents(v->screen, usec < 100000 ? usec : 100000);
		catch_up_sizes(v);
	}
}

void vnc_resize(struct vnc *v, uint32_t *fb, unsigned w, unsigned h)
{
	rfbNewFramebuffer(v->screen, (char *)fb, (int)w, (int)h, 8, 3, 4);
	set_format(v->screen);
	v->size_gen++;
	catch_up_sizes(v);
}

void vnc_mark(struct vnc *v, unsigned x, unsigned y, unsigned w, unsigned h)
{
	rfbMarkRectAsModified(v->screen, (int)x, (int)y, (int)(x + w), (int)(y + h));
}

unsigned vnc_clients(struct vnc *v)
{
	return v->nclients;
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
	it = rfbGetClientIterator(v->screen);
	while (!wants && (cl = rfbClientIteratorNext(it)) != NULL)
		wants = cl->state == RFB_NORMAL && !sraRgnEmpty(cl->requestedRegion);
	rfbReleaseClientIterator(it);
	return wants;
}

void vnc_stop(struct vnc *v)
{
	if (v->screen) {
		rfbShutdownServer(v->screen, TRUE);
		rfbScreenCleanup(v->screen);
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
