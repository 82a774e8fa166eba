/* Starting a VM: the phyllome-vmm and passt command lines, and the supervisor, a small process
 * per running VM (double-forked, in its own session) that starts passt and phyllome-vmm, holds
 * the guest's serial line (a log file plus a console socket any number of `phyllome console`
 * clients attach to), waits for the VMM, records its exit status and cleans up. See
 * docs/manager.md. */
#pragma once
#include <stddef.h>

#include "manager/store.h"

/* phyllome-vmm: $PHYLLOME_VMM, else next to this program, else on PATH. */
int sup_find_vmm(char *out, size_t len, char *err, size_t errlen);

/* The VMM's argv for VM e (vmm is argv[0]): a NULL-terminated malloc'd array of malloc'd
 * strings (free with sup_free_argv), or NULL on allocation failure. Pure. */
char **sup_vmm_argv(const struct vm_entry *e, const char *vmm);
/* passt's argv for a --net user VM (foreground, socket in the VM's folder, -t/-u forwards). */
char **sup_passt_argv(const struct vm_entry *e, const char *passt);
/* swtpm's argv for a VM with a TPM: its control socket tpm.sock, its state in tpm/. */
char **sup_swtpm_argv(const struct vm_entry *e, const char *swtpm);
void sup_free_argv(char **argv);

/* Starts VM e; the caller holds the exclusive lock and has checked that e is not running.
 * Returns once the supervisor has started the VMM (state.json says running), 0, or a
 * negative errno + err. */
int sup_start(struct store *s, struct vm_entry *e, char *err, size_t errlen);

/* Waits until the VMM answers on its API socket (0), or it has exited (-ECHILD, with the
 * last line of its log in err), or timeout_ms passed (-ETIMEDOUT). Needs no lock. */
int sup_wait_ready(struct store *s, struct vm_entry *e, int timeout_ms, char *err, size_t errlen);
