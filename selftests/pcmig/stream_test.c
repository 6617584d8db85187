// SPDX-License-Identifier: GPL-2.0
/*
 * The data path of pcmig, end to end inside one host: a source and a
 * destination session joined by a connected socket pair, and hostile
 * streams written by hand at a destination session.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/pcmig_nl.h"
#include "lib/tcp_pair.h"
#include "wire.h"

#define BLOB (3u << 20)	/* spans many frames and netlink pieces */

FIXTURE(pair) {
	struct tnl nl;
	uint32_t src, dst;
	int sp[2];
	unsigned char *blob;
};

FIXTURE_SETUP(pair)
{
	unsigned int i;

	ASSERT_EQ(0, tnl_open(&self->nl));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->sp));
	self->blob = malloc(BLOB);
	ASSERT_NE(NULL, self->blob);
	srandom(42);
	for (i = 0; i < BLOB; i++)
		self->blob[i] = random();
}

FIXTURE_TEARDOWN(pair)
{
	free(self->blob);
	close(self->sp[0]);
	close(self->sp[1]);
	tnl_close(&self->nl);
}

/* Both sessions of a migration over the socket pair; 0 or -errno. */
static int make_pair(FIXTURE_DATA(pair) *self, uint32_t caps, size_t blob)
{
	int err;

	err = tnl_new(&self->nl, PCMIG_ROLE_SOURCE, caps, &self->src);
	if (!err)
		err = tnl_new(&self->nl, PCMIG_ROLE_DESTINATION, caps,
			      &self->dst);
	if (!err && blob)
		err = tnl_devstate_put(&self->nl, self->src, self->blob, blob);
	if (!err)
		err = tnl_attach(&self->nl, self->src, self->sp[0]);
	if (!err)
		err = tnl_attach(&self->nl, self->dst, self->sp[1]);
	return err;
}

static void set_bw(struct tnl *nl, uint32_t id, uint64_t bw)
{
	struct tnl_req r;

	tnl_req_init(nl, &r, PCMIG_CMD_SESSION_SET, false);
	tnl_put_u32(&r, PCMIG_A_SESSION_ID, id);
	tnl_put_u64(&r, PCMIG_A_MAX_BANDWIDTH, bw);
	tnl_call(nl, &r, NULL, NULL);
}

TEST_F(pair, device_state_arrives_intact)
{
	struct tnl_session s, d;
	unsigned char *got = malloc(BLOB);

	ASSERT_NE(NULL, got);
	ASSERT_EQ(0, make_pair(self, 0, BLOB)) TH_LOG("%s", self->nl.errmsg);
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->dst));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->src));
	EXPECT_EQ(PCMIG_PHASE_COMPLETED,
		  tnl_wait_phase(&self->nl, self->src, PCMIG_PHASE_COMPLETED,
				 60000));
	EXPECT_EQ(PCMIG_PHASE_COMPLETED,
		  tnl_wait_phase(&self->nl, self->dst, PCMIG_PHASE_COMPLETED,
				 60000));
	ASSERT_EQ(0, tnl_get(&self->nl, self->src, &s));
	ASSERT_EQ(0, tnl_get(&self->nl, self->dst, &d));
	EXPECT_STREQ("", s.reason);
	EXPECT_STREQ("", d.reason);
	EXPECT_EQ(BLOB, d.devstate_size);
	EXPECT_GT(s.bytes_sent, BLOB);
	EXPECT_EQ(s.bytes_sent, d.bytes_received);
	ASSERT_EQ(BLOB, tnl_devstate_get(&self->nl, self->dst, got, BLOB));
	EXPECT_EQ(0, memcmp(got, self->blob, BLOB));
	free(got);
}

TEST_F(pair, empty_device_state)
{
	ASSERT_EQ(0, make_pair(self, 0, 0));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->src));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->dst));
	EXPECT_EQ(PCMIG_PHASE_COMPLETED,
		  tnl_wait_phase(&self->nl, self->dst, PCMIG_PHASE_COMPLETED,
				 20000));
	EXPECT_EQ(PCMIG_PHASE_COMPLETED,
		  tnl_wait_phase(&self->nl, self->src, PCMIG_PHASE_COMPLETED,
				 20000));
}

