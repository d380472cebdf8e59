/*
 * test_loader.c — kernel and initrd loaders (vmm/loader.c): vmlinux ELF,
 * the PVH note, bzImage, and every malformed input refused with the right
 * -errno and a reason that names the problem.
 */
#include "tests/unit/testlib.h"
#include "tests/unit/kimage.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmm/loader.h"

#define RAM (64 * TEST_MiB)

struct fixture {
	struct fake_mem fm;
	struct kimage k;
	struct kernel_info ki;
	char why[LOADER_WHY_MAX];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_mem_init(&f->fm, RAM);
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

/* Load f->k as the kernel file into @mem with boot preference @pref. */
static int load_into(struct fixture *f, struct guest_mem *mem, enum boot_pref pref)
{
	int fd = memfd_with(f->k.data, f->k.size);
	int r;

	f->why[0] = '\0';
	r = kernel_load(mem, fd, f->k.size, pref, &f->ki, f->why, sizeof(f->why));
	close(fd);
	return r;
}

static int load(struct fixture *f, enum boot_pref pref)
{
	return load_into(f, &f->fm.mem, pref);
}

/* The load fails with @err and a reason mentioning @sub. */
static void expect_refused(struct fixture *f, enum boot_pref pref, int err, const char *sub)
{
	assert_int_equal(load(f, pref), err);
	assert_why(f->why, sub);
}

static uint8_t *guest(struct fixture *f, uint64_t gpa, uint64_t len)
{
	return fake_mem_at(&f->fm, gpa, len);
}

/* Load an initrd of @size pattern bytes (file of @file_size bytes) for f->ki. */
static int load_initrd(struct fixture *f, uint64_t size, size_t file_size, uint64_t *gpa)
{
	uint8_t *buf = malloc(file_size ? file_size : 1);
	int fd, r;

	assert_non_null(buf);
	for (size_t i = 0; i < file_size; i++)
		buf[i] = kimage_byte(i + 7);
	fd = memfd_with(buf, file_size);
	f->why[0] = '\0';
	r = initrd_load(&f->fm.mem, fd, size, &f->ki, gpa, f->why, sizeof(f->why));
	close(fd);
	free(buf);
	return r;
}

/* ---- vmlinux ELF ---- */

static void elf_segment_lands_at_paddr(void **state)
{
	struct fixture *f = *state;
	uint64_t off;
	uint8_t *g;

	kimage_vmlinux(&f->k, 0);
	off = kimage_phdr(&f->k, 0)->p_offset;
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	g = guest(f, KIMAGE_LOAD_ADDR, KIMAGE_FILESZ);
	for (uint64_t i = 0; i < KIMAGE_FILESZ; i++)
		assert_int_equal(g[i], kimage_byte(off + i));
}

static void elf_bss_is_zeroed_and_nothing_past_memsz_written(void **state)
{
	struct fixture *f = *state;
	uint8_t *g = guest(f, KIMAGE_LOAD_ADDR, KIMAGE_MEMSZ + 4096);

	memset(g, 0xaa, KIMAGE_MEMSZ + 4096);
	kimage_vmlinux(&f->k, 0);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	for (uint64_t i = KIMAGE_FILESZ; i < KIMAGE_MEMSZ; i++)
		assert_int_equal(g[i], 0);
	for (uint64_t i = KIMAGE_MEMSZ; i < KIMAGE_MEMSZ + 4096; i++)
		assert_int_equal(g[i], 0xaa);
}

static void elf_kernel_info(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(f->ki.protocol, BOOT_LINUX64);
	assert_int_equal(f->ki.entry, KIMAGE_LOAD_ADDR);
	assert_int_equal(f->ki.kernel_end, KIMAGE_LOAD_ADDR + KIMAGE_MEMSZ);
	assert_false(f->ki.is_bzimage);
	assert_int_equal(f->ki.cmdline_max, 2048);
	assert_true(f->ki.initrd_max > KIMAGE_LOAD_ADDR);
}

static void elf_entry_in_a_later_segment(void **state)
{
	struct fixture *f = *state;

	kimage_elf(&f->k, 0x400010);
	kimage_elf_load(&f->k, 0x200000, 0x100, 0x1000);
	kimage_elf_load(&f->k, 0x400000, 0x100, 0x1000);
	assert_int_equal(load(f, BOOT_PREF_LINUX64), 0);
	assert_int_equal(f->ki.entry, 0x400010);
	assert_int_equal(f->ki.kernel_end, 0x401000);
}

static void elf_non_load_phdrs_are_ignored(void **state)
{
	struct fixture *f = *state;
	Elf64_Phdr stack = { .p_type = PT_GNU_STACK, .p_paddr = 0, .p_memsz = 0 };

	kimage_vmlinux(&f->k, 0);
	kimage_add_phdr(&f->k, &stack);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
}

static void elf_segment_in_high_ram(void **state)
{
	struct fixture *f = *state;
	struct fake_mem split;
	uint64_t gpa = MMIO_GAP_END + 0x200000;

	fake_mem_init_split(&split, 16 * TEST_MiB, 16 * TEST_MiB);
	kimage_elf(&f->k, gpa);
	kimage_elf_load(&f->k, gpa, 0x100, 0x1000);
	assert_int_equal(load_into(f, &split.mem, BOOT_PREF_AUTO), 0);
	assert_int_equal(*(uint8_t *)fake_mem_at(&split, gpa, 1),
			 kimage_byte(kimage_phdr(&f->k, 0)->p_offset));
	fake_mem_destroy(&split);
}

/* ---- PVH ---- */

static void pvh_note_gives_32bit_entry(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 1);
	assert_int_equal(load(f, BOOT_PREF_PVH), 0);
	assert_int_equal(f->ki.protocol, BOOT_PVH);
	assert_int_equal(f->ki.entry, KIMAGE_PVH_ENTRY);
}

