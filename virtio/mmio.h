/*
 * mmio.h — virtio-mmio transport, version 2 register layout (floor 2).
 * virtio 1.2 §4.2.
 *
 * A device fills a struct virtio_dev_ops (kvmtool style) and never knows
 * the transport. Register accesses arrive on vCPU threads through the MMIO
 * bus; queue work runs on the main thread. Both take vmmio->lock, which
 * devices also hold while they touch their queues.
 */
#ifndef BRISK_VIRTIO_MMIO_H
#define BRISK_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtqueue.h"
#include "vmm/guest_mem.h"

#define VIRTIO_MMIO_SIZE 0x1000      /* one 4 KiB window per device */
#define VIRTIO_MMIO_MAX_QUEUES 4
#define VIRTIO_MMIO_VENDOR 0x4b535242 /* "BRSK" */

struct virtio_dev_ops {
	uint32_t device_id;          /* VIRTIO_ID_* */
	unsigned int nr_queues;
	uint32_t config_size;        /* bytes of device config space */
	/* Feature bits the device offers (incl. VIRTIO_F_VERSION_1). */
	uint64_t (*features)(void *dev);
	/* Config space; [off, off+len) already checked against config_size. */
	void (*read_config)(void *dev, uint32_t off, uint8_t *data, uint32_t len);
	void (*write_config)(void *dev, uint32_t off, const uint8_t *data, uint32_t len);
	/* DRIVER_OK with @features negotiated; queues are enabled. 0 or -errno. */
	int (*activate)(void *dev, uint64_t features);
	/* Device reset (status 0): drop all state; in-flight I/O must not touch the queues after. */
	void (*reset)(void *dev);
};

struct virtio_mmio {
	pthread_mutex_t lock;
	const struct virtio_dev_ops *ops;
	void *dev;
	const struct guest_mem *mem;
	int irq_fd;                  /* irqfd eventfd (borrowed) */

	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint64_t driver_features;
	uint32_t interrupt_status;
	uint32_t config_generation;
	bool active;                 /* DRIVER_OK accepted */
	struct virtq queues[VIRTIO_MMIO_MAX_QUEUES];
	int notify_fds[VIRTIO_MMIO_MAX_QUEUES]; /* per-queue ioeventfd (borrowed) or -1 */
};

/* Set up the transport for @dev. @irq_fd is written to raise the interrupt. */
void virtio_mmio_init(struct virtio_mmio *vm, const struct virtio_dev_ops *ops, void *dev,
		      const struct guest_mem *mem, int irq_fd);
void virtio_mmio_destroy(struct virtio_mmio *vm);

/* MMIO bus handler for the device's 4 KiB window (bus.h). */
void virtio_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/*
 * Device → driver: used buffers on @queue (interrupt if the driver wants
 * one, §2.7.10). Call with the lock held.
 */
void virtio_mmio_signal_used(struct virtio_mmio *vm, unsigned int queue);

/*
 * The driver broke a ring or the device failed: set DEVICE_NEEDS_RESET and
 * send a configuration-change interrupt (§2.1.2). Call with the lock held.
 */
void virtio_mmio_needs_reset(struct virtio_mmio *vm);

#endif
