#include "devices/serial.h"

#include <string.h>
#include "devices/device.h"
#include "backends/console.h"
#include "arch/x86/acpi.h"
#include "kvm/control.h"
#include <errno.h>
#include <stdlib.h>

/* Register offsets and bits (PC16550D data sheet). */
#define REG_RBR_THR 0
#define REG_IER	    1
#define REG_IIR_FCR 2
#define REG_LCR	    3
#define REG_MCR	    4
#define REG_LSR	    5
#define REG_MSR	    6
#define REG_SCR	    7

#define IER_RDI	 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI	 0x08

#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI	 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO 0xC0

#define LCR_DLAB     0x80
#define MCR_DTR	     0x01
#define MCR_RTS	     0x02
#define MCR_OUT1     0x04
#define MCR_OUT2     0x08
#define MCR_LOOP     0x10
#define LSR_DR	     0x01
#define LSR_OE	     0x02
#define LSR_THRE     0x20
#define LSR_TEMT     0x40
#define MSR_CTS	     0x10
#define MSR_DSR	     0x20
#define MSR_RI	     0x40
#define MSR_DCD	     0x80
#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02

void serial_init(struct serial *s, unsigned irq, serial_out_fn out, void *out_opaque,
		 irq_set_fn set_irq, void *irq_opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->irq = irq;
	s->out = out;
	s->out_opaque = out_opaque;
	s->set_irq = set_irq;
	s->irq_opaque = irq_opaque;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	s->dll = 0x0C; /* 9600 baud, as after a PC's reset */
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

/* The highest-priority pending interrupt, as IIR reports it. */
static uint8_t pending(const struct serial *s)
{
	if ((s->ier & IER_RLSI) && (s->lsr & LSR_OE))
		return IIR_RLSI;
	if ((s->ier & IER_RDI) && s->rx_count)
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_irq)
		return IIR_THRI;
	return IIR_NONE;
}

/* On a PC the UART's interrupt reaches the PIC only when OUT2 is set. */
static void update_irq(struct serial *s)
{
	int level = pending(s) != IIR_NONE && (s->mcr & MCR_OUT2);

	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->set_irq)
			s->set_irq(s->irq_opaque, s->irq, level);
	}
}

static void rx_push(struct serial *s, uint8_t b)
{
	if (s->rx_count == SERIAL_RX_SIZE) {
		s->lsr |= LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_SIZE] = b;
	s->rx_count++;
	s->lsr |= LSR_DR;
}

static uint8_t rx_pop(struct serial *s)
{
	uint8_t b = 0;

	if (s->rx_count) {
		b = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % SERIAL_RX_SIZE;
		if (--s->rx_count == 0)
			s->lsr &= (uint8_t)~LSR_DR;
	}
	return b;
}

static void write_thr(struct serial *s, uint8_t v)
{
	if (s->mcr & MCR_LOOP) {
		rx_push(s, v);
	} else {
		__atomic_store_n(&s->tx_bytes, s->tx_bytes + 1, __ATOMIC_RELAXED);
		if (s->out)
			s->out(s->out_opaque, &v, 1);
	}
	s->thr_irq = true; /* sent at once: the holding register is empty again */
}

static void write_reg(struct serial *s, unsigned reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR_THR:
		if (dlab)
			s->dll = v;
		else
			write_thr(s, v);
		break;
	case REG_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		/* Enabling the THR interrupt with the THR empty raises it at once. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thr_irq = true;
		s->ier = v & 0x0F;
		break;
	case REG_IIR_FCR:
		s->fcr = v & 0xC9;
		if (v & FCR_CLEAR_RX) {
			s->rx_count = 0;
			s->lsr &= (uint8_t)~LSR_DR;
		}
		break;
	case REG_LCR:
		s->lcr = v;
		break;
	case REG_MCR:
		s->mcr = v & 0x1F;
		break;
	case REG_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static uint8_t modem_status(const struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(m & MCR_LOOP))
		return s->msr;
	/* Loopback: the outputs come back as inputs (RTS->CTS, DTR->DSR, OUT1->RI,
	 * OUT2->DCD). Linux's probe checks this. */
	return (uint8_t)((m & MCR_RTS ? MSR_CTS : 0) | (m & MCR_DTR ? MSR_DSR : 0) |
			 (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0));
}

static uint8_t read_reg(struct serial *s, unsigned reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case REG_RBR_THR:
		return dlab ? s->dll : rx_pop(s);
	case REG_IER:
		return dlab ? s->dlm : s->ier;
	case REG_IIR_FCR:
		v = pending(s);
		if (v == IIR_THRI)
			s->thr_irq = false; /* reading IIR acknowledges THRE */
		return (uint8_t)(v | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0));
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		v = s->lsr;
		s->lsr &= (uint8_t)~LSR_OE;
		return v;
	case REG_MSR:
		return modem_status(s);
	default:
		return s->scr;
	}
}

void serial_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < len && off + i < 8; i++) {
		if (is_write)
			write_reg(s, (unsigned)(off + i), data[i]);
		else
			data[i] = read_reg(s, (unsigned)(off + i));
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_rx_space(struct serial *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = SERIAL_RX_SIZE - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t n)
{
	size_t taken = 0;

	pthread_mutex_lock(&s->lock);
	/* In loopback mode the line is disconnected from the outside world. */
	if (!(s->mcr & MCR_LOOP))
		for (; taken < n && s->rx_count < SERIAL_RX_SIZE; taken++)
			rx_push(s, buf[taken]);
	__atomic_store_n(&s->rx_bytes, s->rx_bytes + taken, __ATOMIC_RELAXED);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return taken;
}

/* ---- on the board: COM1, its output on the host's console ---- */

static int serial_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct serial *s = calloc(1, sizeof(*s));

	(void)err;
	(void)errlen;
	*state = s;
	if (!s)
		return -ENOMEM;
	serial_init(s, SERIAL_COM1_IRQ, console_output, b->con, b->set_irq, b->opaque);
	return board_add_pio(b, SERIAL_COM1_BASE, 8, serial_io, s, "com1");
}

static void serial_unplug(void *state)
{
	serial_destroy(state);
	free(state);
}

static void serial_dsdt(void *state, struct aml *a)
{
	static const struct acpi_isa_dev com1 = {
	    "COM1", "PNP0501", 1, SERIAL_COM1_IRQ, {{SERIAL_COM1_BASE, 8}}};

	(void)state;
	acpi_dsdt_isa(a, &com1);
}

static void serial_counters(void *state, struct ctl_counters *k)
{
	struct serial *s = state;

	k->serial_tx = __atomic_load_n(&s->tx_bytes, __ATOMIC_RELAXED);
	k->serial_rx = __atomic_load_n(&s->rx_bytes, __ATOMIC_RELAXED);
}

const struct device_model serial_device = {
    .name = "serial",
    .plug = serial_plug,
    .unplug = serial_unplug,
    .dsdt = serial_dsdt,
    .counters = serial_counters,
};
