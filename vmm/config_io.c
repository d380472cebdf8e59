/*
 * config_io.c — the config file in (read, size-capped, then parsed by
 * vmm/config.c) and a struct vm_spec out in Firecracker's JSON schema
 * (GET /vm/config, GET /machine-config). The output parses back, through
 * config_parse_text(), into the same spec (except that an io_engine left
 * to brisk's choice reads back as "Async").
 */
#include "vmm/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/util.h"

int config_load_file(const char *path, struct vm_spec *spec, char *why, size_t whylen)
{
	size_t len = 0;
	ssize_t n = 1;
	char *buf;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		return errf(why, whylen, r, "config file %s: %s", path, strerror(-r));
	}
	/* One byte more than allowed tells "too large" apart from "exactly full". */
	buf = malloc(CONFIG_MAX_FILE_BYTES + 1);
	if (!buf) {
		close(fd);
		return errf(why, whylen, -ENOMEM, "%s: out of memory", path);
	}
	while (len <= CONFIG_MAX_FILE_BYTES && n > 0) {
		n = read(fd, buf + len, CONFIG_MAX_FILE_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			n = 1;
		else if (n > 0)
			len += (size_t)n;
	}
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r)
		errf(why, whylen, r, "config file %s: %s", path, strerror(-r));
	else if (len > CONFIG_MAX_FILE_BYTES)
		r = errf(why, whylen, -EINVAL, "config file %s: larger than %d bytes", path,
			 CONFIG_MAX_FILE_BYTES);
	else
		r = config_parse_text(buf, len, path, spec, why, whylen);
	free(buf);
	return r;
}

/* ---- the spec as JSON ---- */

/* json_object_set_new() that tolerates a NULL value (then fails). */
static int put(json_t *obj, const char *key, json_t *v)
{
	return v ? json_object_set_new(obj, key, v) : -1;
}

/* @s when set; nothing when NULL. */
static int put_str(json_t *obj, const char *key, const char *s)
{
	return s ? put(obj, key, json_string(s)) : 0;
}

json_t *config_machine_to_json(const struct spec_machine *m)
{
	json_t *o = json_object();

	if (!o || put(o, "vcpu_count", json_integer(m->vcpu_count)) ||
	    put(o, "mem_size_mib", json_integer((json_int_t)m->mem_size_mib)) ||
	    put(o, "smt", json_boolean(m->smt)) ||
	    put(o, "track_dirty_pages", json_boolean(m->track_dirty_pages))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *drive_to_json(const struct spec_drive *d)
{
	json_t *o = json_object();

	if (!o || put_str(o, "drive_id", d->drive_id) ||
	    put_str(o, "path_on_host", d->path_on_host) ||
	    put(o, "is_root_device", json_boolean(d->is_root_device)) ||
	    put(o, "is_read_only", json_boolean(d->is_read_only)) ||
	    put_str(o, "partuuid", d->partuuid) ||
	    put_str(o, "cache_type", d->cache_unsafe ? "Unsafe" : "Writeback") ||
	    put_str(o, "io_engine", d->io_engine == IO_ENGINE_SYNC ? "Sync" : "Async")) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *nic_to_json(const struct spec_nic *n)
{
	json_t *o = json_object();
	char mac[18];

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->guest_mac[0],
		 n->guest_mac[1], n->guest_mac[2], n->guest_mac[3], n->guest_mac[4],
		 n->guest_mac[5]);
	if (!o || put_str(o, "iface_id", n->iface_id) ||
	    put_str(o, "host_dev_name", n->host_dev_name) ||
	    put_str(o, "guest_mac", n->have_mac ? mac : NULL)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *logger_to_json(const struct spec_logger *l)
{
	static const char *const names[] = {
		[LOG_ERROR] = "Error", [LOG_WARN] = "Warning", [LOG_INFO] = "Info",
		[LOG_DEBUG] = "Debug",
	};
	json_t *o = json_object();
	const char *level = NULL;

	if (l->level_set)
		level = l->level_off ? "Off" : (unsigned int)l->level < ARRAY_SIZE(names) ?
			names[l->level] : "Debug";
	if (!o || put_str(o, "log_path", l->log_path) || put_str(o, "level", level) ||
	    put(o, "show_level", json_boolean(l->show_level)) ||
	    put(o, "show_log_origin", json_boolean(l->show_log_origin))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *config_spec_to_json(const struct vm_spec *spec)
{
	json_t *o = json_object(), *boot = json_object(), *drives = json_array();
	json_t *nics = json_array(), *metrics;
	unsigned int i;
	int err = !o || !boot || !drives || !nics;

	if (!err && spec->kernel_image_path) {
		err |= put_str(boot, "kernel_image_path", spec->kernel_image_path) ||
		       put_str(boot, "initrd_path", spec->initrd_path) ||
		       put_str(boot, "boot_args", spec->boot_args) ||
		       put(o, "boot-source", json_incref(boot));
	}
	for (i = 0; !err && i < spec->nr_drives; i++)
		err |= json_array_append_new(drives, drive_to_json(&spec->drives[i])) < 0;
	for (i = 0; !err && i < spec->nr_nics; i++)
		err |= json_array_append_new(nics, nic_to_json(&spec->nics[i])) < 0;
	if (!err)
		err |= put(o, "drives", json_incref(drives)) ||
		       put(o, "network-interfaces", json_incref(nics)) ||
		       put(o, "machine-config", config_machine_to_json(&spec->machine));
	if (!err && spec->logger.set)
		err |= put(o, "logger", logger_to_json(&spec->logger));
	if (!err && spec->metrics.set) {
		metrics = json_object();
		err |= !metrics || put_str(metrics, "metrics_path", spec->metrics.metrics_path) ||
		       put(o, "metrics", metrics);
	}
	json_decref(boot);
	json_decref(drives);
	json_decref(nics);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}
