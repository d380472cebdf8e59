/*
 * fuzz_net.c — libFuzzer target for virtio-net (virtio/net.c) behind the
 * virtio-mmio transport (virtio/mmio.c), with a SOCK_SEQPACKET socketpair as
 * the tap: the harness holds the host side, injects frames and reads what
 * the guest sent.
 *
 * Each input is a driver and a network: a header byte (backend offloads,
 * declined features, queue size, MTU), then records that each send a TX
 * frame (any header, any length, cut into up to four buffers anywhere —
 * RAM, the MMIO gap, the edges of RAM, wrapping addresses, UINT32_MAX
 * lengths — sometimes writable, direct or indirect), post RX buffer chains
 * (1-byte to 64 KiB, sometimes readable or outside RAM), inject frames from
 * the host side (runts to oversized), deliver backend events (EPOLLIN,
 * EPOLLOUT, EPOLLERR), fill the host side so TX waits, kick any queue, or
 * misbehave (reset mid-stream, bad head index, avail.idx running ahead,
 * queue registers rewritten after DRIVER_OK, raw descriptor bytes, raw
 * register writes, config-space reads). The device is driven through its
 * registers, virtio_net_notify() and virtio_net_backend_event() as the VMM
 * does.
 *
 * Guest RAM is two regions (below the MMIO gap and at 4 GiB), each between
 * PROT_NONE guard pages: touching anything outside RAM faults. Checked
 * besides: every frame reaching the host side is 26..65562 bytes with
 * num_buffers 0 and a header the negotiated features allow; TX used lengths
 * are 0; while the driver behaves, every used element is a chain it posted,
 * returned once, with a length that fits the chain, and an RX frame's
 * num_buffers matches the elements that follow; frames counted as sent
 * equal those received, frames delivered or dropped never exceed those
 * injected.
 *
 * The device holds popped RX chains across frames, so RX chains need not
 * come back by the end of an input (nor ever, until a reset). While the
 * driver behaves, what it holds are distinct chains the driver posted and
 * has not got back, with their full writable length (rx_room is the sum);
 * one at most without MRG_RXBUF; none while the device is not active; and
 * when RX is paused for buffers, it holds none (without MRG_RXBUF) or less
 * than a frame may need, less than half the ring and under NET_RX_MAX_IOV
 * iovecs. The driver reuses the descriptors of chains that came back, so
 * it keeps posting while the device holds others.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "tests/fuzz/fuzz_util.h"
#include "virtio/net.h"
#include "vmm/util.h"
#include "vmm/log.h"

#define RAM0_SIZE (256 * 1024)
#define RAM0_GPA (MMIO_GAP_START - RAM0_SIZE)  /* ends where the gap starts */
#define RAM1_SIZE (64 * 1024)
#define RAM1_GPA MMIO_GAP_END

#define RING_GPA(q, part) (RAM0_GPA + 0x3000ULL * (q) + 0x1000ULL * (part))
#define TABLE_GPA (RAM0_GPA + 0x6000)          /* an indirect table of 4 entries per queue and head */
#define DATA_GPA (RAM0_GPA + 0xe000)
#define DATA_END (RAM0_GPA + RAM0_SIZE)
#define MAX_RECORDS 256
#define MAX_BUFS 4
#define MAX_MSG (NET_HDR_SIZE + NET_MAX_FRAME + 4500)

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_net: %s:%d: %s\n", __FILE__,     \
				__LINE__, #cond);                              \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

static struct guest_mem mem;
static uint8_t *ram0, *ram1;
static struct virtio_net net;
static struct virtio_mmio vm;
static int irq_fd = -1, peer = -1, dev_fd = -1;
static uint8_t msg[MAX_MSG];

/* The driver's side of one queue. */
struct dq {
	uint16_t avail_idx, used_seen, outstanding;
	bool busy[VIRTQ_MAX_SIZE];         /* descriptor in a chain that is not back */
	uint8_t ndesc[VIRTQ_MAX_SIZE];     /* per head: ring descriptors of its chain */
	bool posted[VIRTQ_MAX_SIZE];       /* head handed to the device, not back yet */
	uint64_t writable[VIRTQ_MAX_SIZE]; /* per head: bytes the device may write */
	/* Per head: its writable buffers, in order (where an RX frame's header goes). */
	uint8_t nws[VIRTQ_MAX_SIZE];
	uint64_t ws_addr[VIRTQ_MAX_SIZE][MAX_BUFS];
	uint32_t ws_len[VIRTQ_MAX_SIZE][MAX_BUFS];
};

