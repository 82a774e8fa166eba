#include "api/api_server.h"

#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api_json.h"
#include "api/api_parse.h"
#include "common/log.h"
#include "common/unix_sock.h"
#include "ui/display.h"

#define API_CALL_TIMEOUT_MS 30000 /* a request the VMM thread hasn't answered by then: 504 */
#define API_IDLE_TIMEOUT_S  60	  /* idle keep-alive connections are closed */
#define API_MAX_CLIENTS	    16
#define API_DRAIN_MS	    1000 /* at the end, how long answers may take to leave */

struct api_server {
	struct MHD_Daemon *mhd;
	int mhd_fd;  /* libmicrohttpd's epoll fd */
	int stop_fd; /* eventfd: the API thread ends */
	struct ctl_channel *ch;
	int call_timeout_ms;	 /* how long a request waits for the VMM thread's answer */
	struct display *display; /* for vm.screenshot, or NULL */
	enum seccomp_mode seccomp;
	pthread_t thread;
	pthread_mutex_t lock; /* start_rc and started, for the start-up handshake */
	pthread_cond_t cond;
	int start_rc;
	bool started;
	unsigned inflight; /* requests begun and not yet answered (API thread only) */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev; /* the socket file we made: removed at the end if it's still ours */
	ino_t ino;
};

/* One request's upload. */
struct api_req {
	char *body;
	size_t len;  /* bytes kept in body (at most API_MAX_BODY) */
	size_t seen; /* bytes received */
};

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = 0;
	pr_warn("api: %s", line);
}

/* Queues status with body (malloc'd JSON, or NULL for none). */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, char *body,
			       const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body && status != MHD_HTTP_NO_CONTENT) {
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		body = strdup("{\"error\":\"out of memory\"}");
	}
	r = body ? MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE)
		 : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	if (body)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *msg,
				     const char *allow)
{
	pr_info("api: error %u: %s", status, msg);
	return respond(c, status, api_json_error(msg), allow);
}

/* The HTTP status for an action the VMM thread refused. */
static unsigned refusal_status(int result)
{
	switch (result) {
	case -EALREADY:
	case -ESHUTDOWN:
		return MHD_HTTP_CONFLICT;
	case -ETIMEDOUT:
		return MHD_HTTP_GATEWAY_TIMEOUT;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

void api_server_set_call_timeout(struct api_server *s, int ms)
{
	__atomic_store_n(&s->call_timeout_ms, ms, __ATOMIC_RELAXED);
}

void api_server_set_display(struct api_server *s, struct display *d)
{
	__atomic_store_n(&s->display, d, __ATOMIC_RELEASE);
}

/* vm.screenshot: the display's current frame, PNG (or PPM with ?format=ppm), from this thread. */
static enum MHD_Result screenshot(struct api_server *s, struct MHD_Connection *c)
{
	struct display *d = __atomic_load_n(&s->display, __ATOMIC_ACQUIRE);
	const char *f = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
	bool ppm = f && !strcmp(f, "ppm");
	struct MHD_Response *r;
	enum MHD_Result ret;
	uint8_t *img = NULL;
	size_t len = 0;
	int rc;

	if (!d)
		return respond_error(c, MHD_HTTP_CONFLICT, "this VM has no display (--display)",
				     NULL);
	if (f && !ppm && strcmp(f, "png"))
		return respond_error(c, MHD_HTTP_BAD_REQUEST, "format must be png or ppm", NULL);
	rc = display_screenshot(d, ppm ? DISPLAY_PPM : DISPLAY_PNG, &img, &len);
	if (rc < 0)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, strerror(-rc), NULL);
	r = MHD_create_response_from_buffer(len, img, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(img);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				ppm ? "image/x-portable-pixmap" : "image/png");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* Hands the action to the VMM thread and writes its answer. */
static enum MHD_Result perform(struct api_server *s, struct MHD_Connection *c,
			       enum ctl_action action)
{
	struct ctl_request r = {.action = action};
	const struct ctl_answer *a = &r.answer;
	int rc;

	if (action == CTL_SCREENSHOT)
		return screenshot(s, c);
	rc = ctl_call(s->ch, &r, __atomic_load_n(&s->call_timeout_ms, __ATOMIC_RELAXED));

	if (rc == -ESHUTDOWN)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "the VMM is shutting down",
				     NULL);
	if (rc == -ETIMEDOUT)
		return respond_error(c, MHD_HTTP_GATEWAY_TIMEOUT,
				     "the VMM thread did not answer in time", NULL);
	if (rc < 0)
		return respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, strerror(-rc), NULL);
	if (a->result < 0)
		return respond_error(c, refusal_status(a->result), a->msg, NULL);
	switch (action) {
	case CTL_PING:
		return respond(c, MHD_HTTP_OK, api_json_ping(a), NULL);
	case CTL_INFO:
		return respond(c, MHD_HTTP_OK, api_json_info(a), NULL);
	case CTL_COUNTERS:
		return respond(c, MHD_HTTP_OK, api_json_counters(a), NULL);
	default:
		pr_info("api: %s", api_action_name(action)); /* a change of state: worth a line */
		return respond(c, MHD_HTTP_NO_CONTENT, NULL, NULL);
	}
}

