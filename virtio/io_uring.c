/*
 * io_uring.c — the io_uring block I/O engine (liburing). One ring per drive,
 * used only from the main thread; completions are signalled on an eventfd
 * the main loop watches and delivered by io_engine_reap().
 *
 * io_uring operations bypass seccomp, so the ring is its own filter: it is
 * created disabled, given the drive's fd as fixed file 0, restricted to the
 * opcodes below with IOSQE_FIXED_FILE required and no register operation
 * allowed afterwards, then enabled (DESIGN.md, "Block devices").
 */
#include "virtio/io_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/util.h"

#define FIXED_FILE 0 /* the drive's fd in the ring's registered file table */

/* One operation in flight; its index in uring_engine.slots is the SQE's user_data. */
struct uring_slot {
	void *tag;
	enum io_op_type type;
	bool busy;
	uint64_t offset;         /* bytes: where the next transfer or the range starts */
	uint64_t len;            /* bytes: READ/WRITE total, DISCARD/WRITE_ZEROES range */
	/* READ/WRITE: a private copy of the caller's iovecs, advanced past what is done. */
	struct iovec *iov;
	unsigned int iov_cap;    /* entries allocated at @iov (kept for reuse) */
	unsigned int iov_first;  /* first entry not yet transferred */
	unsigned int iovcnt;
	uint64_t done;           /* bytes transferred so far */
	unsigned int fsync_flags; /* FLUSH */
	int modes[2];            /* DISCARD/WRITE_ZEROES on a file: fallocate modes, in order */
	unsigned int nmodes, step;
	int res;                 /* block device TRIM: result waiting for io_engine_reap() */
};

struct uring_engine {
	struct io_engine base;
	struct io_uring ring;
	bool ring_ok;            /* ring set up (io_uring_queue_exit needed) */
	bool defer_taskrun;      /* completions wait for io_uring_get_events() */
	unsigned int setup_flags;
	int evfd;
	struct uring_slot *slots;    /* queue_depth entries */
	unsigned int *free_slots;    /* stack of free slot indices */
	unsigned int nfree;
	/* FIFO of slots finished synchronously (BLKDISCARD/BLKZEROOUT), reported by reap. */
	unsigned int *pending;
	unsigned int pend_head, pend_count;
};

static const struct io_engine_ops uring_ops;

static struct uring_engine *to_uring(const struct io_engine *e)
{
	return container_of(e, struct uring_engine, base);
}

/* Queue the SQE that carries out the next step of slot @idx (not yet submitted). */
static int uring_prep(struct uring_engine *u, unsigned int idx)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	struct uring_slot *s = &u->slots[idx];

	/* Cannot happen: the SQ has at least queue_depth entries. */
	if (!sqe)
		return -EBUSY;
	switch (s->type) {
	case IO_OP_READ:
		io_uring_prep_readv(sqe, FIXED_FILE, s->iov + s->iov_first, s->iovcnt - s->iov_first,
				    s->offset);
		break;
	case IO_OP_WRITE:
		io_uring_prep_writev(sqe, FIXED_FILE, s->iov + s->iov_first, s->iovcnt - s->iov_first,
				     s->offset);
		break;
	case IO_OP_FLUSH:
		io_uring_prep_fsync(sqe, FIXED_FILE, s->fsync_flags);
		break;
	case IO_OP_DISCARD:
	case IO_OP_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, FIXED_FILE, s->modes[s->step], (off_t)s->offset,
					(off_t)s->len);
		break;
	}
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	io_uring_sqe_set_data64(sqe, idx);
	return 0;
}

static void slot_release(struct uring_engine *u, unsigned int idx)
{
	u->slots[idx].busy = false;
	u->free_slots[u->nfree++] = idx;
}

/* Free the slot first: the callback may submit the next operation into it. */
static void uring_complete(struct uring_engine *u, unsigned int idx, int res)
{
	void *tag = u->slots[idx].tag;

	slot_release(u, idx);
	u->base.complete(u->base.opaque, tag, res);
}

static void uring_signal(struct uring_engine *u)
{
	uint64_t one = 1;

	/* Cannot fail short of a counter at 2^64 - 2. */
	if (write(u->evfd, &one, sizeof(one)) < 0)
		log_err("io_uring: signal completion eventfd: %s", strerror(errno));
}

