/*
 * spec.h — the VM as configured before it boots (floor 3).
 *
 * One description filled from three places: the Firecracker JSON config
 * file (vmm/config.c), the API's pre-boot PUT/PATCH requests (vmm/api_routes.c)
 * and `brisk run` flags. Field names follow Firecracker's schema
 * (https://github.com/firecracker-microvm/firecracker, src/firecracker/swagger):
 * boot-source, drives, network-interfaces, machine-config, logger, metrics.
 * Every string is owned by the spec (malloc'ed); NULL means "not set".
 * All functions run on the main thread.
 */
#ifndef BRISK_SPEC_H
#define BRISK_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/log.h"
#include "virtio/io.h"

#define SPEC_MAX_DRIVES 16
#define SPEC_MAX_NICS 8
#define SPEC_MAX_VCPUS 32
#define SPEC_MAX_MEM_MIB (1024ULL * 1024)  /* 1 TiB */
#define SPEC_ID_MAX 64                     /* drive_id / iface_id bytes, without NUL */
#define SPEC_DEFAULT_VCPUS 1               /* Firecracker's machine-config defaults */
#define SPEC_DEFAULT_MEM_MIB 128

/* drives[]: one virtio-blk device. */
struct spec_drive {
	char *drive_id;             /* unique; [A-Za-z0-9_]{1,64} from config/API */
	char *path_on_host;         /* image file or block device */
	bool is_root_device;        /* at most one; it becomes /dev/vda */
	bool is_read_only;
	char *partuuid;             /* root=PARTUUID=... instead of /dev/vda, or NULL */
	bool cache_unsafe;          /* cache_type "Unsafe" (default): no FLUSH offered;
				     * "Writeback": FLUSH offered and honoured */
	enum io_engine_kind io_engine; /* "Sync" = IO_ENGINE_SYNC, "Async" = IO_ENGINE_URING,
					* absent = IO_ENGINE_AUTO */
};

/* network-interfaces[]: one virtio-net device on an existing tap. */
struct spec_nic {
	char *iface_id;             /* unique; [A-Za-z0-9_]{1,64} from config/API */
	char *host_dev_name;        /* tap name, < IFNAMSIZ bytes */
	bool have_mac;
	uint8_t guest_mac[6];       /* unicast; derived from the VM id when !have_mac */
};

/* machine-config. */
struct spec_machine {
	unsigned int vcpu_count;    /* 1..SPEC_MAX_VCPUS */
	uint64_t mem_size_mib;      /* 1..SPEC_MAX_MEM_MIB, MiB */
	bool smt;                   /* only false is supported */
	bool track_dirty_pages;     /* KVM_MEM_LOG_DIRTY_PAGES on guest RAM */
};

/* logger. */
struct spec_logger {
	bool set;
	char *log_path;             /* NULL: stderr */
	enum log_level level;       /* "Error" "Warning" "Info" "Debug" ("Trace" = Debug, "Off") */
	bool level_set;
	bool level_off;             /* "Off" */
	bool show_level;
	bool show_log_origin;
};

/* metrics. */
struct spec_metrics {
	bool set;
	char *metrics_path;
};

struct vm_spec {
	/* boot-source */
	char *kernel_image_path;    /* NULL: not configured (InstanceStart refuses) */
	char *initrd_path;
	char *boot_args;            /* NULL: brisk's default kernel parameters */
	struct spec_drive drives[SPEC_MAX_DRIVES]; /* in the order given; the root device is
						    * placed first when the VM is built */
	unsigned int nr_drives;
	struct spec_nic nics[SPEC_MAX_NICS];
	unsigned int nr_nics;
	struct spec_machine machine;
	struct spec_logger logger;
	struct spec_metrics metrics;
};

/* Defaults: no kernel, no devices, 1 vCPU, 128 MiB (Firecracker's). */
void spec_init(struct vm_spec *spec);

/* Free every string; the spec is then as after spec_init(). */
void spec_free(struct vm_spec *spec);

/* Free the strings of one drive / NIC. */
void spec_drive_free(struct spec_drive *d);
void spec_nic_free(struct spec_nic *n);

/*
 * Insert or replace (same drive_id) a drive; the spec takes ownership of
 * @d's strings on success (and @d is zeroed), the caller keeps them on
 * error. Errors, with one line in @why: -EEXIST a second root device
 * ("a root block device already exists (drive "rootfs")"), -ENOSPC more
 * than SPEC_MAX_DRIVES, -EINVAL an empty, over-long or unprintable
 * drive_id (callers parsing Firecracker input check spec_id_valid() first;
 * brisk run's id= may hold '-' and '.') or no path_on_host.
 */
int spec_put_drive(struct vm_spec *spec, struct spec_drive *d, char *why, size_t whylen);

/*
 * Insert or replace (same iface_id) a NIC; ownership as spec_put_drive().
 * -EEXIST when another NIC uses the same tap or MAC, -ENOSPC past SPEC_MAX_NICS,
 * -EINVAL an iface_id spec_put_drive() would refuse, or no host_dev_name.
 */
int spec_put_nic(struct vm_spec *spec, struct spec_nic *n, char *why, size_t whylen);

/* Index of the drive / NIC with that id, or -1. */
int spec_find_drive(const struct vm_spec *spec, const char *drive_id);
int spec_find_nic(const struct vm_spec *spec, const char *iface_id);

/* True when @id is a valid drive_id / iface_id ([A-Za-z0-9_]{1,SPEC_ID_MAX}). */
bool spec_id_valid(const char *id);

/* Replace an owned string with a copy of @value (NULL clears it). 0 or -ENOMEM. */
int spec_set_str(char **field, const char *value);

#endif
