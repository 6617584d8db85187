/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pcmig migration stream: framing, codec and the receive-side checker.
 *
 * The format is specified in Documentation/pcmig/stream.rst (rule S12:
 * the specification lives next to the implementation); this file is the
 * implementation.  Everything here is pure: no allocation, no I/O, so it
 * is unit-tested and fuzzed on the host (see selftests/pcmig/unit/).
 *
 * All integers on the wire are big-endian.
 */
#ifndef _PCMIG_WIRE_H
#define _PCMIG_WIRE_H

#include "pure.h"

#define PCMIG_WIRE_MAGIC	0x50434d47U	/* "PCMG": source -> destination */
#define PCMIG_WIRE_RP_MAGIC	0x50434d52U	/* "PCMR": return path */
#define PCMIG_WIRE_PREAMBLE_LEN	16
#define PCMIG_WIRE_FRAME_HDR_LEN	8
/* Largest payload of one frame; bounds every receive buffer. */
#define PCMIG_WIRE_FRAME_MAX	(64U << 10)
#define PCMIG_WIRE_REASON_MAX	255

/* Sections of the forward stream, and the return path's own section. */
enum pcmig_wire_section {
	PCMIG_SEC_CONTROL = 1,
	PCMIG_SEC_DEVICE = 2,
	PCMIG_SEC_BITMAPS = 3,
	PCMIG_SEC_RAM = 4,
	PCMIG_SEC_RETURN = 0x80,
};

enum pcmig_wire_control {
	PCMIG_CTL_PHASE = 1,	/* be32 phase: STOPPED or POSTCOPY */
	PCMIG_CTL_EOS = 2,	/* end of stream, no payload */
	PCMIG_CTL_CANCEL = 3,	/* reason text, no NUL */
};

enum pcmig_wire_device {
	PCMIG_DEV_BEGIN = 1,	/* be64 total size of the blob */
	PCMIG_DEV_DATA = 2,	/* next bytes of the blob */
	PCMIG_DEV_END = 3,	/* no payload: blob complete */
};

/*
 * Block dirty bitmaps (postcopy-only state, rule S8), modelled on QEMU's
 * dirty-bitmap section.  In the stopped phase the source first ANNOUNCEs
 * every bitmap it will send, so the destination has them in place (and
 * tracking its own writes) before it starts.  Then one bitmap is open at
 * a time: START, its bits in order as BITS / ZEROES chunks, COMPLETE; EOS
 * ends the section.
 */
enum pcmig_wire_bitmaps {
	PCMIG_BM_START = 1,	/* names, be32 granularity, flags, be64 size */
	PCMIG_BM_BITS = 2,	/* be64 first bit, be32 nbits, bit data */
	PCMIG_BM_ZEROES = 3,	/* be64 first bit, be32 nbits: all zero */
	PCMIG_BM_COMPLETE = 4,	/* no payload: the open bitmap is complete */
	PCMIG_BM_EOS = 5,	/* no payload: no more bitmaps */
	PCMIG_BM_ANNOUNCE = 6,	/* as START: a bitmap that will follow */
};

/* BM_START flags */
#define PCMIG_BM_F_ENABLED	0x01
#define PCMIG_BM_F_ALL		PCMIG_BM_F_ENABLED

/*
 * BM_START, BM_ANNOUNCE: u8 len, node, u8 len, bitmap, be32 gran, u8 flags,
 * be64 size
 */
#define PCMIG_BM_START_FIXED	(1 + 1 + 4 + 1 + 8)
#define PCMIG_BM_START_MIN	(PCMIG_BM_START_FIXED + 2)
#define PCMIG_BM_START_MAX	(PCMIG_BM_START_FIXED + 2 * PCMIG_NAME_MAX)
/* BM_BITS / BM_ZEROES: be64 first bit, be32 nbits, then BITS' data. */
#define PCMIG_BM_CHUNK_HDR	12
/*
 * Bits per chunk: a multiple of 64 (so every chunk but the last ends on a
 * u64 word), and small enough that a full BITS payload fits one frame.
 */
#define PCMIG_BM_CHUNK_BITS	(32768U * 8)
#define PCMIG_BM_BITS_MAX	(PCMIG_BM_CHUNK_HDR + PCMIG_BM_CHUNK_BITS / 8)

