/*
 * test_serial.c — the 16550A register model (vmm/serial.c), driven through
 * its bus handler the way a guest's 8250 driver does; interrupts and kicks
 * are counted on real eventfds.
 */
#include "tests/unit/testlib.h"

#include <stdlib.h>
#include <unistd.h>
#include <linux/serial_reg.h>

#include "vmm/serial.h"

struct fixture {
	struct serial s;
	int irq_fd, kick_fd;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->irq_fd = test_eventfd();
	f->kick_fd = test_eventfd();
	serial_init(&f->s, f->irq_fd, f->kick_fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	serial_destroy(&f->s);
	close(f->irq_fd);
	close(f->kick_fd);
	free(f);
	return 0;
}

static void out(struct fixture *f, unsigned int reg, uint8_t v)
{
	serial_io(&f->s, reg, &v, 1, true);
}

static uint8_t in(struct fixture *f, unsigned int reg)
{
	uint8_t v = 0x5a;

	serial_io(&f->s, reg, &v, 1, false);
	return v;
}

/* Put @n bytes of host input into the RX ring; returns what was accepted. */
static size_t rx_put(struct fixture *f, size_t n)
{
	uint8_t *buf = malloc(n);
	size_t r;

	assert_non_null(buf);
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)i;
	r = serial_rx_put(&f->s, buf, n);
	free(buf);
	return r;
}

static size_t tx_take_all(struct fixture *f, uint8_t *buf, size_t max)
{
	return serial_tx_take(&f->s, buf, max);
}

/* ---- LSR ---- */

static void lsr_after_reset_thr_empty_no_data(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in(f, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
}

static void lsr_dr_follows_rx_data(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rx_put(f, 1), 1);
	assert_true(in(f, UART_LSR) & UART_LSR_DR);
	assert_int_equal(in(f, UART_RX), 0);
	assert_false(in(f, UART_LSR) & UART_LSR_DR);
}

static void rbr_empty_reads_zero(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in(f, UART_RX), 0);
}

/* ---- IER / IIR ---- */

static void ier_masked_to_four_bits(void **state)
{
	struct fixture *f = *state;

	out(f, UART_IER, 0xff);
	assert_int_equal(in(f, UART_IER), 0x0f);
}

static void iir_no_interrupt_after_reset(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in(f, UART_IIR), UART_IIR_NO_INT);
	assert_int_equal(eventfd_take(f->irq_fd), 0);
}

static void enabling_thri_raises_it(void **state)
{
	struct fixture *f = *state;

	out(f, UART_IER, UART_IER_THRI);
	assert_int_equal(eventfd_take(f->irq_fd), 1);
	assert_int_equal(in(f, UART_IIR), UART_IIR_THRI);
}

static void reading_iir_clears_thri(void **state)
{
	struct fixture *f = *state;

	out(f, UART_IER, UART_IER_THRI);
	assert_int_equal(in(f, UART_IIR), UART_IIR_THRI);
	assert_int_equal(in(f, UART_IIR), UART_IIR_NO_INT);
}

static void thr_write_raises_thri_again(void **state)
{
	struct fixture *f = *state;

	out(f, UART_IER, UART_IER_THRI);
	in(f, UART_IIR);
	eventfd_take(f->irq_fd);
	out(f, UART_TX, 'x');
	assert_int_equal(eventfd_take(f->irq_fd), 1);
	assert_int_equal(in(f, UART_IIR), UART_IIR_THRI);
}

static void rdi_has_priority_over_thri(void **state)
{
	struct fixture *f = *state;

	out(f, UART_IER, UART_IER_THRI | UART_IER_RDI);
	rx_put(f, 1);
	assert_int_equal(in(f, UART_IIR), UART_IIR_RDI);
	in(f, UART_RX);
	/* The THR-empty condition was not acknowledged by the RDI read. */
	assert_int_equal(in(f, UART_IIR), UART_IIR_THRI);
}

static void rdi_masked_by_ier(void **state)
{
	struct fixture *f = *state;

	rx_put(f, 1);
	assert_int_equal(in(f, UART_IIR), UART_IIR_NO_INT);
	assert_int_equal(eventfd_take(f->irq_fd), 0);
}

static void iir_fifo_bits_when_fcr_enabled(void **state)
{
	struct fixture *f = *state;

	out(f, UART_FCR, UART_FCR_ENABLE_FIFO);
	assert_int_equal(in(f, UART_IIR), 0xc0 | UART_IIR_NO_INT);
	out(f, UART_FCR, 0);
	assert_int_equal(in(f, UART_IIR), UART_IIR_NO_INT);
}