/* Rule S3: start-postcopy in every phase of a running migration. */
TEST_F(pair, start_postcopy_in_every_phase)
{
	uint32_t caps = 1 << PCMIG_CAP_POSTCOPY_BITMAPS;
	uint32_t ph;

	ASSERT_EQ(0, make_pair(self, caps, BLOB));
	/* 3 MiB at 2 MiB/s keeps the stopped phase open for a while. */
	set_bw(&self->nl, self->src, 2 << 20);
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->src));
	EXPECT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START_POSTCOPY, self->src));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->dst));
	ph = tnl_wait_phase(&self->nl, self->src, PCMIG_PHASE_STOPPED, 20000);
	EXPECT_EQ(PCMIG_PHASE_STOPPED, ph);
	EXPECT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START_POSTCOPY, self->src));
	EXPECT_EQ(PCMIG_PHASE_COMPLETED,
		  tnl_wait_phase(&self->nl, self->src, PCMIG_PHASE_COMPLETED,
				 60000));
	EXPECT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START_POSTCOPY, self->src));
	EXPECT_EQ(PCMIG_PHASE_COMPLETED,
		  tnl_wait_phase(&self->nl, self->dst, PCMIG_PHASE_COMPLETED,
				 20000));
}

TEST_F(pair, cancel_mid_stream_on_source)
{
	struct tnl_session s, d;

	ASSERT_EQ(0, make_pair(self, 0, BLOB)) TH_LOG("%s", self->nl.errmsg);
	set_bw(&self->nl, self->src, 512 << 10);
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->dst));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->src));
	ASSERT_EQ(PCMIG_PHASE_STOPPED,
		  tnl_wait_phase(&self->nl, self->dst, PCMIG_PHASE_STOPPED,
				 20000));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_CANCEL, self->src));
	EXPECT_EQ(PCMIG_PHASE_CANCELLED,
		  tnl_wait_phase(&self->nl, self->src, PCMIG_PHASE_CANCELLED,
				 10000));
	EXPECT_EQ(PCMIG_PHASE_CANCELLED,
		  tnl_wait_phase(&self->nl, self->dst, PCMIG_PHASE_CANCELLED,
				 10000));
	ASSERT_EQ(0, tnl_get(&self->nl, self->src, &s));
	ASSERT_EQ(0, tnl_get(&self->nl, self->dst, &d));
	EXPECT_STREQ("cancelled by user", s.reason);
	EXPECT_NE(NULL, strstr(d.reason, "cancelled on the source")) TH_LOG("%s", d.reason);
}

TEST_F(pair, cancel_mid_stream_on_destination)
{
	struct tnl_session s;

	ASSERT_EQ(0, make_pair(self, 0, BLOB)) TH_LOG("%s", self->nl.errmsg);
	set_bw(&self->nl, self->src, 512 << 10);
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->dst));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->src));
	ASSERT_EQ(PCMIG_PHASE_STOPPED,
		  tnl_wait_phase(&self->nl, self->dst, PCMIG_PHASE_STOPPED,
				 20000));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_CANCEL, self->dst));
	EXPECT_EQ(PCMIG_PHASE_CANCELLED,
		  tnl_wait_phase(&self->nl, self->dst, PCMIG_PHASE_CANCELLED,
				 10000));
	EXPECT_EQ(PCMIG_PHASE_FAILED,
		  tnl_wait_phase(&self->nl, self->src, PCMIG_PHASE_FAILED,
				 10000));
	ASSERT_EQ(0, tnl_get(&self->nl, self->src, &s));
	TH_LOG("source: %s", s.reason);
	EXPECT_NE(0, s.reason[0]);
}

