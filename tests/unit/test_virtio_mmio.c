/*
 * test_virtio_mmio.c — the virtio-mmio v2 register state machine
 * (virtio/mmio.c), driven through its bus handler with a mock device:
 * identification, feature negotiation, the status rules, queue setup and
 * what a driver may no longer change after QUEUE_READY / DRIVER_OK,
 * register widths, config-space bounds and interrupts.
 */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "virtio/mmio.h"

#define RAM (1 * TEST_MiB)
#define MOCK_ID 42
#define MOCK_QUEUES 2
#define MOCK_CONFIG 12
#define F_VERSION_1 (1ULL << VIRTIO_F_VERSION_1)
#define F_EVENT_IDX (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_INDIRECT (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_DEV0 (1ULL << 0)   /* a device-specific bit we offer */
#define F_DEV5 (1ULL << 5)   /* one we do not */
#define OFFERED (F_VERSION_1 | F_EVENT_IDX | F_INDIRECT | F_DEV0)

struct mock {
	uint8_t config[MOCK_CONFIG];
	unsigned int activations, resets, config_writes;
	uint64_t activated_features;
	int activate_result;
};

struct fixture {
	struct fake_mem fm;
	struct virtio_mmio vm;
	struct mock dev;
	int irq_fd;
	int notify_fd[MOCK_QUEUES];
};

static uint64_t mock_features(void *dev)
{
	(void)dev;
	return OFFERED;
}

static void mock_read_config(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct mock *m = dev;

	assert_true(off < MOCK_CONFIG && len <= MOCK_CONFIG - off);
	memcpy(data, m->config + off, len);
}

static void mock_write_config(void *dev, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct mock *m = dev;

	assert_true(off < MOCK_CONFIG && len <= MOCK_CONFIG - off);
	memcpy(m->config + off, data, len);
	m->config_writes++;
}

static int mock_activate(void *dev, uint64_t features)
{
	struct mock *m = dev;

	m->activations++;
	m->activated_features = features;
	return m->activate_result;
}

static void mock_reset(void *dev)
{
	((struct mock *)dev)->resets++;
}

static const struct virtio_dev_ops mock_ops = {
	.device_id = MOCK_ID,
	.nr_queues = MOCK_QUEUES,
	.config_size = MOCK_CONFIG,
	.features = mock_features,
	.read_config = mock_read_config,
	.write_config = mock_write_config,
	.activate = mock_activate,
	.reset = mock_reset,
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_mem_init(&f->fm, RAM);
	for (unsigned int i = 0; i < MOCK_CONFIG; i++)
		f->dev.config[i] = (uint8_t)(0xa0 + i);
	f->irq_fd = test_eventfd();
	virtio_mmio_init(&f->vm, &mock_ops, &f->dev, &f->fm.mem, f->irq_fd);
	for (unsigned int i = 0; i < MOCK_QUEUES; i++)
		f->vm.notify_fds[i] = f->notify_fd[i] = test_eventfd();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	virtio_mmio_destroy(&f->vm);
	close(f->irq_fd);
	for (unsigned int i = 0; i < MOCK_QUEUES; i++)
		close(f->notify_fd[i]);
	fake_mem_destroy(&f->fm);
	free(f);
	return 0;
}

static uint32_t rd(struct fixture *f, uint32_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_io(&f->vm, off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(struct fixture *f, uint32_t off, uint32_t v)
{
	virtio_mmio_io(&f->vm, off, (uint8_t *)&v, 4, true);
}

static void add_status(struct fixture *f, uint32_t bits)
{
	wr(f, VIRTIO_MMIO_STATUS, rd(f, VIRTIO_MMIO_STATUS) | bits);
}

static void write_features(struct fixture *f, uint64_t features)
{
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
}

/* Queue @q: @size entries, rings at @base, +0x1000, +0x2000; then QUEUE_READY. */
static void setup_queue(struct fixture *f, uint32_t q, uint32_t size, uint64_t base)
{
	wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, size);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)base);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(base >> 32));
	wr(f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(base + 0x1000));
	wr(f, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)((base + 0x1000) >> 32));
	wr(f, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(base + 0x2000));
	wr(f, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)((base + 0x2000) >> 32));
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Up to FEATURES_OK with @features. */
static void negotiate(struct fixture *f, uint64_t features)
{
	wr(f, VIRTIO_MMIO_STATUS, 0);
	add_status(f, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	add_status(f, VIRTIO_CONFIG_S_DRIVER);
	write_features(f, features);
	add_status(f, VIRTIO_CONFIG_S_FEATURES_OK);
}

/* The full Linux sequence with both queues in RAM. */
static void bring_up(struct fixture *f, uint64_t features)
{
	negotiate(f, features);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	setup_queue(f, 0, 16, 0x10000);
	setup_queue(f, 1, 64, 0x20000);
	add_status(f, VIRTIO_CONFIG_S_DRIVER_OK);
}

/* ---- identification ---- */

static void identification_registers(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(f, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), MOCK_ID);
	assert_int_equal(rd(f, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	/* Read-only registers ignore writes. */
	wr(f, VIRTIO_MMIO_MAGIC_VALUE, 0);
	wr(f, VIRTIO_MMIO_DEVICE_ID, 7);
	wr(f, VIRTIO_MMIO_INTERRUPT_STATUS, 3);
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID), MOCK_ID);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* Unknown offsets read 0. */
	assert_int_equal(rd(f, 0x0f0), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_PFN), 0);
}

