// SPDX-License-Identifier: GPL-2.0
/*
 * pcmig stream codec and receive-side checker (pure: see wire.h).
 *
 * The checker is the single place where an incoming stream is judged.
 * Every field of every frame is validated against the frame's type and
 * against what the stream may carry at that point (rule S1: precopy-only
 * state never after the destination CPUs have started), so the callers
 * only move bytes where the checker tells them to.
 */
#include "bitmap.h"
#include "wire.h"

void pcmig_wire_put_preamble(u8 *buf, u32 magic, u32 caps)
{
	put_unaligned_be32(magic, buf);
	put_unaligned_be16(PCMIG_STREAM_VERSION, buf + 4);
	put_unaligned_be16(PCMIG_WIRE_PREAMBLE_LEN, buf + 6);
	put_unaligned_be32(caps, buf + 8);
	put_unaligned_be32(0, buf + 12);
}

void pcmig_wire_put_frame(u8 *buf, u8 section, u8 type, u32 length)
{
	buf[0] = section;
	buf[1] = type;
	put_unaligned_be16(0, buf + 2);
	put_unaligned_be32(length, buf + 4);
}

u64 pcmig_wire_bm_nbits(u64 node_size, u32 granularity)
{
	return node_size / granularity + (node_size % granularity != 0);
}

u32 pcmig_wire_bm_chunk_bits(u64 nbits, u64 first)
{
	u64 left = nbits - first;

	return left < PCMIG_BM_CHUNK_BITS ? left : PCMIG_BM_CHUNK_BITS;
}

/*
 * BM_START payload for bitmap @bitmap of node @node into @buf (at least
 * PCMIG_BM_START_MAX bytes).  Returns its length, or 0 if a name is empty
 * or longer than PCMIG_NAME_MAX (then @buf is left alone).
 */
u32 pcmig_wire_put_bm_start(u8 *buf, const char *node, const char *bitmap,
			    u32 granularity, bool enabled, u64 node_size)
{
	size_t nl = strnlen(node, PCMIG_NAME_MAX + 1);
	size_t bl = strnlen(bitmap, PCMIG_NAME_MAX + 1);
	u8 *p = buf;

	if (!nl || nl > PCMIG_NAME_MAX || !bl || bl > PCMIG_NAME_MAX)
		return 0;
	*p++ = nl;
	memcpy(p, node, nl);
	p += nl;
	*p++ = bl;
	memcpy(p, bitmap, bl);
	p += bl;
	put_unaligned_be32(granularity, p);
	p += 4;
	*p++ = enabled ? PCMIG_BM_F_ENABLED : 0;
	put_unaligned_be64(node_size, p);
	p += 8;
	return p - buf;
}

/* Bits @b..@b + @n - 1 (@n <= 8) of a u64-word bitmap, bit @b lowest. */
static u8 bm_get8(const u64 *words, u64 b, u32 n)
{
	u32 sh = b % PCMIG_BITMAP_WORD_BITS;
	u64 v = words[b / PCMIG_BITMAP_WORD_BITS] >> sh;

	if (sh + n > PCMIG_BITMAP_WORD_BITS)
		v |= words[b / PCMIG_BITMAP_WORD_BITS + 1] <<
		     (PCMIG_BITMAP_WORD_BITS - sh);
	return v & (0xffU >> (8 - n));
}

/* Whether bits @first..@first + @nbits - 1 of @words are all clear. */
bool pcmig_wire_bm_chunk_is_zero(const u64 *words, u64 first, u32 nbits)
{
	u32 i, n;

	for (i = 0; i < nbits; i += n) {
		n = nbits - i < 8 ? nbits - i : 8;
		if (bm_get8(words, first + i, n))
			return false;
	}
	return true;
}

/* BM_ZEROES payload (PCMIG_BM_CHUNK_HDR bytes); returns its length. */
u32 pcmig_wire_put_bm_zeroes(u8 *buf, u64 first, u32 nbits)
{
	put_unaligned_be64(first, buf);
	put_unaligned_be32(nbits, buf + 8);
	return PCMIG_BM_CHUNK_HDR;
}

