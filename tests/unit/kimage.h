/*
 * kimage.h — small in-memory kernel images for the loader tests and the
 * fuzz seed corpus: vmlinux-style ELF64 (optionally with a PVH note) and
 * bzImage (boot protocol 2.15). No cmocka here, so the seed generator can
 * use it too.
 *
 * ELF layout: ELF header at 0, program header table at 64 (room for
 * KIMAGE_MAX_PHDRS), segment contents appended from KIMAGE_DATA_OFF. Every
 * byte of segment content at file offset o is kimage_byte(o), so a test can
 * check exactly what landed in guest memory.
 */
#ifndef BRISK_TESTS_KIMAGE_H
#define BRISK_TESTS_KIMAGE_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <asm/bootparam.h>

#define KIMAGE_MAX (256 * 1024)
#define KIMAGE_MAX_PHDRS 8
#define KIMAGE_DATA_OFF (sizeof(Elf64_Ehdr) + KIMAGE_MAX_PHDRS * sizeof(Elf64_Phdr))

/* The default vmlinux: one PT_LOAD at 2 MiB, code then bss, entry at its start. */
#define KIMAGE_LOAD_ADDR 0x200000ULL
#define KIMAGE_FILESZ 0x1800ULL
#define KIMAGE_MEMSZ 0x4000ULL
#define KIMAGE_PVH_ENTRY (KIMAGE_LOAD_ADDR + 0x40)

/* The default bzImage header. */
#define KIMAGE_BZ_VERSION 0x020f
#define KIMAGE_BZ_PREF_ADDR 0x1000000ULL /* 16 MiB, LOAD_PHYSICAL_ADDR */
#define KIMAGE_BZ_INIT_SIZE 0x400000U    /* 4 MiB */
#define KIMAGE_BZ_CMDLINE_SIZE 2047U

struct kimage {
	_Alignas(8) uint8_t data[KIMAGE_MAX];
	size_t size; /* bytes of data that make up the file */
};

/* Content byte at file offset @off. */
uint8_t kimage_byte(uint64_t off);

/* Empty ELF64 x86-64 ET_EXEC with entry @entry and e_phnum 0. */
void kimage_elf(struct kimage *k, uint64_t entry);
Elf64_Ehdr *kimage_ehdr(struct kimage *k);
Elf64_Phdr *kimage_phdr(struct kimage *k, unsigned int i);

/* Append @len content bytes (kimage_byte pattern); returns their file offset. */
uint64_t kimage_append(struct kimage *k, size_t len);

/* Append a program header; returns its index. */
unsigned int kimage_add_phdr(struct kimage *k, const Elf64_Phdr *ph);

/* PT_LOAD of @filesz content bytes at GPA @paddr, @memsz in memory. Returns the index. */
unsigned int kimage_elf_load(struct kimage *k, uint64_t paddr, uint64_t filesz, uint64_t memsz);

/*
 * PT_NOTE holding one Xen note XEN_ELFNOTE_PHYS32_ENTRY (type 18) with
 * @entry in a @descsz-byte (4 or 8) descriptor, after an unrelated note.
 */
unsigned int kimage_elf_pvh_note(struct kimage *k, uint64_t entry, uint32_t descsz);

/* The default vmlinux, with a PVH note (4-byte entry) when @pvh. */
void kimage_vmlinux(struct kimage *k, int pvh);

/*
 * A relocatable 64-bit bzImage: @setup_sects (0 means 4) 512-byte setup
 * sectors after the boot sector, then @payload content bytes (multiple of 16).
 */
void kimage_bzimage(struct kimage *k, uint8_t setup_sects, size_t payload);
struct setup_header *kimage_bz_hdr(struct kimage *k);
/* File offset of the protected-mode payload. */
uint64_t kimage_bz_payload_off(struct kimage *k);

#endif
