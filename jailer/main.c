/*
 * main.c — `brisk-jailer`: Firecracker's jailer flags, brisk in a jail of
 * its own, and everything removed again when it ends (floor 4).
 *
 * The jailer stays brisk's parent: it builds the jail and the cgroup,
 * forks, adds the child to the cgroup, lets it enter the jail and exec
 * brisk, forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT, and when brisk is gone
 * kills what is left in the cgroup and removes the cgroup and the jail.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jailer/args.h"
#include "jailer/cgroup.h"
#include "jailer/jail.h"
#include "vmm/cli.h"
#include "vmm/util.h"

#define WHY_MAX 512
#define MOUNTINFO "/proc/self/mountinfo"
#define STOP_GRACE_S 10 /* after a forwarded signal, brisk gets this long before SIGKILL */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[WHY_MAX + 64];
	va_list ap;
	int n = snprintf(line, sizeof(line), "brisk-jailer: ");

	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	util_write_full(STDERR_FILENO, line, (size_t)n);
}

/* The run being set up, for rollback on any failure. */
struct run {
	const struct jailer_args *a;
	char exec_name[NAME_MAX + 1];
	struct jail jail;
	bool have_jail;
	struct cgroup_jail cg;
	char **argv;                 /* brisk's argv inside the jail */
	char *owned[CLI_MAX_FILES + 8];
	unsigned int nr_owned;
};

static void run_undo(struct run *r)
{
	cgroup_kill_all(&r->cg);
	cgroup_remove(&r->cg, !r->a->parent_cgroup);
	if (r->have_jail)
		jail_remove(&r->jail);
	r->have_jail = false;
	for (unsigned int i = 0; i < r->nr_owned; i++)
		free(r->owned[i]);
	r->nr_owned = 0;
	free(r->argv);
	r->argv = NULL;
}

static char *run_strdup(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *run_strdup(struct run *r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (r->nr_owned < ARRAY_SIZE(r->owned) && vasprintf(&s, fmt, ap) >= 0)
		r->owned[r->nr_owned++] = s;
	else
		s = NULL;
	va_end(ap);
	return s;
}

/* "<dir of the exec file>/<name>" when that exists, into @out. */
static bool exec_sibling(const char *exec_real, const char *name, char *out, size_t outlen)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", exec_real);
	snprintf(out, outlen, "%s/%s", dirname(dir), name);
	return access(out, F_OK) == 0;
}

/* run_strdup() returns NULL on ENOMEM: check the @n entries built. 0 or JAILER_EXIT_SETUP. */
static int argv_check(struct run *r, int n, char *why, size_t whylen)
{
	for (int i = 0; i < n; i++)
		if (!r->argv[i])
			return errf(why, whylen, JAILER_EXIT_SETUP, "out of memory");
	return 0;
}

/*
 * brisk's argv inside the jail. For `run`: the jailer's --id and start
 * time first, then the default artifacts brisk would take from next to its
 * binary (made explicit), then the user's arguments with every host file
 * replaced by its name in the jail. Firecracker-style flags (`--api-sock
 * S --config-file F`) get the id and start time too; their paths are the
 * jail's, as with Firecracker's jailer. Other commands pass through untouched.
 * Returns 0 or a JAILER_EXIT_* code with @why set.
 */
