/*
 * test_net_rx.c — virtio-net (virtio/net.c) receive path, end to end over
 * fake guest memory with a socketpair as the tap (net_helper.h): frames with
 * and without MRG_RXBUF (the header is 12 bytes either way), frames too big
 * for the buffers, RX pausing when the guest has no buffers and resuming on
 * its kick (EVENT_IDX asks for that kick), batching, MRG_RXBUF spanning
 * several buffers and gathering room for one frame, and the chains the
 * device holds across frames (reused after a drop, served in ring order,
 * read into when they fill half the ring, forgotten on reset). Setup, TX
 * and device state: test_net.c; malformed chains: test_net_hostile.c.
 *
 * Every test checks the used ring (ids and lengths), the bytes the guest
 * got, the counters, and (in teardown) the guard bytes around every buffer.
 */
#include "tests/unit/net_helper.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#define MTU_ROOM (NET_HDR_SIZE + 1500 + 18) /* MRG without GSO gathers this much */

/* The header a tap would prepend; num_buffers is garbage the device must overwrite. */
static const struct virtio_net_hdr_v1 rx_hdr = { .num_buffers = 0x7777 };

/* ---- fixtures ---- */

static int setup(void **state)
{
	return neth_fixture(state, &(struct neth_opts){ 0 });
}

static int setup_offloads(void **state)
{
	return neth_fixture(state, &(struct neth_opts){ .offloads = true });
}

static int setup_no_mrg(void **state)
{
	return neth_fixture(state, &(struct neth_opts){
		.drop_features = NETH_F(VIRTIO_NET_F_MRG_RXBUF) });
}

/* A 16-entry ring: half of it (8 chains) is few enough to hold without full room. */
static int setup_ring16(void **state)
{
	return neth_fixture(state, &(struct neth_opts){ .queue_size = 16 });
}

static int setup_no_event_idx(void **state)
{
	return neth_fixture(state, &(struct neth_opts){
		.drop_features = NETH_F(VIRTIO_RING_F_EVENT_IDX) });
}

/* ---- RX ---- */

static void rx_frame_delivered_without_mrg_rxbuf(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];
	struct virtio_net_hdr_v1 hdr;

	assert_false(h->features & NETH_F(VIRTIO_NET_F_MRG_RXBUF));
	neth_post_n(h, 1, MTU_ROOM, gpa_of);
	eventfd_take(h->irq_fd);
	neth_peer_send(h, &rx_hdr, 1000, 5);
	neth_rx_event(h);
	/* 12-byte header even without MRG_RXBUF (virtio 1.x), num_buffers 1. */
	neth_expect_rx(h, gpa_of, MTU_ROOM, &rx_hdr, 1000, 5, 1);
	hdr = neth_hdr_at(h, gpa_of[0]);
	assert_int_equal(hdr.num_buffers, 1);
	assert_int_equal(h->net.stats.rx_packets, 1);
	assert_int_equal(h->net.stats.rx_bytes, 1000);
	assert_int_equal(h->net.stats.rx_dropped, 0);
	assert_true(eventfd_take(h->irq_fd) >= 1);
	assert_true(neth_read32(h, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	assert_int_equal(neth_backend_peek(h), -1);
}

static void rx_frame_delivered_with_mrg_rxbuf_in_one_buffer(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];
	struct virtio_net_hdr_v1 sent = { .flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 0 };

	neth_post_n(h, 2, 1536, gpa_of);
	neth_peer_send(h, &sent, 1514, 6);
	neth_peer_send(h, &sent, 60, 7);
	neth_rx_event(h);
	neth_expect_rx(h, gpa_of, 1536, &sent, 1514, 6, 1);
	neth_expect_rx(h, gpa_of, 1536, &sent, 60, 7, 1);
	assert_int_equal(h->net.stats.rx_packets, 2);
	assert_int_equal(h->net.stats.rx_bytes, 1574);
}

static void rx_frame_too_big_for_the_chain_is_dropped_and_chain_reused(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];
	uint16_t head;

	neth_post_n(h, 1, 600, gpa_of);
	head = 0;
	neth_peer_send(h, &rx_hdr, 589, 1);  /* 601 bytes: one too many */
	neth_peer_send(h, &rx_hdr, 5000, 2);
	neth_peer_send(h, &rx_hdr, 588, 3);  /* exactly fits */
	neth_rx_event(h);
	assert_int_equal(h->net.stats.rx_dropped, 2);
	assert_int_equal(vqh_used_idx(&h->rxq), 1);
	assert_int_equal(h->rxq.used->ring[0].id, head);
	neth_expect_rx(h, gpa_of, 600, &rx_hdr, 588, 3, 1);
	assert_int_equal(h->net.stats.rx_packets, 1);
	assert_int_equal(h->net.stats.rx_bytes, 588);
	assert_int_equal(h->net.stats.bad_chains, 0);
}

