/* update: changes a stopped VM's CPUs, memory, display, sound, disk size, shared folders and jail
 * (Docker's `update`), for the CLI and the desktop app's Edit dialog alike. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manager/args.h"
#include "manager/cmds.h"
#include "manager/shares.h"
#include "manager/util.h"

#define UPDATE_USAGE                                                                               \
	"update: usage: phyllome update [--cpus N] [--memory SIZE] [--display MODE]\n"             \
	"                       [--sound MODE | --no-sound] [--disk-size SIZE]\n"                  \
	"                       [-v DIR:/PATH[:ro]]... [--no-shares] [--jail | --no-jail] VM"

struct update {
	unsigned cpus;
	uint64_t memory, disk_size;
	const char *display, *sound, *ref;
	const char *shares[VMDEF_MAX_SHARES]; /* -v: the VM's shared folders become these */
	unsigned nshares;
	bool set_shares; /* -v or --no-shares */
	int jail;	 /* 1: --jail, -1: --no-jail, 0: unchanged */
};

/* Reads the options; u->ref is the VM. EXIT_OK or EXIT_USAGE (printed). */
static int update_args(int argc, char **argv, struct update *u)
{
	char err[256] = UPDATE_USAGE;
	int rc = 0;

	for (int i = 0; i < argc && rc == 0; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if ((!strcmp(a, "--cpus") || !strcmp(a, "-c")) && v)
			rc = mgr_parse_cpus(argv[++i], &u->cpus, err, sizeof(err));
		else if ((!strcmp(a, "--memory") || !strcmp(a, "-m")) && v)
			rc = mgr_parse_memory(argv[++i], &u->memory, err, sizeof(err));
		else if (!strcmp(a, "--display") && v)
			u->display = argv[++i];
		else if (!strcmp(a, "--sound") && v)
			u->sound = argv[++i];
		else if (!strcmp(a, "--no-sound"))
			u->sound = "none";
		else if ((!strcmp(a, "-v") || !strcmp(a, "--volume")) && v &&
			 u->nshares < VMDEF_MAX_SHARES)
			u->shares[u->nshares++] = argv[++i], u->set_shares = true;
		else if (!strcmp(a, "--no-shares"))
			u->set_shares = true;
		else if (!strcmp(a, "--jail") || !strcmp(a, "--no-jail"))
			u->jail = a[2] == 'n' ? -1 : 1;
		else if (!strcmp(a, "--disk-size") && v) {
			i++;
			if (mgr_parse_size(v, MGR_MAX_DISK, &u->disk_size) < 0 || !u->disk_size) {
				snprintf(err, sizeof(err), "--disk-size: not a size: %.60s", v);
				rc = -EINVAL;
			}
		} else if (a[0] != '-' && !u->ref) {
			u->ref = a;
		} else {
			rc = -EINVAL;
		}
	}
	if (rc == 0 && (!u->ref || (!u->cpus && !u->memory && !u->display && !u->sound &&
				    !u->disk_size && !u->jail && !u->set_shares)))
		rc = -EINVAL;
	if (rc < 0)
		mgr_error("%s", err);
	return rc < 0 ? EXIT_USAGE : EXIT_OK;
}

/* A qcow2 disk of the VM's own (an image's overlay, an installer's disk) grown to size with
 * qemu-img, which made it (the guest sees the new size at its next start). */
static int grow_qcow2(struct vmdef_disk *k, uint64_t size, char *err, size_t errlen)
{
	char sz[32];
	const char *argv[] = {"qemu-img", "resize", "-q", "-f", "qcow2", k->path, sz, NULL};

	if (size < k->size) {
		snprintf(err, errlen, "--disk-size: the disk is %llu bytes: it only grows",
			 (unsigned long long)k->size);
		return -EINVAL;
	}
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	if (mgr_run_tool(argv, "package qemu-utils", "growing a qcow2 disk", err, errlen) < 0)
		return -EIO;
	k->size = size;
	return 0;
}

