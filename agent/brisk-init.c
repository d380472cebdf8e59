// SPDX-License-Identifier: MIT
/*
 * brisk-init — the guest agent of `brisk run`, running as /init (PID 1).
 *
 * It implements docs/guest-interface.md: it mounts the pseudo file systems,
 * reads its options and the command from its argv (percent-encoded, after
 * the kernel's "--"), runs the command as PID 2 of a fresh PID namespace
 * under a small reaper, feeds the framed host stdin from ttyS0 into the
 * command's stdin pipe, and reports the exit status through the exit
 * device at I/O port 0x501.
 *
 * PID 1 must never exit (the kernel would panic), so every error path ends
 * in report(), which ends the VM.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* unshare, pipe2, asprintf, execvp's PATH search */
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define EXIT_PORT		0x501	/* exit device; QEMU's isa-debug-exit */
#define READY_PORT		0x502	/* exit device: "ttys set up, send stdin" */
#define BOOT_TIMER_PORT		0x3f0	/* Firecracker-compatible boot timer */
#define BOOT_TIMER_MAGIC	123
#define STATUS_INTERNAL		125	/* the agent itself failed */
#define STATUS_NOT_EXEC		126
#define STATUS_NOT_FOUND	127
#define PUMP_BUF		(256 * 1024)

#define CMD_TTY		"/dev/ttyS0"	/* command stdin/stdout */
#define ERR_TTY		"/dev/ttyS1"	/* command stderr, kernel console */
#define DEFAULT_PATH	"/usr/local/sbin:/usr/local/bin:" \
			"/usr/sbin:/usr/bin:/sbin:/bin"

enum stdin_mode { STDIN_NULL, STDIN_PIPE, STDIN_TTY };

struct opts {
	enum stdin_mode stdin_mode;
	const char *cwd;
	char **env;		/* NULL-terminated, defaults first */
	size_t nenv;
	char **argv;		/* the command, NULL-terminated */
};

static bool verbose;
static int log_fd = STDERR_FILENO;	/* /dev/console, later ttyS1 */
static int tty0 = -1, tty1 = -1;	/* kept open for tcdrain */

/* Messages are built in one buffer so a line is one write(). */
static void vmsg(const char *fmt, va_list ap)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "brisk-init: ");

	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(log_fd, line, n) < 0) {
		/* nowhere left to complain */
	}
}

static void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

/* Verbose steps carry a timestamp so boot time can be read off the log. */
static void logv(const char *fmt, ...)
{
	struct timespec ts;
	char buf[400];
	va_list ap;

	if (!verbose)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	msg("[%5ld.%06ld] %s", (long)ts.tv_sec, ts.tv_nsec / 1000, buf);
}

/*
 * End the VM with @status.  Output still queued in the UARTs would be lost
 * when the VM stops, so drain them first; sync() for disks the command
 * wrote.  Never returns.
 */
static void __attribute__((noreturn)) report(int status)
{
	logv("exit status %d", status);
	if (tty0 >= 0)
		tcdrain(tty0);
	if (tty1 >= 0)
		tcdrain(tty1);
	sync();
	if (ioperm(EXIT_PORT, 4, 1) == 0)
		outb(status & 0xff, EXIT_PORT);
	/* Still running: there is no exit device (or no port access). */
	msg("exit device at port 0x%x did not end the VM; rebooting",
	    EXIT_PORT);
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	report(STATUS_INTERNAL);
}

/* Tell brisk (--boot-timer) that the kernel reached user space. */
static void boot_timer(void)
{
	if (ioperm(BOOT_TIMER_PORT, 1, 1) < 0)
		return;
	outb(BOOT_TIMER_MAGIC, BOOT_TIMER_PORT);
	/* The command must not inherit port access. */
	ioperm(BOOT_TIMER_PORT, 1, 0);
}

/*
 * Tell brisk that ttyS0 is open and configured, so host stdin may flow:
 * bytes sent earlier would be eaten by the 8250 driver's start-up (FIFO
 * clear, dummy reads) or echoed by a tty still in cooked mode.
 */
static void stdin_ready(void)
{
	if (ioperm(READY_PORT, 1, 1) < 0)
		return;
	outb(1, READY_PORT);
	ioperm(READY_PORT, 1, 0);
}

/* ---- arguments ----------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Decode a percent-encoded string in place (the result is never longer).
 * A lone "%" is the empty string.  Returns -1 on a malformed escape.
 */
