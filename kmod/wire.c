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
	return rx_device(rx, f, payload, act, arg, why);
}