static void rx_without_buffers_pauses_then_resumes_on_kick(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];

	assert_true(h->net.interest & EPOLLIN);
	neth_peer_send(h, &rx_hdr, 100, 1);
	neth_peer_send(h, &rx_hdr, 200, 2);
	neth_rx_event(h);
	assert_true(h->net.rx_wait_buffers);
	assert_int_equal(h->net.stats.rx_paused, 1);
	assert_false(h->net.interest & EPOLLIN);
	/* The frames wait in the backend: not read, not dropped. */
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 100);
	assert_int_equal(h->net.stats.rx_dropped, 0);
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
	/* The driver adds buffers and kicks: RX resumes within the kick. */
	neth_post_n(h, 4, 1536, gpa_of);
	neth_kick(h, NET_RX_QUEUE);
	assert_int_equal(vqh_used_idx(&h->rxq), 2);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 100, 1, 1);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 200, 2, 1);
	assert_false(h->net.rx_wait_buffers);
	assert_true(h->net.interest & EPOLLIN);
	assert_int_equal(neth_backend_peek(h), -1);
	/* Later frames use the remaining buffers. */
	neth_peer_send(h, &rx_hdr, 300, 3);
	neth_rx_event(h);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 300, 3, 1);
	assert_int_equal(h->net.stats.rx_packets, 3);
	assert_int_equal(h->net.stats.rx_paused, 1);
}

static void rx_spurious_epollin_while_paused_reads_nothing(void **state)
{
	struct neth *h = *state;

	neth_peer_send(h, &rx_hdr, 100, 1);
	neth_rx_event(h);
	assert_true(h->net.rx_wait_buffers);
	for (int i = 0; i < 3; i++)
		neth_rx_event(h);
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 100);
	assert_int_equal(h->net.stats.rx_dropped, 0);
	assert_int_equal(h->net.stats.rx_paused, 1);
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
	assert_false(h->net.interest & EPOLLIN);
	/* A kick without new buffers does not lose the frame either. */
	neth_kick(h, NET_RX_QUEUE);
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 100);
	assert_true(h->net.rx_wait_buffers);
	assert_int_equal(h->net.stats.rx_dropped, 0);
}

/* EVENT_IDX: the pause publishes avail_event, so the driver's next buffer kicks. */
static void rx_pause_with_event_idx_asks_the_driver_to_kick(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];
	uint16_t old;

	assert_true(h->features & NETH_F(VIRTIO_RING_F_EVENT_IDX));
	neth_post_n(h, 1, 1536, gpa_of);
	neth_peer_send(h, &rx_hdr, 100, 1);
	neth_peer_send(h, &rx_hdr, 100, 2);
	neth_rx_event(h);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 100, 1, 1);
	assert_true(h->net.rx_wait_buffers);
	/* The driver adds a buffer without kicking, then asks whether it must. */
	old = h->rxq.avail_idx;
	neth_post_n(h, 1, 1536, gpa_of);
	assert_true(neth_driver_must_kick(h, &h->rxq, old, h->rxq.avail_idx));
	neth_post_n(h, 1, 1536, gpa_of); /* one to spare, so RX does not pause again */
	neth_kick(h, NET_RX_QUEUE);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 100, 2, 1);
	assert_false(h->net.rx_wait_buffers);
	assert_true(h->net.interest & EPOLLIN);
}

static void rx_pause_without_event_idx_keeps_notifications_on(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];
	uint16_t old;

	neth_peer_send(h, &rx_hdr, 100, 1);
	neth_rx_event(h);
	assert_true(h->net.rx_wait_buffers);
	old = h->rxq.avail_idx;
	neth_post_n(h, 1, 1536, gpa_of);
	assert_true(neth_driver_must_kick(h, &h->rxq, old, h->rxq.avail_idx));
	neth_kick(h, NET_RX_QUEUE);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 100, 1, 1);
}

