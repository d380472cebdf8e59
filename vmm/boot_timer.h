/*
 * boot_timer.h — Firecracker-compatible boot timer (floor 2).
 *
 * A guest init writes the byte 123 to I/O port 0x03f0 or to the MMIO address
 * 0xC000_0000 (Firecracker's boot-timer window) when it reaches user space;
 * brisk then logs (once, for the first such write) the wall and CPU time
 * since it started, in Firecracker's line format so existing tooling parses it.
 */
#ifndef BRISK_BOOT_TIMER_H
#define BRISK_BOOT_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define BOOT_TIMER_PORT 0x03f0
#define BOOT_TIMER_MMIO 0xC0000000ULL
#define BOOT_TIMER_MMIO_SIZE 0x1000
#define BOOT_TIMER_MAGIC 123

struct boot_timer {
	uint64_t start_us;     /* CLOCK_MONOTONIC at process start, µs */
	uint64_t start_cpu_us; /* process CPU time at start, µs */
	bool enabled;          /* print the line (--boot-timer) */
	uint64_t boot_us;      /* wall µs from start to the first 123, 0 if never */
};

void boot_timer_init(struct boot_timer *bt, uint64_t start_us, uint64_t start_cpu_us, bool enabled);

/* Bus handler for both the port and the MMIO window (any width; byte 0 counts). */
void boot_timer_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* Process CPU time (user + system), µs. */
uint64_t boot_timer_cpu_us(void);

#endif
