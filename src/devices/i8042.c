#include "devices/i8042.h"

#include <string.h>
#include <errno.h>
#include <stdlib.h>
#include "arch/x86/acpi.h"
#include "devices/device.h"

#define STS_OBF	   0x01
#define STS_SYS	   0x04
#define STS_CMD	   0x08
#define STS_UNLOCK 0x10
#define STS_AUXOBF 0x20

#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_SYS	   0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE  0x40

#define ACK 0xFA

void i8042_init(struct i8042 *k, irq_set_fn set_irq, void *irq_opaque, void (*reset)(void *),
		void *reset_opaque)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->ctr = CTR_KBDINT | CTR_SYS | CTR_XLATE;
	k->kbd_enabled = true;
	k->aux_rate = 100;
	k->aux_res = 2;
	k->aux_stream = 1;
	k->set_irq = set_irq;
	k->irq_opaque = irq_opaque;
	k->reset = reset;
	k->reset_opaque = reset_opaque;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

static void update_irq(struct i8042 *k)
{
	int kbd = 0, aux = 0;

	if (k->q_count) {
		bool is_aux = k->q[k->q_head].aux;

		kbd = !is_aux && (k->ctr & CTR_KBDINT);
		aux = is_aux && (k->ctr & CTR_AUXINT);
	}
	if (kbd != k->irq_kbd && k->set_irq)
		k->set_irq(k->irq_opaque, I8042_KBD_IRQ, kbd);
	if (aux != k->irq_aux && k->set_irq)
		k->set_irq(k->irq_opaque, I8042_AUX_IRQ, aux);
	k->irq_kbd = kbd;
	k->irq_aux = aux;
}

static void push(struct i8042 *k, uint8_t b, bool aux)
{
	if (k->q_count == I8042_QUEUE)
		return;
	k->q[(k->q_head + k->q_count) % I8042_QUEUE].byte = b;
	k->q[(k->q_head + k->q_count) % I8042_QUEUE].aux = aux;
	k->q_count++;
}

/* PS/2 keyboard commands (sent through port 0x60). */
static void kbd_command(struct i8042 *k, uint8_t v)
{
	if (k->kbd_cmd) {
		k->kbd_cmd = 0; /* argument of LEDs / typematic / scancode set */
		push(k, ACK, false);
		return;
	}
	switch (v) {
	case 0xED: /* set LEDs */
	case 0xF3: /* typematic rate */
	case 0xF0: /* scancode set */
		k->kbd_cmd = v;
		push(k, ACK, false);
		break;
	case 0xF2: /* identify: MF2 keyboard */
		push(k, ACK, false);
		push(k, 0xAB, false);
		push(k, 0x83, false);
		break;
	case 0xFF: /* reset: ACK then self-test passed */
		k->kbd_enabled = true;
		push(k, ACK, false);
		push(k, 0xAA, false);
		break;
	case 0xF4:
		k->kbd_enabled = true;
		push(k, ACK, false);
		break;
	case 0xF5:
	case 0xF6:
		k->kbd_enabled = v == 0xF6;
		push(k, ACK, false);
		break;
	case 0xEE: /* echo */
		push(k, 0xEE, false);
		break;
	default:
		push(k, ACK, false);
		break;
	}
}

static void aux_status(struct i8042 *k)
{
	push(k, ACK, true);
	push(k,
	     (uint8_t)((k->aux_stream ? 0 : 0x40) | (k->aux_enabled ? 0x20 : 0) |
		       (k->aux_scaling ? 0x10 : 0)),
	     true);
	push(k, k->aux_res, true);
	push(k, k->aux_rate, true);
}

