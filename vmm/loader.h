/*
 * loader.h — guest kernel and initrd loaders (floor 2).
 *
 * Formats: uncompressed vmlinux ELF64 (entered at e_entry in 64-bit mode,
 * Linux x86 64-bit boot protocol), bzImage (Documentation/arch/x86/boot.rst,
 * protocol >= 2.12 with XLF_KERNEL_64, entered at its 64-bit entry, load
 * address + 0x200) and PVH (an ELF whose XEN_ELFNOTE_PHYS32_ENTRY note gives a
 * 32-bit protected-mode entry; Xen's hvm_start_info ABI).
 *
 * Everything read from the files is untrusted: each malformed input is
 * refused with -EINVAL/-ENOEXEC/-E2BIG/-ERANGE and a reason in @why, never a
 * crash. Segments must lie inside guest RAM at or above 1 MiB (below that
 * is brisk's boot data).
 */
#ifndef BRISK_LOADER_H
#define BRISK_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <asm/bootparam.h>

#include "vmm/guest_mem.h"

enum boot_protocol {
	BOOT_LINUX64, /* 64-bit entry, RSI = boot_params */
	BOOT_PVH,     /* 32-bit entry, EBX = hvm_start_info */
};

enum boot_pref {
	BOOT_PREF_AUTO,    /* ELF: 64-bit entry; bzImage: 64-bit entry */
	BOOT_PREF_LINUX64,
	BOOT_PREF_PVH,     /* requires the PVH note */
};

#define LOADER_HIMEM_START 0x100000ULL   /* 1 MiB: first GPA a kernel may use */
#define LOADER_WHY_MAX 256

struct kernel_info {
	enum boot_protocol protocol;
	uint64_t entry;        /* GPA of the first instruction */
	uint64_t kernel_end;   /* highest GPA (exclusive) the kernel needs */
	bool is_bzimage;
	struct setup_header hdr; /* bzImage: the file's setup header */
	uint32_t cmdline_max;  /* buffer size for the command line incl. NUL, bytes */
	uint64_t initrd_max;   /* an initrd must end at or below this GPA */
};

/*
 * Load the kernel in @fd (@size bytes) into @mem. Fills @ki.
 * Returns 0; -ENOEXEC unknown format; -EINVAL malformed; -E2BIG does not
 * fit in RAM; -ERANGE segment outside RAM; -EIO short read; with @why set.
 */
int kernel_load(struct guest_mem *mem, int fd, uint64_t size, enum boot_pref pref,
		struct kernel_info *ki, char *why, size_t whylen);

/*
 * Place the initrd in @fd (@size bytes, > 0) page-aligned as high as
 * possible in RAM below min(low RAM end, ki->initrd_max), above the
 * kernel. Stores its GPA in @gpa. 0, -E2BIG (does not fit), -EIO, -EINVAL.
 */
int initrd_load(struct guest_mem *mem, int fd, uint64_t size,
		const struct kernel_info *ki, uint64_t *gpa, char *why, size_t whylen);

#endif
