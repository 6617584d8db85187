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
 * the stream announced and written at the offsets the checker returns;
 * guest RAM is modelled as one buffer per range of the RAM layout,
 * written where the checker's actions say, as the destination does
 * (discarded pages become missing again until they come again).
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "stream_builder.h"

#define MAX_ACTS	512
#define MAX_BMS		8
/* Largest bitmap the model stores (bits); bigger ones are only counted. */
#define BM_MODEL_MAX	(1ULL << 24)
/* Largest guest RAM the model stores (bytes); bigger is only counted. */
#define RAM_MODEL_MAX	(16ULL << 20)
/* What the RAM model holds where nothing (or a discard) was written. */
#define RAM_POISON	0xee

#define CAP_RAM		(1U << PCMIG_CAP_POSTCOPY_RAM)

/* A bitmap as the destination rebuilt it from the stream. */
struct bm_rec {
	struct pcmig_rx_bitmap bm;	/* rx->bm at BM_START */
	u64 *words;		/* exactly ceil(nbits / 64) words, or NULL */
	u64 next;		/* next bit expected from the checker */
	u32 nbits_chunks, nzero_chunks;
	u32 last_nbits;		/* bits of the last chunk */
	bool complete;
};

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
	struct pcmig_rx_bitmap anns[MAX_BMS];	/* rx->bm at each ANNOUNCE */
	int nanns;
	struct bm_rec bms[MAX_BMS];	/* bitmaps in stream order */
	int nbms;
	bool bm_open;		/* bms[nbms - 1] is open */
	bool bm_eos;
	/* Guest RAM as the destination rebuilt it. */
	bool ram_layout;	/* RAM_LAYOUT accepted */
	u32 nranges;
	struct pcmig_ram_range ranges[PCMIG_RAM_RANGES_MAX];
	u8 *mem[PCMIG_RAM_RANGES_MAX];	/* each range's bytes, or NULL */
	u32 ram_pages;		/* RAM_PAGE frames */
	u32 ram_runs;		/* RAM_ZERO frames */
	u64 ram_zero_pages;	/* pages of the RAM_ZERO frames */
	u32 ram_discards;	/* RAM_DISCARD frames */
	u64 ram_discard_pages;	/* pages of the RAM_DISCARD frames */
	u32 ram_stopped;	/* RAM frames in the stopped phase */
	u32 ram_postcopy;	/* RAM frames in postcopy */
	u32 ram_outside;	/* pages or runs not inside one range */
	/* Return path: the page requests (rule S5). */
	u32 reqs;		/* RET_PAGE_REQ frames */
	u64 req_pages;		/* pages they asked for */
};

static bool act_ends(enum pcmig_rx_act a)
{
	return a == PCMIG_RX_EOS || a == PCMIG_RX_CANCELLED ||
	       a == PCMIG_RX_COMPLETE || a == PCMIG_RX_PEER_FAILED;
}

static void feed_free(struct feed *fd)
{
	int i;

	free(fd->dev);
	fd->dev = NULL;
	for (i = 0; i < fd->nbms; i++) {
		free(fd->bms[i].words);
		fd->bms[i].words = NULL;
	}
	fd->nbms = 0;
	for (i = 0; i < (int)fd->nranges; i++) {
		free(fd->mem[i]);
		fd->mem[i] = NULL;
	}
	fd->nranges = 0;
}

static u64 nwords(u64 nbits)
{
	return nbits / 64 + (nbits % 64 != 0);
}

/* What BM_START and BM_ANNOUNCE leave in rx->bm: a well-formed bitmap. */
static void bm_fields_ok(struct __test_metadata *_metadata,
			 const struct pcmig_rx_bitmap *bm)
{
	ASSERT_GT(bm->node_size, 0);
	ASSERT_GE(strlen(bm->node), 1);
	ASSERT_GE(strlen(bm->name), 1);
	ASSERT_EQ(bm->nbits, pcmig_wire_bm_nbits(bm->node_size,
						 bm->granularity));
	ASSERT_EQ(0, bm->next);
}

/*
 * Bitmap actions, applied the way the destination does: OR each chunk's
 * data words at first / 64 into a model of exactly ceil(nbits / 64)
 * words (ASan catches any write past it).
 */
static void feed_bm(struct __test_metadata *_metadata, struct feed *fd,
		    const struct pcmig_wire_frame *f, const u8 *payload,
		    enum pcmig_rx_act act, u64 arg)
{
	struct bm_rec *r = fd->nbms ? &fd->bms[fd->nbms - 1] : NULL;
	u32 nbits, w;

	/* S8: postcopy-only state, and only with its capability. */
	ASSERT_TRUE(fd->rx.caps & (1U << PCMIG_CAP_POSTCOPY_BITMAPS));
	ASSERT_TRUE(fd->rx.phase == PCMIG_PHASE_STOPPED ||
		    fd->rx.phase == PCMIG_PHASE_POSTCOPY);
	ASSERT_FALSE(fd->bm_eos);
	switch (act) {
	case PCMIG_RX_BM_ANNOUNCE:
		/*
		 * Only while the destination is stopped and before any
		 * bitmap data; it names a bitmap but opens none.
		 */
		ASSERT_EQ(PCMIG_PHASE_STOPPED, fd->rx.phase);
		ASSERT_EQ(0, fd->nbms);
		ASSERT_FALSE(fd->bm_open);
		ASSERT_FALSE(fd->rx.bm_open);
		ASSERT_LT(fd->nanns, MAX_BMS);
		bm_fields_ok(_metadata, &fd->rx.bm);
		fd->anns[fd->nanns++] = fd->rx.bm;
		break;
	case PCMIG_RX_BM_START:
		ASSERT_FALSE(fd->bm_open);
		ASSERT_LT(fd->nbms, MAX_BMS);
		r = &fd->bms[fd->nbms++];
		memset(r, 0, sizeof(*r));
		r->bm = fd->rx.bm;
		bm_fields_ok(_metadata, &r->bm);
		if (r->bm.nbits <= BM_MODEL_MAX) {
			r->words = calloc(nwords(r->bm.nbits), sizeof(u64));
			ASSERT_NE(NULL, r->words);
		}
		fd->bm_open = true;
		break;
	case PCMIG_RX_BM_BITS:
	case PCMIG_RX_BM_ZEROES:
		ASSERT_TRUE(fd->bm_open);
		ASSERT_EQ(r->next, arg);
		ASSERT_EQ(0, arg % 64);
		nbits = get_unaligned_be32(payload + 8);
		ASSERT_GT(nbits, 0);
		ASSERT_LE(nbits, r->bm.nbits - arg);
		if (act == PCMIG_RX_BM_ZEROES) {
			ASSERT_EQ(PCMIG_BM_CHUNK_HDR, f->length);
			r->nzero_chunks++;
		} else {
			ASSERT_EQ(PCMIG_BM_CHUNK_HDR + (nbits + 7) / 8,
				  f->length);
			r->nbits_chunks++;
			for (w = 0; r->words && w < nwords(nbits); w++)
				r->words[arg / 64 + w] |= pcmig_wire_bm_get_word(
					payload + PCMIG_BM_CHUNK_HDR, nbits, w);
		}
		r->next += nbits;
		r->last_nbits = nbits;
		break;
	case PCMIG_RX_BM_COMPLETE:
		ASSERT_TRUE(fd->bm_open);
		ASSERT_EQ(r->bm.nbits, r->next);
		/* Nothing was ORed past the bitmap's last bit. */
		if (r->words && r->bm.nbits % 64)
			ASSERT_EQ(0, r->words[r->bm.nbits / 64] >>
				     (r->bm.nbits % 64));
		r->complete = true;
		fd->bm_open = false;
		break;
	default: /* PCMIG_RX_BM_EOS */
		ASSERT_FALSE(fd->bm_open);
		fd->bm_eos = true;
		break;
	}
}

/* The range of the layout holding @gpa, as pcmig_vm_find() does; or -1. */
static int ram_find(const struct feed *fd, u64 gpa)
{
	u32 i;

	for (i = 0; i < fd->nranges; i++)
		if (gpa >= fd->ranges[i].gpa &&
		    gpa - fd->ranges[i].gpa < fd->ranges[i].size)
			return i;
	return -1;
}

/* The model's bytes at @gpa (@len of them in one range), or NULL. */
static const u8 *ram_at(const struct feed *fd, u64 gpa, u64 len)
{
	int i = ram_find(fd, gpa);
	u64 off;

	if (i < 0 || !fd->mem[i])
		return NULL;
	off = gpa - fd->ranges[i].gpa;
	if (len > fd->ranges[i].size - off)
		return NULL;
	return fd->mem[i] + off;
}

/*
 * RAM actions, applied the way the destination does (kmod/ram.c): the
 * layout checked and kept, each page written at its address, each zero
 * run cleared, each discarded run made missing again (RAM_POISON), into
 * buffers of exactly each range's size (ASan catches a write past one).
 * A page or run not inside one range of the layout is the destination's
 * to refuse, not the checker's: it is only counted.
 */
static void feed_ram(struct __test_metadata *_metadata, struct feed *fd,
		     const struct pcmig_wire_frame *f, const u8 *payload,
		     enum pcmig_rx_act act, u64 arg)
{
	struct pcmig_ram_range *r;
	u64 end = 0, total = 0, off;
	bool big = false;
	u32 i, n, pages;
	int k;

	/*
	 * S1, S6: compatible state; after the destination started, only
	 * pages and zero runs, and only with postcopy-ram.  A discard only
	 * while stopped, and only with postcopy-ram.
	 */
	if (fd->rx.phase == PCMIG_PHASE_POSTCOPY) {
		ASSERT_TRUE(fd->rx.caps & CAP_RAM);
		ASSERT_TRUE(act == PCMIG_RX_RAM_PAGE ||
			    act == PCMIG_RX_RAM_ZERO);
		fd->ram_postcopy++;
	}
	if (act == PCMIG_RX_RAM_DISCARD) {
		ASSERT_EQ(PCMIG_PHASE_STOPPED, fd->rx.phase);
		ASSERT_TRUE(fd->rx.caps & CAP_RAM);
	}
	if (fd->rx.phase == PCMIG_PHASE_STOPPED)
		fd->ram_stopped++;
	if (act == PCMIG_RX_RAM_LAYOUT) {
		/* Exactly once, 1..256 ranges, ascending, disjoint. */
		ASSERT_FALSE(fd->ram_layout);
		ASSERT_EQ(0, arg);
		n = pcmig_wire_ram_ranges(payload);
		ASSERT_GE(n, 1);
		ASSERT_LE(n, PCMIG_RAM_RANGES_MAX);
		ASSERT_EQ(4 + n * PCMIG_RAM_RANGE_LEN, f->length);
		for (i = 0; i < n; i++) {
			r = &fd->ranges[i];
			pcmig_wire_ram_range(payload, i, r);
			ASSERT_GT(r->size, 0);
			ASSERT_EQ(0, r->gpa % PCMIG_RAM_PAGE_SIZE);
			ASSERT_EQ(0, r->size % PCMIG_RAM_PAGE_SIZE);
			/* gpa + size fits in 64 bits. */
			ASSERT_LE(r->size, U64_MAX - r->gpa);
			if (i)
				ASSERT_GE(r->gpa, end);
			end = r->gpa + r->size;
			if (r->size > RAM_MODEL_MAX - total)
				big = true;
			else
				total += r->size;
		}
		fd->ram_layout = true;
		fd->nranges = n;
		for (i = 0; i < n && !big; i++) {
			fd->mem[i] = malloc(fd->ranges[i].size);
			ASSERT_NE(NULL, fd->mem[i]);
			memset(fd->mem[i], RAM_POISON, fd->ranges[i].size);
		}
		return;
	}
	/* A page or a run: after the layout, page-aligned, no overflow. */
	ASSERT_TRUE(fd->ram_layout);
	ASSERT_EQ(get_unaligned_be64(payload), arg);
	ASSERT_EQ(0, arg % PCMIG_RAM_PAGE_SIZE);
	if (act == PCMIG_RX_RAM_PAGE) {
		ASSERT_EQ(PCMIG_RAM_PAGE_LEN, f->length);
		pages = 1;
		fd->ram_pages++;
	} else {
		ASSERT_EQ(PCMIG_RAM_RUN_LEN, f->length);
		pages = pcmig_wire_ram_run_pages(payload);
		ASSERT_GE(pages, 1);
		ASSERT_LE((u64)pages * PCMIG_RAM_PAGE_SIZE, U64_MAX - arg);
		if (act == PCMIG_RX_RAM_ZERO) {
			fd->ram_runs++;
			fd->ram_zero_pages += pages;
		} else {
			fd->ram_discards++;
			fd->ram_discard_pages += pages;
		}
	}
	k = ram_find(fd, arg);
	off = k < 0 ? 0 : arg - fd->ranges[k].gpa;
	if (k < 0 ||
	    (u64)pages * PCMIG_RAM_PAGE_SIZE > fd->ranges[k].size - off) {
		fd->ram_outside++;
		return;
	}
	if (!fd->mem[k])
		return;
	if (act == PCMIG_RX_RAM_PAGE)
		memcpy(fd->mem[k] + off, payload + 8, PCMIG_RAM_PAGE_SIZE);
	else
		memset(fd->mem[k] + off,
		       act == PCMIG_RX_RAM_ZERO ? 0 : RAM_POISON,
		       (u64)pages * PCMIG_RAM_PAGE_SIZE);
}

/*
 * Return path: RET_LAYOUT_OK once, then (rule S5) page requests, only
 * with postcopy-ram: 1..PCMIG_RAM_REQ_MAX pages from a page-aligned
 * address, not past 2^64 - 1.  Whether they exist is the source's to
 * judge.
 */
static void feed_rp_ram(struct __test_metadata *_metadata, struct feed *fd,
			const struct pcmig_wire_frame *f, const u8 *payload,
			enum pcmig_rx_act act, u64 arg)
{
	u32 pages;

	ASSERT_TRUE(fd->rx.return_path);
	if (act == PCMIG_RX_LAYOUT_OK) {
		ASSERT_FALSE(fd->ram_layout);
		ASSERT_EQ(0, f->length);
		ASSERT_EQ(0, arg);
		fd->ram_layout = true;
		return;
	}
	ASSERT_TRUE(fd->rx.caps & CAP_RAM);
	ASSERT_TRUE(fd->ram_layout);
	ASSERT_EQ(PCMIG_RAM_RUN_LEN, f->length);
	ASSERT_EQ(get_unaligned_be64(payload), arg);
	ASSERT_EQ(0, arg % PCMIG_RAM_PAGE_SIZE);
	pages = pcmig_wire_ram_run_pages(payload);
	ASSERT_GE(pages, 1);
	ASSERT_LE(pages, PCMIG_RAM_REQ_MAX);
	ASSERT_LE((u64)pages * PCMIG_RAM_PAGE_SIZE, U64_MAX - arg);
	fd->reqs++;
	fd->req_pages += pages;
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
			ASSERT_FALSE(fd->bm_open);
			if (fd->nbms || fd->nanns)
				ASSERT_TRUE(fd->bm_eos);
			break;
		case PCMIG_RX_BM_ANNOUNCE:
		case PCMIG_RX_BM_START:
		case PCMIG_RX_BM_BITS:
		case PCMIG_RX_BM_ZEROES:
		case PCMIG_RX_BM_COMPLETE:
		case PCMIG_RX_BM_EOS:
			feed_bm(_metadata, fd, &f, payload, act, arg);
			break;
		case PCMIG_RX_RAM_LAYOUT:
		case PCMIG_RX_RAM_PAGE:
		case PCMIG_RX_RAM_ZERO:
		case PCMIG_RX_RAM_DISCARD:
			ASSERT_FALSE(fd->rx.return_path);
			feed_ram(_metadata, fd, &f, payload, act, arg);
			break;
		case PCMIG_RX_LAYOUT_OK:
		case PCMIG_RX_PAGE_REQ:
			feed_rp_ram(_metadata, fd, &f, payload, act, arg);
			break;
		default:
			break;
		}
		/* The checker's record of the layout matches the model's. */
		ASSERT_EQ(fd->ram_layout, fd->rx.ram_layout);
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
	EXPECT_FALSE(rx.ram_layout);
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
		HDR_BAD(false, PCMIG_SEC_RAM, PCMIG_RAM_ZERO, 1U << i,
			PCMIG_RAM_RUN_LEN);
		HDR_BAD(false, PCMIG_SEC_RAM, PCMIG_RAM_DISCARD, 1U << i,
			PCMIG_RAM_RUN_LEN);
		HDR_BAD(true, PCMIG_SEC_RETURN, PCMIG_RET_COMPLETE, 1U << i, 0);
		HDR_BAD(true, PCMIG_SEC_RETURN, PCMIG_RET_PAGE_REQ, 1U << i,
			PCMIG_RAM_RUN_LEN);
	}
	HDR_BAD(false, PCMIG_SEC_CONTROL, PCMIG_CTL_EOS, 0xffff, 0);
}

TEST(hdr_unknown_section)
{
	const char *why;
	int sec;

	for (sec = 0; sec < 256; sec++) {
		if (sec != PCMIG_SEC_CONTROL && sec != PCMIG_SEC_DEVICE &&
		    sec != PCMIG_SEC_BITMAPS && sec != PCMIG_SEC_RAM) {
			HDR_BAD(false, sec, 1, 0, 0);
			HDR_BAD(false, sec, 2, 0, 4);
			/* For its section, whatever the length. */
			EXPECT_EQ(-EPROTO, hdr(false, sec, PCMIG_RAM_ZERO, 0,
					       PCMIG_RAM_RUN_LEN, &why));
			EXPECT_STREQ("unknown stream section", why);
		}
		if (sec != PCMIG_SEC_RETURN) {
			HDR_BAD(true, sec, 1, 0, 4);
			HDR_BAD(true, sec, 2, 0, 0);
			EXPECT_EQ(-EPROTO, hdr(true, sec, 1, 0, 4, &why));
			EXPECT_STREQ("unknown return-path section", why);
		}
	}
	/* Each forward section is known, at a length one of its types takes. */
	HDR_OK(false, PCMIG_SEC_CONTROL, PCMIG_CTL_EOS, 0);
	HDR_OK(false, PCMIG_SEC_DEVICE, PCMIG_DEV_END, 0);
	HDR_OK(false, PCMIG_SEC_BITMAPS, PCMIG_BM_EOS, 0);
	HDR_OK(false, PCMIG_SEC_RAM, PCMIG_RAM_ZERO, PCMIG_RAM_RUN_LEN);
}

