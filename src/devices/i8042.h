/* i8042 PS/2 controller with a keyboard and a mouse behind it, and the CPU reset line
 * (command 0xFE), which Linux uses to reboot. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kvm/irq.h" /* irq_set_fn */

#define I8042_DATA_PORT	   0x60
#define I8042_COMMAND_PORT 0x64
#define I8042_KBD_IRQ	   1
#define I8042_AUX_IRQ	   12
#define I8042_QUEUE	   64

struct i8042 {
	pthread_mutex_t lock;
	uint8_t ctr;	     /* controller configuration ("command byte") */
	uint8_t pending_cmd; /* controller command waiting for its data byte */
	uint8_t kbd_cmd;     /* keyboard command waiting for its argument */
	uint8_t aux_cmd;     /* mouse command waiting for its argument */
	bool kbd_enabled, aux_enabled;
	uint8_t aux_rate, aux_res, aux_scaling, aux_stream;
	struct {
		uint8_t byte;
		uint8_t aux;
	} q[I8042_QUEUE];
	unsigned q_head, q_count;
	int irq_kbd, irq_aux;
	irq_set_fn set_irq;
	void *irq_opaque;
	void (*reset)(void *opaque); /* pulses the CPU reset line */
	void *reset_opaque;
};

void i8042_init(struct i8042 *k, irq_set_fn set_irq, void *irq_opaque, void (*reset)(void *),
		void *reset_opaque);
void i8042_destroy(struct i8042 *k);
void i8042_data_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
void i8042_cmd_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* Queues a mouse movement (dx right, dy down, in counts) and the button state (bit 0 left,
 * 1 middle, 2 right) as standard 3-byte PS/2 packets, when the guest has enabled the mouse in
 * stream mode; large moves are split. Any thread. */
void i8042_aux_move(struct i8042 *k, int dx, int dy, uint8_t buttons);
/* Whether the guest has enabled the PS/2 mouse (it reads packets). */
bool i8042_aux_active(struct i8042 *k);
/* Queues keyboard scancode bytes (set 2 translated by the controller is not modelled:
 * callers give set-1 bytes when translation is on). */
void i8042_kbd_bytes(struct i8042 *k, const uint8_t *b, unsigned n);

/* The controller on the board (devices/device.h): its reset line reboots the VM. */
extern const struct device_model i8042_device;
