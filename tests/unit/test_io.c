/*
 * test_io.c — the block I/O engines (virtio/io.c, io_uring.c, io_sync.c)
 * over a sparse temporary file: data round trips, TRIM and zeroing, queue
 * depth, drain and close with operations in flight, the ring restrictions,
 * and the fallback when io_uring is refused. Most tests run on both engines;
 * io_uring is expected to work here, so its tests fail rather than skip.
 */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "virtio/io.h"
#include "virtio/io_impl.h"

#define FILE_SIZE (64 * TEST_MiB)
#define DEPTH 64
#define MAX_DONE 256

struct done {
	void *tag;
	int res;
};

struct fixture {
	enum io_engine_kind kind;
	int fd;
	struct io_engine *e;
	struct done done[MAX_DONE];
	unsigned int ndone;
	bool in_submit;             /* io_engine_submit() is running */
	unsigned int done_in_submit; /* callbacks that ran inside it */
	/* Callbacks that submit a follow-up write while this is > 0. */
	unsigned int chain_left;
};

static void on_complete(void *opaque, void *tag, int res)
{
	struct fixture *f = opaque;

	if (f->in_submit)
		f->done_in_submit++;
	if (f->ndone < MAX_DONE)
		f->done[f->ndone] = (struct done){ tag, res };
	f->ndone++;
	if (f->chain_left > 0) {
		static char byte = 'c';
		struct iovec iov = { &byte, 1 };
		struct io_op op = { .type = IO_OP_WRITE, .iov = &iov, .iovcnt = 1,
				    .offset = 4096 * f->chain_left };

		f->chain_left--;
		/* The slot of this operation must already be free (depth 1). */
		assert_int_equal(io_engine_submit(f->e, &op, (void *)(uintptr_t)f->chain_left), 0);
		assert_int_equal(io_engine_flush(f->e), 0);
	}
}

static int temp_image(void)
{
	char path[] = "/tmp/brisk-test-io-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		fail_msg("mkstemp: %s", strerror(errno));
	unlink(path);
	if (ftruncate(fd, FILE_SIZE) < 0)
		fail_msg("ftruncate: %s", strerror(errno));
	return fd;
}

static void open_engine(struct fixture *f, bool is_blockdev, unsigned int depth)
{
	int r = io_engine_open(&f->e, f->kind, f->fd, is_blockdev, depth, on_complete, f);

	/* io_uring works on this machine: its absence is a failure, not a skip. */
	if (r < 0)
		fail_msg("io_engine_open(kind %d): %s", f->kind, strerror(-r));
	assert_string_equal(io_engine_name(f->e), f->kind == IO_ENGINE_SYNC ? "sync" : "io_uring");
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->kind = *(enum io_engine_kind *)*state;
	f->fd = temp_image();
	open_engine(f, false, DEPTH);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	io_engine_close(f->e);
	close(f->fd);
	/* io_uring never runs a callback inside submit. */
	if (f->kind != IO_ENGINE_SYNC)
		assert_int_equal(f->done_in_submit, 0);
	free(f);
	return 0;
}

/* Swap in a fresh engine (other fd, flags or depth); the old one is drained first. */
static void reopen(struct fixture *f, int fd, bool is_blockdev, unsigned int depth)
{
	io_engine_close(f->e);
	f->e = NULL;
	if (fd != f->fd) {
		close(f->fd);
		f->fd = fd;
	}
	open_engine(f, is_blockdev, depth);
}

static int submit(struct fixture *f, const struct io_op *op, void *tag)
{
	int r;

	f->in_submit = true;
	r = io_engine_submit(f->e, op, tag);
	f->in_submit = false;
	return r;
}

/* Flush, then wait on the event fd and reap until @n callbacks have run in all. */
static void wait_done(struct fixture *f, unsigned int n)
{
	assert_int_equal(io_engine_flush(f->e), 0);
	while (f->ndone < n) {
		struct pollfd p = { .fd = io_engine_event_fd(f->e), .events = POLLIN };

		if (p.fd < 0)
			fail_msg("%u operations outstanding on an engine without an event fd",
				 n - f->ndone);
		if (poll(&p, 1, 5000) != 1)
			fail_msg("no completion signalled within 5 s (%u of %u done)", f->ndone, n);
		io_engine_reap(f->e);
	}
}

