/* vm.c — assemble the machine: KVM checks, RAM, irqchip, devices, kernel, vCPUs. */
#include "vmm/vm.h"
#include "vmm/boot.h"
#include "vmm/cpuid.h"
#include "vmm/log.h"
#include "vmm/mptable.h"
#include "vmm/util.h"
#include "virtio/tap.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <linux/virtio_mmio.h>

#define KVM_TSS_ADDR 0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define COM1_PORT 0x3f8
#define COM2_PORT 0x2f8
#define COM1_GSI 4
#define KBD_GSI 1  /* i8042 keyboard, ISA IRQ 1 */
#define COM2_GSI 3

static const struct { long cap; const char *name; } vm_required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
};

static int vm_open_kvm(struct vm *vm, const struct vm_config *cfg, char *why, size_t whylen)
{
	int v, max;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = -errno;

		if (err == -ENOENT)
			return errf(why, whylen, err, "/dev/kvm does not exist: KVM is not available on this host "
				       "(load kvm_intel or kvm_amd, or run inside scripts/testhost)");
		return errf(why, whylen, err, "open /dev/kvm: %s%s", strerror(-err),
			       err == -EACCES ? " (add your user to the 'kvm' group)" : "");
	}
	v = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION)
		return errf(why, whylen, -ENOTSUP, "/dev/kvm speaks KVM API version %d, brisk needs %d",
			       v, KVM_API_VERSION);
	for (unsigned int i = 0; i < ARRAY_SIZE(vm_required_caps); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, vm_required_caps[i].cap) <= 0)
			return errf(why, whylen, -ENOTSUP,
				       "the host KVM lacks %s, which brisk needs (host kernel too old?)",
				       vm_required_caps[i].name);
	max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max > 0 && cfg->nr_cpus > (unsigned int)max)
		return errf(why, whylen, -EINVAL, "--cpus %u: the host KVM allows at most %d vCPUs",
			       cfg->nr_cpus, max);
	v = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (v <= 0)
		return errf(why, whylen, -ENOTSUP, "KVM_GET_VCPU_MMAP_SIZE failed");
	vm->run_size = (size_t)v;
	return 0;
}

