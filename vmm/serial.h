/*
 * serial.h — 8250/16550A UART (floor 2).
 *
 * Register model of the 16550A as Linux's 8250 driver probes and drives it:
 * THR/RBR, IER, IIR/FCR, LCR (DLAB), MCR (loopback), LSR, MSR, SCR. Output
 * goes into a bounded TX ring that the main loop drains to a host fd; host
 * input is pushed into a bounded RX ring that the guest reads through RBR.
 * Transmission is instantaneous, so THR is empty again right after a write
 * unless the TX ring is full (then LSR.THRE stays clear: backpressure).
 * Interrupts are edge-triggered (ISA) through an eventfd, normally a KVM irqfd.
 */
#ifndef BRISK_SERIAL_H
#define BRISK_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_TX_RING 65536 /* bytes, power of two */
#define SERIAL_RX_RING 4096  /* bytes, power of two */
#define SERIAL_NR_REGS 8     /* I/O ports per UART */

struct serial_ring {
	uint32_t head, tail; /* free-running; used = head - tail */
};

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, msr, scr, dll, dlm, fcr;
	bool thri_pending;   /* THR-empty interrupt condition latched */
	bool irq_asserted;   /* last level we signalled */
	bool rx_want_kick;   /* host waits for RX room */
	struct serial_ring tx, rx;
	uint8_t tx_buf[SERIAL_TX_RING];
	uint8_t rx_buf[SERIAL_RX_RING];
	int irq_fd;          /* eventfd written on each rising interrupt edge, or -1 */
	int kick_fd;         /* eventfd: TX data ready or RX room available, or -1 */
	uint64_t tx_bytes, rx_bytes, tx_dropped;
};

/* Reset registers and rings. @irq_fd / @kick_fd are borrowed (not closed). */
void serial_init(struct serial *s, int irq_fd, int kick_fd);
void serial_destroy(struct serial *s);

/*
 * I/O bus handler for the 8 UART ports; @offset 0..7. Only 1-byte accesses
 * are decoded (ISA); other widths read as 0xff and writes are ignored.
 */
void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* Main loop: move up to @max pending output bytes into @buf. Returns the count. */
size_t serial_tx_take(struct serial *s, uint8_t *buf, size_t max);

/*
 * Main loop: queue up to @len bytes of host input for the guest. Returns the
 * number accepted; when less than @len the serial kicks kick_fd once the
 * guest has drained room again.
 */
size_t serial_rx_put(struct serial *s, const uint8_t *buf, size_t len);

/* Bytes of RX room left. */
size_t serial_rx_room(struct serial *s);

#endif