/* ---- features ---- */

static void device_feature_windows(void **state)
{
	struct fixture *f = *state;

	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)OFFERED);
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)(OFFERED >> 32));
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

static void driver_feature_windows(void **state)
{
	struct fixture *f = *state;

	write_features(f, OFFERED);
	assert_int_equal(f->vm.driver_features, OFFERED);
	/* Selector 2+ has nothing behind it. */
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0x80000000);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	assert_int_equal(f->vm.driver_features, OFFERED);
	/* Rewriting one window leaves the other. */
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	assert_int_equal(f->vm.driver_features, OFFERED & 0xffffffff00000000ULL);
}

static void features_ok_accepts_offered_subset(void **state)
{
	struct fixture *f = *state;

	negotiate(f, F_VERSION_1 | F_DEV0);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS),
			 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				 VIRTIO_CONFIG_S_FEATURES_OK);
	/* Feature writes after FEATURES_OK are ignored (§3.1.1). */
	write_features(f, OFFERED);
	assert_int_equal(f->vm.driver_features, F_VERSION_1 | F_DEV0);
}

static void features_ok_refused_without_version_1(void **state)
{
	struct fixture *f = *state;

	negotiate(f, F_DEV0 | F_EVENT_IDX);
	assert_false(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS),
			 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
}

static void features_ok_refused_with_unoffered_bits(void **state)
{
	struct fixture *f = *state;

	negotiate(f, F_VERSION_1 | F_DEV5);
	assert_false(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	negotiate(f, F_VERSION_1 | (1ULL << 63));
	assert_false(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	/* And a refused driver cannot go on to DRIVER_OK: NEEDS_RESET, no activation. */
	add_status(f, VIRTIO_CONFIG_S_DRIVER_OK);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(f->dev.activations, 0);
}

/* ---- status ---- */

static void status_bits_cannot_be_cleared(void **state)
{
	struct fixture *f = *state;
	uint32_t s;

	negotiate(f, F_VERSION_1);
	s = rd(f, VIRTIO_MMIO_STATUS);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), s);
	wr(f, VIRTIO_MMIO_STATUS, (s & ~VIRTIO_CONFIG_S_FEATURES_OK) | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), s);
	assert_int_equal(f->dev.activations, 0);
	bring_up(f, F_VERSION_1);
	s = rd(f, VIRTIO_MMIO_STATUS);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), s);
	assert_int_equal(f->dev.resets, 0);
}