/* Run one operation to completion; its result. */
static int run(struct fixture *f, const struct io_op *op)
{
	unsigned int n = f->ndone;

	assert_int_equal(submit(f, op, (void *)0x5a), 0);
	wait_done(f, n + 1);
	assert_int_equal(f->ndone, n + 1);
	assert_int_equal(io_engine_inflight(f->e), 0);
	assert_ptr_equal(f->done[n].tag, (void *)0x5a);
	return f->done[n].res;
}

static int rw(struct fixture *f, enum io_op_type type, void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { buf, len };

	return run(f, &(struct io_op){ .type = type, .iov = &iov, .iovcnt = 1, .offset = off });
}

static int range_op(struct fixture *f, enum io_op_type type, uint64_t off, uint64_t len, bool unmap)
{
	return run(f, &(struct io_op){ .type = type, .offset = off, .len = len, .unmap = unmap });
}

static void fill(uint8_t *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 31 + seed + (i >> 9));
}

static long long blocks(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (long long)st.st_blocks;
}

static void assert_zeroes(struct fixture *f, uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	memset(buf, 0xee, len);
	assert_int_equal(rw(f, IO_OP_READ, buf, len, off), (int)len);
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			fail_msg("byte %zu of [%llu, +%zu) is 0x%02x, not zero", i,
				 (unsigned long long)off, len, buf[i]);
	free(buf);
}

/* Write @len bytes of pattern at @off and make them reach the disk. */
static void write_allocated(struct fixture *f, uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	fill(buf, len, 7);
	assert_int_equal(rw(f, IO_OP_WRITE, buf, len, off), (int)len);
	assert_int_equal(run(f, &(struct io_op){ .type = IO_OP_FLUSH }), 0);
	free(buf);
}

static void write_then_read_back(void **state)
{
	struct fixture *f = *state;
	static uint8_t out[65536], in[65536];

	fill(out, sizeof(out), 1);
	assert_int_equal(rw(f, IO_OP_WRITE, out, sizeof(out), TEST_MiB + 512), (int)sizeof(out));
	assert_int_equal(rw(f, IO_OP_READ, in, sizeof(in), TEST_MiB + 512), (int)sizeof(in));
	assert_memory_equal(in, out, sizeof(out));
	assert_int_equal(f->done_in_submit, f->kind == IO_ENGINE_SYNC ? 2 : 0);
}

static void vectors_scatter_and_gather(void **state)
{
	struct fixture *f = *state;
	static uint8_t out[10000], in[10000];
	size_t sizes[] = { 1, 4095, 0, 3000, 2904 };
	struct iovec iov[5];
	size_t at = 0;

	fill(out, sizeof(out), 2);
	/* Gather from three buffers... */
	iov[0] = (struct iovec){ out, 700 };
	iov[1] = (struct iovec){ out + 700, 8000 };
	iov[2] = (struct iovec){ out + 8700, 1300 };
	assert_int_equal(run(f, &(struct io_op){ .type = IO_OP_WRITE, .iov = iov, .iovcnt = 3,
						 .offset = 12345 }), 10000);
	/* ...scatter into five, one of them empty. */
	for (int i = 0; i < 5; i++) {
		iov[i] = (struct iovec){ in + at, sizes[i] };
		at += sizes[i];
	}
	assert_int_equal(run(f, &(struct io_op){ .type = IO_OP_READ, .iov = iov, .iovcnt = 5,
						 .offset = 12345 }), 10000);
	assert_memory_equal(in, out, sizeof(out));
}

/* A read across the end of the file comes back short, with the bytes that exist. */
static void read_across_end_is_short(void **state)
{
	struct fixture *f = *state;
	static uint8_t out[4096], in[8192];
	struct iovec iov[3] = { { in, 3000 }, { in + 3000, 3000 }, { in + 6000, 2192 } };

	fill(out, sizeof(out), 3);
	assert_int_equal(rw(f, IO_OP_WRITE, out, sizeof(out), FILE_SIZE - 4096), 4096);
	memset(in, 0xee, sizeof(in));
	assert_int_equal(run(f, &(struct io_op){ .type = IO_OP_READ, .iov = iov, .iovcnt = 3,
						 .offset = FILE_SIZE - 4096 }), 4096);
	assert_memory_equal(in, out, sizeof(out));
	assert_int_equal(in[4096], 0xee);
	assert_int_equal(rw(f, IO_OP_READ, in, 512, FILE_SIZE), 0);
}

