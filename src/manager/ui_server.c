/* The ui server's HTTP side (ui_server.h): routes, checks, files, the WebSocket upgrade. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manager/netlibs.h"
#include "manager/ui_api.h"
#include "manager/ui_server.h"
#include "manager/ui_ws.h"

#define BODY_MAX (64u << 10)

struct req {
	char *body;
	size_t len;
	bool too_big;
};

static const char csp[] = "default-src 'self'; img-src 'self' blob: data:; "
			  "style-src 'self'; script-src 'self'; connect-src 'self'; "
			  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

static void common_headers(struct MHD_Response *resp)
{
	mgr_mhd.MHD_add_response_header(resp, "Cache-Control", "no-store");
	mgr_mhd.MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	mgr_mhd.MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	mgr_mhd.MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	mgr_mhd.MHD_add_response_header(resp, "Content-Security-Policy", csp);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct ui_reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!r->body) {
		r->status = 500;
		r->type = "application/json";
		r->body = strdup("{\"error\":\"out of memory\"}");
		r->len = r->body ? strlen(r->body) : 0;
	}
	resp = mgr_mhd.MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	mgr_mhd.MHD_add_response_header(resp, "Content-Type", r->type);
	common_headers(resp);
	ret = mgr_mhd.MHD_queue_response(c, (unsigned)r->status, resp);
	mgr_mhd.MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *line)
{
	struct ui_reply r = {0};

	ui_reply_error(&r, status, "%s", line);
	return send_reply(c, &r);
}

static const char *mime(const char *path)
{
	static const char *const types[][2] = {
	    {".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".json", "application/json"},
	    {".ico", "image/x-icon"},
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i][0]))
			return types[i][1];
	return "application/octet-stream";
}

/* A file of dir; rel was checked by ui_file_path_ok. */
static enum MHD_Result send_file(struct MHD_Connection *c, const char *dir, const char *rel)
{
	char path[PATH_MAX + 256];
	struct MHD_Response *resp;
	enum MHD_Result ret;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ELOOP) /* Debian's novnc links some files into place */
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return send_error(c, 404, "no such file");
	}
	resp = mgr_mhd.MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	mgr_mhd.MHD_add_response_header(resp, "Content-Type", mime(rel));
	common_headers(resp);
	ret = mgr_mhd.MHD_queue_response(c, MHD_HTTP_OK, resp);
	mgr_mhd.MHD_destroy_response(resp);
	return ret;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return mgr_mhd.MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static bool signed_in(const struct ui_server *s, struct MHD_Connection *c)
{
	char v[UI_SECRET_HEX + 2];
	const char *h = header(c, "Cookie");

	return h && ui_cookie_get(h, UI_COOKIE, v, sizeof(v)) && ui_secret_eq(v, s->secret);
}

/* GET /login?token=T: the one-time link `phyllome ui` printed sets the cookie. */
static enum MHD_Result login(struct ui_server *s, struct MHD_Connection *c)
{
	const char *t = mgr_mhd.MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
	char cookie[UI_SECRET_HEX + 128];
	struct MHD_Response *resp;
	enum MHD_Result ret;
	bool ok;

	pthread_mutex_lock(&s->lock);
	ok = ui_secret_eq(t, s->token);
	if (ok)
		s->token[0] = 0; /* once */
	pthread_mutex_unlock(&s->lock);
	if (!ok)
		return send_error(c, 403,
				  "this sign-in link is wrong or was used already: run phyllome "
				  "ui again for a new one");
	snprintf(cookie, sizeof(cookie),
		 UI_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000%s", s->secret,
		 s->tls_cert ? "; Secure" : "");
	resp = mgr_mhd.MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	mgr_mhd.MHD_add_response_header(resp, "Set-Cookie", cookie);
	mgr_mhd.MHD_add_response_header(resp, "Location", "/");
	common_headers(resp);
	ret = mgr_mhd.MHD_queue_response(c, MHD_HTTP_SEE_OTHER, resp);
	mgr_mhd.MHD_destroy_response(resp);
	return ret;
}

struct ws_job {
	struct ui_ws w;
	char *extra;
	size_t extra_len;
	int sock;
	struct MHD_UpgradeResponseHandle *urh;
};

static void *ws_thread(void *arg)
{
	struct ws_job *j = arg;
	int fl = fcntl(j->sock, F_GETFL);

	if (fl >= 0)
		fcntl(j->sock, F_SETFL, fl & ~O_NONBLOCK);
	ui_ws_relay(j->sock, &j->w, j->extra, j->extra_len);
	mgr_mhd.MHD_upgrade_action(j->urh, MHD_UPGRADE_ACTION_CLOSE);
	free(j->extra);
	free(j);
	return NULL;
}

