/*
 * exit_dev.h — brisk's exit device (floor 2), see docs/guest-interface.md.
 *
 * I/O port 0x501 (QEMU isa-debug-exit's default port). A 1-, 2- or 4-byte
 * write ends the VM; the low 8 bits are the exit status brisk returns.
 * Port 0x502: the guest agent writes any value once its console is set up;
 * only then does brisk start sending host stdin (earlier bytes would be
 * lost in the guest's UART driver start-up).
 */
#ifndef BRISK_EXIT_DEV_H
#define BRISK_EXIT_DEV_H

#include <stdbool.h>
#include <stdint.h>

#define EXIT_DEV_PORT 0x501
#define EXIT_DEV_SIZE 4

#define EXIT_DEV_READY_OFFSET 1

struct exit_dev {
	void (*exit)(void *opaque, int status); /* vCPU thread */
	void (*ready)(void *opaque);            /* vCPU thread */
	void *opaque;
};

void exit_dev_init(struct exit_dev *dev, void (*exit)(void *opaque, int status),
		   void (*ready)(void *opaque), void *opaque);
void exit_dev_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