static void rx_reads_at_most_net_batch_frames_per_event(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];
	const unsigned int frames = NET_BATCH + 6;

	neth_post_n(h, 100, 1536, gpa_of);
	for (unsigned int i = 0; i < frames; i++)
		neth_peer_send(h, &rx_hdr, 60 + i, (uint8_t)i);
	neth_rx_event(h);
	assert_int_equal(vqh_used_idx(&h->rxq), NET_BATCH);
	assert_true(neth_backend_peek(h) > 0);
	neth_rx_event(h);
	assert_int_equal(vqh_used_idx(&h->rxq), frames);
	for (unsigned int i = 0; i < frames; i++)
		neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 60 + i, (uint8_t)i, 1);
	assert_int_equal(h->net.stats.rx_packets, frames);
	assert_false(h->net.rx_wait_buffers);
}

/* MRG_RXBUF with guest TSO: a 4000-byte frame in 1536-byte buffers. */
static void rx_mrg_frame_spans_three_buffers(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];
	uint16_t first_free;

	assert_true(h->features & NETH_F(VIRTIO_NET_F_GUEST_TSO4));
	/* 43 * 1536 >= 12 + 65550: enough for the gathering to finish. */
	neth_post_n(h, 50, 1536, gpa_of);
	neth_peer_send(h, &rx_hdr, 4000, 9);
	neth_rx_event(h);
	/* 4012 bytes: 1536 + 1536 + 940, num_buffers 3 in the first buffer's header. */
	assert_int_equal(vqh_used_idx(&h->rxq), 3);
	assert_int_equal(h->rxq.used->ring[0].id, 0);
	assert_int_equal(h->rxq.used->ring[1].id, 1);
	assert_int_equal(h->rxq.used->ring[2].id, 2);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 4000, 9, 3);
	assert_int_equal(neth_hdr_at(h, gpa_of[0]).num_buffers, 3);
	/* The chains gathered but not needed stay held: the next frame takes chain 3. */
	first_free = 3;
	neth_peer_send(h, &rx_hdr, 100, 10);
	neth_rx_event(h);
	assert_int_equal(h->rxq.used->ring[3].id, first_free);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 100, 10, 1);
	/* A full 64 KiB GSO frame. */
	neth_peer_send(h, &rx_hdr, NET_MAX_FRAME, 11);
	neth_rx_event(h);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, NET_MAX_FRAME, 11, (NET_HDR_SIZE + NET_MAX_FRAME + 1535) / 1536);
	assert_int_equal(h->net.stats.rx_packets, 3);
	assert_int_equal(h->net.stats.rx_bytes, 4100 + NET_MAX_FRAME);
	assert_int_equal(h->net.stats.rx_dropped, 0);
}

/* MRG_RXBUF without guest GSO: room for mtu + 18 is gathered, no more. */
static void rx_mrg_without_gso_gathers_room_for_one_mtu_frame(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];

	neth_post_n(h, 2, 1000, gpa_of);
	neth_peer_send(h, &rx_hdr, 1514, 1);
	neth_rx_event(h);
	neth_expect_rx(h, gpa_of, 1000, &rx_hdr, 1514, 1, 2);   /* 1000 + 526 */
	/* The ring is empty now: RX paused. One buffer with MTU room is enough for any frame. */
	assert_true(h->net.rx_wait_buffers);
	neth_peer_send(h, &rx_hdr, 1518, 2);
	neth_post_n(h, 1, MTU_ROOM, gpa_of);
	neth_kick(h, NET_RX_QUEUE);
	neth_expect_rx(h, gpa_of, MTU_ROOM, &rx_hdr, 1518, 2, 1);
	assert_int_equal(h->net.stats.rx_packets, 2);
}

/* MRG: less room than a full frame needs pauses RX, even for a small frame. */
static void rx_mrg_too_little_room_pauses_without_consuming(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];
	uint16_t old;

	neth_post_n(h, 1, 1000, gpa_of);
	neth_peer_send(h, &rx_hdr, 100, 1);
	neth_rx_event(h);
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
	assert_true(h->net.rx_wait_buffers);
	assert_int_equal(h->net.stats.rx_paused, 1);
	assert_false(h->net.interest & EPOLLIN);
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 100);
	assert_int_equal(h->net.stats.rx_dropped, 0);
	/* EVENT_IDX: the next buffer added must be kicked. */
	old = h->rxq.avail_idx;
	neth_post_n(h, 1, 1000, gpa_of);
	assert_true(neth_driver_must_kick(h, &h->rxq, old, h->rxq.avail_idx));
	neth_kick(h, NET_RX_QUEUE);
	/* Enough room now: the frame lands in the first buffer, the second stays held. */
	assert_int_equal(vqh_used_idx(&h->rxq), 1);
	assert_int_equal(h->rxq.used->ring[0].id, 0);
	neth_expect_rx(h, gpa_of, 1000, &rx_hdr, 100, 1, 1);
	neth_peer_send(h, &rx_hdr, 50, 2);
	neth_rx_event(h);
	/* Only buffer 1 left (1000 < MTU room): paused again, frame kept. */
	assert_int_equal(vqh_used_idx(&h->rxq), 1);
	assert_true(h->net.rx_wait_buffers);
	assert_int_equal(h->net.stats.rx_paused, 2);
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 50);
}

