/* vncsiege PORT: test_vnc_siege's siege against a VNC server on 127.0.0.1:PORT that runs as its
 * own process (a real phyllome-vmm: tests/vnc-siege-vmm.sh). Before, with 1,100 idle
 * connections, with tricklers, with floods and after, a viewer and a WebSocket viewer must get a
 * whole screen (every pixel of a full update) within the 2 s: a generous limit, the only
 * timing checked. TAP lines numbered from 1, without the plan (the script adds its own lines and
 * the plan); exit status 0 when all passed. */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rfb_client.h"
#include "vnc_siege.h"

#define VIEWER_BOUND_MS 2000

static int n, failed;

static uint64_t ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void viewer(const char *addr, bool websocket, const char *when)
{
	struct rfb_client c = {.websocket = websocket};
	uint64_t t0 = ms(), took;
	char err[200] = "";
	int rc = rfb_connect(&c, addr, err, sizeof(err));
	bool whole = false;

	while (rc == 0 && !whole && ms() - t0 < 5000) {
		c.pixels = 0;
		whole = rfb_update(&c, false, 1000) > 0 &&
			c.pixels >= (uint64_t)c.width * c.height && c.width;
	}
	took = ms() - t0;
	if (rc == 0)
		rfb_close(&c);
	n++;
	if (whole && took <= VIEWER_BOUND_MS) {
		printf("ok %d - %s viewer %s: %ux%u in %llu ms\n", n,
		       websocket ? "WebSocket" : "RFB", when, c.width, c.height,
		       (unsigned long long)took);
	} else {
		failed = 1;
		printf("not ok %d - %s viewer %s: %s after %llu ms\n", n,
		       websocket ? "WebSocket" : "RFB", when, rc ? err : "no whole screen",
		       (unsigned long long)took);
	}
	fflush(stdout);
}

static void both(const char *addr, const char *when)
{
	viewer(addr, false, when);
	viewer(addr, true, when);
}

int main(int argc, char **argv)
{
	struct siege_child idle, trick[4], junk, updates;
	unsigned port = argc > 1 ? (unsigned)atoi(argv[1]) : 0;
	char addr[64];

	if (!port)
		return fprintf(stderr, "usage: vncsiege PORT\n"), 2;
	signal(SIGPIPE, SIG_IGN);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	both(addr, "before");
	idle = siege_spawn(SIEGE_IDLE, port);
	printf("# %d idle connections made\n", idle.got);
	both(addr, "with 1,100 idle connections");
	for (int i = 0; i < 4; i++)
		trick[i] = siege_spawn(SIEGE_TRICKLE, port);
	nanosleep(&(struct timespec){0, 300000000}, NULL);
	both(addr, "with tricklers");
	junk = siege_spawn(SIEGE_JUNK, port);
	updates = siege_spawn(SIEGE_UPDATES, port);
	nanosleep(&(struct timespec){0, 500000000}, NULL);
	both(addr, "with floods");
	siege_stop(&idle);
	for (int i = 0; i < 4; i++)
		siege_stop(&trick[i]);
	siege_stop(&junk);
	siege_stop(&updates);
	both(addr, "after");
	return failed;
}
