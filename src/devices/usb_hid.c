#include "devices/usb_hid.h"

#include <string.h>

#include "common/bytes.h"
#include "common/log.h"

/* Standard requests (USB 2.0 table 9-4) and HID class requests (HID 1.11 section 7.2). */
#define REQ_GET_STATUS	      0x00
#define REQ_CLEAR_FEATURE     0x01
#define REQ_SET_FEATURE	      0x03
#define REQ_SET_ADDRESS	      0x05
#define REQ_GET_DESCRIPTOR    0x06
#define REQ_GET_CONFIGURATION 0x08
#define REQ_SET_CONFIGURATION 0x09
#define REQ_GET_INTERFACE     0x0A
#define REQ_SET_INTERFACE     0x0B
#define HID_GET_REPORT	      0x01
#define HID_GET_IDLE	      0x02
#define HID_GET_PROTOCOL      0x03
#define HID_SET_REPORT	      0x09
#define HID_SET_IDLE	      0x0A
#define HID_SET_PROTOCOL      0x0B

#define DT_DEVICE	  1
#define DT_CONFIG	  2
#define DT_STRING	  3
#define DT_INTERFACE	  4
#define DT_ENDPOINT	  5
#define DT_HID		  0x21
#define DT_REPORT	  0x22
#define TYPE_CLASS	  0x20
#define TYPE_MASK	  0x60
#define DIR_IN		  0x80
#define RECIP_MASK	  0x1F
#define RECIP_INTERFACE	  1
#define PROTOCOL_BOOT	  0
#define PROTOCOL_REPORT	  1
#define KBD_REPORT_LEN	  8
#define TABLET_REPORT_LEN 6
#define VENDOR_ID	  0x1209 /* pid.codes, the open-source vendor ID (docs/display.md) */

/* Tablet: three buttons, X and Y absolute 0..32767 (16 bits each), a relative wheel. */
static const uint8_t tablet_report_desc[] = {
    0x05, 0x01,	      /* Usage Page (Generic Desktop) */
    0x09, 0x02,	      /* Usage (Mouse) */
    0xA1, 0x01,	      /* Collection (Application) */
    0x09, 0x01,	      /*   Usage (Pointer) */
    0xA1, 0x00,	      /*   Collection (Physical) */
    0x05, 0x09,	      /*     Usage Page (Button) */
    0x19, 0x01,	      /*     Usage Minimum (1) */
    0x29, 0x03,	      /*     Usage Maximum (3) */
    0x15, 0x00,	      /*     Logical Minimum (0) */
    0x25, 0x01,	      /*     Logical Maximum (1) */
    0x95, 0x03,	      /*     Report Count (3) */
    0x75, 0x01,	      /*     Report Size (1) */
    0x81, 0x02,	      /*     Input (Data, Variable, Absolute) */
    0x95, 0x01,	      /*     Report Count (1) */
    0x75, 0x05,	      /*     Report Size (5) */
    0x81, 0x01,	      /*     Input (Constant) */
    0x05, 0x01,	      /*     Usage Page (Generic Desktop) */
    0x09, 0x30,	      /*     Usage (X) */
    0x09, 0x31,	      /*     Usage (Y) */
    0x15, 0x00,	      /*     Logical Minimum (0) */
    0x26, 0xFF, 0x7F, /*     Logical Maximum (32767) */
    0x35, 0x00,	      /*     Physical Minimum (0) */
    0x46, 0xFF, 0x7F, /*     Physical Maximum (32767) */
    0x75, 0x10,	      /*     Report Size (16) */
    0x95, 0x02,	      /*     Report Count (2) */
    0x81, 0x02,	      /*     Input (Data, Variable, Absolute) */
    0x09, 0x38,	      /*     Usage (Wheel) */
    0x15, 0x81,	      /*     Logical Minimum (-127) */
    0x25, 0x7F,	      /*     Logical Maximum (127) */
    0x35, 0x00,	      /*     Physical Minimum (0) */
    0x45, 0x00,	      /*     Physical Maximum (0) */
    0x75, 0x08,	      /*     Report Size (8) */
    0x95, 0x01,	      /*     Report Count (1) */
    0x81, 0x06,	      /*     Input (Data, Variable, Relative) */
    0xC0,	      /*   End Collection */
    0xC0,	      /* End Collection */
};

