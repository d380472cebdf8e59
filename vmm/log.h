/*
 * log.h — brisk's log lines (floor 1).
 *
 * Human-readable "brisk: message" lines on stderr by default; the logger
 * section (Firecracker's PUT /logger, --log-path) can send them to a file
 * or FIFO and add the level and the source location, and --log-format json
 * writes one JSON object per line for machines:
 * {"ts":"2026-12-02T00:52:31.123456Z","level":"WARN","thread":"brisk-api",
 *  "msg":"...", "origin":"vmm/api.c:42"}.
 */
#ifndef BRISK_LOG_H
#define BRISK_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Messages at or below @level are printed; default LOG_WARN. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Nothing is printed at all ("Off"). */
void log_set_off(bool off);

/*
 * Where and how: @fd (borrowed; STDERR_FILENO by default), line format,
 * whether text lines show the level and the source file:line (JSON lines
 * always carry both). Call before other threads log.
 */
void log_set_output(int fd, enum log_format format, bool show_level, bool show_origin);

/* "text" / "json" → *@out. 0 or -EINVAL. */
int log_parse_format(const char *s, enum log_format *out);

/* One line, written with a single write(2) so threads do not interleave. */
void log_msg(enum log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_err(...) log_msg(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
