/* Starting a VM: the phyllome-vmm and passt command lines, and the supervisor, a small process
 * per running VM (double-forked, in its own session) that starts passt and phyllome-vmm, holds
 * the guest's serial line (a log file plus a console socket any number of `phyllome console`
 * clients attach to), waits for the VMM, records its exit status and cleans up. See
 * docs/manager.md. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "manager/store.h"

/* phyllome-vmm: $PHYLLOME_VMM, else next to this program, else on PATH. */
int sup_find_vmm(char *out, size_t len, char *err, size_t errlen);
/* The same for any program of ours (name) with its variable (env_name). */
int sup_find_prog(const char *name, const char *env_name, char *out, size_t len, char *err,
		  size_t errlen);

/* A growable argv: sup_argv_add appends a formatted word; sup_argv_finish returns the
 * NULL-terminated array (NULL, everything freed, if an allocation failed on the way). */
struct sup_argv {
	char **v;
	size_t n, cap;
	bool failed;
};
void sup_argv_add(struct sup_argv *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char **sup_argv_finish(struct sup_argv *b);

/* The VMM's argv for VM e (vmm is argv[0]): a NULL-terminated malloc'd array of malloc'd
 * strings (free with sup_free_argv), or NULL on allocation failure. Pure. */
char **sup_vmm_argv(const struct vm_entry *e, const char *vmm);
/* The same for a jailed VMM: a disk or CD handed in by descriptor (sup_jail_fd) is named
 * /dev/fd/N, and --sound pulse names the server's socket (mgr_sound_socket: the environment). */
char **sup_vmm_argv_jailed(const struct vm_entry *e, const char *vmm);
/* passt's argv for a --net user VM (foreground, socket in the VM's folder, -t/-u forwards). */
char **sup_passt_argv(const struct vm_entry *e, const char *passt);
/* swtpm's argv for a VM with a TPM: its control socket tpm.sock, its state in tpm/. */
char **sup_swtpm_argv(const struct vm_entry *e, const char *swtpm);
void sup_free_argv(char **argv);

/* The jail (jail_argv.c). Why VM d cannot run jailed (a phrase: a window, sound), or NULL. */
const char *sup_jail_blocker(const struct vm_def *d);
/* For inspect: "on", "off (--no-jail)" or "off: WHY". */
void sup_jail_describe(const struct vm_def *d, char *out, size_t len);
/* The descriptor the jailed VMM gets disk i at (i == d->ndisks: the CD), handed in by
 * phyllome-jail --fd (raw disks, block devices, the CD: from 3 up, in that order), or -1 for
 * one bound by path (a qcow2 image, whose backing file is found by a path beside it). */
int sup_jail_fd(const struct vm_def *d, unsigned i);
/* The real path of a file handed to the jail into buf (NULL: use path as it is). */
typedef const char *(*sup_resolve_fn)(const char *path, char *buf, size_t len);
/* phyllome-jail's argv running vmm_argv for VM e: --userns, the jail in the VM's folder, the
 * folder itself, its shares, files (kernel, initramfs, firmware, variables, qcow2 disks and
 * their backing images), by descriptor the other disks and the CD (--fd), the display's socket
 * folder and files, --host-net for a tap or a VNC port on TCP, --tun for a tap. Pure, but for
 * resolve. NULL on allocation failure. */
char **sup_jail_argv(const struct vm_entry *e, const char *jail, char *const *vmm_argv,
		     sup_resolve_fn resolve);

/* The jail VM e runs in: jail gets phyllome-jail's path ($PHYLLOME_JAIL, next to phyllome, on
 * PATH), or "" for none (--no-jail, PHYLLOME_JAIL=off, or a VM with a sup_jail_blocker, with
 * a warning on stderr). 0, or a negative errno + err: no phyllome-jail, or a host where a
 * user namespace cannot be made (one line that says how to opt out). */
int sup_pick_jail(const struct vm_entry *e, char *jail, size_t len, char *err, size_t errlen);
/* realpath into buf (NULL if it fails): the sup_resolve_fn of a real start. */
const char *sup_real_path(const char *path, char *buf, size_t len);
/* One line into the VM's vmm.log: the jail's options (argv up to "--"). */
void sup_log_jail(int fd, char **argv);

/* Starts VM e; the caller holds the exclusive lock and has checked that e is not running.
 * Returns once the supervisor has started the VMM (state.json says running), 0, or a
 * negative errno + err. */
int sup_start(struct store *s, struct vm_entry *e, char *err, size_t errlen);

/* Waits until the VMM answers on its API socket (0), or it has exited (-ECHILD, with the
 * last line of its log in err), or timeout_ms passed (-ETIMEDOUT). Needs no lock. */
int sup_wait_ready(struct store *s, struct vm_entry *e, int timeout_ms, char *err, size_t errlen);
