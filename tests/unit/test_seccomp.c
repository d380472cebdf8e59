/*
 * test_seccomp.c — the per-thread filters (jailer/seccomp.c): in a forked
 * child, install a thread class's filter, make one call, and check the
 * child either finished it or was killed by SIGSYS.
 */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jailer/seccomp.h"

/* Upper 32 bits the kernel ignores in an ioctl request. */
#define HIGH_BITS 0xdead000000000000ULL

typedef void (*call_fn)(void);

/*
 * Fork; the child installs @thread's filter in @mode, runs @call and
 * exits 0. Returns the child's wait status.
 */
static int run_filtered_opts(enum seccomp_thread thread, enum seccomp_mode mode, call_fn call,
			     const struct seccomp_opts *opts)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (seccomp_install_opts(thread, mode, opts) < 0)
			_exit(99);
		call();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static int run_filtered(enum seccomp_thread thread, enum seccomp_mode mode, call_fn call)
{
	return run_filtered_opts(thread, mode, call, NULL);
}

static void expect_allowed_at(enum seccomp_thread thread, call_fn call, int line)
{
	int st = run_filtered(thread, SECCOMP_ENFORCE, call);

	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("line %d: %s thread: expected the call to be allowed, child status 0x%x",
			 line, seccomp_thread_name(thread), st);
}
#define expect_allowed(t, c) expect_allowed_at(t, c, __LINE__)

static void expect_killed(enum seccomp_thread thread, call_fn call)
{
	int st = run_filtered(thread, SECCOMP_ENFORCE, call);

	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
		fail_msg("%s thread: expected SIGSYS, child status 0x%x",
			 seccomp_thread_name(thread), st);
}

/* ---- calls ---- */

static void call_getpid(void) { (void)getpid(); }

static void call_write_stderr(void)
{
	if (write(2, "", 0) < 0)
		_exit(3);
}

static void call_execve(void)
{
	char *argv[] = { "/bin/true", NULL };

	execve("/bin/true", argv, NULL);
}

static void call_socket(void) { (void)socket(AF_INET, SOCK_DGRAM, 0); }
static void call_openat(void) { (void)open("/dev/null", O_RDONLY); }
static void call_fork(void) { (void)syscall(SYS_fork); }
static void call_ptrace(void) { (void)syscall(SYS_ptrace, 0, 0, 0, 0); }

/* Listed requests on a bad fd: allowed through the filter, EBADF from the kernel. */
static void call_ioctl_tunsetoffload(void) { (void)ioctl(-1, TUNSETOFFLOAD, 0); }
static void call_ioctl_kvm_run(void) { (void)ioctl(-1, KVM_RUN, 0); }
static void call_ioctl_tcgets(void) { (void)syscall(SYS_ioctl, -1, (unsigned long)TCGETS, 0); }
static void call_ioctl_blkdiscard(void) { (void)ioctl(-1, BLKDISCARD, 0); }
/*
 * Unlisted requests, also with high bits set: killed. (A listed request
 * with high bits set is killed as well: libseccomp 2.5 checks them zero.)
 */
static void call_ioctl_kvm_create_vm(void) { (void)ioctl(-1, KVM_CREATE_VM, 0); }
static void call_ioctl_kvm_create_vm_high(void)
{
	(void)syscall(SYS_ioctl, -1, (unsigned long)(HIGH_BITS | KVM_CREATE_VM), 0);
}
static void call_ioctl_tunsetiff(void) { (void)ioctl(-1, TUNSETIFF, 0); }

static void call_mmap_rw(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(3);
}

