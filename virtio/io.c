/*
 * io.c — block I/O engine selection and dispatch (see io.h), plus the
 * operation checks and fallocate/ioctl mapping both engines share.
 */
#include "virtio/io_impl.h"

#include <errno.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/log.h"

int io_engine_open(struct io_engine **out, enum io_engine_kind kind, int fd, bool is_blockdev,
		   unsigned int queue_depth, io_complete_fn complete, void *opaque)
{
	/* One line per process, however many drives fall back. */
	static bool warned;
	const char *step = "io_uring";
	int r;

	if (!out || fd < 0 || !complete || queue_depth < 1 || queue_depth > IO_ENGINE_MAX_DEPTH)
		return -EINVAL;
	*out = NULL;
	switch (kind) {
	case IO_ENGINE_URING:
		return io_engine_uring_open(out, fd, is_blockdev, queue_depth, complete, opaque, &step);
	case IO_ENGINE_SYNC:
		return io_engine_sync_open(out, fd, is_blockdev, queue_depth, complete, opaque);
	case IO_ENGINE_AUTO:
		r = io_engine_uring_open(out, fd, is_blockdev, queue_depth, complete, opaque, &step);
		if (r == 0)
			return 0;
		if (!warned) {
			log_warn("io_uring unavailable (%s: %s): using synchronous block I/O",
				 step, strerror(-r));
			warned = true;
		}
		return io_engine_sync_open(out, fd, is_blockdev, queue_depth, complete, opaque);
	}
	return -EINVAL;
}

const char *io_engine_name(const struct io_engine *e)
{
	return e->ops->name;
}

int io_engine_submit(struct io_engine *e, const struct io_op *op, void *tag)
{
	return e->ops->submit(e, op, tag);
}

int io_engine_flush(struct io_engine *e)
{
	return e->ops->flush(e);
}

int io_engine_event_fd(const struct io_engine *e)
{
	return e->ops->event_fd(e);
}

void io_engine_reap(struct io_engine *e)
{
	e->ops->reap(e);
}

void io_engine_drain(struct io_engine *e)
{
	e->ops->drain(e);
}

unsigned int io_engine_inflight(const struct io_engine *e)
{
	return e->ops->inflight(e);
}

void io_engine_close(struct io_engine *e)
{
	if (e)
		e->ops->close(e);
}

int io_op_check(const struct io_op *op, uint64_t *bytes)
{
	uint64_t total = 0;

	*bytes = 0;
	switch (op->type) {
	case IO_OP_READ:
	case IO_OP_WRITE:
		if (op->iovcnt < 0 || op->iovcnt > IOV_MAX || (op->iovcnt && !op->iov))
			return -EINVAL;
		for (int i = 0; i < op->iovcnt; i++) {
			total += op->iov[i].iov_len;
			if (op->iov[i].iov_len > INT_MAX || total > INT_MAX)
				return -EINVAL;
		}
		if (op->offset > (uint64_t)INT64_MAX - total)
			return -EINVAL;
		*bytes = total;
		return 0;
	case IO_OP_FLUSH:
		return 0;
	case IO_OP_DISCARD:
	case IO_OP_WRITE_ZEROES:
		if (op->offset > (uint64_t)INT64_MAX || op->len > (uint64_t)INT64_MAX - op->offset)
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

unsigned int io_falloc_plan(const struct io_engine *e, const struct io_op *op, int modes[2])
{
	if (op->type == IO_OP_DISCARD || op->unmap) {
		modes[0] = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		return 1;
	}
	if (!e->no_zero_range) {
		modes[0] = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
		return 1;
	}
	/* Zeroes that stay allocated, as the guest asked (no unmap). */
	modes[0] = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	modes[1] = FALLOC_FL_KEEP_SIZE;
	return 2;
}

int io_blkdev_zero(int fd, const struct io_op *op)
{
	uint64_t range[2] = { op->offset, op->len };
	unsigned long req = op->type == IO_OP_DISCARD ? BLKDISCARD : BLKZEROOUT;

	return ioctl(fd, req, range) < 0 ? -errno : 0;
}
