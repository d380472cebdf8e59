/* i8042.c — PS/2 controller: reset line, output buffer, a keyboard for Ctrl-Alt-Del. */
#include "vmm/i8042.h"

#include <errno.h>
#include <string.h>

/* Status register (read 0x64). */
#define I8042_STS_OBF 0x01     /* output buffer full */
#define I8042_STS_SYS 0x04     /* system flag: POST passed */
#define I8042_STS_CMD 0x08     /* a command waits for its data byte on 0x60 */
#define I8042_STS_UNLOCKED 0x10 /* keyboard not inhibited by a key lock */

/* Controller commands (write 0x64). */
#define I8042_CMD_READ_CTR 0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CMD_AUX_DISABLE 0xa7
#define I8042_CMD_AUX_ENABLE 0xa8
#define I8042_CMD_AUX_TEST 0xa9
#define I8042_CMD_SELF_TEST 0xaa
#define I8042_CMD_KBD_TEST 0xab
#define I8042_CMD_KBD_DISABLE 0xad
#define I8042_CMD_KBD_ENABLE 0xae
#define I8042_CMD_READ_OUTP 0xd0
#define I8042_CMD_WRITE_OUTP 0xd1
#define I8042_CMD_WRITE_KBD_OUT 0xd2 /* next data byte appears as keyboard data */
#define I8042_CMD_WRITE_AUX_OUT 0xd3 /* ... as mouse data */
#define I8042_CMD_WRITE_AUX 0xd4     /* next data byte goes to the mouse */
#define I8042_CMD_RESET 0xfe

#define I8042_SELF_TEST_OK 0x55

/* Command byte. */
#define I8042_CTR_KBDINT 0x01 /* IRQ 1 on keyboard data */
#define I8042_CTR_SYS 0x04
#define I8042_CTR_KBDDIS 0x10 /* keyboard interface disabled */
#define I8042_CTR_AUXDIS 0x20

/* Keyboard commands (write 0x60 with no controller command pending). */
#define KBD_CMD_SET_LEDS 0xed
#define KBD_CMD_ECHO 0xee
#define KBD_CMD_SCAN_SET 0xf0 /* parameter 0 = report the current set */
#define KBD_CMD_GET_ID 0xf2
#define KBD_CMD_TYPEMATIC 0xf3
#define KBD_CMD_ENABLE 0xf4
#define KBD_CMD_DISABLE 0xf5 /* stop scanning, load defaults */
#define KBD_CMD_RESEND 0xfe
#define KBD_CMD_RESET 0xff

#define KBD_ACK 0xfa
#define KBD_BAT_OK 0xaa
#define KBD_ID0 0xab /* MF2 keyboard: AB 83 */
#define KBD_ID1 0x83
#define KBD_SCAN_SET 0x02

/* Ctrl, Alt, Del pressed, then Del, Alt, Ctrl released (set 2). */
static const uint8_t i8042_cad_codes[] = {
	0x14, 0x11, 0xe0, 0x71,
	0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14,
};
_Static_assert(sizeof(i8042_cad_codes) <= I8042_QUEUE_SIZE, "Ctrl-Alt-Del must fit the queue");

/* ---- byte queue ---------------------------------------------------------- */

static bool queue_push(struct i8042_queue *q, uint8_t v)
{
	if (q->len >= I8042_QUEUE_SIZE)
		return false;
	q->buf[(q->head + q->len) % I8042_QUEUE_SIZE] = v;
	q->len++;
	return true;
}

/* The oldest byte; the queue must not be empty. */
static uint8_t queue_pop(struct i8042_queue *q)
{
	uint8_t v = q->buf[q->head];

	q->head = (uint8_t)((q->head + 1) % I8042_QUEUE_SIZE);
	q->len--;
	return v;
}

static void queue_clear(struct i8042_queue *q)
{
	q->head = 0;
	q->len = 0;
}

/* ---- device ---------------------------------------------------------------- */

void i8042_init(struct i8042 *kbd, void (*reset)(void *opaque), void (*irq)(void *opaque),
		void *opaque)
{
	memset(kbd, 0, sizeof(*kbd));
	pthread_mutex_init(&kbd->lock, NULL);
	kbd->ctr = I8042_CTR_SYS;
	kbd->kbd_scanning = true;
	kbd->reset = reset;
	kbd->irq = irq;
	kbd->opaque = opaque;
}

