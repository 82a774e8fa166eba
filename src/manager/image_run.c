/* run/create NAME: a VM set up from an image (docs/manager.md "Images"). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manager/args.h"
#include "manager/cmds.h"
#include "manager/images.h"
#include "manager/preset.h"

#define DEFAULT_FIRMWARE "/usr/share/ovmf/OVMF.fd"

/* The size the guest sees: a raw file's length, a qcow2 header's size field (the format is the
 * one recorded when the image was pulled; this only reads that format's header). */
static int virtual_size(const struct image *im, uint64_t *out)
{
	unsigned char h[32];
	struct stat st;
	int fd;

	if (strcmp(im->meta.format, "qcow2")) {
		if (stat(im->path, &st) < 0)
			return -errno;
		*out = (uint64_t)st.st_size;
		return 0;
	}
	fd = open(im->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, "QFI\xfb", 4)) {
		close(fd);
		return -EINVAL;
	}
	close(fd);
	*out = 0;
	for (int i = 24; i < 32; i++)
		*out = (*out << 8) | h[i];
	return 0;
}

/* A free TCP port on the loopback for the guest's SSH. */
int mgr_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool user_name_ok(const char *u)
{
	if (!u || !*u || strlen(u) > 32 || !((*u >= 'a' && *u <= 'z') || *u == '_'))
		return false;
	for (; *u; u++)
		if (!((*u >= 'a' && *u <= 'z') || (*u >= '0' && *u <= '9') || *u == '_' ||
		      *u == '-'))
			return false;
	return true;
}

/* The first line of each ~/.ssh/ *.pub key, as YAML list items. */
static void add_keys(FILE *out)
{
	const char *home = getenv("HOME");
	char pattern[VMDEF_PATH];
	glob_t g;

	if (!home)
		return;
	snprintf(pattern, sizeof(pattern), "%s/.ssh/*.pub", home);
	if (glob(pattern, 0, NULL, &g))
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char line[16384];
		FILE *f = fopen(g.gl_pathv[i], "re");

		if (!f)
			continue;
		if (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\r\n")] = 0;
			if (line[0] && !strpbrk(line, "\"\\"))
				fprintf(out, "      - \"%s\"\n", line);
		}
		fclose(f);
	}
	globfree(&g);
}

/* cloud-config for the user (passwordless sudo, the ~/.ssh public keys). */
static int make_user_data(struct run_opts *ro, const char *user)
{
	char *keys = NULL;
	size_t klen = 0, len = 0;
	FILE *k = open_memstream(&keys, &klen), *f;
	int rc = -1;

	if (!k)
		return -1;
	add_keys(k);
	if (fclose(k) != 0)
		return -1;
	f = open_memstream(&ro->user_data, &len);
	if (f) {
		fprintf(f,
			"#cloud-config\n"
			"users:\n"
			"  - name: %s\n"
			"    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n"
			"    shell: /bin/bash\n"
			"%s%s",
			user, klen ? "    ssh_authorized_keys:\n" : "", keys);
		rc = fclose(f) == 0 ? 0 : -1;
	}
	if (!klen)
		fprintf(stderr,
			"phyllome: warning: no ~/.ssh/*.pub key for the VM's user %s: "
			"phyllome ssh will not log in\n",
			user);
	free(keys);
	return rc;
}

static int pick_firmware(struct vm_def *d)
{
	const char *fw = getenv("PHYLLOME_FIRMWARE");

	if (d->kernel[0] || d->firmware[0])
		return 0;
	snprintf(d->firmware, sizeof(d->firmware), "%s", fw && *fw ? fw : DEFAULT_FIRMWARE);
	if (access(d->firmware, R_OK) < 0) {
		mgr_error("UEFI firmware %s: %s (install Debian's ovmf, or set PHYLLOME_FIRMWARE)",
			  d->firmware, strerror(errno));
		return -1;
	}
	return 0;
}

