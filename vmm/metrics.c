/* metrics.c — collect the VM's counters and write them as JSON or Prometheus text. */
#include "vmm/metrics.h"
#include "vmm/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int metrics_parse_format(const char *s, enum metrics_format *out)
{
	if (!strcmp(s, "json"))
		*out = METRICS_FORMAT_JSON;
	else if (!strcmp(s, "prometheus"))
		*out = METRICS_FORMAT_PROMETHEUS;
	else
		return -EINVAL;
	return 0;
}

static uint64_t rd(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void set_u64(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static json_t *vcpu_json(const struct vcpu_exit_stats *x)
{
	json_t *o = json_object();

	set_u64(o, "exit_io", rd(&x->io));
	set_u64(o, "exit_mmio", rd(&x->mmio));
	set_u64(o, "exit_intr", rd(&x->intr));
	set_u64(o, "exit_hlt", rd(&x->hlt));
	set_u64(o, "exit_shutdown", rd(&x->shutdown));
	set_u64(o, "exit_system_event", rd(&x->system_event));
	set_u64(o, "exit_internal_error", rd(&x->internal_error));
	set_u64(o, "exit_fail_entry", rd(&x->fail_entry));
	set_u64(o, "exit_other", rd(&x->other));
	return o;
}

static void add_vcpus(json_t *root, const struct vm *vm)
{
	struct vcpu_exit_stats sum = { 0 };
	char key[16];

	for (unsigned int i = 0; i < vm->nr_cpus; i++) {
		const struct vcpu_exit_stats *x = &vm->vcpus[i].exits;

		sum.io += rd(&x->io);
		sum.mmio += rd(&x->mmio);
		sum.intr += rd(&x->intr);
		sum.hlt += rd(&x->hlt);
		sum.shutdown += rd(&x->shutdown);
		sum.system_event += rd(&x->system_event);
		sum.internal_error += rd(&x->internal_error);
		sum.fail_entry += rd(&x->fail_entry);
		sum.other += rd(&x->other);
		snprintf(key, sizeof(key), "vcpu%u", i);
		json_object_set_new(root, key, vcpu_json(x));
	}
	json_object_set_new(root, "vcpu", vcpu_json(&sum));
}

static void add_devices(json_t *root, const struct metrics_src *src)
{
	const struct vm *vm = src->vm;
	char key[96];

	for (unsigned int i = 0; i < vm->nr_blks; i++) {
		const struct blk_stats *s = &vm->blks[i].blk.stats;
		json_t *o = json_object();

		set_u64(o, "read_count", s->reads);
		set_u64(o, "write_count", s->writes);
		set_u64(o, "flush_count", s->flushes);
		set_u64(o, "discard_count", s->discards);
		set_u64(o, "write_zeroes_count", s->write_zeroes);
		set_u64(o, "get_id_count", s->get_ids);
		set_u64(o, "read_bytes", s->read_bytes);
		set_u64(o, "write_bytes", s->write_bytes);
		set_u64(o, "io_errors", s->errors);
		set_u64(o, "unsupported_count", s->unsupported);
		set_u64(o, "bad_chains", s->bad_chains);
		if (src->drive_ids && src->drive_ids[i])
			snprintf(key, sizeof(key), "block_%s", src->drive_ids[i]);
		else
			snprintf(key, sizeof(key), "block_%u", i);
		json_object_set_new(root, key, o);
	}
	for (unsigned int i = 0; i < vm->nr_nets; i++) {
		const struct net_stats *s = &vm->nets[i].net.stats;
		json_t *o = json_object();

		set_u64(o, "rx_packets_count", s->rx_packets);
		set_u64(o, "rx_bytes_count", s->rx_bytes);
		set_u64(o, "rx_dropped", s->rx_dropped);
		set_u64(o, "rx_paused", s->rx_paused);
		set_u64(o, "tx_packets_count", s->tx_packets);
		set_u64(o, "tx_bytes_count", s->tx_bytes);
		set_u64(o, "tx_dropped", s->tx_dropped);
		set_u64(o, "bad_chains", s->bad_chains);
		if (src->iface_ids && src->iface_ids[i])
			snprintf(key, sizeof(key), "net_%s", src->iface_ids[i]);
		else
			snprintf(key, sizeof(key), "net_%u", i);
		json_object_set_new(root, key, o);
	}
}

json_t *metrics_collect(const struct metrics_src *src)
{
	struct timespec now;
	json_t *root = json_object(), *vmm, *boot, *api;

	if (!root)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	set_u64(root, "utc_timestamp_ms", (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000);
	vmm = json_pack("{s:s, s:s}", "instance_id", src->id, "state", src->state);
	if (vmm)
		set_u64(vmm, "uptime_us", src->uptime_us);
	json_object_set_new(root, "vmm", vmm);
	boot = json_object();
	if (src->vm) {
		set_u64(boot, "first_instruction_us", src->vm->first_insn_us);
		set_u64(boot, "boot_timer_us", src->vm->boot_timer.boot_us);
	}
	if (src->start_to_boot_us)
		set_u64(boot, "instance_start_to_boot_timer_us", src->start_to_boot_us);
	json_object_set_new(root, "boot", boot);
	if (src->api) {
		api = json_object();
		set_u64(api, "requests", src->api->requests);
		set_u64(api, "faults", src->api->faults);
		json_object_set_new(root, "api", api);
	}
	if (src->vm) {
		add_vcpus(root, src->vm);
		add_devices(root, src);
	}
	return root;
}

/* Prometheus names: [a-zA-Z0-9_]; anything else becomes '_'. */
static void prom_name(char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			*s = '_';
}

/*
 * Group keys "vcpu3", "block_rootfs", "net_eth0" become a label:
 * brisk_block_read_count{instance="x",drive="rootfs"}.
 */
static void prom_group(const char *group, char *metric, size_t mlen, char *label, size_t llen)
{
	unsigned int n;

	label[0] = '\0';
	if (!strncmp(group, "block_", 6)) {
		snprintf(metric, mlen, "block");
		snprintf(label, llen, ",drive=\"%s\"", group + 6);
	} else if (!strncmp(group, "net_", 4)) {
		snprintf(metric, mlen, "net");
		snprintf(label, llen, ",iface=\"%s\"", group + 4);
	} else if (sscanf(group, "vcpu%u", &n) == 1) {
		snprintf(metric, mlen, "vcpu");
		snprintf(label, llen, ",vcpu=\"%u\"", n);
	} else {
		snprintf(metric, mlen, "%s", group);
	}
}

/* Text exposition format. Returns malloc'ed text or NULL. */
static char *prom_text(json_t *root, const char *id)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *gk, *k;
	json_t *g, *v;

	if (!f)
		return NULL;
	json_object_foreach(root, gk, g) {
		char metric[64], label[96], name[192];

		if (!json_is_object(g)) {
			if (json_is_integer(g))
				fprintf(f, "brisk_%s{instance=\"%s\"} %lld\n", gk, id,
					(long long)json_integer_value(g));
			continue;
		}
		prom_group(gk, metric, sizeof(metric), label, sizeof(label));
		json_object_foreach(g, k, v) {
			if (!json_is_integer(v))
				continue;
			snprintf(name, sizeof(name), "brisk_%s_%s", metric, k);
			prom_name(name);
			fprintf(f, "%s{instance=\"%s\"%s} %lld\n", name, id, label,
				(long long)json_integer_value(v));
		}
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int metrics_write(int fd, enum metrics_format format, const struct metrics_src *src)
{
	json_t *root = metrics_collect(src);
	struct stat st;
	char *text;
	int r;

	if (!root)
		return -ENOMEM;
	if (format == METRICS_FORMAT_JSON) {
		text = json_dumps(root, JSON_COMPACT);
		if (text) {
			size_t n = strlen(text);
			char *line = realloc(text, n + 2);

			if (line) {
				text = line;
				text[n] = '\n';
				text[n + 1] = '\0';
			}
		}
	} else {
		text = prom_text(root, src->id);
	}
	json_decref(root);
	if (!text)
		return -ENOMEM;
	if (format == METRICS_FORMAT_PROMETHEUS && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		r = ftruncate(fd, 0) < 0 ? -errno : 0;
		if (r == 0)
			r = util_pwrite_full(fd, text, strlen(text), 0);
	} else {
		r = util_write_full(fd, text, strlen(text));
	}
	free(text);
	return r;
}
