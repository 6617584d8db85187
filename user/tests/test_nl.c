// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include <linux/pcmig.h>

#include "json.h"
#include "nl.h"
#include "session.h"
#include "tap.h"

/* Builds an error message as the kernel does (af_netlink.c). */
static size_t build_err(uint8_t *buf, int error, bool capped, size_t echo,
			const char *msg, int miss_type)
{
	struct nlmsghdr *nlh = (void *)buf;
	struct nlmsgerr *e = (void *)(buf + NLMSG_HDRLEN);
	size_t off = NLMSG_HDRLEN + sizeof(*e);

	memset(buf, 0, 1024);
	nlh->nlmsg_type = NLMSG_ERROR;
	e->error = error;
	e->msg.nlmsg_len = (uint32_t)(sizeof(struct nlmsghdr) + echo);
	if (capped)
		nlh->nlmsg_flags |= NLM_F_CAPPED;
	else
		off += NLMSG_ALIGN(echo);
	if (msg || miss_type >= 0)
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
	if (msg) {
		struct nlattr *a = (void *)(buf + off);

		a->nla_type = NLMSGERR_ATTR_MSG;
		a->nla_len = (uint16_t)(NLA_HDRLEN + strlen(msg) + 1);
		strcpy((char *)a + NLA_HDRLEN, msg);
		off += NLA_ALIGN(a->nla_len);
	}
	if (miss_type >= 0) {
		struct nlattr *a = (void *)(buf + off);
		uint32_t v = (uint32_t)miss_type;

		a->nla_type = NLMSGERR_ATTR_MISS_TYPE;
		a->nla_len = NLA_HDRLEN + 4;
		memcpy((char *)a + NLA_HDRLEN, &v, 4);
		off += 8;
	}
	nlh->nlmsg_len = (uint32_t)off;
	return off;
}

