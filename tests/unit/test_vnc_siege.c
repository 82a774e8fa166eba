/* The VNC port under siege, the way issue 15 found it: 1,100 idle connections that send the
 * protocol version and nothing more (phyllome-vmm used to abort at about 1,000 in libvncserver's
 * select()), then clients trickling a byte at a time, then floods (junk before authentication,
 * and update requests from a client that never reads). The whole display runs here (the gate,
 * libvncserver and the refresh thread, under their seccomp filters); the attackers are child
 * processes, as they would be other programs; a normal viewer (tests/tools/rfb_client.c, plain
 * and over a WebSocket, as the browser console) must get the screen during and after. Also: an
 * address other machines can reach is refused without a password. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "filters.h"
#include "../tools/rfb_client.h"
#include "../tools/vnc_siege.h"
#include "common/bytes.h"
#include "devices/bochs_display.h"
#include "devices/i8042.h"
#include "ui/display.h"
#include "ui/vnc.h"
#include "ui/vnc_gate.h"

/* The bound for a viewer to get the screen while the port is under attack. A generous
 * limit, not a measurement (a viewer here normally takes about 0.2 s: the gate waits 150 ms to
 * see whether a client speaks first); the only timing these tests assert. */
#define VIEWER_BOUND_MS 2000
#define W		SIEGE_W
#define H		SIEGE_H

static uint64_t ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* ---- the viewer ---- */

struct fixture {
	struct bochs_display dev;
	struct i8042 kbd;
	uint8_t *vram;
	struct display *d;
	unsigned port;
	char addr[64];
};

static void dispi(struct bochs_display *b, uint16_t idx, uint16_t v)
{
	uint8_t d[2];

	put_le16(d, idx);
	bochs_dispi_io(b, 0, d, 2, true);
	put_le16(d, v);
	bochs_dispi_io(b, 1, d, 2, true);
}

/* A viewer gets the whole screen (checked pixel for pixel) within the bound. */
static void viewer(struct fixture *f, bool websocket, const char *when)
{
	struct rfb_client c = {.websocket = websocket};
	uint64_t t0 = ms(), took;
	char err[256];
	bool right = false;

	assert_int_equal(rfb_connect(&c, f->addr, err, sizeof(err)), 0);
	while (!right && ms() - t0 < 5000) {
		rfb_update(&c, false, 1000);
		right = c.width == W && c.fb[0] == 0xFF0000 && c.fb[W * H - 1] == 0x804020;
	}
	took = ms() - t0;
	rfb_close(&c);
	print_message("# viewer (%s) %s: %llu ms\n", websocket ? "WebSocket" : "RFB", when,
		      (unsigned long long)took);
	assert_true(right);
	assert_true(took <= VIEWER_BOUND_MS);
}

static void both_viewers(struct fixture *f, const char *when)
{
	viewer(f, false, when);
	viewer(f, true, when);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct display_config cfg = {.kind = DISPLAY_VNC};
	struct display_src src;
	char err[256];

	f->vram = calloc(1, BOCHS_VRAM_SIZE);
	f->d = calloc(1, sizeof(*f->d));
	bochs_init(&f->dev, f->vram, NULL, NULL);
	i8042_init(&f->kbd, NULL, NULL, NULL, NULL);
	dispi(&f->dev, DISPI_BPP, 32);
	dispi(&f->dev, DISPI_XRES, W);
	dispi(&f->dev, DISPI_YRES, H);
	dispi(&f->dev, DISPI_ENABLE, DISPI_ENABLED | DISPI_LFB_ENABLED);
	for (unsigned y = 0; y < H; y++)
		for (unsigned x = 0; x < W; x++)
			put_le32(f->vram + 4 * (y * W + x), y < H / 2
								? (x < W / 2 ? 0xFF0000 : 0x00FF00)
							    : x < W / 2 ? 0x0000FF
									: 0x804020);
	snprintf(cfg.vnc_host, sizeof(cfg.vnc_host), "127.0.0.1");
	/* A free port, found and then bound: another test's client may take it in between. */
	for (int try = 0;; try++) {
		f->port = free_port();
		cfg.vnc_port = f->port;
		if (display_start(f->d, &cfg, NULL, FILTERS, err, sizeof(err)) == 0)
			break;
		display_stop(f->d);
		memset(f->d, 0, sizeof(*f->d));
		if (try == 4) {
			print_error("%s\n", err);
			return -1;
		}
	}
	snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%u", f->port);
	src = (struct display_src){.dev = &f->dev, .kbd = &f->kbd};
	display_attach(f->d, &src);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	display_detach(f->d);
	display_stop(f->d);
	bochs_destroy(&f->dev);
	i8042_destroy(&f->kbd);
	free(f->d);
	free(f->vram);
	free(f);
	return 0;
}

