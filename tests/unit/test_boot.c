/*
 * test_boot.c — boot data in guest memory and the boot vCPU state
 * (vmm/boot.c): zero page, command line, e820, PVH start info, GDT,
 * identity page tables, and boot_cpu_regs for both protocols.
 */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <stdlib.h>

#include "vmm/boot.h"

#define RAM (64 * TEST_MiB)
#define ENTRY 0x1000200ULL

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

struct fixture {
	struct fake_mem fm;
	struct kernel_info ki;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_mem_init(&f->fm, RAM);
	/* What the loader reports for a vmlinux. */
	f->ki.protocol = BOOT_LINUX64;
	f->ki.entry = ENTRY;
	f->ki.kernel_end = 0x2000000;
	f->ki.cmdline_max = 2048;
	f->ki.initrd_max = 0x38000000;
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

static struct boot_params *zero_page(struct fixture *f)
{
	return fake_mem_at(&f->fm, BOOT_ZERO_PAGE_ADDR, sizeof(struct boot_params));
}

static uint32_t rd32(struct fixture *f, uint64_t gpa)
{
	uint32_t v;

	assert_int_equal(guest_mem_read(&f->fm.mem, &v, gpa, sizeof(v)), 0);
	return v;
}

static uint64_t rd64(struct fixture *f, uint64_t gpa)
{
	uint64_t v;

	assert_int_equal(guest_mem_read(&f->fm.mem, &v, gpa, sizeof(v)), 0);
	return v;
}

static void expect_e820(const struct boot_e820_entry *e, uint64_t addr, uint64_t size,
			uint32_t type)
{
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->size, size);
	assert_int_equal(e->type, type);
}

/* ---- zero page (Linux 64-bit boot protocol) ---- */

static void zero_page_header_for_vmlinux(void **state)
{
	struct fixture *f = *state;
	struct boot_params *bp = zero_page(f);

	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, "console=ttyS0", 0, 0), 0);
	assert_int_equal(bp->hdr.boot_flag, 0xaa55);
	assert_int_equal(bp->hdr.header, 0x53726448); /* "HdrS" */
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.cmd_line_ptr, 0x20000);
	assert_int_equal(bp->hdr.loadflags & (LOADED_HIGH | CAN_USE_HEAP),
			 LOADED_HIGH | CAN_USE_HEAP);
}

static void zero_page_keeps_bzimage_header(void **state)
{
	struct fixture *f = *state;
	struct boot_params *bp = zero_page(f);

	f->ki.is_bzimage = true;
	f->ki.hdr.boot_flag = 0xaa55;
	f->ki.hdr.header = 0x53726448;
	f->ki.hdr.version = 0x020f;
	f->ki.hdr.kernel_alignment = 0x200000;
	f->ki.hdr.type_of_loader = 0x12;
	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, "", 0, 0), 0);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.kernel_alignment, 0x200000);
	assert_int_equal(bp->hdr.type_of_loader, 0xff); /* ours, not the file's */
	assert_int_equal(bp->hdr.cmd_line_ptr, 0x20000);
}

static void cmdline_copied_with_nul(void **state)
{
	struct fixture *f = *state;
	static const char cmd[] = "console=ttyS0 reboot=k panic=-1";
	uint8_t *g = fake_mem_at(&f->fm, BOOT_CMDLINE_ADDR, sizeof(cmd) + 1);

	memset(g, 0xaa, sizeof(cmd) + 1);
	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, cmd, 0, 0), 0);
	assert_memory_equal(g, cmd, sizeof(cmd)); /* includes the NUL */
	assert_int_equal(g[sizeof(cmd)], 0xaa);
}

static void cmdline_too_long_refused(void **state)
{
	struct fixture *f = *state;
	char cmd[2049];

	memset(cmd, 'a', sizeof(cmd) - 1);
	cmd[2048] = '\0';
	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, cmd, 0, 0), -E2BIG);
	cmd[2047] = '\0'; /* 2047 characters + NUL = cmdline_max */
	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, cmd, 0, 0), 0);
}

static void ramdisk_fields(void **state)
{
	struct fixture *f = *state;
	struct boot_params *bp = zero_page(f);

	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, "", 0x3000000, 0x123456), 0);
	assert_int_equal(bp->hdr.ramdisk_image, 0x3000000);
	assert_int_equal(bp->hdr.ramdisk_size, 0x123456);
	assert_int_equal(bp->ext_ramdisk_image, 0);
	assert_int_equal(bp->ext_ramdisk_size, 0);
}

