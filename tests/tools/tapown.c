/*
 * tapown.c — make a persistent tap owned by a user, for the jailer tests
 * inside the testhost, whose busybox tunctl cannot set an owner.
 * Usage: tapown TAP UID     (scripts/mktap --del TAP removes it)
 */
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd;

	if (argc != 3 || strlen(argv[1]) >= IFNAMSIZ) {
		fprintf(stderr, "usage: tapown TAP UID\n");
		return 2;
	}
	strcpy(ifr.ifr_name, argv[1]);
	fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 ||
	    ioctl(fd, TUNSETOWNER, (unsigned long)strtoul(argv[2], NULL, 10)) < 0 ||
	    ioctl(fd, TUNSETPERSIST, 1) < 0) {
		perror("tapown");
		return 1;
	}
	return 0;
}