TEST(hdr_unknown_type)
{
	const char *why;
	int t;

	for (t = 0; t < 256; t++) {
		if (t < PCMIG_CTL_PHASE || t > PCMIG_CTL_CANCEL)
			HDR_BAD(false, PCMIG_SEC_CONTROL, t, 0, 0);
		if (t < PCMIG_DEV_BEGIN || t > PCMIG_DEV_END)
			HDR_BAD(false, PCMIG_SEC_DEVICE, t, 0, 0);
		if (t < PCMIG_RET_ACK || t > PCMIG_RET_PAGE_REQ) {
			HDR_BAD(true, PCMIG_SEC_RETURN, t, 0, 0);
			/* Refused for its type, even at PAGE_REQ's length. */
			EXPECT_EQ(-EPROTO, hdr(true, PCMIG_SEC_RETURN, t, 0,
					       PCMIG_RAM_RUN_LEN, &why));
			EXPECT_STREQ("unknown return-path frame type", why);
		}
		if (t < PCMIG_BM_START || t > PCMIG_BM_ANNOUNCE) {
			HDR_BAD(false, PCMIG_SEC_BITMAPS, t, 0, 0);
			/* Refused for its type, even at a length START takes. */
			EXPECT_EQ(-EPROTO, hdr(false, PCMIG_SEC_BITMAPS, t, 0,
					       PCMIG_BM_START_MIN, &why));
			EXPECT_STREQ("unknown bitmap frame type", why);
		}
		if (t < PCMIG_RAM_LAYOUT || t > PCMIG_RAM_DISCARD) {
			HDR_BAD(false, PCMIG_SEC_RAM, t, 0, 0);
			/* At the lengths of each RAM frame too. */
			EXPECT_EQ(-EPROTO, hdr(false, PCMIG_SEC_RAM, t, 0,
					       PCMIG_RAM_RUN_LEN, &why));
			EXPECT_STREQ("unknown RAM frame type", why);
			EXPECT_EQ(-EPROTO, hdr(false, PCMIG_SEC_RAM, t, 0,
					       PCMIG_RAM_PAGE_LEN, &why));
			EXPECT_STREQ("unknown RAM frame type", why);
			EXPECT_EQ(-EPROTO, hdr(false, PCMIG_SEC_RAM, t, 0,
					       20, &why));
			EXPECT_STREQ("unknown RAM frame type", why);
		}
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
	{ false, PCMIG_SEC_BITMAPS, PCMIG_BM_START, 17, 525 },
	{ false, PCMIG_SEC_BITMAPS, PCMIG_BM_BITS, 13, 12 + 32768 },
	{ false, PCMIG_SEC_BITMAPS, PCMIG_BM_ZEROES, 12, 12 },
	{ false, PCMIG_SEC_BITMAPS, PCMIG_BM_COMPLETE, 0, 0 },
	{ false, PCMIG_SEC_BITMAPS, PCMIG_BM_EOS, 0, 0 },
	{ false, PCMIG_SEC_BITMAPS, PCMIG_BM_ANNOUNCE, 17, 525 },
	{ false, PCMIG_SEC_RAM, PCMIG_RAM_LAYOUT, 20, 4 + 256 * 16 },
	{ false, PCMIG_SEC_RAM, PCMIG_RAM_PAGE, 8 + 4096, 8 + 4096 },
	{ false, PCMIG_SEC_RAM, PCMIG_RAM_ZERO, 12, 12 },
	{ false, PCMIG_SEC_RAM, PCMIG_RAM_DISCARD, 12, 12 },
	{ true, PCMIG_SEC_RETURN, PCMIG_RET_ACK, 4, 4 },
	{ true, PCMIG_SEC_RETURN, PCMIG_RET_COMPLETE, 0, 0 },
	{ true, PCMIG_SEC_RETURN, PCMIG_RET_FAIL, 0, PCMIG_WIRE_REASON_MAX },
	{ true, PCMIG_SEC_RETURN, PCMIG_RET_LAYOUT_OK, 0, 0 },
	{ true, PCMIG_SEC_RETURN, PCMIG_RET_PAGE_REQ, 12, 12 },
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
	EXPECT_EQ(-EMSGSIZE, hdr(false, PCMIG_SEC_RAM, PCMIG_RAM_PAGE, 0,
				 PCMIG_RAM_PAGE_LEN - 1, &why));
	EXPECT_STREQ("frame length out of range for its type", why);
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

	sb_init(&s);
	sb_rp(&s, 0);
	sb_ram_layout1(&s, 0, 4096);
	FEED_BAD(&fd, &s, true, 0, 0);
	EXPECT_STREQ("unknown return-path section", fd.why);
	feed_free(&fd);
	sb_free(&s);

	/* A discard is the source's, even with postcopy-ram. */
	sb_init(&s);
	sb_rp(&s, CAP_RAM);
	sb_layout_ok(&s);
	sb_ram_discard(&s, 0, 1);
	FEED_BAD(&fd, &s, true, CAP_RAM, 1);
	EXPECT_STREQ("unknown return-path section", fd.why);
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

	/* A page request is the destination's, even with postcopy-ram. */
	sb_init(&s);
	sb_fwd(&s, CAP_RAM);
	sb_ram_layout1(&s, 0, 4096);
	sb_page_req(&s, 0, 1);
	FEED_BAD(&fd, &s, false, CAP_RAM, 1);
	EXPECT_STREQ("unknown stream section", fd.why);
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

/* ------------------------------------------------------------------ */
/* Bitmaps section (PCMIG_SEC_BITMAPS)                                 */
/* ------------------------------------------------------------------ */

#define CAP_BM		(1U << PCMIG_CAP_POSTCOPY_BITMAPS)
#define CHUNK		PCMIG_BM_CHUNK_BITS

/* Random bitmap of @nbits bits in the bitmap.h layout (tail bits zero). */
static u64 *rand_words(u64 nbits, u32 seed, u32 density)
{
	u64 n = nwords(nbits), i;
	u64 *w = calloc(n ? n : 1, sizeof(u64));

	if (!w)
		abort();
	for (i = 0; i < nbits; i++) {
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 1000 < density)
			w[i / 64] |= 1ULL << (i % 64);
	}
	return w;
}

/* Preamble, empty device state, stopped: 3 frames. */
static void bm_prefix(struct sb *s, u32 caps)
{
	sb_init(s);
	sb_fwd(s, caps);
	sb_begin(s, 0);
	sb_end(s);
	sb_phase(s, PCMIG_PHASE_STOPPED);
}

TEST(bm_nbits_and_chunks)
{
	EXPECT_EQ(1, pcmig_wire_bm_nbits(1, 512));
	EXPECT_EQ(1, pcmig_wire_bm_nbits(512, 512));
	EXPECT_EQ(2, pcmig_wire_bm_nbits(513, 512));
	EXPECT_EQ(1, pcmig_wire_bm_nbits(U64_MAX, 1U << 31) >> 33);
	EXPECT_EQ(1ULL << 55, pcmig_wire_bm_nbits(U64_MAX, 512));
	EXPECT_EQ(0, CHUNK % 64);
	EXPECT_LE(PCMIG_BM_BITS_MAX, PCMIG_WIRE_FRAME_MAX);
	EXPECT_EQ(CHUNK, pcmig_wire_bm_chunk_bits(2 * CHUNK, 0));
	EXPECT_EQ(CHUNK, pcmig_wire_bm_chunk_bits(2 * CHUNK, CHUNK));
	EXPECT_EQ(1, pcmig_wire_bm_chunk_bits(CHUNK + 1, CHUNK));
	EXPECT_EQ(7, pcmig_wire_bm_chunk_bits(7, 0));
	EXPECT_EQ(CHUNK, pcmig_wire_bm_chunk_bits(U64_MAX, 0));
}

TEST(put_bm_start_layout)
{
	static const u8 want[] = {
		3, 'v', 'd', 'a', 2, 'b', '0', 0, 1, 0, 0, 1,
		0, 0, 0, 1, 0, 0, 0, 1,
	};
	char long_name[PCMIG_NAME_MAX + 2];
	u8 b[PCMIG_BM_START_MAX + 8];

	memset(b, 0xa5, sizeof(b));
	ASSERT_EQ(sizeof(want), pcmig_wire_put_bm_start(b, "vda", "b0", 65536,
							true, 0x100000001ULL));
	EXPECT_EQ(0, memcmp(b, want, sizeof(want)));
	EXPECT_EQ(0xa5, b[sizeof(want)]);
	ASSERT_EQ(sizeof(want), pcmig_wire_put_bm_start(b, "vda", "b0", 65536,
							false, 1));
	EXPECT_EQ(0, b[11]);

	/* Names of 255 bytes fit; empty or 256-byte names do not. */
	memset(long_name, 'x', sizeof(long_name));
	long_name[PCMIG_NAME_MAX] = '\0';
	EXPECT_EQ(PCMIG_BM_START_MAX,
		  pcmig_wire_put_bm_start(b, long_name, long_name, 512, 0, 1));
	EXPECT_EQ(PCMIG_BM_START_MIN,
		  pcmig_wire_put_bm_start(b, "n", "b", 512, 0, 1));
	long_name[PCMIG_NAME_MAX] = 'x';
	long_name[PCMIG_NAME_MAX + 1] = '\0';
	memset(b, 0xa5, sizeof(b));
	EXPECT_EQ(0, pcmig_wire_put_bm_start(b, long_name, "b", 512, 0, 1));
	EXPECT_EQ(0, pcmig_wire_put_bm_start(b, "n", long_name, 512, 0, 1));
	EXPECT_EQ(0, pcmig_wire_put_bm_start(b, "", "b", 512, 0, 1));
	EXPECT_EQ(0, pcmig_wire_put_bm_start(b, "n", "", 512, 0, 1));
	EXPECT_EQ(0xa5, b[0]);
}

/* The wire's bit order is LSB first in each byte, whatever the host. */
TEST(put_bm_bits_layout)
{
	u64 w[2] = { 0x8000000000000201ULL, 0x5ULL };
	u8 b[PCMIG_BM_CHUNK_HDR + 16];
	static const u8 data[] = {
		0x01, 0x02, 0, 0, 0, 0, 0, 0x80, 0x05,
	};

	memset(b, 0xa5, sizeof(b));
	ASSERT_EQ(PCMIG_BM_CHUNK_HDR + 9, pcmig_wire_put_bm_bits(b, w, 0, 67));
	EXPECT_EQ(0, get_unaligned_be64(b));
	EXPECT_EQ(67, get_unaligned_be32(b + 8));
	EXPECT_EQ(0, memcmp(b + PCMIG_BM_CHUNK_HDR, data, sizeof(data)));
	/* Bits past nbits are not sent: bit 66 is cut off at 66 bits. */
	pcmig_wire_put_bm_bits(b, w, 0, 66);
	EXPECT_EQ(0x01, b[PCMIG_BM_CHUNK_HDR + 8]);
	pcmig_wire_put_bm_bits(b, w, 0, 65);
	EXPECT_EQ(0x01, b[PCMIG_BM_CHUNK_HDR + 8]);
	/* An unaligned first bit: bits 9..16 -> 0x01, bits 63..66 -> 0x0b. */
	ASSERT_EQ(PCMIG_BM_CHUNK_HDR + 1, pcmig_wire_put_bm_bits(b, w, 9, 8));
	EXPECT_EQ(9, get_unaligned_be64(b));
	EXPECT_EQ(0x01, b[PCMIG_BM_CHUNK_HDR]);
	pcmig_wire_put_bm_bits(b, w, 63, 4);
	EXPECT_EQ(0x0b, b[PCMIG_BM_CHUNK_HDR]);
	/* ...and the receiver's words read the bytes back. */
	pcmig_wire_put_bm_bits(b, w, 0, 67);
	EXPECT_EQ(w[0], pcmig_wire_bm_get_word(b + 12, 67, 0));
	EXPECT_EQ(w[1], pcmig_wire_bm_get_word(b + 12, 67, 1));

	EXPECT_EQ(PCMIG_BM_CHUNK_HDR, pcmig_wire_put_bm_zeroes(b, 1ULL << 40,
							       CHUNK));
	EXPECT_EQ(1ULL << 40, get_unaligned_be64(b));
	EXPECT_EQ(CHUNK, get_unaligned_be32(b + 8));
}

TEST(bm_chunk_is_zero)
{
	u64 w[3] = { 0, 0, 0 };

	EXPECT_TRUE(pcmig_wire_bm_chunk_is_zero(w, 0, 192));
	w[1] = 1ULL << 10;	/* bit 74 */
	EXPECT_FALSE(pcmig_wire_bm_chunk_is_zero(w, 0, 192));
	EXPECT_FALSE(pcmig_wire_bm_chunk_is_zero(w, 74, 1));
	EXPECT_FALSE(pcmig_wire_bm_chunk_is_zero(w, 70, 5));
	EXPECT_TRUE(pcmig_wire_bm_chunk_is_zero(w, 0, 74));
	EXPECT_TRUE(pcmig_wire_bm_chunk_is_zero(w, 75, 117));
	EXPECT_TRUE(pcmig_wire_bm_chunk_is_zero(w, 60, 14));
}

/* Encode chunks of random bitmaps, decode them as the receiver does. */
TEST(bm_roundtrip)
{
	static const u64 sizes[] = { 1, 7, 8, 9, 63, 64, 65, 1000, CHUNK - 1,
				     CHUNK, CHUNK + 1, 2 * CHUNK + 77 };
	u8 *b = malloc(PCMIG_BM_BITS_MAX);
	size_t i;

	ASSERT_NE(NULL, b);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		u64 nbits = sizes[i], first;
		u64 *src = rand_words(nbits, i + 1, 300);
		u64 *dst = calloc(nwords(nbits), sizeof(u64));
		u32 n, w, len;

		ASSERT_NE(NULL, dst);
		for (first = 0; first < nbits; first += n) {
			n = pcmig_wire_bm_chunk_bits(nbits, first);
			len = pcmig_wire_put_bm_bits(b, src, first, n);
			ASSERT_EQ(PCMIG_BM_CHUNK_HDR + (n + 7) / 8, len);
			ASSERT_LE(len, PCMIG_BM_BITS_MAX);
			if (n % 8)
				EXPECT_EQ(0, b[len - 1] >> (n % 8));
			for (w = 0; w < nwords(n); w++)
				dst[first / 64 + w] |= pcmig_wire_bm_get_word(
					b + PCMIG_BM_CHUNK_HDR, n, w);
		}
		EXPECT_EQ(0, memcmp(src, dst, nwords(nbits) * sizeof(u64)));
		free(src);
		free(dst);
	}
	free(b);
}

/* rx->bm and the model of each bitmap equal what the source sent. */
static void bm_check(struct __test_metadata *_metadata, struct feed *fd,
		     int i, const char *node, const char *name, u32 gran,
		     bool enabled, u64 size, const u64 *words)
{
	struct bm_rec *r = &fd->bms[i];
	u64 nbits = pcmig_wire_bm_nbits(size, gran);

	ASSERT_LT(i, fd->nbms);
	EXPECT_STREQ(node, r->bm.node);
	EXPECT_STREQ(name, r->bm.name);
	EXPECT_EQ(gran, r->bm.granularity);
	EXPECT_EQ(enabled, r->bm.enabled);
	EXPECT_EQ(size, r->bm.node_size);
	EXPECT_EQ(nbits, r->bm.nbits);
	EXPECT_TRUE(r->complete);
	ASSERT_NE(NULL, r->words);
	if (words) {
		EXPECT_EQ(0, memcmp(words, r->words,
				    nwords(nbits) * sizeof(u64)));
	} else {
		EXPECT_TRUE(pcmig_wire_bm_chunk_is_zero(r->words, 0, nbits));
	}
}

TEST(valid_bitmap_all_zero)
{
	struct feed fd;
	struct sb s;

	bm_prefix(&s, CAP_BM);
	ASSERT_EQ(1, sb_bitmap(&s, "vda", "backup", 65536, true,
			       1ULL << 30, NULL));
	sb_bm_eos(&s);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, CAP_BM);
	ASSERT_EQ(8, fd.nacts);
	ACT_IS(&fd, 3, PCMIG_RX_BM_START, 0);
	ACT_IS(&fd, 4, PCMIG_RX_BM_ZEROES, 0);
	ACT_IS(&fd, 5, PCMIG_RX_BM_COMPLETE, 0);
	ACT_IS(&fd, 6, PCMIG_RX_BM_EOS, 0);
	ACT_IS(&fd, 7, PCMIG_RX_EOS, 0);
	bm_check(_metadata, &fd, 0, "vda", "backup", 65536, true, 1ULL << 30,
		 NULL);
	EXPECT_EQ(16384, fd.bms[0].bm.nbits);
	feed_free(&fd);
	sb_free(&s);
}

TEST(valid_bitmap_with_bits)
{
	u64 size = 3 * (u64)CHUNK * 512, nbits = 3 * (u64)CHUNK;
	u64 *w = rand_words(nbits, 5, 2);
	struct feed fd;
	struct sb s;

	/* The middle chunk all zero: BITS, ZEROES, BITS. */
	memset(w + CHUNK / 64, 0, CHUNK / 8);
	bm_prefix(&s, CAP_BM);
	ASSERT_EQ(3, sb_bitmap(&s, "node0", "b", 512, false, size, w));
	sb_bm_eos(&s);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, CAP_BM);
	ACT_IS(&fd, 4, PCMIG_RX_BM_BITS, 0);
	ACT_IS(&fd, 5, PCMIG_RX_BM_ZEROES, CHUNK);
	ACT_IS(&fd, 6, PCMIG_RX_BM_BITS, 2 * CHUNK);
	bm_check(_metadata, &fd, 0, "node0", "b", 512, false, size, w);
	EXPECT_EQ(2, fd.bms[0].nbits_chunks);
	EXPECT_EQ(1, fd.bms[0].nzero_chunks);
	feed_free(&fd);
	sb_free(&s);
	free(w);
}

TEST(valid_several_bitmaps)
{
	u64 *w1 = rand_words(1000, 1, 500), *w2 = rand_words(9, 2, 999);
	struct feed fd;
	struct sb s;

	bm_prefix(&s, CAP_BM);
	sb_bitmap(&s, "vda", "b1", 4096, true, 1000 * 4096, w1);
	sb_bitmap(&s, "vda", "b2", 4096, false, 1000 * 4096, NULL);
	sb_bitmap(&s, "vdb", "b1", 1U << 31, true, 9ULL << 31, w2);
	sb_bm_eos(&s);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, CAP_BM);
	ASSERT_EQ(3, fd.nbms);
	bm_check(_metadata, &fd, 0, "vda", "b1", 4096, true, 1000 * 4096, w1);
	bm_check(_metadata, &fd, 1, "vda", "b2", 4096, false, 1000 * 4096,
		 NULL);
	bm_check(_metadata, &fd, 2, "vdb", "b1", 1U << 31, true, 9ULL << 31,
		 w2);
	feed_free(&fd);
	sb_free(&s);
	free(w1);
	free(w2);
}

