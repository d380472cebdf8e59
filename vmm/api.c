/*
 * api.c — the API thread: libmicrohttpd on a Unix socket, requests handed
 * to the main thread one at a time (Firecracker's model: the API thread
 * parses HTTP, the VMM thread executes).
 */
#include "vmm/api.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#define API_METHOD_MAX 16
#define API_URL_MAX 512

/* One request in flight, MHD's per-connection context (con_cls). */
struct api_request {
	char method[API_METHOD_MAX];
	char url[API_URL_MAX];
	bool url_too_long;
	char *body;                  /* up to max_body bytes */
	size_t len, cap;             /* bytes */
	size_t seen;                 /* bytes received, kept or not */
	bool too_big;
	bool done;                   /* reply written by the main thread (srv->lock) */
	struct api_reply reply;
};

static void api_free_request(struct api_request *req)
{
	free(req->body);
	free(req->reply.body);
	free(req);
}

/* Body bytes; past max_body only counted, so a huge upload costs no memory. */
static void api_append(struct api_server *srv, struct api_request *req, const char *data,
		       size_t n)
{
	req->seen += n;
	if (req->too_big)
		return;
	if (req->len + n > srv->max_body) {
		req->too_big = true;
		free(req->body);
		req->body = NULL;
		req->len = req->cap = 0;
		return;
	}
	if (req->len + n > req->cap) {
		size_t cap = MAX(req->cap * 2, MAX(req->len + n, (size_t)1024));
		char *p;

		cap = MIN(cap, srv->max_body);
		p = realloc(req->body, cap);
		if (!p) {
			req->too_big = true; /* refuse rather than fail half-way */
			return;
		}
		req->body = p;
		req->cap = cap;
	}
	memcpy(req->body + req->len, data, n);
	req->len += n;
}

/* Hand @req to the main thread and wait for its reply. API thread. */
static void api_execute(struct api_server *srv, struct api_request *req)
{
	uint64_t one = 1;

	pthread_mutex_lock(&srv->lock);
	if (!srv->closing) {
		srv->pending = req;
		if (write(srv->mail_fd, &one, sizeof(one)) < 0)
			srv->pending = NULL;
	}
	/* One API thread, one request at a time: the slot holds @req or nothing.
	 * closing is set on the main thread, so never during its dispatch. */
	while (srv->pending == req && !req->done && !srv->closing)
		pthread_cond_wait(&srv->cond, &srv->lock);
	if (!req->done) {
		if (srv->pending == req)
			srv->pending = NULL;
		api_fault(&req->reply, MHD_HTTP_SERVICE_UNAVAILABLE, "brisk is shutting down");
	}
	pthread_mutex_unlock(&srv->lock);
}

