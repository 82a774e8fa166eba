/* The VNC server (libvncserver, RFB 3.8 with WebSocket on the same port, so noVNC connects
 * directly), run by the display thread: vnc_poll serves clients, vnc_mark queues changed areas.
 * Clients reach it only past the gate (vnc_gate.c), authenticated. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vm_config.h"

#define VNC_MAX_CLIENTS	       16 /* authenticated; the newest wins over the oldest */
#define VNC_MAX_CLIENT_WAIT_MS 3000
/* Connections the kernel queues before the gate takes them (it takes them fast): a burst of
 * connects then waits no SYN retry. */
#define VNC_BACKLOG 128

struct gate_stats;

struct vnc;
struct display;
struct audio_tap;

/* Listens where cfg says (TCP HOST:PORT or a Unix socket made with mode 0600) over the frame fb
 * (0x00RRGGBB, w x h); the gate's thread runs under mode's seccomp filter. A TCP address other
 * machines can reach without a password is refused. Returns 0 or -errno with one line in err. */
int vnc_start(struct vnc **out, const struct display_config *cfg, struct display *d, uint32_t *fb,
	      unsigned w, unsigned h, struct audio_tap *sound, enum seccomp_mode mode, char *err,
	      size_t errlen);
/* Accepts new clients and serves the others for up to usec microseconds (returns early when
 * stop_fd or wake_fd becomes readable, or after serving some client's message). */
void vnc_poll(struct vnc *v, long usec, int stop_fd, int wake_fd);
void vnc_resize(struct vnc *v, uint32_t *fb, unsigned w, unsigned h);
void vnc_mark(struct vnc *v, unsigned x, unsigned y, unsigned w, unsigned h);
unsigned vnc_clients(struct vnc *v);
/* What the gate in front of it has seen (vnc_gate.h). */
void vnc_gate_stats(struct vnc *v, struct gate_stats *s);
/* Whether some client (past its handshake) has asked for an update that it has not yet got:
 * only then is a new picture worth making. */
bool vnc_wants_update(struct vnc *v);
void vnc_stop(struct vnc *v);
