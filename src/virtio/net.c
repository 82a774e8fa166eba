/* virtio-net (virtio 1.2, 5.1): one receive and one transmit queue over a tap or passt
 * backend, with mergeable receive buffers, and checksum and segmentation offloads when
 * the backend (tap) has them.
 *
 * Receive: frames are read from the backend while it is readable, up to RX_BATCH per
 * wakeup, each copied into as many receive chains as it needs; the first chain's header
 * says how many (num_buffers). A frame that finds the ring empty stays here, with the
 * chains it already has, and the backend is no longer watched for input until the driver
 * kicks the receive queue. Transmit: on a kick, chains are sent until the ring is empty;
 * if the backend would block, the chain is kept and the queue waits for the backend to be
 * writable (and after TX_BUDGET chains the queue yields to receive the same way). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "backends/netdev.h"
#include "common/bytes.h"
#include "common/log.h"
#include "virtio/devices.h"
#include "devices/device.h"
#include "virtio/virtio_pci.h"

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN	9
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_HOST_TSO6	12
#define VIRTIO_NET_F_HOST_ECN	13
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16

#define VIRTIO_NET_S_LINK_UP 1

/* virtio_net_hdr_v1 (5.1.6). */
#define HDR_FLAGS	 0
#define HDR_GSO_TYPE	 1
#define HDR_NUM_BUFFERS	 10
#define HDR_F_NEEDS_CSUM 1u
#define HDR_F_DATA_VALID 2u
#define HDR_GSO_NONE	 0u
#define HDR_GSO_TCPV4	 1u
#define HDR_GSO_TCPV6	 4u
#define HDR_GSO_ECN	 0x80u

/* Configuration (5.1.4): mac, status, max_virtqueue_pairs. */
#define NET_CONFIG_SIZE 10u

#define RXQ		0
#define TXQ		1
#define NET_QUEUE_SIZE	256
#define RX_BATCH	64  /* frames per wakeup, one interrupt for them */
#define TX_NOTIFY_BATCH 64  /* sent chains per interrupt */
#define TX_BUDGET	256 /* chains per wakeup before yielding to the event loop */

struct net_stats {
	uint64_t rx_packets, rx_bytes, rx_dropped, rx_bad_buffers;
	uint64_t tx_packets, tx_bytes, tx_dropped, tx_malformed;
};

struct net_used {
	uint16_t head;
	uint32_t len;
};

struct net {
	struct virtio_dev *d;
	struct netdev *nd;
	unsigned index;
	uint8_t mac[6];
	bool link_up;
	bool active;	  /* between DRIVER_OK and reset */
	bool broken;	  /* a queue is broken: nothing more until reset */
	bool mrg;	  /* VIRTIO_NET_F_MRG_RXBUF negotiated */
	uint32_t watched; /* epoll events asked for on the backend's fd */

	/* Receive: the frame in rxbuf (header included) being copied into chains. */
	bool rx_stalled; /* waiting for a kick: no receive buffers */
	uint8_t *rxbuf;
	size_t rx_len, rx_done; /* rx_len 0: no frame */
	unsigned nused;		/* chains filled for it, pushed once it is whole */
	struct net_used used[VIRTQ_MAX_SIZE];
	struct iovec hdr_iov[NETDEV_HDR_LEN]; /* where the first chain's header is */
	unsigned hdr_niov;
	unsigned rx_pushed; /* in this batch */
	bool rxc_valid;	    /* rxc was taken from the ring and not used yet */
	struct virtq_chain rxc;

	/* Transmit. */
	bool tx_blocked; /* txc waits for the backend to be writable */
	bool tx_more;	 /* budget spent with chains left: resume when writable */
	bool txc_valid;
	struct virtq_chain txc;

	struct net_stats st;
	bool warned_tx;
};

static bool has(const struct net *n, unsigned bit)
{
	return virtio_has_feature(n->d, bit);
}

/* ---- watching the backend -------------------------------------------------------------- */

