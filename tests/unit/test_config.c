/*
 * test_config.c — Firecracker's JSON configuration (vmm/config.c,
 * vmm/config_io.c) as files: the config files under tests/unit/configs/,
 * one invalid file per error class with the JSON path and LINE:COL it must
 * report, text-level errors, and the round trip through
 * config_spec_to_json(). The section parsers as the API calls them are in
 * test_config_api.c.
 */
#include "tests/unit/testlib.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/util.h"


/* tests/unit/configs/NAME: next to this file; the tests run from the repo root. */
static const char *config_path(const char *name)
{
	static char buf[512];
	const char *slash = strrchr(__FILE__, '/');

	snprintf(buf, sizeof(buf), "%.*sconfigs/%s", slash ? (int)(slash - __FILE__ + 1) : 0,
		 __FILE__, name);
	return buf;
}

static int load(struct spec_fixture *f, const char *name)
{
	f->why[0] = '\0';
	spec_free(&f->spec);
	return config_load_file(config_path(name), &f->spec, f->why, sizeof(f->why));
}

static int parse(struct spec_fixture *f, const char *text)
{
	f->why[0] = '\0';
	spec_free(&f->spec);
	return config_parse_text(text, strlen(text), "vm.json", &f->spec, f->why, sizeof(f->why));
}

#define BOOT "\"boot-source\": {\"kernel_image_path\": \"vmlinux\"}"

/* ---- valid files ---- */

static const char *const valid_files[] = {
	"valid-minimal.json", "valid-full.json", "valid-firecracker-example.json",
	"valid-two-drives-nics.json",
};

static void valid_minimal(void **state)
{
	struct spec_fixture *f = *state;

	assert_int_equal(load(f, "valid-minimal.json"), 0);
	assert_string_equal(f->spec.kernel_image_path, "vmlinux");
	assert_null(f->spec.initrd_path);
	assert_null(f->spec.boot_args);
	assert_int_equal(f->spec.nr_drives, 0);
	assert_int_equal(f->spec.nr_nics, 0);
	assert_int_equal(f->spec.machine.vcpu_count, SPEC_DEFAULT_VCPUS);
	assert_int_equal(f->spec.machine.mem_size_mib, SPEC_DEFAULT_MEM_MIB);
	assert_false(f->spec.machine.smt);
	assert_false(f->spec.logger.set);
	assert_false(f->spec.metrics.set);
}

static void valid_full(void **state)
{
	struct spec_fixture *f = *state;
	const struct spec_drive *d = f->spec.drives;
	const struct spec_nic *n = f->spec.nics;
	static const uint8_t mac[6] = { 0x06, 0x00, 0xac, 0x10, 0x00, 0x02 };

	assert_int_equal(load(f, "valid-full.json"), 0);
	assert_string_equal(f->spec.kernel_image_path, "/srv/vm/vmlinux");
	assert_string_equal(f->spec.initrd_path, "/srv/vm/initrd.cpio.gz");
	assert_string_equal(f->spec.boot_args, "console=ttyS0 reboot=k panic=1 quiet");

	assert_int_equal(f->spec.nr_drives, 2);
	assert_string_equal(d[0].drive_id, "rootfs");
	assert_string_equal(d[0].path_on_host, "/srv/vm/rootfs.ext4");
	assert_true(d[0].is_root_device);
	assert_true(d[0].is_read_only);
	assert_string_equal(d[0].partuuid, "0eaa91a0-01");
	assert_false(d[0].cache_unsafe);
	assert_int_equal(d[0].io_engine, IO_ENGINE_URING);
	assert_string_equal(d[1].drive_id, "scratch_1");
	assert_false(d[1].is_root_device);
	assert_false(d[1].is_read_only);
	assert_null(d[1].partuuid);
	assert_true(d[1].cache_unsafe);
	assert_int_equal(d[1].io_engine, IO_ENGINE_SYNC);

	assert_int_equal(f->spec.nr_nics, 1);
	assert_string_equal(n[0].iface_id, "eth0");
	assert_string_equal(n[0].host_dev_name, "tap0");
	assert_true(n[0].have_mac);
	assert_memory_equal(n[0].guest_mac, mac, 6);

	assert_int_equal(f->spec.machine.vcpu_count, 4);
	assert_int_equal(f->spec.machine.mem_size_mib, 2048);
	assert_false(f->spec.machine.smt);
	assert_true(f->spec.machine.track_dirty_pages);

	assert_true(f->spec.logger.set);
	assert_string_equal(f->spec.logger.log_path, "/srv/vm/brisk.log");
	assert_true(f->spec.logger.level_set);
	assert_int_equal(f->spec.logger.level, LOG_INFO);
	assert_false(f->spec.logger.level_off);
	assert_true(f->spec.logger.show_level);
	assert_true(f->spec.logger.show_log_origin);
	assert_true(f->spec.metrics.set);
	assert_string_equal(f->spec.metrics.metrics_path, "/srv/vm/metrics.json");
}

