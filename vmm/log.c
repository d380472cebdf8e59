/* log.c — one line per message, written with a single write(2) so threads do not interleave. */
#include "vmm/log.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 1024

static enum log_level log_level = LOG_WARN;
static bool log_off;
static int log_fd = STDERR_FILENO;
static enum log_format log_format = LOG_FORMAT_TEXT;
static bool log_show_level, log_show_origin;

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_off ? LOG_ERROR : log_level;
}

void log_set_off(bool off)
{
	log_off = off;
}

void log_set_output(int fd, enum log_format format, bool show_level, bool show_origin)
{
	log_fd = fd;
	log_format = format;
	log_show_level = show_level;
	log_show_origin = show_origin;
}

int log_parse_format(const char *s, enum log_format *out)
{
	if (!strcmp(s, "text"))
		*out = LOG_FORMAT_TEXT;
	else if (!strcmp(s, "json"))
		*out = LOG_FORMAT_JSON;
	else
		return -EINVAL;
	return 0;
}

/* Best effort: there is nowhere else to report a failing log. */
static void log_write(const char *buf, size_t n)
{
	if (write(log_fd, buf, n) < 0)
		return;
}

static void log_json(enum log_level level, const char *file, int line, const char *msg)
{
	char ts[80], origin[128], thread[16] = "";
	struct timespec now;
	struct tm tm;
	json_t *o;
	char *s;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000);
	snprintf(origin, sizeof(origin), "%s:%d", file, line);
	pthread_getname_np(pthread_self(), thread, sizeof(thread));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "ts", ts, "level", level_names[level],
		      "thread", thread, "msg", msg, "origin", origin);
	s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(o);
	if (s) {
		size_t n = strlen(s);

		s[n] = '\n'; /* json_dumps' NUL becomes the newline: one write */
		log_write(s, n + 1);
		free(s);
	}
}

void log_msg(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	char buf[LOG_LINE_MAX];
	va_list ap;
	int n;

	if (log_off || level > log_level)
		return;
	if (log_format == LOG_FORMAT_JSON) {
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		log_json(level, file, line, buf);
		return;
	}
	n = snprintf(buf, sizeof(buf), "brisk: ");
	if (log_show_level)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s: ", level_names[level]);
	if (log_show_origin)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s:%d: ", file, line);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	log_write(buf, (size_t)n);
}
