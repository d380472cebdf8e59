/* boot.c — zero page, e820, PVH start info, GDT and identity page tables. */
#include "vmm/boot.h"
#include "vmm/util.h"

#include <string.h>

#define E820_RAM 1
#define E820_RESERVED 2

/* PVH ABI (Xen public/arch-x86/hvm/start_info.h), version 1. */
#define HVM_START_MAGIC 0x336ec578
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* GDT entry from flags (access byte + flags nibble, Firecracker's encoding), base, limit. */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000) << 32) | ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0x000f0000) << 32) | ((uint64_t)(base & 0x00ffffff) << 16) |
	       (uint64_t)(limit & 0x0000ffff);
}

static struct kvm_segment segment_from_gdt(uint64_t e, uint16_t sel)
{
	struct kvm_segment s = {
		.base = (uint32_t)(((e >> 16) & 0xffffff) | (((e >> 56) & 0xff) << 24)),
		.limit = (uint32_t)((e & 0xffff) | (((e >> 48) & 0xf) << 16)),
		.selector = sel,
		.type = (uint8_t)((e >> 40) & 0xf),
		.present = (uint8_t)((e >> 47) & 1),
		.dpl = (uint8_t)((e >> 45) & 3),
		.db = (uint8_t)((e >> 54) & 1),
		.s = (uint8_t)((e >> 44) & 1),
		.l = (uint8_t)((e >> 53) & 1),
		.g = (uint8_t)((e >> 55) & 1),
		.avl = (uint8_t)((e >> 52) & 1),
	};

	/* Limit is in 4 KiB units when G is set. */
	if (s.g)
		s.limit = (s.limit << 12) | 0xfff;
	s.unusable = !s.present;
	return s;
}

static void boot_gdt(const struct kernel_info *ki, uint64_t gdt[5])
{
	gdt[0] = 0;
	gdt[1] = 0;
	/* 64-bit code for the Linux 64-bit entry, 32-bit code for PVH. */
	gdt[2] = ki->protocol == BOOT_PVH ? gdt_entry(0xc09b, 0, 0xfffff)
					  : gdt_entry(0xa09b, 0, 0xfffff);
	gdt[3] = gdt_entry(0xc093, 0, 0xfffff);
	gdt[4] = gdt_entry(0x808b, 0, 0xfffff);
}

unsigned int boot_e820_build(const struct guest_mem *mem, struct boot_e820 *out,
			     unsigned int max)
{
	unsigned int n = 0;
	uint64_t low_end = guest_mem_low_end(mem);

	if (max < 2 + GUEST_MEM_MAX_REGIONS)
		return 0;
	out[n++] = (struct boot_e820){ 0, BOOT_EBDA_START, E820_RAM };
	out[n++] = (struct boot_e820){ BOOT_EBDA_START, LOADER_HIMEM_START - BOOT_EBDA_START,
				       E820_RESERVED };
	if (low_end > LOADER_HIMEM_START)
		out[n++] = (struct boot_e820){ LOADER_HIMEM_START, low_end - LOADER_HIMEM_START,
					       E820_RAM };
	for (unsigned int i = 1; i < mem->nr_regions; i++)
		out[n++] = (struct boot_e820){ mem->regions[i].gpa, mem->regions[i].size, E820_RAM };
	return n;
}