static void test_extack(void)
{
	uint8_t buf[1024];
	struct nlmsghdr *nlh = (void *)buf;
	char msg[PCNL_EXTACK_LEN], small[8];
	unsigned int seed = 99;
	int ret, bad = 0;

	build_err(buf, -EINVAL, true, 0, "socket is not connected", -1);
	ret = pcnl_parse_error(nlh, msg, sizeof(msg));
	tap_ok(ret == -EINVAL && !strcmp(msg, "socket is not connected"),
	       "extack: capped error with message");

	build_err(buf, -EPERM, false, 44, "no", -1);
	ret = pcnl_parse_error(nlh, msg, sizeof(msg));
	tap_ok(ret == -EPERM && !strcmp(msg, "no"),
	       "extack: message after an echoed request");

	build_err(buf, -ENOENT, true, 0, NULL, -1);
	ret = pcnl_parse_error(nlh, msg, sizeof(msg));
	tap_ok(ret == -ENOENT && !msg[0], "extack: error without TLVs");

	build_err(buf, -EINVAL, true, 0, NULL, PCMIG_A_ROLE);
	ret = pcnl_parse_error(nlh, msg, sizeof(msg));
	tap_ok(ret == -EINVAL && !strcmp(msg, "missing attribute 7"),
	       "extack: missing attribute without text (%s)", msg);

	build_err(buf, 0, true, 0, NULL, -1);
	tap_ok(pcnl_parse_error(nlh, msg, sizeof(msg)) == 0, "extack: ACK");

	build_err(buf, -EINVAL, true, 0, "a long explanation", -1);
	pcnl_parse_error(nlh, small, sizeof(small));
	tap_ok(!strcmp(small, "a long "), "extack: message truncated safely");

	/* Message without its NUL, and a TLV running past the end. */
	build_err(buf, -EINVAL, true, 0, "abc", -1);
	buf[NLMSG_HDRLEN + sizeof(struct nlmsgerr) + NLA_HDRLEN + 3] = 'd';
	((struct nlattr *)(buf + NLMSG_HDRLEN + sizeof(struct nlmsgerr)))
		->nla_len = NLA_HDRLEN + 4;
	pcnl_parse_error(nlh, msg, sizeof(msg));
	tap_ok(!strcmp(msg, "abcd"), "extack: string without NUL");
	build_err(buf, -EINVAL, true, 0, "abc", -1);
	((struct nlattr *)(buf + NLMSG_HDRLEN + sizeof(struct nlmsgerr)))
		->nla_len = 500;
	tap_ok(pcnl_parse_error(nlh, msg, sizeof(msg)) == -EINVAL && !msg[0],
	       "extack: oversized TLV ignored");

	nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	tap_ok(pcnl_parse_error(nlh, msg, sizeof(msg)) == -EBADMSG,
	       "extack: truncated error message: -EBADMSG");

	/* A dump that failed part-way ends with NLMSG_DONE carrying errno. */
	memset(buf, 0, sizeof(buf));
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI | NLM_F_ACK_TLVS;
	*(int *)(buf + NLMSG_HDRLEN) = -ENOENT;
	{
		struct nlattr *a = (void *)(buf + NLMSG_HDRLEN + 4);

		a->nla_type = NLMSGERR_ATTR_MSG;
		a->nla_len = NLA_HDRLEN + 5;
		strcpy((char *)a + NLA_HDRLEN, "gone");
		nlh->nlmsg_len = NLMSG_HDRLEN + 4 + NLA_ALIGN(a->nla_len);
	}
	ret = pcnl_parse_error(nlh, msg, sizeof(msg));
	tap_ok(ret == -ENOENT && !strcmp(msg, "gone"), "extack: failed dump");

	for (int i = 0; i < 100000; i++) {
		size_t len = NLMSG_HDRLEN + (size_t)rand_r(&seed) % 200;
		uint8_t *copy = malloc(len);

		for (size_t k = 0; k < len; k++)
			copy[k] = (uint8_t)rand_r(&seed);
		nlh = (void *)copy;
		nlh->nlmsg_len = (uint32_t)len;
		nlh->nlmsg_type = i & 1 ? NLMSG_DONE : NLMSG_ERROR;
		pcnl_parse_error(nlh, msg, sizeof(msg));
		bad += strlen(msg) >= sizeof(msg);
		free(copy);
	}
	tap_ok(!bad, "extack: 100000 random messages parsed safely");
}

static struct nl_msg *session_msg(bool with_id)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nlattr *nest;

	genlmsg_put(msg, 0, 0, 42, 0, 0, PCMIG_CMD_EVENT, 1);
	if (with_id)
		nla_put_u32(msg, PCMIG_A_SESSION_ID, 3);
	nla_put_u32(msg, PCMIG_A_EVENT, PCMIG_EVENT_PHASE);
	nla_put_u32(msg, PCMIG_A_ROLE, PCMIG_ROLE_SOURCE);
	nla_put_u32(msg, PCMIG_A_PHASE, PCMIG_PHASE_FAILED);
	nla_put_u32(msg, PCMIG_A_CAPS, 1U << PCMIG_CAP_POSTCOPY_BITMAPS);
	nla_put_u64(msg, PCMIG_A_MAX_BANDWIDTH, 100ULL << 20);
	nla_put_u32(msg, PCMIG_A_DOWNTIME_LIMIT, 300);
	nla_put_u64(msg, PCMIG_A_MAX_POSTCOPY_BANDWIDTH, 0);
	nla_put_u64(msg, PCMIG_A_DEVSTATE_SIZE, 4096);
	nla_put_flag(msg, PCMIG_A_POSTCOPY_REQUESTED);
	nla_put_string(msg, PCMIG_A_REASON, "peer \"gone\"");
	nest = nla_nest_start(msg, PCMIG_A_STATS);
	nla_put_u64(msg, PCMIG_STAT_BYTES_SENT, 1ULL << 33);
	nla_put_u32(msg, PCMIG_STAT_PASSES, 4);
	nla_put_u64(msg, PCMIG_STAT_DOWNTIME_MS, 77);
	nla_put_u32(msg, PCMIG_STAT_BITMAPS_DONE, 5);
	nla_put_u32(msg, PCMIG_STAT_BITMAPS_FAILED, 2);
	nla_nest_end(msg, nest);
	/* An attribute from a newer module must be ignored. */
	nla_put_u32(msg, PCMIG_A_MAX + 5, 1);
	return msg;
}

