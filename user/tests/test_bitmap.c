// SPDX-License-Identifier: GPL-2.0
/* Dirty bitmaps: granularity and names, the dump replies, rendering. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include <linux/pcmig.h>

#include "bitmap.h"
#include "names.h"
#include "nl.h"
#include "ops.h"
#include "tap.h"

static void gran_ok(const char *s, uint32_t want)
{
	uint32_t v = 0;
	char err[128];
	int ret = parse_granularity(s, &v, err, sizeof(err));

	if (!tap_ok(!ret && v == want, "parse_granularity(\"%s\") = %" PRIu32,
		    s, want))
		tap_diag("ret %d value %" PRIu32 ": %s", ret, v, err);
}

static void gran_bad(const char *s, int want, const char *msg)
{
	uint32_t v = 42;
	char err[128] = "";
	int ret = parse_granularity(s, &v, err, sizeof(err));

	if (!tap_ok(ret == want && v == 42 && strstr(err, msg),
		    "parse_granularity(\"%s\") fails: %s", s, msg))
		tap_diag("ret %d, err '%s'", ret, err);
}

static void test_values(void)
{
	char name[PCMIG_NAME_MAX + 2], err[64];

	gran_ok("512", 512);
	gran_ok("4K", 4096);
	gran_ok("64KiB", 64 << 10);
	gran_ok("1m", 1 << 20);
	gran_ok("2G", PCMIG_GRANULARITY_MAX);
	gran_bad("256", -ERANGE, "out of range");
	gran_bad("0", -ERANGE, "out of range");
	gran_bad("4G", -ERANGE, "out of range");
	gran_bad("1T", -ERANGE, "out of range");
	gran_bad("3K", -EINVAL, "not a power of two");
	gran_bad("1000", -EINVAL, "not a power of two");
	gran_bad("64X", -EINVAL, "not a size");
	gran_bad("-64K", -EINVAL, "not a size");

	memset(name, 'a', sizeof(name));
	name[PCMIG_NAME_MAX] = '\0';
	tap_ok(!check_name(name, err, sizeof(err)), "name of 255 bytes");
	name[PCMIG_NAME_MAX] = 'a';
	name[PCMIG_NAME_MAX + 1] = '\0';
	tap_ok(check_name(name, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "longer than 255"), "name of 256 bytes refused");
	tap_ok(check_name("", err, sizeof(err)) == -EINVAL &&
	       strstr(err, "empty"), "empty name refused");
}

/* A u64 as the kernel puts it: nla_put_u64_64bit() may pad first. */
static void put_u64_padded(struct nl_msg *msg, int type, uint64_t v)
{
	nla_put(msg, PCMIG_A_PAD, 0, NULL);
	nla_put_u64(msg, type, v);
}

static struct nl_msg *bitmap_reply(int skip)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, 0, 0, 42, 0, NLM_F_MULTI, PCMIG_CMD_BITMAP_GET, 1);
	if (skip != PCMIG_A_NODE)
		nla_put_string(msg, PCMIG_A_NODE, "vda");
	if (skip != PCMIG_A_BITMAP)
		nla_put_string(msg, PCMIG_A_BITMAP, "inc\n1");
	if (skip != PCMIG_A_GRANULARITY)
		nla_put_u32(msg, PCMIG_A_GRANULARITY, 64 << 10);
	if (skip != PCMIG_A_ENABLED)
		nla_put_u8(msg, PCMIG_A_ENABLED, 1);
	if (skip != PCMIG_A_DIRTY_COUNT)
		put_u64_padded(msg, PCMIG_A_DIRTY_COUNT, 3);
	if (skip != PCMIG_A_NODE_SIZE)
		put_u64_padded(msg, PCMIG_A_NODE_SIZE, (1ULL << 20) + 4096);
	/* An attribute from a newer module must be ignored. */
	nla_put_u32(msg, PCMIG_A_MAX + 3, 7);
	return msg;
}