/* PS/2 mouse commands (sent with controller command 0xD4). */
static void aux_command(struct i8042 *k, uint8_t v)
{
	if (k->aux_cmd) {
		if (k->aux_cmd == 0xF3)
			k->aux_rate = v;
		else if (k->aux_cmd == 0xE8)
			k->aux_res = v & 3;
		k->aux_cmd = 0;
		push(k, ACK, true);
		return;
	}
	switch (v) {
	case 0xF3: /* sample rate */
	case 0xE8: /* resolution */
		k->aux_cmd = v;
		push(k, ACK, true);
		break;
	case 0xFF: /* reset: ACK, self-test passed, device id 0 */
		k->aux_enabled = false;
		k->aux_rate = 100;
		k->aux_res = 2;
		k->aux_stream = 1;
		push(k, ACK, true);
		push(k, 0xAA, true);
		push(k, 0x00, true);
		break;
	case 0xF2: /* identify: standard mouse */
		push(k, ACK, true);
		push(k, 0x00, true);
		break;
	case 0xE9:
		aux_status(k);
		break;
	case 0xF4:
	case 0xF5:
		k->aux_enabled = v == 0xF4;
		push(k, ACK, true);
		break;
	case 0xE6:
	case 0xE7:
		k->aux_scaling = v == 0xE7;
		push(k, ACK, true);
		break;
	case 0xEA: /* stream mode */
	case 0xF6: /* defaults */
		k->aux_stream = 1;
		push(k, ACK, true);
		break;
	case 0xF0: /* remote mode */
		k->aux_stream = 0;
		push(k, ACK, true);
		break;
	default:
		push(k, ACK, true);
		break;
	}
}

static void data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	switch (cmd) {
	case 0x60: /* write CTR */
		k->ctr = v;
		break;
	case 0xD1: /* write output port: bit 0 low pulses reset */
		if (!(v & 1) && k->reset)
			k->reset(k->reset_opaque);
		break;
	case 0xD2: /* write keyboard output buffer */
		push(k, v, false);
		break;
	case 0xD3: /* write aux output buffer */
		push(k, v, true);
		break;
	case 0xD4: /* write to the mouse */
		aux_command(k, v);
		break;
	default:
		kbd_command(k, v);
		break;
	}
}

static void controller_command(struct i8042 *k, uint8_t v)
{
	switch (v) {
	case 0x20: /* read CTR */
		push(k, k->ctr, false);
		break;
	case 0x60:
	case 0xD1:
	case 0xD2:
	case 0xD3:
	case 0xD4:
		k->pending_cmd = v;
		break;
	case 0xA7: /* disable aux */
		k->ctr |= CTR_AUXDIS;
		break;
	case 0xA8: /* enable aux */
		k->ctr &= (uint8_t)~CTR_AUXDIS;
		break;
	case 0xA9: /* aux interface test: passed */
	case 0xAB: /* keyboard interface test: passed */
		push(k, 0x00, false);
		break;
	case 0xAA: /* controller self-test */
		push(k, 0x55, false);
		break;
	case 0xAD:
		k->ctr |= CTR_KBDDIS;
		break;
	case 0xAE:
		k->ctr &= (uint8_t)~CTR_KBDDIS;
		break;
	case 0xD0: /* read output port: A20 on, not in reset */
		push(k, 0x03, false);
		break;
	case 0xFE: /* pulse the reset line */
		if (k->reset)
			k->reset(k->reset_opaque);
		break;
	default: /* 0xF0..0xFF pulse other lines; the rest we ignore */
		break;
	}
}

static uint8_t status(const struct i8042 *k)
{
	uint8_t s = STS_UNLOCK | (k->ctr & CTR_SYS ? STS_SYS : 0);

	if (k->q_count)
		s |= STS_OBF | (k->q[k->q_head].aux ? STS_AUXOBF : 0);
	if (k->pending_cmd)
		s |= STS_CMD;
	return s;
}

static uint8_t data_read(struct i8042 *k)
{
	uint8_t b;

	if (!k->q_count)
		return 0;
	b = k->q[k->q_head].byte;
	k->q_head = (k->q_head + 1) % I8042_QUEUE;
	k->q_count--;
	return b;
}

/* Reading the output buffer empties it: its interrupt line drops, and rises again (a new edge for
 * the edge-triggered IRQ 1 and 12) when the next byte moves in. Without the drop, a guest that
 * reads one byte per interrupt (Linux) never hears of the bytes queued behind the first. */