/*
 * BM_BITS payload for bits @first..@first + @nbits - 1 of @words (laid out
 * as in bitmap.h) into @buf (PCMIG_BM_CHUNK_HDR + ceil(@nbits / 8) bytes).
 * The data is written byte by byte, LSB first, whatever the host's
 * endianness; bits past @nbits in the last byte are zero.  Returns the
 * payload length.
 */
u32 pcmig_wire_put_bm_bits(u8 *buf, const u64 *words, u64 first, u32 nbits)
{
	u8 *d = buf + PCMIG_BM_CHUNK_HDR;
	u32 i, n;

	pcmig_wire_put_bm_zeroes(buf, first, nbits);
	for (i = 0; i < nbits; i += n) {
		n = nbits - i < 8 ? nbits - i : 8;
		*d++ = bm_get8(words, first + i, n);
	}
	return d - buf;
}

/*
 * Word @idx (bits 64 * @idx..) of the data of a chunk of @nbits bits, in
 * the bitmap.h layout, for the receiver to OR in at word first / 64 (the
 * checker accepts only chunks whose first bit is a multiple of
 * PCMIG_BM_CHUNK_BITS, so of 64).  @idx must be below ceil(@nbits / 64);
 * reads only the chunk's ceil(@nbits / 8) data bytes.
 */
u64 pcmig_wire_bm_get_word(const u8 *data, u32 nbits, u32 idx)
{
	u32 nbytes = nbits / 8 + (nbits % 8 != 0);
	u32 i, off = idx * 8;
	u64 v = 0;

	for (i = 0; i < 8 && off + i < nbytes; i++)
		v |= (u64)data[off + i] << (8 * i);
	return v;
}

u32 pcmig_wire_put_ram_layout(u8 *buf, const struct pcmig_ram_range *r,
			      u32 n)
{
	u32 i;

	put_unaligned_be32(n, buf);
	for (i = 0; i < n; i++) {
		put_unaligned_be64(r[i].gpa, buf + 4 + i * PCMIG_RAM_RANGE_LEN);
		put_unaligned_be64(r[i].size,
				   buf + 12 + i * PCMIG_RAM_RANGE_LEN);
	}
	return 4 + n * PCMIG_RAM_RANGE_LEN;
}

void pcmig_wire_put_ram_page_gpa(u8 *buf, u64 gpa)
{
	put_unaligned_be64(gpa, buf);
}

u32 pcmig_wire_put_ram_run(u8 *buf, u64 gpa, u32 pages)
{
	put_unaligned_be64(gpa, buf);
	put_unaligned_be32(pages, buf + 8);
	return PCMIG_RAM_RUN_LEN;
}

u32 pcmig_wire_ram_run_pages(const u8 *payload)
{
	return get_unaligned_be32(payload + 8);
}

u32 pcmig_wire_ram_ranges(const u8 *payload)
{
	return get_unaligned_be32(payload);
}

void pcmig_wire_ram_range(const u8 *payload, u32 i,
			  struct pcmig_ram_range *r)
{
	r->gpa = get_unaligned_be64(payload + 4 + i * PCMIG_RAM_RANGE_LEN);
	r->size = get_unaligned_be64(payload + 12 + i * PCMIG_RAM_RANGE_LEN);
}

void pcmig_rx_init(struct pcmig_rx *rx, bool return_path)
{
	memset(rx, 0, sizeof(*rx));
	rx->return_path = return_path;
	rx->phase = PCMIG_PHASE_PRECOPY;
}