static void ws_upgraded(void *cls, struct MHD_Connection *c, void *req_cls, const char *extra_in,
			size_t extra_in_size, MHD_socket sock,
			struct MHD_UpgradeResponseHandle *urh)
{
	struct ws_job *j = cls;
	pthread_t t;

	(void)c;
	(void)req_cls;
	j->sock = sock;
	j->urh = urh;
	j->extra = extra_in_size ? malloc(extra_in_size) : NULL;
	if (j->extra) {
		memcpy(j->extra, extra_in, extra_in_size);
		j->extra_len = extra_in_size;
	}
	if ((extra_in_size && !j->extra) || pthread_create(&t, NULL, ws_thread, j) != 0) {
		close(j->w.fd);
		mgr_mhd.MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		free(j->extra);
		free(j);
		return;
	}
	pthread_detach(t);
}

static bool token_chars(const char *v, size_t max, const char *extra)
{
	size_t n = v ? strlen(v) : 0;

	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
		      (v[i] >= '0' && v[i] <= '9') || strchr(extra, v[i])))
			return false;
	return true;
}

/* GET /api/vms/VM/vnc with Upgrade: websocket. */
/* The console's screen (path "/websockify") or sound ("/audio"), passed through to the VMM. */
static enum MHD_Result console(struct MHD_Connection *c, const char *vm, const char *path)
{
	const char *key = header(c, "Sec-WebSocket-Key"), *ver = header(c, "Sec-WebSocket-Version");
	const char *proto = header(c, "Sec-WebSocket-Protocol"), *up = header(c, "Upgrade");
	struct MHD_Response *resp;
	struct ws_job *j;
	enum MHD_Result ret;
	char err[512];

	if (!up || !strcasestr(up, "websocket") || !ver || strcmp(ver, "13") ||
	    !token_chars(key, 32, "+/=") || (proto && !token_chars(proto, 64, ", ._-")))
		return send_error(c, 400, "the console needs a WebSocket (version 13)");
	j = calloc(1, sizeof(*j));
	if (!j)
		return MHD_NO;
	if (ui_ws_open(vm, path, key, proto, &j->w, err, sizeof(err)) < 0) {
		free(j);
		return send_error(c, 502, err);
	}
	resp = mgr_mhd.MHD_create_response_for_upgrade(ws_upgraded, j);
	if (!resp) {
		close(j->w.fd);
		free(j);
		return MHD_NO;
	}
	mgr_mhd.MHD_add_response_header(resp, "Upgrade", "websocket");
	mgr_mhd.MHD_add_response_header(resp, "Sec-WebSocket-Accept", j->w.accept);
	if (j->w.proto[0])
		mgr_mhd.MHD_add_response_header(resp, "Sec-WebSocket-Protocol", j->w.proto);
	ret = mgr_mhd.MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	mgr_mhd.MHD_destroy_response(resp);
	if (ret != MHD_YES) {
		close(j->w.fd);
		free(j);
	}
	return ret;
}

/* Every change (POST) and the console come from our own page: its Origin, its CSRF token. */
static const char *change_refused(const struct ui_server *s, struct MHD_Connection *c, bool csrf)
{
	const char *t = header(c, "X-Phyllome-CSRF");

	if (!ui_origin_ok(header(c, "Origin"), header(c, "Host"), s->tls_cert != NULL))
		return "refused: the request does not come from this app's page (Origin)";
	if (csrf && !ui_secret_eq(t, s->csrf))
		return "refused: the request lacks this app's CSRF token: reload the page";
	return NULL;
}

static enum MHD_Result api_get(struct ui_server *s, struct MHD_Connection *c, const char *url)
{
	struct ui_reply r = {0};
	char vm[64], action[16];

	if (!strcmp(url, "/api/session")) {
		size_t n = strlen(s->csrf) + 64;

		r.status = 200;
		r.type = "application/json";
		r.body = malloc(n);
		if (r.body)
			r.len = (size_t)snprintf(r.body, n, "{\"csrf\":\"%s\",\"version\":\"%s\"}",
						 s->csrf, PHYLLOME_VERSION);
	} else if (!strcmp(url, "/api/vms")) {
		ui_api_list(&r);
	} else if (!strcmp(url, "/api/images")) {
		ui_api_images(&r);
	} else if (!strcmp(url, "/api/pulls")) {
		ui_api_pulls(&r);
	} else if (!strcmp(url, "/api/settings")) {
		ui_api_settings(&r);
	} else if (!strcmp(url, "/api/files")) {
		ui_api_files(&r);
	} else if (ui_vm_path(url, vm, action) == 0 &&
		   (!strcmp(action, "vnc") || !strcmp(action, "audio"))) {
		const char *why = change_refused(s, c, false);

		return why ? send_error(c, 403, why)
			   : console(c, vm, !strcmp(action, "vnc") ? "/websockify" : "/audio");
	} else if (ui_vm_path(url, vm, action) == 0 && action[0]) {
		ui_api_get(vm, action, &r);
	} else {
		ui_reply_error(&r, 404, "no such API: %s", url);
	}
	return send_reply(c, &r);
}

