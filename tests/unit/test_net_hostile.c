/*
 * test_net_hostile.c — virtio-net (virtio/net.c) against a hostile driver,
 * one test per bug class of DESIGN.md "Contracts", on both queues:
 * chains in the wrong direction, RX buffers shorter than the header (down to
 * 1 byte), descriptor loops, self-referencing and out-of-range next, bad and
 * nested indirect tables, buffers past RAM, wrapping 2^64 or in the MMIO gap,
 * lengths 0 and UINT32_MAX, over-long chains, a broken ring (avail.idx far
 * ahead, head out of range), queue registers rewritten after DRIVER_OK,
 * notifications for queues that do not exist. Same rig as test_net.c.
 *
 * A bad chain comes back with used length 0, nothing reaches the host side
 * (TX) or the chain's buffers (RX), later good chains still work, and the
 * guard bytes around every guest buffer are intact (checked in teardown).
 */
#include "tests/unit/net_helper.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#define MSG 112 /* a TX message: 12-byte header + 100-byte frame */

static const struct virtio_net_hdr_v1 rx_hdr = { .num_buffers = 0x7777 };

/* ---- fixtures ---- */

static int setup(void **state)
{
	return neth_fixture(state, &(struct neth_opts){ 0 });
}

static int setup_no_mrg(void **state)
{
	return neth_fixture(state, &(struct neth_opts){
		.drop_features = NETH_F(VIRTIO_NET_F_MRG_RXBUF) });
}

static int setup_offloads(void **state)
{
	return neth_fixture(state, &(struct neth_opts){ .offloads = true });
}

/* RAM for a 64 MiB buffer. */
static int setup_128m(void **state)
{
	return neth_fixture(state, &(struct neth_opts){ .ram_low = 128 * TEST_MiB });
}

static int setup_no_indirect(void **state)
{
	return neth_fixture(state, &(struct neth_opts){
		.drop_features = NETH_F(VIRTIO_RING_F_INDIRECT_DESC) });
}

/* Low RAM up to the MMIO gap, 1 MiB above 4 GiB. */
static int setup_gap(void **state)
{
	return neth_fixture(state, &(struct neth_opts){ .ram_low = MMIO_GAP_START,
						      .ram_high = TEST_MiB });
}

/* ---- helpers ---- */

static uint16_t take_desc(struct vqh *q)
{
	uint16_t i = q->next_desc;

	q->next_desc = (uint16_t)((i + 1) % q->size);
	return i;
}

/* A TX message (header + 100-byte frame @seed) in fresh guest memory. */
static uint64_t tx_msg(struct neth *h, uint8_t seed)
{
	uint64_t gpa = neth_alloc(h, MSG, 0);

	memset(neth_host(h, gpa, NET_HDR_SIZE), 0, NET_HDR_SIZE);
	neth_frame(neth_host(h, gpa + NET_HDR_SIZE, MSG - NET_HDR_SIZE), MSG - NET_HDR_SIZE, seed);
	return gpa;
}

/* TX chain @head must come back with len 0, nothing sent, as a bad chain. */
static void tx_expect_bad(struct neth *h, uint16_t head)
{
	uint64_t bad = h->net.stats.bad_chains, pk = h->net.stats.tx_packets;

	assert_int_equal(neth_tx_run(h, head).len, 0);
	neth_expect_no_tx(h);
	assert_int_equal(h->net.stats.bad_chains, bad + 1);
	assert_int_equal(h->net.stats.tx_packets, pk);
	assert_false(neth_needs_reset(h));
}

/* A good TX frame still goes out. */
static void tx_expect_works(struct neth *h)
{
	struct virtio_net_hdr_v1 hdr = { 0 };

	assert_int_equal(neth_tx(h, &hdr, 100, 0x5e).len, 0);
	neth_expect_tx(h, &hdr, 100, 0x5e);
}

/* The driver kicks after adding buffers; the backend is readable. */
static void rx_go(struct neth *h)
{
	neth_kick(h, NET_RX_QUEUE);
	neth_rx_event(h);
}

/*
 * RX chain @head (built, not published) must come back with len 0 as a
 * bad chain, and a good buffer posted after it gets the next frame.
 */
static void rx_expect_bad(struct neth *h, uint16_t head)
{
	uint64_t bad = h->net.stats.bad_chains, good_gpa;
	uint16_t good;
	struct vring_used_elem e;
	struct virtio_net_hdr_v1 got;
	uint8_t want[100];

	vqh_publish(&h->rxq, head);
	good = neth_rx_post(h, 1536, &good_gpa);
	neth_peer_send(h, &rx_hdr, 100, 0x6a);
	rx_go(h);
	assert_false(neth_needs_reset(h));
	e = neth_rx_used(h);
	assert_int_equal(e.id, head);
	assert_int_equal(e.len, 0);
	assert_int_equal(h->net.stats.bad_chains, bad + 1);
	e = neth_rx_used(h);
	assert_int_equal(e.id, good);
	assert_int_equal(e.len, NET_HDR_SIZE + 100);
	got = neth_hdr_at(h, good_gpa);
	assert_int_equal(got.num_buffers, 1);
	neth_frame(want, sizeof(want), 0x6a);
	assert_memory_equal(neth_host(h, good_gpa + NET_HDR_SIZE, 100), want, 100);
}

/* ---- chain direction and size ---- */

