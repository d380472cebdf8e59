/*
 * testlib.h — setup helpers shared by the cmocka unit tests (the boring
 * parts, KVM-selftests style): fake guest memory, memfds holding test files,
 * eventfd edge counting, and the `why` substring assertion.
 */
#ifndef BRISK_TESTS_TESTLIB_H
#define BRISK_TESTS_TESTLIB_H

/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmm/guest_mem.h"
#include "vmm/spec.h"

#define TEST_GiB (1ULL << 30)
#define TEST_MiB (1ULL << 20)

/* Guest RAM backed by test-owned anonymous mappings (zero-filled). */
struct fake_mem {
	struct guest_mem mem;
	void *host[GUEST_MEM_MAX_REGIONS];
	uint64_t host_size[GUEST_MEM_MAX_REGIONS];
};

/* @size bytes of RAM at GPA 0, described with guest_mem_init_static(). */
void fake_mem_init(struct fake_mem *fm, uint64_t size);

/*
 * The layout of a VM larger than the low RAM: @low bytes at GPA 0 and @high
 * bytes at 4 GiB, from two separate host mappings (a sparse stand-in for
 * guest_mem_init's single mapping). MAP_NORESERVE: untouched pages are free.
 */
void fake_mem_init_split(struct fake_mem *fm, uint64_t low, uint64_t high);

void fake_mem_destroy(struct fake_mem *fm);

/* Host pointer to [gpa, gpa+len), failing the test when it is not RAM. */
void *fake_mem_at(struct fake_mem *fm, uint64_t gpa, uint64_t len);

/* A memfd holding @len bytes of @buf at offset 0 (the test fails on error). */
int memfd_with(const void *buf, size_t len);

/* Nonblocking eventfd, counter 0. */
int test_eventfd(void);

/* Drain @fd's counter: the number of writes (edges) since the last call. */
uint64_t eventfd_take(int fd);

/* A fresh spec and a message buffer: cmocka setup/teardown for the spec and config tests. */
struct spec_fixture {
	struct vm_spec spec;
	char why[512];
};

int spec_fixture_setup(void **state);
int spec_fixture_teardown(void **state);

/* Fail unless @why contains @sub (errors must name the problem). */
#define assert_why(why, sub)                                                   \
	do {                                                                   \
		if (!strstr((why), (sub)))                                     \
			fail_msg("reason \"%s\" does not mention \"%s\"",      \
				 (why), (sub));                                \
	} while (0)

#endif
