/*
 * test_blk.c — virtio-blk (virtio/blk.c) end to end over fake guest memory:
 * a virtio-mmio transport initialised the way Linux does, a sparse temp
 * image and the synchronous I/O engine. Config space, every request type,
 * a full ring, and reset while requests are in flight (a test engine that
 * holds operations until drained). Malformed requests: test_blk_hostile.c.
 *
 * Every test asserts the status byte, the used length and — wherever the
 * request must not write — that the image is unchanged.
 */
#include "tests/unit/virtq_helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "virtio/io_impl.h"
#include "vmm/util.h"

#define SECTOR 512
#define IMAGE (1 * TEST_MiB)
#define CAPACITY (IMAGE / SECTOR)
#define DRIVE_ID "brisk-test-disk"

/* ---- fixtures ---- */

static int setup_with(void **state, const struct blkh_opts *o)
{
	struct blkh *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	blkh_setup(h, o);
	assert_int_equal(blkh_read32(h, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	*state = h;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, &(struct blkh_opts){ .flush = true });
}

static int setup_noflush(void **state)
{
	return setup_with(state, &(struct blkh_opts){ .flush = false });
}

static int setup_ro(void **state)
{
	return setup_with(state, &(struct blkh_opts){ .read_only = true, .flush = true });
}

static int setup_short_id(void **state)
{
	return setup_with(state, &(struct blkh_opts){ .id = "abc" });
}

static int teardown(void **state)
{
	struct blkh *h = *state;

	blkh_teardown(h);
	free(h);
	return 0;
}

/* ---- config space and features ---- */

static void config_space_writable_drive(void **state)
{
	struct blkh *h = *state;
	struct virtio_blk_config c = blkh_config(h);

	assert_int_equal(c.capacity, CAPACITY);
	assert_int_equal(c.seg_max, BLK_SEG_MAX);
	assert_true(c.seg_max + 2 <= VIRTQ_MAX_SEGS);
	assert_int_equal(c.blk_size, SECTOR);
	assert_int_equal(c.max_discard_seg, BLK_DISCARD_SEG_MAX);
	assert_int_equal(c.max_write_zeroes_seg, BLK_DISCARD_SEG_MAX);
	assert_int_equal(c.max_discard_sectors, BLK_DISCARD_SECTORS_MAX);
	assert_int_equal(c.max_write_zeroes_sectors, BLK_DISCARD_SECTORS_MAX);
	assert_int_not_equal(c.discard_sector_alignment, 0);
	assert_int_equal(c.write_zeroes_may_unmap, 1);

	assert_true(h->features & (1ULL << VIRTIO_F_VERSION_1));
	assert_true(h->features & (1ULL << VIRTIO_BLK_F_SEG_MAX));
	assert_true(h->features & (1ULL << VIRTIO_BLK_F_BLK_SIZE));
	assert_true(h->features & (1ULL << VIRTIO_BLK_F_FLUSH));
	assert_true(h->features & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_true(h->features & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	assert_false(h->features & (1ULL << VIRTIO_BLK_F_RO));
	/* Not offered: features whose config fields we do not fill. */
	assert_false(h->features & (1ULL << VIRTIO_BLK_F_SIZE_MAX));
	assert_false(h->features & (1ULL << VIRTIO_BLK_F_GEOMETRY));
	assert_false(h->features & (1ULL << VIRTIO_BLK_F_TOPOLOGY));
	assert_false(h->features & (1ULL << VIRTIO_BLK_F_MQ));
	assert_false(h->features & (1ULL << VIRTIO_BLK_F_CONFIG_WCE));
}

static void config_space_read_only_drive(void **state)
{
	struct blkh *h = *state;
	struct virtio_blk_config c = blkh_config(h);

	assert_true(h->features & (1ULL << VIRTIO_BLK_F_RO));
	assert_false(h->features & (1ULL << VIRTIO_BLK_F_DISCARD));
	assert_false(h->features & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	assert_int_equal(c.capacity, CAPACITY);
	assert_int_equal(c.max_discard_seg, 0);
	assert_int_equal(c.max_discard_sectors, 0);
	assert_int_equal(c.max_write_zeroes_seg, 0);
	assert_int_equal(c.write_zeroes_may_unmap, 0);
}

static void config_space_without_flush(void **state)
{
	struct blkh *h = *state;

	assert_false(h->features & (1ULL << VIRTIO_BLK_F_FLUSH));
}

static void config_space_wide_and_out_of_range_reads(void **state)
{
	struct blkh *h = *state;
	uint64_t cap = 0, junk = ~0ULL;
	uint32_t size = sizeof(struct virtio_blk_config);

	blkh_io(h, VIRTIO_MMIO_CONFIG, &cap, 8, false);
	assert_int_equal(cap, CAPACITY);
	blkh_io(h, VIRTIO_MMIO_CONFIG + size - 4, &junk, 8, false);
	assert_int_equal(junk, 0);
	junk = ~0ULL;
	blkh_io(h, VIRTIO_MMIO_CONFIG + 0xe00, &junk, 8, false);
	assert_int_equal(junk, 0);
	/* Config writes change nothing (no writable field). */
	cap = 1;
	blkh_io(h, VIRTIO_MMIO_CONFIG, &cap, 8, true);
	assert_int_equal(blkh_config(h).capacity, CAPACITY);
}

/* ---- every request type ---- */

static void in_reads_the_image(void **state)
{
	struct blkh *h = *state;
	uint8_t buf[2 * SECTOR], want[2 * SECTOR];
	uint32_t used;

	blkh_seed_image(h, 3, 2, 0x31);
	blkh_pattern(want, sizeof(want), 0x31, 3 * SECTOR);
	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_IN, 3, buf, sizeof(buf), &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, sizeof(buf) + 1);
	assert_memory_equal(buf, want, sizeof(buf));
	/* The last sector of the drive. */
	blkh_seed_image(h, CAPACITY - 1, 1, 0x77);
	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_IN, CAPACITY - 1, buf, SECTOR, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, SECTOR + 1);
	blkh_pattern(want, SECTOR, 0x77, (CAPACITY - 1) * SECTOR);
	assert_memory_equal(buf, want, SECTOR);
	assert_int_equal(h->blk.stats.reads, 2);
}

static void out_writes_the_image(void **state)
{
	struct blkh *h = *state;
	uint8_t buf[3 * SECTOR];
	uint64_t size = blkh_file_size(h);
	uint32_t used;

	blkh_pattern(buf, sizeof(buf), 0x42, 5 * SECTOR);
	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_OUT, 5, buf, sizeof(buf), &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	blkh_assert_image(h, 5, 3, 0x42);
	blkh_assert_image_zero(h, 0, 5);
	blkh_assert_image_zero(h, 8, 8);
	/* Ending exactly at the capacity. */
	blkh_pattern(buf, sizeof(buf), 0x42, (CAPACITY - 3) * SECTOR);
	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_OUT, CAPACITY - 3, buf, sizeof(buf), &used),
			 VIRTIO_BLK_S_OK);
	blkh_assert_image(h, CAPACITY - 3, 3, 0x42);
	assert_int_equal(blkh_file_size(h), size);
}

