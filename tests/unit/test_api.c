/* The API: the request parser (every endpoint, wrong methods, broken JSON, huge bodies), the
 * JSON answers, the control channel, and the HTTP server end to end on a Unix socket, with
 * its thread under the API's seccomp filter and a stand-in VMM thread answering. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "filters.h"
#include "api/api_json.h"
#include "api/api_http.h"
#include "api/api_parse.h"
#include "api/api_server.h"
#include "kvm/control.h"

/* ---- the parser ---- */

static int parse(const char *method, const char *path, const char *body, struct api_route *rt)
{
	api_parse(method, path, body, body ? strlen(body) : 0, rt);
	return rt->status;
}

static void test_every_endpoint(void **state)
{
	static const struct {
		const char *method, *path;
		enum ctl_action action;
	} ok[] = {
	    {"GET", "/api/v1/vmm.ping", CTL_PING},
	    {"GET", "/api/v1/vm.info", CTL_INFO},
	    {"GET", "/api/v1/vm.counters", CTL_COUNTERS},
	    {"PUT", "/api/v1/vm.pause", CTL_PAUSE},
	    {"PUT", "/api/v1/vm.resume", CTL_RESUME},
	    {"PUT", "/api/v1/vm.shutdown", CTL_SHUTDOWN},
	    {"PUT", "/api/v1/vmm.shutdown", CTL_SHUTDOWN},
	    {"PUT", "/api/v1/vm.reboot", CTL_REBOOT},
	    {"PUT", "/api/v1/vm.power-button", CTL_POWER_BUTTON},
	    {"GET", "/api/v1/vm.screenshot", CTL_SCREENSHOT},
	};
	struct api_route rt;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(parse(ok[i].method, ok[i].path, NULL, &rt), 0);
		assert_int_equal(rt.action, ok[i].action);
		/* An empty object, or white space, is no body at all. */
		assert_int_equal(parse(ok[i].method, ok[i].path, "{}", &rt), 0);
		assert_int_equal(parse(ok[i].method, ok[i].path, " \r\n\t", &rt), 0);
		assert_int_equal(parse(ok[i].method, ok[i].path, " { } \n", &rt), 0);
		assert_int_equal(rt.action, ok[i].action);
	}
	assert_string_equal(api_action_name(CTL_POWER_BUTTON), "vm.power-button");
}

static void test_unknown_paths(void **state)
{
	static const char *const bad[] = {
	    "/",
	    "",
	    "/api/v1/",
	    "/api/v1/vm.infox",
	    "/api/v1/vm.info/",
	    "/api/v2/vm.info",
	    "/API/V1/vm.info",
	    "api/v1/vm.info",
	    "/api/v1/vm.boot",
	    "/api/v1//vm.info",
	    "/api/v1/vm.info?x=1",
	    "/api/v1/../v1/vm.info",
	};
	struct api_route rt;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse("GET", bad[i], NULL, &rt), 404);
		assert_true(rt.error[0]);
		assert_int_equal(parse("PUT", bad[i], "{", &rt), 404); /* the path comes first */
	}
}

static void test_wrong_methods(void **state)
{
	struct api_route rt;

	(void)state;
	assert_int_equal(parse("PUT", "/api/v1/vm.info", NULL, &rt), 405);
	assert_string_equal(rt.allow, "GET");
	assert_non_null(strstr(rt.error, "GET"));
	assert_int_equal(parse("GET", "/api/v1/vm.pause", NULL, &rt), 405);
	assert_string_equal(rt.allow, "PUT");
	assert_int_equal(parse("POST", "/api/v1/vm.shutdown", NULL, &rt), 405);
	assert_int_equal(parse("DELETE", "/api/v1/vmm.ping", NULL, &rt), 405);
	assert_int_equal(parse("HEAD", "/api/v1/vmm.ping", NULL, &rt), 405);
	assert_int_equal(parse("get", "/api/v1/vmm.ping", NULL, &rt), 405); /* case matters */
	assert_int_equal(parse("", "/api/v1/vmm.ping", NULL, &rt), 405);
}