static enum MHD_Result api_post(struct ui_server *s, struct MHD_Connection *c, const char *url,
				struct req *q)
{
	struct ui_reply r = {0};
	char vm[64], action[16];
	const char *why = change_refused(s, c, true);

	if (why)
		return send_error(c, 403, why);
	if (q->too_big)
		return send_error(c, 413, "the request is too large");
	if (!strcmp(url, "/api/vms"))
		ui_api_create(q->body ? q->body : "", q->len, s->vnc_dir, &r);
	else if (!strcmp(url, "/api/settings"))
		ui_api_settings_save(q->body ? q->body : "", q->len, &r);
	else if (ui_vm_path(url, vm, action) == 0 && !strcmp(action, "update"))
		ui_api_update(vm, q->body ? q->body : "", q->len, s->vnc_dir, &r);
	else if (ui_vm_path(url, vm, action) == 0 && action[0])
		ui_api_post(vm, action, &r);
	else
		ui_reply_error(&r, 404, "no such API: %s", url);
	return send_reply(c, &r);
}

static enum MHD_Result route(struct ui_server *s, struct MHD_Connection *c, const char *url,
			     const char *method, struct req *q)
{
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");

	if (get && !strcmp(url, "/login"))
		return login(s, c);
	if (!signed_in(s, c))
		return send_error(c, 401,
				  "not signed in: open the address `phyllome ui` printed "
				  "(run it again for a new one)");
	if (!strncmp(url, "/api/", 5)) {
		if (get)
			return api_get(s, c, url);
		if (!strcmp(method, "POST"))
			return api_post(s, c, url, q);
		return send_error(c, 405, "the API takes GET and POST only");
	}
	if (!get)
		return send_error(c, 405, "files are only read (GET)");
	if (!strcmp(url, "/"))
		return send_file(c, s->ui_dir, "index.html");
	if (!strncmp(url, "/novnc/", 7) && ui_file_path_ok(url + 7))
		return send_file(c, s->novnc_dir, url + 7);
	if (ui_file_path_ok(url + 1))
		return send_file(c, s->ui_dir, url + 1);
	return send_error(c, 404, "no such file");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *data_size, void **con_cls)
{
	struct req *q = *con_cls;

	(void)version;
	if (!q) {
		q = calloc(1, sizeof(*q));
		*con_cls = q;
		return q ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		if (q->len + *data_size > BODY_MAX) {
			q->too_big = true;
		} else {
			char *b = realloc(q->body, q->len + *data_size + 1);

			if (!b)
				return MHD_NO;
			memcpy(b + q->len, data, *data_size);
			q->body = b;
			q->len += *data_size;
			b[q->len] = 0;
		}
		*data_size = 0;
		return MHD_YES;
	}
	return route(cls, c, url, method, q);
}

static void done(void *cls, struct MHD_Connection *c, void **con_cls,
		 enum MHD_RequestTerminationCode toe)
{
	struct req *q = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (q) {
		free(q->body);
		free(q);
	}
	*con_cls = NULL;
}

int ui_server_start(struct ui_server *s, int fd, char *err, size_t errlen)
{
	/* HTTPS: libmicrohttpd's own TLS (its GnuTLS), with the PEM texts; an upgraded connection
	 * (the console's WebSocket) reaches ui_ws.c decrypted, through its socket pair. */
	struct MHD_OptionItem tls[] = {
	    {s->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->tls_cert},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
	    {MHD_OPTION_END, 0, NULL}};

	if (mgr_libs_load(MGR_LIB_MHD, err, errlen) < 0)
		return -1;
	if (s->tls_cert && mgr_mhd.MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(err, errlen, "this libmicrohttpd has no TLS: no HTTPS");
		return -1;
	}
	s->mhd = mgr_mhd.MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_UPGRADE |
		MHD_USE_POLL | (s->tls_cert ? MHD_USE_TLS : 0),
	    0, NULL, NULL, handler, s, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
	    done, NULL, MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT, 120u,
	    MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (!s->mhd) {
		snprintf(err, errlen, "cannot start the HTTP%s server (libmicrohttpd)",
			 s->tls_cert ? "S" : "");
		return -1;
	}
	return 0;
}

void ui_server_stop(struct ui_server *s)
{
	if (s->mhd)
		mgr_mhd.MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
}
