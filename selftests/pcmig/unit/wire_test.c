// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the pcmig stream codec and receive-side checker
 * (kmod/wire.c, specified in Documentation/pcmig/stream.rst, rule S12).
 *
 * Streams are built with the codec's put_ helpers (stream_builder.h) and
 * fed to pcmig_rx_preamble() / pcmig_rx_frame_hdr() / pcmig_rx_frame()
 * the way the kernel receiver does: preamble, then per frame the 8-byte
 * header, then exactly f.length payload bytes (copied to a heap buffer of
 * exactly that size so ASan sees any read beyond it), stopping at the
 * first error.  The device-state model buffer is allocated at the size
 * the stream announced and written at the offsets the checker returns.
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "stream_builder.h"

#define MAX_ACTS	256

struct act_rec {
	enum pcmig_rx_act act;
	u64 arg;
	u32 len;
};

struct feed {
	struct pcmig_rx rx;
	int err;		/* 0, or the first error */
	const char *why;	/* set with err */
	int err_frame;		/* frame index of the error; -1: preamble */
	int frames_ok;		/* frames accepted */
	bool truncated;		/* the bytes ended inside a frame */
	bool ended;		/* an end action was returned */
	struct act_rec acts[MAX_ACTS];
	int nacts;
	u8 *dev;		/* model of the destination's device state */
	u64 dev_size;
	u64 dev_next;		/* next offset expected from the checker */
	bool dev_alloc;
	bool dev_complete;
};

static bool act_ends(enum pcmig_rx_act a)
{
	return a == PCMIG_RX_EOS || a == PCMIG_RX_CANCELLED ||
	       a == PCMIG_RX_COMPLETE || a == PCMIG_RX_PEER_FAILED;
}

static void feed_free(struct feed *fd)
{
	free(fd->dev);
	fd->dev = NULL;
}

/*
 * Run @buf through a fresh receiver.  Asserts the checker's contract on
 * the way (error => negative errno, reason set, no action), and the
 * device-state invariants the kernel receiver relies on.
 */
static void feed(struct __test_metadata *_metadata, struct feed *fd,
		 const u8 *buf, size_t len, bool return_path, u32 want_caps)
{
	size_t pos = PCMIG_WIRE_PREAMBLE_LEN;
	const char *why;
	int ret;

	memset(fd, 0, sizeof(*fd));
	pcmig_rx_init(&fd->rx, return_path);
	fd->err_frame = -2;

	ASSERT_GE(len, PCMIG_WIRE_PREAMBLE_LEN);
	why = NULL;
	ret = pcmig_rx_preamble(&fd->rx, buf, want_caps, &why);
	if (ret) {
		EXPECT_LT(ret, 0);
		ASSERT_NE(NULL, why);
		EXPECT_FALSE(fd->rx.preamble_seen);
		fd->err = ret;
		fd->why = why;
		fd->err_frame = -1;
		return;
	}
	ASSERT_TRUE(fd->rx.preamble_seen);

	while (pos < len) {
		struct pcmig_wire_frame f;
		enum pcmig_rx_act act = (enum pcmig_rx_act)-1;
		u64 arg = 0xdeadbeefULL;
		u8 *payload;

		if (len - pos < PCMIG_WIRE_FRAME_HDR_LEN) {
			fd->truncated = true;
			return;
		}
		why = NULL;
		ret = pcmig_rx_frame_hdr(&fd->rx, buf + pos, &f, &why);
		pos += PCMIG_WIRE_FRAME_HDR_LEN;
		if (ret) {
			EXPECT_LT(ret, 0);
			ASSERT_NE(NULL, why);
			fd->err = ret;
			fd->why = why;
			fd->err_frame = fd->frames_ok;
			return;
		}
		/* The header check bounds every receive buffer. */
		ASSERT_LE(f.length, PCMIG_WIRE_FRAME_MAX);
		if (len - pos < f.length) {
			fd->truncated = true;
			return;
		}
		payload = malloc(f.length);
		ASSERT_TRUE(payload || !f.length);
		if (f.length)
			memcpy(payload, buf + pos, f.length);
		pos += f.length;

		why = NULL;
		ret = pcmig_rx_frame(&fd->rx, &f, payload, &act, &arg, &why);
		if (ret) {
			free(payload);
			EXPECT_LT(ret, 0);
			ASSERT_NE(NULL, why);
			/* Never an action with (or past) an error. */
			EXPECT_EQ(PCMIG_RX_NONE, act);
			fd->err = ret;
			fd->why = why;
			fd->err_frame = fd->frames_ok;
			return;
		}
		/* No action after an end action. */
		ASSERT_FALSE(fd->ended);
		ASSERT_LT(fd->nacts, MAX_ACTS);
		fd->acts[fd->nacts].act = act;
		fd->acts[fd->nacts].arg = arg;
		fd->acts[fd->nacts].len = f.length;
		fd->nacts++;
		fd->frames_ok++;

		switch (act) {
		case PCMIG_RX_DEV_ALLOC:
			ASSERT_FALSE(fd->dev_alloc);
			ASSERT_LE(arg, PCMIG_DEVSTATE_MAX);
			fd->dev_alloc = true;
			fd->dev_size = arg;
			fd->dev = malloc(arg);
			ASSERT_TRUE(fd->dev || !arg);
			break;
		case PCMIG_RX_DEV_DATA:
			ASSERT_TRUE(fd->dev_alloc);
			ASSERT_FALSE(fd->dev_complete);
			/* Offsets are cumulative and stay inside the blob. */
			ASSERT_EQ(fd->dev_next, arg);
			ASSERT_LE(f.length, fd->dev_size);
			ASSERT_LE(arg, fd->dev_size - f.length);
			memcpy(fd->dev + arg, payload, f.length);
			fd->dev_next += f.length;
			break;
		case PCMIG_RX_DEV_DONE:
			ASSERT_TRUE(fd->dev_alloc);
			ASSERT_EQ(fd->dev_size, fd->dev_next);
			fd->dev_complete = true;
			break;
		case PCMIG_RX_EOS:
			ASSERT_TRUE(fd->dev_complete);
			break;
		default:
			break;
		}
		if (act_ends(act))
			fd->ended = true;
		free(payload);
	}
}

/* Feed @s and require acceptance of every frame. */
#define FEED_OK(fd, s, rp, caps) do {					\
	feed(_metadata, (fd), (s)->b, (s)->n, (rp), (caps));		\
	if ((fd)->err)							\
		TH_LOG("rejected at frame %d: %d %s", (fd)->err_frame,	\
		       (fd)->err, (fd)->why);				\
	ASSERT_EQ(0, (fd)->err);					\
	ASSERT_FALSE((fd)->truncated);					\
	ASSERT_EQ((s)->frames, (fd)->frames_ok);			\
} while (0)