TEST(valid_bitmaps_in_postcopy)
{
	u64 *w = rand_words(100, 3, 100);
	u32 caps[] = { CAP_BM, PCMIG_CAPS_POSTCOPY };
	struct feed fd;
	struct sb s;
	size_t i;

	for (i = 0; i < 2; i++) {
		/* Only in postcopy. */
		bm_prefix(&s, caps[i]);
		sb_phase(&s, PCMIG_PHASE_POSTCOPY);
		sb_bitmap(&s, "vda", "b", 512, true, 100 * 512, w);
		sb_bm_eos(&s);
		sb_eos(&s);
		FEED_OK(&fd, &s, false, caps[i]);
		bm_check(_metadata, &fd, 0, "vda", "b", 512, true, 100 * 512,
			 w);
		feed_free(&fd);
		sb_free(&s);

		/* One bitmap in the stopped phase, one in postcopy. */
		bm_prefix(&s, caps[i]);
		sb_bitmap(&s, "vda", "a", 512, true, 100 * 512, w);
		sb_phase(&s, PCMIG_PHASE_POSTCOPY);
		sb_bitmap(&s, "vda", "b", 512, true, 100 * 512, NULL);
		sb_bm_eos(&s);
		sb_eos(&s);
		FEED_OK(&fd, &s, false, caps[i]);
		ASSERT_EQ(2, fd.nbms);
		feed_free(&fd);
		sb_free(&s);
	}
	free(w);
}

/* Bitmaps interleave with the device state in the stopped phase. */
TEST(valid_bitmap_and_devstate_interleaved)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, CAP_BM);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_begin(&s, 2);
	sb_bm_start(&s, "n", "b", 512, true, 512);
	sb_data(&s, "ab", 2);
	sb_bm_zeroes(&s, 0, 1);
	sb_end(&s);
	sb_bm_complete(&s);
	sb_bm_eos(&s);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, CAP_BM);
	feed_free(&fd);
	sb_free(&s);
}

/* Bitmaps whose bits end exactly on, just after, just before a chunk. */
TEST(valid_bitmap_chunk_boundaries)
{
	static const u64 nbits[] = { CHUNK, 2 * CHUNK, CHUNK + 1, CHUNK - 1,
				     CHUNK + 64, 2 * CHUNK - 3 };
	struct feed fd;
	struct sb s;
	size_t i;

	for (i = 0; i < sizeof(nbits) / sizeof(nbits[0]); i++) {
		u64 *w = rand_words(nbits[i], 9 + i, 1);
		u32 chunks = nbits[i] / CHUNK + (nbits[i] % CHUNK != 0);

		/* Make sure the last bit travels. */
		w[(nbits[i] - 1) / 64] |= 1ULL << ((nbits[i] - 1) % 64);
		bm_prefix(&s, CAP_BM);
		ASSERT_EQ(chunks, sb_bitmap(&s, "n", "b", 1024, true,
					    nbits[i] * 1024, w));
		sb_bm_eos(&s);
		sb_eos(&s);
		FEED_OK(&fd, &s, false, CAP_BM);
		bm_check(_metadata, &fd, 0, "n", "b", 1024, true,
			 nbits[i] * 1024, w);
		EXPECT_EQ(chunks, fd.bms[0].nbits_chunks +
				  fd.bms[0].nzero_chunks);
		/* The last chunk's size. */
		EXPECT_EQ(nbits[i] % CHUNK ? nbits[i] % CHUNK : CHUNK,
			  fd.bms[0].last_nbits);
		feed_free(&fd);
		sb_free(&s);
		free(w);
	}
}

/* The last granule is partial: nbits rounds up. */
TEST(valid_bitmap_partial_granule)
{
	static const u64 sizes[] = { 1, 511, 513, 65536 * 3 + 1,
				     (u64)CHUNK * 65536 + 100 };
	struct feed fd;
	struct sb s;
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		u64 nbits = pcmig_wire_bm_nbits(sizes[i], 65536 >> (i & 1 ? 7 : 0));
		u64 *w = rand_words(nbits, i, 10);

		w[(nbits - 1) / 64] |= 1ULL << ((nbits - 1) % 64);
		bm_prefix(&s, CAP_BM);
		sb_bitmap(&s, "n", "b", 65536 >> (i & 1 ? 7 : 0), true,
			  sizes[i], w);
		sb_bm_eos(&s);
		sb_eos(&s);
		FEED_OK(&fd, &s, false, CAP_BM);
		bm_check(_metadata, &fd, 0, "n", "b",
			 65536 >> (i & 1 ? 7 : 0), true, sizes[i], w);
		feed_free(&fd);
		sb_free(&s);
		free(w);
	}
	EXPECT_EQ(2, pcmig_wire_bm_nbits(65537, 65536));
	EXPECT_EQ(1, pcmig_wire_bm_nbits(1, 65536));
}

/* The last chunk covers a number of bits that is not a multiple of 8. */
TEST(valid_bitmap_last_chunk_partial)
{
	u64 nbits = CHUNK + 13;
	u64 *w = rand_words(nbits, 77, 500);
	struct feed fd;
	struct sb s;
	u32 len;

	bm_prefix(&s, CAP_BM);
	sb_bitmap(&s, "n", "b", 512, false, nbits * 512 - 100, w);
	sb_bm_eos(&s);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, CAP_BM);
	bm_check(_metadata, &fd, 0, "n", "b", 512, false, nbits * 512 - 100,
		 w);
	/* acts: ..., BITS(0), BITS(CHUNK) of 13 bits = 2 bytes. */
	ACT_IS(&fd, 5, PCMIG_RX_BM_BITS, CHUNK);
	len = fd.acts[5].len;
	EXPECT_EQ(PCMIG_BM_CHUNK_HDR + 2, len);
	feed_free(&fd);
	sb_free(&s);
	free(w);
}

TEST(valid_bitmap_names_and_limits)
{
	char n255[PCMIG_NAME_MAX + 1];
	struct feed fd;
	struct sb s;

	memset(n255, 'q', PCMIG_NAME_MAX);
	n255[PCMIG_NAME_MAX] = '\0';
	bm_prefix(&s, CAP_BM);
	sb_bitmap(&s, n255, n255, PCMIG_GRANULARITY_MIN, false, 1, NULL);
	sb_bitmap(&s, "\xff\x01", "a b", PCMIG_GRANULARITY_MAX, true,
		  (5ULL << 31) + 1, NULL);
	FEED_OK(&fd, &s, false, CAP_BM);
	ASSERT_EQ(2, fd.nbms);
	EXPECT_STREQ(n255, fd.bms[0].bm.node);
	EXPECT_STREQ(n255, fd.bms[0].bm.name);
	EXPECT_STREQ("\xff\x01", fd.bms[1].bm.node);
	EXPECT_EQ(6, fd.bms[1].bm.nbits);
	EXPECT_EQ(6, fd.bms[1].next);
	EXPECT_TRUE(fd.bms[1].complete);
	feed_free(&fd);
	sb_free(&s);
}

/* BM_EOS is optional without bitmaps, and allowed with none sent. */
TEST(valid_bitmaps_optional_eos)
{
	struct feed fd;
	struct sb s;

	bm_prefix(&s, CAP_BM);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, CAP_BM);
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_eos(&s);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, CAP_BM);
	ACT_IS(&fd, 3, PCMIG_RX_BM_EOS, 0);
	EXPECT_TRUE(fd.rx.bm_ended);
	feed_free(&fd);
	sb_free(&s);
}

/* ---- invalid bitmap streams ---- */

TEST(bm_without_cap)
{
	static const u32 caps[] = { 0, CAP_RAM };
	struct feed fd;
	struct sb s;
	size_t i;

	for (i = 0; i < 2; i++) {
		bm_prefix(&s, caps[i]);
		sb_bm_start(&s, "n", "b", 512, true, 512);
		FEED_BAD(&fd, &s, false, caps[i], 3);
		feed_free(&fd);
		sb_free(&s);

		bm_prefix(&s, caps[i]);
		sb_bm_eos(&s);
		FEED_BAD(&fd, &s, false, caps[i], 3);
		feed_free(&fd);
		sb_free(&s);
	}
}

TEST(bm_in_precopy)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, CAP_BM);
	sb_bm_start(&s, "n", "b", 512, true, 512);
	FEED_BAD(&fd, &s, false, CAP_BM, 0);
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_fwd(&s, CAP_BM);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_bm_eos(&s);
	FEED_BAD(&fd, &s, false, CAP_BM, 2);
	feed_free(&fd);
	sb_free(&s);
}

/* A START payload with the given fields, lengths taken from the names. */
static u32 start_raw(u8 *p, const char *node, u32 nl, const char *name,
		     u32 bl, u32 gran, u8 flags, u64 size)
{
	u32 n = 0;

	p[n++] = nl;
	memcpy(p + n, node, nl);
	n += nl;
	p[n++] = bl;
	memcpy(p + n, name, bl);
	n += bl;
	put_unaligned_be32(gran, p + n);
	n += 4;
	p[n++] = flags;
	put_unaligned_be64(size, p + n);
	return n + 8;
}

/*
 * A START or ANNOUNCE (@type) refused for the reason containing @what,
 * leaving no bitmap behind.
 */
#define NAMED_BAD(type, p, len, what) do {				\
	struct feed __fd;						\
	struct sb __s;							\
	bm_prefix(&__s, CAP_BM);					\
	sb_frame(&__s, PCMIG_SEC_BITMAPS, (type), (p), (len));		\
	FEED_BAD(&__fd, &__s, false, CAP_BM, 3);			\
	EXPECT_NE(NULL, strstr(__fd.why, (what)))			\
		TH_LOG("refused as: %s", __fd.why);			\
	EXPECT_FALSE(__fd.rx.bm_open);					\
	EXPECT_FALSE(__fd.rx.bm_seen);					\
	feed_free(&__fd);						\
	sb_free(&__s);							\
} while (0)

#define NLEN	"bad bitmap node name length"
#define BLEN	"bitmap start length does not match its names"

/* START and ANNOUNCE (@type) share their payload and its checks. */
static void named_fields_bad(struct __test_metadata *_metadata, u8 type)
{
	static const u32 bad_gran[] = { 0, 1, 256, 511, 513, 768, 1536,
					(1U << 31) + 512, 0xffffffffU,
					0x80000001U, 3U << 30 };
	u8 p[PCMIG_BM_START_MAX + 32];
	u32 len;
	size_t i;

	/* Good one, for reference. */
	len = start_raw(p, "vda", 3, "b", 1, 512, 1, 512);
	ASSERT_EQ(PCMIG_BM_START_MIN + 2, len);

	/* Empty names. */
	NAMED_BAD(type, p, start_raw(p, "", 0, "bb", 2, 512, 1, 512), NLEN);
	NAMED_BAD(type, p, start_raw(p, "vda", 3, "", 0, 512, 1, 512), NLEN);
	/* Length disagrees with the names: one byte short, one extra. */
	len = start_raw(p, "vda", 3, "b", 1, 512, 1, 512);
	NAMED_BAD(type, p, len - 1, NLEN);
	p[len] = 0;
	NAMED_BAD(type, p, len + 1, BLEN);
	/* A node length running past the frame. */
	len = start_raw(p, "vda", 3, "bb", 2, 512, 1, 512);
	p[0] = 255;
	NAMED_BAD(type, p, len, NLEN);
	p[0] = len - PCMIG_BM_START_FIXED;	/* leaves no bitmap name */
	NAMED_BAD(type, p, len, NLEN);
	/* A bitmap name length running past the frame, or too short. */
	len = start_raw(p, "vda", 3, "bb", 2, 512, 1, 512);
	p[4] = 3;
	NAMED_BAD(type, p, len, BLEN);
	p[4] = 1;
	NAMED_BAD(type, p, len, BLEN);
	p[4] = 255;
	NAMED_BAD(type, p, len, BLEN);
	/* NUL inside a name. */
	NAMED_BAD(type, p, start_raw(p, "v\0a", 3, "b", 1, 512, 1, 512), "NUL");
	NAMED_BAD(type, p, start_raw(p, "\0", 1, "b", 1, 512, 1, 512), "NUL");
	NAMED_BAD(type, p, start_raw(p, "vda", 3, "bb\0", 3, 512, 1, 512),
		  "NUL");
	NAMED_BAD(type, p, start_raw(p, "vda", 3, "\0bb", 3, 512, 1, 512),
		  "NUL");
	/* Granularity. */
	for (i = 0; i < sizeof(bad_gran) / sizeof(bad_gran[0]); i++)
		NAMED_BAD(type, p, start_raw(p, "n", 1, "b", 1, bad_gran[i],
					     1, 512), "granularity");
	/* Flags. */
	for (i = 1; i < 8; i++)
		NAMED_BAD(type, p, start_raw(p, "n", 1, "b", 1, 512, 1U << i,
					     512), "flags");
	NAMED_BAD(type, p, start_raw(p, "n", 1, "b", 1, 512, 0xff, 512),
		  "flags");
	/* Empty node. */
	NAMED_BAD(type, p, start_raw(p, "n", 1, "b", 1, 512, 0, 0), "empty");
	NAMED_BAD(type, p, start_raw(p, "n", 1, "b", 1, 512, 1, 0), "empty");
}

TEST(bm_start_bad)
{
	named_fields_bad(_metadata, PCMIG_BM_START);
}

TEST(bm_announce_bad)
{
	named_fields_bad(_metadata, PCMIG_BM_ANNOUNCE);
}

TEST(bm_start_errno)
{
	static const u8 types[] = { PCMIG_BM_START, PCMIG_BM_ANNOUNCE };
	u8 p[64];
	u32 len;
	struct feed fd;
	struct sb s;
	size_t i;

	for (i = 0; i < sizeof(types); i++) {
		len = start_raw(p, "vda", 3, "b", 1, 512, 1, 512);
		bm_prefix(&s, CAP_BM);
		sb_frame(&s, PCMIG_SEC_BITMAPS, types[i], p, len - 1);
		FEED_BAD(&fd, &s, false, CAP_BM, 3);
		EXPECT_EQ(-EMSGSIZE, fd.err);
		feed_free(&fd);
		sb_free(&s);

		len = start_raw(p, "vda", 3, "b", 1, 1000, 1, 512);
		bm_prefix(&s, CAP_BM);
		sb_frame(&s, PCMIG_SEC_BITMAPS, types[i], p, len);
		FEED_BAD(&fd, &s, false, CAP_BM, 3);
		EXPECT_EQ(-EPROTO, fd.err);
		feed_free(&fd);
		sb_free(&s);
	}
}

TEST(bm_chunks_outside_bitmap)
{
	u64 w = 1;
	struct feed fd;
	struct sb s;

	bm_prefix(&s, CAP_BM);
	sb_bm_bits(&s, &w, 0, 1);
	FEED_BAD(&fd, &s, false, CAP_BM, 3);
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_zeroes(&s, 0, 1);
	FEED_BAD(&fd, &s, false, CAP_BM, 3);
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_complete(&s);
	FEED_BAD(&fd, &s, false, CAP_BM, 3);
	feed_free(&fd);
	sb_free(&s);

	/* After a bitmap completed. */
	bm_prefix(&s, CAP_BM);
	sb_bitmap(&s, "n", "b", 512, true, 512, NULL);
	sb_bm_zeroes(&s, 1, 1);
	FEED_BAD(&fd, &s, false, CAP_BM, 6);
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bitmap(&s, "n", "b", 512, true, 512, NULL);
	sb_bm_complete(&s);
	FEED_BAD(&fd, &s, false, CAP_BM, 6);
	feed_free(&fd);
	sb_free(&s);

	/* Every bit covered, not completed yet: no chunk fits any more. */
	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "b", 512, true, 512);
	sb_bm_zeroes(&s, 0, 1);
	sb_bm_zeroes(&s, 1, 1);
	FEED_BAD(&fd, &s, false, CAP_BM, 5);
	EXPECT_TRUE(fd.rx.bm_open);
	feed_free(&fd);
	sb_free(&s);
}

/* A bitmap of 2 * CHUNK + 100 bits with the given chunk at index 4. */
#define CHUNK_BAD(first, nbits) do {					\
	struct feed __fd;						\
	struct sb __s;							\
	bm_prefix(&__s, CAP_BM);					\
	sb_bm_start(&__s, "n", "b", 512, true,				\
		    (2ULL * CHUNK + 100) * 512);			\
	sb_bm_zeroes(&__s, (first), (nbits));				\
	FEED_BAD(&__fd, &__s, false, CAP_BM, 4);			\
	EXPECT_TRUE(__fd.rx.bm_open);					\
	EXPECT_EQ(0, __fd.rx.bm.next);					\
	feed_free(&__fd);						\
	sb_free(&__s);							\
} while (0)

TEST(bm_chunk_wrong_first_or_nbits)
{
	struct feed fd;
	struct sb s;

	CHUNK_BAD(1, CHUNK);
	CHUNK_BAD(CHUNK, CHUNK);
	CHUNK_BAD(U64_MAX, CHUNK);
	CHUNK_BAD(0, CHUNK - 1);
	CHUNK_BAD(0, CHUNK + 1);
	CHUNK_BAD(0, 0);
	CHUNK_BAD(0, 0xffffffffU);
	CHUNK_BAD(0, 64);

	/* Out of order later on: repeat, skip, go back. */
	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "b", 512, true, (2ULL * CHUNK + 100) * 512);
	sb_bm_zeroes(&s, 0, CHUNK);
	sb_bm_zeroes(&s, 0, CHUNK);
	FEED_BAD(&fd, &s, false, CAP_BM, 5);
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "b", 512, true, (2ULL * CHUNK + 100) * 512);
	sb_bm_zeroes(&s, 0, CHUNK);
	sb_bm_zeroes(&s, 2 * CHUNK, 100);
	FEED_BAD(&fd, &s, false, CAP_BM, 5);
	feed_free(&fd);
	sb_free(&s);

	/* The last chunk must be exactly the bits left. */
	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "b", 512, true, (2ULL * CHUNK + 100) * 512);
	sb_bm_zeroes(&s, 0, CHUNK);
	sb_bm_zeroes(&s, CHUNK, CHUNK);
	sb_bm_zeroes(&s, 2 * CHUNK, 101);
	FEED_BAD(&fd, &s, false, CAP_BM, 6);
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "b", 512, true, (2ULL * CHUNK + 100) * 512);
	sb_bm_zeroes(&s, 0, CHUNK);
	sb_bm_zeroes(&s, CHUNK, CHUNK);
	sb_bm_zeroes(&s, 2 * CHUNK, 99);
	FEED_BAD(&fd, &s, false, CAP_BM, 6);
	feed_free(&fd);
	sb_free(&s);
}

