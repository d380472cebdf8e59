// SPDX-License-Identifier: MIT
/* agent.h — what the files of brisk-init, the guest agent, share. */
#ifndef BRISK_AGENT_H
#define BRISK_AGENT_H

#include <stddef.h>

#define STATUS_INTERNAL		125	/* the agent itself failed */

#define CMD_TTY		"/dev/ttyS0"	/* command stdin/stdout */
#define ERR_TTY		"/dev/ttyS1"	/* command stderr, kernel console */

enum stdin_mode { STDIN_NULL, STDIN_PIPE, STDIN_TTY };

struct net_if;		/* one net= element, net.c */

struct opts {
	enum stdin_mode stdin_mode;
	const char *cwd;
	char **env;		/* NULL-terminated, defaults first */
	size_t nenv;
	char **argv;		/* the command, NULL-terminated */
	struct net_if *net;	/* NICs to configure (net=), nnet of them */
	size_t nnet;
};

/* brisk-init.c: logging and the exit report */
extern int log_fd;	/* /dev/console, later ttyS1 */
extern int tty0, tty1;	/* kept open for tcdrain */
void msg(const char *fmt, ...);
void logv(const char *fmt, ...);
void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...);

/* setup.c */
void setup_fs(void);
void fix_std_fds(void);
void set_hostname(void);
void loopback_up(void);
void setup_ttys(const struct opts *o);

/* net.c: net=IFACE:ADDR/PREFIX[:GW],... — parse (replacing an earlier
 * list; dies on a bad element), then configure before the command runs. */
void net_parse(struct opts *o, char **elems, size_t count);
void net_setup(const struct opts *o);

/* run.c */
void cad_setup(void);
int run(const struct opts *o);

#endif
