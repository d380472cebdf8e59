/*
 * test_guest_mem.c — guest RAM and the one bounds-checked accessor
 * (vmm/guest_mem.c): every range that is not entirely inside one RAM region
 * is refused, whatever 64-bit values the guest hands in.
 */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <stdlib.h>

#define LOW (16 * TEST_MiB)
#define HIGH (8 * TEST_MiB)

struct fixture {
	struct fake_mem one; /* LOW bytes at 0 */
	struct fake_mem two; /* LOW bytes at 0, HIGH bytes at 4 GiB */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_mem_init(&f->one, LOW);
	fake_mem_init_split(&f->two, LOW, HIGH);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fake_mem_destroy(&f->one);
	fake_mem_destroy(&f->two);
	free(f);
	return 0;
}

static uint8_t *host(struct fake_mem *fm, unsigned int region, uint64_t off)
{
	return (uint8_t *)fm->host[region] + off;
}

static void inside_maps_to_host_offset(void **state)
{
	struct fixture *f = *state;

	assert_ptr_equal(guest_mem_ptr(&f->one.mem, 0, 1), host(&f->one, 0, 0));
	assert_ptr_equal(guest_mem_ptr(&f->one.mem, 0x1234, 100), host(&f->one, 0, 0x1234));
	assert_ptr_equal(guest_mem_ptr(&f->one.mem, 0, LOW), host(&f->one, 0, 0));
}

static void range_ending_exactly_at_end(void **state)
{
	struct fixture *f = *state;

	assert_ptr_equal(guest_mem_ptr(&f->one.mem, LOW - 4, 4), host(&f->one, 0, LOW - 4));
	assert_null(guest_mem_ptr(&f->one.mem, LOW - 4, 5));
}

static void zero_length(void **state)
{
	struct fixture *f = *state;

	assert_non_null(guest_mem_ptr(&f->one.mem, 0x1000, 0));
	assert_non_null(guest_mem_ptr(&f->one.mem, LOW, 0)); /* the end of a region */
	assert_null(guest_mem_ptr(&f->one.mem, LOW + 1, 0));
	assert_null(guest_mem_ptr(&f->one.mem, UINT64_MAX, 0));
}

static void past_the_end(void **state)
{
	struct fixture *f = *state;

	assert_null(guest_mem_ptr(&f->one.mem, LOW, 1));
	assert_null(guest_mem_ptr(&f->one.mem, LOW + 0x1000, 8));
	assert_null(guest_mem_ptr(&f->one.mem, 0, LOW + 1));
}

static void wrap_past_2_64(void **state)
{
	struct fixture *f = *state;

	assert_null(guest_mem_ptr(&f->one.mem, UINT64_MAX, 2));
	assert_null(guest_mem_ptr(&f->one.mem, 1, UINT64_MAX));
	assert_null(guest_mem_ptr(&f->one.mem, UINT64_MAX - 0xfff, 0x2000));
	assert_null(guest_mem_ptr(&f->two.mem, MMIO_GAP_END + 0x1000, UINT64_MAX - 0x800));
}

static void second_region(void **state)
{
	struct fixture *f = *state;

	assert_ptr_equal(guest_mem_ptr(&f->two.mem, MMIO_GAP_END, 1), host(&f->two, 1, 0));
	assert_ptr_equal(guest_mem_ptr(&f->two.mem, MMIO_GAP_END + HIGH - 8, 8),
			 host(&f->two, 1, HIGH - 8));
	assert_null(guest_mem_ptr(&f->two.mem, MMIO_GAP_END + HIGH - 8, 9));
}

static void straddling_two_regions_refused(void **state)
{
	struct fixture *f = *state;

	/* From the end of low RAM across the gap into high RAM. */
	assert_null(guest_mem_ptr(&f->two.mem, LOW - 0x10, MMIO_GAP_END - LOW + 0x20));
	assert_null(guest_mem_ptr(&f->two.mem, LOW - 1, 2));
}

static void hole_and_mmio_gap_refused(void **state)
{
	struct fixture *f = *state;

	assert_null(guest_mem_ptr(&f->two.mem, LOW, 1));
	assert_null(guest_mem_ptr(&f->two.mem, MMIO_GAP_START, 4));
	assert_null(guest_mem_ptr(&f->two.mem, 0xfec00000, 4)); /* IOAPIC */
	assert_null(guest_mem_ptr(&f->two.mem, MMIO_GAP_END - 1, 2));
}

