// SPDX-License-Identifier: MIT
/*
 * netflood — send broadcast Ethernet frames on an interface as fast as
 * possible for a while (tests/integration/net.sh floods a guest's tap).
 *
 *   netflood IFACE SECONDS [FRAME_BYTES]
 *
 * Frames go to ff:ff:ff:ff:ff:ff with ethertype 0x88b5 (IEEE 802 "local
 * experimental"), FRAME_BYTES long including the 14-byte header (default
 * 1000, 60..1514: the minimum and maximum untagged frame without FCS).
 * A full device queue (ENOBUFS, EAGAIN) is retried, not an error.  Prints
 * "netflood: sent N frames" on stdout; exit 1 with one line on stderr on
 * bad arguments or socket errors.  Linked statically: the testhost has
 * no libraries but busybox's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETHERTYPE_LOCAL_EXP	0x88b5
#define FRAME_MIN		60
#define FRAME_MAX		1514
#define FRAME_DEFAULT		1000
#define SECONDS_MAX		86400

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("netflood: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void __attribute__((noreturn)) usage_fail(const char *why)
{
	fail("%s; usage: netflood IFACE SECONDS [FRAME_BYTES] (FRAME_BYTES %d..%d, default %d)",
	     why, FRAME_MIN, FRAME_MAX, FRAME_DEFAULT);
}

/* A decimal number in [min, max], or fail naming @what. */
static long parse_num(const char *s, const char *what, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		fail("bad %s '%s': expected a number %ld..%ld", what, s, min, max);
	return v;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static unsigned char frame[FRAME_MAX];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	uint64_t sent = 0, end;
	unsigned int ifindex;
	long seconds, len = FRAME_DEFAULT;
	int s;

	if (argc < 3 || argc > 4)
		usage_fail("wrong number of arguments");
	if (strlen(argv[1]) == 0 || strlen(argv[1]) >= IFNAMSIZ)
		fail("bad interface name '%s': 1-%d bytes", argv[1], IFNAMSIZ - 1);
	seconds = parse_num(argv[2], "SECONDS", 1, SECONDS_MAX);
	if (argc == 4)
		len = parse_num(argv[3], "FRAME_BYTES", FRAME_MIN, FRAME_MAX);

	ifindex = if_nametoindex(argv[1]);
	if (ifindex == 0)
		fail("interface '%s': %s", argv[1], strerror(errno));
	/* Protocol 0: send only, receive nothing. */
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s < 0)
		fail("AF_PACKET socket: %s%s", strerror(errno),
		     errno == EPERM ? " (needs root or CAP_NET_RAW)" : "");
	sll.sll_protocol = htons(ETHERTYPE_LOCAL_EXP);
	sll.sll_ifindex = (int)ifindex;
	if (bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		fail("bind to %s: %s", argv[1], strerror(errno));

	/* dst broadcast, src a locally administered unicast MAC, type, payload. */
	memset(frame, 0xff, ETH_ALEN);
	memcpy(frame + ETH_ALEN, "\x02\x00\x00\x88\xb5\x01", ETH_ALEN);
	frame[12] = ETHERTYPE_LOCAL_EXP >> 8;
	frame[13] = ETHERTYPE_LOCAL_EXP & 0xff;
	for (long i = ETH_HLEN; i < len; i++)
		frame[i] = (unsigned char)i;

	end = now_ns() + (uint64_t)seconds * 1000000000u;
	while (now_ns() < end) {
		/* Check the clock every 64 sends: clock_gettime is not free. */
		for (int i = 0; i < 64; i++) {
			ssize_t r = send(s, frame, (size_t)len, 0);

			if (r == len) {
				sent++;
				continue;
			}
			if (r >= 0)	/* packet sockets send all or nothing */
				fail("send on %s: %zd of %ld bytes sent", argv[1], r, len);
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
				sched_yield();	/* queue full: let it drain */
				continue;
			}
			if (errno == ENETDOWN)
				fail("send on %s: interface is down (ip link set dev %s up)",
				     argv[1], argv[1]);
			fail("send on %s after %llu frames: %s", argv[1],
			     (unsigned long long)sent, strerror(errno));
		}
	}
	close(s);
	printf("netflood: sent %llu frames\n", (unsigned long long)sent);
	return 0;
}
