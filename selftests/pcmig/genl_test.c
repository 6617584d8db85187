// SPDX-License-Identifier: GPL-2.0
/*
 * Control plane of pcmig: the generic netlink family, session lifecycle,
 * permissions, attribute policies, socket handover checks, and rule S3
 * for start-postcopy outside a running migration.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/pcmig_nl.h"

FIXTURE(nl) {
	struct tnl nl;
};

FIXTURE_SETUP(nl)
{
	ASSERT_EQ(0, tnl_open(&self->nl)) TH_LOG("pcmig family not found: module loaded?");
}

FIXTURE_TEARDOWN(nl)
{
	tnl_close(&self->nl);
}

static void take_info(const struct tnl_attrs *at, void *arg)
{
	uint32_t *v = arg;

	v[0] = at->a[PCMIG_A_VERSION] ? tnl_u32(at->a[PCMIG_A_VERSION]) : 0;
	v[1] = at->a[PCMIG_A_CAPS_SUPPORTED] ?
	       tnl_u32(at->a[PCMIG_A_CAPS_SUPPORTED]) : 0;
	v[2] = at->a[PCMIG_A_STREAM_VERSION] ?
	       tnl_u32(at->a[PCMIG_A_STREAM_VERSION]) : 0;
}

TEST_F(nl, family_and_caps)
{
	uint32_t v[3] = {};
	struct tnl_req r;

	tnl_req_init(&self->nl, &r, PCMIG_CMD_GET_INFO, false);
	ASSERT_EQ(0, tnl_call(&self->nl, &r, take_info, v));
	EXPECT_EQ(PCMIG_GENL_VERSION, v[0]);
	EXPECT_EQ(PCMIG_CAPS_ALL, v[1]);
	EXPECT_EQ(PCMIG_STREAM_VERSION, v[2]);
}

TEST_F(nl, get_info_takes_no_attributes)
{
	struct tnl_req r;

	tnl_req_init(&self->nl, &r, PCMIG_CMD_GET_INFO, false);
	tnl_put_u32(&r, PCMIG_A_SESSION_ID, 1);
	EXPECT_EQ(-EINVAL, tnl_call(&self->nl, &r, NULL, NULL));
}

static void count_session(const struct tnl_attrs *at, void *arg)
{
	struct tnl_session s;
	uint32_t *want = arg;

	tnl_session_parse(at, &s);
	if (s.id == want[0])
		want[1]++;
}

TEST_F(nl, session_lifecycle)
{
	struct tnl_session s;
	uint32_t id, dump[2] = {};
	struct tnl_req r;

	ASSERT_EQ(0, tnl_new(&self->nl, PCMIG_ROLE_SOURCE,
			     1 << PCMIG_CAP_POSTCOPY_RAM, &id));
	ASSERT_EQ(0, tnl_get(&self->nl, id, &s));
	EXPECT_EQ(id, s.id);
	EXPECT_EQ(PCMIG_ROLE_SOURCE, s.role);
	EXPECT_EQ(PCMIG_PHASE_SETUP, s.phase);
	EXPECT_EQ(1u << PCMIG_CAP_POSTCOPY_RAM, s.caps);
	EXPECT_EQ(300u, s.downtime);

	tnl_req_init(&self->nl, &r, PCMIG_CMD_SESSION_SET, false);
	tnl_put_u32(&r, PCMIG_A_SESSION_ID, id);
	tnl_put_u64(&r, PCMIG_A_MAX_BANDWIDTH, 1 << 20);
	tnl_put_u32(&r, PCMIG_A_DOWNTIME_LIMIT, 50);
	tnl_put_u64(&r, PCMIG_A_MAX_POSTCOPY_BANDWIDTH, 2 << 20);
	tnl_put_u32(&r, PCMIG_A_CAPS, PCMIG_CAPS_ALL);
	ASSERT_EQ(0, tnl_call(&self->nl, &r, NULL, NULL)) TH_LOG("%s", self->nl.errmsg);
	ASSERT_EQ(0, tnl_get(&self->nl, id, &s));
	EXPECT_EQ(1u << 20, s.max_bw);
	EXPECT_EQ(50u, s.downtime);
	EXPECT_EQ(2u << 20, s.max_pc_bw);
	EXPECT_EQ(PCMIG_CAPS_ALL, s.caps);

	dump[0] = id;
	tnl_req_init(&self->nl, &r, PCMIG_CMD_SESSION_GET, true);
	ASSERT_EQ(0, tnl_call(&self->nl, &r, count_session, dump));
	EXPECT_EQ(1u, dump[1]);

	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_SESSION_DEL, id));
	EXPECT_EQ(-ENOENT, tnl_get(&self->nl, id, &s));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "no such session"));
	EXPECT_EQ(-ENOENT, tnl_simple(&self->nl, PCMIG_CMD_SESSION_DEL, id));
}

TEST_F(nl, owner_socket_close_destroys_session)
{
	struct tnl owner;
	struct tnl_session s;
	uint32_t id;

	ASSERT_EQ(0, tnl_open(&owner));
	ASSERT_EQ(0, tnl_new(&owner, PCMIG_ROLE_DESTINATION, 0, &id));
	ASSERT_EQ(0, tnl_get(&self->nl, id, &s));
	tnl_close(&owner);
	EXPECT_EQ(-ENOENT, tnl_get(&self->nl, id, &s));
}

TEST_F(nl, events_on_phase_change)
{
	struct tnl_attrs at;
	struct tnl_session s;
	struct tnl mon;
	uint32_t id;

	/* A listener of its own, as pcmigd monitor is. */
	ASSERT_EQ(0, tnl_open(&mon));
	ASSERT_EQ(0, tnl_subscribe(&mon));
	ASSERT_EQ(0, tnl_new(&self->nl, PCMIG_ROLE_SOURCE, 0, &id));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_CANCEL, id));
	ASSERT_EQ(1, tnl_event(&mon, &at, 2000));
	tnl_close(&mon);
	tnl_session_parse(&at, &s);
	EXPECT_EQ(id, s.id);
	EXPECT_EQ(PCMIG_PHASE_CANCELLED, s.phase);
	EXPECT_EQ(PCMIG_EVENT_PHASE, tnl_u32(at.a[PCMIG_A_EVENT]));
	EXPECT_STREQ("cancelled by user", s.reason);
}

