/* virtio-console (virtio 1.2, 5.3): one port (no MULTIPORT), receiveq0 and transmitq0,
 * with the console size from the host terminal and the emergency write register. The
 * host end is a struct console (terminal, file or Unix socket). Host input is read on
 * the device's I/O thread only while nothing is pending: bytes that find no receive
 * buffer wait until the driver adds some and kicks, so none are lost and nothing spins. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>

#include "common/bytes.h"
#include "common/log.h"
#include "virtio/devices.h"
#include "backends/console.h"
#include "devices/device.h"
#include "virtio/virtio_pci.h"

#define VIRTIO_CONSOLE_F_SIZE	     0
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

#define VCON_RXQ	0 /* receiveq0: host -> guest */
#define VCON_TXQ	1 /* transmitq0: guest -> host */
#define VCON_QUEUE_SIZE 256

/* struct virtio_console_config, little-endian. */
#define VCON_CFG_COLS	  0
#define VCON_CFG_ROWS	  2
#define VCON_CFG_MAXPORTS 4
#define VCON_CFG_EMERG_WR 8
#define VCON_CFG_SIZE	  12

struct vcons {
	struct console con;
	bool active;   /* DRIVER_OK and not reset since */
	bool quit;     /* the user asked to quit: input is no longer read */
	bool has_size; /* VIRTIO_CONSOLE_F_SIZE offered */
	uint16_t cols, rows;
	int watched;	 /* fd being watched for input, or -1 */
	int unwatchable; /* fd epoll refused (a regular file), or -1 */
	void (*quit_cb)(void *opaque);
	void *quit_opaque;
	struct virtq_chain chain; /* too large for the I/O thread's stack */
};

static void input_ready(struct virtio_dev *d, int fd, uint32_t events, void *arg);

/* Watches the fd the console wants read now: none while input is pending, the client
 * or the listening socket, the terminal until EOF. */
static void update_watch(struct virtio_dev *d, struct vcons *v)
{
	int want = v->quit ? -1 : console_poll_fd(&v->con);
	int rc;

	if (want == v->watched)
		return;
	/* The old fd may be closed already (a client that hung up); the transport
	 * tolerates that. */
	if (v->watched >= 0)
		virtio_dev_unwatch(d, v->watched);
	v->watched = -1;
	if (want < 0 || want == v->unwatchable)
		return;
	rc = virtio_dev_watch(d, want, EPOLLIN, input_ready, v);
	if (rc < 0) {
		/* EPERM: a regular file or /dev/null as stdin, which epoll refuses. */
		log_msg(rc == -EPERM ? LOG_INFO : LOG_WARN,
			"virtio-console: cannot watch input fd %d (%s): input ignored", want,
			strerror(-rc));
		v->unwatchable = want;
		return;
	}
	v->watched = want;
}

/* Moves pending host input into receive buffers while there are both. */
static void rx_deliver(struct virtio_dev *d, struct vcons *v)
{
	struct virtq *vq = &d->vq[VCON_RXQ];
	struct console *c = &v->con;
	bool pushed = false;

	if (!v->active)
		return;
	while (c->npending) {
		int rc = virtq_pop(vq, &v->chain);
		size_t n;

		if (rc < 0) {
			virtio_dev_set_needs_reset(d);
			break;
		}
		if (rc == 0)
			break; /* the driver kicks when it adds buffers */
		n = iov_from_buf(v->chain.in, v->chain.nin, 0, c->pending + c->pend_off,
				 c->npending);
		c->pend_off += n;
		c->npending -= n;
		virtq_push(vq, v->chain.head, (uint32_t)n);
		pushed = true;
	}
	if (pushed)
		virtio_dev_notify(d, VCON_RXQ);
}

static void request_quit(struct vcons *v)
{
	if (!v->quit_cb) {
		pr_warn("virtio-console: escape key: nothing to quit (no handler set)");
		return;
	}
	v->quit = true;
	v->quit_cb(v->quit_opaque);
}

static void input_ready(struct virtio_dev *d, int fd, uint32_t events, void *arg)
{
	struct vcons *v = arg;

	(void)events; /* hang-up and errors show as a failing read */
	/* An event for an fd we have stopped watching since it was collected. */
	if (fd == v->watched && fd == console_poll_fd(&v->con) && !v->quit &&
	    console_readable(&v->con))
		request_quit(v);
	rx_deliver(d, v);
	update_watch(d, v);
}

static void tx_process(struct virtio_dev *d, struct vcons *v)
{
	struct virtq *vq = &d->vq[VCON_TXQ];
	struct virtq_chain *c = &v->chain;
	bool pushed = false;
	int rc;

	while ((rc = virtq_pop(vq, c)) > 0) {
		for (unsigned i = 0; i < c->nout; i++)
			console_output(&v->con, c->out[i].iov_base, c->out[i].iov_len);
		virtq_push(vq, c->head, 0);
		pushed = true;
	}
	if (rc < 0)
		virtio_dev_set_needs_reset(d);
	if (pushed)
		virtio_dev_notify(d, VCON_TXQ);
}

