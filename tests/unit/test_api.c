/*
 * test_api.c — the API's route table (vmm/api_routes.c) over a fake
 * machine: every route's method set, status codes and fault bodies as
 * Firecracker answers them, body validation (empty, malformed, non-object,
 * unknown fields, wrong types), path ids, pre-boot-only resources after
 * InstanceStart, actions reaching the machine, and the logger/metrics
 * rollback when the machine refuses the file.
 */
#include "tests/unit/testlib.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmm/api.h"
#include "vmm/util.h"

struct fake {
	struct vm_spec spec;
	struct api_ctl ctl;
	enum api_vm_state state;
	int acts[8];               /* calls per enum api_action */
	int fail;                  /* -errno the next act returns, 0 = succeed */
};

static enum api_vm_state fake_state(void *opaque)
{
	return ((struct fake *)opaque)->state;
}

static int fake_act(void *opaque, enum api_action a, char *why, size_t whylen)
{
	struct fake *f = opaque;

	f->acts[a]++;
	if (f->fail)
		return errf(why, whylen, f->fail, "refused by the fake machine");
	if (a == API_ACT_INSTANCE_START)
		f->state = API_STATE_RUNNING;
	if (a == API_ACT_PAUSE)
		f->state = API_STATE_PAUSED;
	if (a == API_ACT_RESUME)
		f->state = API_STATE_RUNNING;
	return 0;
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	spec_init(&f->spec);
	f->ctl = (struct api_ctl){ .spec = &f->spec, .id = "vm1", .version = "9.9",
				   .state = fake_state, .act = fake_act, .opaque = f };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	spec_free(&f->spec);
	free(f);
	return 0;
}

/* Send one request; returns the status, copies the fault message (or body) into @msg. */
static unsigned int req(struct fake *f, const char *method, const char *url, const char *body,
			char *msg, size_t msglen)
{
	struct api_reply r;

	api_dispatch(&f->ctl, method, url, body, body ? strlen(body) : 0, &r);
	if (msg) {
		msg[0] = '\0';
		if (r.body) {
			json_t *o = json_loads(r.body, 0, NULL);
			const char *fm = json_string_value(json_object_get(o, "fault_message"));

			snprintf(msg, msglen, "%s", fm ? fm : r.body);
			json_decref(o);
		}
	}
	if (r.status == 204)
		assert_null(r.body);
	else
		assert_non_null(r.body);
	free(r.body);
	return r.status;
}

#define MSG_AFTER "not supported after starting the microVM"

static void test_root_and_version(void **state)
{
	struct fake *f = *state;
	char m[512];

	assert_int_equal(req(f, "GET", "/", NULL, m, sizeof(m)), 200);
	assert_why(m, "\"id\":\"vm1\"");
	assert_why(m, "\"state\":\"Not started\"");
	assert_why(m, "\"app_name\":\"brisk\"");
	assert_why(m, "\"vmm_version\":\"9.9\"");
	assert_int_equal(req(f, "GET", "/version", NULL, m, sizeof(m)), 200);
	assert_why(m, "\"firecracker_version\":\"9.9\"");
	f->state = API_STATE_PAUSED;
	assert_int_equal(req(f, "GET", "/", NULL, m, sizeof(m)), 200);
	assert_why(m, "\"state\":\"Paused\"");
}

static void test_unknown_paths_and_methods(void **state)
{
	struct fake *f = *state;
	char m[512];

	assert_int_equal(req(f, "GET", "/nope", NULL, m, sizeof(m)), 400);
	assert_why(m, "Invalid request method and/or path: GET /nope.");
	assert_int_equal(req(f, "DELETE", "/", NULL, m, sizeof(m)), 400);
	assert_why(m, "Invalid request method and/or path: DELETE /.");
	assert_int_equal(req(f, "GET", "/actions", NULL, m, sizeof(m)), 400);
	assert_int_equal(req(f, "PUT", "/vm", "{}", m, sizeof(m)), 400);
	assert_int_equal(req(f, "GET", "/boot-source", NULL, m, sizeof(m)), 400);
	assert_int_equal(req(f, "PUT", "/drives", "{}", m, sizeof(m)), 400);
	assert_int_equal(req(f, "GET", "/vm/config/x", NULL, m, sizeof(m)), 400);
	/* Firecracker endpoints brisk lacks say so. */
	assert_int_equal(req(f, "PUT", "/vsock", "{}", m, sizeof(m)), 400);
	assert_why(m, "vsock is not supported by brisk");
	assert_int_equal(req(f, "PUT", "/snapshot/create", "{}", m, sizeof(m)), 400);
	assert_why(m, "snapshot is not supported by brisk");
	assert_int_equal(req(f, "GET", "/mmds", NULL, m, sizeof(m)), 400);
	/* A path that only starts like one is not it. */
	assert_int_equal(req(f, "GET", "/vsockets", NULL, m, sizeof(m)), 400);
	assert_why(m, "Invalid request method");
}

