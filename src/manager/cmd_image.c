/* pull, images, rmi, commit, ssh, and what run/create NAME do with an image. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "manager/args.h"
#include "manager/catalog.h"
#include "manager/cmds.h"
#include "manager/images.h"
#include "manager/verify.h"

#define DEFAULT_FIRMWARE "/usr/share/ovmf/OVMF.fd"
#define QEMU_IMG_PKG	 "package qemu-utils"

int mgr_make_qcow2(const char *path, const char *backing, const char *fmt, unsigned long long size,
		   char *err, size_t errlen)
{
	char sz[32];
	const char *argv[12];
	int i = 0;

	snprintf(sz, sizeof(sz), "%llu", size);
	argv[i++] = "qemu-img";
	argv[i++] = "create";
	argv[i++] = "-q";
	argv[i++] = "-f";
	argv[i++] = "qcow2";
	if (backing) { /* the backing file's format is recorded in the overlay, never probed */
		argv[i++] = "-b";
		argv[i++] = backing;
		argv[i++] = "-F";
		argv[i++] = fmt;
	}
	argv[i++] = path;
	if (size)
		argv[i++] = sz;
	argv[i] = NULL;
	return mgr_run_tool(argv, QEMU_IMG_PKG, "making a qcow2 image", err, errlen);
}

/* NAME[:TAG] among the stored images: without a tag, the one image of that name. */
static int resolve_stored(struct store *s, const char *ref, struct image *im, bool quiet)
{
	char name[CAT_NAME], tag[CAT_NAME];
	struct image *v;
	size_t n, hits = 0;

	if (cat_parse_ref(ref, name, tag) < 0) {
		mgr_error("invalid image reference \"%s\": NAME[:TAG], lowercase [a-z0-9._-]", ref);
		return EXIT_USAGE;
	}
	if (tag[0]) {
		char err[512];

		if (image_get(s, name, tag, im, err, sizeof(err)) == 0)
			return 0;
		if (!quiet)
			mgr_error("%s", err);
		return EXIT_FAIL;
	}
	if (image_list(s, &v, &n) < 0)
		n = 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].meta.name, name) && hits++ == 0)
			*im = v[i];
	free(v);
	if (hits == 1)
		return 0;
	if (!quiet)
		mgr_error(hits ? "%s: several tags are stored: give NAME:TAG" : "no such image: %s",
			  ref);
	return EXIT_FAIL;
}

static const struct mgr_opt pull_defs[] = {
    {"catalog", 0, true, 1},
    {"from", 0, true, 2},
    {NULL, 0, false, 0},
};

struct pull_args {
	const char *catalog, *from;
};

static int pull_cb(void *ctx, int id, const char *v, char *err, size_t errlen)
{
	struct pull_args *a = ctx;

	(void)err;
	(void)errlen;
	if (id == 1)
		a->catalog = v;
	else
		a->from = v;
	return 0;
}

int cmd_pull(int argc, char **argv)
{
	struct pull_args a = {0};
	const char *pos[1];
	struct image *im = malloc(sizeof(*im));
	char err[512];
	struct store s;
	int npos, rc = EXIT_USAGE;

	if (!im)
		return EXIT_FAIL;
	if (args_parse(pull_defs, argc, argv, pull_cb, &a, pos, 1, &npos, err, sizeof(err)) < 0 ||
	    npos != 1) {
		mgr_error("pull: %s", npos != 1 && !err[0] ? "usage: phyllome pull [--catalog "
							     "FILE|URL] [--from FILE|URL] "
							     "NAME[:TAG]|URL"
							   : err);
		goto out;
	}
	rc = EXIT_FAIL;
	if (mgr_store(&s) < 0)
		goto out;
	rc = mgr_pull(&s, pos[0], a.catalog, a.from, stdout, im);
	store_close(&s);
out:
	free(im);
	return rc;
}

int cmd_images(int argc, char **argv)
{
	struct image *v;
	struct store s;
	size_t n;
	bool quiet = argc == 1 && !strcmp(argv[0], "-q");

	if (argc && !quiet) {
		mgr_error("images: usage: phyllome images [-q]");
		return EXIT_USAGE;
	}
	if (mgr_store(&s) < 0)
		return EXIT_FAIL;
	store_lock(&s, false);
	if (image_list(&s, &v, &n) < 0) {
		store_unlock(&s);
		store_close(&s);
		mgr_error("cannot list the images: %s", strerror(errno));
		return EXIT_FAIL;
	}
	store_unlock(&s);
	if (!quiet)
		printf("%-20s %-14s %-7s %-10s %s\n", "NAME", "TAG", "FORMAT", "SIZE", "CREATED");
	for (size_t i = 0; i < n; i++) {
		char size[32], ago[64];

		if (quiet) {
			printf("%s:%s\n", v[i].meta.name, v[i].meta.tag);
			continue;
		}
		mgr_human_size(v[i].size, size, sizeof(size));
		mgr_human_duration(time(NULL) - v[i].created, ago, sizeof(ago));
		printf("%-20s %-14s %-7s %-10s %s ago\n", v[i].meta.name, v[i].meta.tag,
		       v[i].meta.format, size, ago);
	}
	free(v);
	store_close(&s);
	return EXIT_OK;
}

