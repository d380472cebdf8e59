/*
 * vm.h — the machine: KVM VM, guest RAM, vCPUs and legacy devices (floor 3).
 *
 * vm_create() builds everything and loads the kernel; vm_start() starts one
 * thread per vCPU; the main thread then runs its event loop until
 * vm->stop_fd fires; vm_destroy() stops and joins the vCPUs and releases
 * every fd and mapping. KVM API: Documentation/virt/kvm/api.rst.
 */
#ifndef BRISK_VM_H
#define BRISK_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "vmm/boot_timer.h"
#include "vmm/bus.h"
#include "vmm/exit_dev.h"
#include "vmm/guest_mem.h"
#include "vmm/i8042.h"
#include "vmm/loader.h"
#include "vmm/serial.h"
#include "vmm/event_loop.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "jailer/seccomp.h"

#define VM_MAX_CPUS 32
#define VM_MAX_MEM_MIB (1024ULL * 1024) /* 1 TiB */
#define VM_WHY_MAX 512
#define VM_MAX_DRIVES 16
#define VM_MAX_NICS 8
/* GSIs 5..23 (IOAPIC pins) for virtio devices: at most 19 of them. */
#define VM_MAX_VIRTIO_DEVICES 19
/* virtio-mmio windows follow the boot timer's page in the MMIO gap; GSIs 5.. */
#define VM_VIRTIO_MMIO_BASE 0xC0001000ULL
#define VM_VIRTIO_GSI_BASE 5

/* One NIC: an existing tap and the guest's MAC. */
struct vm_nic_config {
	const char *tap;
	uint8_t mac[6];
};

struct vm_config {
	const char *kernel_path;
	const char *initrd_path;   /* NULL: no initrd */
	const char *cmdline;       /* full kernel command line */
	unsigned int nr_cpus;      /* 1..VM_MAX_CPUS */
	uint64_t mem_mib;          /* guest RAM, MiB */
	enum boot_pref boot;
	bool boot_timer;           /* print the boot-timer line */
	uint64_t start_us;         /* process start, CLOCK_MONOTONIC µs */
	uint64_t start_cpu_us;     /* process CPU time at start, µs */
	const struct blk_drive_config *drives; /* virtio-blk drives, /dev/vda first */
	unsigned int nr_drives;
	const struct vm_nic_config *nics;      /* virtio-net NICs after the drives, eth0 first */
	unsigned int nr_nics;
	enum seccomp_mode seccomp;             /* filters the vCPU threads install */
	bool track_dirty_pages;                /* KVM_MEM_LOG_DIRTY_PAGES on every memslot */
};

enum vm_end {
	VM_END_NONE,
	VM_END_EXIT_DEVICE, /* guest wrote a status to the exit device */
	VM_END_RESET,       /* i8042 reset, triple fault, KVM system event */
	VM_END_KVM_ERROR,   /* KVM could not run the guest */
	VM_END_HOST,        /* host side asked to stop (signal, error) */
};

/* KVM_RUN exits by reason, counted by the vCPU's own thread (metrics read them relaxed). */
struct vcpu_exit_stats {
	uint64_t io, mmio, intr, hlt, shutdown, system_event, internal_error, fail_entry, other;
};

struct vcpu {
	struct vm *vm;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	struct vcpu_exit_stats exits;
};

/* A virtio device's transport on its MMIO window, with its KVM plumbing. */
struct vm_virtio {
	struct virtio_mmio mmio;
	unsigned int slot;   /* window VM_VIRTIO_MMIO_BASE + slot * 4 KiB, GSI 5 + slot */
	int irq_fd;          /* irqfd on its GSI */
	int notify_fds[VIRTIO_MMIO_MAX_QUEUES]; /* ioeventfds on QueueNotify, one per queue */
	bool wired;          /* mmio initialised */
};

/* One virtio-blk drive. */
struct vm_blk {
	struct vm_virtio dev;
	struct virtio_blk blk;
	bool open;
};

/* One virtio-net NIC on a tap. */
struct vm_net {
	struct vm_virtio dev;
	struct virtio_net net;
	char tap[16];
	bool open;
};

struct vm {
	int kvm_fd, vm_fd;
	size_t run_size;
	struct guest_mem mem;
	struct bus pio, mmio;
	unsigned int nr_cpus;
	struct vcpu vcpus[VM_MAX_CPUS];
	struct kernel_info kernel;
	struct kvm_cpuid2 *cpuid;     /* KVM_GET_SUPPORTED_CPUID, owned */
	int cpuid_err;                /* -errno of that query */
	pthread_t cpuid_thread;       /* runs the query during VM set-up */
	bool cpuid_thread_started;