static void flush_datasync_and_fsync(void **state)
{
	struct fixture *f = *state;
	static uint8_t out[4096];

	fill(out, sizeof(out), 4);
	assert_int_equal(rw(f, IO_OP_WRITE, out, sizeof(out), 0), 4096);
	assert_int_equal(run(f, &(struct io_op){ .type = IO_OP_FLUSH }), 0);
	assert_int_equal(run(f, &(struct io_op){ .type = IO_OP_FLUSH, .sync_all = true }), 0);
}

static void discard_punches_a_hole(void **state)
{
	struct fixture *f = *state;
	long long before;

	write_allocated(f, 4 * TEST_MiB, TEST_MiB);
	before = blocks(f->fd);
	assert_true(before >= 2048);
	assert_int_equal(range_op(f, IO_OP_DISCARD, 4 * TEST_MiB, TEST_MiB, false), 0);
	assert_true(blocks(f->fd) <= before - 2048);
	assert_zeroes(f, 4 * TEST_MiB, TEST_MiB);
}

static void write_zeroes_keeps_blocks(void **state)
{
	struct fixture *f = *state;
	long long before;

	write_allocated(f, 8 * TEST_MiB, 256 * 1024);
	before = blocks(f->fd);
	assert_int_equal(range_op(f, IO_OP_WRITE_ZEROES, 8 * TEST_MiB + 4096, 128 * 1024, false), 0);
	assert_zeroes(f, 8 * TEST_MiB + 4096, 128 * 1024);
	/* The zeroed range stays allocated. */
	assert_int_equal(blocks(f->fd), before);
	/* ZERO_RANGE was used where the file system has it (ext4, xfs; not tmpfs). */
	assert_int_equal(f->e->no_zero_range,
			 fallocate(f->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				   FILE_SIZE - TEST_MiB, 4096) < 0 && errno == EOPNOTSUPP);
}

static void write_zeroes_with_unmap_punches(void **state)
{
	struct fixture *f = *state;
	long long before;

	write_allocated(f, 12 * TEST_MiB, TEST_MiB);
	before = blocks(f->fd);
	assert_int_equal(range_op(f, IO_OP_WRITE_ZEROES, 12 * TEST_MiB, TEST_MiB, true), 0);
	assert_zeroes(f, 12 * TEST_MiB, TEST_MiB);
	assert_true(blocks(f->fd) <= before - 2048);
}

/* tmpfs has no ZERO_RANGE: zeroes come from a punched and reallocated range. */
static void write_zeroes_without_zero_range(void **state)
{
	struct fixture *f = *state;
	static uint8_t buf[256 * 1024];
	long long before;

	fill(buf, sizeof(buf), 5);
	reopen(f, memfd_with(buf, sizeof(buf)), false, DEPTH);
	before = blocks(f->fd);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(range_op(f, IO_OP_WRITE_ZEROES, 65536 * (uint64_t)i, 65536, false), 0);
		assert_zeroes(f, 65536 * (uint64_t)i, 65536);
		assert_true(f->e->no_zero_range);
	}
	assert_int_equal(blocks(f->fd), before);
	assert_int_equal(rw(f, IO_OP_READ, buf, 1024, 131072), 1024);
	assert_int_equal(buf[0], (uint8_t)(131072 * 31 + 5 + 256));
}

/*
 * On a block device, DISCARD / WRITE_ZEROES are ioctls. A regular file
 * refuses them (ENOTTY), which proves the path; io_uring still reports the
 * result from reap, never inside submit.
 */
static void blockdev_trim_is_an_ioctl(void **state)
{
	struct fixture *f = *state;

	reopen(f, f->fd, true, DEPTH);
	assert_int_equal(submit(f, &(struct io_op){ .type = IO_OP_DISCARD, .len = 4096 }, f), 0);
	assert_int_equal(f->ndone, f->kind == IO_ENGINE_SYNC ? 1 : 0);
	wait_done(f, 1);
	assert_int_equal(f->done[0].res, -ENOTTY);
	assert_int_equal(range_op(f, IO_OP_WRITE_ZEROES, 0, 4096, false), -ENOTTY);
	write_allocated(f, 0, 4096);
}