static void fcr_clear_rcvr_empties_rx(void **state)
{
	struct fixture *f = *state;

	rx_put(f, 10);
	out(f, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	assert_false(in(f, UART_LSR) & UART_LSR_DR);
	assert_int_equal(serial_rx_room(&f->s), SERIAL_RX_RING);
}

/* ---- DLAB, SCR ---- */

static void dlab_selects_divisor_latches(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[4];

	out(f, UART_IER, UART_IER_RDI);
	out(f, UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	out(f, UART_DLL, 0x0c);
	out(f, UART_DLM, 0x01);
	assert_int_equal(in(f, UART_DLL), 0x0c);
	assert_int_equal(in(f, UART_DLM), 0x01);
	out(f, UART_LCR, UART_LCR_WLEN8);
	assert_int_equal(in(f, UART_LCR), UART_LCR_WLEN8);
	/* Neither THR nor IER saw the divisor bytes. */
	assert_int_equal(in(f, UART_IER), UART_IER_RDI);
	assert_int_equal(tx_take_all(f, buf, sizeof(buf)), 0);
}

static void scratch_register_round_trip(void **state)
{
	struct fixture *f = *state;

	out(f, UART_SCR, 0xa5);
	assert_int_equal(in(f, UART_SCR), 0xa5);
}

/* ---- MCR / MSR ---- */

static void msr_shows_a_connected_terminal(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in(f, UART_MSR), UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
}

static void loopback_maps_mcr_to_msr(void **state)
{
	struct fixture *f = *state;

	out(f, UART_MCR, UART_MCR_LOOP);
	assert_int_equal(in(f, UART_MSR) & 0xf0, 0);
	out(f, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	assert_int_equal(in(f, UART_MSR) & 0xf0, UART_MSR_CTS);
	out(f, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
	assert_int_equal(in(f, UART_MSR) & 0xf0, UART_MSR_DSR);
	out(f, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	assert_int_equal(in(f, UART_MSR) & 0xf0, UART_MSR_RI);
	out(f, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	assert_int_equal(in(f, UART_MSR) & 0xf0, UART_MSR_DCD);
}

static void loopback_sends_thr_to_rx(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[4];

	out(f, UART_MCR, UART_MCR_LOOP);
	out(f, UART_TX, 'A');
	assert_true(in(f, UART_LSR) & UART_LSR_DR);
	assert_int_equal(in(f, UART_RX), 'A');
	assert_int_equal(tx_take_all(f, buf, sizeof(buf)), 0);
}

/* ---- TX ring ---- */

static void tx_bytes_reach_the_host_in_order_with_one_kick(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8];

	out(f, UART_TX, 'h');
	out(f, UART_TX, 'i');
	assert_int_equal(eventfd_take(f->kick_fd), 1);
	assert_int_equal(tx_take_all(f, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "hi", 2);
	assert_int_equal(f->s.tx_bytes, 2);
}

static void tx_ring_full_clears_thre_and_drops_excess(void **state)
{
	struct fixture *f = *state;
	uint8_t *buf = malloc(SERIAL_TX_RING + 16);

	assert_non_null(buf);
	for (size_t i = 0; i < SERIAL_TX_RING; i++)
		out(f, UART_TX, (uint8_t)(i * 3));
	assert_false(in(f, UART_LSR) & UART_LSR_THRE);
	assert_false(in(f, UART_LSR) & UART_LSR_TEMT);
	for (unsigned int i = 0; i < 10; i++)
		out(f, UART_TX, 0xee);
	assert_int_equal(f->s.tx_dropped, 10);
	assert_int_equal(tx_take_all(f, buf, SERIAL_TX_RING + 16), SERIAL_TX_RING);
	for (size_t i = 0; i < SERIAL_TX_RING; i++)
		assert_int_equal(buf[i], (uint8_t)(i * 3));
	assert_true(in(f, UART_LSR) & UART_LSR_THRE);
	free(buf);
}

static void tx_drain_after_full_raises_thri(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[16];

	out(f, UART_IER, UART_IER_THRI);
	for (size_t i = 0; i < SERIAL_TX_RING; i++)
		out(f, UART_TX, 'x');
	assert_int_equal(in(f, UART_IIR), UART_IIR_NO_INT); /* full: THR not empty */
	eventfd_take(f->irq_fd);
	assert_int_equal(tx_take_all(f, buf, sizeof(buf)), sizeof(buf));
	assert_int_equal(eventfd_take(f->irq_fd), 1);
	assert_int_equal(in(f, UART_IIR), UART_IIR_THRI);
}

/* ---- RX ring ---- */

static void rx_ring_bounded(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rx_put(f, SERIAL_RX_RING + 100), SERIAL_RX_RING);
	assert_int_equal(serial_rx_room(&f->s), 0);
	assert_int_equal(rx_put(f, 1), 0);
	/* The guest reads the bytes back in order. */
	for (size_t i = 0; i < 300; i++)
		assert_int_equal(in(f, UART_RX), (uint8_t)i);
}

static void rx_kick_once_when_drained_to_half(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rx_put(f, SERIAL_RX_RING + 1), SERIAL_RX_RING);
	eventfd_take(f->kick_fd);
	for (size_t i = 0; i < SERIAL_RX_RING / 2 - 1; i++)
		in(f, UART_RX);
	assert_int_equal(eventfd_take(f->kick_fd), 0);
	in(f, UART_RX); /* now half full */
	assert_int_equal(eventfd_take(f->kick_fd), 1);
	for (size_t i = 0; i < 100; i++)
		in(f, UART_RX);
	assert_int_equal(eventfd_take(f->kick_fd), 0);
	assert_int_equal(serial_rx_room(&f->s), SERIAL_RX_RING / 2 + 100);
}

static void rx_no_kick_when_everything_fit(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rx_put(f, 10), 10);
	for (size_t i = 0; i < 10; i++)
		in(f, UART_RX);
	assert_int_equal(eventfd_take(f->kick_fd), 0);
}

/* ---- interrupt edges ---- */

static void irq_one_edge_per_rising_level(void **state)
{
	struct fixture *f = *state;

	out(f, UART_IER, UART_IER_RDI);
	rx_put(f, 1);
	rx_put(f, 1); /* level already high: no new edge */
	assert_int_equal(eventfd_take(f->irq_fd), 1);
	in(f, UART_RX);
	in(f, UART_RX);
	assert_int_equal(eventfd_take(f->irq_fd), 0);
	rx_put(f, 1);
	assert_int_equal(eventfd_take(f->irq_fd), 1);
}

/* ---- access width ---- */

static void wide_reads_return_all_ones(void **state)
{
	struct fixture *f = *state;
	uint8_t v[4] = { 0 };

	serial_io(&f->s, UART_LSR, v, 2, false);
	assert_int_equal(v[0], 0xff);
	assert_int_equal(v[1], 0xff);
	serial_io(&f->s, UART_LSR, v, 4, false);
	assert_memory_equal(v, "\xff\xff\xff\xff", 4);
}

static void wide_writes_ignored(void **state)
{
	struct fixture *f = *state;
	uint8_t v[2] = { 'a', 'b' }, buf[4];

	serial_io(&f->s, UART_TX, v, 2, true);
	serial_io(&f->s, UART_SCR, v, 2, true);
	assert_int_equal(tx_take_all(f, buf, sizeof(buf)), 0);
	assert_int_equal(in(f, UART_SCR), 0);
}

static void offset_past_registers_reads_all_ones(void **state)
{
	struct fixture *f = *state;
	uint8_t v = 0;

	serial_io(&f->s, SERIAL_NR_REGS, &v, 1, false);
	assert_int_equal(v, 0xff);
	v = 'x';
	serial_io(&f->s, 100, &v, 1, true); /* ignored, no crash */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(lsr_after_reset_thr_empty_no_data),
		T(lsr_dr_follows_rx_data),
		T(rbr_empty_reads_zero),
		T(ier_masked_to_four_bits),
		T(iir_no_interrupt_after_reset),
		T(enabling_thri_raises_it),
		T(reading_iir_clears_thri),
		T(thr_write_raises_thri_again),
		T(rdi_has_priority_over_thri),
		T(rdi_masked_by_ier),
		T(iir_fifo_bits_when_fcr_enabled),
		T(fcr_clear_rcvr_empties_rx),
		T(dlab_selects_divisor_latches),
		T(scratch_register_round_trip),
		T(msr_shows_a_connected_terminal),
		T(loopback_maps_mcr_to_msr),
		T(loopback_sends_thr_to_rx),
		T(tx_bytes_reach_the_host_in_order_with_one_kick),
		T(tx_ring_full_clears_thre_and_drops_excess),
		T(tx_drain_after_full_raises_thri),
		T(rx_ring_bounded),
		T(rx_kick_once_when_drained_to_half),
		T(rx_no_kick_when_everything_fit),
		T(irq_one_edge_per_rising_level),
		T(wide_reads_return_all_ones),
		T(wide_writes_ignored),
		T(offset_past_registers_reads_all_ones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
