/* mmio.c — virtio-mmio v2 register state machine (virtio 1.2 §4.2.2). */
#include "virtio/mmio.h"
#include "vmm/util.h"

#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#define MMIO_MAGIC 0x74726976 /* "virt" */
#define MMIO_VERSION 2

void virtio_mmio_init(struct virtio_mmio *vm, const struct virtio_dev_ops *ops, void *dev,
		      const struct guest_mem *mem, int irq_fd)
{
	memset(vm, 0, sizeof(*vm));
	pthread_mutex_init(&vm->lock, NULL);
	vm->ops = ops;
	vm->dev = dev;
	vm->mem = mem;
	vm->irq_fd = irq_fd;
	for (unsigned int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		vm->notify_fds[i] = -1;
}

void virtio_mmio_destroy(struct virtio_mmio *vm)
{
	pthread_mutex_destroy(&vm->lock);
}

static void mmio_raise(struct virtio_mmio *vm, uint32_t why)
{
	uint64_t one = 1;

	vm->interrupt_status |= why;
	if (vm->irq_fd >= 0 && write(vm->irq_fd, &one, sizeof(one)) < 0)
		return; /* eventfd overflow cannot happen with 1s */
}

void virtio_mmio_signal_used(struct virtio_mmio *vm, unsigned int queue)
{
	if (queue < vm->ops->nr_queues && virtq_should_notify(&vm->queues[queue]))
		mmio_raise(vm, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_needs_reset(struct virtio_mmio *vm)
{
	if (vm->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	vm->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (vm->status & VIRTIO_CONFIG_S_DRIVER_OK)
		mmio_raise(vm, VIRTIO_MMIO_INT_CONFIG);
}

static void mmio_reset(struct virtio_mmio *vm)
{
	if (vm->active)
		vm->ops->reset(vm->dev);
	vm->active = false;
	vm->status = 0;
	vm->dev_features_sel = vm->drv_features_sel = vm->queue_sel = 0;
	vm->driver_features = 0;
	vm->interrupt_status = 0;
	for (unsigned int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		virtq_reset(&vm->queues[i]);
}

/* FEATURES_OK: accept only a subset of what we offer, with VERSION_1 (§2.2, §6.1). */
static bool mmio_features_ok(struct virtio_mmio *vm)
{
	uint64_t offered = vm->ops->features(vm->dev);

	return !(vm->driver_features & ~offered) &&
	       (vm->driver_features & (1ULL << VIRTIO_F_VERSION_1));
}

static void mmio_driver_ok(struct virtio_mmio *vm)
{
	uint64_t f = vm->driver_features;

	for (unsigned int i = 0; i < vm->ops->nr_queues; i++) {
		struct virtq *vq = &vm->queues[i];

		if (!vq->ready)
			continue;
		vq->event_idx = f & (1ULL << VIRTIO_RING_F_EVENT_IDX);
		vq->indirect = f & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
		if (virtq_enable(vq, vm->mem) < 0) {
			vq->ready = false;
			virtio_mmio_needs_reset(vm);
			return;
		}
	}
	if (vm->ops->activate(vm->dev, f) < 0) {
		virtio_mmio_needs_reset(vm);
		return;
	}
	vm->active = true;
}

static void mmio_write_status(struct virtio_mmio *vm, uint32_t v)
{
	uint32_t old = vm->status;

	if (v == 0) {
		mmio_reset(vm);
		return;
	}
	/* §2.1.1: the driver MUST NOT clear status bits (other than by reset). */
	if (old & ~v)
		return;
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !mmio_features_ok(vm))
		v &= ~VIRTIO_CONFIG_S_FEATURES_OK; /* the driver reads it back and gives up */
	vm->status = v | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
	if ((v & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
		if (!(v & VIRTIO_CONFIG_S_FEATURES_OK))
			virtio_mmio_needs_reset(vm);
		else
			mmio_driver_ok(vm);
	}
}

static struct virtq *mmio_cur_queue(struct virtio_mmio *vm)
{
	return vm->queue_sel < vm->ops->nr_queues ? &vm->queues[vm->queue_sel] : NULL;
}

/* Queue layout registers: writable only while the queue is not ready (§4.2.2.3). */
static void mmio_queue_reg(struct virtio_mmio *vm, uint32_t reg, uint32_t v)
{
	struct virtq *vq = mmio_cur_queue(vm);
	uint64_t *addr = NULL;

	if (!vq || vq->ready || (vm->status & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	switch (reg) {
	case VIRTIO_MMIO_QUEUE_NUM:
		vq->size = (uint16_t)MIN(v, (uint32_t)VIRTQ_MAX_SIZE + 1);
		return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		addr = &vq->desc_gpa;
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		addr = &vq->avail_gpa;
		break;
	default:
		addr = &vq->used_gpa;
		break;
	}
	if (reg & 4)
		*addr = (*addr & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*addr = (*addr & ~0xffffffffULL) | v;
}

static void mmio_notify(struct virtio_mmio *vm, uint32_t queue)
{
	uint64_t one = 1;

	/* Without an ioeventfd in KVM, forward the kick to the main loop ourselves. */
	if (queue < vm->ops->nr_queues && vm->notify_fds[queue] >= 0 &&
	    write(vm->notify_fds[queue], &one, sizeof(one)) < 0)
		return;
}

static void mmio_reg_write(struct virtio_mmio *vm, uint32_t reg, uint32_t v)
{
	switch (reg) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		vm->dev_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Only before FEATURES_OK (§3.1.1). */
		if (vm->drv_features_sel < 2 && !(vm->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
			unsigned int shift = 32 * vm->drv_features_sel;

			vm->driver_features = (vm->driver_features & ~(0xffffffffULL << shift)) |
					      ((uint64_t)v << shift);
		}
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		vm->drv_features_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		vm->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		mmio_queue_reg(vm, reg, v);
		break;
	case VIRTIO_MMIO_QUEUE_READY: {
		struct virtq *vq = mmio_cur_queue(vm);

		/* After DRIVER_OK the queue layout is fixed; ignore (re-)enabling. */
		if (vq && !(vm->status & VIRTIO_CONFIG_S_DRIVER_OK))
			vq->ready = v & 1;
		break;
	}
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		mmio_notify(vm, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		vm->interrupt_status &= ~v;
		break;
	case VIRTIO_MMIO_STATUS:
		mmio_write_status(vm, v);
		break;
	default: /* read-only or unknown: ignored */
		break;
	}
}

static uint32_t mmio_reg_read(struct virtio_mmio *vm, uint32_t reg)
{
	struct virtq *vq = mmio_cur_queue(vm);

	switch (reg) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return vm->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (vm->dev_features_sel >= 2)
			return 0;
		return (uint32_t)(vm->ops->features(vm->dev) >> (32 * vm->dev_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? VIRTQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return vm->interrupt_status;
	case VIRTIO_MMIO_STATUS:
		return vm->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return vm->config_generation;
	default:
		return 0;
	}
}

void virtio_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_mmio *vm = opaque;
	uint32_t v = 0;

	pthread_mutex_lock(&vm->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		/* Device config: any width, inside the config space. */
		uint64_t off = offset - VIRTIO_MMIO_CONFIG;

		if (off >= vm->ops->config_size || len > vm->ops->config_size - off) {
			if (!is_write)
				memset(data, 0, len);
		} else if (is_write) {
			if (vm->ops->write_config)
				vm->ops->write_config(vm->dev, (uint32_t)off, data, len);
		} else {
			vm->ops->read_config(vm->dev, (uint32_t)off, data, len);
		}
	} else if (len != 4 || (offset & 3)) {
		/* §4.2.2.2: control registers are 32-bit wide and aligned only. */
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		memcpy(&v, data, 4);
		mmio_reg_write(vm, (uint32_t)offset, v);
	} else {
		v = mmio_reg_read(vm, (uint32_t)offset);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&vm->lock);
}