static struct {
	uint16_t size;
	uint64_t features;
	uint32_t mtu;         /* the backend's, as net.c sizes RX with it */
	uint64_t next_data;
	bool tracking;        /* well-behaved so far: check used entries */
	bool hdr_check;       /* RX headers are still where the device wrote them */
	struct dq q[2];
	uint64_t injected, injected_bytes, tx_seen;
} drv;

static void *gpa(uint64_t addr, uint64_t len)
{
	return guest_mem_ptr(&mem, addr, len);
}

static void fuzz_init(void)
{
	ram0 = map_ram(RAM0_SIZE);
	ram1 = map_ram(RAM1_SIZE);
	mem.regions[0] = (struct guest_mem_region){ RAM0_GPA, RAM0_SIZE, ram0 };
	mem.regions[1] = (struct guest_mem_region){ RAM1_GPA, RAM1_SIZE, ram1 };
	mem.nr_regions = 2;
	mem.ram_size = RAM0_SIZE + RAM1_SIZE;
	irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (irq_fd < 0)
		abort();
	log_set_level(LOG_ERROR); /* "the tap went away" on every EPOLLERR input */
}

static uint32_t rd(uint32_t off)
{
	uint32_t v;

	virtio_mmio_io(&vm, off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(uint32_t off, uint32_t v)
{
	virtio_mmio_io(&vm, off, (uint8_t *)&v, 4, true);
}

static void wr64(uint32_t lo, uint64_t v)
{
	wr(lo, (uint32_t)v);
	wr(lo + 4, (uint32_t)(v >> 32));
}

static bool needs_reset(void)
{
	return rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* Linux's sequence: reset, ACK, DRIVER, features, FEATURES_OK, rx0, tx0, DRIVER_OK. */
static void driver_init(uint8_t h)
{
	static const unsigned int droppable[] = {
		VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX, VIRTIO_NET_F_MRG_RXBUF,
		VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_CSUM,
	};
	uint64_t f;

	wr(VIRTIO_MMIO_STATUS, 0);
	check(rd(VIRTIO_MMIO_STATUS) == 0);
	check(!(net.interest & EPOLLIN));
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f |= rd(VIRTIO_MMIO_DEVICE_FEATURES);
	for (unsigned int i = 0; i < sizeof(droppable) / sizeof(droppable[0]); i++)
		if (h & (2u << i))
			f &= ~(1ULL << droppable[i]);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_FEATURES_OK);
	check(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);

	memset(drv.q, 0, sizeof(drv.q));
	drv.features = f;
	drv.next_data = DATA_GPA;
	drv.tracking = true;
	drv.hdr_check = true;
	memset(ram0, 0, DATA_GPA - RAM0_GPA); /* rings and tables */
	for (unsigned int q = 0; q < 2; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, q);
		check(rd(VIRTIO_MMIO_QUEUE_READY) == 0);
		check(rd(VIRTIO_MMIO_QUEUE_NUM_MAX) >= drv.size);
		wr(VIRTIO_MMIO_QUEUE_NUM, drv.size);
		wr64(VIRTIO_MMIO_QUEUE_DESC_LOW, RING_GPA(q, 0));
		wr64(VIRTIO_MMIO_QUEUE_AVAIL_LOW, RING_GPA(q, 1));
		wr64(VIRTIO_MMIO_QUEUE_USED_LOW, RING_GPA(q, 2));
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
	check(!needs_reset());
	check(net.active && (net.backend_gone || (net.interest & EPOLLIN)));
	check(net.tap_offloads == virtio_net_tap_offloads(f));
}

static struct vring_avail *avail(unsigned int q)
{
	return gpa(RING_GPA(q, 1), 6 + 2 * drv.size);
}

static struct vring_used *used(unsigned int q)
{
	return gpa(RING_GPA(q, 2), 6 + 8 * drv.size);
}

static struct vring_desc *desc(unsigned int q, uint16_t i)
{
	return gpa(RING_GPA(q, 0) + 16ULL * (i % drv.size), 16);
}

static bool has(unsigned int bit)
{
	return drv.features & (1ULL << bit);
}

/* Room one frame may need (net.c: header + 64 KiB GSO frame, or mtu + 18). */
static uint64_t rx_need(void)
{
	uint64_t frame = drv.mtu + NET_ETH_HLEN + 4;

	if (has(VIRTIO_NET_F_GUEST_TSO4) || has(VIRTIO_NET_F_GUEST_TSO6) ||
	    has(VIRTIO_NET_F_GUEST_UFO) || frame > NET_MAX_FRAME)
		frame = NET_MAX_FRAME;
	return NET_HDR_SIZE + frame;
}

/* The RX chains the device holds: posted, not back, distinct, whole. */
static void check_held(void)
{
	static bool seen[VIRTQ_MAX_SIZE];
	struct dq *d = &drv.q[NET_RX_QUEUE];
	uint64_t room = 0;

	if (!net.active) {
		check(net.rx_nparts == 0);
		return;
	}
	check(net.rx_nparts <= d->outstanding);
	if (!has(VIRTIO_NET_F_MRG_RXBUF))
		check(net.rx_nparts <= 1);
	memset(seen, 0, sizeof(seen));
	for (unsigned int i = 0; i < net.rx_nparts; i++) {
		uint16_t head = net.rx_parts[i].head;

		check(head < drv.size);
		check(d->posted[head]);
		check(!seen[head]);
		seen[head] = true;
		/* Its room: the chain's writable bytes, at most one largest frame. */
		check(net.rx_parts[i].len == MIN(d->writable[head], (uint64_t)NET_HDR_SIZE + NET_MAX_FRAME));
		check(net.rx_parts[i].len >= NET_HDR_SIZE);
		check(net.rx_parts[i].iov <= net.rx_iovcnt);
		room += net.rx_parts[i].len;
	}
	check(room == net.rx_room);
	if (net.rx_wait_buffers) {
		if (!has(VIRTIO_NET_F_MRG_RXBUF))
			check(net.rx_nparts == 0);
		else
			check(net.rx_nparts * 2 < drv.size && net.rx_room < rx_need() &&
			      net.rx_iovcnt < NET_RX_MAX_IOV);
	}
}

/* May a frame with this header have left the device? (net.c's TX rules) */
static bool tx_hdr_ok(const struct virtio_net_hdr_v1 *h)
{
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return false;
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !has(VIRTIO_NET_F_CSUM))
		return false;
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !has(VIRTIO_NET_F_HOST_ECN))
		return false;
	if (gso == VIRTIO_NET_HDR_GSO_NONE)
		return !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
	if (gso == VIRTIO_NET_HDR_GSO_TCPV4)
		return has(VIRTIO_NET_F_HOST_TSO4);
	if (gso == VIRTIO_NET_HDR_GSO_TCPV6)
		return has(VIRTIO_NET_F_HOST_TSO6);
	return false;
}