static void tx_chain_with_a_writable_buffer_is_bad(void **state)
{
	struct neth *h = *state;
	uint64_t w = neth_alloc(h, 64, 0xcc);

	tx_expect_bad(h, vqh_add_chain(&h->txq, (struct vqh_buf[]){
		{ tx_msg(h, 1), MSG, false }, { w, 64, true } }, 2));
	tx_expect_bad(h, vqh_add_chain(&h->txq, (struct vqh_buf[]){ { tx_msg(h, 2), MSG, true } }, 1));
	/* An empty writable buffer counts too. */
	tx_expect_bad(h, vqh_add_chain(&h->txq, (struct vqh_buf[]){
		{ tx_msg(h, 3), MSG, false }, { w, 0, true } }, 2));
	/* Readable after writable (virtq_pop refuses it). */
	tx_expect_bad(h, vqh_add_chain(&h->txq, (struct vqh_buf[]){
		{ tx_msg(h, 4), 12, false }, { w, 8, true }, { tx_msg(h, 5), MSG, false } }, 3));
	assert_true(bytes_all(neth_host(h, w, 64), 64, 0xcc));
	assert_int_equal(h->net.stats.tx_dropped, 0);
	tx_expect_works(h);
}

static void rx_chain_with_a_readable_buffer_is_bad(void **state)
{
	struct neth *h = *state;
	uint64_t r = neth_alloc(h, 1536, 0xcc), w = neth_alloc(h, 1536, 0xcc);

	rx_expect_bad(h, vqh_add_chain(&h->rxq, (struct vqh_buf[]){ { r, 1536, false } }, 1));
	rx_expect_bad(h, vqh_add_chain(&h->rxq, (struct vqh_buf[]){
		{ r, 100, false }, { w, 1536, true } }, 2));
	assert_true(bytes_all(neth_host(h, r, 1536), 1536, 0xcc));
	assert_true(bytes_all(neth_host(h, w, 1536), 1536, 0xcc));
}

/*
 * An empty readable descriptor still makes the chain not "device-writable
 * only" (the TX side likewise refuses an empty writable one): the chain
 * comes back with len 0 as a bad chain, its writable buffer untouched, and
 * the frame goes to the good chain posted after it.
 */
static void rx_chain_with_an_empty_readable_buffer_is_bad(void **state)
{
	struct neth *h = *state;
	uint64_t r = neth_alloc(h, 16, 0xcc), w = neth_alloc(h, 1536, 0xcc);

	rx_expect_bad(h, vqh_add_chain(&h->rxq, (struct vqh_buf[]){
		{ r, 0, false }, { w, 1536, true } }, 2));
	assert_true(bytes_all(neth_host(h, w, 1536), 1536, 0xcc));
}

static void rx_chain_shorter_than_the_header_is_bad(void **state)
{
	struct neth *h = *state;
	uint64_t a = neth_alloc(h, 1, 0xcc), b = neth_alloc(h, 11, 0xcc);
	uint64_t c = neth_alloc(h, 5, 0xcc), d = neth_alloc(h, 6, 0xcc);

	rx_expect_bad(h, vqh_add_chain(&h->rxq, (struct vqh_buf[]){ { a, 1, true } }, 1));
	rx_expect_bad(h, vqh_add_chain(&h->rxq, (struct vqh_buf[]){ { b, 11, true } }, 1));
	rx_expect_bad(h, vqh_add_chain(&h->rxq, (struct vqh_buf[]){ { c, 5, true }, { d, 6, true } }, 2));
	rx_expect_bad(h, vqh_add_chain(&h->rxq, (struct vqh_buf[]){ { a, 0, true } }, 1));
	assert_true(bytes_all(neth_host(h, a, 1), 1, 0xcc));
	assert_true(bytes_all(neth_host(h, b, 11), 11, 0xcc));
	assert_true(bytes_all(neth_host(h, c, 5), 5, 0xcc));
	assert_true(bytes_all(neth_host(h, d, 6), 6, 0xcc));
	assert_int_equal(h->net.stats.rx_packets, 4);
}

/* 1-byte RX buffers: a chain of 92 of them holds a 12 + 80-byte frame. */
static void rx_one_byte_buffers_hold_a_small_frame(void **state)
{
	struct neth *h = *state;
	struct vqh_buf bufs[100];
	uint8_t got[NET_HDR_SIZE + 80], want[NET_HDR_SIZE + 80];
	struct virtio_net_hdr_v1 wh = rx_hdr;
	struct vring_used_elem e;
	uint16_t head;

	for (unsigned int i = 0; i < 100; i++)
		bufs[i] = (struct vqh_buf){ neth_alloc(h, 1, 0xcc), 1, true };
	head = neth_rx_post_chain(h, bufs, 100);
	neth_peer_send(h, &rx_hdr, 80, 0x21);
	rx_go(h);
	e = neth_rx_used(h);
	assert_int_equal(e.id, head);
	assert_int_equal(e.len, sizeof(got));
	for (unsigned int i = 0; i < sizeof(got); i++)
		got[i] = *neth_host(h, bufs[i].addr, 1);
	wh.num_buffers = 1;
	memcpy(want, &wh, NET_HDR_SIZE);
	neth_frame(want + NET_HDR_SIZE, 80, 0x21);
	assert_memory_equal(got, want, sizeof(got));
	/* Twelve 1-byte buffers hold a header but no frame: dropped, chain kept. */
	for (unsigned int i = 0; i < 12; i++)
		bufs[i] = (struct vqh_buf){ neth_alloc(h, 1, 0xcc), 1, true };
	neth_rx_post_chain(h, bufs, 12);
	neth_peer_send(h, &rx_hdr, 60, 0x22);
	rx_go(h);
	assert_int_equal(vqh_used_idx(&h->rxq), 1);
	assert_int_equal(h->net.stats.rx_dropped, 1);
	assert_int_equal(h->net.stats.bad_chains, 0);
}

