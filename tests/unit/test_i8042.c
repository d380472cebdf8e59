/*
 * test_i8042.c — the PS/2 controller (vmm/i8042.c): the two ways a guest
 * resets the machine, the command-byte protocol Linux's driver and reboot
 * code use, and Ctrl-Alt-Del through the keyboard: scan code order, the
 * output buffer and OBF, IRQ 1 edges, a full keyboard buffer, controller
 * responses among keyboard bytes, the keyboard-disable and interrupt-enable
 * bits, keyboard commands, and hostile port sequences.
 */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmm/i8042.h"

#define STS_OBF 0x01
#define STS_CMD 0x08
#define STS_UNLOCKED 0x10

#define CTR_KBDINT 0x01
#define CTR_SYS 0x04
#define CTR_KBDDIS 0x10

static const uint8_t cad_codes[] = {
	0x14, 0x11, 0xe0, 0x71,                   /* Ctrl, Alt, Del down */
	0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14, /* Del, Alt, Ctrl up */
};
#define CAD_LEN ((int)sizeof(cad_codes))

struct fixture {
	struct i8042 kbd;
	unsigned int resets;
	unsigned int irqs;
};

static void on_reset(void *opaque)
{
	struct fixture *f = opaque;

	f->resets++;
}

static void on_irq(void *opaque)
{
	struct fixture *f = opaque;

	f->irqs++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	i8042_init(&f->kbd, on_reset, on_irq, f);
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

static void write_ctr(struct fixture *f, uint8_t v)
{
	cmd(f, 0x60);
	data_out(f, v);
}

/* Read while OBF is set, at most @max bytes, into @buf; returns the count. */
static int drain(struct fixture *f, uint8_t *buf, int max)
{
	int n = 0;

	while (n < max && (status(f) & STS_OBF))
		buf[n++] = data_in(f);
	return n;
}

static void expect_cad(struct fixture *f)
{
	uint8_t got[2 * I8042_QUEUE_SIZE];

	assert_int_equal(drain(f, got, (int)sizeof(got)), CAD_LEN);
	assert_memory_equal(got, cad_codes, sizeof(cad_codes));
}

/* ---- reset and the command byte (the stub's original job) ---------------- */

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

	data_out(f, 0x00); /* for the keyboard */
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

static void new_command_abandons_pending_one(void **state)
{
	struct fixture *f = *state;

	cmd(f, 0x60);
	cmd(f, 0x20); /* the 0x60 is dropped */
	assert_false(status(f) & STS_CMD);
	assert_int_equal(data_in(f), 0x04);
	data_out(f, 0xf4); /* now a keyboard command, not the command byte */
	assert_int_equal(data_in(f), 0xfa);
	cmd(f, 0x20);
	assert_int_equal(data_in(f), 0x04);
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

/* Linux warns "Keylock active" when status bit 4 is clear. */
static void status_says_keyboard_unlocked(void **state)
{
	struct fixture *f = *state;

	assert_true(status(f) & STS_UNLOCKED);
	assert_int_equal(status(f) & STS_OBF, 0);
}

static void reset_without_callbacks_is_harmless(void **state)
{
	struct i8042 kbd;
	uint8_t v = 0xfe;

	(void)state;
	i8042_init(&kbd, NULL, NULL, NULL);
	assert_int_equal(i8042_send_ctrl_alt_del(&kbd), 0);
	i8042_cmd_io(&kbd, 0, &v, 1, true);
	v = 0x60;
	i8042_cmd_io(&kbd, 0, &v, 1, true);
	v = 0x05; /* keyboard interrupt on: an edge with no callback */
	i8042_data_io(&kbd, 0, &v, 1, true);
	i8042_data_io(&kbd, 0, &v, 1, false);
	assert_int_equal(v, 0x14);
	i8042_destroy(&kbd);
}

static void wide_accesses_ignored(void **state)
{
	struct fixture *f = *state;
	uint8_t v[4] = { 0xfe, 0xfe, 0xfe, 0xfe };

	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	i8042_cmd_io(&f->kbd, 0, v, 2, true);
	assert_int_equal(f->resets, 0);
	memset(v, 0, sizeof(v));
	i8042_cmd_io(&f->kbd, 0, v, 4, false);
	assert_memory_equal(v, "\xff\xff\xff\xff", 4); /* bus.h: reads fill @data */
	memset(v, 0, sizeof(v));
	i8042_data_io(&f->kbd, 0, v, 2, false);
	assert_memory_equal(v, "\xff\xff", 2);
	expect_cad(f); /* a wide read popped nothing */
}

/* ---- Ctrl-Alt-Del -------------------------------------------------------------- */

static void cad_scan_codes_in_order(void **state)
{
	struct fixture *f = *state;

	assert_false(status(f) & STS_OBF);
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	assert_true(status(f) & STS_OBF);
	expect_cad(f);
	assert_false(status(f) & STS_OBF);
	/* An empty buffer reads the last byte again and pops nothing. */
	assert_int_equal(data_in(f), 0x14);
	assert_false(status(f) & STS_OBF);
}

/* Reset-time command byte: keyboard interrupt off, so no IRQ, but a polling
 * guest (the test guest) still reads the bytes. */
static void cad_no_irq_until_guest_enables_it(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	assert_int_equal(f->irqs, 0);
	write_ctr(f, CTR_SYS | CTR_KBDINT);
	assert_int_equal(f->irqs, 1); /* the line rises with data waiting */
	write_ctr(f, CTR_SYS | CTR_KBDINT);
	assert_int_equal(f->irqs, 1); /* no new edge */
	expect_cad(f);
	assert_int_equal(f->irqs, CAD_LEN);
}

/* One edge per byte: the guest reads one byte per interrupt. */
static void cad_irq_per_byte(void **state)
{
	struct fixture *f = *state;

	write_ctr(f, CTR_SYS | CTR_KBDINT);
	assert_int_equal(f->irqs, 0);
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	assert_int_equal(f->irqs, 1);
	for (int i = 0; i < CAD_LEN; i++) {
		assert_true(status(f) & STS_OBF);
		assert_int_equal(f->irqs, (unsigned int)i + 1);
		assert_int_equal(data_in(f), cad_codes[i]);
	}
	assert_int_equal(f->irqs, CAD_LEN);
	data_in(f); /* empty: no edge */
	status(f);
	assert_int_equal(f->irqs, CAD_LEN);
}

/* Clearing the interrupt bit mid-sequence stops the edges, not the bytes. */
static void cad_irq_disabled_mid_sequence(void **state)
{
	struct fixture *f = *state;
	uint8_t got[I8042_QUEUE_SIZE];

	write_ctr(f, CTR_SYS | CTR_KBDINT);
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	assert_int_equal(data_in(f), 0x14);
	assert_int_equal(f->irqs, 2);
	write_ctr(f, CTR_SYS);
	assert_int_equal(drain(f, got, (int)sizeof(got)), CAD_LEN - 1);
	assert_memory_equal(got, cad_codes + 1, CAD_LEN - 1);
	assert_int_equal(f->irqs, 2);
}

static void cad_buffer_full(void **state)
{
	struct fixture *f = *state;
	uint8_t got[2 * I8042_QUEUE_SIZE];

	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), -ENOSPC);
	/* Nothing of the refused request was queued. */
	assert_int_equal(drain(f, got, 3), 3);
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), -ENOSPC);
	assert_int_equal(drain(f, got, 2), 2);
	/* 6 left in flight (one in the output buffer): room for 11 more. */
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	assert_int_equal(drain(f, got, (int)sizeof(got)), 6 + CAD_LEN);
	assert_memory_equal(got, cad_codes + 5, 6);
	assert_memory_equal(got + 6, cad_codes, sizeof(cad_codes));
	assert_false(status(f) & STS_OBF);
}