static void pvh_note_with_8byte_descriptor(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_elf_pvh_note(&f->k, KIMAGE_LOAD_ADDR + 0x80, 8);
	assert_int_equal(load(f, BOOT_PREF_PVH), 0);
	assert_int_equal(f->ki.entry, KIMAGE_LOAD_ADDR + 0x80);
}

static void pvh_note_ignored_without_pvh_preference(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 1);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(f->ki.protocol, BOOT_LINUX64);
	assert_int_equal(f->ki.entry, KIMAGE_LOAD_ADDR);
	assert_int_equal(load(f, BOOT_PREF_LINUX64), 0);
	assert_int_equal(f->ki.protocol, BOOT_LINUX64);
}

static void pvh_without_note_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	expect_refused(f, BOOT_PREF_PVH, -ENOEXEC, "PVH entry note");
}

/* The last note's name or type changed: not Xen's PHYS32_ENTRY any more. */
static void pvh_note_with_other_name_or_type_refused(void **state)
{
	struct fixture *f = *state;
	Elf64_Nhdr *nh;

	kimage_vmlinux(&f->k, 1);
	/* The PVH note is the last 12 + 4 + 4 bytes of the file. */
	f->k.data[f->k.size - 6] = 'o'; /* "Xen" -> "Xeo" */
	expect_refused(f, BOOT_PREF_PVH, -ENOEXEC, "PVH entry note");

	kimage_vmlinux(&f->k, 1);
	nh = (Elf64_Nhdr *)(f->k.data + f->k.size - 20);
	assert_int_equal(nh->n_type, 18);
	nh->n_type = 17;
	expect_refused(f, BOOT_PREF_PVH, -ENOEXEC, "PVH entry note");
}

