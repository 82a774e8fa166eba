/* The 16550A UART driven through serial_io the way Linux's 8250 driver drives it, and the
 * console's escape-key filter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/serial.h"
#include "backends/console.h"

/* Registers and bits, from the PC16550D data sheet. */
enum {
	RBR = 0,
	THR = 0,
	DLL = 0,
	IER = 1,
	DLM = 1,
	IIR = 2,
	FCR = 2,
	LCR = 3,
	MCR = 4,
	LSR = 5,
	MSR = 6,
	SCR = 7
};
#define IER_RDI	 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR	 0x01
#define LSR_OE	 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

struct uart {
	struct serial s;
	uint8_t out[64];
	size_t nout;
	unsigned irq_calls;
	unsigned last_irq;
	int level;
};

static void out_cb(void *opaque, const uint8_t *buf, size_t n)
{
	struct uart *u = opaque;

	assert_true(u->nout + n <= sizeof(u->out));
	memcpy(u->out + u->nout, buf, n);
	u->nout += n;
}

static void irq_cb(void *opaque, unsigned irq, int level)
{
	struct uart *u = opaque;

	u->irq_calls++;
	u->last_irq = irq;
	u->level = level;
}

static int uart_setup(void **state)
{
	struct uart *u = calloc(1, sizeof(*u));

	if (!u)
		return -1;
	serial_init(&u->s, SERIAL_COM1_IRQ, out_cb, u, irq_cb, u);
	*state = u;
	return 0;
}

static int uart_teardown(void **state)
{
	struct uart *u = *state;

	serial_destroy(&u->s);
	free(u);
	return 0;
}

static uint8_t rd(struct uart *u, unsigned reg)
{
	uint8_t v = 0xEE;

	serial_io(&u->s, reg, &v, 1, false);
	return v;
}

static void wr(struct uart *u, unsigned reg, uint8_t v)
{
	serial_io(&u->s, reg, &v, 1, true);
}

static void test_reset_state(void **state)
{
	struct uart *u = *state;

	assert_int_equal(rd(u, IER), 0);
	assert_int_equal(rd(u, IIR), 0x01); /* no interrupt pending, no FIFO */
	assert_int_equal(rd(u, LSR), LSR_THRE | LSR_TEMT);
	assert_int_equal(rd(u, MCR), 0);
	assert_int_equal(rd(u, RBR), 0); /* nothing received */
	assert_int_equal(u->irq_calls, 0);
	assert_int_equal(serial_rx_space(&u->s), SERIAL_RX_SIZE);
}

static void test_scratch(void **state)
{
	struct uart *u = *state;

	wr(u, SCR, 0xA5);
	assert_int_equal(rd(u, SCR), 0xA5);
	wr(u, SCR, 0x5A);
	assert_int_equal(rd(u, SCR), 0x5A);
	assert_int_equal(u->nout, 0);
}

/* serial8250's autoconfig: loopback with RTS|OUT2 must read back CTS|DCD. */
static void test_loopback_probe(void **state)
{
	struct uart *u = *state;

	wr(u, MCR, MCR_LOOP);
	assert_int_equal(rd(u, MSR) & 0xF0, 0x00);
	wr(u, MCR, MCR_LOOP | MCR_OUT2 | MCR_RTS); /* 0x1A */
	assert_int_equal(rd(u, MSR) & 0xF0, 0x90);
	wr(u, MCR, 0x1F);
	assert_int_equal(rd(u, MSR) & 0xF0, 0xF0);
	wr(u, MCR, MCR_LOOP | MCR_DTR | MCR_OUT1);
	assert_int_equal(rd(u, MSR) & 0xF0, 0x60); /* DSR | RI */
	/* A byte sent in loop mode comes back in RBR, not out of the port. */
	wr(u, THR, 0x55);
	assert_int_equal(u->nout, 0);
	assert_true(rd(u, LSR) & LSR_DR);
	assert_int_equal(rd(u, RBR), 0x55);
	assert_false(rd(u, LSR) & LSR_DR);
	/* The outside world is disconnected meanwhile. */
	assert_int_equal(serial_receive(&u->s, (const uint8_t *)"zz", 2), 0);
	assert_false(rd(u, LSR) & LSR_DR);
	/* Out of loop mode: the lines as a connected terminal drives them, output goes out. */
	wr(u, MCR, MCR_OUT2 | MCR_RTS | MCR_DTR);
	assert_int_equal(rd(u, MSR) & 0xF0, 0xB0); /* DCD | DSR | CTS */
	wr(u, THR, 0x66);
	assert_int_equal(u->nout, 1);
	assert_int_equal(u->out[0], 0x66);
}