static void net_fd_event(struct virtio_dev *d, int fd, uint32_t events, void *arg);

/* Asks for input while receive buffers may be there, and for output while something
 * waits to be written. Nothing at all while the device is idle, broken or the link
 * down, so a hung-up backend cannot wake the I/O thread in a loop. */
static void net_update_watch(struct net *n)
{
	uint32_t want = 0;
	int fd = netdev_fd(n->nd), rc;

	if (n->active && !n->broken && n->link_up) {
		if (!n->rx_stalled)
			want |= EPOLLIN;
		if (n->tx_blocked || n->tx_more || netdev_tx_pending(n->nd))
			want |= EPOLLOUT;
	}
	if (want == n->watched)
		return;
	/* Unwatch first: whether watch() changes an existing watch is the transport's. */
	if (n->watched)
		virtio_dev_unwatch(n->d, fd);
	n->watched = 0;
	if (!want)
		return;
	rc = virtio_dev_watch(n->d, fd, want, net_fd_event, n);
	if (rc < 0) {
		pr_err("virtio-net%u: cannot watch %s: %s", n->index, netdev_name(n->nd),
		       strerror(-rc));
		return;
	}
	n->watched = want;
}

static void net_link_down(struct net *n, const char *why)
{
	if (!n->link_up)
		return;
	pr_warn("virtio-net%u: %s %s: link down", n->index, netdev_name(n->nd), why);
	n->link_up = false;
	if (n->active)
		virtio_dev_config_changed(n->d);
}

static void net_broken(struct net *n)
{
	n->broken = true;
	virtio_dev_set_needs_reset(n->d);
}

/* ---- receive --------------------------------------------------------------------------- */

/* Whether the guest may see this header as the backend wrote it (tap), given what was
 * negotiated: the backend's offloads follow the features, but frames queued before
 * they changed may not. */
static bool rx_header_ok(const struct net *n, uint8_t *hdr)
{
	uint8_t flags = hdr[HDR_FLAGS], gso = hdr[HDR_GSO_TYPE];

	if (!has(n, VIRTIO_NET_F_GUEST_CSUM)) {
		if (flags & HDR_F_NEEDS_CSUM)
			return false;
		flags = 0;
	}
	hdr[HDR_FLAGS] = flags & (HDR_F_NEEDS_CSUM | HDR_F_DATA_VALID);
	if ((gso & HDR_GSO_ECN) && !has(n, VIRTIO_NET_F_GUEST_ECN))
		return false;
	switch (gso & ~HDR_GSO_ECN) {
	case HDR_GSO_NONE:
		return !(gso & HDR_GSO_ECN);
	case HDR_GSO_TCPV4:
		return has(n, VIRTIO_NET_F_GUEST_TSO4);
	case HDR_GSO_TCPV6:
		return has(n, VIRTIO_NET_F_GUEST_TSO6);
	default:
		return false;
	}
}

/* Makes rxc a receive chain: 1, or 0 when the ring is empty (kicks are then asked
 * for and the receive side stalls), or -1 when the queue is broken. */
static int rx_get_chain(struct net *n)
{
	struct virtq *vq = &n->d->vq[RXQ];
	int rc;

	if (n->rxc_valid)
		return 1;
	rc = virtq_pop(vq, &n->rxc);
	if (rc == 0) {
		/* Re-check after asking for kicks: the driver may have just added some. */
		virtq_set_notify(vq, true);
		rc = virtq_pop(vq, &n->rxc);
		if (rc == 0) {
			n->rx_stalled = true;
			return 0;
		}
		virtq_set_notify(vq, false);
	}
	if (rc < 0) {
		net_broken(n);
		return -1;
	}
	n->rxc_valid = true;
	return 1;
}

static void rx_push(struct net *n, uint16_t head, uint32_t len)
{
	virtq_push(&n->d->vq[RXQ], head, len);
	n->rx_pushed++;
}

