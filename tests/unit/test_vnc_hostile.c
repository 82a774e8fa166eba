/* The VNC port against hostile and slow clients, the way the problem was found (issue 15): idle
 * connections by the thousand, a client trickling a byte at a time, floods, wrong passwords,
 * bad WebSocket frames, TLS. The gate alone (vnc_gate.c), with small limits so that each test
 * takes moments; test_vnc_siege.c attacks the whole display. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <rfb/rfb.h>

#include "filters.h"
#include "ui/vnc_gate.h"

static uint64_t ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int listen_any(unsigned *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 128), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A TCP connection to 127.0.0.1:port from src (another loopback address is another source). */
static int dial(unsigned port, const char *src)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && src) {
		struct sockaddr_in s = {.sin_family = AF_INET};

		inet_pton(AF_INET, src, &s.sin_addr);
		bind(fd, (struct sockaddr *)&s, sizeof(s));
	}
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int read_t(int fd, void *buf, size_t n, int timeout_ms)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < n) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&pf, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		r = read(fd, p + got, n - got);
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET;
		got += (size_t)r;
	}
	return 0;
}

/* Whether the server closes fd within timeout_ms (what it sends first is read and dropped). */
static bool closed_by_server(int fd, int timeout_ms)
{
	uint64_t end = ms() + (uint64_t)timeout_ms;
	uint8_t b[4096];

	while (ms() < end) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&pf, 1, 50) <= 0)
			continue;
		r = read(fd, b, sizeof(b));
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return true;
	}
	return false;
}

/* ---- the gate alone ---- */

struct gate_rig {
	struct gate *g;
	int lfd;
	unsigned port;
	int ready; /* an eventfd the gate's ready() writes */
};

static void on_ready(void *opaque)
{
	uint64_t one = 1;

	if (write(*(int *)opaque, &one, sizeof(one)) < 0)
		fail();
}

static void rig_start(struct gate_rig *r, struct gate_params *p)
{
	char err[256];

	r->lfd = listen_any(&r->port);
	r->ready = eventfd(0, EFD_CLOEXEC);
	p->listen_fd = r->lfd;
	p->seccomp = FILTERS;
	p->ready = on_ready;
	p->opaque = &r->ready;
	assert_int_equal(gate_start(&r->g, p, err, sizeof(err)), 0);
}

static void rig_stop(struct gate_rig *r)
{
	gate_stop(r->g);
	close(r->lfd);
	close(r->ready);
}

static struct gate_stats stats_when(struct gate *g, bool (*ok)(const struct gate_stats *, long),
				    long arg)
{
	struct gate_stats s;

	for (int i = 0; i < 300; i++) {
		gate_stats(g, &s);
		if (ok(&s, arg))
			break;
		usleep(10000);
	}
	return s;
}

static bool accepted_at_least(const struct gate_stats *s, long n)
{
	return s->accepted >= (uint64_t)n;
}

/* The RFB handshake as a viewer does it; the SecurityResult's value (0 OK), or -errno. */
static int handshake(int fd, const char *password, char *reason, size_t rlen)
{
	uint8_t b[64];
	char key[9] = {0};

	/* The version first, before the greeting: the gate then need not wait to see whether
	 * this is a browser (GATE_SNIFF_MS), which keeps these tests quick. */
	if (write(fd, "RFB 003.008\n", 12) != 12 || read_t(fd, b, 12, 3000) ||
	    read_t(fd, b, 2, 3000))
		return -EPROTO;
	if (write(fd, password ? "\x02" : "\x01", 1) != 1)
		return -EPROTO;
	if (password) {
		strncpy(key, password, 8);
		if (read_t(fd, b, 16, 3000))
			return -EPROTO;
		rfbEncryptBytes(b, key);
		if (write(fd, b, 16) != 16)
			return -EPROTO;
	}
	if (read_t(fd, b, 4, 3000))
		return -EPROTO;
	if (b[3] && reason) {
		uint8_t l[4];

		if (read_t(fd, l, 4, 3000) || l[3] >= rlen || read_t(fd, reason, l[3], 3000))
			return -EPROTO;
		reason[l[3]] = 0;
	}
	return b[3];
}

/* Past the cap, the most stalled connection makes way: of twenty idle ones eight stay (the
 * newest), and the owner, coming last, gets through. */