static void pvh_truncated_note_refused(void **state)
{
	struct fixture *f = *state;
	unsigned int i;

	kimage_vmlinux(&f->k, 0);
	i = kimage_elf_pvh_note(&f->k, KIMAGE_PVH_ENTRY, 4);
	kimage_phdr(&f->k, i)->p_filesz -= 4; /* cut the descriptor */
	expect_refused(f, BOOT_PREF_PVH, -ENOEXEC, "PVH entry note");
	/* Without PVH the broken note does not matter. */
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
}

static void pvh_note_with_huge_sizes_refused(void **state)
{
	struct fixture *f = *state;
	Elf64_Nhdr *nh;

	kimage_vmlinux(&f->k, 1);
	nh = (Elf64_Nhdr *)(f->k.data + f->k.size - 20);
	nh->n_descsz = 0xfffffffd; /* aligned up, this wraps a 32-bit sum */
	expect_refused(f, BOOT_PREF_PVH, -ENOEXEC, "PVH entry note");
	nh->n_descsz = 4;
	nh->n_namesz = 0xffffffff;
	expect_refused(f, BOOT_PREF_PVH, -ENOEXEC, "PVH entry note");
}

static void pvh_note_past_eof_refused(void **state)
{
	struct fixture *f = *state;
	unsigned int i;

	kimage_vmlinux(&f->k, 0);
	i = kimage_elf_pvh_note(&f->k, KIMAGE_PVH_ENTRY, 4);
	kimage_phdr(&f->k, i)->p_offset = UINT64_MAX - 8;
	expect_refused(f, BOOT_PREF_PVH, -ENOEXEC, "PVH entry note");
	kimage_phdr(&f->k, i)->p_offset = f->k.size - 8;
	expect_refused(f, BOOT_PREF_PVH, -ENOEXEC, "PVH entry note");
}

static void pvh_entry_outside_ram_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_elf_pvh_note(&f->k, 0xfffff000, 4);
	expect_refused(f, BOOT_PREF_PVH, -ERANGE, "PVH entry");
}

static void pvh_entry_below_1mib_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_elf_pvh_note(&f->k, 0x7000, 4);
	assert_true(load(f, BOOT_PREF_PVH) < 0);
	assert_why(f->why, "PVH entry");
}

/* RAM, but nothing was loaded there: the vCPU would run zeroes. */
static void pvh_entry_outside_segments_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_elf_pvh_note(&f->k, KIMAGE_LOAD_ADDR + KIMAGE_MEMSZ, 4);
	assert_true(load(f, BOOT_PREF_PVH) < 0);
	assert_why(f->why, "PVH entry");
}

static void pvh_bzimage_refused(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 1, 4096);
	expect_refused(f, BOOT_PREF_PVH, -ENOEXEC, "ELF");
}

/* ---- bzImage ---- */

static void bz_payload_loaded_at_1mib(void **state)
{
	struct fixture *f = *state;
	uint64_t off;
	uint8_t *g;

	kimage_bzimage(&f->k, 1, 8192);
	off = kimage_bz_payload_off(&f->k);
	assert_int_equal(off, 1024);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	g = guest(f, 0x100000, 8192);
	for (uint64_t i = 0; i < 8192; i++)
		assert_int_equal(g[i], f->k.data[off + i]);
}

static void bz_entry_is_load_address_plus_0x200(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 1, 4096);
	assert_int_equal(load(f, BOOT_PREF_LINUX64), 0);
	assert_int_equal(f->ki.protocol, BOOT_LINUX64);
	assert_int_equal(f->ki.entry, 0x100000 + 0x200);
}

static void bz_kernel_info_from_header(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 1, 4096);
	kimage_bz_hdr(&f->k)->initrd_addr_max = 0x1ffffff;
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_true(f->ki.is_bzimage);
	assert_int_equal(f->ki.hdr.version, KIMAGE_BZ_VERSION);
	assert_int_equal(f->ki.hdr.header, 0x53726448);
	assert_int_equal(f->ki.cmdline_max, KIMAGE_BZ_CMDLINE_SIZE + 1);
	assert_int_equal(f->ki.initrd_max, 0x2000000);
	/* The decompressor needs init_size bytes from pref_address. */
	assert_int_equal(f->ki.kernel_end, KIMAGE_BZ_PREF_ADDR + KIMAGE_BZ_INIT_SIZE);
}

