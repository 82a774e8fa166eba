#include "ui/vnc_proto.h"

#include <ctype.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <rfb/rfb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/bytes.h"
#include "common/http_head.h"
#include "ui/uilibs.h"

enum { SEC_NONE = 1, SEC_VNC = 2 };

static void put(uint8_t *out, size_t *outlen, const void *p, size_t n)
{
	memcpy(out + *outlen, p, n);
	*outlen += n;
}

static void put32(uint8_t *out, size_t *outlen, uint32_t v)
{
	uint8_t b[4];

	put_be32(b, v);
	put(out, outlen, b, 4);
}

void vncp_rfb_start(struct vncp_rfb *r, bool auth, const uint8_t challenge[16], uint8_t *out,
		    size_t *outlen)
{
	memset(r, 0, sizeof(*r));
	r->auth = auth;
	memcpy(r->challenge, challenge, 16);
	put(out, outlen, "RFB 003.008\n", 12);
}

size_t vncp_rfb_need(const struct vncp_rfb *r)
{
	switch (r->state) {
	case VNCP_RFB_VERSION:
		return 12 - r->have;
	case VNCP_RFB_SECTYPE:
		return 1 - r->have;
	case VNCP_RFB_AUTH:
		return 16 - r->have;
	default:
		return 0;
	}
}

/* "RFB 003.00N\n" with three digits on each side; the minor version we then speak. */
static int parse_version(const uint8_t v[12])
{
	int major = 0, minor = 0;

	if (memcmp(v, "RFB ", 4) || v[7] != '.' || v[11] != '\n')
		return -1;
	for (int i = 4; i < 11; i++) {
		if (i == 7)
			continue;
		if (!isdigit(v[i]))
			return -1;
		if (i < 7)
			major = major * 10 + (v[i] - '0');
		else
			minor = minor * 10 + (v[i] - '0');
	}
	if (major != 3 || minor < 3)
		return -1;
	/* 3.4 to 3.6 are 3.3 (the RFB spec says so); anything past 3.8 (Apple's 3.889,
	 * UltraVNC's 3.14) is spoken to as 3.8. */
	return minor < 7 ? 3 : minor == 7 ? 7 : 8;
}

static void fail(struct vncp_rfb *r, const char *reason, uint8_t *out, size_t *outlen)
{
	size_t n = strlen(reason);

	if (n > 64)
		n = 64;
	r->state = VNCP_RFB_FAIL;
	put32(out, outlen, 1);
	if (r->minor >= 8) {
		put32(out, outlen, (uint32_t)n);
		put(out, outlen, reason, n);
	}
}

static void step_version(struct vncp_rfb *r, uint8_t *out, size_t *outlen)
{
	int minor = parse_version(r->in);
	uint8_t types[2] = {1, r->auth ? SEC_VNC : SEC_NONE};

	if (minor < 0) {
		r->state = VNCP_RFB_FAIL; /* not RFB: nothing to say */
		return;
	}
	r->minor = minor;
	if (minor >= 7) {
		put(out, outlen, types, 2);
		r->state = VNCP_RFB_SECTYPE;
		return;
	}
	/* 3.3: the server decides, and None has no SecurityResult. */
	put32(out, outlen, types[1]);
	if (r->auth) {
		put(out, outlen, r->challenge, 16);
		r->state = VNCP_RFB_AUTH;
	} else {
		r->state = VNCP_RFB_DONE;
	}
}

static void step_sectype(struct vncp_rfb *r, uint8_t *out, size_t *outlen)
{
	uint8_t want = r->auth ? SEC_VNC : SEC_NONE;

	if (r->in[0] != want) {
		fail(r, "security type not offered", out, outlen);
		return;
	}
	if (r->auth) {
		put(out, outlen, r->challenge, 16);
		r->state = VNCP_RFB_AUTH;
		return;
	}
	if (r->minor >= 8)
		put32(out, outlen, 0); /* SecurityResult OK (3.7 has none for None) */
	r->state = VNCP_RFB_DONE;
}

size_t vncp_rfb_feed(struct vncp_rfb *r, const uint8_t *in, size_t n, uint8_t *out, size_t *outlen)
{
	size_t take = vncp_rfb_need(r);

	if (take > n)
		take = n;
	memcpy(r->in + r->have, in, take);
	r->have += take;
	if (take == 0 || vncp_rfb_need(r))
		return take;
	r->have = 0;
	if (r->state == VNCP_RFB_VERSION) {
		step_version(r, out, outlen);
	} else if (r->state == VNCP_RFB_SECTYPE) {
		step_sectype(r, out, outlen);
	} else {
		memcpy(r->response, r->in, 16);
		r->state = VNCP_RFB_CHECK;
	}
	return take;
}