static void test_body_validation(void **state)
{
	struct fake *f = *state;
	char m[512];

	assert_int_equal(req(f, "PUT", "/boot-source", NULL, m, sizeof(m)), 400);
	assert_why(m, "Empty PUT request.");
	assert_int_equal(req(f, "PATCH", "/machine-config", "", m, sizeof(m)), 400);
	assert_why(m, "Empty PATCH request.");
	assert_int_equal(req(f, "PUT", "/boot-source", "{\"kernel_image_path\":", m, sizeof(m)), 400);
	assert_why(m, "An error occurred when deserializing the json body of a request");
	assert_int_equal(req(f, "PUT", "/boot-source", "[1,2]", m, sizeof(m)), 400);
	assert_why(m, "expected a JSON object");
	assert_int_equal(req(f, "PUT", "/boot-source", "{\"kernel_image_path\":\"/k\",\"x\":1}", m,
			     sizeof(m)), 400);
	assert_why(m, "x");
	assert_int_equal(req(f, "PUT", "/boot-source", "{\"kernel_image_path\":7}", m, sizeof(m)), 400);
	assert_why(m, "kernel_image_path");
	assert_int_equal(req(f, "PUT", "/boot-source", "{\"boot_args\":\"x\"}", m, sizeof(m)), 400);
	assert_why(m, "kernel_image_path");
	assert_int_equal(req(f, "PUT", "/boot-source", "{\"a\":1,\"a\":2}", m, sizeof(m)), 400);
	/* Nothing refused reached the spec. */
	assert_null(f->spec.kernel_image_path);
	assert_int_equal(req(f, "PUT", "/boot-source",
			     "{\"kernel_image_path\":\"/k\",\"boot_args\":\"console=ttyS0\"}", m,
			     sizeof(m)), 204);
	assert_string_equal(f->spec.kernel_image_path, "/k");
	assert_string_equal(f->spec.boot_args, "console=ttyS0");
	/* A NUL inside the body ends nothing early: the length counts. */
	{
		struct api_reply r;
		static const char nul[] = "{\"kernel_image_path\":\"/k\"}\0garbage";

		api_dispatch(&f->ctl, "PUT", "/boot-source", nul, sizeof(nul) - 1, &r);
		assert_int_equal(r.status, 400);
		free(r.body);
	}
}

static void test_drives_and_nics(void **state)
{
	struct fake *f = *state;
	char m[512];

	assert_int_equal(req(f, "PUT", "/drives/rootfs",
			     "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r.ext4\","
			     "\"is_root_device\":true,\"is_read_only\":false}", m, sizeof(m)), 204);
	assert_int_equal(f->spec.nr_drives, 1);
	/* Same id again replaces it. */
	assert_int_equal(req(f, "PUT", "/drives/rootfs",
			     "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/s.ext4\","
			     "\"is_root_device\":true,\"is_read_only\":true}", m, sizeof(m)), 204);
	assert_int_equal(f->spec.nr_drives, 1);
	assert_string_equal(f->spec.drives[0].path_on_host, "/s.ext4");
	assert_true(f->spec.drives[0].is_read_only);
	/* Path id and body id must agree. */
	assert_int_equal(req(f, "PUT", "/drives/data",
			     "{\"drive_id\":\"other\",\"path_on_host\":\"/d\",\"is_root_device\":false}",
			     m, sizeof(m)), 400);
	assert_why(m, "other");
	/* Bad ids in the path. */
	assert_int_equal(req(f, "PUT", "/drives/", "{}", m, sizeof(m)), 400);
	assert_why(m, "Invalid ID");
	assert_int_equal(req(f, "PUT", "/drives/a-b", "{}", m, sizeof(m)), 400);
	assert_why(m, "Invalid ID");
	assert_int_equal(req(f, "PUT", "/drives/a/b", "{}", m, sizeof(m)), 400);
	/* A second root device is refused. */
	assert_int_equal(req(f, "PUT", "/drives/two",
			     "{\"drive_id\":\"two\",\"path_on_host\":\"/t\",\"is_root_device\":true}",
			     m, sizeof(m)), 400);
	assert_why(m, "root");
	assert_int_equal(f->spec.nr_drives, 1);
	/* Rate limiters: null accepted, a value is not supported. */
	assert_int_equal(req(f, "PUT", "/drives/data",
			     "{\"drive_id\":\"data\",\"path_on_host\":\"/d\",\"is_root_device\":false,"
			     "\"rate_limiter\":null}", m, sizeof(m)), 204);
	assert_int_equal(req(f, "PUT", "/drives/data",
			     "{\"drive_id\":\"data\",\"path_on_host\":\"/d\",\"is_root_device\":false,"
			     "\"rate_limiter\":{\"bandwidth\":{\"size\":1,\"refill_time\":1}}}", m,
			     sizeof(m)), 400);
	assert_why(m, "not supported by brisk");

	assert_int_equal(req(f, "PUT", "/network-interfaces/eth0",
			     "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\","
			     "\"guest_mac\":\"06:00:AC:10:00:02\"}", m, sizeof(m)), 204);
	assert_int_equal(f->spec.nr_nics, 1);
	assert_true(f->spec.nics[0].have_mac);
	assert_int_equal(req(f, "PUT", "/network-interfaces/eth1",
			     "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap0\"}", m, sizeof(m)), 400);
	assert_why(m, "tap0");
	assert_int_equal(req(f, "PUT", "/network-interfaces/eth1",
			     "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\",\"guest_mac\":\"zz\"}",
			     m, sizeof(m)), 400);
	assert_why(m, "guest_mac");
}