/* Keyboard: the boot report (modifiers, a reserved byte, six keys) and five LEDs. */
static const uint8_t kbd_report_desc[] = {
    0x05, 0x01,	      /* Usage Page (Generic Desktop) */
    0x09, 0x06,	      /* Usage (Keyboard) */
    0xA1, 0x01,	      /* Collection (Application) */
    0x05, 0x07,	      /*   Usage Page (Keyboard/Keypad) */
    0x19, 0xE0,	      /*   Usage Minimum (Left Control) */
    0x29, 0xE7,	      /*   Usage Maximum (Right GUI) */
    0x15, 0x00,	      /*   Logical Minimum (0) */
    0x25, 0x01,	      /*   Logical Maximum (1) */
    0x75, 0x01,	      /*   Report Size (1) */
    0x95, 0x08,	      /*   Report Count (8) */
    0x81, 0x02,	      /*   Input (Data, Variable, Absolute): modifiers */
    0x95, 0x01,	      /*   Report Count (1) */
    0x75, 0x08,	      /*   Report Size (8) */
    0x81, 0x01,	      /*   Input (Constant): reserved */
    0x95, 0x05,	      /*   Report Count (5) */
    0x75, 0x01,	      /*   Report Size (1) */
    0x05, 0x08,	      /*   Usage Page (LEDs) */
    0x19, 0x01,	      /*   Usage Minimum (Num Lock) */
    0x29, 0x05,	      /*   Usage Maximum (Kana) */
    0x91, 0x02,	      /*   Output (Data, Variable, Absolute): LEDs */
    0x95, 0x01,	      /*   Report Count (1) */
    0x75, 0x03,	      /*   Report Size (3) */
    0x91, 0x01,	      /*   Output (Constant): padding */
    0x95, 0x06,	      /*   Report Count (6) */
    0x75, 0x08,	      /*   Report Size (8) */
    0x15, 0x00,	      /*   Logical Minimum (0) */
    0x26, 0xFF, 0x00, /*   Logical Maximum (255) */
    0x05, 0x07,	      /*   Usage Page (Keyboard/Keypad) */
    0x19, 0x00,	      /*   Usage Minimum (0) */
    0x2A, 0xFF, 0x00, /*   Usage Maximum (255) */
    0x81, 0x00,	      /*   Input (Data, Array): keys */
    0xC0,	      /* End Collection */
};

static const char *const strings[2][3] = {
    {"Phyllome", "USB Tablet", "1"},
    {"Phyllome", "USB Keyboard", "1"},
};

static const uint8_t *report_desc(const struct usb_hid *h, unsigned *len)
{
	if (h->kind == USB_HID_KEYBOARD) {
		*len = sizeof(kbd_report_desc);
		return kbd_report_desc;
	}
	*len = sizeof(tablet_report_desc);
	return tablet_report_desc;
}

static unsigned report_len(const struct usb_hid *h)
{
	return h->kind == USB_HID_KEYBOARD ? KBD_REPORT_LEN : TABLET_REPORT_LEN;
}

void usb_hid_init(struct usb_hid *h, enum usb_hid_kind kind)
{
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	usb_hid_reset(h);
}

void usb_hid_reset(struct usb_hid *h)
{
	h->address = 0;
	h->config = 0;
	h->protocol = PROTOCOL_REPORT; /* HID 1.11 section 7.2.6: report protocol after reset */
	h->idle = 0;
	h->qhead = h->qlen = 0;
}

static void device_desc(const struct usb_hid *h, uint8_t d[18])
{
	memset(d, 0, 18);
	d[0] = 18;
	d[1] = DT_DEVICE;
	put_le16(d + 2, 0x0200); /* USB 2.0 (full speed only: no device qualifier) */
	d[7] = 64;		 /* bMaxPacketSize0 */
	put_le16(d + 8, VENDOR_ID);
	put_le16(d + 10, h->kind == USB_HID_KEYBOARD ? 0x0002 : 0x0001);
	put_le16(d + 12, 0x0100);
	d[14] = 1; /* iManufacturer */
	d[15] = 2; /* iProduct */
	d[16] = 3; /* iSerialNumber */
	d[17] = 1; /* bNumConfigurations */
}

