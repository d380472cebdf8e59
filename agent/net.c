// SPDX-License-Identifier: MIT
/*
 * net.c — brisk-init's NIC setup: the net= option (IFACE:ADDR/PREFIX[:GW]
 * elements, docs/guest-interface.md) and the ioctls that apply it.
 *
 * The whole list is checked when the options are read, before anything is
 * configured, so a typo fails the same way wherever it is; what only the
 * kernel can refuse (a missing NIC, an unreachable gateway) fails in
 * net_setup().  Either way the agent ends with STATUS_INTERNAL and one line
 * naming the element.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* the same feature set as the rest of the agent */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"

struct net_if {
	char name[IFNAMSIZ];
	char addr_str[INET_ADDRSTRLEN];
	char gw_str[INET_ADDRSTRLEN];	/* "" without a gateway */
	struct in_addr addr, mask, gw;
	unsigned int prefix;
};

#define NIC_HINT	"is the NIC attached? brisk run --net TAP"

/* ---- parsing ------------------------------------------------------------- */

/*
 * Linux's dev_valid_name(): 1..IFNAMSIZ-1 bytes, not "." or "..", no '/',
 * ':' or white space.  Control and non-ASCII bytes are refused as well:
 * they only ever come from a broken command line.
 */
static bool ifname_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= IFNAMSIZ)
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '/' || s[i] == ':')
			return false;
	return true;
}

/* An IPv4 address in dotted-quad form, copied out of @s[0..len). */
static bool ipv4_parse(const char *s, size_t len, char out[INET_ADDRSTRLEN],
		       struct in_addr *a)
{
	if (len == 0 || len >= INET_ADDRSTRLEN)
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return inet_pton(AF_INET, out, a) == 1;
}

/* A prefix length: one or two decimal digits, 0..32. */
static bool prefix_parse(const char *s, size_t len, unsigned int *prefix)
{
	unsigned int v = 0;
	size_t i;

	if (len == 0 || len > 2)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	*prefix = v;
	return v <= 32;
}

/*
 * Parse one decoded element "IFACE:ADDR/PREFIX[:GW]" into @n.  Dies with
 * the element and the reason on any error.
 */
static void net_parse_one(const char *elem, struct net_if *n)
{
	const char *colon = strchr(elem, ':');
	const char *addr, *slash, *pfx, *gw;
	size_t name_len, addr_len, pfx_len;

	memset(n, 0, sizeof(*n));
	if (!colon)
		die("option net: '%s': expected IFACE:ADDR/PREFIX[:GATEWAY], "
		    "e.g. eth0:172.16.0.2/24:172.16.0.1", elem);
	name_len = (size_t)(colon - elem);
	if (!ifname_valid(elem, name_len))
		die("option net: '%s': bad interface name (1-%d bytes, no '/', "
		    "':' or spaces)", elem, IFNAMSIZ - 1);
	memcpy(n->name, elem, name_len);

	addr = colon + 1;
	slash = strchr(addr, '/');
	if (!slash)
		die("option net: '%s': missing /PREFIX after the address, "
		    "e.g. %s:172.16.0.2/24", elem, n->name);
	addr_len = (size_t)(slash - addr);
	if (!ipv4_parse(addr, addr_len, n->addr_str, &n->addr))
		die("option net: '%s': bad IPv4 address '%.*s'", elem,
		    (int)addr_len, addr);

	pfx = slash + 1;
	gw = strchr(pfx, ':');
	pfx_len = gw ? (size_t)(gw - pfx) : strlen(pfx);
	if (!prefix_parse(pfx, pfx_len, &n->prefix))
		die("option net: '%s': bad prefix length '%.*s' (expected 0-32)",
		    elem, (int)pfx_len, pfx);
	/* ~0 << 32 is undefined: prefix 0 is the empty mask. */
	n->mask.s_addr = n->prefix ? htonl(~(uint32_t)0 << (32 - n->prefix)) : 0;

	if (!gw)
		return;
	gw++;
	if (strchr(gw, ':'))
		die("option net: '%s': too many fields (expected "
		    "IFACE:ADDR/PREFIX[:GATEWAY])", elem);
	if (!ipv4_parse(gw, strlen(gw), n->gw_str, &n->gw))
		die("option net: '%s': bad IPv4 gateway '%s'", elem, gw);
}

