// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzzes the pcmig generic netlink family from userspace: random commands
 * with random attributes (valid types with wrong lengths, random payloads,
 * nest flags, types past the maximum, stray bytes after the last
 * attribute), as root.  Every
 * request must be answered with an ack or an error; afterwards the family
 * must still work and no session the fuzzer created may survive the close
 * of its socket.  The kernel checks after the suite catch the rest.
 *
 * Deterministic: the seed is printed and can be given back in the
 * environment as PCMIG_FUZZ_SEED.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/pcmig_nl.h"

#define ROUNDS 20000

static unsigned int seed;

static uint32_t rnd(uint32_t n)
{
	return (uint32_t)rand_r(&seed) % n;
}

/* One attribute: mostly known types, sometimes past the maximum. */
static void put_random_attr(struct tnl_req *r)
{
	static unsigned char junk[PCMIG_DEVSTATE_CHUNK + 64];
	uint16_t type = rnd(8) ? rnd(PCMIG_A_MAX + 1) : rnd(0x7fff);
	size_t len;

	switch (rnd(5)) {
	case 0:
		len = 4;
		break;
	case 1:
		len = 8;
		break;
	case 2:
		len = rnd(16);
		break;
	case 3:
		len = rnd(300);
		break;
	default:
		len = rnd(sizeof(junk));
		break;
	}
	for (size_t i = 0; i < len; i++)
		junk[i] = rnd(4) ? rnd(256) : 0;
	if (rnd(10) == 0)
		type |= NLA_F_NESTED;
	if (r->nlh.nlmsg_len + NLA_ALIGN(NLA_HDRLEN + len) < sizeof(r->raw))
		tnl_put(r, type, junk, len);
}

/* A few node mappings, sometimes with a side missing or repeated. */
static void put_map(struct tnl_req *r)
{
	static const char *const names[] = { "fz", "a", "b", "", "nosuch" };
	int n = rnd(4);

	while (n--) {
		struct nlattr *nest = tnl_nest_start(r, PCMIG_A_BITMAP_MAP);

		if (rnd(8))
			tnl_put_str(r, PCMIG_A_NODE, names[rnd(5)]);
		if (rnd(8))
			tnl_put_str(r, PCMIG_A_NODE_DST, names[rnd(5)]);
		if (!rnd(8))
			put_random_attr(r);
		tnl_nest_end(r, nest);
	}
}

/*
 * Attributes a command takes, with plausible values, so requests get
 * past the policies and reach the handlers; random ones are mixed in.
 */
static void put_plausible_attrs(struct tnl_req *r, uint8_t cmd,
				const uint32_t *ids)
{
	/* What each command's policy takes (kmod/netlink.c). */
	static const uint16_t takes[PCMIG_CMD_MAX + 1][6] = {
		[PCMIG_CMD_SESSION_NEW] = { PCMIG_A_ROLE, PCMIG_A_CAPS,
			PCMIG_A_MAX_BANDWIDTH, PCMIG_A_DOWNTIME_LIMIT,
			PCMIG_A_MAX_POSTCOPY_BANDWIDTH, PCMIG_A_BITMAP_MAP },
		[PCMIG_CMD_SESSION_DEL] = { PCMIG_A_SESSION_ID },
		[PCMIG_CMD_SESSION_GET] = { PCMIG_A_SESSION_ID },
		[PCMIG_CMD_SESSION_SET] = { PCMIG_A_SESSION_ID, PCMIG_A_CAPS,
			PCMIG_A_MAX_BANDWIDTH, PCMIG_A_DOWNTIME_LIMIT,
			PCMIG_A_MAX_POSTCOPY_BANDWIDTH, PCMIG_A_BITMAP_MAP },
		[PCMIG_CMD_SESSION_BITMAPS] = { PCMIG_A_SESSION_ID },
		[PCMIG_CMD_SOCK_ATTACH] = { PCMIG_A_SESSION_ID, PCMIG_A_SOCK_FD },
		[PCMIG_CMD_DEVSTATE_PUT] = { PCMIG_A_SESSION_ID, PCMIG_A_OFFSET,
			PCMIG_A_DATA },
		[PCMIG_CMD_DEVSTATE_GET] = { PCMIG_A_SESSION_ID },
		[PCMIG_CMD_START] = { PCMIG_A_SESSION_ID },
		[PCMIG_CMD_START_POSTCOPY] = { PCMIG_A_SESSION_ID },
		[PCMIG_CMD_CANCEL] = { PCMIG_A_SESSION_ID },
		[PCMIG_CMD_BITMAP_ADD] = { PCMIG_A_NODE, PCMIG_A_BITMAP,
			PCMIG_A_GRANULARITY, PCMIG_A_ENABLED },
		[PCMIG_CMD_BITMAP_DEL] = { PCMIG_A_NODE, PCMIG_A_BITMAP },
		[PCMIG_CMD_BITMAP_GET] = { PCMIG_A_NODE },
		[PCMIG_CMD_BITMAP_SET] = { PCMIG_A_NODE, PCMIG_A_BITMAP,
			PCMIG_A_ENABLED },
		[PCMIG_CMD_BITMAP_CLEAR] = { PCMIG_A_NODE, PCMIG_A_BITMAP },
		[PCMIG_CMD_BITMAP_MERGE] = { PCMIG_A_NODE, PCMIG_A_BITMAP,
			PCMIG_A_BITMAP_SRC },
		[PCMIG_CMD_BITMAP_EXTENTS] = { PCMIG_A_NODE, PCMIG_A_BITMAP,
			PCMIG_A_OFFSET },
	};
	int i;

	if (cmd > PCMIG_CMD_MAX)
		return;
	for (i = 0; i < 6 && takes[cmd][i]; i++) {
		uint16_t t = takes[cmd][i];
		uint8_t u8v = rnd(2);

		if (!rnd(4))
			continue;
		switch (t) {
		case PCMIG_A_SESSION_ID:
			tnl_put_u32(r, t, ids[rnd(4)]);
			break;
		case PCMIG_A_ROLE:
			tnl_put_u32(r, t, 1 + rnd(2));
			break;
		case PCMIG_A_CAPS:
			tnl_put_u32(r, t, rnd(4));
			break;
		case PCMIG_A_DOWNTIME_LIMIT:
		case PCMIG_A_SOCK_FD:
			tnl_put_u32(r, t, rnd(1000));
			break;
		case PCMIG_A_GRANULARITY:
			tnl_put_u32(r, t, 1u << rnd(32));
			break;
		case PCMIG_A_ENABLED:
			tnl_put(r, t, &u8v, 1);
			break;
		case PCMIG_A_DATA:
			tnl_put(r, t, "state", 1 + rnd(5));
			break;
		case PCMIG_A_NODE:
		case PCMIG_A_BITMAP:
		case PCMIG_A_BITMAP_SRC:
			tnl_put(r, t, rnd(2) ? "fz" : "nosuch", 3);
			break;
		case PCMIG_A_BITMAP_MAP:
			put_map(r);
			break;
		default:
			tnl_put_u64(r, t, rnd(2) ? 0 : rnd(1 << 20));
			break;
		}
	}
}

