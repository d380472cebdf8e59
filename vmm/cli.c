/* cli.c — `brisk run` flags and the agent's command-line encoding. */
#include "vmm/cli.h"
#include "vmm/util.h"
#include "vmm/metrics.h"
#include "vmm/vm.h"
#include "virtio/tap.h"

#include <arpa/inet.h>

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: brisk run [OPTIONS] [--] [CMD [ARG...]]\n"
	"\n"
	"Boot a microVM, run CMD in it and exit with its status.\n"
	"\n"
	"  --kernel PATH     guest kernel: vmlinux ELF, bzImage or PVH ELF (default: vmlinux next to brisk)\n"
	"  --initrd PATH     initramfs (default: initramfs.cpio.gz next to brisk)\n"
	"  --no-initrd       boot without an initrd (and without the default rootfs)\n"
	"  --rootfs PATH[,ro] root file system image on /dev/vda, writable unless ,ro\n"
	"                    (default without --initrd: rootfs.ext4 next to brisk, read-only)\n"
	"  --drive PATH[,ro][,id=NAME][,cache=unsafe]  another virtio-blk drive (/dev/vdb, ...;\n"
	"                    repeatable); cache=unsafe: no flush (default writeback: flush = fdatasync)\n"
	"  --io-engine E     block I/O engine: uring or sync (default: uring, sync if unavailable)\n"
	"  --net TAP[,mac=MAC][,ip=ADDR/PREFIX][,gw=ADDR]  a virtio-net NIC on the existing tap TAP\n"
	"                    (eth0, eth1, ...; repeatable; create taps with scripts/mktap); ip/gw:\n"
	"                    the guest agent configures the interface\n"
	"  --ip ADDR/PREFIX  guest address of the first NIC (eth0), e.g. 172.16.0.2/24\n"
	"  --gw ADDR         default gateway via the first NIC, e.g. 172.16.0.1\n"
	"  --id ID           VM id (default anonymous-instance); NIC MACs are derived from it\n"
	"  --seccomp-log     system calls outside brisk's seccomp filters are logged (kernel audit\n"
	"                    log), not fatal: for finding a missing entry\n"
	"  --no-seccomp      no seccomp filters (unsafe; prints a warning)\n"
	"  --start-time-us US  CLOCK_MONOTONIC time the launch began (brisk-jailer passes it;\n"
	"                    start-up and boot times count from there)\n"
	"  --cpus N          vCPUs, 1-32 (default 1)\n"
	"  --mem MiB         guest RAM in MiB, 16-1048576 (default 256)\n"
	"  --cmdline STR     kernel parameters instead of brisk's defaults\n"
	"  --boot MODE       auto, linux64 or pvh (default auto: the 64-bit Linux entry)\n"
	"  --boot-timer      print the guest boot time when it writes the boot timer\n"
	"  --config-file F   the machine from a Firecracker JSON config file (boot-source, drives,\n"
	"                    network-interfaces, machine-config, logger, metrics) instead of the\n"
	"                    machine flags above\n"
	"  --api-sock PATH   also serve the Firecracker-compatible API on this Unix socket\n"
	"                    (GET /, PATCH /vm to pause/resume, PUT /actions, ...)\n"
	"  --shutdown-timeout S  on SIGTERM/SIGINT send Ctrl-Alt-Del and wait S seconds for the\n"
	"                    guest to shut down before stopping it (default 5; 0: stop at once)\n"
	"  --log-format F    brisk's log lines: text (default) or json (one object per line)\n"
	"  --metrics-path P  write metrics to P every 60 s and at exit\n"
	"  --metrics-format F  json (default: one object per line) or prometheus (textfile)\n"
	"  -e, --env K=V     set an environment variable for CMD (repeatable)\n"
	"  -w, --workdir DIR working directory of CMD in the guest\n"
	"  -v, --verbose     show kernel messages and brisk's own steps on stderr\n"
	"  -h, --help        this help\n"
	"\n"
	"Exit status: CMD's status; 125 brisk failed; 126 CMD not executable;\n"
	"127 CMD not found; 128+N CMD or brisk killed by signal N.\n";