/* Drop to an unprivileged user; every state-changing op must say EPERM. */
TEST_F(nl, unprivileged_gets_eperm)
{
	uint32_t id;
	pid_t pid;
	int status;

	ASSERT_EQ(0, tnl_new(&self->nl, PCMIG_ROLE_SOURCE, 0, &id));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		static const uint8_t cmds[] = {
			PCMIG_CMD_SESSION_DEL, PCMIG_CMD_SESSION_SET,
			PCMIG_CMD_START, PCMIG_CMD_START_POSTCOPY,
			PCMIG_CMD_CANCEL,
		};
		struct tnl nl;
		struct tnl_session s;
		uint32_t mine, v[3];
		struct tnl_req r;
		size_t i;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		if (tnl_open(&nl))
			_exit(11);
		tnl_req_init(&nl, &r, PCMIG_CMD_GET_INFO, false);
		if (tnl_call(&nl, &r, take_info, v))
			_exit(12);	/* reading is for everyone */
		if (tnl_get(&nl, id, &s))
			_exit(13);
		if (tnl_new(&nl, PCMIG_ROLE_SOURCE, 0, &mine) != -EPERM)
			_exit(14);
		for (i = 0; i < sizeof(cmds); i++)
			if (tnl_simple(&nl, cmds[i], id) != -EPERM)
				_exit(20 + i);
		if (tnl_attach(&nl, id, 0) != -EPERM)
			_exit(30);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

struct bad_attr_case {
	const char *name;
	uint16_t type;
	uint64_t value;
	int len;
};

TEST_F(nl, bad_attributes_rejected_with_message)
{
	static const struct bad_attr_case cases[] = {
		{ "role out of range", PCMIG_A_ROLE, 7, 4 },
		{ "unknown capability", PCMIG_A_CAPS, 1u << 7, 4 },
		{ "downtime 0", PCMIG_A_DOWNTIME_LIMIT, 0, 4 },
		{ "downtime too long", PCMIG_A_DOWNTIME_LIMIT,
		  PCMIG_DOWNTIME_LIMIT_MAX + 1, 4 },
		{ "attribute the op does not take", PCMIG_A_SOCK_FD, 3, 4 },
		{ "session id chosen by the caller", PCMIG_A_SESSION_ID, 5, 4 },
		{ "reply-only attribute (guest-at)", PCMIG_A_GUEST_AT, 1, 4 },
		{ "u64 given as u32", PCMIG_A_MAX_BANDWIDTH, 5, 4 },
		{ "unknown attribute type", PCMIG_A_MAX + 1, 1, 4 },
	};
	struct tnl_req r;
	size_t i;

	/* No role at all. */
	tnl_req_init(&self->nl, &r, PCMIG_CMD_SESSION_NEW, false);
	EXPECT_EQ(-EINVAL, tnl_call(&self->nl, &r, NULL, NULL));

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_attr_case *c = &cases[i];
		int err;

		tnl_req_init(&self->nl, &r, PCMIG_CMD_SESSION_NEW, false);
		if (c->type != PCMIG_A_ROLE)
			tnl_put_u32(&r, PCMIG_A_ROLE, PCMIG_ROLE_SOURCE);
		tnl_put(&r, c->type, &c->value, c->len);
		err = tnl_call(&self->nl, &r, NULL, NULL);
		EXPECT_GT(0, err) TH_LOG("%s accepted", c->name);
		/* The kernel says which attribute and why. */
		EXPECT_NE(0, self->nl.errmsg[0]) TH_LOG("%s: no message", c->name);
		TH_LOG("%s -> %d: %s", c->name, err, self->nl.errmsg);
	}
}

