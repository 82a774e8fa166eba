#include "backends/swtpm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"

/* How long a control command, or one TPM command, may take. RSA key generation in a slow
 * (emulated) host takes seconds; a swtpm that hangs must not hold a vCPU for ever. */
#define SWTPM_CTRL_TIMEOUT_S 10
#define SWTPM_DATA_TIMEOUT_S 60

static int set_timeouts(int fd, int seconds)
{
	struct timeval tv = {.tv_sec = seconds};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

/* A timed-out socket call says EAGAIN; callers report it as a timeout. */
static int io_errno(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? io_errno() : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return io_errno();
		if (n == 0)
			return -EPIPE; /* swtpm went away */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int swtpm_ctrl(int fd, uint32_t code, const void *req, size_t reqlen, int fd_to_pass, void *rsp,
	       size_t rsplen)
{
	uint8_t msg[64];
	struct iovec iov = {.iov_base = msg, .iov_len = 4 + reqlen};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (reqlen > sizeof(msg) - 4)
		return -EINVAL;
	put_be32(msg, code);
	if (reqlen)
		memcpy(msg + 4, req, reqlen);
	if (fd_to_pass >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		ctl.h.cmsg_level = SOL_SOCKET;
		ctl.h.cmsg_type = SCM_RIGHTS;
		ctl.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&ctl.h), &fd_to_pass, sizeof(int));
	}
	/* swtpm reads a command with one read(): it must go in one message. */
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return io_errno();
	if ((size_t)n != iov.iov_len)
		return -EIO;
	return read_all(fd, rsp, rsplen);
}

/* A control command whose answer is a result code alone (or starts with one). */
static int ctrl_result(struct swtpm *t, uint32_t code, const void *req, size_t reqlen, int pass,
		       uint8_t *rsp, size_t rsplen, const char *what, char *err, size_t errlen)
{
	int rc = swtpm_ctrl(t->ctrl_fd, code, req, reqlen, pass, rsp, rsplen);

	if (rc < 0) {
		snprintf(err, errlen, "swtpm: %s: %s", what, strerror(-rc));
		return rc;
	}
	if (get_be32(rsp) != 0) {
		snprintf(err, errlen, "swtpm: %s failed (TPM result 0x%x)", what, get_be32(rsp));
		return -EIO;
	}
	return 0;
}

static int ctrl_connect(struct swtpm *t, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--tpm: socket path '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	t->ctrl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->ctrl_fd < 0 || connect(t->ctrl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		snprintf(err, errlen,
			 "--tpm: cannot connect to swtpm's control socket '%s': %s (start "
			 "swtpm socket --tpm2 --ctrl type=unixio,path=%s ... first)",
			 path, strerror(-rc), path);
		return rc;
	}
	rc = set_timeouts(t->ctrl_fd, SWTPM_CTRL_TIMEOUT_S);
	if (rc < 0)
		snprintf(err, errlen, "swtpm: socket timeouts: %s", strerror(-rc));
	return rc;
}

/* The capabilities this VMM needs: a data channel of its own and a buffer size. */
static int check_caps(struct swtpm *t, char *err, size_t errlen)
{
	const uint64_t need =
	    SWTPM_CAP_INIT | SWTPM_CAP_STOP | SWTPM_CAP_SET_DATAFD | SWTPM_CAP_SET_BUFFERSIZE;
	uint8_t caps[8];
	int rc = swtpm_ctrl(t->ctrl_fd, SWTPM_GET_CAPABILITY, NULL, 0, -1, caps, sizeof(caps));

	if (rc < 0) {
		snprintf(err, errlen, "swtpm: GET_CAPABILITY: %s", strerror(-rc));
		return rc;
	}
	if ((get_be64(caps) & need) != need) {
		snprintf(err, errlen,
			 "swtpm: its control channel lacks INIT/STOP/SET_DATAFD/SET_BUFFERSIZE "
			 "(capabilities 0x%llx): is it `swtpm socket --ctrl type=unixio,...`?",
			 (unsigned long long)get_be64(caps));
		return -ENOTSUP;
	}
	return 0;
}

