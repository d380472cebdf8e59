/*
 * cli.h — `brisk run` command line and the kernel command line it builds (floor 4).
 */
#ifndef BRISK_CLI_H
#define BRISK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/console.h"
#include "vmm/loader.h"
#include "vmm/log.h"
#include "vmm/metrics.h"
#include "virtio/io.h"

#define CLI_MAX_ENV 64
#define CLI_MAX_DRIVES 16
#define CLI_MAX_NICS 8
#define CLI_DEFAULT_VM_ID "anonymous-instance" /* Firecracker's default --id */
#define CLI_MAX_FILES (2 + CLI_MAX_DRIVES)       /* kernel, initrd, rootfs and drives */

/* --net TAP[,mac=MAC][,ip=ADDR/PREFIX][,gw=ADDR] */
struct cli_nic {
	char *tap;         /* owns the strdup'ed spec; the other strings point into it */
	const char *mac;   /* NULL: derived from the VM id and the tap name */
	uint8_t mac_bytes[6];
	bool have_mac;
	const char *ip;    /* guest address ADDR/PREFIX for the agent, or NULL */
	const char *gw;    /* default gateway, or NULL */
};

/* --rootfs / --drive: PATH[,ro][,id=NAME][,cache=writeback|unsafe] */
struct cli_drive {
	char *path;
	char *id;          /* NULL: "rootfs" for --rootfs, "drive1", "drive2"... for --drive */
	bool read_only;
	bool cache_unsafe; /* cache=unsafe: no FLUSH offered (Firecracker's "Unsafe") */
};

/*
 * A host file named by a flag (--kernel, --initrd, --rootfs, --drive): where
 * its path sits in argv, so brisk-jailer can put the file in the jail and
 * rewrite the argument. The path is argv[argi][off, off + len).
 */
enum cli_file_kind { CLI_FILE_KERNEL, CLI_FILE_INITRD, CLI_FILE_DRIVE };

struct cli_file_arg {
	int argi;
	size_t off, len;          /* bytes */
	enum cli_file_kind kind;  /* CLI_FILE_DRIVE: --rootfs or --drive */
	bool writable;            /* brisk opens it read-write (a drive without ,ro) */
};

/*
 * Flags `brisk run` and `brisk [OPTIONS]` share: the control plane's
 * (API socket, shutdown grace, log and metrics formats). Both option
 * tables list CLI_CTL_OPTIONS and hand those codes to cli_parse_ctl().
 */
enum { CLI_OPT_API_SOCK = 512, CLI_OPT_SHUTDOWN_TIMEOUT, CLI_OPT_LOG_FORMAT,
       CLI_OPT_METRICS_PATH, CLI_OPT_METRICS_FORMAT };
#define CLI_CTL_OPTIONS \
	{ "api-sock", required_argument, NULL, CLI_OPT_API_SOCK }, \
	{ "shutdown-timeout", required_argument, NULL, CLI_OPT_SHUTDOWN_TIMEOUT }, \
	{ "log-format", required_argument, NULL, CLI_OPT_LOG_FORMAT }, \
	{ "metrics-path", required_argument, NULL, CLI_OPT_METRICS_PATH }, \
	{ "metrics-format", required_argument, NULL, CLI_OPT_METRICS_FORMAT }

struct cli_ctl {
	const char *api_sock;             /* --api-sock, or NULL */
	unsigned int shutdown_timeout_ms; /* --shutdown-timeout (seconds on the command line) */
	enum log_format log_format;
	const char *metrics_path;
	enum metrics_format metrics_format;
};

struct cli_run {
	const char *kernel;       /* NULL: the vmlinux next to the brisk binary */
	const char *initrd;       /* NULL: see cli_resolve_boot() */
	bool no_initrd;
	bool have_rootfs;         /* --rootfs given */
	struct cli_drive rootfs;
	struct cli_drive drives[CLI_MAX_DRIVES]; /* --drive, in order */
	unsigned int nr_drives;
	enum io_engine_kind io_engine;
	struct cli_nic nics[CLI_MAX_NICS]; /* --net, in order: eth0, eth1, ... */
	unsigned int nr_nics;
	const char *vm_id;        /* --id (default CLI_DEFAULT_VM_ID) */
	bool seccomp_log;         /* --seccomp-log: log calls outside the filters instead of killing */
	bool no_seccomp;          /* --no-seccomp */
	const char *cmdline;      /* NULL: brisk's default kernel parameters */
	unsigned int cpus;
	uint64_t mem_mib;
	enum boot_pref boot;
	bool boot_timer;
	int verbose;
	const char *env[CLI_MAX_ENV];
	unsigned int nr_env;
	const char *workdir;
	char **argv;              /* guest command (after --), may be empty */
	int argc;
	bool help, version;
	bool have_start_us;       /* --start-time-us given (brisk-jailer passes its own start) */
	uint64_t start_us;        /* CLOCK_MONOTONIC µs at which the launch began */
	struct cli_file_arg files[CLI_MAX_FILES]; /* in argv order */
	unsigned int nr_files;
	const char *config_file;  /* --config-file: the machine from Firecracker JSON */
	const char *machine_flag; /* first flag given that the config file also sets, or NULL */
	struct cli_ctl ctl;       /* --api-sock, --shutdown-timeout, --log-format, --metrics-* */
};

