/* net.c — virtio-net device: RX/TX between a tap and the guest (virtio 1.2 §5.1.6). */
#include "virtio/net.h"
#include "virtio/tap.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#define NET_CONFIG_SIZE offsetof(struct virtio_net_config, mtu) /* mac, status, max_virtqueue_pairs */

/* Offloads: checksum and TSO both ways, offered only when the backend takes them. */
#define NET_OFFLOAD_FEATURES                                                          \
	((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |            \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |      \
	 (1ULL << VIRTIO_NET_F_GUEST_ECN) | (1ULL << VIRTIO_NET_F_HOST_TSO4) |        \
	 (1ULL << VIRTIO_NET_F_HOST_TSO6) | (1ULL << VIRTIO_NET_F_HOST_ECN))
#define NET_GUEST_GSO                                                                 \
	((1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |      \
	 (1ULL << VIRTIO_NET_F_GUEST_UFO))

static bool has(const struct virtio_net *n, unsigned int bit)
{
	return n->features & (1ULL << bit);
}

static uint64_t net_features(void *dev)
{
	struct virtio_net *n = dev;
	uint64_t f = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
		     (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_NET_F_MAC) |
		     (1ULL << VIRTIO_NET_F_STATUS) | (1ULL << VIRTIO_NET_F_MRG_RXBUF);

	if (n->offloads)
		f |= NET_OFFLOAD_FEATURES;
	return f;
}

static void net_read_config(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_net *n = dev;

	memcpy(data, (uint8_t *)&n->config + off, len);
}

unsigned int virtio_net_tap_offloads(uint64_t f)
{
	unsigned int t = 0;

	/* TSO without checksum offload means nothing to the tap (TUN_F_TSO* need TUN_F_CSUM). */
	if (!(f & (1ULL << VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	t |= TUN_F_CSUM;
	if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
		t |= TUN_F_TSO4;
	if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
		t |= TUN_F_TSO6;
	if (f & (1ULL << VIRTIO_NET_F_GUEST_ECN))
		t |= TUN_F_TSO_ECN;
	if (f & (1ULL << VIRTIO_NET_F_GUEST_UFO))
		t |= TUN_F_UFO;
	return t;
}

/* Watch the backend for @events (no-op until attached). Lock held. */
static void net_set_interest(struct virtio_net *n, uint32_t events)
{
	if (events == n->interest)
		return;
	n->interest = events;
	if (n->loop && event_loop_modify(n->loop, n->fd, events) < 0)
		log_warn("virtio-net: epoll: %s", strerror(errno));
}

static uint32_t net_wanted_interest(const struct virtio_net *n)
{
	uint32_t ev = 0;

	if (n->active && !n->rx_wait_buffers)
		ev |= EPOLLIN;
	if (n->active && n->tx_wait_tap)
		ev |= EPOLLOUT;
	return ev;
}

/* Forget the gathered RX buffers (device reset: the driver takes them all back). */
static void net_rx_forget(struct virtio_net *n)
{
	n->rx_nparts = 0;
	n->rx_iovcnt = 0;
	n->rx_room = 0;
}

static int net_activate(void *dev, uint64_t features)
{
	struct virtio_net *n = dev;
	unsigned int offloads = virtio_net_tap_offloads(features);

	if (n->is_tap) {
		int r = tap_set_offload(n->fd, offloads);

		if (r < 0) {
			log_warn("virtio-net: TUNSETOFFLOAD 0x%x: %s", offloads, strerror(-r));
			return r;
		}
	}
	n->tap_offloads = offloads;
	n->features = features;
	n->active = true;
	n->rx_wait_buffers = false;
	n->tx_wait_tap = false;
	net_rx_forget(n);
	net_set_interest(n, net_wanted_interest(n));
	return 0;
}

/* §2.4: reset stops the device; all I/O is synchronous, nothing is in flight. */
static void net_reset(void *dev)
{
	struct virtio_net *n = dev;

	n->active = false;
	n->features = 0;
	n->rx_wait_buffers = n->tx_wait_tap = false;
	n->need_signal[0] = n->need_signal[1] = false;
	net_rx_forget(n);
	net_set_interest(n, 0);
	if (n->is_tap && n->tap_offloads)
		tap_set_offload(n->fd, 0);
	n->tap_offloads = 0;
}

const struct virtio_dev_ops virtio_net_ops = {
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.config_size = NET_CONFIG_SIZE,
	.features = net_features,
	.read_config = net_read_config,
	.activate = net_activate,
	.reset = net_reset,
};

static void net_push(struct virtio_net *n, unsigned int q, uint16_t head, uint32_t len)
{
	virtq_push(&n->transport->queues[q], head, len);
	n->need_signal[q] = true;
}

static void net_signal(struct virtio_net *n, unsigned int q)
{
	if (n->need_signal[q]) {
		n->need_signal[q] = false;
		virtio_mmio_signal_used(n->transport, q);
	}
}

/* ---- TX: guest → tap ---- */

/* May this header go to the tap, given what the guest negotiated? (§5.1.6.2) */
static bool net_tx_hdr_ok(const struct virtio_net *n, const struct virtio_net_hdr_v1 *h)
{
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return false;
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !has(n, VIRTIO_NET_F_CSUM))
		return false;
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !has(n, VIRTIO_NET_F_HOST_ECN))
		return false;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return has(n, VIRTIO_NET_F_HOST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return has(n, VIRTIO_NET_F_HOST_TSO6);
	default:
		return false;
	}
}

enum { TX_DONE, TX_DROP, TX_AGAIN };

/* Send one popped chain. The header goes from a host copy (the guest may rewrite its own). */
static int net_tx_one(struct virtio_net *n, const struct virtq_chain *c)
{
	uint64_t frame = c->out_len - NET_HDR_SIZE;
	uint64_t skip = NET_HDR_SIZE;
	int iovcnt = 1;
	ssize_t w;

	if (c->out_len < NET_HDR_SIZE + NET_ETH_HLEN || frame > NET_MAX_FRAME)
		return TX_DROP;
	virtq_copy_from_chain(c, 0, &n->tx_hdr, NET_HDR_SIZE);
	if (!net_tx_hdr_ok(n, &n->tx_hdr))
		return TX_DROP;
	n->tx_hdr.num_buffers = 0;
	n->tx_iov[0] = (struct iovec){ &n->tx_hdr, NET_HDR_SIZE };
	for (unsigned int i = 0; i < c->nr; i++) {
		const struct virtq_seg *s = &c->segs[i];

		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		n->tx_iov[iovcnt++] = (struct iovec){ s->hva + skip, s->len - skip };
		skip = 0;
	}
	w = writev(n->fd, n->tx_iov, iovcnt);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return TX_AGAIN;
	if (w < 0) {
		log_debug("virtio-net: tx: %s", strerror(errno));
		return TX_DROP;
	}
	n->stats.tx_packets++;
	n->stats.tx_bytes += frame;
	return TX_DONE;
}

/* Send every frame the guest queued. Lock held. */
static void net_tx(struct virtio_net *n)
{
	struct virtq *vq = &n->transport->queues[NET_TX_QUEUE];
	struct virtq_chain *c = &n->chain;

	if (!n->active || n->tx_wait_tap)
		return;
	do {
		for (;;) {
			int r = virtq_pop(vq, c);

			if (r == VIRTQ_EMPTY)
				break;
			if (r < 0) {
				virtio_mmio_needs_reset(n->transport);
				goto out;
			}
			/* §2.7.4.2 / §5.1.6.2: TX buffers are device-readable only. */
			if (r == VIRTQ_BAD_CHAIN || c->in_len > 0 ||
			    (c->nr && c->segs[c->nr - 1].write)) {
				n->stats.bad_chains++;
				net_push(n, NET_TX_QUEUE, c->head, 0);
				continue;
			}
			r = net_tx_one(n, c);
			if (r == TX_AGAIN) {
				/* The tap is full: keep the frame, resume on EPOLLOUT. */
				virtq_unpop(vq, 1);
				n->tx_wait_tap = true;
				net_set_interest(n, net_wanted_interest(n));
				goto out;
			}
			if (r == TX_DROP)
				n->stats.tx_dropped++;
			net_push(n, NET_TX_QUEUE, c->head, 0);
		}
	} while (virtq_end_batch(vq));
out:
	net_signal(n, NET_TX_QUEUE);
}

/* ---- RX: tap → guest ---- */

/* Room one frame may need in the guest's buffers, header included. */
static uint32_t net_rx_need(const struct virtio_net *n)
{
	if (n->features & NET_GUEST_GSO)
		return NET_HDR_SIZE + NET_MAX_FRAME;
	return NET_HDR_SIZE + MIN(n->mtu + NET_ETH_HLEN + 4, NET_MAX_FRAME);
}

/*
 * Keep popped chain @c (writable buffers) as the next RX part. Its room
 * counts at most one largest frame: a chain may list the same guest
 * buffer many times and claim more than 4 GiB, and no frame fills more.
 */
static void net_rx_add_part(struct virtio_net *n, const struct virtq_chain *c)
{
	uint32_t len = (uint32_t)MIN(c->in_len, (uint64_t)NET_HDR_SIZE + NET_MAX_FRAME);

	n->rx_parts[n->rx_nparts++] = (struct net_rx_part){
		.head = c->head, .len = len, .iov = n->rx_iovcnt,
	};
	for (unsigned int i = 0; i < c->nr; i++)
		if (c->segs[i].len)
			n->rx_iov[n->rx_iovcnt++] = (struct iovec){ c->segs[i].hva, c->segs[i].len };
	n->rx_room += len;
}

/* Is what is gathered enough to read a frame into? */
static bool net_rx_ready(const struct virtio_net *n)
{
	if (n->rx_nparts == 0)
		return false;
	if (!has(n, VIRTIO_NET_F_MRG_RXBUF))
		return true; /* one chain per frame, whatever its size */
	/* Room for the largest frame, or no iovec left to gather more. */
	return n->rx_room >= net_rx_need(n) || n->rx_iovcnt >= NET_RX_MAX_IOV;
}

enum { GATHER_OK, GATHER_EMPTY, GATHER_BROKEN };

/*
 * Hold guest buffers for the next frame in rx_parts/rx_iov: one chain
 * without MRG_RXBUF, else chains until they hold net_rx_need() bytes. The
 * device keeps what it gathered across frames and pauses (GATHER_EMPTY)
 * until the driver adds more; nothing is ever given back unused, so no
 * chain is popped twice. Chains that break the rules are returned at once
 * with len 0.
 */
static int net_rx_gather(struct virtio_net *n)
{
	struct virtq *vq = &n->transport->queues[NET_RX_QUEUE];
	struct virtq_chain *c = &n->chain;

	while (!net_rx_ready(n)) {
		int r = virtq_pop(vq, c);

		if (r < 0)
			return GATHER_BROKEN;
		if (r == VIRTQ_EMPTY) {
			/* Publish avail_event, then re-check: a buffer added meanwhile is not missed. */
			if (virtq_end_batch(vq))
				continue;
			/*
			 * Short of room for the largest frame. Wait for more
			 * buffers only while the driver still has most of its
			 * ring: one that refills when half of it is free (Linux
			 * does) would otherwise wait for us forever. Holding
			 * half the ring and still short, its buffers are just
			 * small: read; a frame that does not fit is dropped.
			 */
			if (n->rx_nparts * 2 >= vq->size)
				return GATHER_OK;
			return GATHER_EMPTY;
		}
		/*
		 * §5.1.6.3.1: RX buffers are device-writable (readable ones come
		 * first, so segs[0] tells) and hold at least the header.
		 */
		if (r == VIRTQ_BAD_CHAIN || c->nr == 0 || !c->segs[0].write ||
		    c->in_len < NET_HDR_SIZE) {
			n->stats.bad_chains++;
			net_push(n, NET_RX_QUEUE, c->head, 0);
			continue;
		}
		net_rx_add_part(n, c);
	}
	return GATHER_OK;
}

/* Write the little-endian num_buffers field (header offset 10) into the first part. */
static void net_rx_set_num_buffers(struct virtio_net *n, uint16_t count)
{
	uint8_t v[2] = { (uint8_t)count, (uint8_t)(count >> 8) };
	uint32_t off = offsetof(struct virtio_net_hdr_v1, num_buffers);

	/* The first part holds at least NET_HDR_SIZE bytes, so this stays inside it. */
	for (unsigned int i = 0, k = 0; i < n->rx_iovcnt && k < 2; i++) {
		struct iovec *io = &n->rx_iov[i];

		if (off >= io->iov_len) {
			off -= (uint32_t)io->iov_len;
			continue;
		}
		for (; off < io->iov_len && k < 2; off++)
			((uint8_t *)io->iov_base)[off] = v[k++];
		off = 0;
	}
}

/* Return the first @used parts (the frame is in them) and keep the rest for the next frame. */
static void net_rx_complete(struct virtio_net *n, unsigned int used, uint64_t bytes)
{
	unsigned int first_iov = used < n->rx_nparts ? n->rx_parts[used].iov : n->rx_iovcnt;

	for (unsigned int i = 0; i < used; i++) {
		uint32_t len = (uint32_t)MIN(bytes, (uint64_t)n->rx_parts[i].len);

		net_push(n, NET_RX_QUEUE, n->rx_parts[i].head, len);
		n->rx_room -= n->rx_parts[i].len;
		bytes -= len;
	}
	n->rx_nparts -= used;
	memmove(n->rx_parts, n->rx_parts + used, n->rx_nparts * sizeof(n->rx_parts[0]));
	n->rx_iovcnt -= first_iov;
	memmove(n->rx_iov, n->rx_iov + first_iov, n->rx_iovcnt * sizeof(n->rx_iov[0]));
	for (unsigned int i = 0; i < n->rx_nparts; i++)
		n->rx_parts[i].iov -= first_iov;
}

/* Receive up to NET_BATCH frames. Lock held. */
static void net_rx(struct virtio_net *n)
{
	for (unsigned int frames = 0; n->active && !n->rx_wait_buffers && frames < NET_BATCH;
	     frames++) {
		unsigned int used, iovcnt;
		uint64_t room, left;
		ssize_t got;
		int r = net_rx_gather(n);

		if (r == GATHER_BROKEN) {
			virtio_mmio_needs_reset(n->transport);
			break;
		}
		if (r == GATHER_EMPTY) {
			n->rx_wait_buffers = true;
			n->stats.rx_paused++;
			net_set_interest(n, net_wanted_interest(n));
			break;
		}
		/*
		 * Everything held (without MRG_RXBUF that is one chain), then a
		 * spill buffer: a frame that reaches it did not fit.
		 */
		iovcnt = n->rx_iovcnt;
		room = n->rx_room;
		n->rx_iov[iovcnt] = (struct iovec){ n->rx_spill, sizeof(n->rx_spill) };
		got = readv(n->fd, n->rx_iov, (int)iovcnt + 1);
		if (got < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_debug("virtio-net: rx: %s", strerror(errno));
			break; /* nothing to read: EPOLLIN tells us when */
		}
		if ((uint64_t)got > room || got < (ssize_t)NET_HDR_SIZE) {
			n->stats.rx_dropped++; /* the buffers stay for the next frame */
			continue;
		}
		/* The first parts that hold the frame. */
		left = (uint64_t)got;
		for (used = 0; left > 0; used++)
			left -= MIN(left, (uint64_t)n->rx_parts[used].len);
		net_rx_set_num_buffers(n, (uint16_t)used);
		net_rx_complete(n, used, (uint64_t)got);
		n->stats.rx_packets++;
		n->stats.rx_bytes += (uint64_t)got - NET_HDR_SIZE;
	}
	net_signal(n, NET_RX_QUEUE);
}

void virtio_net_notify(struct virtio_net *n, unsigned int queue)
{
	pthread_mutex_lock(&n->transport->lock);
	if (queue == NET_TX_QUEUE) {
		net_tx(n);
	} else if (queue == NET_RX_QUEUE && n->active && n->rx_wait_buffers) {
		/* New buffers: resume RX (frames may be waiting in the tap). */
		n->rx_wait_buffers = false;
		net_set_interest(n, net_wanted_interest(n));
		net_rx(n);
	}
	pthread_mutex_unlock(&n->transport->lock);
}

void virtio_net_backend_event(struct virtio_net *n, uint32_t events)
{
	pthread_mutex_lock(&n->transport->lock);
	if ((events & (EPOLLERR | EPOLLHUP)) && !n->backend_gone) {
		/* The tap interface was deleted: epoll would report this forever. */
		log_warn("virtio-net: the tap went away; the guest's NIC no longer passes traffic");
		n->backend_gone = true;
		if (n->loop)
			event_loop_remove(n->loop, n->fd);
		n->loop = NULL;
	}
	if (n->backend_gone) {
		pthread_mutex_unlock(&n->transport->lock);
		return;
	}
	if ((events & EPOLLOUT) && n->tx_wait_tap) {
		n->tx_wait_tap = false;
		net_set_interest(n, net_wanted_interest(n));
		net_tx(n);
	}
	if (events & EPOLLIN)
		net_rx(n);
	pthread_mutex_unlock(&n->transport->lock);
}

static void net_on_backend(void *opaque, uint32_t events)
{
	virtio_net_backend_event(opaque, events);
}

int virtio_net_attach(struct virtio_net *n, struct event_loop *loop)
{
	int r;

	pthread_mutex_lock(&n->transport->lock);
	n->interest = net_wanted_interest(n);
	r = event_loop_add(loop, n->fd, n->interest, net_on_backend, n);
	if (r == 0)
		n->loop = loop;
	pthread_mutex_unlock(&n->transport->lock);
	return r;
}

int virtio_net_init(struct virtio_net *n, const struct net_config *cfg)
{
	memset(n, 0, sizeof(*n));
	n->fd = cfg->fd;
	n->is_tap = cfg->is_tap;
	n->offloads = cfg->offloads;
	n->mtu = cfg->mtu ? cfg->mtu : NET_DEFAULT_MTU;
	memcpy(n->config.mac, cfg->mac, sizeof(n->config.mac));
	n->config.status = VIRTIO_NET_S_LINK_UP;
	n->config.max_virtqueue_pairs = 1;
	return n->fd >= 0 ? 0 : -EBADF;
}

void virtio_net_close(struct virtio_net *n)
{
	n->active = false;
	n->loop = NULL;
	close_fd(&n->fd);
}