int pcmig_rx_preamble(struct pcmig_rx *rx, const u8 *buf, u32 want_caps,
		      const char **why)
{
	u32 magic = get_unaligned_be32(buf);
	u32 want = rx->return_path ? PCMIG_WIRE_RP_MAGIC : PCMIG_WIRE_MAGIC;

	if (rx->preamble_seen) {
		*why = "preamble received twice";
		return -EPROTO;
	}
	if (magic != want) {
		*why = "bad magic: peer is not a pcmig stream";
		return -EPROTO;
	}
	if (get_unaligned_be16(buf + 4) != PCMIG_STREAM_VERSION) {
		*why = "unsupported stream version";
		return -EPROTONOSUPPORT;
	}
	if (get_unaligned_be16(buf + 6) != PCMIG_WIRE_PREAMBLE_LEN) {
		*why = "bad preamble length";
		return -EPROTO;
	}
	if (get_unaligned_be32(buf + 12) != 0) {
		*why = "reserved preamble field is not zero";
		return -EPROTO;
	}
	rx->caps = get_unaligned_be32(buf + 8);
	if (rx->caps & ~PCMIG_CAPS_ALL) {
		*why = "stream announces unknown capabilities";
		return -EPROTO;
	}
	if (rx->caps != want_caps) {
		*why = "stream capabilities differ from the session's";
		return -EPROTO;
	}
	rx->preamble_seen = true;
	return 0;
}

/* Largest payload allowed for each frame type; 0 = no payload. */
static int frame_len_ok(const struct pcmig_wire_frame *f, bool return_path,
			const char **why)
{
	u32 min = 0, max = 0;

	if (return_path) {
		if (f->section != PCMIG_SEC_RETURN) {
			*why = "unknown return-path section";
			return -EPROTO;
		}
		switch (f->type) {
		case PCMIG_RET_ACK:
			min = 4;
			max = 4;
			break;
		case PCMIG_RET_COMPLETE:
		case PCMIG_RET_LAYOUT_OK:
			break;
		case PCMIG_RET_PAGE_REQ:
			min = PCMIG_RAM_RUN_LEN;
			max = PCMIG_RAM_RUN_LEN;
			break;
		case PCMIG_RET_FAIL:
			max = PCMIG_WIRE_REASON_MAX;
			break;
		default:
			*why = "unknown return-path frame type";
			return -EPROTO;
		}
	} else if (f->section == PCMIG_SEC_CONTROL) {
		switch (f->type) {
		case PCMIG_CTL_PHASE:
			min = 4;
			max = 4;
			break;
		case PCMIG_CTL_EOS:
			break;
		case PCMIG_CTL_CANCEL:
			max = PCMIG_WIRE_REASON_MAX;
			break;
		default:
			*why = "unknown control frame type";
			return -EPROTO;
		}
	} else if (f->section == PCMIG_SEC_DEVICE) {
		switch (f->type) {
		case PCMIG_DEV_BEGIN:
			min = 8;
			max = 8;
			break;
		case PCMIG_DEV_DATA:
			min = 1;
			max = PCMIG_WIRE_FRAME_MAX;
			break;
		case PCMIG_DEV_END:
			break;
		default:
			*why = "unknown device frame type";
			return -EPROTO;
		}
	} else if (f->section == PCMIG_SEC_RAM) {
		switch (f->type) {
		case PCMIG_RAM_LAYOUT:
			min = 4 + PCMIG_RAM_RANGE_LEN;
			max = PCMIG_RAM_LAYOUT_MAX;
			break;
		case PCMIG_RAM_PAGE:
			min = PCMIG_RAM_PAGE_LEN;
			max = PCMIG_RAM_PAGE_LEN;
			break;
		case PCMIG_RAM_ZERO:
		case PCMIG_RAM_DISCARD:
			min = PCMIG_RAM_RUN_LEN;
			max = PCMIG_RAM_RUN_LEN;
			break;
		default:
			*why = "unknown RAM frame type";
			return -EPROTO;
		}
	} else if (f->section == PCMIG_SEC_BITMAPS) {
		switch (f->type) {
		case PCMIG_BM_START:
		case PCMIG_BM_ANNOUNCE:
			min = PCMIG_BM_START_MIN;
			max = PCMIG_BM_START_MAX;
			break;
		case PCMIG_BM_BITS:
			min = PCMIG_BM_CHUNK_HDR + 1;
			max = PCMIG_BM_BITS_MAX;
			break;
		case PCMIG_BM_ZEROES:
			min = PCMIG_BM_CHUNK_HDR;
			max = PCMIG_BM_CHUNK_HDR;
			break;
		case PCMIG_BM_COMPLETE:
		case PCMIG_BM_EOS:
			break;
		default:
			*why = "unknown bitmap frame type";
			return -EPROTO;
		}
	} else {
		*why = "unknown stream section";
		return -EPROTO;
	}
	if (f->length < min || f->length > max) {
		*why = "frame length out of range for its type";
		return -EMSGSIZE;
	}
	return 0;
}