/* Feed @s and require rejection exactly at frame @idx (-1: preamble). */
#define FEED_BAD(fd, s, rp, caps, idx) do {				\
	feed(_metadata, (fd), (s)->b, (s)->n, (rp), (caps));		\
	ASSERT_LT((fd)->err, 0);					\
	ASSERT_NE(NULL, (fd)->why);					\
	EXPECT_EQ((idx), (fd)->err_frame);				\
	if ((idx) >= 0)							\
		EXPECT_EQ((idx), (fd)->nacts);				\
	if (getenv("PCMIG_UNIT_VERBOSE"))				\
		TH_LOG("rejected as expected: %s", (fd)->why);		\
} while (0)

#define ACT_IS(fd, i, a, g) do {					\
	EXPECT_EQ((a), (fd)->acts[i].act);				\
	EXPECT_EQ((u64)(g), (fd)->acts[i].arg);				\
} while (0)

static const u32 all_caps[] = {
	0,
	1U << PCMIG_CAP_POSTCOPY_RAM,
	1U << PCMIG_CAP_POSTCOPY_BITMAPS,
	PCMIG_CAPS_POSTCOPY,
};

#define CAP_RAM		(1U << PCMIG_CAP_POSTCOPY_RAM)

/* ------------------------------------------------------------------ */
/* Codec                                                               */
/* ------------------------------------------------------------------ */

TEST(put_preamble_layout)
{
	static const u8 want[PCMIG_WIRE_PREAMBLE_LEN] = {
		'P', 'C', 'M', 'G', 0, PCMIG_STREAM_VERSION, 0, 16,
		0, 0, 0, 3, 0, 0, 0, 0,
	};
	u8 b[PCMIG_WIRE_PREAMBLE_LEN];

	memset(b, 0xa5, sizeof(b));
	pcmig_wire_put_preamble(b, PCMIG_WIRE_MAGIC, PCMIG_CAPS_POSTCOPY);
	EXPECT_EQ(0, memcmp(b, want, sizeof(b)));
	pcmig_wire_put_preamble(b, PCMIG_WIRE_RP_MAGIC, 0);
	EXPECT_EQ(0, memcmp(b, "PCMR", 4));
	EXPECT_EQ(0, get_unaligned_be32(b + 8));
}

TEST(put_frame_layout)
{
	static const u8 want[PCMIG_WIRE_FRAME_HDR_LEN] = {
		2, 2, 0, 0, 0x01, 0x02, 0x03, 0x04,
	};
	struct pcmig_wire_frame f;
	struct pcmig_rx rx;
	const char *why = NULL;
	u8 b[PCMIG_WIRE_FRAME_HDR_LEN];

	memset(b, 0xa5, sizeof(b));
	pcmig_wire_put_frame(b, PCMIG_SEC_DEVICE, PCMIG_DEV_DATA, 0x01020304);
	EXPECT_EQ(0, memcmp(b, want, sizeof(b)));

	/* ...and the header parser reads back what was written. */
	pcmig_rx_init(&rx, false);
	rx.preamble_seen = true;
	pcmig_wire_put_frame(b, PCMIG_SEC_DEVICE, PCMIG_DEV_DATA, 1234);
	ASSERT_EQ(0, pcmig_rx_frame_hdr(&rx, b, &f, &why));
	EXPECT_EQ(PCMIG_SEC_DEVICE, f.section);
	EXPECT_EQ(PCMIG_DEV_DATA, f.type);
	EXPECT_EQ(0, f.flags);
	EXPECT_EQ(1234, f.length);
}

TEST(rx_init_state)
{
	struct pcmig_rx rx;

	memset(&rx, 0xff, sizeof(rx));
	pcmig_rx_init(&rx, true);
	EXPECT_TRUE(rx.return_path);
	EXPECT_FALSE(rx.preamble_seen);
	EXPECT_FALSE(rx.ended);
	EXPECT_FALSE(rx.dev_begun);
	EXPECT_FALSE(rx.dev_done);
	EXPECT_EQ(0, rx.dev_size);
	EXPECT_EQ(0, rx.dev_received);
	EXPECT_EQ(PCMIG_PHASE_PRECOPY, rx.phase);
	pcmig_rx_init(&rx, false);
	EXPECT_FALSE(rx.return_path);
}

/* ------------------------------------------------------------------ */
/* Valid streams                                                       */
/* ------------------------------------------------------------------ */

TEST(valid_empty_devstate)
{
	struct feed fd;
	struct sb s;
	size_t i;

	for (i = 0; i < sizeof(all_caps) / sizeof(all_caps[0]); i++) {
		sb_init(&s);
		sb_fwd(&s, all_caps[i]);
		sb_begin(&s, 0);
		sb_end(&s);
		sb_phase(&s, PCMIG_PHASE_STOPPED);
		sb_eos(&s);
		FEED_OK(&fd, &s, false, all_caps[i]);
		ASSERT_EQ(4, fd.nacts);
		ACT_IS(&fd, 0, PCMIG_RX_DEV_ALLOC, 0);
		ACT_IS(&fd, 1, PCMIG_RX_DEV_DONE, 0);
		ACT_IS(&fd, 2, PCMIG_RX_PHASE, PCMIG_PHASE_STOPPED);
		ACT_IS(&fd, 3, PCMIG_RX_EOS, 0);
		EXPECT_TRUE(fd.ended);
		EXPECT_TRUE(fd.rx.ended);
		feed_free(&fd);
		sb_free(&s);
	}
}

/* Device state cut in frames of @chunk bytes, sent around the stop. */
static void devstate_stream(struct __test_metadata *_metadata, u32 size,
			    u32 chunk, u32 frames_before_stop)
{
	u8 *blob = malloc(size ? size : 1);
	struct feed fd;
	struct sb s;
	u32 off, n = 0, ndata = 0;
	int i;

	ASSERT_NE(NULL, blob);
	sb_pattern(blob, size, size ^ chunk);
	sb_init(&s);
	sb_fwd(&s, 0);
	if (!frames_before_stop)
		sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_begin(&s, size);
	for (off = 0; off < size; off += chunk) {
		u32 l = size - off < chunk ? size - off : chunk;

		if (frames_before_stop && n++ == frames_before_stop)
			sb_phase(&s, PCMIG_PHASE_STOPPED);
		sb_data(&s, blob + off, l);
		ndata++;
	}
	sb_end(&s);
	if (frames_before_stop && n <= frames_before_stop)
		sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_eos(&s);

	FEED_OK(&fd, &s, false, 0);
	EXPECT_TRUE(fd.dev_complete);
	EXPECT_EQ(size, fd.dev_size);
	EXPECT_EQ(size, fd.dev_next);
	EXPECT_EQ(0, memcmp(fd.dev, blob, size));
	/* Offsets: 0, chunk, 2*chunk, ... */
	off = 0;
	for (i = 0; i < fd.nacts; i++) {
		if (fd.acts[i].act != PCMIG_RX_DEV_DATA)
			continue;
		EXPECT_EQ(off, fd.acts[i].arg);
		off += fd.acts[i].len;
		ndata--;
	}
	EXPECT_EQ(0, ndata);
	EXPECT_EQ(PCMIG_RX_EOS, fd.acts[fd.nacts - 1].act);
	feed_free(&fd);
	sb_free(&s);
	free(blob);
}