static void ramdisk_ext_fields_hold_high_bits(void **state)
{
	struct fixture *f = *state;
	struct boot_params *bp = zero_page(f);

	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, "", 0x123456000ULL,
					   0x100001000ULL), 0);
	assert_int_equal(bp->hdr.ramdisk_image, 0x23456000);
	assert_int_equal(bp->ext_ramdisk_image, 0x1);
	assert_int_equal(bp->hdr.ramdisk_size, 0x1000);
	assert_int_equal(bp->ext_ramdisk_size, 0x1);
}

static void no_initrd_leaves_ramdisk_zero(void **state)
{
	struct fixture *f = *state;
	struct boot_params *bp = zero_page(f);

	memset(bp, 0xaa, sizeof(*bp));
	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, "", 0, 0), 0);
	assert_int_equal(bp->hdr.ramdisk_image, 0);
	assert_int_equal(bp->hdr.ramdisk_size, 0);
	assert_int_equal(bp->ext_ramdisk_image, 0);
}

static void e820_small_vm(void **state)
{
	struct fixture *f = *state;
	struct boot_params *bp = zero_page(f);

	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, "", 0, 0), 0);
	assert_int_equal(bp->e820_entries, 3);
	expect_e820(&bp->e820_table[0], 0, 0x9fc00, 1);
	expect_e820(&bp->e820_table[1], 0x9fc00, 0x100000 - 0x9fc00, 2);
	expect_e820(&bp->e820_table[2], 0x100000, RAM - 0x100000, 1);
}

static void e820_large_vm_has_ram_above_4gib(void **state)
{
	struct fixture *f = *state;
	struct fake_mem big;
	struct boot_params *bp;

	fake_mem_init_split(&big, MMIO_GAP_START, 2 * TEST_GiB);
	bp = fake_mem_at(&big, BOOT_ZERO_PAGE_ADDR, sizeof(*bp));
	assert_int_equal(boot_setup_memory(&big.mem, &f->ki, "", 0, 0), 0);
	assert_int_equal(bp->e820_entries, 4);
	expect_e820(&bp->e820_table[0], 0, 0x9fc00, 1);
	expect_e820(&bp->e820_table[1], 0x9fc00, 0x100000 - 0x9fc00, 2);
	expect_e820(&bp->e820_table[2], 0x100000, MMIO_GAP_START - 0x100000, 1);
	expect_e820(&bp->e820_table[3], 0x100000000ULL, 2 * TEST_GiB, 1);
	fake_mem_destroy(&big);
}

static void e820_build_refuses_a_short_table(void **state)
{
	struct fixture *f = *state;
	struct boot_e820 map[BOOT_E820_MAX];

	assert_int_equal(boot_e820_build(&f->fm.mem, map, 3), 0);
	assert_int_equal(boot_e820_build(&f->fm.mem, map, BOOT_E820_MAX), 3);
}

static void ram_too_small_for_boot_data(void **state)
{
	struct fixture *f = *state;
	struct fake_mem tiny;

	fake_mem_init(&tiny, 64 * 1024); /* command line at 128 KiB is outside */
	assert_int_equal(boot_setup_memory(&tiny.mem, &f->ki, "x", 0, 0), -EFAULT);
	fake_mem_destroy(&tiny);
}

/* ---- PVH start info (Xen arch-x86/hvm/start_info.h, version 1) ---- */

/* Offsets in struct hvm_start_info, from the ABI rather than brisk's struct. */
#define SI_MAGIC 0
#define SI_VERSION 4
#define SI_NR_MODULES 12
#define SI_MODLIST 16
#define SI_CMDLINE 24
#define SI_RSDP 32
#define SI_MEMMAP 40
#define SI_MEMMAP_ENTRIES 48

static void pvh_start_info(void **state)
{
	struct fixture *f = *state;

	f->ki.protocol = BOOT_PVH;
	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, "console=ttyS0", 0, 0), 0);
	assert_int_equal(rd32(f, BOOT_PVH_INFO_ADDR + SI_MAGIC), 0x336ec578);
	assert_int_equal(rd32(f, BOOT_PVH_INFO_ADDR + SI_VERSION), 1);
	assert_int_equal(rd64(f, BOOT_PVH_INFO_ADDR + SI_CMDLINE), BOOT_CMDLINE_ADDR);
	assert_int_equal(rd64(f, BOOT_PVH_INFO_ADDR + SI_RSDP), 0); /* no ACPI */
	assert_int_equal(rd32(f, BOOT_PVH_INFO_ADDR + SI_NR_MODULES), 0);
	assert_string_equal((char *)fake_mem_at(&f->fm, BOOT_CMDLINE_ADDR, 14), "console=ttyS0");
}

