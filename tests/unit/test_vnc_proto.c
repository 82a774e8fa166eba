/* What the VNC port's gate parses before a client is authenticated (src/ui/vnc_proto.c): the RFB
 * handshake in its three versions, with None and VNC authentication, HTTP request heads, and
 * WebSocket frames, good and hostile. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <rfb/rfb.h>

#include "ui/vnc_proto.h"

static const uint8_t challenge[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* Feeds all of in, one byte at a time (a trickling client), collecting the answers. */
static void feed(struct vncp_rfb *r, const void *in, size_t n, uint8_t *out, size_t *olen)
{
	for (size_t i = 0; i < n; i++) {
		assert_true(*olen + VNCP_RFB_OUT_MAX < 1024);
		assert_int_equal(vncp_rfb_feed(r, (const uint8_t *)in + i, 1, out, olen), 1);
	}
}

static void test_rfb_none(void **state)
{
	struct vncp_rfb r;
	uint8_t out[1024];
	size_t n = 0;

	(void)state;
	vncp_rfb_start(&r, false, challenge, out, &n);
	assert_memory_equal(out, "RFB 003.008\n", 12);
	n = 0;
	feed(&r, "RFB 003.008\n", 12, out, &n);
	assert_int_equal(r.state, VNCP_RFB_SECTYPE);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "\x01\x01", 2);
	/* Nothing more is taken than the step needs: ClientInit stays for libvncserver. */
	assert_int_equal(vncp_rfb_feed(&r, (const uint8_t *)"\x01\x01", 2, out, &n), 1);
	assert_int_equal(r.state, VNCP_RFB_DONE);
	assert_memory_equal(out + 2, "\0\0\0\0", 4); /* SecurityResult OK */
	assert_int_equal(vncp_rfb_need(&r), 0);
	assert_int_equal(r.minor, 8);
}

static void test_rfb_versions(void **state)
{
	struct vncp_rfb r;
	uint8_t out[1024];
	size_t n = 0;

	(void)state;
	/* 3.3 with a password: the server names the type and sends the challenge at once. */
	vncp_rfb_start(&r, true, challenge, out, &n);
	n = 0;
	feed(&r, "RFB 003.003\n", 12, out, &n);
	assert_int_equal(r.minor, 3);
	assert_int_equal(r.state, VNCP_RFB_AUTH);
	assert_int_equal(n, 20);
	assert_memory_equal(out, "\0\0\0\x02", 4);
	assert_memory_equal(out + 4, challenge, 16);
	/* 3.3 without: type None and no SecurityResult. */
	vncp_rfb_start(&r, false, challenge, out, &n);
	n = 0;
	feed(&r, "RFB 003.005\n", 12, out, &n);
	assert_int_equal(r.state, VNCP_RFB_DONE);
	assert_int_equal(n, 4);
	/* 3.7 None: no SecurityResult either. */
	vncp_rfb_start(&r, false, challenge, out, &n);
	n = 0;
	feed(&r, "RFB 003.007\n\x01", 13, out, &n);
	assert_int_equal(r.state, VNCP_RFB_DONE);
	assert_int_equal(n, 2);
	/* Apple's 3.889 is spoken to as 3.8. */
	vncp_rfb_start(&r, false, challenge, out, &n);
	feed(&r, "RFB 003.889\n", 12, out, &n);
	assert_int_equal(r.minor, 8);
	/* Not RFB, or not version 3: refused with nothing said. */
	static const char *const bad[] = {"GET / HTTP/1.1", "RFB 004.000\n",
					  "RFB 003.002\n",  "RFB 003.00x\n",
					  "RFB 003.008 ",   "\0\0\0\0\0\0\0\0\0\0\0\0"};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vncp_rfb_start(&r, false, challenge, out, &n);
		n = 0;
		feed(&r, bad[i], 12, out, &n);
		assert_int_equal(r.state, VNCP_RFB_FAIL);
		assert_int_equal(n, 0);
		assert_int_equal(vncp_rfb_need(&r), 0);
	}
}