static void tx_chain_longer_than_max_segments_is_bad(void **state)
{
	struct neth *h = *state;
	struct vqh_buf bufs[VIRTQ_MAX_SEGS + 1];
	uint64_t msg = neth_alloc(h, VIRTQ_MAX_SEGS + 1, 0);

	for (unsigned int i = 0; i < VIRTQ_MAX_SEGS + 1; i++)
		bufs[i] = (struct vqh_buf){ msg + i, 1, false };
	tx_expect_bad(h, vqh_add_chain(&h->txq, bufs, VIRTQ_MAX_SEGS + 1));
	tx_expect_works(h);
}

/* ---- descriptor walking ---- */

static void descriptor_loops_are_bad_chains_on_both_queues(void **state)
{
	struct neth *h = *state;
	uint64_t msg = tx_msg(h, 1), w = neth_alloc(h, 1536, 0xcc);
	uint16_t a, b;

	/* a → b → a */
	a = take_desc(&h->txq);
	b = take_desc(&h->txq);
	vqh_set_desc(&h->txq, a, msg, MSG, VRING_DESC_F_NEXT, b);
	vqh_set_desc(&h->txq, b, msg, MSG, VRING_DESC_F_NEXT, a);
	tx_expect_bad(h, a);
	/* a → a */
	a = take_desc(&h->txq);
	vqh_set_desc(&h->txq, a, msg, 20, VRING_DESC_F_NEXT, a);
	tx_expect_bad(h, a);
	/* next out of range */
	a = take_desc(&h->txq);
	vqh_set_desc(&h->txq, a, msg, MSG, VRING_DESC_F_NEXT, h->txq.size);
	tx_expect_bad(h, a);

	a = take_desc(&h->rxq);
	b = take_desc(&h->rxq);
	vqh_set_desc(&h->rxq, a, w, 768, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, b);
	vqh_set_desc(&h->rxq, b, w + 768, 768, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, a);
	rx_expect_bad(h, a);
	a = take_desc(&h->rxq);
	vqh_set_desc(&h->rxq, a, w, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, a);
	rx_expect_bad(h, a);
	a = take_desc(&h->rxq);
	vqh_set_desc(&h->rxq, a, w, 1536, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0xffff);
	rx_expect_bad(h, a);
	assert_true(bytes_all(neth_host(h, w, 1536), 1536, 0xcc));
	tx_expect_works(h);
}

/*
 * Build indirect variant @v on @q with entries pointing at @buf (@len
 * bytes, @write). Returns the head, or -1 when there are no more variants.
 */
static int bad_indirect(struct neth *h, struct vqh *q, unsigned int v, uint64_t buf, uint32_t len,
			bool write)
{
	uint16_t fl = write ? VRING_DESC_F_WRITE : 0;
	uint64_t table = neth_alloc(h, 8 * 16, 0), table2 = neth_alloc(h, 2 * 16, 0);
	uint64_t ram = h->fm.mem.ram_size;
	uint16_t head = take_desc(q);

	/* A sound one-entry table, and one in table2, that the variants spoil. */
	vqh_set_indirect_desc(q, table, 0, buf, len, fl, 0);
	vqh_set_indirect_desc(q, table2, 0, buf, len, fl, 0);
	switch (v) {
	case 0: /* empty table */
		vqh_set_desc(q, head, table, 0, VRING_DESC_F_INDIRECT, 0);
		break;
	case 1: /* not whole entries */
		vqh_set_desc(q, head, table, 20, VRING_DESC_F_INDIRECT, 0);
		break;
	case 2: { /* INDIRECT with NEXT */
		uint16_t other = take_desc(q);

		vqh_set_desc(q, other, buf, len, fl, 0);
		vqh_set_desc(q, head, table, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, other);
		break;
	}
	case 3: /* nested */
		vqh_set_indirect_desc(q, table, 0, table2, 16, VRING_DESC_F_INDIRECT, 0);
		vqh_set_desc(q, head, table, 16, VRING_DESC_F_INDIRECT, 0);
		break;
	case 4: /* the table runs past RAM */
		vqh_set_desc(q, head, ram - 16, 32, VRING_DESC_F_INDIRECT, 0);
		break;
	case 5: /* the table wraps 2^64 */
		vqh_set_desc(q, head, UINT64_MAX - 15, 32, VRING_DESC_F_INDIRECT, 0);
		break;
	case 6: /* loop inside the table */
		vqh_set_indirect_desc(q, table, 0, buf, len / 2, fl | VRING_DESC_F_NEXT, 1);
		vqh_set_indirect_desc(q, table, 1, buf, len / 2, fl | VRING_DESC_F_NEXT, 0);
		vqh_set_desc(q, head, table, 32, VRING_DESC_F_INDIRECT, 0);
		break;
	case 7: /* next beyond the table */
		vqh_set_indirect_desc(q, table, 0, buf, len, fl | VRING_DESC_F_NEXT, 5);
		vqh_set_desc(q, head, table, 32, VRING_DESC_F_INDIRECT, 0);
		break;
	case 8: /* huge table */
		vqh_set_desc(q, head, table, 0xfffffff0u, VRING_DESC_F_INDIRECT, 0);
		break;
	case 9: /* an entry outside RAM */
		vqh_set_indirect_desc(q, table, 0, ram - 8, len, fl, 0);
		vqh_set_desc(q, head, table, 16, VRING_DESC_F_INDIRECT, 0);
		break;
	case 10: /* more entries than the queue has descriptors */
		vqh_set_desc(q, head, table, 16u * (q->size + 1u), VRING_DESC_F_INDIRECT, 0);
		break;
	default:
		return -1;
	}
	return head;
}