static int build_argv(struct run *r, const char *exec_real, uint64_t start_us, char *why, size_t whylen)
{
	const struct jailer_args *a = r->a;
	char **in = a->exec_argv;
	int n = 0, e;
	struct cli_run run;
	char path[PATH_MAX];
	const char *jp;
	bool is_run = a->exec_argc > 0 && !strcmp(in[0], "run");
	/* Firecracker-style flags (or none) get them too, first, as Firecracker's
	 * jailer passes them; file paths in those flags are the jail's. */
	bool pass_id = is_run || a->exec_argc == 0 || in[0][0] == '-';

	r->argv = calloc((size_t)a->exec_argc + 8, sizeof(char *));
	if (!r->argv)
		return errf(why, whylen, JAILER_EXIT_SETUP, "out of memory");
	if (is_run && cli_parse_run(a->exec_argc, in, &run, why, whylen) < 0) {
		cli_run_free(&run);
		return JAILER_EXIT_USAGE;
	}
	r->argv[n++] = run_strdup(r, "/%s", r->exec_name);
	if (is_run)
		r->argv[n++] = in[0];
	if (pass_id) {
		r->argv[n++] = run_strdup(r, "--id=%s", a->id);
		r->argv[n++] = run_strdup(r, "--start-time-us=%llu", (unsigned long long)start_us);
	}
	if (!is_run) {
		for (int i = 0; i < a->exec_argc; i++)
			r->argv[n++] = in[i];
		return argv_check(r, n, why, whylen);
	}
	e = 0;
	if (cli_run_defaults(&run) & CLI_USES_DEFAULT_KERNEL) {
		if (!exec_sibling(exec_real, "vmlinux", path, sizeof(path)))
			e = errf(why, whylen, JAILER_EXIT_NO_FILE, "kernel %s: No such file or directory "
				 "(build it, or pass --kernel after --)", path);
		else if (jail_add_file(&r->jail, "kernel", path, false, &jp, why, whylen) < 0)
			e = JAILER_EXIT_NO_FILE;
		else
			r->argv[n++] = run_strdup(r, "--kernel=%s", jp);
	}
	if (!e && (cli_run_defaults(&run) & CLI_USES_DEFAULT_ROOT)) {
		bool ext4 = exec_sibling(exec_real, "rootfs.ext4", path, sizeof(path));

		if (!ext4 && !exec_sibling(exec_real, "initramfs.cpio.gz", path, sizeof(path)))
			e = errf(why, whylen, JAILER_EXIT_NO_FILE, "no rootfs.ext4 or initramfs.cpio.gz "
				 "next to %s: pass --rootfs or --initrd after --", exec_real);
		else if (jail_add_file(&r->jail, ext4 ? "rootfs" : "initrd", path, false, &jp, why,
				       whylen) < 0)
			e = JAILER_EXIT_NO_FILE;
		else
			r->argv[n++] = run_strdup(r, ext4 ? "--rootfs=%s,ro" : "--initrd=%s", jp);
	}
	for (int i = 1; !e && i < a->exec_argc; i++) {
		const struct cli_file_arg *f = NULL;

		for (unsigned int k = 0; k < run.nr_files; k++)
			if (run.files[k].argi == i)
				f = &run.files[k];
		if (!f) {
			r->argv[n++] = in[i];
			continue;
		}
		snprintf(path, sizeof(path), "%.*s", (int)f->len, in[i] + f->off);
		if (jail_add_file(&r->jail, f->kind == CLI_FILE_KERNEL ? "kernel" :
				  f->kind == CLI_FILE_INITRD ? "initrd" : "drive", path, f->writable,
				  &jp, why, whylen) < 0) {
			e = JAILER_EXIT_NO_FILE;
			break;
		}
		r->argv[n++] = run_strdup(r, "%.*s%s%s", (int)f->off, in[i], jp, in[i] + f->off + f->len);
	}
	cli_run_free(&run);
	return e ? e : argv_check(r, n, why, whylen);
}

/*
 * The system call that killed @pid, from the kernel's audit record of the
 * seccomp kill (type=1326 ... pid=N ... syscall=NR) on /dev/kmsg @kmsg_fd.
 * The record is written asynchronously: wait up to @wait_ms.
 */