static void test_replies(void)
{
	static const int required[] = {
		PCMIG_A_NODE, PCMIG_A_BITMAP, PCMIG_A_GRANULARITY,
		PCMIG_A_ENABLED, PCMIG_A_DIRTY_COUNT, PCMIG_A_NODE_SIZE,
	};
	struct nl_msg *msg = bitmap_reply(-1);
	struct pcmig_bitmap b;
	struct pcmig_extent e;
	bool all = true;

	tap_ok(!bitmap_from_msg(msg, &b) && !strcmp(b.node, "vda") &&
	       !strcmp(b.name, "inc\n1") && b.granularity == 64 << 10 &&
	       b.enabled && b.dirty_count == 3 &&
	       b.node_size == (1ULL << 20) + 4096,
	       "BITMAP_GET entry parsed (padded u64s, unknown attribute)");
	nlmsg_free(msg);

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		msg = bitmap_reply(required[i]);
		all = all && bitmap_from_msg(msg, &b) == -EBADMSG;
		nlmsg_free(msg);
	}
	tap_ok(all, "BITMAP_GET entry without any one attribute is malformed");

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, 42, 0, 0, PCMIG_CMD_BITMAP_GET, 1);
	nla_put(msg, PCMIG_A_NODE, 3, "vda");	/* no NUL */
	nla_put_string(msg, PCMIG_A_BITMAP, "b");
	nla_put_u32(msg, PCMIG_A_GRANULARITY, 512);
	nla_put_u8(msg, PCMIG_A_ENABLED, 0);
	nla_put_u64(msg, PCMIG_A_DIRTY_COUNT, 0);
	nla_put_u64(msg, PCMIG_A_NODE_SIZE, 512);
	tap_ok(bitmap_from_msg(msg, &b) == -EBADMSG,
	       "node name without NUL is rejected by the policy");
	nlmsg_free(msg);

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, 42, 0, NLM_F_MULTI, PCMIG_CMD_BITMAP_EXTENTS, 1);
	put_u64_padded(msg, PCMIG_A_OFFSET, 1ULL << 40);
	put_u64_padded(msg, PCMIG_A_LENGTH, 65536);
	tap_ok(!extent_from_msg(msg, &e) && e.offset == 1ULL << 40 &&
	       e.length == 65536, "BITMAP_EXTENTS entry parsed");
	nlmsg_free(msg);

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, 42, 0, NLM_F_MULTI, PCMIG_CMD_BITMAP_EXTENTS, 1);
	nla_put_u64(msg, PCMIG_A_OFFSET, 0);
	nla_put_u32(msg, PCMIG_A_LENGTH, 512);	/* u64 expected */
	tap_ok(extent_from_msg(msg, &e) == -EBADMSG,
	       "extent with a short LENGTH is malformed");
	nlmsg_free(msg);
}

static bool next_ok(uint64_t *next, uint64_t off, uint64_t len)
{
	struct pcmig_extent e = { .offset = off, .length = len };

	return !extent_next(next, &e);
}

static void test_order(void)
{
	uint64_t next = 4096;

	tap_ok(!next_ok(&next, 0, 512) && next == 4096,
	       "extent before the start offset refused");
	tap_ok(next_ok(&next, 4096, 512) && next == 4608 &&
	       next_ok(&next, 4608, 1024) && next == 5632 &&
	       next_ok(&next, 1 << 20, 65536) && next == (1 << 20) + 65536,
	       "increasing extents, adjacent or not, accepted");
	tap_ok(!next_ok(&next, 1 << 20, 65536), "repeated extent refused");
	tap_ok(!next_ok(&next, (1 << 20) + 512, 512),
	       "overlapping extent refused");
	tap_ok(!next_ok(&next, 1ULL << 30, 0), "empty extent refused");
	tap_ok(!next_ok(&next, UINT64_MAX - 511, 512) &&
	       next_ok(&next, UINT64_MAX - 512, 512) &&
	       next == UINT64_MAX, "extent past 2^64 refused, up to it taken");
}

static char *render_json(const struct pcmig_bitmap *b)
{
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	struct json j;

	json_init(&j, f);
	bitmap_json(&j, NULL, b);
	json_done(&j);
	fclose(f);
	return out;
}

