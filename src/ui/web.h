/* The browser console: a small page for this VM with noVNC (Debian's novnc package), served on
 * the VNC port itself. A connection that sends an HTTP GET first is a browser: a WebSocket
 * upgrade goes to the VNC server (libvncserver speaks WebSocket), any other GET gets the page or
 * one of noVNC's files. The files are read into memory at start: the display thread opens
 * nothing. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct web;

/* Loads the page and noVNC's modules from dir (core/ and vendor/). 0 or -errno, err set. */
int web_load(struct web **out, const char *dir, char *err, size_t errlen);
void web_free(struct web *w);
/* Answers one HTTP request on fd (blocking, with a short timeout) and closes fd. */
void web_serve(const struct web *w, int fd);
/* How a new connection on the VNC port wants to talk: after waiting up to wait_ms for its first
 * bytes (an RFB client sends nothing first). */
enum web_kind { WEB_RFB, WEB_WEBSOCKET, WEB_HTTP };
enum web_kind web_classify(int fd, int wait_ms);