void cli_usage(int fd)
{
	if (write(fd, usage_text, sizeof(usage_text) - 1) < 0)
		return;
}

void cli_ctl_defaults(struct cli_ctl *ctl)
{
	*ctl = (struct cli_ctl){ .shutdown_timeout_ms = CLI_DEFAULT_SHUTDOWN_TIMEOUT_MS,
				 .log_format = LOG_FORMAT_TEXT,
				 .metrics_format = METRICS_FORMAT_JSON };
}

int cli_parse_ctl(int opt, const char *arg, struct cli_ctl *ctl, char *why, size_t whylen)
{
	uint64_t n;
	int r;

	switch (opt) {
	case CLI_OPT_API_SOCK:
		ctl->api_sock = arg;
		return 1;
	case CLI_OPT_SHUTDOWN_TIMEOUT:
		r = cli_number("--shutdown-timeout", arg, 0, 3600, &n, why, whylen);
		if (r < 0)
			return r;
		ctl->shutdown_timeout_ms = (unsigned int)n * 1000;
		return 1;
	case CLI_OPT_LOG_FORMAT:
		if (log_parse_format(arg, &ctl->log_format) < 0)
			return errf(why, whylen, -EINVAL, "--log-format '%s': expected text or json", arg);
		return 1;
	case CLI_OPT_METRICS_PATH:
		ctl->metrics_path = arg;
		return 1;
	case CLI_OPT_METRICS_FORMAT:
		if (metrics_parse_format(arg, &ctl->metrics_format) < 0)
			return errf(why, whylen, -EINVAL,
				    "--metrics-format '%s': expected json or prometheus", arg);
		return 1;
	default:
		return 0;
	}
}

int cli_check_id(const char *id, char *why, size_t whylen)
{
	if (!id[0] || strlen(id) > 64)
		return errf(why, whylen, -EINVAL, "--id '%s': expected 1-64 bytes", id);
	return 0;
}

int cli_number(const char *flag, const char *arg, uint64_t lo, uint64_t hi,
	       uint64_t *out, char *why, size_t whylen)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < lo || v > hi)
		return errf(why, whylen, -EINVAL, "%s '%s': expected a whole number from %" PRIu64
			    " to %" PRIu64, flag, arg, lo, hi);
	*out = v;
	return 0;
}

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_NO_INITRD, OPT_CPUS, OPT_MEM, OPT_CMDLINE,
       OPT_BOOT, OPT_BOOT_TIMER, OPT_VERSION, OPT_ROOTFS, OPT_DRIVE, OPT_IO_ENGINE,
       OPT_NET, OPT_IP, OPT_GW, OPT_ID, OPT_SECCOMP_LOG, OPT_NO_SECCOMP,
       OPT_START_TIME_US, OPT_START_TIME_CPU_US, OPT_CONFIG_FILE };

/* "A.B.C.D/N" (N 0..32) for @flag. */
static int cli_check_cidr(const char *flag, const char *v, char *why, size_t whylen)
{
	char addr[INET_ADDRSTRLEN + 1];
	struct in_addr a;
	const char *slash = strchr(v, '/');
	char *end;
	long prefix;

	if (slash && (size_t)(slash - v) < sizeof(addr)) {
		memcpy(addr, v, (size_t)(slash - v));
		addr[slash - v] = '\0';
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (inet_pton(AF_INET, addr, &a) == 1 && slash[1] && !*end && !errno &&
		    prefix >= 0 && prefix <= 32 && slash[1] != '-' && slash[1] != '+')
			return 0;
	}
	return errf(why, whylen, -EINVAL, "%s '%s': expected an IPv4 address with a prefix length, "
		    "e.g. 172.16.0.2/24", flag, v);
}

static int cli_check_ipv4(const char *flag, const char *v, char *why, size_t whylen)
{
	struct in_addr a;

	if (inet_pton(AF_INET, v, &a) == 1)
		return 0;
	return errf(why, whylen, -EINVAL, "%s '%s': expected an IPv4 address, e.g. 172.16.0.1",
		    flag, v);
}