/* MRG with guest TSO: 10 * 1536 < 12 + 65550, so a 4000-byte frame waits. */
static void rx_mrg_gso_too_few_buffers_pauses_then_resumes(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];
	uint16_t old;

	neth_post_n(h, 10, 1536, gpa_of);
	neth_peer_send(h, &rx_hdr, 4000, 4);
	neth_rx_event(h);
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
	assert_true(h->net.rx_wait_buffers);
	assert_int_equal(h->net.stats.rx_paused, 1);
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 4000);
	old = h->rxq.avail_idx;
	neth_post_n(h, 40, 1536, gpa_of);
	assert_true(neth_driver_must_kick(h, &h->rxq, old, h->rxq.avail_idx));
	neth_kick(h, NET_RX_QUEUE);
	assert_int_equal(vqh_used_idx(&h->rxq), 3);
	assert_int_equal(h->rxq.used->ring[0].id, 0);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 4000, 4, 3);
	assert_false(h->net.rx_wait_buffers);
	assert_int_equal(h->net.stats.rx_dropped, 0);
}

static void rx_mrg_frame_bigger_than_gathered_room_is_dropped(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];

	/* MTU room is 1530: one 1536-byte buffer is all the device gathers. */
	neth_post_n(h, 2, 1536, gpa_of);
	neth_peer_send(h, &rx_hdr, 3000, 1);
	neth_peer_send(h, &rx_hdr, 200, 2);
	neth_rx_event(h);
	assert_int_equal(h->net.stats.rx_dropped, 1);
	assert_int_equal(vqh_used_idx(&h->rxq), 1);
	assert_int_equal(h->rxq.used->ring[0].id, 0); /* nothing consumed by the drop */
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 200, 2, 1);
	assert_int_equal(h->net.stats.rx_packets, 1);
	assert_int_equal(h->net.stats.rx_bytes, 200);
}

static void rx_header_fields_from_the_tap_reach_the_guest(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];
	struct virtio_net_hdr_v1 sent = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = 66, .gso_size = 1448, .csum_start = 34, .csum_offset = 16,
		.num_buffers = 0xffff,
	};

	neth_post_n(h, 50, 1536, gpa_of);
	neth_peer_send(h, &sent, 20000, 3);
	neth_rx_event(h);
	neth_expect_rx(h, gpa_of, 1536, &sent, 20000, 3, (NET_HDR_SIZE + 20000 + 1535) / 1536);
}

/* ---- chains held across frames ---- */

/*
 * Without MRG_RXBUF the device holds one chain at a time. A frame bigger
 * than it is read, dropped, and the chain stays held (not returned, not
 * popped again, RX not paused): the next frame that fits lands in that same
 * chain, and a chain posted meanwhile waits in the ring for the frame after.
 */
static void rx_held_chain_is_reused_after_a_dropped_frame(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE], gpa;
	uint16_t a, b;

	assert_false(h->features & NETH_F(VIRTIO_NET_F_MRG_RXBUF));
	a = neth_rx_post(h, 600, &gpa);
	gpa_of[a] = gpa;
	neth_peer_send(h, &rx_hdr, 1000, 1);       /* 1012 bytes > 600 */
	neth_rx_event(h);
	assert_int_equal(h->net.stats.rx_dropped, 1);
	assert_int_equal(h->net.stats.rx_packets, 0);
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
	assert_int_equal(h->net.rx_nparts, 1);
	assert_int_equal(h->net.rx_parts[0].head, a);
	assert_int_equal(h->net.rx_room, 600);
	assert_false(h->net.rx_wait_buffers);
	assert_true(h->net.interest & EPOLLIN);
	assert_int_equal(neth_backend_peek(h), -1);  /* the dropped frame is consumed */

	/* A second chain, no kick needed (RX is not paused). */
	b = neth_rx_post(h, 600, &gpa);
	gpa_of[b] = gpa;
	neth_peer_send(h, &rx_hdr, 500, 2);
	neth_rx_event(h);
	assert_int_equal(vqh_used_idx(&h->rxq), 1);
	assert_int_equal(h->rxq.used->ring[0].id, a);
	neth_expect_rx(h, gpa_of, 600, &rx_hdr, 500, 2, 1);
	assert_int_equal(neth_hdr_at(h, gpa_of[a]).num_buffers, 1);
	assert_int_equal(h->net.rx_nparts, 1);
	assert_int_equal(h->net.rx_parts[0].head, b);
	assert_true(bytes_all(neth_host(h, gpa_of[b], 600), 600, 0xcc));

	neth_peer_send(h, &rx_hdr, 300, 3);
	neth_rx_event(h);
	assert_int_equal(vqh_used_idx(&h->rxq), 2);
	neth_expect_rx(h, gpa_of, 600, &rx_hdr, 300, 3, 1);
	assert_int_equal(h->rxq.used->ring[1].id, b);
	/* Nothing held, the ring empty: paused. */
	assert_int_equal(h->net.rx_nparts, 0);
	assert_true(h->net.rx_wait_buffers);
	assert_int_equal(h->net.stats.rx_paused, 1);
	assert_int_equal(h->net.stats.rx_packets, 2);
	assert_int_equal(h->net.stats.rx_bytes, 800);
	assert_int_equal(h->net.stats.rx_dropped, 1);
	assert_int_equal(h->net.stats.bad_chains, 0);
}

