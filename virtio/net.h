/*
 * net.h — virtio-net device over a tap (floor 2). virtio 1.2 §5.1.
 *
 * Queue 0 receives (tap → guest), queue 1 transmits (guest → tap); no
 * control queue, no multiqueue. The backend is a file descriptor that
 * carries one Ethernet frame per read/write, each preceded by the 12-byte
 * struct virtio_net_hdr_v1: a tap opened with IFF_VNET_HDR and
 * TUNSETVNETHDRSZ 12 (virtio/tap.h), or a SOCK_SEQPACKET socket in tests.
 * The guest's header layout equals the tap's, so frames move with one
 * readv/writev straight between the tap and the guest's buffers.
 *
 * RX: the device holds popped guest buffers until a frame may need no
 * more (one chain without VIRTIO_NET_F_MRG_RXBUF; with it, room for the
 * largest frame the negotiated offloads allow), then reads one frame
 * straight into them. The tap fd is watched for EPOLLIN only while the
 * device is active and has such buffers; when they run out, RX pauses (no
 * busy loop) and the next RX queue notification resumes it. With EVENT_IDX the
 * device publishes avail_event before pausing and re-checks the ring, so
 * a buffer added meanwhile is not missed (the bug class of Firecracker's
 * CVE-2020-16843).
 *
 * Locking: every entry point except init/close takes the transport's lock
 * (vmmio->lock); ops callbacks run with it held (on a vCPU thread).
 */
#ifndef BRISK_VIRTIO_NET_H
#define BRISK_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_net.h>

#include "virtio/mmio.h"
#include "virtio/virtqueue.h"
#include "vmm/event_loop.h"

#define NET_RX_QUEUE 0
#define NET_TX_QUEUE 1
#define NET_HDR_SIZE 12u            /* sizeof(struct virtio_net_hdr_v1) */
#define NET_ETH_HLEN 14u
#define NET_MAX_FRAME 65550u        /* bytes after the header: 64 KiB GSO packet + Ethernet */
#define NET_DEFAULT_MTU 1500u
#define NET_RX_MAX_IOV 256          /* gather RX buffers until this many iovecs (or enough room) */
#define NET_BATCH 64                /* frames per direction per event, then yield */

struct net_config {
	int fd;               /* backend fd, non-blocking; owned by the device from init on */
	bool is_tap;          /* apply guest offloads to it with TUNSETOFFLOAD */
	bool offloads;        /* the backend takes checksum/TSO offloads: offer them */
	uint8_t mac[6];
	uint32_t mtu;         /* backend MTU in bytes (0: 1500); sizes RX without GSO */
};

/* Counters (for metrics). Frames are counted after the header. */
struct net_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t rx_dropped;      /* frame read from the tap but not delivered (too big for the buffers) */
	uint64_t rx_paused;       /* times RX stopped because the guest had no buffers */
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_dropped;      /* guest frame refused (malformed header, short, oversized, tap error) */
	uint64_t bad_chains;      /* chains that broke the rules (either queue), returned with len 0 */
};

/* One guest buffer chain gathered for a received frame. */
struct net_rx_part {
	uint16_t head;
	uint32_t len;             /* bytes writable, at most NET_HDR_SIZE + NET_MAX_FRAME */
	unsigned int iov;         /* its first entry in rx_iov */
};

struct virtio_net {
	struct virtio_mmio *transport;   /* set by the machine before use */
	int fd;
	bool is_tap, offloads;
	uint32_t mtu;
	struct virtio_net_config config;
	uint64_t features;               /* negotiated */
	unsigned int tap_offloads;       /* TUN_F_* applied for the guest's features */
	bool active;
	bool rx_wait_buffers;            /* paused: the guest has no (or too few) RX buffers */
	bool tx_wait_tap;                /* the tap would block: TX resumes on EPOLLOUT */
	bool backend_gone;               /* the tap was deleted (EPOLLERR): no more I/O */
	bool need_signal[2];
	struct event_loop *loop;         /* where fd is watched (NULL until attached) */
	uint32_t interest;               /* epoll events fd is watched for */
	struct net_stats stats;

	/* Scratch, main thread only. */
	struct virtq_chain chain;
	/* RX buffers popped and held for the next frames, in ring order. */
	struct net_rx_part rx_parts[VIRTQ_MAX_SIZE];
	unsigned int rx_nparts, rx_iovcnt;
	uint64_t rx_room;                /* bytes writable in rx_parts */
	struct iovec rx_iov[NET_RX_MAX_IOV + VIRTQ_MAX_SEGS + 1];
	struct iovec tx_iov[VIRTQ_MAX_SEGS + 1];
	struct virtio_net_hdr_v1 tx_hdr;
	uint8_t rx_spill[64];            /* catches the bytes of a frame that did not fit */
};

/* The device's ops for the transport. */
extern const struct virtio_dev_ops virtio_net_ops;

/*
 * Set up the device on backend @cfg->fd (ownership passes to @n, also on
 * failure). Config space: MAC, link up. Returns 0 or -errno.
 */
int virtio_net_init(struct virtio_net *n, const struct net_config *cfg);

/* Close the backend. Idempotent. */
void virtio_net_close(struct virtio_net *n);

/*
 * Watch the backend fd in @loop (main thread, before the vCPUs start):
 * EPOLLIN while RX can proceed, EPOLLOUT while TX waits. 0 or -errno.
 */
int virtio_net_attach(struct virtio_net *n, struct event_loop *loop);

/* Main thread: the guest notified queue @queue (RX: buffers added; TX: frames). */
void virtio_net_notify(struct virtio_net *n, unsigned int queue);

/* Main thread: the backend fd has @events (EPOLLIN / EPOLLOUT). */
void virtio_net_backend_event(struct virtio_net *n, uint32_t events);

/*
 * TUN_F_* offloads matching negotiated guest features @features
 * (VIRTIO_NET_F_GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN, GUEST_UFO).
 */
unsigned int virtio_net_tap_offloads(uint64_t features);

#endif
