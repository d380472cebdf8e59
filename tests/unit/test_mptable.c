/*
 * test_mptable.c — the MP spec 1.4 table (vmm/mptable.c), read back from
 * guest memory as a guest kernel would: floating pointer, configuration
 * table header, and its entries walked by type.
 */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <stdlib.h>

#include "vmm/mptable.h"
#include "vmm/vm.h"

#define RAM (16 * TEST_MiB)

/* MP spec 1.4 entry types and sizes (bytes). */
#define MP_PROCESSOR 0
#define MP_BUS 1
#define MP_IOAPIC 2
#define MP_INTSRC 3
#define MP_LINTSRC 4
#define MPC_HEADER_SIZE 44

struct fixture {
	struct fake_mem fm;
};

/* What a walk over the configuration table entries found. */
struct mp_walk {
	unsigned int entries, cpus, bsps, buses, ioapics, intsrcs, lintsrcs;
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	uint8_t cpu_apic_ids[256];
	uint8_t intsrc_pin[24];  /* source IRQ -> IOAPIC pin */
	uint8_t intsrc_apic[24];
	uint8_t lint_type[2];    /* by LINT pin */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_mem_init(&f->fm, RAM);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fake_mem_destroy(&f->fm);
	free(f);
	return 0;
}

static uint8_t *mpf(struct fixture *f)
{
	return fake_mem_at(&f->fm, MPTABLE_START, 16);
}

static uint8_t *mpc(struct fixture *f)
{
	uint32_t phys;
	uint16_t len;

	memcpy(&phys, mpf(f) + 4, 4);
	memcpy(&len, (uint8_t *)fake_mem_at(&f->fm, phys, MPC_HEADER_SIZE) + 4, 2);
	return fake_mem_at(&f->fm, phys, len);
}

static uint16_t mpc_u16(struct fixture *f, unsigned int off)
{
	uint16_t v;

	memcpy(&v, mpc(f) + off, 2);
	return v;
}

/* Walk the entries after the header; fails the test on an unknown type. */
static void mp_walk(struct fixture *f, struct mp_walk *w)
{
	uint8_t *t = mpc(f), *p = t + MPC_HEADER_SIZE, *end = t + mpc_u16(f, 4);

	memset(w, 0, sizeof(*w));
	while (p < end) {
		w->entries++;
		switch (p[0]) {
		case MP_PROCESSOR:
			assert_true(p[3] & 1); /* enabled */
			if (p[3] & 2)
				w->bsps++;
			w->cpu_apic_ids[w->cpus++] = p[1];
			p += 20;
			break;
		case MP_BUS:
			assert_memory_equal(p + 2, "ISA   ", 6);
			w->buses++;
			p += 8;
			break;
		case MP_IOAPIC:
			w->ioapics++;
			w->ioapic_id = p[1];
			assert_true(p[3] & 1);
			memcpy(&w->ioapic_addr, p + 4, 4);
			p += 8;
			break;
		case MP_INTSRC:
			assert_true(p[5] < 24);
			w->intsrc_apic[p[5]] = p[6];
			w->intsrc_pin[p[5]] = p[7];
			w->intsrcs++;
			p += 8;
			break;
		case MP_LINTSRC:
			assert_true(p[7] < 2);
			assert_int_equal(p[6], 0xff); /* every local APIC */
			w->lint_type[p[7]] = p[1];
			w->lintsrcs++;
			p += 8;
			break;
		default:
			fail_msg("unknown MP entry type %u", p[0]);
		}
	}
	assert_ptr_equal(p, end);
}

static void floating_pointer_signature_and_checksum(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mptable_setup(&f->fm.mem, 2), 0);
	assert_memory_equal(mpf(f), "_MP_", 4);
	assert_int_equal(mpf(f)[8], 1);  /* length in 16-byte units */
	assert_int_equal(mpf(f)[9], 4);  /* spec 1.4 */
	assert_int_equal(mptable_checksum(mpf(f), 16), 0);
}

static void config_table_signature_and_checksum(void **state)
{
	struct fixture *f = *state;
	uint32_t lapic;

	assert_int_equal(mptable_setup(&f->fm.mem, 4), 0);
	assert_memory_equal(mpc(f), "PCMP", 4);
	assert_int_equal(mpc(f)[6], 4);
	assert_int_equal(mptable_checksum(mpc(f), mpc_u16(f, 4)), 0);
	memcpy(&lapic, mpc(f) + 36, 4);
	assert_int_equal(lapic, 0xfee00000);
}

