/*
 * api.h — Firecracker-compatible HTTP API on a Unix socket (floor 3).
 *
 * Two halves. The server (api.c) runs libmicrohttpd on its own thread
 * with its own seccomp filter; it only reads requests, bounds their bodies
 * and hands each one to the main thread through a one-slot mailbox (an
 * eventfd in the main event loop), then sends the reply the main thread
 * wrote. The routes (api_routes.c) run on the main thread: they parse the
 * body with the config parser, change the pre-boot spec or act on the VM
 * through struct api_ctl, and produce Firecracker's status codes and
 * {"fault_message": "..."} bodies (Firecracker's src/firecracker/swagger).
 */
#ifndef BRISK_API_H
#define BRISK_API_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/event_loop.h"
#include "vmm/spec.h"
#include "jailer/seccomp.h"

#define API_DEFAULT_MAX_BODY 51200   /* bytes: Firecracker's --http-api-max-payload-size default */
#define API_MAX_CONNECTIONS 16
#define API_CONN_TIMEOUT_S 30        /* an idle or stalled client is dropped */
#define API_APP_NAME "brisk"

/* The VM's life as GET / reports it (Firecracker's InstanceInfo.state). */
enum api_vm_state {
	API_STATE_NOT_STARTED,
	API_STATE_RUNNING,
	API_STATE_PAUSED,
};

/* What the routes ask of the machine; see struct api_ctl. */
enum api_action {
	API_ACT_INSTANCE_START,
	API_ACT_SEND_CTRL_ALT_DEL,
	API_ACT_FLUSH_METRICS,
	API_ACT_PAUSE,
	API_ACT_RESUME,
	API_ACT_APPLY_LOGGER,    /* spec->logger changed: open the log file */
	API_ACT_APPLY_METRICS,   /* spec->metrics changed: open the metrics file */
};

/*
 * The routes' view of the machine (main thread). @act runs an action and
 * returns 0, or -errno with a fault message in @why; the route answers 400
 * with it.
 */
struct api_ctl {
	struct vm_spec *spec;
	const char *id;          /* instance id (--id) */
	const char *version;     /* brisk's version */
	enum api_vm_state (*state)(void *opaque);
	int (*act)(void *opaque, enum api_action action, char *why, size_t whylen);
	void *opaque;
};

/* One reply: HTTP status and a JSON body (malloc'ed, may be NULL for 204). */
struct api_reply {
	unsigned int status;
	char *body;
};

/*
 * Execute one request on the main thread. @method and @url as received
 * (query strings are not used and refuse the route), @body of @len bytes
 * (not NUL-terminated; may be NULL when @len is 0). Always fills @reply;
 * the caller frees reply->body.
 */
void api_dispatch(struct api_ctl *ctl, const char *method, const char *url, const char *body,
		  size_t len, struct api_reply *reply);

/* reply = @status with {"fault_message": @msg}. */
void api_fault(struct api_reply *reply, unsigned int status, const char *msg);

/* ---- server (api.c) ---- */

struct api_request;

struct api_server {
	int listen_fd;
	int quit_fd;                 /* eventfd: the API thread leaves its loop */
	int mail_fd;                 /* eventfd: a request waits for the main thread */
	char *sock_path;             /* owned, for messages */
	char *sock_name;             /* owned: its last component, unlinked by api_stop() */
	int dir_fd;                  /* O_PATH: the socket's directory, for unlinkat()
				      * (the main thread's filter allows only that) */
	size_t max_body;             /* bytes */
	enum seccomp_mode seccomp;
	struct event_loop *loop;
	struct api_ctl *ctl;
	struct MHD_Daemon *mhd;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct api_request *pending; /* request handed to the main thread (lock) */
	bool closing;                /* main thread no longer answers (lock) */
	uint64_t requests, faults;   /* main thread: requests executed, answered >= 400 */
};

/*
 * Bind @sock_path (a stale socket file nobody listens on is replaced; a
 * live one or another file is -EADDRINUSE), watch the mailbox in @loop
 * and start the API thread, which installs SECCOMP_THREAD_API in @mode.
 * Bodies over @max_body bytes get 400. 0, or -errno with one line in @why
 * (then nothing is left behind).
 */
int api_start(struct api_server *srv, const char *sock_path, size_t max_body,
	      enum seccomp_mode mode, struct event_loop *loop, struct api_ctl *ctl,
	      char *why, size_t whylen);

/*
 * Stop the thread (a request in flight gets 503), close the socket and
 * remove the socket file. Idempotent; safe after a failed api_start().
 */
void api_stop(struct api_server *srv);

#endif
