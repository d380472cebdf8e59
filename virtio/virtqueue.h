/*
 * virtqueue.h — split virtqueue, device side (floor 2). virtio 1.2 §2.7.
 *
 * The transport fills size/addresses and calls virtq_enable(); the device
 * pops descriptor chains and pushes used elements on the main thread.
 * Every ring and buffer address goes through the guest-memory accessor;
 * chains are walked with a TTL of the queue size (§2.7.5.3.1: no chain is
 * longer), indirect tables are checked for size and nesting (§2.7.5.3.1).
 */
#ifndef BRISK_VIRTQUEUE_H
#define BRISK_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

#include "vmm/guest_mem.h"

#define VIRTQ_MAX_SIZE 256   /* QueueNumMax we offer */
#define VIRTQ_MAX_SEGS 130   /* longest chain a device accepts (seg_max + 2) */

/* One buffer of a chain, already translated to host memory. */
struct virtq_seg {
	uint8_t *hva;
	uint32_t len;     /* bytes */
	bool write;       /* device writes (VRING_DESC_F_WRITE) */
};

struct virtq_chain {
	uint16_t head;               /* descriptor index to return in the used ring */
	unsigned int nr;             /* segments */
	uint64_t out_len, in_len;    /* bytes readable / writable by the device */
	struct virtq_seg segs[VIRTQ_MAX_SEGS];
};

struct virtq {
	/* Set by the transport from the driver's registers. */
	uint16_t size;               /* entries, power of two, <= VIRTQ_MAX_SIZE */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready;
	bool event_idx;              /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;               /* VIRTIO_RING_F_INDIRECT_DESC negotiated */

	/* Device state. */
	const struct guest_mem *mem;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;         /* next avail ring entry to consume */
	uint16_t used_idx;           /* our copy of used->idx */
	uint16_t signalled_used;     /* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
	bool broken;                 /* the driver broke the ring: NEEDS_RESET */
};

enum virtq_pop_result {
	VIRTQ_EMPTY = 0,     /* nothing available */
	VIRTQ_CHAIN = 1,     /* @chain holds a valid chain */
	VIRTQ_BAD_CHAIN = 2, /* chain->head is valid but the chain is not: push it with len 0 */
};

/*
 * Translate and check the ring addresses (alignment, whole rings in RAM).
 * Returns 0, or -EINVAL (bad size or alignment) / -EFAULT (not in RAM).
 */
int virtq_enable(struct virtq *vq, const struct guest_mem *mem);

/* Forget device state (queue reset / device reset); keeps nothing mapped. */
void virtq_reset(struct virtq *vq);

/*
 * Take the next available chain. Returns an enum virtq_pop_result, or
 * -EINVAL when the driver broke the ring itself (head index out of range,
 * avail.idx more than the queue size ahead): vq->broken is set and the
 * device must signal DEVICE_NEEDS_RESET.
 */
int virtq_pop(struct virtq *vq, struct virtq_chain *chain);

/*
 * Return chain @head with @len bytes written (§2.7.8). Publishes the used
 * index with release ordering.
 */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/*
 * After popping until VIRTQ_EMPTY: publish avail_event (EVENT_IDX) and
 * re-check for buffers added meanwhile. Returns true when more are
 * available (pop again), so no notification is lost.
 */
bool virtq_end_batch(struct virtq *vq);

/*
 * Give back the last @n popped chains (not yet pushed): they are popped
 * again later. For a device that took a buffer it could not use yet
 * (virtio-net TX when the tap is full).
 */
void virtq_unpop(struct virtq *vq, uint16_t n);

/*
 * Should the driver be interrupted for the used entries pushed since the
 * last interrupt? (§2.7.10: VRING_AVAIL_F_NO_INTERRUPT or used_event.)
 */
bool virtq_should_notify(struct virtq *vq);

/*
 * Copy between a chain's buffers and host memory. @off is a byte offset
 * into the device-readable (copy_from) or device-writable (copy_to) part.
 * Return the number of bytes copied (short when the chain is short).
 */
size_t virtq_copy_from_chain(const struct virtq_chain *c, uint64_t off, void *dst, size_t len);
size_t virtq_copy_to_chain(const struct virtq_chain *c, uint64_t off, const void *src, size_t len);

#endif