int cli_parse_nic(const char *spec, struct cli_nic *nic, char *why, size_t whylen)
{
	char *copy, *opt, *save = NULL;
	int r = 0;

	memset(nic, 0, sizeof(*nic));
	copy = strdup(spec);
	if (!copy)
		return errf(why, whylen, -ENOMEM, "out of memory");
	nic->tap = strtok_r(copy, ",", &save);
	if (!nic->tap || spec[0] == ',' || strlen(nic->tap) >= 16) {
		r = errf(why, whylen, -EINVAL, "--net '%s': expected TAP[,mac=MAC][,ip=ADDR/PREFIX]"
			 "[,gw=ADDR] with an interface name of 1-15 bytes", spec);
		goto fail;
	}
	while (r == 0 && (opt = strtok_r(NULL, ",", &save))) {
		if (!strncmp(opt, "mac=", 4)) {
			nic->mac = opt + 4;
			nic->have_mac = true;
			if (mac_parse(nic->mac, nic->mac_bytes) < 0)
				r = errf(why, whylen, -EINVAL, "--net '%s': mac '%s': expected a unicast "
					 "MAC like 02:00:00:00:00:01", spec, nic->mac);
		} else if (!strncmp(opt, "ip=", 3)) {
			nic->ip = opt + 3;
			r = cli_check_cidr("--net ip", nic->ip, why, whylen);
		} else if (!strncmp(opt, "gw=", 3)) {
			nic->gw = opt + 3;
			r = cli_check_ipv4("--net gw", nic->gw, why, whylen);
		} else {
			r = errf(why, whylen, -EINVAL, "--net '%s': unknown option '%s' (expected mac=, "
				 "ip= or gw=)", spec, opt);
		}
	}
	if (r == 0 && nic->gw && !nic->ip)
		r = errf(why, whylen, -EINVAL, "--net '%s': gw= needs ip= too", spec);
	if (r == 0)
		return 0;
fail:
	free(copy);
	memset(nic, 0, sizeof(*nic));
	return r;
}