static void bz_setup_sects_zero_means_four(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 0, 4096);
	assert_int_equal(kimage_bz_payload_off(&f->k), 5 * 512);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_memory_equal(guest(f, 0x100000, 4096), f->k.data + 5 * 512, 4096);
}

static void bz_non_relocatable_loads_at_pref_address(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 1, 4096);
	kimage_bz_hdr(&f->k)->relocatable_kernel = 0;
	kimage_bz_hdr(&f->k)->pref_address = 0x2000000;
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(f->ki.entry, 0x2000000 + 0x200);
	assert_memory_equal(guest(f, 0x2000000, 4096), f->k.data + 1024, 4096);
	assert_int_equal(*guest(f, 0x100000, 1), 0); /* nothing at 1 MiB */
}

static void bz_cmdline_max_is_capped(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 1, 4096);
	kimage_bz_hdr(&f->k)->cmdline_size = 100000;
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(f->ki.cmdline_max, 65536);
	/* The largest value must not wrap to a zero-byte buffer. */
	kimage_bz_hdr(&f->k)->cmdline_size = 0xffffffff;
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(f->ki.cmdline_max, 65536);
}

/* ---- malformed files ---- */

static void empty_file_refused(void **state)
{
	struct fixture *f = *state;

	f->k.size = 0;
	expect_refused(f, BOOT_PREF_AUTO, -ENOEXEC, "empty");
	memcpy(f->k.data, ELFMAG, 3);
	f->k.size = 3;
	expect_refused(f, BOOT_PREF_AUTO, -ENOEXEC, "too short");
}

static void bad_magic_refused(void **state)
{
	struct fixture *f = *state;

	memset(f->k.data, 'x', 4096);
	f->k.size = 4096;
	expect_refused(f, BOOT_PREF_AUTO, -ENOEXEC, "not a bzImage");
	expect_refused(f, BOOT_PREF_LINUX64, -ENOEXEC, "HdrS");
}

static void elf_truncated_header_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	f->k.size = 40;
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "truncated ELF header");
}

static void elf_32bit_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_ehdr(&f->k)->e_ident[EI_CLASS] = ELFCLASS32;
	expect_refused(f, BOOT_PREF_AUTO, -ENOEXEC, "64-bit x86");
}

static void elf_big_endian_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_ehdr(&f->k)->e_ident[EI_DATA] = ELFDATA2MSB;
	expect_refused(f, BOOT_PREF_AUTO, -ENOEXEC, "64-bit x86");
}

static void elf_wrong_machine_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_ehdr(&f->k)->e_machine = EM_AARCH64;
	expect_refused(f, BOOT_PREF_AUTO, -ENOEXEC, "64-bit x86");
}

static void elf_dyn_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_ehdr(&f->k)->e_type = ET_DYN;
	expect_refused(f, BOOT_PREF_AUTO, -ENOEXEC, "not an executable");
}

static void elf_no_phdrs_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_ehdr(&f->k)->e_phnum = 0;
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "program header table");
}

static void elf_too_many_phdrs_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_ehdr(&f->k)->e_phnum = 65;
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "65 entries");
	kimage_ehdr(&f->k)->e_phnum = 0xffff;
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "program header table");
}

static void elf_wrong_phentsize_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_ehdr(&f->k)->e_phentsize = sizeof(Elf32_Phdr);
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "program header table");
}

static void elf_phdrs_past_eof_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_ehdr(&f->k)->e_phoff = f->k.size - 8;
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "program headers past the end");
	kimage_ehdr(&f->k)->e_phoff = UINT64_MAX - 8; /* offset + length wraps */
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "program headers past the end");
}

