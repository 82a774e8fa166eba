#include "devices/hda.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"
#include "backends/audio_tap.h"
#include "devices/device.h"

/* Global registers (HD Audio 1.0a section 3.3), as dwords. */
#define R_GCAP	    0x00 /* GCAP, VMIN, VMAJ */
#define R_PAY	    0x04 /* OUTPAY, INPAY */
#define R_GCTL	    0x08
#define R_STATE	    0x0C /* WAKEEN, STATESTS */
#define R_INTCTL    0x20
#define R_INTSTS    0x24
#define R_WALCLK    0x30
#define R_SSYNC_OLD 0x34
#define R_SSYNC	    0x38
#define R_CORBLBASE 0x40
#define R_CORBUBASE 0x44
#define R_CORBWP    0x48 /* CORBWP, CORBRP */
#define R_CORBCTL   0x4C /* CORBCTL, CORBSTS, CORBSIZE */
#define R_RIRBLBASE 0x50
#define R_RIRBUBASE 0x54
#define R_RIRBWP    0x58 /* RIRBWP, RINTCNT */
#define R_RIRBCTL   0x5C /* RIRBCTL, RIRBSTS, RIRBSIZE */
#define R_ICOI	    0x60
#define R_ICII	    0x64
#define R_ICIS	    0x68
#define R_DPLBASE   0x70
#define R_DPUBASE   0x74
#define R_SD0	    0x80
#define SD_LEN	    0x20
#define R_ALIAS	    0x2000

#define GCAP	  ((uint32_t)HDA_OSS << 12 | (uint32_t)HDA_ISS << 8 | 1u) /* 64OK */
#define GCAP_DW	  (0x01u << 24 | GCAP)					  /* VMAJ 1, VMIN 0 */
#define PAY_DW	  0x001D003Cu
#define GCTL_CRST (1u << 0)
#define GCTL_MASK 0x00000103u /* CRST, FCNTRL, UNSOL */
#define GIE	  (1u << 31)
#define CIE	  (1u << 30)

#define CORBRP_RST   0x8000u
#define CORBCTL_CMEI (1u << 0)
#define CORBCTL_RUN  (1u << 1)
#define RIRBWP_RST   0x8000u
#define RIRBCTL_INT  (1u << 0)
#define RIRBCTL_DMA  (1u << 1)
#define RIRBCTL_OIC  (1u << 2)
#define RIRBSTS_INT  (1u << 0)
#define RIRBSTS_OIS  (1u << 2)
#define RBSIZE_CAP   0x70u /* 2, 16 and 256 entries */
#define ICIS_ICB     (1u << 0)
#define ICIS_IRV     (1u << 1)

/* Stream descriptor registers (offsets in the descriptor) and bits. */
#define SD_CTL	 0x00 /* CTL (3 bytes), STS */
#define SD_LPIB	 0x04
#define SD_CBL	 0x08
#define SD_LVI	 0x0C
#define SD_FIFOS 0x10 /* FIFOS, FMT */
#define SD_BDPL	 0x18
#define SD_BDPU	 0x1C
#define FIFOS	 0x3Fu

#define PCI_CMD	   0x04
#define INTX_OFF   0x0400
#define MSI_CAP_ID 0x05

/* ---- interrupts ---- */

static uint8_t sd_enabled(const struct hda_stream *s)
{
	return (uint8_t)(s->sts & (((s->ctl & CTL_IOCE) ? STS_BCIS : 0) |
				   ((s->ctl & CTL_FEIE) ? STS_FIFOE : 0) |
				   ((s->ctl & CTL_DEIE) ? STS_DESE : 0)));
}

static uint32_t intsts(const struct hda *h)
{
	uint32_t sis = 0;
	bool cis = ((h->rirbsts & RIRBSTS_INT) && (h->rirbctl & RIRBCTL_INT)) ||
		   ((h->rirbsts & RIRBSTS_OIS) && (h->rirbctl & RIRBCTL_OIC)) ||
		   ((h->corbsts & 1) && (h->corbctl & CORBCTL_CMEI)) || (h->statests & h->wakeen);

	for (unsigned i = 0; i < HDA_STREAMS; i++)
		if (sd_enabled(&h->sd[i]))
			sis |= 1u << i;
	return sis | (cis ? CIE : 0) | (sis || cis ? GIE : 0);
}

