/* exit_dev.c — guest-reported exit status. */
#include "vmm/exit_dev.h"

#include <string.h>

void exit_dev_init(struct exit_dev *dev, void (*exit)(void *opaque, int status),
		   void (*ready)(void *opaque), void *opaque)
{
	dev->exit = exit;
	dev->ready = ready;
	dev->opaque = opaque;
}

void exit_dev_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct exit_dev *dev = opaque;

	if (!is_write) {
		memset(data, 0xff, len);
		return;
	}
	if (len == 0)
		return;
	/* A write starting at the port itself ends the VM; byte 0 is the status. */
	if (offset == 0)
		dev->exit(dev->opaque, data[0]);
	else if (offset == EXIT_DEV_READY_OFFSET && dev->ready)
		dev->ready(dev->opaque);
}