TEST_F(nl, bad_socket_fds_rejected)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int udp, tcp, lst, pfd[2], sp[2];
	uint32_t id;

	ASSERT_EQ(0, tnl_new(&self->nl, PCMIG_ROLE_SOURCE, 0, &id));

	udp = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_LE(0, udp);
	EXPECT_EQ(-EINVAL, tnl_attach(&self->nl, id, udp));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "stream")) TH_LOG("%s", self->nl.errmsg);

	ASSERT_EQ(0, pipe(pfd));
	EXPECT_EQ(-ENOTSOCK, tnl_attach(&self->nl, id, pfd[0]));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "not a socket"));

	EXPECT_EQ(-EBADF, tnl_attach(&self->nl, id, 1000));
	EXPECT_NE(0, self->nl.errmsg[0]);

	tcp = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, tcp);
	EXPECT_EQ(-ENOTCONN, tnl_attach(&self->nl, id, tcp));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "not connected"));

	lst = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, lst);
	ASSERT_EQ(0, bind(lst, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(lst, 1));
	EXPECT_EQ(-ENOTCONN, tnl_attach(&self->nl, id, lst));

	/* Start before any socket: refused with a reason. */
	EXPECT_EQ(-ENOTCONN, tnl_simple(&self->nl, PCMIG_CMD_START, id));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "no socket"));

	/* A connected unix stream socket is fine, once. */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
	EXPECT_EQ(0, tnl_attach(&self->nl, id, sp[0]));
	EXPECT_EQ(-EBUSY, tnl_attach(&self->nl, id, sp[1]));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "already"));

	close(udp);
	close(tcp);
	close(lst);
	close(pfd[0]);
	close(pfd[1]);
	close(sp[0]);
	close(sp[1]);
}

TEST_F(nl, devstate_put_rules)
{
	static char big[PCMIG_DEVSTATE_CHUNK + 1];
	uint32_t src, dst;
	struct tnl_req r;
	struct tnl_session s;

	ASSERT_EQ(0, tnl_new(&self->nl, PCMIG_ROLE_SOURCE, 0, &src));
	ASSERT_EQ(0, tnl_new(&self->nl, PCMIG_ROLE_DESTINATION, 0, &dst));
	ASSERT_EQ(0, tnl_devstate_put(&self->nl, src, "abcd", 4));
	ASSERT_EQ(0, tnl_get(&self->nl, src, &s));
	EXPECT_EQ(4u, s.devstate_size);

	/* Out-of-order piece. */
	tnl_req_init(&self->nl, &r, PCMIG_CMD_DEVSTATE_PUT, false);
	tnl_put_u32(&r, PCMIG_A_SESSION_ID, src);
	tnl_put_u64(&r, PCMIG_A_OFFSET, 100);
	tnl_put(&r, PCMIG_A_DATA, "x", 1);
	EXPECT_EQ(-EINVAL, tnl_call(&self->nl, &r, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "in order"));

	/* A piece larger than the policy allows. */
	tnl_req_init(&self->nl, &r, PCMIG_CMD_DEVSTATE_PUT, false);
	tnl_put_u32(&r, PCMIG_A_SESSION_ID, src);
	tnl_put_u64(&r, PCMIG_A_OFFSET, 4);
	tnl_put(&r, PCMIG_A_DATA, big, sizeof(big));
	EXPECT_EQ(-ERANGE, tnl_call(&self->nl, &r, NULL, NULL));

	/* Destinations receive device state, they are not given it. */
	EXPECT_EQ(-EINVAL, tnl_devstate_put(&self->nl, dst, "abcd", 4));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "source"));
}

