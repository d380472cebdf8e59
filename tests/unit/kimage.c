/* kimage.c — builders for small ELF64 / PVH / bzImage kernel images (see kimage.h). */
#include "tests/unit/kimage.h"

#include <assert.h>
#include <string.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define XEN_ELFNOTE_GUEST_OS 6

uint8_t kimage_byte(uint64_t off)
{
	/* Never 0 and never 0xaa, so both a missing copy and stale memory show. */
	return (uint8_t)(1 + off % 167);
}

Elf64_Ehdr *kimage_ehdr(struct kimage *k)
{
	return (Elf64_Ehdr *)k->data;
}

Elf64_Phdr *kimage_phdr(struct kimage *k, unsigned int i)
{
	assert(i < KIMAGE_MAX_PHDRS);
	return (Elf64_Phdr *)(k->data + sizeof(Elf64_Ehdr)) + i;
}

void kimage_elf(struct kimage *k, uint64_t entry)
{
	Elf64_Ehdr *eh = kimage_ehdr(k);

	memset(k->data, 0, sizeof(k->data));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 0;
	k->size = KIMAGE_DATA_OFF;
}

uint64_t kimage_append(struct kimage *k, size_t len)
{
	uint64_t off = k->size;

	assert(len <= sizeof(k->data) - k->size);
	for (size_t i = 0; i < len; i++)
		k->data[off + i] = kimage_byte(off + i);
	k->size += len;
	return off;
}

unsigned int kimage_add_phdr(struct kimage *k, const Elf64_Phdr *ph)
{
	Elf64_Ehdr *eh = kimage_ehdr(k);
	unsigned int i = eh->e_phnum++;

	*kimage_phdr(k, i) = *ph;
	return i;
}

unsigned int kimage_elf_load(struct kimage *k, uint64_t paddr, uint64_t filesz, uint64_t memsz)
{
	Elf64_Phdr ph = {
		.p_type = PT_LOAD,
		.p_flags = PF_R | PF_X,
		.p_offset = kimage_append(k, filesz),
		.p_vaddr = 0xffffffff80000000ULL + paddr,
		.p_paddr = paddr,
		.p_filesz = filesz,
		.p_memsz = memsz,
		.p_align = 0x1000,
	};

	return kimage_add_phdr(k, &ph);
}

/* Write one ELF note (name and descriptor padded to 4 bytes) at the end of the file. */
static void kimage_note(struct kimage *k, uint32_t type, const char *name,
			const void *desc, uint32_t descsz)
{
	Elf64_Nhdr nh = { (uint32_t)strlen(name) + 1, descsz, type };
	size_t name_sz = (nh.n_namesz + 3) & ~3U, desc_sz = (descsz + 3) & ~3U;
	uint8_t *p = k->data + k->size;

	assert(sizeof(nh) + name_sz + desc_sz <= sizeof(k->data) - k->size);
	memset(p, 0, sizeof(nh) + name_sz + desc_sz);
	memcpy(p, &nh, sizeof(nh));
	memcpy(p + sizeof(nh), name, nh.n_namesz);
	memcpy(p + sizeof(nh) + name_sz, desc, descsz);
	k->size += sizeof(nh) + name_sz + desc_sz;
}

unsigned int kimage_elf_pvh_note(struct kimage *k, uint64_t entry, uint32_t descsz)
{
	uint64_t off = k->size;
	Elf64_Phdr ph = { .p_type = PT_NOTE, .p_flags = PF_R, .p_align = 4 };

	assert(descsz == 4 || descsz == 8);
	/* Linux's vmlinux carries several Xen notes; the PVH one is not first. */
	kimage_note(k, XEN_ELFNOTE_GUEST_OS, "Xen", "linux", 6);
	kimage_note(k, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", &entry, descsz);
	ph.p_offset = off;
	ph.p_filesz = k->size - off;
	return kimage_add_phdr(k, &ph);
}

void kimage_vmlinux(struct kimage *k, int pvh)
{
	kimage_elf(k, KIMAGE_LOAD_ADDR);
	kimage_elf_load(k, KIMAGE_LOAD_ADDR, KIMAGE_FILESZ, KIMAGE_MEMSZ);
	if (pvh)
		kimage_elf_pvh_note(k, KIMAGE_PVH_ENTRY, 4);
}

struct setup_header *kimage_bz_hdr(struct kimage *k)
{
	return (struct setup_header *)(k->data + 0x1f1);
}

uint64_t kimage_bz_payload_off(struct kimage *k)
{
	uint8_t sects = kimage_bz_hdr(k)->setup_sects;

	return ((uint64_t)(sects ? sects : 4) + 1) * 512;
}

void kimage_bzimage(struct kimage *k, uint8_t setup_sects, size_t payload)
{
	struct setup_header *h = kimage_bz_hdr(k);

	assert(payload % 16 == 0);
	memset(k->data, 0, sizeof(k->data));
	h->setup_sects = setup_sects;
	h->syssize = (uint32_t)(payload / 16);
	h->boot_flag = 0xaa55;
	h->jump = 0x66eb;
	h->header = 0x53726448; /* "HdrS" */
	h->version = KIMAGE_BZ_VERSION;
	h->loadflags = LOADED_HIGH;
	h->code32_start = 0x100000;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->min_alignment = 21;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->cmdline_size = KIMAGE_BZ_CMDLINE_SIZE;
	h->pref_address = KIMAGE_BZ_PREF_ADDR;
	h->init_size = KIMAGE_BZ_INIT_SIZE;
	k->size = kimage_bz_payload_off(k);
	kimage_append(k, payload);
}