/* Remembers where the header of the frame's first chain lies, for num_buffers. */
static void rx_save_header(struct net *n)
{
	size_t left = NETDEV_HDR_LEN;

	n->hdr_niov = 0;
	for (unsigned i = 0; i < n->rxc.nin && left; i++) {
		struct iovec v = n->rxc.in[i];

		if (v.iov_len > left)
			v.iov_len = left;
		n->hdr_iov[n->hdr_niov++] = v;
		left -= v.iov_len;
	}
}

/* Gives the chains of the current frame back to the driver: whole, with num_buffers in
 * the first header, or (whole false) as empty buffers. */
static void rx_complete(struct net *n, bool whole)
{
	if (whole) {
		uint8_t nb[2];

		put_le16(nb, (uint16_t)n->nused);
		iov_from_buf(n->hdr_iov, n->hdr_niov, HDR_NUM_BUFFERS, nb, sizeof(nb));
		n->st.rx_packets++;
		n->st.rx_bytes += n->rx_len - NETDEV_HDR_LEN;
	} else {
		n->st.rx_dropped++;
	}
	for (unsigned i = 0; i < n->nused; i++)
		rx_push(n, n->used[i].head, whole ? n->used[i].len : 0);
	n->nused = 0;
	n->rx_len = 0;
}

/* Copies the current frame into receive chains. Returns 1 when it is delivered (or
 * dropped), 0 when the ring ran dry first (it stays here), -1 on a broken queue. */
static int rx_fill(struct net *n)
{
	struct virtq *vq = &n->d->vq[RXQ];
	unsigned max_chains = vq->size < VIRTQ_MAX_SIZE ? vq->size : VIRTQ_MAX_SIZE;

	while (n->rx_done < n->rx_len) {
		const struct virtq_chain *c = &n->rxc;
		size_t chunk;
		int rc = rx_get_chain(n);

		if (rc <= 0)
			return rc;
		if (c->nout || c->in_len < (n->nused ? 1 : NETDEV_HDR_LEN)) {
			/* Not a receive buffer (5.1.6.3.1): give it back unused. */
			n->st.rx_bad_buffers++;
			n->rxc_valid = false;
			rx_push(n, c->head, 0);
			continue;
		}
		if (!n->mrg && c->in_len < n->rx_len) {
			n->st
			    .rx_dropped++; /* too big for one buffer: keep the chain for the next */
			n->rx_len = 0;
			return 1;
		}
		if (n->nused == 0)
			rx_save_header(n);
		chunk = n->rx_len - n->rx_done;
		if (c->in_len < chunk)
			chunk = (size_t)c->in_len;
		iov_from_buf(c->in, c->nin, 0, n->rxbuf + n->rx_done, chunk);
		n->used[n->nused++] = (struct net_used){c->head, (uint32_t)chunk};
		n->rx_done += chunk;
		n->rxc_valid = false;
		if (n->rx_done < n->rx_len && n->nused >= max_chains) {
			rx_complete(n, false); /* the whole ring cannot hold it */
			return 1;
		}
	}
	rx_complete(n, true);
	return 1;
}

/* Reads the next frame from the backend into rxbuf. Returns 1, 0 when there is none
 * (or it was dropped: call again), or -1 when the backend has nothing more. */
static int rx_read(struct net *n)
{
	ssize_t r = netdev_recv(n->nd, n->rxbuf, NETDEV_BUF_SIZE);

	if (r == -EAGAIN)
		return -1;
	if (r < 0) {
		net_link_down(n, r == -EPIPE ? "hung up" : "failed");
		return -1;
	}
	if (!rx_header_ok(n, n->rxbuf)) {
		n->st.rx_dropped++;
		return 0;
	}
	put_le16(n->rxbuf + HDR_NUM_BUFFERS, 1);
	n->rx_len = (size_t)r;
	n->rx_done = 0;
	n->nused = 0;
	return 1;
}

