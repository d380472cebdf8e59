/*
 * config.h — Firecracker's JSON configuration, parsed with jansson (floor 3).
 *
 * The config file (`--config-file`) and the API's request bodies use the
 * same schema, so both go through the section parsers below. Errors name
 * the JSON path of the offending value ("drives[1].is_read_only: expected
 * a boolean, got a string"); config_parse_text() adds "FILE:LINE:COLUMN: "
 * in front. Unknown keys are errors. Keys of Firecracker features brisk
 * does not have (vsock, balloon, mmds-config, entropy, cpu-config, pmem,
 * memory-hotplug, serial, rate limiters, vhost-user drives, cpu_template,
 * huge_pages) are accepted when null, {} or [] and otherwise refused with
 * "<path>: not supported by brisk".
 */
#ifndef BRISK_CONFIG_H
#define BRISK_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/spec.h"

#define CONFIG_MAX_FILE_BYTES (1024 * 1024) /* a config file larger than this is refused */

/*
 * Parse a whole config file's text (@len bytes, need not be NUL-terminated)
 * into @spec, which must be freshly spec_init()ed; @name (the file name)
 * prefixes messages. machine-config is optional here (defaults stay).
 * Returns 0, or -EINVAL (-ENOMEM) with one line in @why:
 * "vm.json:7:22: drives[0].is_read_only: expected a boolean, got a string".
 * On error @spec may hold part of the config; spec_free() it.
 */
int config_parse_text(const char *text, size_t len, const char *name, struct vm_spec *spec,
		      char *why, size_t whylen);

/*
 * Read @path (at most CONFIG_MAX_FILE_BYTES) and config_parse_text() it,
 * with @path as the name. Also -errno of open/read ("PATH: strerror").
 */
int config_load_file(const char *path, struct vm_spec *spec, char *why, size_t whylen);

/*
 * Section parsers, shared with the API. @path names @obj in messages
 * ("boot-source", "drives[0]", or "" for an API body). Each validates
 * everything before changing @spec, so a refused section leaves @spec as
 * it was. 0 or -EINVAL with "<path>.<key>: <problem>" in @why.
 */
/* boot-source: kernel_image_path (required), boot_args, initrd_path. */
int config_boot_source(json_t *obj, const char *path, struct vm_spec *spec, char *why, size_t whylen);
/*
 * One drive: drive_id, path_on_host, is_root_device, is_read_only (required
 * in Firecracker's schema: drive_id, is_root_device; path_on_host unless
 * "socket"), partuuid, cache_type, io_engine, rate_limiter, socket.
 * @want_id, if not NULL, must equal drive_id (PUT /drives/{id}).
 */
int config_drive(json_t *obj, const char *path, const char *want_id, struct vm_spec *spec,
		 char *why, size_t whylen);
/* One NIC: iface_id, host_dev_name (required), guest_mac, rx/tx_rate_limiter. */
int config_nic(json_t *obj, const char *path, const char *want_id, struct vm_spec *spec,
	       char *why, size_t whylen);
/*
 * machine-config: vcpu_count, mem_size_mib (both required unless @patch),
 * smt, track_dirty_pages, cpu_template, huge_pages. @patch (PATCH
 * /machine-config) changes only the keys given and requires at least one.
 */
int config_machine(json_t *obj, const char *path, bool patch, struct vm_spec *spec,
		   char *why, size_t whylen);
/* logger: log_path, level, show_level, show_log_origin, module. */
int config_logger(json_t *obj, const char *path, struct vm_spec *spec, char *why, size_t whylen);
/* metrics: metrics_path (required). */
int config_metrics(json_t *obj, const char *path, struct vm_spec *spec, char *why, size_t whylen);

/*
 * @spec in Firecracker's schema (GET /vm/config; machine-config alone for
 * GET /machine-config). New references owned by the caller, NULL on ENOMEM
 * (or when a string, e.g. a path from the command line, is not UTF-8).
 * Only keys that are set appear; io_engine AUTO is shown as "Async".
 */
json_t *config_spec_to_json(const struct vm_spec *spec);
json_t *config_machine_to_json(const struct spec_machine *m);

#endif
