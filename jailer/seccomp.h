/*
 * seccomp.h — the system calls each brisk thread may make (x86_64).
 *
 * Firecracker's model: every thread installs its own filter before it
 * touches guest-controlled data; anything not listed kills the whole
 * process (SCMP_ACT_KILL_PROCESS). ioctl requests are compared on their
 * low 32 bits only (the kernel ignores the upper ones), so setting high
 * bits does not get an unlisted request past the filter. io_uring
 * operations bypass seccomp: the ring's own restrictions (virtio/io_uring.c)
 * are that part of the policy. Kernel: Documentation/userspace-api/seccomp_filter.rst.
 */
#ifndef BRISK_JAILER_SECCOMP_H
#define BRISK_JAILER_SECCOMP_H

enum seccomp_thread {
	SECCOMP_THREAD_MAIN,  /* event loop: virtqueues, block I/O, tap, console, signals */
	SECCOMP_THREAD_VCPU,  /* KVM_RUN and the device registers it dispatches */
};

enum seccomp_mode {
	SECCOMP_ENFORCE,      /* a call not listed kills the process */
	SECCOMP_LOG,          /* a call not listed is logged by the kernel (audit), then runs */
	SECCOMP_OFF,          /* no filter (--no-seccomp) */
};

/*
 * Install @thread's filter on the calling thread (only: no TSYNC), with
 * no_new_privs. Returns 0, or -errno from libseccomp / the kernel.
 */
int seccomp_install(enum seccomp_thread thread, enum seccomp_mode mode);

/* "main" / "vcpu", for messages. */
const char *seccomp_thread_name(enum seccomp_thread thread);

#endif