void vncp_rfb_result(struct vncp_rfb *r, bool ok, const char *reason, uint8_t *out, size_t *outlen)
{
	if (r->state != VNCP_RFB_CHECK)
		return;
	if (!ok) {
		fail(r, reason, out, outlen);
		return;
	}
	put32(out, outlen, 0);
	r->state = VNCP_RFB_DONE;
}

bool vncp_vnc_auth_ok(const uint8_t challenge[16], const uint8_t response[16], const char *password)
{
	unsigned char expect[16];
	char key[9] = {0}, err[200];
	uint8_t diff = 0;

	if (ui_libs_load(UI_LIB_VNC, err, sizeof(err)) < 0)
		return false;
	/* rfbEncryptBytes reads 8 bytes of the key: give it exactly that, zero-padded. */
	strncpy(key, password, 8);
	memcpy(expect, challenge, 16);
	ui_vnc.rfbEncryptBytes(expect, key);
	for (int i = 0; i < 16; i++)
		diff |= (uint8_t)(expect[i] ^ response[i]);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(expect, sizeof(expect));
	return diff == 0;
}

/* ---- HTTP ---- */

struct vncp_fields {
	struct vncp_http *h;
	bool upgrade, conn;
};

static int vncp_field(void *ctx, const char *k, size_t kn, const char *v, size_t vn)
{
	struct vncp_fields *f = ctx;
	struct vncp_http *h = f->h;

	if (http_name_is(k, kn, "upgrade"))
		f->upgrade = http_has_token(v, vn, "websocket");
	else if (http_name_is(k, kn, "connection"))
		f->conn = http_has_token(v, vn, "upgrade");
	else if (http_name_is(k, kn, "sec-websocket-key") &&
		 !http_copy_value(h->key, sizeof(h->key), v, vn))
		return -EINVAL;
	else if (http_name_is(k, kn, "sec-websocket-version"))
		h->ws_version = (int)http_value_num(v, vn, 999999);
	else if (http_name_is(k, kn, "sec-websocket-protocol"))
		h->binary = http_has_token(v, vn, "binary");
	else if (http_name_is(k, kn, "host") && !http_copy_value(h->host, sizeof(h->host), v, vn))
		return -EINVAL;
	else if (http_name_is(k, kn, "origin") &&
		 !http_copy_value(h->origin, sizeof(h->origin), v, vn))
		return -EINVAL;
	return 0;
}

int vncp_http_parse(const char *buf, size_t n, struct vncp_http *h)
{
	struct vncp_fields f = {.h = h};
	struct http_head head;
	int rc;

	if (n >= 4 && memcmp(buf, "GET ", 4))
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	rc = http_head_parse(buf, n, VNCP_HTTP_MAX, &head, vncp_field, &f);
	if (rc <= 0)
		return rc;
	if (strcmp(head.method, "GET"))
		return -EINVAL;
	memcpy(h->path, head.path, sizeof(h->path));
	h->websocket = f.upgrade && f.conn;
	return rc;
}

static void base64(const uint8_t *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = t[v >> 18];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = 0;
}

