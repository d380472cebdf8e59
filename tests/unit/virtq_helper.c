/* virtq_helper.c — driver-side split virtqueue and virtio-blk test rig (see virtq_helper.h). */
#include "tests/unit/virtq_helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

/* ---- split virtqueue, driver side ---- */

void vqh_init(struct vqh *q, struct fake_mem *fm, uint16_t size, uint64_t desc_gpa,
	      uint64_t avail_gpa, uint64_t used_gpa)
{
	memset(q, 0, sizeof(*q));
	q->fm = fm;
	q->size = size;
	q->desc_gpa = desc_gpa;
	q->avail_gpa = avail_gpa;
	q->used_gpa = used_gpa;
	q->desc = fake_mem_at(fm, desc_gpa, VQH_DESC_BYTES(size));
	q->avail = fake_mem_at(fm, avail_gpa, VQH_AVAIL_BYTES(size));
	q->used = fake_mem_at(fm, used_gpa, VQH_USED_BYTES(size));
	memset(q->desc, 0, VQH_DESC_BYTES(size));
	memset(q->avail, 0, VQH_AVAIL_BYTES(size));
	memset(q->used, 0, VQH_USED_BYTES(size));
}

void vqh_to_virtq(const struct vqh *q, struct virtq *vq)
{
	memset(vq, 0, sizeof(*vq));
	vq->size = q->size;
	vq->desc_gpa = q->desc_gpa;
	vq->avail_gpa = q->avail_gpa;
	vq->used_gpa = q->used_gpa;
	vq->ready = true;
}

