/* loader.c — vmlinux ELF, PVH note and bzImage loading (see loader.h). */
#include "vmm/loader.h"
#include "vmm/util.h"

#include <elf.h>
#include <stdio.h>
#include <string.h>

#define ELF_MAX_PHDRS 64
#define ELF_MAX_NOTE_BYTES (64 * 1024)
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define BZ_SETUP_HDR_OFF 0x1f1
#define BZ_MAGIC_HDRS 0x53726448 /* "HdrS" */
#define BZ_MIN_VERSION 0x020c    /* 2.12: xloadflags, 64-bit entry */
#define BZ_ENTRY64_OFF 0x200
#define ELF_CMDLINE_MAX 2048     /* x86 COMMAND_LINE_SIZE */
#define DEFAULT_INITRD_MAX 0x37ffffffULL /* boot protocol < 2.03 default */

/* [off, off+len) inside a file of @size bytes, overflow-safe. */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* Copy @filesz bytes at file @off into GPA @gpa and zero up to @memsz. */
static int load_segment(struct guest_mem *mem, int fd, uint64_t off, uint64_t gpa,
			uint64_t filesz, uint64_t memsz, char *why, size_t whylen,
			const char *what)
{
	uint8_t *dst;
	int r;

	if (gpa < LOADER_HIMEM_START)
		return errf(why, whylen, -ERANGE,
			    "%s at 0x%llx overlaps brisk's boot data below 1 MiB",
			    what, (unsigned long long)gpa);
	dst = guest_mem_ptr(mem, gpa, memsz);
	if (!dst)
		return errf(why, whylen, -ERANGE,
			    "%s at 0x%llx (%llu bytes) lies outside guest RAM (%llu MiB)",
			    what, (unsigned long long)gpa, (unsigned long long)memsz,
			    (unsigned long long)(mem->ram_size / MiB));
	r = util_pread_full(fd, dst, filesz, off);
	if (r < 0)
		return errf(why, whylen, r, "%s: short read", what);
	memset(dst + filesz, 0, memsz - filesz);
	return 0;
}

/* Is @addr inside one of the @n program headers' PT_LOAD segments? */
static bool elf_in_load_segment(const Elf64_Phdr *ph, unsigned int n, uint64_t addr)
{
	for (unsigned int i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && addr >= ph[i].p_paddr &&
		    addr - ph[i].p_paddr < ph[i].p_memsz)
			return true;
	return false;
}

/* Find XEN_ELFNOTE_PHYS32_ENTRY in one PT_NOTE segment. 0 found, -ENOENT, -errno. */
static int elf_find_pvh(int fd, const Elf64_Phdr *ph, uint64_t size, uint64_t *entry)
{
	uint8_t buf[ELF_MAX_NOTE_BYTES];
	uint64_t len = ph->p_filesz, pos = 0;

	if (!in_file(ph->p_offset, len, size))
		return -EINVAL;
	len = MIN(len, sizeof(buf));
	if (util_pread_full(fd, buf, len, ph->p_offset) < 0)
		return -EIO;
	while (len - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_sz, desc_sz, desc_off;

		memcpy(&nh, buf + pos, sizeof(nh));
		name_sz = ALIGN_UP((uint64_t)nh.n_namesz, 4);
		desc_sz = ALIGN_UP((uint64_t)nh.n_descsz, 4);
		desc_off = pos + sizeof(nh) + name_sz;
		if (desc_off > len || desc_sz > len - desc_off)
			return -EINVAL;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(buf + pos + sizeof(nh), "Xen", 4) && nh.n_descsz >= 4) {
			uint32_t e32;
			uint64_t e64;

			if (nh.n_descsz >= 8) {
				memcpy(&e64, buf + desc_off, 8);
				*entry = e64;
			} else {
				memcpy(&e32, buf + desc_off, 4);
				*entry = e32;
			}
			return 0;
		}
		pos = desc_off + desc_sz;
	}
	return -ENOENT;
}

static int elf_load(struct guest_mem *mem, int fd, uint64_t size, enum boot_pref pref,
		    struct kernel_info *ki, char *why, size_t whylen)
{
	Elf64_Phdr ph[ELF_MAX_PHDRS];
	Elf64_Ehdr eh;
	uint64_t pvh_entry = 0, end = 0;
	bool have_pvh = false, entry_loaded = false;
	char what[48];
	int r;

