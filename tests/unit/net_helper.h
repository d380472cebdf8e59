/*
 * net_helper.h — a virtio-net test rig: the virtio-mmio transport and
 * virtio_net (virtio/net.c) over fake guest RAM, initialised through the
 * registers the way Linux's virtio_mmio + virtio_net drivers do, with a
 * SOCK_SEQPACKET socketpair as the tap. The test holds the "host side":
 * writing a message (12-byte vnet header + Ethernet frame) is a frame
 * arriving from the network, reading one is a frame the guest sent.
 *
 * No event loop: tests call virtio_net_backend_event() where the main loop
 * would, and virtio_net_notify() after writing QueueNotify. Guest buffers
 * come from a bump allocator that surrounds each with guard bytes, so a
 * device write outside the buffers it was handed shows up.
 */
#ifndef BRISK_TESTS_NET_HELPER_H
#define BRISK_TESTS_NET_HELPER_H

#include "tests/unit/virtq_helper.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/virtio_net.h>

#include "virtio/net.h"

#define NETH_MAC { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 }

/* Rings of the rig: fixed GPAs in low RAM; indirect tables and data after. */
#define NETH_RX_DESC_GPA 0x10000ULL
#define NETH_RX_AVAIL_GPA 0x11000ULL
#define NETH_RX_USED_GPA 0x12000ULL
#define NETH_TX_DESC_GPA 0x13000ULL
#define NETH_TX_AVAIL_GPA 0x14000ULL
#define NETH_TX_USED_GPA 0x15000ULL
#define NETH_DATA_GPA 0x100000ULL

#define NETH_GUARD 64          /* guard bytes on each side of an allocation */
#define NETH_GUARD_BYTE 0xa5
#define NETH_MAX_ALLOCS 2048

#define NETH_F(f) (1ULL << (f))   /* feature bit */

struct neth_opts {
	bool offloads;            /* struct net_config.offloads */
	uint32_t mtu;             /* default 1500 */
	uint64_t features;        /* not 0: the driver accepts exactly these */
	uint64_t drop_features;   /* else: all offered but these */
	uint64_t ram_low;         /* RAM at 0 (default 16 MiB) */
	uint64_t ram_high;        /* RAM at 4 GiB (default none) */
	uint16_t queue_size;      /* both queues; default QueueNumMax */
	bool no_driver_ok;        /* stop after the queue setup */
};

struct neth_alloc {
	uint64_t gpa;
	uint32_t len;
};

struct neth {
	struct fake_mem fm;
	struct virtio_mmio mmio;
	struct virtio_net net;
	struct vqh rxq, txq;
	int dev_fd;               /* fds[0]: owned by the device */
	int peer;                 /* fds[1]: the host side of the "tap" */
	int irq_fd;
	uint64_t offered;         /* device features as read from the registers */
	uint64_t features;        /* what the driver wrote */
	uint64_t next_gpa, alloc_end;
	unsigned int nr_allocs;
	struct neth_alloc allocs[NETH_MAX_ALLOCS];
};

/* Socketpair, device, transport; then the Linux init sequence (unless no_driver_ok). */
void neth_setup(struct neth *h, const struct neth_opts *o);
/* Checks the guard bytes, then closes everything. */
void neth_teardown(struct neth *h);

/* cmocka fixtures: a calloc'd rig in *@state (checks no NEEDS_RESET after DRIVER_OK). */
int neth_fixture(void **state, const struct neth_opts *o);
int neth_fixture_teardown(void **state);

/* Reset, ACK, DRIVER, features, FEATURES_OK, config read, queues, DRIVER_OK. */
void neth_driver_init(struct neth *h, const struct neth_opts *o);

uint32_t neth_read32(struct neth *h, uint32_t off);
void neth_write32(struct neth *h, uint32_t off, uint32_t v);
void neth_io(struct neth *h, uint32_t off, void *data, uint32_t len, bool is_write);
uint32_t neth_status(struct neth *h);
bool neth_needs_reset(struct neth *h);

/* QueueNotify @queue, then the main loop's virtio_net_notify(). */
void neth_kick(struct neth *h, unsigned int queue);
/* The backend fd is readable / writable (what epoll would report). */
void neth_rx_event(struct neth *h);
void neth_tx_event(struct neth *h);

