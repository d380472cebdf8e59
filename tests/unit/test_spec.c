/*
 * test_spec.c — the VM description's rules (vmm/spec.c), which the API and
 * the config file share: Firecracker's replace-by-id PUT semantics, one
 * root block device, unique taps and MACs, the id alphabet, ownership of
 * the strings on success and on refusal.
 */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmm/spec.h"
#include "vmm/util.h"


static struct spec_drive drive(const char *id, const char *path, bool root)
{
	struct spec_drive d = {
		.drive_id = strdup(id), .path_on_host = strdup(path), .is_root_device = root,
		.cache_unsafe = true,
	};

	assert_non_null(d.drive_id);
	assert_non_null(d.path_on_host);
	return d;
}

static struct spec_nic nic(const char *id, const char *tap, int mac_last)
{
	struct spec_nic n = { .iface_id = strdup(id), .host_dev_name = strdup(tap) };

	assert_non_null(n.iface_id);
	assert_non_null(n.host_dev_name);
	if (mac_last >= 0) {
		n.have_mac = true;
		n.guest_mac[0] = 0x02;
		n.guest_mac[5] = (uint8_t)mac_last;
	}
	return n;
}

static int put_drive(struct spec_fixture *f, struct spec_drive d)
{
	int r = spec_put_drive(&f->spec, &d, f->why, sizeof(f->why));

	if (r) {
		assert_non_null(d.drive_id);         /* the caller keeps them on error */
		spec_drive_free(&d);
	} else {
		assert_null(d.drive_id);             /* taken and zeroed on success */
		assert_null(d.path_on_host);
	}
	return r;
}

static int put_nic(struct spec_fixture *f, struct spec_nic n)
{
	int r = spec_put_nic(&f->spec, &n, f->why, sizeof(f->why));

	if (r) {
		assert_non_null(n.iface_id);
		spec_nic_free(&n);
	} else {
		assert_null(n.iface_id);
	}
	return r;
}

static void defaults_and_free(void **state)
{
	struct spec_fixture *f = *state;

	assert_null(f->spec.kernel_image_path);
	assert_int_equal(f->spec.machine.vcpu_count, 1);
	assert_int_equal(f->spec.machine.mem_size_mib, 128);
	assert_false(f->spec.machine.smt);
	assert_false(f->spec.logger.set);
	assert_int_equal(spec_set_str(&f->spec.kernel_image_path, "vmlinux"), 0);
	assert_int_equal(spec_set_str(&f->spec.logger.log_path, "l"), 0);
	assert_int_equal(put_drive(f, drive("a", "a.img", true)), 0);
	f->spec.machine.vcpu_count = 4;
	spec_free(&f->spec);
	assert_null(f->spec.kernel_image_path);
	assert_null(f->spec.logger.log_path);
	assert_int_equal(f->spec.nr_drives, 0);
	assert_int_equal(f->spec.machine.vcpu_count, SPEC_DEFAULT_VCPUS);
}

static void set_str(void **state)
{
	struct spec_fixture *f = *state;
	char buf[] = "first";

	assert_int_equal(spec_set_str(&f->spec.boot_args, buf), 0);
	buf[0] = 'F';                                   /* a copy, not the caller's */
	assert_string_equal(f->spec.boot_args, "first");
	assert_int_equal(spec_set_str(&f->spec.boot_args, "second"), 0);
	assert_string_equal(f->spec.boot_args, "second");
	assert_int_equal(spec_set_str(&f->spec.boot_args, NULL), 0);
	assert_null(f->spec.boot_args);
}

static void id_alphabet(void **state)
{
	char id[SPEC_ID_MAX + 2];

	(void)state;
	assert_true(spec_id_valid("rootfs"));
	assert_true(spec_id_valid("A_z_09"));
	assert_true(spec_id_valid("_"));
	assert_false(spec_id_valid(NULL));
	assert_false(spec_id_valid(""));
	assert_false(spec_id_valid("root-fs"));
	assert_false(spec_id_valid("root fs"));
	assert_false(spec_id_valid("r\u00e9"));
	assert_false(spec_id_valid("a/b"));
	memset(id, 'x', SPEC_ID_MAX);
	id[SPEC_ID_MAX] = '\0';
	assert_true(spec_id_valid(id));
	id[SPEC_ID_MAX] = 'x';
	id[SPEC_ID_MAX + 1] = '\0';
	assert_false(spec_id_valid(id));
}

