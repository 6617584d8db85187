// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "negotiate.h"
#include "net.h"
#include "pcmigd.h"

static int fail(struct nego *n, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct nego *n, int code, const char *fmt, ...)
{
	va_list ap;

	if (n->nmsg < 2) {
		va_start(ap, fmt);
		vsnprintf(n->msg[n->nmsg++], NEGO_MSG_LEN, fmt, ap);
		va_end(ap);
	}
	return code;
}

/*
 * A peer that closes without reading what we sent resets the connection;
 * for the negotiation that is the same as closing it (EOF).
 */
static ssize_t read_full(int fd, void *buf, size_t len, int64_t deadline)
{
	ssize_t got = net_read_full(fd, buf, len, deadline);

	return got == -ECONNRESET ? 0 : got;
}

/* A hello that does not arrive intact means the peer is not pcmigd. */
static int read_hello(int fd, int64_t deadline, int timeout_ms,
		      struct nego *n)
{
	uint8_t hdr[HELLO_HDR_LEN], body[HELLO_BODY_MAX];
	uint16_t version, body_len;
	ssize_t got;
	int ret;

	got = read_full(fd, hdr, sizeof(hdr), deadline);
	if (got == -ETIMEDOUT)
		return fail(n, EXIT_REFUSED,
			    "peer is not pcmigd (no hello within %g s)",
			    timeout_ms / 1000.0);
	if (got < 0)
		return fail(n, EXIT_NET, "receiving hello: %s",
			    strerror((int)-got));
	ret = hello_decode_header(hdr, (size_t)got, &version, &body_len);
	if (ret == -ENODATA)
		return fail(n, EXIT_REFUSED,
			    "peer is not pcmigd (connection closed before its hello)");
	if (ret)
		return fail(n, EXIT_REFUSED, "peer is not pcmigd (%s)",
			    ret == -EPROTO ? "bad hello magic" :
			    "hello too large");
	got = read_full(fd, body, body_len, deadline);
	if (got < 0 && got != -ETIMEDOUT)
		return fail(n, EXIT_NET, "receiving hello: %s",
			    strerror((int)-got));
	if (got != body_len)
		return fail(n, EXIT_REFUSED,
			    "peer is not pcmigd (truncated hello)");
	if (hello_decode_body(version, body, body_len, &n->peer))
		return fail(n, EXIT_REFUSED,
			    "peer is not pcmigd (malformed hello)");
	return EXIT_OK;
}

static int read_verdict(int fd, int64_t deadline, struct verdict *v,
			struct nego *n)
{
	uint8_t hdr[VERDICT_HDR_LEN], msg[VERDICT_MSG_MAX];
	uint16_t len;
	ssize_t got;

	got = read_full(fd, hdr, sizeof(hdr), deadline);
	if (got < 0 && got != -ETIMEDOUT)
		return fail(n, EXIT_NET, "receiving verdict: %s",
			    strerror((int)-got));
	if (got != sizeof(hdr))
		return fail(n, EXIT_REFUSED,
			    "peer sent no verdict (connection closed or timed out)");
	if (verdict_decode_header(hdr, v, &len))
		return fail(n, EXIT_REFUSED, "peer sent a malformed verdict");
	got = read_full(fd, msg, len, deadline);
	if (got != len)
		return fail(n, EXIT_REFUSED, "peer sent a truncated verdict");
	verdict_set_msg(v, msg, len);
	return EXIT_OK;
}

int negotiate(int fd, const struct hello *local, int timeout_ms,
	      struct nego *n)
{
	int64_t deadline = deadline_after(timeout_ms);
	uint8_t buf[VERDICT_LEN_MAX > HELLO_LEN ? VERDICT_LEN_MAX : HELLO_LEN];
	char why[NEGO_MSG_LEN - 16];
	struct verdict peer_verdict;
	int ret, status;
	uint32_t code;
	size_t len;

	memset(n, 0, sizeof(*n));
	/* Both sides send first, so neither waits on the other. */
	hello_encode(local, buf);
	ret = net_write_full(fd, buf, HELLO_LEN, deadline);
	if (ret && ret != -EPIPE && ret != -ECONNRESET)
		return fail(n, EXIT_NET, "sending hello: %s", strerror(-ret));
	/* A peer that already hung up may have said why it is not pcmigd. */
	status = read_hello(fd, deadline, timeout_ms, n);
	if (status)
		return status;
	if (ret)
		return fail(n, EXIT_REFUSED,
			    "peer closed the connection during negotiation");

	code = hello_judge(local, &n->peer, why, sizeof(why));
	len = verdict_encode(code, why, buf);
	ret = net_write_full(fd, buf, len, deadline);
	if (code)
		fail(n, EXIT_REFUSED, "refused: %s", why);
	/* A peer that hung up after its hello sent no verdict either. */
	if (ret == -EPIPE || ret == -ECONNRESET)
		return fail(n, EXIT_REFUSED,
			    "peer sent no verdict (connection closed)");
	if (ret)
		return fail(n, code ? EXIT_REFUSED : EXIT_NET,
			    "sending verdict: %s", strerror(-ret));

	ret = read_verdict(fd, deadline, &peer_verdict, n);
	if (ret)
		return code ? EXIT_REFUSED : ret;
	if (peer_verdict.code)
		fail(n, EXIT_REFUSED, "peer refused: %s",
		     peer_verdict.msg[0] ? peer_verdict.msg :
		     strerror((int)peer_verdict.code));
	return code || peer_verdict.code ? EXIT_REFUSED : EXIT_OK;
}
