/*
 * fuzz_blk.c — libFuzzer target for virtio-blk (virtio/blk.c) behind the
 * virtio-mmio transport (virtio/mmio.c), synchronous I/O engine, over a
 * small sparse image.
 *
 * Each input is a driver: a header byte (declined features, queue size),
 * then records that each build one request — type, sector, header framing,
 * up to three data buffers anywhere (RAM, the MMIO gap, the edges of RAM,
 * wrapping addresses, UINT32_MAX lengths), status byte or none, direct or
 * indirect — or misbehave (reset mid-stream, bad head index, avail.idx
 * running ahead, queue registers rewritten after DRIVER_OK, raw descriptor
 * bytes, config-space accesses). The device is driven through its registers
 * and virtio_blk_notify() as the VMM does.
 *
 * Guest RAM is two regions (below the MMIO gap and at 4 GiB), each between
 * PROT_NONE guard pages: touching anything outside RAM faults. After each
 * input the image size must be unchanged and, for a well-behaved driver,
 * every request must come back exactly once with a used length that fits
 * its writable buffers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "tests/fuzz/fuzz_util.h"
#include "virtio/blk.h"

#define RAM0_SIZE (256 * 1024)
#define RAM0_GPA (MMIO_GAP_START - RAM0_SIZE)  /* ends where the gap starts */
#define RAM1_SIZE (64 * 1024)
#define RAM1_GPA MMIO_GAP_END
#define IMAGE_SIZE (64 * 1024)                 /* 128 sectors */

#define DESC_GPA RAM0_GPA
#define AVAIL_GPA (RAM0_GPA + 0x1000)
#define USED_GPA (RAM0_GPA + 0x2000)
#define TABLE_GPA (RAM0_GPA + 0x3000)          /* 64 indirect tables of 4 entries */
#define DATA_GPA (RAM0_GPA + 0x4000)
#define DATA_END (RAM0_GPA + RAM0_SIZE)
#define MAX_RECORDS 256
#define MAX_BUFS 8

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_blk: %s:%d: %s\n", __FILE__,     \
				__LINE__, #cond);                              \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

static struct guest_mem mem;
static uint8_t *ram0, *ram1;
static struct virtio_blk blk;
static struct virtio_mmio vm;

/* The driver's side of the ring for the current input. */
static struct {
	uint16_t size, next_desc, avail_idx, published, outstanding;
	uint64_t next_data;
	bool tracking;                       /* well-behaved so far: check used entries */
	uint64_t writable[VIRTQ_MAX_SIZE];   /* per head: bytes the device may write */
} drv;

static void *gpa(uint64_t addr, uint64_t len)
{
	return guest_mem_ptr(&mem, addr, len);
}

static void fuzz_init(void)
{
	char path[] = "/tmp/brisk-fuzz-blk-XXXXXX", why[256];
	struct blk_drive_config cfg = { .path = path, .id = "fuzz", .flush = true,
					.engine = IO_ENGINE_SYNC };
	int fd = mkstemp(path), irq_fd;

	if (fd < 0 || ftruncate(fd, IMAGE_SIZE) < 0)
		abort();
	close(fd);
	if (virtio_blk_open(&blk, &cfg, why, sizeof(why)) < 0) {
		fprintf(stderr, "fuzz_blk: %s\n", why);
		abort();
	}
	unlink(path); /* the drive keeps it open */
	ram0 = map_ram(RAM0_SIZE);
	ram1 = map_ram(RAM1_SIZE);
	mem.regions[0] = (struct guest_mem_region){ RAM0_GPA, RAM0_SIZE, ram0 };
	mem.regions[1] = (struct guest_mem_region){ RAM1_GPA, RAM1_SIZE, ram1 };
	mem.nr_regions = 2;
	mem.ram_size = RAM0_SIZE + RAM1_SIZE;
	irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	virtio_mmio_init(&vm, &virtio_blk_ops, &blk, &mem, irq_fd);
	blk.transport = &vm;
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

/* Linux's sequence: reset, ACK, DRIVER, features, FEATURES_OK, queue 0, DRIVER_OK. */
static void driver_init(uint8_t h)
{
	static const unsigned int droppable[] = {
		VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX, VIRTIO_BLK_F_FLUSH,
		VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES,
	};
	uint64_t f;

	wr(VIRTIO_MMIO_STATUS, 0);
	check(rd(VIRTIO_MMIO_STATUS) == 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f |= rd(VIRTIO_MMIO_DEVICE_FEATURES);
	for (unsigned int i = 0; i < sizeof(droppable) / sizeof(droppable[0]); i++)
		if (h & (1u << i))
			f &= ~(1ULL << droppable[i]);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_FEATURES_OK);
	check(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);

	memset(&drv, 0, sizeof(drv));
	drv.size = (uint16_t)(8u << (h >> 5 & 3));
	drv.next_data = DATA_GPA;
	drv.tracking = true;
	memset(ram0, 0, DATA_GPA - RAM0_GPA); /* rings and tables */
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	check(rd(VIRTIO_MMIO_QUEUE_NUM_MAX) >= drv.size);
	wr(VIRTIO_MMIO_QUEUE_NUM, drv.size);
	wr64(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA);
	wr64(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL_GPA);
	wr64(VIRTIO_MMIO_QUEUE_USED_LOW, USED_GPA);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
	check(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET));
}

