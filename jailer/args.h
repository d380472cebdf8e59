/*
 * args.h — brisk-jailer's command line (Firecracker's jailer flags) and its
 * exit codes (floor 4).
 */
#ifndef BRISK_JAILER_ARGS_H
#define BRISK_JAILER_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jailer/cgroup.h"

/*
 * Exit codes of brisk-jailer's own refusals and failures (README, "Jailer").
 * Otherwise it exits with brisk's status (128+N when brisk died of signal N).
 */
#define JAILER_EXIT_USAGE      64 /* unknown flag, missing or malformed value, bad brisk flags */
#define JAILER_EXIT_BAD_ID     65 /* --id not 1-64 of [A-Za-z0-9-] */
#define JAILER_EXIT_NO_FILE    66 /* exec file, a VM file or the netns missing or unusable */
#define JAILER_EXIT_ROOT_UID   67 /* uid or gid 0 without --allow-root */
#define JAILER_EXIT_BAD_PATH   68 /* a path that leaves its base (--parent-cgroup "..", symlinks) */
#define JAILER_EXIT_SETUP      71 /* a system call of the jail setup failed */
#define JAILER_EXIT_JAIL_EXISTS 73 /* <base>/<exec>/<id> already exists, or is in use */
#define JAILER_EXIT_NOT_ROOT   77 /* brisk-jailer was not run as root */
#define JAILER_EXIT_CGROUP     78 /* unknown cgroup controller or file, value refused */

#define JAILER_ID_MAX 64
#define JAILER_DEFAULT_BASE "/srv/jailer"
#define JAILER_DEFAULT_NOFILE 2048 /* Firecracker's default RLIMIT_NOFILE */
#define JAILER_MAX_RLIMITS 4

struct jailer_rlimit {
	int resource;    /* RLIMIT_FSIZE or RLIMIT_NOFILE */
	uint64_t value;  /* bytes (fsize) or descriptors (no-file) */
};

struct jailer_args {
	const char *id;
	const char *exec_file;
	uid_t uid;
	gid_t gid;
	bool have_uid, have_gid;
	const char *base;              /* --chroot-base-dir (default JAILER_DEFAULT_BASE) */
	const char *netns;             /* --netns PATH, or NULL */
	int cgroup_version;            /* 1 or 2 (default 1, as Firecracker) */
	struct cgroup_setting cgroups[CGROUP_MAX_SETTINGS];
	unsigned int nr_cgroups;
	const char *parent_cgroup;     /* NULL: the exec file's name */
	struct jailer_rlimit rlimits[JAILER_MAX_RLIMITS];
	unsigned int nr_rlimits;
	bool daemonize, new_pid_ns, allow_root, cleanup, help, version;
	char **exec_argv;              /* after "--": brisk's own arguments */
	int exec_argc;
};

/*
 * Parse brisk-jailer's @argv into @out (strings point into @argv). Returns
 * 0, or a JAILER_EXIT_* code with one line naming the flag and the fix in
 * @why. Checks syntax only; files are checked by the caller.
 */
int jailer_parse_args(int argc, char **argv, struct jailer_args *out, char *why, size_t whylen);

/* 0 when @id is 1-JAILER_ID_MAX bytes of [A-Za-z0-9-] (Firecracker's rule), else -EINVAL. */
int jailer_check_id(const char *id);

/*
 * "fsize=BYTES" or "no-file=N" into @out. 0, or -EINVAL with a message in @why.
 */
int jailer_parse_rlimit(const char *spec, struct jailer_rlimit *out, char *why, size_t whylen);

/* Print usage on @fd. */
void jailer_usage(int fd);

#endif
