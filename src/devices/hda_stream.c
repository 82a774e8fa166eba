/* The HD Audio controller's streams (devices/hda.h): the DMA engine that moves a running
 * stream's frames between the guest's buffer descriptor list and the codec at the stream's rate
 * on the host's clock, and the timer thread that runs it. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"
#include "devices/hda.h"
#include "kvm/seccomp.h"

static bool is_out(unsigned i)
{
	return i >= HDA_ISS;
}

/* ---- the DMA engine ---- */

void hda_stream_reset(struct hda_stream *s)
{
	memset(s, 0, sizeof(*s));
}

static void stream_fail(struct hda *h, struct hda_stream *s)
{
	s->failed = true;
	s->sts |= STS_DESE;
	h->stream_errors++;
}

void hda_stream_setup(struct hda *h, struct hda_stream *s)
{
	s->failed = false;
	if (hda_fmt_decode(s->fmt, &s->af, &s->sample_bytes) < 0 || !s->cbl) {
		stream_fail(h, s);
		return;
	}
	s->frame_bytes = s->af.channels * s->sample_bytes;
	if (s->lpib >= s->cbl)
		s->lpib = 0;
	audio_pace_start(&s->pace, s->af.rate, audio_clock_now(h->clock));
}

static void posbuf_update(struct hda *h, unsigned i)
{
	uint8_t v[4];

	if (!(h->dplbase & 1))
		return;
	put_le32(v, h->sd[i].lpib);
	/* A position buffer outside RAM is the guest's loss: no position there. */
	(void)gm_write(h->mem, ((uint64_t)h->dpubase << 32 | (h->dplbase & ~0x7Fu)) + 8ull * i, v,
		       sizeof(v));
}

/* Moves len bytes between buf and the stream's buffers (to_guest: an input stream), entry by
 * entry, wrapping the descriptor list after LVI and LPIB at CBL. -EFAULT: a descriptor or
 * buffer is not in RAM or an entry is empty. */
static int dma(struct hda *h, struct hda_stream *s, uint8_t *buf, uint32_t len, bool to_guest)
{
	while (len) {
		uint8_t e[BDLE_LEN];
		uint64_t addr;
		uint32_t blen, k;
		uint8_t *p;

		if (gm_read(h->mem, s->bdl + (uint64_t)BDLE_LEN * s->bde, e, sizeof(e)) < 0)
			return -EFAULT;
		addr = get_le64(e);
		blen = get_le32(e + 8);
		if (!blen)
			return -EFAULT;
		if (s->bde_off >= blen) { /* the guest shortened the entry in use */
			s->bde = s->bde >= (s->lvi & 0xFFu) ? 0 : s->bde + 1;
			s->bde_off = 0;
			continue;
		}
		k = blen - s->bde_off;
		if (k > len)
			k = len;
		if (k > s->cbl - s->lpib)
			k = s->cbl - s->lpib;
		p = gm_ptr(h->mem, addr + s->bde_off, k);
		if (!p)
			return -EFAULT;
		if (to_guest)
			memcpy(p, buf, k);
		else
			memcpy(buf, p, k);
		buf += k;
		len -= k;
		s->bde_off += k;
		s->lpib += k;
		if (s->bde_off == blen) {
			if (get_le32(e + 12) & 1)
				s->sts |= STS_BCIS;
			s->bde = s->bde >= (s->lvi & 0xFFu) ? 0 : s->bde + 1;
			s->bde_off = 0;
		}
		if (s->lpib >= s->cbl)
			s->lpib = 0;
	}
	return 0;
}