static void net_rx(struct net *n)
{
	if (n->rx_stalled)
		return; /* until the driver kicks the receive queue */
	n->rx_pushed = 0;
	for (unsigned frames = 0; frames < RX_BATCH && !n->broken; frames++) {
		if (!n->rx_len) {
			int rc = n->link_up ? rx_read(n) : -1;

			if (rc < 0)
				break;
			if (rc == 0)
				continue;
		}
		if (rx_fill(n) <= 0)
			break;
	}
	if (n->rx_pushed)
		virtio_dev_notify(n->d, RXQ);
}

/* ---- transmit -------------------------------------------------------------------------- */

/* Sends txc. Returns -EAGAIN to keep it for later, else 0 (sent or dropped). */
static int tx_one(struct net *n)
{
	const struct virtq_chain *c = &n->txc;
	int rc;

	if (c->nin || c->out_len < NETDEV_HDR_LEN + NETDEV_ETH_HLEN ||
	    c->out_len > NETDEV_HDR_LEN + NETDEV_MAX_FRAME) {
		if (!n->warned_tx)
			pr_warn(
			    "virtio-net%u: dropping a malformed transmit chain (%llu bytes out, "
			    "%u writable segments)",
			    n->index, (unsigned long long)c->out_len, c->nin);
		n->warned_tx = true;
		n->st.tx_malformed++;
		return 0;
	}
	rc = n->link_up ? netdev_send(n->nd, c->out, c->nout, (size_t)c->out_len) : -ENOTCONN;
	if (rc == -EAGAIN)
		return rc;
	if (rc == -EPIPE)
		net_link_down(n, "hung up");
	if (rc < 0) {
		n->st.tx_dropped++;
		return 0;
	}
	n->st.tx_packets++;
	n->st.tx_bytes += c->out_len - NETDEV_HDR_LEN;
	return 0;
}

/* Makes txc the next chain: 1, 0 when the ring is empty (kicks asked for), -1. */
static int tx_get_chain(struct net *n)
{
	struct virtq *vq = &n->d->vq[TXQ];
	int rc;

	if (n->txc_valid)
		return 1;
	rc = virtq_pop(vq, &n->txc);
	if (rc == 0) {
		virtq_set_notify(vq, true);
		rc = virtq_pop(vq, &n->txc);
		if (rc == 0)
			return 0;
		virtq_set_notify(vq, false);
	}
	if (rc < 0) {
		net_broken(n);
		return -1;
	}
	n->txc_valid = true;
	return 1;
}

static void net_tx(struct net *n)
{
	struct virtq *vq = &n->d->vq[TXQ];
	unsigned pushed = 0;

	if (n->tx_blocked || n->broken)
		return;
	n->tx_more = false;
	virtq_set_notify(vq, false); /* no kicks while we are at it */
	for (unsigned done = 0;; done++) {
		if (done == TX_BUDGET) {
			n->tx_more = true;
			break;
		}
		if (tx_get_chain(n) <= 0)
			break;
		if (tx_one(n) == -EAGAIN) {
			n->tx_blocked = true;
			break;
		}
		n->txc_valid = false;
		virtq_push(vq, n->txc.head, 0);
		if (++pushed % TX_NOTIFY_BATCH == 0)
			virtio_dev_notify(n->d, TXQ);
	}
	if (pushed % TX_NOTIFY_BATCH)
		virtio_dev_notify(n->d, TXQ);
}

/* The backend is writable (or gone): finish its pending write, then the queue. */
static void net_tx_resume(struct net *n)
{
	int rc = n->link_up ? netdev_flush(n->nd) : 0;

	if (rc == -EAGAIN)
		return;
	if (rc < 0)
		net_link_down(n, rc == -EPIPE ? "hung up" : "failed");
	n->tx_blocked = false;
	net_tx(n);
}

/* ---- events ---------------------------------------------------------------------------- */

static void net_fd_event(struct virtio_dev *d, int fd, uint32_t events, void *arg)
{
	struct net *n = arg;

	(void)d;
	(void)fd;
	if (n->active && !n->broken) {
		if (events & EPOLLIN)
			net_rx(n);
		if (events & (EPOLLERR | EPOLLHUP))
			net_link_down(n, "hung up");
		if ((events & EPOLLOUT) || !n->link_up)
			net_tx_resume(n);
	}
	net_update_watch(n);
}