TEST(bm_bits_data_length)
{
	u8 data[PCMIG_BM_CHUNK_BITS / 8 + 2];
	struct feed fd;
	struct sb s;
	static const struct {
		u32 nbits, len;
	} bad[] = {
		{ 13, 1 }, { 13, 3 }, { 16, 1 }, { 16, 3 }, { 1, 2 },
		{ 100, 12 }, { 100, 14 },
	};
	size_t i;

	memset(data, 0x01, sizeof(data));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bm_prefix(&s, CAP_BM);
		sb_bm_start(&s, "n", "b", 512, true, bad[i].nbits * 512);
		sb_bm_chunk_raw(&s, PCMIG_BM_BITS, 0, bad[i].nbits, data,
				bad[i].len);
		FEED_BAD(&fd, &s, false, CAP_BM, 4);
		EXPECT_EQ(-EMSGSIZE, fd.err);
		feed_free(&fd);
		sb_free(&s);
	}
	/* A full chunk one byte short. */
	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "b", 512, true, 2ULL * CHUNK * 512);
	sb_bm_chunk_raw(&s, PCMIG_BM_BITS, 0, CHUNK, data, CHUNK / 8 - 1);
	FEED_BAD(&fd, &s, false, CAP_BM, 4);
	feed_free(&fd);
	sb_free(&s);
	/* ZEROES with data is refused by its header. */
	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "b", 512, true, 8 * 512);
	sb_bm_chunk_raw(&s, PCMIG_BM_ZEROES, 0, 8, data, 1);
	FEED_BAD(&fd, &s, false, CAP_BM, 4);
	feed_free(&fd);
	sb_free(&s);
}

TEST(bm_bits_padding_nonzero)
{
	struct feed fd;
	struct sb s;
	u32 nbits, bit;
	u8 d[2];

	for (nbits = 9; nbits < 16; nbits++) {
		for (bit = nbits % 8; bit < 8; bit++) {
			d[0] = 1;
			d[1] = 1U << bit;
			bm_prefix(&s, CAP_BM);
			sb_bm_start(&s, "n", "b", 512, true, nbits * 512);
			sb_bm_chunk_raw(&s, PCMIG_BM_BITS, 0, nbits, d, 2);
			FEED_BAD(&fd, &s, false, CAP_BM, 4);
			feed_free(&fd);
			sb_free(&s);
		}
		/* The highest valid bit is fine. */
		d[0] = 0;
		d[1] = 1U << (nbits % 8 - 1);
		bm_prefix(&s, CAP_BM);
		sb_bm_start(&s, "n", "b", 512, true, nbits * 512);
		sb_bm_chunk_raw(&s, PCMIG_BM_BITS, 0, nbits, d, 2);
		sb_bm_complete(&s);
		FEED_OK(&fd, &s, false, CAP_BM);
		ASSERT_EQ(1, fd.nbms);
		EXPECT_EQ(1ULL << (nbits - 1), fd.bms[0].words[0]);
		feed_free(&fd);
		sb_free(&s);
	}
}

TEST(bm_bits_all_zero_refused)
{
	u8 d[8] = { 0 };
	struct feed fd;
	struct sb s;

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "b", 512, true, 64 * 512);
	sb_bm_chunk_raw(&s, PCMIG_BM_BITS, 0, 64, d, 8);
	FEED_BAD(&fd, &s, false, CAP_BM, 4);
	feed_free(&fd);
	sb_free(&s);
}

TEST(bm_complete_early)
{
	u8 zero = 0;
	struct feed fd;
	struct sb s;

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "b", 512, true, 100 * 512);
	sb_bm_complete(&s);
	FEED_BAD(&fd, &s, false, CAP_BM, 4);
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "b", 512, true, (CHUNK + 1ULL) * 512);
	sb_bm_zeroes(&s, 0, CHUNK);
	sb_bm_complete(&s);
	FEED_BAD(&fd, &s, false, CAP_BM, 5);
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "b", 512, true, (CHUNK + 1ULL) * 512);
	sb_bm_zeroes(&s, 0, CHUNK);
	sb_bm_chunk_raw(&s, PCMIG_BM_BITS, CHUNK, 1, &zero, 1);
	sb_bm_complete(&s);
	FEED_BAD(&fd, &s, false, CAP_BM, 5);	/* all-zero BITS */
	feed_free(&fd);
	sb_free(&s);
}

TEST(bm_start_while_open)
{
	struct feed fd;
	struct sb s;

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "a", 512, true, 512);
	sb_bm_start(&s, "n", "b", 512, true, 512);
	FEED_BAD(&fd, &s, false, CAP_BM, 4);
	EXPECT_STREQ("a", fd.rx.bm.name);
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "a", 512, true, 1024);
	sb_bm_zeroes(&s, 0, 2);
	sb_bm_start(&s, "n", "b", 512, true, 512);
	FEED_BAD(&fd, &s, false, CAP_BM, 5);
	feed_free(&fd);
	sb_free(&s);
}

TEST(bm_eos_while_open)
{
	struct feed fd;
	struct sb s;

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "a", 512, true, 512);
	sb_bm_eos(&s);
	FEED_BAD(&fd, &s, false, CAP_BM, 4);
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "a", 512, true, 512);
	sb_bm_zeroes(&s, 0, 1);
	sb_bm_eos(&s);
	FEED_BAD(&fd, &s, false, CAP_BM, 5);
	feed_free(&fd);
	sb_free(&s);
}

TEST(bm_frames_after_bm_eos)
{
	struct feed fd;
	struct sb s;
	int i;

	for (i = 0; i < 4; i++) {
		bm_prefix(&s, CAP_BM);
		sb_bitmap(&s, "n", "a", 512, true, 512, NULL);
		sb_bm_eos(&s);
		switch (i) {
		case 0:
			sb_bm_start(&s, "n", "b", 512, true, 512);
			break;
		case 1:
			sb_bm_eos(&s);
			break;
		case 2:
			sb_bm_zeroes(&s, 0, 1);
			break;
		default:
			sb_bm_complete(&s);
			break;
		}
		FEED_BAD(&fd, &s, false, CAP_BM, 7);
		feed_free(&fd);
		sb_free(&s);
	}
	/* ...also across a phase change. */
	bm_prefix(&s, PCMIG_CAPS_POSTCOPY);
	sb_bm_eos(&s);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_bm_start(&s, "n", "b", 512, true, 512);
	FEED_BAD(&fd, &s, false, PCMIG_CAPS_POSTCOPY, 5);
	feed_free(&fd);
	sb_free(&s);
}

TEST(bm_ctl_eos_while_open)
{
	struct feed fd;
	struct sb s;

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "a", 512, true, 1024);
	sb_eos(&s);
	FEED_BAD(&fd, &s, false, CAP_BM, 4);
	EXPECT_FALSE(fd.rx.ended);
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "a", 512, true, 1024);
	sb_bm_zeroes(&s, 0, 2);
	sb_eos(&s);
	FEED_BAD(&fd, &s, false, CAP_BM, 5);
	feed_free(&fd);
	sb_free(&s);
}

TEST(bm_ctl_eos_without_bm_eos)
{
	struct feed fd;
	struct sb s;

	bm_prefix(&s, CAP_BM);
	sb_bitmap(&s, "n", "a", 512, true, 512, NULL);
	sb_eos(&s);
	FEED_BAD(&fd, &s, false, CAP_BM, 6);
	EXPECT_FALSE(fd.rx.ended);
	feed_free(&fd);
	sb_free(&s);
}

TEST(bm_phase_while_open)
{
	struct feed fd;
	struct sb s;

	bm_prefix(&s, PCMIG_CAPS_POSTCOPY);
	sb_bm_start(&s, "n", "a", 512, true, 1024);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	FEED_BAD(&fd, &s, false, PCMIG_CAPS_POSTCOPY, 4);
	EXPECT_EQ(PCMIG_PHASE_STOPPED, fd.rx.phase);
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "a", 512, true, 1024);
	sb_bm_zeroes(&s, 0, 2);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	FEED_BAD(&fd, &s, false, CAP_BM, 5);
	feed_free(&fd);
	sb_free(&s);
}

/* Return path refuses the bitmaps section. */
TEST(rp_refuses_bitmaps)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_rp(&s, CAP_BM);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_bm_eos(&s);
	FEED_BAD(&fd, &s, true, CAP_BM, 1);
	feed_free(&fd);
	sb_free(&s);
}

/* Cancel is still accepted while a bitmap is open. */
TEST(bm_cancel_while_open)
{
	struct feed fd;
	struct sb s;

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "a", 512, true, 1024);
	sb_cancel(&s, "bye");
	FEED_OK(&fd, &s, false, CAP_BM);
	EXPECT_TRUE(fd.ended);
	feed_free(&fd);
	sb_free(&s);
}

/* ---- BM_ANNOUNCE ---- */

/* The announced bitmap @i is the one given. */
static void ann_check(struct __test_metadata *_metadata, struct feed *fd,
		      int i, const char *node, const char *name, u32 gran,
		      bool enabled, u64 size)
{
	const struct pcmig_rx_bitmap *bm = &fd->anns[i];

	ASSERT_LT(i, fd->nanns);
	EXPECT_STREQ(node, bm->node);
	EXPECT_STREQ(name, bm->name);
	EXPECT_EQ(gran, bm->granularity);
	EXPECT_EQ(enabled, bm->enabled);
	EXPECT_EQ(size, bm->node_size);
	EXPECT_EQ(pcmig_wire_bm_nbits(size, gran), bm->nbits);
}

/* Feed @s and require rejection at frame @idx with reason @what. */
#define FEED_BAD_WHY(fd, s, caps, idx, what) do {			\
	FEED_BAD((fd), (s), false, (caps), (idx));			\
	EXPECT_STREQ((what), (fd)->why);				\
} while (0)

TEST(valid_bm_announce)
{
	char n255[PCMIG_NAME_MAX + 1];
	struct feed fd;
	struct sb s;

	memset(n255, 'q', PCMIG_NAME_MAX);
	n255[PCMIG_NAME_MAX] = '\0';
	bm_prefix(&s, CAP_BM);
	sb_bm_announce(&s, "vda", "backup", 65536, true, (1ULL << 20) + 1);
	FEED_OK(&fd, &s, false, CAP_BM);
	ASSERT_EQ(4, fd.nacts);
	ACT_IS(&fd, 3, PCMIG_RX_BM_ANNOUNCE, 0);
	ann_check(_metadata, &fd, 0, "vda", "backup", 65536, true,
		  (1ULL << 20) + 1);
	EXPECT_EQ(17, fd.rx.bm.nbits);
	/* Known to the receiver but not open, and BM_EOS is now due. */
	EXPECT_TRUE(fd.rx.bm_seen);
	EXPECT_FALSE(fd.rx.bm_started);
	EXPECT_FALSE(fd.rx.bm_open);
	EXPECT_EQ(0, fd.nbms);
	feed_free(&fd);
	sb_free(&s);

	/* The limits of START's fields hold for ANNOUNCE too. */
	bm_prefix(&s, CAP_BM);
	sb_bm_announce(&s, n255, n255, PCMIG_GRANULARITY_MIN, false, 1);
	sb_bm_announce(&s, "\xff\x01", "a b", PCMIG_GRANULARITY_MAX, true,
		       U64_MAX);
	FEED_OK(&fd, &s, false, CAP_BM);
	ann_check(_metadata, &fd, 0, n255, n255, PCMIG_GRANULARITY_MIN, false,
		  1);
	ann_check(_metadata, &fd, 1, "\xff\x01", "a b", PCMIG_GRANULARITY_MAX,
		  true, U64_MAX);
	EXPECT_EQ(1ULL << 33, fd.anns[1].nbits);
	feed_free(&fd);
	sb_free(&s);
}

/*
 * Announced, not opened: no chunk or COMPLETE may follow, and the
 * section must still be closed by BM_EOS before CTL_EOS.
 */
TEST(bm_announce_opens_nothing)
{
	struct feed fd;
	struct sb s;

	bm_prefix(&s, CAP_BM);
	sb_bm_announce(&s, "n", "b", 512, true, 512);
	sb_bm_zeroes(&s, 0, 1);
	FEED_BAD_WHY(&fd, &s, CAP_BM, 4, "bitmap chunk outside a bitmap");
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_announce(&s, "n", "b", 512, true, 512);
	sb_bm_complete(&s);
	FEED_BAD_WHY(&fd, &s, CAP_BM, 4, "bitmap completed outside a bitmap");
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_announce(&s, "n", "b", 512, true, 512);
	sb_eos(&s);
	FEED_BAD_WHY(&fd, &s, CAP_BM, 4,
		     "end of stream before the end of the bitmaps");
	feed_free(&fd);
	sb_free(&s);

	/* The checker does not require the announced bitmaps to follow. */
	bm_prefix(&s, CAP_BM);
	sb_bm_announce(&s, "n", "b", 512, true, 512);
	sb_bm_eos(&s);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, CAP_BM);
	EXPECT_EQ(1, fd.nanns);
	EXPECT_EQ(0, fd.nbms);
	feed_free(&fd);
	sb_free(&s);
}

/*
 * What the source sends: in the stopped phase every bitmap announced,
 * then (with postcopy) the switch, then each bitmap's data, BM_EOS and
 * CTL_EOS.
 */
TEST(valid_announce_all_then_data)
{
	u64 *w1 = rand_words(1000, 1, 500), *w2 = rand_words(CHUNK + 9, 2, 3);
	static const u32 caps[] = { CAP_BM, PCMIG_CAPS_POSTCOPY, CAP_BM };
	struct feed fd;
	struct sb s;
	size_t i;
	int a;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		/* Postcopy when the caps allow it; the last run stays stopped. */
		bool postcopy = i < 2;

		bm_prefix(&s, caps[i]);
		sb_bm_announce(&s, "vda", "b1", 4096, true, 1000 * 4096);
		sb_bm_announce(&s, "vda", "b2", 4096, false, 1000 * 4096);
		sb_bm_announce(&s, "vdb", "b1", 512, true, (CHUNK + 9) * 512);
		if (postcopy)
			sb_phase(&s, PCMIG_PHASE_POSTCOPY);
		sb_bitmap(&s, "vda", "b1", 4096, true, 1000 * 4096, w1);
		sb_bitmap(&s, "vda", "b2", 4096, false, 1000 * 4096, NULL);
		sb_bitmap(&s, "vdb", "b1", 512, true, (CHUNK + 9) * 512, w2);
		sb_bm_eos(&s);
		sb_eos(&s);
		FEED_OK(&fd, &s, false, caps[i]);
		for (a = 3; a < 6; a++)
			ACT_IS(&fd, a, PCMIG_RX_BM_ANNOUNCE, 0);
		if (postcopy) {
			ACT_IS(&fd, a, PCMIG_RX_PHASE, PCMIG_PHASE_POSTCOPY);
			a++;
		}
		ACT_IS(&fd, a, PCMIG_RX_BM_START, 0);
		ACT_IS(&fd, fd.nacts - 2, PCMIG_RX_BM_EOS, 0);
		ACT_IS(&fd, fd.nacts - 1, PCMIG_RX_EOS, 0);
		ASSERT_EQ(3, fd.nanns);
		ASSERT_EQ(3, fd.nbms);
		ann_check(_metadata, &fd, 0, "vda", "b1", 4096, true,
			  1000 * 4096);
		ann_check(_metadata, &fd, 1, "vda", "b2", 4096, false,
			  1000 * 4096);
		ann_check(_metadata, &fd, 2, "vdb", "b1", 512, true,
			  (CHUNK + 9) * 512);
		bm_check(_metadata, &fd, 0, "vda", "b1", 4096, true,
			 1000 * 4096, w1);
		bm_check(_metadata, &fd, 1, "vda", "b2", 4096, false,
			 1000 * 4096, NULL);
		bm_check(_metadata, &fd, 2, "vdb", "b1", 512, true,
			 (CHUNK + 9) * 512, w2);
		EXPECT_EQ(postcopy ? PCMIG_PHASE_POSTCOPY : PCMIG_PHASE_STOPPED,
			  fd.rx.phase);
		feed_free(&fd);
		sb_free(&s);
	}
	free(w1);
	free(w2);
}

/* Announces interleave with the device state; the same name twice is ok. */
TEST(valid_announce_with_devstate)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, PCMIG_CAPS_POSTCOPY);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_bm_announce(&s, "n", "a", 512, true, 512);
	sb_begin(&s, 2);
	sb_bm_announce(&s, "n", "b", 512, true, 512);
	sb_data(&s, "ab", 2);
	sb_bm_announce(&s, "n", "b", 512, true, 512);
	sb_end(&s);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_bitmap(&s, "n", "a", 512, true, 512, NULL);
	sb_bitmap(&s, "n", "b", 512, true, 512, NULL);
	sb_bm_eos(&s);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, PCMIG_CAPS_POSTCOPY);
	EXPECT_EQ(3, fd.nanns);
	EXPECT_EQ(2, fd.nbms);
	feed_free(&fd);
	sb_free(&s);
}

/* Only in the stopped phase: the destination must not be running yet. */
TEST(bm_announce_outside_stopped)
{
	static const u32 caps[] = { CAP_BM, PCMIG_CAPS_POSTCOPY };
	struct feed fd;
	struct sb s;
	size_t i;

	sb_init(&s);
	sb_fwd(&s, CAP_BM);
	sb_bm_announce(&s, "n", "b", 512, true, 512);
	FEED_BAD_WHY(&fd, &s, CAP_BM, 0, "bitmaps before the stopped phase");
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_fwd(&s, CAP_BM);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_bm_announce(&s, "n", "b", 512, true, 512);
	FEED_BAD_WHY(&fd, &s, CAP_BM, 2, "bitmaps before the stopped phase");
	feed_free(&fd);
	sb_free(&s);

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		bm_prefix(&s, caps[i]);
		sb_phase(&s, PCMIG_PHASE_POSTCOPY);
		sb_bm_announce(&s, "n", "b", 512, true, 512);
		FEED_BAD_WHY(&fd, &s, caps[i], 4,
			     "bitmap announced after the destination started");
		EXPECT_FALSE(fd.rx.bm_seen);
		feed_free(&fd);
		sb_free(&s);

		/* Some announced in time, one too late. */
		bm_prefix(&s, caps[i]);
		sb_bm_announce(&s, "n", "a", 512, true, 512);
		sb_phase(&s, PCMIG_PHASE_POSTCOPY);
		sb_bm_announce(&s, "n", "b", 512, true, 512);
		FEED_BAD_WHY(&fd, &s, caps[i], 5,
			     "bitmap announced after the destination started");
		EXPECT_STREQ("a", fd.rx.bm.name);
		feed_free(&fd);
		sb_free(&s);
	}
}