static void test_session(void)
{
	struct nl_msg *msg = session_msg(true);
	struct pcmig_session s;
	struct pcmig_info info;
	struct nlattr *nest;
	char *out = NULL;
	size_t len;
	struct json j;
	FILE *f;

	tap_ok(!session_from_msg(msg, &s) && s.id == 3 &&
	       s.event == PCMIG_EVENT_PHASE && s.role == PCMIG_ROLE_SOURCE &&
	       s.phase == PCMIG_PHASE_FAILED && s.caps == 2 &&
	       s.max_bandwidth == 100ULL << 20 && s.downtime_limit == 300 &&
	       s.devstate_size == 4096 && s.postcopy_requested &&
	       !strcmp(s.reason, "peer \"gone\"") &&
	       s.stats[PCMIG_STAT_BYTES_SENT] == 1ULL << 33 &&
	       s.stats[PCMIG_STAT_PASSES] == 4 &&
	       SESSION_HAS_STAT(&s, PCMIG_STAT_DOWNTIME_MS) &&
	       !SESSION_HAS_STAT(&s, PCMIG_STAT_BYTES_RECEIVED) &&
	       s.stats[PCMIG_STAT_BITMAPS_DONE] == 5 &&
	       s.stats[PCMIG_STAT_BITMAPS_FAILED] == 2,
	       "session attributes parsed (u32 bitmap counters included)");

	f = open_memstream(&out, &len);
	json_init(&j, f);
	session_json(&j, NULL, &s);
	json_done(&j);
	fclose(f);
	if (!tap_ok(!strcmp(out,
			    "{\"id\":3,\"role\":\"source\",\"phase\":\"failed\","
			    "\"caps\":[\"postcopy-bitmaps\"],"
			    "\"max_bandwidth\":104857600,\"downtime_limit\":300,"
			    "\"max_postcopy_bandwidth\":0,\"devstate_size\":4096,"
			    "\"postcopy_requested\":true,"
			    "\"reason\":\"peer \\\"gone\\\"\","
			    "\"stats\":{\"bytes_sent\":8589934592,\"passes\":4,"
			    "\"downtime_ms\":77,\"bitmaps_done\":5,"
			    "\"bitmaps_failed\":2}}\n"),
		    "session JSON"))
		tap_diag("got %s", out);
	free(out);

	f = open_memstream(&out, &len);
	session_print(f, &s);
	fclose(f);
	tap_ok(strstr(out, "session 3 source failed: peer \"gone\"\n") &&
	       strstr(out, "max-bandwidth:          100.0 MiB/s") &&
	       strstr(out, "max-postcopy-bandwidth: unlimited") &&
	       strstr(out, "passes:                 4") &&
	       strstr(out, "bitmaps-done:           5\n") &&
	       strstr(out, "bitmaps-failed:         2\n") &&
	       !strstr(out, "bytes-received"),
	       "session text shows what is present");
	free(out);
	nlmsg_free(msg);

	msg = session_msg(false);
	tap_ok(session_from_msg(msg, &s) == -EBADMSG,
	       "session without SESSION_ID is malformed");
	nlmsg_free(msg);

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, 42, 0, 0, PCMIG_CMD_SESSION_GET, 1);
	nla_put_u32(msg, PCMIG_A_SESSION_ID, 3);
	nla_put_u32(msg, PCMIG_A_MAX_BANDWIDTH, 5);	/* u64 expected */
	tap_ok(session_from_msg(msg, &s) == -EBADMSG,
	       "short u64 attribute is rejected by the policy");
	nlmsg_free(msg);

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, 42, 0, 0, PCMIG_CMD_SESSION_GET, 1);
	nla_put_u32(msg, PCMIG_A_SESSION_ID, 3);
	nest = nla_nest_start(msg, PCMIG_A_STATS);
	nla_put_u8(msg, PCMIG_STAT_BITMAPS_DONE, 1);	/* u32 expected */
	nla_nest_end(msg, nest);
	tap_ok(session_from_msg(msg, &s) == -EBADMSG,
	       "short bitmaps_done stat is rejected by the policy");
	nlmsg_free(msg);

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, 42, 0, 0, PCMIG_CMD_EVENT, 1);
	nla_put_u32(msg, PCMIG_A_SESSION_ID, 4);
	nla_put_u32(msg, PCMIG_A_EVENT, PCMIG_EVENT_STOP_REQUEST);
	nla_put_u64(msg, PCMIG_A_RAM_SIZE, 64ULL << 20);
	nla_put_flag(msg, PCMIG_A_STOP_REQUESTED);
	nest = nla_nest_start(msg, PCMIG_A_STATS);
	nla_put_u64(msg, PCMIG_STAT_PAGES_SENT, 10240);
	nla_put_u64(msg, PCMIG_STAT_ZERO_PAGES, 1200);
	nla_put_u64(msg, PCMIG_STAT_DIRTY_PAGES, 312);
	nla_put_u64(msg, PCMIG_STAT_DIRTY_RATE, 1500);
	nla_put_u32(msg, PCMIG_STAT_NOT_CONVERGING, 1);
	nla_nest_end(msg, nest);
	tap_ok(!session_from_msg(msg, &s) && s.id == 4 &&
	       s.event == PCMIG_EVENT_STOP_REQUEST &&
	       SESSION_HAS(&s, PCMIG_A_RAM_SIZE) && s.ram_size == 64ULL << 20 &&
	       s.stop_requested && s.stats[PCMIG_STAT_PAGES_SENT] == 10240 &&
	       s.stats[PCMIG_STAT_ZERO_PAGES] == 1200 &&
	       s.stats[PCMIG_STAT_DIRTY_PAGES] == 312 &&
	       s.stats[PCMIG_STAT_DIRTY_RATE] == 1500 &&
	       s.stats[PCMIG_STAT_NOT_CONVERGING] == 1 &&
	       session_not_converging(&s),
	       "RAM attributes, stop request and RAM stats parsed");
	nlmsg_free(msg);

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, 42, 0, 0, PCMIG_CMD_SESSION_GET, 1);
	nla_put_u32(msg, PCMIG_A_SESSION_ID, 3);
	nla_put_u32(msg, PCMIG_A_RAM_SIZE, 5);	/* u64 expected */
	tap_ok(session_from_msg(msg, &s) == -EBADMSG,
	       "short ram_size is rejected by the policy");
	nlmsg_free(msg);

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, 42, 0, 0, PCMIG_CMD_SESSION_GET, 1);
	nla_put_u32(msg, PCMIG_A_SESSION_ID, 3);
	nest = nla_nest_start(msg, PCMIG_A_STATS);
	nla_put_u8(msg, PCMIG_STAT_NOT_CONVERGING, 1);	/* u32 expected */
	nla_nest_end(msg, nest);
	tap_ok(session_from_msg(msg, &s) == -EBADMSG,
	       "short not_converging stat is rejected by the policy");
	nlmsg_free(msg);

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, 42, 0, 0, PCMIG_CMD_GET_INFO, 1);
	nla_put_u32(msg, PCMIG_A_VERSION, 1);
	nla_put_u32(msg, PCMIG_A_STREAM_VERSION, 1);
	nla_put_u32(msg, PCMIG_A_CAPS_SUPPORTED, PCMIG_CAPS_ALL);
	nla_put_u32(msg, PCMIG_A_SESSIONS_MAX, 8);
	tap_ok(!info_from_msg(msg, &info) && info.version == 1 &&
	       info.caps_supported == PCMIG_CAPS_ALL && info.sessions_max == 8,
	       "GET_INFO reply parsed");
	nlmsg_free(msg);
}

void test_nl(void)
{
	test_extack();
	test_session();
}
