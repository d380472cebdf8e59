// SPDX-License-Identifier: MIT
/* run.c — brisk-init runs the command: reaper, exec, stdin pump, run loop, Ctrl-Alt-Del. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* unshare, pipe2, execvp's PATH search */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define STATUS_NOT_EXEC		126
#define STATUS_NOT_FOUND	127
#define PUMP_BUF		(256 * 1024)

/*
 * Seconds the command has after the SIGTERM of a Ctrl-Alt-Del before the
 * agent kills its PID namespace. Shorter than brisk's default
 * --shutdown-timeout (5 s), so that the agent still reports a status (137)
 * before brisk gives up on the guest.
 */
#define CAD_KILL_DELAY_S	3

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

/* The command, as the reaper sees it (PID 2); set before SIGTERM is unblocked. */
static volatile sig_atomic_t reaper_cmd;

/*
 * The reaper's SIGTERM handler: a SIGTERM from outside the namespace (the
 * agent, on Ctrl-Alt-Del; si_pid is 0 for a sender the namespace cannot
 * see) goes on to the command. One from inside is ignored, as before.
 */
static void reaper_forward(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)uc;
	if (si->si_pid == 0 && reaper_cmd > 0)
		kill((pid_t)reaper_cmd, sig);
	errno = saved;
}

/* Forward SIGTERM from now on; one that came earlier was blocked (inherited
 * from the agent) and is delivered on unblocking. */
static void reaper_signals(pid_t cmd)
{
	struct sigaction sa = { .sa_sigaction = reaper_forward, .sa_flags = SA_SIGINFO };
	sigset_t term;

	reaper_cmd = cmd;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_UNBLOCK, &term, NULL);
}

/*
 * PID 1 of the command's namespace.  It reaps orphans and exits with the
 * command's status once the command is gone; its exit kills whatever the
 * command left running.  It ignores signals from inside the namespace (the
 * kernel protects a namespace init that has no handlers; its one handler,
 * for SIGTERM, passes on only the agent's).
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
	reaper_signals(cmd);
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

/*
 * The run loop's signalfd: SIGCHLD and SIGINT (Ctrl-Alt-Del, blocked since
 * cad_setup()). SIGTERM is blocked too, not read: the reaper inherits the
 * mask, so a SIGTERM the agent sends before the reaper installed its
 * handler waits for it instead of being dropped.
 */
static int child_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		die("sigprocmask: %s", strerror(errno));
	sigdelset(&set, SIGTERM);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		die("signalfd: %s", strerror(errno));
	return fd;
}

/* Drain the signalfd; returns how many SIGINTs (Ctrl-Alt-Dels) it held. */
static unsigned int read_signals(int sfd)
{
	struct signalfd_siginfo si;
	unsigned int cads = 0;

	while (read(sfd, &si, sizeof(si)) == sizeof(si))
		cads += si.ssi_signo == SIGINT;
	return cads;
}

/* Reap every child; true with *st set once @reaper is among them. */
static bool reaped(pid_t reaper, int *st)
{
	bool done = false;
	pid_t pid;
	int s;

	while ((pid = waitpid(-1, &s, WNOHANG)) > 0) {
		if (pid == reaper) {
			*st = s;
			done = true;
		}
	}
	return done;
}

/* ---- Ctrl-Alt-Del -------------------------------------------------------- */

/*
 * Make Ctrl-Alt-Del (brisk's SIGTERM handling, Firecracker's SendCtrlAltDel)
 * a clean stop instead of a kernel restart: with it disabled, the kernel
 * sends SIGINT to PID 1. Blocked first: the kernel drops signals PID 1 has
 * no handler for, while a blocked one stays pending, so one that comes
 * before the command starts is acted on once the run loop reads its
 * signalfd (and one after the command ended is never read: the agent is
 * reporting anyway). Called first thing in main().
 */
void cad_setup(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		die("sigprocmask: %s", strerror(errno));
	if (reboot(RB_DISABLE_CAD) < 0)
		msg("reboot(RB_DISABLE_CAD): %s; Ctrl-Alt-Del will restart the VM",
		    strerror(errno));
}

struct cad {
	unsigned int count;		/* Ctrl-Alt-Dels so far */
	bool killed;			/* the namespace got SIGKILL */
	struct timespec kill_at;	/* CLOCK_MONOTONIC, once count > 0 */
};

/*
 * The first Ctrl-Alt-Del sends SIGTERM to the command (through the reaper)
 * and arms the kill timer; a second one, or the timer, kills the command's
 * PID namespace (SIGKILL to the reaper). Either way the reaper's exit then
 * ends the run loop with the command's status as usual.
 */
static void cad_request(struct cad *c, pid_t reaper, unsigned int n)
{
	if (!n || c->killed)
		return;
	if (c->count == 0) {
		logv("ctrl-alt-del: stopping the command (SIGTERM, SIGKILL in %d s)",
		     CAD_KILL_DELAY_S);
		kill(reaper, SIGTERM);
		clock_gettime(CLOCK_MONOTONIC, &c->kill_at);
		c->kill_at.tv_sec += CAD_KILL_DELAY_S;
	}
	c->count += n;
	if (c->count > 1) {
		logv("ctrl-alt-del again: killing the command");
		kill(reaper, SIGKILL);
		c->killed = true;
	}
}

/* poll() timeout in ms: until the kill timer, or -1 when none runs. */
static int cad_timeout(const struct cad *c)
{
	struct timespec now;
	long long ms;

	if (!c->count || c->killed)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(c->kill_at.tv_sec - now.tv_sec) * 1000 +
	     (c->kill_at.tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms + 1;
}

static void cad_check_timer(struct cad *c, pid_t reaper)
{
	if (!c->count || c->killed || cad_timeout(c) > 0)
		return;
	logv("ctrl-alt-del: the command still runs after %d s; killing it",
	     CAD_KILL_DELAY_S);
	kill(reaper, SIGKILL);
	c->killed = true;
}

/*
 * Serve the stdin pump and Ctrl-Alt-Del until the reaper exits; returns its
 * wait status.
 */
static int run_loop(int sfd, pid_t reaper, struct pump *p)
{
	struct cad cad = { 0 };
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
		if (poll(fds, 3, cad_timeout(&cad)) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (fds[0].revents) {
			cad_request(&cad, reaper, read_signals(sfd));
			if (reaped(reaper, &st))
				return st;
		}
		cad_check_timer(&cad, reaper);
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

int run(const struct opts *o)
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
