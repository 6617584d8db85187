// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pcmig.h>

#include "hello.h"
#include "tap.h"

static const struct hello src_hello = {
	.version = HELLO_VERSION,
	.stream_version = PCMIG_STREAM_VERSION,
	.role = PCMIG_ROLE_SOURCE,
	.caps = 1U << PCMIG_CAP_POSTCOPY_RAM,
	.max_bandwidth = 0x0102030405060708ULL,
	.downtime_limit = 300,
	.max_postcopy_bandwidth = 1ULL << 40,
};

/* Full decode as negotiate() does it: header, then body. */
static int decode(const uint8_t *buf, size_t len, struct hello *h)
{
	uint16_t version, body_len;
	int ret = hello_decode_header(buf, len, &version, &body_len);

	if (ret)
		return ret;
	if (len - HELLO_HDR_LEN < body_len)
		return -ENODATA;
	return hello_decode_body(version, buf + HELLO_HDR_LEN, body_len, h);
}

static void test_codec(void)
{
	static const uint8_t want[HELLO_LEN] = {
		'P', 'C', 'M', 'I', 'G', 'H', 'L', 'O', 0, 1, 0, 32,
		0, 0, 0, 1,  0, 0, 0, 1,  0, 0, 0, 1,
		1, 2, 3, 4, 5, 6, 7, 8,  0, 0, 1, 0x2c,
		0, 0, 1, 0, 0, 0, 0, 0,
	};
	uint8_t buf[HELLO_LEN + 8];
	uint16_t version, body_len;
	struct hello h;

	hello_encode(&src_hello, buf);
	tap_ok(!memcmp(buf, want, HELLO_LEN),
	       "hello encodes to the documented big-endian layout");
	tap_ok(!decode(buf, HELLO_LEN, &h) &&
	       !memcmp(&h, &src_hello, sizeof(h)),
	       "hello decodes back to what was encoded");

	memcpy(buf, "PCMIGHLX", 8);
	tap_ok(decode(buf, HELLO_LEN, &h) == -EPROTO, "bad magic: -EPROTO");
	hello_encode(&src_hello, buf);
	tap_ok(hello_decode_header(buf, HELLO_HDR_LEN - 1, &version,
				   &body_len) == -ENODATA,
	       "truncated header: -ENODATA");
	tap_ok(hello_decode_body(HELLO_VERSION, buf + HELLO_HDR_LEN,
				 HELLO_BODY_LEN - 1, &h) == -EPROTO,
	       "truncated v1 body: -EPROTO");
	buf[10] = 0xff;
	buf[11] = 0xff;
	tap_ok(hello_decode_header(buf, HELLO_LEN, &version, &body_len) ==
	       -EMSGSIZE, "body length beyond HELLO_BODY_MAX: -EMSGSIZE");

	/* A later v1 may append fields; they are skipped. */
	hello_encode(&src_hello, buf);
	buf[11] = HELLO_BODY_LEN + 8;
	memset(buf + HELLO_LEN, 0xee, 8);
	tap_ok(!decode(buf, sizeof(buf), &h) && h.downtime_limit == 300,
	       "longer v1 body: known fields decoded, rest ignored");

	/* Another hello version: only the version is known. */
	hello_encode(&src_hello, buf);
	buf[9] = 7;
	buf[11] = 4;
	tap_ok(!decode(buf, HELLO_HDR_LEN + 4, &h) && h.version == 7 &&
	       h.role == 0, "hello of another version: only its version");
}

static uint32_t judge(struct hello local, struct hello peer, char *why)
{
	return hello_judge(&local, &peer, why, 256);
}

