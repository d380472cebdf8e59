/*
 * test_config_api.c — the Firecracker config section parsers as the API
 * calls them (vmm/config.c): PUT /boot-source, PUT /drives/{id}, PUT
 * /network-interfaces/{id}, PUT and PATCH /machine-config, PUT /logger,
 * PUT /metrics. Messages name the key without a leading dot, a refused
 * body leaves the spec as it was, and ids in the URL must match the body.
 */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmm/config.h"
#include "vmm/util.h"

struct fixture {
	struct vm_spec spec;
	char why[512];
	json_t *js[32];              /* request bodies, released at teardown */
	unsigned int nj;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	spec_init(&f->spec);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	while (f->nj)
		json_decref(f->js[--f->nj]);
	spec_free(&f->spec);
	free(f);
	return 0;
}

/* A request body (valid JSON written by the test), released at teardown. */
static json_t *body(struct fixture *f, const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	if (!j)
		fail_msg("test JSON %s: %s", text, e.text);
	assert_true(f->nj < ARRAY_SIZE(f->js));
	f->js[f->nj++] = j;
	return j;
}

static void api_boot_source(void **state)
{
	struct fixture *f = *state;
	struct vm_spec *s = &f->spec;
	char *w = f->why;

	assert_int_equal(config_boot_source(body(f, "{\"kernel_image_path\": \"k\", \"boot_args\":"
						" \"quiet\", \"initrd_path\": \"i\"}"),
					    "", s, w, sizeof(f->why)), 0);
	assert_string_equal(s->boot_args, "quiet");
	/* A PUT replaces the whole section. */
	assert_int_equal(config_boot_source(body(f, "{\"kernel_image_path\": \"k2\"}"), "", s, w,
					    sizeof(f->why)), 0);
	assert_string_equal(s->kernel_image_path, "k2");
	assert_null(s->boot_args);
	assert_null(s->initrd_path);
	/* Refused bodies name the key without a leading dot and change nothing. */
	assert_int_equal(config_boot_source(body(f, "{\"boot_args\": \"x\"}"), "", s, w,
					    sizeof(f->why)), -EINVAL);
	assert_string_equal(w, "kernel_image_path: required key missing");
	assert_int_equal(config_boot_source(body(f, "{\"kernel_image_path\": \"k3\", \"initrd_path\": 1}"),
					    "", s, w, sizeof(f->why)), -EINVAL);
	assert_string_equal(w, "initrd_path: expected a string, got an integer");
	assert_int_equal(config_boot_source(body(f, "{\"kernel_image_path\": \"\"}"), "", s, w,
					    sizeof(f->why)), -EINVAL);
	assert_string_equal(w, "kernel_image_path: must not be empty");
	assert_int_equal(config_boot_source(body(f, "[1]"), "", s, w, sizeof(f->why)), -EINVAL);
	assert_string_equal(w, "expected an object, got an array");
	assert_int_equal(config_boot_source(NULL, "", s, w, sizeof(f->why)), -EINVAL);
	assert_string_equal(w, "expected an object, got nothing");
	assert_string_equal(s->kernel_image_path, "k2");
	/* A caller's path prefixes the key. */
	assert_int_equal(config_boot_source(body(f, "{\"kernel\": \"k\"}"), "boot-source", s, w,
					    sizeof(f->why)), -EINVAL);
	assert_string_equal(w, "boot-source.kernel: unknown key");
}

#define ROOTFS "{\"drive_id\": \"rootfs\", \"path_on_host\": \"a.ext4\", \"is_root_device\": true}"

