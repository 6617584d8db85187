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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream_builder.h"

/* Largest model buffer; bigger blobs are checked by arithmetic only. */
#define MODEL_MAX	(1U << 20)

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
	       a == PCMIG_RX_BM_ANNOUNCE;
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
	       a == PCMIG_RX_PEER_FAILED;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct bm_model bm = { 0 };
	struct pcmig_rx rx;
	bool return_path, dead = false, ended = false;
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
		ret = pcmig_rx_frame(&rx, &f, payload, &act, &arg, &why);
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
