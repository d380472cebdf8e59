/*
 * virtq_helper.h — the driver side of a split virtqueue in fake guest
 * memory, and a virtio-blk test rig (virtio-mmio transport + virtio_blk over
 * a sparse temp file, synchronous I/O engine), driven through the transport's
 * registers the way Linux's virtio_mmio and virtio_blk drivers do.
 *
 * Tests build rings and chains here (any address, length, flags or next,
 * including hostile ones), then run the real device code and read the used
 * ring back.
 */
#ifndef BRISK_TESTS_VIRTQ_HELPER_H
#define BRISK_TESTS_VIRTQ_HELPER_H

#include "tests/unit/testlib.h"

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/virtqueue.h"

/* ---- the driver's view of one split virtqueue ---- */

struct vqh {
	struct fake_mem *fm;
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;     /* host pointers into the fake RAM */
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;          /* the driver's next avail index */
	uint16_t used_seen;          /* used entries consumed by vqh_used_pop() */
	uint16_t next_desc;          /* simple allocator: next descriptor to hand out */
};

/* One buffer of a chain as the driver describes it. */
struct vqh_buf {
	uint64_t addr;   /* GPA */
	uint32_t len;    /* bytes */
	bool write;      /* device-writable */
};

/* Ring bytes for @n entries, incl. used_event / avail_event. */
#define VQH_DESC_BYTES(n) (16u * (n))
#define VQH_AVAIL_BYTES(n) (6u + 2u * (n))
#define VQH_USED_BYTES(n) (6u + 8u * (n))

/*
 * Lay out a queue of @size entries at the given GPAs (each must be RAM for
 * the test to be able to write it) and zero the three rings.
 */
void vqh_init(struct vqh *q, struct fake_mem *fm, uint16_t size, uint64_t desc_gpa,
	      uint64_t avail_gpa, uint64_t used_gpa);

/* Copy size and ring addresses into a device-side struct virtq (not enabled). */
void vqh_to_virtq(const struct vqh *q, struct virtq *vq);

/* Write descriptor @i verbatim (any values). */
void vqh_set_desc(struct vqh *q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next);

/*
 * Add a direct chain of @n buffers on consecutive free descriptors (NEXT
 * links them, WRITE from each buffer). Returns the head index (not published).
 */
uint16_t vqh_add_chain(struct vqh *q, const struct vqh_buf *bufs, unsigned int n);

/*
 * Write an indirect table of @n entries for @bufs at @table_gpa and one ring
 * descriptor (INDIRECT, len 16*n) pointing at it. Returns that descriptor's index.
 */
uint16_t vqh_add_indirect(struct vqh *q, uint64_t table_gpa, const struct vqh_buf *bufs,
			  unsigned int n);

/* Entry @i of an indirect table at @table_gpa, verbatim. */
void vqh_set_indirect_desc(struct vqh *q, uint64_t table_gpa, uint16_t i, uint64_t addr,
			   uint32_t len, uint16_t flags, uint16_t next);

/* Put @head in the avail ring and publish avail.idx (release). */
void vqh_publish(struct vqh *q, uint16_t head);

/* Write avail.idx directly (for drivers that run ahead / lie). */
void vqh_set_avail_idx(struct vqh *q, uint16_t idx);

/* The device's used.idx. */
uint16_t vqh_used_idx(const struct vqh *q);

/* Next unconsumed used element into @e; false when there is none. */
bool vqh_used_pop(struct vqh *q, struct vring_used_elem *e);

/* EVENT_IDX fields: used_event (driver → device), avail_event (device → driver). */
void vqh_set_used_event(struct vqh *q, uint16_t v);
uint16_t vqh_avail_event(const struct vqh *q);
void vqh_set_avail_flags(struct vqh *q, uint16_t flags);

/* ---- the driver's side of the virtio-mmio transport, Linux order ---- */

/* 32-bit register access at @off of the device's window (virtio_mmio_io). */
uint32_t vmh_read32(struct virtio_mmio *m, uint32_t off);
void vmh_write32(struct virtio_mmio *m, uint32_t off, uint32_t v);
/* STATUS |= @bits. */
void vmh_add_status(struct virtio_mmio *m, uint32_t bits);

/*
 * virtio_dev_probe(): check magic, version 2 and @device_id, reset, set
 * ACKNOWLEDGE and DRIVER. Returns the 64 feature bits the device offers
 * (high word read first).
 */
uint64_t vmh_begin(struct virtio_mmio *m, uint32_t device_id);

/* Write @features (high word first), set FEATURES_OK; true if the device kept it. */
bool vmh_set_features(struct virtio_mmio *m, uint64_t features);

/*
 * vm_setup_vq(): queue @index of @size entries (0: QueueNumMax) at the
 * given GPAs, laid out in @q, then QueueReady.
 */
void vmh_setup_queue(struct virtio_mmio *m, struct fake_mem *fm, struct vqh *q,
		     unsigned int index, uint16_t size, uint64_t desc_gpa, uint64_t avail_gpa,
		     uint64_t used_gpa);

/* ---- virtio-blk over virtio-mmio, Linux-driver style ---- */

struct blkh_opts {
	uint64_t image_size;      /* bytes of the sparse image (default 1 MiB) */
	bool read_only, flush;
	const char *id;           /* drive id (default "brisk-test-disk") */
	uint64_t ram_low;         /* RAM at 0 (default 16 MiB) */
	uint64_t ram_high;        /* RAM at 4 GiB (default none) */
	uint16_t queue_size;      /* default QueueNumMax */
	uint64_t drop_features;   /* feature bits the driver declines */
	bool no_driver_ok;        /* stop after the queue setup */
};