/*
 * MRG_RXBUF with guest TSO needs 12 + 65550 = 65562 bytes of room, i.e. 43
 * chains of 1536. With 10, then 42, RX pauses holding them and pushes
 * nothing; the 43rd and a kick deliver the waiting frame into the first
 * three (num_buffers 3). The other 40 stay held, untouched, and RX pauses
 * again (40 < half the ring); the next frame takes chains 3 and 4, in ring
 * order, once the driver tops the room up again.
 */
static void rx_mrg_gso_held_chains_wait_for_room_then_serve_frames_in_ring_order(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];

	assert_true(h->features & NETH_F(VIRTIO_NET_F_GUEST_TSO4));
	assert_int_equal(h->rxq.size, 256);
	neth_post_n(h, 10, 1536, gpa_of);
	neth_peer_send(h, &rx_hdr, 4000, 4);
	neth_rx_event(h);
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
	assert_true(h->net.rx_wait_buffers);
	assert_false(h->net.interest & EPOLLIN);
	assert_int_equal(h->net.stats.rx_paused, 1);
	assert_int_equal(h->net.rx_nparts, 10);
	assert_int_equal(h->net.rx_room, 10 * 1536);
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 4000);

	/* 42 * 1536 = 64512: one short. Still paused, still nothing pushed. */
	neth_post_n(h, 32, 1536, gpa_of);
	neth_kick(h, NET_RX_QUEUE);
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
	assert_true(h->net.rx_wait_buffers);
	assert_int_equal(h->net.stats.rx_paused, 2);
	assert_int_equal(h->net.rx_nparts, 42);
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 4000);

	/* 43 * 1536 = 66048 >= 65562: the frame goes into chains 0, 1, 2. */
	neth_post_n(h, 1, 1536, gpa_of);
	neth_kick(h, NET_RX_QUEUE);
	assert_int_equal(vqh_used_idx(&h->rxq), 3);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(h->rxq.used->ring[i].id, i);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 4000, 4, 3);
	assert_int_equal(neth_backend_peek(h), -1);
	assert_int_equal(h->net.rx_nparts, 40);
	assert_int_equal(h->net.rx_room, 40 * 1536);
	assert_int_equal(h->net.rx_parts[0].head, 3);
	assert_true(h->net.rx_wait_buffers);
	assert_int_equal(h->net.stats.rx_paused, 3);
	for (unsigned int i = 3; i < 43; i++)
		assert_true(bytes_all(neth_host(h, gpa_of[i], 1536), 1536, 0xcc));

	/* The next frame waits for room too, then takes chains 3 and 4. */
	neth_peer_send(h, &rx_hdr, 2000, 5);
	neth_rx_event(h);
	assert_int_equal(vqh_used_idx(&h->rxq), 3);
	neth_post_n(h, 3, 1536, gpa_of);
	neth_kick(h, NET_RX_QUEUE);
	assert_int_equal(vqh_used_idx(&h->rxq), 5);
	assert_int_equal(h->rxq.used->ring[3].id, 3);
	assert_int_equal(h->rxq.used->ring[4].id, 4);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 2000, 5, 2);
	assert_int_equal(h->net.rx_nparts, 41);
	assert_int_equal(h->net.rx_parts[0].head, 5);
	for (unsigned int i = 5; i < 46; i++)
		assert_true(bytes_all(neth_host(h, gpa_of[i], 1536), 1536, 0xcc));
	assert_int_equal(h->net.stats.rx_packets, 2);
	assert_int_equal(h->net.stats.rx_bytes, 6000);
	assert_int_equal(h->net.stats.rx_dropped, 0);
	assert_int_equal(h->net.stats.bad_chains, 0);
}

