/*
 * metrics.h — counters of one VM, as Firecracker-style JSON or Prometheus text (floor 3).
 *
 * Groups: "vmm" (instance id, state, uptime), "boot" (first guest
 * instruction and boot-timer times, µs since start), "api" (requests and
 * faults), "vcpu" (KVM_RUN exits by reason, summed over vCPUs) and "vcpuN",
 * "block_<drive_id>" (virtio-blk request counters), "net_<iface>"
 * (virtio-net counters). JSON: one object per flush, appended as one line
 * to the metrics file (Firecracker's behaviour; a FIFO works too).
 * Prometheus: the text exposition format for node_exporter's textfile
 * collector, the file rewritten in place on each flush.
 */
#ifndef BRISK_METRICS_H
#define BRISK_METRICS_H

#include <jansson.h>
#include <stdint.h>

#include "vmm/vm.h"

enum metrics_format { METRICS_FORMAT_JSON, METRICS_FORMAT_PROMETHEUS };

struct metrics_api {
	uint64_t requests, faults; /* API requests handled, and those answered 4xx/5xx */
};

/* What a snapshot of the counters needs beside the VM. */
struct metrics_src {
	const char *id;              /* instance id */
	const char *state;           /* "Not started" / "Running" / "Paused" */
	uint64_t uptime_us;          /* since process start */
	const struct vm *vm;         /* NULL before InstanceStart */
	const char *const *drive_ids; /* per vm->blks[i], may be NULL */
	const char *const *iface_ids; /* per vm->nets[i], may be NULL */
	uint64_t start_to_boot_us;   /* InstanceStart request → boot timer, 0 if unknown */
	const struct metrics_api *api;
};

/* "json" / "prometheus" → *@out. 0 or -EINVAL. */
int metrics_parse_format(const char *s, enum metrics_format *out);

/* The counters as a JSON object (new reference, NULL on ENOMEM). Main thread. */
json_t *metrics_collect(const struct metrics_src *src);

/*
 * Write one flush to @fd: JSON appends one line, Prometheus replaces the
 * file's content (ftruncate + pwrite at 0; for a FIFO it just writes).
 * 0 or -errno.
 */
int metrics_write(int fd, enum metrics_format format, const struct metrics_src *src);

#endif