TEST(valid_devstate_in_precopy)
{
	devstate_stream(_metadata, 10000, 3000, 1000);	/* all before stop */
	devstate_stream(_metadata, 1, 1, 1000);
	devstate_stream(_metadata, 4096, 4096, 1000);
	devstate_stream(_metadata, 3 * PCMIG_WIRE_FRAME_MAX + 7,
			PCMIG_WIRE_FRAME_MAX, 1000);
}

TEST(valid_devstate_in_stopped)
{
	devstate_stream(_metadata, 10000, 3000, 0);
	devstate_stream(_metadata, 257, 16, 0);
}

TEST(valid_devstate_across_stop)
{
	devstate_stream(_metadata, 10000, 1000, 4);
	devstate_stream(_metadata, 10, 1, 1);
}

TEST(valid_devstate_max_size_begin)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, PCMIG_DEVSTATE_MAX);
	FEED_OK(&fd, &s, false, 0);
	ACT_IS(&fd, 0, PCMIG_RX_DEV_ALLOC, PCMIG_DEVSTATE_MAX);
	feed_free(&fd);
	sb_free(&s);
}

TEST(valid_postcopy_with_cap)
{
	u8 blob[100];
	struct feed fd;
	struct sb s;
	size_t i;

	sb_pattern(blob, sizeof(blob), 7);
	for (i = 1; i < sizeof(all_caps) / sizeof(all_caps[0]); i++) {
		sb_init(&s);
		sb_fwd(&s, all_caps[i]);
		sb_devstate(&s, blob, sizeof(blob), 30);
		sb_phase(&s, PCMIG_PHASE_STOPPED);
		sb_phase(&s, PCMIG_PHASE_POSTCOPY);
		sb_eos(&s);
		FEED_OK(&fd, &s, false, all_caps[i]);
		ASSERT_EQ(9, fd.nacts);
		ACT_IS(&fd, 6, PCMIG_RX_PHASE, PCMIG_PHASE_STOPPED);
		ACT_IS(&fd, 7, PCMIG_RX_PHASE, PCMIG_PHASE_POSTCOPY);
		ACT_IS(&fd, 8, PCMIG_RX_EOS, 0);
		EXPECT_EQ(0, memcmp(fd.dev, blob, sizeof(blob)));
		feed_free(&fd);
		sb_free(&s);
	}
}

TEST(valid_devstate_in_stopped_then_postcopy)
{
	u8 blob[5] = "abcde";
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, CAP_RAM);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_devstate(&s, blob, sizeof(blob), 2);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, CAP_RAM);
	feed_free(&fd);
	sb_free(&s);
}

TEST(valid_cancel_with_reason)
{
	char reason[PCMIG_WIRE_REASON_MAX + 1];
	struct feed fd;
	struct sb s;

	memset(reason, 'x', PCMIG_WIRE_REASON_MAX);
	reason[PCMIG_WIRE_REASON_MAX] = 0;

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 10);
	sb_cancel(&s, reason);
	FEED_OK(&fd, &s, false, 0);
	ACT_IS(&fd, 1, PCMIG_RX_CANCELLED, 0);
	EXPECT_EQ(PCMIG_WIRE_REASON_MAX, fd.acts[1].len);
	feed_free(&fd);
	sb_free(&s);

	/* Empty reason, right after the preamble. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_cancel(&s, "");
	FEED_OK(&fd, &s, false, 0);
	ACT_IS(&fd, 0, PCMIG_RX_CANCELLED, 0);
	feed_free(&fd);
	sb_free(&s);
}

TEST(valid_return_path)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_rp(&s, CAP_RAM);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_ack(&s, PCMIG_PHASE_POSTCOPY);
	sb_complete(&s);
	FEED_OK(&fd, &s, true, CAP_RAM);
	ASSERT_EQ(3, fd.nacts);
	ACT_IS(&fd, 0, PCMIG_RX_ACK, PCMIG_PHASE_STOPPED);
	ACT_IS(&fd, 1, PCMIG_RX_ACK, PCMIG_PHASE_POSTCOPY);
	ACT_IS(&fd, 2, PCMIG_RX_COMPLETE, 0);
	EXPECT_TRUE(fd.rx.ended);
	feed_free(&fd);
	sb_free(&s);

	/* Without postcopy: ACK STOPPED, COMPLETE. */
	sb_init(&s);
	sb_rp(&s, 0);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_complete(&s);
	FEED_OK(&fd, &s, true, 0);
	ACT_IS(&fd, 1, PCMIG_RX_COMPLETE, 0);
	feed_free(&fd);
	sb_free(&s);
}

TEST(valid_return_path_fail)
{
	char reason[PCMIG_WIRE_REASON_MAX + 1];
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_rp(&s, CAP_RAM);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_fail(&s, "out of memory");
	FEED_OK(&fd, &s, true, CAP_RAM);
	ACT_IS(&fd, 1, PCMIG_RX_PEER_FAILED, 0);
	EXPECT_EQ(strlen("out of memory"), fd.acts[1].len);
	EXPECT_TRUE(fd.rx.ended);
	feed_free(&fd);
	sb_free(&s);

	memset(reason, 'r', PCMIG_WIRE_REASON_MAX);
	reason[PCMIG_WIRE_REASON_MAX] = 0;
	sb_init(&s);
	sb_rp(&s, 0);
	sb_fail(&s, reason);
	FEED_OK(&fd, &s, true, 0);
	ACT_IS(&fd, 0, PCMIG_RX_PEER_FAILED, 0);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_rp(&s, 0);
	sb_fail(&s, "");
	FEED_OK(&fd, &s, true, 0);
	feed_free(&fd);
	sb_free(&s);
}