void i8042_destroy(struct i8042 *kbd)
{
	pthread_mutex_destroy(&kbd->lock);
}

/*
 * Let the keyboard hand its next byte to an empty output buffer, then
 * recompute IRQ 1. Returns true on a rising edge, for the caller to call
 * kbd->irq once it dropped the lock. Lock held; after every state change.
 */
static bool i8042_update(struct i8042 *kbd)
{
	bool level, rising;

	if (kbd->out.len == 0 && kbd->kbd_buf.len && !(kbd->ctr & I8042_CTR_KBDDIS)) {
		kbd->kbd_last_sent = queue_pop(&kbd->kbd_buf);
		queue_push(&kbd->out, kbd->kbd_last_sent);
	}
	level = kbd->out.len && (kbd->ctr & I8042_CTR_KBDINT);
	rising = level && !kbd->irq_level;
	kbd->irq_level = level;
	return rising;
}

/* A controller response; with the buffer full (a guest issuing commands
 * without reading) it is dropped, as a real one would overwrite. Lock held. */
static void i8042_respond(struct i8042 *kbd, uint8_t v)
{
	queue_push(&kbd->out, v);
}

/* The keyboard replies after the bytes it still holds. Lock held. */
static void kbd_reply(struct i8042 *kbd, uint8_t v)
{
	queue_push(&kbd->kbd_buf, v);
}

/*
 * A byte for the keyboard. Like a real one it drops what it had not sent
 * yet when a command (other than Resend) arrives, so replies stay bounded
 * and in order; parameters of Set LEDs, Set typematic and Scan code set are
 * acknowledged and otherwise ignored (the scan code set stays 2, which is
 * what a Get reports, so Linux's atkbd falls back to set 2). Lock held.
 */
static void kbd_command(struct i8042 *kbd, uint8_t v)
{
	uint8_t cmd = kbd->kbd_pending_cmd;

	if (v == KBD_CMD_RESEND) {
		kbd_reply(kbd, kbd->kbd_last_sent);
		return;
	}
	kbd->kbd_pending_cmd = 0;
	queue_clear(&kbd->kbd_buf);
	if (cmd) {
		kbd_reply(kbd, KBD_ACK);
		if (cmd == KBD_CMD_SCAN_SET && v == 0)
			kbd_reply(kbd, KBD_SCAN_SET);
		return;
	}
	switch (v) {
	case KBD_CMD_SET_LEDS:
	case KBD_CMD_SCAN_SET:
	case KBD_CMD_TYPEMATIC:
		kbd->kbd_pending_cmd = v;
		kbd_reply(kbd, KBD_ACK);
		break;
	case KBD_CMD_ECHO:
		kbd_reply(kbd, KBD_CMD_ECHO);
		break;
	case KBD_CMD_GET_ID:
		kbd_reply(kbd, KBD_ACK);
		kbd_reply(kbd, KBD_ID0);
		kbd_reply(kbd, KBD_ID1);
		break;
	case KBD_CMD_ENABLE:
		kbd->kbd_scanning = true;
		kbd_reply(kbd, KBD_ACK);
		break;
	case KBD_CMD_DISABLE:
		kbd->kbd_scanning = false;
		kbd_reply(kbd, KBD_ACK);
		break;
	case KBD_CMD_RESET:
		kbd->kbd_scanning = true;
		kbd_reply(kbd, KBD_ACK);
		kbd_reply(kbd, KBD_BAT_OK);
		break;
	default: /* set defaults (0xF6), set-3 key types, ...: nothing to keep */
		kbd_reply(kbd, KBD_ACK);
		break;
	}
}

