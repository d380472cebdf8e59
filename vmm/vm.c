/* vm.c — assemble the machine: KVM checks, RAM, irqchip, devices, kernel, vCPUs. */
#include "vmm/vm.h"
#include "vmm/boot.h"
#include "vmm/log.h"
#include "vmm/mptable.h"
#include "vmm/util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define KVM_TSS_ADDR 0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define COM1_PORT 0x3f8
#define COM2_PORT 0x2f8
#define COM1_GSI 4
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

static int vm_setup_devices(struct vm *vm, const struct vm_config *cfg, char *why, size_t whylen)
{
	int r;

	vm->serial_kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->serial_kick_fd < 0)
		return errf(why, whylen, -errno, "eventfd: %s", strerror(errno));
	r = vm_irqfd(vm, &vm->com1_irq_fd, COM1_GSI);
	if (r == 0)
		r = vm_irqfd(vm, &vm->com2_irq_fd, COM2_GSI);
	if (r < 0)
		return errf(why, whylen, r, "KVM_IRQFD for the serial ports: %s", strerror(-r));
	serial_init(&vm->com1, vm->com1_irq_fd, vm->serial_kick_fd);
	serial_init(&vm->com2, vm->com2_irq_fd, vm->serial_kick_fd);
	i8042_init(&vm->kbd, vm_on_reset, vm);
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

static int vm_setup_vcpus(struct vm *vm, char *why, size_t whylen)
{
	struct kvm_cpuid2 *cpuid;
	unsigned int nent = 128;
	int r = 0;

	/* KVM says E2BIG until the buffer holds every supported leaf. */
	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return errf(why, whylen, -ENOMEM, "out of memory");
		cpuid->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		r = -errno;
		free(cpuid);
		if (r != -E2BIG || nent >= 4096)
			return errf(why, whylen, r, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
		nent *= 2;
	}
	for (unsigned int i = 0; i < vm->nr_cpus && r >= 0; i++) {
		vm->vcpus[i].vm = vm;
		vm->vcpus[i].index = i;
		r = vcpu_init(vm, &vm->vcpus[i], cpuid, why, whylen);
	}
	free(cpuid);
	return r < 0 ? r : 0;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, char *why, size_t whylen)
{
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->stop_fd = -1;
	vm->com1_irq_fd = vm->com2_irq_fd = vm->serial_kick_fd = -1;
	for (unsigned int i = 0; i < VM_MAX_CPUS; i++)
		vm->vcpus[i].fd = -1;
	atomic_init(&vm->end, VM_END_NONE);
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > VM_MAX_CPUS)
		return errf(why, whylen, -EINVAL, "vCPU count %u out of range 1..%d",
			       cfg->nr_cpus, VM_MAX_CPUS);
	vm->nr_cpus = cfg->nr_cpus;

	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0) {
		r = errf(why, whylen, -errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	r = vm_open_kvm(vm, cfg, why, whylen);
	if (r == 0)
		r = vm_setup_kvm(vm, cfg, why, whylen);
	if (r == 0)
		r = vm_setup_devices(vm, cfg, why, whylen);
	if (r == 0)
		r = vm_load(vm, cfg, why, whylen);
	if (r == 0)
		r = vm_setup_vcpus(vm, why, whylen);
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
	/* Kick every vCPU out of KVM_RUN; immediate_exit covers a kick that lands early. */
	for (unsigned int i = 0; i < vm->nr_cpus; i++) {
		if (vm->vcpus[i].run)
			vm->vcpus[i].run->immediate_exit = 1;
		if (vm->vcpus[i].started && !pthread_equal(vm->vcpus[i].thread, pthread_self()))
			pthread_kill(vm->vcpus[i].thread, SIGUSR1);
	}
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
	close_fd(&vm->serial_kick_fd);
	close_fd(&vm->stop_fd);
	close_fd(&vm->vm_fd);
	close_fd(&vm->kvm_fd);
	guest_mem_destroy(&vm->mem);
}
