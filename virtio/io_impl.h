/*
 * io_impl.h — what the block I/O engines (io_uring.c, io_sync.c) share with
 * io.c: the engine object, its ops table and the helpers both engines use.
 * Private to virtio/io*.c and tests/unit/test_io.c; devices use io.h.
 */
#ifndef BRISK_VIRTIO_IO_IMPL_H
#define BRISK_VIRTIO_IO_IMPL_H

#include "virtio/io.h"

#define IO_ENGINE_MAX_DEPTH 4096

struct io_engine_ops {
	const char *name;
	int (*submit)(struct io_engine *e, const struct io_op *op, void *tag);
	int (*flush)(struct io_engine *e);
	int (*event_fd)(const struct io_engine *e);
	void (*reap)(struct io_engine *e);
	void (*drain)(struct io_engine *e);
	unsigned int (*inflight)(const struct io_engine *e);
	void (*close)(struct io_engine *e); /* drains, then frees the engine */
};

/* The part every engine starts with; engines embed it and use container_of. */
struct io_engine {
	const struct io_engine_ops *ops;
	int fd;                    /* borrowed */
	bool is_blockdev;
	bool no_zero_range;        /* FALLOC_FL_ZERO_RANGE said EOPNOTSUPP once */
	unsigned int queue_depth;
	io_complete_fn complete;
	void *opaque;
};

/*
 * Engine constructors; arguments as io_engine_open() (already checked).
 * io_engine_uring_open() sets *@step to the setup step that failed (a static
 * string, e.g. "io_uring_setup") when it returns -errno.
 */
int io_engine_uring_open(struct io_engine **out, int fd, bool is_blockdev, unsigned int queue_depth,
			 io_complete_fn complete, void *opaque, const char **step);
int io_engine_sync_open(struct io_engine **out, int fd, bool is_blockdev, unsigned int queue_depth,
			io_complete_fn complete, void *opaque);

/*
 * Check @op before anything is queued: a known type; READ/WRITE with
 * 0..IOV_MAX iovecs totalling at most INT_MAX bytes (the result is an int);
 * ranges that fit in off_t. Sets *@bytes to the READ/WRITE total (else 0).
 * 0 or -EINVAL.
 */
int io_op_check(const struct io_op *op, uint64_t *bytes);

/*
 * The fallocate(2) modes that carry out DISCARD / WRITE_ZEROES of @op on a
 * regular file, to run in order: @modes gets 1 or 2 entries, the count is
 * returned. DISCARD and WRITE_ZEROES with unmap punch a hole; WRITE_ZEROES
 * without unmap uses ZERO_RANGE, or, where the file system lacks it (tmpfs:
 * e->no_zero_range), punches a hole and allocates it again. KEEP_SIZE
 * everywhere: the guest never changes the image size.
 */
unsigned int io_falloc_plan(const struct io_engine *e, const struct io_op *op, int modes[2]);

/* BLKDISCARD (DISCARD) or BLKZEROOUT (WRITE_ZEROES) of @op on block device @fd. 0 or -errno. */
int io_blkdev_zero(int fd, const struct io_op *op);

/* For tests: the ring behind an io_uring engine, NULL for another engine. */
struct io_uring;
struct io_uring *io_engine_uring_ring(struct io_engine *e);

#endif
