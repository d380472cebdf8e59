/* util.h — small helpers shared by every part of brisk (floor 1). */
#ifndef BRISK_UTIL_H
#define BRISK_UTIL_H

#define BRISK_VERSION "0.2.0"

/* Exit codes (docker run convention, see README "Exit status"). */
#define EXIT_BRISK_FAILED 125
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127

#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Close *fd if open and mark it closed; keeps cleanup paths idempotent. */
static inline void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * Read exactly @len bytes from @fd at byte offset @off.
 * Returns 0, -EIO on a short file, or -errno.
 */
int util_pread_full(int fd, void *buf, size_t len, uint64_t off);

/* Write all @len bytes of @buf to @fd, retrying on EINTR/short writes. 0 or -errno. */
int util_write_full(int fd, const void *buf, size_t len);

/* The same at byte offset @off (pwrite; the file offset does not move). 0 or -errno. */
int util_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

/*
 * Format a one-line reason into @why (@whylen bytes) and return @err, so
 * error paths read `return errf(why, whylen, -EINVAL, "...", ...);`.
 */
int errf(char *why, size_t whylen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Monotonic clock in microseconds. */
uint64_t util_now_us(void);

#endif