static void vcon_queue_notify(struct virtio_dev *d, unsigned q)
{
	struct vcons *v = d->priv;

	if (q == VCON_TXQ)
		tx_process(d, v);
	else if (q == VCON_RXQ)
		rx_deliver(d, v);
	/* Output to a socket client that went away closes it: listen again. */
	update_watch(d, v);
}

static uint64_t vcon_features(struct virtio_dev *d)
{
	const struct vcons *v = d->priv;
	uint64_t f = 1ull << VIRTIO_CONSOLE_F_EMERG_WRITE;

	if (v->has_size)
		f |= 1ull << VIRTIO_CONSOLE_F_SIZE;
	return f;
}

static void vcon_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	const struct vcons *v = d->priv;
	uint8_t cfg[VCON_CFG_SIZE] = {0};

	if (v->has_size) {
		put_le16(cfg + VCON_CFG_COLS, v->cols);
		put_le16(cfg + VCON_CFG_ROWS, v->rows);
	}
	put_le32(cfg + VCON_CFG_MAXPORTS, 1);
	if (off < sizeof(cfg) && len <= sizeof(cfg) - off)
		memcpy(data, cfg + off, len);
}

/* Only emerg_wr is writable: its low byte goes out at once, whatever the device state
 * (the driver may use it before setting up the queues, or after they broke). */
static void vcon_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct vcons *v = d->priv;

	if (off > VCON_CFG_EMERG_WR || off + (uint64_t)len <= VCON_CFG_EMERG_WR)
		return;
	console_output(&v->con, data + (VCON_CFG_EMERG_WR - off), 1);
	update_watch(d, v);
}

static int vcon_activate(struct virtio_dev *d)
{
	struct vcons *v = d->priv;

	v->active = true;
	rx_deliver(d, v);
	update_watch(d, v);
	return 0;
}

/* Host input that arrived but was not delivered stays pending for the next driver. */
static void vcon_reset(struct virtio_dev *d)
{
	struct vcons *v = d->priv;

	v->active = false;
}

static void vcon_destroy(struct virtio_dev *d)
{
	struct vcons *v = d->priv;

	if (!v)
		return;
	console_close(&v->con);
	free(v);
	d->priv = NULL;
}

static const struct virtio_dev_ops vcon_ops = {
    .name = "virtio-console",
    .device_id = VIRTIO_ID_CONSOLE,
    .pci_class = 0x078000, /* simple communication controller, other */
    .num_queues = 2,
    .queue_size = VCON_QUEUE_SIZE,
    .config_size = VCON_CFG_SIZE,
    .features = vcon_features,
    .config_read = vcon_config_read,
    .config_write = vcon_config_write,
    .activate = vcon_activate,
    .reset = vcon_reset,
    .queue_notify = vcon_queue_notify,
    .destroy = vcon_destroy,
};

/* Console size for VIRTIO_CONSOLE_F_SIZE: only a terminal has one. */
static void read_size(struct vcons *v)
{
	struct winsize ws;

	if (v->con.mode != SERIAL_TTY || v->con.out_fd < 0 ||
	    ioctl(v->con.out_fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_col || !ws.ws_row)
		return;
	v->has_size = true;
	v->cols = ws.ws_col;
	v->rows = ws.ws_row;
}

int virtio_console_init(struct virtio_dev *d, enum serial_mode mode, const char *path, char *err,
			size_t errlen)
{
	struct vcons *v;
	int rc;

	if (mode == SERIAL_OFF) {
		snprintf(err, errlen, "virtio-console: no host end (mode off)");
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "virtio-console: out of memory");
		return -ENOMEM;
	}
	rc = console_open(&v->con, mode, path, err, errlen);
	if (rc < 0) {
		console_close(&v->con);
		free(v);
		return rc;
	}
	v->watched = v->unwatchable = -1;
	read_size(v);
	d->ops = &vcon_ops;
	d->priv = v;
	/* A socket client may connect before the driver is up: emergency writes reach it. */
	update_watch(d, v);
	return 0;
}

void virtio_console_set_quit_cb(struct virtio_dev *d, void (*cb)(void *opaque), void *opaque)
{
	struct vcons *v = d->priv;

	v->quit_cb = cb;
	v->quit_opaque = opaque;
}

/* ---- on the board: --console; its escape key ends the VMM ---- */

static bool console_wanted(const struct vm_config *cfg)
{
	return cfg->console != SERIAL_OFF;
}

static void console_quit(void *opaque)
{
	struct board *b = opaque;

	b->stop(b->opaque, BOARD_QUIT, NULL);
}

static int console_make(struct virtio_dev *d, struct board *b, unsigned i, char *err, size_t errlen)
{
	int rc = virtio_console_init(d, b->cfg->console, b->cfg->console_path, err, errlen);

	(void)i;
	if (rc == 0)
		virtio_console_set_quit_cb(d, console_quit, b);
	return rc;
}

static int console_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct virtio_set *set = calloc(1, sizeof(*set));

	*state = set;
	return set ? virtio_board_add(b, set, console_make, 0, NULL, err, errlen) : -ENOMEM;
}

const struct device_model virtio_console_device = {
    .name = "virtio-console",
    .wanted = console_wanted,
    .plug = console_plug,
    .unplug = virtio_set_unplug,
};