/* ---- guest memory ---- */

/* @len bytes (16-byte aligned) filled with @fill, between guard bytes. */
uint64_t neth_alloc(struct neth *h, uint32_t len, uint8_t fill);
uint8_t *neth_host(struct neth *h, uint64_t gpa, uint64_t len);
/* Fail if a guard byte around any allocation changed. */
void neth_assert_guards(struct neth *h);

/* ---- frames ---- */

/* A deterministic Ethernet frame of @len bytes (MACs, EtherType, payload) for @seed. */
void neth_frame(uint8_t *p, size_t len, uint8_t seed);

/* Host side: send a message (@hdr, then frame @seed of @len bytes). */
void neth_peer_send(struct neth *h, const struct virtio_net_hdr_v1 *hdr, size_t len, uint8_t seed);
/* Host side: send raw message bytes. */
void neth_peer_send_raw(struct neth *h, const void *msg, size_t len);
/* Host side: the next frame the guest sent, into @buf; -1 when there is none. */
ssize_t neth_peer_recv(struct neth *h, void *buf, size_t cap);
/* Host side: number of messages the guest sent, consumed. */
unsigned int neth_peer_drain(struct neth *h);
/* Length of the next frame queued towards the device (not consumed), or -1. */
ssize_t neth_backend_peek(struct neth *h);
/* Throw away the frames queued towards the device; returns their count. */
unsigned int neth_backend_discard(struct neth *h);
/* Fill the device → host direction until the socket would block; returns the count. */
unsigned int neth_fill_backend(struct neth *h);

/* ---- RX (queue 0): buffers the guest posts ---- */

/* Post one device-writable buffer of @len bytes (filled 0xcc); *@gpa gets its address. */
uint16_t neth_rx_post(struct neth *h, uint32_t len, uint64_t *gpa);
/* Post a chain built from @bufs. */
uint16_t neth_rx_post_chain(struct neth *h, const struct vqh_buf *bufs, unsigned int n);
/* Next used element of the RX queue; fails the test when there is none. */
struct vring_used_elem neth_rx_used(struct neth *h);
/* Post @n single-buffer chains of @len bytes; their GPAs go to @gpa_of[head]. */
void neth_post_n(struct neth *h, unsigned int n, uint32_t len, uint64_t *gpa_of);
/*
 * Expect frame @seed of @len bytes, sent with header @sent, in the next
 * @nbufs used elements: chains whose GPAs are in @gpa_of[head] and whose
 * room is @room each (all full but the last); the header as sent but
 * num_buffers = @nbufs.
 */
void neth_expect_rx(struct neth *h, const uint64_t *gpa_of, uint32_t room,
		    const struct virtio_net_hdr_v1 *sent, size_t len, uint8_t seed,
		    unsigned int nbufs);
/* The header the device wrote at @gpa. */
struct virtio_net_hdr_v1 neth_hdr_at(struct neth *h, uint64_t gpa);

/* ---- TX (queue 1) ---- */

/* Build chain @bufs on the TX queue, publish, kick; the one used element. */
struct vring_used_elem neth_tx_chain(struct neth *h, const struct vqh_buf *bufs, unsigned int n);
/*
 * Send @hdr + frame @seed of @len bytes from one guest buffer. Returns the
 * used element (the test fails unless there is exactly one new).
 */
struct vring_used_elem neth_tx(struct neth *h, const struct virtio_net_hdr_v1 *hdr, size_t len,
			       uint8_t seed);
/* Run TX chain @head: publish, kick, and return its used element (exactly one). */
struct vring_used_elem neth_tx_run(struct neth *h, uint16_t head);
/*
 * Expect the host side to get exactly @hdr (num_buffers 0) + frame @seed of
 * @len bytes next.
 */
void neth_expect_tx(struct neth *h, const struct virtio_net_hdr_v1 *hdr, size_t len, uint8_t seed);
/* Expect nothing from the guest. */
void neth_expect_no_tx(struct neth *h);

/* Whether a driver that moved avail.idx from @old to @new must notify (EVENT_IDX or flags). */
bool neth_driver_must_kick(struct neth *h, struct vqh *q, uint16_t old, uint16_t new_idx);

#endif