/* Read everything the guest sent; every frame must be one the device may send. */
static void drain_peer(void)
{
	for (;;) {
		struct virtio_net_hdr_v1 h;
		ssize_t n = recv(peer, msg, sizeof(msg), MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0)
			break;
		if (n == 1)
			continue; /* our own filler (fill_backend) */
		check(n >= (ssize_t)(NET_HDR_SIZE + NET_ETH_HLEN));
		check(n <= (ssize_t)(NET_HDR_SIZE + NET_MAX_FRAME));
		memcpy(&h, msg, sizeof(h));
		check(h.num_buffers == 0);
		check(tx_hdr_ok(&h));
		drv.tx_seen++;
	}
}

/*
 * num_buffers (bytes 10-11 of what the device wrote) in RX chain @head,
 * which may span its first writable buffers; -1 if they are not RAM.
 */
static int rx_num_buffers(const struct dq *d, uint16_t head)
{
	uint64_t off = offsetof(struct virtio_net_hdr_v1, num_buffers);
	uint8_t b[2];
	unsigned int k = 0;

	for (unsigned int i = 0; i < d->nws[head] && k < 2; i++) {
		uint32_t len = d->ws_len[head][i];
		const uint8_t *p;

		if (off >= len) {
			off -= len;
			continue;
		}
		p = gpa(d->ws_addr[head][i], len);
		if (!p)
			return -1;
		for (; off < len && k < 2; off++)
			b[k++] = p[off];
		off = 0;
	}
	return k == 2 ? b[0] | b[1] << 8 : -1;
}