static void test_bodies(void **state)
{
	static const char *const broken[] = {
	    "{",     "}",	   "{\"a\":}",		"nul",	   "{}}",
	    "{} {}", "{'a': 1}",   "{\"a\" 1}",		"\"\\x\"", "{\"a\":1,}",
	    "[1, 2", "\xff\xfe{}", "{\"a\":1,\"a\":2}", /* duplicate keys */
	};
	static const char *const not_objects[] = {"[]", "1", "\"str\"", "null", "true", "[{}]"};
	struct api_route rt;

	(void)state;
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		assert_int_equal(parse("PUT", "/api/v1/vm.pause", broken[i], &rt), 400);
		assert_non_null(strstr(rt.error, "malformed JSON"));
	}
	for (size_t i = 0; i < sizeof(not_objects) / sizeof(not_objects[0]); i++) {
		assert_int_equal(parse("PUT", "/api/v1/vm.pause", not_objects[i], &rt), 400);
		assert_non_null(strstr(rt.error, "object"));
	}
	/* No endpoint takes parameters (yet): a member is refused rather than ignored. */
	assert_int_equal(parse("PUT", "/api/v1/vm.reboot", "{\"force\": true}", &rt), 400);
	assert_non_null(strstr(rt.error, "vm.reboot takes no parameters"));
	assert_int_equal(parse("GET", "/api/v1/vm.info", "{\"x\": 1}", &rt), 400);
	/* A NUL inside the body. */
	api_parse("PUT", "/api/v1/vm.pause", "{}\0", 3, &rt);
	assert_int_equal(rt.status, 400);
	api_parse("PUT", "/api/v1/vm.pause", "\0", 1, &rt);
	assert_int_equal(rt.status, 400);
}

static void test_huge_bodies(void **state)
{
	char *big = malloc(API_MAX_BODY + 2);
	struct api_route rt;

	(void)state;
	assert_non_null(big);
	memset(big, ' ', API_MAX_BODY + 1);
	big[0] = '{';
	big[API_MAX_BODY - 1] = '}';
	/* Exactly the limit is fine; one byte more is 413, and the body is then not read. */
	api_parse("PUT", "/api/v1/vm.pause", big, API_MAX_BODY, &rt);
	assert_int_equal(rt.status, 0);
	api_parse("PUT", "/api/v1/vm.pause", big, API_MAX_BODY + 1, &rt);
	assert_int_equal(rt.status, 413);
	api_parse("PUT", "/api/v1/vm.pause", NULL, API_MAX_BODY + 1, &rt);
	assert_int_equal(rt.status, 413);
	api_parse("PUT", "/api/v1/vm.pause", NULL, SIZE_MAX, &rt);
	assert_int_equal(rt.status, 413);
	/* Unknown path and wrong method still win over the size. */
	api_parse("PUT", "/nope", NULL, SIZE_MAX, &rt);
	assert_int_equal(rt.status, 404);
	api_parse("GET", "/api/v1/vm.pause", NULL, SIZE_MAX, &rt);
	assert_int_equal(rt.status, 405);
	free(big);
}

/* ---- JSON answers ---- */

static struct vm_config test_cfg(void)
{
	struct vm_config c;

	memset(&c, 0, sizeof(c));
	c.kernel = "/boot/vmlinuz";
	c.initramfs = "/boot/initrd\xff.img"; /* not UTF-8 */
	c.cmdline = "console=ttyS0 \"quoted\"";
	c.ncpus = 2;
	c.mem_size = 256ull << 20;
	c.serial = SERIAL_TTY;
	c.console = SERIAL_SOCKET;
	strcpy(c.console_path, "/run/hvc.sock");
	c.ndisks = 1;
	strcpy(c.disks[0].path, "/img/a.raw");
	c.disks[0].readonly = true;
	strcpy(c.cdrom, "/isos/install.iso");
	c.nnets = 1;
	c.nets[0].backend = NET_TAP;
	strcpy(c.nets[0].target, "tap0");
	c.nets[0].mac_set = true;
	memcpy(c.nets[0].mac, "\x52\x54\x00\x12\x34\x56", 6);
	c.rng = true;
	return c;
}