static void net_queue_notify(struct virtio_dev *d, unsigned q)
{
	struct net *n = d->priv;

	if (!n->active || n->broken)
		return;
	if (q == RXQ && n->rx_stalled) {
		n->rx_stalled = false;
		virtq_set_notify(&d->vq[RXQ], false);
		net_rx(n);
	} else if (q == TXQ) {
		net_tx(n);
	}
	net_update_watch(n);
}

/* ---- device ops ------------------------------------------------------------------------ */

static uint64_t net_features(struct virtio_dev *d)
{
	const struct net *n = d->priv;
	unsigned off = netdev_offloads(n->nd);
	uint64_t f =
	    1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS | 1ull << VIRTIO_NET_F_MRG_RXBUF;

	if (!(off & NETDEV_OFF_CSUM))
		return f; /* passt: complete frames only, both ways */
	f |= 1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM;
	if (off & NETDEV_OFF_TSO4)
		f |= 1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_GUEST_TSO4;
	if (off & NETDEV_OFF_TSO6)
		f |= 1ull << VIRTIO_NET_F_HOST_TSO6 | 1ull << VIRTIO_NET_F_GUEST_TSO6;
	if ((off & NETDEV_OFF_ECN) && (off & (NETDEV_OFF_TSO4 | NETDEV_OFF_TSO6)))
		f |= 1ull << VIRTIO_NET_F_HOST_ECN | 1ull << VIRTIO_NET_F_GUEST_ECN;
	return f;
}

static void net_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	const struct net *n = d->priv;
	uint8_t cfg[NET_CONFIG_SIZE];

	memcpy(cfg, n->mac, sizeof(n->mac));
	put_le16(cfg + 6, n->link_up ? VIRTIO_NET_S_LINK_UP : 0);
	put_le16(cfg + 8, 1); /* max_virtqueue_pairs */
	if (off > sizeof(cfg) || len > sizeof(cfg) - off) {
		memset(data, 0, len);
		return;
	}
	memcpy(data, cfg + off, len);
}

static void net_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	/* Nothing is writable in 1.x: the MAC changes only through a control queue. */
	(void)d;
	(void)off;
	(void)data;
	(void)len;
}

/* The offloads the guest takes on receive, for the backend. */
static unsigned guest_offloads(const struct net *n)
{
	unsigned off = 0;

	if (has(n, VIRTIO_NET_F_GUEST_CSUM))
		off |= NETDEV_OFF_CSUM;
	if (has(n, VIRTIO_NET_F_GUEST_TSO4))
		off |= NETDEV_OFF_TSO4;
	if (has(n, VIRTIO_NET_F_GUEST_TSO6))
		off |= NETDEV_OFF_TSO6;
	if (has(n, VIRTIO_NET_F_GUEST_ECN))
		off |= NETDEV_OFF_ECN;
	return off & netdev_offloads(n->nd);
}

static int net_activate(struct virtio_dev *d)
{
	struct net *n = d->priv;

	n->active = true;
	n->mrg = has(n, VIRTIO_NET_F_MRG_RXBUF);
	if (netdev_offloads(n->nd)) {
		int rc = netdev_set_offloads(n->nd, guest_offloads(n));
		if (rc < 0) /* the backend then hands over complete frames: still correct */
			pr_warn("virtio-net%u: %s: cannot set offloads: %s", n->index,
				netdev_name(n->nd), strerror(-rc));
	}
	/* Receive kicks only matter when we wait for buffers. */
	virtq_set_notify(&d->vq[RXQ], false);
	net_update_watch(n);
	return 0;
}

/* Forgets all in-flight state; the backend stays open and, for passt, keeps the part of
 * a frame it has half read or half written so the stream's framing survives. */
