/*
 * blk.h — virtio-blk device (floor 2). virtio 1.2 §5.2.
 *
 * One drive = one raw image file (normally sparse) or block device, one
 * request queue, I/O through an io_engine (io_uring or synchronous).
 * Thin provisioning: writable drives offer DISCARD (punch a hole) and
 * WRITE_ZEROES (zero range, or a hole when the guest allows unmap).
 *
 * Locking: every entry point except open/close runs with the transport's
 * lock held (vmmio->lock); the I/O engine's completion callbacks run from
 * io_engine_reap()/drain()/submit(), i.e. also under that lock.
 */
#ifndef BRISK_VIRTIO_BLK_H
#define BRISK_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_blk.h>

#include "virtio/io.h"
#include "virtio/mmio.h"
#include "virtio/virtqueue.h"

#define BLK_SECTOR_SIZE 512
#define BLK_SEG_MAX (VIRTQ_MAX_SEGS - 2)  /* data segments per request */
#define BLK_DISCARD_SEG_MAX 16            /* ranges per DISCARD / WRITE_ZEROES */
#define BLK_DISCARD_SECTORS_MAX (UINT32_MAX / BLK_SECTOR_SIZE) /* per range */
#define BLK_QUEUE_DEPTH VIRTQ_MAX_SIZE

struct blk_drive_config {
	const char *path;
	const char *id;          /* drive id (GET_ID), at most 20 bytes are used */
	bool read_only;
	bool flush;              /* offer VIRTIO_BLK_F_FLUSH (writeback cache); else unsafe */
	enum io_engine_kind engine;
};

struct blk_stats {
	uint64_t reads, writes, flushes, discards, write_zeroes, get_ids;
	uint64_t read_bytes, write_bytes;
	uint64_t errors, unsupported, bad_chains;
};

struct blk_req;

struct virtio_blk {
	struct virtio_mmio *transport;   /* set by the machine before use */
	char id[VIRTIO_BLK_ID_BYTES];
	int fd;
	bool read_only, is_blockdev, flush;
	uint64_t capacity;               /* 512-byte sectors */
	struct virtio_blk_config config;
	struct io_engine *io;
	uint64_t features;               /* negotiated */
	bool active;
	uint32_t gen;                    /* bumped on reset: stale completions are dropped */
	struct blk_req *reqs;            /* BLK_QUEUE_DEPTH slots */
	struct blk_req *free_list;       /* returned slots */
	unsigned int nr_used_reqs;       /* slots handed out at least once */
	bool queue_waiting;              /* popping stopped for lack of slots */
	bool need_signal;
	struct blk_stats stats;
};

/* The device's ops for the transport. */
extern const struct virtio_dev_ops virtio_blk_ops;

/*
 * Open the image and the I/O engine. Capacity = file size / 512 (rounded
 * down). Writable images are locked (flock LOCK_EX) so two VMs cannot
 * write one image. Returns 0, or -errno with a one-line reason in @why.
 */
int virtio_blk_open(struct virtio_blk *b, const struct blk_drive_config *cfg,
		    char *why, size_t whylen);

/* Drain in-flight I/O (it completes into guest memory), close everything. */
void virtio_blk_close(struct virtio_blk *b);

/* Main thread, queue notification: pop and submit requests. Takes the lock. */
void virtio_blk_notify(struct virtio_blk *b);

/* Main thread, engine eventfd readable: complete finished I/O. Takes the lock. */
void virtio_blk_io_event(struct virtio_blk *b);

#endif