static struct vring_avail *avail(void)
{
	return gpa(AVAIL_GPA, 6 + 2 * drv.size);
}

static struct vring_used *used(void)
{
	return gpa(USED_GPA, 6 + 8 * drv.size);
}

static struct vring_desc *desc(uint16_t i)
{
	return gpa(DESC_GPA + 16ULL * (i % drv.size), 16);
}

/* Every published request has come back exactly once, fitting its buffers. */
static void check_used(void)
{
	struct vring_used *u = used();
	bool needs_reset = rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET;

	if (!drv.tracking || needs_reset)
		return;
	check(u->idx == drv.published);
	for (uint16_t i = (uint16_t)(drv.published - drv.outstanding); i != drv.published; i++) {
		struct vring_used_elem *e = &u->ring[i % drv.size];

		check(e->id < drv.size);
		check(e->len <= drv.writable[e->id]);
	}
	drv.outstanding = 0;
}

static void kick(void)
{
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_blk_notify(&blk);
	virtio_blk_io_event(&blk);
	check_used();
	drv.next_desc = 0; /* the sync engine has completed everything */
}

static uint64_t data_alloc(uint32_t len)
{
	uint64_t a;

	if (len > DATA_END - drv.next_data)
		drv.next_data = DATA_GPA;
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
	case 0: /* (below 0x2000 the caller allocates fresh RAM instead) */
		return DATA_GPA + (sel & 0x3fffu) * 16ULL;
	case 1:
		return RAM1_GPA + (sel & 0x3fffu) * 4ULL;
	case 2:
		return edges[(sel >> 8) & 7] + (uint64_t)(int64_t)(int8_t)(sel & 0xff);
	default:
		return (uint64_t)get32(r) << 32 | get32(r);
	}
}

static uint32_t pick_len(uint16_t l)
{
	if (l >= 0xfff0)
		return UINT32_MAX - (l & 0xf);
	if (l & 0x8000)
		return (l & 0x7fffu) * 512;
	return l;
}

static void misbehave(struct reader *r, uint8_t h)
{
	uint8_t op = get8(r);

	drv.tracking = false;
	switch (op & 7) {
	case 0: /* reset in the middle, then start over (checked again from here) */
		driver_init(h);
		break;
	case 1: { /* publish a raw head index */
		struct vring_avail *a = avail();

		a->ring[drv.avail_idx % drv.size] = get16(r);
		a->idx = ++drv.avail_idx;
		break;
	}
	case 2: /* avail.idx jumps */
		drv.avail_idx = (uint16_t)(drv.avail_idx + get8(r));
		avail()->idx = drv.avail_idx;
		break;
	case 3: /* queue registers rewritten after DRIVER_OK */
		wr(VIRTIO_MMIO_QUEUE_READY, op >> 7);
		wr(VIRTIO_MMIO_QUEUE_NUM, get16(r));
		wr(VIRTIO_MMIO_QUEUE_DESC_LOW, get32(r));
		wr(VIRTIO_MMIO_QUEUE_USED_LOW, get32(r));
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
		break;
	case 4: { /* raw descriptor bytes */
		uint16_t i = get8(r);

		fuzz_raw_desc(r, desc(i));
		break;
	}
	case 5: /* raw register write (any offset, any width); a reset is case 0 */
		fuzz_raw_reg_write(r, &vm);
		break;
	case 6: { /* config space read */
		uint8_t buf[8];
		uint32_t off = get16(r);

		virtio_mmio_io(&vm, VIRTIO_MMIO_CONFIG + (off & 0xeff), buf, 1 + (op >> 5) % 8,
			       false);
		break;
	}
	default:
		virtio_mmio_io(&vm, VIRTIO_MMIO_INTERRUPT_ACK, (uint8_t[4]){ 3 }, 4, true);
		kick();
		break;
	}
}

