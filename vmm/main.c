/* main.c — the `brisk` command: `brisk run [OPTIONS] -- CMD` and `brisk [FIRECRACKER OPTIONS]` (floor 4). */
#include "vmm/boot_timer.h"
#include "vmm/cli.h"
#include "vmm/config.h"
#include "vmm/console.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vmm.h"

#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Add a drive to @spec from `brisk run` flags (strings copied). */
static int spec_add_cli_drive(struct vm_spec *spec, const char *id, const char *path, bool root,
			      bool ro, bool unsafe, enum io_engine_kind engine, char *why,
			      size_t whylen)
{
	struct spec_drive d = {
		.drive_id = strdup(id), .path_on_host = strdup(path), .is_root_device = root,
		.is_read_only = ro, .cache_unsafe = unsafe, .io_engine = engine,
	};
	int r = d.drive_id && d.path_on_host ? spec_put_drive(spec, &d, why, whylen)
					     : errf(why, whylen, -ENOMEM, "out of memory");

	spec_drive_free(&d); /* zeroed when the spec took it */
	return r;
}

/*
 * The machine `brisk run` flags describe, as a spec: --initrd boots the
 * initramfs; otherwise the root file system is --rootfs, or by default the
 * rootfs.ext4 next to brisk attached read-only (many VMs share it), or the
 * initramfs when no rootfs image was built.
 */
