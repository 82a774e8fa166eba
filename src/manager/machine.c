/* The machine state an --os preset gives a VM (docs/manager.md "Presets"): its own UEFI
 * variable store, its TPM's state folder, a display; and where its screen is. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manager/args.h"
#include "manager/cmds.h"

/* Copies the file from to dir/name (mode 0600, new): the VM's own UEFI variable store. */
static int copy_new(const char *from, const char *dir, const char *name, char *out, size_t len)
{
	char buf[65536];
	int in, fd, rc = 0;
	ssize_t n;

	if (snprintf(out, len, "%s/%s", dir, name) >= (int)len)
		return -ENAMETOOLONG;
	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n) {
			rc = -EIO;
			break;
		}
	if (n < 0)
		rc = -errno;
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(in);
	close(fd);
	return rc;
}

/* The machine's own state: the UEFI variable store copied from its template, the TPM's state
 * folder (swtpm fills it on the first start), and a VNC display for a preset that wants a
 * screen. */
int mgr_make_machine(struct vm_entry *e, const struct run_opts *ro)
{
	struct vm_def *d = &e->def;

	if (ro->vars_template) {
		int rc = copy_new(ro->vars_template, e->dir, "vars.fd", d->vars, sizeof(d->vars));
		if (rc < 0) {
			mgr_error("cannot copy %s to %s/vars.fd: %s", ro->vars_template, e->dir,
				  strerror(-rc));
			return -1;
		}
	}
	if (d->tpm) {
		char path[VMDEF_PATH + 8];

		snprintf(path, sizeof(path), "%s/tpm", e->dir);
		if (mkdir(path, 0700) < 0) {
			mgr_error("cannot create %s: %s", path, strerror(errno));
			return -1;
		}
	}
	if (ro->want_screen && !d->display[0]) {
		int port = mgr_free_port();

		if (port > 0)
			snprintf(d->display, sizeof(d->display), "vnc=127.0.0.1:%d", port);
	}
	/* A VM with a screen gets sound where the desktop has a sound server. */
	if (!ro->sound_set && d->display[0] && strcmp(d->display, "none") && mgr_sound_server())
		snprintf(d->sound, sizeof(d->sound), "pulse");
	return 0;
}

/* Where a preset's screen is (Windows Setup's "Press any key to boot from CD" waits a few
 * seconds there). On stderr: stdout is the id. */
void mgr_say_screen(const struct vm_entry *e, const struct run_opts *ro, bool started)
{
	const char *d = e->def.display, *port = strrchr(d, ':');

	if (!ro->def.os[0] || !d[0] || !strcmp(d, "none"))
		return;
	if (!strcmp(d, "window"))
		fprintf(stderr, "phyllome: %s's screen is its window%s\n", e->def.name,
			started ? "" : " (opened when it starts)");
	else if (!strncmp(d, "vnc=", 4) && strncmp(d, "vnc=unix:", 9) && port)
		fprintf(
		    stderr,
		    "phyllome: %s's screen: VNC on %.*s (e.g. vncviewer %.*s:%s), or run it with "
		    "--display window%s\n",
		    e->def.name, (int)strlen(d + 4), d + 4, (int)(port - d - 4), d + 4, port,
		    started ? "" : "; it is there once the VM starts");
	else
		fprintf(stderr, "phyllome: %s's screen: %s\n", e->def.name, d);
}