/* Rule S3 outside a running migration. */
TEST_F(nl, start_postcopy_outside_migration)
{
	struct tnl_session s;
	uint32_t plain, pc;

	ASSERT_EQ(0, tnl_new(&self->nl, PCMIG_ROLE_SOURCE, 0, &plain));
	EXPECT_EQ(-EINVAL, tnl_simple(&self->nl, PCMIG_CMD_START_POSTCOPY, plain));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "postcopy capability"));

	ASSERT_EQ(0, tnl_new(&self->nl, PCMIG_ROLE_SOURCE,
			     1 << PCMIG_CAP_POSTCOPY_BITMAPS, &pc));
	/* Before start: recorded, harmless. */
	EXPECT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START_POSTCOPY, pc));
	ASSERT_EQ(0, tnl_get(&self->nl, pc, &s));
	EXPECT_TRUE(s.postcopy_requested);
	EXPECT_EQ(PCMIG_PHASE_SETUP, s.phase);

	/* After the end (here: cancelled): harmless, even without a cap. */
	EXPECT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_CANCEL, pc));
	EXPECT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START_POSTCOPY, pc));
	EXPECT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_CANCEL, plain));
	EXPECT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START_POSTCOPY, plain));
	/* Cancel twice is harmless too. */
	EXPECT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_CANCEL, pc));
	ASSERT_EQ(0, tnl_get(&self->nl, pc, &s));
	EXPECT_EQ(PCMIG_PHASE_CANCELLED, s.phase);
}

TEST_F(nl, caps_frozen_after_start_refused_before)
{
	struct tnl_req r;
	uint32_t id;
	int sp[2];

	ASSERT_EQ(0, tnl_new(&self->nl, PCMIG_ROLE_DESTINATION, 0, &id));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
	ASSERT_EQ(0, tnl_attach(&self->nl, id, sp[0]));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, id));
	EXPECT_EQ(-EBUSY, tnl_simple(&self->nl, PCMIG_CMD_START, id));

	tnl_req_init(&self->nl, &r, PCMIG_CMD_SESSION_SET, false);
	tnl_put_u32(&r, PCMIG_A_SESSION_ID, id);
	tnl_put_u32(&r, PCMIG_A_CAPS, 1);
	EXPECT_EQ(-EBUSY, tnl_call(&self->nl, &r, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "before start"));
	close(sp[0]);
	close(sp[1]);
	/* The peer went away: the destination fails, naming the cause. */
	EXPECT_EQ(PCMIG_PHASE_FAILED,
		  tnl_wait_phase(&self->nl, id, PCMIG_PHASE_FAILED, 5000));
}

/* A bitmap op with @node (and @bitmap, if not NULL) and one extra u32. */
static int bitmap_call(struct tnl *nl, uint8_t cmd, const char *node,
		       const char *bitmap, uint16_t type, uint32_t v, size_t len)
{
	struct tnl_req r;

	tnl_req_init(nl, &r, cmd, false);
	if (node)
		tnl_put_str(&r, PCMIG_A_NODE, node);
	if (bitmap)
		tnl_put_str(&r, PCMIG_A_BITMAP, bitmap);
	if (len)
		tnl_put(&r, type, &v, len);
	return tnl_call(nl, &r, NULL, NULL);
}