/*
 * Guest RAM (compatible state, rule S1), in precopy passes and in the
 * stopped phase, and with postcopy-ram after the destination started.
 * LAYOUT comes once, before any page: the destination refuses a VM whose
 * memory does not match before a page is written.  DISCARD (stopped
 * phase, postcopy-ram only) names pages the destination holds stale
 * copies of: they will come again, in postcopy, and until they do the
 * destination treats them as missing.
 */
enum pcmig_wire_ram {
	PCMIG_RAM_LAYOUT = 1,	/* be32 n, n x (be64 gpa, be64 size) */
	PCMIG_RAM_PAGE = 2,	/* be64 gpa, PCMIG_RAM_PAGE_SIZE bytes */
	PCMIG_RAM_ZERO = 3,	/* be64 gpa, be32 pages: all zero */
	PCMIG_RAM_DISCARD = 4,	/* be64 gpa, be32 pages: stale here */
};

#define PCMIG_RAM_PAGE_SIZE	4096U
#define PCMIG_RAM_RANGES_MAX	256U
#define PCMIG_RAM_RANGE_LEN	16
#define PCMIG_RAM_LAYOUT_MAX	(4 + PCMIG_RAM_RANGES_MAX * PCMIG_RAM_RANGE_LEN)
#define PCMIG_RAM_PAGE_LEN	(8 + PCMIG_RAM_PAGE_SIZE)
/* ZERO, DISCARD and the return path's PAGE_REQ: be64 gpa, be32 pages. */
#define PCMIG_RAM_RUN_LEN	12
/* Most pages one PAGE_REQ asks for. */
#define PCMIG_RAM_REQ_MAX	64U

/* One range of guest-physical memory (a KVM memslot). */
struct pcmig_ram_range {
	u64 gpa;
	u64 size;
};

enum pcmig_wire_return {
	PCMIG_RET_ACK = 1,	/* be32 phase the destination entered */
	PCMIG_RET_COMPLETE = 2,	/* destination has everything */
	PCMIG_RET_FAIL = 3,	/* reason text, no NUL */
	PCMIG_RET_LAYOUT_OK = 4,	/* no payload: the RAM layout matches */
	PCMIG_RET_PAGE_REQ = 5,	/* be64 gpa, be32 pages: send these first */
};

struct pcmig_wire_preamble {
	u32 magic;
	u16 version;
	u16 length;
	u32 caps;
};

struct pcmig_wire_frame {
	u8 section;
	u8 type;
	u16 flags;
	u32 length;
};

/* What the caller must do after a frame was accepted. */
enum pcmig_rx_act {
	PCMIG_RX_NONE,
	PCMIG_RX_DEV_ALLOC,	/* allocate arg bytes of device state */
	PCMIG_RX_DEV_DATA,	/* copy the payload to device state at arg */
	PCMIG_RX_DEV_DONE,	/* device state complete */
	PCMIG_RX_PHASE,		/* enter phase arg */
	PCMIG_RX_EOS,		/* stream complete: report completion */
	PCMIG_RX_CANCELLED,	/* the source cancelled */
	PCMIG_RX_ACK,		/* return path: destination entered arg */
	PCMIG_RX_COMPLETE,	/* return path: destination completed */
	PCMIG_RX_PEER_FAILED,	/* return path: destination failed */
	PCMIG_RX_BM_START,	/* begin bitmap rx->bm */
	PCMIG_RX_BM_BITS,	/* OR the chunk's data in at bit arg */
	PCMIG_RX_BM_ZEROES,	/* chunk at bit arg is all zero */
	PCMIG_RX_BM_COMPLETE,	/* bitmap rx->bm complete */
	PCMIG_RX_BM_EOS,	/* no more bitmaps */
	PCMIG_RX_BM_ANNOUNCE,	/* bitmap rx->bm will follow */
	PCMIG_RX_RAM_LAYOUT,	/* the payload's ranges (pcmig_wire_ram_range) */
	PCMIG_RX_RAM_PAGE,	/* write the payload's page at gpa arg */
	PCMIG_RX_RAM_ZERO,	/* zero the payload's pages from gpa arg */
	PCMIG_RX_LAYOUT_OK,	/* return path: destination took the layout */
	PCMIG_RX_RAM_DISCARD,	/* the payload's pages from gpa arg are stale */
	PCMIG_RX_PAGE_REQ,	/* return path: pages wanted from gpa arg */
};