static int spec_from_run(const struct cli_run *run, struct vm_spec *spec, char *why, size_t whylen)
{
	char buf[PATH_MAX];
	const char *root = NULL;
	bool root_ro = false;
	int r;

	spec->machine.vcpu_count = run->cpus;
	spec->machine.mem_size_mib = run->mem_mib;
	r = spec_set_str(&spec->kernel_image_path, run->kernel ? run->kernel
				: default_artifact("vmlinux", buf, sizeof(buf)));
	if (r == 0)
		r = spec_set_str(&spec->initrd_path, run->initrd);
	if (r == 0)
		r = spec_set_str(&spec->boot_args, run->cmdline);
	if (r < 0)
		return errf(why, whylen, r, "out of memory");
	if (run->have_rootfs) {
		root = run->rootfs.path;
		root_ro = run->rootfs.read_only;
	} else if (cli_run_defaults(run) & CLI_USES_DEFAULT_ROOT) {
		root = default_artifact("rootfs.ext4", buf, sizeof(buf));
		root_ro = true;
		if (access(root, F_OK) < 0) {
			root = NULL;
			if (spec_set_str(&spec->initrd_path, default_artifact("initramfs.cpio.gz", buf,
									      sizeof(buf))) < 0)
				return errf(why, whylen, -ENOMEM, "out of memory");
		}
	}
	if (root) {
		r = spec_add_cli_drive(spec, run->rootfs.id ? run->rootfs.id : "rootfs", root, true,
				       root_ro, run->rootfs.cache_unsafe, run->io_engine, why, whylen);
		if (r < 0)
			return r;
	}
	for (unsigned int i = 0; i < run->nr_drives; i++) {
		const struct cli_drive *d = &run->drives[i];
		char id[16];

		/* Without id=: drive1, drive2, ... in --drive order. */
		snprintf(id, sizeof(id), "drive%u", i + 1);
		r = spec_add_cli_drive(spec, d->id ? d->id : id, d->path, false, d->read_only,
				       d->cache_unsafe, run->io_engine, why, whylen);
		if (r < 0)
			return r;
	}
	for (unsigned int i = 0; i < run->nr_nics; i++) {
		char id[16];
		struct spec_nic n = { .have_mac = run->nics[i].have_mac };

		snprintf(id, sizeof(id), "eth%u", i);
		n.iface_id = strdup(id);
		n.host_dev_name = strdup(run->nics[i].tap);
		memcpy(n.guest_mac, run->nics[i].mac_bytes, sizeof(n.guest_mac));
		r = n.iface_id && n.host_dev_name ? spec_put_nic(spec, &n, why, whylen)
						  : errf(why, whylen, -ENOMEM, "out of memory");
		spec_nic_free(&n);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The agent's kernel command line for `brisk run` (vmm_cmdline_fn). */
static int run_cmdline(void *opaque, enum console_stdin mode, const char *extra, char *out,
		       size_t outlen)
{
	return cli_build_cmdline(opaque, mode, extra, out, outlen);
}

static enum seccomp_mode seccomp_mode_of(bool no_seccomp, bool log)
{
	if (no_seccomp)
		log_warn("--no-seccomp: brisk runs without system-call filters; a compromised VMM "
			 "thread can make any system call");
	return no_seccomp ? SECCOMP_OFF : log ? SECCOMP_LOG : SECCOMP_ENFORCE;
}

/* The shared control-plane flags: into the VM options, --metrics-path over the spec's. */
static int ctl_apply(const struct cli_ctl *c, struct vm_spec *spec, struct vmm_opts *o,
		     char *why, size_t whylen)
{
	o->api_sock = c->api_sock;
	o->shutdown_timeout_ms = c->shutdown_timeout_ms;
	o->log_format = c->log_format;
	o->metrics_format = c->metrics_format;
	if (c->metrics_path && spec_set_str(&spec->metrics.metrics_path, c->metrics_path) < 0)
		return errf(why, whylen, -ENOMEM, "out of memory");
	return 0;
}

/* Create, start (unless waiting for the API) and run one VM; its exit status. */
static int run_machine(const struct vmm_opts *opts, struct vm_spec *spec, bool start)
{
	struct vmm *v;
	char why[VM_WHY_MAX];
	int status;

	install_fatal_handlers();
	if (vmm_create(&v, opts, spec, why, sizeof(why)) < 0 ||
	    (start && vmm_start(v, why, sizeof(why)) < 0)) {
		log_err("%s", why);
		vmm_destroy(v);
		spec_free(spec);
		return EXIT_BRISK_FAILED;
	}
	status = vmm_run(v);
	vmm_destroy(v);
	return status;
}

static int cmd_run(int argc, char **argv, uint64_t start_us, uint64_t start_cpu_us)
{
	struct cli_run run;
	struct vm_spec spec;
	char why[VM_WHY_MAX];
	int status, r;

	spec_init(&spec);
	if (cli_parse_run(argc, argv, &run, why, sizeof(why)) < 0) {
		log_err("%s", why);
		cli_run_free(&run);
		return EXIT_BRISK_FAILED;
	}
	if (run.help || run.version) {
		if (run.help)
			cli_usage(STDOUT_FILENO);
		else
			printf("brisk %s\n", BRISK_VERSION);
		cli_run_free(&run);
		return 0;
	}
	log_set_level(run.verbose >= 2 ? LOG_DEBUG : run.verbose ? LOG_INFO : LOG_WARN);
	log_set_output(STDERR_FILENO, run.ctl.log_format, false, false);
	/* Launched by brisk-jailer: time from the jailer's start (Firecracker's flag). */
	if (run.have_start_us && run.start_us <= start_us)
		start_us = run.start_us;
	if (run.config_file && run.machine_flag) {
		log_err("--%s and --config-file both describe the machine; set it in %s instead",
			run.machine_flag, run.config_file);
		cli_run_free(&run);
		return EXIT_BRISK_FAILED;
	}
	struct vmm_opts opts = {
		.id = run.vm_id, .api_max_body = API_DEFAULT_MAX_BODY,
		.seccomp = seccomp_mode_of(run.no_seccomp, run.seccomp_log),
		.boot_timer = run.boot_timer,
		.start_us = start_us, .start_cpu_us = start_cpu_us, .verbose = run.verbose,
		.boot = run.boot, .run_mode = true,
		.cmdline_fn = run_cmdline, .cmdline_opaque = &run,
		.use_default_kernel = !run.kernel && !run.config_file,
	};
	r = run.config_file ? config_load_file(run.config_file, &spec, why, sizeof(why))
			    : spec_from_run(&run, &spec, why, sizeof(why));
	if (r == 0)
		r = ctl_apply(&run.ctl, &spec, &opts, why, sizeof(why));
	if (r < 0) {
		log_err("%s", why);
		spec_free(&spec);
		cli_run_free(&run);
		return EXIT_BRISK_FAILED;
	}
	/* The config file's boot_args play --cmdline's part. */
	if (run.config_file)
		run.cmdline = spec.boot_args;
	opts.agent = run.argc > 0 || !run.cmdline;
	status = run_machine(&opts, &spec, true);
	cli_run_free(&run);
	return status;
}

/* The logger flags (--level, --log-path, ...) over the config file's logger section. */
static int vmm_logger_flags(const struct cli_vmm *c, struct vm_spec *spec, char *why, size_t whylen)
{
	struct spec_logger *l = &spec->logger;
	int r = 0;

	if (c->level) {
		struct vm_spec tmp;
		json_t *o = json_pack("{s:s}", "level", c->level);

		spec_init(&tmp);
		r = o ? config_logger(o, "", &tmp, why, whylen) : -ENOMEM;
		json_decref(o);
		l->level = tmp.logger.level;
		l->level_set = tmp.logger.level_set;
		l->level_off = tmp.logger.level_off;
		spec_free(&tmp);
		if (r < 0) {
			char msg[VM_WHY_MAX];

			snprintf(msg, sizeof(msg), "%s", why);
			return errf(why, whylen, r, "--%s", msg);
		}
	}
	if (c->log_path && spec_set_str(&l->log_path, c->log_path) < 0)
		return errf(why, whylen, -ENOMEM, "out of memory");
	l->show_level |= c->show_level;
	l->show_log_origin |= c->show_log_origin;
	return 0;
}

/* `brisk [OPTIONS]`: Firecracker's interface — config file and/or API. */
static int cmd_vmm(int argc, char **argv, uint64_t start_us, uint64_t start_cpu_us)
{
	struct cli_vmm c;
	struct vm_spec spec;
	char why[VM_WHY_MAX];
	int r;

	spec_init(&spec);
	if (cli_parse_vmm(argc, argv, &c, why, sizeof(why)) < 0) {
		log_err("%s", why);
		return EXIT_BRISK_FAILED;
	}
	if (c.help) {
		cli_vmm_usage(STDOUT_FILENO);
		return 0;
	}
	if (c.version) {
		printf("brisk %s\n", BRISK_VERSION);
		return 0;
	}
	log_set_level(c.verbose >= 2 ? LOG_DEBUG : c.verbose ? LOG_INFO : LOG_WARN);
	log_set_output(STDERR_FILENO, c.ctl.log_format, false, false);
	if (c.have_start_us && c.start_us <= start_us)
		start_us = c.start_us;
	struct vmm_opts opts = {
		.id = c.vm_id, .api_max_body = c.max_body,
		.seccomp = seccomp_mode_of(c.no_seccomp, c.seccomp_log),
		.boot_timer = c.boot_timer,
		.start_us = start_us, .start_cpu_us = start_cpu_us, .verbose = c.verbose,
		.boot = BOOT_PREF_AUTO,
	};
	r = c.config_file ? config_load_file(c.config_file, &spec, why, sizeof(why)) : 0;
	if (r == 0)
		r = vmm_logger_flags(&c, &spec, why, sizeof(why));
	if (r == 0)
		r = ctl_apply(&c.ctl, &spec, &opts, why, sizeof(why));
	if (r < 0) {
		log_err("%s", why);
		spec_free(&spec);
		return EXIT_BRISK_FAILED;
	}
	/* Like Firecracker: a config file boots at once; the API (if any) serves meanwhile. */
	return run_machine(&opts, &spec, c.config_file != NULL);
}

int main(int argc, char **argv)
{
	uint64_t start_us = util_now_us();
	uint64_t start_cpu_us = boot_timer_cpu_us();

	/*
	 * jansson seeds its hash function from /dev/urandom on the first JSON
	 * object: do it now, before any thread's seccomp filter (which allows no
	 * open) and before there are threads (the seeding is not thread-safe).
	 */
	json_object_seed(0);

	if (argc < 2) {
		cli_usage(STDERR_FILENO);
		return EXIT_BRISK_FAILED;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1, start_us, start_cpu_us);
	/* Firecracker's flags: `brisk --api-sock S`, `brisk --config-file F --no-api`. */
	if (argv[1][0] == '-' && strcmp(argv[1], "-h") && strcmp(argv[1], "--help") &&
	    strcmp(argv[1], "--version"))
		return cmd_vmm(argc, argv, start_us, start_cpu_us);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		cli_usage(STDOUT_FILENO);
		if (write(STDOUT_FILENO, "\n", 1) == 1)
			cli_vmm_usage(STDOUT_FILENO);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("brisk %s\n", BRISK_VERSION);
		return 0;
	}
	log_err("unknown command '%s' (try: brisk run -- CMD, or brisk --help)", argv[1]);
	return EXIT_BRISK_FAILED;
}