TEST_F(nl, bitmap_ops_refuse_bad_attributes_with_message)
{
	char longname[PCMIG_NAME_MAX + 2];

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';

	EXPECT_EQ(-EINVAL, bitmap_call(&self->nl, PCMIG_CMD_BITMAP_ADD, NULL,
				       "b", 0, 0, 0));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "node is required"));
	EXPECT_EQ(-ENODEV, bitmap_call(&self->nl, PCMIG_CMD_BITMAP_ADD,
				       "pcmig-no-such-node", "b", 0, 0, 0));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "no pcmig block node"));
	EXPECT_EQ(-EINVAL, bitmap_call(&self->nl, PCMIG_CMD_BITMAP_ADD,
				       "x", NULL, 0, 0, 0));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "bitmap is required"));

	/* Policy: bounds checked before any node is looked up. */
	EXPECT_GT(0, bitmap_call(&self->nl, PCMIG_CMD_BITMAP_ADD, longname,
				 "b", 0, 0, 0));
	EXPECT_NE(0, self->nl.errmsg[0]);
	EXPECT_GT(0, bitmap_call(&self->nl, PCMIG_CMD_BITMAP_ADD, "x",
				 longname, 0, 0, 0));
	EXPECT_NE(0, self->nl.errmsg[0]);
	EXPECT_GT(0, bitmap_call(&self->nl, PCMIG_CMD_BITMAP_ADD, "x", "b",
				 PCMIG_A_GRANULARITY, 256, 4));
	EXPECT_NE(0, self->nl.errmsg[0]);
	EXPECT_GT(0, bitmap_call(&self->nl, PCMIG_CMD_BITMAP_ADD, "x", "b",
				 PCMIG_A_ENABLED, 2, 1));
	EXPECT_NE(0, self->nl.errmsg[0]);
	EXPECT_GT(0, bitmap_call(&self->nl, PCMIG_CMD_BITMAP_SET, "x", "b",
				 PCMIG_A_GRANULARITY, 4096, 4));
	EXPECT_NE(0, self->nl.errmsg[0]) TH_LOG("an attribute SET does not take");
	EXPECT_EQ(-EINVAL, bitmap_call(&self->nl, PCMIG_CMD_BITMAP_SET, "x",
				       "b", 0, 0, 0));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "enabled is required"));
}

/* SESSION_NEW with @n mappings from @map (src, dst pairs; NULL: left out). */
static int new_with_map(struct tnl *nl, const char *const (*map)[2],
			unsigned int n)
{
	struct tnl_req r;
	unsigned int i;

	tnl_req_init(nl, &r, PCMIG_CMD_SESSION_NEW, false);
	tnl_put_u32(&r, PCMIG_A_ROLE, PCMIG_ROLE_DESTINATION);
	for (i = 0; i < n; i++) {
		struct nlattr *nest = tnl_nest_start(&r, PCMIG_A_BITMAP_MAP);

		if (map[i][0])
			tnl_put_str(&r, PCMIG_A_NODE, map[i][0]);
		if (map[i][1])
			tnl_put_str(&r, PCMIG_A_NODE_DST, map[i][1]);
		tnl_nest_end(&r, nest);
	}
	return tnl_call(nl, &r, NULL, NULL);
}

TEST_F(nl, bitmap_map_checked)
{
	static const char *const good[][2] = { { "a", "b" }, { "c", "d" } };
	static const char *const no_dst[][2] = { { "a", NULL } };
	static const char *const empty[][2] = { { "a", "" } };
	static const char *const twice_src[][2] = { { "a", "b" }, { "a", "c" } };
	static const char *const twice_dst[][2] = { { "a", "b" }, { "c", "b" } };
	const char *(*many)[2];
	char names[PCMIG_BITMAP_MAP_MAX + 1][2][8];
	unsigned int i;

	EXPECT_EQ(0, new_with_map(&self->nl, good, 2));
	EXPECT_EQ(-EINVAL, new_with_map(&self->nl, no_dst, 1));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "needs node and node-dst"));
	EXPECT_EQ(-EINVAL, new_with_map(&self->nl, empty, 1));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "empty node name"));
	EXPECT_EQ(-EINVAL, new_with_map(&self->nl, twice_src, 2));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "names a node twice"));
	EXPECT_EQ(-EINVAL, new_with_map(&self->nl, twice_dst, 2));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "names a node twice"));

	many = calloc(PCMIG_BITMAP_MAP_MAX + 1, sizeof(*many));
	ASSERT_NE(NULL, many);
	for (i = 0; i <= PCMIG_BITMAP_MAP_MAX; i++) {
		snprintf(names[i][0], sizeof(names[i][0]), "s%u", i);
		snprintf(names[i][1], sizeof(names[i][1]), "d%u", i);
		many[i][0] = names[i][0];
		many[i][1] = names[i][1];
	}
	EXPECT_EQ(0, new_with_map(&self->nl, many, PCMIG_BITMAP_MAP_MAX));
	EXPECT_EQ(-E2BIG, new_with_map(&self->nl, many,
				       PCMIG_BITMAP_MAP_MAX + 1));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "more than 64"));
	free(many);
}

TEST_HARNESS_MAIN
