/*
 * test_blk_hostile.c — virtio-blk (virtio/blk.c) against a hostile driver,
 * one test per bug class of DESIGN.md "Contracts": sectors past the end or
 * wrapping, odd lengths, writes to a read-only drive, bad DISCARD /
 * WRITE_ZEROES payloads, chains without header or status, buffers outside
 * RAM, wrapping 2^64, in the MMIO gap or on a device window, a broken ring,
 * queue registers rewritten after DRIVER_OK. Same rig as test_blk.c.
 *
 * Every test asserts the status byte (or that none was written), the used
 * length and that the image is unchanged.
 */
#include "tests/unit/virtq_helper.h"

#include <stdlib.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#define SECTOR 512
#define IMAGE (1 * TEST_MiB)
#define CAPACITY (IMAGE / SECTOR)

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

static int setup_ro(void **state)
{
	return setup_with(state, &(struct blkh_opts){ .read_only = true, .flush = true });
}

/* Low RAM up to the MMIO gap, 1 MiB above 4 GiB. */
static int setup_gap(void **state)
{
	return setup_with(state, &(struct blkh_opts){ .flush = true, .ram_low = MMIO_GAP_START,
						      .ram_high = TEST_MiB });
}

/* A sparse 8 GiB image: big enough for the largest discard range. */
static int setup_big(void **state)
{
	return setup_with(state, &(struct blkh_opts){ .image_size = 8 * TEST_GiB });
}

static int teardown(void **state)
{
	struct blkh *h = *state;

	blkh_teardown(h);
	free(h);
	return 0;
}

/* ---- bug classes: ranges ---- */

static void rw_past_capacity_is_ioerr(void **state)
{
	struct blkh *h = *state;
	static const uint64_t sectors[] = {
		CAPACITY, CAPACITY - 1 /* 2 sectors from here cross the end */, CAPACITY + 1,
		UINT64_MAX, UINT64_MAX - 1, 1ULL << 55 /* * 512 wraps */, (UINT64_MAX / 512) + 1,
	};
	uint8_t buf[2 * SECTOR];
	uint64_t hash;
	uint32_t used;

	blkh_pattern(buf, sizeof(buf), 1, 0);
	blkh_seed_image(h, CAPACITY - 4, 4, 0x99);
	hash = blkh_file_hash(h);
	for (unsigned int i = 0; i < sizeof(sectors) / sizeof(sectors[0]); i++) {
		assert_int_equal(blkh_do(h, VIRTIO_BLK_T_OUT, sectors[i], buf, sizeof(buf), &used),
				 VIRTIO_BLK_S_IOERR);
		assert_int_equal(used, 1);
		assert_true(blkh_file_hash(h) == hash);
		assert_int_equal(blkh_do(h, VIRTIO_BLK_T_IN, sectors[i], NULL, 2 * SECTOR, &used),
				 VIRTIO_BLK_S_IOERR);
		assert_int_equal(used, 1);
	}
	assert_int_equal(blkh_file_size(h), IMAGE);
}

static void rw_data_not_multiple_of_512_is_ioerr(void **state)
{
	struct blkh *h = *state;
	static const uint32_t lens[] = { 1, 100, 511, 513, 1000, 4095 };
	uint8_t buf[4096];
	uint64_t hash = blkh_file_hash(h);
	uint32_t used;

	memset(buf, 0xab, sizeof(buf));
	for (unsigned int i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct blkh_req r;
		struct vring_used_elem e;

		assert_int_equal(blkh_do(h, VIRTIO_BLK_T_OUT, 0, buf, lens[i], &used),
				 VIRTIO_BLK_S_IOERR);
		assert_int_equal(used, 1);
		assert_true(blkh_file_hash(h) == hash);
		/* IN: the buffer is not written either. */
		blkh_req_build(h, &r, VIRTIO_BLK_T_IN, 0, lens[i]);
		e = blkh_run_head(h, r.head);
		assert_int_equal(e.len, 1);
		assert_int_equal(*blkh_host(h, r.status_gpa, 1), VIRTIO_BLK_S_IOERR);
		assert_true(bytes_all(blkh_host(h, r.data_gpa, lens[i]), lens[i], 0xcc));
	}
}

