/* The 82574L's PCI function, registers, EEPROM, PHY and interrupts, and its I/O thread (the
 * descriptor rings are e1000e_ring.c's).
 *
 * Registers are a 128 KiB array: what a driver writes reads back, except the registers below
 * with behaviour (reset, EEPROM and PHY access, interrupt causes and masks, statistics that
 * clear on read). Interrupts: ICR collects causes; with INTx or MSI the line (or one message
 * per rising edge) follows ICR & IMS, reading ICR clears it when an interrupt was asserted (or
 * nothing is enabled) and, with CTRL_EXT.IAME, masks IAM's bits. With MSI-X, IVAR maps the
 * receive, transmit and other causes to vectors; sending one clears EIAC's bits from ICR and,
 * with CTRL_EXT.EIAME, masks IAM's bits in IMS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backends/netdev.h"
#include "common/bytes.h"
#include "common/log.h"
#include "devices/e1000e_hw.h"
#include "kvm/seccomp.h"

#define PCI_CMD_INTX_OFF 0x0400u
#define CAP_PM		 0x01
#define CAP_MSI		 0x05
#define CAP_PCIE	 0x10

/* EEPROM: 64 words, read through EERD (address in bits 15:2, data in 31:16). */
#define EERD_START  1u
#define EERD_DONE   2u
#define EEPROM_SUM  0xBABAu
#define EECD_REQ    (1u << 6)
#define EECD_GNT    (1u << 7)
#define EECD_PRES   (1u << 8)
#define EECD_AUTORD (1u << 9)

/* MDIC. */
#define MDIC_DATA  0xFFFFu
#define MDIC_OP_WR (1u << 26)
#define MDIC_OP_RD (2u << 26)
#define MDIC_READY (1u << 28)
#define MDIC_IE	   (1u << 29)
#define MDIC_ERR   (1u << 30)
#define PHY_ADDR   1u

/* PHY registers (BME1000: the 82574's built-in PHY) and bits. */
#define PHY_BMCR	 0
#define PHY_BMSR	 1
#define PHY_PSSR	 17
#define PHY_PAGE	 22
#define BMCR_RESTART_AN	 (1u << 9)
#define BMCR_RESET	 (1u << 15)
#define BMSR_LINK	 (1u << 2)
#define BMSR_AN_DONE	 (1u << 5)
#define PSSR_LINK	 (1u << 10)
#define STATUS_FD	 (1u << 0)
#define STATUS_LU	 (1u << 1)
#define STATUS_1000	 (2u << 6)
#define STATUS_GIO_EN	 (1u << 19)
#define EEMNGCTL_CFGDONE (1u << 18)

/* Which ICR bits each MSI-X source stands for: receive queue 0 and 1, transmit queue 0
 * and 1 (IVAR fields 0..3), then everything else (field 4). */
static const uint32_t msix_source[E1000E_NVEC] = {ICR_RXQ0, ICR_RXQ1, ICR_TXQ0, ICR_TXQ1,
						  ICR_OTHER};

static const uint16_t phy_defaults[32] = {
    [0] = 0x1140,  /* autonegotiation on, full duplex, 1000 Mb/s */
    [1] = 0x796D,  /* link up, autonegotiation complete, abilities */
    [2] = 0x0141,  /* PHY identifier: BME1000 revision 2 */
    [3] = 0x0CB1,  /* */
    [4] = 0x0DE1,  /* advertised: pause, 100/10 full and half */
    [5] = 0x45E1,  /* the link partner's: the same, acknowledged */
    [6] = 0x0001,  /* the partner can autonegotiate */
    [9] = 0x0300,  /* 1000BASE-T control: advertise full and half */
    [10] = 0x3C00, /* 1000BASE-T status: receivers OK, partner 1000 full/half */
    [15] = 0x3000, /* extended status: 1000BASE-T full and half */
    [16] = 0x0068, /* PHY specific control */
    [17] = 0xAC00, /* PHY specific status: 1000 Mb/s, full duplex, resolved, link */
};

/* ---- interrupts ------------------------------------------------------------------------- */

