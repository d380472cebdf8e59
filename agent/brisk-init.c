// SPDX-License-Identifier: MIT
/*
 * brisk-init — the guest agent of `brisk run`, running as /init (PID 1).
 *
 * It implements docs/guest-interface.md: it mounts the pseudo file systems,
 * reads its options and the command from its argv (percent-encoded, after
 * the kernel's "--"), runs the command as PID 2 of a fresh PID namespace
 * under a small reaper, feeds the framed host stdin from ttyS0 into the
 * command's stdin pipe, stops the command on Ctrl-Alt-Del, and reports the
 * exit status through the exit device at I/O port 0x501.
 *
 * PID 1 must never exit (the kernel would panic), so every error path ends
 * in report(), which ends the VM.
 *
 * This file holds main(), logging and the exit report, and the options;
 * setup.c prepares the guest (file systems, devices, hostname, loopback,
 * terminals), net.c configures the NICs of net= and run.c runs the
 * command (reaper, stdin pump, run loop).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf */
#endif
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/reboot.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define EXIT_PORT		0x501	/* exit device; QEMU's isa-debug-exit */
#define READY_PORT		0x502	/* exit device: "ttys set up, send stdin" */
#define BOOT_TIMER_PORT		0x3f0	/* Firecracker-compatible boot timer */
#define BOOT_TIMER_MAGIC	123

#define DEFAULT_PATH	"/usr/local/sbin:/usr/local/bin:" \
			"/usr/sbin:/usr/bin:/sbin:/bin"

static bool verbose;
int log_fd = STDERR_FILENO;	/* /dev/console, later ttyS1 */
int tty0 = -1, tty1 = -1;	/* kept open for tcdrain */

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

void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

/* Verbose steps carry a timestamp so boot time can be read off the log. */
void logv(const char *fmt, ...)
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

void __attribute__((noreturn, format(printf, 1, 2)))
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
	} else if (strcmp(key, "net") == 0) {
		size_t n;
		char **elems = split_list(val, "net", &n);

		net_parse(o, elems, n);
		free(elems);
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
	/* List options (env, cmd, net) decode element by element. */
	if (strcmp(key, "env") != 0 && strcmp(key, "cmd") != 0 &&
	    strcmp(key, "net") != 0 && percent_decode(eq + 1) < 0)
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

int main(int argc, char **argv)
{
	struct opts o = { .stdin_mode = STDIN_NULL };

	boot_timer();
	/* First: from here on Ctrl-Alt-Del stops the command (run.c). */
	cad_setup();
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
	net_setup(&o);
	if (o.cwd)
		logv("cwd %s", o.cwd);
	report(run(&o));
}