static enum MHD_Result api_send(struct MHD_Connection *conn, const struct api_reply *reply)
{
	const char *body = reply->body ? reply->body : "";
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (reply->body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	r = MHD_queue_response(conn, reply->status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* Firecracker's answer to a body over the limit. */
static void api_too_big(struct api_server *srv, struct api_request *req)
{
	char msg[256];

	snprintf(msg, sizeof(msg),
		 "Request payload with size %zu is larger than the limit of %zu allowed by server.",
		 req->seen, srv->max_body);
	api_fault(&req->reply, MHD_HTTP_BAD_REQUEST, msg);
}

/* MHD's access handler: called on the first header pass, per body chunk, and at the end. */
static enum MHD_Result api_on_request(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct api_server *srv = cls;
	struct api_request *req = *con_cls;

	(void)version;
	if (!req) {
		const char *cl;

		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		snprintf(req->method, sizeof(req->method), "%s", method);
		if (snprintf(req->url, sizeof(req->url), "%s", url) >= (int)sizeof(req->url))
			req->url_too_long = true;
		/* Content-Length over the limit: no need to wait for the bytes. */
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			unsigned long long n = strtoull(cl, NULL, 10);

			if (n > srv->max_body) {
				req->too_big = true;
				req->seen = n;
			}
		}
		*con_cls = req;
		if (!req->too_big)
			return MHD_YES;
		/* Refuse at once: MHD sends this, skips the body and closes the connection. */
		api_too_big(srv, req);
		return api_send(conn, &req->reply);
	}
	if (*upload_data_size) {
		api_append(srv, req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->too_big) {
		api_too_big(srv, req);
	} else if (req->url_too_long) {
		api_fault(&req->reply, MHD_HTTP_BAD_REQUEST, "Invalid request path: too long.");
	} else {
		api_execute(srv, req);
	}
	return api_send(conn, &req->reply);
}

static void api_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			     enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	if (*con_cls)
		api_free_request(*con_cls);
	*con_cls = NULL;
}

/* Main thread: run the waiting request, wake the API thread. */
static void api_on_mail(void *opaque, uint32_t events)
{
	struct api_server *srv = opaque;
	struct api_request *req;
	uint64_t v;

	(void)events;
	if (read(srv->mail_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("API mailbox: %s", strerror(errno));
	pthread_mutex_lock(&srv->lock);
	req = srv->pending;
	pthread_mutex_unlock(&srv->lock);
	if (!req)
		return;
	/* The API thread only waits while pending == req: the request is ours. */
	api_dispatch(srv->ctl, req->method, req->url, req->body, req->len, &req->reply);
	log_info("API %s %s: %u", req->method, req->url, req->reply.status);
	srv->requests++;
	if (req->reply.status >= 400)
		srv->faults++;
	pthread_mutex_lock(&srv->lock);
	req->done = true;
	srv->pending = NULL;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

static void *api_thread(void *arg)
{
	struct api_server *srv = arg;
	const union MHD_DaemonInfo *info;
	struct pollfd fds[2];
	int r;

	pthread_setname_np(pthread_self(), "brisk-api");
	r = seccomp_install(SECCOMP_THREAD_API, srv->seccomp);
	if (r < 0) {
		log_err("API thread: cannot install its seccomp filter: %s; the API is off",
			strerror(-r));
		MHD_stop_daemon(srv->mhd);
		srv->mhd = NULL;
		return NULL;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	fds[0] = (struct pollfd){ .fd = info ? info->epoll_fd : -1, .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = srv->quit_fd, .events = POLLIN };
	for (;;) {
		MHD_UNSIGNED_LONG_LONG to;
		int timeout = -1;

		if (MHD_get_timeout(srv->mhd, &to) == MHD_YES)
			timeout = to > 60000 ? 60000 : (int)to;
		if (poll(fds, 2, timeout) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		MHD_run(srv->mhd);
	}
	/* Here, not on the main thread: closing connections needs shutdown(2), which only
	 * this thread's filter allows. */
	MHD_stop_daemon(srv->mhd);
	srv->mhd = NULL;
	return NULL;
}

/* Is someone accepting on @path? A refused connect means a stale socket file. */
static bool api_socket_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return true;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno != ECONNREFUSED;
	close(fd);
	return live;
}

static int api_bind(struct api_server *srv, const char *path, char *why, size_t whylen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	const char *slash;
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path))
		return errf(why, whylen, -ENAMETOOLONG,
			    "--api-sock %s: path longer than %zu bytes; use a shorter path", path,
			    sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return errf(why, whylen, -EADDRINUSE,
				    "--api-sock %s: a file that is not a socket is in the way; "
				    "remove it or pick another path", path);
		if (api_socket_live(&sa))
			return errf(why, whylen, -EADDRINUSE,
				    "--api-sock %s: another process is serving this socket; "
				    "pick another path", path);
		unlink(path); /* stale: left by a process that was killed */
	}
	srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (srv->listen_fd < 0)
		return errf(why, whylen, -errno, "API socket: %s", strerror(errno));
	if (bind(srv->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errf(why, whylen, -errno, "--api-sock %s: bind: %s", path, strerror(errno));
	srv->sock_path = strdup(path);
	if (!srv->sock_path) {
		unlink(path);
		return errf(why, whylen, -ENOMEM, "out of memory");
	}
	/* Remember the directory: at exit the socket goes with unlinkat(dir_fd, name). */
	slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else {
		size_t n = slash == path ? 1 : (size_t)(slash - path);

		snprintf(dir, sizeof(dir), "%.*s", (int)n, path);
	}
	srv->sock_name = strdup(slash ? slash + 1 : path);
	srv->dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!srv->sock_name || srv->dir_fd < 0) {
		int e = srv->sock_name ? -errno : -ENOMEM;

		unlink(path);
		return errf(why, whylen, e, "--api-sock %s: directory %s: %s", path, dir, strerror(-e));
	}
	if (listen(srv->listen_fd, API_MAX_CONNECTIONS) < 0)
		return errf(why, whylen, -errno, "--api-sock %s: listen: %s", path, strerror(errno));
	return 0;
}

int api_start(struct api_server *srv, const char *sock_path, size_t max_body,
	      enum seccomp_mode mode, struct event_loop *loop, struct api_ctl *ctl,
	      char *why, size_t whylen)
{
	int r;

	memset(srv, 0, sizeof(*srv));
	srv->listen_fd = srv->quit_fd = srv->mail_fd = srv->dir_fd = -1;
	srv->max_body = max_body;
	srv->seccomp = mode;
	srv->loop = loop;
	srv->ctl = ctl;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	r = api_bind(srv, sock_path, why, whylen);
	if (r < 0)
		goto fail;
	srv->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	srv->mail_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->quit_fd < 0 || srv->mail_fd < 0) {
		r = errf(why, whylen, -errno, "API eventfd: %s", strerror(errno));
		goto fail;
	}
	/* MHD_USE_EPOLL without a thread of its own: this file's thread polls it. */
	srv->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_SUPPRESS_DATE_NO_CLOCK, 0, NULL, NULL,
				    api_on_request, srv,
				    MHD_OPTION_LISTEN_SOCKET, srv->listen_fd,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)API_MAX_CONNECTIONS,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)API_CONN_TIMEOUT_S,
				    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				    MHD_OPTION_NOTIFY_COMPLETED, api_on_completed, srv,
				    MHD_OPTION_END);
	if (!srv->mhd) {
		r = errf(why, whylen, -EIO, "--api-sock %s: cannot start the HTTP server", sock_path);
		goto fail;
	}
	r = event_loop_add(loop, srv->mail_fd, EPOLLIN, api_on_mail, srv);
	if (r < 0) {
		errf(why, whylen, r, "API: event loop: %s", strerror(-r));
		goto fail;
	}
	r = -pthread_create(&srv->thread, NULL, api_thread, srv);
	if (r < 0) {
		errf(why, whylen, r, "API thread: %s", strerror(-r));
		goto fail;
	}
	srv->thread_started = true;
	return 0;
fail:
	api_stop(srv);
	return r;
}

void api_stop(struct api_server *srv)
{
	uint64_t one = 1;

	if (!srv->loop)
		return;
	pthread_mutex_lock(&srv->lock);
	srv->closing = true;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	if (srv->thread_started) {
		if (write(srv->quit_fd, &one, sizeof(one)) < 0)
			log_debug("API quit eventfd: %s", strerror(errno));
		pthread_join(srv->thread, NULL);
		srv->thread_started = false;
	}
	if (srv->mail_fd >= 0)
		event_loop_remove(srv->loop, srv->mail_fd);
	/* Only when the thread never ran: it stops the daemon itself. */
	if (srv->mhd)
		MHD_stop_daemon(srv->mhd); /* closes the connections, not the listen socket */
	srv->mhd = NULL;
	close_fd(&srv->listen_fd);
	close_fd(&srv->quit_fd);
	close_fd(&srv->mail_fd);
	if (srv->sock_name && srv->dir_fd >= 0 && unlinkat(srv->dir_fd, srv->sock_name, 0) < 0 &&
	    errno != ENOENT)
		log_warn("API socket %s: cannot remove it: %s", srv->sock_path, strerror(errno));
	close_fd(&srv->dir_fd);
	free(srv->sock_path);
	free(srv->sock_name);
	srv->sock_path = srv->sock_name = NULL;
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	srv->loop = NULL;
}