/*
 * MRG_RXBUF without GSO needs 1530 bytes of room. In a 16-entry ring,
 * 7 chains of 128 bytes (under half the ring) pause RX; with the 8th the
 * device holds half the ring and reads with the 1024 bytes it has: a
 * 1112-byte frame is dropped (the chains stay held), a 312-byte one is
 * delivered in the first three (num_buffers 3). With 5 left RX pauses again.
 */
static void rx_mrg_holding_half_the_ring_reads_with_the_room_it_has(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];

	assert_int_equal(h->rxq.size, 16);
	assert_false(h->features & NETH_F(VIRTIO_NET_F_GUEST_TSO4));
	neth_post_n(h, 7, 128, gpa_of);
	neth_peer_send(h, &rx_hdr, 1100, 1);
	neth_peer_send(h, &rx_hdr, 300, 2);
	neth_rx_event(h);
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
	assert_true(h->net.rx_wait_buffers);
	assert_int_equal(h->net.stats.rx_paused, 1);
	assert_int_equal(h->net.rx_nparts, 7);
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 1100);

	neth_post_n(h, 1, 128, gpa_of);
	neth_kick(h, NET_RX_QUEUE);
	assert_int_equal(h->net.stats.rx_dropped, 1);
	assert_int_equal(h->net.stats.rx_packets, 1);
	assert_int_equal(h->net.stats.rx_bytes, 300);
	assert_int_equal(vqh_used_idx(&h->rxq), 3);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(h->rxq.used->ring[i].id, i);
	neth_expect_rx(h, gpa_of, 128, &rx_hdr, 300, 2, 3);  /* 128 + 128 + 56 */
	assert_int_equal(neth_backend_peek(h), -1);
	assert_int_equal(h->net.rx_nparts, 5);
	assert_int_equal(h->net.rx_parts[0].head, 3);
	assert_int_equal(h->net.rx_room, 5 * 128);
	assert_true(h->net.rx_wait_buffers);
	assert_int_equal(h->net.stats.rx_paused, 2);
	assert_int_equal(h->net.stats.bad_chains, 0);

	/* Three more: 8 held again, a small frame goes into chain 3. */
	neth_peer_send(h, &rx_hdr, 60, 3);
	neth_post_n(h, 3, 128, gpa_of);
	neth_kick(h, NET_RX_QUEUE);
	assert_int_equal(vqh_used_idx(&h->rxq), 4);
	assert_int_equal(h->rxq.used->ring[3].id, 3);
	neth_expect_rx(h, gpa_of, 128, &rx_hdr, 60, 3, 1);
	assert_int_equal(h->net.rx_nparts, 7);
	assert_int_equal(h->net.stats.rx_packets, 2);
	assert_int_equal(h->net.stats.rx_dropped, 1);
}

/*
 * A reset while the device holds chains (RX paused short of room) forgets
 * them: nothing is pushed for them, before or after the driver sets the
 * device up again, and their buffers are never written. After the Linux init
 * sequence the waiting frame goes into fresh buffers.
 */
static void rx_reset_forgets_held_chains(void **state)
{
	struct neth *h = *state;
	uint64_t old_gpa[VIRTQ_MAX_SIZE], gpa_of[VIRTQ_MAX_SIZE];

	neth_post_n(h, 10, 1536, old_gpa);
	neth_peer_send(h, &rx_hdr, 4000, 1);
	neth_rx_event(h);
	assert_true(h->net.rx_wait_buffers);
	assert_int_equal(h->net.rx_nparts, 10);
	assert_int_equal(vqh_used_idx(&h->rxq), 0);

	neth_write32(h, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(neth_status(h), 0);
	assert_int_equal(h->net.rx_nparts, 0);
	assert_int_equal(h->net.rx_room, 0);
	assert_false(h->net.rx_wait_buffers);
	assert_int_equal(h->net.interest, 0);
	/* Kicks and backend events after the reset push nothing, read nothing. */
	neth_kick(h, NET_RX_QUEUE);
	neth_rx_event(h);
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 4000);

	/* Linux probes again (new rings) and posts fresh buffers. */
	neth_driver_init(h, &(struct neth_opts){ 0 });
	assert_true(h->features & NETH_F(VIRTIO_NET_F_GUEST_TSO4));
	assert_int_equal(h->net.interest, EPOLLIN);
	assert_int_equal(h->net.rx_nparts, 0);
	neth_post_n(h, 43, 1536, gpa_of);
	neth_rx_event(h);
	assert_int_equal(vqh_used_idx(&h->rxq), 3);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(h->rxq.used->ring[i].id, i);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 4000, 1, 3);
	assert_int_equal(h->net.rx_nparts, 40);
	assert_int_equal(h->net.rx_parts[0].head, 3);
	for (unsigned int i = 0; i < 10; i++)
		assert_true(bytes_all(neth_host(h, old_gpa[i], 1536), 1536, 0xcc));
	assert_int_equal(h->net.stats.rx_packets, 1);
	assert_int_equal(h->net.stats.rx_dropped, 0);
	assert_int_equal(h->net.stats.bad_chains, 0);
	assert_false(neth_needs_reset(h));
}

