/*
 * test_bus.c — the I/O bus (vmm/bus.c): registration rules and dispatch of
 * accesses inside, outside and across registered ranges.
 */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <stdlib.h>

#include "vmm/bus.h"

/* A device that records its last access and answers reads with its id. */
struct probe {
	uint8_t id;
	unsigned int calls;
	uint64_t offset;
	uint32_t len;
	bool is_write;
	uint8_t written;
};

static void probe_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct probe *p = opaque;

	p->calls++;
	p->offset = offset;
	p->len = len;
	p->is_write = is_write;
	if (is_write)
		p->written = data[0];
	else
		memset(data, p->id, len);
}

struct fixture {
	struct bus bus;
	struct probe a, b, c;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->a.id = 0xa;
	f->b.id = 0xb;
	f->c.id = 0xc;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void dispatch_passes_offset_within_range(void **state)
{
	struct fixture *f = *state;
	uint8_t v = 0x42;

	assert_int_equal(bus_register(&f->bus, 0x3f8, 8, probe_io, &f->a), 0);
	assert_true(bus_dispatch(&f->bus, 0x3fb, &v, 1, true));
	assert_int_equal(f->a.offset, 3);
	assert_int_equal(f->a.len, 1);
	assert_true(f->a.is_write);
	assert_int_equal(f->a.written, 0x42);
}

static void read_fills_data(void **state)
{
	struct fixture *f = *state;
	uint8_t v[4] = { 0 };

	assert_int_equal(bus_register(&f->bus, 0x1000, 0x100, probe_io, &f->a), 0);
	assert_true(bus_dispatch(&f->bus, 0x10fc, v, 4, false));
	assert_memory_equal(v, "\x0a\x0a\x0a\x0a", 4);
	assert_int_equal(f->a.offset, 0xfc);
}

static void unclaimed_read_is_all_ones(void **state)
{
	struct fixture *f = *state;
	uint8_t v[8] = { 0 };

	assert_int_equal(bus_register(&f->bus, 0x1000, 0x100, probe_io, &f->a), 0);
	assert_false(bus_dispatch(&f->bus, 0x2000, v, 8, false));
	assert_memory_equal(v, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	assert_false(bus_dispatch(&f->bus, 0xfff, v, 1, false)); /* just below */
	assert_int_equal(f->a.calls, 0);
}

static void unclaimed_write_is_dropped(void **state)
{
	struct fixture *f = *state;
	uint8_t v = 1;

	assert_int_equal(bus_register(&f->bus, 0x1000, 0x100, probe_io, &f->a), 0);
	assert_false(bus_dispatch(&f->bus, 0x1100, &v, 1, true)); /* one past the end */
	assert_int_equal(f->a.calls, 0);
}

static void empty_bus_dispatch(void **state)
{
	struct fixture *f = *state;
	uint8_t v = 0;

	assert_false(bus_dispatch(&f->bus, 0, &v, 1, false));
	assert_int_equal(v, 0xff);
}

static void access_straddling_range_end_not_delivered(void **state)
{
	struct fixture *f = *state;
	uint8_t v[4] = { 0 };

	assert_int_equal(bus_register(&f->bus, 0x1000, 0x100, probe_io, &f->a), 0);
	assert_int_equal(bus_register(&f->bus, 0x1100, 0x100, probe_io, &f->b), 0);
	assert_false(bus_dispatch(&f->bus, 0x10fe, v, 4, false));
	assert_memory_equal(v, "\xff\xff\xff\xff", 4);
	assert_int_equal(f->a.calls + f->b.calls, 0);
}

static void access_at_top_of_address_space(void **state)
{
	struct fixture *f = *state;
	uint8_t v[8] = { 0 };

	assert_int_equal(bus_register(&f->bus, UINT64_MAX - 0xff, 0xff, probe_io, &f->a), 0);
	assert_false(bus_dispatch(&f->bus, UINT64_MAX - 3, v, 8, false));
	assert_true(bus_dispatch(&f->bus, UINT64_MAX - 0xff, v, 8, false));
	assert_false(bus_dispatch(&f->bus, UINT64_MAX, v, 1, false));
}

static void ranges_registered_out_of_order(void **state)
{
	struct fixture *f = *state;
	uint8_t v = 0;

	assert_int_equal(bus_register(&f->bus, 0x300, 0x10, probe_io, &f->c), 0);
	assert_int_equal(bus_register(&f->bus, 0x100, 0x10, probe_io, &f->a), 0);
	assert_int_equal(bus_register(&f->bus, 0x200, 0x10, probe_io, &f->b), 0);
	assert_true(bus_dispatch(&f->bus, 0x105, &v, 1, false));
	assert_int_equal(v, 0xa);
	assert_true(bus_dispatch(&f->bus, 0x20f, &v, 1, false));
	assert_int_equal(v, 0xb);
	assert_true(bus_dispatch(&f->bus, 0x300, &v, 1, false));
	assert_int_equal(v, 0xc);
	assert_false(bus_dispatch(&f->bus, 0x210, &v, 1, false));
}

static void overlapping_registration_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(bus_register(&f->bus, 0x1000, 0x100, probe_io, &f->a), 0);
	assert_int_equal(bus_register(&f->bus, 0x1000, 0x100, probe_io, &f->b), -EEXIST);
	assert_int_equal(bus_register(&f->bus, 0xf00, 0x101, probe_io, &f->b), -EEXIST);
	assert_int_equal(bus_register(&f->bus, 0x10ff, 0x10, probe_io, &f->b), -EEXIST);
	assert_int_equal(bus_register(&f->bus, 0x1010, 0x10, probe_io, &f->b), -EEXIST);
	assert_int_equal(bus_register(&f->bus, 0x0, 0x10000, probe_io, &f->b), -EEXIST);
	assert_int_equal(f->bus.nr, 1);
}

static void adjacent_ranges_accepted(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(bus_register(&f->bus, 0x1000, 0x100, probe_io, &f->a), 0);
	assert_int_equal(bus_register(&f->bus, 0xf00, 0x100, probe_io, &f->b), 0);
	assert_int_equal(bus_register(&f->bus, 0x1100, 0x100, probe_io, &f->c), 0);
}

static void bad_ranges_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(bus_register(&f->bus, 0x1000, 0, probe_io, &f->a), -EINVAL);
	assert_int_equal(bus_register(&f->bus, UINT64_MAX - 0xf, 0x20, probe_io, &f->a), -EINVAL);
	assert_int_equal(bus_register(&f->bus, 0x1000, 0x10, NULL, &f->a), -EINVAL);
	assert_int_equal(f->bus.nr, 0);
}

static void full_table_refused(void **state)
{
	struct fixture *f = *state;

	for (unsigned int i = 0; i < BUS_MAX_RANGES; i++)
		assert_int_equal(bus_register(&f->bus, i * 0x10, 0x10, probe_io, &f->a), 0);
	assert_int_equal(bus_register(&f->bus, 0x10000, 0x10, probe_io, &f->a), -ENOSPC);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(dispatch_passes_offset_within_range),
		T(read_fills_data),
		T(unclaimed_read_is_all_ones),
		T(unclaimed_write_is_dropped),
		T(empty_bus_dispatch),
		T(access_straddling_range_end_not_delivered),
		T(access_at_top_of_address_space),
		T(ranges_registered_out_of_order),
		T(overlapping_registration_refused),
		T(adjacent_ranges_accepted),
		T(bad_ranges_refused),
		T(full_table_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