void vqh_set_desc(struct vqh *q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next)
{
	assert_true(i < q->size);
	q->desc[i] = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

static uint16_t vqh_take_desc(struct vqh *q)
{
	uint16_t i = q->next_desc;

	q->next_desc = (uint16_t)((q->next_desc + 1) % q->size);
	return i;
}

uint16_t vqh_add_chain(struct vqh *q, const struct vqh_buf *bufs, unsigned int n)
{
	uint16_t head = q->next_desc, i = 0;

	assert_true(n > 0 && n <= q->size);
	for (unsigned int k = 0; k < n; k++) {
		uint16_t flags = bufs[k].write ? VRING_DESC_F_WRITE : 0;
		uint16_t next;

		i = vqh_take_desc(q);
		next = q->next_desc;
		if (k + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		else
			next = 0;
		vqh_set_desc(q, i, bufs[k].addr, bufs[k].len, flags, next);
	}
	return head;
}

void vqh_set_indirect_desc(struct vqh *q, uint64_t table_gpa, uint16_t i, uint64_t addr,
			   uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *t = fake_mem_at(q->fm, table_gpa + 16ULL * i, 16);

	*t = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

uint16_t vqh_add_indirect(struct vqh *q, uint64_t table_gpa, const struct vqh_buf *bufs,
			  unsigned int n)
{
	uint16_t i = vqh_take_desc(q);

	for (unsigned int k = 0; k < n; k++)
		vqh_set_indirect_desc(q, table_gpa, (uint16_t)k, bufs[k].addr, bufs[k].len,
				      (uint16_t)((bufs[k].write ? VRING_DESC_F_WRITE : 0) |
						 (k + 1 < n ? VRING_DESC_F_NEXT : 0)),
				      (uint16_t)(k + 1 < n ? k + 1 : 0));
	vqh_set_desc(q, i, table_gpa, 16u * n, VRING_DESC_F_INDIRECT, 0);
	return i;
}

void vqh_publish(struct vqh *q, uint16_t head)
{
	q->avail->ring[q->avail_idx % q->size] = head;
	q->avail_idx++;
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
}

void vqh_set_avail_idx(struct vqh *q, uint16_t idx)
{
	q->avail_idx = idx;
	__atomic_store_n(&q->avail->idx, idx, __ATOMIC_RELEASE);
}

uint16_t vqh_used_idx(const struct vqh *q)
{
	return __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
}

bool vqh_used_pop(struct vqh *q, struct vring_used_elem *e)
{
	if (vqh_used_idx(q) == q->used_seen)
		return false;
	*e = q->used->ring[q->used_seen % q->size];
	q->used_seen++;
	return true;
}

void vqh_set_used_event(struct vqh *q, uint16_t v)
{
	q->avail->ring[q->size] = v;
}

uint16_t vqh_avail_event(const struct vqh *q)
{
	uint16_t v;

	memcpy(&v, &q->used->ring[q->size], sizeof(v));
	return v;
}

void vqh_set_avail_flags(struct vqh *q, uint16_t flags)
{
	q->avail->flags = flags;
}

/* ---- the driver's side of the virtio-mmio transport ---- */

uint32_t vmh_read32(struct virtio_mmio *m, uint32_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_io(m, off, (uint8_t *)&v, 4, false);
	return v;
}

void vmh_write32(struct virtio_mmio *m, uint32_t off, uint32_t v)
{
	virtio_mmio_io(m, off, (uint8_t *)&v, 4, true);
}

void vmh_add_status(struct virtio_mmio *m, uint32_t bits)
{
	vmh_write32(m, VIRTIO_MMIO_STATUS, vmh_read32(m, VIRTIO_MMIO_STATUS) | bits);
}

uint64_t vmh_begin(struct virtio_mmio *m, uint32_t device_id)
{
	uint64_t offered;

	assert_int_equal(vmh_read32(m, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(vmh_read32(m, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(vmh_read32(m, VIRTIO_MMIO_DEVICE_ID), device_id);
	vmh_write32(m, VIRTIO_MMIO_STATUS, 0);
	vmh_add_status(m, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vmh_add_status(m, VIRTIO_CONFIG_S_DRIVER);
	vmh_write32(m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)vmh_read32(m, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	vmh_write32(m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return offered | vmh_read32(m, VIRTIO_MMIO_DEVICE_FEATURES);
}

bool vmh_set_features(struct virtio_mmio *m, uint64_t features)
{
	vmh_write32(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vmh_write32(m, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	vmh_write32(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vmh_write32(m, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	vmh_add_status(m, VIRTIO_CONFIG_S_FEATURES_OK);
	return vmh_read32(m, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK;
}

void vmh_setup_queue(struct virtio_mmio *m, struct fake_mem *fm, struct vqh *q,
		     unsigned int index, uint16_t size, uint64_t desc_gpa, uint64_t avail_gpa,
		     uint64_t used_gpa)
{
	uint32_t max;

	vmh_write32(m, VIRTIO_MMIO_QUEUE_SEL, index);
	assert_int_equal(vmh_read32(m, VIRTIO_MMIO_QUEUE_READY), 0);
	max = vmh_read32(m, VIRTIO_MMIO_QUEUE_NUM_MAX);
	assert_true(max > 0);
	vqh_init(q, fm, size ? size : (uint16_t)max, desc_gpa, avail_gpa, used_gpa);
	vmh_write32(m, VIRTIO_MMIO_QUEUE_NUM, q->size);
	vmh_write32(m, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc_gpa);
	vmh_write32(m, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc_gpa >> 32));
	vmh_write32(m, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)q->avail_gpa);
	vmh_write32(m, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(q->avail_gpa >> 32));
	vmh_write32(m, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)q->used_gpa);
	vmh_write32(m, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(q->used_gpa >> 32));
	vmh_write32(m, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* ---- virtio-blk rig ---- */

uint32_t blkh_read32(struct blkh *h, uint32_t off)
{
	return vmh_read32(&h->mmio, off);
}

void blkh_write32(struct blkh *h, uint32_t off, uint32_t v)
{
	vmh_write32(&h->mmio, off, v);
}

void blkh_io(struct blkh *h, uint32_t off, void *data, uint32_t len, bool is_write)
{
	virtio_mmio_io(&h->mmio, off, data, len, is_write);
}

/*
 * drivers/virtio/virtio.c + virtio_mmio.c: reset, ACKNOWLEDGE, DRIVER,
 * features (high word first), FEATURES_OK and read it back, then per queue
 * QueueSel / QueueReady==0 / QueueNumMax / QueueNum / addresses / QueueReady,
 * and DRIVER_OK.
 */
void blkh_driver_init(struct blkh *h, const struct blkh_opts *o)
{
	h->features = vmh_begin(&h->mmio, 2 /* VIRTIO_ID_BLOCK */) & ~o->drop_features;
	if (!vmh_set_features(&h->mmio, h->features))
		return; /* the device refused: the caller checks */
	vmh_setup_queue(&h->mmio, &h->fm, &h->q, 0, o->queue_size, BLKH_DESC_GPA, BLKH_AVAIL_GPA,
			BLKH_USED_GPA);
	if (!o->no_driver_ok)
		vmh_add_status(&h->mmio, VIRTIO_CONFIG_S_DRIVER_OK);
}

void blkh_setup(struct blkh *h, const struct blkh_opts *o)
{
	struct blk_drive_config cfg = {
		.path = h->path,
		.id = o->id ? o->id : "brisk-test-disk",
		.read_only = o->read_only,
		.flush = o->flush,
		.engine = IO_ENGINE_SYNC,
	};
	uint64_t low = o->ram_low ? o->ram_low : 16 * TEST_MiB;
	char why[256] = "";
	int fd, r;

	memset(h, 0, sizeof(*h));
	snprintf(h->path, sizeof(h->path), "/tmp/brisk-blk-test-XXXXXX");
	fd = mkstemp(h->path);
	if (fd < 0)
		fail_msg("mkstemp: %s", strerror(errno));
	if (ftruncate(fd, (off_t)(o->image_size ? o->image_size : TEST_MiB)) < 0)
		fail_msg("ftruncate: %s", strerror(errno));
	close(fd);

	if (o->ram_high)
		fake_mem_init_split(&h->fm, low, o->ram_high);
	else
		fake_mem_init(&h->fm, low);
	h->alloc_start = h->next_gpa = BLKH_DATA_GPA;
	h->alloc_end = low;

	r = virtio_blk_open(&h->blk, &cfg, why, sizeof(why));
	if (r < 0)
		fail_msg("virtio_blk_open: %s", why);
	h->irq_fd = test_eventfd();
	virtio_mmio_init(&h->mmio, &virtio_blk_ops, &h->blk, &h->fm.mem, h->irq_fd);
	h->blk.transport = &h->mmio;
	blkh_driver_init(h, o);
}

void blkh_teardown(struct blkh *h)
{
	virtio_blk_close(&h->blk);
	virtio_mmio_destroy(&h->mmio);
	close(h->irq_fd);
	unlink(h->path);
	fake_mem_destroy(&h->fm);
}

uint64_t blkh_alloc(struct blkh *h, uint32_t len, uint8_t fill)
{
	uint64_t gpa = h->next_gpa;

	if (len > h->alloc_end - gpa)
		fail_msg("blkh_alloc: out of test RAM (%u bytes)", len);
	h->next_gpa = (gpa + len + 15) & ~15ULL;
	if (len)
		memset(blkh_host(h, gpa, len), fill, len);
	return gpa;
}

uint8_t *blkh_host(struct blkh *h, uint64_t gpa, uint64_t len)
{
	return fake_mem_at(&h->fm, gpa, len);
}

void blkh_kick(struct blkh *h)
{
	blkh_write32(h, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_blk_notify(&h->blk);
}

void blkh_req_build(struct blkh *h, struct blkh_req *r, uint32_t type, uint64_t sector,
		    uint32_t data_len)
{
	struct virtio_blk_outhdr hdr = { .type = type, .ioprio = 0, .sector = sector };
	bool data_write = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	struct vqh_buf bufs[3];
	unsigned int n = 0;

	memset(r, 0, sizeof(*r));
	r->hdr_gpa = blkh_alloc(h, sizeof(hdr), 0);
	memcpy(blkh_host(h, r->hdr_gpa, sizeof(hdr)), &hdr, sizeof(hdr));
	bufs[n++] = (struct vqh_buf){ r->hdr_gpa, sizeof(hdr), false };
	if (data_len) {
		r->data_gpa = blkh_alloc(h, data_len, data_write ? 0xcc : 0);
		r->data_len = data_len;
		bufs[n++] = (struct vqh_buf){ r->data_gpa, data_len, data_write };
	}
	r->status_gpa = blkh_alloc(h, 1, 0xee);
	bufs[n++] = (struct vqh_buf){ r->status_gpa, 1, true };
	r->head = vqh_add_chain(&h->q, bufs, n);
}

struct vring_used_elem blkh_run_head(struct blkh *h, uint16_t head)
{
	struct vring_used_elem e;

	vqh_publish(&h->q, head);
	blkh_kick(h);
	if (!vqh_used_pop(&h->q, &e))
		fail_msg("request with head %u was not returned in the used ring", head);
	assert_int_equal(e.id, head);
	/* One request, one used element: a second one is a double completion. */
	if (vqh_used_idx(&h->q) != h->q.used_seen)
		fail_msg("request with head %u completed more than once (used idx %u, expected %u)",
			 head, vqh_used_idx(&h->q), h->q.used_seen);
	return e;
}

uint8_t blkh_do(struct blkh *h, uint32_t type, uint64_t sector, void *data, uint32_t data_len,
		uint32_t *used_len)
{
	struct blkh_req r;
	struct vring_used_elem e;
	bool data_write = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;

	blkh_req_build(h, &r, type, sector, data_len);
	if (data_len && !data_write && data)
		memcpy(blkh_host(h, r.data_gpa, data_len), data, data_len);
	e = blkh_run_head(h, r.head);
	if (used_len)
		*used_len = e.len;
	if (data_len && data_write && data)
		memcpy(data, blkh_host(h, r.data_gpa, data_len), data_len);
	return *(uint8_t *)blkh_host(h, r.status_gpa, 1);
}

uint64_t blkh_hdr(struct blkh *h, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr hdr = { .type = type, .sector = sector };
	uint64_t gpa = blkh_alloc(h, sizeof(hdr), 0);

	memcpy(blkh_host(h, gpa, sizeof(hdr)), &hdr, sizeof(hdr));
	return gpa;
}

uint8_t blkh_ranges(struct blkh *h, uint32_t type,
		    const struct virtio_blk_discard_write_zeroes *r, unsigned int n,
		    uint32_t *used_len)
{
	uint64_t hdr = blkh_hdr(h, type, 0), st = blkh_alloc(h, 1, 0xee);
	struct vqh_buf b[3] = { { hdr, 16, false } };
	unsigned int k = 1;

	if (n) {
		uint64_t gpa = blkh_alloc(h, 16 * n, 0);

		memcpy(blkh_host(h, gpa, 16 * n), r, 16 * n);
		b[k++] = (struct vqh_buf){ gpa, 16 * n, false };
	}
	b[k++] = (struct vqh_buf){ st, 1, true };
	*used_len = blkh_run_head(h, vqh_add_chain(&h->q, b, k)).len;
	return *blkh_host(h, st, 1);
}

void blkh_expect_rejected(struct blkh *h, uint16_t head, uint64_t st_gpa, uint64_t hash)
{
	struct vring_used_elem e = blkh_run_head(h, head);

	assert_int_equal(e.len, 0);
	if (st_gpa)
		assert_int_equal(*blkh_host(h, st_gpa, 1), 0xee);
	assert_true(blkh_file_hash(h) == hash);
	assert_int_equal(blkh_read32(h, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
}

struct virtio_blk_config blkh_config(struct blkh *h)
{
	struct virtio_blk_config c;

	/* Byte by byte: any width is allowed in config space. */
	for (uint32_t i = 0; i < sizeof(c); i++)
		blkh_io(h, VIRTIO_MMIO_CONFIG + i, (uint8_t *)&c + i, 1, false);
	return c;
}

/* ---- data patterns ---- */

void blkh_pattern(uint8_t *p, size_t len, uint8_t seed, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + (off + i) * 7 + ((off + i) >> 9));
}

bool bytes_all(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* ---- the image file ---- */

static int blkh_file_open(struct blkh *h, int flags)
{
	int fd = open(h->path, flags | O_CLOEXEC);

	if (fd < 0)
		fail_msg("open %s: %s", h->path, strerror(errno));
	return fd;
}

void blkh_file_write(struct blkh *h, uint64_t off, const void *buf, size_t len)
{
	int fd = blkh_file_open(h, O_WRONLY);

	if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
		fail_msg("pwrite %s: %s", h->path, strerror(errno));
	close(fd);
}

void blkh_file_read(struct blkh *h, uint64_t off, void *buf, size_t len)
{
	int fd = blkh_file_open(h, O_RDONLY);

	if (pread(fd, buf, len, (off_t)off) != (ssize_t)len)
		fail_msg("pread %s: %s", h->path, strerror(errno));
	close(fd);
}

uint64_t blkh_file_hash(struct blkh *h)
{
	int fd = blkh_file_open(h, O_RDONLY);
	uint64_t hash = 0xcbf29ce484222325ULL;
	uint8_t buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			hash = (hash ^ buf[i]) * 0x100000001b3ULL;
	if (n < 0)
		fail_msg("read %s: %s", h->path, strerror(errno));
	close(fd);
	return hash;
}

static struct stat blkh_stat(struct blkh *h)
{
	struct stat st;

	if (stat(h->path, &st) < 0)
		fail_msg("stat %s: %s", h->path, strerror(errno));
	return st;
}

uint64_t blkh_file_size(struct blkh *h)
{
	return (uint64_t)blkh_stat(h).st_size;
}

uint64_t blkh_file_blocks(struct blkh *h)
{
	return (uint64_t)blkh_stat(h).st_blocks;
}

void blkh_file_sync(struct blkh *h)
{
	int fd = blkh_file_open(h, O_RDONLY);

	if (fsync(fd) < 0)
		fail_msg("fsync %s: %s", h->path, strerror(errno));
	close(fd);
}

static uint8_t *blkh_sectors(uint32_t n)
{
	uint8_t *p = malloc((size_t)n * BLK_SECTOR_SIZE);

	assert_non_null(p);
	return p;
}

void blkh_seed_image(struct blkh *h, uint64_t sector, uint32_t n, uint8_t seed)
{
	size_t len = (size_t)n * BLK_SECTOR_SIZE;
	uint8_t *buf = blkh_sectors(n);

	blkh_pattern(buf, len, seed, sector * BLK_SECTOR_SIZE);
	blkh_file_write(h, sector * BLK_SECTOR_SIZE, buf, len);
	free(buf);
}

void blkh_assert_image(struct blkh *h, uint64_t sector, uint32_t n, uint8_t seed)
{
	size_t len = (size_t)n * BLK_SECTOR_SIZE;
	uint8_t *want = blkh_sectors(n), *got = blkh_sectors(n);

	blkh_pattern(want, len, seed, sector * BLK_SECTOR_SIZE);
	blkh_file_read(h, sector * BLK_SECTOR_SIZE, got, len);
	assert_memory_equal(want, got, len);
	free(want);
	free(got);
}

void blkh_assert_image_zero(struct blkh *h, uint64_t sector, uint32_t n)
{
	size_t len = (size_t)n * BLK_SECTOR_SIZE;
	uint8_t *got = blkh_sectors(n);

	blkh_file_read(h, sector * BLK_SECTOR_SIZE, got, len);
	if (!bytes_all(got, len, 0))
		fail_msg("image sectors %llu+%u are not zero", (unsigned long long)sector, n);
	free(got);
}
