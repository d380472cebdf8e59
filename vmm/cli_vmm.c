/* cli_vmm.c — `brisk [OPTIONS]`: Firecracker's command-line flags (config file, API socket, logs). */
#include "vmm/api.h"
#include "vmm/cli.h"
#include "vmm/util.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char vmm_usage_text[] =
	"usage: brisk [OPTIONS]          (Firecracker-compatible)\n"
	"       brisk run [OPTIONS] -- CMD   (see brisk run --help)\n"
	"\n"
	"Run one microVM configured by a Firecracker JSON config file and/or the API.\n"
	"\n"
	"  --api-sock PATH   serve the API on this Unix socket (default " CLI_DEFAULT_API_SOCK ")\n"
	"  --no-api          no API socket; needs --config-file\n"
	"  --config-file F   boot the microVM described by F at once (Firecracker's schema)\n"
	"  --id ID           instance id (default " CLI_DEFAULT_VM_ID ")\n"
	"  --log-path P      log lines to the file or FIFO P instead of stderr\n"
	"  --level L         Error, Warning, Info, Debug, Trace or Off (default Warning)\n"
	"  --show-level      prefix log lines with their level\n"
	"  --show-log-origin prefix log lines with the source file and line\n"
	"  --log-format F    text (default) or json (one object per line)\n"
	"  --metrics-path P  metrics: every 60 s, on FlushMetrics and at exit\n"
	"  --metrics-format F  json (default, one object per line) or prometheus\n"
	"  --boot-timer      log the guest boot time when it writes the boot timer\n"
	"  --http-api-max-payload-size N  largest request body in bytes (default 51200)\n"
	"  --shutdown-timeout S  on SIGTERM/SIGINT: Ctrl-Alt-Del, then stop after S s (default 5)\n"
	"  --start-time-us US, --start-time-cpu-us US, --parent-cpu-time-us US  set by jailers\n"
	"  --seccomp-log     log system calls outside the filters instead of killing\n"
	"  --no-seccomp      no seccomp filters (unsafe)\n"
	"  -v, --verbose     brisk's steps and kernel messages on stderr\n"
	"  --version, -h/--help\n"
	"\n"
	"Exit status: 0 when the guest shuts down; 125 brisk failed (bad config, no /dev/kvm,\n"
	"kernel not loadable); 128+N killed by signal N.\n";

void cli_vmm_usage(int fd)
{
	if (write(fd, vmm_usage_text, sizeof(vmm_usage_text) - 1) < 0)
		return;
}

enum { V_NO_API = 256, V_CONFIG_FILE, V_ID, V_LOG_PATH, V_LEVEL, V_SHOW_LEVEL,
       V_SHOW_ORIGIN, V_BOOT_TIMER, V_MAX_BODY, V_START_US, V_START_CPU_US, V_PARENT_CPU_US,
       V_SECCOMP_LOG, V_NO_SECCOMP, V_SECCOMP_FILTER, V_VERSION };

int cli_parse_vmm(int argc, char **argv, struct cli_vmm *out, char *why, size_t whylen)
{
	static const struct option opts[] = {
		{ "no-api", no_argument, NULL, V_NO_API },
		{ "config-file", required_argument, NULL, V_CONFIG_FILE },
		{ "id", required_argument, NULL, V_ID },
		{ "log-path", required_argument, NULL, V_LOG_PATH },
		{ "level", required_argument, NULL, V_LEVEL },
		{ "show-level", no_argument, NULL, V_SHOW_LEVEL },
		{ "show-log-origin", no_argument, NULL, V_SHOW_ORIGIN },
		{ "boot-timer", no_argument, NULL, V_BOOT_TIMER },
		{ "http-api-max-payload-size", required_argument, NULL, V_MAX_BODY },
		{ "start-time-us", required_argument, NULL, V_START_US },
		{ "start-time-cpu-us", required_argument, NULL, V_START_CPU_US },
		{ "parent-cpu-time-us", required_argument, NULL, V_PARENT_CPU_US },
		{ "seccomp-log", no_argument, NULL, V_SECCOMP_LOG },
		{ "no-seccomp", no_argument, NULL, V_NO_SECCOMP },
		{ "seccomp-filter", required_argument, NULL, V_SECCOMP_FILTER },
		CLI_CTL_OPTIONS,
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, V_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	bool no_api = false, have_sock = false;
	uint64_t n;
	int c, r;

	memset(out, 0, sizeof(*out));
	cli_ctl_defaults(&out->ctl);
	out->ctl.api_sock = CLI_DEFAULT_API_SOCK;
	out->vm_id = CLI_DEFAULT_VM_ID;
	out->max_body = API_DEFAULT_MAX_BODY;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		have_sock |= c == CLI_OPT_API_SOCK;
		r = cli_parse_ctl(c, optarg, &out->ctl, why, whylen);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		switch (c) {
		case V_NO_API:
			no_api = true;
			break;
		case V_CONFIG_FILE:
			out->config_file = optarg;
			break;
		case V_ID:
			r = cli_check_id(optarg, why, whylen);
			if (r < 0)
				return r;
			out->vm_id = optarg;
			break;
		case V_LOG_PATH:
			out->log_path = optarg;
			break;
		case V_LEVEL:
			out->level = optarg;
			break;
		case V_SHOW_LEVEL:
			out->show_level = true;
			break;
		case V_SHOW_ORIGIN:
			out->show_log_origin = true;
			break;
		case V_BOOT_TIMER:
			out->boot_timer = true;
			break;
		case V_MAX_BODY:
			r = cli_number("--http-api-max-payload-size", optarg, 1024, 16 << 20, &n, why, whylen);
			if (r < 0)
				return r;
			out->max_body = n;
			break;
		case V_START_US:
			r = cli_number("--start-time-us", optarg, 0, UINT64_MAX, &out->start_us, why, whylen);
			if (r < 0)
				return r;
			out->have_start_us = true;
			break;
		case V_START_CPU_US:
		case V_PARENT_CPU_US:
			/* Firecracker's jailer passes CPU times; checked, not needed (see brisk run). */
			r = cli_number(argv[optind - 1], optarg, 0, UINT64_MAX, &n, why, whylen);
			if (r < 0)
				return r;
			break;
		case V_SECCOMP_LOG:
			out->seccomp_log = true;
			break;
		case V_NO_SECCOMP:
			out->no_seccomp = true;
			break;
		case V_SECCOMP_FILTER:
			return errf(why, whylen, -EINVAL,
				    "--seccomp-filter: custom BPF filters are not supported by brisk "
				    "(its filters are built in; --seccomp-log helps find a missing call)");
		case 'v':
			out->verbose++;
			break;
		case 'h':
			out->help = true;
			return 0;
		case V_VERSION:
			out->version = true;
			return 0;
		case ':':
			return errf(why, whylen, -EINVAL, "%s needs a value (see brisk --help)",
				    argv[optind - 1]);
		default:
			return errf(why, whylen, -EINVAL, "unknown option '%s' (see brisk --help)",
				    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return errf(why, whylen, -EINVAL, "unexpected argument '%s' (commands: run; see brisk "
			    "--help)", argv[optind]);
	if (no_api && have_sock)
		return errf(why, whylen, -EINVAL, "--no-api and --api-sock contradict; drop one");
	if (no_api && !out->config_file)
		return errf(why, whylen, -EINVAL,
			    "--no-api needs --config-file (without the API nothing could configure the VM)");
	if (no_api)
		out->ctl.api_sock = NULL;
	return 0;
}
