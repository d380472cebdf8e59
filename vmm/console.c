/* console.c — stdin/stdout/stderr ↔ COM1/COM2 (see console.h). */
#include "vmm/console.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#define FRAME_ESC 0xff
#define FRAME_LITERAL_FF 0x00
#define FRAME_EOF 0x01

/* For console_restore_tty(): the terminal to put back, if any. */
static int saved_tty_fd = -1;
static struct termios saved_tty_state;

enum console_stdin console_detect_stdin(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return CONSOLE_STDIN_NULL;
	return isatty(fd) ? CONSOLE_STDIN_TTY : CONSOLE_STDIN_PIPE;
}

void console_restore_tty(void)
{
	if (saved_tty_fd >= 0)
		tcsetattr(saved_tty_fd, TCSANOW, &saved_tty_state);
}

static void console_write_out(int fd, bool *broken, const uint8_t *buf, size_t len)
{
	if (*broken)
		return;
	if (util_write_full(fd, buf, len) < 0)
		*broken = true; /* reader went away: drop output, keep the VM running */
}

/* Move guest output to the host fds. */
static void console_drain_tx(struct console *c)
{
	uint8_t buf[4096];
	size_t n;

	while ((n = serial_tx_take(c->com1, buf, sizeof(buf))) > 0)
		console_write_out(c->out_fd, &c->out_broken, buf, n);
	while ((n = serial_tx_take(c->com2, buf, sizeof(buf))) > 0)
		console_write_out(c->err_fd, &c->err_broken, buf, n);
}

static void console_on_stdin(void *opaque, uint32_t events);

static void console_watch_stdin(struct console *c, bool on)
{
	if (!c->in_pollable || c->in_watched == on)
		return;
	/*
	 * Remove rather than clear the mask: epoll reports EPOLLHUP even with
	 * an empty mask, which would spin on a closed pipe.
	 */
	if (on)
		c->in_watched = event_loop_add(c->loop, c->in_fd, EPOLLIN,
					       console_on_stdin, c) == 0;
	else if (event_loop_remove(c->loop, c->in_fd) == 0)
		c->in_watched = false;
}

static void console_queue(struct console *c, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		c->pending[c->pend_len++] = buf[i];
		if (c->framed && buf[i] == FRAME_ESC)
			c->pending[c->pend_len++] = FRAME_LITERAL_FF;
	}
}

/* Read one chunk of stdin into pending. Returns false when nothing more can be read now. */
static bool console_read_stdin(struct console *c)
{
	uint8_t buf[CONSOLE_PENDING / 2];
	ssize_t n = read(c->in_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0) {
		c->in_eof = true;
		console_watch_stdin(c, false);
		if (c->framed) {
			c->pending[c->pend_len++] = FRAME_ESC;
			c->pending[c->pend_len++] = FRAME_EOF;
		}
		return true;
	}
	console_queue(c, buf, (size_t)n);
	return true;
}

/* Feed pending input to COM1 and refill it from stdin while the guest has room. */
static void console_pump_stdin(struct console *c)
{
	if (c->gate && !atomic_load(c->gate)) {
		console_watch_stdin(c, false);
		return;
	}
	for (;;) {
		if (c->pend_off < c->pend_len) {
			size_t n = serial_rx_put(c->com1, c->pending + c->pend_off,
						 c->pend_len - c->pend_off);

			c->pend_off += n;
			if (c->pend_off < c->pend_len) {
				/* Guest is full: wait for the serial's kick. */
				console_watch_stdin(c, false);
				return;
			}
		}
		c->pend_off = c->pend_len = 0;
		if (c->in_eof || c->mode == CONSOLE_STDIN_NULL)
			return;
		if (c->in_pollable) {
			console_watch_stdin(c, true);
			return;
		}
		/* Regular files cannot be polled; they are always ready. */
		if (!console_read_stdin(c))
			return;
	}
}

static void console_on_stdin(void *opaque, uint32_t events)
{
	struct console *c = opaque;

	(void)events;
	if (c->pend_len == 0 && console_read_stdin(c))
		console_pump_stdin(c);
}

static void console_on_kick(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint64_t v;

	(void)events;
	if (read(c->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("serial kick: %s", strerror(errno));
	console_drain_tx(c);
	console_pump_stdin(c);
}

static int console_make_raw(struct console *c)
{
	struct termios raw;

	if (tcgetattr(c->in_fd, &c->saved_tty) < 0)
		return -errno;
	raw = c->saved_tty;
	cfmakeraw(&raw);
	saved_tty_state = c->saved_tty;
	saved_tty_fd = c->in_fd;
	if (tcsetattr(c->in_fd, TCSANOW, &raw) < 0) {
		saved_tty_fd = -1;
		return -errno;
	}
	c->tty_raw = true;
	return 0;
}

int console_init(struct console *c, struct event_loop *loop, struct serial *com1,
		 struct serial *com2, int kick_fd, enum console_stdin mode, bool agent,
		 const atomic_bool *ready)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->com1 = com1;
	c->com2 = com2;
	c->kick_fd = kick_fd;
	c->in_fd = STDIN_FILENO;
	c->out_fd = STDOUT_FILENO;
	c->err_fd = STDERR_FILENO;
	c->mode = mode;
	c->framed = agent && mode == CONSOLE_STDIN_PIPE;
	c->gate = agent ? ready : NULL;

	r = event_loop_add(loop, kick_fd, EPOLLIN, console_on_kick, c);
	if (r < 0)
		return r;
	if (mode == CONSOLE_STDIN_NULL)
		return 0;
	if (mode == CONSOLE_STDIN_TTY) {
		r = console_make_raw(c);
		if (r < 0)
			log_warn("cannot put the terminal in raw mode: %s", strerror(-r));
	}
	/* epoll refuses regular files (EPERM): those are read on demand. */
	r = event_loop_add(loop, c->in_fd, EPOLLIN, console_on_stdin, c);
	if (r < 0 && r != -EPERM)
		return r;
	c->in_pollable = c->in_watched = r == 0;
	console_pump_stdin(c);
	return 0;
}

void console_flush(struct console *c)
{
	console_drain_tx(c);
}

void console_destroy(struct console *c)
{
	if (!c->loop)
		return;
	console_watch_stdin(c, false);
	event_loop_remove(c->loop, c->kick_fd);
	if (c->tty_raw) {
		tcsetattr(c->in_fd, TCSANOW, &c->saved_tty);
		saved_tty_fd = -1;
		c->tty_raw = false;
	}
	c->loop = NULL;
}