/* Every announce comes before the first START, open or complete. */
TEST(bm_announce_after_start)
{
	struct feed fd;
	struct sb s;

	bm_prefix(&s, CAP_BM);
	sb_bm_start(&s, "n", "a", 512, true, 1024);
	sb_bm_announce(&s, "n", "b", 512, true, 512);
	FEED_BAD_WHY(&fd, &s, CAP_BM, 4,
		     "bitmap announced after bitmap data began");
	/* The open bitmap is left as it was. */
	EXPECT_TRUE(fd.rx.bm_open);
	EXPECT_STREQ("a", fd.rx.bm.name);
	EXPECT_EQ(2, fd.rx.bm.nbits);
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_announce(&s, "n", "a", 512, true, 512);
	sb_bitmap(&s, "n", "a", 512, true, 512, NULL);
	sb_bm_announce(&s, "n", "b", 512, true, 512);
	FEED_BAD_WHY(&fd, &s, CAP_BM, 7,
		     "bitmap announced after bitmap data began");
	feed_free(&fd);
	sb_free(&s);

	/* Announcing the bitmap just sent is no excuse. */
	bm_prefix(&s, CAP_BM);
	sb_bitmap(&s, "n", "a", 512, true, 512, NULL);
	sb_bm_announce(&s, "n", "a", 512, true, 512);
	FEED_BAD_WHY(&fd, &s, CAP_BM, 6,
		     "bitmap announced after bitmap data began");
	feed_free(&fd);
	sb_free(&s);
}

TEST(bm_announce_after_bm_eos)
{
	struct feed fd;
	struct sb s;

	bm_prefix(&s, CAP_BM);
	sb_bm_eos(&s);
	sb_bm_announce(&s, "n", "b", 512, true, 512);
	FEED_BAD_WHY(&fd, &s, CAP_BM, 4,
		     "bitmap frame after the end of the bitmaps");
	feed_free(&fd);
	sb_free(&s);

	bm_prefix(&s, CAP_BM);
	sb_bm_announce(&s, "n", "a", 512, true, 512);
	sb_bm_eos(&s);
	sb_bm_announce(&s, "n", "b", 512, true, 512);
	FEED_BAD_WHY(&fd, &s, CAP_BM, 5,
		     "bitmap frame after the end of the bitmaps");
	feed_free(&fd);
	sb_free(&s);
}

TEST(bm_announce_without_cap)
{
	static const u32 caps[] = { 0, CAP_RAM };
	struct feed fd;
	struct sb s;
	size_t i;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		bm_prefix(&s, caps[i]);
		sb_bm_announce(&s, "n", "b", 512, true, 512);
		FEED_BAD_WHY(&fd, &s, caps[i], 3,
			     "bitmaps without the postcopy-bitmaps capability");
		feed_free(&fd);
		sb_free(&s);
	}
}

/* The bitmaps example of Documentation/pcmig/stream.rst, byte for byte. */
TEST(doc_bitmaps_example)
{
	static const u8 section[] = {
		0x03, 0x06, 0, 0, 0, 0, 0, 0x13,
		0x03, 'v', 'd', 'a', 0x01, 'b', 0, 0x01, 0, 0, 0x01,
		0, 0, 0, 0, 0, 0x10, 0, 0x01,
		0x03, 0x01, 0, 0, 0, 0, 0, 0x13,
		0x03, 'v', 'd', 'a', 0x01, 'b', 0, 0x01, 0, 0, 0x01,
		0, 0, 0, 0, 0, 0x10, 0, 0x01,
		0x03, 0x02, 0, 0, 0, 0, 0, 0x0f,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11, 0x01, 0, 0x01,
		0x03, 0x04, 0, 0, 0, 0, 0, 0,
		0x03, 0x05, 0, 0, 0, 0, 0, 0,
	};
	u64 w = 1 | 1ULL << 16;
	struct feed fd;
	struct sb s;

	ASSERT_EQ(93, sizeof(section));
	bm_prefix(&s, CAP_BM);
	sb_raw(&s, section, sizeof(section));
	s.frames += 5;
	sb_eos(&s);
	FEED_OK(&fd, &s, false, CAP_BM);
	ann_check(_metadata, &fd, 0, "vda", "b", 65536, true, 1048577);
	bm_check(_metadata, &fd, 0, "vda", "b", 65536, true, 1048577, &w);
	feed_free(&fd);
	sb_free(&s);
}

/* ------------------------------------------------------------------ */
/* RAM section (PCMIG_SEC_RAM)                                         */
/* ------------------------------------------------------------------ */

#define PG		PCMIG_RAM_PAGE_SIZE
/* The highest page's address: a range or run may end here, not above. */
#define TOP		(U64_MAX - PG + 1)

#define R_TWICE		"RAM layout sent twice"
#define R_COUNT	"RAM layout length does not match its range count"
#define R_RANGE		"RAM range empty or not page-aligned"
#define R_ORDER		"RAM ranges overlap or are out of order"
#define R_EARLY		"RAM page before the RAM layout"
#define R_ALIGN		"RAM page address not page-aligned"
#define R_RUN		"bad zero-page run"
#define R_POST		"RAM after the destination started"
#define R_LEN		"frame length out of range for its type"
#define R_DWHEN		\
	"RAM discard outside the stopped phase or without postcopy-ram"
#define R_DPOST		"RAM discard after the destination started"
#define R_DRUN		"bad discard run"
#define Q_CAP		"page request without postcopy-ram"
#define Q_EARLY		"page request before the RAM layout was accepted"
#define Q_BAD		"bad page request"
#define CAPS_BOTH	PCMIG_CAPS_POSTCOPY

/* A PC's memory: 640 KiB at 0, 1 MiB at 1 MiB, a hole between. */
static const struct pcmig_ram_range pc_ranges[] = {
	{ 0, 0xa0000 },
	{ 0x100000, 0x100000 },
};

/* Preamble, then the PC layout: 1 frame. */
static void ram_prefix(struct sb *s, u32 caps)
{
	sb_init(s);
	sb_fwd(s, caps);
	sb_ram_layout(s, pc_ranges, 2);
}

/* Stopped, an empty device state, CTL_EOS: 4 frames. */
static void ram_finish(struct sb *s)
{
	sb_phase(s, PCMIG_PHASE_STOPPED);
	sb_begin(s, 0);
	sb_end(s);
	sb_eos(s);
}

/* Refused at frame @idx with @err and reason @what; frees both. */
#define RAM_BAD(s, caps, idx, errno_, what) do {			\
	struct feed __fd;						\
	FEED_BAD_WHY(&__fd, (s), (caps), (idx), (what));		\
	EXPECT_EQ((errno_), __fd.err);					\
	feed_free(&__fd);						\
	sb_free(s);							\
} while (0)

/* Whether the model's page at @gpa holds @want (sb_ram_pattern() if NULL). */
static bool ram_page_is(const struct feed *fd, u64 gpa, const u8 *want)
{
	const u8 *m = ram_at(fd, gpa, PG);
	u8 pat[PCMIG_RAM_PAGE_SIZE];

	if (!want) {
		sb_ram_pattern(pat, gpa);
		want = pat;
	}
	return m && !memcmp(m, want, PG);
}

/* Whether the model's @pages pages from @gpa are all zero. */
static bool ram_zeroed(const struct feed *fd, u64 gpa, u64 pages)
{
	const u8 *m = ram_at(fd, gpa, pages * PG);
	u64 i;

	if (!m)
		return false;
	for (i = 0; i < pages * PG; i++)
		if (m[i])
			return false;
	return true;
}

/* Whether the model's @pages pages from @gpa are all missing (poison). */
static bool ram_missing(const struct feed *fd, u64 gpa, u64 pages)
{
	const u8 *m = ram_at(fd, gpa, pages * PG);
	u64 i;

	if (!m)
		return false;
	for (i = 0; i < pages * PG; i++)
		if (m[i] != RAM_POISON)
			return false;
	return true;
}

/* Addresses that are not page-aligned. */
static const u64 bad_gpas[] = {
	1, 8, 0x800, 0xfff, 0x1001, 0x100000 - 8, U64_MAX, TOP + 8,
};

/* A page run (gpa, pages), as in RAM_ZERO, RAM_DISCARD, RET_PAGE_REQ. */
struct run {
	u64 gpa;
	u32 pages;
};

/* Page-aligned runs that are empty or do not end below 2^64. */
static const struct run bad_runs[] = {
	{ 0, 0 }, { 0x1000, 0 }, { TOP, 0 },
	/* Past 2^64 - 1: wrapping, or ending at 2^64. */
	{ TOP, 2 }, { TOP, 1 }, { TOP - PG, 2 },
	{ TOP, UINT32_MAX },
	{ 0xfffff00000001000ULL, UINT32_MAX },
};

/*
 * Scripted streams for the rules of RAM postcopy: a table of scripts,
 * each a few steps and its verdict, run by run_scripts().
 */
enum script_op {
	OP_END,		/* end of the script */
	OP_LAYOUT,	/* RAM_LAYOUT of pc_ranges */
	OP_PAGE,	/* RAM_PAGE at gpa */
	OP_ZERO,	/* RAM_ZERO of n pages from gpa */
	OP_DISCARD,	/* RAM_DISCARD of n pages from gpa */
	OP_STOP,	/* CTL_PHASE(stopped), empty device state: 3 frames */
	OP_POST,	/* CTL_PHASE(postcopy) */
	OP_LAYOUT_OK,	/* return path: RET_LAYOUT_OK */
	OP_ACK,		/* return path: RET_ACK(n) */
	OP_REQ,		/* return path: RET_PAGE_REQ, n pages from gpa */
	OP_REQ_LEN,	/* return path: RET_PAGE_REQ of n zero bytes */
	OP_COMPLETE,	/* return path: RET_COMPLETE */
};

struct step {
	enum script_op op;
	u64 gpa;
	u32 n;
};

#define SCRIPT_MAX	12

/*
 * Accepted if @why is NULL (every frame, and the CTL_EOS or RET_COMPLETE
 * run_scripts() adds), else refused at the first frame of the last step
 * with @err and @why.
 */
struct script {
	const char *name;
	bool rp;
	u32 caps;
	struct step st[SCRIPT_MAX];
	int err;
	const char *why;
};

#define ST_LAYOUT		{ OP_LAYOUT, 0, 0 }
#define ST_PAGE(g)		{ OP_PAGE, (g), 0 }
#define ST_ZERO(g, n)		{ OP_ZERO, (g), (n) }
#define ST_DISCARD(g, n)	{ OP_DISCARD, (g), (n) }
#define ST_STOP			{ OP_STOP, 0, 0 }
#define ST_POST			{ OP_POST, 0, 0 }
#define ST_LAYOUT_OK		{ OP_LAYOUT_OK, 0, 0 }
#define ST_ACK(p)		{ OP_ACK, 0, (p) }
#define ST_REQ(g, n)		{ OP_REQ, (g), (n) }
#define ST_REQ_LEN(len)		{ OP_REQ_LEN, 0, (len) }
#define ST_COMPLETE		{ OP_COMPLETE, 0, 0 }

#define FWD_OK(name, caps, ...)						\
	{ name, false, caps, { __VA_ARGS__ }, 0, NULL }
#define FWD_NO(name, caps, err, why, ...)				\
	{ name, false, caps, { __VA_ARGS__ }, err, why }
#define RP_OK(name, caps, ...)						\
	{ name, true, caps, { __VA_ARGS__ }, 0, NULL }
#define RP_NO(name, caps, err, why, ...)				\
	{ name, true, caps, { __VA_ARGS__ }, err, why }

static void step_put(struct sb *s, const struct step *st)
{
	static const u8 zeroes[PCMIG_RAM_PAGE_LEN];

	switch (st->op) {
	case OP_LAYOUT:
		sb_ram_layout(s, pc_ranges, 2);
		break;
	case OP_PAGE:
		sb_ram_page(s, st->gpa, NULL);
		break;
	case OP_ZERO:
		sb_ram_zero(s, st->gpa, st->n);
		break;
	case OP_DISCARD:
		sb_ram_discard(s, st->gpa, st->n);
		break;
	case OP_STOP:
		sb_phase(s, PCMIG_PHASE_STOPPED);
		sb_begin(s, 0);
		sb_end(s);
		break;
	case OP_POST:
		sb_phase(s, PCMIG_PHASE_POSTCOPY);
		break;
	case OP_LAYOUT_OK:
		sb_layout_ok(s);
		break;
	case OP_ACK:
		sb_ack(s, st->n);
		break;
	case OP_REQ:
		sb_page_req(s, st->gpa, st->n);
		break;
	case OP_REQ_LEN:
		sb_frame(s, PCMIG_SEC_RETURN, PCMIG_RET_PAGE_REQ, zeroes,
			 st->n);
		break;
	case OP_COMPLETE:
		sb_complete(s);
		break;
	default:
		abort();
	}
}

/* The action (and its argument) of a step's first frame. */
static enum pcmig_rx_act step_act(const struct step *st, u64 *arg)
{
	static const enum pcmig_rx_act acts[] = {
		[OP_LAYOUT] = PCMIG_RX_RAM_LAYOUT,
		[OP_PAGE] = PCMIG_RX_RAM_PAGE,
		[OP_ZERO] = PCMIG_RX_RAM_ZERO,
		[OP_DISCARD] = PCMIG_RX_RAM_DISCARD,
		[OP_STOP] = PCMIG_RX_PHASE,
		[OP_POST] = PCMIG_RX_PHASE,
		[OP_LAYOUT_OK] = PCMIG_RX_LAYOUT_OK,
		[OP_ACK] = PCMIG_RX_ACK,
		[OP_REQ] = PCMIG_RX_PAGE_REQ,
		[OP_COMPLETE] = PCMIG_RX_COMPLETE,
	};

	switch (st->op) {
	case OP_STOP:
		*arg = PCMIG_PHASE_STOPPED;
		break;
	case OP_POST:
		*arg = PCMIG_PHASE_POSTCOPY;
		break;
	case OP_ACK:
		*arg = st->n;
		break;
	case OP_PAGE:
	case OP_ZERO:
	case OP_DISCARD:
	case OP_REQ:
		*arg = st->gpa;
		break;
	default:
		*arg = 0;
		break;
	}
	return acts[st->op];
}

/*
 * Build and feed @sc; check its verdict, and for an accepted script the
 * action and argument of each step's first frame (feed() checks the rest
 * against the model).  Logs the script's name on a mismatch.
 */
static void run_script(struct __test_metadata *_metadata,
		       const struct script *sc)
{
	int first[SCRIPT_MAX], i, n;
	enum pcmig_rx_act act;
	struct feed fd;
	struct sb s;
	bool ok;
	u64 arg;

	sb_init(&s);
	if (sc->rp)
		sb_rp(&s, sc->caps);
	else
		sb_fwd(&s, sc->caps);
	for (n = 0; n < SCRIPT_MAX && sc->st[n].op != OP_END; n++) {
		first[n] = s.frames;
		step_put(&s, &sc->st[n]);
	}
	ASSERT_GT(n, 0);
	if (!sc->why) {
		if (sc->rp)
			sb_complete(&s);
		else
			sb_eos(&s);
	}
	feed(_metadata, &fd, s.b, s.n, sc->rp, sc->caps);
	if (sc->why) {
		ok = fd.err == sc->err && fd.err_frame == first[n - 1] &&
		     fd.nacts == first[n - 1] && fd.why &&
		     !strcmp(fd.why, sc->why);
	} else {
		ok = !fd.err && !fd.truncated && fd.frames_ok == s.frames;
		for (i = 0; ok && i < n; i++) {
			act = step_act(&sc->st[i], &arg);
			ok = fd.acts[first[i]].act == act &&
			     fd.acts[first[i]].arg == arg;
			if (!ok)
				TH_LOG("step %d: action %d, want %d (arg %#llx)",
				       i, fd.acts[first[i]].act, act,
				       (unsigned long long)arg);
		}
	}
	if (!ok)
		TH_LOG("%s (caps %#x): %s at frame %d, errno %d: %s", sc->name,
		       sc->caps, fd.err ? "refused" : "accepted",
		       fd.err_frame, fd.err, fd.why ? fd.why : "-");
	else if (getenv("PCMIG_UNIT_VERBOSE"))
		TH_LOG("%s: %s", sc->name, fd.why ? fd.why : "accepted");
	EXPECT_TRUE(ok);
	feed_free(&fd);
	sb_free(&s);
}

#define RUN_SCRIPTS(tab) do {						\
	size_t __i;							\
	for (__i = 0; __i < sizeof(tab) / sizeof((tab)[0]); __i++)	\
		run_script(_metadata, &(tab)[__i]);			\
} while (0)

/*
 * @tpl once per run of @v: the last step's gpa and page count set from
 * it.  The verdict is @tpl's.
 */
static void run_variants(struct __test_metadata *_metadata,
			 const struct script *tpl, const struct run *v,
			 size_t nv)
{
	struct script sc;
	size_t i;
	int n;

	for (n = 0; n < SCRIPT_MAX && tpl->st[n].op != OP_END; n++)
		;
	for (i = 0; i < nv; i++) {
		sc = *tpl;
		sc.st[n - 1].gpa = v[i].gpa;
		sc.st[n - 1].n = v[i].pages;
		run_script(_metadata, &sc);
	}
}

TEST(put_ram_layout_layout)
{
	static const struct pcmig_ram_range r[] = {
		{ 0x0102030405060000ULL, 0x1000 },
		{ 0xfffffffffffff000ULL, 0xdeadb000ULL },
	};
	static const u8 want[] = {
		0, 0, 0, 2,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0, 0,
		0, 0, 0, 0, 0, 0, 0x10, 0,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0,
		0, 0, 0, 0, 0xde, 0xad, 0xb0, 0,
	};
	static struct pcmig_ram_range many[PCMIG_RAM_RANGES_MAX];
	u8 b[PCMIG_RAM_LAYOUT_MAX + 1];
	struct pcmig_ram_range got;
	u32 i;

	ASSERT_EQ(36, sizeof(want));
	memset(b, 0xa5, sizeof(b));
	EXPECT_EQ(36, pcmig_wire_put_ram_layout(b, r, 2));
	EXPECT_EQ(0, memcmp(b, want, sizeof(want)));
	EXPECT_EQ(0xa5, b[36]);
	EXPECT_EQ(2, pcmig_wire_ram_ranges(b));
	for (i = 0; i < 2; i++) {
		memset(&got, 0x5a, sizeof(got));
		pcmig_wire_ram_range(b, i, &got);
		EXPECT_EQ(r[i].gpa, got.gpa);
		EXPECT_EQ(r[i].size, got.size);
	}

	/* No range: the count alone. */
	memset(b, 0xa5, sizeof(b));
	EXPECT_EQ(4, pcmig_wire_put_ram_layout(b, r, 0));
	EXPECT_EQ(0, get_unaligned_be32(b));
	EXPECT_EQ(0xa5, b[4]);

	/* 256 ranges fill PCMIG_RAM_LAYOUT_MAX (4100 bytes) exactly. */
	EXPECT_EQ(4100, PCMIG_RAM_LAYOUT_MAX);
	for (i = 0; i < PCMIG_RAM_RANGES_MAX; i++) {
		many[i].gpa = (u64)i << 32;
		many[i].size = (u64)(i + 1) * PG;
	}
	memset(b, 0xa5, sizeof(b));
	EXPECT_EQ(PCMIG_RAM_LAYOUT_MAX,
		  pcmig_wire_put_ram_layout(b, many, PCMIG_RAM_RANGES_MAX));
	EXPECT_EQ(0xa5, b[PCMIG_RAM_LAYOUT_MAX]);
	EXPECT_EQ(0, memcmp(b, "\0\0\1\0", 4));
	EXPECT_EQ(0, memcmp(b + 4084, "\0\0\0\xff\0\0\0\0\0\0\0\0\0\x10\0\0",
			    16));
	EXPECT_EQ(PCMIG_RAM_RANGES_MAX, pcmig_wire_ram_ranges(b));
	for (i = 0; i < PCMIG_RAM_RANGES_MAX; i++) {
		pcmig_wire_ram_range(b, i, &got);
		EXPECT_EQ(many[i].gpa, got.gpa);
		EXPECT_EQ(many[i].size, got.size);
	}
}

