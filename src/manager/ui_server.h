/* The desktop app's server (`phyllome ui`, docs/ui.md): libmicrohttpd serving the page's files,
 * noVNC, the JSON API (ui_api.c) and the console's WebSocket (ui_ws.c), every request checked
 * for the per-user secret's cookie, and every change for its Origin and CSRF token. */
#pragma once
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>

#include "manager/ui_req.h"

struct ui_server {
	char secret[UI_SECRET_HEX + 1]; /* the cookie's value (the state folder's ui-secret) */
	char csrf[UI_SECRET_HEX + 1];	/* what every change sends in X-Phyllome-CSRF */
	char token[UI_SECRET_HEX + 1];	/* the one-time sign-in token ("" once used) */
	pthread_mutex_t lock;		/* guards token */
	char ui_dir[PATH_MAX];		/* the page's files (data/ui) */
	char novnc_dir[PATH_MAX];	/* Debian's novnc */
	char vnc_dir[PATH_MAX];		/* where the displays of VMs made in the page listen */
	char *tls_cert, *tls_key;	/* HTTPS: the PEM texts (NULL: plain HTTP) */
	struct MHD_Daemon *mhd;
};

/* Serves on the listening socket fd. 0 or -1 with err set. */
int ui_server_start(struct ui_server *s, int fd, char *err, size_t errlen);
void ui_server_stop(struct ui_server *s);
