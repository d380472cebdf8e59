/* jail.c — the jail directory: create it safely, fill it, remove it. */
#include "jailer/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/util.h"

/* mkdir -p @path (absolute), 0755 for new levels. 0 or -errno. */
static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; ; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (buf[0] && mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		if (last)
			return 0;
		*p = '/';
	}
}

static void jail_init(struct jail *j, uid_t uid, gid_t gid)
{
	memset(j, 0, sizeof(*j));
	j->dir_fd = -1;
	j->root_fd = -1;
	j->uid = uid;
	j->gid = gid;
}

/* Fill base/exec_dir/dir/root from the canonical @base. 0 or -ENAMETOOLONG. */
static int jail_paths(struct jail *j, const char *base, const char *exec_name, const char *id)
{
	if (!realpath(base, j->base))
		return -errno;
	if ((size_t)snprintf(j->exec_dir, sizeof(j->exec_dir), "%s/%s", j->base, exec_name) >=
		    sizeof(j->exec_dir) ||
	    (size_t)snprintf(j->dir, sizeof(j->dir), "%s/%s", j->exec_dir, id) >= sizeof(j->dir) ||
	    (size_t)snprintf(j->root, sizeof(j->root), "%s/root", j->dir) >= sizeof(j->root))
		return -ENAMETOOLONG;
	return 0;
}

