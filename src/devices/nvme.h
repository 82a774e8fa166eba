/* An NVMe 1.4 controller (PCI class 01/08/02, 1b36:0010 as QEMU's emulated NVMe, so every OS's
 * inbox driver binds) with one namespace on the block backend, for --disk ...,bus=nvme.
 *
 * nvme.c: the registers of BAR 0 (CAP, VS, INTMS/INTMC, CC, CSTS, AQA, ASQ, ACQ, doorbells),
 * controller enable, reset and shutdown, the queues, and the admin command set. nvme_io.c:
 * PRPs and PRP lists (every guest address through the guest-memory accessor) and the NVM
 * command set (READ, WRITE, FLUSH, WRITE ZEROES, DATASET MANAGEMENT). nvme_pci.c: the PCI
 * function on the board, MSI-X (msix.c; INTx as a fallback) and the I/O thread.
 *
 * Threads: a doorbell write (a vCPU thread) only records the new tail or head and calls the
 * kick hook (with shadow doorbells the I/O queues' values are read from guest memory instead,
 * and their doorbells may be ioeventfds); the I/O thread then runs nvme_process, which takes
 * commands from every submission queue, and nvme_reap, which finishes block I/O. Everything is
 * under n->lock. A malformed command fails with its status; queue memory that is not RAM (or a
 * broken enable) sets CSTS.CFS, the controller-fatal state a driver recovers from by a reset. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backends/block.h"
#include "devices/msix.h"
#include "devices/pci.h"
#include "kvm/guest_mem.h"

#define NVME_VENDOR   0x1B36 /* Red Hat's QEMU NVMe id: Linux, Windows and OVMF bind it */
#define NVME_DEVICE   0x0010
#define NVME_CLASS    0x010802 /* mass storage, non-volatile memory, NVM Express */
#define NVME_BAR_SIZE 0x4000u
#define NVME_DB_BASE  0x1000u
#define NVME_MSIX_TAB 0x2000u
#define NVME_MSIX_PBA 0x3000u
#define NVME_MAX_IOQ  16 /* I/O queue pairs at most (one per vCPU up to this) */
#define NVME_MAX_QS   (NVME_MAX_IOQ + 1)
#define NVME_MQES     1023 /* largest queue, 0-based */
#define NVME_MDTS     7	   /* largest transfer: 2^7 pages of 4 KiB, 512 KiB */
#define NVME_PAGE     4096u
#define NVME_LBA      512u
#define NVME_MAX_REQS 256 /* I/O commands in flight at once */
#define NVME_MAX_IOV  ((1u << NVME_MDTS) + 1)
#define NVME_AER_MAX  4
#define NVME_SN_LEN   20

struct nvme_hooks {
	void *opaque;
	/* Signals MSI-X vector vec; false when MSI-X is off (then INTx is used). */
	bool (*msix_notify)(void *opaque, unsigned vec);
	/* INTx level. */
	void (*set_intx)(void *opaque, int level);
	/* A doorbell was written: run nvme_process on the I/O thread. */
	void (*kick)(void *opaque);
	/* Shadow doorbells on (the I/O queues' doorbell writes may now go to an ioeventfd: their
	 * values are in guest memory) or off (a reset). Optional. */
	void (*dbbuf)(void *opaque, bool on);
};

struct nvme_cq {
	bool exists, ien, irq_due;
	uint16_t size, head, tail, vector;
	uint8_t phase;
	unsigned reserved; /* commands taken whose completion is not posted yet */
	uint64_t base;
};

struct nvme_sq {
	bool exists;
	uint16_t size, head, tail, cqid;
	unsigned inflight; /* its commands the backend still has */
	uint64_t base;
};

/* One I/O command handed to the block backend. */
struct nvme_req {
	struct block_io io; /* first: the backend hands this back */
	struct nvme_req *next_free;
	uint16_t sqid, cid;
	uint8_t opcode;
	struct iovec iov[NVME_MAX_IOV];
};

struct nvme_feats {
	uint32_t arbitration, power, temp, err_recovery, wce, coalescing, write_atom, aec;
	uint32_t nq;			/* number of queues granted: NCQA << 16 | NSQA, 0-based */
	uint32_t ivc[MSIX_MAX_VECTORS]; /* interrupt vector configuration (CD bit) */
};

struct nvme_stats {
	uint64_t read_units, write_units; /* SMART: thousands of 512-byte units, rounded up */
	uint64_t read_bytes, write_bytes;
	uint64_t reads, writes;
};

