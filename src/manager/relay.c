#include "manager/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void drop_client(struct relay *r, int i)
{
	close(r->clients[i]);
	r->clients[i] = r->clients[--r->nclients];
}

/* Guest output: to the log, and to each client that keeps up (a client that doesn't loses
 * bytes rather than stalling the guest). */
static void from_vmm(struct relay *r)
{
	static char buf[65536]; /* the supervisor's one thread: a guest printing fast costs less */
	ssize_t n = read(r->serial, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		r->serial_eof = true;
		return;
	}
	capfile_write(r->log, buf, (size_t)n);
	for (int i = r->nclients - 1; i >= 0; i--)
		if (send(r->clients[i], buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
		    errno != EAGAIN)
			drop_client(r, i);
}

static void accept_client(struct relay *r)
{
	int fd = accept4(r->listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	static const char full[] = "phyllome: too many consoles attached to this VM\r\n";

	if (fd < 0)
		return;
	if (r->nclients == RELAY_MAX_CLIENTS) {
		if (send(fd, full, sizeof(full) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			(void)0; /* closing anyway */
		close(fd);
		return;
	}
	r->clients[r->nclients++] = fd;
}

/* revents: what the poll saw on client i. */
static void from_client(struct relay *r, int i, short revents)
{
	ssize_t n;

	/* Full (other clients filled it since the poll): a read of 0 bytes would look like an
	 * EOF. A client that hung up is dropped even so (its poll would not wait). */
	if (r->in_len == sizeof(r->in)) {
		if (revents & (POLLHUP | POLLERR))
			drop_client(r, i);
		return;
	}
	n = read(r->clients[i], r->in + r->in_len, sizeof(r->in) - r->in_len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		drop_client(r, i);
		return;
	}
	r->in_len += (size_t)n;
}

static void to_vmm(struct relay *r)
{
	ssize_t w = send(r->serial, r->in, r->in_len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR)
			r->in_len = 0; /* the VMM is going away */
		return;
	}
	memmove(r->in, r->in + w, r->in_len - (size_t)w);
	r->in_len -= (size_t)w;
}

void relay_init(struct relay *r, int serial_fd, int listen_fd, struct capfile *log)
{
	*r = (struct relay){.serial = serial_fd, .listen = listen_fd, .log = log};
	fcntl(serial_fd, F_SETFL, fcntl(serial_fd, F_GETFL) | O_NONBLOCK);
}

bool relay_round(struct relay *r, int wake_fd, int timeout_ms)
{
	struct pollfd p[3 + RELAY_MAX_CLIENTS];
	int fds[RELAY_MAX_CLIENTS];
	int n = 0, nc = r->nclients;

	p[n++] = (struct pollfd){.fd = r->serial, .events = POLLIN | (r->in_len ? POLLOUT : 0)};
	p[n++] = (struct pollfd){.fd = r->listen, .events = POLLIN};
	p[n++] = (struct pollfd){.fd = wake_fd, .events = POLLIN};
	for (int i = 0; i < nc; i++) {
		fds[i] = r->clients[i];
		p[n++] =
		    (struct pollfd){.fd = fds[i], .events = r->in_len < sizeof(r->in) ? POLLIN : 0};
	}
	if (poll(p, (nfds_t)n, timeout_ms) < 0) {
		r->serial_eof = errno != EINTR; /* a poll that cannot work ends the relay */
		return false;
	}
	if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
		from_vmm(r);
	if (p[0].revents & POLLOUT)
		to_vmm(r);
	/* Clients by descriptor: sending guest output above may have dropped some, and dropping
	 * one moves the last into its slot, so a polled index may no longer be that client. */
	for (int i = nc - 1; i >= 0; i--) {
		if (!(p[3 + i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (int k = r->nclients - 1; k >= 0; k--)
			if (r->clients[k] == fds[i]) {
				from_client(r, k, p[3 + i].revents);
				break;
			}
	}
	/* After the clients: a new one must not take the slot (or descriptor) of a dropped one
	 * while the poll's results are still being read. */
	if (p[1].revents & POLLIN)
		accept_client(r);
	return wake_fd >= 0 && (p[2].revents & POLLIN);
}

void relay_end(struct relay *r)
{
	while (r->nclients)
		drop_client(r, r->nclients - 1);
}

void relay_run(int serial_fd, int listen_fd, struct capfile *log, pid_t vmm, int *status)
{
	struct relay r;
	int pidfd = (int)syscall(SYS_pidfd_open, vmm, 0);
	bool exited = false;

	relay_init(&r, serial_fd, listen_fd, log);
	while (!r.serial_eof) {
		/* Without a pidfd (old kernels), look at the child once a second. */
		bool woken = relay_round(&r, exited ? -1 : pidfd, pidfd < 0 ? 1000 : -1);

		if (!exited && (pidfd < 0 || woken) && waitpid(vmm, status, WNOHANG) == vmm) {
			exited = true;
			/* Its end of the pair is closed now: read what is left, then EOF. */
			fcntl(serial_fd, F_SETFL, fcntl(serial_fd, F_GETFL) & ~O_NONBLOCK);
		}
	}
	if (!exited)
		waitpid(vmm, status, 0);
	relay_end(&r);
	if (pidfd >= 0)
		close(pidfd);
}
