/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small builder of pcmig streams for the host tests and the fuzz seeds.
 * It writes headers with the codec's own put_ helpers (kmod/wire.c) and
 * appends payloads, so the tests check the receiver against the sender's
 * encoding.  Host-only code: it allocates and aborts on OOM.
 */
#ifndef _PCMIG_STREAM_BUILDER_H
#define _PCMIG_STREAM_BUILDER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

struct sb {
	u8 *b;
	size_t n;
	size_t cap;
	int frames;		/* frames appended after the preamble */
};

static inline void sb_init(struct sb *s)
{
	memset(s, 0, sizeof(*s));
}

static inline void sb_free(struct sb *s)
{
	free(s->b);
	sb_init(s);
}

static inline u8 *sb_grow(struct sb *s, size_t more)
{
	u8 *p;

	if (s->n + more > s->cap) {
		size_t cap = s->cap ? s->cap : 256;

		while (cap < s->n + more)
			cap *= 2;
		s->b = realloc(s->b, cap);
		if (!s->b) {
			perror("realloc");
			abort();
		}
		s->cap = cap;
	}
	p = s->b + s->n;
	s->n += more;
	return p;
}

static inline void sb_raw(struct sb *s, const void *p, size_t len)
{
	if (len)
		memcpy(sb_grow(s, len), p, len);
}

static inline void sb_preamble(struct sb *s, u32 magic, u32 caps)
{
	pcmig_wire_put_preamble(sb_grow(s, PCMIG_WIRE_PREAMBLE_LEN), magic,
				caps);
}

static inline void sb_fwd(struct sb *s, u32 caps)
{
	sb_preamble(s, PCMIG_WIRE_MAGIC, caps);
}

static inline void sb_rp(struct sb *s, u32 caps)
{
	sb_preamble(s, PCMIG_WIRE_RP_MAGIC, caps);
}

/* A frame whose header says @hdr_len but which carries @len payload bytes. */
static inline void sb_frame_raw(struct sb *s, u8 sec, u8 type, u16 flags,
				u32 hdr_len, const void *payload, size_t len)
{
	u8 *h = sb_grow(s, PCMIG_WIRE_FRAME_HDR_LEN);

	pcmig_wire_put_frame(h, sec, type, hdr_len);
	if (flags)
		put_unaligned_be16(flags, h + 2);
	sb_raw(s, payload, len);
	s->frames++;
}

static inline void sb_frame(struct sb *s, u8 sec, u8 type,
			    const void *payload, u32 len)
{
	sb_frame_raw(s, sec, type, 0, len, payload, len);
}

static inline void sb_be32_frame(struct sb *s, u8 sec, u8 type, u32 v)
{
	u8 p[4];

	put_unaligned_be32(v, p);
	sb_frame(s, sec, type, p, sizeof(p));
}

static inline void sb_phase(struct sb *s, u32 phase)
{
	sb_be32_frame(s, PCMIG_SEC_CONTROL, PCMIG_CTL_PHASE, phase);
}

static inline void sb_eos(struct sb *s)
{
	sb_frame(s, PCMIG_SEC_CONTROL, PCMIG_CTL_EOS, NULL, 0);
}

static inline void sb_cancel(struct sb *s, const char *why)
{
	sb_frame(s, PCMIG_SEC_CONTROL, PCMIG_CTL_CANCEL, why, strlen(why));
}

static inline void sb_begin(struct sb *s, u64 size)
{
	u8 p[8];

	put_unaligned_be64(size, p);
	sb_frame(s, PCMIG_SEC_DEVICE, PCMIG_DEV_BEGIN, p, sizeof(p));
}

static inline void sb_data(struct sb *s, const void *p, u32 len)
{
	sb_frame(s, PCMIG_SEC_DEVICE, PCMIG_DEV_DATA, p, len);
}

static inline void sb_end(struct sb *s)
{
	sb_frame(s, PCMIG_SEC_DEVICE, PCMIG_DEV_END, NULL, 0);
}

/* BEGIN, the blob cut in DATA frames of at most @chunk bytes, END. */
static inline void sb_devstate(struct sb *s, const u8 *blob, u32 size,
			       u32 chunk)
{
	u32 off;

	sb_begin(s, size);
	for (off = 0; off < size; off += chunk)
		sb_data(s, blob + off, size - off < chunk ? size - off : chunk);
	sb_end(s);
}