static void invalid_operations_are_refused(void **state)
{
	struct fixture *f = *state;
	static uint8_t byte;
	static struct iovec iov[IOV_MAX + 1];
	struct io_engine *e = NULL;

	for (int i = 0; i <= IOV_MAX; i++)
		iov[i] = (struct iovec){ &byte, 1 };
	assert_int_equal(submit(f, &(struct io_op){ .type = IO_OP_READ, .iov = iov, .iovcnt = -1 }, NULL),
			 -EINVAL);
	assert_int_equal(submit(f, &(struct io_op){ .type = IO_OP_READ, .iov = iov,
						   .iovcnt = IOV_MAX + 1 }, NULL), -EINVAL);
	assert_int_equal(submit(f, &(struct io_op){ .type = IO_OP_WRITE, .iov = iov, .iovcnt = 1,
						   .offset = (uint64_t)INT64_MAX }, NULL), -EINVAL);
	assert_int_equal(submit(f, &(struct io_op){ .type = IO_OP_DISCARD, .offset = 1ULL << 62,
						   .len = 1ULL << 62 }, NULL), -EINVAL);
	assert_int_equal(submit(f, &(struct io_op){ .type = (enum io_op_type)99 }, NULL), -EINVAL);
	assert_int_equal(f->ndone, 0);
	assert_int_equal(io_engine_inflight(f->e), 0);
	assert_int_equal(io_engine_open(&e, f->kind, f->fd, false, 0, on_complete, f), -EINVAL);
	assert_int_equal(io_engine_open(&e, f->kind, f->fd, false, 4097, on_complete, f), -EINVAL);
	assert_int_equal(io_engine_open(&e, f->kind, -1, false, 1, on_complete, f), -EINVAL);
	assert_null(e);
}

/* Every operation queued before a drain has had its callback, exactly once. */
static void drain_runs_every_callback(void **state)
{
	struct fixture *f = *state;
	static uint8_t bufs[DEPTH][4096];
	struct iovec iov[DEPTH];
	unsigned int seen[DEPTH] = { 0 };

	for (unsigned int i = 0; i < DEPTH; i++) {
		struct io_op op = { .type = i % 2 ? IO_OP_READ : IO_OP_WRITE, .iov = &iov[i],
				    .iovcnt = 1, .offset = 4096ULL * i };

		if (i % 8 == 7)
			op = (struct io_op){ .type = IO_OP_FLUSH };
		else if (i % 8 == 5)
			op = (struct io_op){ .type = IO_OP_DISCARD, .offset = TEST_MiB * i,
					     .len = 4096 };
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		assert_int_equal(submit(f, &op, (void *)(uintptr_t)i), 0);
	}
	assert_int_equal(io_engine_inflight(f->e), f->kind == IO_ENGINE_SYNC ? 0 : DEPTH);
	io_engine_drain(f->e);
	assert_int_equal(io_engine_inflight(f->e), 0);
	assert_int_equal(f->ndone, DEPTH);
	for (unsigned int i = 0; i < DEPTH; i++) {
		uintptr_t tag = (uintptr_t)f->done[i].tag;

		assert_true(tag < DEPTH);
		seen[tag]++;
		assert_int_equal(f->done[i].res, tag % 8 == 7 || tag % 8 == 5 ? 0 : 4096);
	}
	for (unsigned int i = 0; i < DEPTH; i++)
		assert_int_equal(seen[i], 1);
}

/* Closing with queued and submitted operations runs their callbacks and frees all. */
static void close_with_operations_in_flight(void **state)
{
	struct fixture *f = *state;
	static uint8_t bufs[32][8192];
	struct iovec iov[32];

	for (unsigned int i = 0; i < 32; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		assert_int_equal(submit(f, &(struct io_op){ .type = i < 16 ? IO_OP_WRITE : IO_OP_READ,
							    .iov = &iov[i], .iovcnt = 1,
							    .offset = 8192ULL * i }, NULL), 0);
		if (i == 15)
			assert_int_equal(io_engine_flush(f->e), 0); /* half submitted, half queued */
	}
	io_engine_close(f->e);
	f->e = NULL;
	assert_int_equal(f->ndone, 32);
}

/* A callback may submit the next operation: its own slot is free by then. */
static void callback_can_submit_again(void **state)
{
	struct fixture *f = *state;
	static uint8_t byte = 'x';

	struct iovec iov = { &byte, 1 };

	reopen(f, f->fd, false, 1);
	f->chain_left = 5;
	assert_int_equal(submit(f, &(struct io_op){ .type = IO_OP_WRITE, .iov = &iov, .iovcnt = 1 },
			     NULL), 0);
	wait_done(f, 6);
	assert_int_equal(f->ndone, 6);
	assert_int_equal(io_engine_inflight(f->e), 0);
	assert_int_equal(f->chain_left, 0);
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(f->done[i].res, 1);
}