static void valid_firecracker_example(void **state)
{
	struct spec_fixture *f = *state;

	assert_int_equal(load(f, "valid-firecracker-example.json"), 0);
	assert_string_equal(f->spec.kernel_image_path, "vmlinux.bin");
	assert_null(f->spec.initrd_path);                 /* null = absent */
	assert_int_equal(f->spec.nr_drives, 1);
	assert_null(f->spec.drives[0].partuuid);
	assert_true(f->spec.drives[0].cache_unsafe);
	assert_int_equal(f->spec.drives[0].io_engine, IO_ENGINE_SYNC);
	assert_int_equal(f->spec.nr_nics, 0);
	assert_int_equal(f->spec.machine.vcpu_count, 2);
	assert_int_equal(f->spec.machine.mem_size_mib, 1024);
	assert_false(f->spec.logger.set);                 /* "logger": null */
	assert_false(f->spec.metrics.set);
}

static void valid_two_drives_nics(void **state)
{
	struct spec_fixture *f = *state;

	assert_int_equal(load(f, "valid-two-drives-nics.json"), 0);
	assert_string_equal(f->spec.boot_args, "");       /* empty, not brisk's default */
	assert_int_equal(f->spec.nr_drives, 2);
	assert_string_equal(f->spec.drives[0].drive_id, "data");   /* order as given */
	assert_false(f->spec.drives[0].is_root_device);
	assert_int_equal(f->spec.drives[0].io_engine, IO_ENGINE_AUTO);
	assert_true(f->spec.drives[0].cache_unsafe);
	assert_true(f->spec.drives[1].is_root_device);
	assert_true(f->spec.drives[1].is_read_only);
	assert_int_equal(f->spec.nr_nics, 2);
	assert_true(f->spec.nics[0].have_mac);
	assert_int_equal(f->spec.nics[0].guest_mac[1], 0xfc);
	assert_string_equal(f->spec.nics[1].host_dev_name, "tap-brisk1");
	assert_false(f->spec.nics[1].have_mac);
	assert_int_equal(f->spec.machine.vcpu_count, SPEC_MAX_VCPUS);
	assert_int_equal(f->spec.machine.mem_size_mib, SPEC_MAX_MEM_MIB);
	assert_true(f->spec.logger.level_set);
	assert_true(f->spec.logger.level_off);            /* "off": any case */
	assert_null(f->spec.logger.log_path);
}

/* ---- invalid files: the message gives LINE:COL and the JSON path ---- */

