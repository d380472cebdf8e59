/*
 * jail.h — the jail directory <base>/<exec>/<id>/root: created without
 * following symlinks, filled with hard links (or bind-mount placeholders)
 * of the binary and the VM's files, entered by the child (pivot_root,
 * devices, rlimits, privilege drop, exec) and removed again at the end.
 * Firecracker's layout (docs/jailer.md); Linux: pivot_root(2), mount(2),
 * capabilities(7), mount_namespaces(7).
 */
#ifndef BRISK_JAILER_JAIL_H
#define BRISK_JAILER_JAIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "jailer/args.h"

#define JAIL_MAX_FILES 24

/* A host file the jailed brisk opens, as /<name> inside the jail. */
struct jail_file {
	char host[PATH_MAX];      /* canonical host path */
	char name[NAME_MAX + 1];  /* its name in the jail root */
	char path[NAME_MAX + 2];  /* "/<name>": what brisk opens */
	bool writable;            /* opened read-write: owned by uid:gid */
	bool bind;                /* not linkable: bind-mounted onto a placeholder in the child */
};

struct jail {
	char base[PATH_MAX];      /* canonical --chroot-base-dir */
	char exec_dir[PATH_MAX];  /* <base>/<exec name> */
	char dir[PATH_MAX];       /* <base>/<exec name>/<id> */
	char root[PATH_MAX];      /* <dir>/root */
	int dir_fd;               /* open on dir and flock'ed while the jail lives, or -1 */
	int root_fd;
	uid_t uid;
	gid_t gid;
	struct jail_file files[JAIL_MAX_FILES];
	unsigned int nr_files;
};

/*
 * Create @base (if needed), <base>/@exec_name and <base>/@exec_name/@id/root
 * (owned by @uid:@gid, like Firecracker's, so brisk may create its API
 * socket there), each level opened O_NOFOLLOW so no symlink leads out of
 * @base. Returns 0; -EEXIST when the id's directory exists; -ELOOP when a
 * level is a symlink; other -errno. @why names the path. On failure nothing
 * of the id is left.
 */
int jail_create(struct jail *j, const char *base, const char *exec_name, const char *id,
		uid_t uid, gid_t gid, char *why, size_t whylen);

/*
 * Make host file @host available in the jail as /<name> (its base name, or
 * "N-<base name>" when taken): a hard link when it is a regular file on the
 * jail's file system, otherwise a placeholder the child bind-mounts it
 * onto. @writable files are given to uid:gid (chown) and must be
 * user-writable; read-only ones must be readable by uid:gid. The same host
 * file twice gives the same name. @jail_path gets "/<name>" (stored in @j).
 * Returns 0; -ENOENT/-EACCES/-ENOTSUP (not a file or block device) or
 * -ENOSPC (too many files), with @why naming @what and @host.
 */
int jail_add_file(struct jail *j, const char *what, const char *host, bool writable,
		  const char **jail_path, char *why, size_t whylen);

/* Write "<pid>\n" to <root>/@name (Firecracker's <exec>.pid). 0 or -errno. */
int jail_write_pid(struct jail *j, const char *name, pid_t pid);

/*
 * Remove the id's directory tree (not following symlinks, not crossing
 * mounts) and <base>/<exec> when that is empty; close the fds. 0 or the
 * first -errno.
 */
int jail_remove(struct jail *j);

/*
 * For --cleanup: describe <base>/@exec_name/@id in @j and lock it.
 * Returns 0, -ENOENT when it does not exist, -EBUSY when a running
 * brisk-jailer holds it.
 */
int jail_open_existing(struct jail *j, const char *base, const char *exec_name, const char *id);

/* What the child needs to enter the jail and exec brisk. */
struct jail_exec {
	const struct jail *jail;
	int netns_fd;                    /* -1: stay in this network namespace */
	const struct jailer_rlimit *rlimits;
	unsigned int nr_rlimits;
	int stdio_fd;                    /* --daemonize: /dev/null for fds 0-2, else -1 */
	bool check_parent;               /* pid 1 of a new pid namespace has no visible parent */
	pid_t parent;
	const char *path;                /* the binary inside the jail, "/<exec name>" */
	char *const *argv;
};

/*
 * In the forked child: join the network namespace, unshare the mount
 * namespace, make every mount private, bind the jail root and the files
 * that need it, a tmpfs /dev with kvm, net/tun and urandom (owned by
 * uid:gid), pivot_root (on an initramfs root, where pivot_root(2) is
 * impossible, move the jail onto / and chroot, as switch_root does), set
 * the rlimits, drop to uid:gid with no capabilities, no_new_privs and the
 * parent-death signal SIGKILL, and execve. Returns only on failure: -errno
 * with @why naming the step.
 */
int jail_enter_exec(const struct jail_exec *x, char *why, size_t whylen);

#endif