	struct serial com1, com2;
	struct i8042 kbd;
	struct boot_timer boot_timer;
	struct exit_dev exit_dev;
	struct vm_blk blks[VM_MAX_DRIVES];
	unsigned int nr_blks;
	struct vm_net nets[VM_MAX_NICS];
	unsigned int nr_nets;
	unsigned int nr_virtio;       /* virtio-mmio slots in use (drives, then NICs) */
	int com1_irq_fd, com2_irq_fd; /* irqfds for GSI 4 and 3 */
	int kbd_irq_fd;               /* irqfd for GSI 1 (i8042 keyboard) */
	int serial_kick_fd;           /* serial → main loop */

	enum seccomp_mode seccomp;    /* vCPU threads install their filter with it */
	atomic_bool stdin_ready;      /* guest agent asked for stdin (exit_dev) */
	/* Pause (vcpu.c): while pause_req is set, vCPUs park at a safe point. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;    /* nr_parked changed, pause_req cleared or the VM ended */
	bool pause_sync;              /* pause_lock/pause_cond initialised */
	atomic_bool pause_req;
	unsigned int nr_parked;       /* vCPU threads parked (pause_lock) */
	unsigned int nr_running;      /* vCPU threads in their loop (pause_lock) */
	bool paused;                  /* main thread: vm_pause() succeeded, no vm_resume() yet */
	int stop_fd;                  /* eventfd: the VM has ended */
	atomic_int end;               /* enum vm_end, first writer wins */
	int exit_status;              /* VM_END_EXIT_DEVICE: 0..255 */
	uint64_t first_insn_us;       /* µs since start when the first KVM_RUN began */
	char end_why[VM_WHY_MAX];     /* VM_END_KVM_ERROR / VM_END_HOST detail */
};

/*
 * Build the VM described by @cfg: KVM checks, RAM, irqchip, PIT, devices,
 * kernel/initrd/boot data, vCPUs in their boot state. On failure returns
 * -errno with a one-line reason naming the thing in @why, and everything
 * already built is released.
 */
int vm_create(struct vm *vm, const struct vm_config *cfg, char *why, size_t whylen);

/*
 * Kernel parameters announcing @nr_devices virtio-mmio devices
 * ("virtio_mmio.device=4K@0xc0001000:5 ..."), in the order vm_create()
 * places them. Returns the length or -E2BIG.
 */
int vm_virtio_cmdline(unsigned int nr_devices, char *out, size_t outlen);

/* Watch the devices' eventfds (queue notifications, I/O completions) in @loop. 0 or -errno. */
int vm_attach_events(struct vm *vm, struct event_loop *loop);

/* Start the vCPU threads. 0 or -errno (then the VM is stopped). */
int vm_start(struct vm *vm);

/*
 * Record why the VM ends (first call wins), tell the main loop through
 * stop_fd and kick every vCPU out of KVM_RUN. Safe from any thread.
 */
void vm_request_stop(struct vm *vm, enum vm_end end, int status, const char *why);

/*
 * Pause every vCPU at a safe point: each finishes the exit it is handling,
 * completes any pending PIO/MMIO with immediate_exit (KVM API doc,
 * "immediate_exit"), then parks; no device register access is half done.
 * KVM_KVMCLOCK_CTRL then tells the guest it was stopped by the host, so its
 * soft-lockup watchdog does not fire on resume; guest time keeps following
 * host time (the pause shows up as time passed, like a suspended laptop).
 * Main thread. 0; -EALREADY when paused; -ESHUTDOWN when the VM is ending;
 * -ETIMEDOUT when a vCPU did not park within @timeout_ms (the VM is then
 * resumed and left running).
 */
int vm_pause(struct vm *vm, unsigned int timeout_ms);

/* Let parked vCPUs run again. Main thread. 0, or -EALREADY when not paused. */
int vm_resume(struct vm *vm);

/*
 * Firecracker's SendCtrlAltDel: the i8042 keyboard presses and releases
 * Ctrl-Alt-Del and raises IRQ 1. Main thread. 0, -ENOSPC (the guest has
 * not read the last keys) or -EAGAIN (it turned keyboard scanning off).
 */
int vm_send_ctrl_alt_del(struct vm *vm);

/* Make every vCPU leave KVM_RUN soon (signal + immediate_exit). Any thread. */
void vm_kick_vcpus(struct vm *vm);

/* Stop and join the vCPU threads (idempotent). */
void vm_stop_vcpus(struct vm *vm);

/* Stop and join vCPUs, close fds, unmap RAM. Safe after a failed create. */
void vm_destroy(struct vm *vm);

/* vcpu.c: configure vCPU @index (CPUID, MSRs, LAPIC, FPU, boot registers). */
int vcpu_init(struct vm *vm, struct vcpu *vcpu, const struct kvm_cpuid2 *cpuid,
	      char *why, size_t whylen);
/* vcpu.c: the KVM_RUN loop, run on the vCPU's own thread. */
void *vcpu_thread(void *arg);

#endif