int cli_parse_drive(const char *flag, const char *spec, struct cli_drive *d,
		    char *why, size_t whylen)
{
	char *copy, *opt, *save = NULL;

	memset(d, 0, sizeof(*d));
	copy = strdup(spec);
	if (!copy)
		return errf(why, whylen, -ENOMEM, "out of memory");
	d->path = strtok_r(copy, ",", &save);
	if (!d->path || spec[0] == ',') {
		free(copy);
		memset(d, 0, sizeof(*d));
		return errf(why, whylen, -EINVAL, "%s '%s': expected PATH[,ro][,id=NAME]", flag, spec);
	}
	while ((opt = strtok_r(NULL, ",", &save))) {
		if (!strcmp(opt, "ro")) {
			d->read_only = true;
		} else if (!strcmp(opt, "rw")) {
			d->read_only = false;
		} else if (!strncmp(opt, "id=", 3) && opt[3] && strlen(opt + 3) <= 20) {
			d->id = opt + 3;
		} else if (!strcmp(opt, "cache=writeback")) {
			d->cache_unsafe = false;
		} else if (!strcmp(opt, "cache=unsafe")) {
			d->cache_unsafe = true;
		} else {
			/* Format first: @opt points into @copy. */
			errf(why, whylen, -EINVAL,
			     "%s '%s': unknown option '%s' (expected ro, rw, id=NAME of at most 20 bytes, "
			     "cache=writeback or cache=unsafe)",
			     flag, spec, opt);
			free(copy);
			memset(d, 0, sizeof(*d));
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Record a file flag's path, @len bytes at @path inside argv[@argi]. A
 * repeated --kernel or --initrd replaces its earlier entry (the last one
 * counts), so the table holds at most one of each plus the drives.
 */
static void cli_note_file(struct cli_run *out, char **argv, int argi, const char *path,
			  size_t len, enum cli_file_kind kind, bool writable)
{
	struct cli_file_arg f = {
		.argi = argi, .off = (size_t)(path - argv[argi]), .len = len, .kind = kind,
		.writable = writable,
	};

	for (unsigned int i = 0; i < out->nr_files; i++) {
		if ((kind == CLI_FILE_KERNEL || kind == CLI_FILE_INITRD) && out->files[i].kind == kind) {
			out->files[i] = f;
			return;
		}
	}
	if (out->nr_files < CLI_MAX_FILES)
		out->files[out->nr_files++] = f;
}

int cli_parse_run(int argc, char **argv, struct cli_run *out, char *why, size_t whylen)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "no-initrd", no_argument, NULL, OPT_NO_INITRD },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ "boot", required_argument, NULL, OPT_BOOT },
		{ "boot-timer", no_argument, NULL, OPT_BOOT_TIMER },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "rootfs", required_argument, NULL, OPT_ROOTFS },
		{ "drive", required_argument, NULL, OPT_DRIVE },
		{ "io-engine", required_argument, NULL, OPT_IO_ENGINE },
		{ "net", required_argument, NULL, OPT_NET },
		{ "ip", required_argument, NULL, OPT_IP },
		{ "gw", required_argument, NULL, OPT_GW },
		{ "id", required_argument, NULL, OPT_ID },
		{ "seccomp-log", no_argument, NULL, OPT_SECCOMP_LOG },
		{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
		{ "start-time-us", required_argument, NULL, OPT_START_TIME_US },
		{ "start-time-cpu-us", required_argument, NULL, OPT_START_TIME_CPU_US },
		{ "config-file", required_argument, NULL, OPT_CONFIG_FILE },
		CLI_CTL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	/* '+': stop at the first non-option, which starts the guest command. */
	static const char shortopts[] = "+:e:w:vh";
	const char *ip = NULL, *gw = NULL;
	uint64_t n;
	int c, r;

	memset(out, 0, sizeof(*out));
	out->vm_id = CLI_DEFAULT_VM_ID;
	out->cpus = CLI_DEFAULT_CPUS;
	out->mem_mib = CLI_DEFAULT_MEM_MIB;
	out->boot = BOOT_PREF_AUTO;
	cli_ctl_defaults(&out->ctl);
	/* 0, not 1: glibc then also forgets a cluster ("-hv") a previous parse stopped in. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		/* Flags a --config-file describes too: remember the first for the message. */
		if (!out->machine_flag && (c == OPT_KERNEL || c == OPT_INITRD || c == OPT_NO_INITRD ||
					   c == OPT_CPUS || c == OPT_MEM || c == OPT_CMDLINE ||
					   c == OPT_ROOTFS || c == OPT_DRIVE || c == OPT_NET ||
					   c == OPT_IO_ENGINE))
			for (const struct option *o = opts; o->name; o++)
				if (o->val == c)
					out->machine_flag = o->name;
		r = cli_parse_ctl(c, optarg, &out->ctl, why, whylen);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		switch (c) {
		case OPT_CONFIG_FILE:
			out->config_file = optarg;
			break;
		case OPT_KERNEL:
			out->kernel = optarg;
			cli_note_file(out, argv, optind - 1, optarg, strlen(optarg), CLI_FILE_KERNEL, false);
			break;
		case OPT_INITRD:
			out->initrd = optarg;
			cli_note_file(out, argv, optind - 1, optarg, strlen(optarg), CLI_FILE_INITRD, false);
			break;
		case OPT_NO_INITRD:
			out->no_initrd = true;
			break;
		case OPT_CPUS:
			r = cli_number("--cpus", optarg, 1, VM_MAX_CPUS, &n, why, whylen);
			if (r < 0)
				return r;
			out->cpus = (unsigned int)n;
			break;
		case OPT_MEM:
			r = cli_number("--mem", optarg, 16, VM_MAX_MEM_MIB, &n, why, whylen);
			if (r < 0)
				return r;
			out->mem_mib = n;
			break;
		case OPT_CMDLINE:
			out->cmdline = optarg;
			break;
		case OPT_BOOT:
			if (!strcmp(optarg, "auto"))
				out->boot = BOOT_PREF_AUTO;
			else if (!strcmp(optarg, "linux64"))
				out->boot = BOOT_PREF_LINUX64;
			else if (!strcmp(optarg, "pvh"))
				out->boot = BOOT_PREF_PVH;
			else
				return errf(why, whylen, -EINVAL,
					    "--boot '%s': expected auto, linux64 or pvh", optarg);
			break;
		case OPT_BOOT_TIMER:
			out->boot_timer = true;
			break;
		case OPT_ROOTFS:
			if (out->have_rootfs)
				return errf(why, whylen, -EINVAL, "--rootfs given twice; use --drive for more drives");
			r = cli_parse_drive("--rootfs", optarg, &out->rootfs, why, whylen);
			if (r < 0)
				return r;
			out->have_rootfs = true;
			cli_note_file(out, argv, optind - 1, optarg, strlen(out->rootfs.path),
				      CLI_FILE_DRIVE, !out->rootfs.read_only);
			break;
		case OPT_DRIVE:
			if (out->nr_drives == CLI_MAX_DRIVES - 1)
				return errf(why, whylen, -EINVAL, "--drive: at most %d drives", CLI_MAX_DRIVES - 1);
			r = cli_parse_drive("--drive", optarg, &out->drives[out->nr_drives], why, whylen);
			if (r < 0)
				return r;
			cli_note_file(out, argv, optind - 1, optarg, strlen(out->drives[out->nr_drives].path),
				      CLI_FILE_DRIVE, !out->drives[out->nr_drives].read_only);
			out->nr_drives++;
			break;
		case OPT_IO_ENGINE:
			if (!strcmp(optarg, "uring"))
				out->io_engine = IO_ENGINE_URING;
			else if (!strcmp(optarg, "sync"))
				out->io_engine = IO_ENGINE_SYNC;
			else
				return errf(why, whylen, -EINVAL, "--io-engine '%s': expected uring or sync", optarg);
			break;
		case OPT_NET:
			if (out->nr_nics == CLI_MAX_NICS)
				return errf(why, whylen, -EINVAL, "--net: at most %d NICs", CLI_MAX_NICS);
			r = cli_parse_nic(optarg, &out->nics[out->nr_nics], why, whylen);
			if (r < 0)
				return r;
			out->nr_nics++;
			break;
		case OPT_IP:
			r = cli_check_cidr("--ip", optarg, why, whylen);
			if (r < 0)
				return r;
			ip = optarg;
			break;
		case OPT_GW:
			r = cli_check_ipv4("--gw", optarg, why, whylen);
			if (r < 0)
				return r;
			gw = optarg;
			break;
		case OPT_SECCOMP_LOG:
			out->seccomp_log = true;
			break;
		case OPT_NO_SECCOMP:
			out->no_seccomp = true;
			break;
		case OPT_START_TIME_US:
			r = cli_number("--start-time-us", optarg, 0, UINT64_MAX, &out->start_us, why, whylen);
			if (r < 0)
				return r;
			out->have_start_us = true;
			break;
		case OPT_START_TIME_CPU_US:
			/*
			 * Firecracker's jailer passes the CPU time it used; brisk-jailer
			 * forks brisk, whose CPU clock starts at zero anyway. Accepted
			 * and checked, so Firecracker launch lines work.
			 */
			r = cli_number("--start-time-cpu-us", optarg, 0, UINT64_MAX, &n, why, whylen);
			if (r < 0)
				return r;
			break;
		case OPT_ID:
			r = cli_check_id(optarg, why, whylen);
			if (r < 0)
				return r;
			out->vm_id = optarg;
			break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return errf(why, whylen, -EINVAL, "--env '%s': expected KEY=VALUE", optarg);
			if (out->nr_env == CLI_MAX_ENV)
				return errf(why, whylen, -EINVAL, "--env: at most %d variables", CLI_MAX_ENV);
			out->env[out->nr_env++] = optarg;
			break;
		case 'w':
			out->workdir = optarg;
			break;
		case 'v':
			out->verbose++;
			break;
		case 'h':
			out->help = true;
			return 0;
		case OPT_VERSION:
			out->version = true;
			return 0;
		case ':':
			return errf(why, whylen, -EINVAL, "%s needs a value (see brisk run --help)",
				    argv[optind - 1]);
		default:
			/*
			 * An unknown letter: inside a cluster ("-xv") optind has not
			 * moved on, so name the letter. (A known letter here is a long
			 * option given a value it does not take: "--verbose=1".)
			 */
			if (optopt > 0 && optopt < 256 && !strchr(shortopts, optopt))
				return errf(why, whylen, -EINVAL,
					    "unknown option '-%c' (see brisk run --help)", optopt);
			return errf(why, whylen, -EINVAL, "unknown option '%s' (see brisk run --help)",
				    argv[optind - 1]);
		}
	}
	/* --ip / --gw: shorthands for the first NIC's ip= / gw=. */
	if ((ip || gw) && out->nr_nics == 0)
		return errf(why, whylen, -EINVAL, "%s needs a NIC: add --net TAP (see scripts/mktap)",
			    ip ? "--ip" : "--gw");
	if (ip && out->nics[0].ip)
		return errf(why, whylen, -EINVAL, "--ip and --net %s,ip=... both set eth0's address; "
			    "drop one", out->nics[0].tap);
	if (gw && out->nics[0].gw)
		return errf(why, whylen, -EINVAL, "--gw and --net %s,gw=... both set the gateway; "
			    "drop one", out->nics[0].tap);
	if (ip)
		out->nics[0].ip = ip;
	if (gw)
		out->nics[0].gw = gw;
	for (unsigned int i = 1, gws = !!(out->nr_nics && out->nics[0].gw); i < out->nr_nics; i++)
		if (out->nics[i].gw && gws++)
			return errf(why, whylen, -EINVAL, "--net %s,gw=...: only one NIC may have the default "
				    "gateway", out->nics[i].tap);
	if (out->nr_nics && out->nics[0].gw && !out->nics[0].ip)
		return errf(why, whylen, -EINVAL, "--gw needs an address for eth0 too: add --ip ADDR/PREFIX");
	if (out->seccomp_log && out->no_seccomp)
		return errf(why, whylen, -EINVAL, "--seccomp-log and --no-seccomp contradict each other; drop one");
	if (out->no_initrd && out->initrd)
		return errf(why, whylen, -EINVAL, "--initrd and --no-initrd contradict each other; drop one");
	out->argv = argv + optind;
	out->argc = argc - optind;
	return 0;
}