static void reset_clears_everything(void **state)
{
	struct fixture *f = *state;

	bring_up(f, OFFERED);
	assert_int_equal(f->dev.activations, 1);
	virtio_mmio_signal_used(&f->vm, 0);
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_not_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(f->dev.resets, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(f->vm.driver_features, 0);
	assert_int_equal(f->vm.queue_sel, 0);
	assert_int_equal(f->vm.dev_features_sel, 0);
	assert_false(f->vm.active);
	for (unsigned int q = 0; q < MOCK_QUEUES; q++) {
		wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
		assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
		assert_int_equal(f->vm.queues[q].size, 0);
		assert_int_equal(f->vm.queues[q].desc_gpa, 0);
		assert_int_equal(f->vm.queues[q].avail_gpa, 0);
		assert_int_equal(f->vm.queues[q].used_gpa, 0);
		assert_null(f->vm.queues[q].desc);
	}
	/* The device comes up again from scratch. */
	bring_up(f, F_VERSION_1);
	assert_int_equal(f->dev.activations, 2);
	assert_int_equal(f->dev.activated_features, F_VERSION_1);
	/* A reset before DRIVER_OK does not reset an inactive device. */
	wr(f, VIRTIO_MMIO_STATUS, 0);
	negotiate(f, F_VERSION_1);
	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(f->dev.resets, 2);
}

static void driver_ok_activates_with_negotiated_ring_features(void **state)
{
	struct fixture *f = *state;

	bring_up(f, F_VERSION_1 | F_EVENT_IDX);
	assert_int_equal(f->dev.activations, 1);
	assert_int_equal(f->dev.activated_features, F_VERSION_1 | F_EVENT_IDX);
	assert_false(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(f->vm.queues[0].event_idx);
	assert_false(f->vm.queues[0].indirect);
	assert_non_null(f->vm.queues[0].desc);
	assert_ptr_equal(f->vm.queues[1].used, fake_mem_at(&f->fm, 0x22000, 8));
}

static void driver_ok_with_ring_outside_ram_needs_reset(void **state)
{
	struct fixture *f = *state;

	negotiate(f, F_VERSION_1);
	setup_queue(f, 0, 16, 0x10000);
	setup_queue(f, 1, 16, RAM - 0x1000); /* avail and used past RAM */
	eventfd_take(f->irq_fd);
	add_status(f, VIRTIO_CONFIG_S_DRIVER_OK);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS) & 0x40, 0x40);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(eventfd_take(f->irq_fd), 1);
	assert_int_equal(f->dev.activations, 0);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
	/* Reset recovers. */
	wr(f, VIRTIO_MMIO_STATUS, 0);
	bring_up(f, F_VERSION_1);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	assert_int_equal(f->dev.activations, 1);
}

static void driver_ok_with_bad_ring_needs_reset(void **state)
{
	struct fixture *f = *state;
	static const struct { uint32_t size; uint64_t base; } bad[] = {
		{ 512, 0x10000 },       /* above QueueNumMax */
		{ 0, 0x10000 },         /* never set */
		{ 24, 0x10000 },        /* not a power of two */
		{ 16, 0x10008 },        /* descriptor table misaligned */
		{ 16, MMIO_GAP_START }, /* in the MMIO gap */
		{ 16, 0xfffffffffffff000ULL },
	};

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		negotiate(f, F_VERSION_1);
		setup_queue(f, 0, bad[i].size, bad[i].base);
		add_status(f, VIRTIO_CONFIG_S_DRIVER_OK);
		assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
		assert_int_equal(f->dev.activations, 0);
	}
}

static void activate_failure_needs_reset(void **state)
{
	struct fixture *f = *state;

	f->dev.activate_result = -ENOMEM;
	bring_up(f, F_VERSION_1);
	assert_true(rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_false(f->vm.active);
	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(f->dev.resets, 0); /* never active */
}

/* ---- queues ---- */

static void queue_num_max_per_queue(void **state)
{
	struct fixture *f = *state;
	static const uint32_t absent[] = { MOCK_QUEUES, VIRTIO_MMIO_MAX_QUEUES, 1000, 0xffffffff };

	for (uint32_t q = 0; q < MOCK_QUEUES; q++) {
		wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
		assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
		assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
	}
	for (unsigned int i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		wr(f, VIRTIO_MMIO_QUEUE_SEL, absent[i]);
		assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
		assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
	}
}

static void queue_sel_out_of_range_writes_nothing(void **state)
{
	struct fixture *f = *state;
	struct virtq before[VIRTIO_MMIO_MAX_QUEUES];

	memcpy(before, f->vm.queues, sizeof(before));
	negotiate(f, F_VERSION_1);
	setup_queue(f, MOCK_QUEUES, 16, 0x10000);
	setup_queue(f, VIRTIO_MMIO_MAX_QUEUES, 16, 0x10000);
	setup_queue(f, 0xffffffff, 16, 0x10000);
	assert_memory_equal(before, f->vm.queues, sizeof(before));
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
}

static void queue_registers_ignored_after_queue_ready(void **state)
{
	struct fixture *f = *state;
	struct virtq *vq = &f->vm.queues[0];

	negotiate(f, F_VERSION_1);
	setup_queue(f, 0, 16, 0x10000);
	assert_true(vq->ready);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, 256);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x40000);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, 1);
	wr(f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x41000);
	wr(f, VIRTIO_MMIO_QUEUE_USED_HIGH, 0xffffffff);
	assert_int_equal(vq->size, 16);
	assert_int_equal(vq->desc_gpa, 0x10000);
	assert_int_equal(vq->avail_gpa, 0x11000);
	assert_int_equal(vq->used_gpa, 0x12000);
	/* Before DRIVER_OK the driver may take the queue down and change it. */
	wr(f, VIRTIO_MMIO_QUEUE_READY, 0);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, 32);
	assert_int_equal(vq->size, 32);
}