static void test_siege(void **state)
{
	struct fixture *f = *state;
	struct siege_child idle, trick[4], junk, updates;
	struct gate_stats s;

	both_viewers(f, "before");
	idle = siege_spawn(SIEGE_IDLE, f->port);
	assert_int_equal(idle.got, SIEGE_IDLE_CLIENTS);
	vnc_gate_stats(f->d->vnc, &s);
	print_message("# after %d idle connections: accepted %llu, evicted %llu, holding %u\n",
		      SIEGE_IDLE_CLIENTS, (unsigned long long)s.accepted,
		      (unsigned long long)s.evicted, s.preauth);
	assert_true(s.preauth <= GATE_MAX_PREAUTH);
	both_viewers(f, "with 1,100 idle connections");
	for (int i = 0; i < 4; i++)
		trick[i] = siege_spawn(SIEGE_TRICKLE, f->port);
	usleep(300000);
	both_viewers(f, "with tricklers");
	junk = siege_spawn(SIEGE_JUNK, f->port);
	updates = siege_spawn(SIEGE_UPDATES, f->port);
	usleep(500000);
	both_viewers(f, "with floods");
	siege_stop(&idle);
	for (int i = 0; i < 4; i++)
		siege_stop(&trick[i]);
	siege_stop(&junk);
	siege_stop(&updates);
	both_viewers(f, "after");
	vnc_gate_stats(f->d->vnc, &s);
	print_message("# in all: accepted %llu, evicted %llu, expired %llu, handed over %llu\n",
		      (unsigned long long)s.accepted, (unsigned long long)s.evicted,
		      (unsigned long long)s.expired, (unsigned long long)s.handed_over);
	assert_true(s.accepted >= SIEGE_IDLE_CLIENTS + 10);
	assert_true(s.evicted >= SIEGE_IDLE_CLIENTS - GATE_MAX_PREAUTH);
}

/* A VNC port other machines can reach needs a password: without one, display_start fails with
 * one line that says so; with one, it starts (and warns that there is no TLS). */
/* display_start on a free port: another test's connections may take the one free_port found
 * before it binds (EADDRINUSE), so a few ports are tried. */
static int start_on_free_port(struct display *d, struct display_config *cfg, char *err,
			      size_t errlen)
{
	int rc = -EADDRINUSE;

	for (int i = 0; i < 8 && rc == -EADDRINUSE; i++) {
		memset(d, 0, sizeof(*d));
		cfg->vnc_port = free_port();
		rc = display_start(d, cfg, NULL, FILTERS, err, errlen);
		if (rc == -EADDRINUSE)
			display_stop(d);
	}
	return rc;
}

static void test_exposed_needs_password(void **state)
{
	struct display_config cfg = {.kind = DISPLAY_VNC};
	struct display *d = calloc(1, sizeof(*d));
	char err[256] = "";
	FILE *pw;

	(void)state;
	snprintf(cfg.vnc_host, sizeof(cfg.vnc_host), "0.0.0.0");
	assert_int_equal(start_on_free_port(d, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "needs password=FILE"));
	assert_null(strchr(err, '\n'));
	display_stop(d);
	snprintf(cfg.password_file, sizeof(cfg.password_file), "/tmp/phyllome-test-pw-%d",
		 getpid());
	pw = fopen(cfg.password_file, "w");
	assert_non_null(pw);
	fputs("s3cret\n", pw);
	fclose(pw);
	assert_int_equal(start_on_free_port(d, &cfg, err, sizeof(err)), 0);
	unlink(cfg.password_file);
	display_stop(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_siege, setup, teardown),
	    cmocka_unit_test(test_exposed_needs_password),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
