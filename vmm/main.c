/* main.c — the `brisk` command: `brisk run [OPTIONS] -- CMD` (floor 4). */
#include "vmm/boot_timer.h"
#include "vmm/cli.h"
#include "vmm/console.h"
#include "vmm/event_loop.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"
#include "virtio/tap.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#define BRISK_VERSION "0.1.0"
#define CMDLINE_MAX 65536

struct run_state {
	struct vm vm;
	struct event_loop loop;
	struct console console;
	int sig_fd;
	int status_fd; /* /proc/self/status for -v, opened before seccomp */
	int signal; /* host signal that ended the run, or 0 */
};

static void on_vm_stop(void *opaque, uint32_t events)
{
	struct run_state *st = opaque;

	(void)events;
	event_loop_stop(&st->loop);
}

static void on_signal(void *opaque, uint32_t events)
{
	struct run_state *st = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(st->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (!st->signal)
		st->signal = (int)si.ssi_signo;
	vm_request_stop(&st->vm, VM_END_HOST, 0, strsignal((int)si.ssi_signo));
}

/* Fatal signals: give the terminal back before dying. */
static void on_fatal(int sig)
{
	console_restore_tty();
	raise(sig);
}

static void install_fatal_handlers(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa = { .sa_handler = on_fatal, .sa_flags = SA_RESETHAND };

	for (unsigned int i = 0; i < ARRAY_SIZE(fatal); i++)
		sigaction(fatal[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* "<dir of /proc/self/exe>/<name>" into @out. */
static const char *default_artifact(const char *name, char *out, size_t outlen)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return name;
	exe[n] = '\0';
	snprintf(out, outlen, "%s/%s", dirname(exe), name);
	return out;
}

/*
 * Peak resident set (VmHWM) in KiB from /proc/self/status, 0 if unknown.
 * @status_fd was opened before the seccomp filter (which allows no open).
 * (getrusage's ru_maxrss would include the pre-exec process's peak.)
 */
static long peak_rss_kib(int status_fd)
{
	char buf[2048];
	const char *p;
	long kib = 0;
	ssize_t n = status_fd >= 0 ? pread(status_fd, buf, sizeof(buf) - 1, 0) : -1;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "VmHWM:");
	if (p)
		sscanf(p, "VmHWM: %ld kB", &kib);
	return kib;
}

/* -v: how much host memory brisk itself used beyond the guest's RAM. */
static void log_resources(struct vm *vm, int status_fd)
{
	long peak;
	uint64_t guest;

	if (log_get_level() < LOG_INFO)
		return;
	peak = peak_rss_kib(status_fd);
	guest = guest_mem_resident(&vm->mem) / 1024;
	log_info("peak RSS %ld KiB, guest RAM resident %llu KiB, VMM overhead %lld KiB",
		 peak, (unsigned long long)guest, (long long)peak - (long long)guest);
}

/* Exit status of `brisk run` from how the VM ended (see README, "Exit status"). */
static int run_exit_status(struct run_state *st, bool agent)
{
	struct vm *vm = &st->vm;

	if (st->signal)
		return 128 + st->signal;
	switch (atomic_load(&vm->end)) {
	case VM_END_EXIT_DEVICE:
		return vm->exit_status;
	case VM_END_RESET:
		if (!agent)
			return 0;
		log_err("the guest stopped (%s) before reporting the command's exit status "
			"(kernel panic or init failure? rerun with -v to see kernel messages)",
			vm->end_why);
		return EXIT_BRISK_FAILED;
	case VM_END_KVM_ERROR:
	case VM_END_HOST:
	default:
		log_err("%s", vm->end_why[0] ? vm->end_why : "the VM stopped unexpectedly");
		return EXIT_BRISK_FAILED;
	}
}

static int setup_signals(struct run_state *st)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	/* Blocked before any thread exists, so vCPU threads inherit the mask. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -EINVAL;
	st->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return st->sig_fd < 0 ? -errno : 0;
}

/*
 * Storage and boot mode from the flags: --initrd boots the initramfs;
 * otherwise the root file system is --rootfs, or by default the
 * rootfs.ext4 next to brisk attached read-only (many VMs share it), or the
 * initramfs when no rootfs image was built. Fills @drives and the kernel
 * parameters for them in @extra. 0 or -E2BIG.
 */
static int resolve_storage(const struct cli_run *run, struct vm_config *cfg,
			   struct blk_drive_config *drives, char *extra, size_t extralen,
			   char *initrd_buf, char *rootfs_buf)
{
	const char *root = NULL;
	bool root_ro = false;
	size_t len;
	int n;

	cfg->initrd_path = run->initrd;
	if (run->have_rootfs) {
		root = run->rootfs.path;
		root_ro = run->rootfs.read_only;
	} else if (cli_run_defaults(run) & CLI_USES_DEFAULT_ROOT) {
		root = default_artifact("rootfs.ext4", rootfs_buf, PATH_MAX);
		root_ro = true;
		if (access(root, F_OK) < 0) {
			root = NULL;
			cfg->initrd_path = default_artifact("initramfs.cpio.gz", initrd_buf, PATH_MAX);
		}
	}
	cfg->nr_drives = 0;
	if (root)
		drives[cfg->nr_drives++] = (struct blk_drive_config){
			.path = root, .id = run->rootfs.id ? run->rootfs.id : "rootfs",
			.read_only = root_ro, .flush = !run->rootfs.cache_unsafe,
			.engine = run->io_engine,
		};
	for (unsigned int i = 0; i < run->nr_drives; i++)
		drives[cfg->nr_drives++] = (struct blk_drive_config){
			.path = run->drives[i].path, .id = run->drives[i].id,
			.read_only = run->drives[i].read_only, .flush = !run->drives[i].cache_unsafe,
			.engine = run->io_engine,
		};
	cfg->drives = drives;

	/* Drives first, then NICs: the order vm_create() gives them slots in. */
	n = vm_virtio_cmdline(cfg->nr_drives + run->nr_nics, extra, extralen);
	if (n < 0)
		return n;
	len = (size_t)n;
	/* The agent is /init in brisk's rootfs image as in its initramfs. */
	if (root && !cfg->initrd_path) {
		n = snprintf(extra + len, extralen - len, " root=/dev/vda %s init=/init",
			     root_ro ? "ro" : "rw");
		if (n < 0 || (size_t)n >= extralen - len)
			return -E2BIG;
	}
	return 0;
}

/* NIC configs from --net: the MAC given, or one derived from the VM id and tap. */
static void resolve_nics(const struct cli_run *run, struct vm_config *cfg, struct vm_nic_config *nics)
{
	for (unsigned int i = 0; i < run->nr_nics; i++) {
		nics[i].tap = run->nics[i].tap;
		if (run->nics[i].have_mac)
			memcpy(nics[i].mac, run->nics[i].mac_bytes, sizeof(nics[i].mac));
		else
			mac_from_id(run->vm_id, run->nics[i].tap, nics[i].mac);
	}
	cfg->nics = nics;
	cfg->nr_nics = run->nr_nics;
}

/*
 * The main thread's filter mode. In AddressSanitizer builds (make
 * smoke-asan) LeakSanitizer checks for leaks as the main thread exits,
 * from a tracer it clones and ptrace()s: calls that are the sanitizer's,
 * not brisk's. There the main filter logs instead of killing; the vCPU
 * threads' filters stay enforced.
 */
static enum seccomp_mode main_seccomp_mode(enum seccomp_mode m)
{
#if defined(__SANITIZE_ADDRESS__)
	return m == SECCOMP_ENFORCE ? SECCOMP_LOG : m;
#else
	return m;
#endif
}

static int run_vm(struct cli_run *run, uint64_t start_us, uint64_t start_cpu_us)
{
	static struct run_state st; /* large (serial rings); keep it off the stack */
	static char cmdline[CMDLINE_MAX], extra[2048];
	static char kernel_buf[PATH_MAX], initrd_buf[PATH_MAX], rootfs_buf[PATH_MAX];
	struct blk_drive_config drives[CLI_MAX_DRIVES];
	struct vm_nic_config nics[CLI_MAX_NICS];
	char why[VM_WHY_MAX];
	struct vm_config cfg = { 0 };
	enum console_stdin mode;
	bool agent;
	int r, status;

	log_set_level(run->verbose >= 2 ? LOG_DEBUG : run->verbose ? LOG_INFO : LOG_WARN);
	mode = console_detect_stdin(STDIN_FILENO);
	agent = run->argc > 0 || !run->cmdline;
	resolve_nics(run, &cfg, nics);
	if (resolve_storage(run, &cfg, drives, extra, sizeof(extra), initrd_buf, rootfs_buf) < 0 ||
	    cli_build_cmdline(run, mode, extra, cmdline, sizeof(cmdline)) < 0) {
		log_err("the command and its arguments are too long for the kernel command line; "
			"put them in a script inside the guest");
		return EXIT_BRISK_FAILED;
	}

	cfg.kernel_path = run->kernel ? run->kernel
				      : default_artifact("vmlinux", kernel_buf, sizeof(kernel_buf));
	cfg.cmdline = cmdline;
	cfg.nr_cpus = run->cpus;
	cfg.mem_mib = run->mem_mib;
	cfg.boot = run->boot;
	cfg.boot_timer = run->boot_timer;
	cfg.start_us = start_us;
	cfg.start_cpu_us = start_cpu_us;
	cfg.seccomp = run->no_seccomp ? SECCOMP_OFF : run->seccomp_log ? SECCOMP_LOG : SECCOMP_ENFORCE;
	if (run->no_seccomp)
		log_warn("--no-seccomp: brisk runs without system-call filters; a compromised VMM "
			 "thread can make any system call");
	log_info("kernel %s, initrd %s, %u drive(s), %u NIC(s), %u vCPU, %llu MiB", cfg.kernel_path,
		 cfg.initrd_path ? cfg.initrd_path : "none", cfg.nr_drives, cfg.nr_nics, cfg.nr_cpus,
		 (unsigned long long)cfg.mem_mib);
	log_info("kernel command line: %s", cmdline);

	install_fatal_handlers();
	st.sig_fd = -1;
	r = setup_signals(&st);
	if (r < 0) {
		log_err("signal setup: %s", strerror(-r));
		return EXIT_BRISK_FAILED;
	}
	r = vm_create(&st.vm, &cfg, why, sizeof(why));
	if (r < 0) {
		if (!run->kernel && r == -ENOENT && strstr(why, "kernel "))
			log_err("%s (run `make` to build the guest kernel, or pass --kernel)", why);
		else
			log_err("%s", why);
		close_fd(&st.sig_fd);
		return EXIT_BRISK_FAILED;
	}
	st.status_fd = run->verbose ? open("/proc/self/status", O_RDONLY | O_CLOEXEC) : -1;
	r = event_loop_init(&st.loop);
	if (r == 0)
		r = event_loop_add(&st.loop, st.vm.stop_fd, EPOLLIN, on_vm_stop, &st);
	if (r == 0)
		r = event_loop_add(&st.loop, st.sig_fd, EPOLLIN, on_signal, &st);
	if (r == 0)
		r = vm_attach_events(&st.vm, &st.loop);
	if (r == 0)
		r = console_init(&st.console, &st.loop, &st.vm.com1, &st.vm.com2,
				 st.vm.serial_kick_fd, mode, agent, &st.vm.stdin_ready);
	if (r == 0)
		r = vm_start(&st.vm);
	/* The main thread's filter, before the loop handles guest data. */
	if (r == 0 && (r = seccomp_install(SECCOMP_THREAD_MAIN, main_seccomp_mode(cfg.seccomp))) < 0)
		log_err("cannot install the main thread's seccomp filter: %s", strerror(-r));
	if (r == 0)
		r = event_loop_run(&st.loop);
	if (r < 0)
		vm_request_stop(&st.vm, VM_END_HOST, 0, strerror(-r));

	vm_stop_vcpus(&st.vm); /* joins the vCPUs: no more guest output after this */
	log_resources(&st.vm, st.status_fd);
	close_fd(&st.status_fd);
	vm_destroy(&st.vm);
	console_flush(&st.console);
	console_destroy(&st.console);
	log_info("first guest instruction %llu us after start; boot timer %llu us",
		 (unsigned long long)st.vm.first_insn_us,
		 (unsigned long long)st.vm.boot_timer.boot_us);
	status = run_exit_status(&st, agent);
	event_loop_destroy(&st.loop);
	close_fd(&st.sig_fd);
	return status;
}

static int cmd_run(int argc, char **argv, uint64_t start_us, uint64_t start_cpu_us)
{
	struct cli_run run;
	char why[VM_WHY_MAX];
	int status;

	if (cli_parse_run(argc, argv, &run, why, sizeof(why)) < 0) {
		log_err("%s", why);
		cli_run_free(&run);
		return EXIT_BRISK_FAILED;
	}
	if (run.help) {
		cli_usage(STDOUT_FILENO);
		status = 0;
	} else if (run.version) {
		printf("brisk %s\n", BRISK_VERSION);
		status = 0;
	} else {
		/* Launched by brisk-jailer: time from the jailer's start (Firecracker's flag). */
		if (run.have_start_us && run.start_us <= start_us)
			start_us = run.start_us;
		status = run_vm(&run, start_us, start_cpu_us);
	}
	cli_run_free(&run);
	return status;
}

int main(int argc, char **argv)
{
	uint64_t start_us = util_now_us();
	uint64_t start_cpu_us = boot_timer_cpu_us();

	if (argc < 2) {
		cli_usage(STDERR_FILENO);
		return EXIT_BRISK_FAILED;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1, start_us, start_cpu_us);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		cli_usage(STDOUT_FILENO);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("brisk %s\n", BRISK_VERSION);
		return 0;
	}
	log_err("unknown command '%s' (try: brisk run -- CMD)", argv[1]);
	return EXIT_BRISK_FAILED;
}