static void queue_registers_ignored_after_driver_ok(void **state)
{
	struct fixture *f = *state;
	struct virtq before[VIRTIO_MMIO_MAX_QUEUES];

	negotiate(f, F_VERSION_1);
	setup_queue(f, 0, 16, 0x10000);
	add_status(f, VIRTIO_CONFIG_S_DRIVER_OK); /* queue 1 never set up */
	assert_int_equal(f->dev.activations, 1);
	memcpy(before, f->vm.queues, sizeof(before));
	for (uint32_t q = 0; q < MOCK_QUEUES; q++) {
		wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(f, VIRTIO_MMIO_QUEUE_READY, 0);
		setup_queue(f, q, 256, 0x40000);
		wr(f, VIRTIO_MMIO_QUEUE_READY, 0);
	}
	assert_memory_equal(before, f->vm.queues, sizeof(before));
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 1);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
}

static void queue_notify_reaches_only_existing_queues(void **state)
{
	struct fixture *f = *state;

	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(eventfd_take(f->notify_fd[1]), 1);
	assert_int_equal(eventfd_take(f->notify_fd[0]), 0);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, MOCK_QUEUES);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_MMIO_MAX_QUEUES);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0x10000);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	assert_int_equal(eventfd_take(f->notify_fd[0]), 0);
	assert_int_equal(eventfd_take(f->notify_fd[1]), 0);
	/* Without an eventfd a notify does nothing. */
	f->vm.notify_fds[0] = -1;
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(eventfd_take(f->notify_fd[0]), 0);
}

/* ---- access widths ---- */

static void narrow_control_accesses_are_ignored(void **state)
{
	struct fixture *f = *state;
	uint64_t v64;
	uint16_t v16;
	uint8_t v8;

	v8 = 0x55;
	virtio_mmio_io(&f->vm, VIRTIO_MMIO_MAGIC_VALUE, &v8, 1, false);
	assert_int_equal(v8, 0);
	v16 = 0x5555;
	virtio_mmio_io(&f->vm, VIRTIO_MMIO_VERSION, (uint8_t *)&v16, 2, false);
	assert_int_equal(v16, 0);
	v64 = ~0ULL;
	virtio_mmio_io(&f->vm, VIRTIO_MMIO_MAGIC_VALUE, (uint8_t *)&v64, 8, false);
	assert_int_equal(v64, 0);
	/* Misaligned 32-bit. */
	v64 = ~0ULL;
	virtio_mmio_io(&f->vm, VIRTIO_MMIO_MAGIC_VALUE + 1, (uint8_t *)&v64, 4, false);
	assert_int_equal(v64 & 0xffffffff, 0);

	/* Narrow writes change nothing. */
	v8 = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	virtio_mmio_io(&f->vm, VIRTIO_MMIO_STATUS, &v8, 1, true);
	v16 = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	virtio_mmio_io(&f->vm, VIRTIO_MMIO_STATUS, (uint8_t *)&v16, 2, true);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
	v8 = 1;
	virtio_mmio_io(&f->vm, VIRTIO_MMIO_QUEUE_NOTIFY, &v8, 1, true);
	assert_int_equal(eventfd_take(f->notify_fd[0]) + eventfd_take(f->notify_fd[1]), 0);
	v16 = 5;
	virtio_mmio_io(&f->vm, VIRTIO_MMIO_QUEUE_SEL + 2, (uint8_t *)&v16, 2, true);
	assert_int_equal(f->vm.queue_sel, 0);
	v64 = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	virtio_mmio_io(&f->vm, VIRTIO_MMIO_STATUS, (uint8_t *)&v64, 8, true);
	assert_int_equal(rd(f, VIRTIO_MMIO_STATUS), 0);
}

/* ---- config space ---- */

