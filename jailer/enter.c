/* enter.c — the child's side of the jail: namespaces, pivot_root, devices, privilege drop, exec. */
#include "jailer/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vmm/util.h"

/* The device nodes brisk opens, made in the jail's own /dev (a tmpfs). */
static const struct {
	const char *host, *name;
	unsigned int major, minor;  /* used when the host has no such node */
	mode_t mode;
	bool give;                  /* owned by uid:gid */
} jail_devices[] = {
	{ "/dev/kvm", "kvm", 10, 232, 0660, true },
	{ "/dev/net/tun", "net/tun", 10, 200, 0660, true },
	{ "/dev/urandom", "urandom", 1, 9, 0666, true },
};

/* Bind @j's files that could not be hard-linked onto their placeholders. */
static int bind_files(const struct jail *j, char *why, size_t whylen)
{
	for (unsigned int i = 0; i < j->nr_files; i++) {
		const struct jail_file *f = &j->files[i];
		char dst[PATH_MAX + NAME_MAX + 2]; /* root + '/' + name: no truncation */

		if (!f->bind)
			continue;
		snprintf(dst, sizeof(dst), "%s/%s", j->root, f->name);
		if (mount(f->host, dst, NULL, MS_BIND, NULL) < 0)
			return errf(why, whylen, -errno, "bind-mount %s on %s: %s", f->host, dst,
				    strerror(errno));
		if (!f->writable &&
		    mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL) < 0)
			return errf(why, whylen, -errno, "make %s read-only: %s", dst, strerror(errno));
	}
	return 0;
}

/* The jail's /dev: a small tmpfs (the base dir may be nodev) holding only jail_devices. */
static int make_devices(const struct jail *j, char *why, size_t whylen)
{
	char dev[PATH_MAX + 8], path[PATH_MAX + 32];

	snprintf(dev, sizeof(dev), "%s/dev", j->root);
	if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k,nr_inodes=16") < 0)
		return errf(why, whylen, -errno, "mount a tmpfs on %s: %s", dev, strerror(errno));
	snprintf(path, sizeof(path), "%s/net", dev);
	if (mkdir(path, 0755) < 0)
		return errf(why, whylen, -errno, "mkdir %s: %s", path, strerror(errno));
	for (unsigned int i = 0; i < ARRAY_SIZE(jail_devices); i++) {
		struct stat st;
		dev_t rdev = makedev(jail_devices[i].major, jail_devices[i].minor);

		if (stat(jail_devices[i].host, &st) == 0 && S_ISCHR(st.st_mode))
			rdev = st.st_rdev;
		else if (strcmp(jail_devices[i].name, "urandom"))
			continue; /* no KVM or tun on this host: brisk says so when it needs it */
		snprintf(path, sizeof(path), "%s/%s", dev, jail_devices[i].name);
		if (mknod(path, S_IFCHR | jail_devices[i].mode, rdev) < 0 ||
		    chmod(path, jail_devices[i].mode) < 0 ||
		    (jail_devices[i].give && chown(path, j->uid, j->gid) < 0))
			return errf(why, whylen, -errno, "mknod %s: %s", path, strerror(errno));
	}
	/* Read-only from here: the jailed brisk cannot add nodes or fill it. */
	if (mount(NULL, dev, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
		  "mode=755,size=64k,nr_inodes=16") < 0)
		return errf(why, whylen, -errno, "remount %s read-only: %s", dev, strerror(errno));
	return 0;
}

/*
 * Make @root the root: pivot_root(".", ".") and detach the old root
 * (pivot_root(2), "NOTES"). The root of an initramfs cannot be pivoted
 * away (EINVAL): there, move the jail's mount onto "/" and chroot into it,
 * as switch_root does; with every capability dropped below, the process
 * cannot climb out of a chroot.
 */
static int switch_root(const char *root, char *why, size_t whylen)
{
	if (chdir(root) < 0)
		return errf(why, whylen, -errno, "chdir %s: %s", root, strerror(errno));
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			return errf(why, whylen, -errno, "detach the old root: %s", strerror(errno));
	} else if (errno == EINVAL) {
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
			return errf(why, whylen, -errno, "move the jail onto / (initramfs root): %s",
				    strerror(errno));
	} else {
		return errf(why, whylen, -errno, "pivot_root %s: %s", root, strerror(errno));
	}
	if (chdir("/") < 0)
		return errf(why, whylen, -errno, "chdir /: %s", strerror(errno));
	return 0;
}

