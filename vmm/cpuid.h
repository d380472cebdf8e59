/*
 * cpuid.h — CPUID normalization for the guest (floor 2).
 *
 * Starts from KVM_GET_SUPPORTED_CPUID and makes it describe a VM: the
 * hypervisor bit (leaf 1 ECX[31]) set, each vCPU's initial APIC ID in leaf 1
 * EBX[31:24], 0xB/0x1F EDX and 0x8000001E, and a topology of @nr_cpus cores
 * with one thread each in one socket (leaves 1, 4, 0xB, 0x1F, 0x80000008).
 * The KVM leaves (0x40000000+) KVM reports are kept. Intel SDM vol. 2A
 * "CPUID"; AMD APM vol. 3 appendix E.
 */
#ifndef BRISK_CPUID_H
#define BRISK_CPUID_H

#include <stdint.h>
#include <linux/kvm.h>

/*
 * Rewrite @entries (@nr of them) in place for vCPU @cpu_index of @nr_cpus.
 * Pure function: no KVM access. Returns 0 or -EINVAL (bad index/count).
 */
int cpuid_normalize(struct kvm_cpuid_entry2 *entries, unsigned int nr,
		    unsigned int cpu_index, unsigned int nr_cpus);

/*
 * Advertise the TSC-deadline timer (leaf 1 ECX[24]). KVM emulates it but
 * KVM_GET_SUPPORTED_CPUID leaves it to the VMM (KVM_CAP_TSC_DEADLINE_TIMER).
 * Without it Linux calibrates the local APIC timer against the PIT, which
 * costs ~100 ms and, on slow (nested) hosts, fails and disables the timer.
 */
void cpuid_set_tsc_deadline(struct kvm_cpuid_entry2 *entries, unsigned int nr);

/* Bits needed to hold @n distinct IDs (0 for n <= 1). */
unsigned int cpuid_id_bits(unsigned int n);

#endif
