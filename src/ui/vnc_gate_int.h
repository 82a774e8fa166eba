/* The gate's insides, shared by vnc_gate.c (connections, the RFB handshake, the loop) and
 * vnc_gate_web.c (HTTP, TLS, WebSocket frames and the relay). Not for anyone else. */
#pragma once
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backends/audio_tap.h"
#include "ui/vnc_gate.h"
#include "ui/vnc_proto.h"

enum cstate {
	C_SNIFF, /* just accepted: what does it speak? (an RFB client says nothing first) */
	C_TLS,	 /* TLS handshake (the browser console over https/wss) */
	C_HTTP,	 /* reading an HTTP request head */
	C_RFB,	 /* RFB handshake, raw */
	C_WSRFB, /* RFB handshake inside WebSocket frames */
	C_DRAIN, /* sending what is left, then closing */
	C_RELAY, /* authenticated: the client <-> libvncserver (through WebSocket frames or not) */
	C_AUDIO, /* authenticated on /audio: the guest's sound to a page (vnc_gate_audio.c) */
};

struct buf {
	uint8_t *p;
	size_t len, off, cap; /* bytes [off, len) are queued */
};

struct conn {
	int fd;
	int relay; /* C_RELAY: the gate's end of the pair to libvncserver */
	bool ws;   /* it spoke WebSocket: our bytes go out in frames (wsd decodes) */
	enum cstate st;
	bool dead;
	uint64_t born, progress, deadline; /* progress: the last handshake step done */
	uint8_t src[16];
	char peer[64];
	gnutls_session_t tls;
	size_t tls_retry; /* gnutls_record_send wants the same length again after EAGAIN */
	bool tls_out;	  /* the TLS handshake waits to write */
	struct vncp_rfb rfb;
	struct vncp_ws wsd;
	char head[VNCP_HTTP_MAX];
	size_t head_len;
	struct buf out; /* to the client (WebSocket frames, RFB, HTTP) */
	const char *body;
	size_t body_len, body_off;
	struct buf rin; /* from a relayed client, for libvncserver */
	bool audio;	/* a WebSocket on /audio: past the handshake, C_AUDIO */
	struct audio_tap_reader ar;
};

struct src {
	uint8_t key[16];
	uint64_t t; /* last refill */
	double tokens;
	bool used;
	uint64_t browser; /* when it last sent an HTTP request (0: never) */
};

#define GATE_SOURCES 256
#define GATE_QUEUE   8
#define OUT_MAX	     (256u << 10) /* queued for a client before it has authenticated */
/* What libvncserver sent an authenticated client that it has not read yet: past this the client
 * is dropped (never a stalled display thread). A viewer asks for one update at a time, so it
 * holds at most about one frame: 3840x2160 in raw encoding is 33 MB. */
#define BACKLOG_MAX (48u << 20)
#define RIN_MAX	    (64u << 10)
#define IO_CHUNK    16384

struct gate {
	struct gate_params p;
	char *password;
	int lfd, stop_fd;
	pthread_t thread;
	bool started;
	struct conn **c;
	unsigned n, cap;
	uint64_t pause_until; /* accept paused (out of descriptors) */
	struct src src[GATE_SOURCES];
	struct src global;
	gnutls_certificate_credentials_t cred;
	pthread_mutex_t lock; /* q, qn, st */
	struct gate_client q[GATE_QUEUE];
	unsigned qn;
	struct gate_stats st;
	struct pollfd *pfd;
	struct conn **pconn;
};

uint64_t gate_now_ms(void);
/* The rate-limit and history entry of an address (made if it has none). */
struct src *gate_source(struct gate *g, const uint8_t key[16], uint64_t now);
void gate_count(struct gate *g, uint64_t *field);
bool gate_buf_put(struct buf *b, const void *d, size_t n, size_t max);
size_t gate_pending(const struct buf *b);
void gate_kill(struct conn *c);
ssize_t gate_recv(struct conn *c, void *b, size_t n);
ssize_t gate_send(struct conn *c, const void *b, size_t n);
/* Sends what is queued; a connection in C_DRAIN closes once all is out. */
void gate_flush(struct conn *c);
/* Queues bytes for the client (as one binary frame on a WebSocket). */
void gate_say(struct conn *c, const void *d, size_t n);
void gate_say_ctl(struct conn *c, uint8_t op, const void *d, size_t n);
void gate_drain(struct conn *c, uint64_t now);
void gate_start_rfb(struct gate *g, struct conn *c, enum cstate st);
/* Feeds the handshake; returns how many bytes it took. */
size_t gate_rfb_input(struct gate *g, struct conn *c, const uint8_t *in, size_t n, uint64_t now);

/* vnc_gate_web.c (and the WebSocket frames of vnc_gate_audio.c's listeners) */
void gate_http_input(struct gate *g, struct conn *c, uint64_t now);
void gate_tls_start(struct gate *g, struct conn *c, uint64_t now);
void gate_tls_input(struct gate *g, struct conn *c, uint64_t now);
void gate_ws_input(struct gate *g, struct conn *c, uint64_t now);
void gate_ws_frames(struct gate *g, struct conn *c, const uint8_t *in, size_t n, uint64_t now);
void gate_relay_read(struct conn *c, uint64_t now);
void gate_relay_write(struct conn *c);
void gate_raw_input(struct conn *c);

/* vnc_gate_audio.c: the guest's sound to the console's pages (a WebSocket on /audio that passes
 * the same RFB handshake and password as the screen's, then gets binary messages: 0x01, the
 * rate (u32 LE) and channels (u8) of what follows; 0x02, S16LE interleaved frames). */
#define GATE_AUDIO_MS 20 /* how often the gate sends a listener what the guest played */
/* Past the handshake: a listener, or refused when there are GATE_MAX_AUDIO. */
void gate_audio_begin(struct gate *g, struct conn *c, uint64_t now);
/* Sends a listener what it has not had, as far as its queue allows (the rest is skipped once it
 * falls a ring behind: a slow page never holds the guest or the others). */
void gate_audio_pump(struct gate *g, struct conn *c);