static void scattered_data_segments(void **state)
{
	struct blkh *h = *state;
	uint64_t d0 = blkh_alloc(h, 512, 0), d1 = blkh_alloc(h, 100, 0), d2 = blkh_alloc(h, 924, 0);
	uint64_t st = blkh_alloc(h, 1, 0xee);
	uint8_t want[3 * SECTOR];
	struct vring_used_elem e;

	/* OUT from three odd-sized buffers totalling 3 sectors. */
	blkh_pattern(want, sizeof(want), 9, 10 * SECTOR);
	memcpy(blkh_host(h, d0, 512), want, 512);
	memcpy(blkh_host(h, d1, 100), want + 512, 100);
	memcpy(blkh_host(h, d2, 924), want + 612, 924);
	e = blkh_run_head(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_OUT, 10), 16, false },
		{ d0, 512, false }, { d1, 100, false }, { d2, 924, false }, { st, 1, true } }, 5));
	assert_int_equal(e.len, 1);
	assert_int_equal(*blkh_host(h, st, 1), VIRTIO_BLK_S_OK);
	blkh_assert_image(h, 10, 3, 9);

	/* IN back through an indirect table, data and status in one buffer. */
	{
		uint64_t in = blkh_alloc(h, 3 * SECTOR + 1, 0xcc);
		uint64_t table = blkh_alloc(h, 64, 0);
		struct vqh_buf b[] = { { blkh_hdr(h, VIRTIO_BLK_T_IN, 10), 8, false },
				       { 0, 8, false }, { in, 3 * SECTOR + 1, true } };

		/* Header split over two descriptors (any framing is allowed, §2.7.4). */
		b[1].addr = b[0].addr + 8;
		e = blkh_run_head(h, vqh_add_indirect(&h->q, table, b, 3));
		assert_int_equal(e.len, 3 * SECTOR + 1);
		assert_memory_equal(blkh_host(h, in, 3 * SECTOR), want, 3 * SECTOR);
		assert_int_equal(*blkh_host(h, in + 3 * SECTOR, 1), VIRTIO_BLK_S_OK);
	}
}

