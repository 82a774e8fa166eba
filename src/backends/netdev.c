/* Network backends: tap (Linux tun/tap with IFF_VNET_HDR; attached in netdev_tap.c) and passt (its
 * QEMU protocol: a stream socket where every frame follows its length as a 32-bit big-endian
 * integer).
 *
 * passt's stream keeps its framing only if every frame is written whole, so a frame
 * the socket takes in part is finished before any other: its tail waits in a one-frame
 * send queue, and netdev_send answers -EAGAIN (nothing taken) until netdev_flush has
 * written it. The caller keeps its frame and retries when the fd is writable: frames
 * are held back, never dropped for want of room. On receive, bytes are read in large
 * chunks into a reassembly buffer and frames are cut out of it, whatever pieces the
 * stream arrives in. */
#include "backends/netdev.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/iov.h"

#define PASST_LEN_SIZE 4u
/* Room for two of the largest frames, so a read usually brings several small ones. */
#define PASST_RBUF_SIZE (2u * (PASST_LEN_SIZE + NETDEV_MAX_FRAME))
#define PASST_TBUF_SIZE (PASST_LEN_SIZE + NETDEV_MAX_FRAME)

struct netdev_ops {
	ssize_t (*recv)(struct netdev *nd, uint8_t *buf, size_t cap);
	int (*send)(struct netdev *nd, const struct iovec *iov, unsigned n, size_t len);
	int (*flush)(struct netdev *nd);
	int (*set_offloads)(struct netdev *nd, unsigned offloads);
};

struct netdev {
	const struct netdev_ops *ops;
	int fd;
	unsigned offloads; /* NETDEV_OFF_* supported */
	char name[128];
	/* passt: the reassembly buffer holds unparsed bytes in [rstart, rend) */
	uint8_t *rbuf;
	size_t rstart, rend;
	uint64_t rskip; /* bytes of a refused frame still to discard */
	uint64_t rx_skipped;
	/* passt: the frame being written, [toff, tlen) of tbuf still to go */
	uint8_t *tbuf;
	size_t toff, tlen;
};

static bool peer_gone(int e)
{
	return e == EPIPE || e == ECONNRESET || e == ENOTCONN;
}

/* ---- tap ------------------------------------------------------------------------------- */

static ssize_t tap_recv(struct netdev *nd, uint8_t *buf, size_t cap)
{
	for (;;) {
		ssize_t r = read(nd->fd, buf, cap);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		/* The kernel always puts the header first: anything shorter is not a frame. */
		return r < (ssize_t)NETDEV_HDR_LEN ? -EIO : r;
	}
}

