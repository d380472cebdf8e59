/* cgroup.c — the jailed VM's cgroup, v1 or v2: create, limit, join, kill, remove. */
#include "jailer/cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/util.h"

int cgroup_parse_setting(const char *spec, struct cgroup_setting *out, char *why, size_t whylen)
{
	const char *eq = strchr(spec, '='), *dot;
	size_t flen;

	memset(out, 0, sizeof(*out));
	flen = eq ? (size_t)(eq - spec) : 0;
	dot = eq ? memchr(spec, '.', flen) : NULL;
	if (!eq || !dot || dot == spec || flen >= sizeof(out->file) || !eq[1])
		return errf(why, whylen, -EINVAL, "--cgroup '%s': expected FILE=VALUE with FILE like "
			    "memory.max or pids.max", spec);
	for (size_t i = 0; i < flen; i++) {
		unsigned char ch = (unsigned char)spec[i];

		if (!islower(ch) && !isdigit(ch) && ch != '_' && ch != '.')
			return errf(why, whylen, -EINVAL, "--cgroup '%s': the file name may hold only "
				    "a-z, 0-9, '_' and '.'", spec);
	}
	memcpy(out->file, spec, flen);
	memcpy(out->controller, spec, (size_t)(dot - spec));
	out->value = eq + 1;
	return 0;
}

int cgroup_check_parent(const char *parent)
{
	const char *p = parent;

	if (!*parent || *parent == '/')
		return -EINVAL;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)p[i]) && !strchr("_.-", p[i]))
				return -EINVAL;
		p += n;
		if (*p == '/')
			p++;
	}
	return p[-1] == '/' ? -EINVAL : 0;
}

/* One line of mountinfo: the mount point, fs type and super options. */
struct mnt {
	char point[PATH_MAX];
	char type[32];
	char opts[512];
};

/* Next cgroup/cgroup2 mount from @f; 1 found, 0 at the end. */
static int next_cgroup_mount(FILE *f, struct mnt *m)
{
	char line[4096];

	while (fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - TYPE SOURCE SUPER */
		char *sep = strstr(line, " - ");
		char point[PATH_MAX], type[32], src[256], super[512];

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
			continue;
		if (sscanf(sep + 3, "%31s %255s %511s", type, src, super) != 3)
			continue;
		if (strcmp(type, "cgroup") && strcmp(type, "cgroup2"))
			continue;
		if (strchr(point, '\\')) /* an escaped space or tab: not a place we use */
			continue;
		memcpy(m->point, point, sizeof(m->point));
		memcpy(m->type, type, sizeof(m->type));
		memcpy(m->opts, super, sizeof(m->opts));
		return 1;
	}
	return 0;
}

/* Does the comma-separated @opts list hold exactly @word? */
static bool has_word(const char *opts, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, word, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* The v1 hierarchy @controller is mounted at, or the v2 one: into @out. 0 or -ENOENT. */
static int find_mount(const char *mountinfo, int version, const char *controller,
		      char *out, size_t outlen)
{
	FILE *f = fopen(mountinfo, "re");
	struct mnt m;
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (r < 0 && next_cgroup_mount(f, &m)) {
		bool match = version == 2 ? !strcmp(m.type, "cgroup2")
					  : !strcmp(m.type, "cgroup") && has_word(m.opts, controller);

		if (match && (size_t)snprintf(out, outlen, "%s", m.point) < outlen)
			r = 0;
	}
	fclose(f);
	return r;
}

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

/* Write @value to @dir/@file. 0 or -errno (-ENOENT: no such file). */
static int write_file(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX];
	int fd, r = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (util_write_full(fd, value, strlen(value)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* v1 cpuset: a new cgroup has no CPUs or memory nodes; take the parent's (Firecracker does). */
static int inherit_cpuset(const char *dir)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char parent[PATH_MAX], path[PATH_MAX], val[4096];

	snprintf(parent, sizeof(parent), "%s", dir);
	*strrchr(parent, '/') = '\0';
	for (unsigned int i = 0; i < ARRAY_SIZE(files); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, files[i]) >= sizeof(path))
			return -ENAMETOOLONG;
		if (read_small(path, val, sizeof(val)) == 0 && val[0])
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", parent, files[i]) >= sizeof(path) ||
		    read_small(path, val, sizeof(val)) < 0 || write_file(dir, files[i], val) < 0)
			return -EINVAL;
	}
	return 0;
}

/* The dir for hierarchy @mount in @cg, added if new. */
static int cg_dir_for(struct cgroup_jail *cg, const char *mount, const char *parent,
		      const char *id)
{
	unsigned int i;

	for (i = 0; i < cg->nr_dirs; i++)
		if (!strcmp(cg->dirs[i].mount, mount))
			return (int)i;
	if (cg->nr_dirs == CGROUP_MAX_DIRS)
		return -E2BIG;
	if ((size_t)snprintf(cg->dirs[i].path, sizeof(cg->dirs[i].path), "%s/%s/%s", mount, parent,
			     id) >= sizeof(cg->dirs[i].path))
		return -ENAMETOOLONG;
	snprintf(cg->dirs[i].mount, sizeof(cg->dirs[i].mount), "%s", mount);
	cg->dirs[i].created = 0;
	cg->nr_dirs++;
	return (int)i;
}

