// SPDX-License-Identifier: GPL-2.0
/*
 * The negotiation over a real socket pair, with the peer in a child
 * process: what each side concludes and tells the user.
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/pcmig.h>

#include "negotiate.h"
#include "pcmigd.h"
#include "tap.h"

static const struct hello src = {
	.version = HELLO_VERSION,
	.stream_version = PCMIG_STREAM_VERSION,
	.role = PCMIG_ROLE_SOURCE,
	.caps = 1U << PCMIG_CAP_POSTCOPY_RAM,
	.max_bandwidth = 100 << 20,
	.downtime_limit = 300,
};

struct side {
	int ret;
	struct nego n;
};

/*
 * Runs negotiate() for local here and, in a child, negotiate() for peer,
 * or (peer NULL) raw_len bytes of raw then close, or (both NULL) silence.
 * The child's outcome comes back over a pipe.
 */
static void run(const struct hello *local, const struct hello *peer,
		const char *raw, size_t raw_len, int timeout_ms,
		struct side *me, struct side *other)
{
	int sv[2], pv[2], status;
	pid_t pid;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	if (pipe(pv))
		return;
	pid = fork();
	if (!pid) {
		struct side s = { 0 };

		close(sv[0]);
		close(pv[0]);
		if (peer) {
			s.ret = negotiate(sv[1], peer, timeout_ms, &s.n);
		} else if (raw) {
			ssize_t n = write(sv[1], raw, raw_len);

			(void)n;
		} else {
			usleep((useconds_t)timeout_ms * 2000);
		}
		if (write(pv[1], &s, sizeof(s)) != sizeof(s))
			_exit(1);
		_exit(0);
	}
	close(sv[1]);
	close(pv[1]);
	me->ret = negotiate(sv[0], local, timeout_ms, &me->n);
	close(sv[0]);
	memset(other, 0, sizeof(*other));
	if (read(pv[0], other, sizeof(*other)) != sizeof(*other))
		other->ret = -1;
	close(pv[0]);
	waitpid(pid, &status, 0);
}

void test_negotiate(void)
{
	struct hello dst = src, bad;
	struct side a, b;

	dst.role = PCMIG_ROLE_DESTINATION;
	dst.max_bandwidth = 0;
	dst.downtime_limit = 50;

	run(&src, &dst, NULL, 0, 2000, &a, &b);
	tap_ok(a.ret == EXIT_OK && b.ret == EXIT_OK && !a.n.nmsg &&
	       a.n.peer.role == PCMIG_ROLE_DESTINATION &&
	       a.n.peer.downtime_limit == 50 &&
	       b.n.peer.max_bandwidth == 100 << 20,
	       "negotiation: both accept, each learns the other's parameters");

	bad = dst;
	bad.caps = 0;
	run(&src, &bad, NULL, 0, 2000, &a, &b);
	tap_ok(a.ret == EXIT_REFUSED && b.ret == EXIT_REFUSED &&
	       a.n.nmsg == 2 &&
	       !strcmp(a.n.msg[0], "refused: capability postcopy-ram enabled on the source only") &&
	       !strcmp(a.n.msg[1], "peer refused: capability postcopy-ram enabled on the source only") &&
	       !strcmp(b.n.msg[0], "refused: capability postcopy-ram enabled on the source only"),
	       "negotiation: capability mismatch refused on both sides (%s)",
	       a.n.msg[0]);

	bad = dst;
	bad.stream_version = 2;
	run(&src, &bad, NULL, 0, 2000, &a, &b);
	tap_ok(a.ret == EXIT_REFUSED && b.ret == EXIT_REFUSED &&
	       !strcmp(a.n.msg[0], "refused: stream version mismatch: local 1, peer 2") &&
	       !strcmp(b.n.msg[0], "refused: stream version mismatch: local 2, peer 1"),
	       "negotiation: stream version mismatch (%s / %s)", a.n.msg[0],
	       b.n.msg[0]);

	run(&src, &src, NULL, 0, 2000, &a, &b);
	tap_ok(a.ret == EXIT_REFUSED && b.ret == EXIT_REFUSED &&
	       strstr(a.n.msg[0], "both sides are source"),
	       "negotiation: two sources refused");

	static const char http[] = "GET / HTTP/1.0\r\n\r\n";

	run(&src, NULL, http, sizeof(http) - 1, 2000, &a, &b);
	tap_ok(a.ret == EXIT_REFUSED && a.n.nmsg == 1 &&
	       !strcmp(a.n.msg[0], "peer is not pcmigd (bad hello magic)"),
	       "negotiation: a foreign peer is not pcmigd (%s)", a.n.msg[0]);

	run(&src, NULL, "", 0, 2000, &a, &b);
	tap_ok(a.ret == EXIT_REFUSED &&
	       !strcmp(a.n.msg[0], "peer is not pcmigd (connection closed before its hello)"),
	       "negotiation: peer closing at once (%s)", a.n.msg[0]);

	run(&src, NULL, "PCMIGHLO\0\1\0\40\0", 13, 2000, &a, &b);
	tap_ok(a.ret == EXIT_REFUSED &&
	       !strcmp(a.n.msg[0], "peer is not pcmigd (truncated hello)"),
	       "negotiation: truncated hello (%s)", a.n.msg[0]);

	run(&src, NULL, NULL, 0, 200, &a, &b);
	tap_ok(a.ret == EXIT_REFUSED &&
	       !strcmp(a.n.msg[0], "peer is not pcmigd (no hello within 0.2 s)"),
	       "negotiation: silent peer times out (%s)", a.n.msg[0]);

	/* A valid hello, then the peer vanishes before its verdict. */
	uint8_t h[HELLO_LEN];

	hello_encode(&dst, h);
	run(&src, NULL, (const char *)h, sizeof(h), 2000, &a, &b);
	/*
	 * Whether our hello, our verdict or our read of its verdict meets
	 * the closed connection depends on timing: each says so.
	 */
	tap_ok(a.ret == EXIT_REFUSED &&
	       (strstr(a.n.msg[0], "peer sent no verdict") ||
		strstr(a.n.msg[0], "peer closed the connection")),
	       "negotiation: no verdict from the peer (%s)", a.n.msg[0]);
}