static json_t *load(char *s)
{
	json_error_t e;
	json_t *j;

	assert_non_null(s);
	j = json_loads(s, 0, &e);
	free(s);
	assert_non_null(j);
	return j;
}

static void test_json_info(void **state)
{
	struct vm_config c = test_cfg();
	struct ctl_answer a;
	json_t *j, *cfg;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.state = CTL_STATE_PAUSED;
	a.cfg = &c;
	a.boots = 3;
	a.counters.ncpus = 2;
	a.counters.vcpu[1].io = 7;
	a.counters.serial_tx = 1234;
	j = load(api_json_info(&a));
	assert_string_equal(json_string_value(json_object_get(j, "state")), "Paused");
	assert_int_equal(json_integer_value(json_object_get(j, "boot_count")), 3);
	cfg = json_object_get(j, "config");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(cfg, "cpus"), "boot_vcpus")), 2);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(cfg, "memory"), "size")), 256 << 20);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(cfg, "payload"), "initramfs")),
	    "/boot/initrd?.img");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(cfg, "payload"), "cmdline")),
	    "console=ttyS0 \"quoted\"");
	assert_true(json_is_true(
	    json_object_get(json_array_get(json_object_get(cfg, "disks"), 0), "readonly")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(cfg, "cdrom"), "path")),
	    "/isos/install.iso");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(cfg, "net"), 0), "mac")),
			    "52:54:00:12:34:56");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(cfg, "console"), "socket")),
	    "/run/hvc.sock");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(cfg, "serial"), "mode")), "Tty");
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(json_object_get(j, "counters"), "vcpu1"), "exits_io")),
			 7);
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(j, "counters"), "serial"), "tx_bytes")),
	    1234);
	json_decref(j);
	c.cdrom[0] = 0; /* no --cdrom: null */
	j = load(api_json_info(&a));
	assert_true(json_is_null(json_object_get(json_object_get(j, "config"), "cdrom")));
	json_decref(j);
}

static void test_json_small(void **state)
{
	struct ctl_answer a;
	json_t *j;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.pid = 4242;
	j = load(api_json_ping(&a));
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), 4242);
	assert_string_equal(json_string_value(json_object_get(j, "build_version")),
			    PHYLLOME_VERSION);
	json_decref(j);
	j = load(api_json_error("bad \"thing\"\n"));
	assert_string_equal(json_string_value(json_object_get(j, "error")), "bad \"thing\"\n");
	json_decref(j);
	a.counters.ncpus = 3;
	j = load(api_json_counters(&a));
	assert_non_null(json_object_get(j, "vcpu2"));
	assert_null(json_object_get(j, "vcpu3"));
	assert_non_null(json_object_get(json_object_get(j, "acpi_pm"), "power_button_acks"));
	json_decref(j);
	/* A VM whose creation failed has no configuration to report... but still says so. */
	a.state = CTL_STATE_SHUTDOWN;
	j = load(api_json_info(&a));
	assert_string_equal(json_string_value(json_object_get(j, "state")), "Shutdown");
	assert_true(json_is_null(json_object_get(j, "config")));
	json_decref(j);
}

/* ---- the control channel ---- */

/* A stand-in VMM thread: answers requests like vm_answer does, keeping a paused flag. */
struct fake_vmm {
	struct ctl_channel *ch;
	int stop[2]; /* a pipe: written to stop the thread */
	pthread_t thread;
	bool paused, shut;
	unsigned answered, presses;
	int delay_ms;	     /* before taking each request */
	int answer_delay_ms; /* after taking it, before answering (a VMM thread that is busy) */
};

