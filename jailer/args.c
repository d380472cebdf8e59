/* args.c — brisk-jailer's flags: Firecracker's jailer flags plus --cleanup and --allow-root. */
#include "jailer/args.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vmm/util.h"

static const char usage_text[] =
	"usage: brisk-jailer --id ID --exec-file PATH --uid UID --gid GID [OPTIONS] [-- BRISK-ARGS...]\n"
	"       brisk-jailer --cleanup --id ID [--exec-file PATH] [--chroot-base-dir DIR] [--parent-cgroup P]\n"
	"\n"
	"Run brisk (the exec file) as UID:GID in a jail of its own: a new mount namespace whose\n"
	"root is <base>/<exec name>/<ID>/root, holding only the binary, the VM's files and\n"
	"/dev/{kvm,net/tun,urandom}; a cgroup; rlimits; no capabilities. When brisk ends, the\n"
	"jail and the cgroup are removed. BRISK-ARGS of `run` name host files (--kernel,\n"
	"--initrd, --rootfs, --drive, and the defaults next to the exec file): they are linked\n"
	"into the jail and the arguments rewritten.\n"
	"\n"
	"  --id ID                  VM id: 1-64 of A-Z a-z 0-9 '-' (also brisk's --id)\n"
	"  --exec-file PATH         the brisk binary\n"
	"  --uid UID, --gid GID     whom brisk runs as (0 only with --allow-root)\n"
	"  --chroot-base-dir DIR    where jails are made (default /srv/jailer)\n"
	"  --netns PATH             join this network namespace (e.g. /var/run/netns/NAME)\n"
	"  --cgroup-version 1|2     cgroup hierarchy to use (default 1)\n"
	"  --cgroup FILE=VALUE      write VALUE to FILE of the VM's cgroup, e.g. pids.max=64,\n"
	"                           memory.limit_in_bytes=512M (v1), memory.max=512M (v2); repeatable\n"
	"  --parent-cgroup PATH     the VM's cgroup is <hierarchy>/PATH/ID (default: exec file name)\n"
	"  --resource-limit R=N     fsize=BYTES or no-file=N (default no-file=2048); repeatable\n"
	"  --daemonize              detach (setsid, stdio to /dev/null) once brisk has started\n"
	"  --new-pid-ns             brisk runs as pid 1 of a new pid namespace\n"
	"  --allow-root             allow --uid 0 / --gid 0\n"
	"  --cleanup                remove what a crashed run with this ID left (jail, cgroups)\n"
	"  -h, --help               this help\n"
	"\n"
	"Exit status: brisk's; 64 bad flag, 65 bad id, 66 missing file, 67 uid/gid 0 without\n"
	"--allow-root, 68 path outside its base, 71 setup failed, 73 jail exists, 77 not root,\n"
	"78 cgroup refused.\n";

void jailer_usage(int fd)
{
	if (write(fd, usage_text, sizeof(usage_text) - 1) < 0)
		return;
}

int jailer_check_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > JAILER_ID_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-')
			return -EINVAL;
	return 0;
}