/* ---- RX against a misbehaving ring or backend ---- */

/* A message shorter than the header from the backend delivers nothing bogus. */
static void rx_runt_message_from_the_backend_is_harmless(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[4];
	uint8_t runt[5] = { 1, 2, 3, 4, 5 }, want[100];
	struct vring_used_elem e;
	uint16_t head;

	head = neth_rx_post(h, 1536, &gpa_of[0]);
	neth_rx_post(h, 1536, &gpa_of[1]);
	neth_peer_send_raw(h, runt, sizeof(runt));
	neth_peer_send_raw(h, runt, 0);
	neth_peer_send(h, &rx_hdr, 100, 3);
	neth_rx_event(h);
	assert_false(neth_needs_reset(h));
	e = neth_rx_used(h);
	assert_int_equal(e.id, head);
	assert_int_equal(e.len, NET_HDR_SIZE + 100);
	neth_frame(want, sizeof(want), 3);
	assert_memory_equal(neth_host(h, gpa_of[0] + NET_HDR_SIZE, 100), want, 100);
	assert_int_equal(h->net.stats.rx_packets, 1);
}

/*
 * MRG_RXBUF: a bad chain (here: device-readable) between good ones is
 * returned with len 0 as soon as it is popped, in its ring position, i.e.
 * before the frame's chains; gathering goes on past it, so a 1512-byte frame
 * still lands in the two good 1000-byte chains around it (num_buffers 2),
 * nothing is dropped and the bad chain's buffer is not written.
 */
static void rx_mrg_bad_chain_between_good_ones_does_not_cost_the_frame(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE], r = neth_alloc(h, 1000, 0xcc);
	uint16_t g1, bad, g2;
	struct vring_used_elem e[3];
	unsigned int bad_at = 3;
	uint8_t got[NET_HDR_SIZE + 1500], want[NET_HDR_SIZE + 1500];
	struct virtio_net_hdr_v1 wh = rx_hdr;

	g1 = neth_rx_post(h, 1000, &gpa_of[0]);
	bad = neth_rx_post_chain(h, (struct vqh_buf[]){ { r, 1000, false } }, 1);
	g2 = neth_rx_post(h, 1000, &gpa_of[1]);
	neth_peer_send(h, &rx_hdr, 1500, 4);   /* 1512 bytes: needs both good chains */
	neth_rx_event(h);
	assert_int_equal(h->net.stats.bad_chains, 1);
	assert_int_equal(h->net.stats.rx_dropped, 0);
	assert_int_equal(h->net.stats.rx_packets, 1);
	assert_int_equal(vqh_used_idx(&h->rxq), 3);
	for (unsigned int i = 0; i < 3; i++) {
		e[i] = neth_rx_used(h);
		if (e[i].id == bad) {
			assert_int_equal(e[i].len, 0);
			bad_at = i;
		}
	}
	/* Returned when popped: first; the frame's buffers follow, consecutive. */
	assert_int_equal(bad_at, 0);
	{
		struct vring_used_elem *f = &e[1];

		assert_int_equal(f[0].id, g1);
		assert_int_equal(f[0].len, 1000);
		assert_int_equal(f[1].id, g2);
		assert_int_equal(f[1].len, 512);
	}
	memcpy(got, neth_host(h, gpa_of[0], 1000), 1000);
	memcpy(got + 1000, neth_host(h, gpa_of[1], 512), 512);
	wh.num_buffers = 2;
	memcpy(want, &wh, NET_HDR_SIZE);
	neth_frame(want + NET_HDR_SIZE, 1500, 4);
	assert_memory_equal(got, want, sizeof(got));
	assert_true(bytes_all(neth_host(h, r, 1000), 1000, 0xcc));
}

