/* The per-VM API: HTTP/1.1 + JSON on a Unix socket (libmicrohttpd, jansson), served by one
 * thread of its own. That thread only parses requests into actions and passes them to the
 * VMM thread through a control channel; it never touches the VM (docs/api.md). */
#pragma once
#include <stddef.h>

#include "kvm/control.h"
#include "kvm/seccomp.h"

struct api_server;
struct display;

/* Creates the socket at path with mode 0600 (a stale socket left there is replaced; anything
 * else there is refused) and starts the API thread under its seccomp filter. Returns 0, or a
 * negative errno with one line in err. */
int api_server_start(struct api_server **out, const char *path, struct ctl_channel *ch,
		     enum seccomp_mode seccomp, char *err, size_t errlen);
/* Stops the API thread after the answers already given have reached their clients (waiting a
 * second at most), and removes the socket. The channel must be closed first. */
void api_server_stop(struct api_server *s);
/* The display that vm.screenshot reads (NULL: none). Set before the first request. */
void api_server_set_display(struct api_server *s, struct display *d);
/* How long a request waits for the VMM thread's answer before it gets 504 (default 30 s). */
void api_server_set_call_timeout(struct api_server *s, int ms);
