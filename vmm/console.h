/*
 * console.h — host side of the serial console (floor 3).
 *
 * COM1 output → stdout, COM2 output → stderr, host stdin → COM1 input,
 * all on the main thread's event loop. When stdin is a terminal it is put
 * in raw mode (restored by console_destroy and by console_restore_tty() on
 * fatal signals); otherwise stdin is forwarded with the framing of
 * docs/guest-interface.md (0xFF escaped, FF 01 = end of input).
 */
#ifndef BRISK_CONSOLE_H
#define BRISK_CONSOLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "vmm/event_loop.h"
#include "vmm/serial.h"

enum console_stdin {
	CONSOLE_STDIN_TTY,  /* raw bytes, terminal in raw mode */
	CONSOLE_STDIN_PIPE, /* framed stream with end-of-input */
	CONSOLE_STDIN_NULL, /* nothing is read */
};

#define CONSOLE_PENDING 8192

struct console {
	struct event_loop *loop;
	struct serial *com1, *com2;
	int kick_fd;               /* serial kick eventfd (borrowed) */
	int in_fd, out_fd, err_fd; /* borrowed host fds */
	enum console_stdin mode;
	bool in_pollable;          /* in_fd works with epoll */
	bool in_watched;           /* EPOLLIN currently enabled */
	bool in_eof;
	bool framed;               /* escape 0xFF and send FF 01 at EOF */
	const atomic_bool *gate;   /* send stdin only once *gate (NULL: at once) */
	bool out_broken, err_broken;
	uint8_t pending[CONSOLE_PENDING];
	size_t pend_off, pend_len;
	bool tty_raw;
	struct termios saved_tty;
};

/* Pick the stdin mode for @fd: terminal, readable fd, or none (closed fd). */
enum console_stdin console_detect_stdin(int fd);

/*
 * Wire @com1/@com2 to the host fds and register with @loop. @agent selects
 * the guest agent's protocol: framed non-terminal input, and no input before
 * *@ready turns true (the kick_fd must fire then). Without it, raw bytes flow
 * at once, for guests that are not the agent. 0 or -errno.
 */
int console_init(struct console *c, struct event_loop *loop, struct serial *com1,
		 struct serial *com2, int kick_fd, enum console_stdin mode, bool agent,
		 const atomic_bool *ready);

/* Write out everything the guest has sent so far (end of run). */
void console_flush(struct console *c);

/* Unregister, restore the terminal. */
void console_destroy(struct console *c);

/* Async-signal-safe terminal restore for fatal-signal handlers. */
void console_restore_tty(void);

#endif