/* One request from the input; returns false when the input is used up. */
static bool request(struct reader *r, uint8_t h)
{
	static const uint32_t types[] = { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH,
					  VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_DISCARD,
					  VIRTIO_BLK_T_WRITE_ZEROES };
	struct vring_desc bufs[MAX_BUFS];
	struct virtio_blk_outhdr hdr;
	uint8_t k, nseg;
	uint16_t s, head;
	unsigned int n = 0;
	uint64_t hdr_gpa, writable = 0;
	bool dev_writes;

	if (!r->n)
		return false;
	k = get8(r);
	if ((k & 7) == 7) {
		misbehave(r, h);
		return true;
	}
	hdr.type = (k & 7) == 6 ? get32(r) : types[k & 7];
	hdr.ioprio = 0;
	s = get16(r);
	hdr.sector = s >= 0xff00 ? UINT64_MAX - (s & 0xff) : s % 256u;
	dev_writes = hdr.type == VIRTIO_BLK_T_IN || hdr.type == VIRTIO_BLK_T_GET_ID;
	hdr_gpa = data_alloc(16);
	memcpy(gpa(hdr_gpa, 16), &hdr, 16);

	switch (k >> 3 & 3) {
	case 0:
		bufs[n++] = (struct vring_desc){ hdr_gpa, 16, 0, 0 };
		break;
	case 1: /* header split over two descriptors */
		bufs[n++] = (struct vring_desc){ hdr_gpa, 8, 0, 0 };
		bufs[n++] = (struct vring_desc){ hdr_gpa + 8, 8, 0, 0 };
		break;
	case 2: /* short header */
		bufs[n++] = (struct vring_desc){ hdr_gpa, get8(r) % 16u, 0, 0 };
		break;
	default: /* header in a device-writable buffer */
		bufs[n++] = (struct vring_desc){ hdr_gpa, 16, VRING_DESC_F_WRITE, 0 };
		break;
	}
	nseg = get8(r);
	for (unsigned int i = 0; i < (nseg & 3u); i++) {
		uint16_t sel = get16(r), l = get16(r);
		uint64_t addr = pick_addr(r, sel);
		uint32_t len = pick_len(l);
		bool w = dev_writes ^ !!(nseg & (0x10u << i));
		uint8_t *host = gpa(addr, len);

		if (sel >> 13 == 0 && (uint64_t)len <= DATA_END - DATA_GPA) {
			addr = data_alloc(len); /* fresh RAM, apart from other requests */
			host = gpa(addr, len);
		}
		if (host && !w) {
			/* Readable data from the input (DISCARD ranges, raw payloads). */
			uint32_t m = len < 64 ? len : 64;

			for (uint32_t j = 0; j < m; j++)
				host[j] = get8(r);
		}
		/*
		 * A buffer over the rings (an edge address or a raw one) lets the
		 * device's writes — image data from earlier inputs — rewrite the
		 * driver's rings: a misbehaving driver, so stop expecting order.
		 */
		if (addr < DATA_GPA && addr + len > RAM0_GPA) /* addr < 4 GiB: no wrap */
			drv.tracking = false;
		bufs[n++] = (struct vring_desc){ addr, len, w ? VRING_DESC_F_WRITE : 0, 0 };

	}
	if (!(k & 0x40)) {
		uint64_t st = data_alloc(1);

		*(uint8_t *)gpa(st, 1) = 0xee;
		bufs[n++] = (struct vring_desc){ st, 1, VRING_DESC_F_WRITE, 0 };
	}
	for (unsigned int i = 0; i < n; i++)
		if (bufs[i].flags & VRING_DESC_F_WRITE)
			writable += bufs[i].len;

	/* Room for the chain: else let the device finish what is queued. */
	if (drv.next_desc + ((k & 0x20) ? 1 : n) > drv.size)
		kick();
	head = drv.next_desc;
	if ((k & 0x20) && n <= 4) {
		/* Indirect: one ring descriptor pointing at a table. */
		uint64_t table = TABLE_GPA + 64ULL * head;

		for (unsigned int i = 0; i < n; i++) {
			bufs[i].flags |= i + 1 < n ? VRING_DESC_F_NEXT : 0;
			bufs[i].next = (uint16_t)(i + 1);
			memcpy(gpa(table + 16 * i, 16), &bufs[i], 16);
		}
		*desc(head) = (struct vring_desc){ table, 16 * n, VRING_DESC_F_INDIRECT, 0 };
		drv.next_desc++;
	} else {
		for (unsigned int i = 0; i < n; i++) {
			bufs[i].flags |= i + 1 < n ? VRING_DESC_F_NEXT : 0;
			bufs[i].next = (uint16_t)(head + i + 1);
			*desc((uint16_t)(head + i)) = bufs[i];
		}
		drv.next_desc = (uint16_t)(drv.next_desc + n);
	}
	drv.writable[head] = writable;
	avail()->ring[drv.avail_idx % drv.size] = head;
	__atomic_store_n(&avail()->idx, ++drv.avail_idx, __ATOMIC_RELEASE);
	drv.published++;
	drv.outstanding++;
	if (k & 0x80)
		kick();
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct reader r = { data, len };
	struct stat st;
	uint8_t h;

	if (!ram0)
		fuzz_init();
	if (len < 1)
		return 0;
	h = get8(&r);
	memset(ram0, 0, RAM0_SIZE);
	memset(ram1, 0, RAM1_SIZE);
	driver_init(h);
	for (unsigned int i = 0; i < MAX_RECORDS && request(&r, h); i++)
		;
	kick();
	check(fstat(blk.fd, &st) == 0 && st.st_size == IMAGE_SIZE);
	check(blk.capacity == IMAGE_SIZE / 512);
	return 0;
}