/*
 * mkdir every level of dirs[i].path below its mount, counting the levels
 * made; the last (the id) must be new. v1 cpuset levels inherit CPUs/mems.
 */
static int make_levels(struct cgroup_jail *cg, unsigned int i, bool cpuset, char *why, size_t whylen)
{
	char *path = cg->dirs[i].path;
	size_t mlen = strlen(cg->dirs[i].mount);

	for (char *p = path + mlen + 1; ; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(path, 0755) == 0) {
			cg->dirs[i].created++;
			if (cpuset && inherit_cpuset(path) < 0) {
				if (!last)
					*p = '/';
				return errf(why, whylen, -EINVAL, "cgroup %s: cannot copy the parent's "
					    "cpuset.cpus/cpuset.mems", path);
			}
		} else if (errno != EEXIST || last) {
			int e = -errno;

			errf(why, whylen, e, e == -EEXIST ? "cgroup %s already exists (another VM with "
			     "this id, or a crashed run: brisk-jailer --cleanup --id ID)" : "cgroup %s: %s",
			     path, strerror(-e));
			if (!last)
				*p = '/';
			return e;
		} else {
			/* An existing level made by someone else: not ours to remove. */
			cg->dirs[i].created = 0;
		}
		if (last)
			return 0;
		*p = '/';
	}
}

/* v2: enable @ctrl for children in every level from the mount down to the id's parent. */
static int enable_v2(const char *mount, const char *idpath, const char *ctrl, char *why, size_t whylen)
{
	char path[PATH_MAX], avail[1024], plus[CGROUP_NAME_MAX + 2];
	size_t mlen = strlen(mount);
	const char *last = strrchr(idpath, '/');
	int r;

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.controllers", mount) >= sizeof(path) ||
	    read_small(path, avail, sizeof(avail)) < 0)
		avail[0] = '\0';
	/* Space-separated: reuse the comma matcher on a copy. */
	for (char *c = avail; *c; c++)
		if (*c == ' ')
			*c = ',';
	if (!has_word(avail, ctrl)) {
		for (char *c = avail; *c; c++)
			if (*c == ',')
				*c = ' ';
		return errf(why, whylen, -ENOENT, "--cgroup: controller '%s' is not available in the "
			    "cgroup v2 hierarchy at %s (it has: %s)%s", ctrl, mount,
			    avail[0] ? avail : "none",
			    avail[0] ? "" : "; on hybrid hosts the controllers are v1: --cgroup-version 1");
	}
	snprintf(plus, sizeof(plus), "+%s", ctrl);
	snprintf(path, sizeof(path), "%s", mount);
	for (const char *p = idpath + mlen;;) {
		r = write_file(path, "cgroup.subtree_control", plus);
		if (r < 0)
			return errf(why, whylen, r, "cgroup %s: cannot enable controller %s: %s", path,
				    ctrl, strerror(-r));
		if (p >= last)
			return 0;
		p = strchr(p + 1, '/');
		if (!p || p > last)
			p = last;
		snprintf(path, sizeof(path), "%.*s", (int)(p - idpath), idpath);
	}
}