static void test_judge(void)
{
	struct hello dst = src_hello, peer;
	char why[256];
	uint32_t code;

	dst.role = PCMIG_ROLE_DESTINATION;
	dst.max_bandwidth = 0;	/* destination params are informational */
	tap_ok(judge(src_hello, dst, why) == 0 && !why[0],
	       "judge: matching hellos are accepted by the source");
	tap_ok(judge(dst, src_hello, why) == 0,
	       "judge: matching hellos are accepted by the destination");

	peer = dst;
	peer.version = 2;
	code = judge(src_hello, peer, why);
	tap_ok(code == EPROTONOSUPPORT &&
	       !strcmp(why, "hello version mismatch: local 1, peer 2"),
	       "judge: hello version mismatch (%s)", why);

	peer = dst;
	peer.stream_version = 9;
	code = judge(src_hello, peer, why);
	tap_ok(code == EPROTONOSUPPORT &&
	       !strcmp(why, "stream version mismatch: local 1, peer 9"),
	       "judge: stream version mismatch (%s)", why);

	code = judge(src_hello, src_hello, why);
	tap_ok(code == EINVAL && strstr(why, "both sides are source"),
	       "judge: two sources refused (%s)", why);
	code = judge(dst, dst, why);
	tap_ok(code == EINVAL && strstr(why, "both sides are destination"),
	       "judge: two destinations refused");
	peer = dst;
	peer.role = 77;
	code = judge(src_hello, peer, why);
	tap_ok(code == EINVAL && strstr(why, "unknown role 77"),
	       "judge: unknown role refused");

	peer = dst;
	peer.caps = 0;
	code = judge(src_hello, peer, why);
	tap_ok(code == EOPNOTSUPP &&
	       !strcmp(why, "capability postcopy-ram enabled on the source only"),
	       "judge (source): %s", why);
	code = judge(peer, src_hello, why);
	tap_ok(code == EOPNOTSUPP &&
	       !strcmp(why, "capability postcopy-ram enabled on the source only"),
	       "judge (destination) names the same side");

	peer.caps = 1U << PCMIG_CAP_POSTCOPY_BITMAPS | 1U << 9;
	code = judge(src_hello, peer, why);
	tap_ok(code == EOPNOTSUPP &&
	       !strcmp(why, "capability postcopy-ram enabled on the source only; "
			    "capability postcopy-bitmaps enabled on the destination only; "
			    "capability bit9 enabled on the destination only"),
	       "judge names every differing capability (%s)", why);

	peer = dst;
	peer.downtime_limit = 5;
	peer.max_postcopy_bandwidth = 0;
	tap_ok(judge(src_hello, peer, why) == 0,
	       "judge: different destination parameters are accepted");

	char small[8];

	peer = dst;
	peer.caps = 0;
	tap_ok(hello_judge(&src_hello, &peer, small, sizeof(small)) &&
	       strlen(small) < sizeof(small),
	       "judge truncates its reason to the buffer");
}

static void test_verdict(void)
{
	uint8_t buf[VERDICT_LEN_MAX];
	char long_msg[300];
	struct verdict v;
	uint16_t len;
	size_t n;

	n = verdict_encode(0, "", buf);
	tap_ok(n == VERDICT_HDR_LEN && !verdict_decode_header(buf, &v, &len) &&
	       v.code == 0 && len == 0, "accept verdict round-trips");

	n = verdict_encode(EOPNOTSUPP, "no", buf);
	tap_ok(n == VERDICT_HDR_LEN + 2 && !verdict_decode_header(buf, &v, &len) &&
	       v.code == EOPNOTSUPP && len == 2, "refusal verdict round-trips");
	verdict_set_msg(&v, buf + VERDICT_HDR_LEN, len);
	tap_ok(!strcmp(v.msg, "no"), "verdict message decoded");

	memset(long_msg, 'x', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = '\0';
	n = verdict_encode(1, long_msg, buf);
	tap_ok(n == VERDICT_LEN_MAX, "verdict message truncated to %d bytes",
	       VERDICT_MSG_MAX);

	buf[4] = 0;
	buf[5] = VERDICT_MSG_MAX + 1;
	tap_ok(verdict_decode_header(buf, &v, &len) == -EPROTO,
	       "verdict longer than %d bytes: -EPROTO", VERDICT_MSG_MAX);

	verdict_set_msg(&v, (const uint8_t *)"a\033[2Jb\n\xff", 8);
	tap_ok(!strcmp(v.msg, "a?[2Jb??"),
	       "unprintable bytes of a peer message are replaced (%s)", v.msg);
}

static void test_fuzz(void)
{
	uint8_t buf[HELLO_HDR_LEN + HELLO_BODY_MAX];
	struct hello h, local = src_hello;
	unsigned int seed = 1234, crashes = 0;
	char why[256];

	/* Random and mutated hellos: must never crash or over-read (ASan). */
	for (int i = 0; i < 200000; i++) {
		size_t len = (size_t)rand_r(&seed) % sizeof(buf);
		uint8_t *copy;

		if (i & 1) {
			hello_encode(&src_hello, buf);
			for (int k = 0; k < 3; k++)
				buf[rand_r(&seed) % HELLO_LEN] ^=
					(uint8_t)(1 + rand_r(&seed) % 255);
			len = (size_t)rand_r(&seed) % (HELLO_LEN + 1);
		} else {
			for (size_t k = 0; k < len; k++)
				buf[k] = (uint8_t)rand_r(&seed);
			if (len >= 8 && (i & 2))
				memcpy(buf, HELLO_MAGIC, 8);
		}
		/* Exact-size heap copy so any over-read is caught. */
		copy = malloc(len ? len : 1);
		memcpy(copy, buf, len);
		if (!decode(copy, len, &h))
			crashes += hello_judge(&local, &h, why, sizeof(why)) &&
				   strlen(why) >= sizeof(why);
		free(copy);
	}
	tap_ok(crashes == 0, "200000 random/mutated hellos decoded and judged safely");
}

void test_hello(void)
{
	test_codec();
	test_judge();
	test_verdict();
	test_fuzz();
}
