// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the pcmig receive-side checker (kmod/wire.c).
 *
 * Input: byte 0 selects the receiver (stream_builder.h: bit 0 return
 * path, bits 1-2 the session's capabilities), the rest is the byte stream
 * as read from the socket.  The loop below reads it exactly like the
 * kernel receiver: 16-byte preamble, then per frame an 8-byte header and
 * f.length payload bytes, stopping at the first error.  Payloads are
 * copied to heap buffers of exactly f.length bytes and device data is
 * written into a model buffer of exactly the announced size, so ASan
 * reports any read or write the checker lets through.  After a refused
 * preamble or an end frame the loop goes on offering the following
 * frames, to check that every one of them is refused.
 *
 * Bitmap chunks are ORed, word by word as the destination does, into a
 * model of exactly ceil(nbits / 64) u64 words allocated at BM_START, so a
 * chunk the checker lets through past the bitmap's end is an ASan report;
 * bits past nbits in the last word must stay clear, and COMPLETE must come
 * only when every bit was covered.  BM_ANNOUNCE must come only in the
 * stopped phase before any BM_START, with START's payload checks, and
 * open nothing.
 *
 * Guest RAM: an accepted RAM_LAYOUT comes once, never in postcopy, with
 * 1..256 non-empty page-aligned ranges, ascending and disjoint, none
 * reaching past 2^64 - 1, and a length of exactly 4 + 16 per range; an
 * accepted RAM_PAGE, RAM_ZERO or RAM_DISCARD comes after it, with a
 * page-aligned address equal to the action's argument, a length of
 * exactly 8 + 4096 or 12, and (ZERO, DISCARD) 1 or more pages that do not
 * run past 2^64 - 1.  PAGE and ZERO come in postcopy only with
 * postcopy-ram (rule S6); DISCARD only in the stopped phase and only with
 * postcopy-ram.  rx->ram_layout must say whether a layout was accepted.
 * The other way round too: a RAM frame that passed the header check is
 * refused exactly when ram_valid(), written from the specification, says
 * it breaks one of these rules.
 *
 * Return path: RET_LAYOUT_OK comes once; an accepted RET_PAGE_REQ (rule
 * S5) needs postcopy-ram and an earlier RET_LAYOUT_OK, and asks for 1..64
 * pages from a page-aligned address equal to the action's argument, not
 * past 2^64 - 1; a PAGE_REQ that passed the header check is refused
 * exactly when req_valid() says so.
 *
 * A stream with an accepted page is at least 1 + 16 + 28 + 4112 bytes,
 * more than the Makefile's -max_len=4096: LLVMFuzzerInitialize() raises a
 * smaller -max_len to FUZZ_MAX_LEN (saying so on stderr), or libFuzzer
 * would cut every RAM seed before its first page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream_builder.h"

/* Largest model buffer; bigger blobs are checked by arithmetic only. */
#define MODEL_MAX	(1U << 20)

/* Smallest -max_len run: room for a layout and a few pages. */
#define FUZZ_MAX_LEN	(4 * (PCMIG_WIRE_FRAME_HDR_LEN + \
			      PCMIG_RAM_PAGE_LEN))

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
			__FILE__, __LINE__, #cond);			\
		abort();						\
	}								\
} while (0)

static bool fwd_act(enum pcmig_rx_act a)
{
	return a == PCMIG_RX_NONE || a == PCMIG_RX_DEV_ALLOC ||
	       a == PCMIG_RX_DEV_DATA || a == PCMIG_RX_DEV_DONE ||
	       a == PCMIG_RX_PHASE || a == PCMIG_RX_EOS ||
	       a == PCMIG_RX_CANCELLED || a == PCMIG_RX_BM_START ||
	       a == PCMIG_RX_BM_BITS || a == PCMIG_RX_BM_ZEROES ||
	       a == PCMIG_RX_BM_COMPLETE || a == PCMIG_RX_BM_EOS ||
	       a == PCMIG_RX_BM_ANNOUNCE || a == PCMIG_RX_RAM_LAYOUT ||
	       a == PCMIG_RX_RAM_PAGE || a == PCMIG_RX_RAM_ZERO ||
	       a == PCMIG_RX_RAM_DISCARD;
}