static int copy_iov(struct uring_slot *s, const struct io_op *op)
{
	unsigned int cnt = (unsigned int)op->iovcnt;

	if (cnt > s->iov_cap) {
		struct iovec *iov = realloc(s->iov, cnt * sizeof(*iov));

		if (!iov)
			return -ENOMEM;
		s->iov = iov;
		s->iov_cap = cnt;
	}
	if (cnt)
		memcpy(s->iov, op->iov, cnt * sizeof(*s->iov));
	s->iovcnt = cnt;
	s->iov_first = 0;
	return 0;
}

/* Step the private iovec copy past @n transferred bytes (n < bytes left). */
static void advance_iov(struct uring_slot *s, size_t n)
{
	while (n > 0) {
		struct iovec *v = &s->iov[s->iov_first];

		if (n < v->iov_len) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= n;
			return;
		}
		n -= v->iov_len;
		s->iov_first++;
	}
}

static int uring_submit(struct io_engine *e, const struct io_op *op, void *tag)
{
	struct uring_engine *u = to_uring(e);
	struct uring_slot *s;
	unsigned int idx;
	uint64_t bytes;
	int r = io_op_check(op, &bytes);

	if (r < 0)
		return r;
	if (u->nfree == 0)
		return -EAGAIN;
	idx = u->free_slots[u->nfree - 1];
	s = &u->slots[idx];
	s->tag = tag;
	s->type = op->type;
	s->offset = op->offset;
	s->len = op->len;
	s->done = 0;
	switch (op->type) {
	case IO_OP_READ:
	case IO_OP_WRITE:
		r = copy_iov(s, op);
		s->len = bytes;
		break;
	case IO_OP_FLUSH:
		s->fsync_flags = op->sync_all ? 0 : IORING_FSYNC_DATASYNC;
		break;
	case IO_OP_DISCARD:
	case IO_OP_WRITE_ZEROES:
		if (e->is_blockdev) {
			/*
			 * No io_uring opcode for these ioctls: run them now, but
			 * report from reap like every other completion, so the
			 * caller never sees its callback inside submit.
			 */
			s->res = io_blkdev_zero(e->fd, op);
			s->busy = true;
			u->nfree--;
			u->pending[(u->pend_head + u->pend_count++) % e->queue_depth] = idx;
			uring_signal(u);
			return 0;
		}
		s->nmodes = io_falloc_plan(e, op, s->modes);
		s->step = 0;
		break;
	}
	if (r == 0)
		r = uring_prep(u, idx);
	if (r < 0)
		return r;
	s->busy = true;
	u->nfree--;
	return 0;
}

static int uring_flush(struct io_engine *e)
{
	int r = io_uring_submit(&to_uring(e)->ring);

	return r < 0 ? r : 0;
}

static int uring_event_fd(const struct io_engine *e)
{
	return to_uring(e)->evfd;
}

static unsigned int uring_inflight(const struct io_engine *e)
{
	return e->queue_depth - to_uring(e)->nfree;
}

/*
 * Whether a fallocate slot has another step after @res: the next mode of
 * its plan, or the hole-punch plan when ZERO_RANGE is not supported.
 */
static bool falloc_next(struct uring_engine *u, struct uring_slot *s, int res)
{
	if (res == -EOPNOTSUPP && (s->modes[s->step] & FALLOC_FL_ZERO_RANGE)) {
		struct io_op op = { .type = s->type, .offset = s->offset, .len = s->len };

		u->base.no_zero_range = true;
		s->nmodes = io_falloc_plan(&u->base, &op, s->modes);
		s->step = 0;
		return true;
	}
	return res == 0 && ++s->step < s->nmodes;
}

/*
 * One CQE for slot @idx. A short READ/WRITE goes on with the rest of the
 * transfer and a multi-step fallocate with its next step (*@resubmit set);
 * anything else completes.
 */
