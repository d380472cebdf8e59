/* seccomp.c — per-thread system-call allow-lists for brisk (libseccomp; x86_64). */
#include "jailer/seccomp.h"

#include <errno.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <unistd.h>

/*
 * One allowed call: the syscall, and optionally one condition on argument
 * @arg (-1: none). Data are 32-bit, as SCMP_A<n>_32 makes them: the
 * argument's upper 32 bits must be zero.
 */
struct seccomp_rule {
	int nr;
	int arg;
	enum scmp_compare op;
	uint32_t a, b;               /* datum_a, datum_b */
};

#define ALLOW(name) { .nr = SCMP_SYS(name), .arg = -1 }
/* ioctl with request @req. */
#define ALLOW_IOCTL(req) { .nr = SCMP_SYS(ioctl), .arg = 1, .op = SCMP_CMP_EQ, .a = (uint32_t)(req) }
/* mmap / mprotect without PROT_EXEC: no new executable memory. */
#define ALLOW_NO_EXEC(name) \
	{ .nr = SCMP_SYS(name), .arg = 2, .op = SCMP_CMP_MASKED_EQ, .a = PROT_EXEC, .b = 0 }

/* What every brisk thread needs after start-up: memory, locks, eventfds, exit. */
static const struct seccomp_rule common_rules[] = {
	ALLOW(read), ALLOW(write), ALLOW(readv), ALLOW(writev), ALLOW(close),
	ALLOW(futex), ALLOW(clock_gettime), ALLOW(clock_nanosleep), ALLOW(nanosleep),
	ALLOW(rt_sigprocmask), ALLOW(rt_sigreturn), ALLOW(restart_syscall),
	ALLOW(exit), ALLOW(exit_group), ALLOW(gettid), ALLOW(getpid), ALLOW(sched_yield),
	ALLOW(brk), ALLOW(munmap), ALLOW(mremap), ALLOW(madvise), ALLOW(getrandom),
	ALLOW(sigaltstack),           /* thread exit (sanitizer runtimes unmap their signal stack) */
	ALLOW_NO_EXEC(mmap), ALLOW_NO_EXEC(mprotect),
	/* Device code on either thread: tap interest, block completions. */
	ALLOW(epoll_ctl), ALLOW(io_uring_enter),
	/* virtio-net: offloads follow the guest's features (DRIVER_OK, reset). */
	ALLOW_IOCTL(TUNSETOFFLOAD),
	/* JSON log lines name the thread (pthread_getname_np on itself). */
	{ .nr = SCMP_SYS(prctl), .arg = 0, .op = SCMP_CMP_EQ, .a = PR_GET_NAME },
};

/* The main thread: event loop, block I/O (sync engine), console, shutdown. */
static const struct seccomp_rule main_rules[] = {
	ALLOW(epoll_wait), ALLOW(epoll_pwait),
	ALLOW(pread64), ALLOW(pwrite64), ALLOW(preadv), ALLOW(pwritev),
	ALLOW(fsync), ALLOW(fdatasync), ALLOW(fallocate),
	ALLOW(fstat), ALLOW(newfstatat), ALLOW(mincore), ALLOW(getrusage),
	ALLOW_IOCTL(BLKDISCARD), ALLOW_IOCTL(BLKZEROOUT),
	/* The terminal: raw mode restored at exit. */
	ALLOW_IOCTL(TCGETS), ALLOW_IOCTL(TCSETS), ALLOW_IOCTL(TCSETSW), ALLOW_IOCTL(TCSETSF),
	/* Lifecycle: tell a paused guest it was paused; shutdown grace and metrics timers. */
	ALLOW_IOCTL(KVM_KVMCLOCK_CTRL), ALLOW(timerfd_settime),
	/* Metrics rewritten in place (Prometheus textfile). */
	ALLOW(ftruncate),
};

/*
 * The API thread: libmicrohttpd on an already listening Unix socket (what
 * strace shows it calling: accept4 with SOCK_NONBLOCK, recv/send, shutdown
 * at close, poll on its epoll fd). No socket, connect, bind, open.
 */
static const struct seccomp_rule api_rules[] = {
	ALLOW(accept4), ALLOW(recvfrom), ALLOW(sendto), ALLOW(sendmsg), ALLOW(shutdown),
	ALLOW(poll), ALLOW(epoll_wait),
};

/* A vCPU thread: run the guest, report how KVM stopped it. */
static const struct seccomp_rule vcpu_rules[] = {
	ALLOW_IOCTL(KVM_RUN),
	ALLOW_IOCTL(KVM_GET_REGS),
};

static int add_rules(scmp_filter_ctx ctx, const struct seccomp_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct scmp_arg_cmp c = {
			.arg = (unsigned int)r[i].arg, .op = r[i].op, .datum_a = r[i].a, .datum_b = r[i].b,
		};
		int e = r[i].arg >= 0 ? seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, r[i].nr, 1, &c)
				      : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r[i].nr, 0);

		if (e < 0)
			return e;
	}
	return 0;
}

const char *seccomp_thread_name(enum seccomp_thread thread)
{
	return thread == SECCOMP_THREAD_VCPU ? "vcpu" : thread == SECCOMP_THREAD_API ? "api" : "main";
}

int seccomp_install(enum seccomp_thread thread, enum seccomp_mode mode)
{
	return seccomp_install_opts(thread, mode, NULL);
}

int seccomp_install_opts(enum seccomp_thread thread, enum seccomp_mode mode,
			 const struct seccomp_opts *opts)
{
	uint32_t deflt = mode == SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx;
	int r;

	if (mode == SECCOMP_OFF)
		return 0;
	ctx = seccomp_init(deflt);
	if (!ctx)
		return -ENOMEM;
	r = add_rules(ctx, common_rules, sizeof(common_rules) / sizeof(common_rules[0]));
	/* Signals only to this process (vCPU kicks, re-raising a fatal signal). */
	if (r == 0) {
		struct seccomp_rule tgkill = {
			.nr = SCMP_SYS(tgkill), .arg = 0, .op = SCMP_CMP_EQ, .a = (uint32_t)getpid(),
		};

		r = add_rules(ctx, &tgkill, 1);
	}
	if (r == 0 && thread == SECCOMP_THREAD_MAIN)
		r = add_rules(ctx, main_rules, sizeof(main_rules) / sizeof(main_rules[0]));
	if (r == 0 && thread == SECCOMP_THREAD_VCPU)
		r = add_rules(ctx, vcpu_rules, sizeof(vcpu_rules) / sizeof(vcpu_rules[0]));
	if (r == 0 && thread == SECCOMP_THREAD_API)
		r = add_rules(ctx, api_rules, sizeof(api_rules) / sizeof(api_rules[0]));
	if (r == 0 && thread == SECCOMP_THREAD_MAIN && opts && opts->unlink_dirfd >= 0) {
		struct seccomp_rule unl = {
			.nr = SCMP_SYS(unlinkat), .arg = 0, .op = SCMP_CMP_EQ,
			.a = (uint32_t)opts->unlink_dirfd,
		};

		r = add_rules(ctx, &unl, 1);
	}
	/* libseccomp sets no_new_privs itself (SCMP_FLTATR_CTL_NNP defaults to on). */
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}
