/*
 * api_routes.c — the API's route table, run on the main thread.
 *
 * Paths, bodies, status codes and fault messages follow Firecracker's
 * swagger (src/firecracker/swagger/firecracker.yaml) and its parsed-request
 * errors: 204 on success without a body, 200 with JSON for GETs, 400 with
 * {"fault_message": "..."} for everything refused — bad JSON, unknown
 * paths or methods, pre-boot resources after InstanceStart, failed actions.
 */
#include "vmm/api.h"
#include "vmm/config.h"
#include "vmm/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_OK 200
#define HTTP_NO_CONTENT 204
#define HTTP_BAD_REQUEST 400
#define HTTP_INTERNAL_ERROR 500

#define MSG_AFTER_BOOT "The requested operation is not supported after starting the microVM."
#define MSG_BEFORE_BOOT "The requested operation is not supported before starting the microVM."

enum api_method { M_GET, M_PUT, M_PATCH, M_OTHER };

struct api_req {
	struct api_ctl *ctl;
	enum api_method method;
	const char *method_name, *url;
	const char *id;              /* path parameter ({drive_id}, {iface_id}) or NULL */
	const char *body;
	size_t len;
	struct api_reply *reply;
};

void api_fault(struct api_reply *reply, unsigned int status, const char *msg)
{
	json_t *o = json_pack("{s:s}", "fault_message", msg ? msg : "");

	/* Not UTF-8 (a request path's bytes quoted back): show such bytes as '?'. */
	if (!o && msg) {
		char clean[1024];
		size_t i;

		for (i = 0; msg[i] && i < sizeof(clean) - 1; i++)
			clean[i] = (unsigned char)msg[i] >= 0x80 ? '?' : msg[i];
		clean[i] = '\0';
		o = json_pack("{s:s}", "fault_message", clean);
	}

	free(reply->body);
	reply->status = status;
	reply->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!reply->body)
		reply->status = HTTP_INTERNAL_ERROR;
}

/* 200 with @o as the body; takes the reference. */
static void api_json(struct api_reply *reply, json_t *o)
{
	free(reply->body);
	reply->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	reply->status = HTTP_OK;
	json_decref(o);
	if (!reply->body)
		api_fault(reply, HTTP_INTERNAL_ERROR, "cannot render the answer as JSON "
			  "(out of memory, or a configured path that is not UTF-8)");
}

static void api_no_content(struct api_reply *reply)
{
	free(reply->body);
	reply->body = NULL;
	reply->status = HTTP_NO_CONTENT;
}

