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
#include <sys/mman.h>

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

#endif
