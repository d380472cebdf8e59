/* boot_timer.c — logs guest boot time on the magic write. */
#include "vmm/boot_timer.h"
#include "vmm/util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void boot_timer_init(struct boot_timer *bt, uint64_t start_us, uint64_t start_cpu_us, bool enabled)
{
	memset(bt, 0, sizeof(*bt));
	bt->start_us = start_us;
	bt->start_cpu_us = start_cpu_us;
	bt->enabled = enabled;
}

uint64_t boot_timer_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

void boot_timer_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct boot_timer *bt = opaque;
	uint64_t wall, cpu;
	char line[160];
	int n;

	(void)offset;
	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (len < 1 || data[0] != BOOT_TIMER_MAGIC)
		return;
	wall = util_now_us() - bt->start_us;
	cpu = boot_timer_cpu_us() - bt->start_cpu_us;
	/* Only the first write counts: guests may signal on both port and MMIO. */
	if (bt->boot_us != 0)
		return;
	bt->boot_us = wall ? wall : 1;
	if (!bt->enabled)
		return;
	/* Firecracker's format, so scripts written for it keep working. */
	n = snprintf(line, sizeof(line),
		     "Guest-boot-time = %6llu us %llu ms, %6llu CPU us %llu CPU ms\n",
		     (unsigned long long)wall, (unsigned long long)(wall / 1000),
		     (unsigned long long)cpu, (unsigned long long)(cpu / 1000));
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
