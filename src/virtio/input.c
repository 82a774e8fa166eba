/* virtio-input (virtio 1.2, 5.8) as an absolute pointer, a tablet: a Linux guest's pointer goes
 * exactly where the VNC client's (or the window's) is, with no acceleration to undo. Events go
 * into the event queue's buffers; those that find no buffer wait in a small ring (older ones are
 * dropped when it is full). The status queue (LEDs) is drained and ignored. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/log.h"
#include "virtio/devices.h"
#include "devices/device.h"
#include "virtio/virtio_pci.h"

#define INPUT_QUEUE_SIZE 64
#define INPUT_PENDING	 128
#define INPUT_CFG_SIZE	 136 /* select, subsel, size, 5 reserved, 128 bytes of answer */

#define CFG_ID_NAME   0x01
#define CFG_ID_SERIAL 0x02
#define CFG_ID_DEVIDS 0x03
#define CFG_PROP_BITS 0x10
#define CFG_EV_BITS   0x11
#define CFG_ABS_INFO  0x12

/* Linux's input event codes (include/uapi/linux/input-event-codes.h). */
#define EV_SYN	   0
#define EV_KEY	   1
#define EV_REL	   2
#define EV_ABS	   3
#define BTN_LEFT   0x110
#define BTN_RIGHT  0x111
#define BTN_MIDDLE 0x112
#define REL_WHEEL  8
#define ABS_X	   0
#define ABS_Y	   1

struct input_event8 {
	uint16_t type, code;
	uint32_t value;
};

struct input {
	uint8_t select, subsel;
	uint8_t buttons; /* VNC button mask last sent */
	struct input_event8 pending[INPUT_PENDING];
	unsigned head, count;
	uint64_t events, dropped;
	struct virtq_chain chain;
};

/* The answer to (select, subsel) into u; returns its size. */
static uint8_t cfg_answer(const struct input *in, uint8_t u[128])
{
	static const char name[] = "Phyllome Tablet";

	memset(u, 0, 128);
	switch (in->select) {
	case CFG_ID_NAME:
		memcpy(u, name, sizeof(name) - 1);
		return sizeof(name) - 1;
	case CFG_ID_SERIAL:
		memcpy(u, "0", 1);
		return 1;
	case CFG_ID_DEVIDS:
		put_le16(u, 0x06); /* BUS_VIRTUAL */
		put_le16(u + 2, 0x0627);
		put_le16(u + 4, 0x0001);
		put_le16(u + 6, 0x0001);
		return 8;
	case CFG_EV_BITS:
		if (in->subsel == EV_KEY) {
			u[BTN_LEFT / 8] |= (uint8_t)(1u << (BTN_LEFT % 8));
			u[BTN_RIGHT / 8] |= (uint8_t)(1u << (BTN_RIGHT % 8));
			u[BTN_MIDDLE / 8] |= (uint8_t)(1u << (BTN_MIDDLE % 8));
			return BTN_MIDDLE / 8 + 1;
		}
		if (in->subsel == EV_REL) {
			u[REL_WHEEL / 8] |= (uint8_t)(1u << (REL_WHEEL % 8));
			return REL_WHEEL / 8 + 1;
		}
		if (in->subsel == EV_ABS) {
			u[0] = (1u << ABS_X) | (1u << ABS_Y);
			return 1;
		}
		return 0;
	case CFG_ABS_INFO:
		if (in->subsel != ABS_X && in->subsel != ABS_Y)
			return 0;
		put_le32(u, 0);
		put_le32(u + 4, VIRTIO_INPUT_ABS_MAX);
		return 20; /* min, max, fuzz, flat, res */
	default:
		return 0;
	}
}

static void input_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct input *in = d->priv;
	uint8_t cfg[INPUT_CFG_SIZE] = {in->select, in->subsel};

	cfg[2] = cfg_answer(in, cfg + 8);
	memcpy(data, cfg + off, len);
}

static void input_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data,
			       uint32_t len)
{
	struct input *in = d->priv;

	for (uint32_t i = 0; i < len; i++) {
		if (off + i == 0)
			in->select = data[i];
		else if (off + i == 1)
			in->subsel = data[i];
	}
}

static uint64_t input_features(struct virtio_dev *d)
{
	(void)d;
	return 0;
}

static int input_activate(struct virtio_dev *d)
{
	(void)d;
	return 0;
}

static void input_reset(struct virtio_dev *d)
{
	struct input *in = d->priv;

	in->head = in->count = 0;
	in->buttons = 0;
	in->select = in->subsel = 0;
}

/* Moves waiting events into the event queue's buffers. Caller holds d->lock. */
static void flush(struct virtio_dev *d)
{
	struct input *in = d->priv;
	struct virtq *vq = &d->vq[0];
	bool pushed = false;

	while (in->count && vq->ready && !vq->broken) {
		const struct input_event8 *e = &in->pending[in->head];
		uint8_t b[8];
		int rc = virtq_pop(vq, &in->chain);

		if (rc <= 0) {
			if (rc < 0)
				virtio_dev_set_needs_reset(d);
			break;
		}
		put_le16(b, e->type);
		put_le16(b + 2, e->code);
		put_le32(b + 4, e->value);
		virtq_push(vq, in->chain.head,
			   (uint32_t)iov_from_buf(in->chain.in, in->chain.nin, 0, b, sizeof(b)));
		in->head = (in->head + 1) % INPUT_PENDING;
		in->count--;
		pushed = true;
	}
	if (pushed)
		virtio_dev_notify(d, 0);
}