	if (size < sizeof(eh) || util_pread_full(fd, &eh, sizeof(eh), 0) < 0)
		return errf(why, whylen, -EINVAL, "truncated ELF header");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64)
		return errf(why, whylen, -ENOEXEC, "not a 64-bit x86 ELF kernel");
	if (eh.e_type != ET_EXEC)
		return errf(why, whylen, -ENOEXEC, "ELF is not an executable (e_type %u)",
			    eh.e_type);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > ELF_MAX_PHDRS)
		return errf(why, whylen, -EINVAL, "bad ELF program header table (%u entries of %u bytes)",
			    eh.e_phnum, eh.e_phentsize);
	if (!in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), size) ||
	    util_pread_full(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff) < 0)
		return errf(why, whylen, -EINVAL, "ELF program headers past the end of the file");

	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_NOTE && !have_pvh)
			have_pvh = elf_find_pvh(fd, &ph[i], size, &pvh_entry) == 0;
		if (ph[i].p_type != PT_LOAD)
			continue;
		snprintf(what, sizeof(what), "ELF segment %u", i);
		if (ph[i].p_filesz > ph[i].p_memsz)
			return errf(why, whylen, -EINVAL, "%s: file size exceeds memory size", what);
		if (!in_file(ph[i].p_offset, ph[i].p_filesz, size))
			return errf(why, whylen, -EINVAL, "%s extends past the end of the file", what);
		r = load_segment(mem, fd, ph[i].p_offset, ph[i].p_paddr, ph[i].p_filesz,
				 ph[i].p_memsz, why, whylen, what);
		if (r < 0)
			return r;
		end = MAX(end, ph[i].p_paddr + ph[i].p_memsz);
		if (eh.e_entry >= ph[i].p_paddr && eh.e_entry - ph[i].p_paddr < ph[i].p_memsz)
			entry_loaded = true;
	}
	if (end == 0)
		return errf(why, whylen, -EINVAL, "ELF has no loadable segment");

	memset(ki, 0, sizeof(*ki));
	ki->kernel_end = end;
	ki->cmdline_max = ELF_CMDLINE_MAX;
	ki->initrd_max = DEFAULT_INITRD_MAX + 1;
	if (pref == BOOT_PREF_PVH) {
		if (!have_pvh)
			return errf(why, whylen, -ENOEXEC, "PVH boot requested but the ELF has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
		if (!guest_mem_ptr(mem, pvh_entry, 1) || pvh_entry < LOADER_HIMEM_START)
			return errf(why, whylen, -ERANGE, "PVH entry 0x%llx is outside guest RAM",
				    (unsigned long long)pvh_entry);
		if (!elf_in_load_segment(ph, eh.e_phnum, pvh_entry))
			return errf(why, whylen, -EINVAL, "PVH entry 0x%llx is not inside a loaded segment",
				    (unsigned long long)pvh_entry);
		ki->protocol = BOOT_PVH;
		ki->entry = pvh_entry;
		return 0;
	}
	if (!entry_loaded)
		return errf(why, whylen, -EINVAL, "ELF entry point 0x%llx is not inside a loaded segment",
			    (unsigned long long)eh.e_entry);
	ki->protocol = BOOT_LINUX64;
	ki->entry = eh.e_entry;
	return 0;
}

static int bzimage_load(struct guest_mem *mem, int fd, uint64_t size, enum boot_pref pref,
			struct kernel_info *ki, char *why, size_t whylen)
{
	struct setup_header hdr;
	uint64_t setup_size, ksize, load, need;
	int r;

