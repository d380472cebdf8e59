/*
 * spec.c — the VM description before boot: defaults, ownership of its
 * strings, and the insert-or-replace rules Firecracker applies to drives
 * and network interfaces (one root device; taps and MACs unique).
 */
#include "vmm/spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/util.h"

void spec_init(struct vm_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->machine.vcpu_count = SPEC_DEFAULT_VCPUS;
	spec->machine.mem_size_mib = SPEC_DEFAULT_MEM_MIB;
	spec->logger.level = LOG_WARN;
}

void spec_drive_free(struct spec_drive *d)
{
	free(d->drive_id);
	free(d->path_on_host);
	free(d->partuuid);
	d->drive_id = NULL;
	d->path_on_host = NULL;
	d->partuuid = NULL;
}

void spec_nic_free(struct spec_nic *n)
{
	free(n->iface_id);
	free(n->host_dev_name);
	n->iface_id = NULL;
	n->host_dev_name = NULL;
}

void spec_free(struct vm_spec *spec)
{
	unsigned int i;

	free(spec->kernel_image_path);
	free(spec->initrd_path);
	free(spec->boot_args);
	for (i = 0; i < spec->nr_drives; i++)
		spec_drive_free(&spec->drives[i]);
	for (i = 0; i < spec->nr_nics; i++)
		spec_nic_free(&spec->nics[i]);
	free(spec->logger.log_path);
	free(spec->metrics.metrics_path);
	spec_init(spec);
}

bool spec_id_valid(const char *id)
{
	size_t i;

	if (!id)
		return false;
	for (i = 0; id[i]; i++) {
		char c = id[i];

		if (i == SPEC_ID_MAX)
			return false;
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '_')
			return false;
	}
	return i > 0;
}

/*
 * What spec_put_*() accept as an id: 1..SPEC_ID_MAX printable ASCII bytes,
 * no spaces. The config file and the API check Firecracker's stricter
 * alphabet (spec_id_valid()) first; `brisk run --drive ...,id=` also takes
 * '-' and '.', which brisk has always allowed there.
 */
static bool spec_id_usable(const char *id)
{
	size_t i;

	if (!id)
		return false;
	for (i = 0; id[i]; i++)
		if (i == SPEC_ID_MAX || id[i] <= ' ' || id[i] > '~' || id[i] == '"')
			return false;
	return i > 0;
}

int spec_set_str(char **field, const char *value)
{
	char *copy = NULL;

	if (value) {
		copy = strdup(value);
		if (!copy)
			return -ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

int spec_find_drive(const struct vm_spec *spec, const char *drive_id)
{
	unsigned int i;

	for (i = 0; drive_id && i < spec->nr_drives; i++)
		if (!strcmp(spec->drives[i].drive_id, drive_id))
			return (int)i;
	return -1;
}

int spec_find_nic(const struct vm_spec *spec, const char *iface_id)
{
	unsigned int i;

	for (i = 0; iface_id && i < spec->nr_nics; i++)
		if (!strcmp(spec->nics[i].iface_id, iface_id))
			return (int)i;
	return -1;
}

int spec_put_drive(struct vm_spec *spec, struct spec_drive *d, char *why, size_t whylen)
{
	int slot = spec_find_drive(spec, d->drive_id);
	unsigned int i;

	if (!spec_id_usable(d->drive_id))
		return errf(why, whylen, -EINVAL, "drive_id must be 1 to %d of A-Z a-z 0-9 _",
			    SPEC_ID_MAX);
	if (!d->path_on_host || !d->path_on_host[0])
		return errf(why, whylen, -EINVAL, "drive \"%s\" has no path_on_host", d->drive_id);
	/* Replacing the root device by itself is fine; a second one is not. */
	for (i = 0; d->is_root_device && i < spec->nr_drives; i++)
		if ((int)i != slot && spec->drives[i].is_root_device)
			return errf(why, whylen, -EEXIST,
				    "a root block device already exists (drive \"%s\")",
				    spec->drives[i].drive_id);
	if (slot < 0) {
		if (spec->nr_drives == SPEC_MAX_DRIVES)
			return errf(why, whylen, -ENOSPC, "too many drives (brisk has at most %d)",
				    SPEC_MAX_DRIVES);
		slot = (int)spec->nr_drives++;
	} else {
		spec_drive_free(&spec->drives[slot]);
	}
	spec->drives[slot] = *d;
	memset(d, 0, sizeof(*d));
	return 0;
}

int spec_put_nic(struct vm_spec *spec, struct spec_nic *n, char *why, size_t whylen)
{
	int slot = spec_find_nic(spec, n->iface_id);
	unsigned int i;

	if (!spec_id_usable(n->iface_id))
		return errf(why, whylen, -EINVAL, "iface_id must be 1 to %d of A-Z a-z 0-9 _",
			    SPEC_ID_MAX);
	if (!n->host_dev_name || !n->host_dev_name[0])
		return errf(why, whylen, -EINVAL, "interface \"%s\" has no host_dev_name",
			    n->iface_id);
	for (i = 0; i < spec->nr_nics; i++) {
		const struct spec_nic *o = &spec->nics[i];

		if ((int)i == slot)
			continue;
		if (!strcmp(o->host_dev_name, n->host_dev_name))
			return errf(why, whylen, -EEXIST,
				    "tap \"%s\" is already used by interface \"%s\"",
				    n->host_dev_name, o->iface_id);
		if (n->have_mac && o->have_mac && !memcmp(o->guest_mac, n->guest_mac, 6))
			return errf(why, whylen, -EEXIST,
				    "MAC %02x:%02x:%02x:%02x:%02x:%02x is already used by interface \"%s\"",
				    n->guest_mac[0], n->guest_mac[1], n->guest_mac[2],
				    n->guest_mac[3], n->guest_mac[4], n->guest_mac[5], o->iface_id);
	}
	if (slot < 0) {
		if (spec->nr_nics == SPEC_MAX_NICS)
			return errf(why, whylen, -ENOSPC,
				    "too many network interfaces (brisk has at most %d)",
				    SPEC_MAX_NICS);
		slot = (int)spec->nr_nics++;
	} else {
		spec_nic_free(&spec->nics[slot]);
	}
	spec->nics[slot] = *n;
	memset(n, 0, sizeof(*n));
	return 0;
}
