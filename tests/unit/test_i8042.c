/*
 * test_i8042.c — the PS/2 controller stub (vmm/i8042.c): the two ways a
 * guest resets the machine, and the command-byte protocol Linux's driver
 * and reboot code use.
 */
#include "tests/unit/testlib.h"

#include <stdlib.h>

#include "vmm/i8042.h"

#define STS_OBF 0x01
#define STS_CMD 0x08

struct fixture {
	struct i8042 kbd;
	unsigned int resets;
};

static void on_reset(void *opaque)
{
	struct fixture *f = opaque;

	f->resets++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	i8042_init(&f->kbd, on_reset, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	i8042_destroy(&f->kbd);
	free(f);
	return 0;
}

static void cmd(struct fixture *f, uint8_t v)
{
	i8042_cmd_io(&f->kbd, 0, &v, 1, true);
}

static void data_out(struct fixture *f, uint8_t v)
{
	i8042_data_io(&f->kbd, 0, &v, 1, true);
}

static uint8_t status(struct fixture *f)
{
	uint8_t v = 0;

	i8042_cmd_io(&f->kbd, 0, &v, 1, false);
	return v;
}

static uint8_t data_in(struct fixture *f)
{
	uint8_t v = 0;

	i8042_data_io(&f->kbd, 0, &v, 1, false);
	return v;
}

static void pulse_reset_command_resets(void **state)
{
	struct fixture *f = *state;

	cmd(f, 0xfe);
	assert_int_equal(f->resets, 1);
}

static void output_port_bit0_clear_resets(void **state)
{
	struct fixture *f = *state;

	cmd(f, 0xd1);
	assert_int_equal(f->resets, 0);
	data_out(f, 0xfe);
	assert_int_equal(f->resets, 1);
}

static void output_port_bit0_set_does_not_reset(void **state)
{
	struct fixture *f = *state;

	cmd(f, 0xd1);
	data_out(f, 0xdf); /* A20 on, CPU running */
	assert_int_equal(f->resets, 0);
}

static void data_without_command_does_not_reset(void **state)
{
	struct fixture *f = *state;

	data_out(f, 0x00); /* for the (absent) keyboard */
	assert_int_equal(f->resets, 0);
}

static void command_byte_round_trip(void **state)
{
	struct fixture *f = *state;

	cmd(f, 0x20);
	assert_true(status(f) & STS_OBF);
	assert_int_equal(data_in(f), 0x04); /* reset value: system flag */
	assert_false(status(f) & STS_OBF);
	cmd(f, 0x60);
	assert_true(status(f) & STS_CMD); /* waiting for the data byte */
	data_out(f, 0x47);
	assert_false(status(f) & STS_CMD);
	cmd(f, 0x20);
	assert_int_equal(data_in(f), 0x47);
	assert_int_equal(f->resets, 0);
}

static void self_test_passes(void **state)
{
	struct fixture *f = *state;

	cmd(f, 0xaa);
	assert_int_equal(data_in(f), 0x55);
	cmd(f, 0xab); /* keyboard interface test */
	assert_int_equal(data_in(f), 0x00);
}

static void read_output_port_says_cpu_running(void **state)
{
	struct fixture *f = *state;

	cmd(f, 0xd0);
	assert_int_equal(data_in(f) & 1, 1);
}

static void reset_without_callback_is_harmless(void **state)
{
	struct i8042 kbd;
	uint8_t v = 0xfe;

	(void)state;
	i8042_init(&kbd, NULL, NULL);
	i8042_cmd_io(&kbd, 0, &v, 1, true);
	i8042_destroy(&kbd);
}

static void wide_accesses_ignored(void **state)
{
	struct fixture *f = *state;
	uint8_t v[4] = { 0xfe, 0xfe, 0xfe, 0xfe };

	i8042_cmd_io(&f->kbd, 0, v, 2, true);
	assert_int_equal(f->resets, 0);
	memset(v, 0, sizeof(v));
	i8042_cmd_io(&f->kbd, 0, v, 4, false);
	assert_memory_equal(v, "\xff\xff\xff\xff", 4); /* bus.h: reads fill @data */
	memset(v, 0, sizeof(v));
	i8042_data_io(&f->kbd, 0, v, 2, false);
	assert_memory_equal(v, "\xff\xff", 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(pulse_reset_command_resets),
		T(output_port_bit0_clear_resets),
		T(output_port_bit0_set_does_not_reset),
		T(data_without_command_does_not_reset),
		T(command_byte_round_trip),
		T(self_test_passes),
		T(read_output_port_says_cpu_running),
		T(reset_without_callback_is_harmless),
		T(wide_accesses_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
