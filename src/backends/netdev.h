/* Network backends under virtio-net: a tap interface (frames with a virtio-net header,
 * checksum and segmentation offloads) or passt's stream socket (each Ethernet frame
 * preceded by its length, big-endian; no offloads). Frames go in and out with the
 * 12-byte virtio_net_hdr_v1 in front, whatever the backend. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define NETDEV_HDR_LEN	12u /* struct virtio_net_hdr_v1, num_buffers included */
#define NETDEV_ETH_HLEN 14u
/* Largest frame either way: a 64 KiB IP packet (segmentation offload, or passt's
 * largest MTU) behind an Ethernet header with a VLAN tag. */
#define NETDEV_MAX_FRAME (65535u + NETDEV_ETH_HLEN + 4u)
#define NETDEV_BUF_SIZE	 (NETDEV_HDR_LEN + NETDEV_MAX_FRAME)

/* Offloads: what the backend accepts in frames we send (partial checksums, TCP
 * segmentation) and, once set with netdev_set_offloads, may hand us. */
#define NETDEV_OFF_CSUM 1u
#define NETDEV_OFF_TSO4 2u
#define NETDEV_OFF_TSO6 4u
#define NETDEV_OFF_ECN	8u

/* virtio_net_hdr_v1 fields this layer looks at (virtio 1.2, 5.1.6). */
#define NETDEV_HDR_F_NEEDS_CSUM 1u
#define NETDEV_HDR_GSO_NONE	0u
#define NETDEV_HDR_GSO_TCPV4	1u
#define NETDEV_HDR_GSO_TCPV6	4u

struct netdev;

/* Attaches to the tap interface ifname (made by `ip tuntap add NAME mode tap user U`,
 * or created here when running as root). Returns 0 or -errno with a message in err. */
int netdev_tap_open(struct netdev **out, const char *ifname, char *err, size_t errlen);
/* A tap back end on fd, a tap already attached with a 12-byte virtio-net header whose
 * kernel takes `offloads` (NETDEV_OFF_*): netdev_tap_open's last step, and where
 * tests/fuzz/fuzz_tap.c hands in a socket instead. Takes fd (closed on failure); 0 or -ENOMEM. */
int netdev_tap_wrap(struct netdev **out, int fd, const char *ifname, unsigned offloads);
/* Connects to passt's Unix socket at path. Returns 0 or -errno with a message. */
int netdev_passt_open(struct netdev **out, const char *path, char *err, size_t errlen);
void netdev_close(struct netdev *nd);

/* "tap NAME" or "passt PATH", for messages. */
const char *netdev_name(const struct netdev *nd);
/* The fd to watch: readable when netdev_recv may return a frame, writable when
 * netdev_flush may make progress. */
int netdev_fd(const struct netdev *nd);
/* NETDEV_OFF_* the backend supports (0 for passt). */
unsigned netdev_offloads(const struct netdev *nd);
/* What the backend may deliver from now on; a subset of netdev_offloads(). TSO and
 * ECN need CSUM. Returns 0 or -errno. */
int netdev_set_offloads(struct netdev *nd, unsigned offloads);

/* Receives one frame into buf (cap >= NETDEV_BUF_SIZE): the header, then the frame.
 * Returns the total length, -EAGAIN when no whole frame is there yet, -EPIPE when the
 * peer has gone, or another -errno. */
ssize_t netdev_recv(struct netdev *nd, uint8_t *buf, size_t cap);
/* Sends one frame: iov holds len bytes, the header then the frame. Returns 0 when the
 * frame was sent or taken whole (see netdev_tx_pending), -EAGAIN when nothing was
 * taken (wait for the fd to be writable, then netdev_flush), -EPIPE when the peer has
 * gone, or another -errno when this frame was refused (it is then dropped). */
int netdev_send(struct netdev *nd, const struct iovec *iov, unsigned n, size_t len);
/* Whether part of a taken frame still waits to be written (passt). */
bool netdev_tx_pending(const struct netdev *nd);
/* Writes what netdev_tx_pending holds: 0 when all is out, -EAGAIN, or -EPIPE. */
int netdev_flush(struct netdev *nd);
/* Frames the backend skipped on receive (passt: lengths of 0 or above NETDEV_MAX_FRAME). */
uint64_t netdev_rx_skipped(const struct netdev *nd);
/* A locally administered unicast address (first octet 0x02) that stays the same for the
 * same backend target and NIC index, so a guest keeps its leases across runs. */
void netdev_default_mac(uint8_t mac[6], const char *target, unsigned index);