#define CAP_RAM	(1U << PCMIG_CAP_POSTCOPY_RAM)

/*
 * Whether the checker must accept a RAM frame whose header it accepted
 * (so f->length is within its type's bounds), in @phase, after a layout
 * or not (@layout), with session capabilities @caps:
 * Documentation/pcmig/stream.rst, independently of kmod/wire.c.
 */
static bool ram_valid(bool layout, const struct pcmig_wire_frame *f,
		      const u8 *payload, u32 phase, u32 caps)
{
	u64 gpa, size, end = 0;
	u32 i, n;

	/* After the start: pages and zero runs, with postcopy-ram only. */
	if (phase == PCMIG_PHASE_POSTCOPY &&
	    (!(caps & CAP_RAM) || (f->type != PCMIG_RAM_PAGE &&
				   f->type != PCMIG_RAM_ZERO)))
		return false;
	/* Discards: while stopped, with postcopy-ram only. */
	if (f->type == PCMIG_RAM_DISCARD &&
	    (phase != PCMIG_PHASE_STOPPED || !(caps & CAP_RAM)))
		return false;
	if (f->type == PCMIG_RAM_LAYOUT) {
		n = get_unaligned_be32(payload);
		if (layout || n < 1 || n > PCMIG_RAM_RANGES_MAX ||
		    f->length != 4 + n * PCMIG_RAM_RANGE_LEN)
			return false;
		for (i = 0; i < n; i++) {
			gpa = get_unaligned_be64(payload + 4 + 16 * i);
			size = get_unaligned_be64(payload + 12 + 16 * i);
			if (!size || gpa % 4096 || size % 4096 ||
			    size > U64_MAX - gpa || (i && gpa < end))
				return false;
			end = gpa + size;
		}
		return true;
	}
	gpa = get_unaligned_be64(payload);
	if (!layout || gpa % 4096)
		return false;
	if (f->type == PCMIG_RAM_PAGE)
		return true;
	n = get_unaligned_be32(payload + 8);
	return n && (u64)n * 4096 <= U64_MAX - gpa;
}

/*
 * Whether the checker must accept a RET_PAGE_REQ whose header it
 * accepted (12 bytes), after a RET_LAYOUT_OK or not (@layout_ok).
 */
static bool req_valid(bool layout_ok, const u8 *payload, u32 caps)
{
	u64 gpa = get_unaligned_be64(payload);
	u32 n = get_unaligned_be32(payload + 8);

	return (caps & CAP_RAM) && layout_ok && gpa % 4096 == 0 &&
	       n >= 1 && n <= 64 && (u64)n * 4096 <= U64_MAX - gpa;
}

/*
 * An accepted RAM frame (phase: the phase it came in), given whether a
 * layout was accepted before it.
 */
