/* The 82574L's descriptor rings, on its I/O thread.
 *
 * Transmit: descriptors from TDH up to TDT, legacy ones (with their one checksum insertion)
 * and extended ones: context descriptors (checksum and segmentation offsets) and data
 * descriptors. A packet's buffers are gathered until EOP, then its checksums are filled in,
 * a VLAN tag is inserted if asked, and the frame goes to the backend complete. A TCP
 * segmentation (TSE) packet goes to a backend that segments (a tap: netdev_offloads) whole,
 * with a virtio-net header that asks it to (gso_size = MSS, a partial checksum), as a
 * virtio-net guest's would; for one that doesn't (passt), or a packet the header can't
 * describe (VLAN insertion, ECN's CWR, UDP), it is cut here into segments of MSS payload
 * bytes, each with its IP length and ID, TCP sequence number and flags, and checksums fixed.
 * A descriptor is written back (DD) when RS asks, as soon as its bytes are copied.
 *
 * Receive: each frame from the backend is filtered (unicast addresses, multicast hash table,
 * broadcast, VLAN table), then written over as many descriptors as it needs, legacy or
 * extended (RFCTL.EXSTEN) ones, one buffer each of RCTL's size. Without enough descriptors
 * the frame waits and the backend is not read until the driver moves RDT.
 *
 * Every descriptor and buffer goes through the guest-memory accessor. A ring the accessor
 * refuses (or a head or tail beyond the ring) stops that ring until the driver writes one of
 * its registers again; a buffer it refuses drops that packet (transmit) or marks the
 * descriptor with an error (receive). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "backends/netdev.h"
#include "common/bytes.h"
#include "common/log.h"
#include "devices/e1000e_hw.h"

#define DESC	    16u
#define ETH_ALEN    6u
#define ETH_MIN	    60u
#define VLAN_HLEN   4u
#define MAX_STD	    1522u /* without RCTL.LPE */
#define TCP_FIN_PSH 0x09u

/* ---- ring geometry ------------------------------------------------------------------------- */

struct ring {
	uint64_t base;
	uint32_t n, head, tail;
};

/* Reads a ring's registers at off (RDBAL or TDBAL); false if they make no sense. */
static bool ring_get(struct e1000e *e, uint32_t off, struct ring *r)
{
	uint32_t len = reg(e, off + 8);

	r->base = (uint64_t)reg(e, off + 4) << 32 | (reg(e, off) & ~0xFu);
	r->n = len / DESC;
	r->head = reg(e, off + 0x10);
	r->tail = reg(e, off + 0x18);
	if (r->n && r->head < r->n && r->tail < r->n)
		return true;
	if (len && !e->ring_warned) {
		pr_warn_limited(
		    "e1000e%u: ring at 0x%x has %u descriptors, head %u, tail %u: stopped",
		    e->index, off, r->n, r->head, r->tail);
		e->ring_warned = true;
	}
	return false;
}

static uint64_t desc_addr(const struct ring *r, uint32_t i)
{
	return r->base + (uint64_t)i * DESC;
}