static enum MHD_Result route(struct api_server *s, struct MHD_Connection *c, const char *url,
			     const char *method, const char *body, size_t len)
{
	struct api_route rt;

	api_parse(method, url, body, len, &rt);
	if (rt.status)
		return respond_error(c, (unsigned)rt.status, rt.error, rt.allow);
	return perform(s, c, rt.action);
}

/* The first call for a request (headers only): refuses a body announced as too large at
 * once, rather than after reading it. */
static enum MHD_Result first_call(struct api_server *s, struct MHD_Connection *c, const char *url,
				  const char *method)
{
	const char *cl =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;

	if (n <= API_MAX_BODY)
		return MHD_YES;
	return route(s, c, url, method, NULL, n > SIZE_MAX ? SIZE_MAX : (size_t)n);
}

static void take_upload(struct api_req *rq, const char *data, size_t n)
{
	size_t keep = rq->len < API_MAX_BODY ? API_MAX_BODY - rq->len : 0;

	rq->seen = rq->seen + n < rq->seen ? SIZE_MAX : rq->seen + n;
	if (keep > n)
		keep = n;
	if (!keep)
		return;
	if (!rq->body) {
		rq->body = malloc(API_MAX_BODY);
		if (!rq->body) {
			rq->seen = SIZE_MAX; /* answered as too large: better than a wrong answer */
			return;
		}
	}
	memcpy(rq->body + rq->len, data, keep);
	rq->len += keep;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct api_server *s = cls;
	struct api_req *rq = *con_cls;

	(void)version;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		s->inflight++;
		return first_call(s, c, url, method);
	}
	if (*upload_size) {
		take_upload(rq, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	return route(s, c, url, method, rq->seen > API_MAX_BODY ? NULL : rq->body, rq->seen);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct api_server *s = cls;
	struct api_req *rq = *con_cls;

	(void)c;
	(void)why;
	if (!rq)
		return;
	free(rq->body);
	free(rq);
	*con_cls = NULL;
	s->inflight--;
}

static int mhd_timeout(struct api_server *s, int cap_ms)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (MHD_get_timeout(s->mhd, &t) != MHD_YES)
		return cap_ms;
	return cap_ms >= 0 && t > (MHD_UNSIGNED_LONG_LONG)cap_ms ? cap_ms
	       : t > INT_MAX					 ? INT_MAX
								 : (int)t;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The API thread's loop: until stop_fd is written. */
static void serve(struct api_server *s)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = s->mhd_fd, .events = POLLIN},
				      {.fd = s->stop_fd, .events = POLLIN}};

		if (poll(p, 2, mhd_timeout(s, -1)) < 0 && errno != EINTR) {
			pr_warn("api: poll: %s", strerror(errno));
			return;
		}
		if (p[1].revents & POLLIN)
			return;
		MHD_run(s->mhd);
	}
}

