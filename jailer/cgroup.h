/*
 * cgroup.h — the jailed VM's cgroup, v1 (one directory per controller used)
 * or v2 (one directory in the unified hierarchy), created, limited, joined
 * and removed again. Kernel: Documentation/admin-guide/cgroup-v1/ and
 * Documentation/admin-guide/cgroup-v2.rst.
 */
#ifndef BRISK_JAILER_CGROUP_H
#define BRISK_JAILER_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CGROUP_MAX_SETTINGS 32
#define CGROUP_MAX_DIRS 16          /* v1: one per controller hierarchy */
#define CGROUP_NAME_MAX 64

/* --cgroup FILE=VALUE, e.g. memory.max=256M: FILE's prefix names the controller. */
struct cgroup_setting {
	char controller[CGROUP_NAME_MAX]; /* "memory" */
	char file[CGROUP_NAME_MAX];       /* "memory.max" */
	const char *value;                /* points into the argument */
};

/* The VM's cgroup: what was created, for removal. */
struct cgroup_jail {
	int version;                      /* 1 or 2 */
	unsigned int nr_dirs;
	struct {
		char path[PATH_MAX];      /* <mount>/<parent>/<id> */
		char mount[PATH_MAX];     /* the hierarchy's mount point */
		unsigned int created;     /* how many trailing levels of path this run made */
	} dirs[CGROUP_MAX_DIRS];
};

/*
 * Parse "FILE=VALUE" (FILE: CONTROLLER.NAME of [a-z0-9_.], no '/').
 * 0, or -EINVAL with a message in @why.
 */
int cgroup_parse_setting(const char *spec, struct cgroup_setting *out, char *why, size_t whylen);

/*
 * 0 when @parent is a relative path of [A-Za-z0-9_.-] components, none of
 * them "." or "..", so <mount>/<parent>/<id> stays below the mount; -EINVAL.
 */
int cgroup_check_parent(const char *parent);

/*
 * Create <mount>/@parent/@id for version @version (1: in each hierarchy
 * that a setting's controller is mounted in; 2: in the unified hierarchy,
 * always, enabling the settings' controllers on the way down) and write
 * @settings into it. Mount points come from @mountinfo (normally
 * /proc/self/mountinfo). On failure everything created is removed again
 * and @why names the controller or file: -ENOENT unknown controller or
 * file, -EEXIST the id's cgroup exists, other -errno from the kernel.
 */
int cgroup_create(struct cgroup_jail *cg, int version, const char *parent, const char *id,
		  const struct cgroup_setting *settings, unsigned int nr, const char *mountinfo,
		  char *why, size_t whylen);

/* Move process @pid into every directory of @cg (cgroup.procs). 0 or -errno. */
int cgroup_join(const struct cgroup_jail *cg, pid_t pid, char *why, size_t whylen);

/*
 * SIGKILL whatever is left in @cg's directories and wait (up to about a
 * second) until they are empty. 0, or -EBUSY if processes remain.
 */
int cgroup_kill_all(const struct cgroup_jail *cg);

/*
 * Remove @cg's directories and the parent levels this run created (and
 * @also_parent, when empty: the default parent shared by every VM).
 * Best effort; returns 0 or the first -errno.
 */
int cgroup_remove(struct cgroup_jail *cg, bool also_parent);

/*
 * For --cleanup: find <mount>/@parent/@id in every v1 hierarchy and the v2
 * one and describe them in @cg for cgroup_kill_all()/cgroup_remove().
 * Returns how many were found.
 */
unsigned int cgroup_find(struct cgroup_jail *cg, const char *parent, const char *id,
			 const char *mountinfo);

#endif