static void read_only_drive_refuses_writes(void **state)
{
	struct blkh *h = *state;
	struct virtio_blk_discard_write_zeroes r = { .sector = 0, .num_sectors = 8 };
	uint8_t buf[SECTOR];
	uint64_t hash;
	uint32_t used;

	blkh_seed_image(h, 0, 16, 0x12);
	hash = blkh_file_hash(h);
	blkh_pattern(buf, sizeof(buf), 0xfe, 0);
	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_OUT, 0, buf, sizeof(buf), &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_true(blkh_file_hash(h) == hash);
	assert_int_equal(h->blk.stats.writes, 0); /* refused before the engine */
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_DISCARD, &r, 1, &used), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(used, 1);
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1, &used), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(used, 1);
	assert_true(blkh_file_hash(h) == hash);
	/* Reads, flushes and GET_ID still work. */
	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_IN, 0, buf, sizeof(buf), &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, SECTOR + 1);
	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_GET_ID, 0, buf, 20, &used), VIRTIO_BLK_S_OK);
	assert_true(blkh_file_hash(h) == hash);
}

/* ---- bug classes: DISCARD / WRITE_ZEROES payloads ---- */

static void discard_bad_segment_counts_are_ioerr(void **state)
{
	struct blkh *h = *state;
	struct virtio_blk_discard_write_zeroes r[BLK_DISCARD_SEG_MAX + 1];
	uint64_t hash;
	uint32_t used;

	blkh_seed_image(h, 0, 64, 0x21);
	hash = blkh_file_hash(h);
	for (unsigned int i = 0; i < BLK_DISCARD_SEG_MAX + 1; i++)
		r[i] = (struct virtio_blk_discard_write_zeroes){ .sector = i, .num_sectors = 1 };
	/* No range at all. */
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_DISCARD, r, 0, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	/* More than max_discard_seg. */
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_DISCARD, r, BLK_DISCARD_SEG_MAX + 1, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_WRITE_ZEROES, r, BLK_DISCARD_SEG_MAX + 1, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_true(blkh_file_hash(h) == hash);
}

static void discard_payload_not_multiple_of_16_is_ioerr(void **state)
{
	struct blkh *h = *state;
	struct virtio_blk_discard_write_zeroes r = { .sector = 0, .num_sectors = 8 };
	uint64_t hash, data, st;
	struct vring_used_elem e;

	blkh_seed_image(h, 0, 16, 0x22);
	hash = blkh_file_hash(h);
	data = blkh_alloc(h, 20, 0);
	memcpy(blkh_host(h, data, 16), &r, 16);
	st = blkh_alloc(h, 1, 0xee);
	e = blkh_run_head(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_DISCARD, 0), 16, false }, { data, 20, false },
		{ st, 1, true } }, 3));
	assert_int_equal(e.len, 1);
	assert_int_equal(*blkh_host(h, st, 1), VIRTIO_BLK_S_IOERR);
	st = blkh_alloc(h, 1, 0xee);
	e = blkh_run_head(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_DISCARD, 0), 16, false }, { data, 8, false },
		{ st, 1, true } }, 3));
	assert_int_equal(e.len, 1);
	assert_int_equal(*blkh_host(h, st, 1), VIRTIO_BLK_S_IOERR);
	assert_true(blkh_file_hash(h) == hash);
}

static void discard_unmap_flag_is_unsupp(void **state)
{
	struct blkh *h = *state;
	struct virtio_blk_discard_write_zeroes r = {
		.sector = 0, .num_sectors = 8, .flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP };
	uint64_t hash;
	uint32_t used;

	blkh_seed_image(h, 0, 16, 0x23);
	hash = blkh_file_hash(h);
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_DISCARD, &r, 1, &used), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(used, 1);
	assert_true(blkh_file_hash(h) == hash);
}

static void reserved_range_flags_are_unsupp(void **state)
{
	struct blkh *h = *state;
	static const uint32_t flags[] = { 2, 0x80000000, 0xfffffffe, 0xffffffff };
	uint64_t hash;
	uint32_t used;

	blkh_seed_image(h, 0, 16, 0x24);
	hash = blkh_file_hash(h);
	for (unsigned int i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		struct virtio_blk_discard_write_zeroes r = {
			.sector = 0, .num_sectors = 8, .flags = flags[i] };

		assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_DISCARD, &r, 1, &used),
				 VIRTIO_BLK_S_UNSUPP);
		assert_int_equal(used, 1);
		assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1, &used),
				 VIRTIO_BLK_S_UNSUPP);
		assert_int_equal(used, 1);
	}
	assert_true(blkh_file_hash(h) == hash);
}

