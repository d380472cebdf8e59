/*
 * boot.h — x86_64 boot data in guest memory and the boot vCPU's first state (floor 2).
 *
 * Layout (Firecracker's, except that our GDT has 5 entries, 40 bytes, so the
 * IDT follows it at 0x528 rather than 0x520): GDT 0x500, IDT 0x528, PVH start
 * info 0x6000 and module list 0x6040, zero page (boot_params) 0x7000 — or the
 * PVH memory map there — stack top 0x8ff0, identity page tables 0x9000
 * (PML4), 0xa000 (PDPT) and 0xb000–0xefff (4 page directories of 2 MiB pages:
 * 0–4 GiB), command line 0x20000.
 */
#ifndef BRISK_BOOT_H
#define BRISK_BOOT_H

#include <stdint.h>
#include <linux/kvm.h>

#include "vmm/guest_mem.h"
#include "vmm/loader.h"

#define BOOT_GDT_ADDR 0x500ULL
#define BOOT_IDT_ADDR 0x528ULL /* right after the 5-entry GDT */
#define BOOT_PVH_INFO_ADDR 0x6000ULL
#define BOOT_PVH_MODLIST_ADDR 0x6040ULL
#define BOOT_ZERO_PAGE_ADDR 0x7000ULL
#define BOOT_PVH_MEMMAP_ADDR 0x7000ULL
#define BOOT_STACK_TOP 0x8ff0ULL
#define BOOT_PML4_ADDR 0x9000ULL
#define BOOT_PDPT_ADDR 0xa000ULL
#define BOOT_PD_ADDR 0xb000ULL
#define BOOT_CMDLINE_ADDR 0x20000ULL
#define BOOT_EBDA_START 0x9fc00ULL /* MP table and other system data */

#define BOOT_CS 0x10 /* __BOOT_CS of the Linux boot protocol */
#define BOOT_DS 0x18 /* __BOOT_DS */
#define BOOT_TSS 0x20

#define BOOT_E820_MAX 8

struct boot_e820 {
	uint64_t addr, size;
	uint32_t type; /* E820_TYPE_RAM (1) or E820_TYPE_RESERVED (2) */
};

/* The guest memory map: RAM below the EBDA, reserved EBDA..1 MiB, RAM from 1 MiB. */
unsigned int boot_e820_build(const struct guest_mem *mem, struct boot_e820 *out,
			     unsigned int max);

/*
 * Write everything a kernel needs before its first instruction: command
 * line (@cmdline, must fit ki->cmdline_max incl. NUL), GDT, page tables, and
 * boot_params (Linux 64-bit boot protocol) or hvm_start_info (PVH, Xen's
 * arch-x86/hvm/start_info.h ABI, version 1). @initrd_size 0 = no initrd.
 * Returns 0, -E2BIG (command line too long) or -EFAULT (RAM too small).
 */
int boot_setup_memory(struct guest_mem *mem, const struct kernel_info *ki,
		      const char *cmdline, uint64_t initrd_gpa, uint64_t initrd_size);

/*
 * Boot vCPU registers for @ki's protocol: long mode with paging and the
 * flat GDT for BOOT_LINUX64 (RSI = zero page, RIP = entry), 32-bit
 * protected mode without paging for BOOT_PVH (EBX = start info).
 * @sregs must hold the vCPU's current values (from KVM_GET_SREGS).
 */
void boot_cpu_regs(const struct kernel_info *ki, struct kvm_regs *regs,
		   struct kvm_sregs *sregs);

#endif