int pcmig_rx_frame_hdr(const struct pcmig_rx *rx, const u8 *buf,
		       struct pcmig_wire_frame *f, const char **why)
{
	f->section = buf[0];
	f->type = buf[1];
	f->flags = get_unaligned_be16(buf + 2);
	f->length = get_unaligned_be32(buf + 4);

	if (!rx->preamble_seen) {
		*why = "frame before preamble";
		return -EPROTO;
	}
	if (rx->ended) {
		*why = "frame after end of stream";
		return -EPROTO;
	}
	if (f->flags) {
		*why = "unknown frame flags";
		return -EPROTO;
	}
	return frame_len_ok(f, rx->return_path, why);
}

/*
 * Rule S5: a page request, only with postcopy-ram and once the RAM layout
 * was accepted.  Whether the pages exist is for the source to judge.
 */
static int rx_page_req(struct pcmig_rx *rx, const u8 *payload,
		       enum pcmig_rx_act *act, u64 *arg, const char **why)
{
	u64 gpa = get_unaligned_be64(payload);
	u32 pages = pcmig_wire_ram_run_pages(payload);

	if (!(rx->caps & (1U << PCMIG_CAP_POSTCOPY_RAM))) {
		*why = "page request without postcopy-ram";
		return -EPROTO;
	}
	if (!rx->ram_layout) {
		*why = "page request before the RAM layout was accepted";
		return -EPROTO;
	}
	if (gpa % PCMIG_RAM_PAGE_SIZE || !pages || pages > PCMIG_RAM_REQ_MAX ||
	    gpa + (u64)pages * PCMIG_RAM_PAGE_SIZE < gpa) {
		*why = "bad page request";
		return -EPROTO;
	}
	*act = PCMIG_RX_PAGE_REQ;
	*arg = gpa;
	return 0;
}

static int rx_return(struct pcmig_rx *rx, const struct pcmig_wire_frame *f,
		     const u8 *payload, enum pcmig_rx_act *act, u64 *arg,
		     const char **why)
{
	u32 phase;

	switch (f->type) {
	case PCMIG_RET_ACK:
		phase = get_unaligned_be32(payload);
		if (phase != PCMIG_PHASE_STOPPED &&
		    phase != PCMIG_PHASE_POSTCOPY) {
			*why = "return path acknowledges an invalid phase";
			return -EPROTO;
		}
		if (phase == PCMIG_PHASE_POSTCOPY &&
		    !(rx->caps & PCMIG_CAPS_POSTCOPY)) {
			*why = "return path acknowledges postcopy without a postcopy capability";
			return -EPROTO;
		}
		if (phase <= rx->phase) {
			*why = "return path acknowledges phases out of order";
			return -EPROTO;
		}
		rx->phase = phase;
		*act = PCMIG_RX_ACK;
		*arg = phase;
		return 0;
	case PCMIG_RET_COMPLETE:
		rx->ended = true;
		*act = PCMIG_RX_COMPLETE;
		return 0;
	case PCMIG_RET_LAYOUT_OK:
		if (rx->ram_layout) {
			*why = "return path accepts the RAM layout twice";
			return -EPROTO;
		}
		rx->ram_layout = true;
		*act = PCMIG_RX_LAYOUT_OK;
		return 0;
	case PCMIG_RET_PAGE_REQ:
		return rx_page_req(rx, payload, act, arg, why);
	default: /* PCMIG_RET_FAIL, checked by frame_len_ok() */
		rx->ended = true;
		*act = PCMIG_RX_PEER_FAILED;
		return 0;
	}
}