static void checksum_helper_sums_bytes(void **state)
{
	static const uint8_t b[] = { 0x80, 0x80, 0x01 };

	(void)state;
	assert_int_equal(mptable_checksum(b, sizeof(b)), 1);
	assert_int_equal(mptable_checksum(b, 0), 0);
}

static void entry_count_matches_entries(void **state)
{
	struct fixture *f = *state;
	struct mp_walk w;

	assert_int_equal(mptable_setup(&f->fm.mem, 3), 0);
	mp_walk(f, &w);
	assert_int_equal(mpc_u16(f, 34), w.entries);
	assert_int_equal(w.entries, 3 + 1 + 1 + 24 + 2);
}

static void one_processor_per_cpu_bsp_only_on_cpu0(void **state)
{
	struct fixture *f = *state;
	struct mp_walk w;
	uint8_t *first_cpu;

	assert_int_equal(mptable_setup(&f->fm.mem, 8), 0);
	mp_walk(f, &w);
	assert_int_equal(w.cpus, 8);
	assert_int_equal(w.bsps, 1);
	for (unsigned int i = 0; i < 8; i++)
		assert_int_equal(w.cpu_apic_ids[i], i);
	first_cpu = mpc(f) + MPC_HEADER_SIZE;
	assert_int_equal(first_cpu[0], MP_PROCESSOR);
	assert_int_equal(first_cpu[3], 3); /* enabled | BSP */
}

static void ioapic_entry(void **state)
{
	struct fixture *f = *state;
	struct mp_walk w;

	assert_int_equal(mptable_setup(&f->fm.mem, 4), 0);
	mp_walk(f, &w);
	assert_int_equal(w.ioapics, 1);
	assert_int_equal(w.buses, 1);
	assert_int_equal(w.ioapic_addr, 0xfec00000);
	for (unsigned int i = 0; i < w.cpus; i++)
		assert_int_not_equal(w.ioapic_id, w.cpu_apic_ids[i]);
}

static void isa_irqs_routed_to_ioapic_pins(void **state)
{
	struct fixture *f = *state;
	struct mp_walk w;

	assert_int_equal(mptable_setup(&f->fm.mem, 1), 0);
	mp_walk(f, &w);
	assert_int_equal(w.intsrcs, 24);
	for (unsigned int irq = 0; irq < 24; irq++) {
		assert_int_equal(w.intsrc_pin[irq], irq);
		assert_int_equal(w.intsrc_apic[irq], w.ioapic_id);
	}
}

static void local_interrupts_extint_and_nmi(void **state)
{
	struct fixture *f = *state;
	struct mp_walk w;

	assert_int_equal(mptable_setup(&f->fm.mem, 1), 0);
	mp_walk(f, &w);
	assert_int_equal(w.lintsrcs, 2);
	assert_int_equal(w.lint_type[0], 3); /* ExtINT on LINT0 */
	assert_int_equal(w.lint_type[1], 1); /* NMI on LINT1 */
}

static void table_stays_below_640k_for_max_vcpus(void **state)
{
	struct fixture *f = *state;
	uint32_t phys;

	assert_int_equal(mptable_setup(&f->fm.mem, VM_MAX_CPUS), 0);
	memcpy(&phys, mpf(f) + 4, 4);
	assert_true(phys + mpc_u16(f, 4) <= 0xa0000);
}

static void zero_cpus_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mptable_setup(&f->fm.mem, 0), -EINVAL);
}

static void too_many_cpus_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mptable_setup(&f->fm.mem, MPTABLE_MAX_CPUS + 1), -EINVAL);
	assert_int_equal(mptable_setup(&f->fm.mem, UINT32_MAX), -EINVAL);
	/* Within the spec's limit but more than fits in the EBDA. */
	assert_int_equal(mptable_setup(&f->fm.mem, MPTABLE_MAX_CPUS), -E2BIG);
}

static void ram_without_ebda_refused(void **state)
{
	struct fake_mem tiny;

	(void)state;
	fake_mem_init(&tiny, 512 * 1024);
	assert_int_equal(mptable_setup(&tiny.mem, 1), -E2BIG);
	fake_mem_destroy(&tiny);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(floating_pointer_signature_and_checksum),
		T(config_table_signature_and_checksum),
		T(checksum_helper_sums_bytes),
		T(entry_count_matches_entries),
		T(one_processor_per_cpu_bsp_only_on_cpu0),
		T(ioapic_entry),
		T(isa_irqs_routed_to_ioapic_pins),
		T(local_interrupts_extint_and_nmi),
		T(table_stays_below_640k_for_max_vcpus),
		T(zero_cpus_refused),
		T(too_many_cpus_refused),
		T(ram_without_ebda_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
