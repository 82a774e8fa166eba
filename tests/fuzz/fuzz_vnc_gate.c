/* libFuzzer: what a client sends the VNC port before it is authenticated, as the gate takes it
 * (src/ui/vnc_gate.c): the RFB handshake (versions, security types, VNC authentication), raw
 * or inside WebSocket frames (masks, lengths, fragments, control frames). The first byte picks
 * the mode: bit 0 a password is set, bit 1 WebSocket framing, bit 2 the password check's
 * verdict, bits 4-7 how many bytes each read brings (1 to 16, or all). Checked: every answer
 * fits its bound, the states move only forward, the decoder never takes more than it was given
 * nor makes more payload than input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ui/vnc_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static const uint8_t challenge[16] = "0123456789abcdef";

/* Feeds bytes to the handshake as the gate does: never more than the step needs. */
static void rfb(struct vncp_rfb *r, const uint8_t *d, size_t n, bool verdict)
{
	while (n && vncp_rfb_need(r)) {
		uint8_t out[VNCP_RFB_OUT_MAX + 8];
		size_t olen = 0, need = vncp_rfb_need(r);
		enum vncp_rfb_state before = r->state;
		size_t took = vncp_rfb_feed(r, d, n, out, &olen);

		check(need <= 16 && took <= need && took <= n && took > 0);
		check(olen <= VNCP_RFB_OUT_MAX);
		check(r->state >= before);
		d += took;
		n -= took;
		if (r->state == VNCP_RFB_CHECK) {
			bool ok = vncp_vnc_auth_ok(r->challenge, r->response, "s3cret");

			vncp_rfb_result(r, ok || verdict, "wrong password", out, &olen);
			check(olen <= VNCP_RFB_OUT_MAX);
			check(r->state == VNCP_RFB_DONE || r->state == VNCP_RFB_FAIL);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vncp_rfb r;
	struct vncp_ws w = {0};
	uint8_t out[VNCP_RFB_OUT_MAX], payload[4096];
	size_t olen = 0, chunk;
	bool ws, verdict;

	if (size < 1 || size > 65536)
		return 0;
	ws = data[0] & 2;
	verdict = data[0] & 4;
	chunk = (data[0] >> 4) ? (data[0] >> 4) : size;
	vncp_rfb_start(&r, data[0] & 1, challenge, out, &olen);
	check(olen == 12);
	data++;
	size--;
	while (size) {
		size_t n = size < chunk ? size : chunk;

		if (n > sizeof(payload))
			n = sizeof(payload);
		if (!ws) {
			rfb(&r, data, n, verdict);
			data += n;
			size -= n;
			continue;
		}
		size_t used = 0, plen = 0;
		enum vncp_ws_event ev = vncp_ws_decode(&w, data, n, &used, payload, &plen);

		check(used <= n && plen <= used);
		check(w.ctl_len <= sizeof(w.ctl));
		rfb(&r, payload, plen, verdict);
		data += used;
		size -= used;
		if (ev == VNCP_WS_CLOSE || ev == VNCP_WS_BAD)
			break;
		check(ev == VNCP_WS_PING || used == n);
	}
	return 0;
}