static int remove_image(const struct image *im)
{
	char p[VMDEF_PATH + 16];

	snprintf(p, sizeof(p), "%s/image.json", im->dir);
	if (unlink(p) < 0 || unlink(im->path) < 0 || rmdir(im->dir) < 0)
		return -errno;
	return 0;
}

int cmd_rmi(int argc, char **argv)
{
	struct image *im = malloc(sizeof(*im));
	char vm[MGR_NAME_MAX + 1];
	struct store s;
	int rc = EXIT_OK;

	if (!im)
		return EXIT_FAIL;
	if (!argc || !mgr_no_flags("rmi", argc, argv)) {
		if (!argc)
			mgr_error("rmi: usage: phyllome rmi NAME[:TAG]...");
		free(im);
		return EXIT_USAGE;
	}
	if (mgr_store(&s) < 0) {
		free(im);
		return EXIT_FAIL;
	}
	store_lock(&s, true);
	for (int i = 0; i < argc; i++) {
		if (resolve_stored(&s, argv[i], im, false)) {
			rc = EXIT_FAIL;
		} else if (image_in_use(&s, im, vm, sizeof(vm))) {
			mgr_error("cannot remove %s:%s: VM %s uses it (remove that VM first)",
				  im->meta.name, im->meta.tag, vm);
			rc = EXIT_FAIL;
		} else if (remove_image(im) < 0) {
			mgr_error("cannot remove %s: %s", im->dir, strerror(errno));
			rc = EXIT_FAIL;
		} else {
			printf("Deleted: %s:%s\n", im->meta.name, im->meta.tag);
		}
	}
	store_unlock(&s);
	store_close(&s);
	free(im);
	return rc;
}

/* The new image's settings: those of the VM's own image, with its CPUs and memory. */
static void commit_meta(struct store *s, const struct vm_def *d, struct image *im)
{
	char name[CAT_NAME], tag[CAT_NAME];
	struct cat_entry *m = &im->meta;

	m->kind = CAT_CLOUD;
	m->boot = CAT_UEFI;
	if (d->image[0] && cat_parse_ref(d->image, name, tag) == 0) {
		struct image src;
		char err[256];

		if (image_get(s, name, tag, &src, err, sizeof(err)) == 0 &&
		    src.meta.kind == CAT_CLOUD) {
			snprintf(m->os, sizeof(m->os), "%s", src.meta.os);
			snprintf(m->login, sizeof(m->login), "%s", src.meta.login);
			m->cloud_init = src.meta.cloud_init;
			m->boot = src.meta.boot;
		}
	}
	m->cpus = d->cpus;
	m->memory = d->memory;
	m->disk = 0;
	strcpy(m->format, "qcow2");
	snprintf(im->verified, sizeof(im->verified), "committed from VM %.40s", d->name);
	im->created = time(NULL);
}

static int commit_vm(struct store *s, const struct vm_entry *e, struct image *im)
{
	const struct vmdef_disk *k = &e->def.disks[0];
	char tmp[VMDEF_PATH + 32], err[512] = "", hex[129];
	const char *conv[] = {"qemu-img", "convert", "-q",    "-f", k->qcow2 ? "qcow2" : "raw",
			      "-O",	  "qcow2",   k->path, tmp,  NULL};
	struct stat st;
	int rc;

	commit_meta(s, &e->def, im);
	if (image_paths(s, im) < 0 || (mkdir(im->dir, 0700) < 0 && errno != EEXIST))
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/disk.qcow2.tmp", im->dir);
	mgr_progress("Committing %s...", e->def.name);
	rc = mgr_run_tool(conv, QEMU_IMG_PKG, "committing the disk", err, sizeof(err));
	mgr_progress_clear();
	if (rc == 0 && (verify_digest(tmp, SUMS_SHA256, hex) < 0 || stat(tmp, &st) < 0))
		rc = -EIO;
	if (rc == 0) {
		snprintf(im->digest, sizeof(im->digest), "sha256:%s", hex);
		char *json;

		im->size = (uint64_t)st.st_size;
		json = image_dump(im);
		if (!json || rename(tmp, im->path) < 0 ||
		    store_write_file(im->dir, "image.json", json) < 0)
			rc = -EIO;
		free(json);
	}
	if (rc < 0) {
		mgr_error("commit %s: %s", e->def.name,
			  rc == -EIO && !err[0] ? "cannot write" : err);
		unlink(tmp);
		unlink(im->path);
		rmdir(im->dir);
	}
	return rc;
}

