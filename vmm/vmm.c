/* vmm.c — the VM's lifecycle, signals, API actions, logs and metrics (main thread). */
#include "vmm/vmm.h"
#include "vmm/util.h"
#include "virtio/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct vmm {
	struct vmm_opts o;
	struct vm_spec spec;
	struct event_loop loop;
	struct vm vm;
	bool vm_built;                /* vm_create() succeeded: vm_destroy() owed */
	enum api_vm_state state;
	struct console console;
	bool console_on;
	enum console_stdin mode;
	struct api_server api;
	bool api_on;
	struct api_ctl ctl;
	int sig_fd, grace_fd, tick_fd, status_fd, log_fd, metrics_fd;
	bool loop_on;
	int signal;                   /* host signal that ended the run, or 0 */
	bool cad_sent;
	uint64_t start_req_us;        /* CLOCK_MONOTONIC µs of InstanceStart */
	char cmdline[VMM_CMDLINE_MAX];
	char extra[2048];
	struct blk_drive_config drives[SPEC_MAX_DRIVES];
	const char *drive_ids[SPEC_MAX_DRIVES];
	struct vm_nic_config nics[SPEC_MAX_NICS];
	const char *iface_ids[SPEC_MAX_NICS];
};

static const char *state_name(enum api_vm_state s)
{
	return s == API_STATE_RUNNING ? "Running" : s == API_STATE_PAUSED ? "Paused" : "Not started";
}

/* ---- logs and metrics ---- */

/*
 * Open @path for log lines or metrics. O_NONBLOCK stays on, as Firecracker
 * opens them: on a FIFO whose reader is slow or gone a line is dropped
 * rather than stalling the thread that writes it (regular files ignore it).
 */
static int open_sink(const char *what, const char *path, bool append, int *fd, char *why,
		     size_t whylen)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK | (append ? O_APPEND : 0);
	int nfd = open(path, flags, 0600);

	if (nfd < 0)
		return errf(why, whylen, -errno, "%s %s: %s%s", what, path, strerror(errno),
			    errno == ENXIO ? " (a FIFO needs its reader first)" : "");
	if (*fd >= 0)
		close(*fd);
	*fd = nfd;
	return 0;
}

static int vmm_apply_logger(struct vmm *v, char *why, size_t whylen)
{
	const struct spec_logger *l = &v->spec.logger;
	int r;

	if (l->log_path) {
		r = open_sink("logger: log_path", l->log_path, true, &v->log_fd, why, whylen);
		if (r < 0)
			return r;
	}
	log_set_output(v->log_fd >= 0 ? v->log_fd : STDERR_FILENO, v->o.log_format,
		       l->show_level, l->show_log_origin);
	if (l->level_set)
		log_set_level(l->level);
	log_set_off(l->level_off);
	return 0;
}

static int vmm_apply_metrics(struct vmm *v, char *why, size_t whylen)
{
	const struct spec_metrics *m = &v->spec.metrics;
	struct itimerspec every = { .it_interval = { VMM_METRICS_PERIOD_S, 0 },
				    .it_value = { VMM_METRICS_PERIOD_S, 0 } };
	int r;

	if (!m->metrics_path)
		return 0;
	r = open_sink("metrics: metrics_path", m->metrics_path,
		      v->o.metrics_format == METRICS_FORMAT_JSON, &v->metrics_fd, why, whylen);
	if (r == 0 && timerfd_settime(v->tick_fd, 0, &every, NULL) < 0)
		r = errf(why, whylen, -errno, "metrics timer: %s", strerror(errno));
	return r;
}

static int vmm_flush_metrics(struct vmm *v, char *why, size_t whylen)
{
	struct metrics_api api = { .requests = v->api.requests, .faults = v->api.faults };
	struct metrics_src src = {
		.id = v->o.id, .state = state_name(v->state),
		.uptime_us = util_now_us() - v->o.start_us,
		.vm = v->vm_built ? &v->vm : NULL,
		.drive_ids = v->drive_ids, .iface_ids = v->iface_ids,
		.api = v->api_on ? &api : NULL,
	};
	int r;

	if (v->metrics_fd < 0)
		return errf(why, whylen, -ENOENT,
			    "metrics are not configured (PUT /metrics, \"metrics\" in the config file "
			    "or --metrics-path)");
	if (src.vm && src.vm->boot_timer.boot_us && v->start_req_us) {
		uint64_t at = v->start_req_us - v->o.start_us;

		if (src.vm->boot_timer.boot_us > at)
			src.start_to_boot_us = src.vm->boot_timer.boot_us - at;
	}
	r = metrics_write(v->metrics_fd, v->o.metrics_format, &src);
	if (r < 0)
		return errf(why, whylen, r, "metrics %s: %s", v->spec.metrics.metrics_path,
			    strerror(-r));
	return 0;
}

