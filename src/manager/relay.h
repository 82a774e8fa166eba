/* The supervisor's serial relay: the guest's serial output (the VMM's stdout) goes to the log
 * file (capped, src/common/capfile.c) and to every attached console client; what clients type goes
 * to the VMM's stdin. */
#pragma once
#include <sys/types.h>

#include "common/capfile.h"

#define RELAY_MAX_CLIENTS 8

/* Runs until process vmm (a child) has exited and its output is drained; *status is its
 * wait status. serial_fd: our end of the VMM's stdin/stdout; listen_fd: the console socket. */
void relay_run(int serial_fd, int listen_fd, struct capfile *log, pid_t vmm, int *status);