static void flush_completes(void **state)
{
	struct blkh *h = *state;
	uint32_t used;

	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	/* The sector field of FLUSH is ignored (§5.2.6). */
	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_FLUSH, UINT64_MAX, NULL, 0, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(h->blk.stats.flushes, 2);
}

static void flush_not_offered_is_unsupp(void **state)
{
	struct blkh *h = *state;
	uint32_t used;

	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &used), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(used, 1);
}

static void get_id_returns_20_bytes(void **state)
{
	struct blkh *h = *state;
	uint8_t id[VIRTIO_BLK_ID_BYTES], want[VIRTIO_BLK_ID_BYTES] = { 0 };
	uint32_t used;

	memcpy(want, DRIVE_ID, strlen(DRIVE_ID));
	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id), &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, VIRTIO_BLK_ID_BYTES + 1);
	assert_memory_equal(id, want, sizeof(id));
}

static void get_id_shorter_and_longer_buffers(void **state)
{
	struct blkh *h = *state;
	uint8_t buf[64];
	uint32_t used;

	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_GET_ID, 0, buf, 8, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 9);
	assert_memory_equal(buf, DRIVE_ID, 8);
	/* A larger buffer gets 20 bytes; the rest is untouched. */
	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_GET_ID, 0, buf, sizeof(buf), &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, VIRTIO_BLK_ID_BYTES + 1);
	assert_memory_equal(buf, DRIVE_ID, strlen(DRIVE_ID));
	assert_true(bytes_all(buf + VIRTIO_BLK_ID_BYTES, sizeof(buf) - VIRTIO_BLK_ID_BYTES, 0xcc));
	/* No buffer at all: just the status. */
	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_GET_ID, 0, NULL, 0, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
}

static void get_id_short_id_is_zero_padded(void **state)
{
	struct blkh *h = *state;
	uint8_t id[VIRTIO_BLK_ID_BYTES], want[VIRTIO_BLK_ID_BYTES] = { 'a', 'b', 'c' };
	uint32_t used;

	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id), &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, VIRTIO_BLK_ID_BYTES + 1);
	assert_memory_equal(id, want, sizeof(id));
}

static void discard_punches_a_hole(void **state)
{
	struct blkh *h = *state;
	struct virtio_blk_discard_write_zeroes r = { .sector = 256, .num_sectors = 256 };
	uint64_t size = blkh_file_size(h), before;
	uint32_t used;

	blkh_seed_image(h, 0, 1024, 0x5a);
	blkh_file_sync(h);
	before = blkh_file_blocks(h);
	assert_true(before >= 1024);
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_DISCARD, &r, 1, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	assert_true(blkh_file_blocks(h) <= before - 256);
	blkh_assert_image_zero(h, 256, 256);
	blkh_assert_image(h, 0, 256, 0x5a);
	assert_int_equal(blkh_file_size(h), size);
	/* And the guest reads zeroes back. */
	{
		uint8_t buf[SECTOR];

		assert_int_equal(blkh_do(h, VIRTIO_BLK_T_IN, 300, buf, SECTOR, &used),
				 VIRTIO_BLK_S_OK);
		assert_true(bytes_all(buf, SECTOR, 0));
	}
	assert_int_equal(h->blk.stats.discards, 1);
}