static void api_drive(void **state)
{
	struct fixture *f = *state;
	struct vm_spec *s = &f->spec;
	char *w = f->why;
	size_t wl = sizeof(f->why);

	assert_int_equal(config_drive(body(f, ROOTFS), "", "rootfs", s, w, wl), 0);
	assert_int_equal(config_drive(body(f, "{\"drive_id\": \"data\", \"path_on_host\": \"d.img\","
					  " \"is_root_device\": false}"), "", "data", s, w, wl), 0);
	assert_int_equal(s->nr_drives, 2);
	/* PUT /drives/{id} with another id in the body */
	assert_int_equal(config_drive(body(f, ROOTFS), "", "root", s, w, wl), -EINVAL);
	assert_string_equal(w, "drive_id: \"rootfs\" does not match the id in the URL path (\"root\")");
	/* Same id: replaced in place, order kept. */
	assert_int_equal(config_drive(body(f, "{\"drive_id\": \"rootfs\", \"path_on_host\": \"b.ext4\","
					  " \"is_root_device\": true, \"is_read_only\": true}"),
				      "", "rootfs", s, w, wl), 0);
	assert_int_equal(s->nr_drives, 2);
	assert_string_equal(s->drives[0].path_on_host, "b.ext4");
	assert_true(s->drives[0].is_read_only);
	/* A second root device */
	assert_int_equal(config_drive(body(f, "{\"drive_id\": \"data\", \"path_on_host\": \"d.img\","
					  " \"is_root_device\": true}"), "", NULL, s, w, wl), -EINVAL);
	assert_string_equal(w, "is_root_device: a root block device already exists (drive \"rootfs\")");
	assert_false(s->drives[1].is_root_device);
	/* A refused PUT leaves the drive as it was, even after valid keys. */
	assert_int_equal(config_drive(body(f, "{\"drive_id\": \"data\", \"path_on_host\": \"new.img\","
					  " \"is_root_device\": false, \"is_readonly\": true}"),
				      "", NULL, s, w, wl), -EINVAL);
	assert_string_equal(w, "is_readonly: unknown key");
	assert_string_equal(s->drives[1].path_on_host, "d.img");
	assert_int_equal(config_drive(body(f, "{\"drive_id\": \"data\", \"is_root_device\": false,"
					  " \"socket\": \"/run/vu.sock\"}"), "", NULL, s, w, wl), -EINVAL);
	assert_string_equal(w, "socket: not supported by brisk (remove the key or set it to null)");
	assert_int_equal(config_drive(body(f, "{\"drive_id\": \"data\", \"path_on_host\": \"d\","
					  " \"is_root_device\": false, \"rate_limiter\": {\"ops\": {}}}"),
				      "drives[1]", NULL, s, w, wl), -EINVAL);
	assert_string_equal(w, "drives[1].rate_limiter: not supported by brisk (remove the key or set it to null)");
	assert_int_equal(config_drive(body(f, "{\"drive_id\": \"data\", \"path_on_host\": \"d\","
					  " \"is_root_device\": false, \"partuuid\": \"a b\"}"),
				      "", NULL, s, w, wl), -EINVAL);
	assert_string_equal(w, "partuuid: must not contain spaces or control characters");
	assert_int_equal(config_drive(body(f, "{\"path_on_host\": \"d\", \"is_root_device\": false}"),
				      "", NULL, s, w, wl), -EINVAL);
	assert_string_equal(w, "drive_id: required key missing");
	/* The API may PUT the same id again (no "already used" as in a file). */
	assert_int_equal(config_drive(body(f, "{\"drive_id\": \"data\", \"path_on_host\": \"e.img\","
					  " \"is_root_device\": false, \"rate_limiter\": null,"
					  " \"cache_type\": \"Writeback\", \"io_engine\": \"Sync\"}"),
				      "", "data", s, w, wl), 0);
	assert_false(s->drives[1].cache_unsafe);
	assert_int_equal(s->drives[1].io_engine, IO_ENGINE_SYNC);
}

#define NIC(id, tap, mac) "{\"iface_id\": \"" id "\", \"host_dev_name\": \"" tap "\"" mac "}"

