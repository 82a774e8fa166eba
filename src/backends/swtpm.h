/* A TPM's host end: what a TPM device sends its commands to. swtpm is the one back end: its
 * control channel (a Unix socket the user starts swtpm with, `--ctrl type=unixio,path=PATH`)
 * sets up the data channel, a socket pair whose other end is handed to swtpm (CMD_SET_DATAFD);
 * TPM commands and responses then travel over that pair. docs/tpm.md has the protocol. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a TPM device calls: runs one command cmd[0..len) and writes the response (at most
 * cap bytes) to rsp. Returns the response's length (a whole TPM response, >= 10 bytes, its
 * size field equal to the length), or -errno when the back end failed (it then stays
 * failed: -EIO, -ETIMEDOUT, -EPROTO). */
struct tpm_backend {
	ssize_t (*exec)(void *opaque, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap);
	void *opaque;
};

#define TPM_HDR_LEN 10 /* tag (2), size (4), command code or response code (4) */

/* swtpm's control commands (its tpm_ioctl.h, "commands used by the non-CUSE TPMs"): a
 * big-endian 32-bit code, then the request; the answer is the response part alone. */
enum swtpm_cmd {
	SWTPM_GET_CAPABILITY = 0x01,
	SWTPM_INIT = 0x02,
	SWTPM_SHUTDOWN = 0x03,
	SWTPM_CANCEL_TPM_CMD = 0x09,
	SWTPM_STOP = 0x0e,
	SWTPM_SET_DATAFD = 0x10,
	SWTPM_SET_BUFFERSIZE = 0x11,
};

#define SWTPM_CAP_INIT		   (1u << 0)
#define SWTPM_CAP_STOP		   (1u << 10)
#define SWTPM_CAP_SET_DATAFD	   (1u << 12)
#define SWTPM_CAP_SET_BUFFERSIZE   (1u << 13)
#define SWTPM_INIT_DELETE_VOLATILE 1u

struct swtpm {
	int ctrl_fd;	      /* connected to swtpm's control socket */
	int data_fd;	      /* our end of the data channel */
	bool failed;	      /* a command went wrong on the wire: every later one fails at once */
	uint32_t buffer_size; /* what swtpm agreed to: its largest command and response */
};

/* Connects to swtpm's control socket at path, hands it a new data channel, sets its buffer
 * size to at most bufsize (the device's command buffer) and starts the TPM (CMD_INIT: a
 * power-on; swtpm's --flags startup-clear then sends TPM2_Startup itself). Called once per
 * VM start, so a guest reboot is a TPM power cycle; the TPM's state stays in swtpm.
 * 0 or -errno with one line in err. */
int swtpm_open(struct swtpm *t, const char *path, uint32_t bufsize, char *err, size_t errlen);
/* Closes both channels (swtpm keeps running and waits for the next VM start). */
void swtpm_close(struct swtpm *t);
/* struct tpm_backend's exec for a struct swtpm: a blocking round trip on the data channel
 * (the calling vCPU thread waits; a send or receive timeout bounds the wait). */
ssize_t swtpm_exec(void *opaque, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap);
/* One control command: code and req[0..reqlen) in one message (with fd_to_pass as
 * SCM_RIGHTS when >= 0), then exactly rsplen bytes of answer. 0 or -errno. */
int swtpm_ctrl(int fd, uint32_t code, const void *req, size_t reqlen, int fd_to_pass, void *rsp,
	       size_t rsplen);