static void uring_cqe(struct uring_engine *u, unsigned int idx, int res, bool *resubmit)
{
	struct uring_slot *s = &u->slots[idx];
	bool more = false;
	int r;

	switch (s->type) {
	case IO_OP_READ:
	case IO_OP_WRITE:
		if (res > 0) {
			s->done += (uint64_t)res;
			s->offset += (uint64_t)res;
			more = s->done < s->len;
			if (more)
				advance_iov(s, (size_t)res);
		}
		/* 0 is end of file: report what was transferred. */
		if (res >= 0)
			res = (int)s->done;
		break;
	case IO_OP_FLUSH:
		break;
	case IO_OP_DISCARD:
	case IO_OP_WRITE_ZEROES:
		more = falloc_next(u, s, res);
		break;
	}
	if (more) {
		r = uring_prep(u, idx);
		if (r == 0) {
			*resubmit = true;
			return;
		}
		res = r;
	}
	uring_complete(u, idx, res);
}

/* Every CQE available now; never blocks. */
static void uring_reap_cqes(struct uring_engine *u)
{
	struct io_uring_cqe *cqe;
	bool resubmit = false;

	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		uint64_t idx = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&u->ring, cqe);
		if (idx >= u->base.queue_depth || !u->slots[idx].busy) {
			log_err("io_uring: completion for unknown operation %llu",
				(unsigned long long)idx);
			continue;
		}
		uring_cqe(u, (unsigned int)idx, res, &resubmit);
	}
	/* The rest of short transfers; an error here is retried by the next flush. */
	if (resubmit)
		io_uring_submit(&u->ring);
}

/* Block device TRIMs done in submit; those queued later wait for the next reap. */
static void uring_run_pending(struct uring_engine *u)
{
	/* A callback may submit (and queue) more, or drain: re-read the count. */
	for (unsigned int n = u->pend_count; n > 0 && u->pend_count > 0; n--) {
		unsigned int idx = u->pending[u->pend_head];

		u->pend_head = (u->pend_head + 1) % u->base.queue_depth;
		u->pend_count--;
		uring_complete(u, idx, u->slots[idx].res);
	}
}