static void bad_indirect_tables_are_bad_chains_on_both_queues(void **state)
{
	struct neth *h = *state;
	uint64_t msg = tx_msg(h, 1), w = neth_alloc(h, 1536, 0xcc);
	unsigned int v;
	int head;

	for (v = 0; (head = bad_indirect(h, &h->txq, v, msg, MSG, false)) >= 0; v++)
		tx_expect_bad(h, (uint16_t)head);
	for (v = 0; (head = bad_indirect(h, &h->rxq, v, w, 1536, true)) >= 0; v++)
		rx_expect_bad(h, (uint16_t)head);
	assert_true(v >= 10);
	assert_true(bytes_all(neth_host(h, w, 1536), 1536, 0xcc));
	tx_expect_works(h);
}

static void indirect_without_the_feature_is_bad_on_both_queues(void **state)
{
	struct neth *h = *state;
	uint64_t w = neth_alloc(h, 1536, 0xcc);

	tx_expect_bad(h, vqh_add_indirect(&h->txq, neth_alloc(h, 16, 0), (struct vqh_buf[]){
		{ tx_msg(h, 1), MSG, false } }, 1));
	rx_expect_bad(h, vqh_add_indirect(&h->rxq, neth_alloc(h, 16, 0), (struct vqh_buf[]){
		{ w, 1536, true } }, 1));
	assert_true(bytes_all(neth_host(h, w, 1536), 1536, 0xcc));
}

/* ---- buffer addresses and lengths ---- */

static void buffers_outside_ram_are_bad_chains_on_both_queues(void **state)
{
	struct neth *h = *state;
	uint64_t ram = h->fm.mem.ram_size;
	const struct { uint64_t addr; uint32_t len; } bad[] = {
		{ ram - 256, 512 },          /* runs past the end */
		{ ram, 1536 },
		{ ram + 4096, 1536 },
		{ 1ULL << 40, 1536 },
		{ UINT64_MAX - 1, 1536 },    /* wraps 2^64 */
		{ UINT64_MAX - 11, 12 },     /* ends exactly at 2^64 */
		{ 1ULL << 63, 1536 },
	};
	uint8_t *tail = neth_host(h, ram - 256, 256);
	uint64_t hdr = neth_alloc(h, NET_HDR_SIZE, 0), w = neth_alloc(h, NET_HDR_SIZE, 0xcc);

	memset(tail, 0x3c, 256);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tx_expect_bad(h, vqh_add_chain(&h->txq, (struct vqh_buf[]){
			{ bad[i].addr, bad[i].len, false } }, 1));
		tx_expect_bad(h, vqh_add_chain(&h->txq, (struct vqh_buf[]){
			{ hdr, NET_HDR_SIZE, false }, { bad[i].addr, bad[i].len, false } }, 2));
		rx_expect_bad(h, vqh_add_chain(&h->rxq, (struct vqh_buf[]){
			{ bad[i].addr, bad[i].len, true } }, 1));
		rx_expect_bad(h, vqh_add_chain(&h->rxq, (struct vqh_buf[]){
			{ w, NET_HDR_SIZE, true }, { bad[i].addr, bad[i].len, true } }, 2));
	}
	/* The RAM part of a buffer running past the end was not written either. */
	assert_true(bytes_all(tail, 256, 0x3c));
	assert_true(bytes_all(neth_host(h, w, NET_HDR_SIZE), NET_HDR_SIZE, 0xcc));
}

/* A buffer ending exactly at the end of RAM is fine. */
static void buffers_ending_at_the_end_of_ram_work(void **state)
{
	struct neth *h = *state;
	uint64_t ram = h->fm.mem.ram_size, at = ram - 1536;
	struct virtio_net_hdr_v1 hdr = { 0 };
	struct vring_used_elem e;

	vqh_publish(&h->rxq, vqh_add_chain(&h->rxq, (struct vqh_buf[]){ { at, 1536, true } }, 1));
	neth_peer_send(h, &rx_hdr, 1000, 3);
	rx_go(h);
	e = neth_rx_used(h);
	assert_int_equal(e.len, NET_HDR_SIZE + 1000);
	/* TX from the last bytes of RAM. */
	memcpy(neth_host(h, ram - MSG, NET_HDR_SIZE), &hdr, NET_HDR_SIZE);
	neth_frame(neth_host(h, ram - MSG + NET_HDR_SIZE, 100), 100, 4);
	assert_int_equal(neth_tx_chain(h, (struct vqh_buf[]){ { ram - MSG, MSG, false } }, 1).len, 0);
	neth_expect_tx(h, &hdr, 100, 4);
}