static void discard_several_ranges(void **state)
{
	struct blkh *h = *state;
	struct virtio_blk_discard_write_zeroes r[BLK_DISCARD_SEG_MAX];
	uint32_t used;

	blkh_seed_image(h, 0, 2 * BLK_DISCARD_SEG_MAX * 8, 0x11);
	for (unsigned int i = 0; i < BLK_DISCARD_SEG_MAX; i++)
		r[i] = (struct virtio_blk_discard_write_zeroes){ .sector = 16 * i, .num_sectors = 8 };
	r[3].num_sectors = 0; /* an empty range is fine */
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_DISCARD, r, BLK_DISCARD_SEG_MAX, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	for (unsigned int i = 0; i < BLK_DISCARD_SEG_MAX; i++) {
		if (i == 3)
			blkh_assert_image(h, 16 * i, 8, 0x11);
		else
			blkh_assert_image_zero(h, 16 * i, 8);
		/* The sectors between ranges are untouched. */
		blkh_assert_image(h, 16 * i + 8, 8, 0x11);
	}
}

static void write_zeroes_keeps_allocation(void **state)
{
	struct blkh *h = *state;
	struct virtio_blk_discard_write_zeroes r = { .sector = 128, .num_sectors = 128 };
	uint64_t size = blkh_file_size(h);
	uint32_t used;

	blkh_seed_image(h, 0, 512, 0x66);
	blkh_file_sync(h);
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	blkh_assert_image_zero(h, 128, 128);
	blkh_assert_image(h, 0, 128, 0x66);
	assert_int_equal(blkh_file_size(h), size);
	assert_int_equal(h->blk.stats.write_zeroes, 1);
}

static void write_zeroes_with_unmap_punches(void **state)
{
	struct blkh *h = *state;
	struct virtio_blk_discard_write_zeroes r = {
		.sector = 512, .num_sectors = 256, .flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP };
	uint64_t before;
	uint32_t used;

	blkh_seed_image(h, 0, 1024, 0x67);
	blkh_file_sync(h);
	before = blkh_file_blocks(h);
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	blkh_assert_image_zero(h, 512, 256);
	assert_true(blkh_file_blocks(h) <= before - 256);
	assert_int_equal(blkh_file_size(h), IMAGE);
}

static void unknown_types_are_unsupp(void **state)
{
	struct blkh *h = *state;
	static const uint32_t types[] = { 2 /* SCSI_CMD */, 3, 5, 14 /* SECURE_ERASE */, 0x55,
					  VIRTIO_BLK_T_BARRIER, VIRTIO_BLK_T_OUT | VIRTIO_BLK_T_BARRIER,
					  0xffffffff };
	uint64_t hash;
	uint8_t buf[SECTOR];
	uint32_t used;

	memset(buf, 0xab, sizeof(buf));
	hash = blkh_file_hash(h);
	for (unsigned int i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(blkh_do(h, types[i], 0, buf, sizeof(buf), &used),
				 VIRTIO_BLK_S_UNSUPP);
		assert_int_equal(used, 1);
	}
	assert_true(blkh_file_hash(h) == hash);
	assert_int_equal(h->blk.stats.unsupported, sizeof(types) / sizeof(types[0]));
}

/* ---- the queue ---- */

static void nothing_processed_before_driver_ok(void **state)
{
	struct blkh *h = *state;
	struct blkh_req r;
	uint64_t hash = blkh_file_hash(h);

	blkh_driver_init(h, &(struct blkh_opts){ .no_driver_ok = true });
	blkh_req_build(h, &r, VIRTIO_BLK_T_OUT, 0, SECTOR);
	blkh_pattern(blkh_host(h, r.data_gpa, SECTOR), SECTOR, 3, 0);
	vqh_publish(&h->q, r.head);
	blkh_kick(h);
	assert_int_equal(vqh_used_idx(&h->q), 0);
	assert_true(blkh_file_hash(h) == hash);
}

