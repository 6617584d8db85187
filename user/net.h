/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP endpoints for the migration stream: ADDR:PORT parsing, connect,
 * listen and accept with timeouts, and deadline-bounded reads and writes for
 * the negotiation that runs before the socket is handed to the kernel.
 */
#ifndef PCMIGD_NET_H
#define PCMIGD_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest "[addr%scope]:port" that net_listen/net_accept report. */
#define NET_ADDRSTRLEN 80

/*
 * Splits "host:port", "[v6addr]:port" or ":port" (empty host: every local
 * address).  A bare IPv6 address without brackets is refused because its
 * last group cannot be told from a port.  Pure; 0 or -EINVAL.
 */
int net_split(const char *s, char *host, size_t hostlen, char *port,
	      size_t portlen, char *err, size_t errlen);

/* Milliseconds on the monotonic clock, for deadlines. */
int64_t now_ms(void);

/* Deadline for a timeout in ms; timeout < 0 means never (-1). */
int64_t deadline_after(int timeout_ms);

/*
 * Connected, blocking TCP socket to addr (each resolved address is tried
 * until the deadline), or -errno with the reason in err.
 */
int net_connect(const char *addr, int timeout_ms, char *err, size_t errlen);

/* Listening socket (backlog 1: pcmigd accepts one connection). */
int net_listen(const char *addr, char *bound, size_t boundlen, char *err,
	       size_t errlen);

/* One connection (blocking socket) or -errno; -ETIMEDOUT on timeout. */
int net_accept(int lfd, int timeout_ms, char *peer, size_t peerlen,
	       char *err, size_t errlen);

/*
 * Reads exactly len bytes unless the peer closes first: returns the bytes
 * read (short on EOF) or -errno (-ETIMEDOUT when the deadline passes).
 */
ssize_t net_read_full(int fd, void *buf, size_t len, int64_t deadline);
/* 0 or -errno; never raises SIGPIPE. */
int net_write_full(int fd, const void *buf, size_t len, int64_t deadline);

#endif
