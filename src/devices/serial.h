/* 16550A UART (COM1). Transmission is instant; received bytes wait in a ring that
 * stands in for the FIFO, so a paste into the console is not dropped. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm/irq.h" /* irq_set_fn */

#define SERIAL_COM1_BASE 0x3F8
#define SERIAL_COM1_IRQ	 4
#define SERIAL_RX_SIZE	 4096

typedef void (*serial_out_fn)(void *opaque, const uint8_t *buf, size_t n);

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr, dll, dlm;
	bool thr_irq; /* "THR empty" interrupt pending */
	int irq_level;
	unsigned irq;
	uint8_t rx[SERIAL_RX_SIZE];
	unsigned rx_head, rx_count;
	serial_out_fn out;
	void *out_opaque;
	irq_set_fn set_irq;
	void *irq_opaque;
	uint64_t tx_bytes, rx_bytes; /* counters: written under lock, read with relaxed atomics */
};

void serial_init(struct serial *s, unsigned irq, serial_out_fn out, void *out_opaque,
		 irq_set_fn set_irq, void *irq_opaque);
void serial_destroy(struct serial *s);
/* iobus handler for the 8 registers. */
void serial_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* Host -> guest bytes. Returns how many were taken (less than n when the ring is full). */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t n);
size_t serial_rx_space(struct serial *s);

/* COM1 on the board (devices/device.h), its output on the host's console. */
extern const struct device_model serial_device;