/*
 * MRG_RXBUF with guest TSO: 256 chains of 128 bytes (32 KiB) are less room
 * than a 64 KiB frame needs, but gathering stops once NET_RX_MAX_IOV iovecs
 * are held (a full 256-entry ring, which the guest cannot grow): RX does not
 * pause, the 1000-byte frame is read into the first 8 chains in ring order
 * (num_buffers 8) and the other 248 stay held.
 */
static void rx_mrg_gathering_stops_at_net_rx_max_iov_buffers(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];
	uint8_t got[NET_HDR_SIZE + 1000], want[NET_HDR_SIZE + 1000];
	struct virtio_net_hdr_v1 wh = rx_hdr;
	size_t off = 0;

	assert_int_equal(h->rxq.size, NET_RX_MAX_IOV);
	assert_true(h->features & NETH_F(VIRTIO_NET_F_GUEST_TSO4));
	for (unsigned int i = 0; i < NET_RX_MAX_IOV; i++) {
		uint64_t gpa;
		uint16_t head = neth_rx_post(h, 128, &gpa);

		gpa_of[head] = gpa;
	}
	neth_peer_send(h, &rx_hdr, 1000, 5);
	neth_rx_event(h);
	assert_false(h->net.rx_wait_buffers);
	assert_int_equal(vqh_used_idx(&h->rxq), 8);   /* 1012 bytes in 128-byte buffers */
	for (unsigned int i = 0; i < 8; i++) {
		struct vring_used_elem e = neth_rx_used(h);

		assert_int_equal(e.id, i);
		assert_int_equal(e.len, i < 7 ? 128 : 1012 - 7 * 128);
		memcpy(got + off, neth_host(h, gpa_of[e.id], e.len), e.len);
		off += e.len;
	}
	wh.num_buffers = 8;
	memcpy(want, &wh, NET_HDR_SIZE);
	neth_frame(want + NET_HDR_SIZE, 1000, 5);
	assert_memory_equal(got, want, sizeof(got));
	assert_int_equal(h->net.rx_nparts, NET_RX_MAX_IOV - 8);
	assert_int_equal(h->net.stats.rx_packets, 1);
	assert_int_equal(h->net.stats.rx_dropped, 0);
	assert_int_equal(h->net.stats.rx_paused, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, neth_fixture_teardown)
#define T_WITH(fn, s) cmocka_unit_test_setup_teardown(fn, s, neth_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T_WITH(rx_frame_delivered_without_mrg_rxbuf, setup_no_mrg),
		T(rx_frame_delivered_with_mrg_rxbuf_in_one_buffer),
		T_WITH(rx_frame_too_big_for_the_chain_is_dropped_and_chain_reused, setup_no_mrg),
		T(rx_without_buffers_pauses_then_resumes_on_kick),
		T(rx_spurious_epollin_while_paused_reads_nothing),
		T(rx_pause_with_event_idx_asks_the_driver_to_kick),
		T_WITH(rx_pause_without_event_idx_keeps_notifications_on, setup_no_event_idx),
		T(rx_reads_at_most_net_batch_frames_per_event),
		T_WITH(rx_mrg_frame_spans_three_buffers, setup_offloads),
		T(rx_mrg_without_gso_gathers_room_for_one_mtu_frame),
		T(rx_mrg_too_little_room_pauses_without_consuming),
		T_WITH(rx_mrg_gso_too_few_buffers_pauses_then_resumes, setup_offloads),
		T(rx_mrg_frame_bigger_than_gathered_room_is_dropped),
		T_WITH(rx_header_fields_from_the_tap_reach_the_guest, setup_offloads),
		T(rx_runt_message_from_the_backend_is_harmless),
		T(rx_mrg_bad_chain_between_good_ones_does_not_cost_the_frame),
		T_WITH(rx_mrg_gathering_stops_at_net_rx_max_iov_buffers, setup_offloads),
		T_WITH(rx_held_chain_is_reused_after_a_dropped_frame, setup_no_mrg),
		T_WITH(rx_mrg_gso_held_chains_wait_for_room_then_serve_frames_in_ring_order,
		       setup_offloads),
		T_WITH(rx_mrg_holding_half_the_ring_reads_with_the_room_it_has, setup_ring16),
		T_WITH(rx_reset_forgets_held_chains, setup_offloads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