static void fake_answer(struct fake_vmm *f, struct ctl_request *r)
{
	struct ctl_answer *a = &r->answer;

	a->pid = getpid();
	a->boots = 1;
	switch (r->action) {
	case CTL_PAUSE:
	case CTL_RESUME:
		if (f->paused == (r->action == CTL_PAUSE)) {
			a->result = -EALREADY;
			strcpy(a->msg,
			       f->paused ? "the VM is already paused" : "the VM is not paused");
		}
		f->paused = r->action == CTL_PAUSE;
		break;
	case CTL_SHUTDOWN:
		f->shut = true;
		break;
	case CTL_POWER_BUTTON:
		f->presses++;
		break;
	default:
		break;
	}
	a->counters.ncpus = 1;
	a->counters.pwrbtn_presses = f->presses;
	a->state = f->shut ? CTL_STATE_SHUTDOWN : f->paused ? CTL_STATE_PAUSED : CTL_STATE_RUNNING;
	__atomic_add_fetch(&f->answered, 1, __ATOMIC_RELAXED);
}

static void *fake_vmm_thread(void *arg)
{
	struct fake_vmm *f = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = f->ch->event_fd, .events = POLLIN},
				      {.fd = f->stop[0], .events = POLLIN}};
		struct ctl_request *r;

		poll(p, 2, -1);
		if (p[1].revents)
			return NULL;
		if (f->delay_ms)
			usleep((useconds_t)f->delay_ms * 1000);
		while ((r = ctl_take(f->ch))) {
			int d = __atomic_load_n(&f->answer_delay_ms, __ATOMIC_RELAXED);

			if (d)
				usleep((useconds_t)d * 1000);
			fake_answer(f, r);
			ctl_reply(f->ch, r);
		}
	}
}

static void fake_start(struct fake_vmm *f, struct ctl_channel *ch, int delay_ms)
{
	memset(f, 0, sizeof(*f));
	f->ch = ch;
	f->delay_ms = delay_ms;
	assert_int_equal(pipe(f->stop), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_vmm_thread, f), 0);
}

static void fake_stop(struct fake_vmm *f)
{
	assert_int_equal(write(f->stop[1], "x", 1), 1);
	pthread_join(f->thread, NULL);
	close(f->stop[0]);
	close(f->stop[1]);
}

static void test_channel(void **state)
{
	struct ctl_channel ch;
	struct fake_vmm f;
	struct ctl_request r = {.action = CTL_PAUSE};

	(void)state;
	assert_int_equal(ctl_init(&ch), 0);
	fake_start(&f, &ch, 0);
	assert_int_equal(ctl_call(&ch, &r, 5000), 0);
	assert_int_equal(r.answer.result, 0);
	assert_int_equal(r.answer.state, CTL_STATE_PAUSED);
	assert_int_equal(ctl_call(&ch, &r, 5000), 0);
	assert_int_equal(r.answer.result, -EALREADY);
	for (int i = 0; i < 100; i++) {
		r.action = i % 2 ? CTL_PING : CTL_POWER_BUTTON;
		assert_int_equal(ctl_call(&ch, &r, 5000), 0);
	}
	assert_int_equal(f.presses, 50);
	fake_stop(&f);
	/* Nobody takes it: the request is taken back after the timeout. */
	assert_int_equal(ctl_call(&ch, &r, 50), -ETIMEDOUT);
	assert_null(ctl_take(&ch));
	/* Taken but not answered in time: the caller gives up (bounded), the late answer
	 * goes nowhere (the VMM thread frees the request), and the channel still works. */
	fake_start(&f, &ch, 0);
	f.answer_delay_ms = 300;
	r.action = CTL_POWER_BUTTON;
	assert_int_equal(ctl_call(&ch, &r, 50), -ETIMEDOUT);
	assert_int_equal(r.answer.result, 0);
	usleep(400 * 1000);
	assert_int_equal(__atomic_load_n(&f.answered, __ATOMIC_RELAXED), 1);
	__atomic_store_n(&f.answer_delay_ms, 0, __ATOMIC_RELAXED);
	assert_int_equal(ctl_call(&ch, &r, 5000), 0);
	assert_int_equal(r.answer.counters.pwrbtn_presses, 2);
	fake_stop(&f);
	/* Closed: refused at once; what was queued before is still taken. */
	ctl_close(&ch);
	assert_int_equal(ctl_call(&ch, &r, 5000), -ESHUTDOWN);
	assert_null(ctl_take(&ch));
	ctl_destroy(&ch);
}