static void elf_without_load_segment_refused(void **state)
{
	struct fixture *f = *state;

	kimage_elf(&f->k, KIMAGE_PVH_ENTRY);
	kimage_elf_pvh_note(&f->k, KIMAGE_PVH_ENTRY, 4);
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "no loadable segment");
}

static void elf_filesz_over_memsz_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_phdr(&f->k, 0)->p_memsz = KIMAGE_FILESZ - 1;
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "file size exceeds memory size");
}

static void elf_segment_past_eof_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_phdr(&f->k, 0)->p_offset += 1;
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "past the end of the file");
	kimage_phdr(&f->k, 0)->p_offset = UINT64_MAX - 0x10; /* offset + filesz wraps */
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "past the end of the file");
}

static void elf_segment_outside_ram_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_phdr(&f->k, 0)->p_paddr = 0x40000000;
	expect_refused(f, BOOT_PREF_AUTO, -ERANGE, "outside guest RAM");
	/* Starts in RAM, bss runs past its end. */
	kimage_phdr(&f->k, 0)->p_paddr = RAM - 0x1000;
	expect_refused(f, BOOT_PREF_AUTO, -ERANGE, "outside guest RAM");
}

static void elf_segment_in_mmio_gap_refused(void **state)
{
	struct fixture *f = *state;
	struct fake_mem split;

	fake_mem_init_split(&split, MMIO_GAP_START, 16 * TEST_MiB);
	/* bss runs from low RAM into the gap. */
	kimage_elf(&f->k, MMIO_GAP_START - 0x100);
	kimage_elf_load(&f->k, MMIO_GAP_START - 0x100, 0x100, 0x1000);
	assert_int_equal(load_into(f, &split.mem, BOOT_PREF_AUTO), -ERANGE);
	assert_why(f->why, "outside guest RAM");
	/* ... or across the whole gap into high RAM. */
	kimage_phdr(&f->k, 0)->p_memsz = MMIO_GAP_END - MMIO_GAP_START + 0x200;
	assert_int_equal(load_into(f, &split.mem, BOOT_PREF_AUTO), -ERANGE);
	assert_why(f->why, "outside guest RAM");
	fake_mem_destroy(&split);
}

static void elf_segment_wrapping_2_64_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_phdr(&f->k, 0)->p_paddr = UINT64_MAX - 0xfff;
	kimage_ehdr(&f->k)->e_entry = UINT64_MAX - 0xfff;
	expect_refused(f, BOOT_PREF_AUTO, -ERANGE, "outside guest RAM");
}

static void elf_segment_below_1mib_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_phdr(&f->k, 0)->p_paddr = 0x7000; /* the zero page */
	expect_refused(f, BOOT_PREF_AUTO, -ERANGE, "below 1 MiB");
	kimage_phdr(&f->k, 0)->p_paddr = 0xff000; /* straddles 1 MiB */
	expect_refused(f, BOOT_PREF_AUTO, -ERANGE, "below 1 MiB");
}

static void elf_entry_outside_segments_refused(void **state)
{
	struct fixture *f = *state;

	kimage_vmlinux(&f->k, 0);
	kimage_ehdr(&f->k)->e_entry = KIMAGE_LOAD_ADDR + KIMAGE_MEMSZ; /* one past the end */
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "entry point");
	kimage_ehdr(&f->k)->e_entry = 0;
	expect_refused(f, BOOT_PREF_LINUX64, -EINVAL, "entry point");
}

static void bz_truncated_header_refused(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 1, 4096);
	f->k.size = 0x1f1 + 20;
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "truncated bzImage setup header");
}

static void bz_truncated_setup_refused(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 1, 4096);
	kimage_bz_hdr(&f->k)->setup_sects = 200; /* setup alone is 100 KiB */
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "truncated");
	kimage_bzimage(&f->k, 1, 4096);
	f->k.size = 1024; /* setup only, no payload */
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "truncated");
}

