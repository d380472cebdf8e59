/*
 * guest_mem.h — guest physical memory and the one bounds-checked accessor (floor 1).
 *
 * Every access to guest memory by brisk goes through guest_mem_ptr() (or the
 * copy helpers built on it): a GPA range is valid only when it lies entirely
 * inside one RAM region, computed without overflow. Ranges that wrap past
 * 2^64, leave RAM or touch the 32-bit MMIO gap are rejected.
 */
#ifndef BRISK_GUEST_MEM_H
#define BRISK_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 2

struct guest_mem_region {
	uint64_t gpa;  /* guest physical start, bytes */
	uint64_t size; /* bytes */
	uint8_t *hva;  /* host virtual address of gpa */
};

struct guest_mem {
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
	uint64_t ram_size;  /* total RAM, bytes */
	void *map;          /* one host mapping backing all regions */
	size_t map_size;
};

/* x86_64 layout (Firecracker's): RAM below the MMIO gap, the rest from 4 GiB. */
#define MMIO_GAP_START 0xC0000000ULL
#define MMIO_GAP_END 0x100000000ULL

/*
 * Map @ram_size bytes (> 0, multiple of 4 KiB) of anonymous
 * MAP_PRIVATE|MAP_NORESERVE memory and split it around the MMIO gap.
 * Returns 0, -EINVAL for a bad size, or -errno from mmap.
 */
int guest_mem_init(struct guest_mem *mem, uint64_t ram_size);

/*
 * Describe caller-owned host memory @hva as one region at GPA 0 (unit tests,
 * fuzzers). Nothing is freed by guest_mem_destroy().
 */
void guest_mem_init_static(struct guest_mem *mem, void *hva, uint64_t size);

/* Unmap the guest RAM; safe on a zeroed or already destroyed struct. */
void guest_mem_destroy(struct guest_mem *mem);

/*
 * The accessor: host pointer to [gpa, gpa+len) when that whole range is RAM
 * inside a single region, else NULL. len 0 is valid when gpa itself is RAM or
 * the end of a region. Overflow-safe for any 64-bit inputs.
 */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy between host and guest memory through the accessor. 0 or -EFAULT. */
int guest_mem_read(const struct guest_mem *mem, void *dst, uint64_t gpa, size_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len);

/*
 * Bytes of guest RAM resident in host memory now (mincore over the mapping),
 * for the memory-overhead report. 0 when unknown.
 */
uint64_t guest_mem_resident(const struct guest_mem *mem);

/* End of RAM below the MMIO gap (exclusive GPA, bytes). */
uint64_t guest_mem_low_end(const struct guest_mem *mem);

#endif