/* ------------------------------------------------------------------ */
/* Preamble                                                            */
/* ------------------------------------------------------------------ */

static int try_preamble(const u8 *b, bool rp, u32 want, const char **why)
{
	struct pcmig_rx rx;
	int ret;

	pcmig_rx_init(&rx, rp);
	*why = NULL;
	ret = pcmig_rx_preamble(&rx, b, want, why);
	if (ret && rx.preamble_seen)
		return 1;	/* must never happen: caught by callers */
	return ret;
}

#define PRE_BAD(b, rp, want) do {					\
	const char *__why;						\
	int __r = try_preamble((b), (rp), (want), &__why);		\
	EXPECT_LT(__r, 0);						\
	EXPECT_NE(NULL, __why);						\
} while (0)

TEST(preamble_ok)
{
	u8 b[PCMIG_WIRE_PREAMBLE_LEN];
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(all_caps) / sizeof(all_caps[0]); i++) {
		pcmig_wire_put_preamble(b, PCMIG_WIRE_MAGIC, all_caps[i]);
		EXPECT_EQ(0, try_preamble(b, false, all_caps[i], &why));
		pcmig_wire_put_preamble(b, PCMIG_WIRE_RP_MAGIC, all_caps[i]);
		EXPECT_EQ(0, try_preamble(b, true, all_caps[i], &why));
	}
}

TEST(preamble_bad_magic)
{
	u8 b[PCMIG_WIRE_PREAMBLE_LEN];
	int i;

	/* Each direction's magic is wrong for the other. */
	pcmig_wire_put_preamble(b, PCMIG_WIRE_RP_MAGIC, 0);
	PRE_BAD(b, false, 0);
	pcmig_wire_put_preamble(b, PCMIG_WIRE_MAGIC, 0);
	PRE_BAD(b, true, 0);
	pcmig_wire_put_preamble(b, 0, 0);
	PRE_BAD(b, false, 0);
	/* Every single-bit corruption of the magic. */
	for (i = 0; i < 32; i++) {
		pcmig_wire_put_preamble(b, PCMIG_WIRE_MAGIC ^ (1U << i), 0);
		PRE_BAD(b, false, 0);
	}
	/* Byte-swapped (little-endian sender). */
	pcmig_wire_put_preamble(b, 0x474d4350, 0);
	PRE_BAD(b, false, 0);
}

TEST(preamble_wrong_version)
{
	static const u16 bad[] = { 0, PCMIG_STREAM_VERSION + 1, 0x0100, 0xffff };
	u8 b[PCMIG_WIRE_PREAMBLE_LEN];
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pcmig_wire_put_preamble(b, PCMIG_WIRE_MAGIC, 0);
		put_unaligned_be16(bad[i], b + 4);
		EXPECT_EQ(-EPROTONOSUPPORT, try_preamble(b, false, 0, &why));
		EXPECT_NE(NULL, why);
	}
}

TEST(preamble_bad_length)
{
	static const u16 bad[] = { 0, 8, 15, 17, 24, 0x1000, 0xffff };
	u8 b[PCMIG_WIRE_PREAMBLE_LEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pcmig_wire_put_preamble(b, PCMIG_WIRE_MAGIC, 0);
		put_unaligned_be16(bad[i], b + 6);
		PRE_BAD(b, false, 0);
		pcmig_wire_put_preamble(b, PCMIG_WIRE_RP_MAGIC, 0);
		put_unaligned_be16(bad[i], b + 6);
		PRE_BAD(b, true, 0);
	}
}

TEST(preamble_reserved_nonzero)
{
	u8 b[PCMIG_WIRE_PREAMBLE_LEN];
	int i;

	for (i = 12; i < 16; i++) {
		pcmig_wire_put_preamble(b, PCMIG_WIRE_MAGIC, 0);
		b[i] = 1;
		PRE_BAD(b, false, 0);
		pcmig_wire_put_preamble(b, PCMIG_WIRE_RP_MAGIC, 0);
		b[i] = 0x80;
		PRE_BAD(b, true, 0);
	}
}

TEST(preamble_unknown_caps)
{
	u8 b[PCMIG_WIRE_PREAMBLE_LEN];
	int i;

	for (i = __PCMIG_CAP_COUNT; i < 32; i++) {
		u32 caps = 1U << i;

		pcmig_wire_put_preamble(b, PCMIG_WIRE_MAGIC, caps);
		/* Rejected even if the session "wants" them. */
		PRE_BAD(b, false, caps);
		PRE_BAD(b, false, 0);
		pcmig_wire_put_preamble(b, PCMIG_WIRE_MAGIC,
					caps | PCMIG_CAPS_POSTCOPY);
		PRE_BAD(b, false, PCMIG_CAPS_POSTCOPY);
	}
}

TEST(preamble_caps_mismatch)
{
	u8 b[PCMIG_WIRE_PREAMBLE_LEN];
	size_t i, j;

	for (i = 0; i < sizeof(all_caps) / sizeof(all_caps[0]); i++)
		for (j = 0; j < sizeof(all_caps) / sizeof(all_caps[0]); j++) {
			if (i == j)
				continue;
			pcmig_wire_put_preamble(b, PCMIG_WIRE_MAGIC,
						all_caps[i]);
			PRE_BAD(b, false, all_caps[j]);
			pcmig_wire_put_preamble(b, PCMIG_WIRE_RP_MAGIC,
						all_caps[i]);
			PRE_BAD(b, true, all_caps[j]);
		}
}