static int vm_setup_kvm(struct vm *vm, const struct vm_config *cfg, char *why, size_t whylen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t map_addr = KVM_IDENTITY_MAP_ADDR;
	int r;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return errf(why, whylen, -errno, "KVM_CREATE_VM: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		return errf(why, whylen, -errno, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &map_addr) < 0)
		return errf(why, whylen, -errno, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));

	r = guest_mem_init(&vm->mem, cfg->mem_mib * MiB);
	if (r < 0)
		return errf(why, whylen, r, "cannot map %llu MiB of guest RAM: %s",
			       (unsigned long long)cfg->mem_mib, strerror(-r));
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = vm->mem.regions[i].gpa,
			.memory_size = vm->mem.regions[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)vm->mem.regions[i].hva,
			/* machine-config.track_dirty_pages: KVM keeps a dirty bitmap per memslot. */
			.flags = cfg->track_dirty_pages ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return errf(why, whylen, -errno, "KVM_SET_USER_MEMORY_REGION (memslot %u): %s",
				       i, strerror(errno));
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return errf(why, whylen, -errno, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return errf(why, whylen, -errno, "KVM_CREATE_PIT2: %s", strerror(errno));
	return 0;
}

static int vm_irqfd(struct vm *vm, int *fd, unsigned int gsi)
{
	struct kvm_irqfd irqfd = { .gsi = gsi };

	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*fd < 0)
		return -errno;
	irqfd.fd = (uint32_t)*fd;
	return ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

static void vm_on_reset(void *opaque)
{
	vm_request_stop(opaque, VM_END_RESET, 0, "i8042 reset");
}

/* i8042 IRQ 1 rising edge: pulse GSI 1 (an irqfd is edge-like: one injection per write). */
static void vm_on_kbd_irq(void *opaque)
{
	struct vm *vm = opaque;
	uint64_t one = 1;

	if (write(vm->kbd_irq_fd, &one, sizeof(one)) < 0)
		log_debug("i8042 irqfd: %s", strerror(errno));
}

int vm_send_ctrl_alt_del(struct vm *vm)
{
	return i8042_send_ctrl_alt_del(&vm->kbd);
}

static void vm_on_exit_dev(void *opaque, int status)
{
	vm_request_stop(opaque, VM_END_EXIT_DEVICE, status, NULL);
}

static void vm_on_stdin_ready(void *opaque)
{
	struct vm *vm = opaque;
	uint64_t one = 1;

	atomic_store(&vm->stdin_ready, true);
	/* The console waits on the serial kick: wake it to start sending. */
	if (write(vm->serial_kick_fd, &one, sizeof(one)) < 0)
		log_debug("serial kick: %s", strerror(errno));
}

static int vm_add_drive(struct vm *vm, const struct blk_drive_config *d, char *why, size_t whylen);
static int vm_add_nic(struct vm *vm, const struct vm_nic_config *c, char *why, size_t whylen);

static int vm_setup_devices(struct vm *vm, const struct vm_config *cfg, char *why, size_t whylen)
{
	int r;

	vm->serial_kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->serial_kick_fd < 0)
		return errf(why, whylen, -errno, "eventfd: %s", strerror(errno));
	r = vm_irqfd(vm, &vm->com1_irq_fd, COM1_GSI);
	if (r == 0)
		r = vm_irqfd(vm, &vm->com2_irq_fd, COM2_GSI);
	if (r == 0)
		r = vm_irqfd(vm, &vm->kbd_irq_fd, KBD_GSI);
	if (r < 0)
		return errf(why, whylen, r, "KVM_IRQFD for the serial ports and i8042: %s",
			    strerror(-r));
	serial_init(&vm->com1, vm->com1_irq_fd, vm->serial_kick_fd);
	serial_init(&vm->com2, vm->com2_irq_fd, vm->serial_kick_fd);
	i8042_init(&vm->kbd, vm_on_reset, vm_on_kbd_irq, vm);
	boot_timer_init(&vm->boot_timer, cfg->start_us, cfg->start_cpu_us, cfg->boot_timer);
	exit_dev_init(&vm->exit_dev, vm_on_exit_dev, vm_on_stdin_ready, vm);

	r = bus_register(&vm->pio, COM1_PORT, SERIAL_NR_REGS, serial_io, &vm->com1);
	if (r == 0)
		r = bus_register(&vm->pio, COM2_PORT, SERIAL_NR_REGS, serial_io, &vm->com2);
	if (r == 0)
		r = bus_register(&vm->pio, I8042_DATA_PORT, 1, i8042_data_io, &vm->kbd);
	if (r == 0)
		r = bus_register(&vm->pio, I8042_CMD_PORT, 1, i8042_cmd_io, &vm->kbd);
	if (r == 0)
		r = bus_register(&vm->pio, BOOT_TIMER_PORT, 1, boot_timer_io, &vm->boot_timer);
	if (r == 0)
		r = bus_register(&vm->mmio, BOOT_TIMER_MMIO, BOOT_TIMER_MMIO_SIZE, boot_timer_io,
				 &vm->boot_timer);
	if (r == 0)
		r = bus_register(&vm->pio, EXIT_DEV_PORT, EXIT_DEV_SIZE, exit_dev_io, &vm->exit_dev);
	if (r < 0)
		return errf(why, whylen, r, "device bus registration: %s", strerror(-r));
	if (cfg->nr_drives > VM_MAX_DRIVES)
		return errf(why, whylen, -EINVAL, "%u drives: at most %d are supported",
			    cfg->nr_drives, VM_MAX_DRIVES);
	if (cfg->nr_nics > VM_MAX_NICS)
		return errf(why, whylen, -EINVAL, "%u NICs: at most %d are supported",
			    cfg->nr_nics, VM_MAX_NICS);
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		r = vm_add_drive(vm, &cfg->drives[i], why, whylen);
		if (r < 0)
			return r;
	}
	for (unsigned int i = 0; i < cfg->nr_nics; i++) {
		r = vm_add_nic(vm, &cfg->nics[i], why, whylen);
		if (r < 0)
			return r;
	}
	return 0;
}