unsigned int cli_run_defaults(const struct cli_run *run)
{
	unsigned int uses = 0;

	if (!run->kernel)
		uses |= CLI_USES_DEFAULT_KERNEL;
	if (!run->have_rootfs && !run->initrd && !run->no_initrd)
		uses |= CLI_USES_DEFAULT_ROOT;
	return uses;
}

void cli_run_free(struct cli_run *run)
{
	/* cli_parse_drive() keeps the strdup'ed spec in path. */
	free(run->rootfs.path);
	run->rootfs.path = NULL;
	for (unsigned int i = 0; i < run->nr_drives; i++) {
		free(run->drives[i].path);
		run->drives[i].path = NULL;
	}
	run->have_rootfs = false;
	run->nr_drives = 0;
	for (unsigned int i = 0; i < run->nr_nics; i++) {
		free(run->nics[i].tap);
		run->nics[i].tap = NULL;
	}
	run->nr_nics = 0;
}

static bool cli_agent_safe(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       strchr("-_./:=+@", ch) != NULL;
}

int cli_agent_encode(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	if (*in == '\0') {
		if (outlen < 2)
			return -E2BIG;
		strcpy(out, "%");
		return 1;
	}
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (cli_agent_safe(*p)) {
			if (n + 2 > outlen)
				return -E2BIG;
			out[n++] = (char)*p;
		} else {
			if (n + 4 > outlen)
				return -E2BIG;
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 0xf];
		}
	}
	out[n] = '\0';
	return (int)n;
}