int cmd_commit(int argc, char **argv)
{
	struct vm_entry *e = malloc(sizeof(*e));
	struct image *im = calloc(1, sizeof(*im)), old;
	char err[256], tag[CAT_NAME];
	struct store s;
	int rc = EXIT_USAGE;

	if (!e || !im)
		goto out;
	if (argc != 2 || !mgr_no_flags("commit", argc, argv)) {
		if (argc != 2)
			mgr_error("commit: usage: phyllome commit VM NAME[:TAG]");
		goto out;
	}
	if (cat_parse_ref(argv[1], im->meta.name, tag) < 0) {
		mgr_error("invalid image reference \"%s\": NAME[:TAG], lowercase [a-z0-9._-]",
			  argv[1]);
		goto out;
	}
	snprintf(im->meta.tag, sizeof(im->meta.tag), "%s", tag[0] ? tag : "latest");
	rc = EXIT_FAIL;
	if (mgr_store(&s) < 0)
		goto out;
	store_lock(&s, true);
	if (mgr_resolve(&s, argv[0], e) < 0)
		goto unlock;
	if (mgr_running(e)) {
		mgr_error("cannot commit %s: it is running (stop it first)", e->def.name);
		goto unlock;
	}
	if (!e->def.ndisks) {
		mgr_error("cannot commit %s: it has no disk", e->def.name);
		goto unlock;
	}
	if (image_get(&s, im->meta.name, im->meta.tag, &old, err, sizeof(err)) != -ENOENT) {
		mgr_error("image %s:%s exists already (rmi it first)", im->meta.name, im->meta.tag);
		goto unlock;
	}
	if (commit_vm(&s, e, im) == 0) {
		printf("%s:%s\n", im->meta.name, im->meta.tag);
		rc = EXIT_OK;
	}
unlock:
	store_unlock(&s);
	store_close(&s);
out:
	free(e);
	free(im);
	return rc;
}

int cmd_ssh(int argc, char **argv)
{
	struct vm_entry *e = malloc(sizeof(*e));
	char port[8], dest[160];
	const char **av;
	struct store s;
	int rc = EXIT_FAIL, n = 0;
	const char *user;

	if (!e)
		return EXIT_FAIL;
	if (argc < 1 || argv[0][0] == '-') {
		mgr_error("ssh: usage: phyllome ssh VM [COMMAND...]");
		free(e);
		return EXIT_USAGE;
	}
	if (mgr_store(&s) < 0)
		goto out;
	if (mgr_resolve(&s, argv[0], e) < 0)
		goto close;
	port[0] = 0;
	for (unsigned i = 0; i < e->def.nports; i++)
		if (e->def.ports[i].guest == 22 && !e->def.ports[i].udp)
			snprintf(port, sizeof(port), "%u", e->def.ports[i].host);
	if (!port[0]) {
		mgr_error("%s has no forwarded SSH port (run it with --net user -p PORT:22)",
			  e->def.name);
		goto close;
	}
	if (!mgr_running(e)) {
		mgr_error("%s is not running", e->def.name);
		goto close;
	}
	user = e->def.ssh_user[0] ? e->def.ssh_user : getenv("USER");
	snprintf(dest, sizeof(dest), "%s%s127.0.0.1", user ? user : "", user ? "@" : "");
	av = calloc((size_t)argc + 16, sizeof(*av));
	if (!av)
		goto close;
	av[n++] = "ssh";
	av[n++] = "-p";
	av[n++] = port;
	/* Each VM is a new host on a reused local port: its key is not one to remember. */
	av[n++] = "-o";
	av[n++] = "StrictHostKeyChecking=no";
	av[n++] = "-o";
	av[n++] = "UserKnownHostsFile=/dev/null";
	av[n++] = "-o";
	av[n++] = "LogLevel=ERROR";
	av[n++] = dest;
	for (int i = 1; i < argc; i++)
		av[n++] = argv[i];
	store_close(&s);
	execvp("ssh", (char *const *)av);
	mgr_error("cannot run ssh: %s (Debian package openssh-client)", strerror(errno));
	free(av);
	goto out;
close:
	store_close(&s);
out:
	free(e);
	return rc;
}