static void config_reads_any_width_inside(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8];

	virtio_mmio_io(&f->vm, VIRTIO_MMIO_CONFIG, buf, 1, false);
	assert_int_equal(buf[0], 0xa0);
	virtio_mmio_io(&f->vm, VIRTIO_MMIO_CONFIG + 3, buf, 2, false);
	assert_int_equal(buf[0], 0xa3);
	assert_int_equal(buf[1], 0xa4);
	virtio_mmio_io(&f->vm, VIRTIO_MMIO_CONFIG + 4, buf, 8, false);
	assert_int_equal(buf[7], 0xab);
	buf[0] = 0x11;
	virtio_mmio_io(&f->vm, VIRTIO_MMIO_CONFIG + MOCK_CONFIG - 1, buf, 1, true);
	assert_int_equal(f->dev.config[MOCK_CONFIG - 1], 0x11);
}

static void config_access_past_end_reads_zero(void **state)
{
	struct fixture *f = *state;
	static const struct { uint32_t off, len; } past[] = {
		{ MOCK_CONFIG - 2, 4 }, { MOCK_CONFIG - 1, 8 }, { MOCK_CONFIG, 1 },
		{ 0x100, 4 }, { VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG - 1, 1 },
		{ VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG - 4, 8 }, /* runs past the window */
		{ 0xffffff00, 8 },
	};
	uint8_t buf[8];

	for (unsigned int i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
		memset(buf, 0x77, sizeof(buf));
		virtio_mmio_io(&f->vm, VIRTIO_MMIO_CONFIG + (uint64_t)past[i].off, buf, past[i].len,
			       false);
		for (uint32_t k = 0; k < past[i].len; k++)
			assert_int_equal(buf[k], 0);
		memset(buf, 0x77, sizeof(buf));
		virtio_mmio_io(&f->vm, VIRTIO_MMIO_CONFIG + (uint64_t)past[i].off, buf, past[i].len,
			       true);
	}
	assert_int_equal(f->dev.config_writes, 0);
	assert_int_equal(f->dev.config[MOCK_CONFIG - 1], 0xab);
	/* An offset so large that off + len wraps 64 bits. */
	memset(buf, 0x77, sizeof(buf));
	virtio_mmio_io(&f->vm, UINT64_MAX - 2, buf, 8, false);
	for (unsigned int k = 0; k < 8; k++)
		assert_int_equal(buf[k], 0);
}

/* ---- interrupts ---- */

static void interrupt_status_and_ack(void **state)
{
	struct fixture *f = *state;

	bring_up(f, F_VERSION_1);
	eventfd_take(f->irq_fd);
	virtio_mmio_signal_used(&f->vm, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	assert_int_equal(eventfd_take(f->irq_fd), 1);
	virtio_mmio_needs_reset(&f->vm);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(eventfd_take(f->irq_fd), 1);
	/* A second NEEDS_RESET does not interrupt again. */
	virtio_mmio_needs_reset(&f->vm);
	assert_int_equal(eventfd_take(f->irq_fd), 0);
	wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(f, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* Queues that do not exist never interrupt. */
	virtio_mmio_signal_used(&f->vm, MOCK_QUEUES);
	virtio_mmio_signal_used(&f->vm, 1000);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(eventfd_take(f->irq_fd), 0);
}

static void used_interrupt_respects_no_interrupt(void **state)
{
	struct fixture *f = *state;
	struct vring_avail *avail = fake_mem_at(&f->fm, 0x11000, 4);

	bring_up(f, F_VERSION_1);
	eventfd_take(f->irq_fd);
	avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	virtq_push(&f->vm.queues[0], 0, 1);
	virtio_mmio_signal_used(&f->vm, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(eventfd_take(f->irq_fd), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(identification_registers),
		T(device_feature_windows),
		T(driver_feature_windows),
		T(features_ok_accepts_offered_subset),
		T(features_ok_refused_without_version_1),
		T(features_ok_refused_with_unoffered_bits),
		T(status_bits_cannot_be_cleared),
		T(reset_clears_everything),
		T(driver_ok_activates_with_negotiated_ring_features),
		T(driver_ok_with_ring_outside_ram_needs_reset),
		T(driver_ok_with_bad_ring_needs_reset),
		T(activate_failure_needs_reset),
		T(queue_num_max_per_queue),
		T(queue_sel_out_of_range_writes_nothing),
		T(queue_registers_ignored_after_queue_ready),
		T(queue_registers_ignored_after_driver_ok),
		T(queue_notify_reaches_only_existing_queues),
		T(narrow_control_accesses_are_ignored),
		T(config_reads_any_width_inside),
		T(config_access_past_end_reads_zero),
		T(interrupt_status_and_ack),
		T(used_interrupt_respects_no_interrupt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