static const struct {
	const char *file;
	const char *want;            /* what follows "PATH/NAME:" in the message */
} invalid[] = {
	{ "bad-syntax.json", "4:15: invalid JSON: '}' expected near '\"boot_args\"'" },
	{ "bad-top-level.json", "2:3: top level: expected an object, got an array" },
	{ "bad-unknown-key.json", "8:7: drives[0].is_readonly: unknown key" },
	{ "bad-unknown-top-key.json", "3:3: machine_config: unknown key" },
	{ "bad-wrong-type.json", "8:23: drives[0].is_read_only: expected a boolean, got a string" },
	{ "bad-missing-kernel.json", "2:18: boot-source.kernel_image_path: required key missing" },
	{ "bad-missing-boot-source.json", "1:1: boot-source: required key missing" },
	{ "bad-missing-root-flag.json", "5:5: drives[1].is_root_device: required key missing" },
	{ "bad-vcpu-range.json", "3:36: machine-config.vcpu_count: must be 1 to 32, got 33" },
	{ "bad-mem-range.json", "5:21: machine-config.mem_size_mib: must be 1 to 1048576 MiB, got 0" },
	{ "bad-vcpu-real.json", "3:36: machine-config.vcpu_count: expected an integer, got a real number" },
	{ "bad-mac.json", "4:64: network-interfaces[0].guest_mac: \"06:00:AC:10:00\" is not a MAC address" },
	{ "bad-mac-multicast.json", "4:64: network-interfaces[0].guest_mac: 01:00:5e:00:00:01 is a multicast address" },
	{ "bad-mac-zero.json", "4:64: network-interfaces[0].guest_mac: must not be all zeroes" },
	{ "bad-two-roots.json", "5:71: drives[1].is_root_device: a root block device already exists (drive \"root1\")" },
	{ "bad-dup-drive-id.json", "5:18: drives[1].drive_id: \"disk\" is already used by drives[0]" },
	{ "bad-dup-iface-id.json", "5:18: network-interfaces[1].iface_id: \"eth0\" is already used by network-interfaces[0]" },
	{ "bad-dup-tap.json", "5:43: network-interfaces[1].host_dev_name: tap \"tap0\" is already used by interface \"eth0\"" },
	{ "bad-dup-mac.json", "5:64: network-interfaces[1].guest_mac: MAC 02:00:00:00:00:07 is already used by interface \"eth0\"" },
	{ "bad-vsock.json", "3:12: vsock: not supported by brisk (remove the key or set it to null)" },
	{ "bad-smt.json", "3:67: machine-config.smt: true is not supported by brisk" },
	{ "bad-rate-limiter.json", "8:23: drives[0].rate_limiter: not supported by brisk" },
	{ "bad-socket.json", "4:37: drives[0].socket: not supported by brisk" },
	{ "bad-cpu-template.json", "6:21: machine-config.cpu_template: \"T2\" is not supported by brisk" },
	{ "bad-io-engine.json", "5:19: drives[0].io_engine: must be \"Sync\" or \"Async\", got \"Uring\"" },
	{ "bad-cache-type.json", "5:20: drives[0].cache_type: must be \"Unsafe\" or \"Writeback\", got \"writeback\"" },
	{ "bad-empty-path.json", "4:44: drives[0].path_on_host: must not be empty" },
	{ "bad-drive-id.json", "4:18: drives[0].drive_id: \"root-fs\" is not a valid id" },
	{ "bad-tap-too-long.json", "4:43: network-interfaces[0].host_dev_name: \"tap-name-too-long\" is too long (at most 15 bytes)" },
	{ "bad-dup-key.json", "6:16: invalid JSON: duplicate object key near '\"vcpu_count\"'" },
	{ "bad-logger-level.json", "3:48: logger.level: must be Error, Warning, Info, Debug, Trace or Off, got \"Verbose\"" },
	{ "bad-metrics-missing-path.json", "3:14: metrics.metrics_path: required key missing" },
	/* "\u0064rives", "is_r\u006fot_device", a value full of quotes and brackets */
	{ "bad-escaped-keys.json", "7:30: drives[0].is_root_device: expected a boolean, got a string" },
	/* columns count characters (☃ and é are one each), as jansson's do */
	{ "bad-utf8-column.json", "2:83: boot-source.kernel_image_path: expected a string, got an integer" },
};

static void invalid_files(void **state)
{
	struct spec_fixture *f = *state;
	char want[1024];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(invalid); i++) {
		int r = load(f, invalid[i].file);

		snprintf(want, sizeof(want), "%s:%s", config_path(invalid[i].file), invalid[i].want);
		if (r != -EINVAL || strncmp(f->why, want, strlen(want)))
			fail_msg("%s: got %d \"%s\"\n  want \"%s...\"", invalid[i].file, r, f->why,
				 want);
	}
}

