/*
 * fuzz_api.c — libFuzzer target for the API's route table
 * (vmm/api_routes.c) over a fake machine: a sequence of requests, each
 * "METHOD URL\n" and a body up to the next NUL byte, against one spec.
 * Besides crashes and sanitizer reports, a broken contract traps: a status
 * other than 200/204/400, a 204 with a body, a body that is not JSON, a 400
 * without a fault_message, or pre-boot state changed after InstanceStart.
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api.h"
#include "vmm/config.h"
#include "vmm/util.h"

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_api: %s:%d: %s\n", __FILE__,     \
				__LINE__, #cond);                              \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

struct fake {
	enum api_vm_state state;
	unsigned int acts;
};

static enum api_vm_state fake_state(void *opaque)
{
	return ((struct fake *)opaque)->state;
}

/* Every other action fails, so both answers of each route are reached. */
static int fake_act(void *opaque, enum api_action a, char *why, size_t whylen)
{
	struct fake *f = opaque;

	if (f->acts++ % 2)
		return errf(why, whylen, -EIO, "refused");
	if (a == API_ACT_INSTANCE_START || a == API_ACT_RESUME)
		f->state = API_STATE_RUNNING;
	if (a == API_ACT_PAUSE)
		f->state = API_STATE_PAUSED;
	return 0;
}

static void one_request(struct api_ctl *ctl, const char *req, size_t len)
{
	char method[16], url[512];
	const char *nl = memchr(req, '\n', len), *sp;
	struct api_reply r;
	json_t *o;

	if (!nl)
		return;
	sp = memchr(req, ' ', (size_t)(nl - req));
	if (!sp || (size_t)(sp - req) >= sizeof(method) || (size_t)(nl - sp - 1) >= sizeof(url))
		return;
	memcpy(method, req, (size_t)(sp - req));
	method[sp - req] = '\0';
	memcpy(url, sp + 1, (size_t)(nl - sp - 1));
	url[nl - sp - 1] = '\0';
	api_dispatch(ctl, method, url, nl + 1, len - (size_t)(nl + 1 - req), &r);
	check(r.status == 200 || r.status == 204 || r.status == 400);
	check((r.status == 204) == (r.body == NULL));
	if (r.body) {
		o = json_loads(r.body, 0, NULL);
		check(o != NULL);
		if (r.status == 400)
			check(json_is_string(json_object_get(o, "fault_message")));
		json_decref(o);
	}
	free(r.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_spec spec;
	struct fake f = { 0 };
	struct api_ctl ctl = { .spec = &spec, .id = "fuzz", .version = "0",
			       .state = fake_state, .act = fake_act, .opaque = &f };
	const char *p = (const char *)data, *end = p + size;
	json_t *before = NULL;

	spec_init(&spec);
	while (p < end) {
		const char *z = memchr(p, '\0', (size_t)(end - p));
		size_t len = z ? (size_t)(z - p) : (size_t)(end - p);

		one_request(&ctl, p, len);
		/* After the start nothing may change the pre-boot spec. */
		if (f.state != API_STATE_NOT_STARTED) {
			json_t *now = config_spec_to_json(&spec);

			if (!before)
				before = now;
			else {
				check(json_equal(before, now));
				json_decref(now);
			}
		}
		p += len + 1;
	}
	json_decref(before);
	spec_free(&spec);
	return 0;
}
