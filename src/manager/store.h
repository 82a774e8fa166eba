/* The state folder: one folder per VM under ROOT/vms/<id>/ (config.json, state.json, sockets,
 * logs, images), and ROOT/lock, an flock(2) lock taken around every change. ROOT is
 * $PHYLLOME_STATE, else /var/lib/phyllome for root, else $XDG_DATA_HOME/phyllome (default
 * ~/.local/share/phyllome). Files are written to a temporary name and renamed, so a reader
 * never sees half a file. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "manager/vmdef.h"

struct store {
	char root[VMDEF_PATH];
	int lock_fd;
	int lock_depth;
};

struct vm_entry {
	struct vm_def def;
	struct vm_state st;
	char dir[VMDEF_PATH];
};

/* Finds (and makes) the state folder. 0 or a negative errno + err. */
int store_open(struct store *s, char *err, size_t errlen);
void store_close(struct store *s);
/* Exclusive (writers) or shared (readers) lock on ROOT/lock; nests. 0 or -errno. */
int store_lock(struct store *s, bool exclusive);
void store_unlock(struct store *s);

/* ROOT/vms/<id>/<file> into out. -ENAMETOOLONG if it does not fit. */
int store_path(const struct store *s, const char *id, const char *file, char *out, size_t len);

/* Writes data to dir/file atomically (temporary file + fsync + rename). 0 or -errno. */
int store_write_file(const char *dir, const char *file, const char *data);
/* Reads a whole small file (at most 1 MiB) into a malloc'd NUL-terminated buffer. */
int store_read_file(const char *path, char **out, size_t *len);

/* Loads one VM's folder. 0, -ENOENT (not a VM), or -EINVAL + err (broken files). */
int store_load(const struct store *s, const char *id, struct vm_entry *e, char *err, size_t errlen);
int store_save_def(const struct vm_entry *e);
int store_save_state(const struct vm_entry *e);

/* Every VM, sorted by creation time, newest first (malloc'd array). Folders that fail to
 * load are skipped with a warning on stderr. */
int store_list(const struct store *s, struct vm_entry **out, size_t *n);

/* The VM called ref: an exact name, an exact id, or a unique prefix of an id (Docker's
 * rules). 0, -ENOENT ("no such VM") or -EINVAL (ambiguous), with err set. */
int store_resolve(const struct store *s, const char *ref, struct vm_entry *e, char *err,
		  size_t errlen);
/* The id of the VM called name, if any (for unique names). */
bool store_name_taken(const struct store *s, const char *name, char *id_out);

/* Brings e->st up to date with the processes: a "running" VM whose VMM is gone becomes
 * "exited" (exit code -1 if nobody recorded it) and its sockets and pids are cleaned up.
 * Takes the exclusive lock if it has to write. Returns true if it changed something. */
bool store_refresh(struct store *s, struct vm_entry *e);
/* Removes a VM's folder and everything in it. */
int store_remove(const struct store *s, const struct vm_entry *e);