/* A guest without a keyboard driver never reads: requests are refused, the
 * buffers stay bounded. */
static void cad_never_read_stays_bounded(void **state)
{
	struct fixture *f = *state;
	int ok = 0;

	for (int i = 0; i < 100; i++)
		ok += i8042_send_ctrl_alt_del(&f->kbd) == 0;
	assert_int_equal(ok, 1);
	assert_true(f->kbd.kbd_buf.len + f->kbd.out.len <= 2 * I8042_QUEUE_SIZE);
	expect_cad(f);
}

/* Keyboard interface disabled (0xAD or command byte bit 4): the keyboard
 * keeps its bytes; enabling it hands them over, with an edge. */
static void cad_held_while_keyboard_disabled(void **state)
{
	struct fixture *f = *state;

	write_ctr(f, CTR_SYS | CTR_KBDINT);
	cmd(f, 0xad);
	cmd(f, 0x20);
	assert_int_equal(data_in(f), CTR_SYS | CTR_KBDINT | CTR_KBDDIS);
	f->irqs = 0;
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	assert_false(status(f) & STS_OBF);
	assert_int_equal(f->irqs, 0);
	cmd(f, 0xae);
	assert_int_equal(f->irqs, 1);
	expect_cad(f);

	write_ctr(f, CTR_SYS | CTR_KBDDIS);
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	assert_false(status(f) & STS_OBF);
	f->irqs = 0;
	/* Linux's i8042_enable_kbd_port(): clear KBDDIS and set KBDINT at once. */
	write_ctr(f, CTR_SYS | CTR_KBDINT);
	assert_int_equal(f->irqs, 1);
	expect_cad(f);
}