/* ---- checksums ----------------------------------------------------------------------------- */

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Sums frame[start..end] (end inclusive; 0: the frame's end) plus extra and stores the result
 * at frame[at]. Offsets outside the frame leave it as it is. */
static void csum_insert(uint8_t *f, size_t len, unsigned start, unsigned at, unsigned end,
			uint32_t extra, bool udp)
{
	size_t stop = end ? (size_t)end + 1 : len;
	uint16_t c;

	if (stop > len || start >= stop || (size_t)at + 2 > len)
		return;
	c = fold(sum16(f + start, stop - start, extra));
	if (udp && c == 0)
		c = 0xFFFF;
	f[at] = (uint8_t)(c >> 8);
	f[at + 1] = (uint8_t)c;
}

/* ---- transmit ------------------------------------------------------------------------------ */

/* Hands the backend n iovecs of len bytes (a virtio-net header, then frames bytes that go
 * out as `frames` frames on the wire, of `wire` bytes in all) and counts them. Returns 0 (sent
 * or dropped) or -EAGAIN. */
static int tx_out(struct e1000e *e, const struct iovec *iov, unsigned n, size_t len,
		  const uint8_t *f, uint64_t frames, uint64_t wire)
{
	int rc = e->link_up ? netdev_send(e->nd, iov, n, len) : -ENOTCONN;

	if (rc == -EAGAIN)
		return rc;
	if (rc == -EPIPE)
		e1000e_link_down(e);
	if (rc < 0)
		return 0;
	stat_add(e, ST_GPTC, frames);
	stat_add(e, ST_TPT, frames);
	stat_add64(e, ST_GOTCL, wire);
	stat_add64(e, ST_TOTL, wire);
	if (f[0] == 0xFF && !memcmp(f, f + 1, ETH_ALEN - 1))
		stat_add(e, ST_BPTC, frames);
	else if (f[0] & 1)
		stat_add(e, ST_MPTC, frames);
	return 0;
}

/* Sends the frame in e->seg (flen bytes after the header), with the VLAN tag inserted if the
 * packet asks for it. Returns 0 (sent or dropped) or -EAGAIN. */
static int tx_send_frame(struct e1000e *e, size_t flen)
{
	uint8_t *f = e->seg + NETDEV_HDR_LEN;
	struct iovec iov;
	bool vlan = (e->tx.cmd & TXD_CMD_VLE) && (reg(e, CTRL) & CTRL_VME);

	if (vlan && flen >= 2 * ETH_ALEN && flen + VLAN_HLEN <= NETDEV_MAX_FRAME) {
		memmove(f + 2 * ETH_ALEN + VLAN_HLEN, f + 2 * ETH_ALEN, flen - 2 * ETH_ALEN);
		put_be16(f + 2 * ETH_ALEN, (uint16_t)reg(e, VET));
		put_be16(f + 2 * ETH_ALEN + 2, e->tx.vlan);
		flen += VLAN_HLEN;
	}
	memset(e->seg, 0, NETDEV_HDR_LEN);
	iov = (struct iovec){e->seg, NETDEV_HDR_LEN + flen};
	return tx_out(e, &iov, 1, iov.iov_len, f, 1, flen);
}

/* A packet without segmentation: its checksums, then out. */
static int tx_send_whole(struct e1000e *e)
{
	struct e1000e_txpkt *t = &e->tx;
	const struct e1000e_txctx *c = &e->ctx;
	uint8_t *f = e->seg + NETDEV_HDR_LEN;

	if (t->len > NETDEV_MAX_FRAME - VLAN_HLEN || t->len < 2 * ETH_ALEN)
		return 0;
	memcpy(f, t->buf, t->len);
	if (t->legacy) {
		if (t->cmd & TXD_CMD_IC)
			csum_insert(f, t->len, t->css, t->cso, 0, 0, false);
	} else {
		if (t->popts & TXD_POPTS_IXSM && (size_t)c->ipcso + 2 <= t->len) {
			memset(f + c->ipcso, 0, 2);
			csum_insert(f, t->len, c->ipcss, c->ipcso, c->ipcse, 0, false);
		}
		if (t->popts & TXD_POPTS_TXSM)
			csum_insert(f, t->len, c->tucss, c->tucso, c->tucse, 0,
				    !(c->tucmd & TUCMD_TCP));
	}
	return tx_send_frame(e, t->len);
}

/* Builds segment number t->seg_index of a TSO packet in e->seg: the header with its lengths,
 * ID, sequence number, flags and checksums for this segment. Returns its length. */
static size_t tso_build(struct e1000e *e, size_t pay)
{
	const struct e1000e_txctx *c = &e->ctx;
	struct e1000e_txpkt *t = &e->tx;
	uint8_t *f = e->seg + NETDEV_HDR_LEN;
	size_t hl = c->hdrlen, flen = hl + pay;
	bool last = t->seg_off + pay >= t->len - hl;

	memcpy(f, t->buf, hl);
	memcpy(f + hl, t->buf + hl + t->seg_off, pay);
	if (c->tucmd & TUCMD_IP) {
		put_be16(f + c->ipcss + 2, (uint16_t)(flen - c->ipcss));
		put_be16(f + c->ipcss + 4, (uint16_t)(get_be16(f + c->ipcss + 4) + t->seg_index));
	} else {
		put_be16(f + c->ipcss + 4, (uint16_t)(flen - c->ipcss - 40));
	}
	if (t->popts & TXD_POPTS_IXSM) {
		memset(f + c->ipcso, 0, 2);
		csum_insert(f, flen, c->ipcss, c->ipcso, c->ipcse, 0, false);
	}
	if (c->tucmd & TUCMD_TCP) {
		uint8_t *seq = f + c->tucss + 4;

		put_be32(seq, get_be32(seq) + (uint32_t)t->seg_off);
		if (!last)
			f[c->tucss + 13] &= (uint8_t)~TCP_FIN_PSH;
	} else {
		put_be16(f + c->tucss + 4, (uint16_t)(flen - c->tucss));
	}
	if (t->popts & TXD_POPTS_TXSM) /* the driver's partial sum lacks the L4 length */
		csum_insert(f, flen, c->tucss, c->tucso, 0, (uint32_t)(flen - c->tucss),
			    !(c->tucmd & TUCMD_TCP));
	return flen;
}

/* Whether the context's offsets fit the packet's header. */
static bool tso_ok(const struct e1000e *e)
{
	const struct e1000e_txctx *c = &e->ctx;
	size_t hl = c->hdrlen;

	return c->mss >= 16 && hl < e->tx.len && hl + c->mss <= NETDEV_MAX_FRAME - VLAN_HLEN &&
	       (size_t)c->ipcss + 20 <= hl && (size_t)c->tucss + 20 <= hl &&
	       (size_t)c->ipcso + 2 <= hl && (size_t)c->tucso + 2 <= hl &&
	       (!(c->tucmd & TUCMD_IP) || (size_t)c->ipcss + 6 <= hl);
}

/* A TSO packet (tso_ok) handed to a backend that segments, whole: IP length (and IPv4 header
 * checksum) for the whole packet, the TCP checksum field (the driver's pseudo-header sum
 * without the length) completed with the TCP length, as a partial checksum wants, and a
 * virtio-net header with gso_size = MSS. The packet is fixed up in place once (t->gso): a
 * retry after -EAGAIN sends it as it is. Returns 0, -EAGAIN, or -ENOTSUP (segment it here). */
static int tx_send_gso(struct e1000e *e)
{
	struct e1000e_txpkt *t = &e->tx;
	const struct e1000e_txctx *c = &e->ctx;
	bool v4 = c->tucmd & TUCMD_IP;
	uint8_t *f = t->buf, hdr[NETDEV_HDR_LEN] = {0};
	size_t len = t->len, hl = c->hdrlen, ihl = (size_t)(f[c->ipcss] & 0xF) * 4;
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {f, len}};
	uint64_t segs = (len - hl + c->mss - 1) / c->mss;

	if (!t->gso) {
		if (!(netdev_offloads(e->nd) & (v4 ? NETDEV_OFF_TSO4 : NETDEV_OFF_TSO6)) ||
		    !(c->tucmd & TUCMD_TCP) || c->tucso < c->tucss ||
		    ((t->cmd & TXD_CMD_VLE) && (reg(e, CTRL) & CTRL_VME)) ||
		    (f[c->tucss + 13] & 0x80) /* CWR: ECN, which the header would need */ ||
		    len - c->ipcss > 0xFFFF || (v4 && (ihl < 20 || c->ipcss + ihl > hl)))
			return -ENOTSUP;
		if (v4) {
			put_be16(f + c->ipcss + 2, (uint16_t)(len - c->ipcss));
			memset(f + c->ipcso, 0, 2);
			csum_insert(f, len, c->ipcss, c->ipcso, (unsigned)(c->ipcss + ihl - 1), 0,
				    false);
		} else {
			put_be16(f + c->ipcss + 4, (uint16_t)(len - c->ipcss - 40));
		}
		put_be16(f + c->tucso,
			 (uint16_t)~fold(get_be16(f + c->tucso) + (uint32_t)(len - c->tucss)));
		t->gso = true;
	}
	hdr[0] = NETDEV_HDR_F_NEEDS_CSUM;
	hdr[1] = v4 ? NETDEV_HDR_GSO_TCPV4 : NETDEV_HDR_GSO_TCPV6;
	put_le16(hdr + 2, (uint16_t)hl);
	put_le16(hdr + 4, c->mss);
	put_le16(hdr + 6, c->tucss);
	put_le16(hdr + 8, (uint16_t)(c->tucso - c->tucss));
	return tx_out(e, iov, 2, sizeof(hdr) + len, f, segs, len + (segs - 1) * hl);
}

