/* The VNC port's front door: one thread ("vnc-gate", poll-based) accepts every connection and
 * holds it until it has authenticated: the RFB handshake with VNC's password, or the browser
 * console's HTTP (the page is served here) and WebSocket upgrade, over TLS when asked for. It
 * caps connections, sets deadlines and rate-limits password attempts (docs/display.md, "Hostile
 * clients"); only authenticated clients reach libvncserver on the display thread (vnc.c). Even
 * then a client stays with the gate, which relays its bytes (or WebSocket frames) to
 * libvncserver over a socket pair: libvncserver sees only those, with descriptors below
 * FD_SETSIZE (it select()s on them), and never waits on a client that stops reading. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "common/vm_config.h"

struct gate;
struct audio_tap;
struct web;

struct gate_params {
	int listen_fd;
	const char *password;		/* VNC authentication; NULL: None */
	const struct web *web;		/* the browser console's page and files, or NULL */
	struct audio_tap *sound;	/* the guest's sound, streamed on /audio, or NULL */
	const char *tls_cert, *tls_key; /* PEM files: TLS for the browser console, or NULL */
	enum seccomp_mode seccomp;
	void (*ready)(void *opaque); /* an authenticated client waits (gate_take) */
	void *opaque;
	/* Limits; 0 takes the default (the GATE_ values below). Tests make them small. */
	unsigned max_preauth, max_per_source;
	unsigned handshake_ms, auth_ms;
};

#define GATE_MAX_PREAUTH       128   /* connections not yet authenticated, in all */
#define GATE_MAX_PER_SOURCE    16    /* ... from one address (IPv4) or /64 (IPv6) */
#define GATE_MAX_RELAYS	       32    /* clients past authentication (vnc.c keeps 16) */
#define GATE_MAX_AUDIO	       8     /* pages listening to the guest's sound */
#define GATE_HANDSHAKE_MS      10000 /* to send the version, security type, HTTP head, TLS */
#define GATE_AUTH_MS	       60000 /* to answer VNC's challenge (a viewer asks its user now) */
#define GATE_SNIFF_MS	       150   /* a client silent this long is an RFB client (it waits) */
#define GATE_SNIFF_BROWSER_MS  3000  /* ... from an address where a browser waited longer */
#define GATE_BROWSER_MEMORY_MS 60000 /* ... lately */
#define GATE_FAIL_BURST	       5     /* password failures per source before the limit bites */
#define GATE_FAIL_EVERY_MS     12000 /* ... then one more per this long */
#define GATE_GFAIL_BURST       30    /* the same for all sources together */
#define GATE_GFAIL_EVERY_MS    2000

/* An authenticated client for libvncserver: fd (the display's end of the gate's relay) at
 * RFB's ClientInit, speaking 3.minor. sp is a connected socket pair whose
 * sp[1] holds four bytes: vnc.c creates libvncserver's client on sp[0] (which makes
 * libvncserver greet it and look for a WebSocket there, not on fd) and then moves it to fd. */
struct gate_client {
	int fd;
	int sp[2];
	int minor;
	char peer[64];
};

/* Starts the thread on listen_fd (which the gate then owns). 0 or -errno with err set. */
int gate_start(struct gate **out, const struct gate_params *p, char *err, size_t errlen);
/* The next authenticated client, if any (the display thread, when ready() woke it). */
bool gate_take(struct gate *g, struct gate_client *c);
/* What the gate has done, for tests and logs. */
struct gate_stats {
	uint64_t accepted, evicted, expired, refused, auth_failed, rate_limited, handed_over;
	unsigned preauth, relays;
};
void gate_stats(struct gate *g, struct gate_stats *s);
void gate_stop(struct gate *g);
