/*
 * fuzz_config.c — libFuzzer target for the Firecracker config parser
 * (vmm/config.c), its JSON output (vmm/config_io.c) and the position
 * locator behind its LINE:COL (vmm/json_pos.c).
 *
 * The input is a config file's text. Besides crashes and sanitizer
 * reports, a broken contract traps: a refusal without a one-line reason
 * that starts with the file name, or an accepted config whose
 * GET /vm/config rendering does not parse back into the same devices. The
 * locator also runs on the raw input, JSON or not.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config.h"
#include "vmm/json_pos.h"

/* A broken invariant: say which, then crash so libFuzzer keeps the input. */
#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_config: %s:%d: %s\n", __FILE__,  \
				__LINE__, #cond);                              \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

/* What config_spec_to_json() must carry over (io_engine AUTO reads back as URING). */
static void check_same(const struct vm_spec *a, const struct vm_spec *b)
{
	unsigned int i;

	check(!strcmp(a->kernel_image_path, b->kernel_image_path));
	check(a->nr_drives == b->nr_drives && a->nr_nics == b->nr_nics);
	for (i = 0; i < a->nr_drives; i++) {
		check(!strcmp(a->drives[i].drive_id, b->drives[i].drive_id));
		check(!strcmp(a->drives[i].path_on_host, b->drives[i].path_on_host));
		check(a->drives[i].is_root_device == b->drives[i].is_root_device);
		check(a->drives[i].cache_unsafe == b->drives[i].cache_unsafe);
	}
	for (i = 0; i < a->nr_nics; i++) {
		check(!strcmp(a->nics[i].host_dev_name, b->nics[i].host_dev_name));
		check(a->nics[i].have_mac == b->nics[i].have_mac);
		check(!memcmp(a->nics[i].guest_mac, b->nics[i].guest_mac, 6));
	}
	check(!memcmp(&a->machine, &b->machine, sizeof(a->machine)));
	check(a->logger.set == b->logger.set && a->logger.level_off == b->logger.level_off);
	check(a->metrics.set == b->metrics.set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct json_path p = {
		.n = 3, .c = { { "drives", 0 }, { NULL, 1 }, { "drive_id", 0 } }, .at_key = len & 1,
	};
	struct vm_spec spec, back;
	unsigned int line, col;
	char why[512] = "";
	char *text;
	json_t *j;
	int r;

	spec_init(&spec);
	r = config_parse_text((const char *)data, len, "fuzz.json", &spec, why, sizeof(why));
	if (r) {
		check(r == -EINVAL || r == -ENOMEM);
		check(!strncmp(why, "fuzz.json:", 10) && !strchr(why, '\n'));
	} else {
		j = config_spec_to_json(&spec);
		check(j != NULL);
		text = json_dumps(j, JSON_COMPACT);
		check(text != NULL);
		spec_init(&back);
		r = config_parse_text(text, strlen(text), "out", &back, why, sizeof(why));
		if (r)
			fprintf(stderr, "fuzz_config: output refused: %s\n%s\n", why, text);
		check(r == 0);
		check_same(&spec, &back);
		spec_free(&back);
		free(text);
		json_decref(j);
	}
	spec_free(&spec);

	json_pos_locate((const char *)data, len, &p, &line, &col);
	check(line >= 1 && col >= 1 && line <= len + 1 && col <= len + 1);
	return 0;
}
