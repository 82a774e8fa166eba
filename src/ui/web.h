/* The browser console: a small page for this VM with noVNC (Debian's novnc package), served on
 * the VNC port itself by the gate (vnc_gate.c). The files are read into memory at start: the
 * gate's thread opens nothing. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct web;

/* Loads the page and noVNC's modules from dir (core/ and vendor/). 0 or -errno, err set. */
int web_load(struct web **out, const char *dir, char *err, size_t errlen);
void web_free(struct web *w);
/* The page ("/" or "/index.html") or one of noVNC's files: its type, bytes and length (which
 * stay valid until web_free). 0 or -ENOENT. */
int web_find(const struct web *w, const char *path, const char **type, const char **data,
	     size_t *len);