static void one_bad_range_means_nothing_done(void **state)
{
	struct blkh *h = *state;
	struct virtio_blk_discard_write_zeroes r[] = {
		{ .sector = 0, .num_sectors = 8 },
		{ .sector = 8, .num_sectors = 8 },
		{ .sector = CAPACITY - 4, .num_sectors = 8 },      /* past the end */
	};
	struct virtio_blk_discard_write_zeroes wrap[] = {
		{ .sector = 0, .num_sectors = 8 },
		{ .sector = UINT64_MAX - 2, .num_sectors = 8 },    /* wraps */
	};
	struct virtio_blk_discard_write_zeroes flag[] = {
		{ .sector = 0, .num_sectors = 8 },
		{ .sector = 16, .num_sectors = 8, .flags = 4 },    /* reserved flag */
	};
	uint64_t hash;
	uint32_t used;

	blkh_seed_image(h, 0, 32, 0x25);
	blkh_seed_image(h, CAPACITY - 8, 8, 0x26);
	hash = blkh_file_hash(h);
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_DISCARD, r, 3, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_WRITE_ZEROES, r, 3, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_DISCARD, wrap, 2, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_WRITE_ZEROES, wrap, 2, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_WRITE_ZEROES, flag, 2, &used), VIRTIO_BLK_S_UNSUPP);
	assert_true(blkh_file_hash(h) == hash);
}

/* max_discard_sectors / max_write_zeroes_sectors are what the device takes. */
static void discard_limits_are_honest(void **state)
{
	struct blkh *h = *state;
	struct virtio_blk_config c = blkh_config(h);
	struct virtio_blk_discard_write_zeroes r = { .sector = 0, .num_sectors = c.max_discard_sectors };
	uint32_t used;

	assert_true(c.capacity > (uint64_t)c.max_discard_sectors + 1);
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_DISCARD, &r, 1, &used), VIRTIO_BLK_S_OK);
	r.num_sectors = c.max_write_zeroes_sectors;
	r.flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1, &used), VIRTIO_BLK_S_OK);
	r = (struct virtio_blk_discard_write_zeroes){ .num_sectors = c.max_discard_sectors + 1 };
	assert_int_equal(blkh_ranges(h, VIRTIO_BLK_T_DISCARD, &r, 1, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blkh_file_size(h), 8 * TEST_GiB);
	assert_int_equal(blkh_file_blocks(h), 0);
}

/* ---- bug classes: chain framing ---- */

static void chain_without_status_byte_gets_len_0(void **state)
{
	struct blkh *h = *state;
	uint64_t hash = blkh_file_hash(h);
	uint64_t data = blkh_alloc(h, SECTOR, 0x44);

	/* OUT without any writable buffer. */
	blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_OUT, 0), 16, false }, { data, SECTOR, false } }, 2), 0, hash);
	/* Header only. */
	blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_FLUSH, 0), 16, false } }, 1), 0, hash);
	/* The only writable buffer is empty. */
	blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_OUT, 0), 16, false }, { data, SECTOR, false },
		{ data, 0, true } }, 3), 0, hash);
	assert_int_equal(h->blk.stats.bad_chains, 3);
	assert_int_equal(h->blk.stats.writes, 0);
}

static void header_shorter_than_16_gets_len_0(void **state)
{
	struct blkh *h = *state;
	uint64_t hash = blkh_file_hash(h);
	uint64_t st = blkh_alloc(h, 1, 0xee), data = blkh_alloc(h, SECTOR, 0xcc);

	blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_IN, 0), 8, false }, { data, SECTOR, true },
		{ st, 1, true } }, 3), st, hash);
	assert_true(bytes_all(blkh_host(h, data, SECTOR), SECTOR, 0xcc));
	blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_FLUSH, 0), 15, false }, { st, 1, true } }, 2), st, hash);
	/* No readable buffer at all. */
	blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){ { st, 1, true } }, 1), st, hash);
	/* Empty readable descriptors do not make a header. */
	blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_FLUSH, 0), 0, false }, { st, 1, true } }, 2), st, hash);
}