/* Deleting sessions mid-transfer, as rmmod does, leaves nothing behind. */
TEST_F(pair, destroy_mid_stream)
{
	ASSERT_EQ(0, make_pair(self, 0, BLOB)) TH_LOG("%s", self->nl.errmsg);
	set_bw(&self->nl, self->src, 256 << 10);
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->dst));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->src));
	ASSERT_EQ(PCMIG_PHASE_STOPPED,
		  tnl_wait_phase(&self->nl, self->dst, PCMIG_PHASE_STOPPED,
				 20000));
	EXPECT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_SESSION_DEL, self->src));
	EXPECT_EQ(PCMIG_PHASE_FAILED,
		  tnl_wait_phase(&self->nl, self->dst, PCMIG_PHASE_FAILED,
				 10000));
	EXPECT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_SESSION_DEL, self->dst));
}

/*
 * A destination fed by hand over TCP, as a raw client on the network
 * would: every hostile stream fails the session cleanly with a reason.
 */
FIXTURE(hostile) {
	struct tnl nl;
	uint32_t dst;
	int sp[2];
};

FIXTURE_VARIANT(hostile) {
	const char *expect;	/* part of the destination's reason */
	unsigned char bytes[128];
	size_t len;
	bool close_after;	/* EOF after the bytes (truncation) */
	uint32_t caps;		/* of the destination session */
};

#define PRE(magic, ver, len, caps, rsv)					\
	(magic) >> 24, ((magic) >> 16) & 0xff, ((magic) >> 8) & 0xff,	\
	(magic) & 0xff, 0, (ver), 0, (len), 0, 0, 0, (caps), 0, 0, 0, (rsv)
#define GOOD_PRE PRE(PCMIG_WIRE_MAGIC, 1, 16, 0, 0)
#define BE32(v)								\
	((v) >> 24) & 0xff, ((v) >> 16) & 0xff, ((v) >> 8) & 0xff, (v) & 0xff
#define BE64(v)		BE32((uint64_t)(v) >> 32), BE32((v) & 0xffffffffU)
#define FRAME(sec, type, len) (sec), (type), 0, 0, BE32(len)
/* The bytes of a variant, and their count. */
#define BYTES(...)							\
	.bytes = { __VA_ARGS__ },					\
	.len = sizeof((unsigned char[]){ __VA_ARGS__ })

FIXTURE_VARIANT_ADD(hostile, not_pcmig) {
	.expect = "bad magic",
	.bytes = "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	.len = 27,
};

FIXTURE_VARIANT_ADD(hostile, wrong_version) {
	.expect = "version",
	.bytes = { PRE(PCMIG_WIRE_MAGIC, 9, 16, 0, 0) },
	.len = 16,
};

FIXTURE_VARIANT_ADD(hostile, reserved_set) {
	.expect = "reserved",
	.bytes = { PRE(PCMIG_WIRE_MAGIC, 1, 16, 0, 1) },
	.len = 16,
};

FIXTURE_VARIANT_ADD(hostile, caps_mismatch) {
	.expect = "capabilities",
	.bytes = { PRE(PCMIG_WIRE_MAGIC, 1, 16, 1, 0) },
	.len = 16,
};

FIXTURE_VARIANT_ADD(hostile, truncated_preamble) {
	.expect = "closed",
	.bytes = { 0x50, 0x43, 0x4d },
	.len = 3,
	.close_after = true,
};

FIXTURE_VARIANT_ADD(hostile, unknown_section) {
	.expect = "unknown stream section",
	.bytes = { GOOD_PRE, FRAME(9, 1, 0) },
	.len = 24,
};

FIXTURE_VARIANT_ADD(hostile, unknown_flags) {
	.expect = "flags",
	.bytes = { GOOD_PRE, PCMIG_SEC_CONTROL, PCMIG_CTL_EOS, 0, 1, 0, 0, 0, 0 },
	.len = 24,
};

FIXTURE_VARIANT_ADD(hostile, oversized_length) {
	.expect = "length",
	.bytes = { GOOD_PRE, PCMIG_SEC_DEVICE, PCMIG_DEV_DATA, 0, 0,
		   0x7f, 0xff, 0xff, 0xff },
	.len = 24,
};

