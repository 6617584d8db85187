// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/pcmig.h>

#include "hello.h"
#include "names.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

void hello_encode(const struct hello *h, uint8_t buf[HELLO_LEN])
{
	memcpy(buf, HELLO_MAGIC, HELLO_MAGIC_LEN);
	put16(buf + 8, HELLO_VERSION);
	put16(buf + 10, HELLO_BODY_LEN);
	put32(buf + 12, h->stream_version);
	put32(buf + 16, h->role);
	put32(buf + 20, h->caps);
	put64(buf + 24, h->max_bandwidth);
	put32(buf + 32, h->downtime_limit);
	put64(buf + 36, h->max_postcopy_bandwidth);
}

int hello_decode_header(const uint8_t *buf, size_t len, uint16_t *version,
			uint16_t *body_len)
{
	if (len < HELLO_HDR_LEN)
		return -ENODATA;
	if (memcmp(buf, HELLO_MAGIC, HELLO_MAGIC_LEN))
		return -EPROTO;
	*version = get16(buf + 8);
	*body_len = get16(buf + 10);
	if (*body_len > HELLO_BODY_MAX)
		return -EMSGSIZE;
	return 0;
}

int hello_decode_body(uint16_t version, const uint8_t *body, size_t len,
		      struct hello *h)
{
	memset(h, 0, sizeof(*h));
	h->version = version;
	if (version != HELLO_VERSION)
		return 0;
	/* Longer v1 bodies are allowed: fields may be appended later. */
	if (len < HELLO_BODY_LEN)
		return -EPROTO;
	h->stream_version = get32(body);
	h->role = get32(body + 4);
	h->caps = get32(body + 8);
	h->max_bandwidth = get64(body + 12);
	h->downtime_limit = get32(body + 20);
	h->max_postcopy_bandwidth = get64(body + 24);
	return 0;
}

/* Appends "; " + text to why, keeping it NUL-terminated when full. */
static void append(char *why, size_t len, const char *text)
{
	size_t used = strlen(why);

	if (used + 1 < len)
		snprintf(why + used, len - used, "%s%s", used ? "; " : "",
			 text);
}

uint32_t hello_judge(const struct hello *local, const struct hello *peer,
		     char *why, size_t len)
{
	const struct hello *src, *dst;
	uint32_t diff;
	char buf[128];

	why[0] = '\0';
	/* Nothing else in a hello of another version can be trusted. */
	if (peer->version != local->version) {
		snprintf(why, len, "hello version mismatch: local %u, peer %u",
			 local->version, peer->version);
		return EPROTONOSUPPORT;
	}
	if (peer->stream_version != local->stream_version) {
		snprintf(why, len, "stream version mismatch: local %u, peer %u",
			 local->stream_version, peer->stream_version);
		return EPROTONOSUPPORT;
	}
	if (!role_name(peer->role)) {
		snprintf(why, len, "peer sent an unknown role %u", peer->role);
		return EINVAL;
	}
	if (peer->role == local->role) {
		snprintf(why, len,
			 "both sides are %s (one must run 'pcmigd migrate', the other 'pcmigd incoming')",
			 role_name(local->role));
		return EINVAL;
	}
	/* Name each capability by the side that has it (rule S6). */
	src = local->role == PCMIG_ROLE_SOURCE ? local : peer;
	dst = src == local ? peer : local;
	diff = src->caps ^ dst->caps;
	for (unsigned int bit = 0; bit < 32; bit++) {
		const char *name = cap_name(bit);
		char unknown[16];

		if (!(diff & (1U << bit)))
			continue;
		if (!name) {
			snprintf(unknown, sizeof(unknown), "bit%u", bit);
			name = unknown;
		}
		snprintf(buf, sizeof(buf), "capability %s enabled on the %s only",
			 name, src->caps & (1U << bit) ? "source" :
			 "destination");
		append(why, len, buf);
	}
	return diff ? EOPNOTSUPP : 0;
}

size_t verdict_encode(uint32_t code, const char *msg,
		      uint8_t buf[VERDICT_LEN_MAX])
{
	size_t n = strnlen(msg, VERDICT_MSG_MAX);

	put32(buf, code);
	put16(buf + 4, (uint16_t)n);
	memcpy(buf + VERDICT_HDR_LEN, msg, n);
	return VERDICT_HDR_LEN + n;
}

int verdict_decode_header(const uint8_t buf[VERDICT_HDR_LEN],
			  struct verdict *v, uint16_t *msg_len)
{
	v->code = get32(buf);
	v->msg[0] = '\0';
	*msg_len = get16(buf + 4);
	return *msg_len > VERDICT_MSG_MAX ? -EPROTO : 0;
}

void verdict_set_msg(struct verdict *v, const uint8_t *msg, size_t len)
{
	if (len > VERDICT_MSG_MAX)
		len = VERDICT_MSG_MAX;
	/* The text goes to a terminal: no escape sequences from the peer. */
	for (size_t i = 0; i < len; i++)
		v->msg[i] = msg[i] >= 0x20 && msg[i] < 0x7f ? (char)msg[i] : '?';
	v->msg[len] = '\0';
}