/* ---- the server, end to end ---- */

struct srv {
	char dir[64], path[128];
	struct ctl_channel ch;
	struct fake_vmm vmm;
	struct api_server *api;
};

/* Starting and stopping the server happen in the VMM thread, under the VMM's filter; the API
 * thread then stacks its own (FILTERS: tests/common/filters.h). */

struct vmm_job {
	struct srv *s;
	bool start;
	int rc;
	char err[256];
};

static void *vmm_thread_job(void *arg)
{
	struct vmm_job *j = arg;

	j->rc = seccomp_install(SECCOMP_VMM, FILTERS);
	if (j->rc < 0)
		snprintf(j->err, sizeof(j->err), "seccomp_install: %d", j->rc);
	else if (j->start)
		j->rc = api_server_start(&j->s->api, j->s->path, &j->s->ch, FILTERS, j->err,
					 sizeof(j->err));
	else
		api_server_stop(j->s->api);
	return NULL;
}

static void in_vmm_thread(struct srv *s, bool start)
{
	struct vmm_job j = {.s = s, .start = start};
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, vmm_thread_job, &j), 0);
	pthread_join(t, NULL);
	if (j.rc < 0)
		fail_msg("%s", j.err);
}

static int srv_setup(void **state)
{
	struct srv *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	strcpy(s->dir, "/tmp/phyllome-api-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/api.sock", s->dir);
	assert_int_equal(ctl_init(&s->ch), 0);
	fake_start(&s->vmm, &s->ch, 0);
	in_vmm_thread(s, true);
	*state = s;
	return 0;
}

static int srv_teardown(void **state)
{
	struct srv *s = *state;

	ctl_close(&s->ch);
	in_vmm_thread(s, false);
	fake_stop(&s->vmm);
	ctl_destroy(&s->ch);
	rmdir(s->dir);
	free(s);
	return 0;
}

struct reply {
	int status;
	char head[2048];
	char *body;
	char buf[8192];
};