/* Every new used element: a posted chain, returned once, with a length that fits. */
static void check_used(void)
{
	if (needs_reset())
		drv.tracking = false;
	for (unsigned int q = 0; q < 2; q++) {
		struct dq *d = &drv.q[q];
		struct vring_used *u = used(q);
		uint16_t idx = __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE);
		unsigned int frame_left = 0;

		if (!drv.tracking)
			continue;
		check((uint16_t)(idx - d->used_seen) <= d->outstanding);
		for (; d->used_seen != idx; d->used_seen++) {
			struct vring_used_elem e = u->ring[d->used_seen % drv.size];

			check(e.id < drv.size);
			check(d->posted[e.id]);
			check(e.len <= d->writable[e.id]);
			if (q == NET_TX_QUEUE)
				check(e.len == 0);
			d->posted[e.id] = false;
			d->outstanding--;
			for (unsigned int j = 0; j < d->ndesc[e.id]; j++)
				d->busy[(e.id + j) % drv.size] = false;
			if (q != NET_RX_QUEUE)
				continue;
			if (frame_left) {
				/* The rest of a frame: consecutive, and not empty. */
				check(e.len > 0);
				frame_left--;
			} else if (e.len > 0 && drv.hdr_check) {
				/* A frame's first chain: its header says how many follow. */
				int nb = rx_num_buffers(d, e.id);

				check(e.len >= NET_HDR_SIZE);
				check(nb >= 1);
				if (!has(VIRTIO_NET_F_MRG_RXBUF))
					check(nb == 1);
				check(nb - 1u <= (uint16_t)(idx - d->used_seen - 1));
				frame_left = nb - 1u;
			}
		}
	}
	if (drv.tracking)
		check_held();
}

static uint64_t data_alloc(uint32_t len)
{
	uint64_t a;

	if (len > DATA_END - drv.next_data) {
		drv.next_data = DATA_GPA;
		/* Old RX buffers still out may now share memory with new ones. */
		if (drv.q[NET_RX_QUEUE].outstanding)
			drv.hdr_check = false;
	}
	a = drv.next_data;
	drv.next_data += (len + 15) & ~15u;
	return a;
}

/* A buffer address: mostly RAM, often an edge, sometimes anything. */
static uint64_t pick_addr(struct reader *r, uint16_t sel)
{
	static const uint64_t edges[] = {
		RAM0_GPA, MMIO_GAP_START, RAM1_GPA, RAM1_GPA + RAM1_SIZE,
		0xd0000000ULL /* a device window */, 0, UINT64_MAX - 255, 1ULL << 63,
	};

	switch (sel >> 14) {
	case 1:
		return RAM1_GPA + (sel & 0x3fffu) * 4ULL;
	case 2:
		return edges[(sel >> 8) & 7] + (uint64_t)(int64_t)(int8_t)(sel & 0xff);
	case 3:
		return (uint64_t)get32(r) << 32 | get32(r);
	default: /* the caller allocates fresh RAM */
		return 0;
	}
}

static uint32_t pick_len(uint16_t l)
{
	static const uint32_t edges[] = { 0, 1, 11, 12, 13, 26, 1526, 1536, 4096, 65562,
					  65563, UINT32_MAX, UINT32_MAX - 15, 0x80000000u,
					  2, 6 };

	if (l >= 0xfff0)
		return edges[l & 0xf];
	if (l & 0x8000)
		return (l & 0x7fffu) * 8;
	return l & 0x7fff;
}

/* Kick @q the way the driver does (QueueNotify), then the main loop's handler. */
static void kick(unsigned int q)
{
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, q);
	virtio_net_notify(&net, q);
	check_used();
}

static void backend_event(uint32_t ev)
{
	virtio_net_backend_event(&net, ev);
	check_used();
}

