/* USB HID devices on the xHCI controller's root ports: an absolute tablet (X and Y 0..32767,
 * three buttons, a wheel) and a boot-protocol keyboard (with its LEDs). Each is a full-speed
 * USB 2.0 device with one configuration, one HID interface and one interrupt IN endpoint
 * (0x81); the controller hands it the control requests of its endpoint 0 and asks it for the
 * next report when the guest has an interrupt transfer waiting.
 *
 * Not thread-safe by itself: the controller's lock guards it (the display thread queues reports
 * through xhci.h, which takes that lock). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define USB_HID_ABS_MAX	   32767
#define USB_HID_REPORT_MAX 8
#define USB_HID_QUEUE	   128 /* a typed line's reports, while a slow guest takes them */
#define USB_HID_EP_IN	   0x81
#define USB_STALL	   (-32) /* -EPIPE: the device answers the request with a STALL */

enum usb_hid_kind { USB_HID_TABLET, USB_HID_KEYBOARD };

/* A SETUP packet (USB 2.0 section 9.3). */
struct usb_setup {
	uint8_t type, request;
	uint16_t value, index, length;
};

struct usb_hid {
	enum usb_hid_kind kind;
	uint8_t address, config, protocol, idle, leds;
	uint8_t state[USB_HID_REPORT_MAX]; /* the report as it stands now (GET_REPORT) */
	uint8_t queue[USB_HID_QUEUE][USB_HID_REPORT_MAX];
	unsigned qhead, qlen;
	uint64_t queued, sent; /* reports made from input events, and taken by the guest */
};

void usb_hid_init(struct usb_hid *h, enum usb_hid_kind kind);
/* A bus reset (port reset, controller reset): address 0, not configured, no queued report. */
void usb_hid_reset(struct usb_hid *h);
/* The request s on endpoint 0. For a device-to-host request, data has room for len bytes
 * (wLength or less) and the answer goes there; for host-to-device, data holds the len bytes of
 * its data stage. Returns the bytes answered (0 with no data stage) or USB_STALL. */
int usb_hid_control(struct usb_hid *h, const struct usb_setup *s, uint8_t *data, unsigned len);
/* The next queued report into buf (USB_HID_REPORT_MAX bytes): its length, 0 when none. */
unsigned usb_hid_poll(struct usb_hid *h, uint8_t *buf);
bool usb_hid_pending(const struct usb_hid *h);
/* SET_CONFIGURATION 1 done and no reset since: the guest's driver has taken the device. */
bool usb_hid_configured(const struct usb_hid *h);
/* A key (a HID usage of the Keyboard page) went down or up: queues the keyboard's report. */
void usb_hid_key(struct usb_hid *h, uint8_t usage, bool down);
/* The tablet's pointer at (x, y) in 0..USB_HID_ABS_MAX, buttons (bit 0 left, 1 right, 2
 * middle), and wheel steps (positive: away from the user): queues its report. */
void usb_hid_pointer(struct usb_hid *h, uint16_t x, uint16_t y, uint8_t buttons, int8_t wheel);
