/*
 * bus.h — I/O bus: guest address range → device handler (floor 1).
 *
 * One bus for port I/O and one for MMIO. Devices register at VM build time;
 * vCPU threads dispatch concurrently afterwards without locks (the table is
 * immutable once the VM runs; devices lock their own state).
 */
#ifndef BRISK_BUS_H
#define BRISK_BUS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Access from a vCPU. @offset is relative to the range base (bytes), @data
 * holds @len bytes (1, 2, 4 or 8) in guest byte order. Reads must fill @data.
 */
typedef void (*bus_handler_fn)(void *opaque, uint64_t offset, uint8_t *data,
			       uint32_t len, bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_handler_fn fn;
	void *opaque;
};

#define BUS_MAX_RANGES 32

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES]; /* sorted by base, non-overlapping */
	unsigned int nr;
};

/*
 * Claim [base, base+len) for @fn. Returns 0, -EINVAL (len 0 or wrap),
 * -EEXIST (overlaps a registered range) or -ENOSPC (table full).
 */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 bus_handler_fn fn, void *opaque);

/*
 * Dispatch one access. An access not entirely inside one range is not
 * delivered: reads return all-ones (like an empty ISA/PCI bus), writes are
 * dropped. Returns true when a device handled it.
 */
bool bus_dispatch(const struct bus *bus, uint64_t addr, uint8_t *data,
		  uint32_t len, bool is_write);

#endif