static bool msi_enabled(const struct hda *h)
{
	return h->msi_cap && (h->pci.cfg[h->msi_cap + 2] & 1);
}

/* INTx follows the level; an MSI goes out when the level rises or a new event finds it up. */
void hda_update_irq(struct hda *h, bool event)
{
	uint32_t st = intsts(h);
	int level =
	    (h->intctl & GIE) && (((h->intctl & CIE) && (st & CIE)) || (st & h->intctl & 0xFFu));
	int intx = 0;

	if (msi_enabled(h)) {
		if (level && (event || !h->level) && h->send_msi) {
			const uint8_t *c = h->pci.cfg + h->msi_cap;

			h->send_msi(h->irq_opaque, get_le64(c + 4), get_le16(c + 12));
		}
	} else {
		intx = level && !(get_le16(h->pci.cfg + PCI_CMD) & INTX_OFF);
	}
	if (h->set_irq && intx != h->intx)
		h->set_irq(h->irq_opaque, PCI_INTX_GSI0 + h->pci.slot % 4, intx);
	h->intx = intx;
	h->level = level;
}

/* ---- CORB and RIRB ---- */

static unsigned ring_entries(uint8_t size)
{
	return (size & 3) == 0 ? 2 : (size & 3) == 1 ? 16 : 256;
}

static void rirb_push(struct hda *h, uint32_t resp, uint32_t ex)
{
	unsigned wp = (h->rirbwp + 1u) % ring_entries(h->rirbsize);
	uint8_t e[8];

	if (!(h->rirbctl & RIRBCTL_DMA))
		return;
	put_le32(e, resp);
	put_le32(e + 4, ex);
	if (gm_write(h->mem, h->rirb + 8ull * wp, e, sizeof(e)) < 0) {
		h->rirbsts |= RIRBSTS_OIS; /* the response was lost */
		return;
	}
	h->rirbwp = (uint16_t)wp;
	if (++h->rirb_count >= (h->rintcnt & 0xFF ? h->rintcnt & 0xFFu : 256u)) {
		h->rirbsts |= RIRBSTS_INT;
		h->rirb_count = 0;
	}
}

static uint32_t run_verb(struct hda *h, uint32_t cmd, bool *answered)
{
	h->verbs++;
	*answered = (cmd >> 28) == 0; /* only codec 0 is on the link */
	return *answered ? hda_codec_verb(&h->codec, cmd) : 0;
}

/* Sends the verbs between CORBRP and CORBWP to the codec (at most one ring's worth). */
static void corb_run(struct hda *h)
{
	unsigned n = ring_entries(h->corbsize);
	bool any = false;

	if (!(h->corbctl & CORBCTL_RUN) || !(h->gctl & GCTL_CRST))
		return;
	for (unsigned k = 0; k < n && h->corbrp % n != h->corbwp % n; k++) {
		unsigned rp = (h->corbrp + 1u) % n;
		uint8_t e[4];
		uint32_t resp;
		bool answered;

		if (gm_read(h->mem, h->corb + 4ull * rp, e, sizeof(e)) < 0) {
			h->corbsts |= 1; /* CMEI: memory error */
			h->corbctl &= (uint8_t)~CORBCTL_RUN;
			break;
		}
		h->corbrp = (uint16_t)rp;
		resp = run_verb(h, get_le32(e), &answered);
		if (answered) {
			rirb_push(h, resp, 0);
			any = true;
		}
	}
	/* Every verb sent is answered at once: the link is idle, so RINTFL is due now. */
	if (any && h->rirb_count) {
		h->rirbsts |= RIRBSTS_INT;
		h->rirb_count = 0;
	}
	hda_update_irq(h, true);
}

/* ---- register access ---- */

static uint32_t sd_read(struct hda *h, unsigned i, unsigned off)
{
	const struct hda_stream *s = &h->sd[i];

	switch (off) {
	case SD_CTL:
		return (s->ctl & 0xFFFFFFu) |
		       (uint32_t)(s->sts | ((s->ctl & CTL_SRST) ? 0 : STS_RDY)) << 24;
	case SD_LPIB:
		return s->lpib;
	case SD_CBL:
		return s->cbl;
	case SD_LVI:
		return s->lvi;
	case SD_FIFOS:
		return FIFOS | (uint32_t)s->fmt << 16;
	case SD_BDPL:
		return (uint32_t)s->bdl;
	case SD_BDPU:
		return (uint32_t)(s->bdl >> 32);
	default:
		return 0;
	}
}