static void vmm_on_tick(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	char why[256];
	uint64_t n;

	(void)events;
	if (read(v->tick_fd, &n, sizeof(n)) < 0)
		return;
	if (vmm_flush_metrics(v, why, sizeof(why)) < 0)
		log_warn("%s", why);
}

/* ---- building the VM from the spec ---- */

/* The kernel command line: the machine's parameters, then the user's (or the agent's). */
static int vmm_cmdline(struct vmm *v, const struct spec_drive *root, unsigned int nr_devices)
{
	size_t len;
	int n;

	n = vm_virtio_cmdline(nr_devices, v->extra, sizeof(v->extra));
	if (n < 0)
		return n;
	len = (size_t)n;
	/* brisk run: the agent is /init in brisk's rootfs as in its initramfs. */
	if (root && (!v->o.run_mode || !v->spec.initrd_path)) {
		if (root->partuuid)
			n = snprintf(v->extra + len, sizeof(v->extra) - len, " root=PARTUUID=%s %s",
				     root->partuuid, root->is_read_only ? "ro" : "rw");
		else
			n = snprintf(v->extra + len, sizeof(v->extra) - len, " root=/dev/vda %s",
				     root->is_read_only ? "ro" : "rw");
		if (n < 0 || (size_t)n >= sizeof(v->extra) - len)
			return -E2BIG;
		len += (size_t)n;
		if (v->o.run_mode) {
			n = snprintf(v->extra + len, sizeof(v->extra) - len, " init=/init");
			if (n < 0 || (size_t)n >= sizeof(v->extra) - len)
				return -E2BIG;
		}
	}
	if (v->o.cmdline_fn)
		return v->o.cmdline_fn(v->o.cmdline_opaque, v->mode, v->extra, v->cmdline,
				       sizeof(v->cmdline));
	n = snprintf(v->cmdline, sizeof(v->cmdline), "%s%s%s", v->extra, v->extra[0] ? " " : "",
		     v->spec.boot_args ? v->spec.boot_args : VMM_DEFAULT_BOOT_ARGS);
	return n < 0 || (size_t)n >= sizeof(v->cmdline) ? -E2BIG : n;
}

/* vm_config from the spec: the root drive first (/dev/vda), then the others in order. */
static int vmm_build_config(struct vmm *v, struct vm_config *cfg, char *why, size_t whylen)
{
	const struct vm_spec *s = &v->spec;
	const struct spec_drive *root = NULL;
	unsigned int nd = 0;
	int r;

	if (!s->kernel_image_path)
		return errf(why, whylen, -EINVAL,
			    "no kernel: set boot-source.kernel_image_path (PUT /boot-source or "
			    "\"boot-source\" in the config file)");
	for (unsigned int i = 0; i < s->nr_drives; i++)
		if (s->drives[i].is_root_device)
			root = &s->drives[i];
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int i = 0; i < s->nr_drives; i++) {
			const struct spec_drive *d = &s->drives[i];

			if ((pass == 0) != (d == root))
				continue;
			v->drives[nd] = (struct blk_drive_config){
				.path = d->path_on_host, .id = d->drive_id, .read_only = d->is_read_only,
				.flush = !d->cache_unsafe, .engine = d->io_engine,
			};
			v->drive_ids[nd++] = d->drive_id;
		}
	}
	for (unsigned int i = 0; i < s->nr_nics; i++) {
		const struct spec_nic *n = &s->nics[i];

		v->nics[i].tap = n->host_dev_name;
		if (n->have_mac)
			memcpy(v->nics[i].mac, n->guest_mac, sizeof(v->nics[i].mac));
		else
			mac_from_id(v->o.id, n->host_dev_name, v->nics[i].mac);
		v->iface_ids[i] = n->iface_id;
	}
	r = vmm_cmdline(v, root, nd + s->nr_nics);
	if (r < 0)
		return errf(why, whylen, -E2BIG,
			    "the kernel command line is too long (the command and its arguments, or "
			    "boot_args); put long commands in a script inside the guest");
	*cfg = (struct vm_config){
		.kernel_path = s->kernel_image_path, .initrd_path = s->initrd_path,
		.cmdline = v->cmdline, .nr_cpus = s->machine.vcpu_count,
		.mem_mib = s->machine.mem_size_mib, .boot = v->o.boot, .boot_timer = v->o.boot_timer,
		.start_us = v->o.start_us, .start_cpu_us = v->o.start_cpu_us,
		.drives = v->drives, .nr_drives = nd, .nics = v->nics, .nr_nics = s->nr_nics,
		.seccomp = v->o.seccomp, .track_dirty_pages = s->machine.track_dirty_pages,
	};
	return 0;
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

