/* Attaching to a tap interface: /dev/net/tun, TUNSETIFF, the virtio-net header's size and the
 * offloads the kernel takes. The frames then go through netdev.c's tap path (netdev_tap_wrap),
 * which is all a fuzz target needs: tests/fuzz/fuzz_tap.c stands in for this file. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "backends/netdev.h"

#define TAP_ALL_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

static const char *tap_hint(int e)
{
	switch (e) {
	case EPERM:
		return " (create it for this user first: ip tuntap add NAME mode tap user USER)";
	case EBUSY:
		return " (another process has it open)";
	case EINVAL:
		return " (it exists with other flags: a tun, or a multi-queue tap?)";
	default:
		return "";
	}
}

/* TUNSETIFF and the header size; the offloads the kernel accepts are probed into *offloads,
 * the interface's name into name. */
static int tap_setup(int fd, const char *ifname, char name[IFNAMSIZ], unsigned *offloads, char *err,
		     size_t errlen)
{
	struct ifreq ifr;
	int hdr = NETDEV_HDR_LEN;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		snprintf(err, errlen, "tap %s: cannot attach: %s%s", ifname, strerror(e),
			 tap_hint(e));
		return -e;
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = 0;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int e = errno;

		snprintf(err, errlen, "tap %s: cannot set the virtio-net header size: %s", ifname,
			 strerror(e));
		return -e;
	}
	*offloads = 0;
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)TAP_ALL_OFFLOADS) == 0)
		*offloads = NETDEV_OFF_CSUM | NETDEV_OFF_TSO4 | NETDEV_OFF_TSO6 | NETDEV_OFF_ECN;
	else if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) == 0)
		*offloads = NETDEV_OFF_CSUM;
	/* Nothing offloaded until the guest's driver says what it takes. */
	if (ioctl(fd, TUNSETOFFLOAD, 0ul) < 0)
		*offloads = 0;
	return 0;
}

int netdev_tap_open(struct netdev **out, const char *ifname, char *err, size_t errlen)
{
	char name[IFNAMSIZ];
	unsigned offloads = 0;
	int fd, rc;

	if (!ifname[0] || strlen(ifname) >= IFNAMSIZ) {
		snprintf(err, errlen, "tap '%s': an interface name has 1 to %d characters", ifname,
			 IFNAMSIZ - 1);
		return -EINVAL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "tap %s: /dev/net/tun: %s", ifname, strerror(-rc));
		return rc;
	}
	rc = tap_setup(fd, ifname, name, &offloads, err, errlen);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	rc = netdev_tap_wrap(out, fd, name, offloads);
	if (rc < 0)
		snprintf(err, errlen, "tap %s: out of memory", ifname);
	return rc;
}