static void ram_action(bool *layout, const struct pcmig_wire_frame *f,
		       const u8 *payload, enum pcmig_rx_act act, u64 arg,
		       u32 phase, u32 caps)
{
	struct pcmig_ram_range r;
	u64 end = 0;
	u32 i, n, pages;

	/*
	 * S1, S6: compatible state; after the start only pages and zero
	 * runs, with postcopy-ram.  Discards while stopped, with it too.
	 */
	CHECK(phase == PCMIG_PHASE_PRECOPY || phase == PCMIG_PHASE_STOPPED ||
	      phase == PCMIG_PHASE_POSTCOPY);
	if (phase == PCMIG_PHASE_POSTCOPY)
		CHECK((caps & CAP_RAM) && (act == PCMIG_RX_RAM_PAGE ||
					   act == PCMIG_RX_RAM_ZERO));
	if (act == PCMIG_RX_RAM_DISCARD)
		CHECK(phase == PCMIG_PHASE_STOPPED && (caps & CAP_RAM));
	CHECK(f->section == PCMIG_SEC_RAM);
	if (act == PCMIG_RX_RAM_LAYOUT) {
		CHECK(f->type == PCMIG_RAM_LAYOUT);
		CHECK(!*layout);
		CHECK(arg == 0);
		CHECK(f->length >= 4);
		n = pcmig_wire_ram_ranges(payload);
		CHECK(n >= 1 && n <= PCMIG_RAM_RANGES_MAX);
		CHECK(f->length == 4 + n * PCMIG_RAM_RANGE_LEN);
		for (i = 0; i < n; i++) {
			pcmig_wire_ram_range(payload, i, &r);
			CHECK(r.size > 0);
			CHECK(r.gpa % PCMIG_RAM_PAGE_SIZE == 0);
			CHECK(r.size % PCMIG_RAM_PAGE_SIZE == 0);
			CHECK(r.size <= U64_MAX - r.gpa);
			CHECK(!i || r.gpa >= end);
			end = r.gpa + r.size;
		}
		*layout = true;
		return;
	}
	CHECK(*layout);
	CHECK(f->length >= 8);
	CHECK(get_unaligned_be64(payload) == arg);
	CHECK(arg % PCMIG_RAM_PAGE_SIZE == 0);
	if (act == PCMIG_RX_RAM_PAGE) {
		CHECK(f->type == PCMIG_RAM_PAGE);
		CHECK(f->length == PCMIG_RAM_PAGE_LEN);
	} else {
		CHECK(act == PCMIG_RX_RAM_ZERO ? f->type == PCMIG_RAM_ZERO :
		      f->type == PCMIG_RAM_DISCARD);
		CHECK(f->length == PCMIG_RAM_RUN_LEN);
		pages = pcmig_wire_ram_run_pages(payload);
		CHECK(pages >= 1);
		CHECK((u64)pages * PCMIG_RAM_PAGE_SIZE <= U64_MAX - arg);
	}
}

/* The destination's view of the bitmap being received. */
struct bm_model {
	bool any;		/* announced or started: BM_EOS is due */
	bool started, open, eos;
	u64 nbits, next;
	u64 *words;		/* ceil(nbits / 64) words, or NULL if big */
};

static u64 nwords(u64 nbits)
{
	return nbits / 64 + (nbits % 64 != 0);
}

/* rx->bm after an accepted BM_START or BM_ANNOUNCE matches the payload. */
static void check_named(const struct pcmig_rx_bitmap *bm,
			const struct pcmig_wire_frame *f, const u8 *payload)
{
	u32 nl = strlen(bm->node), bl = strlen(bm->name);

	CHECK(nl >= 1 && nl <= PCMIG_NAME_MAX);
	CHECK(bl >= 1 && bl <= PCMIG_NAME_MAX);
	CHECK(f->length == nl + bl + PCMIG_BM_START_FIXED);
	CHECK(payload[0] == nl && !memcmp(payload + 1, bm->node, nl));
	CHECK(payload[1 + nl] == bl &&
	      !memcmp(payload + 2 + nl, bm->name, bl));
	CHECK(get_unaligned_be32(payload + 2 + nl + bl) == bm->granularity);
	CHECK(bm->granularity >= PCMIG_GRANULARITY_MIN &&
	      bm->granularity <= PCMIG_GRANULARITY_MAX &&
	      !(bm->granularity & (bm->granularity - 1)));
	CHECK(payload[6 + nl + bl] == (bm->enabled ? PCMIG_BM_F_ENABLED : 0));
	CHECK(get_unaligned_be64(payload + 7 + nl + bl) == bm->node_size);
	CHECK(bm->node_size > 0);
	CHECK(bm->nbits >= 1);
	CHECK(bm->nbits == bm->node_size / bm->granularity +
			   (bm->node_size % bm->granularity != 0));
	CHECK(bm->next == 0);
}

static void bm_action(struct bm_model *m, const struct pcmig_rx *rx,
		      const struct pcmig_wire_frame *f, const u8 *payload,
		      enum pcmig_rx_act act, u64 arg, u32 caps, u32 phase)
{
	const struct pcmig_rx_bitmap *bm = &rx->bm;
	u32 nbits, w;
	bool zero;