static void buffers_in_the_mmio_gap_are_bad_chains_on_both_queues(void **state)
{
	struct neth *h = *state;
	static const uint64_t addrs[] = {
		0xd0000000ULL,             /* a virtio-mmio device window */
		MMIO_GAP_START,            /* first byte of the gap */
		MMIO_GAP_START - 256,      /* RAM running into the gap */
		MMIO_GAP_END - 256,        /* the gap running into high RAM */
		0xfec00000ULL,             /* IOAPIC */
	};
	uint8_t *low_tail = neth_host(h, MMIO_GAP_START - 256, 256);
	uint8_t *high_head = h->fm.host[1];
	struct virtio_net_hdr_v1 hdr = { 0 };
	struct vring_used_elem e;
	uint8_t want[1000];

	memset(low_tail, 0x3c, 256);
	memset(high_head, 0x3c, 256);
	for (unsigned int i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		tx_expect_bad(h, vqh_add_chain(&h->txq, (struct vqh_buf[]){
			{ addrs[i], 1536, false } }, 1));
		rx_expect_bad(h, vqh_add_chain(&h->rxq, (struct vqh_buf[]){
			{ addrs[i], 1536, true } }, 1));
	}
	assert_true(bytes_all(low_tail, 256, 0x3c));
	assert_true(bytes_all(high_head, 256, 0x3c));
	/* High RAM itself works on both queues. */
	vqh_publish(&h->rxq, vqh_add_chain(&h->rxq, (struct vqh_buf[]){
		{ MMIO_GAP_END, 1536, true } }, 1));
	neth_peer_send(h, &rx_hdr, 1000, 7);
	rx_go(h);
	e = neth_rx_used(h);
	assert_int_equal(e.len, NET_HDR_SIZE + 1000);
	neth_frame(want, sizeof(want), 7);
	assert_memory_equal(high_head + NET_HDR_SIZE, want, sizeof(want));
	memcpy(high_head + 4096, &hdr, NET_HDR_SIZE);
	neth_frame(high_head + 4096 + NET_HDR_SIZE, 100, 8);
	assert_int_equal(neth_tx_chain(h, (struct vqh_buf[]){
		{ MMIO_GAP_END + 4096, MSG, false } }, 1).len, 0);
	neth_expect_tx(h, &hdr, 100, 8);
}

static void zero_and_u32_max_lengths_on_both_queues(void **state)
{
	struct neth *h = *state;
	struct virtio_net_hdr_v1 hdr = { 0 };
	uint64_t msg = tx_msg(h, 1), w = neth_alloc(h, 1536, 0xcc);
	uint64_t gpa_of[2], ram = h->fm.mem.ram_size;
	uint16_t head;
	struct vring_used_elem e;

	/* UINT32_MAX bytes never fit in RAM: bad chains. */
	tx_expect_bad(h, vqh_add_chain(&h->txq, (struct vqh_buf[]){
		{ NETH_DATA_GPA, UINT32_MAX, false } }, 1));
	tx_expect_bad(h, vqh_add_chain(&h->txq, (struct vqh_buf[]){
		{ msg, NET_HDR_SIZE, false }, { 0, UINT32_MAX, false } }, 2));
	rx_expect_bad(h, vqh_add_chain(&h->rxq, (struct vqh_buf[]){ { 0, UINT32_MAX, true } }, 1));
	rx_expect_bad(h, vqh_add_chain(&h->rxq, (struct vqh_buf[]){
		{ w, NET_HDR_SIZE, true }, { w, UINT32_MAX, true } }, 2));
	/* Empty descriptors among real ones are harmless, also at the end of RAM. */
	assert_int_equal(neth_tx_chain(h, (struct vqh_buf[]){
		{ msg, NET_HDR_SIZE, false }, { msg, 0, false }, { ram, 0, false },
		{ msg + NET_HDR_SIZE, 100, false } }, 4).len, 0);
	neth_expect_tx(h, &hdr, 100, 1);
	/* An empty TX chain is a short frame. */
	assert_int_equal(neth_tx_chain(h, (struct vqh_buf[]){ { msg, 0, false } }, 1).len, 0);
	neth_expect_no_tx(h);
	assert_int_equal(h->net.stats.tx_dropped, 1);
	/* RX: an empty writable buffer before a real one. */
	gpa_of[0] = neth_alloc(h, 1536, 0xcc);
	head = neth_rx_post_chain(h, (struct vqh_buf[]){ { w, 0, true }, { ram, 0, true },
							 { gpa_of[0], 1536, true } }, 3);
	neth_peer_send(h, &rx_hdr, 500, 2);
	rx_go(h);
	e = neth_rx_used(h);
	assert_int_equal(e.id, head);
	assert_int_equal(e.len, NET_HDR_SIZE + 500);
	assert_int_equal(neth_hdr_at(h, gpa_of[0]).num_buffers, 1);
	assert_true(bytes_all(neth_host(h, w, 1536), 1536, 0xcc));
}

/* ---- the ring itself ---- */