static void test_fifo_and_divisor(void **state)
{
	struct uart *u = *state;

	wr(u, FCR, 0xC7); /* enable, clear both, trigger 14 */
	assert_int_equal(rd(u, IIR), 0xC1);
	wr(u, FCR, 0x00);
	assert_int_equal(rd(u, IIR), 0x01);
	wr(u, FCR, 0x01);
	assert_int_equal(rd(u, IIR) & 0xC0, 0xC0);

	/* DLAB: offsets 0 and 1 are the divisor latch (9600 baud at reset: 12). */
	wr(u, IER, 0x05);
	wr(u, LCR, 0x83);
	assert_int_equal(rd(u, DLL), 0x0C);
	assert_int_equal(rd(u, DLM), 0x00);
	wr(u, DLL, 0x01); /* 115200 */
	wr(u, DLM, 0x02);
	assert_int_equal(rd(u, DLL), 0x01);
	assert_int_equal(rd(u, DLM), 0x02);
	assert_int_equal(u->nout, 0); /* a divisor write is not a byte sent */
	assert_int_equal(rd(u, LCR), 0x83);
	wr(u, LCR, 0x03);
	assert_int_equal(rd(u, IER), 0x05); /* IER untouched by the DLM write */
	wr(u, LCR, 0x83);
	assert_int_equal(rd(u, DLL), 0x01); /* latch kept across DLAB off/on */
	assert_int_equal(rd(u, DLM), 0x02);
	wr(u, LCR, 0x03);
	/* IER's upper nibble is reserved. */
	wr(u, IER, 0xFF);
	assert_int_equal(rd(u, IER), 0x0F);
}