	/* S8: postcopy-only state, and only with its capability. */
	CHECK(caps & (1U << PCMIG_CAP_POSTCOPY_BITMAPS));
	CHECK(phase == PCMIG_PHASE_STOPPED || phase == PCMIG_PHASE_POSTCOPY);
	CHECK(!m->eos);
	switch (act) {
	case PCMIG_RX_BM_ANNOUNCE:
		/* Before the destination runs and before any bitmap data. */
		CHECK(phase == PCMIG_PHASE_STOPPED);
		CHECK(!m->started && !m->open);
		check_named(bm, f, payload);
		m->any = true;
		break;
	case PCMIG_RX_BM_START:
		CHECK(!m->open);
		check_named(bm, f, payload);
		m->any = true;
		m->started = true;
		m->open = true;
		m->nbits = bm->nbits;
		m->next = 0;
		free(m->words);
		m->words = NULL;
		if (nwords(m->nbits) * 8 <= MODEL_MAX) {
			m->words = calloc(nwords(m->nbits), sizeof(u64));
			CHECK(m->words);
		}
		break;
	case PCMIG_RX_BM_BITS:
	case PCMIG_RX_BM_ZEROES:
		CHECK(m->open);
		CHECK(arg == m->next);
		CHECK(arg % 64 == 0);
		CHECK(f->length >= PCMIG_BM_CHUNK_HDR);
		CHECK(get_unaligned_be64(payload) == arg);
		nbits = get_unaligned_be32(payload + 8);
		CHECK(nbits >= 1 && nbits <= PCMIG_BM_CHUNK_BITS);
		CHECK(nbits <= m->nbits - arg);
		if (act == PCMIG_RX_BM_ZEROES) {
			CHECK(f->length == PCMIG_BM_CHUNK_HDR);
		} else {
			CHECK(f->length == PCMIG_BM_CHUNK_HDR + nbits / 8 +
					   (nbits % 8 != 0));
			zero = true;
			for (w = 0; w < nwords(nbits); w++) {
				u64 v = pcmig_wire_bm_get_word(payload +
						PCMIG_BM_CHUNK_HDR, nbits, w);

				if (v)
					zero = false;
				/* No bit past the chunk's end. */
				if (w == nwords(nbits) - 1 && nbits % 64)
					CHECK(!(v >> (nbits % 64)));
				if (m->words)
					m->words[arg / 64 + w] |= v;
			}
			CHECK(!zero);
			if (m->words && m->nbits % 64)
				CHECK(!(m->words[m->nbits / 64] >>
					(m->nbits % 64)));
		}
		m->next += nbits;
		break;
	case PCMIG_RX_BM_COMPLETE:
		CHECK(m->open);
		CHECK(m->next == m->nbits);
		m->open = false;
		free(m->words);
		m->words = NULL;
		break;
	default: /* PCMIG_RX_BM_EOS */
		CHECK(!m->open);
		m->eos = true;
		break;
	}
}

static bool rp_act(enum pcmig_rx_act a)
{
	return a == PCMIG_RX_ACK || a == PCMIG_RX_COMPLETE ||
	       a == PCMIG_RX_PEER_FAILED || a == PCMIG_RX_LAYOUT_OK ||
	       a == PCMIG_RX_PAGE_REQ;
}

/* An accepted RET_PAGE_REQ (rule S5). */
static void req_action(bool layout_ok, const struct pcmig_wire_frame *f,
		       const u8 *payload, u64 arg, u32 caps)
{
	u32 pages;

	CHECK(caps & CAP_RAM);
	CHECK(layout_ok);
	CHECK(f->section == PCMIG_SEC_RETURN && f->type == PCMIG_RET_PAGE_REQ);
	CHECK(f->length == PCMIG_RAM_RUN_LEN);
	CHECK(get_unaligned_be64(payload) == arg);
	CHECK(arg % PCMIG_RAM_PAGE_SIZE == 0);
	pages = pcmig_wire_ram_run_pages(payload);
	CHECK(pages >= 1 && pages <= PCMIG_RAM_REQ_MAX);
	CHECK((u64)pages * PCMIG_RAM_PAGE_SIZE <= U64_MAX - arg);
}