/* A response lands behind the byte already in the output buffer and ahead
 * of the keyboard's remaining bytes; nothing is lost or reordered. */
static void cad_interleaved_with_responses(void **state)
{
	struct fixture *f = *state;
	uint8_t got[I8042_QUEUE_SIZE];

	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	cmd(f, 0xaa);
	cmd(f, 0x20);
	assert_int_equal(data_in(f), 0x14); /* was in the output buffer */
	assert_int_equal(data_in(f), 0x55);
	assert_int_equal(data_in(f), CTR_SYS);
	assert_int_equal(data_in(f), 0x11);
	cmd(f, 0xab);
	assert_int_equal(data_in(f), 0xe0);
	assert_int_equal(data_in(f), 0x00);
	assert_int_equal(drain(f, got, (int)sizeof(got)), CAD_LEN - 3);
	assert_memory_equal(got, cad_codes + 3, CAD_LEN - 3);

	/* Keyboard disabled: responses pass, keyboard bytes wait. */
	cmd(f, 0xad);
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	cmd(f, 0xaa);
	assert_int_equal(data_in(f), 0x55);
	assert_false(status(f) & STS_OBF);
	cmd(f, 0xae);
	expect_cad(f);
}

/* The order of Linux's probe (i8042_controller_check/_init, then
 * i8042_enable_kbd_port), with Ctrl-Alt-Del sent in the middle and an
 * interrupt handler that reads one byte per edge. */
static void cad_through_linux_probe_sequence(void **state)
{
	struct fixture *f = *state;
	uint8_t ctr, got[I8042_QUEUE_SIZE];
	int n = 0;

	assert_int_equal(drain(f, got, I8042_QUEUE_SIZE), 0); /* i8042_flush */
	cmd(f, 0x20);
	ctr = data_in(f);
	cmd(f, 0x20);
	assert_int_equal(data_in(f), ctr); /* stable CTR read */
	assert_true(status(f) & STS_UNLOCKED);
	write_ctr(f, (uint8_t)((ctr | CTR_KBDDIS) & ~CTR_KBDINT));
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	assert_int_equal(drain(f, got, I8042_QUEUE_SIZE), 0); /* held, not flushed */
	write_ctr(f, (uint8_t)((ctr & ~CTR_KBDDIS) | CTR_KBDINT));
	while (f->irqs > (unsigned int)n && n < (int)sizeof(got)) {
		assert_true(status(f) & STS_OBF);
		got[n++] = data_in(f);
	}
	assert_int_equal(n, CAD_LEN);
	assert_memory_equal(got, cad_codes, sizeof(cad_codes));
	assert_false(status(f) & STS_OBF);
}

/* The irqfd wiring vm.c uses: the callback writes an eventfd. */
static void eventfd_write(void *opaque)
{
	uint64_t one = 1;

	assert_int_equal(write(*(int *)opaque, &one, sizeof(one)), sizeof(one));
}

static void cad_irq_through_eventfd(void **state)
{
	struct i8042 kbd;
	int fd = test_eventfd();
	uint8_t v;

	(void)state;
	i8042_init(&kbd, NULL, eventfd_write, &fd);
	v = 0x60;
	i8042_cmd_io(&kbd, 0, &v, 1, true);
	v = CTR_SYS | CTR_KBDINT;
	i8042_data_io(&kbd, 0, &v, 1, true);
	assert_int_equal(i8042_send_ctrl_alt_del(&kbd), 0);
	assert_int_equal(eventfd_take(fd), 1);
	i8042_data_io(&kbd, 0, &v, 1, false);
	assert_int_equal(v, 0x14);
	assert_int_equal(eventfd_take(fd), 1);
	i8042_destroy(&kbd);
	close(fd);
}