	if (pref == BOOT_PREF_PVH)
		return errf(why, whylen, -ENOEXEC, "PVH boot needs an ELF kernel (vmlinux), not a bzImage");
	if (!in_file(BZ_SETUP_HDR_OFF, sizeof(hdr), size) ||
	    util_pread_full(fd, &hdr, sizeof(hdr), BZ_SETUP_HDR_OFF) < 0)
		return errf(why, whylen, -EINVAL, "truncated bzImage setup header");
	if (hdr.boot_flag != 0xaa55 || hdr.header != BZ_MAGIC_HDRS)
		return errf(why, whylen, -ENOEXEC, "not a bzImage (no HdrS signature)");
	if (hdr.version < BZ_MIN_VERSION || !(hdr.xloadflags & XLF_KERNEL_64))
		return errf(why, whylen, -ENOEXEC,
			    "bzImage boot protocol %u.%02u has no 64-bit entry (need 2.12 with XLF_KERNEL_64)",
			    hdr.version >> 8, hdr.version & 0xff);
	setup_size = ((uint64_t)(hdr.setup_sects ? hdr.setup_sects : 4) + 1) * 512;
	if (setup_size >= size)
		return errf(why, whylen, -EINVAL, "bzImage is truncated: %llu bytes, setup alone is %llu",
			    (unsigned long long)size, (unsigned long long)setup_size);
	ksize = size - setup_size;
	if (ksize <= BZ_ENTRY64_OFF)
		return errf(why, whylen, -EINVAL,
			    "bzImage is truncated: payload %llu bytes ends before the 64-bit entry at +0x%x",
			    (unsigned long long)ksize, BZ_ENTRY64_OFF);
	if (hdr.syssize && (uint64_t)hdr.syssize * 16 > ksize)
		return errf(why, whylen, -EINVAL, "bzImage is truncated: payload %llu bytes, header says %llu",
			    (unsigned long long)ksize, (unsigned long long)hdr.syssize * 16);
	/* pref_address comes from the file: refuse it before the sums below can wrap. */
	if (hdr.pref_address > guest_mem_low_end(mem))
		return errf(why, whylen, -E2BIG,
			    "bzImage runs at 0x%llx (pref_address), above the VM's %llu MiB of RAM below 3 GiB",
			    (unsigned long long)hdr.pref_address,
			    (unsigned long long)(guest_mem_low_end(mem) / MiB));
	/* A relocatable kernel moves itself; others must sit at pref_address. */
	load = hdr.relocatable_kernel ? LOADER_HIMEM_START : hdr.pref_address;
	need = MAX(load + ksize, MAX(hdr.pref_address, LOADER_HIMEM_START) + hdr.init_size);
	if (need > guest_mem_low_end(mem))
		return errf(why, whylen, -E2BIG,
			    "kernel needs %llu MiB of RAM to decompress, the VM has %llu MiB below 3 GiB",
			    (unsigned long long)((need + MiB - 1) / MiB),
			    (unsigned long long)(guest_mem_low_end(mem) / MiB));
	r = load_segment(mem, fd, setup_size, load, ksize, ksize, why, whylen, "bzImage payload");
	if (r < 0)
		return r;

	memset(ki, 0, sizeof(*ki));
	ki->protocol = BOOT_LINUX64;
	ki->entry = load + BZ_ENTRY64_OFF;
	ki->kernel_end = need;
	ki->is_bzimage = true;
	ki->hdr = hdr;
	ki->cmdline_max = hdr.cmdline_size ? (uint32_t)MIN(hdr.cmdline_size + 1ULL, 65536ULL) : 256;
	ki->initrd_max = (uint64_t)hdr.initrd_addr_max + 1;
	return 0;
}

int kernel_load(struct guest_mem *mem, int fd, uint64_t size, enum boot_pref pref,
		struct kernel_info *ki, char *why, size_t whylen)
{
	uint8_t magic[4];

	if (size < sizeof(magic) || util_pread_full(fd, magic, sizeof(magic), 0) < 0)
		return errf(why, whylen, -ENOEXEC, "file is empty or too short to be a kernel");
	if (!memcmp(magic, ELFMAG, SELFMAG))
		return elf_load(mem, fd, size, pref, ki, why, whylen);
	return bzimage_load(mem, fd, size, pref, ki, why, whylen);
}

int initrd_load(struct guest_mem *mem, int fd, uint64_t size,
		const struct kernel_info *ki, uint64_t *gpa, char *why, size_t whylen)
{
	uint64_t top = MIN(guest_mem_low_end(mem), ki->initrd_max);
	uint64_t addr;
	void *dst;
	int r;

	if (size == 0)
		return errf(why, whylen, -EINVAL, "initrd is empty");
	if (size > top || ALIGN_DOWN(top - size, 4096) < ALIGN_UP(ki->kernel_end, 4096))
		return errf(why, whylen, -E2BIG,
			    "initrd (%llu MiB) does not fit in RAM above the kernel; give the VM more memory (--mem)",
			    (unsigned long long)((size + MiB - 1) / MiB));
	addr = ALIGN_DOWN(top - size, 4096);
	dst = guest_mem_ptr(mem, addr, size);
	if (!dst)
		return errf(why, whylen, -E2BIG, "initrd does not fit in RAM");
	r = util_pread_full(fd, dst, size, 0);
	if (r < 0)
		return errf(why, whylen, r, "short read");
	*gpa = addr;
	return 0;
}