static void uring_eagain_at_queue_depth(void **state)
{
	struct fixture *f = *state;
	static uint8_t bufs[5][512];
	struct iovec iov[5];

	reopen(f, f->fd, false, 4);
	for (unsigned int i = 0; i < 5; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		assert_int_equal(submit(f, &(struct io_op){ .type = IO_OP_READ, .iov = &iov[i],
							    .iovcnt = 1 }, NULL), i < 4 ? 0 : -EAGAIN);
		assert_int_equal(io_engine_inflight(f->e), i < 4 ? i + 1 : 4);
	}
	wait_done(f, 4);
	assert_int_equal(f->ndone, 4);
	assert_int_equal(submit(f, &(struct io_op){ .type = IO_OP_READ, .iov = &iov[4], .iovcnt = 1 },
			     NULL), 0);
	io_engine_drain(f->e);
	assert_int_equal(f->ndone, 5);
}

static void uring_sync_engine_has_no_event_fd(void **state)
{
	struct fixture *f = *state;
	struct io_engine *e;

	assert_true(io_engine_event_fd(f->e) >= 0);
	assert_int_equal(io_engine_open(&e, IO_ENGINE_SYNC, f->fd, false, 8, on_complete, f), 0);
	assert_int_equal(io_engine_event_fd(e), -1);
	assert_int_equal(io_engine_inflight(e), 0);
	assert_null(io_engine_uring_ring(e));
	io_engine_reap(e);
	io_engine_drain(e);
	io_engine_close(e);
	io_engine_close(NULL);
}

static void auto_picks_io_uring_here(void **state)
{
	struct fixture *f = *state;
	struct io_engine *e;

	assert_int_equal(io_engine_open(&e, IO_ENGINE_AUTO, f->fd, false, 8, on_complete, f), 0);
	assert_string_equal(io_engine_name(e), "io_uring");
	io_engine_close(e);
}

/* Submit one raw SQE on the engine's ring and return its CQE result. */
static int raw_sqe(struct io_uring *ring, uint8_t opcode, int fd, uint8_t flags)
{
	static uint8_t buf[512];
	static struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int res;

	assert_non_null(sqe);
	io_uring_prep_rw(opcode, sqe, fd, &iov, 1, 0);
	if (opcode == IORING_OP_FALLOCATE)
		io_uring_prep_fallocate(sqe, fd, 0, 0, 4096);
	sqe->flags = flags;
	io_uring_sqe_set_data64(sqe, 0xdead);
	assert_int_equal(io_uring_submit_and_wait(ring, 1), 1);
	assert_int_equal(io_uring_peek_cqe(ring, &cqe), 0);
	assert_int_equal(io_uring_cqe_get_data64(cqe), 0xdead);
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

/* io_uring bypasses seccomp: the ring refuses everything the engine does not use. */
static void uring_ring_is_restricted(void **state)
{
	struct fixture *f = *state;
	struct io_uring *ring = io_engine_uring_ring(f->e);
	static uint8_t buf[512];

	assert_non_null(ring);
	assert_int_equal(raw_sqe(ring, IORING_OP_READV, 0, IOSQE_FIXED_FILE), 512);
	assert_int_equal(raw_sqe(ring, IORING_OP_NOP, 0, IOSQE_FIXED_FILE), -EACCES);
	assert_int_equal(raw_sqe(ring, IORING_OP_OPENAT, 0, IOSQE_FIXED_FILE), -EACCES);
	/* A plain fd instead of the fixed file, or another flag. */
	assert_int_equal(raw_sqe(ring, IORING_OP_READV, f->fd, 0), -EACCES);
	assert_int_equal(raw_sqe(ring, IORING_OP_READV, 0, IOSQE_FIXED_FILE | IOSQE_IO_LINK),
			 -EACCES);
	/* No register operation once enabled. */
	assert_int_equal(io_uring_register_files_update(ring, 0, &f->fd, 1), -EACCES);
	assert_int_equal(io_uring_register_eventfd(ring, io_engine_event_fd(f->e)), -EACCES);
	assert_int_equal(raw_sqe(ring, IORING_OP_FALLOCATE, 0, IOSQE_FIXED_FILE), 0);
	/* The engine still works. */
	assert_int_equal(rw(f, IO_OP_READ, buf, sizeof(buf), 0), 512);

	/* A block device engine has no use for FALLOCATE. */
	reopen(f, f->fd, true, 8);
	ring = io_engine_uring_ring(f->e);
	assert_int_equal(raw_sqe(ring, IORING_OP_FALLOCATE, 0, IOSQE_FIXED_FILE), -EACCES);
	assert_int_equal(raw_sqe(ring, IORING_OP_WRITEV, 0, IOSQE_FIXED_FILE), 512);
}

/* In a child: make io_uring_setup fail with ENOSYS, as container seccomp profiles do. */
static int deny_io_uring(void)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(insns) / sizeof(insns[0]), .filter = insns };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0 ? -1 : 0;
}

