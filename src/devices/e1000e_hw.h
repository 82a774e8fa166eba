/* The e1000e model's insides, shared by its two halves: e1000e.c (PCI function, registers,
 * EEPROM, PHY, interrupts, the I/O thread) and e1000e_ring.c (the receive and transmit
 * descriptor rings and the transmit offloads). Register names and bits are the 82574L
 * datasheet's (Intel 317694). */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/netdev.h"
#include "devices/e1000e.h"
#include "devices/msix.h"
#include "devices/pci.h"

#define E1000E_MMIO_SIZE 0x20000u /* BAR 0: the registers */
#define E1000E_IO_SIZE	 32u	  /* BAR 2: IOADDR/IODATA */
#define E1000E_MSIX_SIZE 0x4000u  /* BAR 3: MSI-X table and PBA */
#define E1000E_MSIX_PBA	 0x2000u
#define E1000E_NVEC	 5u

/* Registers (byte offsets in BAR 0). */
#define CTRL	 0x0000u
#define STATUS	 0x0008u
#define EECD	 0x0010u
#define EERD	 0x0014u
#define CTRL_EXT 0x0018u
#define MDIC	 0x0020u
#define VET	 0x0038u
#define ICR	 0x00C0u
#define ITR	 0x00C4u
#define ICS	 0x00C8u
#define IMS	 0x00D0u
#define IMC	 0x00D8u
#define EIAC	 0x00DCu
#define IAM	 0x00E0u
#define IVAR	 0x00E4u
#define RCTL	 0x0100u
#define TCTL	 0x0400u
#define EXTCNF	 0x0F00u
#define EEMNGCTL 0x1010u
#define EEWR	 0x102Cu
#define RDBAL	 0x2800u
#define RDBAH	 0x2804u
#define RDLEN	 0x2808u
#define RDH	 0x2810u
#define RDT	 0x2818u
#define RXDCTL	 0x2828u
#define TDBAL	 0x3800u
#define TDBAH	 0x3804u
#define TDLEN	 0x3808u
#define TDH	 0x3810u
#define TDT	 0x3818u
#define TXDCTL	 0x3828u
#define STATS_LO 0x4000u /* statistics: read and clear, 0x4000..0x4124 */
#define STATS_HI 0x4128u
#define RXCSUM	 0x5000u
#define RFCTL	 0x5008u
#define MTA	 0x5200u /* 128 words */
#define RA	 0x5400u /* 16 pairs RAL/RAH */
#define VFTA	 0x5600u /* 128 words */
#define NUM_RA	 16u
#define RAH_AV	 (1u << 31)

/* Statistics the model counts. */
#define ST_MPC	 0x4010u
#define ST_GPRC	 0x4074u
#define ST_BPRC	 0x4078u
#define ST_MPRC	 0x407Cu
#define ST_GPTC	 0x4080u
#define ST_GORCL 0x4088u
#define ST_GOTCL 0x4090u
#define ST_RNBC	 0x40A0u
#define ST_TORL	 0x40C0u
#define ST_TOTL	 0x40C8u
#define ST_TPR	 0x40D0u
#define ST_TPT	 0x40D4u
#define ST_MPTC	 0x40F0u
#define ST_BPTC	 0x40F4u
#define ST_TSCTC 0x40F8u

/* Bits. */
#define CTRL_GIO_DIS   (1u << 2)
#define CTRL_SLU       (1u << 6)
#define CTRL_RST       (1u << 26)
#define CTRL_VME       (1u << 30)
#define CTRL_PHY_RST   (1u << 31)
#define CTRL_EXT_EIAME (1u << 24)
#define CTRL_EXT_IAME  (1u << 27)
#define ICR_TXDW       (1u << 0)
#define ICR_TXQE       (1u << 1)
#define ICR_LSC	       (1u << 2)
#define ICR_RXDMT0     (1u << 4)
#define ICR_RXO	       (1u << 6)
#define ICR_RXT0       (1u << 7)
#define ICR_MDAC       (1u << 9)
#define ICR_RXQ0       (1u << 20)
#define ICR_RXQ1       (1u << 21)
#define ICR_TXQ0       (1u << 22)
#define ICR_TXQ1       (1u << 23)
#define ICR_OTHER      (1u << 24)
#define ICR_ASSERTED   (1u << 31)
#define ICR_QUEUES     (ICR_RXQ0 | ICR_RXQ1 | ICR_TXQ0 | ICR_TXQ1)
/* Causes of the queues' own MSI-X vectors; all others are "other" causes. */
#define ICR_NOT_OTHER                                                                              \
	(ICR_QUEUES | ICR_TXDW | ICR_TXQE | ICR_RXDMT0 | ICR_RXT0 | ICR_OTHER | ICR_ASSERTED)
#define RCTL_EN	     (1u << 1)
#define RCTL_UPE     (1u << 3)
#define RCTL_MPE     (1u << 4)
#define RCTL_LPE     (1u << 5)
#define RCTL_BAM     (1u << 15)
#define RCTL_VFE     (1u << 18)
#define RCTL_BSEX    (1u << 25)
#define RCTL_SECRC   (1u << 26)
#define TCTL_EN	     (1u << 1)
#define RFCTL_EXSTEN (1u << 15)

