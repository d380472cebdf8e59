/*
 * io_sync.c — the synchronous block I/O engine: each operation runs on the
 * calling (main) thread inside io_engine_submit(), which calls the completion
 * callback before it returns. The fallback when io_uring is unavailable.
 */
#include "virtio/io_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * preadv/pwritev of all of @op, looping over short transfers and EINTR.
 * Bytes transferred (fewer only at end of file) or -errno.
 */
static int sync_rw(int fd, const struct io_op *op)
{
	const struct iovec *iov = op->iov;
	int cnt = op->iovcnt;
	size_t skip = 0; /* bytes of iov[0] already done */
	off_t off = (off_t)op->offset;
	int done = 0;

	while (cnt > 0) {
		ssize_t n;

		if (skip == iov[0].iov_len) {
			iov++;
			cnt--;
			skip = 0;
			continue;
		}
		if (skip) {
			/* Finish a partly transferred buffer on its own. */
			char *p = (char *)iov[0].iov_base + skip;
			size_t len = iov[0].iov_len - skip;

			n = op->type == IO_OP_READ ? pread(fd, p, len, off) : pwrite(fd, p, len, off);
		} else {
			n = op->type == IO_OP_READ ? preadv(fd, iov, cnt, off) : pwritev(fd, iov, cnt, off);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break; /* end of file */
		done += (int)n; /* io_op_check: the total fits an int */
		off += n;
		while (n > 0) {
			size_t left = iov[0].iov_len - skip;

			if ((size_t)n < left) {
				skip += (size_t)n;
				n = 0;
			} else {
				n -= (ssize_t)left;
				iov++;
				cnt--;
				skip = 0;
			}
		}
	}
	return done;
}

static int sync_fallocate(int fd, int mode, const struct io_op *op)
{
	while (fallocate(fd, mode, (off_t)op->offset, (off_t)op->len) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* DISCARD / WRITE_ZEROES on a regular file: the fallocate modes of io_falloc_plan(). */
static int sync_zero_file(struct io_engine *e, const struct io_op *op)
{
	int modes[2];
	unsigned int n = io_falloc_plan(e, op, modes);
	int r = 0;

	for (unsigned int i = 0; i < n && r == 0; i++)
		r = sync_fallocate(e->fd, modes[i], op);
	if (r == -EOPNOTSUPP && (modes[0] & FALLOC_FL_ZERO_RANGE)) {
		e->no_zero_range = true;
		return sync_zero_file(e, op);
	}
	return r;
}

static int sync_run(struct io_engine *e, const struct io_op *op)
{
	switch (op->type) {
	case IO_OP_READ:
	case IO_OP_WRITE:
		return sync_rw(e->fd, op);
	case IO_OP_FLUSH:
		return (op->sync_all ? fsync(e->fd) : fdatasync(e->fd)) < 0 ? -errno : 0;
	case IO_OP_DISCARD:
	case IO_OP_WRITE_ZEROES:
		return e->is_blockdev ? io_blkdev_zero(e->fd, op) : sync_zero_file(e, op);
	}
	return -EINVAL;
}

static int sync_submit(struct io_engine *e, const struct io_op *op, void *tag)
{
	uint64_t bytes;
	int r = io_op_check(op, &bytes);

	if (r < 0)
		return r;
	e->complete(e->opaque, tag, sync_run(e, op));
	return 0;
}

static int sync_flush(struct io_engine *e)
{
	(void)e;
	return 0;
}

static int sync_event_fd(const struct io_engine *e)
{
	(void)e;
	return -1;
}

/* Nothing is ever in flight: reap and drain have nothing to do. */
static void sync_nothing(struct io_engine *e)
{
	(void)e;
}

static unsigned int sync_inflight(const struct io_engine *e)
{
	(void)e;
	return 0;
}

static void sync_close(struct io_engine *e)
{
	free(e);
}

static const struct io_engine_ops sync_ops = {
	.name = "sync",
	.submit = sync_submit,
	.flush = sync_flush,
	.event_fd = sync_event_fd,
	.reap = sync_nothing,
	.drain = sync_nothing,
	.inflight = sync_inflight,
	.close = sync_close,
};

int io_engine_sync_open(struct io_engine **out, int fd, bool is_blockdev, unsigned int queue_depth,
			io_complete_fn complete, void *opaque)
{
	struct io_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	*e = (struct io_engine){
		.ops = &sync_ops,
		.fd = fd,
		.is_blockdev = is_blockdev,
		.queue_depth = queue_depth,
		.complete = complete,
		.opaque = opaque,
	};
	*out = e;
	return 0;
}
