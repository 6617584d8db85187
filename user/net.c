// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

int net_split(const char *s, char *host, size_t hostlen, char *port,
	      size_t portlen, char *err, size_t errlen)
{
	const char *colon, *h = s;
	size_t hl;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':') {
			snprintf(err, errlen,
				 "'%s': expected [IPV6-ADDRESS]:PORT", s);
			return -EINVAL;
		}
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
		if (!hl) {
			snprintf(err, errlen, "'%s': empty address in []", s);
			return -EINVAL;
		}
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			snprintf(err, errlen, "'%s': expected ADDR:PORT", s);
			return -EINVAL;
		}
		if (memchr(s, ':', (size_t)(colon - s))) {
			snprintf(err, errlen,
				 "'%s': write an IPv6 address in brackets, as [ADDR]:PORT",
				 s);
			return -EINVAL;
		}
		hl = (size_t)(colon - s);
	}
	if (hl >= hostlen) {
		snprintf(err, errlen, "'%s': address too long", s);
		return -EINVAL;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';

	const char *p = colon + 1;
	unsigned long v = 0;
	size_t pl = strlen(p);

	if (!pl || pl > 5 || pl >= portlen || strspn(p, "0123456789") != pl) {
		snprintf(err, errlen, "'%s': port must be a number", s);
		return -EINVAL;
	}
	for (size_t i = 0; i < pl; i++)
		v = v * 10 + (unsigned long)(p[i] - '0');
	if (v > 65535) {
		snprintf(err, errlen, "'%s': port %lu out of range", s, v);
		return -EINVAL;
	}
	memcpy(port, p, pl + 1);
	return 0;
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t deadline_after(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* poll() timeout left until deadline: -1 (forever), or >= 0. */
static int remaining(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > 1000000000 ? 1000000000 : (int)left;
}

/* Waits for events on fd: 0 ready, -ETIMEDOUT, or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&pfd, 1, remaining(deadline));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (!n)
		return -ETIMEDOUT;
	return 0;
}

static void format_addr(const struct sockaddr *sa, socklen_t salen, char *buf,
		     size_t len)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(sa, salen, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(buf, len, "?");
		return;
	}
	if (sa->sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, serv);
	else
		snprintf(buf, len, "%s:%s", host, serv);
}

static int set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

static int resolve(const char *addr, int passive, struct addrinfo **res,
		   char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0),
	};
	char host[256], port[8];
	int ret;

	ret = net_split(addr, host, sizeof(host), port, sizeof(port), err,
			errlen);
	if (ret)
		return ret;
	if (!passive && (!host[0] || !strcmp(port, "0"))) {
		snprintf(err, errlen, "'%s': need both an address and a port",
			 addr);
		return -EINVAL;
	}
	ret = getaddrinfo(host[0] ? host : NULL, port, &hints, res);
	if (ret) {
		snprintf(err, errlen, "%s: %s", addr,
			 ret == EAI_SYSTEM ? strerror(errno) : gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	return 0;
}

/* Non-blocking connect bounded by the deadline; the result is blocking. */
static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
	socklen_t sl = sizeof(int);
	int fd, ret, soerr = 0;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0)
		return -errno;
	ret = set_nonblock(fd, 1);
	if (ret)
		goto fail;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			ret = -errno;
			goto fail;
		}
		ret = wait_fd(fd, POLLOUT, deadline);
		if (ret)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
			ret = -errno;
			goto fail;
		}
		if (soerr) {
			ret = -soerr;
			goto fail;
		}
	}
	/* The kernel module takes the socket over: give it the usual mode. */
	ret = set_nonblock(fd, 0);
	if (ret)
		goto fail;
	return fd;
fail:
	close(fd);
	return ret;
}