static bool msi_enabled(const struct e1000e *e, unsigned *cap)
{
	for (unsigned p = e->pci.cfg[0x34]; p && p < 0xFC; p = e->pci.cfg[p + 1]) {
		if (e->pci.cfg[p] == CAP_MSI) {
			*cap = p;
			return e->pci.cfg[p + 2] & 1;
		}
	}
	return false;
}

static bool msix_on(struct e1000e *e)
{
	return e->msix_ready && msix_enabled(&e->msix);
}

/* INTx and MSI: the level is ICR & IMS. */
static void irq_update(struct e1000e *e)
{
	bool level = (reg(e, ICR) & reg(e, IMS)) != 0;
	unsigned cap = 0;
	int line = 0;

	if (msix_on(e)) {
		level = false;
	} else if (msi_enabled(e, &cap)) {
		if (level && !e->msi_level && e->env.send_msi)
			e->env.send_msi(e->env.irq_opaque, get_le64(e->pci.cfg + cap + 4),
					get_le16(e->pci.cfg + cap + 12));
	} else {
		line = level && !(get_le16(e->pci.cfg + 4) & PCI_CMD_INTX_OFF);
	}
	e->msi_level = level;
	if (line != e->intx_level && e->env.set_irq)
		e->env.set_irq(e->env.irq_opaque, PCI_INTX_GSI0 + (e->pci.slot + 0) % 4, line);
	e->intx_level = line;
}

/* MSI-X: sends the vector of each source that has one of causes and is enabled in IMS. */
static void msix_route(struct e1000e *e, uint32_t causes)
{
	uint32_t ivar = reg(e, IVAR);

	for (unsigned s = 0; s < E1000E_NVEC; s++) {
		uint32_t bit = msix_source[s], field = (ivar >> (4 * s)) & 0xF;

		if (!(causes & bit) || !(reg(e, IMS) & bit) || !(field & 8))
			continue;
		if (reg(e, EIAC) & bit)
			reg_set(e, ICR, reg(e, ICR) & ~bit);
		if (reg(e, CTRL_EXT) & CTRL_EXT_EIAME)
			reg_set(e, IMS, reg(e, IMS) & ~(reg(e, IAM) & bit));
		msix_notify(&e->msix, field & 7);
	}
}

void e1000e_raise(struct e1000e *e, uint32_t causes)
{
	if (causes & ~ICR_NOT_OTHER)
		causes |= ICR_OTHER;
	reg_set(e, ICR, reg(e, ICR) | causes);
	if (msix_on(e))
		msix_route(e, causes);
	else
		irq_update(e);
}

static uint32_t icr_read(struct e1000e *e)
{
	uint32_t v = reg(e, ICR);

	if (v & reg(e, IMS))
		v |= ICR_ASSERTED;
	if ((v & ICR_ASSERTED) || reg(e, IMS) == 0) {
		reg_set(e, ICR, 0);
		if ((v & ICR_ASSERTED) && (reg(e, CTRL_EXT) & CTRL_EXT_IAME))
			reg_set(e, IMS, reg(e, IMS) & ~reg(e, IAM));
	}
	irq_update(e);
	return v;
}

static void ims_write(struct e1000e *e, uint32_t v)
{
	uint32_t newly = v & ~reg(e, IMS);

	reg_set(e, IMS, reg(e, IMS) | v);
	if (msix_on(e))
		msix_route(e, reg(e, ICR) & newly);
	else
		irq_update(e);
}

/* ---- the I/O thread's watch and kicks ------------------------------------------------------ */