static void api_faultf(struct api_reply *reply, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void api_faultf(struct api_reply *reply, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_fault(reply, HTTP_BAD_REQUEST, msg);
}

static bool api_started(const struct api_req *r)
{
	return r->ctl->state(r->ctl->opaque) != API_STATE_NOT_STARTED;
}

/*
 * The request's JSON object body, or NULL after answering 400
 * (Firecracker: "Empty PUT request.", deserialisation errors).
 */
static json_t *api_body(struct api_req *r)
{
	json_error_t err;
	json_t *o;

	if (!r->len) {
		api_faultf(r->reply, "Empty %s request.", r->method_name);
		return NULL;
	}
	o = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &err);
	if (!o) {
		api_faultf(r->reply,
			   "An error occurred when deserializing the json body of a request: "
			   "line %d column %d: %s.", err.line, err.column, err.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		api_faultf(r->reply, "An error occurred when deserializing the json body of a "
			   "request: expected a JSON object.");
		return NULL;
	}
	return o;
}

typedef int (*section_fn)(json_t *obj, struct api_req *r, char *why, size_t whylen);

/* PUT/PATCH of a pre-boot resource: parse the body with @fn, 204 or 400. */
static void api_pre_boot(struct api_req *r, section_fn fn)
{
	char why[512];
	json_t *o;

	if (api_started(r)) {
		api_fault(r->reply, HTTP_BAD_REQUEST, MSG_AFTER_BOOT);
		return;
	}
	o = api_body(r);
	if (!o)
		return;
	if (fn(o, r, why, sizeof(why)) < 0)
		api_faultf(r->reply, "An error occurred when deserializing the json body of a "
			   "request: %s.", why);
	else
		api_no_content(r->reply);
	json_decref(o);
}

static int sec_boot_source(json_t *o, struct api_req *r, char *why, size_t whylen)
{
	return config_boot_source(o, "", r->ctl->spec, why, whylen);
}

static int sec_drive(json_t *o, struct api_req *r, char *why, size_t whylen)
{
	return config_drive(o, "", r->id, r->ctl->spec, why, whylen);
}

static int sec_nic(json_t *o, struct api_req *r, char *why, size_t whylen)
{
	return config_nic(o, "", r->id, r->ctl->spec, why, whylen);
}

static int sec_machine_put(json_t *o, struct api_req *r, char *why, size_t whylen)
{
	return config_machine(o, "", false, r->ctl->spec, why, whylen);
}

static int sec_machine_patch(json_t *o, struct api_req *r, char *why, size_t whylen)
{
	return config_machine(o, "", true, r->ctl->spec, why, whylen);
}

/*
 * PUT /logger and /metrics replace the whole section; the machine then
 * opens the file. On any failure the previous section is back in place.
 */
static int sec_logger(json_t *o, struct api_req *r, char *why, size_t whylen)
{
	struct vm_spec *spec = r->ctl->spec;
	struct spec_logger saved = spec->logger;
	int e;

	memset(&spec->logger, 0, sizeof(spec->logger));
	e = config_logger(o, "", spec, why, whylen);
	if (e == 0)
		e = r->ctl->act(r->ctl->opaque, API_ACT_APPLY_LOGGER, why, whylen);
	if (e < 0) {
		free(spec->logger.log_path);
		spec->logger = saved;
		return e;
	}
	free(saved.log_path);
	return 0;
}

static int sec_metrics(json_t *o, struct api_req *r, char *why, size_t whylen)
{
	struct vm_spec *spec = r->ctl->spec;
	struct spec_metrics saved = spec->metrics;
	int e;

	memset(&spec->metrics, 0, sizeof(spec->metrics));
	e = config_metrics(o, "", spec, why, whylen);
	if (e == 0)
		e = r->ctl->act(r->ctl->opaque, API_ACT_APPLY_METRICS, why, whylen);
	if (e < 0) {
		free(spec->metrics.metrics_path);
		spec->metrics = saved;
		return e;
	}
	free(saved.metrics_path);
	return 0;
}

static void route_boot_source(struct api_req *r)
{
	api_pre_boot(r, sec_boot_source);
}

static void route_drive(struct api_req *r)
{
	api_pre_boot(r, sec_drive);
}

static void route_nic(struct api_req *r)
{
	api_pre_boot(r, sec_nic);
}

static void route_logger(struct api_req *r)
{
	api_pre_boot(r, sec_logger);
}

static void route_metrics(struct api_req *r)
{
	api_pre_boot(r, sec_metrics);
}

static void route_machine(struct api_req *r)
{
	if (r->method == M_GET)
		api_json(r->reply, config_machine_to_json(&r->ctl->spec->machine));
	else
		api_pre_boot(r, r->method == M_PUT ? sec_machine_put : sec_machine_patch);
}

static const char *api_state_name(enum api_vm_state s)
{
	return s == API_STATE_RUNNING ? "Running" : s == API_STATE_PAUSED ? "Paused" : "Not started";
}

static void route_root(struct api_req *r)
{
	api_json(r->reply, json_pack("{s:s, s:s, s:s, s:s}", "id", r->ctl->id, "state",
				     api_state_name(r->ctl->state(r->ctl->opaque)),
				     "vmm_version", r->ctl->version, "app_name", API_APP_NAME));
}

static void route_version(struct api_req *r)
{
	/* Firecracker clients read "firecracker_version"; it carries brisk's. */
	api_json(r->reply, json_pack("{s:s}", "firecracker_version", r->ctl->version));
}

static void route_vm_config(struct api_req *r)
{
	api_json(r->reply, config_spec_to_json(r->ctl->spec));
}

/* Run @a and answer 204, or 400 with "@what: <reason>". */
static void api_act(struct api_req *r, enum api_action a, const char *what)
{
	char why[512] = "";

	if (r->ctl->act(r->ctl->opaque, a, why, sizeof(why)) < 0)
		api_faultf(r->reply, "%s%s", what, why);
	else
		api_no_content(r->reply);
}

/* The one string member @key of @o that must be the only member, or NULL after a 400. */
static const char *api_only_string(struct api_req *r, json_t *o, const char *key)
{
	const char *k, *v;
	json_t *val;

	json_object_foreach(o, k, val) {
		if (strcmp(k, key)) {
			api_faultf(r->reply, "An error occurred when deserializing the json body of a "
				   "request: unknown field `%s`, expected `%s`.", k, key);
			return NULL;
		}
	}
	val = json_object_get(o, key);
	v = json_string_value(val);
	if (!v || strlen(v) != json_string_length(val)) {
		api_faultf(r->reply, "An error occurred when deserializing the json body of a "
			   "request: %s: %s.", key, val ? "expected a string" : "required key missing");
		return NULL;
	}
	return v;
}

static void route_actions(struct api_req *r)
{
	json_t *o = api_body(r);
	const char *type;

	if (!o)
		return;
	type = api_only_string(r, o, "action_type");
	if (!type) {
		/* answered */
	} else if (!strcmp(type, "InstanceStart")) {
		if (api_started(r))
			api_fault(r->reply, HTTP_BAD_REQUEST, MSG_AFTER_BOOT);
		else
			api_act(r, API_ACT_INSTANCE_START, "Start microvm error: ");
	} else if (!strcmp(type, "SendCtrlAltDel")) {
		if (!api_started(r))
			api_fault(r->reply, HTTP_BAD_REQUEST, MSG_BEFORE_BOOT);
		else
			api_act(r, API_ACT_SEND_CTRL_ALT_DEL, "Failed to send CTRL+ALT+DEL: ");
	} else if (!strcmp(type, "FlushMetrics")) {
		api_act(r, API_ACT_FLUSH_METRICS, "Failed to flush metrics: ");
	} else {
		api_faultf(r->reply, "An error occurred when deserializing the json body of a request: "
			   "unknown variant `%.64s`, expected one of `FlushMetrics`, `InstanceStart`, "
			   "`SendCtrlAltDel`.", type);
	}
	json_decref(o);
}

static void route_vm(struct api_req *r)
{
	json_t *o = api_body(r);
	const char *state;

	if (!o)
		return;
	state = api_only_string(r, o, "state");
	if (!state) {
		/* answered */
	} else if (strcmp(state, "Paused") && strcmp(state, "Resumed")) {
		api_faultf(r->reply, "An error occurred when deserializing the json body of a request: "
			   "unknown variant `%.64s`, expected `Paused` or `Resumed`.", state);
	} else if (!api_started(r)) {
		api_fault(r->reply, HTTP_BAD_REQUEST, MSG_BEFORE_BOOT);
	} else if (!strcmp(state, "Paused")) {
		api_act(r, API_ACT_PAUSE, "Failed to pause the microVM: ");
	} else {
		api_act(r, API_ACT_RESUME, "Failed to resume the microVM: ");
	}
	json_decref(o);
}

/* Bit per method a route accepts. */
#define GET (1u << M_GET)
#define PUT (1u << M_PUT)
#define PATCH (1u << M_PATCH)

static const struct api_route {
	const char *path;            /* exact, or prefix ending in '/' followed by an id */
	bool has_id;
	unsigned int methods;
	void (*fn)(struct api_req *r);
} api_routes[] = {
	{ "/", false, GET, route_root },
	{ "/version", false, GET, route_version },
	{ "/boot-source", false, PUT, route_boot_source },
	{ "/drives/", true, PUT, route_drive },
	{ "/network-interfaces/", true, PUT, route_nic },
	{ "/machine-config", false, GET | PUT | PATCH, route_machine },
	{ "/actions", false, PUT, route_actions },
	{ "/vm", false, PATCH, route_vm },
	{ "/vm/config", false, GET, route_vm_config },
	{ "/logger", false, PUT, route_logger },
	{ "/metrics", false, PUT, route_metrics },
};

/* Firecracker endpoints brisk does not implement: named as such. */
static const char *const api_unsupported[] = {
	"/balloon", "/cpu-config", "/entropy", "/hotplug", "/mmds", "/pmem", "/serial",
	"/snapshot", "/vsock", "/memory-hotplug",
};

static bool api_prefix(const char *url, const char *p)
{
	size_t n = strlen(p);

	return !strncmp(url, p, n) && (url[n] == '\0' || url[n] == '/');
}

static enum api_method api_method_of(const char *m)
{
	return !strcmp(m, "GET") ? M_GET : !strcmp(m, "PUT") ? M_PUT
		: !strcmp(m, "PATCH") ? M_PATCH : M_OTHER;
}

void api_dispatch(struct api_ctl *ctl, const char *method, const char *url, const char *body,
		  size_t len, struct api_reply *reply)
{
	struct api_req r = {
		.ctl = ctl, .method = api_method_of(method), .method_name = method, .url = url,
		.body = body, .len = body ? len : 0, .reply = reply,
	};

	reply->body = NULL;
	reply->status = HTTP_BAD_REQUEST;
	for (size_t i = 0; i < ARRAY_SIZE(api_routes); i++) {
		const struct api_route *rt = &api_routes[i];
		size_t n = strlen(rt->path);

		if (rt->has_id ? strncmp(url, rt->path, n) : strcmp(url, rt->path))
			continue;
		if (rt->has_id) {
			r.id = url + n;
			if (!spec_id_valid(r.id)) {
				api_faultf(reply, "Invalid ID: '%.80s' (use 1 to %d letters, digits "
					   "or '_').", r.id, SPEC_ID_MAX);
				return;
			}
		}
		if (r.method == M_OTHER || !(rt->methods & (1u << r.method)))
			break;
		rt->fn(&r);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(api_unsupported); i++) {
		if (api_prefix(url, api_unsupported[i])) {
			api_faultf(reply, "%.40s is not supported by brisk.", api_unsupported[i] + 1);
			return;
		}
	}
	api_faultf(reply, "Invalid request method and/or path: %.16s %.200s.", method, url);
}