TEST(preamble_twice)
{
	u8 b[PCMIG_WIRE_PREAMBLE_LEN];
	struct pcmig_rx rx;
	const char *why = NULL;
	struct feed fd;
	struct sb s;

	/* Called twice by a confused receiver. */
	pcmig_wire_put_preamble(b, PCMIG_WIRE_MAGIC, 0);
	pcmig_rx_init(&rx, false);
	ASSERT_EQ(0, pcmig_rx_preamble(&rx, b, 0, &why));
	EXPECT_LT(pcmig_rx_preamble(&rx, b, 0, &why), 0);
	EXPECT_NE(NULL, why);
	EXPECT_TRUE(rx.preamble_seen);

	/* Sent twice: the second is read as a frame header and refused. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_fwd(&s, 0);
	FEED_BAD(&fd, &s, false, 0, 0);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_rp(&s, 0);
	sb_rp(&s, 0);
	FEED_BAD(&fd, &s, true, 0, 0);
	feed_free(&fd);
	sb_free(&s);
}

TEST(frame_before_preamble)
{
	u8 h[PCMIG_WIRE_FRAME_HDR_LEN], p[PCMIG_WIRE_PREAMBLE_LEN];
	struct pcmig_wire_frame f;
	struct pcmig_rx rx;
	const char *why;

	pcmig_rx_init(&rx, false);
	pcmig_wire_put_frame(h, PCMIG_SEC_CONTROL, PCMIG_CTL_EOS, 0);
	why = NULL;
	EXPECT_LT(pcmig_rx_frame_hdr(&rx, h, &f, &why), 0);
	EXPECT_NE(NULL, why);

	pcmig_rx_init(&rx, true);
	pcmig_wire_put_frame(h, PCMIG_SEC_RETURN, PCMIG_RET_COMPLETE, 0);
	why = NULL;
	EXPECT_LT(pcmig_rx_frame_hdr(&rx, h, &f, &why), 0);
	EXPECT_NE(NULL, why);

	/* A refused preamble does not open the stream either. */
	pcmig_rx_init(&rx, false);
	pcmig_wire_put_preamble(p, PCMIG_WIRE_MAGIC, CAP_RAM);
	EXPECT_LT(pcmig_rx_preamble(&rx, p, 0, &why), 0);
	why = NULL;
	EXPECT_LT(pcmig_rx_frame_hdr(&rx, h, &f, &why), 0);
	EXPECT_NE(NULL, why);
}

/* ------------------------------------------------------------------ */
/* Frame headers                                                       */
/* ------------------------------------------------------------------ */

static int hdr(bool rp, u8 sec, u8 type, u16 flags, u32 len,
	       const char **why)
{
	u8 h[PCMIG_WIRE_FRAME_HDR_LEN];
	struct pcmig_wire_frame f;
	struct pcmig_rx rx;

	pcmig_rx_init(&rx, rp);
	rx.preamble_seen = true;
	pcmig_wire_put_frame(h, sec, type, len);
	put_unaligned_be16(flags, h + 2);
	*why = NULL;
	return pcmig_rx_frame_hdr(&rx, h, &f, why);
}

#define HDR_OK(rp, sec, type, len) do {					\
	const char *__why;						\
	EXPECT_EQ(0, hdr((rp), (sec), (type), 0, (len), &__why));	\
} while (0)

#define HDR_BAD(rp, sec, type, flags, len) do {				\
	const char *__why;						\
	int __r = hdr((rp), (sec), (type), (flags), (len), &__why);	\
	EXPECT_LT(__r, 0);						\
	EXPECT_NE(NULL, __why);						\
	if (__r >= 0)							\
		TH_LOG("accepted sec %#x type %#x flags %#x len %u",	\
		       (sec), (type), (flags), (u32)(len));		\
} while (0)

TEST(hdr_nonzero_flags)
{
	int i;

	for (i = 0; i < 16; i++) {
		HDR_BAD(false, PCMIG_SEC_CONTROL, PCMIG_CTL_EOS, 1U << i, 0);
		HDR_BAD(false, PCMIG_SEC_DEVICE, PCMIG_DEV_DATA, 1U << i, 1);
		HDR_BAD(true, PCMIG_SEC_RETURN, PCMIG_RET_COMPLETE, 1U << i, 0);
	}
	HDR_BAD(false, PCMIG_SEC_CONTROL, PCMIG_CTL_EOS, 0xffff, 0);
}

TEST(hdr_unknown_section)
{
	int sec;

	for (sec = 0; sec < 256; sec++) {
		if (sec != PCMIG_SEC_CONTROL && sec != PCMIG_SEC_DEVICE) {
			HDR_BAD(false, sec, 1, 0, 0);
			HDR_BAD(false, sec, 2, 0, 4);
		}
		if (sec != PCMIG_SEC_RETURN) {
			HDR_BAD(true, sec, 1, 0, 4);
			HDR_BAD(true, sec, 2, 0, 0);
		}
	}
}

TEST(hdr_unknown_type)
{
	int t;

	for (t = 0; t < 256; t++) {
		if (t < PCMIG_CTL_PHASE || t > PCMIG_CTL_CANCEL)
			HDR_BAD(false, PCMIG_SEC_CONTROL, t, 0, 0);
		if (t < PCMIG_DEV_BEGIN || t > PCMIG_DEV_END)
			HDR_BAD(false, PCMIG_SEC_DEVICE, t, 0, 0);
		if (t < PCMIG_RET_ACK || t > PCMIG_RET_FAIL)
			HDR_BAD(true, PCMIG_SEC_RETURN, t, 0, 0);
	}
}

/* [min, max] payload length of each frame type. */
static const struct {
	bool rp;
	u8 sec, type;
	u32 min, max;
} len_bounds[] = {
	{ false, PCMIG_SEC_CONTROL, PCMIG_CTL_PHASE, 4, 4 },
	{ false, PCMIG_SEC_CONTROL, PCMIG_CTL_EOS, 0, 0 },
	{ false, PCMIG_SEC_CONTROL, PCMIG_CTL_CANCEL, 0, PCMIG_WIRE_REASON_MAX },
	{ false, PCMIG_SEC_DEVICE, PCMIG_DEV_BEGIN, 8, 8 },
	{ false, PCMIG_SEC_DEVICE, PCMIG_DEV_DATA, 1, PCMIG_WIRE_FRAME_MAX },
	{ false, PCMIG_SEC_DEVICE, PCMIG_DEV_END, 0, 0 },
	{ true, PCMIG_SEC_RETURN, PCMIG_RET_ACK, 4, 4 },
	{ true, PCMIG_SEC_RETURN, PCMIG_RET_COMPLETE, 0, 0 },
	{ true, PCMIG_SEC_RETURN, PCMIG_RET_FAIL, 0, PCMIG_WIRE_REASON_MAX },
};

TEST(hdr_length_bounds)
{
	size_t i;

	for (i = 0; i < sizeof(len_bounds) / sizeof(len_bounds[0]); i++) {
		bool rp = len_bounds[i].rp;
		u8 sec = len_bounds[i].sec, type = len_bounds[i].type;
		u32 min = len_bounds[i].min, max = len_bounds[i].max;

		HDR_OK(rp, sec, type, min);
		HDR_OK(rp, sec, type, max);
		if (min)
			HDR_BAD(rp, sec, type, 0, min - 1);
		if (min > 1)
			HDR_BAD(rp, sec, type, 0, 0);
		HDR_BAD(rp, sec, type, 0, max + 1);
		HDR_BAD(rp, sec, type, 0, max + 4);
		HDR_BAD(rp, sec, type, 0, PCMIG_WIRE_FRAME_MAX + 1);
		HDR_BAD(rp, sec, type, 0, 0x80000000U);
		HDR_BAD(rp, sec, type, 0, 0xffffffffU);
	}
}