static int percent_decode(char *s)
{
	char *out = s;
	int hi, lo;

	if (strcmp(s, "%") == 0) {
		*s = '\0';
		return 0;
	}
	for (; *s; s++) {
		if (*s != '%') {
			*out++ = *s;
			continue;
		}
		hi = hexval(s[1]);
		lo = hi < 0 ? -1 : hexval(s[2]);
		if (lo < 0)
			return -1;
		*out++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*out = '\0';
	return 0;
}

/*
 * Split a comma-separated list of percent-encoded elements into a new
 * NULL-terminated vector of decoded strings (the input is modified).
 * "" is an empty list; a lone "%" element is the empty string.
 */
static char **split_list(char *list, const char *what, size_t *count)
{
	size_t n = 1, i = 0;
	char **v, *p;

	for (p = list; *p; p++)
		n += *p == ',';
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		die("out of memory");
	if (*list == '\0') {
		*count = 0;
		return v;
	}
	for (p = list;; i++) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		if (percent_decode(p) < 0)
			die("%s element %zu: bad percent-encoding", what, i);
		v[i] = p;
		if (!comma)
			break;
		p = comma + 1;
	}
	*count = i + 1;
	return v;
}

/* Index of the entry with the key of "KEY=VALUE" @kv, or nenv. */
static size_t env_find(const struct opts *o, const char *kv)
{
	size_t klen = strcspn(kv, "=") + 1;
	size_t i;

	for (i = 0; i < o->nenv; i++)
		if (strncmp(o->env[i], kv, klen) == 0)
			break;
	return i;
}

/* Replace or append "KEY=VALUE" in the command's environment. */
static void env_set(struct opts *o, char *kv)
{
	size_t i = env_find(o, kv);

	if (i == o->nenv) {
		char **env = realloc(o->env, (o->nenv + 2) * sizeof(*env));

		if (!env)
			die("out of memory");
		o->env = env;
		o->env[++o->nenv] = NULL;
	}
	o->env[i] = kv;
}

static void set_option(struct opts *o, const char *key, char *val)
{
	if (strcmp(key, "stdin") == 0) {
		if (strcmp(val, "pipe") == 0)
			o->stdin_mode = STDIN_PIPE;
		else if (strcmp(val, "tty") == 0)
			o->stdin_mode = STDIN_TTY;
		else if (strcmp(val, "null") == 0)
			o->stdin_mode = STDIN_NULL;
		else
			die("option stdin=%s: expected pipe, tty or null", val);
	} else if (strcmp(key, "v") == 0) {
		verbose = strcmp(val, "0") != 0;
	} else if (strcmp(key, "env") == 0) {
		size_t n;
		char **kv = split_list(val, "env", &n);

		for (size_t i = 0; i < n; i++) {
			if (kv[i][0] == '=' || !strchr(kv[i], '='))
				die("option env: '%s': expected KEY=VALUE", kv[i]);
			env_set(o, kv[i]);
		}
		free(kv);
	} else if (strcmp(key, "cmd") == 0) {
		size_t n;

		free(o->argv);
		o->argv = split_list(val, "cmd", &n);
	} else if (strcmp(key, "cwd") == 0) {
		o->cwd = val;
	} else {
		/* Newer brisk, older agent: not fatal. */
		logv("ignoring unknown option %s=%s", key, val);
	}
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory");
	return p;
}

/*
 * One "key=value" option; the value is percent-encoded.  Decoded on a
 * copy: argv is what ps shows as PID 1's command line.
 */
static void parse_option(struct opts *o, const char *arg)
{
	char *key = xstrdup(arg);
	char *eq = strchr(key, '=');

	*eq = '\0';
	/* List options (env, cmd) decode element by element. */
	if (strcmp(key, "env") != 0 && strcmp(key, "cmd") != 0 &&
	    percent_decode(eq + 1) < 0)
		die("option %s: bad percent-encoding", key);
	set_option(o, key, eq + 1);
}

static char *hostname_env(void)
{
	char name[HOST_NAME_MAX + 1], *kv;

	if (gethostname(name, sizeof(name)) < 0)
		name[0] = '\0';
	name[sizeof(name) - 1] = '\0';
	if (asprintf(&kv, "HOSTNAME=%s", name) < 0)
		die("out of memory");
	return kv;
}