static void test_rfb_auth(void **state)
{
	struct vncp_rfb r;
	uint8_t out[1024], resp[16];
	char pw[] = "s3cret", pw8[] = "12345678";
	size_t n = 0;

	(void)state;
	vncp_rfb_start(&r, true, challenge, out, &n);
	n = 0;
	feed(&r, "RFB 003.008\n", 12, out, &n);
	assert_memory_equal(out, "\x01\x02", 2);
	/* Asking for None when a password is set fails, with a reason (3.8). */
	feed(&r, "\x01", 1, out, &n);
	assert_int_equal(r.state, VNCP_RFB_FAIL);
	assert_memory_equal(out + 2, "\0\0\0\x01", 4);

	vncp_rfb_start(&r, true, challenge, out, &n);
	n = 0;
	feed(&r, "RFB 003.008\n\x02", 13, out, &n);
	assert_int_equal(r.state, VNCP_RFB_AUTH);
	assert_memory_equal(out + 2, challenge, 16);
	memcpy(resp, challenge, 16);
	rfbEncryptBytes(resp, pw);
	n = 0;
	feed(&r, resp, 16, out, &n);
	assert_int_equal(r.state, VNCP_RFB_CHECK);
	assert_int_equal(n, 0);
	assert_true(vncp_vnc_auth_ok(challenge, resp, "s3cret"));
	assert_false(vncp_vnc_auth_ok(challenge, resp, "s3cres"));
	/* VNC uses 8 characters: a longer password is its first 8. */
	memcpy(resp, challenge, 16);
	rfbEncryptBytes(resp, pw8);
	assert_true(vncp_vnc_auth_ok(challenge, resp, "123456789abc"));
	vncp_rfb_result(&r, false, "wrong password", out, &n);
	assert_int_equal(r.state, VNCP_RFB_FAIL);
	assert_memory_equal(out, "\0\0\0\x01\0\0\0\x0ewrong password", 22);
	/* A verdict outside CHECK changes nothing. */
	n = 0;
	vncp_rfb_result(&r, true, "", out, &n);
	assert_int_equal(n, 0);
	assert_int_equal(r.state, VNCP_RFB_FAIL);
}

static void test_http(void **state)
{
	static const char ws[] =
	    "GET /websockify?x=1 HTTP/1.1\r\nHost: 127.0.0.1:5900\r\n"
	    "Origin: http://127.0.0.1:5900\r\nUpgrade: WebSocket\r\n"
	    "Connection: keep-alive, Upgrade\r\n"
	    "Sec-WebSocket-Key:  dGhlIHNhbXBsZSBub25jZQ== \r\n"
	    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: base64, binary\r\n"
	    "\r\nextra";
	struct vncp_http h;
	char acc[29], big[VNCP_HTTP_MAX + 10];

	(void)state;
	assert_int_equal(vncp_http_parse(ws, sizeof(ws) - 1, &h), (int)sizeof(ws) - 6);
	assert_string_equal(h.path, "/websockify");
	assert_true(h.websocket);
	assert_true(h.binary);
	assert_int_equal(h.ws_version, 13);
	assert_string_equal(h.key, "dGhlIHNhbXBsZSBub25jZQ==");
	assert_true(vncp_origin_ok(&h));
	/* RFC 6455's own example. */
	assert_int_equal(vncp_ws_accept(h.key, acc), 0);
	assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(vncp_ws_accept("short", acc), -EINVAL);
	/* Another site's page, or another port, may not open the console. */
	strcpy(h.origin, "http://evil.example");
	assert_false(vncp_origin_ok(&h));
	strcpy(h.origin, "https://127.0.0.1:5901");
	assert_false(vncp_origin_ok(&h));
	strcpy(h.origin, "null");
	assert_false(vncp_origin_ok(&h));
	/* Incomplete: more is needed; every prefix of a good head says so. */
	for (size_t i = 0; i < sizeof(ws) - 7; i++)
		assert_int_equal(vncp_http_parse(ws, i, &h), 0);
	/* A plain GET of the page. */
	assert_int_equal(vncp_http_parse("GET / HTTP/1.0\r\n\r\n", 18, &h), 18);
	assert_string_equal(h.path, "/");
	assert_false(h.websocket);
	/* Refused: other methods, bad lines, header lines without a colon, a huge head. */
	assert_int_equal(vncp_http_parse("POST / HTTP/1.1\r\n\r\n", 19, &h), -EINVAL);
	assert_int_equal(vncp_http_parse("PUT ", 4, &h), -EINVAL);
	assert_int_equal(vncp_http_parse("GET / HTTP/2.0\r\n\r\n", 18, &h), -EINVAL);
	assert_int_equal(vncp_http_parse("GET /\r\n\r\n", 9, &h), -EINVAL);
	assert_int_equal(vncp_http_parse("GET / HTTP/1.1\r\nno colon\r\n\r\n", 28, &h), -EINVAL);
	assert_int_equal(vncp_http_parse("GET / HTTP/1.1\rX\r\n\r\n", 20, &h), -EINVAL);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	assert_int_equal(vncp_http_parse(big, sizeof(big), &h), -E2BIG);
	memset(big + 19, 'a', 300);
	memcpy(big + 319, "\r\n\r\n", 4);
	memcpy(big, "GET / HTTP/1.1\r\nHost: ", 22);
	assert_int_equal(vncp_http_parse(big, 323, &h), -EINVAL); /* a Host over 255 bytes */
}

/* A client's frame: masked, as RFC 6455 requires of clients. */
static size_t frame(uint8_t *f, uint8_t b0, const void *payload, size_t n, bool mask)
{
	static const uint8_t m[4] = {0xA1, 0xB2, 0xC3, 0xD4};
	size_t h = 2;

	f[0] = b0;
	if (n < 126) {
		f[1] = (uint8_t)n;
	} else {
		f[1] = 126;
		f[2] = (uint8_t)(n >> 8);
		f[3] = (uint8_t)n;
		h = 4;
	}
	if (mask) {
		f[1] |= 0x80;
		memcpy(f + h, m, 4);
		h += 4;
	}
	for (size_t i = 0; i < n; i++)
		f[h + i] = ((const uint8_t *)payload)[i] ^ (mask ? m[i & 3] : 0);
	return h + n;
}