static void bz_truncated_payload_refused(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 1, 4096);
	f->k.size -= 16;
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "truncated");
	kimage_bz_hdr(&f->k)->syssize = 0xffffffff;
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "truncated");
}

/* The 64-bit entry is at payload + 0x200: a shorter payload has none. */
static void bz_payload_without_64bit_entry_refused(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 1, 0x200);
	expect_refused(f, BOOT_PREF_AUTO, -EINVAL, "64-bit entry");
	kimage_bzimage(&f->k, 1, 0x210);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
}

static void bz_old_protocol_refused(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 1, 4096);
	kimage_bz_hdr(&f->k)->version = 0x020b;
	expect_refused(f, BOOT_PREF_AUTO, -ENOEXEC, "2.11");
}

static void bz_without_64bit_entry_refused(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 1, 4096);
	kimage_bz_hdr(&f->k)->xloadflags &= (uint16_t)~XLF_KERNEL_64;
	expect_refused(f, BOOT_PREF_AUTO, -ENOEXEC, "XLF_KERNEL_64");
}

static void bz_init_size_too_large_refused(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 1, 4096);
	kimage_bz_hdr(&f->k)->init_size = RAM;
	expect_refused(f, BOOT_PREF_AUTO, -E2BIG, "decompress");
	kimage_bz_hdr(&f->k)->init_size = 0xffffffff;
	expect_refused(f, BOOT_PREF_AUTO, -E2BIG, "MiB of RAM");
}

static void bz_pref_address_outside_ram_refused(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 1, 4096);
	kimage_bz_hdr(&f->k)->relocatable_kernel = 0;
	kimage_bz_hdr(&f->k)->pref_address = 0x40000000;
	assert_true(load(f, BOOT_PREF_AUTO) < 0);
	assert_why(f->why, "RAM");
	kimage_bz_hdr(&f->k)->pref_address = 0x80000; /* below 1 MiB */
	expect_refused(f, BOOT_PREF_AUTO, -ERANGE, "below 1 MiB");
}

/* pref_address + init_size from the file must not wrap past 2^64 into "fits". */
static void bz_pref_address_wrapping_2_64_refused(void **state)
{
	struct fixture *f = *state;

	kimage_bzimage(&f->k, 1, 4096);
	kimage_bz_hdr(&f->k)->pref_address = UINT64_MAX - 0xfff;
	expect_refused(f, BOOT_PREF_AUTO, -E2BIG, "RAM");
	kimage_bz_hdr(&f->k)->relocatable_kernel = 0;
	assert_true(load(f, BOOT_PREF_AUTO) < 0);
	assert_why(f->why, "RAM");
}

/* ---- initrd ---- */

static void initrd_placed_high_page_aligned_above_kernel(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0, size = 10000;
	uint8_t *g;

	kimage_vmlinux(&f->k, 0);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(load_initrd(f, size, size, &gpa), 0);
	assert_int_equal(gpa, (RAM - size) & ~0xfffULL);
	assert_true(gpa >= f->ki.kernel_end);
	g = guest(f, gpa, size);
	for (uint64_t i = 0; i < size; i++)
		assert_int_equal(g[i], kimage_byte(i + 7));
}

static void initrd_respects_initrd_addr_max(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0;

	kimage_bzimage(&f->k, 1, 4096);
	kimage_bz_hdr(&f->k)->initrd_addr_max = 0x1ffffff; /* below 32 MiB */
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(load_initrd(f, 4096, 4096, &gpa), 0);
	assert_int_equal(gpa, 0x2000000 - 4096);
}

static void initrd_empty_refused(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0;

	kimage_vmlinux(&f->k, 0);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(load_initrd(f, 0, 0, &gpa), -EINVAL);
	assert_why(f->why, "empty");
}

static void initrd_larger_than_ram_refused(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0;

	kimage_vmlinux(&f->k, 0);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(load_initrd(f, RAM + 4096, 4096, &gpa), -E2BIG);
	assert_why(f->why, "does not fit");
	assert_int_equal(load_initrd(f, UINT64_MAX, 4096, &gpa), -E2BIG);
	assert_why(f->why, "does not fit");
}