static void full_queue_in_one_kick(void **state)
{
	struct blkh *h = *state;
	uint16_t n = h->q.size;
	struct blkh_req *r = calloc(n, sizeof(*r));
	struct vring_used_elem e;

	assert_non_null(r);
	/* A full ring of 3-buffer requests: one indirect descriptor each. */
	for (uint16_t i = 0; i < n; i++) {
		uint64_t table = blkh_alloc(h, 48, 0);

		r[i].hdr_gpa = blkh_hdr(h, VIRTIO_BLK_T_OUT, i);
		r[i].data_gpa = blkh_alloc(h, SECTOR, (uint8_t)i);
		r[i].status_gpa = blkh_alloc(h, 1, 0xee);
		r[i].head = vqh_add_indirect(&h->q, table, (struct vqh_buf[]){
			{ r[i].hdr_gpa, 16, false }, { r[i].data_gpa, SECTOR, false },
			{ r[i].status_gpa, 1, true } }, 3);
		vqh_publish(&h->q, r[i].head);
	}
	eventfd_take(h->irq_fd);
	blkh_kick(h);
	assert_int_equal(vqh_used_idx(&h->q), n);
	for (uint16_t i = 0; i < n; i++) {
		uint8_t got[SECTOR];

		assert_true(vqh_used_pop(&h->q, &e));
		assert_int_equal(e.id, r[i].head);
		assert_int_equal(e.len, 1);
		assert_int_equal(*blkh_host(h, r[i].status_gpa, 1), VIRTIO_BLK_S_OK);
		blkh_file_read(h, (uint64_t)i * SECTOR, got, SECTOR);
		assert_true(bytes_all(got, SECTOR, (uint8_t)i));
	}
	/* One interrupt for the batch (EVENT_IDX, used_event 0). */
	assert_int_equal(eventfd_take(h->irq_fd), 1);
	assert_true(blkh_read32(h, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	free(r);
}

/* ---- reset while requests are in flight: a test engine that holds operations ---- */

#define HELD_MAX 512

struct held_engine {
	struct io_engine e;
	unsigned int n, limit;   /* held ops; -EAGAIN beyond @limit */
	unsigned int ran;
	unsigned int submits, fail_at; /* submit number @fail_at (1-based) says -EIO */
	struct { struct io_op op; void *tag; } ops[HELD_MAX];
};

static int held_submit(struct io_engine *e, const struct io_op *op, void *tag)
{
	struct held_engine *he = container_of(e, struct held_engine, e);

	if (++he->submits == he->fail_at)
		return -EIO;
	if (he->n >= he->limit)
		return -EAGAIN;
	he->ops[he->n].op = *op;
	he->ops[he->n].tag = tag;
	he->n++;
	return 0;
}

static int held_run(struct held_engine *he, const struct io_op *op)
{
	ssize_t n;

	switch (op->type) {
	case IO_OP_READ:
		n = preadv(he->e.fd, op->iov, op->iovcnt, (off_t)op->offset);
		return n < 0 ? -errno : (int)n;
	case IO_OP_WRITE:
		n = pwritev(he->e.fd, op->iov, op->iovcnt, (off_t)op->offset);
		return n < 0 ? -errno : (int)n;
	case IO_OP_FLUSH:
		return fdatasync(he->e.fd) < 0 ? -errno : 0;
	case IO_OP_DISCARD:
	case IO_OP_WRITE_ZEROES:
		return fallocate(he->e.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				 (off_t)op->offset, (off_t)op->len) < 0 ? -errno : 0;
	}
	return -EINVAL;
}

/* Complete every held operation, in order (callbacks may submit more). */
static void held_complete_all(struct io_engine *e)
{
	struct held_engine *he = container_of(e, struct held_engine, e);

	for (unsigned int i = 0; i < he->n; i++) {
		int res = held_run(he, &he->ops[i].op);

		he->ran++;
		e->complete(e->opaque, he->ops[i].tag, res);
	}
	he->n = 0;
}

static int held_flush(struct io_engine *e)
{
	(void)e;
	return 0;
}

static int held_event_fd(const struct io_engine *e)
{
	(void)e;
	return -1;
}

static unsigned int held_inflight(const struct io_engine *e)
{
	return container_of(e, struct held_engine, e)->n;
}

static void held_close(struct io_engine *e)
{
	held_complete_all(e);
	free(container_of(e, struct held_engine, e));
}

static const struct io_engine_ops held_ops = {
	.name = "held",
	.submit = held_submit,
	.flush = held_flush,
	.event_fd = held_event_fd,
	.reap = held_complete_all,
	.drain = held_complete_all,
	.inflight = held_inflight,
	.close = held_close,
};

/* Swap the drive's sync engine for a held one (same callback and fd). */
static struct held_engine *use_held_engine(struct blkh *h, unsigned int limit)
{
	struct held_engine *he = calloc(1, sizeof(*he));
	struct io_engine *old = h->blk.io;

	assert_non_null(he);
	he->e = *old;
	he->e.ops = &held_ops;
	he->limit = limit;
	io_engine_close(old);
	h->blk.io = &he->e;
	return he;
}

static void reset_with_requests_in_flight(void **state)
{
	struct blkh *h = *state;
	struct held_engine *he = use_held_engine(h, HELD_MAX);
	struct blkh_req w, rd, fl;

	blkh_seed_image(h, 8, 1, 0x81);
	blkh_req_build(h, &w, VIRTIO_BLK_T_OUT, 0, SECTOR);
	blkh_pattern(blkh_host(h, w.data_gpa, SECTOR), SECTOR, 0x82, 0);
	blkh_req_build(h, &rd, VIRTIO_BLK_T_IN, 8, SECTOR);
	blkh_req_build(h, &fl, VIRTIO_BLK_T_FLUSH, 0, 0);
	vqh_publish(&h->q, w.head);
	vqh_publish(&h->q, rd.head);
	vqh_publish(&h->q, fl.head);
	blkh_kick(h);
	assert_int_equal(he->n, 3);
	assert_int_equal(vqh_used_idx(&h->q), 0);

	/* The driver resets the device (status 0) with all three in flight. */
	eventfd_take(h->irq_fd);
	blkh_write32(h, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(he->n, 0);
	assert_int_equal(he->ran, 3);
	/* Nothing may be completed into the old rings after the reset. */
	assert_int_equal(vqh_used_idx(&h->q), 0);
	assert_int_equal(*blkh_host(h, w.status_gpa, 1), 0xee);
	assert_int_equal(*blkh_host(h, rd.status_gpa, 1), 0xee);
	assert_int_equal(*blkh_host(h, fl.status_gpa, 1), 0xee);
	assert_int_equal(eventfd_take(h->irq_fd), 0);
	assert_int_equal(blkh_read32(h, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	virtio_blk_io_event(&h->blk);
	assert_int_equal(vqh_used_idx(&h->q), 0);

	/* The device comes back with every request slot free. */
	blkh_driver_init(h, &(struct blkh_opts){ 0 });
	for (unsigned int i = 0; i < h->q.size; i++) {
		struct blkh_req r;
		uint64_t table = blkh_alloc(h, 32, 0);

		r.status_gpa = blkh_alloc(h, 1, 0xee);
		vqh_publish(&h->q, vqh_add_indirect(&h->q, table, (struct vqh_buf[]){
			{ blkh_hdr(h, VIRTIO_BLK_T_FLUSH, 0), 16, false }, { r.status_gpa, 1, true } }, 2));
	}
	blkh_kick(h);
	assert_int_equal(he->n, h->q.size); /* all slots were free again */
	virtio_blk_io_event(&h->blk);
	assert_int_equal(vqh_used_idx(&h->q), h->q.size);
	for (unsigned int i = 0; i < h->q.size; i++) {
		struct vring_used_elem e;

		assert_true(vqh_used_pop(&h->q, &e));
		assert_int_equal(e.len, 1);
	}
}

static void reset_mid_batch_stops_processing(void **state)
{
	struct blkh *h = *state;
	struct held_engine *he = use_held_engine(h, HELD_MAX);
	struct blkh_req a, b;
	uint64_t hash;

	blkh_req_build(h, &a, VIRTIO_BLK_T_OUT, 0, SECTOR);
	blkh_pattern(blkh_host(h, a.data_gpa, SECTOR), SECTOR, 0x91, 0);
	vqh_publish(&h->q, a.head);
	blkh_kick(h);
	assert_int_equal(he->n, 1);
	/* Reset, then the driver publishes more on the dead ring and kicks. */
	blkh_write32(h, VIRTIO_MMIO_STATUS, 0);
	hash = blkh_file_hash(h);
	blkh_req_build(h, &b, VIRTIO_BLK_T_OUT, 4, SECTOR);
	blkh_pattern(blkh_host(h, b.data_gpa, SECTOR), SECTOR, 0x92, 0);
	vqh_publish(&h->q, b.head);
	blkh_kick(h);
	virtio_blk_io_event(&h->blk);
	assert_int_equal(he->n, 0);
	assert_int_equal(vqh_used_idx(&h->q), 0);
	assert_int_equal(*blkh_host(h, b.status_gpa, 1), 0xee);
	assert_true(blkh_file_hash(h) == hash);
}

static void engine_full_is_retried(void **state)
{
	struct blkh *h = *state;
	struct held_engine *he = use_held_engine(h, 2);
	struct virtio_blk_discard_write_zeroes r[4];
	uint64_t data = blkh_alloc(h, sizeof(r), 0), st = blkh_alloc(h, 1, 0xee);
	struct vring_used_elem e;

	blkh_seed_image(h, 0, 64, 0x33);
	for (unsigned int i = 0; i < 4; i++)
		r[i] = (struct virtio_blk_discard_write_zeroes){ .sector = 16 * i, .num_sectors = 8 };
	memcpy(blkh_host(h, data, sizeof(r)), r, sizeof(r));
	/* Four ranges on an engine that takes two: the device drains and retries. */
	vqh_publish(&h->q, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_DISCARD, 0), 16, false }, { data, sizeof(r), false },
		{ st, 1, true } }, 3));
	blkh_kick(h);
	assert_int_equal(he->ran, 2);
	assert_int_equal(he->n, 2);
	assert_int_equal(vqh_used_idx(&h->q), 0);
	virtio_blk_io_event(&h->blk);
	assert_int_equal(he->ran, 4);
	assert_true(vqh_used_pop(&h->q, &e));
	assert_int_equal(e.len, 1);
	assert_int_equal(*blkh_host(h, st, 1), VIRTIO_BLK_S_OK);
	for (unsigned int i = 0; i < 4; i++) {
		blkh_assert_image_zero(h, 16 * i, 8);
		blkh_assert_image(h, 16 * i + 8, 8, 0x33);
	}
}

/* A range refused at submit (io_uring: SQE prep error) fails the request once. */
static void range_submit_error_completes_once(void **state)
{
	struct blkh *h = *state;
	struct held_engine *he = use_held_engine(h, HELD_MAX);
	struct virtio_blk_discard_write_zeroes r[3];
	uint64_t data = blkh_alloc(h, sizeof(r), 0), st = blkh_alloc(h, 1, 0xee);
	struct vring_used_elem e;

	for (unsigned int i = 0; i < 3; i++)
		r[i] = (struct virtio_blk_discard_write_zeroes){ .sector = 16 * i, .num_sectors = 8 };
	memcpy(blkh_host(h, data, sizeof(r)), r, sizeof(r));
	he->fail_at = 2;
	vqh_publish(&h->q, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_DISCARD, 0), 16, false }, { data, sizeof(r), false },
		{ st, 1, true } }, 3));
	blkh_kick(h);
	assert_int_equal(vqh_used_idx(&h->q), 0); /* two ranges still held */
	virtio_blk_io_event(&h->blk);
	assert_int_equal(he->ran, 2);
	assert_true(vqh_used_pop(&h->q, &e));
	assert_int_equal(e.len, 1);
	assert_int_equal(vqh_used_idx(&h->q), 1);
	assert_int_equal(*blkh_host(h, st, 1), VIRTIO_BLK_S_IOERR);
	/* Every range refused inline (-EIO, then -EAGAIN with nothing to drain). */
	he->fail_at = he->submits + 1;
	he->limit = 0;
	st = blkh_alloc(h, 1, 0xee);
	e = blkh_run_head(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_DISCARD, 0), 16, false }, { data, sizeof(r), false },
		{ st, 1, true } }, 3));
	assert_int_equal(e.len, 1);
	assert_int_equal(*blkh_host(h, st, 1), VIRTIO_BLK_S_IOERR);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T_WITH(fn, s) cmocka_unit_test_setup_teardown(fn, s, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(config_space_writable_drive),
		T_WITH(config_space_read_only_drive, setup_ro),
		T_WITH(config_space_without_flush, setup_noflush),
		T(config_space_wide_and_out_of_range_reads),
		T(in_reads_the_image),
		T(out_writes_the_image),
		T(scattered_data_segments),
		T(flush_completes),
		T_WITH(flush_not_offered_is_unsupp, setup_noflush),
		T(get_id_returns_20_bytes),
		T(get_id_shorter_and_longer_buffers),
		T_WITH(get_id_short_id_is_zero_padded, setup_short_id),
		T(discard_punches_a_hole),
		T(discard_several_ranges),
		T(write_zeroes_keeps_allocation),
		T(write_zeroes_with_unmap_punches),
		T(unknown_types_are_unsupp),
		T(nothing_processed_before_driver_ok),
		T(full_queue_in_one_kick),
		T(reset_with_requests_in_flight),
		T(reset_mid_batch_stops_processing),
		T(engine_full_is_retried),
		T(range_submit_error_completes_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