void net_parse(struct opts *o, char **elems, size_t count)
{
	const struct net_if *gw_if = NULL;
	size_t i, j;

	free(o->net);
	o->net = NULL;
	o->nnet = 0;
	if (count == 0)
		return;
	o->net = calloc(count, sizeof(*o->net));
	if (!o->net)
		die("out of memory");
	for (i = 0; i < count; i++) {
		struct net_if *n = &o->net[i];

		net_parse_one(elems[i], n);
		for (j = 0; j < i; j++)
			if (strcmp(o->net[j].name, n->name) == 0)
				die("option net: '%s': interface %s is listed "
				    "twice", elems[i], n->name);
		/*
		 * Two default routes through ioctls: the kernel keeps both
		 * and uses whichever it inserted last.  Refuse instead of
		 * guessing.
		 */
		if (n->gw_str[0] && gw_if)
			die("option net: '%s': only one default gateway "
			    "(%s already has %s)", elems[i], gw_if->name,
			    gw_if->gw_str);
		if (n->gw_str[0])
			gw_if = n;
	}
	o->nnet = count;
}

/* ---- configuration ------------------------------------------------------- */

static struct sockaddr_in sin_of(struct in_addr a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = a };

	return sin;
}

static void set_addr_ioctl(int s, const struct net_if *n, unsigned long req,
			   struct in_addr a, const char *what)
{
	char str[INET_ADDRSTRLEN] = "?";
	struct sockaddr_in sin = sin_of(a);
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, n->name, sizeof(ifr.ifr_name));
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	if (ioctl(s, req, &ifr) == 0)
		return;
	inet_ntop(AF_INET, &a, str, sizeof(str));
	die("net %s: cannot set %s %s: %s", n->name, what, str,
	    strerror(errno));
}

static void if_up(int s, const struct net_if *n)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, n->name, sizeof(ifr.ifr_name));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		if (errno == ENODEV)
			die("net %s: no such interface (" NIC_HINT ")",
			    n->name);
		die("net %s: cannot read its flags: %s", n->name,
		    strerror(errno));
	}
	if (ifr.ifr_flags & IFF_UP)
		return;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die("net %s: cannot bring it up: %s", n->name, strerror(errno));
}

/* Default route via n->gw, bound to the interface. */
static void add_default_route(int s, struct net_if *n)
{
	struct rtentry rt;
	struct sockaddr_in any = sin_of((struct in_addr){ .s_addr = 0 });
	struct sockaddr_in gw = sin_of(n->gw);

	memset(&rt, 0, sizeof(rt));
	memcpy(&rt.rt_dst, &any, sizeof(any));
	memcpy(&rt.rt_genmask, &any, sizeof(any));
	memcpy(&rt.rt_gateway, &gw, sizeof(gw));
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = n->name;
	if (ioctl(s, SIOCADDRT, &rt) == 0)
		return;
	if (errno == ENETUNREACH)
		die("net %s: gateway %s is not reachable from %s/%u (outside "
		    "the interface's network)", n->name, n->gw_str,
		    n->addr_str, n->prefix);
	if (errno == EEXIST)
		die("net %s: cannot add default route via %s: a default route "
		    "already exists (ip= on the kernel command line?)",
		    n->name, n->gw_str);
	die("net %s: cannot add default route via %s: %s", n->name,
	    n->gw_str, strerror(errno));
}

void net_setup(const struct opts *o)
{
	size_t i;
	int s;

	if (o->nnet == 0)
		return;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("net %s: cannot open an AF_INET socket: %s (kernel without "
		    "IPv4?)", o->net[0].name, strerror(errno));
	/* Addresses first: a gateway must be reachable through one of them. */
	for (i = 0; i < o->nnet; i++) {
		struct net_if *n = &o->net[i];

		if_up(s, n);
		set_addr_ioctl(s, n, SIOCSIFADDR, n->addr, "address");
		set_addr_ioctl(s, n, SIOCSIFNETMASK, n->mask, "netmask");
	}
	for (i = 0; i < o->nnet; i++) {
		struct net_if *n = &o->net[i];

		if (n->gw_str[0])
			add_default_route(s, n);
		logv("net %s: up, %s/%u%s%s", n->name, n->addr_str, n->prefix,
		     n->gw_str[0] ? ", default route via " : "", n->gw_str);
	}
	close(s);
}