static void pvh_memmap_matches_e820(void **state)
{
	struct fixture *f = *state;
	uint64_t mm;

	f->ki.protocol = BOOT_PVH;
	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, "", 0, 0), 0);
	mm = rd64(f, BOOT_PVH_INFO_ADDR + SI_MEMMAP);
	assert_int_equal(mm, BOOT_PVH_MEMMAP_ADDR);
	assert_int_equal(rd32(f, BOOT_PVH_INFO_ADDR + SI_MEMMAP_ENTRIES), 3);
	/* struct hvm_memmap_table_entry: addr, size, type, reserved (24 bytes). */
	assert_int_equal(rd64(f, mm + 0), 0);
	assert_int_equal(rd64(f, mm + 8), 0x9fc00);
	assert_int_equal(rd32(f, mm + 16), 1);
	assert_int_equal(rd64(f, mm + 24), 0x9fc00);
	assert_int_equal(rd32(f, mm + 24 + 16), 2);
	assert_int_equal(rd64(f, mm + 48), 0x100000);
	assert_int_equal(rd64(f, mm + 48 + 8), RAM - 0x100000);
	assert_int_equal(rd32(f, mm + 48 + 16), 1);
}

static void pvh_modlist_for_initrd(void **state)
{
	struct fixture *f = *state;
	uint64_t mod;

	f->ki.protocol = BOOT_PVH;
	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, "", 0x3000000, 0x54321), 0);
	assert_int_equal(rd32(f, BOOT_PVH_INFO_ADDR + SI_NR_MODULES), 1);
	mod = rd64(f, BOOT_PVH_INFO_ADDR + SI_MODLIST);
	assert_int_equal(mod, BOOT_PVH_MODLIST_ADDR);
	/* struct hvm_modlist_entry: paddr, size, cmdline_paddr, reserved. */
	assert_int_equal(rd64(f, mod + 0), 0x3000000);
	assert_int_equal(rd64(f, mod + 8), 0x54321);
	assert_int_equal(rd64(f, mod + 16), 0);
}

/* ---- GDT and page tables ---- */

static void gdt_for_linux64(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, "", 0, 0), 0);
	assert_int_equal(rd64(f, BOOT_GDT_ADDR + 0 * 8), 0);
	assert_int_equal(rd64(f, BOOT_GDT_ADDR + 2 * 8), 0x00af9b000000ffffULL); /* 64-bit code */
	assert_int_equal(rd64(f, BOOT_GDT_ADDR + 3 * 8), 0x00cf93000000ffffULL); /* flat data */
	assert_int_equal(rd64(f, BOOT_GDT_ADDR + 4 * 8), 0x008f8b000000ffffULL); /* busy TSS */
	assert_int_equal(rd64(f, BOOT_IDT_ADDR), 0);
}

static void gdt_for_pvh_has_32bit_code(void **state)
{
	struct fixture *f = *state;

	f->ki.protocol = BOOT_PVH;
	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, "", 0, 0), 0);
	assert_int_equal(rd64(f, BOOT_GDT_ADDR + 2 * 8), 0x00cf9b000000ffffULL);
}

static void page_tables_identity_map_4gib(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(boot_setup_memory(&f->fm.mem, &f->ki, "", 0, 0), 0);
	assert_int_equal(rd64(f, BOOT_PML4_ADDR), BOOT_PDPT_ADDR | 0x3);
	assert_int_equal(rd64(f, BOOT_PML4_ADDR + 8), 0);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(rd64(f, BOOT_PDPT_ADDR + i * 8), (BOOT_PD_ADDR + i * 4096) | 0x3);
	assert_int_equal(rd64(f, BOOT_PDPT_ADDR + 4 * 8), 0);
	/* 2048 present, writable 2 MiB pages: virtual = physical from 0 to 4 GiB. */
	for (uint64_t i = 0; i < 2048; i++)
		assert_int_equal(rd64(f, BOOT_PD_ADDR + i * 8), (i << 21) | 0x83);
	assert_int_equal(rd64(f, BOOT_PD_ADDR + 2047 * 8) & ~0xfffULL, 4 * TEST_GiB - 2 * TEST_MiB);
}

/* ---- boot vCPU registers ---- */