static void zero_length_descriptors_are_harmless(void **state)
{
	struct blkh *h = *state;
	uint64_t hdr = blkh_hdr(h, VIRTIO_BLK_T_IN, 0), st = blkh_alloc(h, 1, 0xee);
	uint64_t data = blkh_alloc(h, SECTOR, 0xcc);
	struct vring_used_elem e;

	blkh_seed_image(h, 0, 1, 0x71);
	/* Empty buffers among the data, one of them at the end of RAM. */
	e = blkh_run_head(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ hdr, 16, false }, { data, 0, false }, { data, 0, true }, { data, SECTOR, true },
		{ h->fm.mem.ram_size, 0, true }, { st, 1, true } }, 6));
	assert_int_equal(e.len, SECTOR + 1);
	assert_int_equal(*blkh_host(h, st, 1), VIRTIO_BLK_S_OK);
	blkh_assert_image(h, 0, 1, 0x71);
	{
		uint8_t want[SECTOR];

		blkh_pattern(want, SECTOR, 0x71, 0);
		assert_memory_equal(blkh_host(h, data, SECTOR), want, SECTOR);
	}
	/* A zero-length status descriptor: the status lands in the last writable byte. */
	st = blkh_alloc(h, 1, 0xee);
	e = blkh_run_head(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ hdr, 16, false }, { data, SECTOR, true }, { st, 0, true } }, 3));
	assert_int_equal(e.len, 1);
	assert_int_equal(*blkh_host(h, data + SECTOR - 1, 1), VIRTIO_BLK_S_IOERR); /* 511 data bytes */
	assert_int_equal(*blkh_host(h, st, 1), 0xee);
}

static void u32_max_descriptor_is_bad_chain(void **state)
{
	struct blkh *h = *state;
	uint64_t hash = blkh_file_hash(h);
	uint64_t st = blkh_alloc(h, 1, 0xee);

	blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_OUT, 0), 16, false }, { BLKH_DATA_GPA, UINT32_MAX, false },
		{ st, 1, true } }, 3), st, hash);
	blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_IN, 0), 16, false }, { 0, UINT32_MAX, true },
		{ st, 1, true } }, 3), st, hash);
	blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_OUT, 0), UINT32_MAX, false }, { st, 1, true } }, 2), st, hash);
	assert_int_equal(h->blk.stats.bad_chains, 3);
}

static void data_outside_ram_is_bad_chain(void **state)
{
	struct blkh *h = *state;
	uint64_t ram = h->fm.mem.ram_size;
	static const uint64_t addrs_rel[] = { 0, 256, 1ULL << 32 };
	uint64_t hash = blkh_file_hash(h);
	uint64_t st = blkh_alloc(h, 1, 0xee);
	uint8_t *tail = blkh_host(h, ram - 256, 256);

	/* The RAM part of a buffer that runs past the end must not be written either. */
	memset(tail, 0x3c, 256);
	for (unsigned int i = 0; i < sizeof(addrs_rel) / sizeof(addrs_rel[0]); i++) {
		blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
			{ blkh_hdr(h, VIRTIO_BLK_T_IN, 0), 16, false },
			{ ram - 256 + addrs_rel[i], SECTOR, true }, { st, 1, true } }, 3), st, hash);
		blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
			{ blkh_hdr(h, VIRTIO_BLK_T_OUT, 0), 16, false },
			{ ram - 256 + addrs_rel[i], SECTOR, false }, { st, 1, true } }, 3), st, hash);
	}
	/* Wrapping the address space. */
	blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_IN, 0), 16, false }, { UINT64_MAX - 1, 4, true },
		{ st, 1, true } }, 3), st, hash);
	/* The status byte itself outside RAM. */
	blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_FLUSH, 0), 16, false }, { ram, 1, true } }, 2), 0, hash);
	/* The header outside RAM. */
	blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ ram - 8, 16, false }, { st, 1, true } }, 2), st, hash);
	assert_true(bytes_all(tail, 256, 0x3c));
}