static void sd_ctl_write(struct hda *h, unsigned i, uint32_t v, uint32_t m)
{
	struct hda_stream *s = &h->sd[i];
	bool was = s->running;

	if (m & 0xFF000000u)
		s->sts &= (uint8_t) ~(v >> 24 & (STS_BCIS | STS_FIFOE | STS_DESE));
	if (m & 0xFFFFFFu) {
		uint32_t ctl = (s->ctl & ~(m & CTL_MASK)) | (v & m & CTL_MASK);

		if (ctl & CTL_SRST) {
			hda_stream_reset(s);
			s->ctl = CTL_SRST;
		} else {
			s->ctl = ctl;
			s->running = ctl & CTL_RUN;
			if (s->running && !was) {
				hda_stream_setup(h, s);
				hda_wake(h);
			}
		}
	}
	hda_update_irq(h, false);
}

static void sd_write(struct hda *h, unsigned i, unsigned off, uint32_t v, uint32_t m)
{
	struct hda_stream *s = &h->sd[i];

	switch (off) {
	case SD_CTL:
		sd_ctl_write(h, i, v, m);
		break;
	case SD_CBL:
		s->cbl = (s->cbl & ~m) | (v & m);
		break;
	case SD_LVI:
		s->lvi = (uint16_t)((s->lvi & ~m) | (v & m & 0xFF));
		break;
	case SD_FIFOS:
		if (m & 0xFFFF0000u) {
			s->fmt = (uint16_t)((((uint32_t)s->fmt << 16 & ~m) | (v & m)) >> 16);
			if (s->running)
				hda_stream_setup(h,
						 s); /* a new rate starts the stream's time again */
		}
		break;
	case SD_BDPL: /* 128-byte aligned */
		s->bdl = (s->bdl & ~(uint64_t)(m & 0xFFFFFF80u)) | (v & m & 0xFFFFFF80u);
		s->bde = 0;
		s->bde_off = 0;
		break;
	case SD_BDPU:
		s->bdl = (s->bdl & ~((uint64_t)m << 32)) | (uint64_t)(v & m) << 32;
		break;
	default:
		break;
	}
}

static uint32_t reg_read(struct hda *h, unsigned off)
{
	if (off >= R_ALIAS) { /* the aliases: WALCLK and the LPIBs */
		unsigned o = off - R_ALIAS;
		bool lpib = o >= R_SD0 && o < R_SD0 + HDA_STREAMS * SD_LEN &&
			    (o - R_SD0) % SD_LEN == SD_LPIB;

		return o == R_WALCLK || lpib ? reg_read(h, o) : 0;
	}
	if (off >= R_SD0 && off < R_SD0 + HDA_STREAMS * SD_LEN)
		return sd_read(h, (off - R_SD0) / SD_LEN, (off - R_SD0) % SD_LEN);
	switch (off) {
	case R_GCAP:
		return GCAP_DW;
	case R_PAY:
		return PAY_DW;
	case R_GCTL:
		return h->gctl;
	case R_STATE:
		return h->wakeen | (uint32_t)h->statests << 16;
	case R_INTCTL:
		return h->intctl;
	case R_INTSTS:
		return intsts(h);
	case R_WALCLK: /* 24 MHz */
		return (uint32_t)((audio_clock_now(h->clock) - h->wall0) * 3 / 125);
	case R_SSYNC_OLD:
		return h->ssync_old;
	case R_SSYNC:
		return h->ssync;
	case R_CORBLBASE:
		return (uint32_t)h->corb;
	case R_CORBUBASE:
		return (uint32_t)(h->corb >> 32);
	case R_CORBWP:
		return h->corbwp | (uint32_t)(h->corbrp | (h->corbrp_rst ? CORBRP_RST : 0)) << 16;
	case R_CORBCTL:
		return h->corbctl | (uint32_t)h->corbsts << 8 |
		       (uint32_t)(RBSIZE_CAP | h->corbsize) << 16;
	case R_RIRBLBASE:
		return (uint32_t)h->rirb;
	case R_RIRBUBASE:
		return (uint32_t)(h->rirb >> 32);
	case R_RIRBWP:
		return h->rirbwp | (uint32_t)h->rintcnt << 16;
	case R_RIRBCTL:
		return h->rirbctl | (uint32_t)h->rirbsts << 8 |
		       (uint32_t)(RBSIZE_CAP | h->rirbsize) << 16;
	case R_ICOI:
		return h->icoi;
	case R_ICII:
		return h->icii;
	case R_ICIS:
		return h->icis;
	case R_DPLBASE:
		return h->dplbase;
	case R_DPUBASE:
		return h->dpubase;
	default:
		return 0;
	}
}