static void input_queue_notify(struct virtio_dev *d, unsigned q)
{
	struct input *in = d->priv;

	if (q == 0) {
		flush(d);
		return;
	}
	/* Status queue: LED changes; taken and returned unread. */
	for (int rc; (rc = virtq_pop(&d->vq[1], &in->chain)) != 0;) {
		if (rc < 0) {
			virtio_dev_set_needs_reset(d);
			return;
		}
		virtq_push(&d->vq[1], in->chain.head, 0);
	}
	virtio_dev_notify(d, 1);
}

static void input_destroy(struct virtio_dev *d)
{
	free(d->priv);
	d->priv = NULL;
}

static const struct virtio_dev_ops input_ops = {
    .name = "virtio-input",
    .device_id = VIRTIO_ID_INPUT,
    .pci_class = 0x098000, /* input controller, other: as QEMU's virtio-tablet-pci */
    .num_queues = 2,
    .queue_size = INPUT_QUEUE_SIZE,
    .config_size = INPUT_CFG_SIZE,
    .features = input_features,
    .config_read = input_config_read,
    .config_write = input_config_write,
    .activate = input_activate,
    .reset = input_reset,
    .queue_notify = input_queue_notify,
    .destroy = input_destroy,
};

int virtio_input_init(struct virtio_dev *d, char *err, size_t errlen)
{
	struct input *in = calloc(1, sizeof(*in));

	if (!in) {
		snprintf(err, errlen, "virtio-input: out of memory");
		return -ENOMEM;
	}
	d->ops = &input_ops;
	d->priv = in;
	return 0;
}

static void queue_event(struct input *in, uint16_t type, uint16_t code, uint32_t value)
{
	if (in->count == INPUT_PENDING) { /* the guest isn't reading: drop the oldest */
		in->head = (in->head + 1) % INPUT_PENDING;
		in->count--;
		in->dropped++;
	}
	in->pending[(in->head + in->count) % INPUT_PENDING] =
	    (struct input_event8){type, code, value};
	in->count++;
	in->events++;
}

void virtio_input_pointer(struct virtio_dev *d, uint32_t x, uint32_t y, uint8_t buttons)
{
	static const uint16_t btn[3] = {BTN_LEFT, BTN_MIDDLE, BTN_RIGHT}; /* VNC mask bits 0..2 */
	struct input *in;

	pthread_mutex_lock(&d->lock);
	in = d->priv;
	if (!in || !(d->status & VIRTIO_STATUS_DRIVER_OK)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	queue_event(in, EV_ABS, ABS_X, x > VIRTIO_INPUT_ABS_MAX ? VIRTIO_INPUT_ABS_MAX : x);
	queue_event(in, EV_ABS, ABS_Y, y > VIRTIO_INPUT_ABS_MAX ? VIRTIO_INPUT_ABS_MAX : y);
	for (unsigned i = 0; i < 3; i++)
		if ((buttons ^ in->buttons) & (1u << i))
			queue_event(in, EV_KEY, btn[i], (buttons >> i) & 1);
	/* VNC's wheel is buttons 4 (up) and 5 (down), pressed and released at once. */
	if (buttons & 0x08 & ~in->buttons)
		queue_event(in, EV_REL, REL_WHEEL, 1);
	if (buttons & 0x10 & ~in->buttons)
		queue_event(in, EV_REL, REL_WHEEL, (uint32_t)-1);
	queue_event(in, EV_SYN, 0, 0);
	in->buttons = buttons;
	flush(d);
	pthread_mutex_unlock(&d->lock);
}

bool virtio_input_ready(struct virtio_dev *d)
{
	bool ok;

	pthread_mutex_lock(&d->lock);
	ok = d->priv && (d->status & VIRTIO_STATUS_DRIVER_OK);
	pthread_mutex_unlock(&d->lock);
	return ok;
}

/* ---- on the board: the tablet, with a display ---- */

static bool input_wanted(const struct vm_config *cfg)
{
	return cfg->display.kind != DISPLAY_OFF;
}

static int input_make(struct virtio_dev *d, struct board *b, unsigned i, char *err, size_t errlen)
{
	(void)b;
	(void)i;
	return virtio_input_init(d, err, errlen);
}

static int input_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct virtio_set *set = calloc(1, sizeof(*set));

	*state = set;
	return set ? virtio_board_add(b, set, input_make, 0, NULL, err, errlen) : -ENOMEM;
}

const struct device_model virtio_input_device = {
    .name = "virtio-input",
    .wanted = input_wanted,
    .plug = input_plug,
    .unplug = virtio_set_unplug,
};
