/*
 * seccomp_victim.c — stands in for brisk under brisk-jailer in the jailer
 * tests: installs brisk's main-thread seccomp filter, then makes a call it
 * forbids (socket), so the jailer has a seccomp kill to report.
 */
#include <stdio.h>
#include <sys/socket.h>

#include "jailer/seccomp.h"

int main(void)
{
	if (seccomp_install(SECCOMP_THREAD_MAIN, SECCOMP_ENFORCE) < 0) {
		fprintf(stderr, "seccomp_victim: cannot install the filter\n");
		return 2;
	}
	socket(AF_UNIX, SOCK_STREAM, 0);
	return 1;
}