static int tx_send_tso(struct e1000e *e)
{
	struct e1000e_txpkt *t = &e->tx;
	size_t total;
	int rc;

	if (!tso_ok(e)) {
		if (!e->ring_warned)
			pr_warn_limited("e1000e%u: dropping a TSO packet its context doesn't fit",
					e->index);
		e->ring_warned = true;
		return 0;
	}
	rc = tx_send_gso(e);
	if (rc != -ENOTSUP) {
		if (rc == 0)
			stat_add(e, ST_TSCTC, 1);
		return rc;
	}
	total = t->len - e->ctx.hdrlen;
	while (t->seg_off < total) {
		size_t pay = total - t->seg_off < e->ctx.mss ? total - t->seg_off : e->ctx.mss;

		rc = tx_send_frame(e, tso_build(e, pay));
		if (rc < 0)
			return rc;
		t->seg_off += pay;
		t->seg_index++;
	}
	stat_add(e, ST_TSCTC, 1);
	return 0;
}

/* Sends the gathered packet: 0 when it is gone (or dropped), -EAGAIN to retry later. */
static int tx_send(struct e1000e *e)
{
	int rc = 0;

	if (!e->tx.bad)
		rc = e->tx.tse ? tx_send_tso(e) : tx_send_whole(e);
	if (rc == -EAGAIN)
		return rc;
	e->tx.ready = false;
	e->tx.len = 0;
	return 0;
}