static void api_nic(void **state)
{
	struct fixture *f = *state;
	struct vm_spec *s = &f->spec;
	char *w = f->why, id[16];
	size_t wl = sizeof(f->why);
	json_t *j;
	int i;

	assert_int_equal(config_nic(body(f, NIC("eth0", "tap0", ", \"guest_mac\": \"02:00:00:00:00:01\"")),
				    "", "eth0", s, w, wl), 0);
	assert_int_equal(config_nic(body(f, NIC("eth0", "tap0", "")), "", "eth1", s, w, wl), -EINVAL);
	assert_string_equal(w, "iface_id: \"eth0\" does not match the id in the URL path (\"eth1\")");
	assert_int_equal(config_nic(body(f, NIC("eth1", "tap0", "")), "", "eth1", s, w, wl), -EINVAL);
	assert_string_equal(w, "host_dev_name: tap \"tap0\" is already used by interface \"eth0\"");
	assert_int_equal(config_nic(body(f, NIC("eth1", "tap1", ", \"guest_mac\": \"02:00:00:00:00:01\"")),
				    "", "eth1", s, w, wl), -EINVAL);
	assert_string_equal(w, "guest_mac: MAC 02:00:00:00:00:01 is already used by interface \"eth0\"");
	assert_int_equal(s->nr_nics, 1);
	/* Two clashes: the key named is the one of the first interface that clashes. */
	assert_int_equal(config_nic(body(f, NIC("eth1", "tap1", "")), "", NULL, s, w, wl), 0);
	assert_int_equal(config_nic(body(f, NIC("eth2", "tap1", ", \"guest_mac\": \"02:00:00:00:00:01\"")),
				    "", NULL, s, w, wl), -EINVAL);
	assert_string_equal(w, "guest_mac: MAC 02:00:00:00:00:01 is already used by interface \"eth0\"");
	assert_int_equal(config_nic(body(f, NIC("eth2", "tap1", "")), "", NULL, s, w, wl), -EINVAL);
	assert_string_equal(w, "host_dev_name: tap \"tap1\" is already used by interface \"eth1\"");
	/* Replacing eth0 by itself with the same tap and MAC is fine. */
	assert_int_equal(config_nic(body(f, NIC("eth0", "tap0", ", \"guest_mac\": \"02:00:00:00:00:01\","
						" \"rx_rate_limiter\": {}, \"tx_rate_limiter\": null")),
				    "", "eth0", s, w, wl), 0);
	assert_int_equal(config_nic(body(f, NIC("eth0", "tap0", ", \"tx_rate_limiter\": {\"bandwidth\": {}}")),
				    "", "eth0", s, w, wl), -EINVAL);
	assert_string_equal(w, "tx_rate_limiter: not supported by brisk (remove the key or set it to null)");
	assert_int_equal(config_nic(body(f, NIC("eth0", "tap0", ", \"guest_mac\": \"02:00:00:00:00:0g\"")),
				    "", NULL, s, w, wl), -EINVAL);
	assert_string_equal(w, "guest_mac: \"02:00:00:00:00:0g\" is not a MAC address (AA:BB:CC:DD:EE:FF)");
	assert_int_equal(config_nic(body(f, NIC("eth0", "tap0", ", \"guest_mac\": \"02:00:00:00:00:01:\"")),
				    "", NULL, s, w, wl), -EINVAL);
	assert_why(w, "is not a MAC address");
	assert_int_equal(config_nic(body(f, NIC("eth0", "tap-0123456789a", "")), "", NULL, s, w, wl), 0);
	assert_int_equal(config_nic(body(f, NIC("eth0", "tap-0123456789ab", "")), "", NULL, s, w, wl),
			 -EINVAL);
	assert_why(w, "is too long (at most 15 bytes)");
	assert_int_equal(config_nic(body(f, "{\"iface_id\": \"eth0\"}"), "", NULL, s, w, wl), -EINVAL);
	assert_string_equal(w, "host_dev_name: required key missing");
	/* eth0, eth1, then up to SPEC_MAX_NICS, then a clear refusal */
	for (i = 2; i <= SPEC_MAX_NICS; i++) {
		snprintf(id, sizeof(id), "n%d", i);
		j = json_pack("{s:s, s:s}", "iface_id", id, "host_dev_name", id);
		assert_int_equal(config_nic(j, "", NULL, s, w, wl), i < SPEC_MAX_NICS ? 0 : -EINVAL);
		json_decref(j);
	}
	assert_string_equal(w, "too many network interfaces (brisk has at most 8)");
	assert_int_equal(s->nr_nics, SPEC_MAX_NICS);
}