static void avail_idx_far_ahead_needs_reset_on_both_queues(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[4];

	eventfd_take(h->irq_fd);
	vqh_publish(&h->txq, vqh_add_chain(&h->txq, (struct vqh_buf[]){
		{ tx_msg(h, 1), MSG, false } }, 1));
	vqh_set_avail_idx(&h->txq, (uint16_t)(h->txq.size + 2));
	neth_kick(h, NET_TX_QUEUE);
	assert_true(neth_needs_reset(h));
	assert_true(neth_read32(h, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(eventfd_take(h->irq_fd), 1);
	assert_int_equal(vqh_used_idx(&h->txq), 0);
	neth_expect_no_tx(h);
	neth_kick(h, NET_TX_QUEUE);
	assert_int_equal(vqh_used_idx(&h->txq), 0);
	neth_expect_no_tx(h);

	neth_driver_init(h, &(struct neth_opts){ 0 });
	assert_false(neth_needs_reset(h));
	gpa_of[0] = neth_alloc(h, 1536, 0xcc);
	vqh_publish(&h->rxq, vqh_add_chain(&h->rxq, (struct vqh_buf[]){
		{ gpa_of[0], 1536, true } }, 1));
	vqh_set_avail_idx(&h->rxq, 0x8000);
	neth_peer_send(h, &rx_hdr, 100, 1);
	neth_rx_event(h);
	assert_true(neth_needs_reset(h));
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
	assert_true(bytes_all(neth_host(h, gpa_of[0], 1536), 1536, 0xcc));
	/* No busy loop on a level-triggered backend: RX stops asking for EPOLLIN. */
	neth_rx_event(h);
	assert_false(h->net.interest & EPOLLIN);
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
}

static void head_index_out_of_range_needs_reset_on_both_queues(void **state)
{
	struct neth *h = *state;
	uint64_t w = neth_alloc(h, 1536, 0xcc);

	vqh_publish(&h->txq, h->txq.size);
	vqh_publish(&h->txq, vqh_add_chain(&h->txq, (struct vqh_buf[]){
		{ tx_msg(h, 1), MSG, false } }, 1));
	neth_kick(h, NET_TX_QUEUE);
	assert_true(neth_needs_reset(h));
	assert_int_equal(vqh_used_idx(&h->txq), 0);
	neth_expect_no_tx(h);

	neth_driver_init(h, &(struct neth_opts){ 0 });
	vqh_publish(&h->rxq, 0xffff);
	vqh_publish(&h->rxq, vqh_add_chain(&h->rxq, (struct vqh_buf[]){ { w, 1536, true } }, 1));
	neth_peer_send(h, &rx_hdr, 100, 1);
	rx_go(h);
	assert_true(neth_needs_reset(h));
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
	assert_true(bytes_all(neth_host(h, w, 1536), 1536, 0xcc));
	/* After a reset and a fresh start, both queues work. */
	assert_int_equal(neth_backend_discard(h), 1); /* the frame sent before */
	neth_driver_init(h, &(struct neth_opts){ 0 });
	rx_expect_bad(h, vqh_add_chain(&h->rxq, (struct vqh_buf[]){ { w, 4, true } }, 1));
	tx_expect_works(h);
}

static void queue_registers_rewritten_after_driver_ok_are_ignored(void **state)
{
	struct neth *h = *state;
	const uint64_t rogue = 0xc00000;
	struct vqh rq[2];
	uint64_t rw = neth_alloc(h, 1536, 0xcc), gpa;
	struct vring_used_elem e;

	for (unsigned int q = 0; q < 2; q++) {
		uint64_t base = rogue + q * 0x10000;

		vqh_init(&rq[q], &h->fm, 8, base, base + 0x1000, base + 0x2000);
		neth_write32(h, VIRTIO_MMIO_QUEUE_SEL, q);
		neth_write32(h, VIRTIO_MMIO_QUEUE_READY, 0);
		neth_write32(h, VIRTIO_MMIO_QUEUE_NUM, 8);
		neth_write32(h, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)base);
		neth_write32(h, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(base + 0x1000));
		neth_write32(h, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(base + 0x2000));
		neth_write32(h, VIRTIO_MMIO_QUEUE_USED_HIGH, 0x12345678);
		neth_write32(h, VIRTIO_MMIO_QUEUE_READY, 1);
		assert_int_equal(neth_read32(h, VIRTIO_MMIO_QUEUE_READY), 1);
	}
	/* Chains on the rogue rings are never seen... */
	vqh_publish(&rq[NET_TX_QUEUE], vqh_add_chain(&rq[NET_TX_QUEUE], (struct vqh_buf[]){
		{ tx_msg(h, 1), MSG, false } }, 1));
	neth_kick(h, NET_TX_QUEUE);
	assert_int_equal(vqh_used_idx(&rq[NET_TX_QUEUE]), 0);
	neth_expect_no_tx(h);
	vqh_publish(&rq[NET_RX_QUEUE], vqh_add_chain(&rq[NET_RX_QUEUE], (struct vqh_buf[]){
		{ rw, 1536, true } }, 1));
	neth_kick(h, NET_RX_QUEUE);
	/* ...while the original rings keep working. */
	neth_rx_post(h, 1536, &gpa);
	neth_peer_send(h, &rx_hdr, 100, 2);
	rx_go(h);
	e = neth_rx_used(h);
	assert_int_equal(e.len, NET_HDR_SIZE + 100);
	assert_int_equal(vqh_used_idx(&rq[NET_RX_QUEUE]), 0);
	assert_true(bytes_all(neth_host(h, rw, 1536), 1536, 0xcc));
	tx_expect_works(h);
	assert_false(neth_needs_reset(h));
}

static void notify_for_queues_that_do_not_exist_is_ignored(void **state)
{
	struct neth *h = *state;
	static const unsigned int queues[] = { 2, 3, 4, 0xffff, 0x80000000u, UINT32_MAX };
	uint16_t head = vqh_add_chain(&h->txq, (struct vqh_buf[]){ { tx_msg(h, 1), MSG, false } }, 1);

	vqh_publish(&h->txq, head);
	for (unsigned int i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
		neth_write32(h, VIRTIO_MMIO_QUEUE_NOTIFY, queues[i]);
		virtio_net_notify(&h->net, queues[i]);
	}
	assert_int_equal(vqh_used_idx(&h->txq), 0);
	neth_expect_no_tx(h);
	assert_false(neth_needs_reset(h));
	neth_kick(h, NET_TX_QUEUE);
	assert_int_equal(vqh_used_idx(&h->txq), 1);
	assert_int_equal(h->net.stats.tx_packets, 1);
}

/* ---- RX gathering against a hostile ring ---- */

static void rx_ring_full_of_bad_chains_is_returned_then_rx_pauses(void **state)
{
	struct neth *h = *state;
	uint64_t r = neth_alloc(h, 1536, 0xcc);

	for (unsigned int i = 0; i < h->rxq.size; i++)
		neth_rx_post_chain(h, (struct vqh_buf[]){ { r, 1536, false } }, 1);
	neth_peer_send(h, &rx_hdr, 100, 1);
	rx_go(h);
	assert_int_equal(vqh_used_idx(&h->rxq), h->rxq.size);
	for (unsigned int i = 0; i < h->rxq.size; i++)
		assert_int_equal(neth_rx_used(h).len, 0);
	assert_int_equal(h->net.stats.bad_chains, h->rxq.size);
	assert_true(h->net.rx_wait_buffers);
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 100);
	assert_false(neth_needs_reset(h));
	assert_true(bytes_all(neth_host(h, r, 1536), 1536, 0xcc));
}