static void test_gate_evicts(void **state)
{
	struct gate_params p = {.max_preauth = 8, .max_per_source = 8};
	struct gate_rig r;
	struct gate_client c = {.fd = -1};
	struct gate_stats s;
	int fds[20], owner;

	(void)state;
	rig_start(&r, &p);
	for (int i = 0; i < 20; i++) {
		fds[i] = dial(r.port, NULL);
		assert_true(fds[i] >= 0);
		stats_when(r.g, accepted_at_least, i + 1); /* in order */
	}
	s = stats_when(r.g, accepted_at_least, 20);
	assert_int_equal(s.accepted, 20);
	assert_int_equal(s.evicted, 12);
	assert_true(s.preauth <= 8);
	for (int i = 0; i < 12; i++)
		assert_true(closed_by_server(fds[i], 1000));
	owner = dial(r.port, NULL);
	assert_int_equal(handshake(owner, NULL, NULL, 0), 0);
	for (int i = 0; i < 100 && !gate_take(r.g, &c); i++)
		usleep(10000);
	assert_true(c.fd >= 0);
	assert_int_equal(c.minor, 8);
	close(c.fd);
	close(c.sp[0]);
	close(c.sp[1]);
	for (int i = 0; i < 20; i++)
		close(fds[i]);
	close(owner);
	rig_stop(&r);
}

static bool preauth_is(const struct gate_stats *s, long n)
{
	return s->preauth == (unsigned)n;
}

/* One address cannot take another's places: its own connections make way for each other. */
static void test_gate_per_source(void **state)
{
	struct gate_params p = {.max_preauth = 16, .max_per_source = 4};
	struct gate_rig r;
	struct gate_stats s;
	int mine[4], theirs[10];

	(void)state;
	rig_start(&r, &p);
	for (int i = 0; i < 4; i++)
		mine[i] = dial(r.port, "127.0.0.1");
	for (int i = 0; i < 10; i++)
		theirs[i] = dial(r.port, "127.0.0.2");
	s = stats_when(r.g, accepted_at_least, 14);
	s = stats_when(r.g, preauth_is, 8);
	/* The second address's six extra ones pushed out its own older ones. */
	assert_int_equal(s.evicted, 6);
	assert_int_equal(s.preauth, 8);
	/* All of the first address's are still there: none was closed. */
	for (int i = 0; i < 4; i++) {
		struct pollfd pf = {.fd = mine[i], .events = POLLIN | POLLRDHUP};

		assert_true(mine[i] >= 0);
		poll(&pf, 1, 0);
		assert_false(pf.revents & (POLLRDHUP | POLLHUP));
		close(mine[i]);
	}
	for (int i = 0; i < 10; i++)
		close(theirs[i]);
	rig_stop(&r);
}

/* Deadlines: a client trickling its version a byte at a time, and one that says nothing after
 * the greeting, are both closed once the handshake's time is up. */
static void test_gate_deadline(void **state)
{
	struct gate_params p = {.handshake_ms = 300};
	struct gate_rig r;
	struct gate_stats s;
	int trickler, idle;
	uint8_t b[12];

	(void)state;
	rig_start(&r, &p);
	trickler = dial(r.port, NULL);
	idle = dial(r.port, NULL);
	assert_int_equal(read_t(trickler, b, 12, 3000), 0);
	for (int i = 0; i < 12; i++) {
		if (write(trickler, &"RFB 003.008\n"[i], 1) != 1)
			break; /* closed already */
		usleep(100000);
	}
	assert_true(closed_by_server(trickler, 3000));
	assert_true(closed_by_server(idle, 3000));
	gate_stats(r.g, &s);
	assert_int_equal(s.expired, 2);
	assert_int_equal(s.handed_over, 0);
	close(trickler);
	close(idle);
	rig_stop(&r);
}

/* Wrong passwords: five from one address, then that address is refused even with the right
 * one (not even checked), while another address still gets in. */
static void test_gate_passwords(void **state)
{
	struct gate_params p = {.password = "s3cret"};
	struct gate_rig r;
	struct gate_stats s;
	char reason[128];
	int fd;

	(void)state;
	rig_start(&r, &p);
	for (int i = 0; i < GATE_FAIL_BURST; i++) {
		fd = dial(r.port, "127.0.0.2");
		assert_int_equal(handshake(fd, "guess", reason, sizeof(reason)), 1);
		assert_string_equal(reason, "wrong password");
		close(fd);
	}
	fd = dial(r.port, "127.0.0.2");
	assert_int_equal(handshake(fd, "s3cret", reason, sizeof(reason)), 1);
	assert_non_null(strstr(reason, "too many"));
	close(fd);
	fd = dial(r.port, "127.0.0.1");
	assert_int_equal(handshake(fd, "s3cret", reason, sizeof(reason)), 0);
	close(fd);
	gate_stats(r.g, &s);
	assert_int_equal(s.auth_failed, GATE_FAIL_BURST);
	assert_int_equal(s.rate_limited, 1);
	assert_int_equal(s.handed_over, 1);
	rig_stop(&r);
}