/* GCTL.CRST = 0: every register but GCTL back to its reset value, streams stopped, the codec
 * reset. */
static void controller_reset(struct hda *h)
{
	struct audio_backend *be = h->codec.be;

	h->gctl = 0;
	h->intctl = h->dplbase = h->dpubase = h->ssync = h->ssync_old = 0;
	h->wakeen = h->statests = 0;
	h->corb = h->rirb = 0;
	h->corbwp = h->corbrp = h->rirbwp = h->rintcnt = h->icis = 0;
	h->corbctl = h->corbsts = h->corbsize = h->rirbctl = h->rirbsts = h->rirbsize = 0;
	h->corbrp_rst = false;
	h->rirb_count = 0;
	h->icoi = h->icii = 0;
	for (unsigned i = 0; i < HDA_STREAMS; i++)
		hda_stream_reset(&h->sd[i]);
	hda_codec_init(&h->codec, be);
}

static void immediate_command(struct hda *h, uint32_t v, uint32_t m)
{
	bool answered;

	if (!(m & 0xFFFF))
		return;
	h->icis &= (uint16_t) ~(v & ICIS_IRV); /* write 1 to clear */
	if ((v & ICIS_ICB) && (h->gctl & GCTL_CRST)) {
		h->icii = run_verb(h, h->icoi, &answered);
		if (answered)
			h->icis |= ICIS_IRV;
	}
}

static void corb_write(struct hda *h, uint32_t v, uint32_t m)
{
	if (m & 0xFF)
		h->corbwp = (uint16_t)(v & 0xFF);
	if (m & 0xFF000000u) {
		if (v & (CORBRP_RST << 16)) {
			h->corbrp = 0;
			h->corbrp_rst = true;
		} else {
			h->corbrp_rst = false;
		}
	}
	if (m & 0xFF)
		corb_run(h);
}

static void corbctl_write(struct hda *h, uint32_t v, uint32_t m)
{
	if (m & 0xFF)
		h->corbctl = (uint8_t)(v & (CORBCTL_CMEI | CORBCTL_RUN));
	if (m & 0xFF00)
		h->corbsts &= (uint8_t) ~(v >> 8 & 1);
	if (m & 0xFF0000)
		h->corbsize = (uint8_t)(v >> 16 & 3);
	if (m & 0xFF)
		corb_run(h);
	hda_update_irq(h, false);
}

static void rirbctl_write(struct hda *h, uint32_t v, uint32_t m)
{
	if (m & 0xFF)
		h->rirbctl = (uint8_t)(v & (RIRBCTL_INT | RIRBCTL_DMA | RIRBCTL_OIC));
	if (m & 0xFF00)
		h->rirbsts &= (uint8_t) ~(v >> 8 & (RIRBSTS_INT | RIRBSTS_OIS));
	if (m & 0xFF0000)
		h->rirbsize = (uint8_t)(v >> 16 & 3);
	hda_update_irq(h, false);
}

static void set_lo(uint64_t *r, uint32_t v, uint32_t m, uint32_t keep)
{
	*r = (*r & ~(uint64_t)(m & keep)) | (v & m & keep);
}

static void set_hi(uint64_t *r, uint32_t v, uint32_t m)
{
	*r = (*r & ~((uint64_t)m << 32)) | (uint64_t)(v & m) << 32;
}