FIXTURE_VARIANT_ADD(hostile, device_data_beyond_size) {
	.expect = "beyond",
	.bytes = { GOOD_PRE, FRAME(PCMIG_SEC_DEVICE, PCMIG_DEV_BEGIN, 8),
		   0, 0, 0, 0, 0, 0, 0, 2,
		   FRAME(PCMIG_SEC_DEVICE, PCMIG_DEV_DATA, 3), 1, 2, 3 },
	.len = 16 + 16 + 8 + 3,
};

FIXTURE_VARIANT_ADD(hostile, device_state_too_big) {
	.expect = "larger",
	.bytes = { GOOD_PRE, FRAME(PCMIG_SEC_DEVICE, PCMIG_DEV_BEGIN, 8),
		   0xff, 0, 0, 0, 0, 0, 0, 0 },
	.len = 32,
};

FIXTURE_VARIANT_ADD(hostile, truncated_payload) {
	.expect = "closed",
	.bytes = { GOOD_PRE, FRAME(PCMIG_SEC_DEVICE, PCMIG_DEV_BEGIN, 8),
		   0, 0, 0, 0, 0, 0, 0, 9,
		   FRAME(PCMIG_SEC_DEVICE, PCMIG_DEV_DATA, 9), 1, 2 },
	.len = 16 + 16 + 8 + 2,
	.close_after = true,
};

FIXTURE_VARIANT_ADD(hostile, eos_in_precopy) {
	.expect = "before the stopped phase",
	.bytes = { GOOD_PRE, FRAME(PCMIG_SEC_CONTROL, PCMIG_CTL_EOS, 0) },
	.len = 24,
};

FIXTURE_VARIANT_ADD(hostile, postcopy_without_cap) {
	.expect = "postcopy",
	.bytes = { GOOD_PRE,
		   FRAME(PCMIG_SEC_CONTROL, PCMIG_CTL_PHASE, 4), 0, 0, 0,
		   PCMIG_PHASE_STOPPED,
		   FRAME(PCMIG_SEC_CONTROL, PCMIG_CTL_PHASE, 4), 0, 0, 0,
		   PCMIG_PHASE_POSTCOPY },
	.len = 16 + 24,
};

/*
 * Hostile bitmap sections (PCMIG_SEC_BITMAPS), with the postcopy-bitmaps
 * capability on both sides.  Each frame is refused by the checker, and
 * where possible before any well-formed BM_START: a START is the frame
 * the destination acts on, and the failure must come from the checker,
 * not from what the destination does with the bitmap.
 */
#define CAP_BM		(1U << PCMIG_CAP_POSTCOPY_BITMAPS)
#define BM_PRE		PRE(PCMIG_WIRE_MAGIC, 1, 16, CAP_BM, 0)
#define PHASE(p)	FRAME(PCMIG_SEC_CONTROL, PCMIG_CTL_PHASE, 4), BE32(p)
/* An empty device state: CTL_EOS and postcopy need one. */
#define NO_DEVSTATE	FRAME(PCMIG_SEC_DEVICE, PCMIG_DEV_BEGIN, 8), BE64(0), \
			FRAME(PCMIG_SEC_DEVICE, PCMIG_DEV_END, 0)
/*
 * BM_START or BM_ANNOUNCE of bitmap "b" of node "vda": 64 KiB granules,
 * node size 1 MiB + 1 byte, so 17 bits in one chunk.
 */
#define BM_NAMED(type, gran, flags)					\
	FRAME(PCMIG_SEC_BITMAPS, (type), 19),				\
	3, 'v', 'd', 'a', 1, 'b', BE32(gran), (flags), BE64(1048577)
#define BM_START(flags)	BM_NAMED(PCMIG_BM_START, 65536, (flags))
#define BM_ANNOUNCE	BM_NAMED(PCMIG_BM_ANNOUNCE, 65536, PCMIG_BM_F_ENABLED)
#define BM_CHUNK(type, len, first, nbits)				\
	FRAME(PCMIG_SEC_BITMAPS, (type), (len)), BE64(first), BE32(nbits)