TEST(hdr_length_errno)
{
	const char *why;

	EXPECT_EQ(-EMSGSIZE, hdr(false, PCMIG_SEC_DEVICE, PCMIG_DEV_DATA, 0,
				 PCMIG_WIRE_FRAME_MAX + 1, &why));
	EXPECT_EQ(-EMSGSIZE, hdr(false, PCMIG_SEC_DEVICE, PCMIG_DEV_DATA, 0,
				 0, &why));
	EXPECT_EQ(-EMSGSIZE, hdr(true, PCMIG_SEC_RETURN, PCMIG_RET_ACK, 0,
				 5, &why));
}

/* Lengths in a whole stream: the bad header stops it at that frame. */
TEST(stream_length_bounds)
{
	u8 big[PCMIG_WIRE_FRAME_MAX + 1];
	struct feed fd;
	struct sb s;

	memset(big, 0, sizeof(big));

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, sizeof(big));
	sb_data(&s, big, PCMIG_WIRE_FRAME_MAX + 1);
	FEED_BAD(&fd, &s, false, 0, 1);
	EXPECT_EQ(-EMSGSIZE, fd.err);
	feed_free(&fd);
	sb_free(&s);

	/* A PHASE frame of 3 bytes followed by more bytes: refused at hdr. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_frame(&s, PCMIG_SEC_CONTROL, PCMIG_CTL_PHASE, "\0\0\3", 3);
	sb_eos(&s);
	FEED_BAD(&fd, &s, false, 0, 0);
	feed_free(&fd);
	sb_free(&s);

	/* EOS with a payload. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_frame(&s, PCMIG_SEC_CONTROL, PCMIG_CTL_EOS, "x", 1);
	FEED_BAD(&fd, &s, false, 0, 3);
	feed_free(&fd);
	sb_free(&s);

	/* DEV_END with a payload. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 0);
	sb_frame(&s, PCMIG_SEC_DEVICE, PCMIG_DEV_END, "\0", 1);
	FEED_BAD(&fd, &s, false, 0, 1);
	feed_free(&fd);
	sb_free(&s);

	/* COMPLETE with a payload. */
	sb_init(&s);
	sb_rp(&s, 0);
	sb_frame(&s, PCMIG_SEC_RETURN, PCMIG_RET_COMPLETE, "\0\0\0\0", 4);
	FEED_BAD(&fd, &s, true, 0, 0);
	feed_free(&fd);
	sb_free(&s);
}

/* ------------------------------------------------------------------ */
/* Device state                                                        */
/* ------------------------------------------------------------------ */

TEST(data_past_announced_size)
{
	u8 blob[64];
	struct feed fd;
	struct sb s;

	sb_pattern(blob, sizeof(blob), 1);

	/* One byte too many in the first frame. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 10);
	sb_data(&s, blob, 11);
	FEED_BAD(&fd, &s, false, 0, 1);
	EXPECT_EQ(-EMSGSIZE, fd.err);
	EXPECT_EQ(0, fd.rx.dev_received);
	feed_free(&fd);
	sb_free(&s);

	/* Crossing the end in a later frame. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 10);
	sb_data(&s, blob, 4);
	sb_data(&s, blob, 4);
	sb_data(&s, blob, 3);
	FEED_BAD(&fd, &s, false, 0, 3);
	EXPECT_EQ(8, fd.rx.dev_received);
	EXPECT_EQ(8, fd.dev_next);
	feed_free(&fd);
	sb_free(&s);

	/* Any data after the blob is full. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 10);
	sb_data(&s, blob, 10);
	sb_data(&s, blob, 1);
	FEED_BAD(&fd, &s, false, 0, 2);
	feed_free(&fd);
	sb_free(&s);

	/* Any data in a blob of size 0. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 0);
	sb_data(&s, blob, 1);
	FEED_BAD(&fd, &s, false, 0, 1);
	feed_free(&fd);
	sb_free(&s);

	/* A full-size frame into a small blob. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, PCMIG_WIRE_FRAME_MAX - 1);
	{
		u8 *big = calloc(1, PCMIG_WIRE_FRAME_MAX);

		ASSERT_NE(NULL, big);
		sb_data(&s, big, PCMIG_WIRE_FRAME_MAX);
		free(big);
	}
	FEED_BAD(&fd, &s, false, 0, 1);
	feed_free(&fd);
	sb_free(&s);

	/* Data after END. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 2);
	sb_data(&s, blob, 2);
	sb_end(&s);
	sb_data(&s, blob, 1);
	FEED_BAD(&fd, &s, false, 0, 3);
	feed_free(&fd);
	sb_free(&s);
}

/* Exhaustive small cases: every split of sizes near the bound. */
TEST(data_offsets_never_exceed_size)
{
	u8 blob[16];
	u32 size, a, b;
	struct feed fd;
	struct sb s;

	sb_pattern(blob, sizeof(blob), 3);
	for (size = 0; size <= 8; size++)
		for (a = 1; a <= 8; a++)
			for (b = 1; b <= 8; b++) {
				bool ok = a + b <= size;

				sb_init(&s);
				sb_fwd(&s, 0);
				sb_begin(&s, size);
				sb_data(&s, blob, a);
				sb_data(&s, blob + a, b);
				feed(_metadata, &fd, s.b, s.n, false, 0);
				if (ok) {
					ASSERT_EQ(0, fd.err);
					ASSERT_EQ(0, memcmp(fd.dev, blob,
							    a + b));
				} else {
					ASSERT_LT(fd.err, 0);
					ASSERT_EQ(a <= size ? 2 : 1,
						  fd.err_frame);
				}
				feed_free(&fd);
				sb_free(&s);
			}
}

TEST(data_before_begin)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_data(&s, "x", 1);
	FEED_BAD(&fd, &s, false, 0, 0);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_data(&s, "x", 1);
	FEED_BAD(&fd, &s, false, 0, 1);
	feed_free(&fd);
	sb_free(&s);

	/* END before BEGIN. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_end(&s);
	FEED_BAD(&fd, &s, false, 0, 0);
	feed_free(&fd);
	sb_free(&s);
}

TEST(begin_twice)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 10);
	sb_begin(&s, 10);
	FEED_BAD(&fd, &s, false, 0, 1);
	EXPECT_EQ(10, fd.rx.dev_size);
	feed_free(&fd);
	sb_free(&s);

	/* Also after the blob completed (a second blob). */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 1);
	sb_data(&s, "x", 1);
	sb_end(&s);
	sb_begin(&s, 1);
	FEED_BAD(&fd, &s, false, 0, 3);
	feed_free(&fd);
	sb_free(&s);

	/* A smaller second BEGIN must not shrink the blob under the data. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 10);
	sb_data(&s, "0123456789", 8);
	sb_begin(&s, 2);
	FEED_BAD(&fd, &s, false, 0, 2);
	EXPECT_EQ(10, fd.rx.dev_size);
	feed_free(&fd);
	sb_free(&s);
}

TEST(begin_too_big)
{
	static const u64 bad[] = {
		PCMIG_DEVSTATE_MAX + 1ULL, 1ULL << 32, 1ULL << 63, U64_MAX,
	};
	struct feed fd;
	struct sb s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sb_init(&s);
		sb_fwd(&s, 0);
		sb_begin(&s, bad[i]);
		FEED_BAD(&fd, &s, false, 0, 0);
		EXPECT_EQ(-EMSGSIZE, fd.err);
		EXPECT_FALSE(fd.rx.dev_begun);
		feed_free(&fd);
		sb_free(&s);
	}
}

TEST(end_early)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 10);
	sb_end(&s);
	FEED_BAD(&fd, &s, false, 0, 1);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 10);
	sb_data(&s, "012345678", 9);
	sb_end(&s);
	FEED_BAD(&fd, &s, false, 0, 2);
	EXPECT_FALSE(fd.rx.dev_done);
	feed_free(&fd);
	sb_free(&s);

	/* END twice. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_end(&s);
	FEED_BAD(&fd, &s, false, 0, 2);
	feed_free(&fd);
	sb_free(&s);
}

/* ------------------------------------------------------------------ */
/* Control: phases and end of stream                                   */
/* ------------------------------------------------------------------ */