static void gctl_write(struct hda *h, uint32_t v, uint32_t m)
{
	uint32_t g = (h->gctl & ~(m & GCTL_MASK)) | (v & m & GCTL_MASK);

	if (!(g & GCTL_CRST)) {
		controller_reset(h);
	} else if (!(h->gctl & GCTL_CRST)) {
		h->wall0 = audio_clock_now(h->clock);
		h->statests |= 1; /* the codec at address 0 asks for its state change */
	}
	h->gctl = g;
	hda_update_irq(h, true);
}

static void reg_write(struct hda *h, unsigned off, uint32_t v, uint32_t m)
{
	if (off == R_GCTL) {
		gctl_write(h, v, m);
		return;
	}
	if (!(h->gctl & GCTL_CRST))
		return; /* in reset, only GCTL takes writes */
	if (off >= R_SD0 && off < R_SD0 + HDA_STREAMS * SD_LEN) {
		sd_write(h, (off - R_SD0) / SD_LEN, (off - R_SD0) % SD_LEN, v, m);
		return;
	}
	switch (off) {
	case R_STATE:
		h->wakeen = (uint16_t)((h->wakeen & ~m) | (v & m & 0x7FFF));
		h->statests &= (uint16_t) ~((v & m) >> 16);
		hda_update_irq(h, false);
		break;
	case R_INTCTL:
		h->intctl = (h->intctl & ~m) | (v & m & (GIE | CIE | 0xFFu));
		hda_update_irq(h, false);
		break;
	case R_SSYNC_OLD:
		h->ssync_old = (h->ssync_old & ~m) | (v & m & 0xFFu);
		break;
	case R_SSYNC:
		h->ssync = (h->ssync & ~m) | (v & m & 0xFFu);
		break;
	case R_CORBLBASE:
		set_lo(&h->corb, v, m, 0xFFFFFF80u);
		break;
	case R_CORBUBASE:
		set_hi(&h->corb, v, m);
		break;
	case R_CORBWP:
		corb_write(h, v, m);
		break;
	case R_CORBCTL:
		corbctl_write(h, v, m);
		break;
	case R_RIRBLBASE:
		set_lo(&h->rirb, v, m, 0xFFFFFF80u);
		break;
	case R_RIRBUBASE:
		set_hi(&h->rirb, v, m);
		break;
	case R_RIRBWP:
		if ((m & 0xFF00) && (v & RIRBWP_RST))
			h->rirbwp = 0;
		if (m & 0xFFFF0000u)
			h->rintcnt =
			    (uint16_t)((h->rintcnt & ~(m >> 16)) | (v >> 16 & m >> 16 & 0xFF));
		break;
	case R_RIRBCTL:
		rirbctl_write(h, v, m);
		break;
	case R_ICOI:
		h->icoi = (h->icoi & ~m) | (v & m);
		break;
	case R_ICIS:
		immediate_command(h, v, m);
		break;
	case R_DPLBASE:
		h->dplbase = (h->dplbase & ~m) | (v & m & 0xFFFFFF81u);
		break;
	case R_DPUBASE:
		h->dpubase = (h->dpubase & ~m) | (v & m);
		break;
	default:
		break;
	}
}

/* Any width at any offset: each dword the access touches is read, or written with a mask of
 * the bytes written (so a byte write to SDnSTS clears only its bits). */
void hda_mmio(struct hda *h, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	bool run;

	pthread_mutex_lock(&h->lock);
	if (off >= HDA_BAR_SIZE || len > HDA_BAR_SIZE - off || len > 8) {
		if (!is_write)
			memset(data, 0xFF, len);
		pthread_mutex_unlock(&h->lock);
		return;
	}
	for (uint32_t i = 0; i < len;) {
		unsigned o = (unsigned)off + i, dw = o & ~3u, sh = 8 * (o & 3);
		uint32_t n = 4 - (o & 3) < len - i ? 4 - (o & 3) : len - i;

		if (is_write) {
			uint32_t v = 0, m = 0;

			for (uint32_t b = 0; b < n; b++) {
				v |= (uint32_t)data[i + b] << (sh + 8 * b);
				m |= 0xFFu << (sh + 8 * b);
			}
			reg_write(h, dw, v, m);
		} else {
			uint32_t v = reg_read(h, dw);

			for (uint32_t b = 0; b < n; b++)
				data[i + b] = (uint8_t)(v >> (sh + 8 * b));
		}
		i += n;
	}
	run = is_write && hda_any_running(h);
	pthread_mutex_unlock(&h->lock);
	if (run)
		hda_wake(h);
}