static void test_render(void)
{
	struct pcmig_bitmap v[2] = {
		{ .node = "vda", .name = "inc\n1", .granularity = 64 << 10,
		  .enabled = true, .dirty_count = 3,
		  .node_size = (1ULL << 20) + 4096 },
		{ .node = "vdb-long", .name = "x", .granularity = 512,
		  .dirty_count = 1ULL << 62, .node_size = 20ULL << 30 },
	};
	char *out = NULL;
	size_t len;
	FILE *f;

	tap_ok(bitmap_dirty_bytes(&v[0]) == 3 << 16,
	       "dirty bytes: granules times granularity");
	v[0].dirty_count = 17;
	tap_ok(bitmap_dirty_bytes(&v[0]) == (1ULL << 20) + 4096,
	       "dirty bytes: at most the node size");
	tap_ok(bitmap_dirty_bytes(&v[1]) == 20ULL << 30,
	       "dirty bytes: no wrap-around on absurd counts");
	v[0].dirty_count = 3;

	out = render_json(&v[0]);
	if (!tap_ok(!strcmp(out,
			    "{\"node\":\"vda\",\"bitmap\":\"inc\\n1\","
			    "\"granularity\":65536,\"enabled\":true,"
			    "\"dirty_count\":3,\"dirty_bytes\":196608,"
			    "\"node_size\":1052672}\n"),
		    "bitmap JSON"))
		tap_diag("got %s", out);
	free(out);

	f = open_memstream(&out, &len);
	bitmap_print_table(f, v, 2);
	fclose(f);
	if (!tap_ok(!strcmp(out,
			    "NODE      BITMAP  GRANULARITY  ENABLED       DIRTY-GRANULES  DIRTY-BYTES  NODE-SIZE\n"
			    "vda       inc?1   64 KiB       yes                        3    192.0 KiB    1.0 MiB\n"
			    "vdb-long  x       512 B        no       4611686018427387904     20.0 GiB   20.0 GiB\n"),
		    "bitmap table: aligned, control characters shown as '?'"))
		tap_diag("got\n%s", out);
	free(out);
}

static struct nl_msg *session_bitmap_reply(int skip, bool optional)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, 0, 0, 42, 0, NLM_F_MULTI, PCMIG_CMD_SESSION_BITMAPS,
		    1);
	if (skip != PCMIG_A_SESSION_ID)
		nla_put_u32(msg, PCMIG_A_SESSION_ID, 7);
	if (skip != PCMIG_A_NODE)
		nla_put_string(msg, PCMIG_A_NODE, "disk0");
	if (skip != PCMIG_A_BITMAP)
		nla_put_string(msg, PCMIG_A_BITMAP, "b2");
	if (skip != PCMIG_A_BITMAP_STATE)
		nla_put_u32(msg, PCMIG_A_BITMAP_STATE, PCMIG_BITMAP_ERROR);
	if (optional) {
		nla_put_u32(msg, PCMIG_A_GRANULARITY, 65536);
		nla_put_u8(msg, PCMIG_A_ENABLED, 1);
		put_u64_padded(msg, PCMIG_A_NODE_SIZE, 64ULL << 20);
		nla_put_string(msg, PCMIG_A_REASON,
			       "granularity differs: 4096 bytes here, 65536 in the stream");
	}
	nla_put_u32(msg, PCMIG_A_MAX + 3, 7);
	return msg;
}

static void test_session_replies(void)
{
	static const int required[] = {
		PCMIG_A_SESSION_ID, PCMIG_A_NODE, PCMIG_A_BITMAP,
		PCMIG_A_BITMAP_STATE,
	};
	struct nl_msg *msg = session_bitmap_reply(-1, true);
	struct pcmig_session_bitmap b;
	bool all = true;

	tap_ok(!session_bitmap_from_msg(msg, &b) && !strcmp(b.node, "disk0") &&
	       !strcmp(b.name, "b2") && b.state == PCMIG_BITMAP_ERROR &&
	       b.has_granularity && b.granularity == 65536 &&
	       b.has_enabled && b.enabled && b.has_node_size &&
	       b.node_size == 64ULL << 20 &&
	       !strcmp(b.reason, "granularity differs: 4096 bytes here, 65536 in the stream"),
	       "SESSION_BITMAPS entry parsed (every attribute)");
	nlmsg_free(msg);

	msg = session_bitmap_reply(-1, false);
	tap_ok(!session_bitmap_from_msg(msg, &b) && !b.has_granularity &&
	       !b.has_enabled && !b.has_node_size && !b.reason[0],
	       "SESSION_BITMAPS entry parsed (required attributes only)");
	nlmsg_free(msg);

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		msg = session_bitmap_reply(required[i], true);
		all = all && session_bitmap_from_msg(msg, &b) == -EBADMSG;
		nlmsg_free(msg);
	}
	tap_ok(all, "SESSION_BITMAPS entry without a required attribute is malformed");

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, 42, 0, 0, PCMIG_CMD_SESSION_BITMAPS, 1);
	nla_put_u32(msg, PCMIG_A_SESSION_ID, 7);
	nla_put_string(msg, PCMIG_A_NODE, "disk0");
	nla_put_string(msg, PCMIG_A_BITMAP, "b");
	nla_put_u8(msg, PCMIG_A_BITMAP_STATE, 2);	/* u32 expected */
	tap_ok(session_bitmap_from_msg(msg, &b) == -EBADMSG,
	       "SESSION_BITMAPS entry with a short BITMAP_STATE is malformed");
	nlmsg_free(msg);
}

