/* entry.S — the test guest's two boot entries (Linux 64-bit and PVH 32-bit), both ending in guest_main(). */

/* Which entry ran; guest_main() prints it and picks how to find the command line. */
#define ENTRY_LINUX64	0
#define ENTRY_PVH	1

#define CR0_PG		(1 << 31)
#define CR4_PAE		(1 << 5)
#define MSR_EFER	0xc0000080
#define EFER_LME	(1 << 8)

/* Selectors of our GDT: the same numbers the Linux 64-bit boot protocol uses. */
#define SEL_CODE64	0x10
#define SEL_DATA	0x18

#define PTE_P		0x001
#define PTE_RW		0x002
#define PTE_PS		0x080	/* in a page-directory entry: 2 MiB page */

#define BOOT_TIMER_MMIO	0xc0000000

/*
 * PVH entry point, read by QEMU (-kernel) and brisk: an ELF note with name
 * "Xen" and type 18 (XEN_ELFNOTE_PHYS32_ENTRY) whose descriptor is the 32-bit
 * physical entry address. Written as 8 bytes, as Linux does on x86_64.
 */
	.section .note.Xen, "a"
	.balign 4
	.long 4				/* namesz: "Xen\0" */
	.long 8				/* descsz */
	.long 18			/* type: XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.quad pvh_entry

/*
 * Identity-map the first 1 GiB with 2 MiB pages, plus the 2 MiB page at
 * 0xC000_0000 that holds the boot-timer MMIO register. No more, and no .bss
 * clearing of our own: on this project's test host (kvm_pvm) guest kernel
 * code runs in KVM's instruction emulator at ~0.5 us per instruction, where
 * a 4 GiB map or clearing .bss would cost more than the rest of the boot.
 * The ELF loader zero-fills .bss (p_memsz > p_filesz), so every entry we
 * do not write is "not present". 2 MiB, not 1 GiB pages: QEMU's default CPU
 * lacks pdpe1gb.
 * A macro so the same source assembles for the 32-bit and the 64-bit entry:
 * stosl/loop use EDI/ECX or RDI/RCX, 32-bit movs zero-extend, and absolute
 * addresses fit in 32 bits (we are linked at 1 MiB). Clobbers EAX, ECX, EDI.
 */
.macro build_page_tables
	movl	$(pdpt + PTE_P + PTE_RW), pml4
	movl	$(pd_low + PTE_P + PTE_RW), pdpt
	movl	$(pd_mmio + PTE_P + PTE_RW), pdpt + 3 * 8
	movl	$(BOOT_TIMER_MMIO + PTE_P + PTE_RW + PTE_PS), pd_mmio

	mov	$pd_low, %edi
	mov	$(PTE_P + PTE_RW + PTE_PS), %eax
	mov	$512, %ecx
1:	stosl				/* 512 x 2 MiB = 1 GiB; high half stays 0 */
	add	$4, %edi
	add	$0x200000, %eax
	loop	1b
.endm

	.section .text.entry, "ax"

/*
 * Linux x86_64 64-bit boot protocol entry (the ELF's e_entry): long mode,
 * paging on with an identity map of at least 1 GiB, flat segments, RSI =
 * boot_params. The VMM's GDT and segments are kept as they are; only the page
 * tables are replaced, to reach the boot-timer MMIO in the 32-bit gap.
 */
	.code64
	.globl	entry64
entry64:
	cli
	cld
	build_page_tables		/* RSI survives: the macro leaves it alone */
	mov	$pml4, %eax
	mov	%rax, %cr3
	mov	$ENTRY_LINUX64, %edi
	jmp	common64

/*
 * PVH entry: 32-bit protected mode, paging off, flat segments, EBX =
 * hvm_start_info. We must enter long mode ourselves: PAE, CR3, EFER.LME,
 * then paging, then a far jump to a 64-bit code segment of our own GDT.
 */
	.code32
	.globl	pvh_entry
pvh_entry:
	cli
	cld
	mov	%ebx, %esi		/* start_info; the macro clobbers only EAX/ECX/EDI */
	build_page_tables
	lgdt	gdt_desc

	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	or	$CR0_PG, %eax		/* PE is already set by the PVH loader */
	mov	%eax, %cr0
	ljmp	$SEL_CODE64, $pvh_long

	.code64
pvh_long:
	mov	$SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	mov	%esi, %esi		/* upper halves are undefined after the mode switch */
	mov	$ENTRY_PVH, %edi

/* EDI = which entry, RSI = boot_params or hvm_start_info (physical = virtual). */
common64:
	mov	$stack_top, %rsp
	call	guest_main
1:	cli				/* guest_main does not return; be safe if it does */
	hlt
	jmp	1b

	.section .data
	.balign 8
/* Flat GDT for the PVH path; accessed bits preset so the CPU never writes it. */
gdt:
	.quad	0			/* null */
	.quad	0			/* 0x08: unused, keeps Linux's selector numbers */
	.quad	0x00af9b000000ffff	/* 0x10: 64-bit code, DPL 0 */
	.quad	0x00cf93000000ffff	/* 0x18: flat data, 4 GiB */
gdt_end:
/* 10 bytes so lgdt reads it right in both modes (32-bit reads a 4-byte base). */
gdt_desc:
	.word	gdt_end - gdt - 1
	.quad	gdt

	.section .bss
	.balign 4096
pml4:	.skip	4096
pdpt:	.skip	4096
pd_low:	.skip	4096			/* 0..1 GiB */
pd_mmio: .skip	4096			/* 3..4 GiB, only its first 2 MiB mapped */
	.skip	4096			/* stack; guest_main needs well under 1 KiB */
stack_top:

	/* No executable stack: keeps ld from warning. */
	.section .note.GNU-stack, "", @progbits
