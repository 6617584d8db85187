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

enum pcmig_wire_return {
	PCMIG_RET_ACK = 1,	/* be32 phase the destination entered */
	PCMIG_RET_COMPLETE = 2,	/* destination has everything */
	PCMIG_RET_FAIL = 3,	/* reason text, no NUL */
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
};

void pcmig_wire_put_preamble(u8 *buf, u32 magic, u32 caps);
void pcmig_wire_put_frame(u8 *buf, u8 section, u8 type, u32 length);

void pcmig_rx_init(struct pcmig_rx *rx, bool return_path);
int pcmig_rx_preamble(struct pcmig_rx *rx, const u8 *buf, u32 want_caps,
		      const char **why);
int pcmig_rx_frame_hdr(const struct pcmig_rx *rx, const u8 *buf,
		       struct pcmig_wire_frame *f, const char **why);
int pcmig_rx_frame(struct pcmig_rx *rx, const struct pcmig_wire_frame *f,
		   const u8 *payload, enum pcmig_rx_act *act, u64 *arg,
		   const char **why);

#endif /* _PCMIG_WIRE_H */