FIXTURE_VARIANT_ADD(hostile, bm_unknown_frame_type) {
	.expect = "bad stream: unknown bitmap frame type",
	.caps = CAP_BM,
	BYTES(BM_PRE, PHASE(PCMIG_PHASE_STOPPED),
	      FRAME(PCMIG_SEC_BITMAPS, PCMIG_BM_ANNOUNCE + 1, 0)),
};

FIXTURE_VARIANT_ADD(hostile, bm_oversized_length) {
	.expect = "bad stream: frame length out of range for its type",
	.caps = CAP_BM,
	BYTES(BM_PRE, PHASE(PCMIG_PHASE_STOPPED),
	      FRAME(PCMIG_SEC_BITMAPS, PCMIG_BM_BITS, PCMIG_BM_BITS_MAX + 1)),
};

FIXTURE_VARIANT_ADD(hostile, bm_start_unknown_flags) {
	.expect = "bad stream: unknown bitmap flags",
	.caps = CAP_BM,
	BYTES(BM_PRE, PHASE(PCMIG_PHASE_STOPPED), BM_START(0x80)),
};

FIXTURE_VARIANT_ADD(hostile, bm_before_stopped) {
	.expect = "bad stream: bitmaps before the stopped phase",
	.caps = CAP_BM,
	BYTES(BM_PRE, NO_DEVSTATE, BM_ANNOUNCE),
};

FIXTURE_VARIANT_ADD(hostile, bm_without_cap) {
	.expect = "bad stream: bitmaps without the postcopy-bitmaps capability",
	BYTES(GOOD_PRE, PHASE(PCMIG_PHASE_STOPPED), BM_ANNOUNCE),
};

FIXTURE_VARIANT_ADD(hostile, bm_announce_bad_granularity) {
	.expect = "bad stream: bad bitmap granularity",
	.caps = CAP_BM,
	BYTES(BM_PRE, PHASE(PCMIG_PHASE_STOPPED),
	      BM_NAMED(PCMIG_BM_ANNOUNCE, 65535, PCMIG_BM_F_ENABLED)),
};

FIXTURE_VARIANT_ADD(hostile, bm_announce_in_postcopy) {
	.expect = "bad stream: bitmap announced after the destination started",
	.caps = CAP_BM,
	BYTES(BM_PRE, PHASE(PCMIG_PHASE_STOPPED), NO_DEVSTATE,
	      PHASE(PCMIG_PHASE_POSTCOPY), BM_ANNOUNCE),
};

FIXTURE_VARIANT_ADD(hostile, bm_announce_after_bm_eos) {
	.expect = "bad stream: bitmap frame after the end of the bitmaps",
	.caps = CAP_BM,
	BYTES(BM_PRE, PHASE(PCMIG_PHASE_STOPPED), BM_ANNOUNCE,
	      FRAME(PCMIG_SEC_BITMAPS, PCMIG_BM_EOS, 0), BM_ANNOUNCE),
};

FIXTURE_VARIANT_ADD(hostile, bm_eos_without_bm_eos) {
	.expect = "bad stream: end of stream before the end of the bitmaps",
	.caps = CAP_BM,
	BYTES(BM_PRE, PHASE(PCMIG_PHASE_STOPPED), NO_DEVSTATE, BM_ANNOUNCE,
	      FRAME(PCMIG_SEC_CONTROL, PCMIG_CTL_EOS, 0)),
};

/* From here on the refused frame needs an open bitmap: a START first. */

FIXTURE_VARIANT_ADD(hostile, bm_truncated_bits) {
	.expect = "bad stream: bitmap chunk data length does not match its bits",
	.caps = CAP_BM,
	BYTES(BM_PRE, PHASE(PCMIG_PHASE_STOPPED), BM_ANNOUNCE,
	      BM_START(PCMIG_BM_F_ENABLED),
	      BM_CHUNK(PCMIG_BM_BITS, 12 + 2, 0, 17), 0x01, 0x00),
};

