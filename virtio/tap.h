/*
 * tap.h — the host side of virtio-net: an existing tap interface (floor 2).
 *
 * Linux Documentation/networking/tuntap.rst; the vnet header is the
 * 12-byte struct virtio_net_hdr_v1 (virtio 1.2 §5.1.6).
 */
#ifndef BRISK_VIRTIO_TAP_H
#define BRISK_VIRTIO_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Attach to the existing tap @name: IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, vnet
 * header 12 bytes, non-blocking, close-on-exec. A missing interface is
 * -ENODEV (brisk does not create taps: scripts/mktap does), one already
 * attached elsewhere -EBUSY. Returns the fd, or -errno with one line
 * naming the fix in @why.
 */
int tap_open(const char *name, char *why, size_t whylen);

/* TUNSETOFFLOAD @flags (TUN_F_*). 0 or -errno. */
int tap_set_offload(int fd, unsigned int flags);

/* Does the tap take checksum and TSO offloads? (tries them, then turns them off) */
bool tap_has_offloads(int fd);

/* MTU of interface @name in bytes, or 0 when it cannot be read. */
uint32_t tap_mtu(const char *name);

/*
 * Parse "aa:bb:cc:dd:ee:ff" into @mac. A unicast address is required
 * (bit 0 of the first byte clear). 0 or -EINVAL.
 */
int mac_parse(const char *s, uint8_t mac[6]);

/*
 * A stable locally administered unicast MAC for NIC @tap of VM @vm_id
 * (02:xx:xx:xx:xx:xx, a hash of both): the same names give the same MAC
 * on every run.
 */
void mac_from_id(const char *vm_id, const char *tap, uint8_t mac[6]);

#endif
