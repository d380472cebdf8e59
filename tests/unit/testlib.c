/* testlib.c — fixtures shared by the unit tests (see testlib.h). */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

/* cmocka reports on stdout and stderr: keep them in order in a CI log. */
__attribute__((constructor)) static void testlib_line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static void *fake_map(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		fail_msg("mmap %llu bytes: %s", (unsigned long long)size, strerror(errno));
	return p;
}

void fake_mem_init(struct fake_mem *fm, uint64_t size)
{
	memset(fm, 0, sizeof(*fm));
	fm->host[0] = fake_map(size);
	fm->host_size[0] = size;
	guest_mem_init_static(&fm->mem, fm->host[0], size);
}

void fake_mem_init_split(struct fake_mem *fm, uint64_t low, uint64_t high)
{
	assert_true(low <= MMIO_GAP_START);
	fake_mem_init(fm, low);
	fm->host[1] = fake_map(high);
	fm->host_size[1] = high;
	fm->mem.regions[1] = (struct guest_mem_region){ MMIO_GAP_END, high, fm->host[1] };
	fm->mem.nr_regions = 2;
	fm->mem.ram_size = low + high;
}

void fake_mem_destroy(struct fake_mem *fm)
{
	for (unsigned int i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		if (fm->host[i])
			munmap(fm->host[i], fm->host_size[i]);
	memset(fm, 0, sizeof(*fm));
}

void *fake_mem_at(struct fake_mem *fm, uint64_t gpa, uint64_t len)
{
	void *p = guest_mem_ptr(&fm->mem, gpa, len);

	if (!p)
		fail_msg("GPA 0x%llx+%llu is not RAM", (unsigned long long)gpa,
			 (unsigned long long)len);
	return p;
}

int memfd_with(const void *buf, size_t len)
{
	const char *p = buf;
	int fd = memfd_create("brisk-test", MFD_CLOEXEC);

	if (fd < 0)
		fail_msg("memfd_create: %s", strerror(errno));
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			fail_msg("write memfd: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return fd;
}

int test_eventfd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (fd < 0)
		fail_msg("eventfd: %s", strerror(errno));
	return fd;
}

uint64_t eventfd_take(int fd)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != sizeof(n)) {
		if (errno != EAGAIN)
			fail_msg("read eventfd: %s", strerror(errno));
		return 0;
	}
	return n;
}

int spec_fixture_setup(void **state)
{
	struct spec_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	spec_init(&f->spec);
	*state = f;
	return 0;
}

int spec_fixture_teardown(void **state)
{
	struct spec_fixture *f = *state;

	spec_free(&f->spec);
	free(f);
	return 0;
}
