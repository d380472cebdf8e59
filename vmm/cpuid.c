/* cpuid.c — make the host's supported CPUID describe this VM's vCPU. */
#include "vmm/cpuid.h"

#include <errno.h>

#define LEAF1_ECX_HYPERVISOR (1U << 31)
#define LEAF1_EDX_HTT (1U << 28)
#define LEAF1_ECX_TSC_DEADLINE (1U << 24)
#define TOPO_LEVEL_SMT 1
#define TOPO_LEVEL_CORE 2

unsigned int cpuid_id_bits(unsigned int n)
{
	unsigned int bits = 0;

	while ((1U << bits) < n)
		bits++;
	return bits;
}

/* Leaves 0xB and 0x1F: extended topology, one thread per core. */
static void cpuid_topology_leaf(struct kvm_cpuid_entry2 *e, unsigned int apic_id,
				unsigned int nr_cpus)
{
	unsigned int core_bits = cpuid_id_bits(nr_cpus);

	switch (e->index) {
	case 0: /* SMT level: one logical processor, shift 0 */
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (TOPO_LEVEL_SMT << 8) | e->index;
		break;
	case 1: /* core level: all vCPUs of the package */
		e->eax = core_bits;
		e->ebx = nr_cpus;
		e->ecx = (TOPO_LEVEL_CORE << 8) | e->index;
		break;
	default: /* invalid level terminates the enumeration */
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index;
		break;
	}
	e->edx = apic_id;
}

int cpuid_normalize(struct kvm_cpuid_entry2 *entries, unsigned int nr,
		    unsigned int cpu_index, unsigned int nr_cpus)
{
	unsigned int core_bits = cpuid_id_bits(nr_cpus);

	if (nr_cpus == 0 || nr_cpus > 255 || cpu_index >= nr_cpus)
		return -EINVAL;

	for (unsigned int i = 0; i < nr; i++) {
		struct kvm_cpuid_entry2 *e = &entries[i];

		switch (e->function) {
		case 1:
			e->ecx |= LEAF1_ECX_HYPERVISOR;
			/* EBX: APIC ID, max addressable logical IDs, CLFLUSH size, brand. */
			e->ebx = (cpu_index << 24) | ((1U << core_bits) << 16) | (e->ebx & 0xffff);
			if (nr_cpus > 1)
				e->edx |= LEAF1_EDX_HTT;
			else
				e->edx &= ~LEAF1_EDX_HTT;
			break;
		case 4: {
			/* Deterministic cache parameters: cores per package, sharing. */
			unsigned int level = (e->eax >> 5) & 0x7;
			unsigned int share = level >= 3 ? (1U << core_bits) - 1 : 0;

			if ((e->eax & 0x1f) == 0)
				break; /* no more caches */
			e->eax = (e->eax & 0x3fff) | (share << 14) |
				 (((1U << core_bits) - 1) << 26);
			break;
		}
		case 0xb:
		case 0x1f:
			cpuid_topology_leaf(e, cpu_index, nr_cpus);
			break;
		case 0x80000008:
			/* AMD: NC = cores - 1, ApicIdCoreIdSize. */
			e->ecx = (e->ecx & ~0xf0ffU) | (core_bits << 12) | (nr_cpus - 1);
			break;
		case 0x8000001e:
			e->eax = cpu_index;          /* extended APIC ID */
			e->ebx = cpu_index & 0xff;   /* core ID, one thread per core */
			e->ecx = 0;                  /* node 0, one node per package */
			break;
		default:
			break;
		}
	}
	return 0;
}

void cpuid_set_tsc_deadline(struct kvm_cpuid_entry2 *entries, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++)
		if (entries[i].function == 1)
			entries[i].ecx |= LEAF1_ECX_TSC_DEADLINE;
}
