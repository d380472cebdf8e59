/* vcpu.c — vCPU boot state and the KVM_RUN exit loop. */
#include "vmm/vm.h"
#include "vmm/boot.h"
#include "vmm/cpuid.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static int vcpu_set_cpuid(struct vcpu *vcpu, const struct kvm_cpuid2 *supported)
{
	size_t size = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	int r = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, supported, size);
	r = cpuid_normalize(c->entries, c->nent, vcpu->index, vcpu->vm->nr_cpus);
	if (r == 0 && ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0)
		r = -errno;
	free(c);
	return r;
}

/* Boot MSRs as a firmware would leave them (Firecracker's set). */
static int vcpu_set_msrs(struct vcpu *vcpu)
{
	static const struct { uint32_t index; uint64_t data; } boot_msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 }, { MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, 1 },                /* fast strings */
		{ MSR_MTRR_DEF_TYPE, (1 << 11) | 6 },       /* MTRRs on, default WB */
	};
	/* Header plus entries; a union, as a struct with kvm_msrs not last is a GNU extension. */
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) +
			      ARRAY_SIZE(boot_msrs) * sizeof(struct kvm_msr_entry)];
	} msrs;
	struct kvm_msr_entry *e = msrs.hdr.entries;
	int n;

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = ARRAY_SIZE(boot_msrs);
	for (unsigned int i = 0; i < ARRAY_SIZE(boot_msrs); i++) {
		e[i].index = boot_msrs[i].index;
		e[i].data = boot_msrs[i].data;
	}
	n = ioctl(vcpu->fd, KVM_SET_MSRS, &msrs);
	if (n < 0)
		return -errno;
	/* KVM stops at the first MSR it rejects; the rest are optional. */
	if (n < (int)ARRAY_SIZE(boot_msrs))
		log_debug("vCPU %u: KVM accepted %d of %zu boot MSRs (stopped at 0x%x)",
			  vcpu->index, n, ARRAY_SIZE(boot_msrs), e[n].index);
	return 0;
}

static void lapic_set_mode(struct kvm_lapic_state *la, unsigned int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &la->regs[reg], sizeof(v));
	v = (v & ~0x700U) | (mode << 8);
	memcpy(&la->regs[reg], &v, sizeof(v));
}

/* LINT0 = ExtINT (legacy PIC through the local APIC), LINT1 = NMI, as on a PC. */
static int vcpu_set_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state la;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &la) < 0)
		return -errno;
	lapic_set_mode(&la, APIC_LVT0, APIC_MODE_EXTINT);
	lapic_set_mode(&la, APIC_LVT1, APIC_MODE_NMI);
	return ioctl(vcpu->fd, KVM_SET_LAPIC, &la) < 0 ? -errno : 0;
}

static int vcpu_set_boot_regs(struct vcpu *vcpu)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	boot_cpu_regs(&vcpu->vm->kernel, &regs, &sregs);
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	return ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

int vcpu_init(struct vm *vm, struct vcpu *vcpu, const struct kvm_cpuid2 *cpuid,
	      char *why, size_t whylen)
{
	const char *step;
	int r;

	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, vcpu->index);
	if (vcpu->fd < 0) {
		r = -errno;
		step = "KVM_CREATE_VCPU";
		goto fail;
	}
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		r = -errno;
		step = "mmap kvm_run";
		goto fail;
	}
	step = "KVM_SET_CPUID2";
	r = vcpu_set_cpuid(vcpu, cpuid);
	if (r < 0)
		goto fail;
	step = "KVM_SET_MSRS";
	r = vcpu_set_msrs(vcpu);
	if (r < 0)
		goto fail;
	step = "KVM_SET_LAPIC";
	r = vcpu_set_lapic(vcpu);
	if (r < 0)
		goto fail;
	/* Application processors wait for INIT/SIPI from the boot CPU. */
	if (vcpu->index == 0) {
		step = "boot registers";
		r = vcpu_set_boot_regs(vcpu);
		if (r < 0)
			goto fail;
	}
	return 0;
fail:
	snprintf(why, whylen, "vCPU %u: %s: %s", vcpu->index, step, strerror(-r));
	return r;
}

static void vcpu_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;

	/* data_offset and size*count come from KVM, within the run page. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		if (!bus_dispatch(&vcpu->vm->pio, run->io.port, data, run->io.size, write))
			log_debug("vCPU %u: unhandled %s port 0x%x size %u", vcpu->index,
				  write ? "write" : "read", run->io.port, run->io.size);
}

static void vcpu_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = MIN(run->mmio.len, (uint32_t)sizeof(run->mmio.data));

	if (!bus_dispatch(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
			  run->mmio.is_write))
		log_debug("vCPU %u: unhandled MMIO %s 0x%llx len %u", vcpu->index,
			  run->mmio.is_write ? "write" : "read",
			  (unsigned long long)run->mmio.phys_addr, len);
}

/* The host KVM stopped the guest: say where and why, and that it is the host's limit. */
static void vcpu_kvm_failure(struct vcpu *vcpu, const char *what, unsigned long long code)
{
	struct kvm_regs regs;
	char why[VM_WHY_MAX];
	unsigned long long rip = 0;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) == 0)
		rip = regs.rip;
	snprintf(why, sizeof(why),
		 "the host KVM could not run this guest: %s (code %llu) on vCPU %u at RIP 0x%llx. "
		 "This KVM cannot run this kernel (a nested software KVM such as kvm_pvm cannot run "
		 "unmodified Linux); use a host with hardware virtualization, or scripts/testhost",
		 what, code, vcpu->index, rip);
	vm_request_stop(vcpu->vm, VM_END_KVM_ERROR, 0, why);
}