/* Configuration, interface, HID and endpoint descriptors: 34 bytes. */
static unsigned config_desc(const struct usb_hid *h, uint8_t d[34])
{
	unsigned rlen;
	bool kbd = h->kind == USB_HID_KEYBOARD;

	report_desc(h, &rlen);
	memset(d, 0, 34);
	d[0] = 9;
	d[1] = DT_CONFIG;
	put_le16(d + 2, 34);
	d[4] = 1;    /* bNumInterfaces */
	d[5] = 1;    /* bConfigurationValue */
	d[7] = 0x80; /* bus powered, no remote wakeup */
	d[8] = 50;   /* 100 mA */
	d[9] = 9;
	d[10] = DT_INTERFACE;
	d[13] = 1;	     /* bNumEndpoints */
	d[14] = 3;	     /* HID */
	d[15] = kbd ? 1 : 0; /* boot interface subclass: the keyboard only (a boot mouse */
	d[16] = kbd ? 1 : 0; /* is relative, the tablet is not) */
	d[18] = 9;
	d[19] = DT_HID;
	put_le16(d + 20, 0x0111); /* HID 1.11 */
	d[23] = 1;		  /* one class descriptor: */
	d[24] = DT_REPORT;	  /* the report descriptor */
	put_le16(d + 25, (uint16_t)rlen);
	d[27] = 7;
	d[28] = DT_ENDPOINT;
	d[29] = USB_HID_EP_IN;
	d[30] = 3; /* interrupt */
	put_le16(d + 31, (uint16_t)report_len(h));
	d[33] = kbd ? 10 : 4; /* bInterval, ms */
	return 34;
}

/* String descriptor i (0: the language list, US English), UTF-16LE. */
static unsigned string_desc(const struct usb_hid *h, unsigned i, uint8_t *d)
{
	const char *s;
	unsigned n;

	if (i == 0) {
		d[0] = 4;
		d[1] = DT_STRING;
		put_le16(d + 2, 0x0409);
		return 4;
	}
	if (i > 3)
		return 0;
	s = strings[h->kind == USB_HID_KEYBOARD][i - 1];
	n = (unsigned)strlen(s);
	d[0] = (uint8_t)(2 + 2 * n);
	d[1] = DT_STRING;
	for (unsigned k = 0; k < n; k++)
		put_le16(d + 2 + 2 * k, (uint8_t)s[k]);
	return 2 + 2 * n;
}

/* GET_DESCRIPTOR: the whole descriptor into buf (256 bytes); 0 when there is none. */
static unsigned descriptor(const struct usb_hid *h, const struct usb_setup *s, uint8_t *buf)
{
	unsigned type = s->value >> 8, idx = s->value & 0xFF, len = 0;

	if ((s->type & RECIP_MASK) == RECIP_INTERFACE) {
		if (s->index != 0)
			return 0;
		if (type == DT_REPORT) {
			const uint8_t *rd = report_desc(h, &len);

			memcpy(buf, rd, len);
		} else if (type == DT_HID) {
			uint8_t c[34];

			config_desc(h, c);
			memcpy(buf, c + 18, 9);
			len = 9;
		}
		return len;
	}
	switch (type) {
	case DT_DEVICE:
		device_desc(h, buf);
		return 18;
	case DT_CONFIG:
		return idx == 0 ? config_desc(h, buf) : 0;
	case DT_STRING:
		return string_desc(h, idx, buf);
	default:
		return 0; /* device qualifier, BOS...: a full-speed-only device has none */
	}
}

static int standard(struct usb_hid *h, const struct usb_setup *s, uint8_t *data, unsigned len)
{
	uint8_t buf[256];
	unsigned n;

	switch (s->request) {
	case REQ_GET_STATUS:
		memset(buf, 0, 2);
		n = 2;
		break;
	case REQ_CLEAR_FEATURE:
	case REQ_SET_FEATURE:
		return 0; /* halt of endpoint 0x81 (nothing to clear), remote wakeup (unused) */
	case REQ_SET_ADDRESS:
		if (s->value > 127)
			return USB_STALL;
		h->address = (uint8_t)s->value;
		return 0;
	case REQ_GET_DESCRIPTOR:
		n = descriptor(h, s, buf);
		if (!n)
			return USB_STALL;
		break;
	case REQ_GET_CONFIGURATION:
		buf[0] = h->config;
		n = 1;
		break;
	case REQ_SET_CONFIGURATION:
		if (s->value > 1)
			return USB_STALL;
		h->config = (uint8_t)s->value;
		h->qhead = h->qlen = 0;
		pr_info("usb: the guest %s the %s", h->config ? "configured" : "unconfigured",
			h->kind == USB_HID_KEYBOARD ? "keyboard" : "tablet");
		return 0;
	case REQ_GET_INTERFACE:
		buf[0] = 0;
		n = 1;
		break;
	case REQ_SET_INTERFACE:
		return s->value == 0 && s->index == 0 ? 0 : USB_STALL;
	default:
		return USB_STALL;
	}
	if (!(s->type & DIR_IN))
		return USB_STALL;
	n = n < len ? n : len;
	memcpy(data, buf, n);
	return (int)n;
}