/* Defaults like `docker run`; env= options override them. */
static void default_env(struct opts *o)
{
	env_set(o, xstrdup("PATH=" DEFAULT_PATH));
	env_set(o, xstrdup("HOME=/root"));
	env_set(o, hostname_env());
}

/*
 * argv: "/init", maybe unknown kernel words, then "key=value" options
 * (docs/guest-interface.md). The kernel passes unknown bare words (no '=')
 * to init's argv, so they are skipped; options always contain '='.
 */
static void parse_args(struct opts *o, int argc, char **argv)
{
	int i;

	default_env(o);
	for (i = 1; i < argc; i++) {
		if (strchr(argv[i], '='))
			parse_option(o, argv[i]);
		else
			logv("ignoring kernel argument '%s'", argv[i]);
	}
	if (!o->argv || !o->argv[0])
		die("no command: expected a cmd=ARG0,ARG1,... option after the kernel's '--'");
	/* Like `docker run -t`, unless an env= option set TERM. */
	if (o->stdin_mode == STDIN_TTY && env_find(o, "TERM=") == o->nenv)
		env_set(o, xstrdup("TERM=xterm"));
}

/* ---- file systems and devices -------------------------------------------- */

/* True when something is already mounted on @dir (its device differs). */
static bool is_mountpoint(const char *dir)
{
	char parent[64];
	struct stat a, b;

	snprintf(parent, sizeof(parent), "%s/..", dir);
	if (stat(dir, &a) < 0 || stat(parent, &b) < 0)
		return false;
	return a.st_dev != b.st_dev;
}

/*
 * Mount @type on @dir unless something is mounted there already (a disk
 * root with devtmpfs automount).  @optional mounts are skipped when the
 * directory is missing and cannot be created (read-only root).
 */
static void mount_fs(const char *type, const char *dir, unsigned long flags,
		     const char *data, bool optional)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		if (optional) {
			logv("skipping %s: mkdir: %s", dir, strerror(errno));
			return;
		}
		die("mkdir %s: %s", dir, strerror(errno));
	}
	if (is_mountpoint(dir)) {
		logv("%s already mounted", dir);
		return;
	}
	if (mount(type, dir, type, flags, data) < 0)
		die("mount %s on %s: %s", type, dir, strerror(errno));
}

/* Links that devtmpfs lacks but shells and scripts use. */
static void dev_links(void)
{
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" },
		{ "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" },
		{ "/proc/self/fd/2", "/dev/stderr" },
	};
	size_t i;

	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][0], links[i][1]) < 0 && errno != EEXIST)
			die("symlink %s: %s", links[i][1], strerror(errno));
}

/*
 * /proc is mounted by the reaper, inside the command's PID namespace, so
 * that ps and /proc show the command's view (reaper 1, command 2).
 */
static void setup_fs(void)
{
	const unsigned long nosuid = MS_NOSUID | MS_NODEV | MS_NOEXEC;

	mount_fs("sysfs", "/sys", nosuid, NULL, false);
	mount_fs("devtmpfs", "/dev", MS_NOSUID, "mode=0755", false);
	mount_fs("devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC,
		 "gid=5,mode=620,ptmxmode=666", false);
	mount_fs("tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777", false);
	mount_fs("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777", true);
	mount_fs("tmpfs", "/run", MS_NOSUID | MS_NODEV, "mode=0755", true);
	dev_links();
	logv("file systems mounted");
}

/* Without a console the kernel leaves 0-2 closed; later opens must not
 * land there. */
static void fix_std_fds(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			die("cannot open /dev/null as fd %d", fd);
	}
}

static void set_hostname(void)
{
	char name[HOST_NAME_MAX + 1] = "";
	ssize_t n = 0;
	int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, name, sizeof(name) - 1);
		close(fd);
	}
	name[n > 0 ? n : 0] = '\0';
	name[strcspn(name, " \t\r\n")] = '\0';
	if (!name[0])
		strcpy(name, "brisk");
	if (sethostname(name, strlen(name)) < 0)
		die("sethostname %s: %s", name, strerror(errno));
}

/* Programs expect 127.0.0.1 to work; ip= autoconfig is not always used. */
static void loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;		/* kernel without networking */
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			msg("cannot bring up lo: %s", strerror(errno));
	}
	close(s);
}

/* ---- terminals ----------------------------------------------------------- */

/*
 * pipe/null modes: bytes pass unchanged in both directions — no echo, no
 * line editing, no \n -> \r\n (the host writes them to a file or pipe).
 */
