/*
 * test_cpuid.c — cpuid_normalize (vmm/cpuid.c) on a synthetic
 * KVM_GET_SUPPORTED_CPUID result: the leaves it rewrites for a VM, the
 * ones it must leave alone, and its argument checks.
 */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <stdlib.h>

#include "vmm/cpuid.h"

#define LEAF1_ECX_HYPERVISOR (1U << 31)
#define LEAF1_EDX_HTT (1U << 28)

struct fixture {
	struct kvm_cpuid_entry2 e[32];
	unsigned int n;
};

static void add(struct fixture *f, uint32_t fn, uint32_t index, uint32_t eax, uint32_t ebx,
		uint32_t ecx, uint32_t edx)
{
	assert_true(f->n < 32);
	f->e[f->n++] = (struct kvm_cpuid_entry2){
		.function = fn, .index = index, .eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx,
	};
}

/* A host-like table: what KVM_GET_SUPPORTED_CPUID returns on a small Intel/AMD box. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	add(f, 0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69);
	/* Leaf 1: host APIC ID 0x2a, 16 logical, CLFLUSH 8, brand 0x01; HTT set. */
	add(f, 1, 0, 0x000906ea, 0x2a100801, 0x7ffafbff, 0xbfebfbff);
	/* Leaf 4: L1d, L1i, L2, L3 (type in EAX[4:0], level in EAX[7:5]), then none. */
	add(f, 4, 0, 0x1c004121, 0x01c0003f, 0x3f, 0);
	add(f, 4, 1, 0x1c004122, 0x01c0003f, 0x3f, 0);
	add(f, 4, 2, 0x1c004143, 0x03c0003f, 0x3ff, 0);
	add(f, 4, 3, 0x1c03c163, 0x03c0003f, 0x2fff, 6);
	add(f, 4, 4, 0, 0, 0, 0);
	add(f, 0xb, 0, 0x1, 0x2, 0x100, 0x2a);
	add(f, 0xb, 1, 0x4, 0x8, 0x201, 0x2a);
	add(f, 0xb, 2, 0, 0, 0x2, 0x2a);
	add(f, 0x1f, 0, 0x1, 0x2, 0x100, 0x2a);
	add(f, 0x1f, 1, 0x4, 0x8, 0x201, 0x2a);
	add(f, 0x1f, 2, 0, 0, 0x2, 0x2a);
	add(f, 0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	add(f, 0x80000008, 0, 0x3030, 0, 0x0003f00f, 0);
	add(f, 0x8000001e, 0, 0x2a, 0x0107, 0x0100, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static struct kvm_cpuid_entry2 *leaf(struct fixture *f, uint32_t fn, uint32_t index)
{
	for (unsigned int i = 0; i < f->n; i++)
		if (f->e[i].function == fn && f->e[i].index == index)
			return &f->e[i];
	fail_msg("no leaf 0x%x.%u", fn, index);
	return NULL;
}

static void normalize(struct fixture *f, unsigned int cpu, unsigned int nr_cpus)
{
	assert_int_equal(cpuid_normalize(f->e, f->n, cpu, nr_cpus), 0);
}

static void hypervisor_bit_set(void **state)
{
	struct fixture *f = *state;

	leaf(f, 1, 0)->ecx &= ~LEAF1_ECX_HYPERVISOR;
	normalize(f, 0, 1);
	assert_true(leaf(f, 1, 0)->ecx & LEAF1_ECX_HYPERVISOR);
	assert_int_equal(leaf(f, 1, 0)->ecx & ~LEAF1_ECX_HYPERVISOR, 0x7ffafbff);
}

static void leaf1_apic_id_is_cpu_index(void **state)
{
	struct fixture *f = *state;

	normalize(f, 5, 8);
	assert_int_equal(leaf(f, 1, 0)->ebx >> 24, 5);
	/* CLFLUSH size and brand index stay the host's. */
	assert_int_equal(leaf(f, 1, 0)->ebx & 0xffff, 0x0801);
}

static void leaf1_logical_count_and_htt(void **state)
{
	struct fixture *f = *state;

	normalize(f, 0, 6);
	assert_int_equal((leaf(f, 1, 0)->ebx >> 16) & 0xff, 8); /* next power of two */
	assert_true(leaf(f, 1, 0)->edx & LEAF1_EDX_HTT);
}

static void leaf1_single_cpu_clears_htt(void **state)
{
	struct fixture *f = *state;

	normalize(f, 0, 1);
	assert_int_equal((leaf(f, 1, 0)->ebx >> 16) & 0xff, 1);
	assert_false(leaf(f, 1, 0)->edx & LEAF1_EDX_HTT);
}

static void leaf_b_levels(void **state)
{
	struct fixture *f = *state;
	struct kvm_cpuid_entry2 *smt, *core, *end;

	normalize(f, 3, 6);
	smt = leaf(f, 0xb, 0);
	core = leaf(f, 0xb, 1);
	end = leaf(f, 0xb, 2);
	/* SMT: shift 0, one thread, type 1. */
	assert_int_equal(smt->eax, 0);
	assert_int_equal(smt->ebx, 1);
	assert_int_equal(smt->ecx, (1 << 8) | 0);
	/* Core: shift = bits for 6 CPUs (3), 6 logical processors, type 2. */
	assert_int_equal(core->eax, 3);
	assert_int_equal(core->ebx, 6);
	assert_int_equal(core->ecx, (2 << 8) | 1);
	/* Level 2 is invalid: ends the enumeration. */
	assert_int_equal(end->eax, 0);
	assert_int_equal(end->ebx, 0);
	assert_int_equal((end->ecx >> 8) & 0xff, 0);
	assert_int_equal(end->ecx & 0xff, 2);
}

static void leaf_b_and_1f_edx_is_apic_id(void **state)
{
	struct fixture *f = *state;

	normalize(f, 3, 6);
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(leaf(f, 0xb, i)->edx, 3);
		assert_int_equal(leaf(f, 0x1f, i)->edx, 3);
	}
	assert_int_equal(leaf(f, 0x1f, 1)->ebx, 6);
}

static void leaf4_core_bits(void **state)
{
	struct fixture *f = *state;

	uint32_t host[4];

	for (uint32_t i = 0; i < 4; i++)
		host[i] = leaf(f, 4, i)->eax;
	normalize(f, 0, 4);
	for (uint32_t i = 0; i < 4; i++) {
		uint32_t eax = leaf(f, 4, i)->eax;

		/* EAX[31:26]: addressable core IDs - 1; type, level, flags kept. */
		assert_int_equal(eax >> 26, 3);
		assert_int_equal(eax & 0x3fff, host[i] & 0x3fff);
	}
	/* EAX[25:14]: threads sharing the cache - 1: L1/L2 private, L3 shared by all. */
	assert_int_equal((leaf(f, 4, 0)->eax >> 14) & 0xfff, 0);
	assert_int_equal((leaf(f, 4, 2)->eax >> 14) & 0xfff, 0);
	assert_int_equal((leaf(f, 4, 3)->eax >> 14) & 0xfff, 3);
	assert_int_equal(leaf(f, 4, 3)->eax & 0x1f, 3); /* still a unified cache */
}

static void leaf4_terminator_untouched(void **state)
{
	struct fixture *f = *state;

	normalize(f, 0, 4);
	assert_int_equal(leaf(f, 4, 4)->eax, 0);
}

static void leaf_80000008_nc(void **state)
{
	struct fixture *f = *state;
	uint32_t ecx;

	normalize(f, 0, 6);
	ecx = leaf(f, 0x80000008, 0)->ecx;
	assert_int_equal(ecx & 0xff, 5);         /* NC = cores - 1 */
	assert_int_equal((ecx >> 12) & 0xf, 3);  /* ApicIdCoreIdSize */
	assert_int_equal(ecx & ~0xf0ffU, 0x00030000 & ~0xf0ffU); /* other bits kept */
	assert_int_equal(leaf(f, 0x80000008, 0)->eax, 0x3030);
}

static void leaf_8000001e_extended_apic_id(void **state)
{
	struct fixture *f = *state;

	normalize(f, 2, 4);
	assert_int_equal(leaf(f, 0x8000001e, 0)->eax, 2);
	assert_int_equal(leaf(f, 0x8000001e, 0)->ebx & 0xff, 2);
}

static void other_leaves_kept(void **state)
{
	struct fixture *f = *state;
	struct kvm_cpuid_entry2 kvm = *leaf(f, 0x40000000, 0), l0 = *leaf(f, 0, 0);

	normalize(f, 1, 2);
	assert_memory_equal(leaf(f, 0x40000000, 0), &kvm, sizeof(kvm));
	assert_memory_equal(leaf(f, 0, 0), &l0, sizeof(l0));
}

static void bad_index_or_count_refused(void **state)
{
	struct fixture *f = *state;
	struct kvm_cpuid_entry2 before[32];

	memcpy(before, f->e, sizeof(before));
	assert_int_equal(cpuid_normalize(f->e, f->n, 4, 4), -EINVAL);
	assert_int_equal(cpuid_normalize(f->e, f->n, 0, 0), -EINVAL);
	assert_int_equal(cpuid_normalize(f->e, f->n, 0, 256), -EINVAL);
	assert_int_equal(cpuid_normalize(f->e, f->n, UINT32_MAX, 2), -EINVAL);
	assert_memory_equal(f->e, before, sizeof(before));
}

static void empty_table_is_fine(void **state)
{
	(void)state;
	assert_int_equal(cpuid_normalize(NULL, 0, 0, 1), 0);
}

static void id_bits(void **state)
{
	(void)state;
	assert_int_equal(cpuid_id_bits(0), 0);
	assert_int_equal(cpuid_id_bits(1), 0);
	assert_int_equal(cpuid_id_bits(2), 1);
	assert_int_equal(cpuid_id_bits(3), 2);
	assert_int_equal(cpuid_id_bits(4), 2);
	assert_int_equal(cpuid_id_bits(5), 3);
	assert_int_equal(cpuid_id_bits(32), 5);
	assert_int_equal(cpuid_id_bits(33), 6);
	assert_int_equal(cpuid_id_bits(255), 8);
}

static void tsc_deadline_bit(void **state)
{
	struct kvm_cpuid_entry2 e[2] = { { .function = 0 }, { .function = 1, .ecx = 0x1 } };

	(void)state;
	cpuid_set_tsc_deadline(e, 2);
	assert_int_equal(e[1].ecx, 0x1 | (1U << 24));
	assert_int_equal(e[0].ecx, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(hypervisor_bit_set),
		T(tsc_deadline_bit),
		T(leaf1_apic_id_is_cpu_index),
		T(leaf1_logical_count_and_htt),
		T(leaf1_single_cpu_clears_htt),
		T(leaf_b_levels),
		T(leaf_b_and_1f_edx_is_apic_id),
		T(leaf4_core_bits),
		T(leaf4_terminator_untouched),
		T(leaf_80000008_nc),
		T(leaf_8000001e_extended_apic_id),
		T(other_leaves_kept),
		T(bad_index_or_count_refused),
		T(empty_table_is_fine),
		T(id_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