static int cloud_setup(struct run_opts *ro, const struct image *im, uint64_t size)
{
	struct vm_def *d = &ro->def;
	struct vmdef_disk *k = &d->disks[0];
	const char *user = getenv("USER");
	uint64_t vsize = 0;

	if (!strcmp(im->meta.format, "iso") || virtual_size(im, &vsize) < 0) {
		mgr_error("%s:%s: not a disk image of its recorded format %s", im->meta.name,
			  im->meta.tag, im->meta.format);
		return -1;
	}
	memset(k, 0, sizeof(*k));
	k->size = size > vsize ? size : vsize; /* an overlay only grows the disk */
	k->qcow2 = true;
	snprintf(k->backing, sizeof(k->backing), "%s", im->path);
	d->ndisks = 1;
	if (!im->meta.cloud_init || d->cloud_init[0])
		return 0;
	if (!user_name_ok(user)) {
		struct passwd *pw = getpwuid(getuid());

		user = pw ? pw->pw_name : NULL;
	}
	if (!user_name_ok(user) || !strcmp(user, "root"))
		user = "phyllome";
	snprintf(d->ssh_user, sizeof(d->ssh_user), "%s", user);
	if (make_user_data(ro, user) < 0) {
		mgr_error("out of memory");
		return -1;
	}
	if (d->net == VMDEF_NET_USER) {
		int port;

		for (unsigned i = 0; i < d->nports; i++)
			if (d->ports[i].guest == 22 && !d->ports[i].udp)
				return 0;
		port = mgr_free_port();
		if (port > 0 && d->nports < VMDEF_MAX_PORTS)
			d->ports[d->nports++] = (struct port_map){(uint16_t)port, 22, false};
	}
	return 0;
}

int mgr_image_setup(struct store *s, struct run_opts *ro)
{
	struct image *im = malloc(sizeof(*im));
	struct vm_def *d = &ro->def;
	uint64_t size = 0;
	int rc;

	if (!im)
		return EXIT_FAIL;
	rc = mgr_pull(s, ro->image, ro->catalog, NULL, stderr, im); /* stdout: the id */
	if (rc)
		goto out;
	rc = EXIT_USAGE;
	if (im->meta.boot == CAT_BIOS && !d->kernel[0] && !d->firmware[0]) {
		mgr_error("%s:%s boots from a BIOS: phyllome-vmm boots UEFI firmware or a kernel",
			  im->meta.name, im->meta.tag);
		goto out;
	}
	if (!ro->cpus_set)
		d->cpus = im->meta.cpus;
	if (!ro->memory_set)
		d->memory = im->meta.memory;
	/* --os, else the entry's os field, picks the machine (an unknown name: none). */
	if (preset_find(ro->os ? ro->os : im->meta.os))
		preset_apply(ro, preset_find(ro->os ? ro->os : im->meta.os), true);
	if (pick_firmware(d) < 0)
		goto out;
	/* The first --disk SIZE sizes the image's disk; the rest are extra disks. */
	if (ro->ndisk_specs && args_disk_is_size(ro->disk_specs[0], &size)) {
		memmove(&ro->disk_specs[0], &ro->disk_specs[1],
			(ro->ndisk_specs - 1) * sizeof(ro->disk_specs[0]));
		ro->ndisk_specs--;
	} else {
		size = im->meta.disk;
	}
	snprintf(d->image, sizeof(d->image), "%s:%s", im->meta.name, im->meta.tag);
	if (im->meta.kind == CAT_CLOUD) {
		if (cloud_setup(ro, im, size) < 0)
			goto out;
	} else {
		if (d->cdrom[0]) {
			mgr_error("%s is an ISO: it goes in the CD-ROM drive (no --cdrom too)",
				  d->image);
			goto out;
		}
		snprintf(d->cdrom, sizeof(d->cdrom), "%s", im->path);
		if (size) { /* an empty disk to install on */
			memset(&d->disks[0], 0, sizeof(d->disks[0]));
			d->disks[0].size = size;
			d->disks[0].qcow2 = true;
			d->ndisks = 1;
		}
	}
	rc = 0;
out:
	free(im);
	return rc;
}