static void tty_raw(int fd, const char *name)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		die("tcgetattr %s: %s", name, strerror(errno));
	cfmakeraw(&t);
	t.c_cflag |= CLOCAL | CREAD;
	cfsetspeed(&t, B115200);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		die("tcsetattr %s: %s", name, strerror(errno));
}

/*
 * tty mode: the host terminal is raw, so the guest does what a terminal
 * line discipline normally does — `stty sane`: cooked input with echo and
 * signals, \n -> \r\n on output.
 */
static void tty_sane(int fd, const char *name)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		die("tcgetattr %s: %s", name, strerror(errno));
	t.c_iflag = BRKINT | ICRNL | IMAXBEL | IUTF8;
	t.c_oflag = OPOST | ONLCR;
	t.c_cflag = CS8 | CREAD | CLOCAL;
	cfsetspeed(&t, B115200);
	t.c_lflag = ISIG | ICANON | IEXTEN | ECHO | ECHOE | ECHOK | ECHOCTL |
		    ECHOKE;
	t.c_cc[VINTR] = 0x03;
	t.c_cc[VQUIT] = 0x1c;
	t.c_cc[VERASE] = 0x7f;
	t.c_cc[VKILL] = 0x15;
	t.c_cc[VEOF] = 0x04;
	t.c_cc[VSTART] = 0x11;
	t.c_cc[VSTOP] = 0x13;
	t.c_cc[VSUSP] = 0x1a;
	t.c_cc[VREPRINT] = 0x12;
	t.c_cc[VWERASE] = 0x17;
	t.c_cc[VLNEXT] = 0x16;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		die("tcsetattr %s: %s", name, strerror(errno));
}

/*
 * In tty mode the agent itself becomes the session leader owning ttyS0:
 * when a session leader exits, the kernel hangs its terminal up and throws
 * away output not yet sent.  PID 1 never exits, so the command's last
 * output survives; the command joins this session and takes the
 * foreground (command_tty()).
 */
static void own_tty(void)
{
	if (getsid(0) != getpid() && setsid() < 0)
		die("setsid: %s", strerror(errno));
	if (ioctl(tty0, TIOCSCTTY, 0) < 0)
		die("TIOCSCTTY %s: %s", CMD_TTY, strerror(errno));
}

static int open_tty(const char *path)
{
	int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	return fd;
}

static void setup_ttys(const struct opts *o)
{
	tty0 = open_tty(CMD_TTY);
	tty1 = open_tty(ERR_TTY);
	log_fd = tty1;
	if (o->stdin_mode == STDIN_TTY) {
		tty_sane(tty0, CMD_TTY);
		tty_sane(tty1, ERR_TTY);
		own_tty();
	} else {
		tty_raw(tty0, CMD_TTY);
		tty_raw(tty1, ERR_TTY);
	}
}

/* ---- the command and its reaper ------------------------------------------ */

/* Move @fd to @target; the close-on-exec original goes away at exec. */
static void move_fd(int fd, int target)
{
	if (fd == target) {
		fcntl(fd, F_SETFD, 0);
		return;
	}
	if (dup2(fd, target) < 0)
		_exit(STATUS_INTERNAL);
}

static int open_or_exit(const char *path, int flags)
{
	int fd = open(path, flags | O_NOCTTY | O_CLOEXEC);

	if (fd < 0) {
		msg("open %s: %s", path, strerror(errno));
		_exit(STATUS_INTERNAL);
	}
	return fd;
}

/* Take the foreground of the agent's terminal session (see own_tty()). */
static void command_tty(void)
{
	sigset_t ttou;

	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, NULL);
	if (setpgid(0, 0) < 0 || tcsetpgrp(STDIN_FILENO, getpid()) < 0) {
		msg("cannot make the command the terminal's foreground: %s",
		    strerror(errno));
		_exit(STATUS_INTERNAL);
	}
}

static void command_stdio(const struct opts *o, int pipe_rd)
{
	int in, out, err;

	if (o->stdin_mode == STDIN_TTY) {
		in = out = err = open_or_exit(CMD_TTY, O_RDWR);
	} else {
		in = o->stdin_mode == STDIN_PIPE ?
			pipe_rd : open_or_exit("/dev/null", O_RDONLY);
		out = open_or_exit(CMD_TTY, O_WRONLY);
		err = open_or_exit(ERR_TTY, O_WRONLY);
	}
	/* All of them are >= 3 (std fds are open), so no dup2 clobbers. */
	move_fd(in, STDIN_FILENO);
	move_fd(out, STDOUT_FILENO);
	move_fd(err, STDERR_FILENO);
	log_fd = STDERR_FILENO;
	if (o->stdin_mode == STDIN_TTY)
		command_tty();
}