/* GPA of virtio-mmio slot @slot's 4 KiB window. */
static uint64_t vm_virtio_base(unsigned int slot)
{
	return VM_VIRTIO_MMIO_BASE + (uint64_t)slot * VIRTIO_MMIO_SIZE;
}

int vm_virtio_cmdline(unsigned int nr_devices, char *out, size_t outlen)
{
	size_t len = 0;

	if (outlen)
		out[0] = '\0';
	for (unsigned int i = 0; i < nr_devices; i++) {
		int n = snprintf(out + len, outlen - len, "%svirtio_mmio.device=4K@0x%llx:%u",
				 i ? " " : "",
				 (unsigned long long)vm_virtio_base(i),
				 VM_VIRTIO_GSI_BASE + i);

		if (n < 0 || (size_t)n >= outlen - len)
			return -E2BIG;
		len += (size_t)n;
	}
	return (int)len;
}

/*
 * Put transport @d for @ops/@dev on the next virtio-mmio slot: irqfd on
 * its GSI, one ioeventfd per queue on QueueNotify (datamatch = queue
 * index, so kicks never exit to userspace), the 4 KiB MMIO window.
 * @what names the device in messages. 0 or -errno with @why.
 */
static int vm_wire_virtio(struct vm *vm, struct vm_virtio *d, const struct virtio_dev_ops *ops,
			  void *dev, const char *what, char *why, size_t whylen)
{
	uint64_t base;
	int r;

	if (vm->nr_virtio >= VM_MAX_VIRTIO_DEVICES)
		return errf(why, whylen, -ENOSPC, "%s: at most %d drives and NICs together",
			    what, VM_MAX_VIRTIO_DEVICES);
	d->slot = vm->nr_virtio++;
	base = vm_virtio_base(d->slot);
	r = vm_irqfd(vm, &d->irq_fd, VM_VIRTIO_GSI_BASE + d->slot);
	if (r < 0)
		return errf(why, whylen, r, "%s: KVM_IRQFD: %s", what, strerror(-r));
	virtio_mmio_init(&d->mmio, ops, dev, &vm->mem, d->irq_fd);
	d->wired = true;
	for (unsigned int q = 0; q < ops->nr_queues; q++) {
		struct kvm_ioeventfd ioev = {
			.datamatch = q,
			.addr = base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		d->notify_fds[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->notify_fds[q] < 0)
			return errf(why, whylen, -errno, "eventfd: %s", strerror(errno));
		ioev.fd = d->notify_fds[q];
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &ioev) < 0)
			return errf(why, whylen, -errno, "%s: KVM_IOEVENTFD: %s", what, strerror(errno));
		d->mmio.notify_fds[q] = d->notify_fds[q];
	}
	r = bus_register(&vm->mmio, base, VIRTIO_MMIO_SIZE, virtio_mmio_io, &d->mmio);
	if (r < 0)
		return errf(why, whylen, r, "%s: MMIO window: %s", what, strerror(-r));
	return 0;
}

/* A transport slot with no fds yet (vm_unwire_virtio() may run on it). */
static void vm_virtio_clear(struct vm_virtio *d)
{
	d->wired = false;
	d->irq_fd = -1;
	for (unsigned int q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++)
		d->notify_fds[q] = -1;
}

/* Release what vm_wire_virtio() set up (the KVM side goes with the VM fd). */
static void vm_unwire_virtio(struct vm_virtio *d)
{
	if (d->wired)
		virtio_mmio_destroy(&d->mmio);
	d->wired = false;
	close_fd(&d->irq_fd);
	for (unsigned int q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++)
		close_fd(&d->notify_fds[q]);
}

