/* Attackers for the VNC port (issue 15), each in a child process that dies with its parent:
 * SIEGE_IDLE connects SIEGE_IDLE_CLIENTS times to 127.0.0.1:port and sends the version on each
 * (reports how many got through), SIEGE_TRICKLE sends the version a byte every 20 ms (on a new
 * connection whenever one is closed), SIEGE_JUNK floods junk before any handshake,
 * SIEGE_UPDATES passes the handshake (None) and floods whole-screen update requests (for a
 * SIEGE_W x SIEGE_H screen) without ever reading. */
#pragma once
#include <sys/types.h>

#define SIEGE_IDLE_CLIENTS 1100
#define SIEGE_W		   640
#define SIEGE_H		   400

enum siege_kind { SIEGE_IDLE, SIEGE_TRICKLE, SIEGE_JUNK, SIEGE_UPDATES };

struct siege_child {
	pid_t pid;
	int got; /* what it reported once started (-1: it failed to start) */
};

/* A TCP connection to 127.0.0.1:port, or -1. */
int siege_dial(unsigned port);
/* Starts an attacker and waits until it is under way. */
struct siege_child siege_spawn(enum siege_kind kind, unsigned port);
void siege_stop(struct siege_child *c);