static void api_machine_put(void **state)
{
	struct fixture *f = *state;
	struct spec_machine *m = &f->spec.machine;
	char *w = f->why;
	size_t wl = sizeof(f->why);

	assert_int_equal(config_machine(body(f, "{\"vcpu_count\": 2, \"mem_size_mib\": 512,"
					    " \"track_dirty_pages\": true}"), "", false, &f->spec, w, wl), 0);
	assert_int_equal(m->vcpu_count, 2);
	assert_true(m->track_dirty_pages);
	/* PUT: the keys not given return to their defaults */
	assert_int_equal(config_machine(body(f, "{\"vcpu_count\": 3, \"mem_size_mib\": 256}"), "",
					false, &f->spec, w, wl), 0);
	assert_false(m->track_dirty_pages);
	assert_int_equal(config_machine(body(f, "{\"vcpu_count\": 3}"), "", false, &f->spec, w, wl),
			 -EINVAL);
	assert_string_equal(w, "mem_size_mib: required key missing");
	assert_int_equal(config_machine(body(f, "{\"vcpu_count\": 0, \"mem_size_mib\": 256}"), "",
					false, &f->spec, w, wl), -EINVAL);
	assert_string_equal(w, "vcpu_count: must be 1 to 32, got 0");
	assert_int_equal(config_machine(body(f, "{\"vcpu_count\": 1, \"mem_size_mib\": 1048577}"), "",
					false, &f->spec, w, wl), -EINVAL);
	assert_string_equal(w, "mem_size_mib: must be 1 to 1048576 MiB, got 1048577");
	assert_int_equal(config_machine(body(f, "{\"vcpu_count\": -1, \"mem_size_mib\": 256}"), "",
					false, &f->spec, w, wl), -EINVAL);
	assert_string_equal(w, "vcpu_count: must be 1 to 32, got -1");
	assert_int_equal(config_machine(body(f, "{\"vcpu_count\": \"2\", \"mem_size_mib\": 256}"), "",
					false, &f->spec, w, wl), -EINVAL);
	assert_string_equal(w, "vcpu_count: expected an integer, got a string");
	assert_int_equal(config_machine(body(f, "{\"vcpu_count\": 1, \"mem_size_mib\": 256,"
					    " \"huge_pages\": \"2M\"}"), "", false, &f->spec, w, wl), -EINVAL);
	assert_string_equal(w, "huge_pages: \"2M\" is not supported by brisk (only \"None\")");
	assert_int_equal(config_machine(body(f, "{\"vcpu_count\": 1, \"mem_size_mib\": 256,"
					    " \"cpu_template\": 2}"), "", false, &f->spec, w, wl), -EINVAL);
	assert_string_equal(w, "cpu_template: expected a string, got an integer");
	assert_int_equal(config_machine(body(f, "{\"vcpu_count\": 1, \"mem_size_mib\": 256,"
					    " \"ht_enabled\": false}"), "", false, &f->spec, w, wl), -EINVAL);
	assert_string_equal(w, "ht_enabled: unknown key");
	assert_int_equal(m->vcpu_count, 3);
	assert_int_equal(m->mem_size_mib, 256);
}

static void api_machine_patch(void **state)
{
	struct fixture *f = *state;
	struct spec_machine *m = &f->spec.machine;
	char *w = f->why;
	size_t wl = sizeof(f->why);

	assert_int_equal(config_machine(body(f, "{\"track_dirty_pages\": true}"), "", true, &f->spec,
					w, wl), 0);
	assert_int_equal(m->vcpu_count, SPEC_DEFAULT_VCPUS);
	assert_int_equal(m->mem_size_mib, SPEC_DEFAULT_MEM_MIB);
	assert_true(m->track_dirty_pages);
	assert_int_equal(config_machine(body(f, "{\"vcpu_count\": 4}"), "", true, &f->spec, w, wl), 0);
	assert_int_equal(m->vcpu_count, 4);
	assert_true(m->track_dirty_pages);         /* untouched by a PATCH */
	assert_int_equal(config_machine(body(f, "{\"mem_size_mib\": null, \"smt\": false}"), "", true,
					&f->spec, w, wl), 0);
	assert_int_equal(m->mem_size_mib, SPEC_DEFAULT_MEM_MIB);
	assert_int_equal(config_machine(body(f, "{}"), "", true, &f->spec, w, wl), -EINVAL);
	assert_string_equal(w, "nothing to change (give at least one key)");
	assert_int_equal(config_machine(body(f, "{\"vcpus\": null}"), "", true, &f->spec, w, wl),
			 -EINVAL);
	assert_string_equal(w, "vcpus: unknown key");
	/* All or nothing: vcpu_count is valid, mem_size_mib is not. */
	assert_int_equal(config_machine(body(f, "{\"vcpu_count\": 8, \"mem_size_mib\": 0}"), "", true,
					&f->spec, w, wl), -EINVAL);
	assert_int_equal(m->vcpu_count, 4);
	assert_int_equal(config_machine(body(f, "{\"smt\": true}"), "", true, &f->spec, w, wl), -EINVAL);
	assert_string_equal(w, "smt: true is not supported by brisk (one thread per core)");
}