/* Identity map 0–4 GiB with 2 MiB pages: enough for the kernel, initrd and the MMIO gap. */
static int boot_page_tables(struct guest_mem *mem)
{
	uint64_t *pml4 = guest_mem_ptr(mem, BOOT_PML4_ADDR, 4096);
	uint64_t *pdpt = guest_mem_ptr(mem, BOOT_PDPT_ADDR, 4096);
	uint64_t *pd = guest_mem_ptr(mem, BOOT_PD_ADDR, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_ADDR | 0x3; /* present, writable */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB page */
	return 0;
}

static int boot_zero_page(struct guest_mem *mem, const struct kernel_info *ki,
			  uint64_t cmdline_len, uint64_t initrd_gpa, uint64_t initrd_size)
{
	struct boot_params *bp = guest_mem_ptr(mem, BOOT_ZERO_PAGE_ADDR, sizeof(*bp));
	struct boot_e820 map[BOOT_E820_MAX];
	unsigned int n;

	if (!bp)
		return -EFAULT;
	memset(bp, 0, sizeof(*bp));
	if (ki->is_bzimage) {
		bp->hdr = ki->hdr;
	} else {
		bp->hdr.boot_flag = 0xaa55;
		bp->hdr.header = 0x53726448;
		bp->hdr.kernel_alignment = 0x1000000;
	}
	bp->hdr.type_of_loader = 0xff; /* undefined boot loader */
	bp->hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	bp->hdr.cmdline_size = (uint32_t)cmdline_len;
	if (initrd_size) {
		bp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
		bp->hdr.ramdisk_size = (uint32_t)initrd_size;
		bp->ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
		bp->ext_ramdisk_size = (uint32_t)(initrd_size >> 32);
	}
	n = boot_e820_build(mem, map, BOOT_E820_MAX);
	for (unsigned int i = 0; i < n; i++) {
		bp->e820_table[i].addr = map[i].addr;
		bp->e820_table[i].size = map[i].size;
		bp->e820_table[i].type = map[i].type;
	}
	bp->e820_entries = (uint8_t)n;
	return 0;
}

static int boot_pvh_info(struct guest_mem *mem, uint64_t initrd_gpa, uint64_t initrd_size)
{
	struct hvm_start_info *si = guest_mem_ptr(mem, BOOT_PVH_INFO_ADDR, sizeof(*si));
	struct hvm_modlist_entry *mod = guest_mem_ptr(mem, BOOT_PVH_MODLIST_ADDR, sizeof(*mod));
	struct hvm_memmap_table_entry *mm;
	struct boot_e820 map[BOOT_E820_MAX];
	unsigned int n = boot_e820_build(mem, map, BOOT_E820_MAX);

	mm = guest_mem_ptr(mem, BOOT_PVH_MEMMAP_ADDR, n * sizeof(*mm));
	if (!si || !mod || !mm)
		return -EFAULT;
	memset(si, 0, sizeof(*si));
	si->magic = HVM_START_MAGIC;
	si->version = 1;
	si->cmdline_paddr = BOOT_CMDLINE_ADDR;
	si->memmap_paddr = BOOT_PVH_MEMMAP_ADDR;
	si->memmap_entries = n;
	for (unsigned int i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_table_entry){ map[i].addr, map[i].size, map[i].type, 0 };
	if (initrd_size) {
		*mod = (struct hvm_modlist_entry){ initrd_gpa, initrd_size, 0, 0 };
		si->nr_modules = 1;
		si->modlist_paddr = BOOT_PVH_MODLIST_ADDR;
	}
	return 0;
}

int boot_setup_memory(struct guest_mem *mem, const struct kernel_info *ki,
		      const char *cmdline, uint64_t initrd_gpa, uint64_t initrd_size)
{
	size_t len = strlen(cmdline);
	uint64_t gdt[5];
	int r;

	if (len + 1 > ki->cmdline_max)
		return -E2BIG;
	r = guest_mem_write(mem, BOOT_CMDLINE_ADDR, cmdline, len + 1);
	if (r < 0)
		return r;
	boot_gdt(ki, gdt);
	r = guest_mem_write(mem, BOOT_GDT_ADDR, gdt, sizeof(gdt));
	if (r < 0)
		return r;
	/* An empty IDT: any exception before the kernel sets its own is a triple fault. */
	r = guest_mem_write(mem, BOOT_IDT_ADDR, &(uint64_t){ 0 }, sizeof(uint64_t));
	if (r < 0)
		return r;
	r = boot_page_tables(mem);
	if (r < 0)
		return r;
	if (ki->protocol == BOOT_PVH)
		return boot_pvh_info(mem, initrd_gpa, initrd_size);
	return boot_zero_page(mem, ki, len, initrd_gpa, initrd_size);
}

void boot_cpu_regs(const struct kernel_info *ki, struct kvm_regs *regs,
		   struct kvm_sregs *sregs)
{
	uint64_t gdt[5];
	struct kvm_segment code, data, tss;

	boot_gdt(ki, gdt);
	code = segment_from_gdt(gdt[2], BOOT_CS);
	data = segment_from_gdt(gdt[3], BOOT_DS);
	tss = segment_from_gdt(gdt[4], BOOT_TSS);

	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = sizeof(gdt) - 1;
	sregs->idt.base = BOOT_IDT_ADDR;
	sregs->idt.limit = sizeof(uint64_t) - 1;
	sregs->cs = code;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->tr = tss;

	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2; /* reserved bit 1; interrupts off */
	regs->rip = ki->entry;

	if (ki->protocol == BOOT_PVH) {
		/* PVH: 32-bit protected mode, paging off, EBX = start info. */
		sregs->cr0 = (sregs->cr0 | 0x1 | 0x10) & ~0x80000000ULL; /* PE, ET, !PG */
		sregs->cr4 = 0;
		sregs->efer = 0;
		regs->rbx = BOOT_PVH_INFO_ADDR;
		return;
	}
	/* Linux 64-bit boot protocol: long mode, identity-mapped paging. */
	sregs->cr3 = BOOT_PML4_ADDR;
	sregs->cr4 |= 0x20;                     /* PAE */
	sregs->cr0 |= 0x1 | 0x80000000ULL;      /* PE, PG */
	sregs->efer |= 0x100 | 0x400;           /* LME, LMA */
	regs->rsp = BOOT_STACK_TOP;
	regs->rbp = BOOT_STACK_TOP;
	regs->rsi = BOOT_ZERO_PAGE_ADDR;
}