static void tx_context(struct e1000e *e, const uint8_t *d)
{
	struct e1000e_txctx *c = &e->ctx;

	c->ipcss = d[0];
	c->ipcso = d[1];
	c->ipcse = get_le16(d + 2);
	c->tucss = d[4];
	c->tucso = d[5];
	c->tucse = get_le16(d + 6);
	c->paylen = get_le32(d + 8) & 0xFFFFF;
	c->tucmd = d[11];
	c->hdrlen = d[13];
	c->mss = get_le16(d + 14);
}

/* A data or legacy descriptor: its buffer joins the packet. */
static void tx_data(struct e1000e *e, const uint8_t *d, bool legacy)
{
	struct e1000e_txpkt *t = &e->tx;
	uint32_t len = legacy ? get_le16(d + 8) : get_le32(d + 8) & 0xFFFFF;
	uint8_t cmd = d[11];
	const void *src;

	if (!t->gathering) {
		t->gathering = true;
		t->bad = false;
		t->len = 0;
		t->legacy = legacy;
		t->tse = !legacy && (cmd & TXD_CMD_TSE);
		t->popts = legacy ? 0 : d[13];
		t->cso = d[10];
		t->css = d[13];
		t->seg_off = 0;
		t->seg_index = 0;
		t->gso = false;
	}
	t->cmd = cmd; /* VLE and the VLAN tag count on the last descriptor */
	t->vlan = get_le16(d + 14);
	src = gm_ptr(e->env.gm, get_le64(d), len);
	if (len > E1000E_TX_MAX - t->len || (len && !src))
		t->bad = true;
	else if (len)
		memcpy(t->buf + t->len, src, len);
	if (!t->bad)
		t->len += len;
	if (cmd & TXD_CMD_EOP) {
		t->gathering = false;
		t->ready = true;
	}
}