static void api_logger_metrics(void **state)
{
	static const struct {
		const char *level;
		enum log_level want;
		bool off;
	} levels[] = {
		{ "Error", LOG_ERROR, false }, { "warning", LOG_WARN, false },
		{ "WARN", LOG_WARN, false }, { "iNfO", LOG_INFO, false },
		{ "Debug", LOG_DEBUG, false }, { "TRACE", LOG_DEBUG, false },
		{ "Off", LOG_WARN, true },
	};
	struct fixture *f = *state;
	struct spec_logger *l = &f->spec.logger;
	char *w = f->why;
	size_t wl = sizeof(f->why), i;
	json_t *j;

	for (i = 0; i < ARRAY_SIZE(levels); i++) {
		j = json_pack("{s:s}", "level", levels[i].level);
		assert_int_equal(config_logger(j, "", &f->spec, w, wl), 0);
		json_decref(j);
		assert_true(l->set && l->level_set);
		assert_int_equal(l->level, levels[i].want);
		assert_int_equal(l->level_off, levels[i].off);
	}
	assert_int_equal(config_logger(body(f, "{\"log_path\": \"l.log\", \"show_level\": true,"
					   " \"show_log_origin\": false, \"module\": null}"),
				       "", &f->spec, w, wl), 0);
	assert_string_equal(l->log_path, "l.log");
	assert_false(l->level_set);                   /* a PUT replaces the logger */
	assert_true(l->show_level);
	assert_int_equal(config_logger(body(f, "{\"module\": \"api_server\"}"), "", &f->spec, w, wl),
			 -EINVAL);
	assert_string_equal(w, "module: not supported by brisk (remove the key or set it to null)");
	assert_int_equal(config_logger(body(f, "{\"level\": \"loud\"}"), "", &f->spec, w, wl), -EINVAL);
	assert_string_equal(w, "level: must be Error, Warning, Info, Debug, Trace or Off, got \"loud\"");
	assert_int_equal(config_logger(body(f, "{\"log_path\": \"\"}"), "", &f->spec, w, wl), -EINVAL);
	assert_int_equal(config_logger(body(f, "{\"show_level\": 1}"), "", &f->spec, w, wl), -EINVAL);
	assert_string_equal(w, "show_level: expected a boolean, got an integer");
	assert_string_equal(l->log_path, "l.log");

	assert_int_equal(config_metrics(body(f, "{}"), "", &f->spec, w, wl), -EINVAL);
	assert_string_equal(w, "metrics_path: required key missing");
	assert_int_equal(config_metrics(body(f, "{\"metrics_path\": \"m\", \"x\": 1}"), "", &f->spec,
					w, wl), -EINVAL);
	assert_string_equal(w, "x: unknown key");
	assert_false(f->spec.metrics.set);
	assert_int_equal(config_metrics(body(f, "{\"metrics_path\": \"m.fifo\"}"), "", &f->spec, w, wl), 0);
	assert_true(f->spec.metrics.set);
	assert_string_equal(f->spec.metrics.metrics_path, "m.fifo");
}

/* Keys are shown safely: control characters as '?', long ones cut. */
static void odd_keys_in_messages(void **state)
{
	struct fixture *f = *state;
	char key[200];
	json_t *j;

	assert_int_equal(config_metrics(body(f, "{\"a\\nb\\u0001\": 1}"), "", &f->spec, f->why,
					sizeof(f->why)), -EINVAL);
	assert_string_equal(f->why, "a?b?: unknown key");
	/* 63 bytes, then an é across the 64-byte cut: it goes whole */
	memset(key, 'k', sizeof(key));
	memcpy(key + 63, "\u00e9", 2);
	key[sizeof(key) - 1] = '\0';
	j = json_pack("{s:i}", key, 1);
	assert_int_equal(config_metrics(j, "", &f->spec, f->why, sizeof(f->why)), -EINVAL);
	json_decref(j);
	assert_int_equal(strlen(f->why), 63 + 3 + strlen(": unknown key"));
	assert_why(f->why, "kk...: unknown key");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(api_boot_source),
		T(api_drive),
		T(api_nic),
		T(api_machine_put),
		T(api_machine_patch),
		T(api_logger_metrics),
		T(odd_keys_in_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