/* ---- keyboard commands (atkbd's probe without i8042.dumbkbd) ----------------- */

static void expect_bytes(struct fixture *f, const uint8_t *want, int n)
{
	uint8_t got[I8042_QUEUE_SIZE];

	assert_int_equal(drain(f, got, (int)sizeof(got)), n);
	assert_memory_equal(got, want, (size_t)n);
}

static void keyboard_answers_atkbd_probe(void **state)
{
	struct fixture *f = *state;

	write_ctr(f, CTR_SYS | CTR_KBDINT);
	data_out(f, 0xf2); /* get id */
	assert_int_equal(f->irqs, 1);
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xab, 0x83 }, 3);
	assert_int_equal(f->irqs, 3);
	data_out(f, 0xf5); /* deactivate */
	expect_bytes(f, (const uint8_t[]){ 0xfa }, 1);
	data_out(f, 0xed); /* set LEDs, parameter 0 */
	expect_bytes(f, (const uint8_t[]){ 0xfa }, 1);
	data_out(f, 0x00);
	expect_bytes(f, (const uint8_t[]){ 0xfa }, 1);
	data_out(f, 0xf3); /* typematic rate */
	data_out(f, 0x00);
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xfa }, 2);
	data_out(f, 0xf0); /* scan code set: get */
	data_out(f, 0x00);
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xfa, 0x02 }, 3);
	data_out(f, 0xf0); /* set 3 asked: acknowledged, set 2 kept and reported */
	data_out(f, 0x03);
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xfa }, 2);
	data_out(f, 0xf0);
	data_out(f, 0x00);
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xfa, 0x02 }, 3);
	data_out(f, 0xee); /* echo: no ACK */
	expect_bytes(f, (const uint8_t[]){ 0xee }, 1);
	data_out(f, 0xfe); /* resend */
	expect_bytes(f, (const uint8_t[]){ 0xee }, 1);
	data_out(f, 0xf4); /* activate */
	expect_bytes(f, (const uint8_t[]){ 0xfa }, 1);
	data_out(f, 0xff); /* reset: ACK, BAT passed */
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xaa }, 2);
	data_out(f, 0xf6); /* anything else: ACK */
	expect_bytes(f, (const uint8_t[]){ 0xfa }, 1);
	assert_int_equal(f->resets, 0);
}

static void scanning_disabled_refuses_cad(void **state)
{
	struct fixture *f = *state;

	data_out(f, 0xf5);
	expect_bytes(f, (const uint8_t[]){ 0xfa }, 1);
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), -EAGAIN);
	assert_false(status(f) & STS_OBF);
	data_out(f, 0xf4);
	expect_bytes(f, (const uint8_t[]){ 0xfa }, 1);
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	expect_cad(f);
	data_out(f, 0xf5);
	data_out(f, 0xff); /* a reset restarts scanning */
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xfa, 0xaa }, 3);
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	expect_cad(f);
}

/* A keyboard command clears what the keyboard had not sent yet; the byte
 * already in the output buffer stays. */
static void keyboard_command_drops_unsent_bytes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	data_out(f, 0xf2);
	expect_bytes(f, (const uint8_t[]){ 0x14, 0xfa, 0xab, 0x83 }, 4);
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	expect_cad(f);
}

static void write_keyboard_output_buffer(void **state)
{
	struct fixture *f = *state;

	write_ctr(f, CTR_SYS | CTR_KBDINT);
	cmd(f, 0xd2);
	assert_true(status(f) & STS_CMD);
	data_out(f, 0x42);
	assert_int_equal(f->irqs, 1);
	expect_bytes(f, (const uint8_t[]){ 0x42 }, 1);
	/* Bytes for the (absent) mouse are consumed, not keyboard commands. */
	cmd(f, 0xd4);
	data_out(f, 0xf2);
	cmd(f, 0xd3);
	data_out(f, 0xff);
	assert_false(status(f) & STS_OBF);
	assert_int_equal(f->resets, 0);
}

