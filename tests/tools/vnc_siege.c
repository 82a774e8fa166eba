/* Attackers for the VNC port (issue 15), each a child process, as other programs would be:
 * shared by tests/unit/test_vnc_siege.c and tests/tools/vncsiege.c (the same siege against a
 * real phyllome-vmm). */
#include "vnc_siege.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int siege_dial(unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Connects n times and sends the version on each; tells the parent how many got through. */
static void idle_clients(unsigned port, int report)
{
	struct rlimit rl;
	int n = 0;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	for (int i = 0; i < SIEGE_IDLE_CLIENTS; i++) {
		int fd = siege_dial(port);

		if (fd < 0)
			continue;
		if (send(fd, "RFB 003.008\n", 12, MSG_NOSIGNAL) == 12)
			n++;
	}
	if (write(report, &n, sizeof(n)) != sizeof(n))
		_exit(1);
	for (;;)
		pause();
}

/* The version, one byte every 20 ms, on a new connection each time the gate closes one. */
static void trickler(unsigned port, int report)
{
	int one = 1;

	if (write(report, &one, sizeof(one)) != sizeof(one))
		_exit(1);
	for (;;) {
		int fd = siege_dial(port);

		for (int i = 0; fd >= 0; i = (i + 1) % 12) {
			if (send(fd, &"RFB 003.008\n"[i], 1, MSG_NOSIGNAL) != 1)
				break;
			usleep(20000);
		}
		if (fd >= 0)
			close(fd);
	}
}

/* Junk as fast as the socket takes it, before any handshake. */
static void junk_flood(unsigned port, int report)
{
	static char junk[65536];
	int one = 1;

	memset(junk, 0xA5, sizeof(junk));
	if (write(report, &one, sizeof(one)) != sizeof(one))
		_exit(1);
	for (;;) {
		int fd = siege_dial(port);

		while (fd >= 0 && send(fd, junk, sizeof(junk), MSG_NOSIGNAL) > 0)
			;
		if (fd >= 0)
			close(fd);
	}
}

/* Through the handshake (no password here), then whole-screen update requests without end,
 * never reading a byte of the answers. */
static void update_flood(unsigned port, int report)
{
	static uint8_t req[10 * 1000];
	uint8_t b[64];
	int one = 1;

	for (size_t i = 0; i < sizeof(req); i += 10) {
		/* FramebufferUpdateRequest: not incremental, 0,0 to W x H (big-endian). */
		memcpy(req + i, "\x03\x00\x00\x00\x00\x00", 6);
		req[i + 6] = SIEGE_W >> 8;
		req[i + 7] = SIEGE_W & 0xff;
		req[i + 8] = SIEGE_H >> 8;
		req[i + 9] = SIEGE_H & 0xff;
	}
	if (write(report, &one, sizeof(one)) != sizeof(one))
		_exit(1);
	for (;;) {
		int fd = siege_dial(port);

		if (fd < 0 || recv(fd, b, 12, MSG_WAITALL) != 12 ||
		    send(fd, "RFB 003.008\n", 12, 0) != 12 || recv(fd, b, 2, MSG_WAITALL) != 2 ||
		    send(fd, "\x01", 1, 0) != 1 || recv(fd, b, 4, MSG_WAITALL) != 4 ||
		    send(fd, "\x01", 1, 0) != 1) {
			if (fd >= 0)
				close(fd);
			usleep(10000);
			continue;
		}
		while (send(fd, req, sizeof(req), MSG_NOSIGNAL) > 0)
			;
		close(fd);
	}
}

struct siege_child siege_spawn(enum siege_kind kind, unsigned port)
{
	static void (*const fn[])(unsigned, int) = {
	    [SIEGE_IDLE] = idle_clients,
	    [SIEGE_TRICKLE] = trickler,
	    [SIEGE_JUNK] = junk_flood,
	    [SIEGE_UPDATES] = update_flood,
	};
	struct siege_child c = {.pid = -1, .got = -1};
	int p[2];

	if (pipe(p) < 0)
		return c;
	c.pid = fork();
	if (c.pid < 0) {
		close(p[0]);
		close(p[1]);
		return c;
	}
	if (c.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test leaves none behind */
		close(p[0]);
		signal(SIGPIPE, SIG_IGN);
		fn[kind](port, p[1]);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c.got, sizeof(c.got)) != sizeof(c.got))
		c.got = -1;
	close(p[0]);
	return c;
}

void siege_stop(struct siege_child *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	c->pid = -1;
}