static void copy_helpers(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[4] = { 1, 2, 3, 4 }, back[4] = { 0 };

	assert_int_equal(guest_mem_write(&f->two.mem, MMIO_GAP_END + 16, buf, 4), 0);
	assert_memory_equal(host(&f->two, 1, 16), buf, 4);
	assert_int_equal(guest_mem_read(&f->two.mem, back, MMIO_GAP_END + 16, 4), 0);
	assert_memory_equal(back, buf, 4);
	assert_int_equal(guest_mem_write(&f->two.mem, LOW - 2, buf, 4), -EFAULT);
	assert_int_equal(guest_mem_read(&f->two.mem, back, UINT64_MAX - 1, 4), -EFAULT);
	/* Nothing was written by the refused copy. */
	assert_int_equal(*host(&f->two, 0, LOW - 2), 0);
}

static void low_end(void **state)
{
	struct fixture *f = *state;
	struct guest_mem empty = { 0 };

	assert_int_equal(guest_mem_low_end(&f->two.mem), LOW);
	assert_int_equal(guest_mem_low_end(&empty), 0);
	assert_null(guest_mem_ptr(&empty, 0, 0));
}

/* ---- guest_mem_init: the real mapping ---- */

static void init_small_vm_is_one_region(void **state)
{
	struct guest_mem mem;

	(void)state;
	assert_int_equal(guest_mem_init(&mem, 256 * TEST_MiB), 0);
	assert_int_equal(mem.nr_regions, 1);
	assert_int_equal(mem.regions[0].gpa, 0);
	assert_int_equal(mem.regions[0].size, 256 * TEST_MiB);
	assert_int_equal(mem.ram_size, 256 * TEST_MiB);
	assert_non_null(guest_mem_ptr(&mem, 256 * TEST_MiB - 1, 1));
	assert_null(guest_mem_ptr(&mem, 256 * TEST_MiB, 1));
	guest_mem_destroy(&mem);
}

static void init_exactly_3gib_is_one_region(void **state)
{
	struct guest_mem mem;

	(void)state;
	assert_int_equal(guest_mem_init(&mem, MMIO_GAP_START), 0);
	assert_int_equal(mem.nr_regions, 1);
	assert_int_equal(guest_mem_low_end(&mem), MMIO_GAP_START);
	guest_mem_destroy(&mem);
}

static void init_large_vm_splits_around_the_gap(void **state)
{
	struct guest_mem mem;
	uint8_t *map;

	(void)state;
	assert_int_equal(guest_mem_init(&mem, 5 * TEST_GiB), 0);
	map = mem.map;
	assert_int_equal(mem.nr_regions, 2);
	assert_int_equal(mem.regions[0].gpa, 0);
	assert_int_equal(mem.regions[0].size, 3 * TEST_GiB);
	assert_int_equal(mem.regions[1].gpa, 4 * TEST_GiB);
	assert_int_equal(mem.regions[1].size, 2 * TEST_GiB);
	assert_int_equal(mem.ram_size, 5 * TEST_GiB);
	assert_int_equal(guest_mem_low_end(&mem), 3 * TEST_GiB);
	/* One host mapping: high RAM continues right after low RAM. */
	assert_ptr_equal(guest_mem_ptr(&mem, 4 * TEST_GiB, 1), map + 3 * TEST_GiB);
	assert_ptr_equal(guest_mem_ptr(&mem, 6 * TEST_GiB - 1, 1), map + 5 * TEST_GiB - 1);
	assert_null(guest_mem_ptr(&mem, 6 * TEST_GiB, 1));
	assert_null(guest_mem_ptr(&mem, 3 * TEST_GiB, 1));
	*(uint8_t *)guest_mem_ptr(&mem, 4 * TEST_GiB, 1) = 7; /* really mapped */
	guest_mem_destroy(&mem);
}

static void init_bad_sizes_refused(void **state)
{
	struct guest_mem mem;

	(void)state;
	assert_int_equal(guest_mem_init(&mem, 0), -EINVAL);
	assert_int_equal(guest_mem_init(&mem, 4096 + 1), -EINVAL);
	assert_int_equal(guest_mem_init(&mem, UINT64_MAX & ~0xfffULL), -EINVAL);
	assert_int_equal(mem.nr_regions, 0);
	guest_mem_destroy(&mem); /* safe on the failed, zeroed struct */
}

static void destroy_twice_is_safe(void **state)
{
	struct guest_mem mem;

	(void)state;
	assert_int_equal(guest_mem_init(&mem, 16 * TEST_MiB), 0);
	guest_mem_destroy(&mem);
	guest_mem_destroy(&mem);
	assert_null(guest_mem_ptr(&mem, 0, 1));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(inside_maps_to_host_offset),
		T(range_ending_exactly_at_end),
		T(zero_length),
		T(past_the_end),
		T(wrap_past_2_64),
		T(second_region),
		T(straddling_two_regions_refused),
		T(hole_and_mmio_gap_refused),
		T(copy_helpers),
		T(low_end),
		T(init_small_vm_is_one_region),
		T(init_exactly_3gib_is_one_region),
		T(init_large_vm_splits_around_the_gap),
		T(init_bad_sizes_refused),
		T(destroy_twice_is_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