static void reset_with_cad_pending(void **state)
{
	struct fixture *f = *state;

	write_ctr(f, CTR_SYS | CTR_KBDINT);
	assert_int_equal(i8042_send_ctrl_alt_del(&f->kbd), 0);
	assert_int_equal(data_in(f), 0x14);
	cmd(f, 0xfe); /* reboot=k right after ctrl_alt_del() */
	assert_int_equal(f->resets, 1);
	cmd(f, 0xd1);
	data_out(f, 0x00);
	assert_int_equal(f->resets, 2);
}

/* ---- hostile guests ------------------------------------------------------------ */

static void commands_without_reads_stay_bounded(void **state)
{
	struct fixture *f = *state;
	uint8_t got[2 * I8042_QUEUE_SIZE];

	for (int i = 0; i < 1000; i++)
		cmd(f, 0x20);
	assert_int_equal(drain(f, got, (int)sizeof(got)), I8042_QUEUE_SIZE);
	/* Each command drops the unsent replies of the one before; the first
	 * ACK had reached the output buffer. */
	for (int i = 0; i < 1000; i++)
		data_out(f, 0xf2);
	expect_bytes(f, (const uint8_t[]){ 0xfa, 0xfa, 0xab, 0x83 }, 4);
	for (int i = 0; i < 1000; i++) {
		cmd(f, 0xd2);
		data_out(f, (uint8_t)i);
	}
	assert_int_equal(drain(f, got, (int)sizeof(got)), I8042_QUEUE_SIZE);
	assert_int_equal(f->resets, 0);
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Random bytes on both ports, reads, and host requests: invariants hold,
 * every edge comes from some operation, resets only from 0xFE / 0xD1. */
static void random_port_traffic(void **state)
{
	struct fixture *f = *state;
	uint32_t seed = 0x8042cad1;
	unsigned int ops = 0, expect_resets = 0;
	uint8_t last_cmd = 0;

	for (int i = 0; i < 200000; i++) {
		uint32_t r = xorshift(&seed);
		uint8_t v = (uint8_t)(r >> 8), st;

		switch (r % 6) {
		case 0:
			expect_resets += v == 0xfe;
			last_cmd = v;
			cmd(f, v);
			break;
		case 1:
			expect_resets += last_cmd == 0xd1 && !(v & 1) &&
					 (status(f) & STS_CMD);
			last_cmd = 0;
			data_out(f, v);
			break;
		case 2:
		case 3:
			data_in(f);
			break;
		case 4:
			st = status(f);
			assert_int_equal(!!(st & STS_OBF), f->kbd.out.len > 0);
			assert_true(st & STS_UNLOCKED);
			break;
		default:
			if ((r >> 16) % 64 == 0) {
				int rc = i8042_send_ctrl_alt_del(&f->kbd);

				assert_true(rc == 0 || rc == -ENOSPC || rc == -EAGAIN);
			}
			break;
		}
		ops++;
		assert_true(f->kbd.out.len <= I8042_QUEUE_SIZE);
		assert_true(f->kbd.kbd_buf.len <= I8042_QUEUE_SIZE);
		assert_true(f->kbd.out.head < I8042_QUEUE_SIZE);
		assert_true(f->kbd.kbd_buf.head < I8042_QUEUE_SIZE);
		assert_true(f->irqs <= ops);
	}
	assert_int_equal(f->resets, expect_resets);
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
		T(new_command_abandons_pending_one),
		T(self_test_passes),
		T(read_output_port_says_cpu_running),
		T(status_says_keyboard_unlocked),
		T(reset_without_callbacks_is_harmless),
		T(wide_accesses_ignored),
		T(cad_scan_codes_in_order),
		T(cad_no_irq_until_guest_enables_it),
		T(cad_irq_per_byte),
		T(cad_irq_disabled_mid_sequence),
		T(cad_buffer_full),
		T(cad_never_read_stays_bounded),
		T(cad_held_while_keyboard_disabled),
		T(cad_interleaved_with_responses),
		T(cad_through_linux_probe_sequence),
		T(cad_irq_through_eventfd),
		T(keyboard_answers_atkbd_probe),
		T(scanning_disabled_refuses_cad),
		T(keyboard_command_drops_unsent_bytes),
		T(write_keyboard_output_buffer),
		T(reset_with_cad_pending),
		T(commands_without_reads_stay_bounded),
		T(random_port_traffic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
