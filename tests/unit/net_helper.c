/* net_helper.c — virtio-net test rig over a socketpair "tap" (see net_helper.h). */
#include "tests/unit/net_helper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

/* ---- registers ---- */

uint32_t neth_read32(struct neth *h, uint32_t off)
{
	return vmh_read32(&h->mmio, off);
}

void neth_write32(struct neth *h, uint32_t off, uint32_t v)
{
	vmh_write32(&h->mmio, off, v);
}

void neth_io(struct neth *h, uint32_t off, void *data, uint32_t len, bool is_write)
{
	virtio_mmio_io(&h->mmio, off, data, len, is_write);
}

uint32_t neth_status(struct neth *h)
{
	return neth_read32(h, VIRTIO_MMIO_STATUS);
}

bool neth_needs_reset(struct neth *h)
{
	return neth_status(h) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/*
 * virtio.c virtio_dev_probe() + virtio_net.c virtnet_probe(): reset, ACK,
 * DRIVER, features (high word first), FEATURES_OK read back, the MAC from
 * config space, rx0 then tx0, DRIVER_OK. RX buffers are the test's business.
 */
void neth_driver_init(struct neth *h, const struct neth_opts *o)
{
	uint8_t mac[6];

	h->offered = vmh_begin(&h->mmio, 1 /* VIRTIO_ID_NET */);
	h->features = o->features ? o->features : h->offered & ~o->drop_features;
	if (!vmh_set_features(&h->mmio, h->features))
		fail_msg("the device refused features 0x%llx", (unsigned long long)h->features);
	for (unsigned int i = 0; i < sizeof(mac); i++)
		neth_io(h, VIRTIO_MMIO_CONFIG + i, &mac[i], 1, false);
	vmh_setup_queue(&h->mmio, &h->fm, &h->rxq, NET_RX_QUEUE, o->queue_size, NETH_RX_DESC_GPA,
			NETH_RX_AVAIL_GPA, NETH_RX_USED_GPA);
	vmh_setup_queue(&h->mmio, &h->fm, &h->txq, NET_TX_QUEUE, o->queue_size, NETH_TX_DESC_GPA,
			NETH_TX_AVAIL_GPA, NETH_TX_USED_GPA);
	if (!o->no_driver_ok)
		vmh_add_status(&h->mmio, VIRTIO_CONFIG_S_DRIVER_OK);
}

void neth_setup(struct neth *h, const struct neth_opts *o)
{
	struct net_config cfg = { .is_tap = false, .offloads = o->offloads, .mac = NETH_MAC,
				  .mtu = o->mtu ? o->mtu : NET_DEFAULT_MTU };
	uint64_t low = o->ram_low ? o->ram_low : 16 * TEST_MiB;
	int fds[2];

	memset(h, 0, sizeof(*h));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
		fail_msg("socketpair: %s", strerror(errno));
	h->dev_fd = fds[0];
	h->peer = fds[1];
	if (o->ram_high)
		fake_mem_init_split(&h->fm, low, o->ram_high);
	else
		fake_mem_init(&h->fm, low);
	h->next_gpa = NETH_DATA_GPA;
	h->alloc_end = low;

	cfg.fd = fds[0];
	assert_int_equal(virtio_net_init(&h->net, &cfg), 0);
	h->irq_fd = test_eventfd();
	virtio_mmio_init(&h->mmio, &virtio_net_ops, &h->net, &h->fm.mem, h->irq_fd);
	h->net.transport = &h->mmio;
	neth_driver_init(h, o);
}

int neth_fixture(void **state, const struct neth_opts *o)
{
	struct neth *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	neth_setup(h, o);
	if (!o->no_driver_ok)
		assert_false(neth_needs_reset(h));
	*state = h;
	return 0;
}

int neth_fixture_teardown(void **state)
{
	struct neth *h = *state;

	neth_teardown(h);
	free(h);
	return 0;
}

void neth_teardown(struct neth *h)
{
	neth_assert_guards(h);
	virtio_net_close(&h->net);
	virtio_mmio_destroy(&h->mmio);
	close(h->peer);
	close(h->irq_fd);
	fake_mem_destroy(&h->fm);
}

void neth_kick(struct neth *h, unsigned int queue)
{
	neth_write32(h, VIRTIO_MMIO_QUEUE_NOTIFY, queue);
	virtio_net_notify(&h->net, queue);
}

void neth_rx_event(struct neth *h)
{
	virtio_net_backend_event(&h->net, EPOLLIN);
}

void neth_tx_event(struct neth *h)
{
	virtio_net_backend_event(&h->net, EPOLLOUT);
}

/* ---- guest memory ---- */

uint64_t neth_alloc(struct neth *h, uint32_t len, uint8_t fill)
{
	uint64_t start = h->next_gpa, gpa = start + NETH_GUARD;
	uint64_t end = gpa + len + NETH_GUARD;

	if (end > h->alloc_end || h->nr_allocs == NETH_MAX_ALLOCS)
		fail_msg("neth_alloc: out of test RAM (%u bytes)", len);
	memset(neth_host(h, start, end - start), NETH_GUARD_BYTE, end - start);
	if (len)
		memset(neth_host(h, gpa, len), fill, len);
	h->allocs[h->nr_allocs++] = (struct neth_alloc){ gpa, len };
	h->next_gpa = (end + 15) & ~15ULL;
	return gpa;
}

uint8_t *neth_host(struct neth *h, uint64_t gpa, uint64_t len)
{
	return fake_mem_at(&h->fm, gpa, len);
}

void neth_assert_guards(struct neth *h)
{
	for (unsigned int i = 0; i < h->nr_allocs; i++) {
		const struct neth_alloc *a = &h->allocs[i];

		if (!bytes_all(neth_host(h, a->gpa - NETH_GUARD, NETH_GUARD), NETH_GUARD,
			       NETH_GUARD_BYTE) ||
		    !bytes_all(neth_host(h, a->gpa + a->len, NETH_GUARD), NETH_GUARD,
			       NETH_GUARD_BYTE))
			fail_msg("the device wrote next to guest buffer 0x%llx+%u",
				 (unsigned long long)a->gpa, a->len);
	}
}

/* ---- frames ---- */

void neth_frame(uint8_t *p, size_t len, uint8_t seed)
{
	static const uint8_t head[14] = { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02,  /* dst: the guest */
					  0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  /* src */
					  0x08, 0x00 };                        /* IPv4 */

	for (size_t i = 0; i < len; i++)
		p[i] = i < sizeof(head) ? head[i] : (uint8_t)(seed + i * 13 + (i >> 8));
}

void neth_peer_send_raw(struct neth *h, const void *msg, size_t len)
{
	ssize_t n = send(h->peer, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n != (ssize_t)len)
		fail_msg("send %zu bytes to the device: %zd (%s)", len, n, strerror(errno));
}

void neth_peer_send(struct neth *h, const struct virtio_net_hdr_v1 *hdr, size_t len, uint8_t seed)
{
	uint8_t *buf = malloc(NET_HDR_SIZE + len);

	assert_non_null(buf);
	memcpy(buf, hdr, NET_HDR_SIZE);
	neth_frame(buf + NET_HDR_SIZE, len, seed);
	neth_peer_send_raw(h, buf, NET_HDR_SIZE + len);
	free(buf);
}

ssize_t neth_peer_recv(struct neth *h, void *buf, size_t cap)
{
	ssize_t n = recv(h->peer, buf, cap, MSG_DONTWAIT | MSG_TRUNC);

	if (n < 0 && errno != EAGAIN)
		fail_msg("recv: %s", strerror(errno));
	return n;
}

unsigned int neth_peer_drain(struct neth *h)
{
	static uint8_t buf[NET_HDR_SIZE + NET_MAX_FRAME + 64];
	unsigned int n = 0;

	while (neth_peer_recv(h, buf, sizeof(buf)) >= 0)
		n++;
	return n;
}

ssize_t neth_backend_peek(struct neth *h)
{
	uint8_t b;
	ssize_t n = recv(h->dev_fd, &b, 1, MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);

	if (n < 0 && errno != EAGAIN)
		fail_msg("recv (peek): %s", strerror(errno));
	return n;
}

unsigned int neth_backend_discard(struct neth *h)
{
	uint8_t b;
	unsigned int n = 0;

	while (recv(h->dev_fd, &b, 1, MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

unsigned int neth_fill_backend(struct neth *h)
{
	uint8_t msg[64] = { 0 };
	unsigned int n = 0;

	while (send(h->dev_fd, msg, sizeof(msg), MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof(msg))
		n++;
	if (errno != EAGAIN)
		fail_msg("filling the backend: %s", strerror(errno));
	return n;
}

/* ---- RX ---- */

uint16_t neth_rx_post(struct neth *h, uint32_t len, uint64_t *gpa)
{
	uint64_t a = neth_alloc(h, len, 0xcc);

	if (gpa)
		*gpa = a;
	return neth_rx_post_chain(h, (struct vqh_buf[]){ { a, len, true } }, 1);
}

uint16_t neth_rx_post_chain(struct neth *h, const struct vqh_buf *bufs, unsigned int n)
{
	uint16_t head = vqh_add_chain(&h->rxq, bufs, n);

	vqh_publish(&h->rxq, head);
	return head;
}

struct vring_used_elem neth_rx_used(struct neth *h)
{
	struct vring_used_elem e;

	if (!vqh_used_pop(&h->rxq, &e))
		fail_msg("no RX buffer came back (used idx %u)", vqh_used_idx(&h->rxq));
	return e;
}

void neth_post_n(struct neth *h, unsigned int n, uint32_t len, uint64_t *gpa_of)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa;
		uint16_t head = neth_rx_post(h, len, &gpa);

		gpa_of[head] = gpa;
	}
}

void neth_expect_rx(struct neth *h, const uint64_t *gpa_of, uint32_t room,
		    const struct virtio_net_hdr_v1 *sent, size_t len, uint8_t seed,
		    unsigned int nbufs)
{
	size_t total = NET_HDR_SIZE + len, off = 0;
	uint8_t *got = malloc(total), *want = malloc(total);
	struct virtio_net_hdr_v1 wh = *sent;

	assert_non_null(got);
	assert_non_null(want);
	for (unsigned int i = 0; i < nbufs; i++) {
		struct vring_used_elem e = neth_rx_used(h);
		uint32_t expect = (uint32_t)(total - off < room ? total - off : room);

		assert_int_equal(e.len, expect);
		memcpy(got + off, neth_host(h, gpa_of[e.id], e.len), e.len);
		off += e.len;
	}
	assert_int_equal(off, total);
	wh.num_buffers = (uint16_t)nbufs;
	memcpy(want, &wh, NET_HDR_SIZE);
	neth_frame(want + NET_HDR_SIZE, len, seed);
	assert_memory_equal(got, want, total);
	free(got);
	free(want);
}

struct virtio_net_hdr_v1 neth_hdr_at(struct neth *h, uint64_t gpa)
{
	struct virtio_net_hdr_v1 hdr;

	memcpy(&hdr, neth_host(h, gpa, NET_HDR_SIZE), NET_HDR_SIZE);
	return hdr;
}

/* ---- TX ---- */

struct vring_used_elem neth_tx_run(struct neth *h, uint16_t head)
{
	struct vring_used_elem e;

	vqh_publish(&h->txq, head);
	neth_kick(h, NET_TX_QUEUE);
	if (!vqh_used_pop(&h->txq, &e))
		fail_msg("TX chain %u was not returned in the used ring", head);
	assert_int_equal(e.id, head);
	if (vqh_used_idx(&h->txq) != h->txq.used_seen)
		fail_msg("TX chain %u came back more than once", head);
	/* Every chain is back: the driver may reuse all descriptors. */
	if (h->txq.used_seen == h->txq.avail_idx)
		h->txq.next_desc = 0;
	return e;
}

struct vring_used_elem neth_tx_chain(struct neth *h, const struct vqh_buf *bufs, unsigned int n)
{
	return neth_tx_run(h, vqh_add_chain(&h->txq, bufs, n));
}

struct vring_used_elem neth_tx(struct neth *h, const struct virtio_net_hdr_v1 *hdr, size_t len,
			       uint8_t seed)
{
	uint64_t gpa = neth_alloc(h, (uint32_t)(NET_HDR_SIZE + len), 0);

	memcpy(neth_host(h, gpa, NET_HDR_SIZE), hdr, NET_HDR_SIZE);
	neth_frame(neth_host(h, gpa + NET_HDR_SIZE, len), len, seed);
	return neth_tx_chain(h, (struct vqh_buf[]){ { gpa, (uint32_t)(NET_HDR_SIZE + len), false } },
			     1);
}

void neth_expect_tx(struct neth *h, const struct virtio_net_hdr_v1 *hdr, size_t len, uint8_t seed)
{
	size_t cap = NET_HDR_SIZE + len + 64;
	uint8_t *got = malloc(cap), *want = malloc(NET_HDR_SIZE + len);
	struct virtio_net_hdr_v1 wh = *hdr;
	ssize_t n;

	assert_non_null(got);
	assert_non_null(want);
	n = neth_peer_recv(h, got, cap);
	if (n < 0)
		fail_msg("the guest's %zu-byte frame did not reach the backend", len);
	assert_int_equal(n, NET_HDR_SIZE + len);
	wh.num_buffers = 0;
	memcpy(want, &wh, NET_HDR_SIZE);
	neth_frame(want + NET_HDR_SIZE, len, seed);
	assert_memory_equal(got, want, NET_HDR_SIZE + len);
	free(got);
	free(want);
}

void neth_expect_no_tx(struct neth *h)
{
	uint8_t b[64];
	ssize_t n = neth_peer_recv(h, b, sizeof(b));

	if (n >= 0)
		fail_msg("the backend got a %zd-byte frame it should not have", n);
}

bool neth_driver_must_kick(struct neth *h, struct vqh *q, uint16_t old, uint16_t new_idx)
{
	if (h->features & NETH_F(VIRTIO_RING_F_EVENT_IDX))
		return vring_need_event(vqh_avail_event(q), new_idx, old);
	return !(__atomic_load_n(&q->used->flags, __ATOMIC_ACQUIRE) & VRING_USED_F_NO_NOTIFY);
}
