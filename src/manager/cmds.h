/* The manager's commands (one function per verb) and what they share. */
#pragma once
#include <stdbool.h>
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

/* Used by run and restart. */
int mgr_start_one(struct store *s, const char *ref, bool quiet, struct vm_entry *out);
int mgr_stop_one(struct store *s, struct vm_entry *e, int timeout_s);

/* Makes a sparse raw image of size bytes at path (refuses an existing file). */
int mgr_make_image(const char *path, unsigned long long size, char *err, size_t errlen);
/* Builds the cloud-init NoCloud seed (vfat, label cidata: user-data, meta-data). */
int mgr_make_seed(const char *dir, const char *user_data, const char *id, const char *name,
		  char *err, size_t errlen);