/* Takes the descriptor at the head. Returns the ICR causes it brings. */
static uint32_t tx_desc(struct e1000e *e, const struct ring *r, uint8_t *d)
{
	bool ext = d[11] & TXD_CMD_DEXT;
	unsigned dtyp = (d[10] >> 4) & 0xF;
	uint8_t cmd = d[11];

	if (ext && dtyp == TXD_DTYP_CTX)
		tx_context(e, d);
	else if (!ext || dtyp == TXD_DTYP_DATA)
		tx_data(e, d, !ext);
	else
		pr_debug("e1000e%u: transmit descriptor of unknown type %u skipped", e->index,
			 dtyp);
	if (!(cmd & TXD_CMD_RS))
		return 0;
	d[12] |= TXD_STA_DD;
	if (gm_write(e->env.gm, desc_addr(r, r->head) + 12, d + 12, 1) < 0)
		return 0;
	return ICR_TXDW | ICR_TXQ0;
}

/* The budget of one wake-up is spent: come back after the receive side had its turn. */
static void tx_yield(struct e1000e *e)
{
	uint64_t one = 1;

	if (write(e->kick_fd, &one, sizeof(one)) < 0)
		pr_debug("e1000e%u: self-kick failed", e->index);
}

void e1000e_tx_run(struct e1000e *e)
{
	struct ring r;
	uint32_t causes = 0;
	unsigned packets = 0, descs = 0;

	if (!(reg(e, TCTL) & TCTL_EN) || !ring_get(e, TDBAL, &r))
		return;
	while (!e->tx_blocked) {
		uint8_t d[DESC];

		if (e->tx.ready) {
			if (tx_send(e) == -EAGAIN) {
				e->tx_blocked = true;
				break;
			}
			packets++;
		}
		if (r.head == r.tail)
			break;
		if (packets >= E1000E_TX_BUDGET || descs >= E1000E_TX_DESC_BUDGET) {
			tx_yield(e);
			break;
		}
		if (gm_read(e->env.gm, desc_addr(&r, r.head), d, DESC) < 0) {
			if (!e->ring_warned)
				pr_warn_limited(
				    "e1000e%u: transmit ring at 0x%llx is not in guest RAM: "
				    "stopped",
				    e->index, (unsigned long long)r.base);
			e->ring_warned = true;
			break;
		}
		causes |= tx_desc(e, &r, d);
		descs++;
		r.head = (r.head + 1) % r.n;
		reg_set(e, TDH, r.head);
	}
	if (descs && r.head == r.tail && !e->tx.ready)
		causes |= ICR_TXQE;
	if (causes)
		e1000e_raise(e, causes);
}

/* ---- receive ------------------------------------------------------------------------------- */

static uint32_t rx_buf_size(const struct e1000e *e)
{
	static const uint32_t normal[4] = {2048, 1024, 512, 256};
	static const uint32_t ext[4] = {2048, 16384, 8192, 4096};
	uint32_t rctl = reg(e, RCTL);
	unsigned bs = (rctl >> 16) & 3;

	return (rctl & RCTL_BSEX) ? ext[bs] : normal[bs];
}

static bool mta_match(const struct e1000e *e, const uint8_t *dst)
{
	static const unsigned shift[4] = {4, 5, 6, 8};
	unsigned mo = (reg(e, RCTL) >> 12) & 3, s = shift[mo];
	unsigned h = ((unsigned)dst[4] >> (8 - s) | (unsigned)dst[5] << s) & 0xFFF;

	return reg(e, MTA + 4 * (h >> 5)) & (1u << (h & 31));
}