static void drive_insert_and_replace(void **state)
{
	struct spec_fixture *f = *state;

	assert_int_equal(put_drive(f, drive("a", "a.img", false)), 0);
	assert_int_equal(put_drive(f, drive("b", "b.img", false)), 0);
	assert_int_equal(spec_find_drive(&f->spec, "b"), 1);
	assert_int_equal(spec_find_drive(&f->spec, "c"), -1);
	assert_int_equal(spec_find_drive(&f->spec, NULL), -1);
	/* Same id: replaced where it was; the old strings are freed (ASan). */
	assert_int_equal(put_drive(f, drive("a", "new.img", false)), 0);
	assert_int_equal(f->spec.nr_drives, 2);
	assert_int_equal(spec_find_drive(&f->spec, "a"), 0);
	assert_string_equal(f->spec.drives[0].path_on_host, "new.img");
}

static void one_root_device(void **state)
{
	struct spec_fixture *f = *state;

	assert_int_equal(put_drive(f, drive("data", "d.img", false)), 0);
	assert_int_equal(put_drive(f, drive("root", "r.ext4", true)), 0);
	assert_int_equal(put_drive(f, drive("other", "o.ext4", true)), -EEXIST);
	assert_string_equal(f->why, "a root block device already exists (drive \"root\")");
	/* Turning a non-root drive into the root is a second root too. */
	assert_int_equal(put_drive(f, drive("data", "d.img", true)), -EEXIST);
	assert_false(f->spec.drives[0].is_root_device);
	assert_int_equal(f->spec.nr_drives, 2);
	/* The root device replacing itself is fine ... */
	assert_int_equal(put_drive(f, drive("root", "r2.ext4", true)), 0);
	/* ... and once it is no longer root, another may be. */
	assert_int_equal(put_drive(f, drive("root", "r2.ext4", false)), 0);
	assert_int_equal(put_drive(f, drive("data", "d.img", true)), 0);
	assert_true(f->spec.drives[0].is_root_device);
}

static void drive_limits(void **state)
{
	struct spec_fixture *f = *state;
	char id[16];
	int i;

	for (i = 0; i < SPEC_MAX_DRIVES; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		assert_int_equal(put_drive(f, drive(id, "x.img", false)), 0);
	}
	assert_int_equal(put_drive(f, drive("one_more", "x.img", false)), -ENOSPC);
	assert_string_equal(f->why, "too many drives (brisk has at most 16)");
	assert_int_equal(put_drive(f, drive("d3", "y.img", false)), 0);   /* replace when full */
	assert_int_equal(f->spec.nr_drives, SPEC_MAX_DRIVES);
	assert_int_equal(put_drive(f, drive("bad id", "x.img", false)), -EINVAL);
	assert_why(f->why, "drive_id");
	assert_int_equal(put_drive(f, drive("d0", "", false)), -EINVAL);
	assert_why(f->why, "path_on_host");
}

static void nic_rules(void **state)
{
	struct spec_fixture *f = *state;
	char id[16];
	int i;

	assert_int_equal(put_nic(f, nic("eth0", "tap0", 1)), 0);
	assert_int_equal(put_nic(f, nic("eth1", "tap0", 2)), -EEXIST);
	assert_string_equal(f->why, "tap \"tap0\" is already used by interface \"eth0\"");
	assert_int_equal(put_nic(f, nic("eth1", "tap1", 1)), -EEXIST);
	assert_string_equal(f->why, "MAC 02:00:00:00:00:01 is already used by interface \"eth0\"");
	/* No MAC on one side: derived later, no clash now. */
	assert_int_equal(put_nic(f, nic("eth1", "tap1", -1)), 0);
	assert_int_equal(put_nic(f, nic("eth2", "tap2", -1)), 0);
	/* Replace by id, keeping its own tap and MAC. */
	assert_int_equal(put_nic(f, nic("eth0", "tap0", 1)), 0);
	assert_int_equal(put_nic(f, nic("eth0", "tap9", 9)), 0);
	assert_int_equal(f->spec.nr_nics, 3);
	assert_int_equal(spec_find_nic(&f->spec, "eth0"), 0);
	assert_string_equal(f->spec.nics[0].host_dev_name, "tap9");
	assert_int_equal(put_nic(f, nic("eth 3", "tap3", -1)), -EINVAL);
	assert_int_equal(put_nic(f, nic("eth3", "", -1)), -EINVAL);
	for (i = 3; i < SPEC_MAX_NICS; i++) {
		snprintf(id, sizeof(id), "eth%d", i);
		assert_int_equal(put_nic(f, nic(id, id, -1)), 0);
	}
	assert_int_equal(put_nic(f, nic("eth99", "tap99", -1)), -ENOSPC);
	assert_string_equal(f->why, "too many network interfaces (brisk has at most 8)");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, spec_fixture_setup, spec_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(defaults_and_free),
		T(set_str),
		T(id_alphabet),
		T(drive_insert_and_replace),
		T(one_root_device),
		T(drive_limits),
		T(nic_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
