/*
 * vmm.h — one VM's life in this process: configure → start → pause ⇄
 * resume → stop (floor 3).
 *
 * The controller owns the spec (config file, API, or `brisk run` flags),
 * the main event loop, the signalfd, the optional API server, the metrics
 * and log files, and — from InstanceStart on — the VM. It builds the VM
 * from the spec, answers the API's actions, turns SIGTERM/SIGINT into
 * Ctrl-Alt-Del with a grace period, and tears everything down on every exit
 * path. Main thread only.
 */
#ifndef BRISK_VMM_H
#define BRISK_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/api.h"
#include "vmm/console.h"
#include "vmm/event_loop.h"
#include "vmm/log.h"
#include "vmm/metrics.h"
#include "vmm/spec.h"
#include "vmm/vm.h"

#define VMM_CMDLINE_MAX 65536
#define VMM_DEFAULT_SHUTDOWN_TIMEOUT_MS 5000
#define VMM_METRICS_PERIOD_S 60
#define VMM_PAUSE_TIMEOUT_MS 2000
/* Kernel parameters for a guest that is not brisk's agent (config file / API). */
#define VMM_DEFAULT_BOOT_ARGS \
	"console=ttyS0 reboot=k panic=1 pci=off nomodule 8250.nr_uarts=2 " \
	"i8042.noaux i8042.nomux i8042.dumbkbd no_timer_check"

/*
 * Builds the kernel command line from the machine's own parameters
 * (@extra: virtio-mmio devices, root=) and how the console sees stdin
 * (@mode) — `brisk run` adds the agent's. Returns the length or -E2BIG.
 */
typedef int (*vmm_cmdline_fn)(void *opaque, enum console_stdin mode, const char *extra,
			      char *out, size_t outlen);

struct vmm_opts {
	const char *id;                  /* instance id */
	const char *api_sock;            /* NULL: no API */
	size_t api_max_body;             /* bytes */
	enum seccomp_mode seccomp;
	unsigned int shutdown_timeout_ms; /* SIGTERM/SIGINT: Ctrl-Alt-Del, then this long */
	enum log_format log_format;
	enum metrics_format metrics_format;
	bool boot_timer;                 /* print the boot-timer line */
	uint64_t start_us, start_cpu_us; /* process start (CLOCK_MONOTONIC, CPU time), µs */
	int verbose;
	enum boot_pref boot;
	/* `brisk run`: the guest is the agent, the exit status is its command's. */
	bool agent;
	bool run_mode;                   /* root=/dev/vda init=/init as brisk's rootfs wants */
	vmm_cmdline_fn cmdline_fn;       /* NULL: "<extra> <boot_args or VMM_DEFAULT_BOOT_ARGS>" */
	void *cmdline_opaque;
	bool use_default_kernel;         /* for the "run `make`" hint when it is missing */
};

struct vmm;

/*
 * Allocate a controller owning @spec's contents (moved in; @spec is left
 * spec_init()ed). Opens log and metrics files, installs the signalfd,
 * starts the API server when asked. 0, or -errno with one line in @why.
 */
int vmm_create(struct vmm **out, const struct vmm_opts *opts, struct vm_spec *spec,
	       char *why, size_t whylen);

/* InstanceStart: build the VM from the spec and run it. 0 or -errno with @why. */
int vmm_start(struct vmm *v, char *why, size_t whylen);

/*
 * Run the event loop until the VM ends (or, before InstanceStart, until a
 * signal). Returns the process exit status (see README "Exit status").
 */
int vmm_run(struct vmm *v);

/* Release everything (VM, API socket file, files). Safe on NULL. */
void vmm_destroy(struct vmm *v);

#endif
