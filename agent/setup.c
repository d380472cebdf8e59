// SPDX-License-Identifier: MIT
/* setup.c — brisk-init's guest setup: mounts, devices, hostname, lo, ttys. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* the same feature set as the rest of the agent */
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"

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
void setup_fs(void)
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
void fix_std_fds(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			die("cannot open /dev/null as fd %d", fd);
	}
}

void set_hostname(void)
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
void loopback_up(void)
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

void setup_ttys(const struct opts *o)
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
