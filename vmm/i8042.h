/*
 * i8042.h — just enough of the PS/2 controller for a guest to reset the VM (floor 2).
 *
 * Ports 0x60 (data) and 0x64 (status/command). The controller answers the
 * commands Linux's i8042 driver and reboot code use (read/write the command
 * byte, self tests, port enable/disable, output port); command 0xFE (pulse
 * reset line) and clearing the reset bit through 0xD1 both request a VM reset.
 * No keyboard or mouse is attached.
 */
#ifndef BRISK_I8042_H
#define BRISK_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64

struct i8042 {
	pthread_mutex_t lock;
	uint8_t ctr;         /* controller command byte */
	uint8_t outbuf;      /* pending byte for port 0x60 */
	bool outbuf_full;
	uint8_t pending_cmd; /* command waiting for its data byte, or 0 */
	void (*reset)(void *opaque); /* called once per reset request, vCPU thread */
	void *opaque;
};

void i8042_init(struct i8042 *kbd, void (*reset)(void *opaque), void *opaque);
void i8042_destroy(struct i8042 *kbd);

/* Bus handlers for 0x60 and 0x64 (1-byte accesses; see bus.h). */
void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