/* A socket pair; swtpm gets one end. */
static int data_channel(struct swtpm *t, char *err, size_t errlen)
{
	uint8_t res[4];
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		snprintf(err, errlen, "swtpm: socketpair: %s", strerror(-rc));
		return rc;
	}
	t->data_fd = sv[0];
	rc = ctrl_result(t, SWTPM_SET_DATAFD, NULL, 0, sv[1], res, sizeof(res), "SET_DATAFD", err,
			 errlen);
	close(sv[1]);
	if (rc == 0) {
		rc = set_timeouts(t->data_fd, SWTPM_DATA_TIMEOUT_S);
		if (rc < 0)
			snprintf(err, errlen, "swtpm: socket timeouts: %s", strerror(-rc));
	}
	return rc;
}

/* STOP (a running TPM from the VM's last start takes no new buffer size), then the size,
 * then INIT. */
static int start_tpm(struct swtpm *t, uint32_t bufsize, char *err, size_t errlen)
{
	uint8_t req[4], rsp[16];
	int rc;

	rc = ctrl_result(t, SWTPM_STOP, NULL, 0, -1, rsp, 4, "STOP", err, errlen);
	if (rc < 0)
		return rc;
	put_be32(req, bufsize);
	rc = ctrl_result(t, SWTPM_SET_BUFFERSIZE, req, 4, -1, rsp, 16, "SET_BUFFERSIZE", err,
			 errlen);
	if (rc < 0)
		return rc;
	t->buffer_size = get_be32(rsp + 4);
	if (t->buffer_size > bufsize || t->buffer_size < TPM_HDR_LEN) {
		snprintf(err, errlen, "swtpm: buffer size %u, not at most %u", t->buffer_size,
			 bufsize);
		return -EPROTO;
	}
	put_be32(req, SWTPM_INIT_DELETE_VOLATILE);
	return ctrl_result(t, SWTPM_INIT, req, 4, -1, rsp, 4, "INIT", err, errlen);
}

int swtpm_open(struct swtpm *t, const char *path, uint32_t bufsize, char *err, size_t errlen)
{
	int rc;

	memset(t, 0, sizeof(*t));
	t->ctrl_fd = t->data_fd = -1;
	rc = ctrl_connect(t, path, err, errlen);
	if (rc == 0)
		rc = check_caps(t, err, errlen);
	if (rc == 0)
		rc = data_channel(t, err, errlen);
	if (rc == 0)
		rc = start_tpm(t, bufsize, err, errlen);
	if (rc < 0)
		swtpm_close(t);
	else
		pr_info("tpm: swtpm at %s, buffer %u bytes", path, t->buffer_size);
	return rc;
}

void swtpm_close(struct swtpm *t)
{
	if (t->data_fd >= 0)
		close(t->data_fd);
	if (t->ctrl_fd >= 0)
		close(t->ctrl_fd);
	t->data_fd = t->ctrl_fd = -1;
}

static ssize_t exec_failed(struct swtpm *t, int rc, const char *what)
{
	t->failed = true;
	pr_err("tpm: swtpm %s: %s; the TPM fails every command from now on", what, strerror(-rc));
	return rc;
}

ssize_t swtpm_exec(void *opaque, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap)
{
	struct swtpm *t = opaque;
	uint32_t size;
	int rc;

	if (t->failed || t->data_fd < 0)
		return -EIO;
	if (len < TPM_HDR_LEN || len > t->buffer_size || cap < TPM_HDR_LEN)
		return -EINVAL; /* the device checks first; nothing was sent */
	rc = write_all(t->data_fd, cmd, len);
	if (rc < 0)
		return exec_failed(t, rc, "command");
	rc = read_all(t->data_fd, rsp, TPM_HDR_LEN);
	if (rc < 0)
		return exec_failed(t, rc, "response");
	size = get_be32(rsp + 2);
	if (size < TPM_HDR_LEN || size > cap)
		return exec_failed(t, -EPROTO, "response size");
	rc = read_all(t->data_fd, rsp + TPM_HDR_LEN, size - TPM_HDR_LEN);
	if (rc < 0)
		return exec_failed(t, rc, "response");
	return (ssize_t)size;
}