TEST(put_ram_page_and_zero_layout)
{
	static const u8 page_want[] = {
		0, 0, 0, 0x01, 0x23, 0x45, 0x60, 0,
	};
	static const u8 zero_want[] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe0, 0,
		0, 0, 0, 0x02,
	};
	u8 b[PCMIG_RAM_PAGE_LEN + 1];
	struct sb s;

	EXPECT_EQ(4104, PCMIG_RAM_PAGE_LEN);
	EXPECT_EQ(12, PCMIG_RAM_RUN_LEN);

	/* The address only: the page's data is the caller's to place. */
	memset(b, 0xa5, sizeof(b));
	pcmig_wire_put_ram_page_gpa(b, 0x123456000ULL);
	EXPECT_EQ(0, memcmp(b, page_want, sizeof(page_want)));
	EXPECT_EQ(0xa5, b[8]);

	memset(b, 0xa5, sizeof(b));
	EXPECT_EQ(PCMIG_RAM_RUN_LEN,
		  pcmig_wire_put_ram_run(b, 0xffffffffffffe000ULL, 2));
	EXPECT_EQ(0, memcmp(b, zero_want, sizeof(zero_want)));
	EXPECT_EQ(0xa5, b[12]);
	EXPECT_EQ(2, pcmig_wire_ram_run_pages(b));

	pcmig_wire_put_ram_run(b, 0, UINT32_MAX);
	EXPECT_EQ(0, get_unaligned_be64(b));
	EXPECT_EQ(UINT32_MAX, pcmig_wire_ram_run_pages(b));

	/* The builder's frames: header, then exactly these payloads. */
	sb_init(&s);
	sb_ram_page(&s, 0x123456000ULL, NULL);
	sb_ram_zero(&s, 0xffffffffffffe000ULL, 2);
	ASSERT_EQ(8 + PCMIG_RAM_PAGE_LEN + 8 + PCMIG_RAM_RUN_LEN, s.n);
	EXPECT_EQ(0, memcmp(s.b, "\x04\x02\0\0\0\0\x10\x08", 8));
	EXPECT_EQ(0, memcmp(s.b + 8, page_want, 8));
	sb_ram_pattern(b, 0x123456000ULL);
	EXPECT_EQ(0, memcmp(s.b + 16, b, PG));
	EXPECT_EQ(0, memcmp(s.b + 8 + PCMIG_RAM_PAGE_LEN,
			    "\x04\x03\0\0\0\0\0\x0c", 8));
	EXPECT_EQ(0, memcmp(s.b + 16 + PCMIG_RAM_PAGE_LEN, zero_want, 12));
	sb_free(&s);
}

/*
 * What the source sends: the layout first in the first precopy pass,
 * every page (zero ones as runs that stay within one range), then the
 * pages dirtied meanwhile, and in the stopped phase the pages left,
 * between the device frames too.  The model ends as the source's memory.
 */
TEST(valid_ram_stream)
{
	u8 page[PCMIG_RAM_PAGE_SIZE];
	struct feed fd;
	struct sb s;
	u32 i;

	memset(page, 0x11, sizeof(page));
	ram_prefix(&s, 0);
	sb_ram_zero(&s, 0, 1);
	sb_ram_page(&s, 0x1000, NULL);
	sb_ram_page(&s, 0x2000, NULL);
	sb_ram_zero(&s, 0x3000, 157);
	sb_ram_zero(&s, 0x100000, 255);
	sb_ram_page(&s, 0x1ff000, NULL);
	/* Second pass. */
	sb_ram_page(&s, 0x1000, page);
	sb_ram_zero(&s, 0x1ff000, 1);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_begin(&s, 3);
	sb_ram_page(&s, 0x100000, NULL);
	sb_data(&s, "abc", 3);
	sb_ram_zero(&s, 0x2000, 1);
	sb_end(&s);
	sb_ram_page(&s, 0x9f000, NULL);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, 0);
	ASSERT_EQ(17, fd.nacts);
	ACT_IS(&fd, 0, PCMIG_RX_RAM_LAYOUT, 0);
	ACT_IS(&fd, 1, PCMIG_RX_RAM_ZERO, 0);
	ACT_IS(&fd, 2, PCMIG_RX_RAM_PAGE, 0x1000);
	ACT_IS(&fd, 3, PCMIG_RX_RAM_PAGE, 0x2000);
	ACT_IS(&fd, 4, PCMIG_RX_RAM_ZERO, 0x3000);
	ACT_IS(&fd, 5, PCMIG_RX_RAM_ZERO, 0x100000);
	ACT_IS(&fd, 6, PCMIG_RX_RAM_PAGE, 0x1ff000);
	ACT_IS(&fd, 7, PCMIG_RX_RAM_PAGE, 0x1000);
	ACT_IS(&fd, 8, PCMIG_RX_RAM_ZERO, 0x1ff000);
	ACT_IS(&fd, 9, PCMIG_RX_PHASE, PCMIG_PHASE_STOPPED);
	ACT_IS(&fd, 10, PCMIG_RX_DEV_ALLOC, 3);
	ACT_IS(&fd, 11, PCMIG_RX_RAM_PAGE, 0x100000);
	ACT_IS(&fd, 12, PCMIG_RX_DEV_DATA, 0);
	ACT_IS(&fd, 13, PCMIG_RX_RAM_ZERO, 0x2000);
	ACT_IS(&fd, 14, PCMIG_RX_DEV_DONE, 0);
	ACT_IS(&fd, 15, PCMIG_RX_RAM_PAGE, 0x9f000);
	ACT_IS(&fd, 16, PCMIG_RX_EOS, 0);
	EXPECT_EQ(PCMIG_RAM_LAYOUT_MAX - 254 * 16, fd.acts[0].len);
	EXPECT_EQ(PCMIG_RAM_PAGE_LEN, fd.acts[2].len);
	EXPECT_EQ(PCMIG_RAM_RUN_LEN, fd.acts[1].len);
	EXPECT_TRUE(fd.rx.ram_layout);
	ASSERT_EQ(2, fd.nranges);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(pc_ranges[i].gpa, fd.ranges[i].gpa);
		EXPECT_EQ(pc_ranges[i].size, fd.ranges[i].size);
	}
	EXPECT_EQ(6, fd.ram_pages);
	EXPECT_EQ(5, fd.ram_runs);
	EXPECT_EQ(1 + 157 + 255 + 1 + 1, fd.ram_zero_pages);
	EXPECT_EQ(3, fd.ram_stopped);
	EXPECT_EQ(0, fd.ram_outside);
	/* Every page of both ranges, as last sent. */
	EXPECT_TRUE(ram_zeroed(&fd, 0, 1));
	EXPECT_TRUE(ram_page_is(&fd, 0x1000, page));
	EXPECT_TRUE(ram_zeroed(&fd, 0x2000, 1));
	EXPECT_TRUE(ram_zeroed(&fd, 0x3000, 156));
	EXPECT_TRUE(ram_page_is(&fd, 0x9f000, NULL));
	EXPECT_TRUE(ram_page_is(&fd, 0x100000, NULL));
	EXPECT_TRUE(ram_zeroed(&fd, 0x101000, 254));
	EXPECT_TRUE(ram_zeroed(&fd, 0x1ff000, 1));
	EXPECT_EQ(0, memcmp(fd.dev, "abc", 3));
	feed_free(&fd);
	sb_free(&s);
}

/* No precopy pass (the source stopped at once): all of it while stopped. */
TEST(valid_ram_in_stopped_only)
{
	struct feed fd;
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_ram_layout(&s, pc_ranges, 2);
	sb_ram_zero(&s, 0, 0xa0);
	sb_ram_page(&s, 0x100000, NULL);
	sb_ram_zero(&s, 0x101000, 0xff);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, 0);
	ACT_IS(&fd, 3, PCMIG_RX_RAM_LAYOUT, 0);
	ACT_IS(&fd, 4, PCMIG_RX_RAM_ZERO, 0);
	ACT_IS(&fd, 5, PCMIG_RX_RAM_PAGE, 0x100000);
	ACT_IS(&fd, 6, PCMIG_RX_RAM_ZERO, 0x101000);
	EXPECT_EQ(4, fd.ram_stopped);
	EXPECT_TRUE(ram_zeroed(&fd, 0, 0xa0));
	EXPECT_TRUE(ram_page_is(&fd, 0x100000, NULL));
	EXPECT_TRUE(ram_zeroed(&fd, 0x101000, 0xff));
	feed_free(&fd);
	sb_free(&s);

	/* A layout and no page: a VM whose pages are all... elsewhere. */
	ram_prefix(&s, 0);
	ram_finish(&s);
	FEED_OK(&fd, &s, false, 0);
	EXPECT_TRUE(fd.rx.ram_layout);
	EXPECT_EQ(0, fd.ram_pages + fd.ram_runs);
	feed_free(&fd);
	sb_free(&s);
}

/*
 * RAM needs no capability; with postcopy it all comes before the
 * switch, and the bitmaps follow as usual.
 */
TEST(valid_ram_any_caps)
{
	struct feed fd;
	struct sb s;
	size_t i;

	for (i = 0; i < sizeof(all_caps) / sizeof(all_caps[0]); i++) {
		u32 caps = all_caps[i];

		ram_prefix(&s, caps);
		sb_ram_page(&s, 0x5000, NULL);
		sb_phase(&s, PCMIG_PHASE_STOPPED);
		sb_devstate(&s, (const u8 *)"state", 5, 2);
		sb_ram_zero(&s, 0x5000, 1);
		sb_ram_page(&s, 0x6000, NULL);
		if (caps & CAP_BM)
			sb_bm_announce(&s, "vda", "b", 512, true, 512);
		if (caps & PCMIG_CAPS_POSTCOPY)
			sb_phase(&s, PCMIG_PHASE_POSTCOPY);
		if (caps & CAP_BM) {
			sb_bitmap(&s, "vda", "b", 512, true, 512, NULL);
			sb_bm_eos(&s);
		}
		sb_eos(&s);
		FEED_OK(&fd, &s, false, caps);
		EXPECT_EQ(caps & PCMIG_CAPS_POSTCOPY ? PCMIG_PHASE_POSTCOPY :
						       PCMIG_PHASE_STOPPED,
			  fd.rx.phase);
		EXPECT_EQ(2, fd.ram_pages);
		EXPECT_EQ(1, fd.ram_runs);
		EXPECT_TRUE(ram_zeroed(&fd, 0x5000, 1));
		EXPECT_TRUE(ram_page_is(&fd, 0x6000, NULL));
		feed_free(&fd);
		sb_free(&s);
	}
}

/* Valid at the limits: 256 ranges, adjacent ranges, the top page. */
TEST(valid_ram_limits)
{
	static const struct pcmig_ram_range edge[][2] = {
		{ { 0, PG }, { PG, PG } },		/* adjacent */
		{ { 0, PG }, { TOP - PG, PG } },	/* ends at TOP */
		{ { 0, TOP }, { 0, 0 } },		/* all it can be */
		{ { PG, TOP - PG }, { 0, 0 } },
		{ { TOP - PG, PG }, { 0, 0 } },
	};
	static const u32 nedge[] = { 2, 2, 1, 1, 1 };
	static struct pcmig_ram_range many[PCMIG_RAM_RANGES_MAX];
	struct feed fd;
	struct sb s;
	u32 i;

	for (i = 0; i < PCMIG_RAM_RANGES_MAX; i++) {
		many[i].gpa = (u64)i * 2 * PG;
		many[i].size = PG;
	}
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_ram_layout(&s, many, PCMIG_RAM_RANGES_MAX);
	for (i = 0; i < PCMIG_RAM_RANGES_MAX; i++) {
		if (i % 2)
			sb_ram_zero(&s, many[i].gpa, 1);
		else
			sb_ram_page(&s, many[i].gpa, NULL);
	}
	ram_finish(&s);
	FEED_OK(&fd, &s, false, 0);
	EXPECT_EQ(PCMIG_RAM_LAYOUT_MAX, fd.acts[0].len);
	EXPECT_EQ(PCMIG_RAM_RANGES_MAX, fd.nranges);
	EXPECT_EQ(128, fd.ram_pages);
	EXPECT_EQ(128, fd.ram_runs);
	EXPECT_EQ(0, fd.ram_outside);
	EXPECT_TRUE(ram_page_is(&fd, 254 * 2 * PG, NULL));
	EXPECT_TRUE(ram_zeroed(&fd, 255 * 2 * PG, 1));
	feed_free(&fd);
	sb_free(&s);

	for (i = 0; i < sizeof(nedge) / sizeof(nedge[0]); i++) {
		sb_init(&s);
		sb_fwd(&s, 0);
		sb_ram_layout(&s, edge[i], nedge[i]);
		sb_ram_page(&s, edge[i][nedge[i] - 1].gpa, NULL);
		ram_finish(&s);
		FEED_OK(&fd, &s, false, 0);
		EXPECT_EQ(0, fd.ram_outside);
		feed_free(&fd);
		sb_free(&s);
	}

	/* The longest runs, up to the top page but not past it. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_ram_layout1(&s, 0, TOP);
	sb_ram_zero(&s, 0, UINT32_MAX);
	sb_ram_zero(&s, TOP - (u64)UINT32_MAX * PG, UINT32_MAX);
	sb_ram_zero(&s, TOP - PG, 1);
	sb_ram_page(&s, TOP - PG, NULL);
	ram_finish(&s);
	FEED_OK(&fd, &s, false, 0);
	ACT_IS(&fd, 2, PCMIG_RX_RAM_ZERO, 0xfffff00000000000ULL);
	EXPECT_EQ(2ULL * UINT32_MAX + 1, fd.ram_zero_pages);
	EXPECT_EQ(0, fd.ram_outside);
	feed_free(&fd);
	sb_free(&s);
}

TEST(ram_layout_twice)
{
	struct sb s;

	ram_prefix(&s, 0);
	sb_ram_layout(&s, pc_ranges, 2);
	RAM_BAD(&s, 0, 1, -EPROTO, R_TWICE);

	/* In another pass, or another phase, with other ranges. */
	ram_prefix(&s, 0);
	sb_ram_page(&s, 0, NULL);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_ram_layout1(&s, 0, PG);
	RAM_BAD(&s, 0, 3, -EPROTO, R_TWICE);

	ram_prefix(&s, CAP_BM);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_ram_layout(&s, pc_ranges, 2);
	RAM_BAD(&s, CAP_BM, 4, -EPROTO, R_TWICE);

	/* Checked before the second layout's own fields. */
	ram_prefix(&s, 0);
	sb_ram_layout1(&s, 1, 0);
	RAM_BAD(&s, 0, 1, -EPROTO, R_TWICE);
}

/* A RAM_LAYOUT of @len bytes whose count says @n; its ranges are valid. */
static void ram_layout_raw(struct sb *s, u32 n, u32 len)
{
	u8 *p = calloc(1, len);
	u32 i;

	if (!p)
		abort();
	put_unaligned_be32(n, p);
	for (i = 0; 4 + (i + 1) * PCMIG_RAM_RANGE_LEN <= len; i++) {
		put_unaligned_be64((u64)i * 2 * PG, p + 4 + i * 16);
		put_unaligned_be64(PG, p + 12 + i * 16);
	}
	sb_frame(s, PCMIG_SEC_RAM, PCMIG_RAM_LAYOUT, p, len);
	free(p);
}

TEST(ram_layout_count_and_length)
{
	static const struct {
		u32 n, len;
	} bad[] = {
		{ 0, 20 }, { 0, 4100 }, { 0, 36 },
		{ 257, 20 }, { 257, 4100 }, { 0xffffffff, 4100 },
		{ 2, 20 }, { 1, 36 }, { 1, 21 }, { 2, 35 }, { 2, 37 },
		{ 256, 4084 }, { 255, 4100 },
		/* 4 + n * 16 wraps to 20 in 32 bits. */
		{ 0x10000001, 20 }, { 0x80000001, 20 }, { 0xf0000001, 20 },
	};
	static const struct {
		u32 n, len;
	} good[] = { { 1, 20 }, { 2, 36 }, { 255, 4084 }, { 256, 4100 } };
	struct feed fd;
	struct sb s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sb_init(&s);
		sb_fwd(&s, 0);
		ram_layout_raw(&s, bad[i].n, bad[i].len);
		FEED_BAD_WHY(&fd, &s, 0, 0, R_COUNT);
		EXPECT_EQ(-EMSGSIZE, fd.err);
		EXPECT_FALSE(fd.rx.ram_layout);
		if (fd.err != -EMSGSIZE)
			TH_LOG("n %u len %u", bad[i].n, bad[i].len);
		feed_free(&fd);
		sb_free(&s);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		sb_init(&s);
		sb_fwd(&s, 0);
		ram_layout_raw(&s, good[i].n, good[i].len);
		ram_finish(&s);
		FEED_OK(&fd, &s, false, 0);
		EXPECT_EQ(good[i].n, fd.nranges);
		feed_free(&fd);
		sb_free(&s);
	}
}