/* The bitmap last announced or started (PCMIG_RX_BM_ANNOUNCE / _START). */
struct pcmig_rx_bitmap {
	char node[PCMIG_NAME_MAX + 1];		/* NUL-terminated */
	char name[PCMIG_NAME_MAX + 1];		/* NUL-terminated */
	u32 granularity;	/* bytes, power of two */
	bool enabled;
	u64 node_size;		/* bytes, > 0 */
	u64 nbits;		/* ceil(node_size / granularity) */
	u64 next;		/* next bit expected */
};

/* Receive-side state of one stream direction. */
struct pcmig_rx {
	u32 caps;		/* from the preamble */
	u32 phase;		/* enum pcmig_phase as seen on the wire */
	u64 dev_size;
	u64 dev_received;
	bool return_path;	/* parsing the return path, not the stream */
	bool preamble_seen;
	bool dev_begun;
	bool dev_done;
	bool ended;		/* EOS / COMPLETE / FAIL / CANCEL seen */
	bool bm_seen;		/* a BM_ANNOUNCE or BM_START was accepted */
	bool bm_started;	/* a BM_START was accepted */
	bool ram_layout;	/* RAM_LAYOUT accepted (return path: its OK) */
	bool bm_open;		/* rx->bm started, not complete */
	bool bm_ended;		/* BM_EOS seen */
	struct pcmig_rx_bitmap bm;
};

void pcmig_wire_put_preamble(u8 *buf, u32 magic, u32 caps);
void pcmig_wire_put_frame(u8 *buf, u8 section, u8 type, u32 length);

/* Bits of a bitmap covering @node_size bytes at @granularity (not 0). */
u64 pcmig_wire_bm_nbits(u64 node_size, u32 granularity);
/* Bits of the chunk starting at bit @first (< @nbits) of @nbits. */
u32 pcmig_wire_bm_chunk_bits(u64 nbits, u64 first);
u32 pcmig_wire_put_bm_start(u8 *buf, const char *node, const char *bitmap,
			    u32 granularity, bool enabled, u64 node_size);
bool pcmig_wire_bm_chunk_is_zero(const u64 *words, u64 first, u32 nbits);
u32 pcmig_wire_put_bm_zeroes(u8 *buf, u64 first, u32 nbits);
u32 pcmig_wire_put_bm_bits(u8 *buf, const u64 *words, u64 first, u32 nbits);
u64 pcmig_wire_bm_get_word(const u8 *data, u32 nbits, u32 idx);

/* RAM: payloads into @buf, returning their length. */
u32 pcmig_wire_put_ram_layout(u8 *buf, const struct pcmig_ram_range *r,
			      u32 n);
void pcmig_wire_put_ram_page_gpa(u8 *buf, u64 gpa);
/* A page run (ZERO, DISCARD, PAGE_REQ). */
u32 pcmig_wire_put_ram_run(u8 *buf, u64 gpa, u32 pages);
/* Of an accepted LAYOUT payload: the range count, and range @i. */
u32 pcmig_wire_ram_ranges(const u8 *payload);
void pcmig_wire_ram_range(const u8 *payload, u32 i,
			  struct pcmig_ram_range *r);
/* Of an accepted ZERO, DISCARD or PAGE_REQ payload: the page count. */
u32 pcmig_wire_ram_run_pages(const u8 *payload);

void pcmig_rx_init(struct pcmig_rx *rx, bool return_path);
int pcmig_rx_preamble(struct pcmig_rx *rx, const u8 *buf, u32 want_caps,
		      const char **why);
int pcmig_rx_frame_hdr(const struct pcmig_rx *rx, const u8 *buf,
		       struct pcmig_wire_frame *f, const char **why);
int pcmig_rx_frame(struct pcmig_rx *rx, const struct pcmig_wire_frame *f,
		   const u8 *payload, enum pcmig_rx_act *act, u64 *arg,
		   const char **why);

#endif /* _PCMIG_WIRE_H */