/* One more exit: only this vCPU's thread writes; metrics read it relaxed. */
static inline void vcpu_count(uint64_t *counter)
{
	__atomic_store_n(counter, *counter + 1, __ATOMIC_RELAXED);
}

/* Handle one exit. Returns false when this vCPU must stop running. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;
	struct vcpu_exit_stats *x = &vcpu->exits;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_count(&x->io);
		vcpu_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_count(&x->mmio);
		vcpu_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
		vcpu_count(&x->intr);
		return true;
	case KVM_EXIT_SHUTDOWN:
		vcpu_count(&x->shutdown);
		/* Triple fault: a PC resets. */
		vm_request_stop(vm, VM_END_RESET, 0, "triple fault");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu_count(&x->system_event);
		vm_request_stop(vm, VM_END_RESET, 0,
				run->system_event.type == KVM_SYSTEM_EVENT_CRASH ? "guest crash"
										 : "system event");
		return false;
	case KVM_EXIT_HLT:
		vcpu_count(&x->hlt);
		vm_request_stop(vm, VM_END_RESET, 0, "guest halted");
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_count(&x->internal_error);
		vcpu_kvm_failure(vcpu,
				 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
					 ? "KVM_EXIT_INTERNAL_ERROR, emulation failure"
					 : "KVM_EXIT_INTERNAL_ERROR",
				 run->internal.suberror);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_count(&x->fail_entry);
		vcpu_kvm_failure(vcpu, "KVM_EXIT_FAIL_ENTRY, hardware entry failure",
				 run->fail_entry.hardware_entry_failure_reason);
		return false;
	default:
		vcpu_count(&x->other);
		vcpu_kvm_failure(vcpu, "unexpected KVM exit reason", run->exit_reason);
		return false;
	}
}

/*
 * Park this vCPU while a pause is requested. First re-enter KVM_RUN with
 * immediate_exit set: KVM completes the PIO/MMIO the last exit started
 * (api.rst, KVM_EXIT_IO/MMIO: the operation is complete only after
 * re-entry) and returns EINTR at once, so the vCPU parks with consistent
 * state.
 */
static void vcpu_park(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	/* Completing an access can itself exit (a split MMIO access): handle that too. */
	for (unsigned int i = 0; i < 16; i++) {
		vcpu->run->immediate_exit = 1;
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0)
			break;
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	vcpu->run->immediate_exit = 0;
	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (atomic_load(&vm->pause_req) && atomic_load(&vm->end) == VM_END_NONE)
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->nr_parked--;
	pthread_mutex_unlock(&vm->pause_lock);
}

int vm_pause(struct vm *vm, unsigned int timeout_ms)
{
	struct timespec deadline;
	int r = 0;

	if (vm->paused)
		return -EALREADY;
	if (atomic_load(&vm->end) != VM_END_NONE)
		return -ESHUTDOWN;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	atomic_store(&vm->pause_req, true);
	vm_kick_vcpus(vm);
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->nr_parked < vm->nr_running && atomic_load(&vm->end) == VM_END_NONE && r == 0)
		r = -pthread_cond_clockwait(&vm->pause_cond, &vm->pause_lock, CLOCK_MONOTONIC,
					     &deadline);
	pthread_mutex_unlock(&vm->pause_lock);
	if (atomic_load(&vm->end) != VM_END_NONE)
		r = -ESHUTDOWN;
	if (r < 0) {
		atomic_store(&vm->pause_req, false);
		pthread_mutex_lock(&vm->pause_lock);
		pthread_cond_broadcast(&vm->pause_cond);
		pthread_mutex_unlock(&vm->pause_lock);
		return r;
	}
	vm->paused = true;
	/* EINVAL: the guest does not use kvmclock; nothing to tell it. */
	for (unsigned int i = 0; i < vm->nr_cpus; i++)
		if (ioctl(vm->vcpus[i].fd, KVM_KVMCLOCK_CTRL, 0) < 0 && errno != EINVAL)
			log_debug("vCPU %u: KVM_KVMCLOCK_CTRL: %s", i, strerror(errno));
	return 0;
}

int vm_resume(struct vm *vm)
{
	if (!vm->paused)
		return -EALREADY;
	vm->paused = false;
	atomic_store(&vm->pause_req, false);
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	return 0;
}

static void vcpu_kick_handler(int sig)
{
	(void)sig; /* only interrupts KVM_RUN */
}

void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };
	sigset_t set;
	char name[16];

	snprintf(name, sizeof(name), "brisk-vcpu%u", vcpu->index);
	pthread_setname_np(pthread_self(), name);
	/* No SA_RESTART: the kick must make KVM_RUN return EINTR. */
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* Before the guest runs: from here on this thread handles guest exits. */
	if (seccomp_install(SECCOMP_THREAD_VCPU, vm->seccomp) < 0) {
		vm_request_stop(vm, VM_END_HOST, 0, "cannot install the vCPU seccomp filter");
		return NULL;
	}

	if (vcpu->index == 0)
		vm->first_insn_us = util_now_us() - vm->boot_timer.start_us;
	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_running++;
	pthread_mutex_unlock(&vm->pause_lock);
	while (atomic_load(&vm->end) == VM_END_NONE) {
		if (atomic_load(&vm->pause_req)) {
			vcpu_park(vcpu);
			continue;
		}
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				/* A kick: clear it unless the VM is ending (checked next). */
				if (atomic_load(&vm->end) == VM_END_NONE)
					vcpu->run->immediate_exit = 0;
				continue;
			}
			char why[128];

			snprintf(why, sizeof(why), "vCPU %u: KVM_RUN: %s", vcpu->index,
				 strerror(errno));
			vm_request_stop(vm, VM_END_HOST, 0, why);
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_running--;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	return NULL;
}