static int rx_control(struct pcmig_rx *rx, const struct pcmig_wire_frame *f,
		      const u8 *payload, enum pcmig_rx_act *act, u64 *arg,
		      const char **why)
{
	u32 phase;

	switch (f->type) {
	case PCMIG_CTL_PHASE:
		/* A bitmap's chunks are not split across a phase change. */
		if (rx->bm_open) {
			*why = "phase change while a bitmap is open";
			return -EPROTO;
		}
		phase = get_unaligned_be32(payload);
		if (phase == PCMIG_PHASE_STOPPED &&
		    rx->phase == PCMIG_PHASE_PRECOPY) {
			rx->phase = phase;
		} else if (phase == PCMIG_PHASE_POSTCOPY &&
			   rx->phase == PCMIG_PHASE_STOPPED) {
			if (!(rx->caps & PCMIG_CAPS_POSTCOPY)) {
				*why = "postcopy without a postcopy capability";
				return -EPROTO;
			}
			/* S1: precopy-only state must be complete first. */
			if (!rx->dev_done) {
				*why = "postcopy before device state completed";
				return -EPROTO;
			}
			rx->phase = phase;
		} else {
			*why = "invalid phase transition in stream";
			return -EPROTO;
		}
		*act = PCMIG_RX_PHASE;
		*arg = phase;
		return 0;
	case PCMIG_CTL_EOS:
		if (rx->phase == PCMIG_PHASE_PRECOPY) {
			*why = "end of stream before the stopped phase";
			return -EPROTO;
		}
		if (!rx->dev_done) {
			*why = "end of stream before device state completed";
			return -EPROTO;
		}
		if (rx->bm_open) {
			*why = "end of stream while a bitmap is open";
			return -EPROTO;
		}
		if (rx->bm_seen && !rx->bm_ended) {
			*why = "end of stream before the end of the bitmaps";
			return -EPROTO;
		}
		rx->ended = true;
		*act = PCMIG_RX_EOS;
		return 0;
	default: /* PCMIG_CTL_CANCEL */
		rx->ended = true;
		*act = PCMIG_RX_CANCELLED;
		return 0;
	}
}

static int rx_device(struct pcmig_rx *rx, const struct pcmig_wire_frame *f,
		     const u8 *payload, enum pcmig_rx_act *act, u64 *arg,
		     const char **why)
{
	u64 size;

	/* S1: device state is precopy-only. */
	if (rx->phase == PCMIG_PHASE_POSTCOPY) {
		*why = "device state after the destination started";
		return -EPROTO;
	}
	if (rx->dev_done) {
		*why = "device state after it was complete";
		return -EPROTO;
	}
	switch (f->type) {
	case PCMIG_DEV_BEGIN:
		if (rx->dev_begun) {
			*why = "device state begun twice";
			return -EPROTO;
		}
		size = get_unaligned_be64(payload);
		if (size > PCMIG_DEVSTATE_MAX) {
			*why = "device state larger than the limit";
			return -EMSGSIZE;
		}
		rx->dev_begun = true;
		rx->dev_size = size;
		*act = PCMIG_RX_DEV_ALLOC;
		*arg = size;
		return 0;
	case PCMIG_DEV_DATA:
		if (!rx->dev_begun) {
			*why = "device data before its size";
			return -EPROTO;
		}
		if (f->length > rx->dev_size - rx->dev_received) {
			*why = "device data beyond the announced size";
			return -EMSGSIZE;
		}
		*act = PCMIG_RX_DEV_DATA;
		*arg = rx->dev_received;
		rx->dev_received += f->length;
		return 0;
	default: /* PCMIG_DEV_END */
		if (!rx->dev_begun || rx->dev_received != rx->dev_size) {
			*why = "device state ended before all of it arrived";
			return -EPROTO;
		}
		rx->dev_done = true;
		*act = PCMIG_RX_DEV_DONE;
		return 0;
	}
}

