/* The supervisor's serial relay: the guest's serial output (the VMM's stdout) goes to the log
 * file (capped, src/common/capfile.c) and to every attached console client; what clients type goes
 * to the VMM's stdin. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/capfile.h"

#define RELAY_MAX_CLIENTS 8

struct relay {
	int serial, listen;
	struct capfile *log;
	int clients[RELAY_MAX_CLIENTS];
	int nclients;
	char in[4096]; /* typed by clients, not yet taken by the VMM */
	size_t in_len;
	bool serial_eof; /* the VMM's end is closed and everything it wrote is relayed */
};

/* Runs until process vmm (a child) has exited and its output is drained; *status is its
 * wait status. serial_fd: our end of the VMM's stdin/stdout; listen_fd: the console socket. */
void relay_run(int serial_fd, int listen_fd, struct capfile *log, pid_t vmm, int *status);

/* relay_run's parts, for a caller that drives the relay itself (tests/fuzz/fuzz_relay.c):
 * relay_init makes serial_fd non-blocking; relay_round waits up to timeout_ms for the serial
 * fd, the console socket, the clients and wake_fd (-1: none), handles what is ready, and
 * returns whether wake_fd is readable; relay_end closes the clients. */
void relay_init(struct relay *r, int serial_fd, int listen_fd, struct capfile *log);
bool relay_round(struct relay *r, int wake_fd, int timeout_ms);
void relay_end(struct relay *r);