static int seccomp_victim_syscall(int kmsg_fd, pid_t pid, int wait_ms)
{
	char rec[8192], want[32];
	uint64_t end = util_now_us() + (uint64_t)wait_ms * 1000;

	if (kmsg_fd < 0)
		return -1;
	snprintf(want, sizeof(want), " pid=%d ", (int)pid);
	while (util_now_us() < end) {
		ssize_t n = read(kmsg_fd, rec, sizeof(rec) - 1);
		const char *sc;

		if (n < 0 && errno == EAGAIN) {
			poll(&(struct pollfd){ .fd = kmsg_fd, .events = POLLIN }, 1, 20);
			continue;
		}
		if (n < 0 && errno == EPIPE) /* records overwritten: go on from the next */
			continue;
		if (n <= 0)
			return -1;
		rec[n] = '\0';
		if (strstr(rec, "type=1326") && strstr(rec, want) && (sc = strstr(rec, " syscall=")))
			return atoi(sc + 9);
	}
	return -1;
}

/* How brisk ended, as an exit status (128+N for signal N), said on stderr when unusual. */
static int report_status(int status, const char *name_of, pid_t pid, int kmsg_fd)
{
	int sig, nr;
	char *name;

	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	sig = WTERMSIG(status);
	if (sig == SIGSYS) {
		nr = seccomp_victim_syscall(kmsg_fd, pid, 1000);
		name = nr >= 0 ? seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr) : NULL;
		if (nr >= 0)
			say("%s (pid %d) killed by seccomp: syscall %s (%d)", name_of, (int)pid,
			    name ? name : "unknown", nr);
		else
			say("%s (pid %d) killed by seccomp (SIGSYS); the system call is in the kernel "
			    "log: dmesg | grep type=1326", name_of, (int)pid);
		free(name);
	} else if (sig != SIGTERM && sig != SIGINT && sig != SIGHUP) {
		say("%s (pid %d) killed by signal %d (%s)", name_of, (int)pid, sig, strsignal(sig));
	}
	return 128 + sig;
}

/* Wait for brisk, forwarding stop signals; SIGKILL after STOP_GRACE_S. Its wait status. */
static int supervise(pid_t child, const sigset_t *set)
{
	uint64_t kill_at = 0;
	int status;

	for (;;) {
		struct timespec tick = { .tv_sec = 1 };
		int sig = sigtimedwait(set, NULL, &tick);

		if (sig == SIGCHLD || sig < 0) {
			pid_t w = waitpid(child, &status, WNOHANG);

			if (w == child)
				return status;
			if (w < 0 && errno == ECHILD)
				return 0;
		} else {
			kill(child, sig);
			if (!kill_at)
				kill_at = util_now_us() + STOP_GRACE_S * 1000000ULL;
		}
		if (kill_at && util_now_us() > kill_at) {
			kill(child, SIGKILL);
			kill_at = UINT64_MAX;
		}
	}
}

/* Firecracker's <root>/<exec name>.pid, for --new-pid-ns and --daemonize. 0 or -errno. */
static int write_pid_file(struct run *r, pid_t pid, char *why, size_t whylen)
{
	char name[NAME_MAX + 1];
	int e;

	snprintf(name, sizeof(name), "%.250s.pid", r->exec_name);
	e = jail_write_pid(&r->jail, name, pid);
	return e < 0 ? errf(why, whylen, e, "%s/%s: %s", r->jail.root, name, strerror(-e)) : 0;
}

/* Fork the daemon: the caller waits for its one status byte and exits with it. */
static int daemonize(int *notify_fd)
{
	int p[2];
	pid_t pid;
	unsigned char code = JAILER_EXIT_SETUP;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &code, 1) != 1)
			code = JAILER_EXIT_SETUP;
		_exit(code);
	}
	close(p[0]);
	*notify_fd = p[1];
	return setsid() < 0 ? -errno : 0;
}

static void notify(int *fd, unsigned char code)
{
	if (*fd >= 0 && write(*fd, &code, 1) != 1)
		return;
	close_fd(fd);
}

