/* The desktop app's server (`phyllome ui`, docs/ui.md): its checks, fuzzed (pure but for the
 * realpath of a picked file, ui_files.h): the session
 * cookie, Origin against Host, the request path's parts, the new-VM dialog's JSON turned into
 * the words after `phyllome run` ("-d" first), and where a VM's VNC display listens. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct ui_folders;

#define UI_SECRET_HEX 64 /* the per-user secret and the CSRF token: 32 random bytes, in hex */
#define UI_COOKIE     "phyllome_ui"

/* Copies the value of cookie name from a Cookie header ("a=1; b=2") into out (size len).
 * False if absent, empty or longer than len - 1. */
bool ui_cookie_get(const char *header, const char *name, char *out, size_t len);
/* a == b, in time that depends only on their lengths. False if either is NULL or empty. */
bool ui_secret_eq(const char *a, const char *b);
/* A browser's Origin names this server: "http://" + Host, exactly (case-insensitive), or
 * "https://" + Host when it serves HTTPS (tls). A missing Origin or Host is refused: every state
 * change comes from the page, which sends both. */
bool ui_origin_ok(const char *origin, const char *host, bool tls);

/* /api/vms/VM[/ACTION]: VM (a name or id: [A-Za-z0-9_.-], at most 63) and ACTION (lower case
 * letters, at most 15; "" when absent). -EINVAL for any other path. */
int ui_vm_path(const char *url, char vm[64], char action[16]);
/* A file under a served folder: [A-Za-z0-9_.-] words joined by '/', no word starting with '.'
 * (so no "..", no hidden files), at most 200 characters. */
bool ui_file_path_ok(const char *rel);

/* The new-VM dialog's body, {"image": "NAME[:TAG]", "name": "web", "cpus": 2, "memory_mib":
 * 1024, "display": "vnc"|"none", "net": "user"|"none"}, as the words of `run -d ...` (image
 * last). image is a store or catalogue reference, never a path or a URL; instead of it, "iso"
 * (the CD, with a new empty disk of disk_gib or 20 GiB) or "disk_file" (the VM's disk) name a
 * file under the settings' folders by its id (ui_files.h: resolved there, the one I/O here),
 * with "os" (an --os preset, default linux). "shares": [{"folder": N, "guest": "/PATH",
 * "readonly": bool}, ...] (at most VMDEF_MAX_SHARES) are the folder numbers N of the settings,
 * each as `-v DIR:/PATH[:ro]` (parsed by `run` itself: shares.c). vnc_sock is the Unix socket the
 * display is to listen on. The words point into store (size storelen). Returns the word count (<=
 * max) or -EINVAL with err set to one line.
 */
int ui_new_vm_args(const char *json, size_t len, const char *vnc_sock,
		   const struct ui_folders *folders, char **words, int max, char *store,
		   size_t storelen, char *err, size_t errlen);

/* The Edit dialog's body, {"cpus": 2, "memory_mib": 1024, "disk_gib": 20, "display": "vnc"|"none",
 * "sound": "pulse"|"none", "shares": [...]} (any of them, at least one), as the words of `update
 * ... VM`; "vnc" is the Unix socket vnc_sock, as for a new VM; "shares" as a new VM's (the VM's
 * shared folders become these: `-v` each, `--no-shares` for an empty list). Same returns as
 * ui_new_vm_args. */
int ui_update_args(const char *json, size_t len, const char *vm, const char *vnc_sock,
		   const struct ui_folders *folders, char **words, int max, char *store,
		   size_t storelen, char *err, size_t errlen);

/* Where `--display` (a VM's display option) listens for VNC: "vnc=unix:PATH[,...]" ->
 * path set, port 0; "vnc=HOST:PORT[,...]" -> host and port. -ENOENT when the VM has no VNC
 * display, -EINVAL when the option cannot be read. */
struct ui_vnc_target {
	char path[108];
	char host[64];
	unsigned port;
};
int ui_vnc_target(const char *display, struct ui_vnc_target *t);