static void kick(struct e1000e *e)
{
	uint64_t one = 1;

	if (write(e->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("e1000e%u: kick: %s", e->index, strerror(errno));
}

/* Input while the receive side takes frames, output while a frame waits for room. */
static void update_watch(struct e1000e *e)
{
	uint32_t want = 0;
	struct epoll_event ev = {.data.u64 = 1};
	int fd = netdev_fd(e->nd);

	if (e->link_up) {
		if (e1000e_rx_wanted(e))
			want |= EPOLLIN;
		if (e->tx_blocked || netdev_tx_pending(e->nd))
			want |= EPOLLOUT;
	}
	if (want == e->watched)
		return;
	ev.events = want;
	if (!want)
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
	else if (epoll_ctl(e->epfd, e->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0)
		pr_warn("e1000e%u: cannot watch %s: %s", e->index, netdev_name(e->nd),
			strerror(errno));
	e->watched = want;
}

/* The backend hung up: the link goes down, as a cable pulled out would. */
void e1000e_link_down(struct e1000e *e)
{
	if (!e->link_up)
		return;
	pr_warn("e1000e%u: %s hung up: link down", e->index, netdev_name(e->nd));
	e->link_up = false;
	e->phy[PHY_BMSR] &= (uint16_t) ~(BMSR_LINK | BMSR_AN_DONE);
	e->phy[PHY_PSSR] &= (uint16_t)~PSSR_LINK;
	e1000e_raise(e, ICR_LSC);
}

static void service(struct e1000e *e, uint32_t events)
{
	uint64_t n;

	if (read(e->kick_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		pr_warn("e1000e%u: kick read: %s", e->index, strerror(errno));
	if (events & (EPOLLERR | EPOLLHUP))
		e1000e_link_down(e);
	if (e->link_up && (e->tx_blocked || netdev_tx_pending(e->nd))) {
		int rc = netdev_flush(e->nd);

		if (rc == 0)
			e->tx_blocked = false;
		else if (rc != -EAGAIN)
			e1000e_link_down(e);
	}
	e1000e_tx_run(e);
	e1000e_rx_run(e);
	update_watch(e);
}

void e1000e_poll(struct e1000e *e)
{
	pthread_mutex_lock(&e->lock);
	service(e, 0);
	pthread_mutex_unlock(&e->lock);
}

static void *io_thread(void *arg)
{
	struct e1000e *e = arg;
	struct epoll_event ev[8];

	if (seccomp_install_bound(SECCOMP_VIRTIO, (enum seccomp_mode)e->env.seccomp_mode,
				  &(struct seccomp_fds){.vm = e->env.vm_fd, .vcpu = -1}) < 0) {
		pr_err("e1000e%u: cannot install the I/O thread's seccomp filter: the NIC stops",
		       e->index);
		return NULL;
	}
	for (;;) {
		int n = epoll_wait(e->epfd, ev, 8, -1);
		uint32_t events = 0;

		if (n < 0 && errno != EINTR)
			return NULL;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u64 == UINT64_MAX)
				return NULL;
			if (ev[i].data.u64 == 1)
				events |= ev[i].events;
		}
		pthread_mutex_lock(&e->lock);
		service(e, events);
		pthread_mutex_unlock(&e->lock);
	}
}

/* ---- EEPROM and PHY ------------------------------------------------------------------------ */

static void eeprom_init(struct e1000e *e)
{
	static const uint16_t tmpl[64] = {
	    [3] = 0x0420,  /* compatibility */
	    [4] = 0xFFFF,  /* LED settings: the driver's defaults */
	    [8] = 0x2860,  /* printed board assembly number */
	    [9] = 0x0005,  /* */
	    [10] = 0x4280, /* initialization control 1 */
	    [11] = 0x0000, /* subsystem */
	    [12] = 0x8086, /* subsystem vendor */
	    [13] = 0x10D3, /* device */
	    [14] = 0x8086, /* vendor */
	    [15] = 0x1008, /* initialization control 2: no manageability */
	    [26] = 0x0110, /* PCIe initialization */
	    [36] = 0x0000, /* initialization control 3: no wake-up */
	};
	uint16_t sum = 0;

	memcpy(e->eeprom, tmpl, sizeof(tmpl));
	for (unsigned i = 0; i < 3; i++)
		e->eeprom[i] = (uint16_t)(e->mac[2 * i] | e->mac[2 * i + 1] << 8);
	for (unsigned i = 0; i < 63; i++)
		sum = (uint16_t)(sum + e->eeprom[i]);
	e->eeprom[63] = (uint16_t)(EEPROM_SUM - sum);
}

static void eerd_write(struct e1000e *e, uint32_t v)
{
	unsigned addr = (v >> 2) & 0x3FFF;

	if (!(v & EERD_START))
		return;
	reg_set(e, EERD,
		(v & 0xFFFC) | EERD_DONE | (uint32_t)(addr < 64 ? e->eeprom[addr] : 0xFFFF) << 16);
}

static void eewr_write(struct e1000e *e, uint32_t v)
{
	unsigned addr = (v >> 2) & 0x3FFF;

	if ((v & EERD_START) && addr < 64)
		e->eeprom[addr] = (uint16_t)(v >> 16);
	reg_set(e, EEWR, (v & ~EERD_START) | EERD_DONE);
}

static void phy_reset(struct e1000e *e)
{
	memcpy(e->phy, phy_defaults, sizeof(e->phy));
	if (!e->link_up) {
		e->phy[PHY_BMSR] &= (uint16_t) ~(BMSR_LINK | BMSR_AN_DONE);
		e->phy[PHY_PSSR] &= (uint16_t)~PSSR_LINK;
	}
}

static bool phy_read_only(unsigned r)
{
	return r == PHY_BMSR || r == 2 || r == 3 || r == 5 || r == 6 || r == 10 || r == 15 ||
	       r == PHY_PSSR;
}

/* Registers beyond 15 are paged (PHY_PAGE); only page 0 exists here, others read as 0. */
static void mdic_write(struct e1000e *e, uint32_t v)
{
	unsigned r = (v >> 16) & 0x1F, addr = (v >> 21) & 0x1F;
	bool paged = r > 15 && r != PHY_PAGE && e->phy[PHY_PAGE] != 0;
	uint32_t out = v & ~(MDIC_READY | MDIC_ERR);

	if (addr != PHY_ADDR || !(v & (MDIC_OP_RD | MDIC_OP_WR))) {
		out |= MDIC_ERR;
	} else if (v & MDIC_OP_RD) {
		out = (out & ~MDIC_DATA) | (paged ? 0 : e->phy[r]);
	} else if (!paged && !phy_read_only(r)) {
		uint16_t d = (uint16_t)v;

		if (r == PHY_BMCR && (d & BMCR_RESET)) {
			phy_reset(e);
		} else {
			e->phy[r] = d;
			if (r == PHY_BMCR) {
				e->phy[r] &= (uint16_t) ~(BMCR_RESTART_AN | BMCR_RESET);
				if ((d & BMCR_RESTART_AN) && e->link_up)
					e1000e_raise(e, ICR_LSC); /* negotiated again at once */
			}
		}
	}
	reg_set(e, MDIC, out | MDIC_READY);
	if (v & MDIC_IE)
		e1000e_raise(e, ICR_MDAC);
}

/* ---- registers ------------------------------------------------------------------------------ */

/* The state after power-on or CTRL.RST: the MAC in RA[0] as loaded from the EEPROM. */
static void mac_reset(struct e1000e *e)
{
	memset(e->regs, 0, sizeof(e->regs));
	reg_set(e, CTRL, 0x00100248);		   /* full duplex, auto speed, set link up */
	reg_set(e, EECD, EECD_PRES | EECD_AUTORD); /* an EEPROM of 64 words, read */
	reg_set(e, EEMNGCTL, EEMNGCTL_CFGDONE);
	reg_set(e, VET, 0x8100);
	reg_set(e, RXCSUM, 0x300);
	reg_set(e, TCTL, 0x3F << 4 | 0x3F << 12);
	reg_set(e, RA, get_le32(e->mac));
	reg_set(e, RA + 4, get_le16(e->mac + 4) | RAH_AV);
	e->ioaddr = 0;
	e1000e_rings_reset(e);
	phy_reset(e);
	irq_update(e);
}

static uint32_t status_value(const struct e1000e *e)
{
	uint32_t v = STATUS_FD | STATUS_1000;

	if (e->link_up)
		v |= STATUS_LU;
	if (!(reg(e, CTRL) & CTRL_GIO_DIS))
		v |= STATUS_GIO_EN;
	return v;
}

static uint32_t reg_read(struct e1000e *e, uint32_t off)
{
	uint32_t v;

	switch (off) {
	case STATUS:
		return status_value(e);
	case ICR:
		return icr_read(e);
	case ICS:
	case IMC:
		return 0;
	default:
		break;
	}
	v = reg(e, off);
	if (off >= STATS_LO && off < STATS_HI)
		reg_set(e, off, 0);
	return v;
}

static void ctrl_write(struct e1000e *e, uint32_t v)
{
	if (v & CTRL_RST) {
		mac_reset(e);
		kick(e);
		return;
	}
	if (v & CTRL_PHY_RST)
		phy_reset(e);
	reg_set(e, CTRL, v & ~(CTRL_RST | CTRL_PHY_RST));
}

static void reg_write(struct e1000e *e, uint32_t off, uint32_t v)
{
	switch (off) {
	case CTRL:
		ctrl_write(e, v);
		return;
	case STATUS:
		return;
	case EECD:
		v = (v & ~EECD_GNT) | EECD_PRES | EECD_AUTORD;
		reg_set(e, EECD, v | ((v & EECD_REQ) ? EECD_GNT : 0));
		return;
	case EERD:
		eerd_write(e, v);
		return;
	case EEWR:
		eewr_write(e, v);
		return;
	case MDIC:
		mdic_write(e, v);
		return;
	case ICR:
		reg_set(e, ICR, reg(e, ICR) & ~v);
		irq_update(e);
		return;
	case ICS:
		e1000e_raise(e, v);
		return;
	case IMS:
		ims_write(e, v);
		return;
	case IMC:
		reg_set(e, IMS, reg(e, IMS) & ~v);
		irq_update(e);
		return;
	case RDT:
	case TDT:
	case RCTL:
	case TCTL:
	case RDLEN:
	case TDLEN:
		reg_set(e, off, off == RDT || off == TDT ? v & 0xFFFF : v);
		kick(e);
		return;
	default:
		break;
	}
	if (off >= STATS_LO && off < STATS_HI)
		return;
	reg_set(e, off, v);
}

/* A register access of 4 bytes at a 4-byte boundary; others are ignored (read as 0). */
static void mmio_access(struct e1000e *e, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	if (len != 4 || (off & 3) || off >= E1000E_MMIO_SIZE) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (is_write)
		reg_write(e, (uint32_t)off, get_le32(data));
	else
		put_le32(data, reg_read(e, (uint32_t)off));
}

static void io_access(struct e1000e *e, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	if (off == 0 && len == 4) {
		if (is_write)
			e->ioaddr = get_le32(data) & (E1000E_MMIO_SIZE - 4);
		else
			put_le32(data, e->ioaddr);
	} else if (off == 4) {
		mmio_access(e, e->ioaddr, data, len, is_write);
	} else if (!is_write) {
		memset(data, 0, len);
	}
}

static void bar_io(struct pci_dev *p, unsigned bar, uint64_t off, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct e1000e *e = p->opaque;

	if (bar == 3) {
		if (!e->msix_ready) {
			if (!is_write)
				memset(data, 0, len);
		} else if (off >= E1000E_MSIX_PBA) {
			msix_pba_io(&e->msix, off - E1000E_MSIX_PBA, data, len, is_write);
		} else {
			msix_table_io(&e->msix, off, data, len, is_write);
		}
		return;
	}
	pthread_mutex_lock(&e->lock);
	if (bar == 0)
		mmio_access(e, off, data, len, is_write);
	else if (bar == 2)
		io_access(e, off, data, len, is_write);
	else if (!is_write)
		memset(data, 0xFF, len);
	pthread_mutex_unlock(&e->lock);
}

/* MSI/MSI-X enable, INTx disable: the interrupt may have to move. Caller holds the bus lock. */
static void cfg_write(struct pci_dev *p, uint32_t off, uint32_t len)
{
	struct e1000e *e = p->opaque;

	(void)off;
	(void)len;
	if (e->msix_ready)
		msix_cfg_changed(&e->msix);
	pthread_mutex_lock(&e->lock);
	irq_update(e);
	pthread_mutex_unlock(&e->lock);
}

static const struct pci_dev_ops e1000e_pci_ops = {.bar_io = bar_io, .cfg_write = cfg_write};

/* ---- the PCI function --------------------------------------------------------------------- */

static int build_pci(struct e1000e *e)
{
	/* Power management: D0/D3hot, PME from D3hot/D3cold not claimed. */
	static const uint8_t pm[6] = {0x02, 0x00};
	static const uint8_t pm_w[6] = {0, 0, 0x03, 0x00};
	/* 64-bit MSI, one message. */
	static const uint8_t msi[12] = {0x80, 0};
	static const uint8_t msi_w[12] = {0x01, 0,    0xFC, 0xFF, 0xFF, 0xFF,
					  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
	/* PCI Express 2.0 endpoint, x1 at 2.5 GT/s. */
	uint8_t pcie[58] = {0}, pcie_w[58] = {0};
	struct pci_dev *p = &e->pci;

	pci_dev_init(p, 0x8086, 0x10D3, 0x020000, 0x00, 0x8086, 0x0000);
	p->ops = &e1000e_pci_ops;
	p->opaque = e;
	pci_dev_set_bar(p, 0, PCI_BAR_MEM32, E1000E_MMIO_SIZE);
	pci_dev_set_bar(p, 2, PCI_BAR_IO, E1000E_IO_SIZE);
	pci_dev_set_bar(p, 3, PCI_BAR_MEM32, E1000E_MSIX_SIZE);
	put_le16(pcie, 0x0002);		/* version 2, endpoint */
	put_le32(pcie + 2, 0x00008001); /* 256-byte payloads, role-based errors */
	put_le16(pcie_w + 6, 0xFFFF);	/* device control */
	put_le32(pcie + 10, 0x00000011);
	put_le16(pcie_w + 14, 0x0FFF); /* link control */
	put_le16(pcie + 16, 0x0011);
	if (!pci_dev_add_cap(p, CAP_PM, pm, pm_w, sizeof(pm)) ||
	    !pci_dev_add_cap(p, CAP_MSI, msi, msi_w, sizeof(msi)) ||
	    !pci_dev_add_cap(p, CAP_PCIE, pcie, pcie_w, sizeof(pcie)))
		return -ENOSPC;
	if (!e->env.routes)
		return 0;
	e->msix_ready = true; /* msix_destroy undoes even a failed msix_init */
	return msix_init(&e->msix, p, e->env.routes, E1000E_NVEC, 3, 0, E1000E_MSIX_PBA);
}

static int open_backend(struct e1000e *e, const struct net_config *cfg, char *err, size_t errlen)
{
	char why[256] = "";
	int rc = cfg->backend == NET_TAP ? netdev_tap_open(&e->nd, cfg->target, why, sizeof(why))
					 : netdev_passt_open(&e->nd, cfg->target, why, sizeof(why));

	if (rc < 0)
		snprintf(err, errlen, "e1000e%u: %s", e->index, why);
	return rc;
}

static int add_fd(struct e1000e *e, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	return epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int setup(struct e1000e *e, const struct net_config *cfg, char *err, size_t errlen)
{
	unsigned index = e->index;
	int rc;

	if (cfg->mac_set)
		memcpy(e->mac, cfg->mac, sizeof(e->mac));
	else
		netdev_default_mac(e->mac, cfg->target, index);
	e->rxbuf = malloc(E1000E_RXBUF);
	e->tx.buf = malloc(E1000E_TX_MAX);
	e->seg = malloc(NETDEV_BUF_SIZE);
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	e->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	e->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!e->rxbuf || !e->tx.buf || !e->seg || e->epfd < 0 || e->kick_fd < 0 || e->stop_fd < 0 ||
	    add_fd(e, e->kick_fd, 0) < 0 || add_fd(e, e->stop_fd, UINT64_MAX) < 0) {
		snprintf(err, errlen, "e1000e%u: out of memory or file descriptors", index);
		return -ENOMEM;
	}
	rc = open_backend(e, cfg, err, errlen);
	if (rc < 0)
		return rc;
	e->link_up = true;
	rc = build_pci(e);
	if (rc < 0) {
		snprintf(err, errlen, "e1000e%u: PCI function set-up failed: %s", index,
			 strerror(-rc));
		return rc;
	}
	eeprom_init(e);
	mac_reset(e);
	pr_debug("e1000e%u: %s, MAC %02x:%02x:%02x:%02x:%02x:%02x", index, netdev_name(e->nd),
		 e->mac[0], e->mac[1], e->mac[2], e->mac[3], e->mac[4], e->mac[5]);
	return 0;
}

int e1000e_create(struct e1000e **out, const struct e1000e_env *env, const struct net_config *cfg,
		  unsigned index, char *err, size_t errlen)
{
	struct e1000e *e = calloc(1, sizeof(*e));
	int rc;

	*out = NULL;
	if (!e) {
		snprintf(err, errlen, "e1000e%u: out of memory", index);
		return -ENOMEM;
	}
	pthread_mutex_init(&e->lock, NULL);
	e->env = *env;
	e->index = index;
	e->epfd = e->kick_fd = e->stop_fd = -1;
	for (unsigned i = 0; i < MSIX_MAX_VECTORS; i++)
		e->msix.v[i].efd = -1;
	rc = setup(e, cfg, err, errlen);
	if (rc < 0) {
		e1000e_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

struct pci_dev *e1000e_pci(struct e1000e *e)
{
	return &e->pci;
}

int e1000e_start(struct e1000e *e, char *err, size_t errlen)
{
	char name[16];
	int rc = pthread_create(&e->thread, NULL, io_thread, e);

	if (rc) {
		snprintf(err, errlen, "e1000e%u: cannot start its I/O thread", e->index);
		return -rc;
	}
	snprintf(name, sizeof(name), "e1000e%u", e->index);
	pthread_setname_np(e->thread, name);
	e->running = true;
	pthread_mutex_lock(&e->lock);
	update_watch(e);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

void e1000e_free(struct e1000e *e)
{
	uint64_t one = 1;

	if (!e)
		return;
	if (e->running) {
		if (write(e->stop_fd, &one, sizeof(one)) < 0)
			pr_warn("e1000e%u: cannot stop its I/O thread", e->index);
		pthread_join(e->thread, NULL);
	}
	if (e->msix_ready)
		msix_destroy(&e->msix);
	netdev_close(e->nd);
	if (e->epfd >= 0)
		close(e->epfd);
	if (e->kick_fd >= 0)
		close(e->kick_fd);
	if (e->stop_fd >= 0)
		close(e->stop_fd);
	free(e->rxbuf);
	free(e->tx.buf);
	free(e->seg);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

/* ---- the board's row ------------------------------------------------------------------------ */

#define E1000E_MAX VM_MAX_NETS

struct e1000e_set {
	unsigned n;
	struct e1000e *nic[E1000E_MAX];
};

static bool e1000e_wanted(const struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->nnets; i++)
		if (cfg->nets[i].model == NET_E1000E)
			return true;
	return false;
}

static int e1000e_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct e1000e_env env = {.routes = b->routes,
				 .gm = b->mem,
				 .set_irq = b->set_irq,
				 .send_msi = b->send_msi,
				 .irq_opaque = b->opaque,
				 .seccomp_mode = (int)b->cfg->seccomp,
				 .vm_fd = b->vm_fd};
	struct e1000e_set *set = calloc(1, sizeof(*set));
	int rc = set ? 0 : -ENOMEM;

	*state = set;
	for (unsigned i = 0; rc == 0 && i < b->cfg->nnets && i < E1000E_MAX; i++) {
		struct e1000e *e;

		if (b->cfg->nets[i].model != NET_E1000E)
			continue;
		rc = e1000e_create(&e, &env, &b->cfg->nets[i], i, err, errlen);
		if (rc < 0)
			break;
		set->nic[set->n++] = e;
		rc = pci_bus_add(b->pci, &e->pci);
		if (rc < 0)
			snprintf(err, errlen, "e1000e%u: no room left on the PCI bus", i);
		else
			rc = e1000e_start(e, err, errlen);
	}
	return rc;
}

static void e1000e_unplug(void *state)
{
	struct e1000e_set *set = state;

	for (unsigned i = 0; i < set->n; i++)
		e1000e_free(set->nic[i]);
	free(set);
}

const struct device_model e1000e_device = {
    .name = "e1000e",
    .wanted = e1000e_wanted,
    .plug = e1000e_plug,
    .unplug = e1000e_unplug,
};