static void reset_signals(void)
{
	sigset_t none;

	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Report an exec failure the way a shell does, with its exit status. */
static void __attribute__((noreturn)) exec_failed(const char *cmd, int err)
{
	if (err == ENOENT && !strchr(cmd, '/')) {
		msg("%s: command not found", cmd);
		_exit(STATUS_NOT_FOUND);
	}
	msg("%s: %s", cmd, strerror(err));
	_exit(err == ENOENT ? STATUS_NOT_FOUND : STATUS_NOT_EXEC);
}

/* PID 2 of the namespace: set up stdio, environment, directory, exec. */
static void __attribute__((noreturn)) command(const struct opts *o,
					      int pipe_rd)
{
	extern char **environ;

	command_stdio(o, pipe_rd);
	if (o->cwd && chdir(o->cwd) < 0) {
		msg("cwd %s: %s", o->cwd, strerror(errno));
		_exit(STATUS_INTERNAL);
	}
	reset_signals();
	/* execvp() searches the PATH of the environment it runs in. */
	environ = o->env;
	execvp(o->argv[0], o->argv);
	exec_failed(o->argv[0], errno);
}

static int wait_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/*
 * PID 1 of the command's namespace.  It reaps orphans and exits with the
 * command's status once the command is gone; its exit kills whatever the
 * command left running.  It ignores signals from inside the namespace (the
 * kernel protects a namespace init that has no handlers).
 */
static void __attribute__((noreturn)) reaper(const struct opts *o,
					     int pipe_rd, int pipe_wr)
{
	pid_t cmd, pid;
	int st;

	/* Only the agent may hold the write end, or stdin never sees EOF. */
	if (pipe_wr >= 0)
		close(pipe_wr);
	if ((mkdir("/proc", 0555) < 0 && errno != EEXIST) ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0) {
		msg("mount proc on /proc: %s", strerror(errno));
		_exit(STATUS_INTERNAL);
	}
	cmd = fork();
	if (cmd < 0) {
		msg("fork: %s", strerror(errno));
		_exit(STATUS_INTERNAL);
	}
	if (cmd == 0)
		command(o, pipe_rd);
	if (pipe_rd >= 0)
		close(pipe_rd);
	for (;;) {
		pid = wait(&st);
		if (pid == cmd)
			_exit(wait_status(st));
		if (pid < 0 && errno != EINTR)
			_exit(STATUS_INTERNAL);
	}
}

/* Fork the reaper as PID 1 of a new PID namespace. */
static pid_t start_reaper(const struct opts *o, int pipe_rd, int pipe_wr)
{
	pid_t pid;

	if (unshare(CLONE_NEWPID) < 0)
		die("unshare(CLONE_NEWPID): %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		reaper(o, pipe_rd, pipe_wr);
	logv("command started in a new PID namespace (reaper %d)", (int)pid);
	return pid;
}

/* ---- stdin pump (stdin=pipe) --------------------------------------------- */

/*
 * Host stdin arrives on ttyS0 framed: FF 00 is a data FF, FF 01 is end of
 * input, other FF escapes are dropped.  Decoded bytes queue in buf until
 * the pipe takes them; while buf is full, ttyS0 is not read.
 */
struct pump {
	int in;			/* ttyS0, non-blocking; -1 once it hung up */
	int out;		/* pipe write end; -1 once closed */
	bool esc;		/* the last byte read was FF */
	bool eof;		/* FF 01 seen or the reader went away */
	size_t off, len;	/* pending bytes are buf[off, len) */
	unsigned char buf[PUMP_BUF];
};

static void pump_close(struct pump *p)
{
	if (p->out >= 0)
		close(p->out);
	p->out = -1;
	p->eof = true;
}

static void pump_decode(struct pump *p, const unsigned char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n && !p->eof; i++) {
		if (p->esc) {
			p->esc = false;
			if (b[i] == 0x00)
				p->buf[p->len++] = 0xff;
			else if (b[i] == 0x01)
				p->eof = true;
		} else if (b[i] == 0xff) {
			p->esc = true;
		} else {
			p->buf[p->len++] = b[i];
		}
	}
}

/* Read what fits in buf; after end of input, read and discard so the
 * host side never stalls. */
static void pump_read(struct pump *p)
{
	static unsigned char raw[PUMP_BUF];
	size_t room;
	ssize_t n;

	if (p->off == p->len)
		p->off = p->len = 0;
	room = p->eof ? sizeof(raw) : sizeof(p->buf) - p->len;
	n = read(p->in, raw, room);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* UART hung up: no more input will come. */
		p->in = -1;
		p->eof = true;
		return;
	}
	if (!p->eof)
		pump_decode(p, raw, n);
}

