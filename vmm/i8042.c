/* i8042.c — PS/2 controller stub whose only real job is the reset line. */
#include "vmm/i8042.h"

#include <string.h>

#define I8042_STS_OBF 0x01
#define I8042_STS_SYS 0x04
#define I8042_STS_CMD 0x08

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
#define I8042_CMD_RESET 0xfe

#define I8042_CTR_SYS 0x04

void i8042_init(struct i8042 *kbd, void (*reset)(void *opaque), void *opaque)
{
	memset(kbd, 0, sizeof(*kbd));
	pthread_mutex_init(&kbd->lock, NULL);
	kbd->ctr = I8042_CTR_SYS;
	kbd->reset = reset;
	kbd->opaque = opaque;
}

void i8042_destroy(struct i8042 *kbd)
{
	pthread_mutex_destroy(&kbd->lock);
}

static void i8042_put(struct i8042 *kbd, uint8_t v)
{
	kbd->outbuf = v;
	kbd->outbuf_full = true;
}

/* Returns true when the command asks for a reset. Lock held. */
static bool i8042_command(struct i8042 *kbd, uint8_t cmd)
{
	switch (cmd) {
	case I8042_CMD_READ_CTR:
		i8042_put(kbd, kbd->ctr);
		break;
	case I8042_CMD_WRITE_CTR:
	case I8042_CMD_WRITE_OUTP:
		kbd->pending_cmd = cmd;
		break;
	case I8042_CMD_SELF_TEST:
		i8042_put(kbd, 0x55);
		break;
	case I8042_CMD_KBD_TEST:
	case I8042_CMD_AUX_TEST:
		i8042_put(kbd, 0x00);
		break;
	case I8042_CMD_READ_OUTP:
		/* Bit 0 set: the CPU is not held in reset. */
		i8042_put(kbd, 0x01);
		break;
	case I8042_CMD_RESET:
		return true;
	default: /* enable/disable ports and the rest need no state */
		break;
	}
	return false;
}

/* Returns true when the data byte completes a reset request. Lock held. */
static bool i8042_data(struct i8042 *kbd, uint8_t v)
{
	uint8_t cmd = kbd->pending_cmd;

	kbd->pending_cmd = 0;
	if (cmd == I8042_CMD_WRITE_CTR)
		kbd->ctr = v;
	else if (cmd == I8042_CMD_WRITE_OUTP && !(v & 0x01))
		return true; /* output port bit 0 low = CPU reset */
	/* Bytes for the (absent) keyboard are dropped. */
	return false;
}

/* Both ports: 1-byte accesses only; a request for reset is acted on unlocked. */
static void i8042_io(struct i8042 *kbd, bool cmd_port, uint8_t *data, uint32_t len,
		     bool is_write)
{
	bool reset = false;

	if (len != 1) {
		if (!is_write)
			memset(data, 0xff, len); /* bus.h: reads fill all of @data */
		return;
	}
	pthread_mutex_lock(&kbd->lock);
	if (is_write && cmd_port) {
		reset = i8042_command(kbd, data[0]);
	} else if (is_write) {
		reset = i8042_data(kbd, data[0]);
	} else if (cmd_port) {
		/* Input buffer never full: writes are consumed immediately. */
		data[0] = (uint8_t)(I8042_STS_SYS |
				    (kbd->outbuf_full ? I8042_STS_OBF : 0) |
				    (kbd->pending_cmd ? I8042_STS_CMD : 0));
	} else {
		data[0] = kbd->outbuf;
		kbd->outbuf_full = false;
	}
	pthread_mutex_unlock(&kbd->lock);
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