/* Everything from the checked arguments to brisk's end. Returns the exit status. */
static int run_jailed(const struct jailer_args *a, uint64_t start_us)
{
	static struct run r;
	char why[WHY_MAX], exec_real[PATH_MAX], tmp[PATH_MAX], jexec[NAME_MAX + 2];
	struct stat st;
	int netns_fd = -1, kmsg_fd = -1, devnull = -1, notify_fd = -1, errp[2] = { -1, -1 };
	int gop[2] = { -1, -1 }, code, status;
	const char *jp;
	sigset_t set, old;
	pid_t child;
	ssize_t n;

	memset(&r, 0, sizeof(r));
	r.a = a;
	if (!realpath(a->exec_file, exec_real) || stat(exec_real, &st) < 0) {
		say("--exec-file %s: %s", a->exec_file, strerror(errno));
		return JAILER_EXIT_NO_FILE;
	}
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
		say("--exec-file %s: not an executable file", a->exec_file);
		return JAILER_EXIT_NO_FILE;
	}
	snprintf(tmp, sizeof(tmp), "%s", exec_real);
	snprintf(r.exec_name, sizeof(r.exec_name), "%s", basename(tmp));
	if (a->netns && (netns_fd = open(a->netns, O_RDONLY | O_CLOEXEC)) < 0) {
		say("--netns %s: %s", a->netns, strerror(errno));
		return JAILER_EXIT_NO_FILE;
	}
	if (a->daemonize && daemonize(&notify_fd) < 0) {
		say("--daemonize: %s", strerror(errno));
		return JAILER_EXIT_SETUP;
	}
	code = jail_create(&r.jail, a->base, r.exec_name, a->id, a->uid, a->gid, why, sizeof(why));
	if (code < 0) {
		say("%s", why);
		code = code == -EEXIST ? JAILER_EXIT_JAIL_EXISTS
		       : code == -ELOOP ? JAILER_EXIT_BAD_PATH : JAILER_EXIT_SETUP;
		goto fail;
	}
	r.have_jail = true;
	if (jail_add_file(&r.jail, "--exec-file", exec_real, false, &jp, why, sizeof(why)) < 0) {
		code = JAILER_EXIT_NO_FILE;
		say("%s", why);
		goto fail;
	}
	snprintf(jexec, sizeof(jexec), "%s", jp);
	code = build_argv(&r, exec_real, start_us, why, sizeof(why));
	if (code) {
		say("%s", why);
		goto fail;
	}
	if (cgroup_create(&r.cg, a->cgroup_version, a->parent_cgroup ? a->parent_cgroup : r.exec_name,
			  a->id, a->cgroups, a->nr_cgroups, MOUNTINFO, why, sizeof(why)) < 0) {
		say("%s", why);
		code = JAILER_EXIT_CGROUP;
		goto fail;
	}
	/* Only records from now on: the seccomp kill we may have to name. */
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
	if (a->daemonize && (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		say("/dev/null: %s", strerror(errno));
		code = JAILER_EXIT_SETUP;
		goto fail;
	}

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, &old);
	if (pipe2(errp, O_CLOEXEC) < 0 || pipe2(gop, O_CLOEXEC) < 0 ||
	    (a->new_pid_ns && unshare(CLONE_NEWPID) < 0)) {
		say("%s: %s", a->new_pid_ns ? "--new-pid-ns" : "pipe", strerror(errno));
		code = JAILER_EXIT_SETUP;
		goto fail;
	}
	child = fork();
	if (child < 0) {
		say("fork: %s", strerror(errno));
		code = JAILER_EXIT_SETUP;
		goto fail;
	}
	if (child == 0) {
		struct jail_exec x = {
			.jail = &r.jail, .netns_fd = netns_fd, .rlimits = a->rlimits,
			.nr_rlimits = a->nr_rlimits, .stdio_fd = devnull, .check_parent = !a->new_pid_ns,
			.parent = getppid(), .path = jexec, .argv = r.argv,
		};
		char go;

		close(errp[0]);
		close(gop[1]);
		/* In the cgroup before anything of brisk runs. */
		if (read(gop[0], &go, 1) != 1)
			_exit(JAILER_EXIT_SETUP);
		jail_enter_exec(&x, why, sizeof(why));
		util_write_full(errp[1], why, strlen(why));
		_exit(JAILER_EXIT_SETUP);
	}
	close_fd(&errp[1]);
	close_fd(&gop[0]);
	code = cgroup_join(&r.cg, child, why, sizeof(why));
	if (code == 0 && (a->new_pid_ns || a->daemonize))
		code = write_pid_file(&r, child, why, sizeof(why));
	if (code == 0 && write(gop[1], "g", 1) != 1)
		code = errf(why, sizeof(why), -EIO, "the child went away");
	close_fd(&gop[1]);
	if (code < 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		say("%s", why);
		code = JAILER_EXIT_CGROUP;
		goto fail;
	}
	/* EOF: brisk was exec'd (the pipe is close-on-exec); a message: setup failed. */
	n = read(errp[0], why, sizeof(why) - 1);
	close_fd(&errp[0]);
	if (n > 0) {
		why[n] = '\0';
		waitpid(child, NULL, 0);
		say("%s", why);
		code = JAILER_EXIT_SETUP;
		goto fail;
	}
	close_fd(&netns_fd);
	if (a->daemonize) {
		notify(&notify_fd, 0);
		for (int fd = 0; fd <= 2; fd++)
			dup2(devnull, fd);
	}
	close_fd(&devnull);

	status = supervise(child, &set);
	code = report_status(status, r.exec_name, child, kmsg_fd);
	close_fd(&kmsg_fd);
	run_undo(&r);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return code;