static void regs_linux64_long_mode(void **state)
{
	struct fixture *f = *state;
	struct kvm_regs regs;
	struct kvm_sregs sregs = { .cr0 = 0x60000010 }; /* KVM's reset CR0 */

	memset(&regs, 0xaa, sizeof(regs));
	boot_cpu_regs(&f->ki, &regs, &sregs);
	assert_int_equal(sregs.cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
	assert_int_equal(sregs.cr4 & CR4_PAE, CR4_PAE);
	assert_int_equal(sregs.efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
	assert_int_equal(sregs.cr3, BOOT_PML4_ADDR);
	assert_int_equal(regs.rip, ENTRY);
	assert_int_equal(regs.rsi, BOOT_ZERO_PAGE_ADDR);
	assert_int_equal(regs.rsp, BOOT_STACK_TOP);
	assert_int_equal(regs.rflags, 0x2);
	assert_int_equal(regs.rax, 0); /* the rest cleared */
}

static void regs_linux64_segments(void **state)
{
	struct fixture *f = *state;
	struct kvm_regs regs;
	struct kvm_sregs sregs = { 0 };

	boot_cpu_regs(&f->ki, &regs, &sregs);
	assert_int_equal(sregs.cs.selector, BOOT_CS);
	assert_int_equal(sregs.cs.l, 1);
	assert_int_equal(sregs.cs.db, 0);
	assert_int_equal(sregs.cs.present, 1);
	assert_int_equal(sregs.cs.s, 1);
	assert_int_equal(sregs.cs.type, 0xb);
	assert_int_equal(sregs.cs.base, 0);
	assert_int_equal(sregs.cs.limit, 0xffffffff);
	assert_int_equal(sregs.ds.selector, BOOT_DS);
	assert_int_equal(sregs.ss.selector, BOOT_DS);
	assert_int_equal(sregs.ds.type, 0x3);
	assert_int_equal(sregs.ds.db, 1);
	assert_int_equal(sregs.tr.selector, BOOT_TSS);
	assert_int_equal(sregs.tr.type, 0xb);
	assert_int_equal(sregs.tr.s, 0);
	assert_int_equal(sregs.gdt.base, BOOT_GDT_ADDR);
	assert_int_equal(sregs.gdt.limit, 5 * 8 - 1);
	assert_int_equal(sregs.idt.base, BOOT_IDT_ADDR);
	/* The IDT must not sit on the GDT's last (TSS) entry. */
	assert_true(sregs.idt.base >= sregs.gdt.base + sregs.gdt.limit + 1);
}

static void regs_pvh_protected_mode_without_paging(void **state)
{
	struct fixture *f = *state;
	struct kvm_regs regs;
	struct kvm_sregs sregs = { .cr0 = 0x60000010 | CR0_PG, .cr4 = CR4_PAE,
				   .efer = EFER_LME | EFER_LMA };

	f->ki.protocol = BOOT_PVH;
	boot_cpu_regs(&f->ki, &regs, &sregs);
	assert_int_equal(sregs.cr0 & (CR0_PE | CR0_ET | CR0_PG), CR0_PE | CR0_ET);
	assert_int_equal(sregs.cr4, 0);
	assert_int_equal(sregs.efer, 0);
	assert_int_equal(sregs.cs.l, 0);
	assert_int_equal(sregs.cs.db, 1);
	assert_int_equal(sregs.cs.limit, 0xffffffff);
	assert_int_equal(regs.rbx, BOOT_PVH_INFO_ADDR);
	assert_int_equal(regs.rip, ENTRY);
	assert_int_equal(regs.rflags, 0x2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(zero_page_header_for_vmlinux),
		T(zero_page_keeps_bzimage_header),
		T(cmdline_copied_with_nul),
		T(cmdline_too_long_refused),
		T(ramdisk_fields),
		T(ramdisk_ext_fields_hold_high_bits),
		T(no_initrd_leaves_ramdisk_zero),
		T(e820_small_vm),
		T(e820_large_vm_has_ram_above_4gib),
		T(e820_build_refuses_a_short_table),
		T(ram_too_small_for_boot_data),
		T(pvh_start_info),
		T(pvh_memmap_matches_e820),
		T(pvh_modlist_for_initrd),
		T(gdt_for_linux64),
		T(gdt_for_pvh_has_32bit_code),
		T(page_tables_identity_map_4gib),
		T(regs_linux64_long_mode),
		T(regs_linux64_segments),
		T(regs_pvh_protected_mode_without_paging),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
