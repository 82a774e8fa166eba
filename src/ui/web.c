#include "ui/web.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "console_sound_js.h" /* data/ui/sound.js, made a string by the build */

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
 * Typing in the page goes to the guest (noVNC sends keysyms; our map is the US layout). Once
 * the screen is connected, the page listens to the guest's sound (sound.js, when the VM has
 * --sound) with a mute button. */
static const char page[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Phyllome console</title>\n"
    "<style>html,body{margin:0;height:100%;background:#222;color:#ccc;font:13px sans-serif}"
    "#bar{height:22px;padding:3px 8px}#screen{position:absolute;top:28px;bottom:0;left:0;"
    "right:0}#sound{margin-left:12px;font:inherit}</style></head>\n<body><div id=\"bar\">"
    "Phyllome: <span id=\"status\" role=\"status\">connecting</span><button id=\"sound\" "
    "hidden aria-pressed=\"true\" title=\"the guest's sound\">Sound: on</button></div>"
    "<div id=\"screen\"></div>\n<script type=\"module\">\n"
    "import RFB from './novnc/core/rfb.js';\nimport { startSound } from './sound.js';\n"
    "const status = document.getElementById('status');\n"
    "const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + "
    "'/websockify';\n"
    "const rfb = new RFB(document.getElementById('screen'), url);\n"
    "let password = '', sound = null;\n"
    "rfb.scaleViewport = true;\nrfb.focusOnClick = true;\n"
    "rfb.addEventListener('connect', () => {\n  status.textContent = 'connected';\n  rfb.focus();\n"
    "  if (!sound) sound = startSound(url.replace(/\\/websockify$/, '/audio'), () => password, "
    "document.getElementById('sound'));\n});\n"
    "rfb.addEventListener('disconnect', () => { status.textContent = 'disconnected'; });\n"
    /* With password=, the page asks for it (or takes it from the address's #password=...,
     * which never reaches the server: the test's way in). */
    "rfb.addEventListener('credentialsrequired', () => {\n"
    "  const m = /[#&]password=([^&]*)/.exec(location.hash);\n"
    "  const p = m ? decodeURIComponent(m[1]) : prompt('Password');\n"
    "  if (p !== null) { password = p; rfb.sendCredentials({password: p}); }\n});\n"
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

int web_find(const struct web *w, const char *path, const char **type, const char **data,
	     size_t *len)
{
	if (!strcmp(path, "/") || !strcmp(path, "/index.html")) {
		*type = "text/html; charset=utf-8";
		*data = page;
		*len = sizeof(page) - 1;
		return 0;
	}
	if (!strcmp(path, "/sound.js")) {
		*type = "text/javascript";
		*data = console_sound_js;
		*len = sizeof(console_sound_js) - 1;
		return 0;
	}
	for (unsigned i = 0; i < w->n; i++) {
		if (!strcmp(w->f[i].path, path)) {
			*type = "text/javascript";
			*data = w->f[i].data;
			*len = w->f[i].len;
			return 0;
		}
	}
	return -ENOENT;
}