static int dial(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(a.sun_path, path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Sends a raw request (len bytes), reads until the server closes (5 s at most). */
static void http_raw(const char *path, const char *req, size_t len, struct reply *rp)
{
	int fd = dial(path);
	size_t got = 0;

	assert_true(fd >= 0);
	memset(rp, 0, sizeof(*rp));
	for (size_t off = 0; off < len;) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (n < 0)
			break; /* the server answered early and closed: read what it said */
		off += (size_t)n;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		assert_int_equal(poll(&p, 1, 5000), 1);
		n = read(fd, rp->buf + got, sizeof(rp->buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	rp->buf[got] = 0;
	assert_int_equal(sscanf(rp->buf, "HTTP/1.1 %d", &rp->status), 1);
	rp->body = strstr(rp->buf, "\r\n\r\n");
	assert_non_null(rp->body);
	memcpy(rp->head, rp->buf, (size_t)(rp->body - rp->buf));
	rp->body += 4;
}

static void http_str(const char *path, const char *req, struct reply *rp)
{
	http_raw(path, req, strlen(req), rp);
}

static int http(struct srv *s, const char *method, const char *url, const char *body,
		struct reply *rp)
{
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 method, url, body ? strlen(body) : 0, body ? body : "");

	http_raw(s->path, req, (size_t)n, rp);
	return rp->status;
}

/* The "error" member of an error reply. */
static const char *error_of(struct reply *rp)
{
	static char msg[256];
	json_t *j = json_loads(rp->body, 0, NULL);

	assert_non_null(j);
	assert_non_null(strstr(rp->head, "Content-Type: application/json"));
	snprintf(msg, sizeof(msg), "%s", json_string_value(json_object_get(j, "error")));
	json_decref(j);
	return msg;
}

static void test_server_endpoints(void **state)
{
	struct srv *s = *state;
	struct reply rp;
	json_t *j;

	assert_int_equal(http(s, "GET", "/api/v1/vmm.ping", NULL, &rp), 200);
	j = json_loads(rp.body, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), getpid());
	json_decref(j);
	assert_int_equal(http(s, "GET", "/api/v1/vm.info", NULL, &rp), 200);
	assert_non_null(strstr(rp.body, "\"state\":\"Running\""));
	assert_int_equal(http(s, "PUT", "/api/v1/vm.pause", NULL, &rp), 204);
	assert_string_equal(rp.body, "");
	assert_int_equal(http(s, "GET", "/api/v1/vm.info", NULL, &rp), 200);
	assert_non_null(strstr(rp.body, "\"state\":\"Paused\""));
	assert_int_equal(http(s, "PUT", "/api/v1/vm.pause", "{}", &rp), 409);
	assert_string_equal(error_of(&rp), "the VM is already paused");
	assert_int_equal(http(s, "PUT", "/api/v1/vm.resume", NULL, &rp), 204);
	assert_int_equal(http(s, "PUT", "/api/v1/vm.resume", NULL, &rp), 409);
	assert_int_equal(http(s, "PUT", "/api/v1/vm.power-button", NULL, &rp), 204);
	/* No display in this VM: vm.screenshot says so. */
	assert_int_equal(http(s, "GET", "/api/v1/vm.screenshot", NULL, &rp), 409);
	assert_int_equal(http(s, "GET", "/api/v1/vm.counters", NULL, &rp), 200);
	assert_non_null(strstr(rp.body, "\"power_button_presses\":1"));
	assert_int_equal(http(s, "PUT", "/api/v1/vm.reboot", NULL, &rp), 204);
	assert_int_equal(http(s, "PUT", "/api/v1/vm.shutdown", NULL, &rp), 204);
	assert_true(s->vmm.shut);
}

static void test_server_errors(void **state)
{
	struct srv *s = *state;
	struct reply rp;

	assert_int_equal(http(s, "GET", "/api/v1/vm.nothing", NULL, &rp), 404);
	assert_string_equal(error_of(&rp), "no such endpoint (see docs/api.md)");
	assert_int_equal(http(s, "GET", "/", NULL, &rp), 404);
	assert_int_equal(http(s, "DELETE", "/api/v1/vm.info", NULL, &rp), 405);
	assert_non_null(strstr(rp.head, "Allow: GET"));
	assert_int_equal(http(s, "GET", "/api/v1/vm.shutdown", NULL, &rp), 405);
	assert_non_null(strstr(rp.head, "Allow: PUT"));
	assert_int_equal(http(s, "PUT", "/api/v1/vm.pause", "{\"a\":", &rp), 400);
	assert_non_null(strstr(error_of(&rp), "malformed JSON"));
	assert_int_equal(http(s, "PUT", "/api/v1/vm.pause", "[]", &rp), 400);
	/* The query string is not part of the path. */
	assert_int_equal(http(s, "GET", "/api/v1/vmm.ping?verbose=1", NULL, &rp), 200);
	/* None of these reached the VMM thread: only the ping. */
	assert_int_equal(s->vmm.answered, 1);
}

static void test_server_huge_bodies(void **state)
{
	struct srv *s = *state;
	size_t big = 3 * API_MAX_BODY;
	char *req = malloc(big + 512);
	struct reply rp;
	int n;

	assert_non_null(req);
	/* Announced by Content-Length: refused before the body is read. */
	n = snprintf(req, 512,
		     "PUT /api/v1/vm.pause HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
		     big);
	memset(req + n, ' ', big);
	http_raw(s->path, req, (size_t)n + big, &rp);
	assert_int_equal(rp.status, 413);
	assert_non_null(strstr(error_of(&rp), "over 65536 bytes"));
	/* An absurd length. */
	n = snprintf(req, 512,
		     "PUT /api/v1/vm.pause HTTP/1.1\r\nHost: x\r\n"
		     "Content-Length: 18446744073709551615\r\n\r\n{}");
	http_raw(s->path, req, (size_t)n, &rp);
	assert_int_equal(rp.status, 413);
	/* A chunked body is not taken (no client of the API sends one): 501, and the
	 * connection ends. */
	n = snprintf(req, 512,
		     "PUT /api/v1/vm.pause HTTP/1.1\r\nHost: x\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n1\r\n}\r\n0\r\n\r\n");
	http_raw(s->path, req, (size_t)n, &rp);
	assert_int_equal(rp.status, 501);
	assert_non_null(strstr(error_of(&rp), "Content-Length"));
	assert_int_equal(s->vmm.answered, 0);
	free(req);
}

/* What cannot be framed is answered once and the connection closed; HTTP/1.0 closes. */
static void test_server_framing(void **state)
{
	struct srv *s = *state;
	static char req[API_HEAD_MAX + 512];
	struct reply rp;
	int n;

	http_str(s->path, "GET /api/v1/vmm.ping HTTP/1.1\r\nno colon here\r\n\r\n", &rp);
	assert_int_equal(rp.status, 400);
	http_str(s->path, "GET /api/v1/vmm.ping HTTP/2.0\r\n\r\n", &rp);
	assert_int_equal(rp.status, 400);
	n = snprintf(req, sizeof(req), "GET /api/v1/vmm.ping HTTP/1.1\r\nX-Pad: ");
	memset(req + n, 'a', API_HEAD_MAX);
	http_raw(s->path, req, (size_t)n + API_HEAD_MAX, &rp);
	assert_int_equal(rp.status, 431);
	n = snprintf(req, sizeof(req),
		     "GET /api/v1/vmm.ping HTTP/1.1\r\nContent-Length: 2\r\n"
		     "Content-Length: 3\r\n\r\n{}");
	http_raw(s->path, req, (size_t)n, &rp);
	assert_int_equal(rp.status, 400);
	assert_int_equal(s->vmm.answered, 0);
	/* HTTP/1.0: answered, then closed by the server (http_raw reads to the end). */
	http_str(s->path, "GET /api/v1/vmm.ping HTTP/1.0\r\n\r\n", &rp);
	assert_int_equal(rp.status, 200);
	assert_non_null(strstr(rp.head, "Connection: close"));
	assert_int_equal(s->vmm.answered, 1);
}

static void test_server_keepalive(void **state)
{
	struct srv *s = *state;
	const char one[] = "GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n\r\n";
	char buf[4096];
	int fd = dial(s->path);
	size_t got = 0;

	assert_true(fd >= 0);
	/* Three requests on one connection, pipelined. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(write(fd, one, strlen(one)), (ssize_t)strlen(one));
	while (got < sizeof(buf) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		const char *c = buf;
		int count = 0;

		assert_int_equal(poll(&p, 1, 5000), 1);
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		assert_true(n > 0);
		got += (size_t)n;
		buf[got] = 0;
		while ((c = strstr(c, "\"build_version\""))) {
			count++;
			c++;
		}
		if (count == 3)
			break;
	}
	close(fd);
	assert_int_equal(s->vmm.answered, 3);
}

static void test_socket_file(void **state)
{
	struct srv *s = *state;
	struct api_server *other;
	struct stat st;
	char err[256];
	char path2[160];
	int fd;

	/* 0600 from the start. */
	assert_int_equal(lstat(s->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A live socket is not taken over. */
	assert_int_equal(api_server_start(&other, s->path, &s->ch, SECCOMP_OFF, err, sizeof(err)),
			 -EADDRINUSE);
	assert_non_null(strstr(err, "in use"));
	/* A regular file is not replaced. */
	snprintf(path2, sizeof(path2), "%s/file", s->dir);
	fd = open(path2, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(api_server_start(&other, path2, &s->ch, SECCOMP_OFF, err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "not a socket"));
	unlink(path2);
	/* A stale socket (nobody listening) is replaced, and removed at the end. */
	snprintf(path2, sizeof(path2), "%s/stale.sock", s->dir);
	{
		struct sockaddr_un a = {.sun_family = AF_UNIX};

		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		strcpy(a.sun_path, path2);
		assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		close(fd);
	}
	assert_int_equal(dial(path2), -ECONNREFUSED);
	assert_int_equal(api_server_start(&other, path2, &s->ch, SECCOMP_OFF, err, sizeof(err)), 0);
	fd = dial(path2);
	assert_true(fd >= 0);
	close(fd);
	api_server_stop(other);
	assert_int_equal(lstat(path2, &st), -1);
	/* Too long for sockaddr_un. */
	memset(path2, 'a', sizeof(path2) - 1);
	path2[sizeof(path2) - 1] = 0;
	assert_int_equal(api_server_start(&other, path2, &s->ch, SECCOMP_OFF, err, sizeof(err)),
			 -ENAMETOOLONG);
}

/* A closed channel (the VM has gone): 503, and stop still lets the answer out. */
static void test_server_closed(void **state)
{
	struct srv *s = *state;
	struct reply rp;

	ctl_close(&s->ch);
	assert_int_equal(http(s, "GET", "/api/v1/vm.info", NULL, &rp), 503);
	assert_string_equal(error_of(&rp), "the VMM is shutting down");
}

/* A VMM thread that takes a request and does not answer (stuck in a long device operation):
 * the client gets 504 after the server's deadline, not a connection that hangs; the next
 * request, answered in time, is served. */
static void test_server_deadline(void **state)
{
	struct srv *s = *state;
	struct reply rp;

	api_server_set_call_timeout(s->api, 100);
	__atomic_store_n(&s->vmm.answer_delay_ms, 600, __ATOMIC_RELAXED);
	assert_int_equal(http(s, "GET", "/api/v1/vm.info", NULL, &rp), 504);
	assert_string_equal(error_of(&rp), "the VMM thread did not answer in time");
	usleep(700 * 1000);
	__atomic_store_n(&s->vmm.answer_delay_ms, 0, __ATOMIC_RELAXED);
	assert_int_equal(http(s, "GET", "/api/v1/vm.info", NULL, &rp), 200);
}

#define SRV_TEST(f) cmocka_unit_test_setup_teardown(f, srv_setup, srv_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_endpoint), cmocka_unit_test(test_unknown_paths),
	    cmocka_unit_test(test_wrong_methods),  cmocka_unit_test(test_bodies),
	    cmocka_unit_test(test_huge_bodies),	   cmocka_unit_test(test_json_info),
	    cmocka_unit_test(test_json_small),	   cmocka_unit_test(test_channel),
	    SRV_TEST(test_server_endpoints),	   SRV_TEST(test_server_errors),
	    SRV_TEST(test_server_huge_bodies),	   SRV_TEST(test_server_framing),
	    SRV_TEST(test_server_keepalive),	   SRV_TEST(test_socket_file),
	    SRV_TEST(test_server_closed),	   SRV_TEST(test_server_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