static void initrd_overlapping_kernel_refused(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0;

	/* Kernel image up to 50 MiB of the 64: 14 MiB left above it. */
	kimage_elf(&f->k, 0x200000);
	kimage_elf_load(&f->k, 0x200000, 0x1000, 48 * TEST_MiB);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(load_initrd(f, 15 * TEST_MiB, 4096, &gpa), -E2BIG);
	assert_why(f->why, "above the kernel");
	assert_int_equal(load_initrd(f, 14 * TEST_MiB, 4096, &gpa), -EIO); /* fits; file short */
	assert_int_equal(load_initrd(f, 4096, 4096, &gpa), 0);
	assert_true(gpa >= f->ki.kernel_end);
}

static void initrd_short_file_refused(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0;

	kimage_vmlinux(&f->k, 0);
	assert_int_equal(load(f, BOOT_PREF_AUTO), 0);
	assert_int_equal(load_initrd(f, 8192, 4096, &gpa), -EIO);
	assert_why(f->why, "short read");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(elf_segment_lands_at_paddr),
		T(elf_bss_is_zeroed_and_nothing_past_memsz_written),
		T(elf_kernel_info),
		T(elf_entry_in_a_later_segment),
		T(elf_non_load_phdrs_are_ignored),
		T(elf_segment_in_high_ram),
		T(pvh_note_gives_32bit_entry),
		T(pvh_note_with_8byte_descriptor),
		T(pvh_note_ignored_without_pvh_preference),
		T(pvh_without_note_refused),
		T(pvh_note_with_other_name_or_type_refused),
		T(pvh_truncated_note_refused),
		T(pvh_note_with_huge_sizes_refused),
		T(pvh_note_past_eof_refused),
		T(pvh_entry_outside_ram_refused),
		T(pvh_entry_below_1mib_refused),
		T(pvh_entry_outside_segments_refused),
		T(pvh_bzimage_refused),
		T(bz_payload_loaded_at_1mib),
		T(bz_entry_is_load_address_plus_0x200),
		T(bz_kernel_info_from_header),
		T(bz_setup_sects_zero_means_four),
		T(bz_non_relocatable_loads_at_pref_address),
		T(bz_cmdline_max_is_capped),
		T(empty_file_refused),
		T(bad_magic_refused),
		T(elf_truncated_header_refused),
		T(elf_32bit_refused),
		T(elf_big_endian_refused),
		T(elf_wrong_machine_refused),
		T(elf_dyn_refused),
		T(elf_no_phdrs_refused),
		T(elf_too_many_phdrs_refused),
		T(elf_wrong_phentsize_refused),
		T(elf_phdrs_past_eof_refused),
		T(elf_without_load_segment_refused),
		T(elf_filesz_over_memsz_refused),
		T(elf_segment_past_eof_refused),
		T(elf_segment_outside_ram_refused),
		T(elf_segment_in_mmio_gap_refused),
		T(elf_segment_wrapping_2_64_refused),
		T(elf_segment_below_1mib_refused),
		T(elf_entry_outside_segments_refused),
		T(bz_truncated_header_refused),
		T(bz_truncated_setup_refused),
		T(bz_truncated_payload_refused),
		T(bz_payload_without_64bit_entry_refused),
		T(bz_old_protocol_refused),
		T(bz_without_64bit_entry_refused),
		T(bz_init_size_too_large_refused),
		T(bz_pref_address_outside_ram_refused),
		T(bz_pref_address_wrapping_2_64_refused),
		T(initrd_placed_high_page_aligned_above_kernel),
		T(initrd_respects_initrd_addr_max),
		T(initrd_empty_refused),
		T(initrd_larger_than_ram_refused),
		T(initrd_overlapping_kernel_refused),
		T(initrd_short_file_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