/* Put the chain @bufs on queue @q (direct or indirect), publish it. False when there is no room. */
static bool publish(unsigned int q, struct vring_desc *bufs, unsigned int n, bool indirect,
		    uint64_t writable)
{
	struct dq *d = &drv.q[q];
	unsigned int need = indirect ? 1 : n, run = 0;
	uint16_t head = 0;

	/* The first run of @need free descriptors (chains that came back free theirs). */
	for (unsigned int i = 0; i < drv.size && run < need; i++) {
		run = d->busy[i] ? 0 : run + 1;
		head = (uint16_t)(i + 1 - run);
	}
	if (run < need)
		return false;
	if (indirect) {
		/* Its own table: not rewritten while the chain is out. */
		uint64_t table = TABLE_GPA + 64ULL * (q * VIRTQ_MAX_SIZE + head);

		for (unsigned int i = 0; i < n; i++) {
			bufs[i].flags |= i + 1 < n ? VRING_DESC_F_NEXT : 0;
			bufs[i].next = (uint16_t)(i + 1);
			memcpy(gpa(table + 16 * i, 16), &bufs[i], 16);
		}
		*desc(q, head) = (struct vring_desc){ table, 16 * n, VRING_DESC_F_INDIRECT, 0 };
	} else {
		for (unsigned int i = 0; i < n; i++) {
			bufs[i].flags |= i + 1 < n ? VRING_DESC_F_NEXT : 0;
			bufs[i].next = (uint16_t)(head + i + 1);
			*desc(q, (uint16_t)(head + i)) = bufs[i];
		}
	}
	for (unsigned int i = 0; i < need; i++)
		d->busy[head + i] = true;
	d->ndesc[head] = (uint8_t)need;
	d->posted[head] = true;
	d->writable[head] = writable;
	d->nws[head] = 0;
	for (unsigned int i = 0; i < n; i++) {
		if (!(bufs[i].flags & VRING_DESC_F_WRITE))
			continue;
		d->ws_addr[head][d->nws[head]] = bufs[i].addr;
		d->ws_len[head][d->nws[head]++] = bufs[i].len;
	}
	d->outstanding++;
	avail(q)->ring[d->avail_idx % drv.size] = head;
	__atomic_store_n(&avail(q)->idx, ++d->avail_idx, __ATOMIC_RELEASE);
	return true;
}

/* A buffer written by the device over the rings breaks the driver's view. */
static void note_buffer(uint64_t addr, uint32_t len, bool w)
{
	if (w && addr < DATA_GPA && addr + len > RAM0_GPA) /* addr < 4 GiB: no wrap */
		drv.tracking = false;
}

/* One TX frame: header, frame, cut into up to four buffers. */
static void tx_frame(struct reader *r, uint8_t k)
{
	static const uint8_t gsos[] = {
		VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6,
		VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
		VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN, VIRTIO_NET_HDR_GSO_UDP,
		VIRTIO_NET_HDR_GSO_ECN, 5,
	};
	struct virtio_net_hdr_v1 h = { 0 };
	struct vring_desc bufs[MAX_BUFS];
	uint8_t hs = get8(r), cuts = get8(r);
	uint32_t len = pick_len(get16(r));
	uint64_t total, off = 0, writable = 0;
	unsigned int n = 0, nb = 1 + (cuts & 3);

	if (hs & 0x80) {
		for (unsigned int i = 0; i < NET_HDR_SIZE; i++)
			((uint8_t *)&h)[i] = get8(r);
	} else {
		h.flags = hs & 1 ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0;
		h.gso_type = gsos[(hs >> 1) & 7];
		h.num_buffers = (hs & 0x10) ? 0xffff : 0;
	}
	/* Readable bytes in all: header + frame, or a raw huge length. */
	total = len > NET_MAX_FRAME + 100 ? len : NET_HDR_SIZE + (uint64_t)len;
	for (unsigned int i = 0; i < nb; i++) {
		uint16_t sel = get16(r);
		uint32_t part = (uint32_t)(i + 1 == nb ? total - off : get16(r) % (total - off + 1));
		uint64_t addr = pick_addr(r, sel);
		bool w = cuts & (0x10u << i);

		if (!addr && part <= DATA_END - DATA_GPA) {
			uint8_t *p;

			addr = data_alloc(part);
			p = gpa(addr, part);
			/* Header and frame bytes, as the guest would write them. */
			for (uint32_t j = 0; j < part; j++) {
				uint64_t at = off + j;

				p[j] = at < NET_HDR_SIZE ? ((uint8_t *)&h)[at] : (uint8_t)at;
			}
		} else if (!addr) {
			addr = DATA_GPA;
		}
		note_buffer(addr, part, w);
		if (w)
			writable += part;
		bufs[n++] = (struct vring_desc){ addr, part, w ? VRING_DESC_F_WRITE : 0, 0 };
		off += part;
	}
	if (!publish(NET_TX_QUEUE, bufs, n, k & 0x20, writable)) {
		kick(NET_TX_QUEUE);
		return;
	}
	if (k & 0x80)
		kick(NET_TX_QUEUE);
}

