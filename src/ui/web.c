#include "ui/web.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

#define WEB_MAX_FILES 256
#define WEB_MAX_BYTES (8u << 20)

struct web_file {
	char *path; /* "/novnc/core/rfb.js" */
	char *data;
	size_t len;
};

struct web {
	struct web_file f[WEB_MAX_FILES];
	unsigned n;
	size_t total;
};

/* The console page: noVNC's RFB over a WebSocket to this same address, scaled to the window.
 * Typing in the page goes to the guest (noVNC sends keysyms; our map is the US layout). */
static const char page[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Phyllome console</title>\n"
    "<style>html,body{margin:0;height:100%;background:#222;color:#ccc;font:13px sans-serif}"
    "#bar{height:22px;padding:3px 8px}#screen{position:absolute;top:28px;bottom:0;left:0;"
    "right:0}</style></head>\n<body><div id=\"bar\">Phyllome: <span id=\"status\">connecting"
    "</span></div><div id=\"screen\"></div>\n<script type=\"module\">\n"
    "import RFB from './novnc/core/rfb.js';\n"
    "const status = document.getElementById('status');\n"
    "const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + "
    "'/websockify';\n"
    "const rfb = new RFB(document.getElementById('screen'), url);\n"
    "rfb.scaleViewport = true;\nrfb.focusOnClick = true;\n"
    "rfb.addEventListener('connect', () => { status.textContent = 'connected'; rfb.focus(); "
    "});\n"
    "rfb.addEventListener('disconnect', () => { status.textContent = 'disconnected'; });\n"
    "window.rfb = rfb;\n</script></body></html>\n";

static int add_file(struct web *w, const char *urlpath, const char *fspath)
{
	struct stat st;
	int fd = open(fspath, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	ssize_t r = -1;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && w->n < WEB_MAX_FILES &&
	    w->total + (size_t)st.st_size <= WEB_MAX_BYTES) {
		buf = malloc((size_t)st.st_size + 1);
		if (buf)
			r = read(fd, buf, (size_t)st.st_size);
	}
	close(fd);
	if (!buf || r != st.st_size) {
		free(buf);
		return -EIO;
	}
	w->f[w->n].path = strdup(urlpath);
	w->f[w->n].data = buf;
	w->f[w->n].len = (size_t)r;
	w->total += (size_t)r;
	return w->f[w->n++].path ? 0 : -ENOMEM;
}

/* Every .js file under dir/rel, recursively. */
static int add_tree(struct web *w, const char *dir, const char *rel, int depth)
{
	char path[1024];
	DIR *d;
	struct dirent *e;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	d = opendir(path);
	if (!d)
		return -errno;
	while (rc == 0 && (e = readdir(d))) {
		char sub[512], fs[1536], url[600];
		size_t n = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name);
		if (e->d_type == DT_DIR && depth < 6) {
			rc = add_tree(w, dir, sub, depth + 1);
		} else if (n > 3 && !strcmp(e->d_name + n - 3, ".js")) {
			snprintf(fs, sizeof(fs), "%s/%s", dir, sub);
			snprintf(url, sizeof(url), "/novnc/%s", sub);
			rc = add_file(w, url, fs);
		}
	}
	closedir(d);
	return rc;
}

int web_load(struct web **out, const char *dir, char *err, size_t errlen)
{
	struct web *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return -ENOMEM;
	rc = add_tree(w, dir, "core", 0);
	if (rc == 0)
		rc = add_tree(w, dir, "vendor", 0);
	if (rc < 0) {
		snprintf(err, errlen,
			 "--display web=%s: cannot read noVNC there (core/, vendor/): %s", dir,
			 strerror(-rc));
		web_free(w);
		return rc;
	}
	pr_info("web: %u files of noVNC (%zu KiB) from %s", w->n, w->total >> 10, dir);
	*out = w;
	return 0;
}

void web_free(struct web *w)
{
	if (!w)
		return;
	for (unsigned i = 0; i < w->n; i++) {
		free(w->f[i].path);
		free(w->f[i].data);
	}
	free(w);
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);

		if (r <= 0)
			return;
		p += r;
		n -= (size_t)r;
	}
}

static void reply(int fd, int status, const char *type, const char *body, size_t len)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
			 status, status == 200 ? "OK" : "Not Found", type, len);

	send_all(fd, hdr, (size_t)n);
	send_all(fd, body, len);
}

void web_serve(const struct web *w, int fd)
{
	struct timeval tv = {1, 0};
	char req[2048];
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = recv(fd, req, sizeof(req) - 1, 0);
	if (n > 0) {
		char path[512];

		req[n] = 0;
		if (sscanf(req, "GET %511s", path) != 1)
			path[0] = 0;
		path[strcspn(path, "?#")] = 0;
		if (!strcmp(path, "/") || !strcmp(path, "/index.html")) {
			reply(fd, 200, "text/html; charset=utf-8", page, sizeof(page) - 1);
		} else {
			unsigned i;

			for (i = 0; i < w->n && strcmp(w->f[i].path, path); i++)
				;
			if (i < w->n)
				reply(fd, 200, "text/javascript", w->f[i].data, w->f[i].len);
			else
				reply(fd, 404, "text/plain", "not found\n", 10);
		}
	}
	close(fd);
}

enum web_kind web_classify(int fd, int wait_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[2048];
	ssize_t n;

	if (poll(&p, 1, wait_ms) <= 0)
		return WEB_RFB;
	n = recv(fd, buf, sizeof(buf) - 1, MSG_PEEK);
	if (n < 4 || memcmp(buf, "GET ", 4))
		return WEB_RFB;
	buf[n] = 0;
	/* The whole header is usually there at once; "Upgrade: websocket" anywhere in it. */
	for (char *q = buf; (q = strchr(q, '\n')); q++) {
		char *eol = strchr(q + 1, '\n');
		bool ws;

		if (eol)
			*eol = 0;
		ws = !strncasecmp(q + 1, "upgrade:", 8) && strcasestr(q + 9, "websocket");
		if (eol)
			*eol = '\n';
		if (ws)
			return WEB_WEBSOCKET;
	}
	return WEB_HTTP;
}
