/*
 * test_net.c — virtio-net (virtio/net.c) end to end over fake guest memory:
 * the virtio-mmio transport initialised the way Linux does, a socketpair as
 * the tap (net_helper.h). Features and config space, tap offloads for every
 * guest offload combination, the TX header check for every host one, TX
 * framing (split, indirect, short, oversized), a full or failing backend,
 * device state (before DRIVER_OK, reset), interrupts, close. The receive
 * path: test_net_rx.c; malformed rings and chains: test_net_hostile.c.
 *
 * Every test checks the used ring (ids and lengths), what reached the host
 * side, the counters, and (in teardown) the guard bytes around every guest
 * buffer.
 */
#include "tests/unit/net_helper.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#define BASE_FEATURES                                                                  \
	(NETH_F(VIRTIO_F_VERSION_1) | NETH_F(VIRTIO_RING_F_EVENT_IDX) |                    \
	 NETH_F(VIRTIO_RING_F_INDIRECT_DESC) | NETH_F(VIRTIO_NET_F_MAC) |                  \
	 NETH_F(VIRTIO_NET_F_STATUS) | NETH_F(VIRTIO_NET_F_MRG_RXBUF))
#define OFFLOAD_FEATURES                                                               \
	(NETH_F(VIRTIO_NET_F_CSUM) | NETH_F(VIRTIO_NET_F_GUEST_CSUM) |                     \
	 NETH_F(VIRTIO_NET_F_GUEST_TSO4) | NETH_F(VIRTIO_NET_F_GUEST_TSO6) |               \
	 NETH_F(VIRTIO_NET_F_GUEST_ECN) | NETH_F(VIRTIO_NET_F_HOST_TSO4) |                 \
	 NETH_F(VIRTIO_NET_F_HOST_TSO6) | NETH_F(VIRTIO_NET_F_HOST_ECN))
#define GSO_UDP_L4 5 /* VIRTIO_NET_HDR_GSO_UDP_L4 (newer uapi headers) */

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

static int setup_no_event_idx(void **state)
{
	return neth_fixture(state, &(struct neth_opts){
		.drop_features = NETH_F(VIRTIO_RING_F_EVENT_IDX) });
}

static int setup_no_driver_ok(void **state)
{
	return neth_fixture(state, &(struct neth_opts){ .no_driver_ok = true });
}

/* ---- features and config space ---- */