/* A decimal number with an optional K/M/G suffix (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int jailer_parse_rlimit(const char *spec, struct jailer_rlimit *out, char *why, size_t whylen)
{
	const char *v;

	if (!strncmp(spec, "fsize=", 6)) {
		out->resource = RLIMIT_FSIZE;
		v = spec + 6;
	} else if (!strncmp(spec, "no-file=", 8)) {
		out->resource = RLIMIT_NOFILE;
		v = spec + 8;
	} else {
		return errf(why, whylen, -EINVAL, "--resource-limit '%s': expected fsize=BYTES or "
			    "no-file=N", spec);
	}
	if (parse_size(v, &out->value) < 0 ||
	    (out->resource == RLIMIT_NOFILE && (out->value < 16 || out->value > 1048576)))
		return errf(why, whylen, -EINVAL, "--resource-limit '%s': expected a number%s", spec,
			    out->resource == RLIMIT_NOFILE ? " from 16 to 1048576" : " of bytes (K/M/G)");
	return 0;
}

static int parse_id_number(const char *flag, const char *s, unsigned int *out, char *why, size_t whylen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end || errno || v >= 0xffffffffUL)
		return errf(why, whylen, JAILER_EXIT_USAGE, "%s '%s': expected a numeric id", flag, s);
	*out = (unsigned int)v;
	return 0;
}

enum { OPT_ID = 256, OPT_EXEC, OPT_UID, OPT_GID, OPT_BASE, OPT_NETNS, OPT_CGV, OPT_CGROUP,
       OPT_PARENT, OPT_RLIMIT, OPT_DAEMON, OPT_PIDNS, OPT_ALLOW_ROOT, OPT_CLEANUP, OPT_VERSION };

int jailer_parse_args(int argc, char **argv, struct jailer_args *out, char *why, size_t whylen)
{
	static const struct option opts[] = {
		{ "id", required_argument, NULL, OPT_ID },
		{ "exec-file", required_argument, NULL, OPT_EXEC },
		{ "uid", required_argument, NULL, OPT_UID },
		{ "gid", required_argument, NULL, OPT_GID },
		{ "chroot-base-dir", required_argument, NULL, OPT_BASE },
		{ "netns", required_argument, NULL, OPT_NETNS },
		{ "cgroup-version", required_argument, NULL, OPT_CGV },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "parent-cgroup", required_argument, NULL, OPT_PARENT },
		{ "resource-limit", required_argument, NULL, OPT_RLIMIT },
		{ "daemonize", no_argument, NULL, OPT_DAEMON },
		{ "new-pid-ns", no_argument, NULL, OPT_PIDNS },
		{ "allow-root", no_argument, NULL, OPT_ALLOW_ROOT },
		{ "cleanup", no_argument, NULL, OPT_CLEANUP },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int n;
	int c, r;

	memset(out, 0, sizeof(*out));
	out->base = JAILER_DEFAULT_BASE;
	out->cgroup_version = 1;
	optind = 0;
	opterr = 0;
	/* '+': stop at "--" (or any non-option); what follows is brisk's. */
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ID:
			out->id = optarg;
			break;
		case OPT_EXEC:
			out->exec_file = optarg;
			break;
		case OPT_UID:
			if ((r = parse_id_number("--uid", optarg, &n, why, whylen)))
				return r;
			out->uid = n;
			out->have_uid = true;
			break;
		case OPT_GID:
			if ((r = parse_id_number("--gid", optarg, &n, why, whylen)))
				return r;
			out->gid = n;
			out->have_gid = true;
			break;
		case OPT_BASE:
			if (!optarg[0])
				return errf(why, whylen, JAILER_EXIT_USAGE, "--chroot-base-dir: empty path");
			out->base = optarg;
			break;
		case OPT_NETNS:
			out->netns = optarg;
			break;
		case OPT_CGV:
			if (strcmp(optarg, "1") && strcmp(optarg, "2"))
				return errf(why, whylen, JAILER_EXIT_USAGE, "--cgroup-version '%s': expected "
					    "1 or 2", optarg);
			out->cgroup_version = optarg[0] - '0';
			break;
		case OPT_CGROUP:
			if (out->nr_cgroups == CGROUP_MAX_SETTINGS)
				return errf(why, whylen, JAILER_EXIT_USAGE, "--cgroup: at most %d",
					    CGROUP_MAX_SETTINGS);
			if (cgroup_parse_setting(optarg, &out->cgroups[out->nr_cgroups], why, whylen) < 0)
				return JAILER_EXIT_USAGE;
			out->nr_cgroups++;
			break;
		case OPT_PARENT:
			if (cgroup_check_parent(optarg) < 0)
				return errf(why, whylen, JAILER_EXIT_BAD_PATH, "--parent-cgroup '%s': expected "
					    "a relative path of names (A-Z a-z 0-9 _ . -), without '.' or '..' "
					    "components", optarg);
			out->parent_cgroup = optarg;
			break;
		case OPT_RLIMIT:
			if (out->nr_rlimits == JAILER_MAX_RLIMITS)
				return errf(why, whylen, JAILER_EXIT_USAGE, "--resource-limit: at most %d",
					    JAILER_MAX_RLIMITS);
			if (jailer_parse_rlimit(optarg, &out->rlimits[out->nr_rlimits], why, whylen) < 0)
				return JAILER_EXIT_USAGE;
			out->nr_rlimits++;
			break;
		case OPT_DAEMON:
			out->daemonize = true;
			break;
		case OPT_PIDNS:
			out->new_pid_ns = true;
			break;
		case OPT_ALLOW_ROOT:
			out->allow_root = true;
			break;
		case OPT_CLEANUP:
			out->cleanup = true;
			break;
		case 'h':
			out->help = true;
			return 0;
		case OPT_VERSION:
			out->version = true;
			return 0;
		case ':':
			return errf(why, whylen, JAILER_EXIT_USAGE, "%s needs a value (see brisk-jailer --help)",
				    argv[optind - 1]);
		default:
			return errf(why, whylen, JAILER_EXIT_USAGE, "unknown option '%s' (see brisk-jailer "
				    "--help)", argv[optind - 1]);
		}
	}
	/* Firecracker passes everything after "--"; a stray word before it is a mistake. */
	if (optind < argc && strcmp(argv[optind - 1], "--"))
		return errf(why, whylen, JAILER_EXIT_USAGE, "unexpected argument '%s': brisk's own "
			    "arguments go after --", argv[optind]);
	out->exec_argv = argv + optind;
	out->exec_argc = argc - optind;

	if (!out->id)
		return errf(why, whylen, JAILER_EXIT_USAGE, "--id is required (see brisk-jailer --help)");
	if (jailer_check_id(out->id) < 0)
		return errf(why, whylen, JAILER_EXIT_BAD_ID, "--id '%.80s': expected 1-%d characters of "
			    "A-Z a-z 0-9 and '-'", out->id, JAILER_ID_MAX);
	if (out->cleanup)
		return 0;
	if (!out->exec_file)
		return errf(why, whylen, JAILER_EXIT_USAGE, "--exec-file is required (the brisk binary)");
	if (!out->have_uid || !out->have_gid)
		return errf(why, whylen, JAILER_EXIT_USAGE, "--uid and --gid are required (whom brisk "
			    "runs as)");
	if ((out->uid == 0 || out->gid == 0) && !out->allow_root)
		return errf(why, whylen, JAILER_EXIT_ROOT_UID, "--%s 0: brisk would run as root in the "
			    "jail; pick an unprivileged id, or add --allow-root", out->uid == 0 ? "uid" : "gid");
	return 0;
}
