/* The desktop app's console (docs/ui.md): a browser's WebSocket to /api/vms/VM/vnc is passed
 * through to the VM's own VNC port, which speaks WebSocket itself (docs/display.md): the ui
 * server repeats the browser's handshake to it, answers the browser with the VMM's accept key
 * and then relays the frames untouched, so the VMM's VNC password (if any) is still asked and
 * checked by the VMM. */
#pragma once
#include <stddef.h>

struct ui_ws {
	int fd;		  /* to the VM's VNC port */
	char accept[64];  /* the VMM's Sec-WebSocket-Accept */
	char proto[32];	  /* the subprotocol it chose ("" for none) */
	char extra[4096]; /* what it sent after its handshake */
	size_t extra_len;
};

/* Connects to the VNC display of VM (a name or id) and makes the WebSocket handshake with the
 * browser's key and subprotocols, on path: "/websockify" (the screen) or "/audio" (the guest's
 * sound, docs/sound.md). 0, or -errno with err set to one line. */
int ui_ws_open(const char *vm, const char *path, const char *key, const char *protocols,
	       struct ui_ws *w, char *err, size_t errlen);
/* Relays between the browser's socket and w->fd until either side ends; closes w->fd. */
void ui_ws_relay(int client, struct ui_ws *w, const char *extra_in, size_t n);