int net_connect(const char *addr, int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = deadline_after(timeout_ms);
	struct addrinfo *res, *ai;
	int ret, fd = -EHOSTUNREACH;

	ret = resolve(addr, 0, &res, err, errlen);
	if (ret)
		return ret;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = connect_one(ai, deadline);
		if (fd >= 0 || fd == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd == -ETIMEDOUT)
		snprintf(err, errlen, "connect to %s: timed out after %g s",
			 addr, timeout_ms / 1000.0);
	else if (fd < 0)
		snprintf(err, errlen, "connect to %s: %s", addr,
			 strerror(-fd));
	return fd;
}

static int listen_one(const struct sockaddr *sa, socklen_t salen, int family)
{
	int one = 1, zero = 0, fd, ret;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Restarting pcmigd right after a migration must not hit TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* A wildcard IPv6 listener takes IPv4 peers as well. */
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, sa, salen) < 0 || listen(fd, 1) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int net_listen(const char *addr, char *bound, size_t boundlen, char *err,
	       size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addrinfo *res, *ai;
	int ret, fd = -EADDRNOTAVAIL;
	char host[256], port[8];

	ret = net_split(addr, host, sizeof(host), port, sizeof(port), err,
			errlen);
	if (ret)
		return ret;
	if (!host[0]) {
		struct sockaddr_in6 any6 = {
			.sin6_family = AF_INET6,
			.sin6_addr = IN6ADDR_ANY_INIT,
			.sin6_port = htons((uint16_t)atoi(port)),
		};

		fd = listen_one((struct sockaddr *)&any6, sizeof(any6),
				AF_INET6);
	}
	if (fd < 0) {
		/* No IPv6 on this host (or a named address): resolve it. */
		ret = resolve(addr, 1, &res, err, errlen);
		if (ret)
			return ret;
		for (ai = res; ai; ai = ai->ai_next) {
			fd = listen_one(ai->ai_addr, ai->ai_addrlen,
					ai->ai_family);
			if (fd >= 0)
				break;
		}
		freeaddrinfo(res);
	}
	if (fd < 0) {
		snprintf(err, errlen, "listen on %s: %s", addr, strerror(-fd));
		return fd;
	}
	/* Port 0 asks for any free port: report the one actually bound. */
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		format_addr((struct sockaddr *)&ss, sl, bound, boundlen);
	else
		snprintf(bound, boundlen, "%s", addr);
	return fd;
}

int net_accept(int lfd, int timeout_ms, char *peer, size_t peerlen,
	       char *err, size_t errlen)
{
	int64_t deadline = deadline_after(timeout_ms);
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, ret;

	for (;;) {
		ret = wait_fd(lfd, POLLIN, deadline);
		if (ret == -ETIMEDOUT) {
			snprintf(err, errlen, "no connection within %g s",
				 timeout_ms / 1000.0);
			return ret;
		}
		if (ret) {
			snprintf(err, errlen, "accept: %s", strerror(-ret));
			return ret;
		}
		sl = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd >= 0)
			break;
		/* The peer may give up between poll() and accept(). */
		if (errno == ECONNABORTED || errno == EINTR || errno == EAGAIN)
			continue;
		ret = -errno;
		snprintf(err, errlen, "accept: %s", strerror(-ret));
		return ret;
	}
	format_addr((struct sockaddr *)&ss, sl, peer, peerlen);
	return fd;
}

ssize_t net_read_full(int fd, void *buf, size_t len, int64_t deadline)
{
	size_t done = 0;

	while (done < len) {
		int ret = wait_fd(fd, POLLIN, deadline);
		ssize_t n;

		if (ret)
			return ret;
		n = recv(fd, (char *)buf + done, len - done, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (!n)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int net_write_full(int fd, const void *buf, size_t len, int64_t deadline)
{
	size_t done = 0;

	while (done < len) {
		int ret = wait_fd(fd, POLLOUT, deadline);
		ssize_t n;

		if (ret)
			return ret;
		n = send(fd, (const char *)buf + done, len - done,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}
