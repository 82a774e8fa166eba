#include "api/api_server.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api_http.h"
#include "api/api_json.h"
#include "api/api_parse.h"
#include "common/log.h"
#include "common/unix_sock.h"
#include "ui/display.h"

#define API_CALL_TIMEOUT_MS 30000 /* a request the VMM thread hasn't answered by then: 504 */
#define API_IDLE_TIMEOUT_MS 60000 /* idle keep-alive connections are closed */
#define API_MAX_CLIENTS	    16
#define API_DRAIN_MS	    1000 /* at the end, how long answers may take to leave */
#define API_IN_MAX	    (API_HEAD_MAX + API_MAX_BODY) /* one request, at most */

/* One client connection: its input until a whole request is in, then its answer going out. */
struct api_conn {
	int fd; /* -1: a free slot */
	char *in;
	size_t inlen, incap;
	char *out; /* the answer being written (head and body), or NULL */
	size_t outlen, outoff;
	bool close_after; /* close once out has left */
	uint64_t last_ms; /* last activity, for the idle timeout */
};

struct api_server {
	int listen_fd;
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
	struct api_conn conns[API_MAX_CLIENTS];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev; /* the socket file we made: removed at the end if it's still ours */
	ino_t ino;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Queues the answer on c: the head, then len bytes of body (taken: freed here). */
static void respond_raw(struct api_conn *c, unsigned status, const char *ctype, void *body,
			size_t len, const char *allow)
{
	char head[512];
	size_t hn =
	    api_http_response_head(head, sizeof(head), status, ctype, len, allow, c->close_after);
	char *out = malloc(hn + len);

	if (!out) {
		free(body);
		c->close_after = true; /* nothing can be said: the connection ends */
		return;
	}
	memcpy(out, head, hn);
	if (len)
		memcpy(out + hn, body, len);
	free(body);
	c->out = out;
	c->outlen = hn + len;
	c->outoff = 0;
}

/* Queues status with body (malloc'd JSON, or NULL for none). */
static void respond(struct api_conn *c, unsigned status, char *body, const char *allow)
{
	if (!body && status != 204) {
		status = 500;
		body = strdup("{\"error\":\"out of memory\"}");
	}
	respond_raw(c, status, body ? "application/json" : NULL, body, body ? strlen(body) : 0,
		    allow);
}

static void respond_error(struct api_conn *c, unsigned status, const char *msg, const char *allow)
{
	pr_info("api: error %u: %s", status, msg);
	respond(c, status, api_json_error(msg), allow);
}

/* The HTTP status for an action the VMM thread refused. */
static unsigned refusal_status(int result)
{
	switch (result) {
	case -EALREADY:
	case -ESHUTDOWN:
		return 409;
	case -ETIMEDOUT:
		return 504;
	default:
		return 500;
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
static void screenshot(struct api_server *s, struct api_conn *c, const char *query)
{
	struct display *d = __atomic_load_n(&s->display, __ATOMIC_ACQUIRE);
	char f[8];
	bool has_f = http_query_get(query, "format", f, sizeof(f));
	bool ppm = has_f && !strcmp(f, "ppm");
	uint8_t *img = NULL;
	size_t len = 0;
	int rc;

	if (!d) {
		respond_error(c, 409, "this VM has no display (--display)", NULL);
		return;
	}
	if ((has_f || strstr(query, "format=")) && !ppm && !(has_f && !strcmp(f, "png"))) {
		respond_error(c, 400, "format must be png or ppm", NULL);
		return;
	}
	rc = display_screenshot(d, ppm ? DISPLAY_PPM : DISPLAY_PNG, &img, &len);
	if (rc < 0) {
		respond_error(c, 500, strerror(-rc), NULL);
		return;
	}
	respond_raw(c, 200, ppm ? "image/x-portable-pixmap" : "image/png", img, len, NULL);
}

/* Hands the action to the VMM thread and queues its answer. */
static void perform(struct api_server *s, struct api_conn *c, enum ctl_action action,
		    const char *query)
{
	struct ctl_request r = {.action = action};
	const struct ctl_answer *a = &r.answer;
	int rc;

	if (action == CTL_SCREENSHOT) {
		screenshot(s, c, query);
		return;
	}
	rc = ctl_call(s->ch, &r, __atomic_load_n(&s->call_timeout_ms, __ATOMIC_RELAXED));
	if (rc == -ESHUTDOWN)
		respond_error(c, 503, "the VMM is shutting down", NULL);
	else if (rc == -ETIMEDOUT)
		respond_error(c, 504, "the VMM thread did not answer in time", NULL);
	else if (rc < 0)
		respond_error(c, 500, strerror(-rc), NULL);
	else if (a->result < 0)
		respond_error(c, refusal_status(a->result), a->msg, NULL);
	else if (action == CTL_PING)
		respond(c, 200, api_json_ping(a), NULL);
	else if (action == CTL_INFO)
		respond(c, 200, api_json_info(a), NULL);
	else if (action == CTL_COUNTERS)
		respond(c, 200, api_json_counters(a), NULL);
	else {
		pr_info("api: %s", api_action_name(action)); /* a change of state: worth a line */
		respond(c, 204, NULL, NULL);
	}
}

static void conn_close(struct api_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c->out);
	*c = (struct api_conn){.fd = -1};
}

/* With no answer pending: frames the next request in c's input and answers it. */
static void process(struct api_server *s, struct api_conn *c)
{
	struct api_http_req rq;
	struct api_route rt;
	long n;

	if (c->out || !c->inlen)
		return;
	n = api_http_frame(c->in, c->inlen, &rq);
	if (n == 0) {
		if (c->inlen >= API_IN_MAX) /* cannot happen: a head is refused at API_HEAD_MAX */
			c->close_after = true;
		return;
	}
	if (n < 0) {
		c->close_after = true;
		c->inlen = 0;
		respond_error(c, (unsigned)-n,
			      n == -431 ? "request head too long"
			      : n == -501
				  ? "Transfer-Encoding is not supported: send Content-Length"
				  : "malformed HTTP request",
			      NULL);
		return;
	}
	c->close_after = rq.close;
	api_parse(rq.head.method, rq.head.path, rq.body_unread ? NULL : rq.body,
		  rq.length > SIZE_MAX ? SIZE_MAX : (size_t)rq.length, &rt);
	if (rt.status)
		respond_error(c, (unsigned)rt.status, rt.error, rt.allow);
	else
		perform(s, c, rt.action, rq.head.query);
	/* This request's bytes go; a pipelined next one stays for after the answer. */
	if (rq.body_unread)
		c->inlen = 0;
	else {
		memmove(c->in, c->in + n, c->inlen - (size_t)n);
		c->inlen -= (size_t)n;
	}
}

/* Reads what c's client sent. false: the connection is over. */
static bool conn_read(struct api_conn *c)
{
	ssize_t n;

	if (c->incap - c->inlen < 4096 && c->incap < API_IN_MAX) {
		size_t cap = c->incap ? c->incap * 2 : 4096;
		char *in = realloc(c->in, cap < API_IN_MAX ? cap : API_IN_MAX);

		if (!in)
			return false;
		c->in = in;
		c->incap = cap < API_IN_MAX ? cap : API_IN_MAX;
	}
	if (c->inlen == c->incap)
		return true; /* full until the answer goes: process() frames or refuses it */
	n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return false;
	if (n > 0)
		c->inlen += (size_t)n;
	return true;
}

/* Writes what it can of c's answer. false: the connection is over. */
static bool conn_write(struct api_conn *c)
{
	ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	c->outoff += (size_t)n;
	if (c->outoff < c->outlen)
		return true;
	free(c->out);
	c->out = NULL;
	return !c->close_after;
}

/* Answers every request that is whole in c's input, as long as each answer leaves at once.
 * false: the connection is over. */
static bool conn_serve(struct api_server *s, struct api_conn *c)
{
	while (!c->out) {
		process(s, c);
		if (!c->out)
			return !c->close_after; /* more input needed (or no answer could be made) */
		if (!conn_write(c))
			return false;
	}
	return true;
}

static void accept_clients(struct api_server *s, uint64_t now)
{
	for (int i = 0; i < API_MAX_CLIENTS; i++) {
		struct api_conn *c = &s->conns[i];
		int fd;

		if (c->fd >= 0)
			continue;
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		*c = (struct api_conn){.fd = fd, .last_ms = now};
	}
}

static unsigned nclients(const struct api_server *s)
{
	unsigned n = 0;

	for (int i = 0; i < API_MAX_CLIENTS; i++)
		n += s->conns[i].fd >= 0;
	return n;
}

/* One round of the loop: waits up to timeout_ms for the sockets, then serves them. Returns
 * false when stop_fd was written. listening: new clients are taken. */
static bool serve_once(struct api_server *s, bool listening, int timeout_ms)
{
	struct pollfd p[API_MAX_CLIENTS + 2];
	int idx[API_MAX_CLIENTS];
	unsigned np = 0;
	uint64_t now;

	p[np++] = (struct pollfd){.fd = s->stop_fd, .events = POLLIN};
	p[np++] = (struct pollfd){
	    .fd = listening && nclients(s) < API_MAX_CLIENTS ? s->listen_fd : -1, .events = POLLIN};
	for (int i = 0; i < API_MAX_CLIENTS; i++) {
		struct api_conn *c = &s->conns[i];

		idx[i] = -1;
		if (c->fd < 0)
			continue;
		idx[i] = (int)np;
		p[np++] = (struct pollfd){.fd = c->fd, .events = c->out ? POLLOUT : POLLIN};
	}
	if (poll(p, np, timeout_ms) < 0 && errno != EINTR) {
		pr_warn("api: poll: %s", strerror(errno));
		return false;
	}
	if (p[0].revents & POLLIN)
		return false;
	now = mono_ms();
	if (p[1].revents & POLLIN)
		accept_clients(s, now);
	for (int i = 0; i < API_MAX_CLIENTS; i++) {
		struct api_conn *c = &s->conns[i];
		short ev = idx[i] >= 0 ? p[idx[i]].revents : 0;
		bool alive = true;

		if (c->fd < 0 || idx[i] < 0)
			continue;
		if (ev & (POLLIN | POLLHUP | POLLERR)) {
			alive = c->out ? !(ev & (POLLHUP | POLLERR)) : conn_read(c);
			c->last_ms = now;
		}
		if (alive && (ev & POLLOUT)) {
			alive = conn_write(c);
			c->last_ms = now;
		}
		if (alive)
			alive = conn_serve(s, c);
		if (!alive || now - c->last_ms > API_IDLE_TIMEOUT_MS)
			conn_close(c);
	}
	return true;
}

/* The API thread's loop: until stop_fd is written. */
static void serve(struct api_server *s)
{
	while (serve_once(s, true, 1000))
		;
}

/* At the end: no new connections; answers already queued still go out. */
static void drain(struct api_server *s)
{
	uint64_t end = mono_ms() + API_DRAIN_MS;
	bool pending = true;

	close(s->listen_fd);
	s->listen_fd = -1;
	while (pending && mono_ms() < end) {
		pending = false;
		for (int i = 0; i < API_MAX_CLIENTS; i++) {
			struct api_conn *c = &s->conns[i];

			if (c->fd >= 0 && c->out)
				pending = true;
			else if (c->fd >= 0)
				conn_close(c);
		}
		if (pending) {
			uint64_t zero;

			if (read(s->stop_fd, &zero, sizeof(zero)) < 0 && errno != EAGAIN)
				break;
			serve_once(s, false, 20);
		}
	}
	for (int i = 0; i < API_MAX_CLIENTS; i++)
		conn_close(&s->conns[i]);
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
	for (int i = 0; i < API_MAX_CLIENTS; i++)
		conn_close(&s->conns[i]);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
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
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->listen_fd = -1;
	for (int i = 0; i < API_MAX_CLIENTS; i++)
		s->conns[i].fd = -1;
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
	s->listen_fd = fd;
	rc = fd < 0 ? fd : start_thread(s, err, errlen);
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