static int set_rlimits(const struct jail_exec *x, char *why, size_t whylen)
{
	bool have_nofile = false;

	for (unsigned int i = 0; i < x->nr_rlimits; i++) {
		struct rlimit rl = { x->rlimits[i].value, x->rlimits[i].value };

		have_nofile |= x->rlimits[i].resource == RLIMIT_NOFILE;
		if (setrlimit(x->rlimits[i].resource, &rl) < 0)
			return errf(why, whylen, -errno, "--resource-limit %s=%llu: %s",
				    x->rlimits[i].resource == RLIMIT_NOFILE ? "no-file" : "fsize",
				    (unsigned long long)x->rlimits[i].value, strerror(errno));
	}
	if (!have_nofile) {
		struct rlimit rl = { JAILER_DEFAULT_NOFILE, JAILER_DEFAULT_NOFILE };

		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return errf(why, whylen, -errno, "RLIMIT_NOFILE: %s", strerror(errno));
	}
	return 0;
}

/*
 * Become uid:gid with no capabilities that could come back: empty
 * bounding and ambient sets, securebits that stop uid 0 from regaining
 * them at exec (for --allow-root), supplementary groups = gid only, and
 * no_new_privs. capabilities(7).
 */
static int drop_privileges(uid_t uid, gid_t gid, char *why, size_t whylen)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return errf(why, whylen, -errno, "drop capability %d: %s", cap, strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return errf(why, whylen, -errno, "clear ambient capabilities: %s", strerror(errno));
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		  SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0) < 0)
		return errf(why, whylen, -errno, "securebits: %s", strerror(errno));
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return errf(why, whylen, -errno, "switch to uid %u gid %u: %s", (unsigned int)uid,
			    (unsigned int)gid, strerror(errno));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return errf(why, whylen, -errno, "clear capabilities: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errf(why, whylen, -errno, "no_new_privs: %s", strerror(errno));
	return 0;
}

int jail_enter_exec(const struct jail_exec *x, char *why, size_t whylen)
{
	const struct jail *j = x->jail;
	static char *const empty_env[] = { NULL };
	sigset_t none;
	int r;

	if (x->netns_fd >= 0 && setns(x->netns_fd, CLONE_NEWNET) < 0)
		return errf(why, whylen, -errno, "--netns: join the network namespace: %s", strerror(errno));
	if (unshare(CLONE_NEWNS) < 0)
		return errf(why, whylen, -errno, "unshare the mount namespace: %s", strerror(errno));
	/* Nothing done here may reach the host's mounts. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return errf(why, whylen, -errno, "make mounts private: %s", strerror(errno));
	/* pivot_root needs the new root to be a mount point. */
	if (mount(j->root, j->root, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, j->root, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID, NULL) < 0)
		return errf(why, whylen, -errno, "bind-mount %s: %s", j->root, strerror(errno));
	r = bind_files(j, why, whylen);
	if (r == 0)
		r = make_devices(j, why, whylen);
	if (r == 0)
		r = switch_root(j->root, why, whylen);
	if (r == 0)
		r = set_rlimits(x, why, whylen);
	if (r == 0 && x->stdio_fd >= 0) {
		for (int fd = 0; fd <= 2; fd++)
			if (dup2(x->stdio_fd, fd) < 0)
				r = errf(why, whylen, -errno, "--daemonize: stdio: %s", strerror(errno));
		if (x->stdio_fd > 2)
			close(x->stdio_fd);
	}
	if (r == 0)
		r = drop_privileges(j->uid, j->gid, why, whylen);
	if (r < 0)
		return r;
	/* brisk dies with its jailer, which then cannot clean up: --cleanup can. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return errf(why, whylen, -errno, "PR_SET_PDEATHSIG: %s", strerror(errno));
	if (x->check_parent && getppid() != x->parent)
		return errf(why, whylen, -ESRCH, "brisk-jailer went away");
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(x->path, x->argv, empty_env);
	return errf(why, whylen, -errno, "exec %s in the jail: %s", x->path, strerror(errno));
}
