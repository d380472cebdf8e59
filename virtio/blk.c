/* blk.c — virtio-blk request handling (virtio 1.2 §5.2.6). */
#include "virtio/blk.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#define BLK_HDR_SIZE sizeof(struct virtio_blk_outhdr)          /* 16 */
#define BLK_RANGE_SIZE sizeof(struct virtio_blk_discard_write_zeroes) /* 16 */

struct blk_req {
	struct blk_req *next_free;
	uint32_t gen;
	unsigned int pending;   /* engine operations still running */
	uint8_t status;
	uint8_t *status_hva;    /* last device-writable byte of the chain */
	uint32_t used_len;      /* bytes written into the chain on success */
	uint64_t expect;        /* READ/WRITE: bytes the operation must move */
	struct iovec iov[VIRTQ_MAX_SEGS];
	int iovcnt;
	struct virtq_chain chain;
};

static uint64_t blk_offered(const struct virtio_blk *b)
{
	uint64_t f = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
		     (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
		     (1ULL << VIRTIO_BLK_F_BLK_SIZE);

	if (b->flush)
		f |= 1ULL << VIRTIO_BLK_F_FLUSH;
	if (b->read_only)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	else
		f |= (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	return f;
}

static uint64_t blk_features(void *dev)
{
	return blk_offered(dev);
}

static void blk_read_config(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_blk *b = dev;

	memcpy(data, (uint8_t *)&b->config + off, len);
}

static void blk_free_req(struct virtio_blk *b, struct blk_req *req)
{
	req->next_free = b->free_list;
	b->free_list = req;
}

/*
 * A free request slot, or NULL. Slots never used yet are handed out in
 * order, so the ~2 KiB of each stays untouched (not resident) until a
 * guest keeps that many requests in flight.
 */
static struct blk_req *blk_peek_req(struct virtio_blk *b)
{
	if (b->free_list)
		return b->free_list;
	if (b->nr_used_reqs < BLK_QUEUE_DEPTH)
		return &b->reqs[b->nr_used_reqs];
	return NULL;
}

static void blk_take_req(struct virtio_blk *b, struct blk_req *req)
{
	if (req == b->free_list)
		b->free_list = req->next_free;
	else
		b->nr_used_reqs++;
}

static int blk_activate(void *dev, uint64_t features)
{
	struct virtio_blk *b = dev;

	b->features = features;
	b->active = true;
	return 0;
}

/* §2.4: reset stops the device. In-flight I/O is waited for, then forgotten. */
static void blk_reset(void *dev)
{
	struct virtio_blk *b = dev;

	b->active = false;
	b->gen++;
	b->queue_waiting = false;
	if (b->io)
		io_engine_drain(b->io);
}

const struct virtio_dev_ops virtio_blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.config_size = sizeof(struct virtio_blk_config),
	.features = blk_features,
	.read_config = blk_read_config,
	.activate = blk_activate,
	.reset = blk_reset,
};

/* Finish a request: status byte, used element, interrupt later. */
static void blk_finish(struct virtio_blk *b, struct blk_req *req)
{
	struct virtq *vq = &b->transport->queues[0];

	if (req->gen == b->gen && b->active) {
		*req->status_hva = req->status;
		if (req->status != VIRTIO_BLK_S_OK)
			req->used_len = 1;
		if (req->status == VIRTIO_BLK_S_IOERR)
			b->stats.errors++;
		else if (req->status == VIRTIO_BLK_S_UNSUPP)
			b->stats.unsupported++;
		virtq_push(vq, req->chain.head, req->used_len);
		b->need_signal = true;
	}
	blk_free_req(b, req);
}

static void blk_complete(void *opaque, void *tag, int res)
{
	struct virtio_blk *b = opaque;
	struct blk_req *req = tag;

	if (res < 0 || (req->expect && (uint64_t)res != req->expect))
		req->status = VIRTIO_BLK_S_IOERR;
	if (--req->pending == 0)
		blk_finish(b, req);
}

/* Submit one engine operation for @req; on failure the request fails. */
static void blk_submit(struct virtio_blk *b, struct blk_req *req, const struct io_op *op)
{
	int r;

	req->pending++;
	r = io_engine_submit(b->io, op, req);
	if (r == -EAGAIN) {
		/* Engine full (many discard ranges in flight): make room, retry once. */
		io_engine_flush(b->io);
		io_engine_drain(b->io);
		r = io_engine_submit(b->io, op, req);
	}
	if (r < 0)
		blk_complete(b, req, r);
}

/* [sector, sector + count) inside the drive, without overflow. */
static bool blk_range_ok(const struct virtio_blk *b, uint64_t sector, uint64_t count)
{
	return sector <= b->capacity && count <= b->capacity - sector;
}

/* iovecs over the data part: readable bytes after the header, or writable bytes before the status. */
static void blk_data_iov(struct blk_req *req, bool write_part, uint64_t skip, uint64_t len)
{
	const struct virtq_chain *c = &req->chain;

	req->iovcnt = 0;
	for (unsigned int i = 0; i < c->nr && len > 0; i++) {
		const struct virtq_seg *s = &c->segs[i];
		uint64_t n;

		if (s->write != write_part)
			continue;
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		n = MIN(s->len - skip, len);
		if (n > 0)
			req->iov[req->iovcnt++] = (struct iovec){ s->hva + skip, n };
		len -= n;
		skip = 0;
	}
}

static uint8_t blk_rw(struct virtio_blk *b, struct blk_req *req, uint32_t type, uint64_t sector)
{
	bool read = type == VIRTIO_BLK_T_IN;
	uint64_t len = read ? req->chain.in_len - 1 : req->chain.out_len - BLK_HDR_SIZE;
	struct io_op op = { .type = read ? IO_OP_READ : IO_OP_WRITE, .offset = sector * BLK_SECTOR_SIZE };

	if (!read && b->read_only)
		return VIRTIO_BLK_S_IOERR;
	/* §5.2.6.1: data is a multiple of 512 bytes and inside the capacity. */
	if (len % BLK_SECTOR_SIZE || !blk_range_ok(b, sector, len / BLK_SECTOR_SIZE) ||
	    len > UINT32_MAX)
		return VIRTIO_BLK_S_IOERR;
	if (len == 0)
		return VIRTIO_BLK_S_OK;
	blk_data_iov(req, read, read ? 0 : BLK_HDR_SIZE, len);
	op.iov = req->iov;
	op.iovcnt = req->iovcnt;
	req->expect = len;
	if (read) {
		req->used_len = (uint32_t)len + 1;
		b->stats.reads++;
		b->stats.read_bytes += len;
	} else {
		b->stats.writes++;
		b->stats.write_bytes += len;
	}
	blk_submit(b, req, &op);
	return 0xff; /* in flight */
}

/* DISCARD / WRITE_ZEROES: a list of ranges in the readable data (§5.2.6.2). */
static uint8_t blk_ranges(struct virtio_blk *b, struct blk_req *req, uint32_t type)
{
	bool discard = type == VIRTIO_BLK_T_DISCARD;
	uint64_t feature = discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES;
	uint64_t bytes = req->chain.out_len - BLK_HDR_SIZE;
	struct virtio_blk_discard_write_zeroes r[BLK_DISCARD_SEG_MAX];
	unsigned int n;

	if (!(b->features & (1ULL << feature)) || b->read_only)
		return VIRTIO_BLK_S_UNSUPP;
	if (bytes == 0 || bytes % BLK_RANGE_SIZE || bytes / BLK_RANGE_SIZE > BLK_DISCARD_SEG_MAX)
		return VIRTIO_BLK_S_IOERR;
	n = (unsigned int)(bytes / BLK_RANGE_SIZE);
	virtq_copy_from_chain(&req->chain, BLK_HDR_SIZE, r, bytes);
	/* Check every range before touching the image. */
	for (unsigned int i = 0; i < n; i++) {
		uint32_t flags = r[i].flags;

		/* Reserved flags, or unmap on DISCARD: the device MUST say UNSUPP. */
		if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ||
		    (discard && (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)))
			return VIRTIO_BLK_S_UNSUPP;
		if (r[i].num_sectors > BLK_DISCARD_SECTORS_MAX ||
		    !blk_range_ok(b, r[i].sector, r[i].num_sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	if (discard)
		b->stats.discards++;
	else
		b->stats.write_zeroes++;
	req->expect = 0;
	/*
	 * Hold the request while its ranges are submitted: an engine may
	 * complete an operation inside io_engine_submit() (sync engine, or a
	 * submit error), and the request must not finish — push its used
	 * element and return to the free list — before the last range is in.
	 */
	req->pending++;
	for (unsigned int i = 0; i < n; i++) {
		struct io_op op = {
			.type = discard ? IO_OP_DISCARD : IO_OP_WRITE_ZEROES,
			.offset = r[i].sector * BLK_SECTOR_SIZE,
			.len = (uint64_t)r[i].num_sectors * BLK_SECTOR_SIZE,
			.unmap = r[i].flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP,
		};

		if (op.len)
			blk_submit(b, req, &op);
	}
	/* Operations still running finish the request; else the caller does. */
	return --req->pending ? 0xff : req->status;
}

static uint8_t blk_get_id(struct virtio_blk *b, struct blk_req *req)
{
	size_t n = MIN((uint64_t)VIRTIO_BLK_ID_BYTES, req->chain.in_len - 1);

	b->stats.get_ids++;
	virtq_copy_to_chain(&req->chain, 0, b->id, n);
	req->used_len = (uint32_t)n + 1;
	return VIRTIO_BLK_S_OK;
}

/* The last device-writable byte of the chain: where the status goes (§5.2.6). */
static uint8_t *blk_status_byte(const struct virtq_chain *c)
{
	for (unsigned int i = c->nr; i-- > 0;)
		if (c->segs[i].write && c->segs[i].len > 0)
			return c->segs[i].hva + c->segs[i].len - 1;
	return NULL;
}

static void blk_handle(struct virtio_blk *b, struct blk_req *req)
{
	struct virtio_blk_outhdr hdr;
	uint8_t status;

	req->gen = b->gen;
	req->pending = 0;
	req->status = VIRTIO_BLK_S_OK;
	req->used_len = 1;
	req->expect = 0;
	req->status_hva = blk_status_byte(&req->chain);
	/* Without a header and a status byte nothing can be answered. */
	if (!req->status_hva || req->chain.out_len < BLK_HDR_SIZE) {
		b->stats.bad_chains++;
		virtq_push(&b->transport->queues[0], req->chain.head, 0);
		b->need_signal = true;
		blk_free_req(b, req);
		return;
	}
	virtq_copy_from_chain(&req->chain, 0, &hdr, sizeof(hdr));
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		status = blk_rw(b, req, hdr.type, hdr.sector);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (!(b->features & (1ULL << VIRTIO_BLK_F_FLUSH))) {
			status = VIRTIO_BLK_S_UNSUPP;
			break;
		}
		b->stats.flushes++;
		blk_submit(b, req, &(struct io_op){ .type = IO_OP_FLUSH });
		status = 0xff;
		break;
	case VIRTIO_BLK_T_GET_ID:
		status = blk_get_id(b, req);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = blk_ranges(b, req, hdr.type);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (status != 0xff) {
		req->status = status;
		blk_finish(b, req);
	}
}

static void blk_signal(struct virtio_blk *b)
{
	if (b->need_signal) {
		b->need_signal = false;
		virtio_mmio_signal_used(b->transport, 0);
	}
}

/* Pop and start requests while slots are free. Lock held. */
static void blk_process(struct virtio_blk *b)
{
	struct virtq *vq = &b->transport->queues[0];

	if (!b->active)
		return;
	do {
		for (;;) {
			struct blk_req *req = blk_peek_req(b);
			int r;

			if (!req) {
				b->queue_waiting = true; /* resumed by a completion */
				goto out;
			}
			r = virtq_pop(vq, &req->chain);
			if (r == VIRTQ_EMPTY)
				break;
			if (r < 0) {
				virtio_mmio_needs_reset(b->transport);
				goto out;
			}
			blk_take_req(b, req);
			if (r == VIRTQ_BAD_CHAIN) {
				b->stats.bad_chains++;
				virtq_push(vq, req->chain.head, 0);
				b->need_signal = true;
				blk_free_req(b, req);
				continue;
			}
			blk_handle(b, req);
		}
	} while (virtq_end_batch(vq));
	b->queue_waiting = false;
out:
	io_engine_flush(b->io);
	blk_signal(b);
}

void virtio_blk_notify(struct virtio_blk *b)
{
	pthread_mutex_lock(&b->transport->lock);
	blk_process(b);
	pthread_mutex_unlock(&b->transport->lock);
}

void virtio_blk_io_event(struct virtio_blk *b)
{
	pthread_mutex_lock(&b->transport->lock);
	io_engine_reap(b->io);
	if (b->queue_waiting && blk_peek_req(b))
		blk_process(b);
	blk_signal(b);
	pthread_mutex_unlock(&b->transport->lock);
}

static int blk_open_image(struct virtio_blk *b, const struct blk_drive_config *cfg,
			  uint64_t *size, char *why, size_t whylen)
{
	struct stat st;

	b->fd = open(cfg->path, (cfg->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0)
		return errf(why, whylen, -errno, "open %s: %s", cfg->path, strerror(errno));
	if (fstat(b->fd, &st) < 0)
		return errf(why, whylen, -errno, "stat %s: %s", cfg->path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		b->is_blockdev = true;
		if (ioctl(b->fd, BLKGETSIZE64, size) < 0)
			return errf(why, whylen, -errno, "%s: BLKGETSIZE64: %s", cfg->path, strerror(errno));
	} else if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else {
		return errf(why, whylen, -EINVAL, "%s is not a regular file or block device", cfg->path);
	}
	if (*size < BLK_SECTOR_SIZE)
		return errf(why, whylen, -EINVAL, "%s is smaller than one 512-byte sector", cfg->path);
	/* Two VMs writing one image corrupt it: refuse (readers share). */
	if (flock(b->fd, (cfg->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
		return errf(why, whylen, -EBUSY, "%s is in use by another VM (locked); use ,ro to share it read-only",
			    cfg->path);
	return 0;
}

int virtio_blk_open(struct virtio_blk *b, const struct blk_drive_config *cfg,
		    char *why, size_t whylen)
{
	uint64_t size = 0;
	int r;

	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->read_only = cfg->read_only;
	b->flush = cfg->flush;
	strncpy(b->id, cfg->id ? cfg->id : "", sizeof(b->id));
	r = blk_open_image(b, cfg, &size, why, whylen);
	if (r < 0)
		goto fail;
	b->capacity = size / BLK_SECTOR_SIZE;
	b->reqs = calloc(BLK_QUEUE_DEPTH, sizeof(*b->reqs));
	if (!b->reqs) {
		r = errf(why, whylen, -ENOMEM, "out of memory");
		goto fail;
	}
	r = io_engine_open(&b->io, cfg->engine, b->fd, b->is_blockdev, BLK_QUEUE_DEPTH,
			   blk_complete, b);
	if (r < 0) {
		errf(why, whylen, r, "%s: I/O engine: %s", cfg->path, strerror(-r));
		goto fail;
	}

	/* Config space (§5.2.4), filled honestly for what the device does. */
	b->config.capacity = b->capacity;
	b->config.seg_max = BLK_SEG_MAX;
	b->config.blk_size = BLK_SECTOR_SIZE;
	if (!b->read_only) {
		b->config.max_discard_sectors = BLK_DISCARD_SECTORS_MAX;
		b->config.max_discard_seg = BLK_DISCARD_SEG_MAX;
		b->config.discard_sector_alignment = 4096 / BLK_SECTOR_SIZE;
		b->config.max_write_zeroes_sectors = BLK_DISCARD_SECTORS_MAX;
		b->config.max_write_zeroes_seg = BLK_DISCARD_SEG_MAX;
		b->config.write_zeroes_may_unmap = 1;
	}
	return 0;
fail:
	virtio_blk_close(b);
	return r;
}

void virtio_blk_close(struct virtio_blk *b)
{
	/* Completions during the drain must not touch the (dying) queue. */
	b->active = false;
	b->gen++;
	io_engine_close(b->io);
	b->io = NULL;
	free(b->reqs);
	b->reqs = NULL;
	b->free_list = NULL;
	b->nr_used_reqs = 0;
	close_fd(&b->fd);
}
