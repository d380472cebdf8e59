/*
 * io.h — block I/O engines behind virtio-blk (floor 2).
 *
 * Two engines with one interface: io_uring through liburing (the default:
 * asynchronous, completions signalled on an eventfd the main loop watches)
 * and a synchronous fallback (preadv/pwritev/fdatasync/fallocate/ioctl on
 * the main thread). Everything runs on the main thread; an engine is owned
 * by one drive and serves one file descriptor.
 *
 * io_uring operations bypass seccomp, so the ring is created disabled,
 * restricted to the opcodes below on registered (fixed) files only, then
 * enabled (DESIGN.md, "Block devices").
 */
#ifndef BRISK_VIRTIO_IO_H
#define BRISK_VIRTIO_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum io_engine_kind {
	IO_ENGINE_AUTO,  /* io_uring, else sync (say so once on stderr) */
	IO_ENGINE_URING,
	IO_ENGINE_SYNC,
};

enum io_op_type {
	IO_OP_READ,          /* preadv  @iov at @offset */
	IO_OP_WRITE,         /* pwritev @iov at @offset */
	IO_OP_FLUSH,         /* fdatasync (or fsync when @sync_all) */
	IO_OP_DISCARD,       /* regular file: fallocate(PUNCH_HOLE|KEEP_SIZE); block device: BLKDISCARD */
	IO_OP_WRITE_ZEROES,  /* regular file: fallocate(ZERO_RANGE) or, with @unmap, PUNCH_HOLE|KEEP_SIZE;
				block device: BLKZEROOUT */
};

struct io_op {
	enum io_op_type type;
	const struct iovec *iov; /* READ/WRITE: host buffers (guest memory); must stay valid until completion */
	int iovcnt;
	uint64_t offset;         /* bytes */
	uint64_t len;            /* bytes: DISCARD / WRITE_ZEROES */
	bool unmap;              /* WRITE_ZEROES: a hole is fine */
	bool sync_all;           /* FLUSH: fsync instead of fdatasync */
};

/*
 * Completion callback: @tag as given to io_engine_submit(), @res = bytes
 * transferred (READ/WRITE), 0 (others) or -errno. Runs on the main thread,
 * from io_engine_reap()/io_engine_drain() — or from io_engine_submit()
 * itself for the synchronous engine.
 */
typedef void (*io_complete_fn)(void *opaque, void *tag, int res);

struct io_engine;

/*
 * Open an engine of @kind for @fd (borrowed; must outlive the engine).
 * @queue_depth: most operations in flight (1..4096). @is_blockdev selects
 * BLKDISCARD/BLKZEROOUT for DISCARD/WRITE_ZEROES. @kind AUTO falls back to
 * sync when io_uring cannot be set up (kernel.io_uring_disabled, seccomp,
 * old kernel) and logs that once. Returns 0 and *@out, or -errno (-ENOSYS
 * etc. when URING was forced and is unavailable).
 */
int io_engine_open(struct io_engine **out, enum io_engine_kind kind, int fd, bool is_blockdev,
		   unsigned int queue_depth, io_complete_fn complete, void *opaque);

/* Which engine is in use (for logs and metrics): "io_uring" or "sync". */
const char *io_engine_name(const struct io_engine *e);

/*
 * Queue one operation. 0, or -EAGAIN when @queue_depth operations are in
 * flight (the caller retries after a completion), or -errno. io_uring:
 * the SQE is submitted by io_engine_flush().
 */
int io_engine_submit(struct io_engine *e, const struct io_op *op, void *tag);

/* Submit queued operations to the kernel (one io_uring_submit). 0 or -errno. */
int io_engine_flush(struct io_engine *e);

/* The eventfd to watch for completions (EPOLLIN), or -1 (sync engine). */
int io_engine_event_fd(const struct io_engine *e);

/* Run the callbacks of all finished operations; never blocks. */
void io_engine_reap(struct io_engine *e);

/* Wait for every operation in flight and run its callback (reset, teardown). */
void io_engine_drain(struct io_engine *e);

/* Operations in flight. */
unsigned int io_engine_inflight(const struct io_engine *e);

/* Drain, then free everything (the fd stays open). NULL is fine. */
void io_engine_close(struct io_engine *e);

#endif