/* Append " PREFIX<encoded s>" to out. */
static int cli_append(char *out, size_t outlen, size_t *len, const char *prefix, const char *s,
		      bool encode)
{
	int n = snprintf(out + *len, outlen - *len, " %s", prefix);

	if (n < 0 || (size_t)n >= outlen - *len)
		return -E2BIG;
	*len += (size_t)n;
	if (!s)
		return 0;
	if (!encode) {
		n = snprintf(out + *len, outlen - *len, "%s", s);
		if (n < 0 || (size_t)n >= outlen - *len)
			return -E2BIG;
	} else {
		n = cli_agent_encode(s, out + *len, outlen - *len);
		if (n < 0)
			return n;
	}
	*len += (size_t)n;
	return 0;
}

/* Append ",<encoded s>" (or "<encoded s>" as the first list element). */
static int cli_append_elem(char *out, size_t outlen, size_t *len, const char *s, bool first)
{
	int n;

	if (!first) {
		if (*len + 2 > outlen)
			return -E2BIG;
		out[(*len)++] = ',';
		out[*len] = '\0';
	}
	n = cli_agent_encode(s, out + *len, outlen - *len);
	if (n < 0)
		return n;
	*len += (size_t)n;
	return 0;
}

int cli_build_cmdline(const struct cli_run *run, enum console_stdin mode, const char *extra,
		      char *out, size_t outlen)
{
	static const char *const modes[] = {
		[CONSOLE_STDIN_TTY] = "tty", [CONSOLE_STDIN_PIPE] = "pipe",
		[CONSOLE_STDIN_NULL] = "null",
	};
	/* No command: an interactive shell, like `docker run -it IMAGE`. */
	static char *const default_argv[] = { "/bin/sh", NULL };
	char *const *argv = run->argc > 0 ? run->argv : default_argv;
	int argc = run->argc > 0 ? run->argc : 1;
	const char *base = run->cmdline ? run->cmdline : CLI_DEFAULT_KERNEL_ARGS;
	size_t len = 0;
	int n, r = 0;

	/*
	 * Machine parameters first: for repeated parameters (init=, root=) the
	 * kernel keeps the last one, so a user's --cmdline overrides brisk's.
	 */
	n = snprintf(out, outlen, "%s%s%s", extra ? extra : "", extra && *extra ? " " : "", base);
	if (n < 0 || (size_t)n >= outlen)
		return -E2BIG;
	len = (size_t)n;
	if (!run->cmdline)
		r = cli_append(out, outlen, &len, run->verbose ? "loglevel=7" : "loglevel=1",
			       NULL, false);
	/* A user command line without a command is passed through untouched. */
	if (r < 0 || (run->cmdline && run->argc == 0))
		return r < 0 ? r : (int)len;

	/*
	 * The agent's options, one kernel word each: init gets at most 32
	 * arguments, so lists (env, cmd) are one comma-separated word.
	 */
	r = cli_append(out, outlen, &len, "-- stdin=", modes[mode], false);
	if (r == 0 && run->verbose)
		r = cli_append(out, outlen, &len, "v=1", NULL, false);
	if (r == 0 && run->workdir)
		r = cli_append(out, outlen, &len, "cwd=", run->workdir, true);
	if (r == 0 && run->nr_env > 0) {
		r = cli_append(out, outlen, &len, "env=", NULL, false);
		for (unsigned int i = 0; r == 0 && i < run->nr_env; i++)
			r = cli_append_elem(out, outlen, &len, run->env[i], i == 0);
	}
	/* net=IFACE:ADDR/PREFIX[:GW],... for every NIC with an address. */
	for (unsigned int i = 0, k = 0; r == 0 && i < run->nr_nics; i++) {
		char elem[96];

		if (!run->nics[i].ip)
			continue;
		snprintf(elem, sizeof(elem), "eth%u:%s%s%s", i, run->nics[i].ip,
			 run->nics[i].gw ? ":" : "", run->nics[i].gw ? run->nics[i].gw : "");
		if (k == 0)
			r = cli_append(out, outlen, &len, "net=", NULL, false);
		if (r == 0)
			r = cli_append_elem(out, outlen, &len, elem, k++ == 0);
	}
	if (r == 0)
		r = cli_append(out, outlen, &len, "cmd=", NULL, false);
	for (int i = 0; r == 0 && i < argc; i++)
		r = cli_append_elem(out, outlen, &len, argv[i], i == 0);
	return r < 0 ? r : (int)len;
}
