/* tap.c — attach to a host tap interface for virtio-net (Linux tuntap API). */
#include "virtio/tap.h"
#include "virtio/net.h"
#include "vmm/util.h"

#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_tun.h>

#define TAP_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

int tap_open(const char *name, char *why, size_t whylen)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = NET_HDR_SIZE;
	unsigned int features = 0;
	int fd, err;

	if (!name[0] || strlen(name) >= IFNAMSIZ || strchr(name, '/'))
		return errf(why, whylen, -EINVAL, "tap '%s': not an interface name (1-%d bytes)",
			    name, IFNAMSIZ - 1);
	/* TUNSETIFF would create a missing tap that vanishes with brisk: refuse. */
	if (if_nametoindex(name) == 0)
		return errf(why, whylen, -ENODEV,
			    "tap '%s' does not exist; create it first: scripts/mktap %s", name, name);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		return errf(why, whylen, err, "open /dev/net/tun: %s%s", strerror(-err),
			    err == -ENOENT ? " (load the tun module: modprobe tun)" : "");
	}
	if (ioctl(fd, TUNGETFEATURES, &features) == 0 && !(features & IFF_VNET_HDR)) {
		close(fd);
		return errf(why, whylen, -ENOTSUP, "tap '%s': the host's tun driver lacks IFF_VNET_HDR", name);
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		close(fd);
		if (err == -EBUSY)
			return errf(why, whylen, err, "tap '%s' is in use (another VM has it open)", name);
		if (err == -EPERM)
			return errf(why, whylen, err, "tap '%s': permission denied (create it with "
				    "scripts/mktap --user $USER %s, or run as root)", name, name);
		if (err == -EINVAL)
			return errf(why, whylen, err, "tap '%s' is not a single-queue tap device "
				    "(a tun device, or created with multi_queue?)", name);
		return errf(why, whylen, err, "tap '%s': TUNSETIFF: %s", name, strerror(-err));
	}
	/* Virtio 1.x: the 12-byte header with num_buffers, whatever MRG_RXBUF says. */
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		err = -errno;
		close(fd);
		return errf(why, whylen, err, "tap '%s': TUNSETVNETHDRSZ: %s", name, strerror(-err));
	}
	/* No offloads until the guest accepts them (virtio_net_ops.activate). */
	if (tap_set_offload(fd, 0) < 0) {
		err = -errno;
		close(fd);
		return errf(why, whylen, err, "tap '%s': TUNSETOFFLOAD: %s", name, strerror(-err));
	}
	return fd;
}

int tap_set_offload(int fd, unsigned int flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0 ? -errno : 0;
}

bool tap_has_offloads(int fd)
{
	bool ok = tap_set_offload(fd, TAP_OFFLOADS) == 0;

	tap_set_offload(fd, 0);
	return ok;
}

uint32_t tap_mtu(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint32_t mtu = 0;

	if (s < 0)
		return 0;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
		mtu = (uint32_t)ifr.ifr_mtu;
	close(s);
	return mtu;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mac_parse(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);

		if (lo < 0 || s[2] != (i < 5 ? ':' : '\0'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 3;
	}
	/* A multicast source address is not a NIC's. */
	return (mac[0] & 1) ? -EINVAL : 0;
}

void mac_from_id(const char *vm_id, const char *tap, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
	const char *parts[] = { vm_id, "/", tap };

	for (unsigned int p = 0; p < ARRAY_SIZE(parts); p++)
		for (const unsigned char *c = (const unsigned char *)parts[p]; *c; c++)
			h = (h ^ *c) * 0x100000001b3ULL;
	mac[0] = 0x02; /* locally administered, unicast */
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * (i - 1)));
}