/* Every file in tests/unit/configs/ is tested, as valid or as invalid. */
static void every_file_is_tested(void **state)
{
	char dir[512];
	struct dirent *e;
	size_t i, found = 0;
	DIR *d;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", config_path(""));
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		bool known = false;

		if (e->d_name[0] == '.')
			continue;
		for (i = 0; i < ARRAY_SIZE(valid_files); i++)
			known |= !strcmp(e->d_name, valid_files[i]);
		for (i = 0; i < ARRAY_SIZE(invalid); i++)
			known |= !strcmp(e->d_name, invalid[i].file);
		if (!known)
			fail_msg("%s%s is not in test_config.c's lists", dir, e->d_name);
		found++;
	}
	closedir(d);
	assert_int_equal(found, ARRAY_SIZE(valid_files) + ARRAY_SIZE(invalid));
}

/* ---- text-level errors ---- */

static void text_errors(void **state)
{
	struct spec_fixture *f = *state;
	char big[64] = "{" BOOT "}";
	const char with_nul[] = "{\n  \"a\0\": 1}";

	assert_int_equal(config_parse_text(with_nul, sizeof(with_nul) - 1, "vm.json", &f->spec,
					   f->why, sizeof(f->why)), -EINVAL);
	assert_string_equal(f->why, "vm.json:2:5: invalid JSON: NUL byte");
	assert_int_equal(parse(f, "{" BOOT ", \"x\": {\"y\": \"a\\u0000b\"}}"), -EINVAL);
	assert_why(f->why, "vm.json:1:");
	assert_why(f->why, "JSON_ALLOW_NUL");
	assert_int_equal(parse(f, ""), -EINVAL);
	assert_string_equal(f->why, "vm.json: empty, expected a JSON object");
	assert_int_equal(parse(f, " \n\t\r\n"), -EINVAL);
	assert_why(f->why, "empty");
	assert_int_equal(parse(f, "{" BOOT "} {}"), -EINVAL);
	assert_why(f->why, "vm.json:1:51: invalid JSON: end of file expected");
	assert_int_equal(parse(f, "\"just a string\""), -EINVAL);
	assert_string_equal(f->why, "vm.json:1:1: top level: expected an object, got a string");
	assert_int_equal(parse(f, "{\"drives\": {}, " BOOT "}"), -EINVAL);
	assert_string_equal(f->why, "vm.json:1:12: drives: expected an array, got an object");
	assert_int_equal(parse(f, "{\"boot-source\": null}"), -EINVAL);
	assert_string_equal(f->why, "vm.json:1:17: boot-source: expected an object, got null");
	assert_int_equal(parse(f, "{\"drives\": [[]], " BOOT "}"), -EINVAL);
	assert_string_equal(f->why, "vm.json:1:13: drives[0]: expected an object, got an array");
	/* CRLF line ends and tabs: one line per \n, a tab is one column */
	assert_int_equal(parse(f, "{\r\n\t" BOOT ",\r\n\t\"logger\": {\"level\": 3}\r\n}"), -EINVAL);
	assert_string_equal(f->why, "vm.json:3:22: logger.level: expected a string, got an integer");

	/* @len bounds the text: no NUL terminator needed, bytes after it unread */
	memcpy(big + strlen(big), "garbage", 8);
	assert_int_equal(config_parse_text(big, strlen("{" BOOT "}"), NULL, &f->spec, f->why,
					   sizeof(f->why)), 0);
	assert_int_equal(config_parse_text(big, CONFIG_MAX_FILE_BYTES + 1, "vm.json", &f->spec,
					   f->why, sizeof(f->why)), -EINVAL);
	assert_why(f->why, "larger than 1048576 bytes");
	/* no name: "config" */
	spec_free(&f->spec);
	assert_int_equal(config_parse_text("[]", 2, NULL, &f->spec, f->why, sizeof(f->why)), -EINVAL);
	assert_string_equal(f->why, "config:1:1: top level: expected an object, got an array");
	/* a tiny why buffer is NUL-terminated, not overrun */
	spec_free(&f->spec);
	memset(f->why, 'x', sizeof(f->why));
	assert_int_equal(config_parse_text("[]", 2, "vm.json", &f->spec, f->why, 8), -EINVAL);
	assert_string_equal(f->why, "vm.json");
}

