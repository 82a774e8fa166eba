#include "manager/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "manager/cmds.h"
#include "manager/netlibs.h"

int verify_digest(const char *path, enum sums_algo algo, char hex[129])
{
	gnutls_digest_algorithm_t a = algo == SUMS_SHA512 ? GNUTLS_DIG_SHA512 : GNUTLS_DIG_SHA256;
	unsigned char buf[1 << 16], md[64];
	gnutls_hash_hd_t h;
	char err[256];
	unsigned len;
	int fd, rc = 0;
	ssize_t n;

	if (mgr_libs_load(MGR_LIB_TLS, err, sizeof(err)) < 0) {
		mgr_error("%s", err);
		return -ENOENT;
	}
	len = mgr_tls.gnutls_hash_get_len(a);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (mgr_tls.gnutls_hash_init(&h, a) < 0) {
		close(fd);
		return -ENOMEM;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		mgr_tls.gnutls_hash(h, buf, (size_t)n);
	}
	mgr_tls.gnutls_hash_deinit(h, md);
	close(fd);
	for (unsigned i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return rc;
}

int verify_signature(const char *keyring, const char *sig, const char *data, const char *out)
{
	const char *argv[10];
	int i = 0, status;
	pid_t pid;

	argv[i++] = "gpgv";
	argv[i++] = "--quiet";
	argv[i++] = "--keyring";
	argv[i++] = keyring;
	if (out) {
		argv[i++] = "--output";
		argv[i++] = out;
	}
	if (sig)
		argv[i++] = sig;
	argv[i++] = data;
	argv[i] = NULL;
	if (out)
		unlink(out);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -EIO;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}
