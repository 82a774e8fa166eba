/* The manager's commands (one function per verb) and what they share. */
#pragma once
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>

#include "manager/store.h"

/* Exit statuses, as a Docker user expects: 0 done; 1 the command failed (no such VM, not
 * running...); 125 a bad command line or bad input to run/create (nothing was changed). */
#define EXIT_OK	   0
#define EXIT_FAIL  1
#define EXIT_USAGE 125

void mgr_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line of progress on stderr, only when it is a terminal; cleared by the next line. */
void mgr_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mgr_progress_clear(void);

/* For verbs that take only VMs: a word starting with '-' is an unknown flag (printed). */
bool mgr_no_flags(const char *verb, int argc, char **argv);
/* The shared folders of d (`-v`, run's and update's) made absolute, each an existing folder
 * without commas; 0, or -1 (printed). */
int mgr_shares_resolve(struct vm_def *d);
/* Opens the store or prints why not. */
int mgr_store(struct store *s);
/* Resolves ref (refreshing its state) or prints why not. */
int mgr_resolve(struct store *s, const char *ref, struct vm_entry *e);
/* True if the VM's VMM runs now. */
bool mgr_running(const struct vm_entry *e);
/* The VM's state from its API: "Running", "Paused" (or "" if it does not answer). */
void mgr_api_state(const struct vm_entry *e, char *out, size_t len);
/* One API call; prints the error unless quiet. Returns the HTTP status or -1. */
int mgr_api(const struct vm_entry *e, const char *method, const char *endpoint, bool quiet,
	    char *why, size_t whylen);

int cmd_run(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_screenshot(int argc, char **argv);
int cmd_disk(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_commit(int argc, char **argv);
int cmd_ssh(int argc, char **argv);
int cmd_ui(int argc, char **argv);
int cmd_update(int argc, char **argv);

struct run_opts;
struct image;
/* Pulls NAME[:TAG] or a URL unless it is stored already (catalog: --catalog, else
 * $PHYLLOME_CATALOG, else the one installed; from: the user's own copy of a catalogue entry,
 * a file or URL, or NULL). "NAME:TAG: pulled (how it was verified)" goes to report, and
 * "NAME:TAG: up to date" too when report is stdout (`pull`; run and create say nothing then). 0 or
 * an exit status (printed). */
int mgr_pull(struct store *s, const char *ref, const char *catalog, const char *from, FILE *report,
	     struct image *out);
struct catalog;
/* Where the catalogue is: --catalog (opt), $PHYLLOME_CATALOG, the source tree's data/ beside
 * the binary, else the installed one. */
void mgr_catalog_source(const char *opt, char *out, size_t len);
/* Loads the catalogue from src (a file or a URL). 0 or -1 (printed). */
int mgr_catalog_load(const char *src, struct catalog *c);
/* run/create NAME: pulls the image and sets the VM up from it (firmware, an overlay or an empty
 * disk and the ISO, cloud-init user-data, a forwarded SSH port). 0 or an exit status. */
int mgr_image_setup(struct store *s, struct run_opts *ro);
/* In a new VM's folder: its own UEFI variable store (a copy of ro->vars_template), its TPM's
 * state folder, a VNC display on a free port for a preset that wants a screen. 0 or -1
 * (printed). */
int mgr_make_machine(struct vm_entry *e, const struct run_opts *ro);
/* For a VM made with --os: where its screen is (stderr). */
void mgr_say_screen(const struct vm_entry *e, const struct run_opts *ro, bool started);
/* A free TCP port on 127.0.0.1 (for a forwarded SSH port or a VNC display), or -1. */
int mgr_free_port(void);
/* Makes a qcow2 image at path (qemu-img): an overlay on backing (of format fmt) when backing is
 * not NULL, of size bytes (0: the backing's). */
int mgr_make_qcow2(const char *path, const char *backing, const char *fmt, unsigned long long size,
		   char *err, size_t errlen);

/* Used by run and restart. */
int mgr_start_one(struct store *s, const char *ref, bool quiet, struct vm_entry *out);
int mgr_stop_one(struct store *s, struct vm_entry *e, int timeout_s);

/* Makes a sparse raw image of size bytes at path (refuses an existing file). */
int mgr_make_image(const char *path, unsigned long long size, char *err, size_t errlen);
/* Runs argv (stdout to /dev/null) and waits: 0, or -ENOENT ("DOING needs TOOL (Debian
 * PACKAGE)") or -EIO ("TOOL failed while DOING") with err set. */
int mgr_run_tool(const char *const argv[], const char *package, const char *doing, char *err,
		 size_t errlen);
/* Builds the cloud-init NoCloud seed in dir (vfat, label cidata: user-data, meta-data) from d's
 * cloud_init file, with the mounts of d's shared folders added (shares_user_data). */
int mgr_make_seed(const char *dir, const struct vm_def *d, char *err, size_t errlen);