TEST(eos_in_precopy)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_eos(&s);
	FEED_BAD(&fd, &s, false, 0, 2);
	EXPECT_FALSE(fd.rx.ended);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_eos(&s);
	FEED_BAD(&fd, &s, false, 0, 0);
	feed_free(&fd);
	sb_free(&s);
}

TEST(eos_before_device_complete)
{
	struct feed fd;
	struct sb s;

	/* No device state at all. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_eos(&s);
	FEED_BAD(&fd, &s, false, 0, 1);
	feed_free(&fd);
	sb_free(&s);

	/* Begun, not complete. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 10);
	sb_data(&s, "01234", 5);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_eos(&s);
	FEED_BAD(&fd, &s, false, 0, 3);
	feed_free(&fd);
	sb_free(&s);

	/* All data, no END. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_begin(&s, 2);
	sb_data(&s, "01", 2);
	sb_eos(&s);
	FEED_BAD(&fd, &s, false, 0, 3);
	feed_free(&fd);
	sb_free(&s);

	/* In postcopy, with the blob half sent before the switch. */
	sb_init(&s);
	sb_fwd(&s, CAP_RAM);
	sb_begin(&s, 2);
	sb_data(&s, "0", 1);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_data(&s, "1", 1);
	sb_end(&s);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, CAP_RAM);
	feed_free(&fd);
	sb_free(&s);
}

TEST(postcopy_without_cap)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	FEED_BAD(&fd, &s, false, 0, 3);
	EXPECT_EQ(PCMIG_PHASE_STOPPED, fd.rx.phase);
	feed_free(&fd);
	sb_free(&s);
}

TEST(postcopy_before_device_complete)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, CAP_RAM);
	sb_begin(&s, 10);
	sb_data(&s, "01234", 5);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	FEED_BAD(&fd, &s, false, CAP_RAM, 3);
	EXPECT_EQ(PCMIG_PHASE_STOPPED, fd.rx.phase);
	feed_free(&fd);
	sb_free(&s);

	/* Complete in size, END not sent. */
	sb_init(&s);
	sb_fwd(&s, CAP_RAM);
	sb_begin(&s, 1);
	sb_data(&s, "0", 1);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	FEED_BAD(&fd, &s, false, CAP_RAM, 3);
	feed_free(&fd);
	sb_free(&s);
}

/*
 * S1: precopy-only state must arrive before the destination CPUs start.
 * A stream with no device state at all must not reach postcopy either
 * (an empty blob is BEGIN 0 + END); otherwise the destination starts
 * its CPUs with no device state, and the stream can never end (EOS
 * needs the blob, device frames are refused in postcopy).
 */
TEST(postcopy_without_any_devstate)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, CAP_RAM);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	feed(_metadata, &fd, s.b, s.n, false, CAP_RAM);
	feed_free(&fd);
	sb_free(&s);
	EXPECT_TRUE(fd.err < 0 && fd.err_frame == 1) TH_LOG("postcopy needs complete device state (S1)");
}

/*
 * Whatever the checker decides about the stream above, no device-state
 * action may ever follow a PHASE POSTCOPY action (S1).  Holds today
 * through the postcopy check in rx_device(), and through the POSTCOPY
 * refusal once the bug above is fixed.
 */
TEST(no_device_action_after_postcopy_action)
{
	struct feed fd;
	struct sb s;
	bool postcopy = false;
	int i;

	sb_init(&s);
	sb_fwd(&s, CAP_RAM);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_eos(&s);
	feed(_metadata, &fd, s.b, s.n, false, CAP_RAM);
	EXPECT_LT(fd.err, 0);
	EXPECT_LE(fd.err_frame, 2);
	for (i = 0; i < fd.nacts; i++) {
		if (fd.acts[i].act == PCMIG_RX_PHASE &&
		    fd.acts[i].arg == PCMIG_PHASE_POSTCOPY)
			postcopy = true;
		else if (postcopy)
			EXPECT_NE(PCMIG_RX_DEV_ALLOC, fd.acts[i].act);
	}
	EXPECT_FALSE(fd.ended);
	feed_free(&fd);
	sb_free(&s);
}

TEST(device_after_postcopy)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, CAP_RAM);
	sb_begin(&s, 1);
	sb_data(&s, "0", 1);
	sb_end(&s);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_begin(&s, 1);
	FEED_BAD(&fd, &s, false, CAP_RAM, 5);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_fwd(&s, CAP_RAM);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_data(&s, "0", 1);
	FEED_BAD(&fd, &s, false, CAP_RAM, 4);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_fwd(&s, CAP_RAM);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_end(&s);
	FEED_BAD(&fd, &s, false, CAP_RAM, 4);
	feed_free(&fd);
	sb_free(&s);
}