/* Grows the VM's first disk, which must be its own, to size (never shrinks it). */
static int grow_disk(struct vm_entry *e, uint64_t size, char *err, size_t errlen)
{
	struct vmdef_disk *k = &e->def.disks[0];
	struct stat st;

	if (!e->def.ndisks || !k->owned) {
		snprintf(err, errlen, "--disk-size grows the VM's own disk; its first disk is %s",
			 !e->def.ndisks ? "missing"
					: "a file it was given (grow that file yourself)");
		return -EINVAL;
	}
	if (k->qcow2)
		return grow_qcow2(k, size, err, errlen);
	if (stat(k->path, &st) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", k->path, strerror(errno));
		return -errno;
	}
	if (size < (uint64_t)st.st_size) {
		snprintf(err, errlen, "--disk-size: the disk is %llu bytes: it only grows",
			 (unsigned long long)st.st_size);
		return -EINVAL;
	}
	if (truncate(k->path, (off_t)size) < 0) {
		snprintf(err, errlen, "cannot grow %s: %s", k->path, strerror(errno));
		return -errno;
	}
	k->size = size;
	return 0;
}

/* Applies u to the stopped VM e. 0, or -errno with err set. */
static int apply(struct vm_entry *e, const struct update *u, char *err, size_t errlen)
{
	int rc = 0;

	if (u->set_shares) { /* checked first: a grown disk is not undone */
		e->def.nshares = 0;
		for (unsigned i = 0; rc == 0 && i < u->nshares; i++)
			rc = shares_parse(&e->def, u->shares[i], err, errlen);
		if (rc == 0 && mgr_shares_resolve(&e->def) < 0) {
			err[0] = 0; /* said: its line is the error's */
			rc = -EINVAL;
		}
	}
	/* the app's choice: VNC on a free port */
	if (rc == 0 && u->display && !strcmp(u->display, "vnc")) {
		int port = mgr_free_port();

		if (port < 0) {
			snprintf(err, errlen, "no free port for VNC on 127.0.0.1");
			return -EADDRINUSE;
		}
		snprintf(e->def.display, sizeof(e->def.display), "vnc=127.0.0.1:%d", port);
	} else if (rc == 0 && u->display) {
		rc = args_display(&e->def, u->display, err, errlen);
	}
	if (rc == 0 && u->sound)
		rc = args_sound(&e->def, u->sound, err, errlen);
	if (rc == 0 && u->disk_size)
		rc = grow_disk(e, u->disk_size, err, errlen);
	if (rc == 0 && u->cpus)
		e->def.cpus = u->cpus;
	if (rc == 0 && u->memory)
		e->def.memory = u->memory;
	if (rc == 0 && u->jail)
		e->def.no_jail = u->jail < 0;
	return rc;
}

int cmd_update(int argc, char **argv)
{
	struct vm_entry *e = malloc(sizeof(*e));
	struct update u = {0};
	struct store s;
	char err[1536] = "";
	int rc;

	if (!e)
		return EXIT_FAIL;
	rc = update_args(argc, argv, &u);
	if (rc != EXIT_OK || mgr_store(&s) < 0) {
		free(e);
		return rc != EXIT_OK ? rc : EXIT_FAIL;
	}
	store_lock(&s, true);
	rc = EXIT_FAIL;
	if (mgr_resolve(&s, u.ref, e) < 0) {
		/* said */
	} else if (mgr_running(e)) {
		mgr_error("cannot update %s: it is running (stop it first)", u.ref);
	} else if (apply(e, &u, err, sizeof(err)) < 0) {
		if (err[0])
			mgr_error("cannot update %s: %s", u.ref, err);
	} else if (store_save_def(e) < 0) {
		mgr_error("cannot update %s: cannot write its config.json", u.ref);
	} else {
		rc = EXIT_OK;
	}
	store_unlock(&s);
	store_close(&s);
	if (rc == EXIT_OK)
		printf("%s\n", u.ref);
	free(e);
	return rc;
}
