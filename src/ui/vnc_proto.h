/* What a client sends the VNC port before it is authenticated, as pure functions over bytes (no
 * sockets, no clock) so that each can be fuzzed: the RFB handshake up to the security result
 * (versions 3.3, 3.7 and 3.8; None or VNC authentication), an HTTP request's head, and
 * WebSocket (RFC 6455) frames. src/ui/vnc_gate.c drives them. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- RFB ---- */
#define VNCP_RFB_OUT_MAX 128 /* the most one call appends to out */

enum vncp_rfb_state {
	VNCP_RFB_VERSION, /* waiting for the client's ProtocolVersion (12 bytes) */
	VNCP_RFB_SECTYPE, /* waiting for its security type (1 byte; 3.7 and 3.8) */
	VNCP_RFB_AUTH,	  /* waiting for its VNC authentication response (16 bytes) */
	VNCP_RFB_CHECK,	  /* the response is in: the caller checks it (vncp_rfb_result) */
	VNCP_RFB_DONE,	  /* authenticated: next comes ClientInit, libvncserver's part */
	VNCP_RFB_FAIL,	  /* refused: send what is in out, then close */
};

struct vncp_rfb {
	enum vncp_rfb_state state;
	bool auth; /* VNC authentication is asked for (a password is set) */
	int minor; /* the protocol's minor version as agreed: 3, 7 or 8 */
	uint8_t in[16];
	size_t have;
	uint8_t challenge[16];
	uint8_t response[16];
};

/* Starts a handshake: out gets the server's ProtocolVersion ("RFB 003.008\n"). */
void vncp_rfb_start(struct vncp_rfb *r, bool auth, const uint8_t challenge[16], uint8_t *out,
		    size_t *outlen);
/* How many more bytes the current step needs (0 outside VERSION, SECTYPE and AUTH). A caller
 * reading a socket reads no more than that, so bytes meant for libvncserver stay unread. */
size_t vncp_rfb_need(const struct vncp_rfb *r);
/* Takes up to vncp_rfb_need() bytes of in; appends the server's answers to out (which has
 * VNCP_RFB_OUT_MAX bytes free past *outlen). Returns how many bytes it took. */
size_t vncp_rfb_feed(struct vncp_rfb *r, const uint8_t *in, size_t n, uint8_t *out, size_t *outlen);
/* In state CHECK: the verdict. ok: SecurityResult OK, state DONE. Otherwise a failed
 * SecurityResult (with reason, in 3.8), state FAIL. */
void vncp_rfb_result(struct vncp_rfb *r, bool ok, const char *reason, uint8_t *out, size_t *outlen);
/* Whether response is challenge encrypted (DES, VNC's way) with password's first 8 bytes. */
bool vncp_vnc_auth_ok(const uint8_t challenge[16], const uint8_t response[16],
		      const char *password);

/* ---- HTTP ---- */
#define VNCP_HTTP_MAX 4096 /* a request head longer than this is refused */

struct vncp_http {
	char path[256]; /* without ?query and #fragment */
	bool websocket; /* "Upgrade: websocket" with "Connection: ... upgrade" */
	int ws_version; /* Sec-WebSocket-Version */
	char key[32];	/* Sec-WebSocket-Key */
	bool binary;	/* Sec-WebSocket-Protocol offers "binary" */
	char host[256];
	char origin[256];
};

/* Parses the head of a GET request in buf[0..n). Returns its length once the blank line is in,
 * 0 while more is needed, -EINVAL when it is not a GET request we understand, -E2BIG when it
 * has no end within VNCP_HTTP_MAX bytes. */
int vncp_http_parse(const char *buf, size_t n, struct vncp_http *h);
/* Sec-WebSocket-Accept for the request's key (28 characters and a NUL). 0 or -EINVAL. */
int vncp_ws_accept(const char *key, char out[29]);
/* A browser's WebSocket from another site's page must not reach the console: an Origin, when
 * there is one, must name the same host and port as Host. */
bool vncp_origin_ok(const struct vncp_http *h);

/* ---- WebSocket frames ---- */
enum vncp_ws_event {
	VNCP_WS_MORE,  /* everything taken (data went to out): give more */
	VNCP_WS_PING,  /* a ping arrived: answer with a pong carrying ctl[0..ctl_len) */
	VNCP_WS_CLOSE, /* the client closes */
	VNCP_WS_BAD,   /* a frame we refuse (unmasked, reserved bits, text, a bad control frame) */
};

struct vncp_ws {
	uint8_t hdr[14];
	size_t hlen;   /* header bytes gathered so far */
	uint64_t left; /* payload bytes left of the current frame */
	uint8_t mask[4];
	unsigned mpos;
	uint8_t op;  /* the current frame's opcode */
	bool in_msg; /* a fragmented binary message is under way */
	uint8_t ctl[125];
	size_t ctl_len;
};

/* Decodes in[0..n): binary payload goes to out (which has room for n bytes past *outlen; a
 * payload is never longer than its frame). *used says how much of in it took; it stops after a
 * ping or a close, or at a frame it refuses. */
enum vncp_ws_event vncp_ws_decode(struct vncp_ws *w, const uint8_t *in, size_t n, size_t *used,
				  uint8_t *out, size_t *outlen);
/* A server frame's header (FIN, opcode op, no mask) for len payload bytes: 2, 4 or 10 bytes. */
size_t vncp_ws_header(uint8_t hdr[10], uint8_t op, uint64_t len);

enum { VNCP_WS_BINARY = 2, VNCP_WS_OP_CLOSE = 8, VNCP_WS_OP_PING = 9, VNCP_WS_OP_PONG = 10 };