static void test_machine_config(void **state)
{
	struct fake *f = *state;
	char m[512];

	assert_int_equal(req(f, "GET", "/machine-config", NULL, m, sizeof(m)), 200);
	assert_why(m, "\"vcpu_count\":1");
	assert_why(m, "\"mem_size_mib\":128");
	assert_int_equal(req(f, "PUT", "/machine-config", "{\"vcpu_count\":2}", m, sizeof(m)), 400);
	assert_why(m, "mem_size_mib");
	assert_int_equal(req(f, "PUT", "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":256}",
			     m, sizeof(m)), 204);
	assert_int_equal(f->spec.machine.vcpu_count, 2);
	assert_int_equal(req(f, "PATCH", "/machine-config", "{\"mem_size_mib\":512}", m, sizeof(m)),
			 204);
	assert_int_equal(f->spec.machine.vcpu_count, 2);
	assert_int_equal(f->spec.machine.mem_size_mib, 512);
	assert_int_equal(req(f, "PATCH", "/machine-config", "{\"vcpu_count\":0}", m, sizeof(m)), 400);
	assert_why(m, "vcpu_count");
	assert_int_equal(req(f, "PATCH", "/machine-config", "{\"vcpu_count\":\"2\"}", m, sizeof(m)),
			 400);
	assert_int_equal(req(f, "PATCH", "/machine-config", "{\"smt\":true}", m, sizeof(m)), 400);
	assert_why(m, "not supported by brisk");
	assert_int_equal(f->spec.machine.vcpu_count, 2);
}