/*
 * BM_START / BM_ANNOUNCE: u8 node_len, node, u8 name_len, name, be32
 * granularity, u8 flags, be64 node_size; f->length is within the START
 * bounds.  Fills rx->bm.
 */
static int bm_parse(struct pcmig_rx *rx, const struct pcmig_wire_frame *f,
		    const u8 *payload, const char **why)
{
	struct pcmig_rx_bitmap *bm = &rx->bm;
	u32 nl, bl, gran, pos;
	u64 size;
	u8 flags;

	nl = payload[0];
	/* Room for the node name, a bitmap name of 1 byte and the rest. */
	if (!nl || nl + 1 + PCMIG_BM_START_FIXED > f->length) {
		*why = "bad bitmap node name length";
		return -EMSGSIZE;
	}
	bl = payload[1 + nl];
	if (!bl || nl + bl + PCMIG_BM_START_FIXED != f->length) {
		*why = "bitmap start length does not match its names";
		return -EMSGSIZE;
	}
	if (memchr(payload + 1, 0, nl) || memchr(payload + 2 + nl, 0, bl)) {
		*why = "NUL inside a bitmap or node name";
		return -EPROTO;
	}
	pos = 2 + nl + bl;
	gran = get_unaligned_be32(payload + pos);
	flags = payload[pos + 4];
	size = get_unaligned_be64(payload + pos + 5);
	if (gran < PCMIG_GRANULARITY_MIN || gran > PCMIG_GRANULARITY_MAX ||
	    (gran & (gran - 1))) {
		*why = "bad bitmap granularity";
		return -EPROTO;
	}
	if (flags & ~PCMIG_BM_F_ALL) {
		*why = "unknown bitmap flags";
		return -EPROTO;
	}
	if (!size) {
		*why = "bitmap of an empty node";
		return -EPROTO;
	}
	memcpy(bm->node, payload + 1, nl);
	bm->node[nl] = '\0';
	memcpy(bm->name, payload + 2 + nl, bl);
	bm->name[bl] = '\0';
	bm->granularity = gran;
	bm->enabled = flags & PCMIG_BM_F_ENABLED;
	bm->node_size = size;
	bm->nbits = pcmig_wire_bm_nbits(size, gran);
	bm->next = 0;
	rx->bm_seen = true;
	return 0;
}

static int bm_start(struct pcmig_rx *rx, const struct pcmig_wire_frame *f,
		    const u8 *payload, const char **why)
{
	int ret;

	if (rx->bm_open) {
		*why = "bitmap started while another is open";
		return -EPROTO;
	}
	ret = bm_parse(rx, f, payload, why);
	if (ret)
		return ret;
	rx->bm_open = true;
	rx->bm_started = true;
	return 0;
}

/*
 * BM_ANNOUNCE: only in the stopped phase, before the first START, so the
 * destination knows every bitmap before it starts running.
 */
static int bm_announce(struct pcmig_rx *rx, const struct pcmig_wire_frame *f,
		       const u8 *payload, const char **why)
{
	if (rx->phase != PCMIG_PHASE_STOPPED) {
		*why = "bitmap announced after the destination started";
		return -EPROTO;
	}
	if (rx->bm_started) {
		*why = "bitmap announced after bitmap data began";
		return -EPROTO;
	}
	return bm_parse(rx, f, payload, why);
}