static void hda_bar_io(struct pci_dev *d, unsigned bar, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write)
{
	if (bar == 0) {
		hda_mmio(d->opaque, off, data, len, is_write);
	} else if (!is_write) {
		memset(data, 0xFF, len);
	}
}

/* MSI on or off, or INTx disabled, changes where the interrupt goes. */
static void hda_cfg_write(struct pci_dev *d, uint32_t off, uint32_t len)
{
	struct hda *h = d->opaque;

	(void)off;
	(void)len;
	pthread_mutex_lock(&h->lock);
	hda_update_irq(h, false);
	pthread_mutex_unlock(&h->lock);
}

static const struct pci_dev_ops hda_ops = {.bar_io = hda_bar_io, .cfg_write = hda_cfg_write};

void hda_init(struct hda *h, const struct guest_mem *mem, struct audio_backend *be,
	      const struct audio_clock *clock, irq_set_fn set_irq,
	      void (*send_msi)(void *, uint64_t, uint32_t), void *irq_opaque)
{
	/* 64-bit MSI, one vector: control (enable, MME), address, upper address, data. */
	static const uint8_t msi_body[12] = {0x80, 0};
	static const uint8_t msi_wmask[12] = {0x71, 0,	  0xFC, 0xFF, 0xFF, 0xFF,
					      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->mem = mem;
	h->clock = clock;
	h->set_irq = set_irq;
	h->send_msi = send_msi;
	h->irq_opaque = irq_opaque;
	h->wake_fd = h->epfd = -1;
	hda_codec_init(&h->codec, be);
	pci_dev_init(&h->pci, 0x8086, 0x293E, 0x040300, 0x02, 0x1AF4, 0x1100);
	h->pci.ops = &hda_ops;
	h->pci.opaque = h;
	pci_dev_set_bar(&h->pci, 0, PCI_BAR_MEM32, HDA_BAR_SIZE);
	h->msi_cap = pci_dev_add_cap(&h->pci, MSI_CAP_ID, msi_body, msi_wmask, sizeof(msi_body));
}

void hda_destroy(struct hda *h)
{
	if (h->thread_started) {
		__atomic_store_n(&h->stopping, true, __ATOMIC_RELEASE);
		hda_wake(h);
		pthread_join(h->thread, NULL);
	}
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	if (h->epfd >= 0)
		close(h->epfd);
	pthread_mutex_destroy(&h->lock);
}

/* ---- on the board: --sound ---- */

struct hda_board {
	struct hda h;
	struct audio_backend *be;
};

static bool hda_wanted(const struct vm_config *cfg)
{
	return cfg->sound.kind != SOUND_NONE;
}

static void hda_unplug(void *state)
{
	struct hda_board *hb = state;

	hda_destroy(&hb->h);
	audio_close(hb->be);
	free(hb);
}

static int hda_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct hda_board *hb = calloc(1, sizeof(*hb));
	int rc;

	if (!hb)
		return -ENOMEM;
	rc = audio_open(&b->cfg->sound, &hb->be, err, errlen);
	if (rc < 0) {
		free(hb);
		return rc;
	}
	if (b->sound_tap) { /* the browser console's pages listen too */
		struct audio_backend *tee = audio_tee_new(hb->be, b->sound_tap);

		if (!tee) {
			audio_close(hb->be);
			free(hb);
			return -ENOMEM;
		}
		hb->be = tee;
	}
	hda_init(&hb->h, b->mem, hb->be, &audio_host_clock, b->set_irq, b->send_msi, b->opaque);
	*state = hb;
	rc = pci_bus_add(b->pci, &hb->h.pci);
	if (rc < 0) {
		snprintf(err, errlen, "cannot plug the HD Audio controller: no free PCI slot");
		return rc;
	}
	rc = hda_start(&hb->h, b->cfg->seccomp, b->vm_fd);
	if (rc < 0)
		snprintf(err, errlen, "hda: cannot start its timer thread: %s", strerror(-rc));
	return rc;
}

const struct device_model hda_device = {
    .name = "hda",
    .wanted = hda_wanted,
    .plug = hda_plug,
    .unplug = hda_unplug,
};