static inline void sb_ack(struct sb *s, u32 phase)
{
	sb_be32_frame(s, PCMIG_SEC_RETURN, PCMIG_RET_ACK, phase);
}

static inline void sb_complete(struct sb *s)
{
	sb_frame(s, PCMIG_SEC_RETURN, PCMIG_RET_COMPLETE, NULL, 0);
}

static inline void sb_fail(struct sb *s, const char *why)
{
	sb_frame(s, PCMIG_SEC_RETURN, PCMIG_RET_FAIL, why, strlen(why));
}

/* BM_START or BM_ANNOUNCE (@type): both carry the same payload. */
static inline void sb_bm_named(struct sb *s, u8 type, const char *node,
			       const char *bitmap, u32 gran, bool enabled,
			       u64 node_size)
{
	u8 p[PCMIG_BM_START_MAX];
	u32 len = pcmig_wire_put_bm_start(p, node, bitmap, gran, enabled,
					  node_size);

	if (!len) {
		fprintf(stderr, "sb_bm_named: bad names\n");
		abort();
	}
	sb_frame(s, PCMIG_SEC_BITMAPS, type, p, len);
}

static inline void sb_bm_start(struct sb *s, const char *node,
			       const char *bitmap, u32 gran, bool enabled,
			       u64 node_size)
{
	sb_bm_named(s, PCMIG_BM_START, node, bitmap, gran, enabled,
		    node_size);
}

static inline void sb_bm_announce(struct sb *s, const char *node,
				  const char *bitmap, u32 gran, bool enabled,
				  u64 node_size)
{
	sb_bm_named(s, PCMIG_BM_ANNOUNCE, node, bitmap, gran, enabled,
		    node_size);
}

/* A BITS or ZEROES frame with the given header fields and @len data bytes. */
static inline void sb_bm_chunk_raw(struct sb *s, u8 type, u64 first,
				   u32 nbits, const void *data, u32 len)
{
	u8 *p = malloc(PCMIG_BM_CHUNK_HDR + len);

	if (!p)
		abort();
	pcmig_wire_put_bm_zeroes(p, first, nbits);
	if (len)
		memcpy(p + PCMIG_BM_CHUNK_HDR, data, len);
	sb_frame(s, PCMIG_SEC_BITMAPS, type, p, PCMIG_BM_CHUNK_HDR + len);
	free(p);
}

static inline void sb_bm_zeroes(struct sb *s, u64 first, u32 nbits)
{
	sb_bm_chunk_raw(s, PCMIG_BM_ZEROES, first, nbits, NULL, 0);
}

/* BITS of @words[@first .. @first + @nbits - 1], encoded by the codec. */
static inline void sb_bm_bits(struct sb *s, const u64 *words, u64 first,
			      u32 nbits)
{
	u8 *p = malloc(PCMIG_BM_BITS_MAX);
	u32 len;

	if (!p)
		abort();
	len = pcmig_wire_put_bm_bits(p, words, first, nbits);
	sb_frame(s, PCMIG_SEC_BITMAPS, PCMIG_BM_BITS, p, len);
	free(p);
}

static inline void sb_bm_complete(struct sb *s)
{
	sb_frame(s, PCMIG_SEC_BITMAPS, PCMIG_BM_COMPLETE, NULL, 0);
}

static inline void sb_bm_eos(struct sb *s)
{
	sb_frame(s, PCMIG_SEC_BITMAPS, PCMIG_BM_EOS, NULL, 0);
}

/*
 * A whole bitmap as a source sends it: START, chunks in order (ZEROES for
 * all-zero ones, BITS else), COMPLETE.  Returns the number of chunks.
 */
static inline u32 sb_bitmap(struct sb *s, const char *node,
			    const char *bitmap, u32 gran, bool enabled,
			    u64 node_size, const u64 *words)
{
	u64 nbits = pcmig_wire_bm_nbits(node_size, gran), first;
	u32 n, chunks = 0;

	sb_bm_start(s, node, bitmap, gran, enabled, node_size);
	for (first = 0; first < nbits; first += n, chunks++) {
		n = pcmig_wire_bm_chunk_bits(nbits, first);
		if (!words || pcmig_wire_bm_chunk_is_zero(words, first, n))
			sb_bm_zeroes(s, first, n);
		else
			sb_bm_bits(s, words, first, n);
	}
	sb_bm_complete(s);
	return chunks;
}

