/*
 * mptable.h — Intel MultiProcessor Specification 1.4 table (floor 2).
 *
 * Without ACPI, an SMP Linux guest learns its CPUs, the IOAPIC and the ISA
 * interrupt routing from the MP table. Written at the EBDA (0x9fc00): the
 * floating pointer, then the configuration table with one processor entry
 * per vCPU (APIC ID = vCPU index), the ISA bus, the IOAPIC at 0xFEC00000,
 * ISA IRQs 0–23 to IOAPIC pins 0–23, ExtINT on LINT0 and NMI on LINT1.
 */
#ifndef BRISK_MPTABLE_H
#define BRISK_MPTABLE_H

#include <stdint.h>

#include "vmm/guest_mem.h"

#define MPTABLE_START 0x9fc00ULL
#define MPTABLE_MAX_CPUS 254
#define MPTABLE_IOAPIC_ADDR 0xfec00000U
#define MPTABLE_LAPIC_ADDR 0xfee00000U
#define MPTABLE_NR_IRQS 24

/*
 * Write the table for @nr_cpus (1..MPTABLE_MAX_CPUS) vCPUs.
 * Returns 0, -EINVAL (cpu count) or -E2BIG (does not fit below 640 KiB).
 */
int mptable_setup(struct guest_mem *mem, unsigned int nr_cpus);

/* Byte sum used for the MP checksums (valid tables sum to 0 mod 256). */
uint8_t mptable_checksum(const void *buf, size_t len);

#endif