static void vmm_on_vm_stop(void *opaque, uint32_t events);

int vmm_start(struct vmm *v, char *why, size_t whylen)
{
	struct seccomp_opts sopts = { .unlink_dirfd = v->api_on ? v->api.dir_fd : -1 };
	struct vm_config cfg;
	int r;

	if (v->state != API_STATE_NOT_STARTED)
		return errf(why, whylen, -EALREADY, "the microVM is already running");
	v->start_req_us = util_now_us();
	r = vmm_build_config(v, &cfg, why, whylen);
	if (r < 0)
		return r;
	log_info("kernel %s, initrd %s, %u drive(s), %u NIC(s), %u vCPU, %llu MiB", cfg.kernel_path,
		 cfg.initrd_path ? cfg.initrd_path : "none", cfg.nr_drives, cfg.nr_nics, cfg.nr_cpus,
		 (unsigned long long)cfg.mem_mib);
	log_info("kernel command line: %s", cfg.cmdline);
	r = vm_create(&v->vm, &cfg, why, whylen);
	if (r < 0) {
		if (v->o.use_default_kernel && r == -ENOENT && strstr(why, "kernel ")) {
			size_t n = strlen(why);

			snprintf(why + n, whylen - n, " (run `make` to build the guest kernel, or pass --kernel)");
		}
		return r;
	}
	v->vm_built = true;
	if (v->o.verbose)
		v->status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	r = vm_attach_events(&v->vm, &v->loop);
	if (r == 0)
		r = event_loop_add(&v->loop, v->vm.stop_fd, EPOLLIN, vmm_on_vm_stop, v);
	if (r == 0) {
		r = console_init(&v->console, &v->loop, &v->vm.com1, &v->vm.com2,
				 v->vm.serial_kick_fd, v->mode, v->o.agent, &v->vm.stdin_ready);
		v->console_on = r == 0;
	}
	if (r == 0)
		r = vm_start(&v->vm);
	if (r < 0) {
		/* Past vm_create() a failure ends the process: nothing is left half-built. */
		vm_request_stop(&v->vm, VM_END_HOST, 0, strerror(-r));
		event_loop_stop(&v->loop);
		return errf(why, whylen, r, "cannot start the VM: %s", strerror(-r));
	}
	v->state = API_STATE_RUNNING;
	/* The main thread's filter, before the loop handles guest data. */
	r = seccomp_install_opts(SECCOMP_THREAD_MAIN, main_seccomp_mode(v->o.seccomp), &sopts);
	if (r < 0) {
		vm_request_stop(&v->vm, VM_END_HOST, 0, "no main-thread seccomp filter");
		event_loop_stop(&v->loop);
		return errf(why, whylen, r, "cannot install the main thread's seccomp filter: %s",
			    strerror(-r));
	}
	return 0;
}

/* ---- API actions ---- */

static enum api_vm_state vmm_state(void *opaque)
{
	return ((struct vmm *)opaque)->state;
}

static int vmm_act(void *opaque, enum api_action a, char *why, size_t whylen)
{
	struct vmm *v = opaque;
	int r;

	switch (a) {
	case API_ACT_INSTANCE_START:
		return vmm_start(v, why, whylen);
	case API_ACT_SEND_CTRL_ALT_DEL:
		if (v->state == API_STATE_PAUSED)
			return errf(why, whylen, -EAGAIN, "the microVM is paused; resume it first");
		r = vm_send_ctrl_alt_del(&v->vm);
		if (r == -EAGAIN)
			return errf(why, whylen, r, "the guest has turned keyboard scanning off");
		return r < 0 ? errf(why, whylen, r, "the keyboard buffer is full (the guest has not "
				    "read the last keys yet)") : 0;
	case API_ACT_FLUSH_METRICS:
		return vmm_flush_metrics(v, why, whylen);
	case API_ACT_PAUSE:
		if (v->state == API_STATE_PAUSED)
			return 0;
		r = vm_pause(&v->vm, VMM_PAUSE_TIMEOUT_MS);
		if (r < 0)
			return errf(why, whylen, r, "%s", r == -ETIMEDOUT ?
				    "a vCPU did not stop in time; the microVM keeps running" :
				    "the microVM is shutting down");
		v->state = API_STATE_PAUSED;
		log_info("paused");
		return 0;
	case API_ACT_RESUME:
		if (v->state == API_STATE_RUNNING)
			return 0;
		vm_resume(&v->vm);
		v->state = API_STATE_RUNNING;
		log_info("resumed");
		return 0;
	case API_ACT_APPLY_LOGGER:
		return vmm_apply_logger(v, why, whylen);
	case API_ACT_APPLY_METRICS:
		return vmm_apply_metrics(v, why, whylen);
	default:
		return errf(why, whylen, -EINVAL, "unknown action");
	}
}