static int class_request(struct usb_hid *h, const struct usb_setup *s, uint8_t *data, unsigned len)
{
	unsigned n = report_len(h);

	if ((s->type & RECIP_MASK) != RECIP_INTERFACE || (s->index & 0xFF) != 0)
		return USB_STALL;
	switch (s->request) {
	case HID_GET_REPORT:
		n = n < len ? n : len;
		memcpy(data, h->state, n);
		return (int)n;
	case HID_GET_IDLE:
		if (len)
			data[0] = h->idle;
		return len ? 1 : 0;
	case HID_GET_PROTOCOL:
		if (len)
			data[0] = h->protocol;
		return len ? 1 : 0;
	case HID_SET_REPORT:
		if (h->kind == USB_HID_KEYBOARD && len >= 1)
			h->leds = data[0] & 0x1F;
		return 0;
	case HID_SET_IDLE:
		h->idle = (uint8_t)(s->value >> 8); /* reports go on changes; no repeats */
		return 0;
	case HID_SET_PROTOCOL:
		if (s->value > PROTOCOL_REPORT)
			return USB_STALL;
		h->protocol = (uint8_t)s->value; /* the keyboard's report is the boot one anyway */
		return 0;
	default:
		return USB_STALL;
	}
}

int usb_hid_control(struct usb_hid *h, const struct usb_setup *s, uint8_t *data, unsigned len)
{
	switch (s->type & TYPE_MASK) {
	case 0:
		return standard(h, s, data, len);
	case TYPE_CLASS:
		return class_request(h, s, data, len);
	default:
		return USB_STALL;
	}
}

bool usb_hid_pending(const struct usb_hid *h)
{
	return h->qlen != 0;
}

unsigned usb_hid_poll(struct usb_hid *h, uint8_t *buf)
{
	if (!h->qlen)
		return 0;
	memcpy(buf, h->queue[h->qhead], USB_HID_REPORT_MAX);
	h->qhead = (h->qhead + 1) % USB_HID_QUEUE;
	h->qlen--;
	h->sent++;
	return report_len(h);
}

bool usb_hid_configured(const struct usb_hid *h)
{
	return h->config != 0;
}

/* Queues the current state. The tablet's moves with the same buttons and no wheel replace the
 * last queued one (only where the pointer is matters); a full queue keeps its oldest reports and
 * takes the newest state in its last entry, so that the guest always ends at what the user did
 * last. */
static void queue_state(struct usb_hid *h)
{
	unsigned tail = (h->qhead + h->qlen + USB_HID_QUEUE - 1) % USB_HID_QUEUE;
	const uint8_t *last = h->queue[tail];

	if (!h->config)
		return;
	h->queued++;
	if (h->qlen && h->kind == USB_HID_TABLET && last[0] == h->state[0] && !last[5] &&
	    !h->state[5]) {
		memcpy(h->queue[tail], h->state, USB_HID_REPORT_MAX);
		return;
	}
	if (h->qlen < USB_HID_QUEUE)
		h->qlen++;
	tail = (h->qhead + h->qlen - 1) % USB_HID_QUEUE;
	memcpy(h->queue[tail], h->state, USB_HID_REPORT_MAX);
}

void usb_hid_key(struct usb_hid *h, uint8_t usage, bool down)
{
	uint8_t *keys = h->state + 2;

	if (h->kind != USB_HID_KEYBOARD || usage == 0)
		return;
	if (usage >= 0xE0 && usage <= 0xE7) {
		uint8_t bit = (uint8_t)(1u << (usage - 0xE0));

		h->state[0] = down ? h->state[0] | bit : h->state[0] & (uint8_t)~bit;
	} else {
		unsigned i;

		for (i = 0; i < 6 && keys[i] != usage; i++)
			;
		if (down && i == 6) {
			for (i = 0; i < 6 && keys[i]; i++)
				;
			if (i < 6)
				keys[i] = usage; /* a seventh key at once is dropped */
		} else if (!down && i < 6) {
			memmove(keys + i, keys + i + 1, 5 - i);
			keys[5] = 0;
		}
	}
	queue_state(h);
}

void usb_hid_pointer(struct usb_hid *h, uint16_t x, uint16_t y, uint8_t buttons, int8_t wheel)
{
	if (h->kind != USB_HID_TABLET)
		return;
	h->state[0] = buttons & 7;
	put_le16(h->state + 1, x > USB_HID_ABS_MAX ? USB_HID_ABS_MAX : x);
	put_le16(h->state + 3, y > USB_HID_ABS_MAX ? USB_HID_ABS_MAX : y);
	h->state[5] = (uint8_t)wheel;
	queue_state(h);
	h->state[5] = 0; /* the wheel is relative: GET_REPORT says no motion */
}
