/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Negotiation codec: the hello each side sends on the fresh TCP connection
 * before it is handed to the kernel, the judgement of the peer's hello, and
 * the verdict each side sends back.  Pure code, no I/O.
 *
 * Wire format, all integers big-endian:
 *
 *   hello:   "PCMIGHLO" | be16 hello_version | be16 body_len | body
 *   body v1: be32 stream_version | be32 role | be32 caps |
 *            be64 max_bandwidth | be32 downtime_limit_ms |
 *            be64 max_postcopy_bandwidth                      (32 bytes)
 *   verdict: be32 code (0 = accept, else an errno value) | be16 len |
 *            len bytes of message text (no NUL, len <= 200)
 *
 * A peer of another hello version may send a longer or shorter body; the
 * header is fixed forever so the versions can always be compared.
 */
#ifndef PCMIGD_HELLO_H
#define PCMIGD_HELLO_H

#include <stddef.h>
#include <stdint.h>

#define HELLO_MAGIC		"PCMIGHLO"
#define HELLO_MAGIC_LEN		8
#define HELLO_VERSION		1
#define HELLO_HDR_LEN		12
#define HELLO_BODY_LEN		32
#define HELLO_LEN		(HELLO_HDR_LEN + HELLO_BODY_LEN)
/* Largest body read from a peer of any version before giving up on it. */
#define HELLO_BODY_MAX		1024

#define VERDICT_HDR_LEN		6
#define VERDICT_MSG_MAX		200
#define VERDICT_LEN_MAX		(VERDICT_HDR_LEN + VERDICT_MSG_MAX)

struct hello {
	uint16_t version;
	uint32_t stream_version;
	uint32_t role;
	uint32_t caps;
	uint64_t max_bandwidth;
	uint32_t downtime_limit;
	uint64_t max_postcopy_bandwidth;
};

struct verdict {
	uint32_t code;
	char msg[VERDICT_MSG_MAX + 1];	/* printable ASCII, NUL-terminated */
};

/* Writes HELLO_LEN bytes (h->version is ignored: always HELLO_VERSION). */
void hello_encode(const struct hello *h, uint8_t buf[HELLO_LEN]);

/*
 * Header: 0 and the body length, -EPROTO for a bad magic, -EMSGSIZE for a
 * body longer than HELLO_BODY_MAX, -ENODATA if len < HELLO_HDR_LEN.
 */
int hello_decode_header(const uint8_t *buf, size_t len, uint16_t *version,
			uint16_t *body_len);

/*
 * Body of a hello of the given version.  Bodies of other versions are not
 * decoded (only the version is known); -EPROTO for a v1 body too short.
 */
int hello_decode_body(uint16_t version, const uint8_t *body, size_t len,
		      struct hello *h);

/*
 * Judges the peer's hello against ours: 0 to accept, else an errno-like
 * code for the verdict with the reason in why ("version mismatch: ...",
 * "capability postcopy-ram enabled on the source only", ...).
 */
uint32_t hello_judge(const struct hello *local, const struct hello *peer,
		     char *why, size_t len);

/* Encodes a verdict, truncating msg to VERDICT_MSG_MAX; returns its size. */
size_t verdict_encode(uint32_t code, const char *msg,
		      uint8_t buf[VERDICT_LEN_MAX]);

/* Header: 0 and the message length, -EPROTO if it is too long. */
int verdict_decode_header(const uint8_t buf[VERDICT_HDR_LEN],
			  struct verdict *v, uint16_t *msg_len);

/* Copies msg into v->msg, replacing unprintable bytes with '?'. */
void verdict_set_msg(struct verdict *v, const uint8_t *msg, size_t len);

#endif
