/* log.h — brisk's log lines on stderr (floor 1). */
#ifndef BRISK_LOG_H
#define BRISK_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Messages at or below @level are printed; default LOG_WARN. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Print "brisk: <msg>\n" on stderr when @level is enabled. Thread-safe (one write). */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
