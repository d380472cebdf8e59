/*
 * fuzz_loader.c — libFuzzer target for the kernel loaders (vmm/loader.c)
 * and the boot data built from their result (vmm/boot.c).
 *
 * The input is the kernel file (in a memfd). It is loaded with each boot
 * preference; whatever loads then gets an initrd, the zero page or PVH
 * start info, and the boot registers. Besides crashes and sanitizer
 * reports, a broken loader contract traps: a refusal without a reason, or a
 * success whose entry, kernel end or initrd lies outside guest RAM.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/boot.h"
#include "vmm/loader.h"

#define RAM_SIZE (32ULL << 20)  /* small: a loaded segment is memset per run */
#define INITRD_SIZE 8192

static struct guest_mem mem;
static int kernel_fd = -1, initrd_fd = -1;

/* A broken invariant: say which, then crash so libFuzzer keeps the input. */
#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_loader: %s:%d: %s\n", __FILE__,  \
				__LINE__, #cond);                              \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

static void fuzz_init(void)
{
	static uint8_t initrd[INITRD_SIZE];
	void *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	kernel_fd = memfd_create("fuzz-kernel", MFD_CLOEXEC);
	initrd_fd = memfd_create("fuzz-initrd", MFD_CLOEXEC);
	if (ram == MAP_FAILED || kernel_fd < 0 || initrd_fd < 0)
		abort();
	guest_mem_init_static(&mem, ram, RAM_SIZE);
	memset(initrd, 0x5a, sizeof(initrd));
	if (write(initrd_fd, initrd, sizeof(initrd)) != sizeof(initrd))
		abort();
}

static void boot_with(const struct kernel_info *ki)
{
	char why[LOADER_WHY_MAX] = "";
	struct kvm_regs regs;
	struct kvm_sregs sregs = { 0 };
	uint64_t gpa = 0, size = INITRD_SIZE;
	int r;

	check(ki->entry >= LOADER_HIMEM_START && guest_mem_ptr(&mem, ki->entry, 1));
	check(ki->kernel_end <= RAM_SIZE && ki->kernel_end > ki->entry);
	check(ki->cmdline_max >= 1 && ki->cmdline_max <= 65536);

	r = initrd_load(&mem, initrd_fd, size, ki, &gpa, why, sizeof(why));
	if (r == 0) {
		check(gpa % 4096 == 0 && gpa >= ki->kernel_end);
		check(guest_mem_ptr(&mem, gpa, size) != NULL);
	} else {
		check(why[0] != '\0');
		size = 0;
	}
	r = boot_setup_memory(&mem, ki, "console=ttyS0 reboot=k", gpa, size);
	check(r == 0 || r == -E2BIG);
	boot_cpu_regs(ki, &regs, &sregs);
	check(regs.rip == ki->entry);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const enum boot_pref prefs[] = {
		BOOT_PREF_AUTO, BOOT_PREF_LINUX64, BOOT_PREF_PVH,
	};

	if (kernel_fd < 0)
		fuzz_init();
	if (ftruncate(kernel_fd, 0) < 0 ||
	    (len && pwrite(kernel_fd, data, len, 0) != (ssize_t)len))
		abort();

	for (size_t i = 0; i < sizeof(prefs) / sizeof(prefs[0]); i++) {
		struct kernel_info ki;
		char why[LOADER_WHY_MAX] = "";
		int r = kernel_load(&mem, kernel_fd, len, prefs[i], &ki, why, sizeof(why));

		if (r < 0) {
			check(why[0] != '\0');
			continue;
		}
		check(prefs[i] != BOOT_PREF_PVH || ki.protocol == BOOT_PVH);
		boot_with(&ki);
	}
	return 0;
}
