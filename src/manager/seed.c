/* The cloud-init NoCloud seed: a small vfat image labelled "cidata" holding user-data (the
 * user's file) and meta-data (instance-id and local-hostname), made with Debian's dosfstools
 * (mkfs.vfat) and mtools (mcopy), which need no root and no loop device. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "manager/cmds.h"
#include "manager/shares.h"

#define SEED_PKGS  "packages dosfstools and mtools"
#define SEED_DOING "building the cloud-init seed"

int mgr_run_tool(const char *const argv[], const char *package, const char *doing, char *err,
		 size_t errlen)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 1);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror(errno));
		return -EIO;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		snprintf(err, errlen, "%s needs %s (Debian %s)", doing, argv[0], package);
		return -ENOENT;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(err, errlen, "%s failed while %s", argv[0], doing);
		return -EIO;
	}
	return 0;
}

/* user-data as the guest gets it: the user's file, with the shared folders' mounts. */
static int write_user_data(const char *path, const struct vm_def *d, char *err, size_t errlen)
{
	char *user = NULL, *ud = NULL;
	size_t ulen, len;
	FILE *f;
	int rc;

	rc = store_read_file(d->cloud_init, &user, &ulen);
	if (rc < 0) {
		snprintf(err, errlen, "cannot read %s: %s", d->cloud_init, strerror(-rc));
		return -EIO;
	}
	rc = shares_user_data(d, user, ulen, &ud, &len, err, errlen);
	free(user);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc < 0)
		return rc;
	f = fopen(path, "we");
	if (f && fwrite(ud, 1, len, f) != len) {
		fclose(f);
		f = NULL;
	}
	if (!f || fclose(f) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		rc = -EIO;
	}
	free(ud);
	return rc;
}

int mgr_make_seed(const char *dir, const struct vm_def *d, char *err, size_t errlen)
{
	char img[VMDEF_PATH + 16], meta[512], ud[VMDEF_PATH + 16], md[VMDEF_PATH + 16];
	const char *mkfs[] = {"mkfs.vfat", "-n", "CIDATA", "-C", img, "2048", NULL};
	FILE *f;
	int rc;

	snprintf(img, sizeof(img), "%s/seed.img", dir);
	snprintf(md, sizeof(md), "%s/meta-data", dir);
	snprintf(ud, sizeof(ud), "%s/seed-user-data", dir);
	snprintf(meta, sizeof(meta), "instance-id: %s\nlocal-hostname: %s\n", d->id, d->name);
	f = fopen(md, "we");
	if (!f || fputs(meta, f) < 0 || fclose(f) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", md, strerror(errno));
		return -EIO;
	}
	rc = write_user_data(ud, d, err, errlen);
	if (rc < 0)
		return rc;
	unlink(img);
	rc = mgr_run_tool(mkfs, SEED_PKGS, SEED_DOING, err, errlen);
	if (!rc) {
		const char *copy_ud[] = {"mcopy", "-i", img, ud, "::user-data", NULL};

		rc = mgr_run_tool(copy_ud, SEED_PKGS, SEED_DOING, err, errlen);
	}
	if (!rc) {
		const char *copy_md[] = {"mcopy", "-i", img, md, "::meta-data", NULL};

		rc = mgr_run_tool(copy_md, SEED_PKGS, SEED_DOING, err, errlen);
	}
	return rc;
}
