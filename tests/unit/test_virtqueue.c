/*
 * test_virtqueue.c — the split virtqueue, device side (virtio/virtqueue.c),
 * over fake guest memory: chain walking (direct, indirect), every malformed
 * chain a hostile driver can build, ring-level breakage (NEEDS_RESET),
 * EVENT_IDX / NO_INTERRUPT suppression and ring setup checks.
 */
#include "tests/unit/virtq_helper.h"

#include <errno.h>
#include <stdlib.h>

#define RAM (1 * TEST_MiB)
#define QSIZE 16
#define DESC 0x1000ULL
#define AVAIL 0x2000ULL
#define USED 0x3000ULL
#define DATA 0x10000ULL   /* buffers */
#define TABLE 0x8000ULL   /* indirect tables */

struct fixture {
	struct fake_mem fm;
	struct vqh q;
	struct virtq vq;
	struct virtq_chain c;
};

static void fixture_enable(struct fixture *f, uint16_t size, bool indirect, bool event_idx)
{
	vqh_init(&f->q, &f->fm, size, DESC, AVAIL, USED);
	vqh_to_virtq(&f->q, &f->vq);
	f->vq.indirect = indirect;
	f->vq.event_idx = event_idx;
	assert_int_equal(virtq_enable(&f->vq, &f->fm.mem), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_mem_init(&f->fm, RAM);
	fixture_enable(f, QSIZE, true, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fake_mem_destroy(&f->fm);
	free(f);
	return 0;
}

static int pop(struct fixture *f)
{
	memset(&f->c, 0x5a, sizeof(f->c));
	return virtq_pop(&f->vq, &f->c);
}

/* Publish @head and expect a bad chain returned for it, the ring still usable. */
static void expect_bad(struct fixture *f, uint16_t head)
{
	vqh_publish(&f->q, head);
	assert_int_equal(pop(f), VIRTQ_BAD_CHAIN);
	assert_int_equal(f->c.head, head);
	assert_false(f->vq.broken);
	assert_int_equal(pop(f), VIRTQ_EMPTY);
}

/* ---- chain walking ---- */

static void single_buffer(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b = { DATA, 512, false };
	uint16_t head = vqh_add_chain(&f->q, &b, 1);

	assert_int_equal(pop(f), VIRTQ_EMPTY);
	vqh_publish(&f->q, head);
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_int_equal(f->c.head, head);
	assert_int_equal(f->c.nr, 1);
	assert_int_equal(f->c.out_len, 512);
	assert_int_equal(f->c.in_len, 0);
	assert_ptr_equal(f->c.segs[0].hva, fake_mem_at(&f->fm, DATA, 512));
	assert_int_equal(f->c.segs[0].len, 512);
	assert_false(f->c.segs[0].write);
	assert_int_equal(pop(f), VIRTQ_EMPTY);
}

static void multi_buffer_readable_then_writable(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b[] = {
		{ DATA, 16, false }, { DATA + 0x100, 100, false },
		{ DATA + 0x200, 4096, true }, { DATA + 0x2000, 1, true },
	};
	uint16_t head;

	vqh_add_chain(&f->q, b, 1); /* descriptor 0 unused: the chain starts at 1 */
	head = vqh_add_chain(&f->q, b, 4);
	assert_int_equal(head, 1);
	vqh_publish(&f->q, head);
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_int_equal(f->c.head, 1);
	assert_int_equal(f->c.nr, 4);
	assert_int_equal(f->c.out_len, 116);
	assert_int_equal(f->c.in_len, 4097);
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(f->c.segs[i].len, b[i].len);
		assert_int_equal(f->c.segs[i].write, b[i].write);
		assert_ptr_equal(f->c.segs[i].hva, fake_mem_at(&f->fm, b[i].addr, b[i].len));
	}
}

static void chain_follows_next_in_any_order(void **state)
{
	struct fixture *f = *state;

	vqh_set_desc(&f->q, 5, DATA, 10, VRING_DESC_F_NEXT, 2);
	vqh_set_desc(&f->q, 2, DATA + 0x100, 20, VRING_DESC_F_NEXT, 15);
	vqh_set_desc(&f->q, 15, DATA + 0x200, 30, VRING_DESC_F_WRITE, 0);
	vqh_publish(&f->q, 5);
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_int_equal(f->c.head, 5);
	assert_int_equal(f->c.nr, 3);
	assert_int_equal(f->c.out_len, 30);
	assert_int_equal(f->c.in_len, 30);
	assert_ptr_equal(f->c.segs[2].hva, fake_mem_at(&f->fm, DATA + 0x200, 30));
}

static void indirect_chain(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b[] = { { DATA, 16, false }, { DATA + 0x100, 512, true }, { DATA + 0x400, 1, true } };
	uint16_t head = vqh_add_indirect(&f->q, TABLE, b, 3);

	vqh_publish(&f->q, head);
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_int_equal(f->c.head, head);
	assert_int_equal(f->c.nr, 3);
	assert_int_equal(f->c.out_len, 16);
	assert_int_equal(f->c.in_len, 513);
	assert_ptr_equal(f->c.segs[1].hva, fake_mem_at(&f->fm, DATA + 0x100, 512));
	assert_true(f->c.segs[1].write);
}

static void indirect_table_entries_follow_next(void **state)
{
	struct fixture *f = *state;

	/* Inside the table, next links entries in any order: 0 → 2 → 1; 3 is never reached. */
	vqh_set_indirect_desc(&f->q, TABLE, 0, DATA + 0x100, 32, VRING_DESC_F_NEXT, 2);
	vqh_set_indirect_desc(&f->q, TABLE, 2, DATA, 16, VRING_DESC_F_NEXT, 1);
	vqh_set_indirect_desc(&f->q, TABLE, 1, DATA + 0x200, 8, VRING_DESC_F_WRITE, 0);
	vqh_set_indirect_desc(&f->q, TABLE, 3, ~0ULL, ~0U, VRING_DESC_F_INDIRECT, 0);
	vqh_set_desc(&f->q, 0, TABLE, 64, VRING_DESC_F_INDIRECT, 0);
	vqh_publish(&f->q, 0);
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_int_equal(f->c.nr, 3);
	assert_int_equal(f->c.out_len, 48);
	assert_int_equal(f->c.in_len, 8);
	assert_ptr_equal(f->c.segs[1].hva, fake_mem_at(&f->fm, DATA, 16));
}

static void longest_chain_accepted_one_more_refused(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b[VIRTQ_MAX_SEGS + 1];
	uint16_t head;

	fixture_enable(f, 256, true, false);
	for (unsigned int i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		b[i] = (struct vqh_buf){ DATA + 64 * i, 64, i > 0 };
	head = vqh_add_chain(&f->q, b, VIRTQ_MAX_SEGS);
	vqh_publish(&f->q, head);
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_int_equal(f->c.nr, VIRTQ_MAX_SEGS);
	head = vqh_add_chain(&f->q, b, VIRTQ_MAX_SEGS + 1);
	expect_bad(f, head);
}

static void zero_length_buffer_in_ram_is_a_segment(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b[] = { { DATA, 0, false }, { DATA, 4, true } };
	uint16_t head = vqh_add_chain(&f->q, b, 2);

	vqh_publish(&f->q, head);
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_int_equal(f->c.nr, 2);
	assert_int_equal(f->c.out_len, 0);
	assert_int_equal(f->c.in_len, 4);
}

/* ---- malformed chains: VIRTQ_BAD_CHAIN, the ring stays usable ---- */

static void readable_after_writable_is_bad(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b[] = { { DATA, 16, false }, { DATA + 0x100, 16, true }, { DATA + 0x200, 16, false } };

	expect_bad(f, vqh_add_chain(&f->q, b, 3));
}

static void readable_after_empty_writable_is_bad(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b[] = { { DATA, 16, false }, { DATA + 0x100, 0, true }, { DATA + 0x200, 16, false } };

	expect_bad(f, vqh_add_chain(&f->q, b, 3));
}

static void readable_after_writable_in_indirect_is_bad(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b[] = { { DATA + 0x100, 16, true }, { DATA, 16, false } };

	expect_bad(f, vqh_add_indirect(&f->q, TABLE, b, 2));
}

static void descriptor_pointing_at_itself_ends_by_ttl(void **state)
{
	struct fixture *f = *state;

	vqh_set_desc(&f->q, 3, DATA, 1, VRING_DESC_F_NEXT, 3);
	expect_bad(f, 3);
}

static void descriptor_cycle_ends_by_ttl(void **state)
{
	struct fixture *f = *state;

	vqh_set_desc(&f->q, 0, DATA, 1, VRING_DESC_F_NEXT, 1);
	vqh_set_desc(&f->q, 1, DATA, 1, VRING_DESC_F_NEXT, 2);
	vqh_set_desc(&f->q, 2, DATA, 1, VRING_DESC_F_NEXT, 0);
	expect_bad(f, 0);
	/* Writable buffers too (they would otherwise stop the walk on order). */
	vqh_set_desc(&f->q, 7, DATA, 1, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 8);
	vqh_set_desc(&f->q, 8, DATA, 1, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 7);
	expect_bad(f, 7);
}

static void chain_of_exactly_queue_size_is_fine(void **state)
{
	struct fixture *f = *state;

	for (uint16_t i = 0; i < QSIZE; i++)
		vqh_set_desc(&f->q, i, DATA, 1, i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0, i + 1);
	vqh_publish(&f->q, 0);
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_int_equal(f->c.nr, QSIZE);
}

static void next_out_of_range_is_bad(void **state)
{
	struct fixture *f = *state;

	vqh_set_desc(&f->q, 0, DATA, 16, VRING_DESC_F_NEXT, QSIZE);
	expect_bad(f, 0);
	vqh_set_desc(&f->q, 1, DATA, 16, VRING_DESC_F_NEXT, 0xffff);
	expect_bad(f, 1);
}

static void indirect_len_zero_is_bad(void **state)
{
	struct fixture *f = *state;

	vqh_set_desc(&f->q, 0, TABLE, 0, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
}

static void indirect_len_not_multiple_of_16_is_bad(void **state)
{
	struct fixture *f = *state;

	vqh_set_indirect_desc(&f->q, TABLE, 0, DATA, 16, 0, 0);
	vqh_set_indirect_desc(&f->q, TABLE, 1, DATA, 16, 0, 0);
	vqh_set_desc(&f->q, 0, TABLE, 24, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
	vqh_set_desc(&f->q, 1, TABLE, 15, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 1);
}

static void nested_indirect_is_bad(void **state)
{
	struct fixture *f = *state;

	vqh_set_indirect_desc(&f->q, TABLE + 0x100, 0, DATA, 16, 0, 0);
	vqh_set_indirect_desc(&f->q, TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	vqh_set_indirect_desc(&f->q, TABLE, 1, TABLE + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	vqh_set_desc(&f->q, 0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
}

static void indirect_with_next_is_bad(void **state)
{
	struct fixture *f = *state;

	vqh_set_indirect_desc(&f->q, TABLE, 0, DATA, 16, 0, 0);
	vqh_set_desc(&f->q, 1, DATA + 0x100, 16, VRING_DESC_F_WRITE, 0);
	vqh_set_desc(&f->q, 0, TABLE, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	expect_bad(f, 0);
}

static void indirect_not_negotiated_is_bad(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b = { DATA, 16, false };

	fixture_enable(f, QSIZE, false, false);
	expect_bad(f, vqh_add_indirect(&f->q, TABLE, &b, 1));
}

static void indirect_loop_is_bad(void **state)
{
	struct fixture *f = *state;

	vqh_set_indirect_desc(&f->q, TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	vqh_set_indirect_desc(&f->q, TABLE, 1, DATA, 16, VRING_DESC_F_NEXT, 0);
	vqh_set_desc(&f->q, 0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
	vqh_set_indirect_desc(&f->q, TABLE + 0x100, 0, DATA, 16, VRING_DESC_F_NEXT, 0);
	vqh_set_desc(&f->q, 1, TABLE + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 1);
}

static void indirect_next_past_table_is_bad(void **state)
{
	struct fixture *f = *state;

	vqh_set_indirect_desc(&f->q, TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 2);
	vqh_set_indirect_desc(&f->q, TABLE, 1, DATA, 16, 0, 0);
	vqh_set_indirect_desc(&f->q, TABLE, 2, DATA, 16, 0, 0); /* exists in RAM, not in the table */
	vqh_set_desc(&f->q, 0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
}

static void indirect_table_outside_ram_is_bad(void **state)
{
	struct fixture *f = *state;

	vqh_set_desc(&f->q, 0, RAM - 16, 32, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
	vqh_set_desc(&f->q, 1, UINT64_MAX - 15, 32, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 1);
	/* Huge table: the length is refused before anything is read. */
	vqh_set_desc(&f->q, 2, 0, 0xfffffff0u, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 2);
}

static void indirect_entry_outside_ram_is_bad(void **state)
{
	struct fixture *f = *state;

	vqh_set_indirect_desc(&f->q, TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	vqh_set_indirect_desc(&f->q, TABLE, 1, RAM - 1, 2, VRING_DESC_F_WRITE, 0);
	vqh_set_desc(&f->q, 0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
}

/* ---- buffer addresses ---- */

static void buffer_past_ram_is_bad(void **state)
{
	struct fixture *f = *state;

	vqh_set_desc(&f->q, 0, RAM - 4, 8, 0, 0);
	expect_bad(f, 0);
	vqh_set_desc(&f->q, 1, RAM, 1, VRING_DESC_F_WRITE, 0);
	expect_bad(f, 1);
	vqh_set_desc(&f->q, 2, 1ULL << 40, 16, 0, 0);
	expect_bad(f, 2);
	/* The last byte of RAM is fine. */
	vqh_set_desc(&f->q, 3, RAM - 1, 1, VRING_DESC_F_WRITE, 0);
	vqh_publish(&f->q, 3);
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_ptr_equal(f->c.segs[0].hva, fake_mem_at(&f->fm, RAM - 1, 1));
}

static void buffer_wrapping_u64_is_bad(void **state)
{
	struct fixture *f = *state;

	vqh_set_desc(&f->q, 0, UINT64_MAX - 1, 4, 0, 0);
	expect_bad(f, 0);
	vqh_set_desc(&f->q, 1, UINT64_MAX, 1, VRING_DESC_F_WRITE, 0);
	expect_bad(f, 1);
	/* A good buffer first, the wrapping one second. */
	vqh_set_desc(&f->q, 2, DATA, 16, VRING_DESC_F_NEXT, 3);
	vqh_set_desc(&f->q, 3, UINT64_MAX - 1, 4, VRING_DESC_F_WRITE, 0);
	expect_bad(f, 2);
}

static void buffer_len_u32_max_is_bad(void **state)
{
	struct fixture *f = *state;

	vqh_set_desc(&f->q, 0, 0, UINT32_MAX, 0, 0);
	expect_bad(f, 0);
	vqh_set_desc(&f->q, 1, DATA, UINT32_MAX, VRING_DESC_F_WRITE, 0);
	expect_bad(f, 1);
}

static void buffer_in_mmio_gap_is_bad(void **state)
{
	struct fixture *f = *state;
	uint64_t high = MMIO_GAP_END;

	/* Low RAM up to the gap, 1 MiB from 4 GiB: the layout of a 3 GiB+ VM. */
	fake_mem_destroy(&f->fm);
	fake_mem_init_split(&f->fm, MMIO_GAP_START, TEST_MiB);
	fixture_enable(f, QSIZE, true, false);

	vqh_set_desc(&f->q, 0, MMIO_GAP_START, 16, 0, 0);
	expect_bad(f, 0);
	vqh_set_desc(&f->q, 1, MMIO_GAP_START - 8, 16, VRING_DESC_F_WRITE, 0); /* into the gap */
	expect_bad(f, 1);
	vqh_set_desc(&f->q, 2, MMIO_GAP_END - 8, 16, VRING_DESC_F_WRITE, 0);   /* out of it */
	expect_bad(f, 2);
	vqh_set_desc(&f->q, 3, 0xd0000000ULL, 4096, VRING_DESC_F_WRITE, 0);   /* a device window */
	expect_bad(f, 3);
	vqh_set_desc(&f->q, 4, MMIO_GAP_START - 8, (uint32_t)(MMIO_GAP_END - MMIO_GAP_START + 16),
		     0, 0); /* spans the whole gap */
	expect_bad(f, 4);
	/* Either side of the gap is RAM. */
	vqh_set_desc(&f->q, 5, MMIO_GAP_START - 16, 16, VRING_DESC_F_NEXT, 6);
	vqh_set_desc(&f->q, 6, high, 16, VRING_DESC_F_WRITE, 0);
	vqh_publish(&f->q, 5);
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_ptr_equal(f->c.segs[1].hva, f->fm.host[1]);
}

/* ---- ring-level breakage: -EINVAL, vq->broken, nothing more popped ---- */

static void head_index_out_of_range_breaks_ring(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b = { DATA, 16, false };

	vqh_publish(&f->q, QSIZE);
	vqh_publish(&f->q, vqh_add_chain(&f->q, &b, 1));
	assert_int_equal(pop(f), -EINVAL);
	assert_true(f->vq.broken);
	assert_int_equal(pop(f), VIRTQ_EMPTY);
	assert_false(virtq_end_batch(&f->vq));
	assert_int_equal(vqh_used_idx(&f->q), 0);
}

static void avail_idx_too_far_ahead_breaks_ring(void **state)
{
	struct fixture *f = *state;

	vqh_set_avail_idx(&f->q, QSIZE + 1);
	assert_int_equal(pop(f), -EINVAL);
	assert_true(f->vq.broken);
	assert_int_equal(pop(f), VIRTQ_EMPTY);
}

static void avail_idx_exactly_size_ahead_is_fine(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b = { DATA, 16, false };

	for (unsigned int i = 0; i < QSIZE; i++)
		vqh_publish(&f->q, vqh_add_chain(&f->q, &b, 1));
	for (unsigned int i = 0; i < QSIZE; i++) {
		assert_int_equal(pop(f), VIRTQ_CHAIN);
		assert_int_equal(f->c.head, i);
	}
	assert_int_equal(pop(f), VIRTQ_EMPTY);
	assert_false(f->vq.broken);
}

static void avail_idx_wraps_16_bits(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b = { DATA, 16, false };

	/* Start near the 16-bit wrap, as a long-running driver would. */
	f->vq.last_avail = 0xfffe;
	f->q.avail_idx = 0xfffe;
	for (unsigned int i = 0; i < 4; i++)
		vqh_publish(&f->q, vqh_add_chain(&f->q, &b, 1));
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_int_equal(pop(f), VIRTQ_EMPTY);
	assert_int_equal(f->vq.last_avail, 2);
}

static void pop_on_unready_or_reset_queue_is_empty(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b = { DATA, 16, false };

	vqh_publish(&f->q, vqh_add_chain(&f->q, &b, 1));
	f->vq.ready = false;
	assert_int_equal(pop(f), VIRTQ_EMPTY);
	virtq_reset(&f->vq);
	assert_int_equal(pop(f), VIRTQ_EMPTY);
	assert_false(virtq_end_batch(&f->vq));
	assert_false(virtq_should_notify(&f->vq));
	virtq_push(&f->vq, 0, 1); /* no ring: nothing happens */
	assert_int_equal(vqh_used_idx(&f->q), 0);
}

/* ---- used ring ---- */

static void push_fills_used_ring_and_wraps(void **state)
{
	struct fixture *f = *state;
	struct vring_used_elem e;

	for (unsigned int i = 0; i < 3 * QSIZE; i++) {
		virtq_push(&f->vq, (uint16_t)(i % QSIZE), 100 + i);
		assert_int_equal(vqh_used_idx(&f->q), i + 1);
		assert_true(vqh_used_pop(&f->q, &e));
		assert_int_equal(e.id, i % QSIZE);
		assert_int_equal(e.len, 100 + i);
	}
}

/* ---- notification suppression (§2.7.7, §2.7.10) ---- */

static void end_batch_publishes_avail_event(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b = { DATA, 16, false };

	fixture_enable(f, QSIZE, true, true);
	vqh_publish(&f->q, vqh_add_chain(&f->q, &b, 1));
	vqh_publish(&f->q, vqh_add_chain(&f->q, &b, 1));
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_int_equal(pop(f), VIRTQ_EMPTY);
	assert_false(virtq_end_batch(&f->vq));
	assert_int_equal(vqh_avail_event(&f->q), 2);
	/* A buffer added after the last pop: end_batch says pop again. */
	vqh_publish(&f->q, vqh_add_chain(&f->q, &b, 1));
	assert_true(virtq_end_batch(&f->vq));
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_false(virtq_end_batch(&f->vq));
	assert_int_equal(vqh_avail_event(&f->q), 3);
}

static void end_batch_without_event_idx_leaves_avail_event(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b = { DATA, 16, false };

	vqh_publish(&f->q, vqh_add_chain(&f->q, &b, 1));
	assert_true(virtq_end_batch(&f->vq));
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_false(virtq_end_batch(&f->vq));
	assert_int_equal(vqh_avail_event(&f->q), 0);
}

static void no_interrupt_flag_suppresses_without_event_idx(void **state)
{
	struct fixture *f = *state;

	virtq_push(&f->vq, 0, 1);
	assert_true(virtq_should_notify(&f->vq));
	vqh_set_avail_flags(&f->q, VRING_AVAIL_F_NO_INTERRUPT);
	virtq_push(&f->vq, 1, 1);
	assert_false(virtq_should_notify(&f->vq));
	vqh_set_avail_flags(&f->q, 0);
	virtq_push(&f->vq, 2, 1);
	assert_true(virtq_should_notify(&f->vq));
}

static void used_event_governs_with_event_idx(void **state)
{
	struct fixture *f = *state;

	fixture_enable(f, QSIZE, true, true);
	/* The flag is ignored once EVENT_IDX is negotiated (§2.7.10). */
	vqh_set_avail_flags(&f->q, VRING_AVAIL_F_NO_INTERRUPT);
	vqh_set_used_event(&f->q, 0);
	virtq_push(&f->vq, 0, 1);                    /* used idx 1: crosses 0 */
	assert_true(virtq_should_notify(&f->vq));
	vqh_set_used_event(&f->q, 4);                /* wake me after entry 4 */
	virtq_push(&f->vq, 1, 1);
	virtq_push(&f->vq, 2, 1);                    /* used idx 3 */
	assert_false(virtq_should_notify(&f->vq));
	virtq_push(&f->vq, 3, 1);                    /* used idx 4 */
	assert_false(virtq_should_notify(&f->vq));
	virtq_push(&f->vq, 4, 1);
	virtq_push(&f->vq, 5, 1);                    /* used idx 6: crossed 4 → 5 */
	assert_true(virtq_should_notify(&f->vq));
	virtq_push(&f->vq, 6, 1);                    /* used idx 7, event still 4 */
	assert_false(virtq_should_notify(&f->vq));
	vqh_set_used_event(&f->q, 6);                /* already passed: stays quiet */
	virtq_push(&f->vq, 7, 1);                    /* used idx 8 */
	assert_false(virtq_should_notify(&f->vq));
	vqh_set_used_event(&f->q, 8);
	virtq_push(&f->vq, 8, 1);                    /* used idx 9: crossed 8 → 9 */
	assert_true(virtq_should_notify(&f->vq));
}

/* ---- virtq_enable ---- */

static int try_enable(struct fixture *f, uint16_t size, uint64_t desc, uint64_t avail,
		      uint64_t used)
{
	struct virtq vq = { .size = size, .desc_gpa = desc, .avail_gpa = avail,
			    .used_gpa = used, .ready = true };
	int r = virtq_enable(&vq, &f->fm.mem);

	if (r < 0) {
		assert_null(vq.desc);
		assert_null(vq.avail);
		assert_null(vq.used);
	}
	return r;
}

static void enable_rejects_bad_sizes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(try_enable(f, 0, DESC, AVAIL, USED), -EINVAL);
	assert_int_equal(try_enable(f, 3, DESC, AVAIL, USED), -EINVAL);
	assert_int_equal(try_enable(f, 24, DESC, AVAIL, USED), -EINVAL);
	assert_int_equal(try_enable(f, 512, 0x20000, 0x30000, 0x40000), -EINVAL);
	assert_int_equal(try_enable(f, 0xffff, 0x20000, 0x30000, 0x40000), -EINVAL);
	assert_int_equal(try_enable(f, 1, DESC, AVAIL, USED), 0);
	assert_int_equal(try_enable(f, 256, 0x20000, 0x30000, 0x40000), 0);
}

static void enable_rejects_misaligned_rings(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(try_enable(f, QSIZE, DESC + 8, AVAIL, USED), -EINVAL);
	assert_int_equal(try_enable(f, QSIZE, DESC + 1, AVAIL, USED), -EINVAL);
	assert_int_equal(try_enable(f, QSIZE, DESC, AVAIL + 1, USED), -EINVAL);
	assert_int_equal(try_enable(f, QSIZE, DESC, AVAIL, USED + 2), -EINVAL);
	/* The minimum alignments of §2.7 are enough. */
	assert_int_equal(try_enable(f, QSIZE, DESC + 16, AVAIL + 2, USED + 4), 0);
}

static void enable_rejects_rings_outside_ram(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(try_enable(f, QSIZE, RAM, AVAIL, USED), -EFAULT);
	assert_int_equal(try_enable(f, QSIZE, RAM - 16 * QSIZE + 16, AVAIL, USED), -EFAULT);
	assert_int_equal(try_enable(f, QSIZE, DESC, RAM - 4, USED), -EFAULT);
	assert_int_equal(try_enable(f, QSIZE, DESC, AVAIL, RAM - 8 * QSIZE), -EFAULT);
	assert_int_equal(try_enable(f, QSIZE, DESC, AVAIL, UINT64_MAX - 3), -EFAULT);
	assert_int_equal(try_enable(f, QSIZE, MMIO_GAP_START, AVAIL, USED), -EFAULT);
	/* Rings ending exactly at the end of RAM are fine. */
	assert_int_equal(try_enable(f, QSIZE, RAM - 16 * QSIZE, RAM - 0x1000,
				    RAM - 0x800), 0);
}

static void enable_rejects_rings_in_mmio_gap(void **state)
{
	struct fixture *f = *state;

	fake_mem_destroy(&f->fm);
	fake_mem_init_split(&f->fm, MMIO_GAP_START, TEST_MiB);
	assert_int_equal(try_enable(f, QSIZE, MMIO_GAP_START - 128, AVAIL, USED), -EFAULT);
	assert_int_equal(try_enable(f, QSIZE, DESC, MMIO_GAP_END - 2, USED), -EFAULT);
	assert_int_equal(try_enable(f, QSIZE, DESC, AVAIL, 0xd0000000ULL), -EFAULT);
	assert_int_equal(try_enable(f, QSIZE, MMIO_GAP_END, MMIO_GAP_END + 0x1000,
				    MMIO_GAP_END + 0x2000), 0);
	fixture_enable(f, QSIZE, true, false); /* leave a consistent fixture */
}

/* ---- copying ---- */

static void copy_across_segments_with_offset(void **state)
{
	struct fixture *f = *state;
	struct vqh_buf b[] = { { DATA, 3, false }, { DATA + 0x100, 5, false },
			       { DATA + 0x200, 4, true }, { DATA + 0x300, 4, true } };
	uint8_t *r0 = fake_mem_at(&f->fm, DATA, 3), *r1 = fake_mem_at(&f->fm, DATA + 0x100, 5);
	uint8_t *w0 = fake_mem_at(&f->fm, DATA + 0x200, 4), *w1 = fake_mem_at(&f->fm, DATA + 0x300, 4);
	uint8_t out[16] = { 0 };

	memcpy(r0, "abc", 3);
	memcpy(r1, "defgh", 5);
	vqh_publish(&f->q, vqh_add_chain(&f->q, b, 4));
	assert_int_equal(pop(f), VIRTQ_CHAIN);
	assert_int_equal(virtq_copy_from_chain(&f->c, 2, out, sizeof(out)), 6);
	assert_memory_equal(out, "cdefgh", 6);
	assert_int_equal(virtq_copy_from_chain(&f->c, 8, out, 1), 0);
	assert_int_equal(virtq_copy_to_chain(&f->c, 3, "WXYZ!", 5), 5);
	assert_memory_equal(w0 + 3, "W", 1);
	assert_memory_equal(w1, "XYZ!", 4);
	assert_int_equal(virtq_copy_to_chain(&f->c, 6, "12345", 5), 2);
	assert_memory_equal(w1 + 2, "12", 2);
	/* Readable buffers are never written. */
	assert_memory_equal(r0, "abc", 3);
	assert_memory_equal(r1, "defgh", 5);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(single_buffer),
		T(multi_buffer_readable_then_writable),
		T(chain_follows_next_in_any_order),
		T(indirect_chain),
		T(indirect_table_entries_follow_next),
		T(longest_chain_accepted_one_more_refused),
		T(zero_length_buffer_in_ram_is_a_segment),
		T(readable_after_writable_is_bad),
		T(readable_after_empty_writable_is_bad),
		T(readable_after_writable_in_indirect_is_bad),
		T(descriptor_pointing_at_itself_ends_by_ttl),
		T(descriptor_cycle_ends_by_ttl),
		T(chain_of_exactly_queue_size_is_fine),
		T(next_out_of_range_is_bad),
		T(indirect_len_zero_is_bad),
		T(indirect_len_not_multiple_of_16_is_bad),
		T(nested_indirect_is_bad),
		T(indirect_with_next_is_bad),
		T(indirect_not_negotiated_is_bad),
		T(indirect_loop_is_bad),
		T(indirect_next_past_table_is_bad),
		T(indirect_table_outside_ram_is_bad),
		T(indirect_entry_outside_ram_is_bad),
		T(buffer_past_ram_is_bad),
		T(buffer_wrapping_u64_is_bad),
		T(buffer_len_u32_max_is_bad),
		T(buffer_in_mmio_gap_is_bad),
		T(head_index_out_of_range_breaks_ring),
		T(avail_idx_too_far_ahead_breaks_ring),
		T(avail_idx_exactly_size_ahead_is_fine),
		T(avail_idx_wraps_16_bits),
		T(pop_on_unready_or_reset_queue_is_empty),
		T(push_fills_used_ring_and_wraps),
		T(end_batch_publishes_avail_event),
		T(end_batch_without_event_idx_leaves_avail_event),
		T(no_interrupt_flag_suppresses_without_event_idx),
		T(used_event_governs_with_event_idx),
		T(enable_rejects_bad_sizes),
		T(enable_rejects_misaligned_rings),
		T(enable_rejects_rings_outside_ram),
		T(enable_rejects_rings_in_mmio_gap),
		T(copy_across_segments_with_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