static void lower_irqs(struct i8042 *k)
{
	if (k->irq_kbd && k->set_irq)
		k->set_irq(k->irq_opaque, I8042_KBD_IRQ, 0);
	if (k->irq_aux && k->set_irq)
		k->set_irq(k->irq_opaque, I8042_AUX_IRQ, 0);
	k->irq_kbd = k->irq_aux = 0;
}

void i8042_data_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;

	(void)off;
	pthread_mutex_lock(&k->lock);
	if (is_write) {
		data_write(k, data[0]);
	} else {
		data[0] = data_read(k);
		lower_irqs(k);
	}
	for (uint32_t i = 1; i < len && !is_write; i++)
		data[i] = 0xff;
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

void i8042_cmd_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;

	(void)off;
	pthread_mutex_lock(&k->lock);
	if (is_write)
		controller_command(k, data[0]);
	else
		data[0] = status(k);
	for (uint32_t i = 1; i < len && !is_write; i++)
		data[i] = 0xff;
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

void i8042_kbd_bytes(struct i8042 *k, const uint8_t *b, unsigned n)
{
	pthread_mutex_lock(&k->lock);
	if (k->kbd_enabled && !(k->ctr & CTR_KBDDIS))
		for (unsigned i = 0; i < n; i++)
			push(k, b[i], false);
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

bool i8042_aux_active(struct i8042 *k)
{
	bool on;

	pthread_mutex_lock(&k->lock);
	on = k->aux_enabled && k->aux_stream && !(k->ctr & CTR_AUXDIS);
	pthread_mutex_unlock(&k->lock);
	return on;
}

void i8042_aux_move(struct i8042 *k, int dx, int dy, uint8_t buttons)
{
	pthread_mutex_lock(&k->lock);
	if (!k->aux_enabled || !k->aux_stream || (k->ctr & CTR_AUXDIS)) {
		pthread_mutex_unlock(&k->lock);
		return;
	}
	do {
		/* 9-bit two's complement per axis, PS/2's y axis points up. */
		int mx = dx > 255 ? 255 : dx < -255 ? -255 : dx;
		int my = dy > 255 ? 255 : dy < -255 ? -255 : dy;
		int py = -my;

		if (k->q_count + 3 > I8042_QUEUE)
			break; /* the guest isn't reading: drop the move */
		push(k, (uint8_t)(0x08 | (buttons & 7) | (mx < 0 ? 0x10 : 0) | (py < 0 ? 0x20 : 0)),
		     true);
		push(k, (uint8_t)mx, true);
		push(k, (uint8_t)py, true);
		dx -= mx;
		dy -= my;
	} while (dx || dy);
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

/* ---- on the board: ports 0x60/0x64; the reset line reboots ---- */

static void i8042_reset_line(void *opaque)
{
	struct board *b = opaque;

	b->stop(b->opaque, BOARD_REBOOT, NULL);
}

static int i8042_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int rc;

	(void)err;
	(void)errlen;
	*state = k;
	if (!k)
		return -ENOMEM;
	i8042_init(k, b->set_irq, b->opaque, i8042_reset_line, b);
	rc = board_add_pio(b, I8042_DATA_PORT, 1, i8042_data_io, k, "i8042-data");
	return rc ? rc : board_add_pio(b, I8042_COMMAND_PORT, 1, i8042_cmd_io, k, "i8042-cmd");
}

static void i8042_unplug(void *state)
{
	i8042_destroy(state);
	free(state);
}

static void i8042_dsdt(void *state, struct aml *a)
{
	static const struct acpi_isa_dev kbd = {
	    "PS2K", "PNP0303", 0, 1, {{I8042_DATA_PORT, 1}, {I8042_COMMAND_PORT, 1}}};
	static const struct acpi_isa_dev mouse = {"PS2M", "PNP0F13", 0, 12, {{0}}};

	(void)state;
	acpi_dsdt_isa(a, &kbd);
	acpi_dsdt_isa(a, &mouse);
}

const struct device_model i8042_device = {
    .name = "i8042",
    .plug = i8042_plug,
    .unplug = i8042_unplug,
    .dsdt = i8042_dsdt,
};