static void data_in_mmio_window_is_bad_chain(void **state)
{
	struct blkh *h = *state;
	static const uint64_t addrs[] = {
		0xd0000000ULL,             /* a virtio-mmio device window */
		MMIO_GAP_START,            /* first byte of the gap */
		MMIO_GAP_START - 256,      /* RAM running into the gap */
		MMIO_GAP_END - 256,        /* the gap running into high RAM */
		0xfec00000ULL,             /* IOAPIC */
	};
	uint64_t hash = blkh_file_hash(h);
	uint64_t st = blkh_alloc(h, 1, 0xee);
	uint8_t *low_tail = blkh_host(h, MMIO_GAP_START - 256, 256);
	uint8_t *high_head = h->fm.host[1];

	memset(low_tail, 0x3c, 256);
	memset(high_head, 0x3c, 256);
	for (unsigned int i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
			{ blkh_hdr(h, VIRTIO_BLK_T_IN, 0), 16, false }, { addrs[i], SECTOR, true },
			{ st, 1, true } }, 3), st, hash);
		blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
			{ blkh_hdr(h, VIRTIO_BLK_T_OUT, 0), 16, false }, { addrs[i], SECTOR, false },
			{ st, 1, true } }, 3), st, hash);
	}
	assert_true(bytes_all(low_tail, 256, 0x3c));
	assert_true(bytes_all(high_head, 256, 0x3c));
	/* High RAM itself works. */
	{
		uint64_t st2 = blkh_alloc(h, 1, 0xee);
		struct vring_used_elem e = blkh_run_head(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
			{ blkh_hdr(h, VIRTIO_BLK_T_IN, 0), 16, false }, { MMIO_GAP_END, SECTOR, true },
			{ st2, 1, true } }, 3));

		assert_int_equal(e.len, SECTOR + 1);
		assert_int_equal(*blkh_host(h, st2, 1), VIRTIO_BLK_S_OK);
		assert_true(bytes_all(high_head, SECTOR, 0));
	}
}

static void readable_after_writable_is_bad_chain(void **state)
{
	struct blkh *h = *state;
	uint64_t hash = blkh_file_hash(h);
	uint64_t st = blkh_alloc(h, 1, 0xee), data = blkh_alloc(h, SECTOR, 0x10);

	blkh_expect_rejected(h, vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_OUT, 0), 16, false }, { st, 1, true },
		{ data, SECTOR, false } }, 3), st, hash);
}

/* ---- queue-level bug classes ---- */