static void net_reset(struct virtio_dev *d)
{
	struct net *n = d->priv;

	n->active = false;
	n->broken = false;
	net_update_watch(n);
	n->rx_stalled = false;
	n->rx_len = n->rx_done = 0;
	n->nused = 0;
	n->rxc_valid = false;
	n->tx_blocked = n->tx_more = false;
	n->txc_valid = false;
	if (netdev_offloads(n->nd))
		netdev_set_offloads(n->nd, 0);
}

static void net_destroy(struct virtio_dev *d)
{
	struct net *n = d->priv;

	if (!n)
		return;
	pr_debug("virtio-net%u: rx %llu frames %llu bytes, %llu dropped, %llu bad buffers; "
		 "tx %llu frames %llu bytes, %llu dropped, %llu malformed",
		 n->index, (unsigned long long)n->st.rx_packets, (unsigned long long)n->st.rx_bytes,
		 (unsigned long long)(n->st.rx_dropped + netdev_rx_skipped(n->nd)),
		 (unsigned long long)n->st.rx_bad_buffers, (unsigned long long)n->st.tx_packets,
		 (unsigned long long)n->st.tx_bytes, (unsigned long long)n->st.tx_dropped,
		 (unsigned long long)n->st.tx_malformed);
	netdev_close(n->nd);
	free(n->rxbuf);
	free(n);
	d->priv = NULL;
}

static const struct virtio_dev_ops net_ops = {
    .name = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .pci_class = 0x020000, /* network controller, Ethernet */
    .num_queues = 2,
    .queue_size = NET_QUEUE_SIZE,
    .config_size = NET_CONFIG_SIZE,
    .features = net_features,
    .config_read = net_config_read,
    .config_write = net_config_write,
    .activate = net_activate,
    .reset = net_reset,
    .queue_notify = net_queue_notify,
    .destroy = net_destroy,
};

/* A locally administered unicast address (first octet 0x02) that stays the same for the
 * same backend and index, so a guest keeps its leases across runs. */
static void default_mac(uint8_t mac[6], const char *target, unsigned index)
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

int virtio_net_init(struct virtio_dev *d, const struct net_config *cfg, unsigned index, char *err,
		    size_t errlen)
{
	struct net *n = calloc(1, sizeof(*n));
	char why[256] = "out of memory";
	int rc = -ENOMEM;

	if (n)
		n->rxbuf = malloc(NETDEV_BUF_SIZE);
	if (n && n->rxbuf)
		rc = cfg->backend == NET_TAP
			 ? netdev_tap_open(&n->nd, cfg->target, why, sizeof(why))
			 : netdev_passt_open(&n->nd, cfg->target, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "virtio-net%u: %s", index, why);
		if (n)
			free(n->rxbuf);
		free(n);
		return rc;
	}
	n->d = d;
	n->index = index;
	n->link_up = true;
	if (cfg->mac_set)
		memcpy(n->mac, cfg->mac, sizeof(n->mac));
	else
		default_mac(n->mac, cfg->target, index);
	d->ops = &net_ops;
	d->priv = n;
	pr_debug("virtio-net%u: %s, MAC %02x:%02x:%02x:%02x:%02x:%02x", index, netdev_name(n->nd),
		 n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
	return 0;
}

/* ---- on the board: one device per --net ---- */

static bool net_wanted(const struct vm_config *cfg)
{
	return cfg->nnets > 0;
}

static int net_make(struct virtio_dev *d, struct board *b, unsigned i, char *err, size_t errlen)
{
	return virtio_net_init(d, &b->cfg->nets[i], i, err, errlen);
}

static int net_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct virtio_set *set = calloc(1, sizeof(*set));
	int rc = set ? 0 : -ENOMEM;

	*state = set;
	for (unsigned i = 0; rc == 0 && i < b->cfg->nnets; i++)
		rc = virtio_board_add(b, set, net_make, i, NULL, err, errlen);
	return rc;
}

const struct device_model virtio_net_device = {
    .name = "virtio-net",
    .wanted = net_wanted,
    .plug = net_plug,
    .unplug = virtio_set_unplug,
};
