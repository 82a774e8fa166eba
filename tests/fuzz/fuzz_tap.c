/* libFuzzer: virtio-net on the tap back end (src/backends/netdev.c's tap path), what a host
 * hands the guest through a tap: frames behind virtio-net headers with any flags, GSO types
 * and lengths. The device and its checks are fuzz_net.c's, built with FUZZ_TAP (see there).
 * In place of netdev_tap.c (/dev/net/tun and its ioctls, which need a real tap), the tap here
 * is one end of a SOCK_SEQPACKET pair, which keeps each frame whole, as a tap's reads do. */
#define FUZZ_TAP 1
#include "fuzz_net.c"

#include "backends/netdev.h"

/* netdev_tap.c's entry point: the target "bare" is a tap whose kernel takes no offloads. */
int netdev_tap_open(struct netdev **out, const char *ifname, char *err, size_t errlen)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -errno;
	}
	fz.peer = sv[1];
	return netdev_tap_wrap(out, sv[0], ifname,
			       strcmp(ifname, "bare") ? NETDEV_OFF_CSUM | NETDEV_OFF_TSO4 |
							    NETDEV_OFF_TSO6 | NETDEV_OFF_ECN
						      : 0);
}