/* Post up to four RX chains of up to three buffers each. */
static void rx_post(struct reader *r, uint8_t k)
{
	unsigned int chains = 1 + (k >> 3 & 3);

	for (unsigned int c = 0; c < chains; c++) {
		struct vring_desc bufs[3];
		uint8_t shape = get8(r);
		unsigned int n = 1 + shape % 3;
		uint64_t writable = 0;

		for (unsigned int i = 0; i < n; i++) {
			uint16_t sel = get16(r);
			uint32_t len = pick_len(get16(r));
			uint64_t addr = pick_addr(r, sel);
			bool w = !(shape & (0x10u << i));

			if (!addr && len <= DATA_END - DATA_GPA) {
				addr = data_alloc(len);
				if (len)
					memset(gpa(addr, len), 0xcc, len);
			} else {
				if (!addr)
					addr = DATA_GPA;
				/* May overlap other RX buffers: headers can be overwritten. */
				if (w)
					drv.hdr_check = false;
			}
			note_buffer(addr, len, w);
			if (w)
				writable += len;
			bufs[i] = (struct vring_desc){ addr, len, w ? VRING_DESC_F_WRITE : 0, 0 };
		}
		if (!publish(NET_RX_QUEUE, bufs, n, shape & 0x80, writable))
			break;
	}
	if (k & 0x80)
		kick(NET_RX_QUEUE);
}

