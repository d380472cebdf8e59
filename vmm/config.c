/*
 * config.c — Firecracker's JSON configuration (config file and API
 * bodies) into a struct vm_spec; vmm/config_io.c goes back to JSON.
 *
 * jansson validates the syntax; the section parsers below check the
 * schema (firecracker.yaml: BootSource, Drive, NetworkInterface,
 * MachineConfiguration, Logger, Metrics). jansson keeps no positions, so
 * a semantic error records the JSON path of the offending value and
 * json_pos_locate() finds that path again in the text for "FILE:LINE:COL: ".
 *
 * Rules shared by every section: keys are checked in the order given and
 * the first problem is reported; unknown keys are errors; null for an
 * optional key means "absent"; a section is validated completely before
 * the spec is touched.
 */
#include "vmm/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vmm/json_pos.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define CTX_PATH_MAX 96
#define CTX_WHY_MAX 512
#define SHOWN_MAX 64         /* bytes of a user string quoted in a message */
#define IFNAME_MAX 15        /* IFNAMSIZ without its NUL */

/* The object being parsed: its printed path and its place in the file. */
struct ctx {
	char path[CTX_PATH_MAX];  /* "drives[1]"; "" for the top level or an API body */
	struct json_path loc;     /* the same place as components, from the file's root */
	struct json_path err;     /* where the reported problem is */
	bool file;                /* a whole file: ids must not repeat */
	char *why;
	size_t whylen;
};

/* Where an error points: the key's value, the key, or (missing key) the object. */
enum where { AT_VALUE, AT_KEY, AT_OBJECT };

static const char *const unsupported_sections[] = {
	"vsock", "balloon", "mmds-config", "entropy", "cpu-config", "pmem",
	"memory-hotplug", "serial", NULL,
};

/* ---- messages ---- */

/* @s for a message: at most SHOWN_MAX bytes, control characters as '?'. */
static const char *shown(const char *s, char buf[SHOWN_MAX + 4])
{
	size_t i, n = strlen(s);

	if (n > SHOWN_MAX) {
		n = SHOWN_MAX;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;             /* cut between UTF-8 characters */
	}
	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	strcpy(buf + n, n < strlen(s) ? "..." : "");
	return buf;
}