/*
 * MRG_RXBUF with guest TSO: a bad chain met while gathering room (good,
 * bad, good; far from 65562 bytes) is returned with len 0 at once, before
 * any frame arrives, while the device keeps holding the good ones and
 * pauses. Topped up to 43 good chains, the frame goes into the first good
 * one, the second and the next (num_buffers 3); the bad one is never written.
 */
static void rx_mrg_bad_chain_met_while_gathering_is_returned_at_once(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE], r = neth_alloc(h, 1536, 0xcc), gpa;
	uint16_t g1, bad, g2;
	struct vring_used_elem e;

	assert_true(h->features & NETH_F(VIRTIO_NET_F_GUEST_TSO4));
	g1 = neth_rx_post(h, 1536, &gpa);
	gpa_of[g1] = gpa;
	bad = neth_rx_post_chain(h, (struct vqh_buf[]){ { r, 1536, false } }, 1);
	g2 = neth_rx_post(h, 1536, &gpa);
	gpa_of[g2] = gpa;
	rx_go(h);
	assert_int_equal(vqh_used_idx(&h->rxq), 1);
	e = neth_rx_used(h);
	assert_int_equal(e.id, bad);
	assert_int_equal(e.len, 0);
	assert_int_equal(h->net.stats.bad_chains, 1);
	assert_true(h->net.rx_wait_buffers);
	assert_int_equal(h->net.rx_nparts, 2);
	assert_int_equal(h->net.rx_parts[0].head, g1);
	assert_int_equal(h->net.rx_parts[1].head, g2);
	assert_int_equal(h->net.rx_room, 2 * 1536);

	neth_peer_send(h, &rx_hdr, 4000, 0x31);
	neth_rx_event(h);                       /* paused: not read */
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 4000);
	neth_post_n(h, 41, 1536, gpa_of);
	neth_kick(h, NET_RX_QUEUE);
	assert_int_equal(vqh_used_idx(&h->rxq), 4);
	assert_int_equal(h->rxq.used->ring[1].id, g1);
	assert_int_equal(h->rxq.used->ring[2].id, g2);
	assert_int_equal(h->rxq.used->ring[3].id, g2 + 1);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 4000, 0x31, 3);
	assert_int_equal(h->net.rx_nparts, 40);
	assert_int_equal(h->net.stats.bad_chains, 1);
	assert_int_equal(h->net.stats.rx_packets, 1);
	assert_int_equal(h->net.stats.rx_dropped, 0);
	assert_false(neth_needs_reset(h));
	assert_true(bytes_all(neth_host(h, r, 1536), 1536, 0xcc));
}

/*
 * An RX chain with 4 GiB writable: 64 descriptors on one 64 MiB buffer (130
 * are allowed, so a guest with 33 MiB of RAM can build one). Used lengths
 * are 32 bits: the device must refuse the chain (len 0, a bad chain) or put
 * the frame in it (len 112, num_buffers 1); either way RX goes on and
 * nothing is written outside the buffer. (A device that truncated the
 * length for the part but not for its room counter overran rx_parts[].)
 */