int cgroup_create(struct cgroup_jail *cg, int version, const char *parent, const char *id,
		  const struct cgroup_setting *settings, unsigned int nr, const char *mountinfo,
		  char *why, size_t whylen)
{
	char mount[PATH_MAX];
	/* Which of cg->dirs each setting is written to (v2: all to the one). */
	unsigned int dir_of[CGROUP_MAX_SETTINGS] = { 0 };
	int r = 0, k;

	memset(cg, 0, sizeof(*cg));
	cg->version = version;
	if (nr > CGROUP_MAX_SETTINGS)
		return errf(why, whylen, -E2BIG, "--cgroup: at most %d", CGROUP_MAX_SETTINGS);
	if (version == 2) {
		r = find_mount(mountinfo, 2, NULL, mount, sizeof(mount));
		if (r < 0)
			return errf(why, whylen, r, "--cgroup-version 2: no cgroup2 file system is mounted "
				    "(mount -t cgroup2 none /sys/fs/cgroup)");
		k = cg_dir_for(cg, mount, parent, id);
		if (k < 0)
			return errf(why, whylen, k, "cgroup path too long");
		/* Controllers may be enabled above existing children (not above processes). */
		r = make_levels(cg, 0, false, why, whylen);
		for (unsigned int i = 0; r == 0 && i < nr; i++)
			if (strcmp(settings[i].controller, "cgroup"))
				r = enable_v2(mount, cg->dirs[0].path, settings[i].controller, why, whylen);
	} else {
		for (unsigned int i = 0; r == 0 && i < nr; i++) {
			r = find_mount(mountinfo, 1, settings[i].controller, mount, sizeof(mount));
			if (r < 0) {
				errf(why, whylen, -ENOENT, "--cgroup %s: no cgroup v1 hierarchy has the "
				     "controller '%s'%s", settings[i].file, settings[i].controller,
				     find_mount(mountinfo, 2, NULL, mount, sizeof(mount)) == 0
				     ? " (is this a cgroup v2 host? try --cgroup-version 2)" : "");
				break;
			}
			unsigned int before = cg->nr_dirs;

			k = cg_dir_for(cg, mount, parent, id);
			if (k < 0) {
				r = errf(why, whylen, k, "cgroup path too long");
				break;
			}
			dir_of[i] = (unsigned int)k;
			/* A hierarchy seen for the first time (co-mounted controllers share one). */
			if (cg->nr_dirs > before)
				r = make_levels(cg, (unsigned int)k, !strcmp(settings[i].controller, "cpuset"),
						why, whylen);
		}
	}
	for (unsigned int i = 0; r == 0 && i < nr; i++) {
		const char *dir = cg->dirs[dir_of[i]].path;

		r = write_file(dir, settings[i].file, settings[i].value);
		if (r == -ENOENT)
			errf(why, whylen, r, "--cgroup %s: unknown cgroup file (there is none in %s)",
			     settings[i].file, dir);
		else if (r == -EACCES || r == -EPERM)
			errf(why, whylen, -ENOENT, "--cgroup %s: that cgroup file is read-only",
			     settings[i].file);
		else if (r < 0)
			errf(why, whylen, r, "--cgroup %s=%s: the kernel refused the value: %s",
			     settings[i].file, settings[i].value, strerror(-r));
	}
	if (r < 0)
		cgroup_remove(cg, false);
	return r;
}

int cgroup_join(const struct cgroup_jail *cg, pid_t pid, char *why, size_t whylen)
{
	char num[24];

	snprintf(num, sizeof(num), "%d", (int)pid);
	for (unsigned int i = 0; i < cg->nr_dirs; i++) {
		int r = write_file(cg->dirs[i].path, "cgroup.procs", num);

		if (r < 0)
			return errf(why, whylen, r, "cgroup %s: cannot add pid %d: %s", cg->dirs[i].path,
				    (int)pid, strerror(-r));
	}
	return 0;
}

/* SIGKILL every pid listed in @dir/cgroup.procs; how many were listed. */
static int kill_listed(const char *dir)
{
	char path[PATH_MAX];
	FILE *f;
	int pid, n = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%d", &pid) == 1) {
		if (pid > 0)
			kill(pid, SIGKILL);
		n++;
	}
	fclose(f);
	return n;
}

int cgroup_kill_all(const struct cgroup_jail *cg)
{
	for (int round = 0; round < 100; round++) {
		int left = 0;

		for (unsigned int i = 0; i < cg->nr_dirs; i++) {
			if (round == 0) /* v2 (Linux 5.14+); absent elsewhere */
				write_file(cg->dirs[i].path, "cgroup.kill", "1");
			left += kill_listed(cg->dirs[i].path);
		}
		if (left == 0)
			return 0;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	return -EBUSY;
}

/* rmdir, retrying briefly while the kernel still counts an exiting task. */
static int rmdir_retry(const char *path)
{
	for (int i = 0; i < 50; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	return -EBUSY;
}

int cgroup_remove(struct cgroup_jail *cg, bool also_parent)
{
	int first = 0;

	for (unsigned int i = 0; i < cg->nr_dirs; i++) {
		char path[PATH_MAX];
		size_t mlen = strlen(cg->dirs[i].mount);
		unsigned int level = 0;

		snprintf(path, sizeof(path), "%s", cg->dirs[i].path);
		/* The id's own directory, then the parents this run made. */
		while (strlen(path) > mlen && (level < cg->dirs[i].created || (level == 1 && also_parent))) {
			int r = rmdir_retry(path);

			if (r < 0) {
				/* A parent still used by other VMs stays, quietly. */
				if (level == 0 && !first)
					first = r;
				break;
			}
			*strrchr(path, '/') = '\0';
			level++;
		}
	}
	cg->nr_dirs = 0;
	return first;
}

unsigned int cgroup_find(struct cgroup_jail *cg, const char *parent, const char *id,
			 const char *mountinfo)
{
	FILE *f = fopen(mountinfo, "re");
	struct mnt m;
	struct stat st;

	memset(cg, 0, sizeof(*cg));
	if (!f)
		return 0;
	while (next_cgroup_mount(f, &m)) {
		int k;

		cg->version = !strcmp(m.type, "cgroup2") ? 2 : 1;
		k = cg_dir_for(cg, m.point, parent, id);
		if (k < 0)
			break;
		if (stat(cg->dirs[k].path, &st) < 0) {
			cg->nr_dirs--;
			continue;
		}
		cg->dirs[k].created = 1;
	}
	fclose(f);
	return cg->nr_dirs;
}