static const char *type_name(const json_t *v)
{
	static const char *const names[] = {
		[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array",
		[JSON_STRING] = "a string", [JSON_INTEGER] = "an integer",
		[JSON_REAL] = "a real number", [JSON_TRUE] = "a boolean",
		[JSON_FALSE] = "a boolean", [JSON_NULL] = "null",
	};

	return v ? names[json_typeof(v)] : "nothing";
}

/* Point @c at @key (an array element when @key is NULL) of the top level. */
static void ctx_enter(struct ctx *c, const char *key, long index)
{
	c->loc.n = 0;
	c->loc.c[c->loc.n].key = key;
	c->loc.c[c->loc.n++].index = 0;
	if (index >= 0) {
		c->loc.c[c->loc.n].key = NULL;
		c->loc.c[c->loc.n++].index = (size_t)index;
		snprintf(c->path, sizeof(c->path), "%s[%ld]", key, index);
	} else {
		snprintf(c->path, sizeof(c->path), "%s", key);
	}
}

/*
 * Report a problem with @key of the current object (@key NULL: the object
 * itself) as "PATH.KEY: PROBLEM" and remember where it is. -EINVAL.
 */
__attribute__((format(printf, 4, 5)))
static int fail(struct ctx *c, const char *key, enum where w, const char *fmt, ...)
{
	char msg[256], kbuf[SHOWN_MAX + 4];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->err = c->loc;
	c->err.at_key = false;
	if (key && w != AT_OBJECT && c->err.n < JSON_PATH_MAX) {
		c->err.c[c->err.n].key = key;
		c->err.c[c->err.n++].index = 0;
		c->err.at_key = w == AT_KEY;
	}
	if (key)
		snprintf(c->why, c->whylen, "%s%s%s: %s", c->path, c->path[0] ? "." : "",
			 shown(key, kbuf), msg);
	else if (c->path[0])
		snprintf(c->why, c->whylen, "%s: %s", c->path, msg);
	else
		snprintf(c->why, c->whylen, "%s", msg);
	/* Keep a truncated message valid UTF-8 (the API returns it as JSON). */
	n = c->whylen ? strlen(c->why) : 0;
	if (n && n + 1 == c->whylen)
		while (n && ((unsigned char)c->why[n - 1] & 0x80)) {
			bool lead = ((unsigned char)c->why[n - 1] & 0xc0) == 0xc0;

			c->why[--n] = '\0';
			if (lead)
				break;
		}
	return -EINVAL;
}

static int nomem(struct ctx *c)
{
	errf(c->why, c->whylen, -ENOMEM, "out of memory");
	return -ENOMEM;
}

/* ---- typed values ---- */

#define F_REQUIRED 1u        /* null is refused (else null = absent) */
#define F_NONEMPTY 2u        /* "" is refused (paths) */

/* A string value, borrowed from @v; NULL for an optional null. */
static int get_str(struct ctx *c, const char *key, json_t *v, unsigned int flags,
		   const char **out)
{
	const char *s;

	*out = NULL;
	if (json_is_null(v) && !(flags & F_REQUIRED))
		return 0;
	if (!json_is_string(v))
		return fail(c, key, AT_VALUE, "expected a string, got %s", type_name(v));
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return fail(c, key, AT_VALUE, "must not contain a NUL character");
	if ((flags & F_NONEMPTY) && !s[0])
		return fail(c, key, AT_VALUE, "must not be empty");
	*out = s;
	return 0;
}

/* A boolean; an optional null leaves *@out as it is. */
static int get_bool(struct ctx *c, const char *key, json_t *v, unsigned int flags, bool *out)
{
	if (json_is_null(v) && !(flags & F_REQUIRED))
		return 0;
	if (!json_is_boolean(v))
		return fail(c, key, AT_VALUE, "expected a boolean, got %s", type_name(v));
	*out = json_is_true(v);
	return 0;
}

/* An integer in [@min, @max] (@unit, e.g. " MiB", for the message). */
static int get_uint(struct ctx *c, const char *key, json_t *v, uint64_t min, uint64_t max,
		    const char *unit, uint64_t *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return fail(c, key, AT_VALUE, "expected an integer, got %s", type_name(v));
	n = json_integer_value(v);
	if (n < (json_int_t)min || (uint64_t)n > max)
		return fail(c, key, AT_VALUE, "must be %llu to %llu%s, got %lld",
			    (unsigned long long)min, (unsigned long long)max, unit,
			    (long long)n);
	*out = (uint64_t)n;
	return 0;
}

/* A Firecracker feature brisk lacks: accepted only when null, {} or []. */
static int unsupported(struct ctx *c, const char *key, json_t *v)
{
	if (json_is_null(v) || (json_is_object(v) && !json_object_size(v)) ||
	    (json_is_array(v) && !json_array_size(v)))
		return 0;
	return fail(c, key, AT_VALUE, "not supported by brisk (remove the key or set it to null)");
}

/* Index of @key in the NULL-terminated @names, or -1. */
static int key_index(const char *const *names, const char *key)
{
	int i;

	for (i = 0; names[i]; i++)
		if (!strcmp(names[i], key))
			return i;
	return -1;
}

static int want_object(struct ctx *c, json_t *obj)
{
	if (!json_is_object(obj))
		return fail(c, NULL, AT_VALUE, "expected an object, got %s", type_name(obj));
	return 0;
}

/* A key the schema requires but @obj lacks. */
static int require(struct ctx *c, json_t *obj, const char *key)
{
	if (json_object_get(obj, key))
		return 0;
	return fail(c, key, AT_OBJECT, "required key missing");
}

/* drive_id / iface_id: valid, equal to the URL's @want_id, new in a file. */
static int check_id(struct ctx *c, const char *key, const char *id, const char *want_id,
		    int existing, const char *array)
{
	char a[SHOWN_MAX + 4], b[SHOWN_MAX + 4];

	if (!spec_id_valid(id))
		return fail(c, key, AT_VALUE,
			    "\"%s\" is not a valid id (1 to %d characters of A-Z a-z 0-9 _)",
			    shown(id, a), SPEC_ID_MAX);
	if (want_id && strcmp(id, want_id))
		return fail(c, key, AT_VALUE, "\"%s\" does not match the id in the URL path (\"%s\")",
			    shown(id, a), shown(want_id, b));
	if (c->file && existing >= 0)
		return fail(c, key, AT_VALUE, "\"%s\" is already used by %s[%d]", shown(id, a),
			    array, existing);
	return 0;
}

/* ---- sections ---- */

static int parse_boot_source(struct ctx *c, json_t *obj, struct vm_spec *spec)
{
	static const char *const keys[] = { "kernel_image_path", "initrd_path", "boot_args", NULL };
	static const unsigned int flags[] = { F_REQUIRED | F_NONEMPTY, F_NONEMPTY, 0 };
	const char *val[3] = { NULL }, *key;
	char *copy[3] = { NULL };
	json_t *v;
	int k, r;

	if ((r = want_object(c, obj)))
		return r;
	json_object_foreach(obj, key, v) {
		if ((k = key_index(keys, key)) < 0)
			return fail(c, key, AT_KEY, "unknown key");
		if ((r = get_str(c, key, v, flags[k], &val[k])))
			return r;
	}
	if ((r = require(c, obj, "kernel_image_path")))
		return r;
	for (k = 0; k < 3; k++)
		if (val[k] && !(copy[k] = strdup(val[k]))) {
			free(copy[0]);
			free(copy[1]);
			return nomem(c);
		}
	free(spec->kernel_image_path);
	free(spec->initrd_path);
	free(spec->boot_args);
	spec->kernel_image_path = copy[0];
	spec->initrd_path = copy[1];
	spec->boot_args = copy[2];
	return 0;
}

/* partuuid lands on the kernel command line: one word, printable. */
static bool one_word(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static int parse_drive(struct ctx *c, json_t *obj, const char *want_id, struct vm_spec *spec)
{
	static const char *const keys[] = {
		"drive_id", "path_on_host", "is_root_device", "is_read_only", "partuuid",
		"cache_type", "io_engine", "rate_limiter", "socket", NULL,
	};
	struct spec_drive d = { .cache_unsafe = true, .io_engine = IO_ENGINE_AUTO };
	const char *id = NULL, *path = NULL, *partuuid = NULL, *s, *key;
	char tmp[256], buf[SHOWN_MAX + 4];
	json_t *v;
	int r = 0;

	if ((r = want_object(c, obj)))
		return r;
	json_object_foreach(obj, key, v) {
		switch (key_index(keys, key)) {
		case 0:
			r = get_str(c, key, v, F_REQUIRED, &id);
			break;
		case 1:
			r = get_str(c, key, v, F_REQUIRED | F_NONEMPTY, &path);
			break;
		case 2:
			r = get_bool(c, key, v, F_REQUIRED, &d.is_root_device);
			break;
		case 3:
			r = get_bool(c, key, v, 0, &d.is_read_only);
			break;
		case 4:
			r = get_str(c, key, v, F_NONEMPTY, &partuuid);
			if (!r && partuuid && !one_word(partuuid))
				r = fail(c, key, AT_VALUE, "must not contain spaces or control characters");
			break;
		case 5:
			if ((r = get_str(c, key, v, 0, &s)) || !s)
				break;
			if (!strcmp(s, "Unsafe") || !strcmp(s, "Writeback"))
				d.cache_unsafe = s[0] == 'U';
			else
				r = fail(c, key, AT_VALUE, "must be \"Unsafe\" or \"Writeback\", got \"%s\"",
					 shown(s, buf));
			break;
		case 6:
			if ((r = get_str(c, key, v, 0, &s)) || !s)
				break;
			if (!strcmp(s, "Sync"))
				d.io_engine = IO_ENGINE_SYNC;
			else if (!strcmp(s, "Async"))
				d.io_engine = IO_ENGINE_URING;
			else
				r = fail(c, key, AT_VALUE, "must be \"Sync\" or \"Async\", got \"%s\"",
					 shown(s, buf));
			break;
		case 7: /* rate_limiter */
		case 8: /* socket: vhost-user */
			r = unsupported(c, key, v);
			break;
		default:
			r = fail(c, key, AT_KEY, "unknown key");
		}
		if (r)
			return r;
	}
	if ((r = require(c, obj, "drive_id")) || (r = require(c, obj, "path_on_host")) ||
	    (r = require(c, obj, "is_root_device")))
		return r;
	if ((r = check_id(c, "drive_id", id, want_id, spec_find_drive(spec, id), "drives")))
		return r;
	if (!(d.drive_id = strdup(id)) || !(d.path_on_host = strdup(path)) ||
	    (partuuid && !(d.partuuid = strdup(partuuid)))) {
		spec_drive_free(&d);
		return nomem(c);
	}
	r = spec_put_drive(spec, &d, tmp, sizeof(tmp));
	if (r) {
		spec_drive_free(&d);
		if (r == -EEXIST)
			return fail(c, "is_root_device", AT_VALUE, "%s", tmp);
		return fail(c, NULL, AT_VALUE, "%s", tmp);
	}
	return 0;
}

static int hex_digit(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' :
	       ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
	       ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* "AA:BB:CC:DD:EE:FF" (any case); reads no byte past a mismatch. */
static bool parse_mac(const char *s, uint8_t mac[6])
{
	int i, hi, lo;

	for (i = 0; i < 6; i++, s += 3) {
		if ((hi = hex_digit(s[0])) < 0 || (lo = hex_digit(s[1])) < 0 ||
		    s[2] != (i < 5 ? ':' : '\0'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static int parse_nic(struct ctx *c, json_t *obj, const char *want_id, struct vm_spec *spec)
{
	static const char *const keys[] = {
		"iface_id", "host_dev_name", "guest_mac", "rx_rate_limiter", "tx_rate_limiter", NULL,
	};
	static const uint8_t zero[6];
	struct spec_nic n = { 0 };
	const char *id = NULL, *tap = NULL, *mac = NULL, *key;
	char tmp[256], buf[SHOWN_MAX + 4];
	unsigned int i;
	json_t *v;
	int r = 0;

	if ((r = want_object(c, obj)))
		return r;
	json_object_foreach(obj, key, v) {
		switch (key_index(keys, key)) {
		case 0:
			r = get_str(c, key, v, F_REQUIRED, &id);
			break;
		case 1:
			r = get_str(c, key, v, F_REQUIRED | F_NONEMPTY, &tap);
			if (!r && strlen(tap) > IFNAME_MAX)
				r = fail(c, key, AT_VALUE, "\"%s\" is too long (at most %d bytes)",
					 shown(tap, buf), IFNAME_MAX);
			break;
		case 2:
			if ((r = get_str(c, key, v, 0, &mac)) || !mac)
				break;
			if (!parse_mac(mac, n.guest_mac))
				r = fail(c, key, AT_VALUE, "\"%s\" is not a MAC address (AA:BB:CC:DD:EE:FF)",
					 shown(mac, buf));
			else if (n.guest_mac[0] & 1)
				r = fail(c, key, AT_VALUE, "%s is a multicast address (the first byte must be even)",
					 mac);
			else if (!memcmp(n.guest_mac, zero, 6))
				r = fail(c, key, AT_VALUE, "must not be all zeroes");
			n.have_mac = true;
			break;
		case 3:
		case 4:
			r = unsupported(c, key, v);
			break;
		default:
			r = fail(c, key, AT_KEY, "unknown key");
		}
		if (r)
			return r;
	}
	if ((r = require(c, obj, "iface_id")) || (r = require(c, obj, "host_dev_name")))
		return r;
	if ((r = check_id(c, "iface_id", id, want_id, spec_find_nic(spec, id), "network-interfaces")))
		return r;
	if (!(n.iface_id = strdup(id)) || !(n.host_dev_name = strdup(tap))) {
		spec_nic_free(&n);
		return nomem(c);
	}
	r = spec_put_nic(spec, &n, tmp, sizeof(tmp));
	if (r == -EEXIST) {
		/* The key spec_put_nic() objected to: the first clash, tap before MAC. */
		key = NULL;
		for (i = 0; !key && i < spec->nr_nics; i++) {
			const struct spec_nic *o = &spec->nics[i];

			if (!strcmp(o->iface_id, id))
				continue;
			if (!strcmp(o->host_dev_name, tap))
				key = "host_dev_name";
			else if (o->have_mac && n.have_mac && !memcmp(o->guest_mac, n.guest_mac, 6))
				key = "guest_mac";
		}
		r = fail(c, key, AT_VALUE, "%s", tmp);
	} else if (r) {
		r = fail(c, NULL, AT_VALUE, "%s", tmp);
	}
	if (r)
		spec_nic_free(&n);
	return r;
}

static int parse_machine(struct ctx *c, json_t *obj, bool patch, struct vm_spec *spec)
{
	static const char *const keys[] = {
		"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages", "cpu_template",
		"huge_pages", NULL,
	};
	struct spec_machine m = patch ? spec->machine : (struct spec_machine){ 0 };
	const char *key, *s;
	char buf[SHOWN_MAX + 4];
	uint64_t n;
	json_t *v;
	int r = 0;

	if ((r = want_object(c, obj)))
		return r;
	if (patch && !json_object_size(obj))
		return fail(c, NULL, AT_VALUE, "nothing to change (give at least one key)");
	json_object_foreach(obj, key, v) {
		int k = key_index(keys, key);

		if (k >= 0 && patch && json_is_null(v))
			continue;       /* PATCH: null changes nothing */
		switch (k) {
		case 0:
			if (!(r = get_uint(c, key, v, 1, SPEC_MAX_VCPUS, "", &n)))
				m.vcpu_count = (unsigned int)n;
			break;
		case 1:
			if (!(r = get_uint(c, key, v, 1, SPEC_MAX_MEM_MIB, " MiB", &n)))
				m.mem_size_mib = n;
			break;
		case 2:
			r = get_bool(c, key, v, 0, &m.smt);
			if (!r && m.smt)
				r = fail(c, key, AT_VALUE, "true is not supported by brisk (one thread per core)");
			break;
		case 3:
			r = get_bool(c, key, v, 0, &m.track_dirty_pages);
			break;
		case 4: /* cpu_template: no CPU templates */
		case 5: /* huge_pages: 4 KiB pages only */
			if (!(r = get_str(c, key, v, 0, &s)) && s && strcmp(s, "None"))
				r = fail(c, key, AT_VALUE, "\"%s\" is not supported by brisk (only \"None\")",
					 shown(s, buf));
			break;
		default:
			r = fail(c, key, AT_KEY, "unknown key");
		}
		if (r)
			return r;
	}
	if (!patch && ((r = require(c, obj, "vcpu_count")) || (r = require(c, obj, "mem_size_mib"))))
		return r;
	spec->machine = m;
	return 0;
}

static int parse_logger(struct ctx *c, json_t *obj, struct vm_spec *spec)
{
	static const char *const keys[] = {
		"log_path", "level", "show_level", "show_log_origin", "module", NULL,
	};
	/* Firecracker's level names, any case; "Warn" as its parser has it too. */
	static const char *const levels[] = {
		"Error", "Warning", "Warn", "Info", "Debug", "Trace", "Off", NULL,
	};
	static const enum log_level level_of[] = {
		LOG_ERROR, LOG_WARN, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_DEBUG, LOG_WARN,
	};
	struct spec_logger l = { .set = true, .level = LOG_WARN };
	const char *key, *s, *path = NULL;
	char buf[SHOWN_MAX + 4];
	json_t *v;
	int i, r = 0;

	if ((r = want_object(c, obj)))
		return r;
	json_object_foreach(obj, key, v) {
		switch (key_index(keys, key)) {
		case 0:
			r = get_str(c, key, v, F_NONEMPTY, &path);
			break;
		case 1:
			if ((r = get_str(c, key, v, 0, &s)) || !s)
				break;
			for (i = 0; levels[i] && strcasecmp(levels[i], s); i++)
				;
			if (!levels[i]) {
				r = fail(c, key, AT_VALUE,
					 "must be Error, Warning, Info, Debug, Trace or Off, got \"%s\"",
					 shown(s, buf));
				break;
			}
			l.level = level_of[i];
			l.level_set = true;
			l.level_off = !strcmp(levels[i], "Off");
			break;
		case 2:
			r = get_bool(c, key, v, 0, &l.show_level);
			break;
		case 3:
			r = get_bool(c, key, v, 0, &l.show_log_origin);
			break;
		case 4: /* module: a per-module filter */
			if (!(r = get_str(c, key, v, 0, &s)) && s)
				r = fail(c, key, AT_VALUE, "not supported by brisk (remove the key or set it to null)");
			break;
		default:
			r = fail(c, key, AT_KEY, "unknown key");
		}
		if (r)
			return r;
	}
	if (path && !(l.log_path = strdup(path)))
		return nomem(c);
	free(spec->logger.log_path);
	spec->logger = l;
	return 0;
}

static int parse_metrics(struct ctx *c, json_t *obj, struct vm_spec *spec)
{
	const char *key, *path = NULL;
	char *copy;
	json_t *v;
	int r;

	if ((r = want_object(c, obj)))
		return r;
	json_object_foreach(obj, key, v) {
		if (strcmp(key, "metrics_path"))
			return fail(c, key, AT_KEY, "unknown key");
		if ((r = get_str(c, key, v, F_REQUIRED | F_NONEMPTY, &path)))
			return r;
	}
	if ((r = require(c, obj, "metrics_path")))
		return r;
	if (!(copy = strdup(path)))
		return nomem(c);
	free(spec->metrics.metrics_path);
	spec->metrics.metrics_path = copy;
	spec->metrics.set = true;
	return 0;
}

/* "drives" / "network-interfaces": an array of sections. */
static int parse_array(struct ctx *c, const char *key, json_t *arr, struct vm_spec *spec,
		       int (*one)(struct ctx *, json_t *, const char *, struct vm_spec *))
{
	size_t i;
	int r;

	if (json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return fail(c, key, AT_VALUE, "expected an array, got %s", type_name(arr));
	for (i = 0; i < json_array_size(arr); i++) {
		ctx_enter(c, key, (long)i);
		if ((r = one(c, json_array_get(arr, i), NULL, spec)))
			return r;
	}
	return 0;
}

/* The whole file: Firecracker's VmmConfig. */
static int parse_top(struct ctx *c, json_t *root, struct vm_spec *spec)
{
	static const char *const sections[] = {
		"boot-source", "machine-config", "logger", "metrics", NULL,
	};
	const char *key;
	json_t *v;
	int k, r;

	if (!json_is_object(root))
		return errf(c->why, c->whylen, -EINVAL, "top level: expected an object, got %s",
			    type_name(root));
	json_object_foreach(root, key, v) {
		c->loc.n = 0;
		c->path[0] = '\0';
		if ((k = key_index(sections, key)) >= 0)
			ctx_enter(c, key, -1);
		if (!strcmp(key, "drives"))
			r = parse_array(c, key, v, spec, parse_drive);
		else if (!strcmp(key, "network-interfaces"))
			r = parse_array(c, key, v, spec, parse_nic);
		else if (key_index(unsupported_sections, key) >= 0)
			r = unsupported(c, key, v);
		else if (k < 0)
			r = fail(c, key, AT_KEY, "unknown key");
		else if (k > 0 && json_is_null(v))
			r = 0;   /* an optional section set to null: absent */
		else if (k == 0)
			r = parse_boot_source(c, v, spec);
		else if (k == 1)
			r = parse_machine(c, v, false, spec);
		else if (k == 2)
			r = parse_logger(c, v, spec);
		else
			r = parse_metrics(c, v, spec);
		if (r)
			return r;
	}
	c->loc.n = 0;
	c->path[0] = '\0';
	return require(c, root, "boot-source");
}

/* ---- public: files ---- */

int config_parse_text(const char *text, size_t len, const char *name, struct vm_spec *spec,
		      char *why, size_t whylen)
{
	char msg[CTX_WHY_MAX];
	struct ctx c = { .file = true, .why = msg, .whylen = sizeof(msg) };
	unsigned int line, col;
	json_error_t jerr;
	const char *nul;
	json_t *root;
	size_t i;
	int r;

	if (!name)
		name = "config";
	if (len > CONFIG_MAX_FILE_BYTES)
		return errf(why, whylen, -EINVAL, "%s: larger than %d bytes", name,
			    CONFIG_MAX_FILE_BYTES);
	nul = memchr(text, '\0', len);
	if (nul) {
		json_pos_line_col(text, (size_t)(nul - text), &line, &col);
		return errf(why, whylen, -EINVAL, "%s:%u:%u: invalid JSON: NUL byte", name, line, col);
	}
	for (i = 0; i < len && strchr(" \t\r\n", text[i]); i++)
		;
	if (i == len)
		return errf(why, whylen, -EINVAL, "%s: empty, expected a JSON object", name);

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		/* jansson quotes the input near the error: keep the message one line */
		for (i = 0; jerr.text[i]; i++)
			if ((unsigned char)jerr.text[i] < 0x20 || jerr.text[i] == 0x7f)
				jerr.text[i] = '?';
		if (jerr.line < 1)
			return errf(why, whylen, -EINVAL, "%s: invalid JSON: %s", name, jerr.text);
		return errf(why, whylen, -EINVAL, "%s:%d:%d: invalid JSON: %s", name, jerr.line,
			    MAX(jerr.column, 1), jerr.text);
	}
	r = parse_top(&c, root, spec);
	if (r == -EINVAL) {
		json_pos_locate(text, len, &c.err, &line, &col);
		errf(why, whylen, r, "%s:%u:%u: %s", name, line, col, msg);
	} else if (r) {
		errf(why, whylen, r, "%s: %s", name, msg);
	}
	json_decref(root);
	return r;
}

/* ---- public: sections, as the API calls them ---- */

static struct ctx *api_ctx(struct ctx *c, const char *path, char *why, size_t whylen)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", path ? path : "");
	c->why = why;
	c->whylen = whylen;
	return c;
}

int config_boot_source(json_t *obj, const char *path, struct vm_spec *spec, char *why, size_t whylen)
{
	struct ctx c;

	return parse_boot_source(api_ctx(&c, path, why, whylen), obj, spec);
}

int config_drive(json_t *obj, const char *path, const char *want_id, struct vm_spec *spec,
		 char *why, size_t whylen)
{
	struct ctx c;

	return parse_drive(api_ctx(&c, path, why, whylen), obj, want_id, spec);
}

int config_nic(json_t *obj, const char *path, const char *want_id, struct vm_spec *spec,
	       char *why, size_t whylen)
{
	struct ctx c;

	return parse_nic(api_ctx(&c, path, why, whylen), obj, want_id, spec);
}

int config_machine(json_t *obj, const char *path, bool patch, struct vm_spec *spec,
		   char *why, size_t whylen)
{
	struct ctx c;

	return parse_machine(api_ctx(&c, path, why, whylen), obj, patch, spec);
}

int config_logger(json_t *obj, const char *path, struct vm_spec *spec, char *why, size_t whylen)
{
	struct ctx c;

	return parse_logger(api_ctx(&c, path, why, whylen), obj, spec);
}

int config_metrics(json_t *obj, const char *path, struct vm_spec *spec, char *why, size_t whylen)
{
	struct ctx c;

	return parse_metrics(api_ctx(&c, path, why, whylen), obj, spec);
}
