/*
 * fuzz_util.h — what the libFuzzer targets share: guest RAM between
 * PROT_NONE guard pages (any access outside it faults) and a reader that
 * turns the input into numbers (zeroes once it runs out).
 */
#ifndef BRISK_FUZZ_UTIL_H
#define BRISK_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "virtio/mmio.h"

#define GUARD 4096

/* @size bytes of zeroed RAM with a guard page on each side; aborts on failure. */
static inline uint8_t *map_ram(size_t size)
{
	uint8_t *p = mmap(NULL, size + 2 * GUARD, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED || mprotect(p + GUARD, size, PROT_READ | PROT_WRITE) < 0)
		abort();
	return p + GUARD;
}

struct reader {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t get8(struct reader *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static inline uint16_t get16(struct reader *r)
{
	return (uint16_t)(get8(r) | get8(r) << 8);
}

static inline uint32_t get32(struct reader *r)
{
	return get16(r) | (uint32_t)get16(r) << 16;
}

/* A descriptor from the input, any values, written verbatim to @d. */
static inline void fuzz_raw_desc(struct reader *r, struct vring_desc *d)
{
	struct vring_desc v;

	v.addr = (uint64_t)get32(r) << 32 | get32(r);
	v.len = get32(r);
	v.flags = get16(r);
	v.next = get16(r);
	memcpy(d, &v, sizeof(v));
}

/*
 * A register write from the input: any offset in the window, width 1, 2
 * or 4. A reset (STATUS = 0) becomes FAILED: resets are their own op.
 */
static inline void fuzz_raw_reg_write(struct reader *r, struct virtio_mmio *vm)
{
	uint32_t off = get16(r) & 0xfff, v = get32(r);
	uint8_t width = (uint8_t)(1u << (get8(r) & 3));

	if (off == VIRTIO_MMIO_STATUS && v == 0)
		v = VIRTIO_CONFIG_S_FAILED;
	virtio_mmio_io(vm, off, (uint8_t *)&v, width > 4 ? 4 : width, true);
}

#endif