FIXTURE_VARIANT_ADD(hostile, bm_nbits_past_end) {
	.expect = "bad stream: bad bitmap chunk size",
	.caps = CAP_BM,
	BYTES(BM_PRE, PHASE(PCMIG_PHASE_STOPPED), BM_START(0),
	      BM_CHUNK(PCMIG_BM_BITS, 12 + 3, 0, 24), 0x01, 0x00, 0x80),
};

FIXTURE_VARIANT_ADD(hostile, bm_bits_set_past_end) {
	.expect = "bad stream: bitmap chunk sets bits past its end",
	.caps = CAP_BM,
	BYTES(BM_PRE, PHASE(PCMIG_PHASE_STOPPED), BM_START(0),
	      BM_CHUNK(PCMIG_BM_BITS, 12 + 3, 0, 17), 0x01, 0x00, 0x03),
};

FIXTURE_VARIANT_ADD(hostile, bm_chunk_out_of_order) {
	.expect = "bad stream: bitmap chunk out of order",
	.caps = CAP_BM,
	BYTES(BM_PRE, PHASE(PCMIG_PHASE_STOPPED), BM_START(0),
	      BM_CHUNK(PCMIG_BM_ZEROES, 12, 64, 17)),
};

FIXTURE_VARIANT_ADD(hostile, bm_announce_after_start) {
	.expect = "bad stream: bitmap announced after bitmap data began",
	.caps = CAP_BM,
	BYTES(BM_PRE, PHASE(PCMIG_PHASE_STOPPED), BM_START(0), BM_ANNOUNCE),
};

FIXTURE_VARIANT_ADD(hostile, bm_complete_early) {
	.expect = "bad stream: bitmap completed before all its bits arrived",
	.caps = CAP_BM,
	BYTES(BM_PRE, PHASE(PCMIG_PHASE_STOPPED), BM_START(0),
	      FRAME(PCMIG_SEC_BITMAPS, PCMIG_BM_COMPLETE, 0)),
};

FIXTURE_VARIANT_ADD(hostile, bm_eos_with_bitmap_open) {
	.expect = "bad stream: end of stream while a bitmap is open",
	.caps = CAP_BM,
	BYTES(BM_PRE, PHASE(PCMIG_PHASE_STOPPED), NO_DEVSTATE,
	      BM_START(PCMIG_BM_F_ENABLED),
	      FRAME(PCMIG_SEC_CONTROL, PCMIG_CTL_EOS, 0)),
};

FIXTURE_SETUP(hostile)
{
	ASSERT_EQ(0, tnl_open(&self->nl));
	ASSERT_EQ(0, tcp_pair(self->sp));
	ASSERT_EQ(0, tnl_new(&self->nl, PCMIG_ROLE_DESTINATION, variant->caps,
			     &self->dst));
	ASSERT_EQ(0, tnl_attach(&self->nl, self->dst, self->sp[1]));
	close(self->sp[1]);
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->dst));
}

FIXTURE_TEARDOWN(hostile)
{
	close(self->sp[0]);
	tnl_close(&self->nl);
}

TEST_F(hostile, fails_cleanly_with_reason)
{
	unsigned char rp[PCMIG_WIRE_PREAMBLE_LEN];
	struct tnl_session d;

	/* The destination speaks first on the return path. */
	ASSERT_EQ(sizeof(rp), recv(self->sp[0], rp, sizeof(rp), MSG_WAITALL));
	EXPECT_EQ(0, memcmp(rp, "PCMR", 4));
	ASSERT_EQ(variant->len, write(self->sp[0], variant->bytes, variant->len));
	if (variant->close_after)
		shutdown(self->sp[0], SHUT_WR);
	EXPECT_EQ(PCMIG_PHASE_FAILED,
		  tnl_wait_phase(&self->nl, self->dst, PCMIG_PHASE_FAILED, 10000));
	ASSERT_EQ(0, tnl_get(&self->nl, self->dst, &d));
	TH_LOG("reason: %s", d.reason);
	EXPECT_NE(NULL, strstr(d.reason, variant->expect));
}

TEST_HARNESS_MAIN