/* Every PHASE value from every reachable phase, against the rule. */
TEST(phase_transitions)
{
	static const u32 vals[] = {
		0, PCMIG_PHASE_SETUP, PCMIG_PHASE_PRECOPY, PCMIG_PHASE_STOPPED,
		PCMIG_PHASE_POSTCOPY, PCMIG_PHASE_COMPLETED,
		PCMIG_PHASE_FAILED, PCMIG_PHASE_CANCELLED, 8, 0x100,
		0xffffffff,
	};
	struct feed fd;
	struct sb s;
	size_t i;
	int from;

	/* from: 0 = precopy, 1 = stopped, 2 = postcopy */
	for (from = 0; from < 3; from++)
		for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			bool ok = (from == 0 && vals[i] == PCMIG_PHASE_STOPPED) ||
				  (from == 1 && vals[i] == PCMIG_PHASE_POSTCOPY);

			sb_init(&s);
			sb_fwd(&s, CAP_RAM);
			sb_begin(&s, 0);
			sb_end(&s);
			if (from >= 1)
				sb_phase(&s, PCMIG_PHASE_STOPPED);
			if (from >= 2)
				sb_phase(&s, PCMIG_PHASE_POSTCOPY);
			sb_phase(&s, vals[i]);
			feed(_metadata, &fd, s.b, s.n, false, CAP_RAM);
			if (ok) {
				EXPECT_EQ(0, fd.err);
				ACT_IS(&fd, fd.nacts - 1, PCMIG_RX_PHASE,
				       vals[i]);
			} else {
				EXPECT_LT(fd.err, 0);
				EXPECT_NE(NULL, fd.why);
				EXPECT_EQ(2 + from, fd.err_frame);
				if (fd.err >= 0)
					TH_LOG("phase %u accepted from %d",
					       vals[i], from);
			}
			feed_free(&fd);
			sb_free(&s);
		}
}

TEST(frames_after_end)
{
	struct feed fd;
	struct sb s;

	/* After EOS: any frame, even a valid-looking one. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_eos(&s);
	sb_eos(&s);
	FEED_BAD(&fd, &s, false, 0, 4);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_eos(&s);
	sb_cancel(&s, "late");
	FEED_BAD(&fd, &s, false, 0, 4);
	feed_free(&fd);
	sb_free(&s);

	/* After CANCEL. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_cancel(&s, "bye");
	sb_begin(&s, 0);
	FEED_BAD(&fd, &s, false, 0, 1);
	feed_free(&fd);
	sb_free(&s);

	/* After COMPLETE and after FAIL on the return path. */
	sb_init(&s);
	sb_rp(&s, CAP_RAM);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_complete(&s);
	sb_ack(&s, PCMIG_PHASE_POSTCOPY);
	FEED_BAD(&fd, &s, true, CAP_RAM, 2);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_rp(&s, 0);
	sb_fail(&s, "x");
	sb_complete(&s);
	FEED_BAD(&fd, &s, true, 0, 1);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_rp(&s, 0);
	sb_complete(&s);
	sb_fail(&s, "x");
	FEED_BAD(&fd, &s, true, 0, 1);
	feed_free(&fd);
	sb_free(&s);
}

/* ------------------------------------------------------------------ */
/* Return path                                                         */
/* ------------------------------------------------------------------ */

TEST(rp_ack_invalid_phase)
{
	static const u32 bad[] = {
		0, PCMIG_PHASE_SETUP, PCMIG_PHASE_PRECOPY,
		PCMIG_PHASE_COMPLETED, PCMIG_PHASE_FAILED,
		PCMIG_PHASE_CANCELLED, 8, 0xffffffff,
	};
	struct feed fd;
	struct sb s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sb_init(&s);
		sb_rp(&s, CAP_RAM);
		sb_ack(&s, bad[i]);
		FEED_BAD(&fd, &s, true, CAP_RAM, 0);
		feed_free(&fd);
		sb_free(&s);

		sb_init(&s);
		sb_rp(&s, CAP_RAM);
		sb_ack(&s, PCMIG_PHASE_STOPPED);
		sb_ack(&s, bad[i]);
		FEED_BAD(&fd, &s, true, CAP_RAM, 1);
		feed_free(&fd);
		sb_free(&s);
	}
}

TEST(rp_ack_not_increasing)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_rp(&s, CAP_RAM);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	FEED_BAD(&fd, &s, true, CAP_RAM, 1);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_rp(&s, CAP_RAM);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_ack(&s, PCMIG_PHASE_POSTCOPY);
	sb_ack(&s, PCMIG_PHASE_POSTCOPY);
	FEED_BAD(&fd, &s, true, CAP_RAM, 2);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_rp(&s, CAP_RAM);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_ack(&s, PCMIG_PHASE_POSTCOPY);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	FEED_BAD(&fd, &s, true, CAP_RAM, 2);
	EXPECT_EQ(PCMIG_PHASE_POSTCOPY, fd.rx.phase);
	feed_free(&fd);
	sb_free(&s);
}

/*
 * The forward checker refuses PHASE POSTCOPY without a postcopy
 * capability; the return path should refuse the matching ACK too.
 */
TEST(rp_ack_postcopy_without_cap)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_rp(&s, 0);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_ack(&s, PCMIG_PHASE_POSTCOPY);
	feed(_metadata, &fd, s.b, s.n, true, 0);
	feed_free(&fd);
	sb_free(&s);
	EXPECT_TRUE(fd.err < 0 && fd.err_frame == 1) TH_LOG("no postcopy ack without a postcopy capability");
}

TEST(rp_refuses_forward_sections)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_rp(&s, 0);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	FEED_BAD(&fd, &s, true, 0, 0);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_rp(&s, 0);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_eos(&s);
	FEED_BAD(&fd, &s, true, 0, 1);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_rp(&s, 0);
	sb_begin(&s, 0);
	FEED_BAD(&fd, &s, true, 0, 0);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_rp(&s, 0);
	sb_cancel(&s, "x");
	FEED_BAD(&fd, &s, true, 0, 0);
	feed_free(&fd);
	sb_free(&s);
}

TEST(forward_refuses_return_section)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	FEED_BAD(&fd, &s, false, 0, 0);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_complete(&s);
	FEED_BAD(&fd, &s, false, 0, 3);
	EXPECT_FALSE(fd.rx.ended);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_fail(&s, "x");
	FEED_BAD(&fd, &s, false, 0, 0);
	feed_free(&fd);
	sb_free(&s);
}

/* The return-path preamble is not accepted by a forward receiver. */
TEST(direction_mixup)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_rp(&s, 0);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	FEED_BAD(&fd, &s, false, 0, -1);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_eos(&s);
	FEED_BAD(&fd, &s, true, 0, -1);
	feed_free(&fd);
	sb_free(&s);
}

TEST_HARNESS_MAIN