/* One virtio-blk drive: image, engine, transport. */
static int vm_add_drive(struct vm *vm, const struct blk_drive_config *d, char *why, size_t whylen)
{
	struct vm_blk *vb = &vm->blks[vm->nr_blks];
	const char *name = d->id ? d->id : d->path;
	char reason[VM_WHY_MAX], what[64];
	int r;

	r = virtio_blk_open(&vb->blk, d, reason, sizeof(reason));
	if (r < 0)
		return errf(why, whylen, r, "drive '%s': %s", name, reason);
	vb->open = true;
	vm->nr_blks++;
	snprintf(what, sizeof(what), "drive '%s'", name);
	r = vm_wire_virtio(vm, &vb->dev, &virtio_blk_ops, &vb->blk, what, why, whylen);
	if (r < 0)
		return r;
	vb->blk.transport = &vb->dev.mmio;
	log_info("drive '%s': %s, %llu sectors%s, %s I/O, virtio-mmio 0x%llx GSI %u",
		 d->id ? d->id : "", d->path, (unsigned long long)vb->blk.capacity,
		 vb->blk.read_only ? ", read-only" : "", io_engine_name(vb->blk.io),
		 (unsigned long long)vm_virtio_base(vb->dev.slot),
		 VM_VIRTIO_GSI_BASE + vb->dev.slot);
	return 0;
}

/* One virtio-net NIC: attach to the tap, transport. */
static int vm_add_nic(struct vm *vm, const struct vm_nic_config *c, char *why, size_t whylen)
{
	struct vm_net *vn = &vm->nets[vm->nr_nets];
	struct net_config nc = { .is_tap = true };
	char reason[VM_WHY_MAX], what[64];
	int r, fd;

	fd = tap_open(c->tap, reason, sizeof(reason));
	if (fd < 0)
		return errf(why, whylen, fd, "--net: %s", reason);
	nc.fd = fd;
	nc.offloads = tap_has_offloads(fd);
	nc.mtu = tap_mtu(c->tap);
	memcpy(nc.mac, c->mac, sizeof(nc.mac));
	r = virtio_net_init(&vn->net, &nc);
	if (r < 0)
		return errf(why, whylen, r, "--net %s: %s", c->tap, strerror(-r));
	snprintf(vn->tap, sizeof(vn->tap), "%s", c->tap);
	vn->open = true;
	vm->nr_nets++;
	snprintf(what, sizeof(what), "NIC on tap '%s'", c->tap);
	r = vm_wire_virtio(vm, &vn->dev, &virtio_net_ops, &vn->net, what, why, whylen);
	if (r < 0)
		return r;
	vn->net.transport = &vn->dev.mmio;
	log_info("NIC eth%u: tap %s, MAC %02x:%02x:%02x:%02x:%02x:%02x, MTU %u%s, virtio-mmio 0x%llx GSI %u",
		 vm->nr_nets - 1, c->tap, c->mac[0], c->mac[1], c->mac[2], c->mac[3], c->mac[4],
		 c->mac[5], vn->net.mtu, nc.offloads ? ", offloads" : "",
		 (unsigned long long)vm_virtio_base(vn->dev.slot),
		 VM_VIRTIO_GSI_BASE + vn->dev.slot);
	return 0;
}

/* Consume a queue-notify eventfd's counter. */
static void vm_drain_notify(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("queue notify eventfd: %s", strerror(errno));
}

static void vm_on_blk_notify(void *opaque, uint32_t events)
{
	struct vm_blk *vb = opaque;

	(void)events;
	vm_drain_notify(vb->dev.notify_fds[0]);
	virtio_blk_notify(&vb->blk);
}

static void vm_on_blk_io(void *opaque, uint32_t events)
{
	struct vm_blk *vb = opaque;

	(void)events;
	virtio_blk_io_event(&vb->blk);
}

static void vm_on_net_rx_notify(void *opaque, uint32_t events)
{
	struct vm_net *vn = opaque;

	(void)events;
	vm_drain_notify(vn->dev.notify_fds[NET_RX_QUEUE]);
	virtio_net_notify(&vn->net, NET_RX_QUEUE);
}

static void vm_on_net_tx_notify(void *opaque, uint32_t events)
{
	struct vm_net *vn = opaque;

	(void)events;
	vm_drain_notify(vn->dev.notify_fds[NET_TX_QUEUE]);
	virtio_net_notify(&vn->net, NET_TX_QUEUE);
}