struct nvme {
	pthread_mutex_t lock;
	struct pci_dev pci;
	struct msix msix;
	const struct guest_mem *gm;
	struct nvme_hooks hooks;
	struct block *bk; /* the namespace's backend (the owner opens and closes it) */
	uint64_t nsze;	  /* namespace size in 512-byte blocks */
	unsigned max_ioq; /* I/O queue pairs offered */
	char serial[NVME_SN_LEN + 1];
	/* Registers. */
	uint32_t cc, csts, aqa, intms;
	uint64_t asq, acq;
	uint64_t dbbuf, eibuf; /* shadow doorbell and event index buffers; 0: not in use */
	int intx_level;
	bool fatal_logged;
	bool kick_pending; /* a register write left work for the I/O thread */
	struct nvme_sq sq[NVME_MAX_QS];
	struct nvme_cq cq[NVME_MAX_QS];
	uint16_t aer_cid[NVME_AER_MAX];
	unsigned naer;
	struct nvme_feats feat;
	struct nvme_stats stats;
	unsigned io_errors;
	bool starved; /* stopped taking I/O commands: no request was free */
	struct nvme_req *free;
	struct nvme_req *reqs; /* NVME_MAX_REQS of them */
};

/* Sets up the controller and its PCI header (not plugged: nvme_pci.c does that) over an open
 * block backend, offering one I/O queue pair per vCPU (at least 2, at most NVME_MAX_IOQ).
 * serial: up to 20 chars.
 * Returns 0 or -ENOMEM. */
int nvme_init(struct nvme *n, const struct guest_mem *gm, struct block *bk, unsigned ncpus,
	      const char *serial, const struct nvme_hooks *hooks);
/* Finishes in-flight I/O (forgetting it) and frees the controller's state. */
void nvme_destroy(struct nvme *n);
/* An access to BAR 0 at off (registers, doorbells, the MSI-X table and PBA). */
void nvme_bar_io(struct nvme *n, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* The I/O thread's work, each taking n->lock: take and start the commands every submission
 * queue holds; finish what the block backend completed. */
void nvme_process(struct nvme *n);
void nvme_reap(struct nvme *n);

/* ---- shared between nvme.c and nvme_io.c (n->lock held) ---- */

#define NVME_SQE_SIZE 64u
#define NVME_CQE_SIZE 16u
#define NVME_VS	      0x00010400u

/* Status codes: SCT << 8 | SC. */
enum {
	NVME_SC_SUCCESS = 0x00,
	NVME_SC_INVALID_OPCODE = 0x01,
	NVME_SC_INVALID_FIELD = 0x02,
	NVME_SC_DATA_XFER_ERROR = 0x04,
	NVME_SC_INTERNAL = 0x06,
	NVME_SC_INVALID_NS = 0x0B,
	NVME_SC_SGL_INVALID = 0x0F,
	NVME_SC_PRP_OFFSET = 0x13,
	NVME_SC_NS_WRITE_PROTECTED = 0x20,
	NVME_SC_LBA_RANGE = 0x80,
	NVME_SC_CAP_EXCEEDED = 0x81,
	NVME_SC_CQ_INVALID = 0x100,
	NVME_SC_QID_INVALID = 0x101,
	NVME_SC_QSIZE_INVALID = 0x102,
	NVME_SC_AER_LIMIT = 0x105,
	NVME_SC_IV_INVALID = 0x108,
	NVME_SC_LOG_INVALID = 0x109,
	NVME_SC_FEAT_NOT_SAVEABLE = 0x10D,
	NVME_SC_QDEL_INVALID = 0x10C,
	NVME_SC_WRITE_FAULT = 0x280,
	NVME_SC_READ_ERROR = 0x281,
	NVME_PENDING = -1, /* handed to the backend: its completion answers */
	NVME_HELD = -2,	   /* an asynchronous event request: answered when an event comes */
};

/* A submission queue entry, decoded. */
struct nvme_cmd {
	uint8_t opcode, flags;
	uint16_t cid;
	uint32_t nsid;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

/* Posts a completion to sqid's completion queue (room was reserved when the command was
 * taken) and marks its interrupt due. */
void nvme_complete(struct nvme *n, uint16_t sqid, uint16_t cid, int status, uint32_t dw0);
/* Marks the controller fatally broken (CSTS.CFS): a driver resets it. */
void nvme_fatal(struct nvme *n, const char *why);
/* Maps the data of a command (PRP1, PRP2 and PRP lists) over len bytes into iov (at most
 * max entries, adjacent pages merged). Returns the count or -status. */
int nvme_prp_map(const struct nvme *n, uint64_t prp1, uint64_t prp2, uint64_t len,
		 struct iovec *iov, unsigned max);
/* Copies buf to (to_guest) or from the command's data pages. Returns a status. */
int nvme_prp_copy(const struct nvme *n, const struct nvme_cmd *c, void *buf, uint32_t len,
		  bool to_guest);
/* Runs an admin command: a status (dw0 set), NVME_HELD. */
int nvme_admin_cmd(struct nvme *n, const struct nvme_cmd *c, uint32_t *dw0);
/* The INTx level may have changed. */
void nvme_intx_update(struct nvme *n);
void nvme_feats_default(struct nvme_feats *f, unsigned max_ioq);
/* Runs an I/O command: a status, or NVME_PENDING. */
int nvme_io_cmd(struct nvme *n, uint16_t sqid, const struct nvme_cmd *c);
/* The backend's completion of a request. */
void nvme_io_done(struct block_io *io, void *arg);