/* Deterministic test pattern for device-state blobs. */
static inline void sb_pattern(u8 *p, size_t len, u32 seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = seed >> 16;
	}
}

/*
 * RAM_LAYOUT of @n ranges, encoded by the codec.  @n is not checked, so a
 * test can send 0 or more than PCMIG_RAM_RANGES_MAX ranges.
 */
static inline void sb_ram_layout(struct sb *s,
				 const struct pcmig_ram_range *r, u32 n)
{
	u8 *p = malloc(4 + (size_t)n * PCMIG_RAM_RANGE_LEN);
	u32 len;

	if (!p)
		abort();
	len = pcmig_wire_put_ram_layout(p, r, n);
	sb_frame(s, PCMIG_SEC_RAM, PCMIG_RAM_LAYOUT, p, len);
	free(p);
}

/* RAM_LAYOUT of the one range @gpa, @size. */
static inline void sb_ram_layout1(struct sb *s, u64 gpa, u64 size)
{
	struct pcmig_ram_range r = { .gpa = gpa, .size = size };

	sb_ram_layout(s, &r, 1);
}

/*
 * The 4096 bytes a test writes at guest page @gpa: sb_pattern() seeded
 * with the address, so every page differs and can be checked on arrival.
 */
static inline void sb_ram_pattern(u8 *page, u64 gpa)
{
	sb_pattern(page, PCMIG_RAM_PAGE_SIZE, (u32)(gpa >> 12) ^ 0x9e3779b9u);
}

/* RAM_PAGE at @gpa: the 4096 bytes at @data, or sb_ram_pattern() if NULL. */
static inline void sb_ram_page(struct sb *s, u64 gpa, const void *data)
{
	u8 *p = malloc(PCMIG_RAM_PAGE_LEN);

	if (!p)
		abort();
	pcmig_wire_put_ram_page_gpa(p, gpa);
	if (data)
		memcpy(p + 8, data, PCMIG_RAM_PAGE_SIZE);
	else
		sb_ram_pattern(p + 8, gpa);
	sb_frame(s, PCMIG_SEC_RAM, PCMIG_RAM_PAGE, p, PCMIG_RAM_PAGE_LEN);
	free(p);
}

/* A page run (RAM_ZERO, RAM_DISCARD, RET_PAGE_REQ): @pages from @gpa. */
static inline void sb_ram_run(struct sb *s, u8 sec, u8 type, u64 gpa,
			      u32 pages)
{
	u8 p[PCMIG_RAM_RUN_LEN];
	u32 len = pcmig_wire_put_ram_run(p, gpa, pages);

	sb_frame(s, sec, type, p, len);
}

/* RAM_ZERO: @pages zero pages from @gpa. */
static inline void sb_ram_zero(struct sb *s, u64 gpa, u32 pages)
{
	sb_ram_run(s, PCMIG_SEC_RAM, PCMIG_RAM_ZERO, gpa, pages);
}

/* RAM_DISCARD: @pages pages from @gpa are stale on the destination. */
static inline void sb_ram_discard(struct sb *s, u64 gpa, u32 pages)
{
	sb_ram_run(s, PCMIG_SEC_RAM, PCMIG_RAM_DISCARD, gpa, pages);
}

/* Return path: RET_LAYOUT_OK. */
static inline void sb_layout_ok(struct sb *s)
{
	sb_frame(s, PCMIG_SEC_RETURN, PCMIG_RET_LAYOUT_OK, NULL, 0);
}

/* Return path: RET_PAGE_REQ for @pages pages from @gpa. */
static inline void sb_page_req(struct sb *s, u64 gpa, u32 pages)
{
	sb_ram_run(s, PCMIG_SEC_RETURN, PCMIG_RET_PAGE_REQ, gpa, pages);
}

/*
 * Fuzz input format (wire_fuzz.c, wire_seeds.c): byte 0 selects the
 * receiver (bit 0: return path; bits 1-2: the session's capabilities),
 * the rest is the byte stream as read from the socket.
 */
#define FUZZ_MODE_RP		0x01
#define FUZZ_MODE_CAPS_SHIFT	1

static inline u8 fuzz_mode(bool return_path, u32 caps)
{
	return (return_path ? FUZZ_MODE_RP : 0) |
	       ((caps & PCMIG_CAPS_ALL) << FUZZ_MODE_CAPS_SHIFT);
}

#endif /* _PCMIG_STREAM_BUILDER_H */