TEST(ram_layout_bad_ranges)
{
	static const struct {
		struct pcmig_ram_range r[3];
		u32 n;
		const char *why;
	} bad[] = {
		/* Empty. */
		{ { { 0, 0 } }, 1, R_RANGE },
		{ { { 0, PG }, { 2 * PG, 0 } }, 2, R_RANGE },
		{ { { TOP, 0 } }, 1, R_RANGE },
		/* Not page-aligned: address, size. */
		{ { { 1, PG } }, 1, R_RANGE },
		{ { { 0x800, PG } }, 1, R_RANGE },
		{ { { U64_MAX, PG } }, 1, R_RANGE },
		{ { { 0, 1 } }, 1, R_RANGE },
		{ { { 0, PG - 1 } }, 1, R_RANGE },
		{ { { 0, 0x1800 } }, 1, R_RANGE },
		{ { { 0, PG }, { PG, PG + 0x10 } }, 2, R_RANGE },
		{ { { 0, PG }, { 2 * PG, PG }, { 0x3800, PG } }, 3, R_RANGE },
		/* Each range's own fields come before its order. */
		{ { { 0x100000, PG }, { 0, 0 } }, 2, R_RANGE },
		{ { { 0x100000, PG }, { 8, PG } }, 2, R_RANGE },
		/* Overlapping. */
		{ { { 0, 2 * PG }, { PG, 2 * PG } }, 2, R_ORDER },
		{ { { 0, PG }, { 0, PG } }, 2, R_ORDER },
		{ { { 0, 16 * PG }, { 2 * PG, PG } }, 2, R_ORDER },
		{ { { 0, PG }, { 2 * PG, 2 * PG }, { 3 * PG, PG } }, 3,
		  R_ORDER },
		/* Out of order. */
		{ { { 16 * PG, PG }, { 0, PG } }, 2, R_ORDER },
		{ { { 0, PG }, { 4 * PG, PG }, { 2 * PG, PG } }, 3, R_ORDER },
		/* gpa + size past 2^64 - 1: wrapping, or ending at 2^64. */
		{ { { TOP, 2 * PG } }, 1, R_ORDER },
		{ { { TOP, PG } }, 1, R_ORDER },
		{ { { PG, TOP } }, 1, R_ORDER },
		{ { { 2 * PG, TOP } }, 1, R_ORDER },
		{ { { TOP - PG, TOP } }, 1, R_ORDER },
		{ { { 0, PG }, { TOP, 2 * PG } }, 2, R_ORDER },
		/* A wrapped end does not let a low range follow. */
		{ { { TOP, 2 * PG }, { 0x10000, PG } }, 2, R_ORDER },
	};
	static struct pcmig_ram_range many[PCMIG_RAM_RANGES_MAX];
	struct feed fd;
	struct sb s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sb_init(&s);
		sb_fwd(&s, 0);
		sb_ram_layout(&s, bad[i].r, bad[i].n);
		sb_ram_page(&s, 0, NULL);
		FEED_BAD_WHY(&fd, &s, 0, 0, bad[i].why);
		EXPECT_EQ(-EPROTO, fd.err);
		EXPECT_FALSE(fd.rx.ram_layout);
		if (strcmp(fd.why, bad[i].why))
			TH_LOG("case %zu", i);
		feed_free(&fd);
		sb_free(&s);
	}

	/* The 256th range overlaps the 255th. */
	for (i = 0; i < PCMIG_RAM_RANGES_MAX; i++) {
		many[i].gpa = (u64)i * 2 * PG;
		many[i].size = PG;
	}
	many[255].gpa = many[254].gpa;
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_ram_layout(&s, many, PCMIG_RAM_RANGES_MAX);
	RAM_BAD(&s, 0, 0, -EPROTO, R_ORDER);
}

TEST(ram_page_before_layout)
{
	struct sb s;

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_ram_page(&s, 0, NULL);
	RAM_BAD(&s, 0, 0, -EPROTO, R_EARLY);

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_ram_zero(&s, 0, 1);
	RAM_BAD(&s, 0, 0, -EPROTO, R_EARLY);

	/* In the stopped phase, after the device state. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_ram_page(&s, 0x1000, NULL);
	RAM_BAD(&s, 0, 3, -EPROTO, R_EARLY);

	/* Checked before the page's own fields. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_ram_page(&s, 1, NULL);
	RAM_BAD(&s, 0, 0, -EPROTO, R_EARLY);

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_ram_zero(&s, 0, 0);
	RAM_BAD(&s, 0, 0, -EPROTO, R_EARLY);

	/* A refused layout leaves no layout behind. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_ram_layout1(&s, 0, 0);
	sb_ram_page(&s, 0, NULL);
	RAM_BAD(&s, 0, 0, -EPROTO, R_RANGE);
}

TEST(ram_page_unaligned)
{
	const u64 *gpas = bad_gpas;
	struct sb s;
	size_t i;

	for (i = 0; i < sizeof(bad_gpas) / sizeof(bad_gpas[0]); i++) {
		ram_prefix(&s, 0);
		sb_ram_page(&s, gpas[i], NULL);
		RAM_BAD(&s, 0, 1, -EPROTO, R_ALIGN);

		ram_prefix(&s, 0);
		sb_ram_zero(&s, gpas[i], 1);
		RAM_BAD(&s, 0, 1, -EPROTO, R_ALIGN);

		/* Alignment before the run's length. */
		ram_prefix(&s, 0);
		sb_ram_zero(&s, gpas[i], 0);
		RAM_BAD(&s, 0, 1, -EPROTO, R_ALIGN);

		/* In the stopped phase too. */
		ram_prefix(&s, 0);
		sb_phase(&s, PCMIG_PHASE_STOPPED);
		sb_ram_page(&s, gpas[i], NULL);
		RAM_BAD(&s, 0, 2, -EPROTO, R_ALIGN);
	}
}

TEST(ram_zero_bad_run)
{
	const struct run *bad = bad_runs;
	struct sb s;
	size_t i;

	for (i = 0; i < sizeof(bad_runs) / sizeof(bad_runs[0]); i++) {
		ram_prefix(&s, 0);
		sb_ram_page(&s, 0, NULL);
		sb_ram_zero(&s, bad[i].gpa, bad[i].pages);
		RAM_BAD(&s, 0, 2, -EPROTO, R_RUN);

		ram_prefix(&s, 0);
		sb_phase(&s, PCMIG_PHASE_STOPPED);
		sb_ram_zero(&s, bad[i].gpa, bad[i].pages);
		RAM_BAD(&s, 0, 2, -EPROTO, R_RUN);
	}
}

/*
 * S1, S6: RAM after the destination started needs postcopy-ram, and then
 * comes as pages and zero runs only: never a layout.  Without
 * postcopy-ram, and for a layout always, the refusal comes before the
 * frame's own fields are looked at; with it, pages and runs are checked
 * as before the start.
 */
static const struct script postcopy_scripts[] = {
	FWD_OK("pages and runs after the start", CAP_RAM,
	       ST_LAYOUT, ST_PAGE(0), ST_STOP, ST_POST, ST_PAGE(0x1000),
	       ST_ZERO(0x2000, 0x9e), ST_PAGE(0x1000),
	       ST_ZERO(0x100000, 0x100)),
	FWD_OK("pages and runs after the start, both capabilities",
	       CAPS_BOTH,
	       ST_LAYOUT, ST_STOP, ST_PAGE(0), ST_POST, ST_ZERO(0, 1),
	       ST_PAGE(0x100000)),
	FWD_OK("layout while stopped, every page in postcopy", CAP_RAM,
	       ST_STOP, ST_LAYOUT, ST_POST, ST_ZERO(0, 0xa0),
	       ST_PAGE(0x100000), ST_ZERO(0x101000, 0xff)),
	FWD_OK("the limits, in postcopy", CAP_RAM,
	       ST_LAYOUT, ST_STOP, ST_POST, ST_ZERO(0, UINT32_MAX),
	       ST_ZERO(TOP - PG, 1), ST_PAGE(TOP - PG)),
	/* Without postcopy-ram, whatever the frame. */
	FWD_NO("page, postcopy-bitmaps only", CAP_BM, -EPROTO, R_POST,
	       ST_LAYOUT, ST_STOP, ST_POST, ST_PAGE(0x1000)),
	FWD_NO("zero run, postcopy-bitmaps only", CAP_BM, -EPROTO, R_POST,
	       ST_LAYOUT, ST_STOP, ST_POST, ST_ZERO(0x1000, 1)),
	FWD_NO("unaligned page, postcopy-bitmaps only", CAP_BM, -EPROTO,
	       R_POST,
	       ST_LAYOUT, ST_STOP, ST_POST, ST_PAGE(0x1001)),
	FWD_NO("empty run, postcopy-bitmaps only", CAP_BM, -EPROTO, R_POST,
	       ST_LAYOUT, ST_STOP, ST_POST, ST_ZERO(0x1000, 0)),
	FWD_NO("page and no layout, postcopy-bitmaps only", CAP_BM, -EPROTO,
	       R_POST,
	       ST_STOP, ST_POST, ST_PAGE(0)),
	/* The layout, never. */
	FWD_NO("layout in postcopy", CAP_RAM, -EPROTO, R_POST,
	       ST_STOP, ST_POST, ST_LAYOUT),
	FWD_NO("layout in postcopy, both capabilities", CAPS_BOTH, -EPROTO,
	       R_POST,
	       ST_STOP, ST_POST, ST_LAYOUT),
	FWD_NO("layout in postcopy, postcopy-bitmaps only", CAP_BM, -EPROTO,
	       R_POST,
	       ST_STOP, ST_POST, ST_LAYOUT),
	FWD_NO("second layout in postcopy", CAP_RAM, -EPROTO, R_POST,
	       ST_LAYOUT, ST_STOP, ST_POST, ST_LAYOUT),
	/* With postcopy-ram, the checks of any page or run. */
	FWD_NO("page before the layout, in postcopy", CAP_RAM, -EPROTO,
	       R_EARLY,
	       ST_STOP, ST_POST, ST_PAGE(0)),
	FWD_NO("run before the layout, in postcopy", CAP_RAM, -EPROTO,
	       R_EARLY,
	       ST_STOP, ST_POST, ST_ZERO(0, 1)),
	FWD_NO("unaligned page, in postcopy", CAP_RAM, -EPROTO, R_ALIGN,
	       ST_LAYOUT, ST_STOP, ST_POST, ST_PAGE(0x800)),
	FWD_NO("unaligned run, in postcopy", CAPS_BOTH, -EPROTO, R_ALIGN,
	       ST_LAYOUT, ST_STOP, ST_POST, ST_ZERO(0x1001, 1)),
	FWD_NO("empty run, in postcopy", CAP_RAM, -EPROTO, R_RUN,
	       ST_LAYOUT, ST_STOP, ST_POST, ST_ZERO(0x1000, 0)),
	FWD_NO("run to 2^64, in postcopy", CAP_RAM, -EPROTO, R_RUN,
	       ST_LAYOUT, ST_STOP, ST_POST, ST_ZERO(TOP, 1)),
};

TEST(ram_in_postcopy)
{
	RUN_SCRIPTS(postcopy_scripts);
}

/*
 * RAM_DISCARD: only while stopped, only with postcopy-ram (checked in
 * that order, before anything else), after the layout, page-aligned, 1
 * or more pages not past 2^64 - 1.
 */
static const struct script discard_scripts[] = {
	FWD_OK("discarded while stopped, sent again in postcopy", CAP_RAM,
	       ST_LAYOUT, ST_PAGE(0x1000), ST_ZERO(0x2000, 2), ST_STOP,
	       ST_DISCARD(0x1000, 3), ST_DISCARD(0x100000, 0x100), ST_POST,
	       ST_PAGE(0x2000), ST_ZERO(0x1000, 1), ST_ZERO(0x3000, 1),
	       ST_ZERO(0x100000, 0x100)),
	FWD_OK("discard, both capabilities", CAPS_BOTH,
	       ST_LAYOUT, ST_STOP, ST_DISCARD(0, 0xa0), ST_POST,
	       ST_ZERO(0, 0xa0)),
	FWD_OK("layout while stopped, then discards", CAP_RAM,
	       ST_STOP, ST_LAYOUT, ST_DISCARD(0x100000, 1),
	       ST_DISCARD(0x100000, 1), ST_POST, ST_PAGE(0x100000)),
	FWD_OK("the longest runs, up to the top page", CAP_RAM,
	       ST_LAYOUT, ST_STOP, ST_DISCARD(0, UINT32_MAX),
	       ST_DISCARD(TOP - PG, 1),
	       ST_DISCARD(TOP - (u64)UINT32_MAX * PG, UINT32_MAX), ST_POST),
	FWD_OK("a discarded page sent again while stopped", CAP_RAM,
	       ST_LAYOUT, ST_STOP, ST_DISCARD(0x1000, 1), ST_PAGE(0x1000),
	       ST_POST),
	/*
	 * The checker keeps no list of discarded pages: whether each came
	 * again before CTL_EOS is the destination's to check.
	 */
	FWD_OK("discarded, never sent again", CAP_RAM,
	       ST_LAYOUT, ST_STOP, ST_DISCARD(0x1000, 1)),
	/* Not in precopy. */
	FWD_NO("in precopy", CAP_RAM, -EPROTO, R_DWHEN,
	       ST_LAYOUT, ST_DISCARD(0x1000, 1)),
	FWD_NO("in precopy, both capabilities", CAPS_BOTH, -EPROTO, R_DWHEN,
	       ST_LAYOUT, ST_PAGE(0), ST_DISCARD(0, 1)),
	FWD_NO("in precopy, before the layout", CAP_RAM, -EPROTO, R_DWHEN,
	       ST_DISCARD(0, 1)),
	FWD_NO("in precopy, bad run", CAP_RAM, -EPROTO, R_DWHEN,
	       ST_LAYOUT, ST_DISCARD(1, 0)),
	/* Not without postcopy-ram. */
	FWD_NO("stopped, no capability", 0, -EPROTO, R_DWHEN,
	       ST_LAYOUT, ST_STOP, ST_DISCARD(0x1000, 1)),
	FWD_NO("stopped, postcopy-bitmaps only", CAP_BM, -EPROTO, R_DWHEN,
	       ST_LAYOUT, ST_STOP, ST_DISCARD(0x1000, 1)),
	FWD_NO("stopped, no capability, bad run", 0, -EPROTO, R_DWHEN,
	       ST_LAYOUT, ST_STOP, ST_DISCARD(1, 0)),
	/* Not after the start. */
	FWD_NO("in postcopy", CAP_RAM, -EPROTO, R_DPOST,
	       ST_LAYOUT, ST_STOP, ST_POST, ST_DISCARD(0x1000, 1)),
	FWD_NO("in postcopy, both capabilities", CAPS_BOTH, -EPROTO, R_DPOST,
	       ST_LAYOUT, ST_STOP, ST_POST, ST_DISCARD(0x1000, 1)),
	FWD_NO("in postcopy, postcopy-bitmaps only", CAP_BM, -EPROTO,
	       R_DPOST,
	       ST_LAYOUT, ST_STOP, ST_POST, ST_DISCARD(0x1000, 1)),
	FWD_NO("in postcopy, bad run", CAP_RAM, -EPROTO, R_DPOST,
	       ST_LAYOUT, ST_STOP, ST_POST, ST_DISCARD(1, 0)),
	FWD_NO("in postcopy, before the layout", CAP_RAM, -EPROTO, R_DPOST,
	       ST_STOP, ST_POST, ST_DISCARD(0, 1)),
	/* While stopped with postcopy-ram: as a zero run. */
	FWD_NO("before the layout", CAP_RAM, -EPROTO, R_EARLY,
	       ST_STOP, ST_DISCARD(0, 1)),
	FWD_NO("before the layout, bad run", CAP_RAM, -EPROTO, R_EARLY,
	       ST_STOP, ST_DISCARD(1, 0)),
	FWD_NO("unaligned and empty", CAP_RAM, -EPROTO, R_ALIGN,
	       ST_LAYOUT, ST_STOP, ST_DISCARD(0x1001, 0)),
};

TEST(ram_discard_rules)
{
	RUN_SCRIPTS(discard_scripts);
}

TEST(ram_discard_bad_fields)
{
	static const struct script unaligned[] = {
		FWD_NO("unaligned discard", CAP_RAM, -EPROTO, R_ALIGN,
		       ST_LAYOUT, ST_STOP, ST_DISCARD(0, 1)),
		FWD_NO("unaligned discard, both capabilities", CAPS_BOTH,
		       -EPROTO, R_ALIGN,
		       ST_STOP, ST_LAYOUT, ST_DISCARD(0, 1)),
	};
	static const struct script bad_run[] = {
		FWD_NO("bad discard run", CAP_RAM, -EPROTO, R_DRUN,
		       ST_LAYOUT, ST_STOP, ST_DISCARD(0, 1)),
		FWD_NO("bad discard run after a page", CAPS_BOTH, -EPROTO,
		       R_DRUN,
		       ST_LAYOUT, ST_STOP, ST_PAGE(0), ST_DISCARD(0, 1)),
	};
	struct run gpas[sizeof(bad_gpas) / sizeof(bad_gpas[0])];
	size_t i;

	for (i = 0; i < sizeof(gpas) / sizeof(gpas[0]); i++) {
		gpas[i].gpa = bad_gpas[i];
		gpas[i].pages = 1;
	}
	for (i = 0; i < 2; i++) {
		run_variants(_metadata, &unaligned[i], gpas,
			     sizeof(gpas) / sizeof(gpas[0]));
		run_variants(_metadata, &bad_run[i], bad_runs,
			     sizeof(bad_runs) / sizeof(bad_runs[0]));
	}
}

/*
 * Postcopy as the source sends it: precopy passes, then while stopped the
 * pages still dirty are discarded rather than sent, the destination
 * starts, and they come again in postcopy (requested ones first, then
 * the background stream).  The model ends as the source's memory, but
 * for the one page not sent again, which is missing, never stale.
 */
TEST(valid_ram_postcopy)
{
	u8 page[PCMIG_RAM_PAGE_SIZE];
	struct feed fd;
	struct sb s;

	memset(page, 0x22, sizeof(page));
	ram_prefix(&s, CAP_RAM);
	sb_ram_zero(&s, 0, 1);
	sb_ram_page(&s, 0x1000, NULL);
	sb_ram_page(&s, 0x2000, NULL);
	sb_ram_zero(&s, 0x3000, 0x9d);
	sb_ram_zero(&s, 0x100000, 0x100);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_devstate(&s, (const u8 *)"state", 5, 5);
	/* Dirtied since they were sent: 0x1000, 0x2000, 0x100000-0x103fff. */
	sb_ram_discard(&s, 0x1000, 2);
	sb_ram_discard(&s, 0x100000, 4);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_ram_page(&s, 0x101000, page);	/* requested */
	sb_ram_page(&s, 0x1000, page);
	sb_ram_zero(&s, 0x2000, 1);
	sb_ram_page(&s, 0x100000, NULL);
	sb_ram_zero(&s, 0x102000, 1);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, CAP_RAM);
	ASSERT_EQ(19, fd.nacts);
	ACT_IS(&fd, 10, PCMIG_RX_RAM_DISCARD, 0x1000);
	ACT_IS(&fd, 11, PCMIG_RX_RAM_DISCARD, 0x100000);
	ACT_IS(&fd, 12, PCMIG_RX_PHASE, PCMIG_PHASE_POSTCOPY);
	ACT_IS(&fd, 13, PCMIG_RX_RAM_PAGE, 0x101000);
	ACT_IS(&fd, 15, PCMIG_RX_RAM_ZERO, 0x2000);
	ACT_IS(&fd, 18, PCMIG_RX_EOS, 0);
	EXPECT_EQ(PCMIG_RAM_RUN_LEN, fd.acts[10].len);
	EXPECT_EQ(2, fd.ram_discards);
	EXPECT_EQ(6, fd.ram_discard_pages);
	EXPECT_EQ(2, fd.ram_stopped);
	EXPECT_EQ(5, fd.ram_postcopy);
	EXPECT_EQ(0, fd.ram_outside);
	EXPECT_TRUE(ram_zeroed(&fd, 0, 1));
	EXPECT_TRUE(ram_page_is(&fd, 0x1000, page));
	EXPECT_TRUE(ram_zeroed(&fd, 0x2000, 1));
	EXPECT_TRUE(ram_zeroed(&fd, 0x3000, 0x9d));
	EXPECT_TRUE(ram_page_is(&fd, 0x100000, NULL));
	EXPECT_TRUE(ram_page_is(&fd, 0x101000, page));
	EXPECT_TRUE(ram_zeroed(&fd, 0x102000, 1));
	EXPECT_TRUE(ram_missing(&fd, 0x103000, 1));
	EXPECT_TRUE(ram_zeroed(&fd, 0x104000, 0xfc));
	feed_free(&fd);
	sb_free(&s);
}