static void load_file_errors(void **state)
{
	struct spec_fixture *f = *state;
	char path[64], *buf;
	int fd;

	assert_int_equal(load(f, "no-such-file.json"), -ENOENT);
	assert_why(f->why, "no-such-file.json: No such file or directory");
	spec_free(&f->spec);
	assert_int_equal(config_load_file("/", &f->spec, f->why, sizeof(f->why)), -EISDIR);

	/* One byte over the limit is refused before parsing. */
	buf = calloc(1, CONFIG_MAX_FILE_BYTES + 1);
	assert_non_null(buf);
	memset(buf, ' ', CONFIG_MAX_FILE_BYTES + 1);
	fd = memfd_with(buf, CONFIG_MAX_FILE_BYTES + 1);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	assert_int_equal(config_load_file(path, &f->spec, f->why, sizeof(f->why)), -EINVAL);
	assert_why(f->why, "larger than 1048576 bytes");
	close(fd);
	/* Exactly at the limit is read and parsed (here: a padded config). */
	memcpy(buf, "{" BOOT "}", strlen("{" BOOT "}"));
	fd = memfd_with(buf, CONFIG_MAX_FILE_BYTES);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	assert_int_equal(config_load_file(path, &f->spec, f->why, sizeof(f->why)), 0);
	assert_string_equal(f->spec.kernel_image_path, "vmlinux");
	close(fd);
	free(buf);
}

/* Optional keys set to null are absent; required ones are not. */
static void nulls(void **state)
{
	struct spec_fixture *f = *state;

	assert_int_equal(parse(f, "{" BOOT ", \"machine-config\": null, \"metrics\": null,"
			       " \"drives\": null, \"network-interfaces\": null, \"pmem\": [],"
			       " \"drives\": null}"), -EINVAL);   /* repeated key */
	assert_int_equal(parse(f, "{" BOOT ", \"machine-config\": null, \"metrics\": null,"
			       " \"drives\": null, \"network-interfaces\": null, \"pmem\": []}"), 0);
	assert_int_equal(parse(f, "{" BOOT ", \"drives\": [{\"drive_id\": null,"
			       " \"path_on_host\": \"a\", \"is_root_device\": false}]}"), -EINVAL);
	assert_string_equal(f->why, "vm.json:1:75: drives[0].drive_id: expected a string, got null");
}

/* ---- back to JSON ---- */

static void assert_same_str(const char *a, const char *b)
{
	if (a || b) {
		assert_non_null(a);
		assert_non_null(b);
		assert_string_equal(a, b);
	}
}

/* Equal field by field; an io_engine left AUTO is written "Async", read back URING. */
static void assert_spec_equal(const struct vm_spec *a, const struct vm_spec *b)
{
	unsigned int i;

	assert_same_str(a->kernel_image_path, b->kernel_image_path);
	assert_same_str(a->initrd_path, b->initrd_path);
	assert_same_str(a->boot_args, b->boot_args);
	assert_int_equal(a->nr_drives, b->nr_drives);
	for (i = 0; i < a->nr_drives; i++) {
		const struct spec_drive *x = &a->drives[i], *y = &b->drives[i];

		assert_same_str(x->drive_id, y->drive_id);
		assert_same_str(x->path_on_host, y->path_on_host);
		assert_same_str(x->partuuid, y->partuuid);
		assert_int_equal(x->is_root_device, y->is_root_device);
		assert_int_equal(x->is_read_only, y->is_read_only);
		assert_int_equal(x->cache_unsafe, y->cache_unsafe);
		assert_int_equal(x->io_engine == IO_ENGINE_AUTO ? IO_ENGINE_URING : x->io_engine,
				 y->io_engine);
	}
	assert_int_equal(a->nr_nics, b->nr_nics);
	for (i = 0; i < a->nr_nics; i++) {
		assert_same_str(a->nics[i].iface_id, b->nics[i].iface_id);
		assert_same_str(a->nics[i].host_dev_name, b->nics[i].host_dev_name);
		assert_int_equal(a->nics[i].have_mac, b->nics[i].have_mac);
		assert_memory_equal(a->nics[i].guest_mac, b->nics[i].guest_mac, 6);
	}
	assert_memory_equal(&a->machine, &b->machine, sizeof(a->machine));
	assert_int_equal(a->logger.set, b->logger.set);
	assert_same_str(a->logger.log_path, b->logger.log_path);
	assert_int_equal(a->logger.level, b->logger.level);
	assert_int_equal(a->logger.level_set, b->logger.level_set);
	assert_int_equal(a->logger.level_off, b->logger.level_off);
	assert_int_equal(a->logger.show_level, b->logger.show_level);
	assert_int_equal(a->logger.show_log_origin, b->logger.show_log_origin);
	assert_int_equal(a->metrics.set, b->metrics.set);
	assert_same_str(a->metrics.metrics_path, b->metrics.metrics_path);
}