static enum vncp_ws_event decode_all(struct vncp_ws *w, const uint8_t *in, size_t n, uint8_t *out,
				     size_t *olen)
{
	enum vncp_ws_event ev = VNCP_WS_MORE;
	size_t used;

	/* A byte at a time: a frame split anywhere decodes the same. */
	for (size_t i = 0; i < n && ev == VNCP_WS_MORE; i++) {
		ev = vncp_ws_decode(w, in + i, 1, &used, out, olen);
		assert_int_equal(used, 1);
	}
	return ev;
}

static void test_ws_frames(void **state)
{
	struct vncp_ws w = {0};
	uint8_t f[1024], out[1024], big[300];
	size_t n, olen = 0, used;

	(void)state;
	/* A binary message in two fragments, a ping in between, then a long frame. */
	n = frame(f, 0x02, "RFB ", 4, true);
	n += frame(f + n, 0x89, "hi", 2, true);
	assert_int_equal(vncp_ws_decode(&w, f, n, &used, out, &olen), VNCP_WS_PING);
	assert_int_equal(used, n);
	assert_memory_equal(w.ctl, "hi", 2);
	assert_int_equal(w.ctl_len, 2);
	n = frame(f, 0x80, "003.008\n", 8, true);
	assert_int_equal(decode_all(&w, f, n, out, &olen), VNCP_WS_MORE);
	assert_int_equal(olen, 12);
	assert_memory_equal(out, "RFB 003.008\n", 12);
	memset(big, 'z', sizeof(big));
	n = frame(f, 0x82, big, sizeof(big), true);
	olen = 0;
	assert_int_equal(decode_all(&w, f, n, out, &olen), VNCP_WS_MORE);
	assert_int_equal(olen, sizeof(big));
	assert_memory_equal(out, big, sizeof(big));
	/* Empty frames and a pong are nothing. */
	n = frame(f, 0x82, "", 0, true);
	n += frame(f + n, 0x8A, "x", 1, true);
	olen = 0;
	assert_int_equal(vncp_ws_decode(&w, f, n, &used, out, &olen), VNCP_WS_MORE);
	assert_int_equal(olen, 0);
	/* A close. */
	n = frame(f, 0x88, "\x03\xe8", 2, true);
	assert_int_equal(decode_all(&w, f, n, out, &olen), VNCP_WS_CLOSE);
}

static void test_ws_hostile(void **state)
{
	static const uint8_t huge[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
	struct {
		uint8_t b0;
		size_t len;
		bool mask;
		bool fresh; /* no message under way */
	} const bad[] = {
	    {0x82, 4, false, true},  /* unmasked */
	    {0x81, 4, true, true},   /* text: websockify's base64, not spoken here */
	    {0xC2, 4, true, true},   /* RSV1 without an extension */
	    {0x80, 4, true, true},   /* a continuation with nothing to continue */
	    {0x09, 4, true, true},   /* a fragmented ping */
	    {0x89, 200, true, true}, /* a ping over 125 bytes */
	    {0x83, 4, true, true},   /* a reserved opcode */
	};
	struct vncp_ws w;
	uint8_t f[1024], out[1024], p[200] = {0};
	size_t n, olen, used;

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&w, 0, sizeof(w));
		olen = 0;
		n = frame(f, bad[i].b0, p, bad[i].len, bad[i].mask);
		assert_int_equal(vncp_ws_decode(&w, f, n, &used, out, &olen), VNCP_WS_BAD);
	}
	/* A length with its top bits set. */
	memset(&w, 0, sizeof(w));
	olen = 0;
	assert_int_equal(vncp_ws_decode(&w, huge, sizeof(huge), &used, out, &olen), VNCP_WS_BAD);
	/* A new binary message while one is under way. */
	memset(&w, 0, sizeof(w));
	olen = 0;
	n = frame(f, 0x02, p, 4, true);
	n += frame(f + n, 0x82, p, 4, true);
	assert_int_equal(vncp_ws_decode(&w, f, n, &used, out, &olen), VNCP_WS_BAD);
}

/* Server frames: the three length forms. */
static void test_ws_header(void **state)
{
	uint8_t h[10];

	(void)state;
	assert_int_equal(vncp_ws_header(h, 2, 125), 2);
	assert_memory_equal(h, "\x82\x7d", 2);
	assert_int_equal(vncp_ws_header(h, 2, 126), 4);
	assert_memory_equal(h, "\x82\x7e\x00\x7e", 4);
	assert_int_equal(vncp_ws_header(h, 8, 70000), 10);
	assert_memory_equal(h, "\x88\x7f\0\0\0\0\0\x01\x11\x70", 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfb_none),  cmocka_unit_test(test_rfb_versions),
	    cmocka_unit_test(test_rfb_auth),  cmocka_unit_test(test_http),
	    cmocka_unit_test(test_ws_frames), cmocka_unit_test(test_ws_hostile),
	    cmocka_unit_test(test_ws_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