/* Frames from the network: runts to oversized, header bytes from the input. */
static void inject(struct reader *r, uint8_t k)
{
	static const uint32_t lens[] = { 0, 5, 11, 12, 26, 60, 1514, 1530, 1531, 4000,
					 NET_HDR_SIZE + NET_MAX_FRAME, NET_HDR_SIZE + 9018,
					 NET_HDR_SIZE + NET_MAX_FRAME + 1, 70000, 100, 1000 };
	unsigned int count = 1 + (k >> 3 & 3);

	for (unsigned int c = 0; c < count; c++) {
		uint8_t s = get8(r);
		uint32_t len = s & 0x80 ? lens[s & 15] : (uint32_t)(s & 0x7f) * 37 + get8(r);

		if (len > sizeof(msg))
			len = sizeof(msg);
		for (uint32_t i = 0; i < len && i < NET_HDR_SIZE; i++)
			msg[i] = (s & 0x40) ? get8(r) : 0;
		for (uint32_t i = NET_HDR_SIZE; i < len; i++)
			msg[i] = (uint8_t)(i * 7);
		if (send(peer, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len) {
			drv.injected++;
			drv.injected_bytes += len;
		}
	}
	if (k & 0x80)
		backend_event(EPOLLIN);
}

/* The host side stops reading: fill the socket so the device's writes block. */
static void fill_backend(void)
{
	uint8_t b = 0xf1;

	while (send(dev_fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
		;
}

static void misbehave(struct reader *r, uint8_t h)
{
	uint8_t op = get8(r);
	unsigned int q = op >> 7;

	drv.tracking = false;
	switch (op & 7) {
	case 0: /* reset in the middle, then start over (checked again from here) */
		driver_init(h);
		break;
	case 1: { /* publish a raw head index */
		struct vring_avail *a = avail(q);

		a->ring[drv.q[q].avail_idx % drv.size] = get16(r);
		a->idx = ++drv.q[q].avail_idx;
		break;
	}
	case 2: /* avail.idx jumps */
		drv.q[q].avail_idx = (uint16_t)(drv.q[q].avail_idx + get8(r));
		avail(q)->idx = drv.q[q].avail_idx;
		break;
	case 3: /* queue registers rewritten after DRIVER_OK */
		wr(VIRTIO_MMIO_QUEUE_SEL, q);
		wr(VIRTIO_MMIO_QUEUE_READY, op >> 6 & 1);
		wr(VIRTIO_MMIO_QUEUE_NUM, get16(r));
		wr(VIRTIO_MMIO_QUEUE_DESC_LOW, get32(r));
		wr(VIRTIO_MMIO_QUEUE_USED_LOW, get32(r));
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
		break;
	case 4: { /* raw descriptor bytes */
		uint16_t i = get8(r);

		fuzz_raw_desc(r, desc(q, i));
		break;
	}
	case 5: /* raw register write (any offset, any width); a reset is case 0 */
		fuzz_raw_reg_write(r, &vm);
		break;
	case 6: { /* config space read */
		uint8_t buf[8];
		uint32_t off = get16(r);

		virtio_mmio_io(&vm, VIRTIO_MMIO_CONFIG + (off & 0xeff), buf, 1 + (op >> 4) % 8,
			       false);
		break;
	}
	default: /* event suppression fields */
		avail(q)->flags = get16(r);
		avail(q)->ring[drv.size] = get16(r); /* used_event */
		break;
	}
	check_used();
}

/* One record from the input; returns false when the input is used up. */
static bool record(struct reader *r, uint8_t h)
{
	uint8_t k;

	if (!r->n)
		return false;
	k = get8(r);
	switch (k & 7) {
	case 0:
	case 1:
		tx_frame(r, k);
		break;
	case 2:
		rx_post(r, k);
		break;
	case 3:
		inject(r, k);
		break;
	case 4: {
		static const uint32_t evs[] = { EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT, 0,
						EPOLLIN | EPOLLOUT, EPOLLIN, EPOLLOUT, EPOLLERR };
		uint32_t ev = evs[k >> 3 & 7];

		if (ev == EPOLLERR && !(k & 0x80))
			ev = EPOLLIN; /* the tap going away ends all I/O: keep it rare */
		backend_event(ev);
		break;
	}
	case 5:
		if (k & 0x80)
			drain_peer();
		else
			fill_backend();
		break;
	case 6: { /* kick any queue number, valid or not */
		uint32_t q = k >> 3;

		wr(VIRTIO_MMIO_QUEUE_NOTIFY, q);
		virtio_net_notify(&net, q);
		check_used();
		break;
	}
	default:
		misbehave(r, h);
		break;
	}
	return true;
}

static void device_open(uint8_t h, uint8_t h2)
{
	static const uint32_t mtus[] = { 0, 1500, 9000, 68 };
	struct net_config cfg = { .is_tap = false, .offloads = h & 1,
				  .mac = { 0x02, 0, 0, 0, 0, 1 }, .mtu = mtus[h2 & 3] };
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
		abort();
	dev_fd = fds[0];
	peer = fds[1];
	cfg.fd = dev_fd;
	drv.mtu = cfg.mtu ? cfg.mtu : NET_DEFAULT_MTU;
	if (virtio_net_init(&net, &cfg) < 0)
		abort();
	virtio_mmio_init(&vm, &virtio_net_ops, &net, &mem, irq_fd);
	net.transport = &vm;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct reader r = { data, len };
	uint8_t h, h2;

	if (!ram0)
		fuzz_init();
	if (len < 2)
		return 0;
	h = get8(&r);
	h2 = get8(&r);
	memset(&drv, 0, sizeof(drv));
	drv.size = (uint16_t)(8u << (h2 >> 2) % 6);  /* 8 .. 256 */
	memset(ram0, 0, RAM0_SIZE);
	memset(ram1, 0, RAM1_SIZE);
	device_open(h, h2);
	driver_init(h);
	for (unsigned int i = 0; i < MAX_RECORDS && record(&r, h); i++)
		;
	/* The host side reads everything; the driver kicks both queues once more. */
	drain_peer();
	backend_event(EPOLLOUT | EPOLLIN);
	kick(NET_TX_QUEUE);
	kick(NET_RX_QUEUE);
	drain_peer();
	check(drv.tx_seen == net.stats.tx_packets);
	check(net.stats.rx_packets + net.stats.rx_dropped <= drv.injected);
	check(net.stats.rx_bytes <= drv.injected_bytes);
	virtio_net_close(&net);
	check(net.fd < 0);
	virtio_mmio_destroy(&vm);
	close(peer);
	{
		uint64_t v;

		if (read(irq_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			abort();
	}
	return 0;
}