/* The child's checks; its exit status is the number of the first that failed. */
static int fallback_child(struct fixture *f)
{
	static uint8_t out[4096], in[4096];
	struct io_engine *a, *b, *c = NULL;
	struct iovec iov = { out, sizeof(out) };

	if (deny_io_uring() < 0)
		return 1;
	if (io_engine_open(&c, IO_ENGINE_URING, f->fd, false, 8, on_complete, f) != -ENOSYS || c)
		return 2;
	if (io_engine_open(&a, IO_ENGINE_AUTO, f->fd, false, 8, on_complete, f) != 0 ||
	    io_engine_open(&b, IO_ENGINE_AUTO, f->fd, false, 8, on_complete, f) != 0)
		return 3;
	if (strcmp(io_engine_name(a), "sync") || strcmp(io_engine_name(b), "sync"))
		return 4;
	fill(out, sizeof(out), 6);
	if (io_engine_submit(a, &(struct io_op){ .type = IO_OP_WRITE, .iov = &iov, .iovcnt = 1 },
			     NULL) != 0)
		return 5;
	iov.iov_base = in;
	if (io_engine_submit(b, &(struct io_op){ .type = IO_OP_READ, .iov = &iov, .iovcnt = 1 },
			     NULL) != 0)
		return 6;
	if (f->ndone != 2 || f->done[0].res != 4096 || f->done[1].res != 4096 ||
	    memcmp(in, out, sizeof(in)))
		return 7;
	io_engine_close(a);
	io_engine_close(b);
	return 0;
}

/* Where io_uring is refused, AUTO falls back to sync and says so once. */
static void auto_falls_back_when_io_uring_is_refused(void **state)
{
	struct fixture *f = *state;
	char log[4096] = "";
	const char *want = "brisk: io_uring unavailable (io_uring_setup: Function not implemented): "
			   "using synchronous block I/O\n";
	FILE *err = tmpfile();
	int status;
	pid_t pid;

	assert_non_null(err);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fileno(err), STDERR_FILENO);
		_exit(fallback_child(f));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	rewind(err);
	assert_true(fread(log, 1, sizeof(log) - 1, err) > 0);
	fclose(err);
	assert_string_equal(log, want);
}

static enum io_engine_kind kinds[] = { IO_ENGINE_AUTO, IO_ENGINE_URING, IO_ENGINE_SYNC };

#define ON(kind, fn) { #kind ": " #fn, fn, setup, teardown, &kinds[kind] }
#define BOTH(fn) ON(IO_ENGINE_URING, fn), ON(IO_ENGINE_SYNC, fn)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(write_then_read_back),
		BOTH(vectors_scatter_and_gather),
		BOTH(read_across_end_is_short),
		BOTH(flush_datasync_and_fsync),
		BOTH(discard_punches_a_hole),
		BOTH(write_zeroes_keeps_blocks),
		BOTH(write_zeroes_with_unmap_punches),
		BOTH(write_zeroes_without_zero_range),
		BOTH(blockdev_trim_is_an_ioctl),
		BOTH(invalid_operations_are_refused),
		BOTH(drain_runs_every_callback),
		BOTH(close_with_operations_in_flight),
		BOTH(callback_can_submit_again),
		ON(IO_ENGINE_URING, uring_eagain_at_queue_depth),
		ON(IO_ENGINE_URING, uring_sync_engine_has_no_event_fd),
		ON(IO_ENGINE_URING, uring_ring_is_restricted),
		ON(IO_ENGINE_AUTO, auto_picks_io_uring_here),
		ON(IO_ENGINE_URING, auto_falls_back_when_io_uring_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