static void test_thr_output(void **state)
{
	struct uart *u = *state;
	const char *msg = "hi\n";

	for (const char *p = msg; *p; p++)
		wr(u, THR, (uint8_t)*p);
	assert_int_equal(u->nout, 3);
	assert_memory_equal(u->out, msg, 3);
	assert_int_equal(rd(u, LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
	assert_int_equal(u->irq_calls, 0); /* IER is 0 */
}

static void test_thre_interrupt(void **state)
{
	struct uart *u = *state;

	wr(u, MCR, MCR_OUT2);
	assert_int_equal(u->irq_calls, 0);
	wr(u, IER, IER_THRI); /* THR is empty: the interrupt is raised at once */
	assert_int_equal(u->irq_calls, 1);
	assert_int_equal(u->last_irq, SERIAL_COM1_IRQ);
	assert_int_equal(u->level, 1);
	/* Reading IIR reports it and acknowledges it. */
	assert_int_equal(rd(u, IIR), 0x02);
	assert_int_equal(u->irq_calls, 2);
	assert_int_equal(u->level, 0);
	assert_int_equal(rd(u, IIR), 0x01);
	assert_int_equal(u->irq_calls, 2);
	/* The next byte sent empties the THR again. */
	wr(u, THR, 'x');
	assert_int_equal(u->irq_calls, 3);
	assert_int_equal(u->level, 1);
	/* Disabling THRI lowers the line; re-enabling raises it (the THR is still empty). */
	wr(u, IER, 0);
	assert_int_equal(u->level, 0);
	wr(u, IER, IER_THRI);
	assert_int_equal(u->level, 1);
	assert_int_equal(u->irq_calls, 5);
}

static void test_rx_priority(void **state)
{
	struct uart *u = *state;

	wr(u, MCR, MCR_OUT2);
	wr(u, IER, IER_RDI | IER_THRI);
	assert_int_equal(u->level, 1); /* THRE */
	assert_int_equal(serial_receive(&u->s, (const uint8_t *)"xy", 2), 2);
	assert_int_equal(serial_rx_space(&u->s), SERIAL_RX_SIZE - 2);
	assert_true(rd(u, LSR) & LSR_DR);
	/* Received data outranks THRE, and reading IIR does not drop the THRE. */
	assert_int_equal(rd(u, IIR), 0x04);
	assert_int_equal(rd(u, IIR), 0x04);
	assert_int_equal(rd(u, RBR), 'x');
	assert_int_equal(rd(u, IIR), 0x04);
	assert_int_equal(rd(u, RBR), 'y');
	assert_false(rd(u, LSR) & LSR_DR);
	assert_int_equal(u->level, 1);
	assert_int_equal(rd(u, IIR), 0x02);
	assert_int_equal(u->level, 0);
	assert_int_equal(rd(u, IIR), 0x01);
	assert_int_equal(u->nout, 0);
}

/* The line follows the interrupt state only while OUT2 is set, and is only called on
 * changes. */
static void test_irq_level_changes(void **state)
{
	struct uart *u = *state;

	wr(u, IER, IER_RDI);
	assert_int_equal(serial_receive(&u->s, (const uint8_t *)"a", 1), 1);
	assert_int_equal(rd(u, IIR), 0x04); /* pending, but OUT2 is off */
	assert_int_equal(u->irq_calls, 0);
	wr(u, MCR, MCR_OUT2);
	assert_int_equal(u->irq_calls, 1);
	assert_int_equal(u->level, 1);
	assert_int_equal(serial_receive(&u->s, (const uint8_t *)"bc", 2), 2);
	wr(u, SCR, 1);
	assert_int_equal(rd(u, RBR), 'a');
	assert_int_equal(rd(u, RBR), 'b');
	assert_int_equal(u->irq_calls, 1); /* still pending: no call */
	assert_int_equal(rd(u, RBR), 'c');
	assert_int_equal(u->irq_calls, 2);
	assert_int_equal(u->level, 0);
	assert_int_equal(rd(u, RBR), 0); /* empty */
	assert_int_equal(u->irq_calls, 2);
	/* OUT2 off with data pending lowers the line. */
	assert_int_equal(serial_receive(&u->s, (const uint8_t *)"d", 1), 1);
	assert_int_equal(u->irq_calls, 3);
	wr(u, MCR, 0);
	assert_int_equal(u->irq_calls, 4);
	assert_int_equal(u->level, 0);
}

static void test_rx_full(void **state)
{
	struct uart *u = *state;
	uint8_t *buf = malloc(SERIAL_RX_SIZE + 1000);

	assert_non_null(buf);
	for (unsigned i = 0; i < SERIAL_RX_SIZE + 1000; i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	assert_int_equal(serial_receive(&u->s, buf, SERIAL_RX_SIZE + 1000), SERIAL_RX_SIZE);
	assert_int_equal(serial_rx_space(&u->s), 0);
	assert_int_equal(serial_receive(&u->s, buf, 10), 0);
	/* A full ring is flow control, not an overrun. */
	assert_int_equal(rd(u, LSR), LSR_DR | LSR_THRE | LSR_TEMT);
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(rd(u, RBR), buf[i]);
	assert_int_equal(serial_receive(&u->s, buf + SERIAL_RX_SIZE, 1000), 100);
	for (unsigned i = 100; i < SERIAL_RX_SIZE + 100; i++)
		if (rd(u, RBR) != buf[i])
			fail_msg("byte %u out of order", i);
	assert_false(rd(u, LSR) & LSR_DR);
	/* FCR "clear receive FIFO" empties the ring. */
	assert_int_equal(serial_receive(&u->s, buf, 5), 5);
	wr(u, FCR, 0x03);
	assert_false(rd(u, LSR) & LSR_DR);
	assert_int_equal(serial_rx_space(&u->s), SERIAL_RX_SIZE);
	free(buf);
}

/* The one way to overrun the ring: loopback bytes into a full ring. */
static void test_overrun(void **state)
{
	struct uart *u = *state;
	uint8_t *buf = malloc(SERIAL_RX_SIZE);

	assert_non_null(buf);
	memset(buf, 'r', SERIAL_RX_SIZE);
	assert_int_equal(serial_receive(&u->s, buf, SERIAL_RX_SIZE), SERIAL_RX_SIZE);
	wr(u, IER, IER_RLSI | IER_RDI);
	wr(u, MCR, MCR_LOOP | MCR_OUT2);
	assert_int_equal(rd(u, IIR), 0x04);
	wr(u, THR, 'L');
	assert_int_equal(rd(u, IIR), 0x06); /* line status outranks data */
	assert_int_equal(rd(u, LSR), LSR_OE | LSR_DR | LSR_THRE | LSR_TEMT);
	assert_int_equal(rd(u, LSR), LSR_DR | LSR_THRE | LSR_TEMT); /* read clears OE */
	assert_int_equal(rd(u, IIR), 0x04);
	for (unsigned i = 0; i < SERIAL_RX_SIZE; i++)
		if (rd(u, RBR) != 'r')
			fail_msg("byte %u lost", i);
	assert_false(rd(u, LSR) & LSR_DR);
	free(buf);
}

static void test_wide_access(void **state)
{
	struct uart *u = *state;
	uint8_t d[2] = {0x11, 0x22};

	/* A 2-byte write at SCR-1 (MSR is read-only) sets SCR; a 2-byte read returns both. */
	serial_io(&u->s, MSR, d, 2, true);
	assert_int_equal(rd(u, SCR), 0x22);
	memset(d, 0, sizeof(d));
	serial_io(&u->s, LSR, d, 2, false);
	assert_int_equal(d[0], LSR_THRE | LSR_TEMT);
	assert_int_equal(d[1], 0xB0);
}

/* ---- console_filter ---- */

static void test_console_filter(void **state)
{
	uint8_t out[16];
	bool esc = false;

	(void)state;
	assert_int_equal(console_filter(&esc, (const uint8_t *)"abc", 3, out), 3);
	assert_memory_equal(out, "abc", 3);
	assert_int_equal(console_filter(&esc, (const uint8_t *)"", 0, out), 0);
	/* Ctrl-A x quits, wherever it is. */
	assert_int_equal(console_filter(&esc, (const uint8_t *)"ab\x01xcd", 6, out), -1);
	esc = false;
	assert_int_equal(console_filter(&esc, (const uint8_t *)"\x01X", 2, out), -1);
	/* Ctrl-A Ctrl-A is one Ctrl-A; Ctrl-A and another key are both dropped. */
	esc = false;
	assert_int_equal(console_filter(&esc,
					(const uint8_t *)"a\x01\x01"
							 "b",
					4, out),
			 3);
	assert_memory_equal(out,
			    "a\x01"
			    "b",
			    3);
	assert_false(esc);
	assert_int_equal(console_filter(&esc, (const uint8_t *)"\x01q!", 3, out), 1);
	assert_int_equal(out[0], '!');
	/* The state carries across calls. */
	assert_int_equal(console_filter(&esc, (const uint8_t *)"z\x01", 2, out), 1);
	assert_true(esc);
	assert_int_equal(console_filter(&esc, (const uint8_t *)"x", 1, out), -1);
	esc = false;
	assert_int_equal(console_filter(&esc, (const uint8_t *)"\x01", 1, out), 0);
	assert_true(esc);
	assert_int_equal(console_filter(&esc, (const uint8_t *)"\x01y", 2, out), 2);
	assert_memory_equal(out, "\x01y", 2);
	assert_false(esc);
	/* An escape alone at the end of one read, a plain key at the start of the next. */
	assert_int_equal(console_filter(&esc, (const uint8_t *)"\x01", 1, out), 0);
	assert_int_equal(console_filter(&esc, (const uint8_t *)"ab", 2, out), 1);
	assert_int_equal(out[0], 'b');
}

#define UART_TEST(f) cmocka_unit_test_setup_teardown(f, uart_setup, uart_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    UART_TEST(test_reset_state),    UART_TEST(test_scratch),
	    UART_TEST(test_loopback_probe), UART_TEST(test_fifo_and_divisor),
	    UART_TEST(test_thr_output),	    UART_TEST(test_thre_interrupt),
	    UART_TEST(test_rx_priority),    UART_TEST(test_irq_level_changes),
	    UART_TEST(test_rx_full),	    UART_TEST(test_overrun),
	    UART_TEST(test_wide_access),    cmocka_unit_test(test_console_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
