/* The cloud-init NoCloud seed: a small vfat image labelled "cidata" holding user-data (the
 * user's file) and meta-data (instance-id and local-hostname), made with Debian's dosfstools
 * (mkfs.vfat) and mtools (mcopy), which need no root and no loop device. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "manager/cmds.h"

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

int mgr_make_seed(const char *dir, const char *user_data, const char *id, const char *name,
		  char *err, size_t errlen)
{
	char img[VMDEF_PATH + 16], meta[512], ud[VMDEF_PATH + 16], md[VMDEF_PATH + 16];
	const char *mkfs[] = {"mkfs.vfat", "-n", "CIDATA", "-C", img, "2048", NULL};
	FILE *f;
	int rc;

	snprintf(img, sizeof(img), "%s/seed.img", dir);
	snprintf(md, sizeof(md), "%s/meta-data", dir);
	snprintf(ud, sizeof(ud), "%s", user_data);
	snprintf(meta, sizeof(meta), "instance-id: %s\nlocal-hostname: %s\n", id, name);
	f = fopen(md, "we");
	if (!f || fputs(meta, f) < 0 || fclose(f) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", md, strerror(errno));
		return -EIO;
	}
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
