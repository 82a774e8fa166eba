/* The gate's listeners: the guest's sound to the browser console's pages. A page opens a
 * WebSocket on /audio, passes the same RFB handshake (and password) as the screen's, and from
 * then on only receives: a format message, then the samples as the guest plays them. */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "ui/vnc_gate_int.h"

#define AUDIO_QUEUE_MAX (64u << 10) /* queued for one listener before the gate waits for it */
#define AUDIO_MSG_MAX	8192u	    /* samples in one message */

enum { AUDIO_MSG_FORMAT = 1, AUDIO_MSG_SAMPLES = 2 };

void gate_audio_begin(struct gate *g, struct conn *c, uint64_t now)
{
	unsigned n = 0;

	for (unsigned i = 0; i < g->n; i++)
		n += !g->c[i]->dead && g->c[i]->st == C_AUDIO;
	if (n >= GATE_MAX_AUDIO) {
		pr_warn("vnc: %s: already %u pages listen to the guest's sound", c->peer, n);
		gate_count(g, &g->st.refused);
		gate_drain(c, now);
		return;
	}
	c->st = C_AUDIO;
	c->deadline = UINT64_MAX;
	audio_tap_follow(g->p.sound, &c->ar);
	pr_info("vnc: %s listens to the guest's sound", c->peer);
}

void gate_audio_pump(struct gate *g, struct conn *c)
{
	static uint8_t m[1 + AUDIO_MSG_MAX]; /* the gate's thread alone uses it */

	while (!c->dead && gate_pending(&c->out) < AUDIO_QUEUE_MAX) {
		struct audio_fmt f;
		bool new_fmt;
		size_t n = audio_tap_get(g->p.sound, &c->ar, &f, &new_fmt, m + 1, AUDIO_MSG_MAX);

		if (!n)
			break;
		if (new_fmt) {
			uint8_t h[6] = {AUDIO_MSG_FORMAT,	 (uint8_t)f.rate,
					(uint8_t)(f.rate >> 8),	 (uint8_t)(f.rate >> 16),
					(uint8_t)(f.rate >> 24), (uint8_t)f.channels};

			gate_say(c, h, sizeof(h));
		}
		m[0] = AUDIO_MSG_SAMPLES;
		gate_say(c, m, n + 1);
	}
	if (!c->dead && gate_pending(&c->out))
		gate_flush(c);
}