struct blkh {
	struct fake_mem fm;
	struct virtio_mmio mmio;
	struct virtio_blk blk;
	struct vqh q;
	char path[64];
	int irq_fd;
	uint64_t features;        /* what the driver wrote */
	uint64_t next_gpa;        /* bump allocator for request buffers */
	uint64_t alloc_start, alloc_end;
};

/* Rings of the rig: fixed GPAs in low RAM. */
#define BLKH_DESC_GPA 0x10000ULL
#define BLKH_AVAIL_GPA 0x11000ULL
#define BLKH_USED_GPA 0x12000ULL
#define BLKH_DATA_GPA 0x100000ULL

/* Create the image and the device, then initialise it as Linux does. */
void blkh_setup(struct blkh *h, const struct blkh_opts *o);
void blkh_teardown(struct blkh *h);

/* 32-bit register access at @off of the device's window (virtio_mmio_io). */
uint32_t blkh_read32(struct blkh *h, uint32_t off);
void blkh_write32(struct blkh *h, uint32_t off, uint32_t v);
/* Any-width access (config space, odd widths). */
void blkh_io(struct blkh *h, uint32_t off, void *data, uint32_t len, bool is_write);

/* The Linux init sequence from reset up to (and, unless asked, incl.) DRIVER_OK. */
void blkh_driver_init(struct blkh *h, const struct blkh_opts *o);

/* Guest buffer of @len bytes (16-byte aligned) from the data area, filled with @fill. */
uint64_t blkh_alloc(struct blkh *h, uint32_t len, uint8_t fill);
uint8_t *blkh_host(struct blkh *h, uint64_t gpa, uint64_t len);

/* Kick: QueueNotify register write, then the main loop's virtio_blk_notify(). */
void blkh_kick(struct blkh *h);

/* A standard request: header (16, R), optional data, status (1, W). */
struct blkh_req {
	uint64_t hdr_gpa, data_gpa, status_gpa;
	uint32_t data_len;
	uint16_t head;
};

/*
 * Build (not publish) a 3-descriptor request: header with @type and @sector,
 * a data buffer of @data_len bytes (device-writable for IN and GET_ID,
 * readable otherwise; none when @data_len is 0) and a status byte preset to
 * 0xee so a device that never writes it is visible.
 */
void blkh_req_build(struct blkh *h, struct blkh_req *r, uint32_t type, uint64_t sector,
		    uint32_t data_len);

/*
 * Publish @head, kick, and return the used element for it. Fails the test if
 * there is none, or more than one (a double completion).
 */
struct vring_used_elem blkh_run_head(struct blkh *h, uint16_t head);

/* Build, run, and return the status byte; *@used_len gets the used length. */
uint8_t blkh_do(struct blkh *h, uint32_t type, uint64_t sector, void *data, uint32_t data_len,
		uint32_t *used_len);

/* Header (16 bytes, readable) for @type / @sector in fresh guest memory; its GPA. */
uint64_t blkh_hdr(struct blkh *h, uint32_t type, uint64_t sector);

/*
 * A DISCARD / WRITE_ZEROES request with @n ranges (none when 0): header,
 * ranges, status. Runs it; returns the status byte and *@used_len.
 */
uint8_t blkh_ranges(struct blkh *h, uint32_t type,
		    const struct virtio_blk_discard_write_zeroes *r, unsigned int n,
		    uint32_t *used_len);

/*
 * Run chain @head, which the device must refuse as a whole: used length 0,
 * the status byte at @st_gpa (if not 0) still 0xee, the image hash still
 * @hash and no NEEDS_RESET (a bad chain is not a broken ring).
 */
void blkh_expect_rejected(struct blkh *h, uint16_t head, uint64_t st_gpa, uint64_t hash);

/* The config space as the driver reads it (byte by byte). */
struct virtio_blk_config blkh_config(struct blkh *h);

/* ---- data patterns ---- */

/* Pattern @seed as it sits from image byte offset @off on (so any slice compares). */
void blkh_pattern(uint8_t *p, size_t len, uint8_t seed, uint64_t off);
bool bytes_all(const uint8_t *p, size_t len, uint8_t v);

/* ---- the image file ---- */
void blkh_file_write(struct blkh *h, uint64_t off, const void *buf, size_t len);
void blkh_file_read(struct blkh *h, uint64_t off, void *buf, size_t len);
/* FNV-1a over the whole image, for "unchanged" checks. */
uint64_t blkh_file_hash(struct blkh *h);
uint64_t blkh_file_size(struct blkh *h);
uint64_t blkh_file_blocks(struct blkh *h); /* st_blocks (512-byte units) */
void blkh_file_sync(struct blkh *h);       /* fsync, so st_blocks is settled */
/* Sectors [@sector, +@n) of the image: fill with / compare to pattern @seed, or zeroes. */
void blkh_seed_image(struct blkh *h, uint64_t sector, uint32_t n, uint8_t seed);
void blkh_assert_image(struct blkh *h, uint64_t sector, uint32_t n, uint8_t seed);
void blkh_assert_image_zero(struct blkh *h, uint64_t sector, uint32_t n);

#endif
