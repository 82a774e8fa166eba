/* A minimal RFB (VNC) client for tests: None or VNC authentication, raw encoding, 32-bit
 * pixels, over TCP, a Unix socket or a WebSocket (as the browser console's noVNC). It reads
 * what the server shows and sends keys and pointer events. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct rfb_client {
	int fd;
	unsigned width, height;
	uint32_t *fb; /* 0x00RRGGBB */
	char name[64];
	uint64_t pixels;   /* raw pixels received so far */
	bool hold_formats; /* rfb_connect_held: no SetPixelFormat/SetEncodings until asked */
	/* Set by the caller before connecting (rfb_connect keeps them): */
	const char *password; /* VNC authentication, when the server asks for it */
	bool websocket;	      /* speak RFB inside a WebSocket (GET /websockify) */
	uint64_t ws_left;     /* payload bytes left of the server's current frame */
};

/* addr: HOST:PORT or unix:PATH. Set c->password and c->websocket (or zero them) first. Returns
 * 0 or -errno (err says why). */
int rfb_connect(struct rfb_client *c, const char *addr, char *err, unsigned errlen);
/* The same, but with c->hold_formats set by the caller the client stops after ServerInit:
 * rfb_send_formats sends its pixel format and encodings (raw, DesktopSize) later. */
int rfb_connect_held(struct rfb_client *c, const char *addr, char *err, unsigned errlen);
int rfb_send_formats(struct rfb_client *c);
/* Asks for an update (incremental or whole) and applies what arrives within timeout_ms. Returns
 * the number of rectangles received, or -errno. */
int rfb_update(struct rfb_client *c, bool incremental, int timeout_ms);
int rfb_key(struct rfb_client *c, uint32_t keysym, bool down);
int rfb_pointer(struct rfb_client *c, unsigned x, unsigned y, uint8_t buttons);
void rfb_close(struct rfb_client *c);