fail:
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	close_fd(&gop[0]);
	close_fd(&gop[1]);
	close_fd(&netns_fd);
	close_fd(&kmsg_fd);
	close_fd(&devnull);
	run_undo(&r);
	notify(&notify_fd, (unsigned char)code);
	return code;
}

/* --cleanup: what a run with this id left behind (a jailer killed with SIGKILL, a host crash). */
static int cleanup(const struct jailer_args *a)
{
	char tmp[PATH_MAX], name[NAME_MAX + 1];
	struct jail j;
	struct cgroup_jail cg;
	unsigned int ncg;
	int r;

	snprintf(tmp, sizeof(tmp), "%s", a->exec_file ? a->exec_file : "brisk");
	snprintf(name, sizeof(name), "%s", basename(tmp));
	r = jail_open_existing(&j, a->base, name, a->id);
	if (r == -EBUSY) {
		say("jail %s/%s/%s is in use by a running brisk-jailer; stop that one instead",
		    a->base, name, a->id);
		return JAILER_EXIT_JAIL_EXISTS;
	}
	ncg = cgroup_find(&cg, a->parent_cgroup ? a->parent_cgroup : name, a->id, MOUNTINFO);
	if (ncg) {
		cgroup_kill_all(&cg);
		if (cgroup_remove(&cg, !a->parent_cgroup) < 0)
			say("some cgroups of %s could not be removed", a->id);
	}
	if (r == 0)
		jail_remove(&j);
	if (r < 0 && r != -ENOENT)
		say("jail %s/%s/%s: %s", a->base, name, a->id, strerror(-r));
	if (r == 0)
		say("removed %s and %u cgroup(s)", j.dir, ncg);
	else if (ncg)
		say("removed %u cgroup(s) of %s", ncg, a->id);
	else
		say("nothing to clean up for %s", a->id);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t start_us = util_now_us();
	struct jailer_args a;
	char why[WHY_MAX];
	int r;

	r = jailer_parse_args(argc, argv, &a, why, sizeof(why));
	if (r) {
		say("%s", why);
		return r;
	}
	if (a.help) {
		jailer_usage(STDOUT_FILENO);
		return 0;
	}
	if (a.version) {
		printf("brisk-jailer 0.1.0\n");
		return 0;
	}
	if (geteuid() != 0) {
		say("must run as root (it creates namespaces, cgroups and device nodes, then drops "
		    "to --uid/--gid); try sudo");
		return JAILER_EXIT_NOT_ROOT;
	}
	/* Nothing inherited reaches the jail: no fds beyond stdio, no environment. */
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	clearenv();
	if (a.cleanup)
		return cleanup(&a);
	return run_jailed(&a, start_us);
}