/* At the end: no new connections; answers already given still go out. */
static void drain(struct api_server *s)
{
	MHD_socket l = MHD_quiesce_daemon(s->mhd);
	uint64_t end = mono_ms() + API_DRAIN_MS;

	if (l != MHD_INVALID_SOCKET)
		close(l);
	while (s->inflight && mono_ms() < end) {
		struct pollfd p = {.fd = s->mhd_fd, .events = POLLIN};

		poll(&p, 1, mhd_timeout(s, 20));
		MHD_run(s->mhd);
	}
}

static void *api_thread(void *arg)
{
	struct api_server *s = arg;
	int rc = seccomp_install(SECCOMP_API, s->seccomp);

	pthread_mutex_lock(&s->lock);
	s->start_rc = rc;
	s->started = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (rc < 0)
		return NULL;
	serve(s);
	drain(s);
	return NULL;
}

/* The listening socket (src/common/unix_sock.c): mode 0600 from the start; a stale socket
 * left by a VMM that died is replaced, a live one or anything else is not. */
static int listen_unix(struct api_server *s, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = unix_sock_listen(path, SOCK_CLOEXEC | SOCK_NONBLOCK, API_MAX_CLIENTS);

	if (fd < 0) {
		snprintf(err, errlen, "--api-socket: '%s' %s", path, unix_sock_strerror(fd));
		return fd;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (lstat(path, &st) == 0) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	return fd;
}

static void remove_socket(struct api_server *s)
{
	struct stat st;

	if (lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
}

static int start_mhd(struct api_server *s, int fd, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *info;

	/* The logger first: libmicrohttpd logs options it reads before it to stderr. */
	s->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, s,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_LISTEN_SOCKET,
				  (MHD_socket)fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_MAX_CLIENTS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_IDLE_TIMEOUT_S,
				  MHD_OPTION_END);
	if (!s->mhd) {
		close(fd);
		snprintf(err, errlen, "--api-socket: libmicrohttpd did not start");
		return -EIO;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	s->mhd_fd = info ? info->epoll_fd : -1;
	if (s->mhd_fd < 0) {
		snprintf(err, errlen, "--api-socket: libmicrohttpd has no epoll fd");
		return -EIO;
	}
	return 0;
}

/* Starts the thread and waits until its filter is in place. */
static int start_thread(struct api_server *s, char *err, size_t errlen)
{
	int rc = pthread_create(&s->thread, NULL, api_thread, s);

	if (rc) {
		snprintf(err, errlen, "cannot start the API thread: %s", strerror(rc));
		return -rc;
	}
	pthread_setname_np(s->thread, "api");
	pthread_mutex_lock(&s->lock);
	while (!s->started)
		pthread_cond_wait(&s->cond, &s->lock);
	rc = s->start_rc;
	pthread_mutex_unlock(&s->lock);
	if (rc < 0) {
		pthread_join(s->thread, NULL);
		snprintf(err, errlen, "cannot install the API thread's seccomp filter");
	}
	return rc;
}

static void free_server(struct api_server *s)
{
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	if (s->path[0])
		remove_socket(s);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int api_server_start(struct api_server **out, const char *path, struct ctl_channel *ch,
		     enum seccomp_mode seccomp, char *err, size_t errlen)
{
	struct api_server *s = calloc(1, sizeof(*s));
	int fd, rc;

	*out = NULL;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* libmicrohttpd writes a Date header: glibc opens /etc/localtime on its first time
	 * conversion, which the API thread's filter forbids. */
	tzset();
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->ch = ch;
	s->call_timeout_ms = API_CALL_TIMEOUT_MS;
	s->seccomp = seccomp;
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		free_server(s);
		return -EMFILE;
	}
	fd = listen_unix(s, path, err, errlen);
	rc = fd < 0 ? fd : start_mhd(s, fd, err, errlen);
	if (rc == 0)
		rc = start_thread(s, err, errlen);
	if (rc < 0) {
		free_server(s);
		return rc;
	}
	*out = s;
	return 0;
}

void api_server_stop(struct api_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	if (write(s->stop_fd, &one, sizeof(one)) < 0) {
		pr_warn("api: cannot stop the API thread: %s", strerror(errno));
		return; /* it may still run: leave it its memory */
	}
	pthread_join(s->thread, NULL);
	free_server(s);
}