/* 16-bit PCM goes to and from the codec; other containers are moved as silence. */
static void stream_piece(struct hda *h, unsigned i, uint32_t frames)
{
	struct hda_stream *s = &h->sd[i];
	uint32_t bytes = frames * s->frame_bytes;
	uint8_t *buf = (uint8_t *)h->bounce;
	bool codec = hda_codec_wants(&h->codec, is_out(i), s->ctl >> 20) && s->sample_bytes == 2;

	if (is_out(i)) {
		if (dma(h, s, buf, bytes, false) < 0) {
			stream_fail(h, s);
			return;
		}
		if (codec)
			hda_codec_play(&h->codec, &s->af, h->bounce, frames);
		h->frames_out += frames;
		return;
	}
	if (codec)
		hda_codec_capture(&h->codec, &s->af, h->bounce, frames);
	else
		memset(buf, 0, bytes);
	if (dma(h, s, buf, bytes, true) < 0)
		stream_fail(h, s);
	else
		h->frames_in += frames;
}

static bool stream_tick(struct hda *h, unsigned i, uint64_t now)
{
	struct hda_stream *s = &h->sd[i];
	uint32_t due, sts = s->sts;

	if (!s->running || s->failed)
		return false;
	due = audio_pace_due(&s->pace, now, s->af.rate * HDA_CATCHUP_MS / 1000);
	while (due && !s->failed) {
		uint32_t k = due < HDA_CHUNK_FRAMES ? due : HDA_CHUNK_FRAMES;

		stream_piece(h, i, k);
		due -= k;
	}
	posbuf_update(h, i);
	return s->sts != sts;
}

void hda_tick(struct hda *h)
{
	bool event = false;
	uint64_t now;

	pthread_mutex_lock(&h->lock);
	now = audio_clock_now(h->clock);
	for (unsigned i = 0; i < HDA_STREAMS; i++)
		event |= stream_tick(h, i, now);
	if (event)
		hda_update_irq(h, true);
	pthread_mutex_unlock(&h->lock);
}

bool hda_any_running(struct hda *h)
{
	for (unsigned i = 0; i < HDA_STREAMS; i++)
		if (h->sd[i].running && !h->sd[i].failed)
			return true;
	return false;
}

void hda_wake(struct hda *h)
{
	uint64_t one = 1;

	if (h->thread_started && write(h->wake_fd, &one, sizeof(one)) < 0)
		pr_warn("hda: cannot wake the timer thread: %s", strerror(errno));
}

/* ---- the timer thread: a tick every HDA_TICK_MS while a stream runs, else asleep ---- */

static void *hda_thread(void *arg)
{
	struct hda *h = arg;
	struct epoll_event ev;
	uint64_t n;

	/* The device I/O threads' filter: epoll, eventfd reads, the WAV file's pwrite,
	 * KVM_IRQ_LINE and KVM_SIGNAL_MSI (ioctl). */
	if (seccomp_install_bound(SECCOMP_VIRTIO, h->seccomp,
				  &(struct seccomp_fds){.vm = h->vm_fd, .vcpu = -1}) < 0) {
		pr_err("hda: cannot install its thread's seccomp filter: no sound");
		return NULL;
	}
	while (!__atomic_load_n(&h->stopping, __ATOMIC_ACQUIRE)) {
		bool run;
		int k;

		pthread_mutex_lock(&h->lock);
		run = hda_any_running(h);
		pthread_mutex_unlock(&h->lock);
		k = epoll_wait(h->epfd, &ev, 1, run ? HDA_TICK_MS : -1);
		if (k < 0 && errno != EINTR) {
			pr_err("hda: epoll_wait: %s: no more sound", strerror(errno));
			return NULL;
		}
		if (k > 0 && read(h->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			return NULL;
		hda_tick(h);
	}
	return NULL;
}

int hda_start(struct hda *h, enum seccomp_mode seccomp, int vm_fd)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int rc;

	h->seccomp = seccomp;
	h->vm_fd = vm_fd;
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->wake_fd < 0 || h->epfd < 0 || epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->wake_fd, &ev) < 0)
		return -errno;
	rc = pthread_create(&h->thread, NULL, hda_thread, h);
	if (rc)
		return -rc;
	pthread_setname_np(h->thread, "hda");
	h->thread_started = true;
	return 0;
}