/* What cli_run_defaults() reports: artifacts next to the brisk binary in use. */
#define CLI_USES_DEFAULT_KERNEL 1u /* no --kernel: vmlinux */
#define CLI_USES_DEFAULT_ROOT   2u /* no --rootfs/--initrd/--no-initrd: rootfs.ext4 (read-only),
				    * or initramfs.cpio.gz when there is no rootfs.ext4 */


#define CLI_DEFAULT_SHUTDOWN_TIMEOUT_MS 5000
#define CLI_DEFAULT_CPUS 1
#define CLI_DEFAULT_MEM_MIB 256
#define CLI_DEFAULT_KERNEL_ARGS \
	"console=ttyS1 reboot=k panic=-1 pci=off nomodule 8250.nr_uarts=2 " \
	"i8042.noaux i8042.nomux i8042.dumbkbd no_timer_check"

/*
 * Parse `brisk run` arguments (@argv[0] is "run"). Returns 0, or -EINVAL
 * with one line naming the flag and the fix in @why.
 */
int cli_parse_run(int argc, char **argv, struct cli_run *out, char *why, size_t whylen);

/* Which default artifacts @run boots from: CLI_USES_DEFAULT_* bits. */
unsigned int cli_run_defaults(const struct cli_run *run);

/* Free what cli_parse_run() allocated (drive specs). */
void cli_run_free(struct cli_run *run);

/*
 * Parse a drive spec "PATH[,ro|rw][,id=NAME][,cache=writeback|unsafe]" for @flag into @d (pointers into
 * a copy of @spec owned by @d). 0 or -EINVAL with a message.
 */
int cli_parse_drive(const char *flag, const char *spec, struct cli_drive *d,
		    char *why, size_t whylen);

/*
 * Parse a NIC spec "TAP[,mac=MAC][,ip=ADDR/PREFIX][,gw=ADDR]" into @nic
 * (strings point into a copy owned by nic->tap). 0 or -EINVAL with a message.
 */
int cli_parse_nic(const char *spec, struct cli_nic *nic, char *why, size_t whylen);

/*
 * Percent-encode @in for the agent (docs/guest-interface.md): bytes outside
 * [A-Za-z0-9-_./:=+@] become %XX, "" becomes "%". Writes at most @outlen
 * bytes incl. NUL. Returns the length, or -E2BIG when it does not fit.
 */
int cli_agent_encode(const char *in, char *out, size_t outlen);

/*
 * Kernel command line for @run: the base parameters (default or --cmdline),
 * the log level, and — unless --cmdline was given without a command — the
 * agent's options after "--": stdin=, v=1, cwd=, env=LIST, net=LIST, cmd=LIST (lists
 * are comma-separated percent-encoded elements; no command = /bin/sh).
 * @extra (device and root parameters from the machine, may be "") goes
 * first, so the user's own parameters override it. Returns the length or
 * -E2BIG.
 */
int cli_build_cmdline(const struct cli_run *run, enum console_stdin mode, const char *extra,
		      char *out, size_t outlen);

/*
 * @arg as a whole number in [@lo, @hi] for @flag. 0, or -EINVAL with
 * "FLAG 'ARG': expected a whole number from LO to HI".
 */
int cli_number(const char *flag, const char *arg, uint64_t lo, uint64_t hi,
	       uint64_t *out, char *why, size_t whylen);

/*
 * `brisk [OPTIONS]` without a subcommand: Firecracker's own flags, so
 * Firecracker launch lines and brisk-jailer's work unchanged.
 */
#define CLI_DEFAULT_API_SOCK "/run/brisk.socket"

struct cli_vmm {
	struct cli_ctl ctl;          /* api_sock: default CLI_DEFAULT_API_SOCK, NULL with --no-api */
	const char *config_file;
	const char *vm_id;
	const char *log_path, *level;
	bool show_level, show_log_origin;
	bool boot_timer;
	bool have_start_us;
	uint64_t start_us;
	uint64_t max_body;           /* --http-api-max-payload-size, bytes */
	bool seccomp_log, no_seccomp;
	int verbose;
	bool help, version;
};

/* Parse `brisk [OPTIONS]` (@argv[0] is the program). 0 or -EINVAL with a message. */
int cli_parse_vmm(int argc, char **argv, struct cli_vmm *out, char *why, size_t whylen);

/* Usage of `brisk [OPTIONS]` on @fd. */
void cli_vmm_usage(int fd);

/* Print usage on @fd. */
void cli_usage(int fd);

/* No API socket, CLI_DEFAULT_SHUTDOWN_TIMEOUT_MS, text logs, JSON metrics. */
void cli_ctl_defaults(struct cli_ctl *ctl);

/*
 * Apply the control-plane option @opt (a CLI_OPT_* code) with @arg to
 * @ctl. Returns 1 when @opt is one of them, 0 when it is not, or -EINVAL
 * with a message naming the flag.
 */
int cli_parse_ctl(int opt, const char *arg, struct cli_ctl *ctl, char *why, size_t whylen);

/* --id: 1 to 64 bytes (brisk-jailer checks its own, stricter alphabet). 0 or -EINVAL. */
int cli_check_id(const char *id, char *why, size_t whylen);

#endif