static void broken_ring_needs_reset(void **state)
{
	struct blkh *h = *state;
	struct blkh_req r;

	eventfd_take(h->irq_fd);
	vqh_publish(&h->q, h->q.size); /* head index out of range */
	blkh_req_build(h, &r, VIRTIO_BLK_T_FLUSH, 0, 0);
	vqh_publish(&h->q, r.head);
	blkh_kick(h);
	assert_true(blkh_read32(h, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(blkh_read32(h, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(eventfd_take(h->irq_fd), 1);
	assert_int_equal(vqh_used_idx(&h->q), 0);
	assert_int_equal(*blkh_host(h, r.status_gpa, 1), 0xee);
	/* Further kicks do nothing until the driver resets. */
	blkh_kick(h);
	assert_int_equal(vqh_used_idx(&h->q), 0);
	blkh_driver_init(h, &(struct blkh_opts){ 0 });
	assert_int_equal(blkh_read32(h, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	{
		uint32_t used;

		assert_int_equal(blkh_do(h, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &used), VIRTIO_BLK_S_OK);
	}
}

static void queue_rewritten_after_driver_ok_is_ignored(void **state)
{
	struct blkh *h = *state;
	const uint64_t rogue = 0xc00000;
	struct vqh q2;
	struct blkh_req r;
	uint64_t hash, data, st;
	uint32_t used;

	/* The driver tries to move the queue to new rings and a new size. */
	vqh_init(&q2, &h->fm, 8, rogue, rogue + 0x1000, rogue + 0x2000);
	blkh_write32(h, VIRTIO_MMIO_QUEUE_SEL, 0);
	blkh_write32(h, VIRTIO_MMIO_QUEUE_READY, 0);
	blkh_write32(h, VIRTIO_MMIO_QUEUE_NUM, 8);
	blkh_write32(h, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)rogue);
	blkh_write32(h, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(rogue + 0x1000));
	blkh_write32(h, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(rogue + 0x2000));
	blkh_write32(h, VIRTIO_MMIO_QUEUE_USED_HIGH, 0x12345678);
	blkh_write32(h, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(blkh_read32(h, VIRTIO_MMIO_QUEUE_READY), 1);

	/* A write request on the rogue ring is never seen... */
	hash = blkh_file_hash(h);
	data = blkh_alloc(h, SECTOR, 0x5f);
	st = blkh_alloc(h, 1, 0xee);
	vqh_publish(&q2, vqh_add_chain(&q2, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_OUT, 0), 16, false }, { data, SECTOR, false },
		{ st, 1, true } }, 3));
	blkh_kick(h);
	assert_int_equal(vqh_used_idx(&q2), 0);
	assert_int_equal(*blkh_host(h, st, 1), 0xee);
	assert_true(blkh_file_hash(h) == hash);
	/* ...while the original ring keeps working. */
	blkh_req_build(h, &r, VIRTIO_BLK_T_OUT, 2, SECTOR);
	blkh_pattern(blkh_host(h, r.data_gpa, SECTOR), SECTOR, 0x60, 2 * SECTOR);
	blkh_run_head(h, r.head);
	assert_int_equal(*blkh_host(h, r.status_gpa, 1), VIRTIO_BLK_S_OK);
	blkh_assert_image(h, 2, 1, 0x60);
	assert_int_equal(blkh_do(h, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &used), VIRTIO_BLK_S_OK);
}

static void mixed_batch_each_gets_its_status(void **state)
{
	struct blkh *h = *state;
	struct blkh_req good, past, odd, unk;
	uint64_t bad_st = blkh_alloc(h, 1, 0xee);
	uint16_t bad;
	struct vring_used_elem e;

	blkh_req_build(h, &good, VIRTIO_BLK_T_OUT, 1, SECTOR);
	blkh_req_build(h, &past, VIRTIO_BLK_T_OUT, CAPACITY, SECTOR);
	bad = vqh_add_chain(&h->q, (struct vqh_buf[]){
		{ blkh_hdr(h, VIRTIO_BLK_T_IN, 0), 16, false }, { UINT64_MAX - 1, 4, true },
		{ bad_st, 1, true } }, 3);
	blkh_req_build(h, &odd, VIRTIO_BLK_T_IN, 0, 100);
	blkh_req_build(h, &unk, 77, 0, 0);
	memset(blkh_host(h, good.data_gpa, SECTOR), 0x2b, SECTOR);
	vqh_publish(&h->q, good.head);
	vqh_publish(&h->q, past.head);
	vqh_publish(&h->q, bad);
	vqh_publish(&h->q, odd.head);
	vqh_publish(&h->q, unk.head);
	blkh_kick(h);
	assert_int_equal(vqh_used_idx(&h->q), 5);
	assert_true(vqh_used_pop(&h->q, &e));
	assert_int_equal(e.id, good.head);
	assert_int_equal(e.len, 1);
	assert_int_equal(*blkh_host(h, good.status_gpa, 1), VIRTIO_BLK_S_OK);
	assert_true(vqh_used_pop(&h->q, &e));
	assert_int_equal(e.id, past.head);
	assert_int_equal(*blkh_host(h, past.status_gpa, 1), VIRTIO_BLK_S_IOERR);
	assert_true(vqh_used_pop(&h->q, &e));
	assert_int_equal(e.id, bad);
	assert_int_equal(e.len, 0);
	assert_int_equal(*blkh_host(h, bad_st, 1), 0xee);
	assert_true(vqh_used_pop(&h->q, &e));
	assert_int_equal(e.id, odd.head);
	assert_int_equal(*blkh_host(h, odd.status_gpa, 1), VIRTIO_BLK_S_IOERR);
	assert_true(vqh_used_pop(&h->q, &e));
	assert_int_equal(e.id, unk.head);
	assert_int_equal(*blkh_host(h, unk.status_gpa, 1), VIRTIO_BLK_S_UNSUPP);
	{
		uint8_t got[SECTOR];

		blkh_file_read(h, SECTOR, got, SECTOR);
		assert_true(bytes_all(got, SECTOR, 0x2b));
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T_WITH(fn, s) cmocka_unit_test_setup_teardown(fn, s, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(rw_past_capacity_is_ioerr),
		T(rw_data_not_multiple_of_512_is_ioerr),
		T_WITH(read_only_drive_refuses_writes, setup_ro),
		T(discard_bad_segment_counts_are_ioerr),
		T(discard_payload_not_multiple_of_16_is_ioerr),
		T(discard_unmap_flag_is_unsupp),
		T(reserved_range_flags_are_unsupp),
		T(one_bad_range_means_nothing_done),
		T_WITH(discard_limits_are_honest, setup_big),
		T(chain_without_status_byte_gets_len_0),
		T(header_shorter_than_16_gets_len_0),
		T(zero_length_descriptors_are_harmless),
		T(u32_max_descriptor_is_bad_chain),
		T(data_outside_ram_is_bad_chain),
		T_WITH(data_in_mmio_window_is_bad_chain, setup_gap),
		T(readable_after_writable_is_bad_chain),
		T(broken_ring_needs_reset),
		T(queue_rewritten_after_driver_ok_is_ignored),
		T(mixed_batch_each_gets_its_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