/* Returns true when the command asks for a reset. Lock held. */
static bool i8042_command(struct i8042 *kbd, uint8_t cmd)
{
	/* A new command abandons one still waiting for its data byte. */
	kbd->pending_cmd = 0;
	switch (cmd) {
	case I8042_CMD_READ_CTR:
		i8042_respond(kbd, kbd->ctr);
		break;
	case I8042_CMD_WRITE_CTR:
	case I8042_CMD_WRITE_OUTP:
	case I8042_CMD_WRITE_KBD_OUT:
	case I8042_CMD_WRITE_AUX_OUT:
	case I8042_CMD_WRITE_AUX:
		kbd->pending_cmd = cmd;
		break;
	case I8042_CMD_AUX_DISABLE:
		kbd->ctr |= I8042_CTR_AUXDIS;
		break;
	case I8042_CMD_AUX_ENABLE:
		kbd->ctr &= (uint8_t)~I8042_CTR_AUXDIS;
		break;
	case I8042_CMD_KBD_DISABLE:
		kbd->ctr |= I8042_CTR_KBDDIS;
		break;
	case I8042_CMD_KBD_ENABLE:
		kbd->ctr &= (uint8_t)~I8042_CTR_KBDDIS;
		break;
	case I8042_CMD_SELF_TEST:
		i8042_respond(kbd, I8042_SELF_TEST_OK);
		break;
	case I8042_CMD_KBD_TEST:
	case I8042_CMD_AUX_TEST:
		i8042_respond(kbd, 0x00); /* interface lines fine */
		break;
	case I8042_CMD_READ_OUTP:
		/* Bit 0 set: the CPU is not held in reset. */
		i8042_respond(kbd, 0x01);
		break;
	case I8042_CMD_RESET:
		return true;
	default: /* the rest need no state */
		break;
	}
	return false;
}

/* Returns true when the data byte completes a reset request. Lock held. */
static bool i8042_data(struct i8042 *kbd, uint8_t v)
{
	uint8_t cmd = kbd->pending_cmd;

	kbd->pending_cmd = 0;
	switch (cmd) {
	case I8042_CMD_WRITE_CTR:
		kbd->ctr = v;
		break;
	case I8042_CMD_WRITE_OUTP:
		return !(v & 0x01); /* output port bit 0 low = CPU reset */
	case I8042_CMD_WRITE_KBD_OUT:
		i8042_respond(kbd, v);
		break;
	case I8042_CMD_WRITE_AUX_OUT:
	case I8042_CMD_WRITE_AUX:
		break; /* no mouse */
	default:
		kbd_command(kbd, v);
		break;
	}
	return false;
}

/* Lock held. */
static uint8_t i8042_status(const struct i8042 *kbd)
{
	/* The input buffer is never full: writes are consumed at once. */
	return (uint8_t)(I8042_STS_SYS | I8042_STS_UNLOCKED |
			 (kbd->out.len ? I8042_STS_OBF : 0) |
			 (kbd->pending_cmd ? I8042_STS_CMD : 0));
}

/* Lock held. */
static uint8_t i8042_read_data(struct i8042 *kbd)
{
	if (kbd->out.len) {
		kbd->last_out = queue_pop(&kbd->out);
		/* The read clears OBF, which drops IRQ 1; a next byte raises it again. */
		kbd->irq_level = false;
	}
	return kbd->last_out;
}

int i8042_send_ctrl_alt_del(struct i8042 *kbd)
{
	bool rising;
	int r = 0;

	pthread_mutex_lock(&kbd->lock);
	if (!kbd->kbd_scanning) {
		r = -EAGAIN;
	} else if (I8042_QUEUE_SIZE - kbd->kbd_buf.len < (int)sizeof(i8042_cad_codes)) {
		r = -ENOSPC;
	} else {
		for (size_t i = 0; i < sizeof(i8042_cad_codes); i++)
			queue_push(&kbd->kbd_buf, i8042_cad_codes[i]);
	}
	rising = i8042_update(kbd);
	pthread_mutex_unlock(&kbd->lock);
	if (rising && kbd->irq)
		kbd->irq(kbd->opaque);
	return r;
}

/* Both ports: 1-byte accesses only; callbacks are called unlocked. */
static void i8042_io(struct i8042 *kbd, bool cmd_port, uint8_t *data, uint32_t len,
		     bool is_write)
{
	bool reset = false, rising;

	if (len != 1) {
		if (!is_write)
			memset(data, 0xff, len); /* bus.h: reads fill all of @data */
		return;
	}
	pthread_mutex_lock(&kbd->lock);
	if (is_write && cmd_port)
		reset = i8042_command(kbd, data[0]);
	else if (is_write)
		reset = i8042_data(kbd, data[0]);
	else if (cmd_port)
		data[0] = i8042_status(kbd);
	else
		data[0] = i8042_read_data(kbd);
	rising = i8042_update(kbd);
	pthread_mutex_unlock(&kbd->lock);
	if (rising && kbd->irq)
		kbd->irq(kbd->opaque);
	if (reset && kbd->reset)
		kbd->reset(kbd->opaque);
}

void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	(void)offset;
	i8042_io(opaque, false, data, len, is_write);
}

void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	(void)offset;
	i8042_io(opaque, true, data, len, is_write);
}