static void test_actions(void **state)
{
	struct fake *f = *state;
	char m[512];

	assert_int_equal(req(f, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}", m,
			     sizeof(m)), 400);
	assert_why(m, "before starting the microVM");
	assert_int_equal(req(f, "PATCH", "/vm", "{\"state\":\"Paused\"}", m, sizeof(m)), 400);
	assert_why(m, "before starting the microVM");
	assert_int_equal(req(f, "PUT", "/actions", "{\"action_type\":\"Reboot\"}", m, sizeof(m)), 400);
	assert_why(m, "unknown variant `Reboot`");
	assert_int_equal(req(f, "PUT", "/actions", "{\"action\":\"InstanceStart\"}", m, sizeof(m)),
			 400);
	assert_why(m, "unknown field `action`");
	assert_int_equal(req(f, "PUT", "/actions", "{\"action_type\":5}", m, sizeof(m)), 400);
	assert_int_equal(req(f, "PUT", "/actions", "{}", m, sizeof(m)), 400);
	assert_why(m, "required key missing");
	assert_int_equal(f->acts[API_ACT_INSTANCE_START], 0);

	/* A start the machine refuses: 400 with its reason, still not started. */
	f->fail = -ENOENT;
	assert_int_equal(req(f, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", m,
			     sizeof(m)), 400);
	assert_why(m, "Start microvm error: refused by the fake machine");
	f->fail = 0;
	assert_int_equal(req(f, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", m,
			     sizeof(m)), 204);
	assert_int_equal(f->state, API_STATE_RUNNING);
	assert_int_equal(req(f, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", m,
			     sizeof(m)), 400);
	assert_why(m, MSG_AFTER);
	assert_int_equal(f->acts[API_ACT_INSTANCE_START], 2);

	assert_int_equal(req(f, "PATCH", "/vm", "{\"state\":\"Paused\"}", NULL, 0), 204);
	assert_int_equal(f->state, API_STATE_PAUSED);
	assert_int_equal(req(f, "PATCH", "/vm", "{\"state\":\"Resumed\"}", NULL, 0), 204);
	assert_int_equal(req(f, "PATCH", "/vm", "{\"state\":\"Stopped\"}", m, sizeof(m)), 400);
	assert_why(m, "unknown variant `Stopped`");
	assert_int_equal(req(f, "PATCH", "/vm", "{\"state\":\"Paused\",\"x\":1}", m, sizeof(m)), 400);
	assert_int_equal(req(f, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}", NULL, 0),
			 204);
	assert_int_equal(req(f, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}", NULL, 0),
			 204);
	assert_int_equal(f->acts[API_ACT_PAUSE], 1);
	assert_int_equal(f->acts[API_ACT_RESUME], 1);
	assert_int_equal(f->acts[API_ACT_SEND_CTRL_ALT_DEL], 1);
	assert_int_equal(f->acts[API_ACT_FLUSH_METRICS], 1);

	/* Pre-boot resources after the start: 400, spec unchanged. */
	assert_int_equal(req(f, "PUT", "/boot-source", "{\"kernel_image_path\":\"/k2\"}", m,
			     sizeof(m)), 400);
	assert_why(m, MSG_AFTER);
	assert_null(f->spec.kernel_image_path);
	assert_int_equal(req(f, "PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":64}",
			     m, sizeof(m)), 400);
	assert_int_equal(req(f, "PATCH", "/machine-config", "{\"vcpu_count\":1}", m, sizeof(m)), 400);
	assert_int_equal(req(f, "PUT", "/drives/d", "{}", m, sizeof(m)), 400);
	assert_why(m, MSG_AFTER);
	assert_int_equal(req(f, "PUT", "/network-interfaces/n", "{}", m, sizeof(m)), 400);
	assert_int_equal(req(f, "PUT", "/logger", "{}", m, sizeof(m)), 400);
	assert_int_equal(req(f, "PUT", "/metrics", "{}", m, sizeof(m)), 400);
	/* Reads still work. */
	assert_int_equal(req(f, "GET", "/machine-config", NULL, NULL, 0), 200);
	assert_int_equal(req(f, "GET", "/vm/config", NULL, NULL, 0), 200);
}

static void test_logger_metrics(void **state)
{
	struct fake *f = *state;
	char m[512];

	assert_int_equal(req(f, "PUT", "/logger", "{\"log_path\":\"/tmp/a.log\",\"level\":\"Info\","
			     "\"show_level\":true}", m, sizeof(m)), 204);
	assert_int_equal(f->acts[API_ACT_APPLY_LOGGER], 1);
	assert_string_equal(f->spec.logger.log_path, "/tmp/a.log");
	assert_int_equal(f->spec.logger.level, LOG_INFO);
	/* The machine cannot open the new file: the old section stays. */
	f->fail = -EACCES;
	assert_int_equal(req(f, "PUT", "/logger", "{\"log_path\":\"/nope/b.log\"}", m, sizeof(m)), 400);
	assert_why(m, "refused by the fake machine");
	assert_string_equal(f->spec.logger.log_path, "/tmp/a.log");
	assert_true(f->spec.logger.show_level);
	assert_int_equal(req(f, "PUT", "/metrics", "{\"metrics_path\":\"/m\"}", m, sizeof(m)), 400);
	assert_null(f->spec.metrics.metrics_path);
	f->fail = 0;
	assert_int_equal(req(f, "PUT", "/logger", "{\"level\":\"Loud\"}", m, sizeof(m)), 400);
	assert_why(m, "level");
	assert_string_equal(f->spec.logger.log_path, "/tmp/a.log");
	assert_int_equal(req(f, "PUT", "/metrics", "{}", m, sizeof(m)), 400);
	assert_why(m, "metrics_path");
	assert_int_equal(req(f, "PUT", "/metrics", "{\"metrics_path\":\"/m\"}", m, sizeof(m)), 204);
	assert_string_equal(f->spec.metrics.metrics_path, "/m");
	assert_int_equal(req(f, "GET", "/vm/config", NULL, m, sizeof(m)), 200);
	assert_why(m, "\"metrics_path\":\"/m\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_root_and_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_paths_and_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drives_and_nics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_machine_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_actions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logger_metrics, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