/* Descriptor bits. */
#define TXD_CMD_EOP    0x01u
#define TXD_CMD_IC     0x04u /* legacy: insert checksum */
#define TXD_CMD_TSE    0x04u /* extended data descriptor: segmentation */
#define TXD_CMD_RS     0x08u
#define TXD_CMD_DEXT   0x20u
#define TXD_CMD_VLE    0x40u
#define TXD_DTYP_CTX   0x0u
#define TXD_DTYP_DATA  0x1u
#define TXD_POPTS_IXSM 0x01u
#define TXD_POPTS_TXSM 0x02u
#define TUCMD_TCP      0x01u
#define TUCMD_IP       0x02u
#define TUCMD_TSE      0x04u
#define TXD_STA_DD     0x01u
#define RXD_STA_DD     0x01u
#define RXD_STA_EOP    0x02u
#define RXD_STA_IXSM   0x04u
#define RXD_STA_VP     0x08u
#define RXD_ERR_RXE    0x80u

#define E1000E_RXBUF	      (NETDEV_BUF_SIZE + 64u) /* room to pad and add a CRC */
#define E1000E_TX_MAX	      (128u << 10)	      /* largest packet (TSO included) gathered */
#define E1000E_RX_BATCH	      64u
#define E1000E_TX_BUDGET      256u  /* packets per wake-up of the I/O thread */
#define E1000E_TX_DESC_BUDGET 4096u /* descriptors per wake-up */

/* The transmit context (a context descriptor), kept until the next one. */
struct e1000e_txctx {
	uint8_t ipcss, ipcso, tucss, tucso, tucmd, hdrlen;
	uint16_t ipcse, tucse, mss;
	uint32_t paylen;
};

/* The packet being gathered from data descriptors, and then sent (TSO: segment by segment). */
struct e1000e_txpkt {
	uint8_t *buf;
	size_t len;
	bool gathering;	  /* descriptors taken, EOP not yet seen */
	bool ready;	  /* whole: waiting to go out (the backend was full) */
	bool bad;	  /* a descriptor of it was unusable: dropped at EOP */
	bool legacy, tse; /* descriptor kinds of its first data descriptor */
	uint8_t popts, css, cso, cmd;
	uint16_t vlan;
	bool gso;	    /* TSO: fixed up to go whole to the backend (tx_send_gso) */
	size_t seg_off;	    /* TSO: payload bytes already sent */
	unsigned seg_index; /* TSO: segments already sent */
};

struct e1000e {
	pthread_mutex_t lock;
	struct pci_dev pci;
	struct msix msix;
	bool msix_ready;
	struct e1000e_env env;
	struct netdev *nd;
	unsigned index;
	uint8_t mac[6];
	bool link_up;

	uint32_t regs[E1000E_MMIO_SIZE / 4];
	uint16_t eeprom[64];
	uint16_t phy[32];
	uint32_t ioaddr; /* BAR 2's IOADDR */
	int intx_level;
	bool msi_level;

	/* Receive: the frame read from the backend and not yet delivered (virtio-net header
	 * first), waiting for descriptors while rx_stalled. */
	uint8_t *rxbuf;
	size_t rx_len;
	uint16_t rx_vlan; /* its VLAN tag, taken out (CTRL.VME) */
	bool rx_tagged;
	bool rx_stalled;

	/* Transmit. */
	struct e1000e_txctx ctx;
	struct e1000e_txpkt tx;
	uint8_t *seg; /* one frame for the backend: virtio-net header, then the frame */
	bool tx_blocked;
	bool ring_warned;

	/* The I/O thread. */
	int epfd, kick_fd, stop_fd;
	uint32_t watched;
	pthread_t thread;
	bool running;
};

static inline uint32_t reg(const struct e1000e *e, uint32_t off)
{
	return e->regs[off / 4];
}

static inline void reg_set(struct e1000e *e, uint32_t off, uint32_t v)
{
	e->regs[off / 4] = v;
}

static inline void stat_add(struct e1000e *e, uint32_t off, uint64_t n)
{
	reg_set(e, off, reg(e, off) + (uint32_t)n);
}

/* 64-bit counters kept as a low and a high register. */
static inline void stat_add64(struct e1000e *e, uint32_t off, uint64_t n)
{
	uint64_t v = (uint64_t)reg(e, off) | (uint64_t)reg(e, off + 4) << 32;

	v += n;
	reg_set(e, off, (uint32_t)v);
	reg_set(e, off + 4, (uint32_t)(v >> 32));
}

/* e1000e.c: raises interrupt causes (ICR bits); the backend hung up (link down). */
void e1000e_raise(struct e1000e *e, uint32_t causes);
void e1000e_link_down(struct e1000e *e);
/* e1000e_ring.c: the rings' work for one wake-up of the I/O thread, and forgetting it all on
 * a reset. Caller holds the lock. */
void e1000e_tx_run(struct e1000e *e);
void e1000e_rx_run(struct e1000e *e);
void e1000e_rings_reset(struct e1000e *e);
/* Whether the receive side wants frames from the backend now. */
bool e1000e_rx_wanted(const struct e1000e *e);
