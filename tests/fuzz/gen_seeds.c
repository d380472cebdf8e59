/*
 * gen_seeds.c — writes the seed corpus of fuzz_loader into the directory
 * given as argv[1] (`make fuzz-seeds`): a few tiny valid kernels of each
 * format, built with the unit tests' image builders.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/kimage.h"

static struct kimage k;

static void save(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, k.data, k.size) != (ssize_t)k.size || close(fd) < 0) {
		fprintf(stderr, "gen_seeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds DIR\n");
		return 2;
	}
	/* vmlinux: one segment, code then bss. */
	kimage_elf(&k, 0x200000);
	kimage_elf_load(&k, 0x200000, 0x100, 0x2000);
	save(argv[1], "elf-vmlinux");

	/* vmlinux with a PVH note (4-byte entry). */
	kimage_elf(&k, 0x200000);
	kimage_elf_load(&k, 0x200000, 0x100, 0x2000);
	kimage_elf_pvh_note(&k, 0x200040, 4);
	save(argv[1], "elf-pvh");

	/* Two segments and an 8-byte PVH entry in the second. */
	kimage_elf(&k, 0x200000);
	kimage_elf_load(&k, 0x200000, 0x80, 0x1000);
	kimage_elf_load(&k, 0x400000, 0x80, 0x3000);
	kimage_elf_pvh_note(&k, 0x400010, 8);
	save(argv[1], "elf-2seg-pvh");

	/* Relocatable bzImage, one setup sector. */
	kimage_bzimage(&k, 1, 1024);
	save(argv[1], "bzimage");

	/* Non-relocatable bzImage at 2 MiB, setup_sects 0 (means 4). */
	kimage_bzimage(&k, 0, 512);
	kimage_bz_hdr(&k)->relocatable_kernel = 0;
	kimage_bz_hdr(&k)->pref_address = 0x200000;
	kimage_bz_hdr(&k)->init_size = 0x100000;
	save(argv[1], "bzimage-fixed");
	return 0;
}