static void uring_reap(struct io_engine *e)
{
	struct uring_engine *u = to_uring(e);
	uint64_t n;

	/* Reset the counter first: a completion posted after this signals again. */
	if (read(u->evfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_err("io_uring: read completion eventfd: %s", strerror(errno));
	uring_run_pending(u);
	if (u->defer_taskrun)
		io_uring_get_events(&u->ring);
	uring_reap_cqes(u);
}

static void uring_drain(struct io_engine *e)
{
	struct uring_engine *u = to_uring(e);

	while (uring_inflight(e) > 0) {
		int r;

		uring_run_pending(u);
		if (uring_inflight(e) == u->pend_count)
			continue;
		/* Submit what is queued and wait for at least one completion. */
		r = io_uring_submit_and_wait(&u->ring, 1);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			log_err("io_uring: waiting for %u operations: %s", uring_inflight(e),
				strerror(-r));
			return;
		}
		uring_reap_cqes(u);
	}
}

/* Free what uring_open built so far; nothing may be in flight. */
static void uring_free(struct uring_engine *u)
{
	if (u->ring_ok)
		io_uring_queue_exit(&u->ring);
	close_fd(&u->evfd);
	if (u->slots)
		for (unsigned int i = 0; i < u->base.queue_depth; i++)
			free(u->slots[i].iov);
	free(u->slots);
	free(u->free_slots);
	free(u->pending);
	free(u);
}

static void uring_close(struct io_engine *e)
{
	struct uring_engine *u = to_uring(e);

	uring_drain(e);
	uring_free(u);
}

static const struct io_engine_ops uring_ops = {
	.name = "io_uring",
	.submit = uring_submit,
	.flush = uring_flush,
	.event_fd = uring_event_fd,
	.reap = uring_reap,
	.drain = uring_drain,
	.inflight = uring_inflight,
	.close = uring_close,
};

/*
 * Create the ring disabled, with COOP_TASKRUN (5.19) where the kernel has
 * it, so completions do not interrupt the main thread. Not SINGLE_ISSUER or
 * DEFER_TASKRUN: a device reset drains the ring from the vCPU thread that
 * wrote the status register (under the device lock), and those modes tie
 * the ring to the thread that created it. Older kernels say EINVAL to
 * unknown flags; other errors (EPERM from io_uring_disabled, ENOSYS from
 * seccomp) are final.
 */
static int uring_setup(struct uring_engine *u, unsigned int entries)
{
	static const unsigned int flags[] = {
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	int r = -EINVAL;

	for (size_t i = 0; i < ARRAY_SIZE(flags) && r == -EINVAL; i++) {
		struct io_uring_params p = { .flags = IORING_SETUP_R_DISABLED | flags[i] };

		r = io_uring_queue_init_params(entries, &u->ring, &p);
		if (r == 0) {
			u->ring_ok = true;
			u->setup_flags = p.flags;
			u->defer_taskrun = p.flags & IORING_SETUP_DEFER_TASKRUN;
		}
	}
	return r;
}

/*
 * io_uring_register(2) on the ring. Debian's liburing 2.3 shared library
 * does not export io_uring_register_restrictions / io_uring_enable_rings
 * (only liburing.a has them), so these two go through the syscall directly.
 */
static int uring_register(struct uring_engine *u, unsigned int opcode, const void *arg,
			  unsigned int nr)
{
	return syscall(__NR_io_uring_register, u->ring.ring_fd, opcode, arg, nr) < 0 ? -errno : 0;
}

/* Only the opcodes this engine issues, only on fixed file 0, no register op once enabled. */
static int uring_restrict(struct uring_engine *u)
{
	struct io_uring_restriction res[8];
	unsigned int n = 0;

	memset(res, 0, sizeof(res));
	res[n].opcode = IORING_RESTRICTION_SQE_OP;
	res[n++].sqe_op = IORING_OP_READV;
	res[n].opcode = IORING_RESTRICTION_SQE_OP;
	res[n++].sqe_op = IORING_OP_WRITEV;
	res[n].opcode = IORING_RESTRICTION_SQE_OP;
	res[n++].sqe_op = IORING_OP_FSYNC;
	if (!u->base.is_blockdev) {
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = IORING_OP_FALLOCATE;
	}
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE;
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE;
	return uring_register(u, IORING_REGISTER_RESTRICTIONS, res, n);
}

int io_engine_uring_open(struct io_engine **out, int fd, bool is_blockdev, unsigned int queue_depth,
			 io_complete_fn complete, void *opaque, const char **step)
{
	struct uring_engine *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return -ENOMEM;
	u->base = (struct io_engine){
		.ops = &uring_ops,
		.fd = fd,
		.is_blockdev = is_blockdev,
		.queue_depth = queue_depth,
		.complete = complete,
		.opaque = opaque,
	};
	u->evfd = -1;
	u->slots = calloc(queue_depth, sizeof(*u->slots));
	u->free_slots = calloc(queue_depth, sizeof(*u->free_slots));
	u->pending = calloc(queue_depth, sizeof(*u->pending));
	if (!u->slots || !u->free_slots || !u->pending) {
		*step = "allocate";
		r = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < queue_depth; i++)
		u->free_slots[i] = queue_depth - 1 - i;
	u->nfree = queue_depth;

	*step = "io_uring_setup";
	r = uring_setup(u, queue_depth);
	if (r < 0)
		goto fail;
	*step = "eventfd";
	u->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->evfd < 0) {
		r = -errno;
		goto fail;
	}
	*step = "register files";
	r = io_uring_register_files(&u->ring, &fd, 1);
	if (r < 0)
		goto fail;
	*step = "register eventfd";
	r = io_uring_register_eventfd(&u->ring, u->evfd);
	if (r < 0)
		goto fail;
	*step = "register restrictions";
	r = uring_restrict(u);
	if (r < 0)
		goto fail;
	*step = "enable rings";
	r = uring_register(u, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	if (r < 0)
		goto fail;
	log_debug("io_uring: fd %d, %u entries, setup flags 0x%x", fd, queue_depth,
		  u->setup_flags);
	*out = &u->base;
	return 0;
fail:
	uring_free(u);
	return r;
}

struct io_uring *io_engine_uring_ring(struct io_engine *e)
{
	return e->ops == &uring_ops ? &to_uring(e)->ring : NULL;
}