static void rx_chain_with_4_gib_writable_is_harmless(void **state)
{
	struct neth *h = *state;
	const uint32_t big = 64 * TEST_MiB;
	struct vqh_buf bufs[64];
	uint64_t b = neth_alloc(h, big, 0xcc), good_gpa;
	uint16_t head, good;
	struct vring_used_elem e;
	uint8_t want[100];

	for (unsigned int i = 0; i < 64; i++)
		bufs[i] = (struct vqh_buf){ b, big, true };
	head = neth_rx_post_chain(h, bufs, 64);
	good = neth_rx_post(h, 1536, &good_gpa);
	neth_peer_send(h, &rx_hdr, 100, 0x41);
	neth_peer_send(h, &rx_hdr, 100, 0x42);
	rx_go(h);
	assert_false(neth_needs_reset(h));
	e = neth_rx_used(h);
	assert_int_equal(e.id, head);
	neth_frame(want, sizeof(want), 0x41);
	if (e.len == 0) {
		assert_int_equal(h->net.stats.bad_chains, 1);
		/* The first frame goes to the good chain; the second waits for a buffer. */
		e = neth_rx_used(h);
		assert_int_equal(e.id, good);
		assert_int_equal(e.len, NET_HDR_SIZE + 100);
		assert_memory_equal(neth_host(h, good_gpa + NET_HDR_SIZE, 100), want, 100);
	} else {
		assert_int_equal(e.len, NET_HDR_SIZE + 100);
		assert_int_equal(neth_hdr_at(h, b).num_buffers, 1);
		assert_memory_equal(neth_host(h, b + NET_HDR_SIZE, 100), want, 100);
		e = neth_rx_used(h);
		assert_int_equal(e.id, good);
		assert_int_equal(e.len, NET_HDR_SIZE + 100);
		neth_frame(want, sizeof(want), 0x42);
		assert_memory_equal(neth_host(h, good_gpa + NET_HDR_SIZE, 100), want, 100);
	}
	assert_int_equal(h->net.stats.rx_dropped, 0);
}

static void tx_mixed_batch_each_chain_handled_on_its_own(void **state)
{
	struct neth *h = *state;
	struct virtio_net_hdr_v1 hdr = { 0 };
	uint64_t w = neth_alloc(h, 16, 0xcc), shortm = tx_msg(h, 9);
	uint16_t heads[5], loop;
	struct vring_used_elem e;

	heads[0] = vqh_add_chain(&h->txq, (struct vqh_buf[]){ { tx_msg(h, 1), MSG, false } }, 1);
	heads[1] = vqh_add_chain(&h->txq, (struct vqh_buf[]){ { w, 16, true } }, 1);
	heads[2] = vqh_add_chain(&h->txq, (struct vqh_buf[]){ { shortm, 20, false } }, 1);
	loop = take_desc(&h->txq);
	vqh_set_desc(&h->txq, loop, shortm, MSG, VRING_DESC_F_NEXT, loop);
	heads[3] = loop;
	heads[4] = vqh_add_chain(&h->txq, (struct vqh_buf[]){ { tx_msg(h, 2), MSG, false } }, 1);
	for (unsigned int i = 0; i < 5; i++)
		vqh_publish(&h->txq, heads[i]);
	neth_kick(h, NET_TX_QUEUE);
	assert_int_equal(vqh_used_idx(&h->txq), 5);
	for (unsigned int i = 0; i < 5; i++) {
		assert_true(vqh_used_pop(&h->txq, &e));
		assert_int_equal(e.id, heads[i]);
		assert_int_equal(e.len, 0);
	}
	neth_expect_tx(h, &hdr, 100, 1);
	neth_expect_tx(h, &hdr, 100, 2);
	neth_expect_no_tx(h);
	assert_int_equal(h->net.stats.tx_packets, 2);
	assert_int_equal(h->net.stats.tx_dropped, 1);
	assert_int_equal(h->net.stats.bad_chains, 2);
	assert_true(bytes_all(neth_host(h, w, 16), 16, 0xcc));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, neth_fixture_teardown)
#define T_WITH(fn, s) cmocka_unit_test_setup_teardown(fn, s, neth_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(tx_chain_with_a_writable_buffer_is_bad),
		T(rx_chain_with_a_readable_buffer_is_bad),
		T(rx_chain_with_an_empty_readable_buffer_is_bad),
		T(rx_chain_shorter_than_the_header_is_bad),
		T_WITH(rx_one_byte_buffers_hold_a_small_frame, setup_no_mrg),
		T(tx_chain_longer_than_max_segments_is_bad),
		T(descriptor_loops_are_bad_chains_on_both_queues),
		T(bad_indirect_tables_are_bad_chains_on_both_queues),
		T_WITH(indirect_without_the_feature_is_bad_on_both_queues, setup_no_indirect),
		T(buffers_outside_ram_are_bad_chains_on_both_queues),
		T(buffers_ending_at_the_end_of_ram_work),
		T_WITH(buffers_in_the_mmio_gap_are_bad_chains_on_both_queues, setup_gap),
		T(zero_and_u32_max_lengths_on_both_queues),
		T(avail_idx_far_ahead_needs_reset_on_both_queues),
		T(head_index_out_of_range_needs_reset_on_both_queues),
		T(queue_registers_rewritten_after_driver_ok_are_ignored),
		T(notify_for_queues_that_do_not_exist_is_ignored),
		T(rx_ring_full_of_bad_chains_is_returned_then_rx_pauses),
		T_WITH(rx_mrg_bad_chain_met_while_gathering_is_returned_at_once, setup_offloads),
		T(tx_mixed_batch_each_chain_handled_on_its_own),
		T_WITH(rx_chain_with_4_gib_writable_is_harmless, setup_128m),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