/* BM_BITS / BM_ZEROES: the next chunk of the open bitmap, in order. */
static int bm_chunk(struct pcmig_rx *rx, const struct pcmig_wire_frame *f,
		    const u8 *payload, const char **why)
{
	struct pcmig_rx_bitmap *bm = &rx->bm;
	u64 first = get_unaligned_be64(payload);
	u32 nbits = get_unaligned_be32(payload + 8);
	const u8 *data = payload + PCMIG_BM_CHUNK_HDR;
	u32 nbytes, i;

	if (!rx->bm_open) {
		*why = "bitmap chunk outside a bitmap";
		return -EPROTO;
	}
	if (bm->next == bm->nbits) {
		*why = "bitmap chunk past the bitmap's last bit";
		return -EPROTO;
	}
	if (first != bm->next) {
		*why = "bitmap chunk out of order";
		return -EPROTO;
	}
	if (nbits != pcmig_wire_bm_chunk_bits(bm->nbits, first)) {
		*why = "bad bitmap chunk size";
		return -EPROTO;
	}
	if (f->type == PCMIG_BM_BITS) {
		nbytes = nbits / 8 + (nbits % 8 != 0);
		if (f->length != PCMIG_BM_CHUNK_HDR + nbytes) {
			*why = "bitmap chunk data length does not match its bits";
			return -EMSGSIZE;
		}
		if (nbits % 8 && data[nbytes - 1] >> (nbits % 8)) {
			*why = "bitmap chunk sets bits past its end";
			return -EPROTO;
		}
		/* One encoding per bitmap: an all-zero chunk is ZEROES. */
		for (i = 0; i < nbytes && !data[i]; i++)
			;
		if (i == nbytes) {
			*why = "all-zero bitmap chunk sent as bits";
			return -EPROTO;
		}
	}
	bm->next += nbits;
	return 0;
}

static int rx_bitmaps(struct pcmig_rx *rx, const struct pcmig_wire_frame *f,
		      const u8 *payload, enum pcmig_rx_act *act, u64 *arg,
		      const char **why)
{
	int ret;

	if (!(rx->caps & (1U << PCMIG_CAP_POSTCOPY_BITMAPS))) {
		*why = "bitmaps without the postcopy-bitmaps capability";
		return -EPROTO;
	}
	/* S8: dirty bitmaps are postcopy-only state. */
	if (rx->phase != PCMIG_PHASE_STOPPED &&
	    rx->phase != PCMIG_PHASE_POSTCOPY) {
		*why = "bitmaps before the stopped phase";
		return -EPROTO;
	}
	if (rx->bm_ended) {
		*why = "bitmap frame after the end of the bitmaps";
		return -EPROTO;
	}
	switch (f->type) {
	case PCMIG_BM_ANNOUNCE:
		ret = bm_announce(rx, f, payload, why);
		if (!ret)
			*act = PCMIG_RX_BM_ANNOUNCE;
		return ret;
	case PCMIG_BM_START:
		ret = bm_start(rx, f, payload, why);
		if (!ret)
			*act = PCMIG_RX_BM_START;
		return ret;
	case PCMIG_BM_BITS:
	case PCMIG_BM_ZEROES:
		ret = bm_chunk(rx, f, payload, why);
		if (!ret) {
			*act = f->type == PCMIG_BM_BITS ? PCMIG_RX_BM_BITS :
							  PCMIG_RX_BM_ZEROES;
			*arg = get_unaligned_be64(payload);
		}
		return ret;
	case PCMIG_BM_COMPLETE:
		if (!rx->bm_open) {
			*why = "bitmap completed outside a bitmap";
			return -EPROTO;
		}
		if (rx->bm.next != rx->bm.nbits) {
			*why = "bitmap completed before all its bits arrived";
			return -EPROTO;
		}
		rx->bm_open = false;
		*act = PCMIG_RX_BM_COMPLETE;
		return 0;
	default: /* PCMIG_BM_EOS */
		if (rx->bm_open) {
			*why = "end of bitmaps while a bitmap is open";
			return -EPROTO;
		}
		rx->bm_ended = true;
		*act = PCMIG_RX_BM_EOS;
		return 0;
	}
}