static void test_state_names(void)
{
	tap_ok(!strcmp(bitmap_state_name(PCMIG_BITMAP_PENDING), "pending") &&
	       !strcmp(bitmap_state_name(PCMIG_BITMAP_DONE), "done") &&
	       !strcmp(bitmap_state_name(PCMIG_BITMAP_ERROR), "error") &&
	       !strcmp(bitmap_state_name(PCMIG_BITMAP_DROPPED), "dropped") &&
	       !strcmp(bitmap_state_name(PCMIG_BITMAP_SKIPPED), "skipped") &&
	       !bitmap_state_name(0) &&
	       !bitmap_state_name(PCMIG_BITMAP_SKIPPED + 1),
	       "bitmap state names; none for unknown values");
	tap_ok(!bitmap_state_failed(PCMIG_BITMAP_PENDING) &&
	       !bitmap_state_failed(PCMIG_BITMAP_DONE) &&
	       bitmap_state_failed(PCMIG_BITMAP_ERROR) &&
	       bitmap_state_failed(PCMIG_BITMAP_DROPPED) &&
	       bitmap_state_failed(PCMIG_BITMAP_SKIPPED),
	       "error, dropped and skipped count as failed");
}

static void line_is(const struct pcmig_session_bitmap *b, const char *want,
		    const char *what)
{
	char line[SESSION_BITMAP_LINE_MAX];

	session_bitmap_line(b, line, sizeof(line));
	if (!tap_ok(!strcmp(line, want), "bitmap line: %s", what))
		tap_diag("got '%s'", line);
}

static void test_session_render(void)
{
	struct pcmig_session_bitmap v[3] = {
		{ .node = "disk0", .name = "b1", .state = PCMIG_BITMAP_DONE,
		  .has_granularity = true, .granularity = 65536,
		  .has_enabled = true, .enabled = false,
		  .has_node_size = true, .node_size = 1ULL << 30,
		  .reason = "created" },
		{ .node = "disk0", .name = "b\n3", .state = PCMIG_BITMAP_DROPPED,
		  .reason = "stream ended before it was complete: dropped" },
		{ .node = "s4b", .name = "y", .state = 9 },
	};
	struct pcmig_session_bitmap b = v[0];
	char *out = NULL, line[16];
	size_t len;
	struct json j;
	FILE *f;

	line_is(&v[0], "bitmap disk0/b1: done (created)", "done, reason in parentheses");
	b.state = PCMIG_BITMAP_ERROR;
	snprintf(b.reason, sizeof(b.reason),
		 "granularity differs: 4096 bytes here, 65536 in the stream");
	line_is(&b,
		"bitmap disk0/b1: error: granularity differs: "
		"4096 bytes here, 65536 in the stream",
		"error, reason after a colon");
	line_is(&v[1],
		"bitmap disk0/b?3: dropped: "
		"stream ended before it was complete: dropped",
		"dropped; control characters shown as '?'");
	b.state = PCMIG_BITMAP_SKIPPED;
	snprintf(b.reason, sizeof(b.reason), "node is not in the bitmap mapping");
	line_is(&b, "bitmap disk0/b1: skipped: node is not in the bitmap mapping",
		"skipped");
	b.state = PCMIG_BITMAP_PENDING;
	b.reason[0] = '\0';
	line_is(&b, "bitmap disk0/b1: pending", "pending without a reason");
	line_is(&v[2], "bitmap s4b/y: 9", "unknown state as a number");
	session_bitmap_line(&v[0], line, sizeof(line));
	tap_ok(!strcmp(line, "bitmap disk0/b1"), "bitmap line: cut to the buffer");

	f = open_memstream(&out, &len);
	json_init(&j, f);
	json_obj_begin(&j, NULL);
	session_bitmaps_json(&j, "bitmaps", v, 3);
	session_bitmaps_json(&j, "none", v, 0);
	json_obj_end(&j);
	json_done(&j);
	fclose(f);
	if (!tap_ok(!strcmp(out,
			    "{\"bitmaps\":["
			    "{\"node\":\"disk0\",\"bitmap\":\"b1\",\"state\":\"done\","
			    "\"granularity\":65536,\"enabled\":false,"
			    "\"node_size\":1073741824,\"reason\":\"created\"},"
			    "{\"node\":\"disk0\",\"bitmap\":\"b\\n3\",\"state\":\"dropped\","
			    "\"reason\":\"stream ended before it was complete: dropped\"},"
			    "{\"node\":\"s4b\",\"bitmap\":\"y\",\"state\":\"9\"}],"
			    "\"none\":[]}\n"),
		    "session bitmaps JSON: absent fields omitted"))
		tap_diag("got %s", out);
	free(out);
}

