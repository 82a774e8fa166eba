/* An Intel High Definition Audio controller (ICH9 HD Audio, PCI 8086:293e, class 04/03/00)
 * with one duplex codec (devices/hda_codec.c), for --sound: the sound device whose driver
 * every desktop OS carries (Linux's snd_hda_intel, Windows' HDAudBus + HdAudio, the BSDs' hda).
 *
 * The registers (BAR 0, 16 KiB, 32-bit) are those of the HD Audio specification 1.0a: global
 * (GCAP: 4 input and 4 output streams, 64-bit addresses; GCTL with controller reset; WAKEEN,
 * STATESTS; INTCTL/INTSTS; WALCLK; SSYNC), CORB and RIRB (2, 16 or 256 entries; verbs go to
 * the codec when CORBWP moves, responses come back in the RIRB with RINTFL), the immediate
 * command interface (ICOI/ICII/ICIS), the DMA position buffer (DPLBASE/DPUBASE), and 8 stream
 * descriptors (SDnCTL/STS/LPIB/CBL/LVI/FIFOS/FMT/BDPL/BDPU; 0-3 input, 4-7 output), with the
 * WALCLK and LPIB aliases at 0x2000. Interrupts: INTx pin A, or a 64-bit MSI.
 *
 * Streams run on the controller's timer thread, paced by the host's clock (backends/audio.h):
 * each tick moves the frames due since the stream started, at the stream's rate, between the
 * buffers of the guest's buffer descriptor list and the codec, never waiting for the guest.
 * Every descriptor and buffer is reached through the guest-memory accessor: a descriptor list
 * or buffer outside RAM, a zero-length entry or an unusable format stops that stream with
 * SDnSTS.DESE (and its interrupt), never the VMM. A CORB outside RAM sets CORBSTS.CMEI. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "backends/audio.h"
#include "common/vm_config.h"
#include "devices/hda_codec.h"
#include "devices/pci.h"
#include "kvm/guest_mem.h"
#include "kvm/irq.h"

#define HDA_BAR_SIZE 0x4000u
#define HDA_ISS	     4
#define HDA_OSS	     4
#define HDA_STREAMS  (HDA_ISS + HDA_OSS)
#define HDA_TICK_MS  5
/* Frames moved per piece (the bounce buffer), and the most a late tick catches up. */
#define HDA_CHUNK_FRAMES 1024u
#define HDA_CATCHUP_MS	 200u

struct hda_stream {
	uint32_t ctl; /* SDnCTL (24 bits) */
	uint8_t sts;
	uint32_t lpib, cbl;
	uint16_t lvi, fmt;
	uint64_t bdl;
	/* The DMA engine. */
	bool running, failed;
	unsigned bde;	  /* the buffer descriptor in use */
	uint32_t bde_off; /* bytes of it done */
	struct audio_pace pace;
	struct audio_fmt af;
	unsigned sample_bytes, frame_bytes;
};

struct hda {
	pthread_mutex_t lock;
	struct pci_dev pci;
	const struct guest_mem *mem;
	irq_set_fn set_irq;
	void (*send_msi)(void *opaque, uint64_t addr, uint32_t data);
	void *irq_opaque;
	unsigned msi_cap;
	int level; /* the interrupt as last computed */
	int intx;  /* the INTx line as last set */
	const struct audio_clock *clock;
	struct hda_codec codec;
	/* Global registers. */
	uint32_t gctl, intctl, dplbase, dpubase, ssync, ssync_old;
	uint16_t wakeen, statests;
	uint64_t corb, rirb;
	uint16_t corbwp, corbrp, rirbwp, rintcnt, icis;
	uint8_t corbctl, corbsts, corbsize, rirbctl, rirbsts, rirbsize;
	bool corbrp_rst;
	unsigned rirb_count; /* responses since RINTFL was last set */
	uint32_t icoi, icii;
	uint64_t wall0; /* the clock when WALCLK was 0 */
	struct hda_stream sd[HDA_STREAMS];
	int16_t bounce[HDA_CHUNK_FRAMES * 32]; /* a piece: 16 channels of 32-bit containers */
	/* Counters. */
	uint64_t verbs, frames_out, frames_in, stream_errors;
	/* The timer thread. */
	pthread_t thread;
	int wake_fd, epfd;
	bool thread_started, stopping;
	enum seccomp_mode seccomp;
	int vm_fd; /* the thread's KVM requests are bound to it (-1: any descriptor) */
};

/* Between hda.c (registers) and hda_stream.c (the DMA engine and the timer thread). */
#define CTL_SRST  (1u << 0)
#define CTL_RUN	  (1u << 1)
#define CTL_IOCE  (1u << 2)
#define CTL_FEIE  (1u << 3)
#define CTL_DEIE  (1u << 4)
#define CTL_MASK  0x00FF001Fu /* SRST, RUN, IE bits, stripe, TP, DIR, stream tag */
#define STS_BCIS  (1u << 2)
#define STS_FIFOE (1u << 3)
#define STS_DESE  (1u << 4)
#define STS_RDY	  (1u << 5)
#define BDLE_LEN  16
void hda_update_irq(struct hda *h, bool event);
void hda_stream_reset(struct hda_stream *s);
/* RUN 0->1 or a new format: checks the stream and starts its time now (or fails it, DESE). */
void hda_stream_setup(struct hda *h, struct hda_stream *s);
bool hda_any_running(struct hda *h);
/* Wakes the timer thread (a stream started, or a register moved while one runs). */
void hda_wake(struct hda *h);

/* Sets up the PCI function (not plugged), its codec on back end be (not owned) and clock. */
void hda_init(struct hda *h, const struct guest_mem *mem, struct audio_backend *be,
	      const struct audio_clock *clock, irq_set_fn set_irq,
	      void (*send_msi)(void *, uint64_t, uint32_t), void *irq_opaque);
void hda_destroy(struct hda *h);
/* An access to BAR 0 at off (what the PCI bus calls through pci.ops->bar_io). */
void hda_mmio(struct hda *h, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* Moves every running stream's frames due at the clock's now (what the timer thread runs). */
void hda_tick(struct hda *h);
/* Starts the timer thread (under the device threads' seccomp filter, KVM's requests bound to
 * the VM vm_fd; -1: any). 0 or -errno. */
int hda_start(struct hda *h, enum seccomp_mode seccomp, int vm_fd);

/* On the board (devices/device.h): --sound. */
extern const struct device_model hda_device;
