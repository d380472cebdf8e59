/*
 * seccomp.h — the system calls each brisk thread may make (x86_64).
 *
 * Firecracker's model: every thread installs its own filter before it
 * touches guest-controlled data; anything not listed kills the whole
 * process (SCMP_ACT_KILL_PROCESS). ioctl requests are matched with
 * SCMP_A1_32; libseccomp 2.5 checks the upper 32 bits are zero as well, so
 * a request with high bits set (which the kernel would ignore) is refused
 * too, listed or not: no deny rule to slip past. io_uring
 * operations bypass seccomp: the ring's own restrictions (virtio/io_uring.c)
 * are that part of the policy. Kernel: Documentation/userspace-api/seccomp_filter.rst.
 */
#ifndef BRISK_JAILER_SECCOMP_H
#define BRISK_JAILER_SECCOMP_H

enum seccomp_thread {
	SECCOMP_THREAD_MAIN,  /* event loop: virtqueues, block I/O, tap, console, signals */
	SECCOMP_THREAD_VCPU,  /* KVM_RUN and the device registers it dispatches */
	SECCOMP_THREAD_API,   /* HTTP on the API socket: accept, read, write, poll */
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

/* Extra permissions one process needs, decided at start-up. */
struct seccomp_opts {
	int unlink_dirfd;     /* >= 0: the main thread may unlinkat() in this directory
			       * only (the API socket, removed at exit); -1: no unlink */
};

/* seccomp_install() with @opts (NULL = none). */
int seccomp_install_opts(enum seccomp_thread thread, enum seccomp_mode mode,
			 const struct seccomp_opts *opts);

/* "main" / "vcpu" / "api", for messages. */
const char *seccomp_thread_name(enum seccomp_thread thread);

#endif
