/* serial.c — 16550A UART register model (see serial.h). */
#include "vmm/serial.h"
#include "vmm/util.h"

#include <string.h>
#include <linux/serial_reg.h>

#define RING_USED(r) ((r)->head - (r)->tail)

static void serial_signal(int fd)
{
	uint64_t one = 1;

	/* eventfd writes only fail on counter overflow, which cannot matter here. */
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		return;
}

/* Highest-priority pending interrupt, as IIR bits 3:0 (UART_IIR_NO_INT if none). */
static uint8_t serial_iir_id(const struct serial *s)
{
	if ((s->ier & UART_IER_RDI) && RING_USED(&s->rx) > 0)
		return UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thri_pending)
		return UART_IIR_THRI;
	return UART_IIR_NO_INT;
}

/* Recompute the interrupt line; a rising edge fires the irqfd. Lock held. */
static void serial_update_irq(struct serial *s)
{
	bool level = serial_iir_id(s) != UART_IIR_NO_INT;

	if (level && !s->irq_asserted)
		serial_signal(s->irq_fd);
	s->irq_asserted = level;
}

void serial_init(struct serial *s, int irq_fd, int kick_fd)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->irq_fd = irq_fd;
	s->kick_fd = kick_fd;
	/* Modem lines as a connected terminal shows them (like QEMU/Firecracker). */
	s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	s->mcr = UART_MCR_OUT2;
	s->thri_pending = false;
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

static bool serial_tx_full(const struct serial *s)
{
	return RING_USED(&s->tx) >= SERIAL_TX_RING;
}

static void serial_rx_push_byte(struct serial *s, uint8_t b)
{
	if (RING_USED(&s->rx) >= SERIAL_RX_RING)
		return; /* overrun: the byte is lost, as on hardware */
	s->rx_buf[s->rx.head++ & (SERIAL_RX_RING - 1)] = b;
	s->rx_bytes++;
}

static void serial_write_thr(struct serial *s, uint8_t b)
{
	if (s->mcr & UART_MCR_LOOP) {
		serial_rx_push_byte(s, b);
	} else if (serial_tx_full(s)) {
		s->tx_dropped++; /* the guest ignored LSR.THRE */
	} else {
		if (RING_USED(&s->tx) == 0)
			serial_signal(s->kick_fd);
		s->tx_buf[s->tx.head++ & (SERIAL_TX_RING - 1)] = b;
		s->tx_bytes++;
	}
	s->thri_pending = !serial_tx_full(s);
}

static uint8_t serial_read_rbr(struct serial *s)
{
	uint8_t b;

	if (RING_USED(&s->rx) == 0)
		return 0;
	b = s->rx_buf[s->rx.tail++ & (SERIAL_RX_RING - 1)];
	if (s->rx_want_kick && RING_USED(&s->rx) <= SERIAL_RX_RING / 2) {
		s->rx_want_kick = false;
		serial_signal(s->kick_fd);
	}
	return b;
}

static uint8_t serial_lsr(const struct serial *s)
{
	uint8_t lsr = 0;

	if (RING_USED(&s->rx) > 0)
		lsr |= UART_LSR_DR;
	if (!serial_tx_full(s))
		lsr |= UART_LSR_THRE | UART_LSR_TEMT;
	return lsr;
}

static uint8_t serial_msr(const struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(s->mcr & UART_MCR_LOOP))
		return s->msr;
	/* Loopback: outputs are wired back to the modem status inputs. */
	return (uint8_t)(((m & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
			 ((m & UART_MCR_DTR) ? UART_MSR_DSR : 0) |
			 ((m & UART_MCR_OUT1) ? UART_MSR_RI : 0) |
			 ((m & UART_MCR_OUT2) ? UART_MSR_DCD : 0));
}

static void serial_reg_write(struct serial *s, unsigned int reg, uint8_t v)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_TX:
		if (dlab)
			s->dll = v;
		else
			serial_write_thr(s, v);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI while THR is empty raises the interrupt at once. */
		if (!(s->ier & UART_IER_THRI) && (v & UART_IER_THRI) && !serial_tx_full(s))
			s->thri_pending = true;
		s->ier = v & 0x0f;
		break;
	case UART_FCR:
		s->fcr = v & (UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK);
		if (v & UART_FCR_CLEAR_RCVR)
			s->rx.tail = s->rx.head;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static uint8_t serial_reg_read(struct serial *s, unsigned int reg)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	uint8_t id;

	switch (reg) {
	case UART_RX:
		return dlab ? s->dll : serial_read_rbr(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		id = serial_iir_id(s);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if (id == UART_IIR_THRI)
			s->thri_pending = false;
		return (uint8_t)(id | ((s->fcr & UART_FCR_ENABLE_FIFO) ? 0xc0 : 0));
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return serial_lsr(s);
	case UART_MSR:
		return serial_msr(s);
	default:
		return s->scr;
	}
}

void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;

	if (len != 1 || offset >= SERIAL_NR_REGS) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (is_write)
		serial_reg_write(s, (unsigned int)offset, data[0]);
	else
		data[0] = serial_reg_read(s, (unsigned int)offset);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_tx_take(struct serial *s, uint8_t *buf, size_t max)
{
	size_t n = 0;
	bool was_full;

	pthread_mutex_lock(&s->lock);
	was_full = serial_tx_full(s);
	while (n < max && RING_USED(&s->tx) > 0)
		buf[n++] = s->tx_buf[s->tx.tail++ & (SERIAL_TX_RING - 1)];
	if (was_full && n > 0) {
		s->thri_pending = true;
		serial_update_irq(s);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_rx_put(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && RING_USED(&s->rx) < SERIAL_RX_RING)
		serial_rx_push_byte(s, buf[n++]);
	if (n < len)
		s->rx_want_kick = true;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_rx_room(struct serial *s)
{
	size_t room;

	pthread_mutex_lock(&s->lock);
	room = SERIAL_RX_RING - RING_USED(&s->rx);
	pthread_mutex_unlock(&s->lock);
	return room;
}