/* LAYOUT: 1..PCMIG_RAM_RANGES_MAX page-aligned ranges, ascending. */
static int ram_layout(struct pcmig_rx *rx, const struct pcmig_wire_frame *f,
		      const u8 *payload, const char **why)
{
	u32 i, n = pcmig_wire_ram_ranges(payload);
	struct pcmig_ram_range r;
	u64 end = 0;

	if (rx->ram_layout) {
		*why = "RAM layout sent twice";
		return -EPROTO;
	}
	if (!n || n > PCMIG_RAM_RANGES_MAX ||
	    f->length != 4 + n * PCMIG_RAM_RANGE_LEN) {
		*why = "RAM layout length does not match its range count";
		return -EMSGSIZE;
	}
	for (i = 0; i < n; i++) {
		pcmig_wire_ram_range(payload, i, &r);
		if (!r.size || (r.gpa | r.size) % PCMIG_RAM_PAGE_SIZE) {
			*why = "RAM range empty or not page-aligned";
			return -EPROTO;
		}
		if ((i && r.gpa < end) || r.gpa + r.size < r.gpa) {
			*why = "RAM ranges overlap or are out of order";
			return -EPROTO;
		}
		end = r.gpa + r.size;
	}
	rx->ram_layout = true;
	return 0;
}

static int rx_ram(struct pcmig_rx *rx, const struct pcmig_wire_frame *f,
		  const u8 *payload, enum pcmig_rx_act *act, u64 *arg,
		  const char **why)
{
	u64 gpa;
	u32 pages;
	int ret;

	/* S6: RAM follows the destination's start only with postcopy-ram. */
	if (rx->phase == PCMIG_PHASE_POSTCOPY &&
	    (f->type == PCMIG_RAM_LAYOUT || f->type == PCMIG_RAM_DISCARD ||
	     !(rx->caps & (1U << PCMIG_CAP_POSTCOPY_RAM)))) {
		*why = f->type == PCMIG_RAM_DISCARD ?
		       "RAM discard after the destination started" :
		       "RAM after the destination started";
		return -EPROTO;
	}
	if (f->type == PCMIG_RAM_DISCARD &&
	    (rx->phase != PCMIG_PHASE_STOPPED ||
	     !(rx->caps & (1U << PCMIG_CAP_POSTCOPY_RAM)))) {
		*why = "RAM discard outside the stopped phase or without postcopy-ram";
		return -EPROTO;
	}
	if (f->type == PCMIG_RAM_LAYOUT) {
		ret = ram_layout(rx, f, payload, why);
		if (!ret)
			*act = PCMIG_RX_RAM_LAYOUT;
		return ret;
	}
	if (!rx->ram_layout) {
		*why = "RAM page before the RAM layout";
		return -EPROTO;
	}
	gpa = get_unaligned_be64(payload);
	if (gpa % PCMIG_RAM_PAGE_SIZE) {
		*why = "RAM page address not page-aligned";
		return -EPROTO;
	}
	if (f->type != PCMIG_RAM_PAGE) {
		pages = pcmig_wire_ram_run_pages(payload);
		if (!pages || gpa + (u64)pages * PCMIG_RAM_PAGE_SIZE < gpa) {
			*why = f->type == PCMIG_RAM_ZERO ? "bad zero-page run" :
			       "bad discard run";
			return -EPROTO;
		}
		*act = f->type == PCMIG_RAM_ZERO ? PCMIG_RX_RAM_ZERO :
		       PCMIG_RX_RAM_DISCARD;
	} else {
		*act = PCMIG_RX_RAM_PAGE;
	}
	*arg = gpa;
	return 0;
}

/*
 * Judge one frame whose header passed pcmig_rx_frame_hdr() and whose
 * payload (f->length bytes) has been read in full.
 */
int pcmig_rx_frame(struct pcmig_rx *rx, const struct pcmig_wire_frame *f,
		   const u8 *payload, enum pcmig_rx_act *act, u64 *arg,
		   const char **why)
{
	*act = PCMIG_RX_NONE;
	*arg = 0;
	if (rx->return_path)
		return rx_return(rx, f, payload, act, arg, why);
	if (f->section == PCMIG_SEC_CONTROL)
		return rx_control(rx, f, payload, act, arg, why);
	if (f->section == PCMIG_SEC_BITMAPS)
		return rx_bitmaps(rx, f, payload, act, arg, why);
	if (f->section == PCMIG_SEC_RAM)
		return rx_ram(rx, f, payload, act, arg, why);
	return rx_device(rx, f, payload, act, arg, why);
}
