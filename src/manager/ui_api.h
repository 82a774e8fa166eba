/* The desktop app's JSON API (docs/ui.md): each verb runs the very function its CLI verb runs
 * (cmd_start, cmd_stop, cmd_ps...), in a child process so that one verb's output, exit and
 * locks are its own, and answers its exit status and its one error line. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct ui_reply {
	int status;	  /* HTTP status */
	const char *type; /* Content-Type */
	char *body;	  /* malloc'd */
	size_t len;
};

/* What a verb's run left: its exit status, what it wrote to stdout (up to the limit asked),
 * and its last line on stderr without the "phyllome: " prefix. */
struct ui_out {
	int rc;
	char *out;
	size_t out_len;
	char err[512];
};

/* Runs fn(argc, argv) (a cmd_* function) in a child: stdin /dev/null, stdout kept up to
 * out_max bytes, stderr's last line. 0, or -errno if it could not run (err says why). */
int ui_call(int (*fn)(int, char **), int argc, char **argv, size_t out_max, struct ui_out *o);
void ui_out_free(struct ui_out *o);

/* A JSON error reply: {"error": "one line"}. */
void ui_reply_error(struct ui_reply *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* GET /api/vms: every VM (`ps -a --format json`) as a JSON array. */
void ui_api_list(struct ui_reply *r);
/* GET /api/images: the stored images and the catalogue's entries. */
/* GET /api/pulls: the downloads under way (any pull's PATH.progress in the store: fetch.h), as
 * [{"label", "done", "total", "bytes_per_s"}]: the new-VM dialog's progress bar. */
void ui_api_pulls(struct ui_reply *r);
void ui_api_images(struct ui_reply *r);
/* GET /api/vms/VM/ACTION: screenshot (a PNG: `screenshot VM /proc/self/fd/1`), logs (the serial
 * log's end), inspect. */
void ui_api_get(const char *vm, const char *action, struct ui_reply *r);
/* POST /api/vms/VM/ACTION: start, stop, kill, restart, pause, resume, rm. */
void ui_api_post(const char *vm, const char *action, struct ui_reply *r);
/* POST /api/vms/VM/update: `update --cpus N --memory NM VM` from the Edit dialog's JSON. */
void ui_api_update(const char *vm, const char *body, size_t len, const char *vnc_dir,
		   struct ui_reply *r);
/* GET /api/settings: {"folders": [...]} (STATE/ui-settings.json); POST /api/settings: the same
 * JSON, checked (each a folder) and saved 0600; GET /api/files: {"files": [...]}, the ISOs and
 * disk images under them (ui_files.h), each with the id the new-VM dialog sends. */
void ui_api_settings(struct ui_reply *r);
void ui_api_settings_save(const char *body, size_t len, struct ui_reply *r);
void ui_api_files(struct ui_reply *r);
/* POST /api/vms: `run -d` from the new-VM dialog's JSON; vnc_dir is where a display's
 * socket goes. */
void ui_api_create(const char *body, size_t len, const char *vnc_dir, struct ui_reply *r);
