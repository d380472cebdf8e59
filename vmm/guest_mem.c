/* guest_mem.c — guest RAM mapping and the bounds-checked GPA accessor. */
#include "vmm/guest_mem.h"
#include "vmm/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int guest_mem_init(struct guest_mem *mem, uint64_t ram_size)
{
	uint64_t low;
	void *map;

	memset(mem, 0, sizeof(*mem));
	if (ram_size == 0 || (ram_size & 0xfff) || ram_size > (1ULL << 46))
		return -EINVAL;

	/* Untouched pages cost nothing: hosts can overcommit many guests. */
	map = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return -errno;

	low = MIN(ram_size, MMIO_GAP_START);
	mem->regions[0] = (struct guest_mem_region){ 0, low, map };
	mem->nr_regions = 1;
	if (ram_size > low) {
		mem->regions[1] = (struct guest_mem_region){
			MMIO_GAP_END, ram_size - low, (uint8_t *)map + low
		};
		mem->nr_regions = 2;
	}
	mem->ram_size = ram_size;
	mem->map = map;
	mem->map_size = ram_size;
	return 0;
}

void guest_mem_init_static(struct guest_mem *mem, void *hva, uint64_t size)
{
	memset(mem, 0, sizeof(*mem));
	mem->regions[0] = (struct guest_mem_region){ 0, size, hva };
	mem->nr_regions = 1;
	mem->ram_size = size;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	if (mem->map)
		munmap(mem->map, mem->map_size);
	memset(mem, 0, sizeof(*mem));
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		uint64_t off;

		if (gpa < r->gpa)
			continue;
		off = gpa - r->gpa;
		/* off <= size and len <= size - off: no addition can wrap. */
		if (off > r->size || len > r->size - off)
			continue;
		return r->hva + off;
	}
	return NULL;
}

int guest_mem_read(const struct guest_mem *mem, void *dst, uint64_t gpa, size_t len)
{
	const void *src = guest_mem_ptr(mem, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len)
{
	void *dst = guest_mem_ptr(mem, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

uint64_t guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->nr_regions ? mem->regions[0].gpa + mem->regions[0].size : 0;
}

uint64_t guest_mem_resident(const struct guest_mem *mem)
{
	size_t pages = mem->map_size / 4096;
	uint64_t resident = 0;
	unsigned char *vec;

	if (!mem->map || !(vec = malloc(pages)))
		return 0;
	if (mincore(mem->map, mem->map_size, vec) == 0)
		for (size_t i = 0; i < pages; i++)
			resident += vec[i] & 1;
	free(vec);
	return resident * 4096;
}
