// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "tap.h"

static void split_ok(const char *s, const char *host, const char *port)
{
	char h[64], p[8], err[128];
	int ret = net_split(s, h, sizeof(h), p, sizeof(p), err, sizeof(err));

	if (!tap_ok(!ret && !strcmp(h, host) && !strcmp(p, port),
		    "net_split(\"%s\") = \"%s\" \"%s\"", s, host, port))
		tap_diag("ret %d: %s", ret, ret ? err : h);
}

static void split_bad(const char *s)
{
	char h[64], p[8], err[128] = "";

	tap_ok(net_split(s, h, sizeof(h), p, sizeof(p), err, sizeof(err)) ==
	       -EINVAL && err[0], "net_split(\"%s\") refused", s);
}

static void test_split(void)
{
	split_ok("127.0.1.2:4444", "127.0.1.2", "4444");
	split_ok("[::1]:4444", "::1", "4444");
	split_ok("[fe80::1%lo]:1", "fe80::1%lo", "1");
	split_ok(":4444", "", "4444");
	split_ok("localhost:0", "localhost", "0");
	split_ok("h:65535", "h", "65535");
	split_bad("::1:4444");
	split_bad("[::1]4444");
	split_bad("[::1]");
	split_bad("[]:1");
	split_bad("127.0.0.1");
	split_bad("h:");
	split_bad("h:65536");
	split_bad("h:123456");
	split_bad("h:12x");
	split_bad("h:-1");
	split_bad("");
}

static void test_sockets(void)
{
	char bound[NET_ADDRSTRLEN], peer[NET_ADDRSTRLEN], err[256];
	char buf[8];
	int lfd, cfd, afd;

	lfd = net_listen("127.0.0.1:0", bound, sizeof(bound), err, sizeof(err));
	tap_ok(lfd >= 0 && strncmp(bound, "127.0.0.1:", 10) == 0 &&
	       strcmp(bound, "127.0.0.1:0"),
	       "net_listen on port 0 reports the bound port (%s)", bound);
	if (lfd < 0)
		return;
	tap_ok(net_accept(lfd, 50, peer, sizeof(peer), err, sizeof(err)) ==
	       -ETIMEDOUT && strstr(err, "no connection within 0.05 s"),
	       "net_accept times out (%s)", err);

	cfd = net_connect(bound, 2000, err, sizeof(err));
	afd = net_accept(lfd, 2000, peer, sizeof(peer), err, sizeof(err));
	tap_ok(cfd >= 0 && afd >= 0 && !strncmp(peer, "127.0.0.1:", 10),
	       "net_connect + net_accept (peer %s)", peer);
	close(lfd);

	tap_ok(!net_write_full(cfd, "hello", 5, deadline_after(1000)) &&
	       net_read_full(afd, buf, 5, deadline_after(1000)) == 5 &&
	       !memcmp(buf, "hello", 5), "net_write_full/net_read_full");
	tap_ok(net_read_full(afd, buf, 1, deadline_after(50)) == -ETIMEDOUT,
	       "net_read_full times out");
	close(cfd);
	tap_ok(net_read_full(afd, buf, 4, deadline_after(1000)) == 0,
	       "net_read_full returns short on EOF");
	close(afd);

	/* The port just closed is refused (nothing listens there now). */
	cfd = net_connect(bound, 2000, err, sizeof(err));
	tap_ok(cfd == -ECONNREFUSED && strstr(err, "refused"),
	       "net_connect to a closed port fails (%s)", err);

	lfd = net_listen(":0", bound, sizeof(bound), err, sizeof(err));
	tap_ok(lfd >= 0, "net_listen on the wildcard address (%s)", bound);
	if (lfd >= 0)
		close(lfd);
	tap_ok(net_connect("h:0", 100, err, sizeof(err)) == -EINVAL,
	       "net_connect needs a port");
}

void test_net(void)
{
	test_split();
	test_sockets();
}