static void features_offered_without_offloads(void **state)
{
	struct neth *h = *state;

	assert_int_equal(h->offered, BASE_FEATURES);
	assert_int_equal(h->features, BASE_FEATURES);
	assert_int_equal(h->net.features, BASE_FEATURES);
	assert_int_equal(h->net.tap_offloads, 0);
	/* Feature words past the second are empty. */
	neth_write32(h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(neth_read32(h, VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

static void features_offered_with_offloads(void **state)
{
	struct neth *h = *state;

	/* Exactly these: no CTRL_VQ, MQ, MTU, GSO, UFO, GUEST_ANNOUNCE... */
	assert_int_equal(h->offered, BASE_FEATURES | OFFLOAD_FEATURES);
	assert_false(h->offered & NETH_F(VIRTIO_NET_F_CTRL_VQ));
	assert_false(h->offered & NETH_F(VIRTIO_NET_F_MQ));
	assert_false(h->offered & NETH_F(VIRTIO_NET_F_MTU));
	assert_false(h->offered & NETH_F(VIRTIO_NET_F_GUEST_UFO));
	assert_false(h->offered & NETH_F(VIRTIO_NET_F_HOST_UFO));
}

static void features_beyond_offered_are_refused(void **state)
{
	struct neth *h = *state;

	/* A driver accepting CSUM from a device without offloads: FEATURES_OK stays clear. */
	neth_write32(h, VIRTIO_MMIO_STATUS, 0);
	neth_write32(h, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	neth_write32(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	neth_write32(h, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(BASE_FEATURES >> 32));
	neth_write32(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	neth_write32(h, VIRTIO_MMIO_DRIVER_FEATURES,
		     (uint32_t)(BASE_FEATURES | NETH_F(VIRTIO_NET_F_CSUM)));
	neth_write32(h, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
						    VIRTIO_CONFIG_S_FEATURES_OK);
	assert_false(neth_status(h) & VIRTIO_CONFIG_S_FEATURES_OK);
}

static void config_space_mac_status_and_queue_pairs(void **state)
{
	struct neth *h = *state;
	static const uint8_t mac[6] = NETH_MAC;
	uint8_t c[10];
	uint64_t wide = 0;
	uint32_t junk;
	uint16_t mtu = 0xffff;

	assert_int_equal(h->mmio.ops->config_size, 10);
	for (uint32_t i = 0; i < sizeof(c); i++)
		neth_io(h, VIRTIO_MMIO_CONFIG + i, &c[i], 1, false);
	assert_memory_equal(c, mac, 6);
	assert_int_equal(c[6] | c[7] << 8, VIRTIO_NET_S_LINK_UP);
	assert_int_equal(c[8] | c[9] << 8, 1);
	/* Wider reads see the same bytes. */
	neth_io(h, VIRTIO_MMIO_CONFIG, &wide, 8, false);
	assert_memory_equal(&wide, c, 8);
	/* Beyond the 10 bytes (the mtu field, crossing the end): zero. */
	neth_io(h, VIRTIO_MMIO_CONFIG + 10, &mtu, 2, false);
	assert_int_equal(mtu, 0);
	junk = 0xffffffff;
	neth_io(h, VIRTIO_MMIO_CONFIG + 8, &junk, 4, false);
	assert_int_equal(junk, 0);
	/* Writes change nothing. */
	wide = 0x1122334455667788ULL;
	neth_io(h, VIRTIO_MMIO_CONFIG, &wide, 8, true);
	for (uint32_t i = 0; i < 6; i++)
		neth_io(h, VIRTIO_MMIO_CONFIG + i, &c[i], 1, false);
	assert_memory_equal(c, mac, 6);
}

static unsigned int expected_tap_offloads(uint64_t f)
{
	unsigned int t = 0;

	if (!(f & NETH_F(VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	t = TUN_F_CSUM;
	if (f & NETH_F(VIRTIO_NET_F_GUEST_TSO4))
		t |= TUN_F_TSO4;
	if (f & NETH_F(VIRTIO_NET_F_GUEST_TSO6))
		t |= TUN_F_TSO6;
	if (f & NETH_F(VIRTIO_NET_F_GUEST_ECN))
		t |= TUN_F_TSO_ECN;
	return t;
}

static void tap_offloads_for_every_guest_feature_combination(void **state)
{
	struct neth *h = *state;
	static const unsigned int guest[] = { VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4,
					      VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_ECN };

	for (unsigned int m = 0; m < 16; m++) {
		uint64_t f = BASE_FEATURES;

		for (unsigned int b = 0; b < 4; b++)
			if (m & (1u << b))
				f |= NETH_F(guest[b]);
		assert_int_equal(virtio_net_tap_offloads(f), expected_tap_offloads(f));
		/* Host-side offloads do not change what the tap is told. */
		assert_int_equal(virtio_net_tap_offloads(f | NETH_F(VIRTIO_NET_F_CSUM) |
							 NETH_F(VIRTIO_NET_F_HOST_TSO4) |
							 NETH_F(VIRTIO_NET_F_HOST_TSO6) |
							 NETH_F(VIRTIO_NET_F_HOST_ECN)),
				 expected_tap_offloads(f));
		/* Negotiated through the registers: applied at DRIVER_OK. */
		neth_driver_init(h, &(struct neth_opts){ .features = f });
		assert_false(neth_needs_reset(h));
		assert_int_equal(h->net.features, f);
		assert_int_equal(h->net.tap_offloads, expected_tap_offloads(f));
	}
	assert_int_equal(virtio_net_tap_offloads(0), 0);
}

/* ---- TX ---- */

/* What the device must accept, given the host features @f (spec of net.c). */
static bool tx_hdr_acceptable(uint64_t f, uint8_t flags, uint8_t gso)
{
	bool ecn = gso & VIRTIO_NET_HDR_GSO_ECN;

	if (flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return false;
	if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !(f & NETH_F(VIRTIO_NET_F_CSUM)))
		return false;
	if (ecn && !(f & NETH_F(VIRTIO_NET_F_HOST_ECN)))
		return false;
	switch (gso & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return !ecn; /* ECN only qualifies a TSO frame (Linux rejects NONE|ECN too) */
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return f & NETH_F(VIRTIO_NET_F_HOST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return f & NETH_F(VIRTIO_NET_F_HOST_TSO6);
	default:
		return false;
	}
}

static void tx_header_acceptance_for_every_host_feature_combination(void **state)
{
	struct neth *h = *state;
	static const unsigned int host[] = { VIRTIO_NET_F_CSUM, VIRTIO_NET_F_HOST_TSO4,
					     VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_HOST_ECN };
	static const uint8_t flags[] = {
		0, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_F_DATA_VALID,
		VIRTIO_NET_HDR_F_RSC_INFO, VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID,
		0x80,
	};
	static const uint8_t gsos[] = {
		VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6,
		VIRTIO_NET_HDR_GSO_UDP, GSO_UDP_L4, 2, 0x7f,
		VIRTIO_NET_HDR_GSO_NONE | VIRTIO_NET_HDR_GSO_ECN,
		VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
		VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN,
		VIRTIO_NET_HDR_GSO_UDP | VIRTIO_NET_HDR_GSO_ECN, 0xff,
	};
	unsigned int accepted = 0, dropped = 0;

	for (unsigned int m = 0; m < 16; m++) {
		uint64_t f = BASE_FEATURES;

		for (unsigned int b = 0; b < 4; b++)
			if (m & (1u << b))
				f |= NETH_F(host[b]);
		neth_driver_init(h, &(struct neth_opts){ .features = f });
		h->nr_allocs = 0; /* reuse the data area: one frame at a time */
		h->next_gpa = NETH_DATA_GPA;
		for (unsigned int i = 0; i < sizeof(flags); i++) {
			for (unsigned int g = 0; g < sizeof(gsos); g++) {
				struct virtio_net_hdr_v1 hdr = {
					.flags = flags[i], .gso_type = gsos[g], .hdr_len = 54,
					.gso_size = 1448, .csum_start = 34, .csum_offset = 16,
					.num_buffers = 0x1234,
				};
				struct net_stats before = h->net.stats;
				uint8_t seed = (uint8_t)(m * 31 + i * 7 + g);
				bool ok = tx_hdr_acceptable(f, flags[i], gsos[g]);

				assert_int_equal(neth_tx(h, &hdr, 200, seed).len, 0);
				if (ok) {
					neth_expect_tx(h, &hdr, 200, seed);
					assert_int_equal(h->net.stats.tx_packets, before.tx_packets + 1);
					assert_int_equal(h->net.stats.tx_dropped, before.tx_dropped);
					accepted++;
				} else {
					neth_expect_no_tx(h);
					assert_int_equal(h->net.stats.tx_packets, before.tx_packets);
					assert_int_equal(h->net.stats.tx_dropped, before.tx_dropped + 1);
					dropped++;
				}
				assert_int_equal(h->net.stats.bad_chains, 0);
			}
		}
		assert_false(neth_needs_reset(h));
	}
	/* Sanity of the matrix itself: both outcomes were exercised a lot. */
	assert_true(accepted > 50 && dropped > 500);
}

static void tx_frame_reaches_backend_with_a_copy_of_the_header(void **state)
{
	struct neth *h = *state;
	struct virtio_net_hdr_v1 hdr = { .hdr_len = 14, .num_buffers = 0xbeef };
	uint64_t gpa = neth_alloc(h, NET_HDR_SIZE + 1514, 0);
	struct vring_used_elem e;

	memcpy(neth_host(h, gpa, NET_HDR_SIZE), &hdr, NET_HDR_SIZE);
	neth_frame(neth_host(h, gpa + NET_HDR_SIZE, 1514), 1514, 3);
	eventfd_take(h->irq_fd);
	e = neth_tx_chain(h, (struct vqh_buf[]){ { gpa, NET_HDR_SIZE + 1514, false } }, 1);
	assert_int_equal(e.len, 0);
	neth_expect_tx(h, &hdr, 1514, 3);           /* num_buffers 0 on the wire */
	neth_expect_no_tx(h);
	/* The guest's own header is left alone (the device zeroed a copy). */
	assert_int_equal(neth_hdr_at(h, gpa).num_buffers, 0xbeef);
	assert_int_equal(h->net.stats.tx_packets, 1);
	assert_int_equal(h->net.stats.tx_bytes, 1514);
	assert_int_equal(h->net.stats.tx_dropped, 0);
	assert_true(eventfd_take(h->irq_fd) >= 1);
	assert_true(neth_read32(h, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
}

/* The header and the frame cut anywhere: the backend sees one message. */
static void tx_header_and_frame_split_across_descriptors(void **state)
{
	struct neth *h = *state;
	static const uint32_t cuts[][5] = {
		{ 12, 1000, 0 },               /* header, frame */
		{ 5, 7, 1000, 0 },             /* header itself split */
		{ 1, 11, 14, 986, 0 },         /* header 1+11, Ethernet header alone */
		{ 20, 992, 0 },                /* header and frame start share a buffer */
		{ 3, 500, 509, 0 },
	};
	uint8_t msg[NET_HDR_SIZE + 1000];
	struct virtio_net_hdr_v1 hdr = { .num_buffers = 9 };

	memcpy(msg, &hdr, NET_HDR_SIZE);
	for (unsigned int c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		struct vqh_buf bufs[8];
		unsigned int n = 0;
		size_t off = 0;

		neth_frame(msg + NET_HDR_SIZE, 1000, (uint8_t)c);
		for (unsigned int i = 0; cuts[c][i]; i++) {
			uint64_t gpa = neth_alloc(h, cuts[c][i], 0);

			memcpy(neth_host(h, gpa, cuts[c][i]), msg + off, cuts[c][i]);
			off += cuts[c][i];
			bufs[n++] = (struct vqh_buf){ gpa, cuts[c][i], false };
			/* Empty descriptors in between are harmless. */
			bufs[n++] = (struct vqh_buf){ gpa, 0, false };
		}
		assert_int_equal(off, sizeof(msg));
		assert_int_equal(neth_tx_chain(h, bufs, n).len, 0);
		neth_expect_tx(h, &hdr, 1000, (uint8_t)c);
	}
	assert_int_equal(h->net.stats.tx_packets, 5);
	assert_int_equal(h->net.stats.tx_bytes, 5000);
}

static void tx_indirect_chain(void **state)
{
	struct neth *h = *state;
	struct virtio_net_hdr_v1 hdr = { 0 };
	uint64_t table = neth_alloc(h, 3 * 16, 0);
	uint64_t a = neth_alloc(h, NET_HDR_SIZE, 0), b = neth_alloc(h, 50, 0);
	uint64_t c = neth_alloc(h, 950, 0);
	uint8_t frame[1000];
	uint16_t head;

	memcpy(neth_host(h, a, NET_HDR_SIZE), &hdr, NET_HDR_SIZE);
	neth_frame(frame, sizeof(frame), 0x44);
	memcpy(neth_host(h, b, 50), frame, 50);
	memcpy(neth_host(h, c, 950), frame + 50, 950);
	head = vqh_add_indirect(&h->txq, table, (struct vqh_buf[]){
		{ a, NET_HDR_SIZE, false }, { b, 50, false }, { c, 950, false } }, 3);
	assert_int_equal(neth_tx_run(h, head).len, 0);
	neth_expect_tx(h, &hdr, 1000, 0x44);
	assert_int_equal(h->net.stats.bad_chains, 0);
}

static void tx_frames_shorter_than_header_plus_ethernet_are_dropped(void **state)
{
	struct neth *h = *state;
	static const uint32_t lens[] = { 0, 1, 11, 12, 13, 25 };
	uint64_t gpa = neth_alloc(h, 64, 0);

	for (unsigned int i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_int_equal(neth_tx_chain(h, (struct vqh_buf[]){ { gpa, lens[i], false } }, 1).len,
				 0);
		neth_expect_no_tx(h);
		assert_int_equal(h->net.stats.tx_dropped, i + 1);
	}
	/* Split short frames too: 12 + 13 bytes. */
	assert_int_equal(neth_tx_chain(h, (struct vqh_buf[]){ { gpa, 12, false },
							       { gpa + 12, 13, false } }, 2).len, 0);
	neth_expect_no_tx(h);
	assert_int_equal(h->net.stats.tx_dropped, 7);
	assert_int_equal(h->net.stats.tx_packets, 0);
	/* 12 + 14 is the shortest frame that goes out. */
	assert_int_equal(neth_tx(h, &(struct virtio_net_hdr_v1){ 0 }, NET_ETH_HLEN, 1).len, 0);
	neth_expect_tx(h, &(struct virtio_net_hdr_v1){ 0 }, NET_ETH_HLEN, 1);
	assert_int_equal(h->net.stats.tx_packets, 1);
	assert_int_equal(h->net.stats.tx_bytes, NET_ETH_HLEN);
	assert_int_equal(h->net.stats.bad_chains, 0);
	assert_false(neth_needs_reset(h));
}

static void tx_frames_longer_than_max_are_dropped(void **state)
{
	struct neth *h = *state;
	struct virtio_net_hdr_v1 hdr = { 0 };
	uint64_t a = neth_alloc(h, 40000, 0), b = neth_alloc(h, 40000, 0);

	/* One byte over NET_MAX_FRAME, in one buffer and split in two. */
	memset(neth_host(h, a, NET_HDR_SIZE), 0, NET_HDR_SIZE);
	assert_int_equal(neth_tx(h, &hdr, NET_MAX_FRAME + 1, 1).len, 0);
	neth_expect_no_tx(h);
	assert_int_equal(neth_tx_chain(h, (struct vqh_buf[]){ { a, 40000, false },
							       { b, 40000, false } }, 2).len, 0);
	neth_expect_no_tx(h);
	assert_int_equal(h->net.stats.tx_dropped, 2);
	/* Exactly NET_MAX_FRAME goes out whole. */
	assert_int_equal(neth_tx(h, &hdr, NET_MAX_FRAME, 2).len, 0);
	neth_expect_tx(h, &hdr, NET_MAX_FRAME, 2);
	assert_int_equal(h->net.stats.tx_packets, 1);
	assert_int_equal(h->net.stats.tx_bytes, NET_MAX_FRAME);
	assert_int_equal(h->net.stats.bad_chains, 0);
}

static void tx_backend_full_keeps_the_chain_until_epollout(void **state)
{
	struct neth *h = *state;
	struct virtio_net_hdr_v1 hdr = { 0 };
	unsigned int filled;
	uint16_t heads[3];
	struct vring_used_elem e;

	assert_false(h->net.interest & EPOLLOUT);
	filled = neth_fill_backend(h);
	assert_true(filled > 0);
	for (unsigned int i = 0; i < 3; i++) {
		uint64_t gpa = neth_alloc(h, NET_HDR_SIZE + 300, 0);

		memcpy(neth_host(h, gpa, NET_HDR_SIZE), &hdr, NET_HDR_SIZE);
		neth_frame(neth_host(h, gpa + NET_HDR_SIZE, 300), 300, (uint8_t)(0x10 + i));
		heads[i] = vqh_add_chain(&h->txq, (struct vqh_buf[]){
			{ gpa, NET_HDR_SIZE + 300, false } }, 1);
		vqh_publish(&h->txq, heads[i]);
	}
	neth_kick(h, NET_TX_QUEUE);
	assert_int_equal(vqh_used_idx(&h->txq), 0);
	assert_true(h->net.tx_wait_tap);
	assert_true(h->net.interest & EPOLLOUT);
	assert_int_equal(h->net.stats.tx_packets, 0);
	assert_int_equal(h->net.stats.tx_dropped, 0);
	/* Another kick, or EPOLLOUT while still full: still nothing lost. */
	neth_kick(h, NET_TX_QUEUE);
	neth_tx_event(h);
	assert_int_equal(vqh_used_idx(&h->txq), 0);
	assert_true(h->net.interest & EPOLLOUT);
	assert_int_equal(h->net.stats.tx_dropped, 0);
	/* The host drains the tap: EPOLLOUT sends all three, in order. */
	assert_int_equal(neth_peer_drain(h), filled);
	neth_tx_event(h);
	assert_int_equal(vqh_used_idx(&h->txq), 3);
	for (unsigned int i = 0; i < 3; i++) {
		assert_true(vqh_used_pop(&h->txq, &e));
		assert_int_equal(e.id, heads[i]);
		assert_int_equal(e.len, 0);
		neth_expect_tx(h, &hdr, 300, (uint8_t)(0x10 + i));
	}
	neth_expect_no_tx(h);
	assert_false(h->net.tx_wait_tap);
	assert_false(h->net.interest & EPOLLOUT);
	assert_true(h->net.interest & EPOLLIN);
	assert_int_equal(h->net.stats.tx_packets, 3);
}

static void tx_backend_write_error_drops_the_frame(void **state)
{
	struct neth *h = *state;
	struct virtio_net_hdr_v1 hdr = { 0 };
	int sndbuf = 4096;

	/* A frame larger than the socket's send buffer: EMSGSIZE, not EAGAIN. */
	assert_int_equal(setsockopt(h->dev_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	assert_int_equal(neth_tx(h, &hdr, 30000, 1).len, 0);
	neth_expect_no_tx(h);
	assert_int_equal(h->net.stats.tx_dropped, 1);
	assert_int_equal(h->net.stats.tx_packets, 0);
	assert_false(h->net.tx_wait_tap);
	assert_false(h->net.interest & EPOLLOUT);
	/* The next frame goes out. */
	assert_int_equal(neth_tx(h, &hdr, 100, 2).len, 0);
	neth_expect_tx(h, &hdr, 100, 2);
	assert_int_equal(h->net.stats.tx_packets, 1);
}

/* ---- device state ---- */

static void before_driver_ok_the_backend_is_not_read(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];

	assert_false(h->net.interest & EPOLLIN);
	neth_post_n(h, 2, 1536, gpa_of);
	neth_peer_send(h, &rx_hdr, 100, 1);
	neth_rx_event(h);
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 100);
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
	assert_int_equal(h->net.stats.rx_packets + h->net.stats.rx_dropped, 0);
	neth_write32(h, VIRTIO_MMIO_STATUS, neth_status(h) | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_true(h->net.interest & EPOLLIN);
	neth_rx_event(h);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 100, 1, 1);
}

static void reset_stops_rx_and_tx_and_reinit_works(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];
	struct virtio_net_hdr_v1 hdr = { 0 };
	uint64_t gpa = neth_alloc(h, NET_HDR_SIZE + 100, 0);
	unsigned int filled;

	/* TX waiting on a full backend, RX paused, when the driver resets. */
	neth_peer_send(h, &rx_hdr, 100, 1);
	neth_rx_event(h);
	assert_true(h->net.rx_wait_buffers);
	filled = neth_fill_backend(h);
	memcpy(neth_host(h, gpa, NET_HDR_SIZE), &hdr, NET_HDR_SIZE);
	vqh_publish(&h->txq, vqh_add_chain(&h->txq, (struct vqh_buf[]){
		{ gpa, NET_HDR_SIZE + 100, false } }, 1));
	neth_kick(h, NET_TX_QUEUE);
	assert_true(h->net.tx_wait_tap);

	neth_write32(h, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(h->net.interest, 0);
	assert_false(h->net.tx_wait_tap);
	/* Backend events after the reset touch nothing. */
	assert_int_equal(neth_peer_drain(h), filled);
	neth_tx_event(h);
	neth_rx_event(h);
	neth_expect_no_tx(h);
	assert_int_equal(vqh_used_idx(&h->txq), 0);
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 100);
	assert_int_equal(h->net.stats.tx_packets, 0);

	/* Linux probes again: everything works from scratch. */
	neth_driver_init(h, &(struct neth_opts){ 0 });
	assert_int_equal(h->net.interest, EPOLLIN);
	neth_post_n(h, 1, 1536, gpa_of);
	neth_rx_event(h);
	neth_expect_rx(h, gpa_of, 1536, &rx_hdr, 100, 1, 1);
	assert_int_equal(neth_tx(h, &hdr, 100, 2).len, 0);
	neth_expect_tx(h, &hdr, 100, 2);
}

static void interrupts_follow_the_drivers_suppression(void **state)
{
	struct neth *h = *state;
	struct virtio_net_hdr_v1 hdr = { 0 };

	/* Without EVENT_IDX: VRING_AVAIL_F_NO_INTERRUPT silences the TX queue. */
	eventfd_take(h->irq_fd);
	vqh_set_avail_flags(&h->txq, VRING_AVAIL_F_NO_INTERRUPT);
	neth_tx(h, &hdr, 60, 1);
	neth_expect_tx(h, &hdr, 60, 1);
	assert_int_equal(eventfd_take(h->irq_fd), 0);
	vqh_set_avail_flags(&h->txq, 0);
	neth_tx(h, &hdr, 60, 2);
	neth_expect_tx(h, &hdr, 60, 2);
	assert_int_equal(eventfd_take(h->irq_fd), 1);
	/* RX: one batch of frames, at least one interrupt; none with the flag set. */
	{
		uint64_t gpa_of[VIRTQ_MAX_SIZE];

		neth_post_n(h, 8, 1536, gpa_of);
		for (int i = 0; i < 4; i++)
			neth_peer_send(h, &rx_hdr, 60, (uint8_t)i);
		neth_rx_event(h);
		assert_int_equal(vqh_used_idx(&h->rxq), 4);
		assert_true(eventfd_take(h->irq_fd) >= 1);
		vqh_set_avail_flags(&h->rxq, VRING_AVAIL_F_NO_INTERRUPT);
		neth_peer_send(h, &rx_hdr, 60, 9);
		neth_rx_event(h);
		assert_int_equal(vqh_used_idx(&h->rxq), 5);
		assert_int_equal(eventfd_take(h->irq_fd), 0);
	}
}

static void interrupts_follow_used_event(void **state)
{
	struct neth *h = *state;
	struct virtio_net_hdr_v1 hdr = { 0 };
	unsigned int irqs[8];

	assert_true(h->features & NETH_F(VIRTIO_RING_F_EVENT_IDX));
	eventfd_take(h->irq_fd);
	/* The driver wants an interrupt once used.idx passes 5. */
	vqh_set_used_event(&h->txq, 5);
	for (unsigned int i = 0; i < 8; i++) {
		neth_tx(h, &hdr, 60, (uint8_t)i);
		irqs[i] = (unsigned int)eventfd_take(h->irq_fd);
	}
	assert_int_equal(neth_peer_drain(h), 8);
	/* The first one (nothing signalled yet), then the one that moves used.idx to 6. */
	for (unsigned int i = 1; i < 8; i++)
		assert_int_equal(irqs[i], i == 5 ? 1 : 0);
}

/* EPOLLERR/EPOLLHUP: the tap was deleted; the device stops reading it (no epoll storm). */
static void backend_error_stops_backend_io(void **state)
{
	struct neth *h = *state;
	uint64_t gpa_of[VIRTQ_MAX_SIZE];

	neth_post_n(h, 2, 1536, gpa_of);
	neth_peer_send(h, &rx_hdr, 100, 1);
	virtio_net_backend_event(&h->net, EPOLLERR | EPOLLIN);
	assert_true(h->net.backend_gone);
	neth_rx_event(h);
	assert_int_equal(vqh_used_idx(&h->rxq), 0);
	assert_int_equal(neth_backend_peek(h), NET_HDR_SIZE + 100);
	assert_false(neth_needs_reset(h));
}

static void close_closes_the_backend(void **state)
{
	struct neth *h = *state;
	uint8_t b[16];

	virtio_net_close(&h->net);
	assert_int_equal(recv(h->peer, b, sizeof(b), MSG_DONTWAIT), 0); /* EOF */
	virtio_net_close(&h->net);                                      /* idempotent */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, neth_fixture_teardown)
#define T_WITH(fn, s) cmocka_unit_test_setup_teardown(fn, s, neth_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(features_offered_without_offloads),
		T_WITH(features_offered_with_offloads, setup_offloads),
		T(features_beyond_offered_are_refused),
		T(config_space_mac_status_and_queue_pairs),
		T_WITH(tap_offloads_for_every_guest_feature_combination, setup_offloads),
		T_WITH(tx_header_acceptance_for_every_host_feature_combination, setup_offloads),
		T(tx_frame_reaches_backend_with_a_copy_of_the_header),
		T(tx_header_and_frame_split_across_descriptors),
		T(tx_indirect_chain),
		T(tx_frames_shorter_than_header_plus_ethernet_are_dropped),
		T(tx_frames_longer_than_max_are_dropped),
		T(tx_backend_full_keeps_the_chain_until_epollout),
		T(tx_backend_write_error_drops_the_frame),
		T_WITH(before_driver_ok_the_backend_is_not_read, setup_no_driver_ok),
		T(reset_stops_rx_and_tx_and_reinit_works),
		T_WITH(interrupts_follow_the_drivers_suppression, setup_no_event_idx),
		T(interrupts_follow_used_event),
		T(backend_error_stops_backend_io),
		T(close_closes_the_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