/* The nests SESSION_NEW carries, read back as the kernel would. */
static void test_map_nests(void)
{
	static const struct nla_policy pol[PCMIG_A_MAX + 1] = {
		[PCMIG_A_NODE] = { .type = NLA_STRING },
		[PCMIG_A_NODE_DST] = { .type = NLA_STRING },
	};
	static struct bitmap_map m;
	struct pcnl nl = { .family = 42 };
	struct nlattr *a, *tb[PCMIG_A_MAX + 1];
	struct nl_msg *msg;
	char err[256], name[PCMIG_NAME_MAX + 1];
	unsigned int i = 0;
	bool all = true;
	int rem;

	memset(&m, 0, sizeof(m));
	parse_bitmap_map("s1:d1", &m, err, sizeof(err));
	parse_bitmap_map("s2:d:2", &m, err, sizeof(err));
	msg = pcnl_msg(&nl, PCMIG_CMD_SESSION_NEW, 0);
	tap_ok(!put_bitmap_map(msg, &m) && !put_bitmap_map(msg, NULL),
	       "bitmap-map nests built");
	nlmsg_for_each_attr(a, nlmsg_hdr(msg), GENL_HDRLEN, rem) {
		if (nla_type(a) != PCMIG_A_BITMAP_MAP)
			continue;
		all = all && i < m.n &&
		      !nla_parse_nested(tb, PCMIG_A_MAX, a,
					(struct nla_policy *)pol) &&
		      tb[PCMIG_A_NODE] && tb[PCMIG_A_NODE_DST] &&
		      !strcmp(nla_get_string(tb[PCMIG_A_NODE]), m.v[i].src) &&
		      !strcmp(nla_get_string(tb[PCMIG_A_NODE_DST]), m.v[i].dst);
		i++;
	}
	tap_ok(all && i == 2, "one BITMAP_MAP nest per mapping, in order");
	nlmsg_free(msg);

	/* The largest mapping the module takes fits one request. */
	memset(&m, 0, sizeof(m));
	memset(name, 'n', sizeof(name));
	name[PCMIG_NAME_MAX] = '\0';
	for (i = 0; i < PCMIG_BITMAP_MAP_MAX; i++) {
		char arg[2 * PCMIG_NAME_MAX + 2];

		snprintf(name, 4, "%03u", i);
		name[3] = 'n';
		snprintf(arg, sizeof(arg), "%s:%s", name, name);
		all = all && !parse_bitmap_map(arg, &m, err, sizeof(err));
	}
	msg = pcnl_msg(&nl, PCMIG_CMD_SESSION_NEW, 0);
	tap_ok(all && m.n == PCMIG_BITMAP_MAP_MAX &&
	       !nla_put_u32(msg, PCMIG_A_ROLE, PCMIG_ROLE_SOURCE) &&
	       !nla_put_u32(msg, PCMIG_A_CAPS, PCMIG_CAPS_ALL) &&
	       !nla_put_u64(msg, PCMIG_A_MAX_BANDWIDTH, 1) &&
	       !nla_put_u32(msg, PCMIG_A_DOWNTIME_LIMIT, 1) &&
	       !nla_put_u64(msg, PCMIG_A_MAX_POSTCOPY_BANDWIDTH, 1) &&
	       !put_bitmap_map(msg, &m),
	       "64 mappings of 255-byte names fit one SESSION_NEW");
	nlmsg_free(msg);
}

void test_bitmap(void)
{
	test_values();
	test_replies();
	test_order();
	test_render();
	test_session_replies();
	test_state_names();
	test_session_render();
	test_map_nests();
}