int jail_create(struct jail *j, const char *base, const char *exec_name, const char *id,
		uid_t uid, gid_t gid, char *why, size_t whylen)
{
	int base_fd = -1, exec_fd = -1, r;

	jail_init(j, uid, gid);
	r = mkdir_p(base);
	if (r < 0)
		return errf(why, whylen, r, "--chroot-base-dir %s: %s", base, strerror(-r));
	r = jail_paths(j, base, exec_name, id);
	if (r < 0)
		return errf(why, whylen, r, "--chroot-base-dir %s: %s", base, strerror(-r));
	base_fd = open(j->base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (base_fd < 0)
		return errf(why, whylen, -errno, "%s: %s", j->base, strerror(errno));
	/* A concurrent run may remove an empty <base>/<exec> between our steps: retry. */
	for (int tries = 0; tries < 5; tries++) {
		close_fd(&exec_fd);
		if (mkdirat(base_fd, exec_name, 0755) < 0 && errno != EEXIST) {
			r = errf(why, whylen, -errno, "%s: %s", j->exec_dir, strerror(errno));
			goto out;
		}
		exec_fd = openat(base_fd, exec_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (exec_fd < 0) {
			if (errno == ENOENT)
				continue;
			r = errf(why, whylen, errno == ENOTDIR ? -ELOOP : -errno, "%s: %s (a symlink or "
				 "file where the jail's directory belongs)", j->exec_dir, strerror(errno));
			goto out;
		}
		if (mkdirat(exec_fd, id, 0755) == 0)
			break;
		if (errno == ENOENT)
			continue;
		r = -errno;
		errf(why, whylen, r, r == -EEXIST ? "jail %s already exists (a VM with this id is "
		     "running, or a run crashed: brisk-jailer --cleanup --id %s)" : "%s: %s",
		     j->dir, r == -EEXIST ? id : strerror(-r));
		goto out;
	}
	j->dir_fd = openat(exec_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (j->dir_fd < 0) {
		r = errf(why, whylen, -errno, "%s: %s", j->dir, strerror(errno));
		goto out;
	}
	/* Held for the jail's life: --cleanup refuses a jail in use. */
	if (flock(j->dir_fd, LOCK_EX | LOCK_NB) < 0 ||
	    mkdirat(j->dir_fd, "root", 0755) < 0 ||
	    (j->root_fd = openat(j->dir_fd, "root", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fchown(j->root_fd, uid, gid) < 0 ||
	    mkdirat(j->root_fd, "dev", 0755) < 0) {
		r = errf(why, whylen, -errno, "%s: %s", j->root, strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (r < 0 && j->dir_fd >= 0)
		jail_remove(j);
	else if (r < 0 && exec_fd >= 0 && r != -EEXIST)
		unlinkat(exec_fd, id, AT_REMOVEDIR);
	close_fd(&exec_fd);
	close_fd(&base_fd);
	return r;
}

/* May uid:gid open a file of mode @st for reading (and @write)? Mode bits only. */
static bool may_access(const struct stat *st, uid_t uid, gid_t gid, bool write)
{
	mode_t want = write ? 06 : 04;
	mode_t bits;

	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		bits = (st->st_mode >> 6) & 07;
	else if (st->st_gid == gid)
		bits = (st->st_mode >> 3) & 07;
	else
		bits = st->st_mode & 07;
	return (bits & want) == want;
}

static bool name_taken(const struct jail *j, const char *name)
{
	if (!strcmp(name, "dev"))
		return true;
	for (unsigned int i = 0; i < j->nr_files; i++)
		if (!strcmp(j->files[i].name, name))
			return true;
	return false;
}

int jail_add_file(struct jail *j, const char *what, const char *host, bool writable,
		  const char **jail_path, char *why, size_t whylen)
{
	struct jail_file *f;
	struct stat st;
	char canon[PATH_MAX], tmp[PATH_MAX];
	const char *base;
	int fd;

	if (!realpath(host, canon) || stat(canon, &st) < 0)
		return errf(why, whylen, -errno, "%s %s: %s", what, host, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return errf(why, whylen, -ENOTSUP, "%s %s: not a regular file or block device", what, host);
	for (unsigned int i = 0; i < j->nr_files; i++) {
		if (strcmp(j->files[i].host, canon))
			continue;
		if (writable != j->files[i].writable)
			return errf(why, whylen, -EINVAL, "%s %s: given twice, once read-only and once "
				    "writable", what, host);
		*jail_path = j->files[i].path;
		return 0;
	}
	if (j->nr_files == JAIL_MAX_FILES)
		return errf(why, whylen, -ENOSPC, "%s %s: more than %d files for one jail", what, host,
			    JAIL_MAX_FILES);
	if (writable) {
		/* Firecracker's docs leave this to the user: the VM's uid must own its disks. */
		if (!(st.st_mode & S_IWUSR) || !(st.st_mode & S_IRUSR))
			return errf(why, whylen, -EACCES, "%s %s: not writable by its owner (chmod u+rw "
				    "it, or attach it read-only with ,ro)", what, host);
		if (chown(canon, j->uid, j->gid) < 0)
			return errf(why, whylen, -errno, "%s %s: cannot give it to %u:%u: %s", what, host,
				    (unsigned int)j->uid, (unsigned int)j->gid, strerror(errno));
	} else if (!may_access(&st, j->uid, j->gid, false)) {
		return errf(why, whylen, -EACCES, "%s %s: not readable by uid %u gid %u (chmod o+r "
			    "it or chown it)", what, host, (unsigned int)j->uid, (unsigned int)j->gid);
	}
	f = &j->files[j->nr_files];
	memset(f, 0, sizeof(*f));
	snprintf(f->host, sizeof(f->host), "%s", canon);
	snprintf(tmp, sizeof(tmp), "%s", canon);
	base = basename(tmp);
	snprintf(f->name, sizeof(f->name), "%s", base);
	for (unsigned int n = 1; name_taken(j, f->name) || !strcmp(f->name, ".."); n++)
		snprintf(f->name, sizeof(f->name), "%u-%.200s", n, base);
	f->writable = writable;
	/* A hard link: no copy; across file systems (or for a device) a bind mount. */
	if (!S_ISREG(st.st_mode) || linkat(AT_FDCWD, canon, j->root_fd, f->name, 0) < 0) {
		if (S_ISREG(st.st_mode) && errno != EXDEV && errno != EPERM)
			return errf(why, whylen, -errno, "%s %s: cannot link it into %s: %s", what, host,
				    j->root, strerror(errno));
		fd = openat(j->root_fd, f->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return errf(why, whylen, -errno, "%s/%s: %s", j->root, f->name, strerror(errno));
		close(fd);
		f->bind = true;
	}
	f->path[0] = '/';
	memcpy(f->path + 1, f->name, sizeof(f->name));
	*jail_path = f->path;
	j->nr_files++;
	return 0;
}

int jail_write_pid(struct jail *j, const char *name, pid_t pid)
{
	char buf[24];
	int fd = openat(j->root_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	int r;

	if (fd < 0)
		return -errno;
	snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	r = util_write_full(fd, buf, strlen(buf));
	close(fd);
	return r;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int jail_remove(struct jail *j)
{
	int r = 0;

	close_fd(&j->root_fd);
	if (j->dir[0] && nftw(j->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0 &&
	    errno != ENOENT)
		r = -errno;
	/* Shared by every VM of this exec file: goes when the last one does. */
	if (j->exec_dir[0])
		rmdir(j->exec_dir);
	close_fd(&j->dir_fd);
	return r;
}

int jail_open_existing(struct jail *j, const char *base, const char *exec_name, const char *id)
{
	struct stat st;
	int r;

	jail_init(j, 0, 0);
	r = jail_paths(j, base, exec_name, id);
	if (r < 0)
		return r;
	if (lstat(j->dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	j->dir_fd = open(j->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (j->dir_fd < 0)
		return -errno;
	if (flock(j->dir_fd, LOCK_EX | LOCK_NB) < 0) {
		close_fd(&j->dir_fd);
		return -EBUSY;
	}
	return 0;
}
