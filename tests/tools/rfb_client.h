/* A minimal RFB (VNC) client for tests: no authentication, raw encoding, 32-bit pixels. It
 * reads what the server shows and sends keys and pointer events. */
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
};

/* addr: HOST:PORT or unix:PATH. Returns 0 or -errno (err says why). */
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