int vncp_ws_accept(const char *key, char out[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	char cat[32 + sizeof(guid)];
	uint8_t sha[20];
	size_t n = strlen(key);

	char err[200];

	/* A key is 16 bytes in base64: 24 characters. */
	if (n != 24 || ui_libs_load(UI_LIB_TLS, err, sizeof(err)) < 0)
		return -EINVAL;
	memcpy(cat, key, n);
	memcpy(cat + n, guid, sizeof(guid));
	if (ui_tls.gnutls_hash_fast(GNUTLS_DIG_SHA1, cat, n + sizeof(guid) - 1, sha) < 0)
		return -EINVAL;
	base64(sha, sizeof(sha), out);
	return 0;
}

bool vncp_origin_ok(const struct vncp_http *h)
{
	const char *o = h->origin;

	if (!o[0])
		return true; /* not a browser (browsers always send one) */
	if (!strncasecmp(o, "http://", 7))
		o += 7;
	else if (!strncasecmp(o, "https://", 8))
		o += 8;
	else
		return false;
	return h->host[0] && !strcasecmp(o, h->host);
}

/* ---- WebSocket frames ---- */

/* The header is complete once its length (2, 4 or 10 bytes, plus 4 of mask) is in. */
static size_t header_len(const struct vncp_ws *w)
{
	size_t n = 2;

	if (w->hlen < 2)
		return 2;
	if ((w->hdr[1] & 0x7f) == 126)
		n = 4;
	else if ((w->hdr[1] & 0x7f) == 127)
		n = 10;
	return n + 4;
}

/* Checks a complete header and sets up its payload. */
static enum vncp_ws_event start_frame(struct vncp_ws *w)
{
	uint8_t op = w->hdr[0] & 0x0f, len7 = w->hdr[1] & 0x7f;
	bool fin = w->hdr[0] & 0x80, control = op & 8;
	size_t hl = header_len(w);

	if ((w->hdr[0] & 0x70) || !(w->hdr[1] & 0x80))
		return VNCP_WS_BAD; /* reserved bits without an extension; a client must mask */
	if (len7 == 126)
		w->left = get_be16(w->hdr + 2);
	else if (len7 == 127)
		w->left = get_be64(w->hdr + 2);
	else
		w->left = len7;
	if (w->left >> 62)
		return VNCP_WS_BAD;
	memcpy(w->mask, w->hdr + hl - 4, 4);
	w->mpos = 0;
	w->ctl_len = 0;
	if (control) {
		if (!fin || w->left > 125 ||
		    (op != VNCP_WS_OP_CLOSE && op != VNCP_WS_OP_PING && op != VNCP_WS_OP_PONG))
			return VNCP_WS_BAD;
	} else if (op == 0) {
		if (!w->in_msg)
			return VNCP_WS_BAD;
		w->in_msg = !fin;
	} else if (op == VNCP_WS_BINARY) {
		if (w->in_msg)
			return VNCP_WS_BAD;
		w->in_msg = !fin;
	} else {
		return VNCP_WS_BAD; /* text (websockify's base64) and reserved opcodes */
	}
	w->op = op;
	return VNCP_WS_MORE;
}

/* A control frame's payload is complete: what it means. */
static enum vncp_ws_event end_control(struct vncp_ws *w)
{
	if (w->op == VNCP_WS_OP_PING)
		return VNCP_WS_PING;
	if (w->op == VNCP_WS_OP_CLOSE)
		return VNCP_WS_CLOSE;
	return VNCP_WS_MORE; /* a pong: nothing to do */
}

enum vncp_ws_event vncp_ws_decode(struct vncp_ws *w, const uint8_t *in, size_t n, size_t *used,
				  uint8_t *out, size_t *outlen)
{
	size_t i = 0;
	enum vncp_ws_event ev = VNCP_WS_MORE;

	while (i < n && ev == VNCP_WS_MORE) {
		if (w->hlen < header_len(w)) {
			w->hdr[w->hlen++] = in[i++];
			if (w->hlen == header_len(w)) {
				ev = start_frame(w);
				if (ev == VNCP_WS_MORE && w->left == 0 && (w->op & 8)) {
					ev = end_control(w);
					w->hlen = 0;
				} else if (ev == VNCP_WS_MORE && w->left == 0) {
					w->hlen = 0;
				}
			}
			continue;
		}
		size_t take = n - i < w->left ? n - i : (size_t)w->left;
		for (size_t k = 0; k < take; k++) {
			uint8_t b = in[i + k] ^ w->mask[w->mpos++ & 3];

			if (w->op & 8)
				w->ctl[w->ctl_len++] = b;
			else
				out[(*outlen)++] = b;
		}
		i += take;
		w->left -= take;
		if (w->left == 0) {
			w->hlen = 0;
			if (w->op & 8)
				ev = end_control(w);
		}
	}
	*used = i;
	return ev;
}

size_t vncp_ws_header(uint8_t hdr[10], uint8_t op, uint64_t len)
{
	hdr[0] = (uint8_t)(0x80 | op);
	if (len < 126) {
		hdr[1] = (uint8_t)len;
		return 2;
	}
	if (len < 65536) {
		hdr[1] = 126;
		put_be16(hdr + 2, (uint16_t)len);
		return 4;
	}
	hdr[1] = 127;
	put_be64(hdr + 2, len);
	return 10;
}