/*
 * Rule S5 on the return path: RET_PAGE_REQ only with postcopy-ram (checked
 * first), after RET_LAYOUT_OK, then 1..64 pages from a page-aligned
 * address, not past 2^64 - 1.  The checker does not know the layout's
 * ranges (the source judges whether the pages exist and ignores requests
 * for pages it already sent), and does not tie requests to the phases.
 */
#define ST_ACK_STOP	ST_ACK(PCMIG_PHASE_STOPPED)
#define ST_ACK_POST	ST_ACK(PCMIG_PHASE_POSTCOPY)
#define REQ_MAX		PCMIG_RAM_REQ_MAX
#define RP_TWICE	"return path accepts the RAM layout twice"
#define RP_ENDED	"frame after end of stream"

static const struct script req_scripts[] = {
	RP_OK("requests in postcopy", CAP_RAM,
	      ST_LAYOUT_OK, ST_ACK_STOP, ST_ACK_POST, ST_REQ(0x1000, 1),
	      ST_REQ(0, REQ_MAX), ST_REQ(0x1000, 1), ST_REQ(TOP - PG, 1),
	      ST_REQ(TOP - REQ_MAX * PG, REQ_MAX),
	      ST_REQ(0x40000000000ULL, 3)),
	RP_OK("requests, both capabilities", CAPS_BOTH,
	      ST_ACK_STOP, ST_LAYOUT_OK, ST_ACK_POST, ST_REQ(0x100000, 2)),
	RP_OK("requests before the postcopy acknowledgement", CAP_RAM,
	      ST_LAYOUT_OK, ST_REQ(0x1000, 1), ST_ACK_STOP,
	      ST_REQ(0x2000, 1), ST_ACK_POST),
	RP_OK("layout ok, no request", CAP_RAM,
	      ST_LAYOUT_OK, ST_ACK_STOP),
	/* Without postcopy-ram, whatever the request. */
	RP_NO("no capability", 0, -EPROTO, Q_CAP,
	      ST_LAYOUT_OK, ST_ACK_STOP, ST_REQ(0x1000, 1)),
	RP_NO("postcopy-bitmaps only", CAP_BM, -EPROTO, Q_CAP,
	      ST_LAYOUT_OK, ST_ACK_STOP, ST_ACK_POST, ST_REQ(0x1000, 1)),
	RP_NO("no capability, no layout ok", 0, -EPROTO, Q_CAP,
	      ST_REQ(0x1000, 1)),
	RP_NO("no capability, bad request", 0, -EPROTO, Q_CAP,
	      ST_LAYOUT_OK, ST_REQ(1, 0)),
	/* Not before the layout was accepted. */
	RP_NO("before layout ok", CAP_RAM, -EPROTO, Q_EARLY,
	      ST_ACK_STOP, ST_ACK_POST, ST_REQ(0x1000, 1)),
	RP_NO("as the first frame", CAPS_BOTH, -EPROTO, Q_EARLY,
	      ST_REQ(0, 1)),
	RP_NO("before layout ok, bad request", CAP_RAM, -EPROTO, Q_EARLY,
	      ST_REQ(1, 0)),
	/* The request's fields. */
	RP_NO("unaligned", CAP_RAM, -EPROTO, Q_BAD,
	      ST_LAYOUT_OK, ST_ACK_STOP, ST_ACK_POST, ST_REQ(0x800, 1)),
	RP_NO("0 pages", CAP_RAM, -EPROTO, Q_BAD,
	      ST_LAYOUT_OK, ST_ACK_STOP, ST_ACK_POST, ST_REQ(0x1000, 0)),
	RP_NO("65 pages", CAP_RAM, -EPROTO, Q_BAD,
	      ST_LAYOUT_OK, ST_ACK_STOP, ST_ACK_POST,
	      ST_REQ(0, REQ_MAX + 1)),
	RP_NO("past 2^64 - 1", CAPS_BOTH, -EPROTO, Q_BAD,
	      ST_LAYOUT_OK, ST_ACK_STOP, ST_ACK_POST,
	      ST_REQ(TOP - (REQ_MAX - 2) * PG, REQ_MAX)),
	RP_NO("wrong length", CAP_RAM, -EMSGSIZE, R_LEN,
	      ST_LAYOUT_OK, ST_ACK_STOP, ST_ACK_POST, ST_REQ_LEN(8)),
	/* LAYOUT_OK once; nothing after the end. */
	RP_NO("layout ok twice", CAP_RAM, -EPROTO, RP_TWICE,
	      ST_LAYOUT_OK, ST_ACK_STOP, ST_LAYOUT_OK),
	RP_NO("request after COMPLETE", CAP_RAM, -EPROTO, RP_ENDED,
	      ST_LAYOUT_OK, ST_COMPLETE, ST_REQ(0x1000, 1)),
};

TEST(rp_page_req_rules)
{
	RUN_SCRIPTS(req_scripts);
}

TEST(rp_page_req_fields)
{
	static const struct script ok =
		RP_OK("request", CAP_RAM,
		      ST_LAYOUT_OK, ST_ACK_STOP, ST_ACK_POST, ST_REQ(0, 1));
	static const struct script bad =
		RP_NO("bad request", CAP_RAM, -EPROTO, Q_BAD,
		      ST_LAYOUT_OK, ST_ACK_STOP, ST_ACK_POST, ST_REQ(0, 1));
	static const struct script len =
		RP_NO("request of a wrong length", CAPS_BOTH, -EMSGSIZE,
		      R_LEN,
		      ST_LAYOUT_OK, ST_ACK_STOP, ST_REQ_LEN(0));
	static const struct run more_bad[] = {
		{ 0, REQ_MAX + 1 }, { 0x1000, 0x100 }, { 0, UINT32_MAX },
		{ TOP - (REQ_MAX - 1) * PG, REQ_MAX }, { TOP - PG, 2 },
	};
	/* The page count is the length field here: all but 12. */
	static const struct run lens[] = {
		{ 0, 0 }, { 0, 4 }, { 0, 8 }, { 0, 11 }, { 0, 13 }, { 0, 16 },
		{ 0, PCMIG_RAM_PAGE_LEN },
	};
	struct run v[REQ_MAX];
	size_t i;

	/* Every size from 1 to 64 pages, up to the top page. */
	for (i = 0; i < REQ_MAX; i++) {
		v[i].gpa = TOP - (i + 1) * PG;
		v[i].pages = i + 1;
	}
	run_variants(_metadata, &ok, v, REQ_MAX);
	for (i = 0; i < REQ_MAX; i++)
		v[i].gpa = i * 0x10000000ULL;
	run_variants(_metadata, &ok, v, REQ_MAX);

	/* Unaligned, with 1 page and with 0. */
	for (i = 0; i < sizeof(bad_gpas) / sizeof(bad_gpas[0]); i++) {
		v[2 * i].gpa = bad_gpas[i];
		v[2 * i].pages = 1;
		v[2 * i + 1].gpa = bad_gpas[i];
		v[2 * i + 1].pages = 0;
	}
	run_variants(_metadata, &bad, v, 2 * i);
	run_variants(_metadata, &bad, bad_runs,
		     sizeof(bad_runs) / sizeof(bad_runs[0]));
	run_variants(_metadata, &bad, more_bad,
		     sizeof(more_bad) / sizeof(more_bad[0]));
	run_variants(_metadata, &len, lens, sizeof(lens) / sizeof(lens[0]));
}

/* Wrong lengths are refused at the header, before the payload is read. */
TEST(ram_frame_lengths)
{
	static const struct {
		u8 type;
		u32 len;
	} bad[] = {
		{ PCMIG_RAM_PAGE, 0 }, { PCMIG_RAM_PAGE, 8 },
		{ PCMIG_RAM_PAGE, 12 }, { PCMIG_RAM_PAGE, 4096 },
		{ PCMIG_RAM_PAGE, 4103 }, { PCMIG_RAM_PAGE, 4105 },
		{ PCMIG_RAM_PAGE, 8 + 8192 },
		{ PCMIG_RAM_ZERO, 0 }, { PCMIG_RAM_ZERO, 8 },
		{ PCMIG_RAM_ZERO, 11 }, { PCMIG_RAM_ZERO, 13 },
		{ PCMIG_RAM_ZERO, 16 }, { PCMIG_RAM_ZERO, 4104 },
		{ PCMIG_RAM_DISCARD, 0 }, { PCMIG_RAM_DISCARD, 8 },
		{ PCMIG_RAM_DISCARD, 11 }, { PCMIG_RAM_DISCARD, 13 },
		{ PCMIG_RAM_DISCARD, 4104 },
		{ PCMIG_RAM_LAYOUT, 0 }, { PCMIG_RAM_LAYOUT, 4 },
		{ PCMIG_RAM_LAYOUT, 19 }, { PCMIG_RAM_LAYOUT, 4101 },
		{ PCMIG_RAM_LAYOUT, 4 + 257 * 16 },
	};
	static u8 zeroes[8 + 8192];
	struct feed fd;
	struct sb s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* After the layout, or as the first RAM frame. */
		ram_prefix(&s, 0);
		sb_frame(&s, PCMIG_SEC_RAM, bad[i].type, zeroes, bad[i].len);
		FEED_BAD_WHY(&fd, &s, 0, 1, R_LEN);
		EXPECT_EQ(-EMSGSIZE, fd.err);
		feed_free(&fd);
		sb_free(&s);

		sb_init(&s);
		sb_fwd(&s, 0);
		sb_frame(&s, PCMIG_SEC_RAM, bad[i].type, zeroes, bad[i].len);
		RAM_BAD(&s, 0, 0, -EMSGSIZE, R_LEN);
	}

	/* A layout of 257 ranges is too long for a frame of its type. */
	{
		static struct pcmig_ram_range many[PCMIG_RAM_RANGES_MAX + 1];

		for (i = 0; i <= PCMIG_RAM_RANGES_MAX; i++) {
			many[i].gpa = (u64)i * PG;
			many[i].size = PG;
		}
		sb_init(&s);
		sb_fwd(&s, 0);
		sb_ram_layout(&s, many, PCMIG_RAM_RANGES_MAX + 1);
		RAM_BAD(&s, 0, 0, -EMSGSIZE, R_LEN);
	}
}

TEST(ram_unknown_type)
{
	static u8 zeroes[PCMIG_RAM_PAGE_LEN];
	static const u8 types[] = { 0, 5, 6, 0x80, 0xff };
	struct sb s;
	size_t i;

	for (i = 0; i < sizeof(types); i++) {
		ram_prefix(&s, 0);
		sb_frame(&s, PCMIG_SEC_RAM, types[i], zeroes,
			 PCMIG_RAM_RUN_LEN);
		RAM_BAD(&s, 0, 1, -EPROTO, "unknown RAM frame type");

		sb_init(&s);
		sb_fwd(&s, 0);
		sb_frame(&s, PCMIG_SEC_RAM, types[i], zeroes,
			 PCMIG_RAM_PAGE_LEN);
		RAM_BAD(&s, 0, 0, -EPROTO, "unknown RAM frame type");
	}
}

TEST(ram_after_end)
{
	struct sb s;

	ram_prefix(&s, 0);
	ram_finish(&s);
	sb_ram_page(&s, 0, NULL);
	RAM_BAD(&s, 0, 5, -EPROTO, "frame after end of stream");

	ram_prefix(&s, 0);
	sb_cancel(&s, "bye");
	sb_ram_zero(&s, 0, 1);
	RAM_BAD(&s, 0, 2, -EPROTO, "frame after end of stream");

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_cancel(&s, "bye");
	sb_ram_layout(&s, pc_ranges, 2);
	RAM_BAD(&s, 0, 1, -EPROTO, "frame after end of stream");
}

/*
 * The checker keeps no layout: a page or run outside the ranges, or a
 * run crossing a range's end, passes it, and the destination refuses it
 * against its VM (kmod/ram.c).  Nor does it require RAM in a stream: a
 * destination with a VM attached refuses CTL_EOS without a layout.
 */
TEST(ram_not_checked_against_layout)
{
	struct feed fd;
	struct sb s;

	ram_prefix(&s, 0);
	sb_ram_page(&s, 0xa0000, NULL);		/* in the hole */
	sb_ram_page(&s, 0x200000, NULL);	/* above */
	sb_ram_zero(&s, 0x9f000, 2);		/* across the end */
	sb_ram_zero(&s, 0x9f000, 0x62);		/* into the next range */
	sb_ram_zero(&s, TOP - PG, 1);
	sb_ram_page(&s, TOP, NULL);
	sb_ram_zero(&s, 0x100000, 0x100);	/* exactly range 1 */
	ram_finish(&s);
	FEED_OK(&fd, &s, false, 0);
	EXPECT_EQ(6, fd.ram_outside);
	EXPECT_TRUE(ram_zeroed(&fd, 0x100000, 0x100));
	feed_free(&fd);
	sb_free(&s);

	sb_init(&s);
	sb_fwd(&s, 0);
	ram_finish(&s);
	FEED_OK(&fd, &s, false, 0);
	EXPECT_FALSE(fd.rx.ram_layout);
	feed_free(&fd);
	sb_free(&s);
}

/*
 * In the stopped phase the checker does not order RAM frames against
 * device or bitmap frames (the source sends RAM before its announces).
 */
TEST(ram_interleaves_in_stopped)
{
	struct feed fd;
	struct sb s;

	ram_prefix(&s, CAP_BM);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_bm_announce(&s, "n", "b", 512, true, 512 * 3);
	sb_begin(&s, 1);
	sb_ram_page(&s, 0, NULL);
	sb_data(&s, "x", 1);
	sb_bm_start(&s, "n", "b", 512, true, 512 * 3);
	sb_ram_zero(&s, 0x1000, 1);
	sb_bm_zeroes(&s, 0, 3);
	sb_bm_complete(&s);
	sb_end(&s);
	sb_bm_eos(&s);
	sb_ram_page(&s, 0x2000, NULL);
	sb_eos(&s);
	FEED_OK(&fd, &s, false, CAP_BM);
	EXPECT_EQ(3, fd.ram_stopped);
	EXPECT_EQ(1, fd.nbms);
	feed_free(&fd);
	sb_free(&s);
}

/* The RAM example of Documentation/pcmig/stream.rst, byte for byte. */
TEST(doc_ram_example)
{
	static const u8 hdrs[] = {
		0x04, 0x01, 0, 0, 0, 0, 0, 0x24,
		0, 0, 0, 0x02,
		0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0x0a, 0, 0,
		0, 0, 0, 0, 0, 0x10, 0, 0,
		0, 0, 0, 0, 0, 0x10, 0, 0,
		0x04, 0x03, 0, 0, 0, 0, 0, 0x0c,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0x04, 0x02, 0, 0, 0, 0, 0x10, 0x08,
		0, 0, 0, 0, 0, 0, 0x10, 0,
		'h', 'e', 'l', 'l', 'o',
	};
	static const u8 tail[] = {
		0x04, 0x03, 0, 0, 0, 0, 0, 0x0c,
		0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0x9e,
		0x04, 0x03, 0, 0, 0, 0, 0, 0x0c,
		0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0x01, 0,
	};
	static u8 section[4216];
	u8 page[PCMIG_RAM_PAGE_SIZE] = "hello";
	struct feed fd;
	struct sb s;

	/* Layout, zero run, page header and "hello", 4091 zeroes, 2 runs. */
	ASSERT_EQ(85, sizeof(hdrs));
	ASSERT_EQ(40, sizeof(tail));
	memcpy(section, hdrs, sizeof(hdrs));
	memcpy(section + 4176, tail, sizeof(tail));
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_raw(&s, section, sizeof(section));
	s.frames += 5;
	ram_finish(&s);
	FEED_OK(&fd, &s, false, 0);
	ASSERT_EQ(9, fd.nacts);
	ACT_IS(&fd, 0, PCMIG_RX_RAM_LAYOUT, 0);
	ACT_IS(&fd, 1, PCMIG_RX_RAM_ZERO, 0);
	ACT_IS(&fd, 2, PCMIG_RX_RAM_PAGE, 0x1000);
	ACT_IS(&fd, 3, PCMIG_RX_RAM_ZERO, 0x2000);
	ACT_IS(&fd, 4, PCMIG_RX_RAM_ZERO, 0x100000);
	ASSERT_EQ(2, fd.nranges);
	EXPECT_EQ(pc_ranges[0].size, fd.ranges[0].size);
	EXPECT_EQ(pc_ranges[1].gpa, fd.ranges[1].gpa);
	EXPECT_EQ(pc_ranges[1].size, fd.ranges[1].size);
	/* Every page of the VM written, none outside its ranges. */
	EXPECT_EQ(1 + 0x9e + 0x100, fd.ram_zero_pages);
	EXPECT_EQ(0xa0 + 0x100, fd.ram_zero_pages + fd.ram_pages);
	EXPECT_EQ(0, fd.ram_outside);
	EXPECT_TRUE(ram_zeroed(&fd, 0, 1));
	EXPECT_TRUE(ram_page_is(&fd, 0x1000, page));
	EXPECT_TRUE(ram_zeroed(&fd, 0x2000, 0x9e));
	EXPECT_TRUE(ram_zeroed(&fd, 0x100000, 0x100));
	feed_free(&fd);
	sb_free(&s);

	/* The builder writes the same bytes. */
	sb_init(&s);
	sb_ram_layout(&s, pc_ranges, 2);
	sb_ram_zero(&s, 0, 1);
	sb_ram_page(&s, 0x1000, page);
	sb_ram_zero(&s, 0x2000, 0x9e);
	sb_ram_zero(&s, 0x100000, 0x100);
	ASSERT_EQ(sizeof(section), s.n);
	EXPECT_EQ(0, memcmp(s.b, section, sizeof(section)));
	sb_free(&s);
}

TEST_HARNESS_MAIN