/* The limit for all sources together: a crowd of addresses, each within its own five, runs
 * out the thirty (one comes back every 2 s, so the loop allows for a few more), and then an
 * attempt is refused unchecked, whatever its address. */
static void test_gate_global_limit(void **state)
{
	struct gate_params p = {.password = "s3cret"};
	struct gate_rig r;
	struct gate_stats s;
	char reason[128] = "", src[32];
	int i, fd;

	(void)state;
	rig_start(&r, &p);
	for (i = 0; i < 3 * GATE_GFAIL_BURST && !strstr(reason, "too many"); i++) {
		snprintf(src, sizeof(src), "127.0.1.%d", 1 + i / GATE_FAIL_BURST);
		fd = dial(r.port, src);
		assert_int_equal(handshake(fd, "guess", reason, sizeof(reason)), 1);
		close(fd);
	}
	assert_non_null(strstr(reason, "too many"));
	gate_stats(r.g, &s);
	assert_true(s.auth_failed >= GATE_GFAIL_BURST);
	assert_int_equal(s.rate_limited, 1);
	rig_stop(&r);
}

static int ws_open(unsigned port, const char *origin)
{
	char req[512], resp[1024];
	int fd = dial(port, NULL), n;
	size_t got = 0;

	n = snprintf(req, sizeof(req),
		     "GET /websockify HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: %s\r\n"
		     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		     "Sec-WebSocket-Version: 13\r\n\r\n",
		     port, origin);
	assert_int_equal(write(fd, req, (size_t)n), n);
	while (got < sizeof(resp) - 1 && !(got >= 4 && !memcmp(resp + got - 4, "\r\n\r\n", 4)))
		if (read_t(fd, resp + got++, 1, 3000))
			break;
	resp[got] = 0;
	if (!strstr(resp, " 101 ")) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Bad WebSocket frames end that connection with a close (1002), and nothing else; a page from
 * another site may not open one at all; a request head that never ends is refused. */
static void test_gate_websocket(void **state)
{
	static const uint8_t unmasked[] = {0x82, 0x04, 'R', 'F', 'B', ' '};
	static const uint8_t huge[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
	const uint8_t *bad[] = {unmasked, huge};
	size_t badlen[] = {sizeof(unmasked), sizeof(huge)};
	struct gate_params p = {0};
	struct gate_rig r;
	char origin[64], big[6000], resp[64];
	uint8_t b[32];
	int fd;

	(void)state;
	rig_start(&r, &p);
	snprintf(origin, sizeof(origin), "http://127.0.0.1:%u", r.port);
	for (int i = 0; i < 2; i++) {
		fd = ws_open(r.port, origin);
		assert_true(fd >= 0);
		assert_int_equal(read_t(fd, b, 14, 3000), 0); /* the greeting's frame */
		assert_memory_equal(b, "\x82\x0cRFB 003.008\n", 14);
		assert_int_equal(write(fd, bad[i], badlen[i]), (ssize_t)badlen[i]);
		assert_int_equal(read_t(fd, b, 4, 3000), 0);
		assert_memory_equal(b, "\x88\x02\x03\xea", 4);
		assert_true(closed_by_server(fd, 3000));
		close(fd);
	}
	assert_int_equal(ws_open(r.port, "http://evil.example"), -1);
	/* A head of 6000 bytes without its end: 431. */
	fd = dial(r.port, NULL);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	assert_int_equal(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	assert_int_equal(read_t(fd, resp, 12, 3000), 0);
	assert_memory_equal(resp, "HTTP/1.1 431", 12);
	close(fd);
	rig_stop(&r);
}

/* A browser that sends its request only after the gate has greeted it as a VNC client (a socket
 * opened ahead, a busy machine) gets an error; its address then gets a longer wait, so that the
 * browser's retry, sending 1 s after connecting (past GATE_SNIFF_MS, well within
 * GATE_SNIFF_BROWSER_MS), gets HTTP. */
static void test_gate_late_browser(void **state)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct gate_params p = {0};
	struct gate_rig r;
	char b[32];
	int fd;

	(void)state;
	rig_start(&r, &p);
	fd = dial(r.port, NULL);
	assert_int_equal(read_t(fd, b, 12, 3000), 0);
	assert_memory_equal(b, "RFB 003.008\n", 12);
	assert_int_equal(write(fd, get, sizeof(get) - 1), (ssize_t)sizeof(get) - 1);
	assert_true(closed_by_server(fd, 3000));
	close(fd);
	fd = dial(r.port, NULL);
	usleep(1000000);
	assert_int_equal(write(fd, get, sizeof(get) - 1), (ssize_t)sizeof(get) - 1);
	assert_int_equal(read_t(fd, b, 12, 3000), 0);
	assert_memory_equal(b, "HTTP/1.1 404", 12); /* no page without web=: but HTTP */
	close(fd);
	rig_stop(&r);
}

/* A self-signed certificate and its key, made with GnuTLS, in PEM files. */
static void make_cert(const char *cert, const char *key)
{
	gnutls_x509_privkey_t k;
	gnutls_x509_crt_t c;
	unsigned char serial[4] = {1, 2, 3, 4};
	char buf[8192];
	size_t n;
	FILE *f;

	assert_int_equal(gnutls_x509_privkey_init(&k), 0);
	assert_int_equal(
	    gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
	    0);
	assert_int_equal(gnutls_x509_crt_init(&c), 0);
	gnutls_x509_crt_set_version(c, 3);
	gnutls_x509_crt_set_serial(c, serial, sizeof(serial));
	gnutls_x509_crt_set_activation_time(c, time(NULL) - 60);
	gnutls_x509_crt_set_expiration_time(c, time(NULL) + 3600);
	gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, "localhost", 9);
	assert_int_equal(gnutls_x509_crt_set_key(c, k), 0);
	assert_int_equal(gnutls_x509_crt_sign2(c, c, k, GNUTLS_DIG_SHA256, 0), 0);
	n = sizeof(buf);
	assert_int_equal(gnutls_x509_crt_export(c, GNUTLS_X509_FMT_PEM, buf, &n), 0);
	f = fopen(cert, "w");
	fwrite(buf, 1, n, f);
	fclose(f);
	n = sizeof(buf);
	assert_int_equal(gnutls_x509_privkey_export(k, GNUTLS_X509_FMT_PEM, buf, &n), 0);
	f = fopen(key, "w");
	fwrite(buf, 1, n, f);
	fclose(f);
	gnutls_x509_crt_deinit(c);
	gnutls_x509_privkey_deinit(k);
}

/* TLS for the browser console: the page and the WebSocket over TLS (https, wss), under the
 * gate's seccomp filter; plain HTTP is then refused; a VNC viewer (no TLS) is still served. */
static void test_gate_tls(void **state)
{
	static const char ws[] = "GET /websockify HTTP/1.1\r\nHost: localhost\r\n"
				 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
				 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				 "Sec-WebSocket-Version: 13\r\n\r\n";
	char cert[64], key[64], resp[2048];
	struct gate_params p = {.tls_cert = cert, .tls_key = key};
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	struct gate_rig r;
	size_t got = 0;
	int fd, rc;

	(void)state;
	snprintf(cert, sizeof(cert), "/tmp/phyllome-test-cert-%d.pem", getpid());
	snprintf(key, sizeof(key), "/tmp/phyllome-test-key-%d.pem", getpid());
	make_cert(cert, key);
	rig_start(&r, &p);
	unlink(cert);
	unlink(key);
	fd = dial(r.port, NULL);
	assert_int_equal(gnutls_certificate_allocate_credentials(&cred), 0);
	assert_int_equal(gnutls_init(&s, GNUTLS_CLIENT), 0);
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, 3000);
	do
		rc = gnutls_handshake(s);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	assert_int_equal(rc, 0);
	assert_int_equal(gnutls_record_send(s, ws, sizeof(ws) - 1), (ssize_t)sizeof(ws) - 1);
	while (got < sizeof(resp) - 1 && !memmem(resp, got, "RFB 003.008", 11)) {
		ssize_t n = gnutls_record_recv(s, resp + got, sizeof(resp) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	assert_true(got > 12);
	assert_memory_equal(resp, "HTTP/1.1 101", 12);
	assert_non_null(memmem(resp, got, "\r\n\r\n\x82\x0cRFB 003.008\n", 18));
	gnutls_bye(s, GNUTLS_SHUT_RDWR);
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	close(fd);
	/* Plain HTTP: refused. */
	fd = dial(r.port, NULL);
	assert_int_equal(write(fd, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	assert_int_equal(read_t(fd, resp, 12, 3000), 0);
	assert_memory_equal(resp, "HTTP/1.1 403", 12);
	close(fd);
	/* A VNC viewer: as before. */
	fd = dial(r.port, NULL);
	assert_int_equal(handshake(fd, NULL, NULL, 0), 0);
	close(fd);
	rig_stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gate_evicts),	      cmocka_unit_test(test_gate_per_source),
	    cmocka_unit_test(test_gate_deadline),     cmocka_unit_test(test_gate_passwords),
	    cmocka_unit_test(test_gate_websocket),    cmocka_unit_test(test_gate_tls),
	    cmocka_unit_test(test_gate_global_limit), cmocka_unit_test(test_gate_late_browser),
	};

	signal(SIGPIPE, SIG_IGN); /* writes to connections the gate has closed */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