static bool rx_accept(struct e1000e *e, const uint8_t *f, size_t len)
{
	uint32_t rctl = reg(e, RCTL);
	static const uint8_t bcast[ETH_ALEN] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

	if (len < 2 * ETH_ALEN + 2)
		return false;
	if ((rctl & RCTL_VFE) && get_be16(f + 12) == (uint16_t)reg(e, VET) && len >= 16) {
		unsigned vid = get_be16(f + 14) & 0xFFF;

		if (!(reg(e, VFTA + 4 * (vid >> 5)) & (1u << (vid & 31))))
			return false;
	}
	if (!memcmp(f, bcast, ETH_ALEN)) {
		stat_add(e, ST_BPRC, 1);
		return rctl & RCTL_BAM;
	}
	if (f[0] & 1) {
		stat_add(e, ST_MPRC, 1);
		return (rctl & RCTL_MPE) || mta_match(e, f);
	}
	if (rctl & RCTL_UPE)
		return true;
	for (unsigned i = 0; i < NUM_RA; i++) {
		uint32_t lo = reg(e, RA + 8 * i), hi = reg(e, RA + 8 * i + 4);

		if ((hi & RAH_AV) && get_le32(f) == lo && get_le16(f + 4) == (uint16_t)hi)
			return true;
	}
	return false;
}

static uint32_t crc32_eth(const uint8_t *p, size_t len)
{
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
	}
	return ~c;
}

/* Reads the next frame into rxbuf and makes it what the wire would bring: at least 60
 * bytes, the VLAN tag taken out with CTRL.VME (*vlan), the CRC kept without RCTL.SECRC.
 * Returns its length, 0 for a frame dropped (read again), -1 when there is none. */
static ssize_t rx_read(struct e1000e *e, uint16_t *vlan, bool *tagged)
{
	ssize_t r = netdev_recv(e->nd, e->rxbuf, NETDEV_BUF_SIZE);
	uint8_t *f = e->rxbuf + NETDEV_HDR_LEN;
	size_t len;

	if (r == -EAGAIN)
		return -1;
	if (r < 0) {
		e1000e_link_down(e);
		return -1;
	}
	len = (size_t)r - NETDEV_HDR_LEN;
	if (!rx_accept(e, f, len) || (!(reg(e, RCTL) & RCTL_LPE) && len > MAX_STD)) {
		stat_add(e, ST_TPR, 1);
		return 0;
	}
	*tagged = (reg(e, CTRL) & CTRL_VME) && len >= 18 && get_be16(f + 12) == reg(e, VET);
	if (*tagged) {
		*vlan = get_be16(f + 14);
		memmove(f + 12, f + 16, len - 16);
		len -= VLAN_HLEN;
	}
	if (len < ETH_MIN) {
		memset(f + len, 0, ETH_MIN - len);
		len = ETH_MIN;
	}
	if (!(reg(e, RCTL) & RCTL_SECRC)) {
		uint32_t crc = crc32_eth(f, len);

		put_le32(f + len, crc);
		len += 4;
	}
	return (ssize_t)len;
}

/* Writes descriptor i back: legacy or extended layout. */
static int rx_writeback(struct e1000e *e, const struct ring *r, uint32_t i, uint16_t len,
			uint8_t status, uint8_t errors, uint16_t vlan)
{
	uint8_t wb[DESC] = {0};
	uint64_t at = desc_addr(r, i);

	if (reg(e, RFCTL) & RFCTL_EXSTEN) {
		put_le32(wb + 8, status | (uint32_t)errors << 24);
		put_le16(wb + 12, len);
		put_le16(wb + 14, vlan);
		return gm_write(e->env.gm, at, wb, DESC);
	}
	put_le16(wb + 8, len);
	wb[12] = status;
	wb[13] = errors;
	put_le16(wb + 14, vlan);
	return gm_write(e->env.gm, at + 8, wb + 8, 8);
}

/* Puts the frame in rxbuf (len bytes) into descriptors from the head. Returns 1 when done, 0
 * when there are not enough descriptors yet, -1 when the ring is unusable. */