int vm_attach_events(struct vm *vm, struct event_loop *loop)
{
	for (unsigned int i = 0; i < vm->nr_blks; i++) {
		struct vm_blk *vb = &vm->blks[i];
		int io_fd = io_engine_event_fd(vb->blk.io);
		int r = event_loop_add(loop, vb->dev.notify_fds[0], EPOLLIN, vm_on_blk_notify, vb);

		if (r == 0 && io_fd >= 0)
			r = event_loop_add(loop, io_fd, EPOLLIN, vm_on_blk_io, vb);
		if (r < 0)
			return r;
	}
	for (unsigned int i = 0; i < vm->nr_nets; i++) {
		struct vm_net *vn = &vm->nets[i];
		int r = event_loop_add(loop, vn->dev.notify_fds[NET_RX_QUEUE], EPOLLIN,
				       vm_on_net_rx_notify, vn);

		if (r == 0)
			r = event_loop_add(loop, vn->dev.notify_fds[NET_TX_QUEUE], EPOLLIN,
					   vm_on_net_tx_notify, vn);
		if (r == 0)
			r = virtio_net_attach(&vn->net, loop);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Open a user-named file for reading; the message names it. */
static int vm_open_file(const char *what, const char *path, uint64_t *size,
			char *why, size_t whylen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errf(why, whylen, -errno, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errf(why, whylen, -EINVAL, "%s %s: not a regular file", what, path);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

static int vm_load(struct vm *vm, const struct vm_config *cfg, char *why, size_t whylen)
{
	char reason[LOADER_WHY_MAX] = "";
	uint64_t size, initrd_gpa = 0, initrd_size = 0;
	int fd, r;

	fd = vm_open_file("kernel", cfg->kernel_path, &size, why, whylen);
	if (fd < 0)
		return fd;
	r = kernel_load(&vm->mem, fd, size, cfg->boot, &vm->kernel, reason, sizeof(reason));
	close(fd);
	if (r < 0)
		return errf(why, whylen, r, "kernel %s: %s", cfg->kernel_path, reason);

	if (cfg->initrd_path) {
		fd = vm_open_file("initrd", cfg->initrd_path, &size, why, whylen);
		if (fd < 0)
			return fd;
		r = initrd_load(&vm->mem, fd, size, &vm->kernel, &initrd_gpa, reason, sizeof(reason));
		close(fd);
		if (r < 0)
			return errf(why, whylen, r, "initrd %s: %s", cfg->initrd_path, reason);
		initrd_size = size;
	}
	r = boot_setup_memory(&vm->mem, &vm->kernel, cfg->cmdline, initrd_gpa, initrd_size);
	if (r == -E2BIG)
		return errf(why, whylen, r, "kernel command line is %zu bytes, kernel %s accepts at most %u",
			       strlen(cfg->cmdline), cfg->kernel_path, vm->kernel.cmdline_max - 1);
	if (r < 0)
		return errf(why, whylen, r, "boot data: %s (guest RAM too small?)", strerror(-r));
	r = mptable_setup(&vm->mem, vm->nr_cpus);
	if (r < 0)
		return errf(why, whylen, r, "MP table: %s", strerror(-r));
	return 0;
}

/* KVM_GET_SUPPORTED_CPUID, growing the buffer while KVM says E2BIG. */
static void *vm_query_cpuid(void *arg)
{
	struct vm *vm = arg;
	unsigned int nent = 128;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c) {
			vm->cpuid_err = -ENOMEM;
			return NULL;
		}
		c->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
				cpuid_set_tsc_deadline(c->entries, c->nent);
			vm->cpuid = c;
			return NULL;
		}
		vm->cpuid_err = -errno;
		free(c);
		if (vm->cpuid_err != -E2BIG || nent >= 4096)
			return NULL;
		nent *= 2;
	}
}

/*
 * The query is one of the slowest KVM calls at start-up (about 1 ms on some
 * hosts) and needs only /dev/kvm: run it on a second thread while the main
 * thread builds the VM. Falls back to querying inline if no thread starts.
 */
static void vm_start_cpuid_query(struct vm *vm)
{
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	vm->cpuid_thread_started = pthread_create(&vm->cpuid_thread, &attr, vm_query_cpuid, vm) == 0;
	pthread_attr_destroy(&attr);
}

/* Wait for the query thread, if one runs. Returns true if there was one. */
static bool vm_reap_cpuid_thread(struct vm *vm)
{
	if (!vm->cpuid_thread_started)
		return false;
	pthread_join(vm->cpuid_thread, NULL);
	vm->cpuid_thread_started = false;
	return true;
}

static void vm_join_cpuid_query(struct vm *vm)
{
	if (!vm_reap_cpuid_thread(vm) && !vm->cpuid && !vm->cpuid_err && vm->kvm_fd >= 0)
		vm_query_cpuid(vm);
}

static int vm_setup_vcpus(struct vm *vm, char *why, size_t whylen)
{
	int r = 0;

	vm_join_cpuid_query(vm);
	if (!vm->cpuid)
		return errf(why, whylen, vm->cpuid_err ? vm->cpuid_err : -EIO,
			    "KVM_GET_SUPPORTED_CPUID: %s", strerror(-vm->cpuid_err));
	for (unsigned int i = 0; i < vm->nr_cpus && r >= 0; i++) {
		vm->vcpus[i].vm = vm;
		vm->vcpus[i].index = i;
		r = vcpu_init(vm, &vm->vcpus[i], vm->cpuid, why, whylen);
	}
	return r < 0 ? r : 0;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, char *why, size_t whylen)
{
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->stop_fd = -1;
	vm->com1_irq_fd = vm->com2_irq_fd = vm->kbd_irq_fd = vm->serial_kick_fd = -1;
	for (unsigned int i = 0; i < VM_MAX_CPUS; i++)
		vm->vcpus[i].fd = -1;
	for (unsigned int i = 0; i < VM_MAX_DRIVES; i++)
		vm_virtio_clear(&vm->blks[i].dev);
	for (unsigned int i = 0; i < VM_MAX_NICS; i++)
		vm_virtio_clear(&vm->nets[i].dev);
	atomic_init(&vm->end, VM_END_NONE);
	atomic_init(&vm->pause_req, false);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	vm->pause_sync = true;
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > VM_MAX_CPUS) {
		r = errf(why, whylen, -EINVAL, "vCPU count %u out of range 1..%d",
			 cfg->nr_cpus, VM_MAX_CPUS);
		goto fail;
	}
	vm->nr_cpus = cfg->nr_cpus;
	vm->seccomp = cfg->seccomp;

	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0) {
		r = errf(why, whylen, -errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	/* Each step logs its end time (-vv), for start-up profiling. */
	r = vm_open_kvm(vm, cfg, why, whylen);
	if (r == 0)
		vm_start_cpuid_query(vm);
	log_debug("%llu us: /dev/kvm checked", (unsigned long long)(util_now_us() - cfg->start_us));
	if (r == 0)
		r = vm_setup_kvm(vm, cfg, why, whylen);
	log_debug("%llu us: VM, RAM, irqchip, PIT", (unsigned long long)(util_now_us() - cfg->start_us));
	if (r == 0)
		r = vm_setup_devices(vm, cfg, why, whylen);
	if (r == 0)
		r = vm_load(vm, cfg, why, whylen);
	log_debug("%llu us: devices, kernel loaded", (unsigned long long)(util_now_us() - cfg->start_us));
	if (r == 0)
		r = vm_setup_vcpus(vm, why, whylen);
	log_debug("%llu us: vCPUs", (unsigned long long)(util_now_us() - cfg->start_us));
	if (r == 0)
		return 0;
fail:
	vm_destroy(vm);
	return r;
}

int vm_start(struct vm *vm)
{
	sigset_t set, old;
	int r = 0;

	/* vCPU threads start with SIGUSR1 blocked and unblock it themselves. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (unsigned int i = 0; i < vm->nr_cpus; i++) {
		r = -pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (r < 0) {
			vm_request_stop(vm, VM_END_HOST, 0, "cannot start vCPU threads");
			break;
		}
		vm->vcpus[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

void vm_kick_vcpus(struct vm *vm)
{
	/* immediate_exit covers a kick that lands before KVM_RUN is entered. */
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned int i = 0; i < vm->nr_cpus; i++) {
		if (vm->vcpus[i].run)
			vm->vcpus[i].run->immediate_exit = 1;
		if (vm->vcpus[i].started && !pthread_equal(vm->vcpus[i].thread, pthread_self()))
			pthread_kill(vm->vcpus[i].thread, SIGUSR1);
	}
}