/* Remember the ids of sessions the fuzzer created, to aim at them. */
static void take_id(const struct tnl_attrs *at, void *arg)
{
	uint32_t *ids = arg;

	if (at->a[PCMIG_A_SESSION_ID])
		ids[rnd(4)] = tnl_u32(at->a[PCMIG_A_SESSION_ID]);
}

static void take_nothing(const struct tnl_attrs *at, void *arg)
{
	(void)at;
	(void)arg;
}

static void take_session(const struct tnl_attrs *at, void *arg)
{
	tnl_session_parse(at, arg);
}

/* A fixture only to get a timeout: 20000 round trips under emulation. */
FIXTURE(fuzz) {
	int unused;
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, random_requests_answered_and_harmless, 300)
{
	struct tnl nl, check;
	uint32_t counts[2] = {};	/* acked, refused */
	uint32_t ids[4] = { 1, 2, 3, 4 };
	struct tnl_req r;
	int i;

	seed = getenv("PCMIG_FUZZ_SEED") ? atoi(getenv("PCMIG_FUZZ_SEED")) :
					   (unsigned int)getpid();
	TH_LOG("seed %u", seed);
	ASSERT_EQ(0, tnl_open(&nl));
	for (i = 0; i < ROUNDS; i++) {
		uint8_t cmd = rnd(PCMIG_CMD_MAX + 4);
		int mode = rnd(3), n = 1 + rnd(5), err;

		/* 0: random attributes, 1: plausible ones, 2: both. */
		tnl_req_init(&nl, &r, cmd, rnd(4) == 0);
		if (mode)
			put_plausible_attrs(&r, cmd, ids);
		if (mode == 1)
			n = 0;
		while (n--)
			put_random_attr(&r);
		/* Stray bytes too short to be an attribute. */
		if (rnd(10) == 0)
			r.nlh.nlmsg_len += 1 + rnd(3);
		err = tnl_call(&nl, &r, take_id, ids);
		ASSERT_GE(0, err) TH_LOG("positive answer %d to cmd %u", err, cmd);
		counts[err ? 1 : 0]++;
	}
	TH_LOG("%u acked, %u refused", counts[0], counts[1]);
	tnl_close(&nl);

	/* Still alive, and the fuzzer's sessions went with its socket. */
	ASSERT_EQ(0, tnl_open(&check));
	tnl_req_init(&check, &r, PCMIG_CMD_GET_INFO, false);
	EXPECT_EQ(0, tnl_call(&check, &r, take_nothing, NULL));
	tnl_req_init(&check, &r, PCMIG_CMD_SESSION_GET, true);
	{
		struct tnl_session s = { .id = 0 };

		EXPECT_EQ(0, tnl_call(&check, &r, take_session, &s));
		EXPECT_EQ(0u, s.id) TH_LOG("session %u left behind", s.id);
	}
	tnl_close(&check);
}

TEST_HARNESS_MAIN
