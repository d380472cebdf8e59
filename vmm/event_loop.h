/*
 * event_loop.h — the main thread's epoll loop (floor 1).
 *
 * Sources are file descriptors (eventfds, signalfd, stdin/stdout, tap,
 * io_uring completion eventfd). Callbacks run on the main thread only.
 */
#ifndef BRISK_EVENT_LOOP_H
#define BRISK_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*event_fn)(void *opaque, uint32_t events);

struct event_source {
	int fd;
	event_fn fn;
	void *opaque;
};

#define EVENT_LOOP_MAX_SOURCES 64

struct event_loop {
	int epfd;
	bool stop;
	struct event_source sources[EVENT_LOOP_MAX_SOURCES];
};

/* 0 or -errno (epoll_create1). */
int event_loop_init(struct event_loop *loop);
void event_loop_destroy(struct event_loop *loop);

/*
 * Watch @fd for @events (EPOLLIN/EPOLLOUT...). The fd stays owned by the
 * caller; remove it before closing. 0, -ENOSPC or -errno from epoll_ctl.
 */
int event_loop_add(struct event_loop *loop, int fd, uint32_t events,
		   event_fn fn, void *opaque);
/* Change the event mask of a watched fd. 0 or -errno. */
int event_loop_modify(struct event_loop *loop, int fd, uint32_t events);
/* Stop watching @fd. 0 or -ENOENT. */
int event_loop_remove(struct event_loop *loop, int fd);

/*
 * Dispatch events until event_loop_stop() is called from a callback.
 * 0 or -errno from epoll_wait.
 */
int event_loop_run(struct event_loop *loop);
void event_loop_stop(struct event_loop *loop);

#endif