/* A tap write takes the whole frame or nothing, so nothing is ever pending. */
static int tap_send(struct netdev *nd, const struct iovec *iov, unsigned n, size_t len)
{
	if (len < NETDEV_HDR_LEN || n > IOV_MAX)
		return -EINVAL;
	for (;;) {
		ssize_t r = writev(nd->fd, iov, (int)n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		return 0;
	}
}

static int tap_flush(struct netdev *nd)
{
	(void)nd;
	return 0;
}

static unsigned tun_flags(unsigned offloads)
{
	unsigned f = 0;

	if (!(offloads & NETDEV_OFF_CSUM))
		return 0; /* the kernel refuses segmentation without checksum offload */
	f |= TUN_F_CSUM;
	if (offloads & NETDEV_OFF_TSO4)
		f |= TUN_F_TSO4;
	if (offloads & NETDEV_OFF_TSO6)
		f |= TUN_F_TSO6;
	if ((offloads & NETDEV_OFF_ECN) && (f & (TUN_F_TSO4 | TUN_F_TSO6)))
		f |= TUN_F_TSO_ECN;
	return f;
}

static int tap_set_offloads(struct netdev *nd, unsigned offloads)
{
	if (offloads & ~nd->offloads)
		return -EINVAL;
	if (ioctl(nd->fd, TUNSETOFFLOAD, (unsigned long)tun_flags(offloads)) < 0)
		return -errno;
	return 0;
}

static const struct netdev_ops tap_ops = {
    .recv = tap_recv,
    .send = tap_send,
    .flush = tap_flush,
    .set_offloads = tap_set_offloads,
};

int netdev_tap_wrap(struct netdev **out, int fd, const char *ifname, unsigned offloads)
{
	struct netdev *nd = calloc(1, sizeof(*nd));

	if (!nd) {
		close(fd);
		return -ENOMEM;
	}
	nd->ops = &tap_ops;
	nd->fd = fd;
	nd->offloads = offloads;
	snprintf(nd->name, sizeof(nd->name), "tap %s", ifname);
	*out = nd;
	return 0;
}

/* ---- passt ----------------------------------------------------------------------------- */

/* Cuts the next whole frame out of the reassembly buffer: its length (header + frame)
 * in buf, or 0 if more bytes are needed. Frames that cannot be delivered are skipped. */
static ssize_t passt_parse(struct netdev *nd, uint8_t *buf, size_t cap)
{
	for (;;) {
		size_t avail = nd->rend - nd->rstart;
		uint32_t len;

		if (nd->rskip) {
			size_t drop = nd->rskip < avail ? (size_t)nd->rskip : avail;

			nd->rstart += drop;
			nd->rskip -= drop;
			if (nd->rskip)
				return 0;
			continue;
		}
		if (avail < PASST_LEN_SIZE)
			return 0;
		len = get_be32(nd->rbuf + nd->rstart);
		if (len == 0 || len > NETDEV_MAX_FRAME || len > cap - NETDEV_HDR_LEN) {
			nd->rx_skipped++;
			nd->rstart += PASST_LEN_SIZE;
			nd->rskip = len;
			continue;
		}
		if (avail < PASST_LEN_SIZE + len)
			return 0;
		memset(buf, 0, NETDEV_HDR_LEN); /* no checksum or segmentation to report */
		memcpy(buf + NETDEV_HDR_LEN, nd->rbuf + nd->rstart + PASST_LEN_SIZE, len);
		nd->rstart += PASST_LEN_SIZE + len;
		return (ssize_t)(NETDEV_HDR_LEN + len);
	}
}

/* Reads what the socket has after the unparsed bytes (moved to the front first). */
static ssize_t passt_fill(struct netdev *nd)
{
	size_t avail = nd->rend - nd->rstart;

	if (nd->rstart) {
		memmove(nd->rbuf, nd->rbuf + nd->rstart, avail);
		nd->rstart = 0;
		nd->rend = avail;
	}
	for (;;) {
		ssize_t r =
		    recv(nd->fd, nd->rbuf + nd->rend, PASST_RBUF_SIZE - nd->rend, MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return -EPIPE;
		if (r < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : peer_gone(errno) ? -EPIPE : -errno;
		nd->rend += (size_t)r;
		return r;
	}
}

static ssize_t passt_recv(struct netdev *nd, uint8_t *buf, size_t cap)
{
	if (cap < NETDEV_BUF_SIZE)
		return -EINVAL;
	for (;;) {
		ssize_t r = passt_parse(nd, buf, cap);

		if (r)
			return r;
		r = passt_fill(nd);
		if (r < 0)
			return r;
	}
}

static int passt_flush(struct netdev *nd)
{
	while (nd->toff < nd->tlen) {
		ssize_t r = send(nd->fd, nd->tbuf + nd->toff, nd->tlen - nd->toff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : peer_gone(errno) ? -EPIPE : -errno;
		nd->toff += (size_t)r;
	}
	nd->toff = nd->tlen = 0;
	return 0;
}

static int passt_send(struct netdev *nd, const struct iovec *iov, unsigned n, size_t len)
{
	uint8_t hdr[NETDEV_HDR_LEN];
	size_t frame;
	int rc;

	if (len < NETDEV_HDR_LEN || iov_to_buf(iov, n, 0, hdr, sizeof(hdr)) != sizeof(hdr))
		return -EINVAL;
	/* passt takes complete frames only: no checksum or segmentation left to do. */
	if ((hdr[0] & NETDEV_HDR_F_NEEDS_CSUM) || hdr[1] != NETDEV_HDR_GSO_NONE)
		return -EINVAL;
	frame = len - NETDEV_HDR_LEN;
	if (frame == 0 || frame > NETDEV_MAX_FRAME)
		return -EMSGSIZE;
	rc = passt_flush(nd);
	if (rc < 0)
		return rc;
	nd->tbuf[0] = (uint8_t)(frame >> 24);
	nd->tbuf[1] = (uint8_t)(frame >> 16);
	nd->tbuf[2] = (uint8_t)(frame >> 8);
	nd->tbuf[3] = (uint8_t)frame;
	if (iov_to_buf(iov, n, NETDEV_HDR_LEN, nd->tbuf + PASST_LEN_SIZE, frame) != frame)
		return -EINVAL;
	nd->toff = 0;
	nd->tlen = PASST_LEN_SIZE + frame;
	rc = passt_flush(nd);
	return rc == -EAGAIN ? 0 : rc; /* taken: the rest goes out on netdev_flush */
}

static int passt_set_offloads(struct netdev *nd, unsigned offloads)
{
	(void)nd;
	return offloads ? -EINVAL : 0;
}

static const struct netdev_ops passt_ops = {
    .recv = passt_recv,
    .send = passt_send,
    .flush = passt_flush,
    .set_offloads = passt_set_offloads,
};

static int passt_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, e;

	if (!path[0] || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "passt '%s': a socket path has 1 to %zu characters", path,
			 sizeof(sa.sun_path) - 1);
		return -EINVAL;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "passt %s: socket: %s", path, strerror(e));
		return -e;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		e = errno;
		snprintf(err, errlen,
			 "passt %s: cannot connect: %s (is passt running? passt -s %s)", path,
			 strerror(e), path);
		close(fd);
		return -e;
	}
	return fd;
}

int netdev_passt_open(struct netdev **out, const char *path, char *err, size_t errlen)
{
	struct netdev *nd = calloc(1, sizeof(*nd));

	if (nd) {
		nd->rbuf = malloc(PASST_RBUF_SIZE);
		nd->tbuf = malloc(PASST_TBUF_SIZE);
	}
	if (!nd || !nd->rbuf || !nd->tbuf) {
		snprintf(err, errlen, "passt %s: out of memory", path);
		if (nd) {
			nd->fd = -1;
			netdev_close(nd);
		}
		return -ENOMEM;
	}
	nd->ops = &passt_ops;
	snprintf(nd->name, sizeof(nd->name), "passt %s", path);
	nd->fd = passt_connect(path, err, errlen);
	if (nd->fd < 0) {
		int rc = nd->fd;

		netdev_close(nd);
		return rc;
	}
	*out = nd;
	return 0;
}

/* ---- common ---------------------------------------------------------------------------- */

void netdev_close(struct netdev *nd)
{
	if (!nd)
		return;
	if (nd->fd >= 0)
		close(nd->fd);
	free(nd->rbuf);
	free(nd->tbuf);
	free(nd);
}

const char *netdev_name(const struct netdev *nd)
{
	return nd->name;
}

int netdev_fd(const struct netdev *nd)
{
	return nd->fd;
}

unsigned netdev_offloads(const struct netdev *nd)
{
	return nd->offloads;
}

int netdev_set_offloads(struct netdev *nd, unsigned offloads)
{
	return nd->ops->set_offloads(nd, offloads);
}

ssize_t netdev_recv(struct netdev *nd, uint8_t *buf, size_t cap)
{
	return nd->ops->recv(nd, buf, cap);
}

int netdev_send(struct netdev *nd, const struct iovec *iov, unsigned n, size_t len)
{
	return nd->ops->send(nd, iov, n, len);
}

bool netdev_tx_pending(const struct netdev *nd)
{
	return nd->toff < nd->tlen;
}

int netdev_flush(struct netdev *nd)
{
	return nd->ops->flush(nd);
}

uint64_t netdev_rx_skipped(const struct netdev *nd)
{
	return nd->rx_skipped;
}

void netdev_default_mac(uint8_t mac[6], const char *target, unsigned index)
{
	uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a */

	for (const char *p = target; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001B3ull;
	for (unsigned i = 0; i < 4; i++)
		h = (h ^ ((index >> (8 * i)) & 0xFF)) * 0x100000001B3ull;
	mac[0] = 0x02;
	for (unsigned i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}