void vm_request_stop(struct vm *vm, enum vm_end end, int status, const char *why)
{
	int expected = VM_END_NONE;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&vm->end, &expected, (int)end))
		return;
	vm->exit_status = status;
	if (why)
		snprintf(vm->end_why, sizeof(vm->end_why), "%s", why);
	if (vm->stop_fd >= 0 && write(vm->stop_fd, &one, sizeof(one)) < 0)
		log_debug("stop eventfd: %s", strerror(errno));
	/* Parked vCPUs wake up and leave. */
	if (vm->pause_sync) {
		pthread_mutex_lock(&vm->pause_lock);
		pthread_cond_broadcast(&vm->pause_cond);
		pthread_mutex_unlock(&vm->pause_lock);
	}
	vm_kick_vcpus(vm);
}

void vm_stop_vcpus(struct vm *vm)
{
	vm_request_stop(vm, VM_END_HOST, 0, "shutting down");
	for (unsigned int i = 0; i < vm->nr_cpus; i++) {
		if (vm->vcpus[i].started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].started = false;
		}
	}
}

void vm_destroy(struct vm *vm)
{
	vm_stop_vcpus(vm);
	vm_reap_cpuid_thread(vm);
	free(vm->cpuid);
	vm->cpuid = NULL;
	/* vCPUs are gone: drain each drive's in-flight I/O before RAM goes away. */
	for (unsigned int i = 0; i < vm->nr_blks; i++) {
		struct vm_blk *vb = &vm->blks[i];

		if (vb->open) {
			if (vb->dev.wired)
				pthread_mutex_lock(&vb->dev.mmio.lock);
			virtio_blk_close(&vb->blk);
			if (vb->dev.wired)
				pthread_mutex_unlock(&vb->dev.mmio.lock);
			vb->open = false;
		}
		vm_unwire_virtio(&vb->dev);
	}
	vm->nr_blks = 0;
	for (unsigned int i = 0; i < vm->nr_nets; i++) {
		struct vm_net *vn = &vm->nets[i];

		if (vn->open) {
			const struct net_stats *st = &vn->net.stats;

			log_info("NIC eth%u (%s): rx %llu packets %llu bytes %llu dropped %llu paused; "
				 "tx %llu packets %llu bytes %llu dropped; %llu bad chains", i, vn->tap,
				 (unsigned long long)st->rx_packets, (unsigned long long)st->rx_bytes,
				 (unsigned long long)st->rx_dropped, (unsigned long long)st->rx_paused,
				 (unsigned long long)st->tx_packets, (unsigned long long)st->tx_bytes,
				 (unsigned long long)st->tx_dropped, (unsigned long long)st->bad_chains);
			virtio_net_close(&vn->net); /* the event loop no longer runs */
		}
		vn->open = false;
		vm_unwire_virtio(&vn->dev);
	}
	vm->nr_nets = 0;
	vm->nr_virtio = 0;
	for (unsigned int i = 0; i < vm->nr_cpus; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];

		if (vcpu->run) {
			munmap(vcpu->run, vm->run_size);
			vcpu->run = NULL;
		}
		close_fd(&vcpu->fd);
	}
	close_fd(&vm->com1_irq_fd);
	close_fd(&vm->com2_irq_fd);
	close_fd(&vm->kbd_irq_fd);
	close_fd(&vm->serial_kick_fd);
	close_fd(&vm->stop_fd);
	close_fd(&vm->vm_fd);
	close_fd(&vm->kvm_fd);
	guest_mem_destroy(&vm->mem);
	if (vm->pause_sync) {
		pthread_cond_destroy(&vm->pause_cond);
		pthread_mutex_destroy(&vm->pause_lock);
		vm->pause_sync = false;
	}
}