static void round_trip(void **state)
{
	struct spec_fixture *f = *state;
	struct vm_spec back;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(valid_files); i++) {
		const char *file = valid_files[i];
		json_t *j;
		char *text;

		assert_int_equal(load(f, file), 0);
		j = config_spec_to_json(&f->spec);
		assert_non_null(j);
		text = json_dumps(j, JSON_INDENT(2));
		assert_non_null(text);
		spec_init(&back);
		if (config_parse_text(text, strlen(text), file, &back, f->why, sizeof(f->why)))
			fail_msg("%s: %s\n%s", file, f->why, text);
		assert_spec_equal(&f->spec, &back);
		spec_free(&back);
		free(text);
		json_decref(j);
	}
}

static const char *jstr(json_t *o, const char *path)
{
	json_t *v = json_object_get(o, path);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static void to_json_shape(void **state)
{
	struct spec_fixture *f = *state;
	json_t *j, *boot, *d0, *n, *m, *l;

	assert_int_equal(load(f, "valid-two-drives-nics.json"), 0);
	j = config_spec_to_json(&f->spec);
	assert_non_null(j);
	boot = json_object_get(j, "boot-source");
	assert_string_equal(jstr(boot, "kernel_image_path"), "bzImage");
	assert_string_equal(jstr(boot, "boot_args"), "");
	assert_null(json_object_get(boot, "initrd_path"));          /* only keys set */
	d0 = json_array_get(json_object_get(j, "drives"), 0);
	assert_string_equal(jstr(d0, "drive_id"), "data");
	assert_string_equal(jstr(d0, "path_on_host"), "data.img");
	assert_true(json_is_false(json_object_get(d0, "is_root_device")));
	assert_true(json_is_false(json_object_get(d0, "is_read_only")));
	assert_string_equal(jstr(d0, "cache_type"), "Unsafe");
	assert_string_equal(jstr(d0, "io_engine"), "Async");         /* AUTO */
	assert_null(json_object_get(d0, "partuuid"));
	n = json_object_get(j, "network-interfaces");
	assert_int_equal(json_array_size(n), 2);
	assert_string_equal(jstr(json_array_get(n, 0), "guest_mac"), "02:fc:00:00:00:01");
	assert_null(json_object_get(json_array_get(n, 1), "guest_mac"));
	m = json_object_get(j, "machine-config");
	assert_int_equal(json_object_size(m), 4);
	assert_int_equal(json_integer_value(json_object_get(m, "vcpu_count")), 32);
	assert_int_equal(json_integer_value(json_object_get(m, "mem_size_mib")), 1048576);
	assert_true(json_is_false(json_object_get(m, "smt")));
	assert_true(json_is_false(json_object_get(m, "track_dirty_pages")));
	l = json_object_get(j, "logger");
	assert_string_equal(jstr(l, "level"), "Off");
	assert_null(json_object_get(l, "log_path"));
	assert_string_equal(jstr(json_object_get(j, "metrics"), "metrics_path"),
			    "/tmp/brisk-metrics.fifo");
	json_decref(j);

	/* Nothing configured: no boot-source, logger or metrics; empty arrays. */
	spec_free(&f->spec);
	j = config_spec_to_json(&f->spec);
	assert_non_null(j);
	assert_null(json_object_get(j, "boot-source"));
	assert_null(json_object_get(j, "logger"));
	assert_null(json_object_get(j, "metrics"));
	assert_int_equal(json_array_size(json_object_get(j, "drives")), 0);
	assert_int_equal(json_object_size(j), 3);
	json_decref(j);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, spec_fixture_setup, spec_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(valid_minimal),
		T(valid_full),
		T(valid_firecracker_example),
		T(valid_two_drives_nics),
		T(invalid_files),
		T(every_file_is_tested),
		T(text_errors),
		T(load_file_errors),
		T(nulls),
		T(round_trip),
		T(to_json_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