/* Raise a -max_len below FUZZ_MAX_LEN (see the top of this file). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char flag[32];
	int i;

	for (i = 1; i < *argc; i++) {
		const char *a = (*argv)[i];

		if (strncmp(a, "-max_len=", 9) ||
		    strtoul(a + 9, NULL, 10) >= FUZZ_MAX_LEN)
			continue;
		snprintf(flag, sizeof(flag), "-max_len=%u", FUZZ_MAX_LEN);
		fprintf(stderr,
			"wire_fuzz: %s raised to %s, for RAM pages to fit\n",
			a, flag);
		(*argv)[i] = flag;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct bm_model bm = { 0 };
	struct pcmig_rx rx;
	bool return_path, dead = false, ended = false, ram_layout = false;
	bool dev_alloc = false, dev_done = false;
	u64 dev_size = 0, dev_next = 0;
	u32 caps, last_phase = PCMIG_PHASE_PRECOPY;
	u8 *dev = NULL;
	const char *why;
	size_t pos;
	int ret;

	if (size < 1 + PCMIG_WIRE_PREAMBLE_LEN)
		return 0;
	return_path = data[0] & FUZZ_MODE_RP;
	caps = (data[0] >> FUZZ_MODE_CAPS_SHIFT) & PCMIG_CAPS_ALL;
	data++;
	size--;

	pcmig_rx_init(&rx, return_path);
	why = NULL;
	ret = pcmig_rx_preamble(&rx, data, caps, &why);
	if (ret) {
		CHECK(ret < 0 && why);
		CHECK(!rx.preamble_seen);
		dead = true;
	} else {
		CHECK(rx.preamble_seen && rx.caps == caps);
		/* A second preamble is always refused. */
		why = NULL;
		ret = pcmig_rx_preamble(&rx, data, caps, &why);
		CHECK(ret < 0 && why);
	}
	pos = PCMIG_WIRE_PREAMBLE_LEN;

	while (size - pos >= PCMIG_WIRE_FRAME_HDR_LEN) {
		struct pcmig_wire_frame f;
		enum pcmig_rx_act act = (enum pcmig_rx_act)-1;
		u64 arg = 0x5a5a5a5a5a5a5a5aULL;
		bool ram_want, req_want;
		u8 *payload;

		why = NULL;
		ret = pcmig_rx_frame_hdr(&rx, data + pos, &f, &why);
		pos += PCMIG_WIRE_FRAME_HDR_LEN;
		if (ret) {
			CHECK(ret < 0 && why);
			/* A real receiver drops the stream here. */
			break;
		}
		/* No frame passes the header check after an error or end. */
		CHECK(!dead && !ended);
		CHECK(f.flags == 0);
		CHECK(f.length <= PCMIG_WIRE_FRAME_MAX);
		if (size - pos < f.length)
			break;
		payload = malloc(f.length);
		CHECK(payload || !f.length);
		memcpy(payload, data + pos, f.length);
		pos += f.length;

		why = NULL;
		ram_want = !return_path && f.section == PCMIG_SEC_RAM &&
			   ram_valid(ram_layout, &f, payload, last_phase, caps);
		req_want = return_path && f.type == PCMIG_RET_PAGE_REQ &&
			   req_valid(ram_layout, payload, caps);
		ret = pcmig_rx_frame(&rx, &f, payload, &act, &arg, &why);
		if (!return_path && f.section == PCMIG_SEC_RAM)
			CHECK(!ret == ram_want);
		if (return_path && f.type == PCMIG_RET_PAGE_REQ)
			CHECK(!ret == req_want);
		if (ret) {
			CHECK(ret < 0 && why);
			CHECK(act == PCMIG_RX_NONE);
			free(payload);
			/*
			 * The kernel stops at the first error; stop too, as
			 * a state left by an error is not meant to be used.
			 */
			break;
		}
		if (return_path)
			CHECK(rp_act(act));
		else
			CHECK(fwd_act(act));

		switch (act) {
		case PCMIG_RX_DEV_ALLOC:
			CHECK(!dev_alloc);
			CHECK(arg <= PCMIG_DEVSTATE_MAX);
			CHECK(rx.phase != PCMIG_PHASE_POSTCOPY);
			dev_alloc = true;
			dev_size = arg;
			if (arg <= MODEL_MAX) {
				dev = malloc(arg);
				CHECK(dev || !arg);
			}
			break;
		case PCMIG_RX_DEV_DATA:
			CHECK(dev_alloc && !dev_done);
			CHECK(last_phase != PCMIG_PHASE_POSTCOPY);
			CHECK(arg == dev_next);
			CHECK(f.length <= dev_size && arg <= dev_size - f.length);
			if (dev)
				memcpy(dev + arg, payload, f.length);
			dev_next += f.length;
			break;
		case PCMIG_RX_DEV_DONE:
			CHECK(dev_alloc && !dev_done);
			CHECK(dev_next == dev_size);
			CHECK(last_phase != PCMIG_PHASE_POSTCOPY);
			dev_done = true;
			break;
		case PCMIG_RX_PHASE:
			/* Never with a bitmap open. */
			CHECK(!bm.open);
			/* Phases only increase, one step at a time. */
			CHECK(arg == last_phase + 1);
			CHECK(arg == PCMIG_PHASE_STOPPED ||
			      arg == PCMIG_PHASE_POSTCOPY);
			if (arg == PCMIG_PHASE_POSTCOPY) {
				CHECK(caps & PCMIG_CAPS_POSTCOPY);
				/* S1: device state complete before the start. */
				CHECK(dev_done);
			}
			last_phase = arg;
			break;
		case PCMIG_RX_ACK:
			CHECK(arg > last_phase);
			CHECK(arg == PCMIG_PHASE_STOPPED ||
			      arg == PCMIG_PHASE_POSTCOPY);
			last_phase = arg;
			break;
		case PCMIG_RX_EOS:
			CHECK(dev_done);
			/* No bitmap left open; BM_EOS if any was sent. */
			CHECK(!bm.open);
			CHECK(!bm.any || bm.eos);
			CHECK(last_phase == PCMIG_PHASE_STOPPED ||
			      last_phase == PCMIG_PHASE_POSTCOPY);
			ended = true;
			break;
		case PCMIG_RX_BM_ANNOUNCE:
		case PCMIG_RX_BM_START:
		case PCMIG_RX_BM_BITS:
		case PCMIG_RX_BM_ZEROES:
		case PCMIG_RX_BM_COMPLETE:
		case PCMIG_RX_BM_EOS:
			bm_action(&bm, &rx, &f, payload, act, arg, caps,
				  last_phase);
			break;
		case PCMIG_RX_RAM_LAYOUT:
		case PCMIG_RX_RAM_PAGE:
		case PCMIG_RX_RAM_ZERO:
		case PCMIG_RX_RAM_DISCARD:
			ram_action(&ram_layout, &f, payload, act, arg,
				   last_phase, caps);
			break;
		case PCMIG_RX_PAGE_REQ:
			req_action(ram_layout, &f, payload, arg, caps);
			break;
		case PCMIG_RX_LAYOUT_OK:
			/* Return path: the layout is accepted once. */
			CHECK(!ram_layout);
			ram_layout = true;
			break;
		case PCMIG_RX_CANCELLED:
		case PCMIG_RX_COMPLETE:
		case PCMIG_RX_PEER_FAILED:
			ended = true;
			break;
		default:
			break;
		}
		CHECK(rx.phase == last_phase);
		CHECK(rx.dev_received == dev_next);
		CHECK(rx.dev_received <= rx.dev_size);
		CHECK(rx.bm_open == bm.open && rx.bm_ended == bm.eos);
		CHECK(rx.bm_seen == bm.any && rx.bm_started == bm.started);
		CHECK(rx.ram_layout == ram_layout);
		if (bm.open)
			CHECK(rx.bm.next == bm.next && bm.next <= bm.nbits);
		if (ended)
			CHECK(rx.ended);
		free(payload);
	}

	free(dev);
	free(bm.words);
	return 0;
}