/* ---- signals and shutdown ---- */

static void vmm_stop_now(struct vmm *v, const char *why)
{
	if (v->vm_built)
		vm_request_stop(&v->vm, VM_END_HOST, 0, why);
	else
		event_loop_stop(&v->loop);
}

/*
 * SIGTERM/SIGINT: ask the guest to shut down with Ctrl-Alt-Del and give it
 * the grace period; a second signal, SIGHUP/SIGQUIT, a guest that cannot
 * take the keys, or no grace period at all tear down at once.
 */
static void vmm_on_signal(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	struct signalfd_siginfo si;
	int sig;

	(void)events;
	if (read(v->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	sig = (int)si.ssi_signo;
	if (!v->signal)
		v->signal = sig;
	if ((sig == SIGTERM || sig == SIGINT) && !v->cad_sent && v->vm_built &&
	    v->o.shutdown_timeout_ms && atomic_load(&v->vm.end) == VM_END_NONE) {
		struct itimerspec grace = {
			.it_value = { v->o.shutdown_timeout_ms / 1000,
				      (long)(v->o.shutdown_timeout_ms % 1000) * 1000000L },
		};

		if (v->state == API_STATE_PAUSED) {
			vm_resume(&v->vm);
			v->state = API_STATE_RUNNING;
		}
		if (vm_send_ctrl_alt_del(&v->vm) == 0 &&
		    timerfd_settime(v->grace_fd, 0, &grace, NULL) == 0) {
			v->cad_sent = true;
			log_info("%s: asked the guest to shut down (Ctrl-Alt-Del); stopping it in %u ms "
				 "otherwise", strsignal(sig), v->o.shutdown_timeout_ms);
			return;
		}
	}
	vmm_stop_now(v, strsignal(sig));
}

static void vmm_on_grace(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;
	uint64_t n;

	(void)events;
	if (read(v->grace_fd, &n, sizeof(n)) < 0)
		return;
	log_warn("the guest did not shut down within %u ms of Ctrl-Alt-Del; stopping it",
		 v->o.shutdown_timeout_ms);
	vmm_stop_now(v, "shutdown timeout");
}

static int vmm_setup_signals(struct vmm *v)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	/* Blocked before any thread exists, so vCPU and API threads inherit the mask. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -EINVAL;
	v->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return v->sig_fd < 0 ? -errno : 0;
}

static void vmm_on_vm_stop(void *opaque, uint32_t events)
{
	struct vmm *v = opaque;

	(void)events;
	event_loop_stop(&v->loop);
}

int vmm_create(struct vmm **out, const struct vmm_opts *opts, struct vm_spec *spec,
	       char *why, size_t whylen)
{
	struct vmm *v = calloc(1, sizeof(*v));
	int r;

	*out = v;
	if (!v)
		return errf(why, whylen, -ENOMEM, "out of memory");
	v->o = *opts;
	v->spec = *spec;
	spec_init(spec);
	v->sig_fd = v->grace_fd = v->tick_fd = v->status_fd = v->log_fd = v->metrics_fd = -1;
	v->vm.stop_fd = -1;
	v->mode = console_detect_stdin(STDIN_FILENO);
	v->ctl = (struct api_ctl){ .spec = &v->spec, .id = v->o.id, .version = BRISK_VERSION,
				   .state = vmm_state, .act = vmm_act, .opaque = v };
	r = event_loop_init(&v->loop);
	if (r < 0)
		return errf(why, whylen, r, "epoll: %s", strerror(-r));
	v->loop_on = true;
	v->grace_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	v->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (v->grace_fd < 0 || v->tick_fd < 0)
		return errf(why, whylen, -errno, "timerfd: %s", strerror(errno));
	r = vmm_setup_signals(v);
	if (r < 0)
		return errf(why, whylen, r, "signal setup: %s", strerror(-r));
	r = event_loop_add(&v->loop, v->sig_fd, EPOLLIN, vmm_on_signal, v);
	if (r == 0)
		r = event_loop_add(&v->loop, v->grace_fd, EPOLLIN, vmm_on_grace, v);
	if (r == 0)
		r = event_loop_add(&v->loop, v->tick_fd, EPOLLIN, vmm_on_tick, v);
	if (r < 0)
		return errf(why, whylen, r, "event loop: %s", strerror(-r));
	r = vmm_apply_logger(v, why, whylen);
	if (r == 0)
		r = vmm_apply_metrics(v, why, whylen);
	if (r == 0 && v->o.api_sock) {
		r = api_start(&v->api, v->o.api_sock, v->o.api_max_body, v->o.seccomp, &v->loop,
			      &v->ctl, why, whylen);
		v->api_on = r == 0;
	}
	return r;
}

/* -v: how much host memory brisk itself used beyond the guest's RAM. */
static void vmm_log_resources(struct vmm *v)
{
	char buf[2048];
	const char *p;
	long peak = 0;
	ssize_t n;
	uint64_t guest;

	if (log_get_level() < LOG_INFO || v->status_fd < 0)
		return;
	/* VmHWM: getrusage's ru_maxrss would include the pre-exec process's peak. */
	n = pread(v->status_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	p = strstr(buf, "VmHWM:");
	if (p)
		sscanf(p, "VmHWM: %ld kB", &peak);
	guest = guest_mem_resident(&v->vm.mem) / 1024;
	log_info("peak RSS %ld KiB, guest RAM resident %llu KiB, VMM overhead %lld KiB",
		 peak, (unsigned long long)guest, (long long)peak - (long long)guest);
}

/* Exit status from how the VM ended (see README, "Exit status"). */
static int vmm_exit_status(struct vmm *v)
{
	struct vm *vm = &v->vm;

	/*
	 * A signal that ended the run gives 128+N, unless the guest shut down on
	 * the Ctrl-Alt-Del it caused: then the guest's own status stands (a
	 * command that exits 0 on SIGTERM, like `docker stop`), and a guest that
	 * is not the agent rebooting on it has shut down cleanly.
	 */
	if (v->signal) {
		enum vm_end end = v->vm_built ? atomic_load(&vm->end) : VM_END_HOST;

		if (v->cad_sent && end == VM_END_EXIT_DEVICE)
			return vm->exit_status;
		if (v->cad_sent && end == VM_END_RESET && !v->o.agent)
			return 0;
		return 128 + v->signal;
	}
	if (!v->vm_built)
		return EXIT_BRISK_FAILED;
	switch (atomic_load(&vm->end)) {
	case VM_END_EXIT_DEVICE:
		return vm->exit_status;
	case VM_END_RESET:
		if (!v->o.agent)
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

int vmm_run(struct vmm *v)
{
	char why[VM_WHY_MAX];
	int r;

	r = event_loop_run(&v->loop);
	if (r < 0 && v->vm_built)
		vm_request_stop(&v->vm, VM_END_HOST, 0, strerror(-r));
	if (v->vm_built) {
		vm_stop_vcpus(&v->vm); /* joins the vCPUs: no more guest output after this */
		vmm_log_resources(v);
		if (v->console_on)
			console_flush(&v->console);
		log_info("first guest instruction %llu us after start; boot timer %llu us",
			 (unsigned long long)v->vm.first_insn_us,
			 (unsigned long long)v->vm.boot_timer.boot_us);
		if (v->cad_sent && atomic_load(&v->vm.end) != VM_END_HOST)
			log_info("the guest shut down after Ctrl-Alt-Del");
	}
	if (v->metrics_fd >= 0 && vmm_flush_metrics(v, why, sizeof(why)) < 0)
		log_warn("%s", why);
	return vmm_exit_status(v);
}

void vmm_destroy(struct vmm *v)
{
	if (!v)
		return;
	if (v->api_on)
		api_stop(&v->api);
	v->api_on = false;
	if (v->console_on)
		console_destroy(&v->console);
	if (v->vm_built) {
		event_loop_remove(&v->loop, v->vm.stop_fd);
		vm_destroy(&v->vm);
	}
	if (v->loop_on)
		event_loop_destroy(&v->loop);
	log_set_output(STDERR_FILENO, LOG_FORMAT_TEXT, false, false);
	close_fd(&v->sig_fd);
	close_fd(&v->grace_fd);
	close_fd(&v->tick_fd);
	close_fd(&v->status_fd);
	close_fd(&v->log_fd);
	close_fd(&v->metrics_fd);
	spec_free(&v->spec);
	free(v);
}