static void pump_write(struct pump *p)
{
	ssize_t n = write(p->out, p->buf + p->off, p->len - p->off);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		/* EPIPE: the command closed its stdin; drop the rest. */
		p->off = p->len = 0;
		pump_close(p);
		return;
	}
	p->off += n;
	if (p->off == p->len)
		p->off = p->len = 0;
}

static bool pump_wants_input(const struct pump *p)
{
	return p->in >= 0 && (p->eof || p->len < sizeof(p->buf));
}

/* ---- main loop ----------------------------------------------------------- */

static int child_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		die("sigprocmask: %s", strerror(errno));
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		die("signalfd: %s", strerror(errno));
	return fd;
}

/* Reap every child; true with *st set once @reaper is among them. */
static bool reaped(int sfd, pid_t reaper, int *st)
{
	struct signalfd_siginfo si;
	bool done = false;
	pid_t pid;
	int s;

	while (read(sfd, &si, sizeof(si)) > 0)
		;
	while ((pid = waitpid(-1, &s, WNOHANG)) > 0) {
		if (pid == reaper) {
			*st = s;
			done = true;
		}
	}
	return done;
}

/* Serve the stdin pump until the reaper exits; returns its wait status. */
static int run_loop(int sfd, pid_t reaper, struct pump *p)
{
	struct pollfd fds[3];
	int st;

	for (;;) {
		bool in = p && pump_wants_input(p);
		bool out = p && p->out >= 0 && p->len > p->off;

		fds[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = in ? p->in : -1,
					  .events = POLLIN };
		fds[2] = (struct pollfd){ .fd = out ? p->out : -1,
					  .events = POLLOUT };
		if (poll(fds, 3, -1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (fds[0].revents && reaped(sfd, reaper, &st))
			return st;
		if (fds[1].revents)
			pump_read(p);
		if (p && p->out >= 0 && p->len > p->off)
			pump_write(p);
		if (p && p->eof && p->len == p->off && p->out >= 0) {
			logv("end of stdin");
			pump_close(p);
		}
	}
}

static struct pump *pump_start(int pipe_wr)
{
	static struct pump p;

	p.in = tty0;
	p.out = pipe_wr;
	if (fcntl(p.in, F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(p.out, F_SETFL, O_NONBLOCK) < 0)
		die("fcntl O_NONBLOCK: %s", strerror(errno));
	return &p;
}

/* The reaper's status is the command's, except when it was killed for a
 * reboot(2) in the namespace: SIGHUP (restart) or SIGINT (power off). */
static int command_status(int st)
{
	if (WIFSIGNALED(st) &&
	    (WTERMSIG(st) == SIGHUP || WTERMSIG(st) == SIGINT)) {
		logv("the command rebooted or powered off");
		return 0;
	}
	return wait_status(st);
}

static int run(const struct opts *o)
{
	int pipefd[2] = { -1, -1 };
	struct pump *p = NULL;
	pid_t pid;
	int sfd, st;

	if (o->stdin_mode == STDIN_PIPE && pipe2(pipefd, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	sfd = child_signals();
	pid = start_reaper(o, pipefd[0], pipefd[1]);
	if (o->stdin_mode == STDIN_PIPE) {
		close(pipefd[0]);
		p = pump_start(pipefd[1]);
	}
	st = run_loop(sfd, pid, p);
	if (p)
		pump_close(p);
	return command_status(st);
}

int main(int argc, char **argv)
{
	struct opts o = { .stdin_mode = STDIN_NULL };

	boot_timer();
	/* Writes to a closed stdin pipe must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	set_hostname();
	parse_args(&o, argc, argv);
	logv("brisk-init started");
	setup_fs();
	fix_std_fds();
	setup_ttys(&o);
	stdin_ready();
	loopback_up();
	if (o.cwd)
		logv("cwd %s", o.cwd);
	report(run(&o));
}