static void call_mmap_exec(void)
{
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void call_mprotect_exec(void)
{
	static char page[4096] __attribute__((aligned(4096)));

	(void)mprotect(page, sizeof(page), PROT_READ | PROT_EXEC);
}

static void call_epoll_wait(void)
{
	struct epoll_event ev;

	(void)epoll_wait(-1, &ev, 1, 0);
}

static void call_pread(void)
{
	char c;

	(void)pread(-1, &c, 1, 0);
}

static void call_accept4(void) { (void)accept4(-1, NULL, NULL, SOCK_CLOEXEC); }
static void call_recvfrom(void) { (void)recvfrom(-1, NULL, 0, 0, NULL, NULL); }
static void call_sendto(void) { (void)sendto(-1, "x", 1, MSG_NOSIGNAL, NULL, 0); }
static void call_shutdown(void) { (void)shutdown(-1, SHUT_RDWR); }
static void call_poll(void) { (void)poll(NULL, 0, 0); }
/* The fd the main thread may unlink in (set before the filter, inherited by the child). */
static int unlink_dirfd = -1;
static void call_unlinkat_dir(void) { (void)unlinkat(unlink_dirfd, "no-such-socket", 0); }
static void call_unlinkat_cwd(void) { (void)unlinkat(AT_FDCWD, "no-such-socket", 0); }
static void call_tgkill_self(void) { (void)syscall(SYS_tgkill, getpid(), gettid(), 0); }
static void call_tgkill_other(void) { (void)syscall(SYS_tgkill, 1, 1, 0); }

/* ---- tests ---- */

static void main_allows_what_the_loop_uses(void **state)
{
	(void)state;
	expect_allowed(SECCOMP_THREAD_MAIN, call_getpid);
	expect_allowed(SECCOMP_THREAD_MAIN, call_write_stderr);
	expect_allowed(SECCOMP_THREAD_MAIN, call_epoll_wait);
	expect_allowed(SECCOMP_THREAD_MAIN, call_pread);
	expect_allowed(SECCOMP_THREAD_MAIN, call_mmap_rw);
	expect_allowed(SECCOMP_THREAD_MAIN, call_ioctl_tunsetoffload);
	expect_allowed(SECCOMP_THREAD_MAIN, call_ioctl_tcgets);
	expect_allowed(SECCOMP_THREAD_MAIN, call_ioctl_blkdiscard);
	expect_allowed(SECCOMP_THREAD_MAIN, call_tgkill_self);
}

static void main_kills_the_rest(void **state)
{
	(void)state;
	expect_killed(SECCOMP_THREAD_MAIN, call_execve);
	expect_killed(SECCOMP_THREAD_MAIN, call_socket);
	expect_killed(SECCOMP_THREAD_MAIN, call_openat);
	expect_killed(SECCOMP_THREAD_MAIN, call_fork);
	expect_killed(SECCOMP_THREAD_MAIN, call_ptrace);
	expect_killed(SECCOMP_THREAD_MAIN, call_mmap_exec);
	expect_killed(SECCOMP_THREAD_MAIN, call_mprotect_exec);
	expect_killed(SECCOMP_THREAD_MAIN, call_tgkill_other);
	/* KVM_RUN belongs to the vCPU threads only. */
	expect_killed(SECCOMP_THREAD_MAIN, call_ioctl_kvm_run);
	expect_killed(SECCOMP_THREAD_MAIN, call_ioctl_kvm_create_vm);
	expect_killed(SECCOMP_THREAD_MAIN, call_ioctl_kvm_create_vm_high);
	expect_killed(SECCOMP_THREAD_MAIN, call_ioctl_tunsetiff);
}

static void vcpu_allows_kvm_run_and_device_calls(void **state)
{
	(void)state;
	expect_allowed(SECCOMP_THREAD_VCPU, call_ioctl_kvm_run);
	expect_allowed(SECCOMP_THREAD_VCPU, call_ioctl_tunsetoffload);
	expect_allowed(SECCOMP_THREAD_VCPU, call_write_stderr);
	expect_allowed(SECCOMP_THREAD_VCPU, call_tgkill_self);
}

static void vcpu_kills_the_rest(void **state)
{
	(void)state;
	expect_killed(SECCOMP_THREAD_VCPU, call_execve);
	expect_killed(SECCOMP_THREAD_VCPU, call_socket);
	expect_killed(SECCOMP_THREAD_VCPU, call_openat);
	/* The main loop's calls are not the vCPU's. */
	expect_killed(SECCOMP_THREAD_VCPU, call_epoll_wait);
	expect_killed(SECCOMP_THREAD_VCPU, call_pread);
	expect_killed(SECCOMP_THREAD_VCPU, call_ioctl_tcgets);
	expect_killed(SECCOMP_THREAD_VCPU, call_ioctl_blkdiscard);
	expect_killed(SECCOMP_THREAD_VCPU, call_ioctl_kvm_create_vm);
	expect_killed(SECCOMP_THREAD_VCPU, call_ioctl_kvm_create_vm_high);
	expect_killed(SECCOMP_THREAD_VCPU, call_mmap_exec);
}

static void api_allows_http_calls(void **state)
{
	(void)state;
	expect_allowed(SECCOMP_THREAD_API, call_accept4);
	expect_allowed(SECCOMP_THREAD_API, call_recvfrom);
	expect_allowed(SECCOMP_THREAD_API, call_sendto);
	expect_allowed(SECCOMP_THREAD_API, call_shutdown);
	expect_allowed(SECCOMP_THREAD_API, call_poll);
	expect_allowed(SECCOMP_THREAD_API, call_epoll_wait);
	expect_allowed(SECCOMP_THREAD_API, call_write_stderr);
	expect_allowed(SECCOMP_THREAD_API, call_mmap_rw);
}

static void api_kills_the_rest(void **state)
{
	(void)state;
	expect_killed(SECCOMP_THREAD_API, call_execve);
	expect_killed(SECCOMP_THREAD_API, call_socket);
	expect_killed(SECCOMP_THREAD_API, call_openat);
	expect_killed(SECCOMP_THREAD_API, call_fork);
	expect_killed(SECCOMP_THREAD_API, call_pread);
	expect_killed(SECCOMP_THREAD_API, call_unlinkat_cwd);
	expect_killed(SECCOMP_THREAD_API, call_ioctl_kvm_run);
	expect_killed(SECCOMP_THREAD_API, call_ioctl_tcgets);
	expect_killed(SECCOMP_THREAD_API, call_mmap_exec);
	/* The HTTP calls are the API thread's only. */
	expect_killed(SECCOMP_THREAD_MAIN, call_accept4);
	expect_killed(SECCOMP_THREAD_VCPU, call_recvfrom);
	expect_killed(SECCOMP_THREAD_MAIN, call_shutdown);
}

/* The main thread removes the API socket at exit: unlinkat in that directory only. */
static void main_unlinks_only_in_the_socket_dir(void **state)
{
	struct seccomp_opts opts;
	int st;

	(void)state;
	unlink_dirfd = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(unlink_dirfd >= 0);
	opts.unlink_dirfd = unlink_dirfd;
	st = run_filtered_opts(SECCOMP_THREAD_MAIN, SECCOMP_ENFORCE, call_unlinkat_dir, &opts);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = run_filtered_opts(SECCOMP_THREAD_MAIN, SECCOMP_ENFORCE, call_unlinkat_cwd, &opts);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	/* Without the option there is no unlink at all. */
	expect_killed(SECCOMP_THREAD_MAIN, call_unlinkat_dir);
	close(unlink_dirfd);
	unlink_dirfd = -1;
}

static void log_mode_does_not_kill(void **state)
{
	int st;

	(void)state;
	st = run_filtered(SECCOMP_THREAD_VCPU, SECCOMP_LOG, call_socket);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void off_installs_nothing(void **state)
{
	int st;

	(void)state;
	st = run_filtered(SECCOMP_THREAD_VCPU, SECCOMP_OFF, call_execve);
	/* execve of /bin/true succeeded (exit 0) or failed (child exits 0 after it). */
	assert_true(WIFEXITED(st));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(main_allows_what_the_loop_uses),
		cmocka_unit_test(main_kills_the_rest),
		cmocka_unit_test(vcpu_allows_kvm_run_and_device_calls),
		cmocka_unit_test(vcpu_kills_the_rest),
		cmocka_unit_test(api_allows_http_calls),
		cmocka_unit_test(api_kills_the_rest),
		cmocka_unit_test(main_unlinks_only_in_the_socket_dir),
		cmocka_unit_test(log_mode_does_not_kill),
		cmocka_unit_test(off_installs_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