static int rx_deliver(struct e1000e *e, struct ring *r, size_t len, uint16_t vlan, bool tagged)
{
	uint32_t bsize = rx_buf_size(e), avail = (r->tail + r->n - r->head) % r->n;
	size_t need = (len + bsize - 1) / bsize, done = 0;

	if (need > avail)
		return need > r->n - 1 ? -1 : 0;
	while (done < len) {
		uint8_t d[DESC];
		size_t chunk = len - done < bsize ? len - done : bsize;
		uint8_t st = RXD_STA_DD | RXD_STA_IXSM | (tagged ? RXD_STA_VP : 0), err = 0;
		void *dst;

		if (gm_read(e->env.gm, desc_addr(r, r->head), d, DESC) < 0)
			return -1;
		dst = gm_ptr(e->env.gm, get_le64(d), chunk);
		if (dst)
			memcpy(dst, e->rxbuf + NETDEV_HDR_LEN + done, chunk);
		else
			err = RXD_ERR_RXE;
		done += chunk;
		if (done == len)
			st |= RXD_STA_EOP;
		if (rx_writeback(e, r, r->head, (uint16_t)chunk, st, err, vlan) < 0)
			return -1;
		r->head = (r->head + 1) % r->n;
		reg_set(e, RDH, r->head);
	}
	return 1;
}

/* Whether free descriptors fell to RCTL.RDMTS's fraction of the ring. */
static bool rx_low(const struct e1000e *e, const struct ring *r)
{
	unsigned shift = ((reg(e, RCTL) >> 8) & 3) + 1; /* 1/2, 1/4, 1/8 */
	uint32_t avail = (r->tail + r->n - r->head) % r->n;

	return avail <= r->n >> shift;
}

bool e1000e_rx_wanted(const struct e1000e *e)
{
	return (reg(e, RCTL) & RCTL_EN) && !e->rx_stalled;
}

/* Returns true when the frame was placed (or dropped), false when it must wait. */
static bool rx_place(struct e1000e *e, uint32_t *causes)
{
	struct ring r;
	int rc;

	if (!ring_get(e, RDBAL, &r))
		rc = -1;
	else if (((reg(e, RCTL) >> 10) & 3) != 0) /* packet split: not offered */
		rc = -2;
	else
		rc = rx_deliver(e, &r, e->rx_len, e->rx_vlan, e->rx_tagged);
	if (rc == 0) {
		stat_add(e, ST_RNBC, 1);
		return false;
	}
	if (rc < 0) {
		stat_add(e, ST_MPC, 1);
		if (!e->ring_warned)
			pr_warn_limited("e1000e%u: receive ring unusable%s: frames dropped",
					e->index, rc == -2 ? " (packet split, not offered)" : "");
		e->ring_warned = true;
		return true;
	}
	stat_add(e, ST_GPRC, 1);
	stat_add(e, ST_TPR, 1);
	stat_add64(e, ST_GORCL, e->rx_len);
	stat_add64(e, ST_TORL, e->rx_len);
	*causes |= ICR_RXT0 | ICR_RXQ0;
	if (rx_low(e, &r))
		*causes |= ICR_RXDMT0;
	return true;
}

void e1000e_rx_run(struct e1000e *e)
{
	uint32_t causes = 0;

	if (!(reg(e, RCTL) & RCTL_EN) || !e->link_up)
		return;
	e->rx_stalled = false;
	for (unsigned i = 0; i < E1000E_RX_BATCH; i++) {
		if (!e->rx_len) {
			ssize_t n = rx_read(e, &e->rx_vlan, &e->rx_tagged);

			if (n < 0)
				break;
			if (n == 0)
				continue;
			e->rx_len = (size_t)n;
		}
		if (!rx_place(e, &causes)) {
			e->rx_stalled = true;
			break;
		}
		e->rx_len = 0;
	}
	if (causes)
		e1000e_raise(e, causes);
}

void e1000e_rings_reset(struct e1000e *e)
{
	e->rx_len = 0;
	e->rx_stalled = false;
	memset(&e->ctx, 0, sizeof(e->ctx));
	e->tx.gathering = e->tx.ready = e->tx.bad = false;
	e->tx.len = 0;
	e->tx_blocked = false;
	e->ring_warned = false;
}
