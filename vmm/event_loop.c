/* event_loop.c — epoll with a fixed table of sources. */
#include "vmm/event_loop.h"
#include "vmm/util.h"

#include <string.h>
#include <sys/epoll.h>

int event_loop_init(struct event_loop *loop)
{
	memset(loop, 0, sizeof(*loop));
	for (unsigned int i = 0; i < EVENT_LOOP_MAX_SOURCES; i++)
		loop->sources[i].fd = -1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	return loop->epfd < 0 ? -errno : 0;
}

void event_loop_destroy(struct event_loop *loop)
{
	close_fd(&loop->epfd);
}

static struct event_source *event_loop_find(struct event_loop *loop, int fd)
{
	for (unsigned int i = 0; i < EVENT_LOOP_MAX_SOURCES; i++)
		if (loop->sources[i].fd == fd)
			return &loop->sources[i];
	return NULL;
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events,
		   event_fn fn, void *opaque)
{
	struct event_source *src = event_loop_find(loop, -1);
	struct epoll_event ev = { .events = events };

	if (fd < 0 || !fn)
		return -EINVAL;
	if (!src)
		return -ENOSPC;
	ev.data.ptr = src;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	*src = (struct event_source){ fd, fn, opaque };
	return 0;
}

int event_loop_modify(struct event_loop *loop, int fd, uint32_t events)
{
	struct event_source *src = event_loop_find(loop, fd);
	struct epoll_event ev = { .events = events };

	if (fd < 0 || !src)
		return -ENOENT;
	ev.data.ptr = src;
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int event_loop_remove(struct event_loop *loop, int fd)
{
	struct event_source *src = event_loop_find(loop, fd);

	if (fd < 0 || !src)
		return -ENOENT;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	src->fd = -1;
	return 0;
}

int event_loop_run(struct event_loop *loop)
{
	struct epoll_event evs[16];

	while (!loop->stop) {
		int n = epoll_wait(loop->epfd, evs, ARRAY_SIZE(evs), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !loop->stop; i++) {
			struct event_source *src = evs[i].data.ptr;

			/* A callback earlier in this batch may have removed it. */
			if (src->fd >= 0)
				src->fn(src->opaque, evs[i].events);
		}
	}
	return 0;
}

void event_loop_stop(struct event_loop *loop)
{
	loop->stop = true;
}
