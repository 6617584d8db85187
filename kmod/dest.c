// SPDX-License-Identifier: GPL-2.0
/*
 * Destination side of a migration: the session worker that reads the
 * stream, lets the checker in wire.c judge every frame, and stores what
 * the checker accepted.  It answers on the return path of the same
 * connection: its preamble, an ACK for each phase it enters, and COMPLETE
 * or FAIL at the end.
 */
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "devstate.h"
#include "session.h"
#include "stream.h"
#include "wire.h"

struct dest_ctx {
	struct pcmig_session *s;
	struct pcmig_rx rx;
	u8 *payload;		/* PCMIG_WIRE_FRAME_MAX + 1 bytes */
	const char *why;	/* protocol error, if any */
	char reason[PCMIG_REASON_MAX];
};

static int send_ack(struct pcmig_session *s, u32 phase)
{
	u8 buf[4];

	put_unaligned_be32(phase, buf);
	return pcmig_send_frame(s, PCMIG_SEC_RETURN, PCMIG_RET_ACK, buf,
				sizeof(buf));
}

/* Carry out what the checker decided about one accepted frame. */
static int apply(struct dest_ctx *c, const struct pcmig_wire_frame *f,
		 enum pcmig_rx_act act, u64 arg)
{
	struct pcmig_session *s = c->s;
	int err;

	switch (act) {
	case PCMIG_RX_DEV_ALLOC:
		mutex_lock(&s->lock);
		err = pcmig_devstate_alloc(&s->dev, arg);
		mutex_unlock(&s->lock);
		if (err)
			c->why = "out of memory for device state";
		return err;
	case PCMIG_RX_DEV_DATA:
		/* The checker bounds arg + length by the allocated size. */
		memcpy(s->dev.buf + arg, c->payload, f->length);
		return 0;
	case PCMIG_RX_PHASE:
		/* Downtime here: from the source's stop to our resume. */
		if (arg == PCMIG_PHASE_STOPPED)
			s->stopped_at = ktime_get();
		else
			s->stats.downtime_ms = ktime_ms_delta(ktime_get(),
							      s->stopped_at);
		pcmig_session_set_phase(s, arg);
		return send_ack(s, arg);
	case PCMIG_RX_DEV_DONE:
		mutex_lock(&s->lock);
		s->dev.done = true;
		mutex_unlock(&s->lock);
		return 0;
	case PCMIG_RX_BM_START:
		/*
		 * The section is specified and checked, but this module does
		 * not apply it yet: refuse rather than drop bitmaps silently.
		 */
		c->why = "bitmap migration is not implemented by this destination";
		return -EOPNOTSUPP;
	case PCMIG_RX_CANCELLED:
		c->payload[f->length] = '\0';
		snprintf(c->reason, sizeof(c->reason), "%s", c->payload);
		return -ECANCELED;
	default:
		return 0;
	}
}

static void dest_fail(struct dest_ctx *c, int err)
{
	struct pcmig_session *s = c->s;

	if (err == -ECANCELED) {
		pcmig_session_end(s, PCMIG_PHASE_CANCELLED, "source: %s",
				  c->reason);
		return;
	}
	if (pcmig_session_aborted(s)) {
		if (s->cancel_requested) {
			pcmig_send_last_word(s, PCMIG_SEC_RETURN,
					     PCMIG_RET_FAIL,
					     "cancelled on the destination");
			pcmig_session_end(s, PCMIG_PHASE_CANCELLED,
					  "cancelled by user");
		}
		return;
	}
	if (c->why) {
		pcmig_send_last_word(s, PCMIG_SEC_RETURN, PCMIG_RET_FAIL,
				     c->why);
		pcmig_session_end(s, PCMIG_PHASE_FAILED, "bad stream: %s",
				  c->why);
		return;
	}
	pcmig_session_end(s, PCMIG_PHASE_FAILED, "stream: %s",
			  pcmig_io_error(err));
}

static int dest_run(struct dest_ctx *c)
{
	struct pcmig_session *s = c->s;
	u8 buf[PCMIG_WIRE_PREAMBLE_LEN];
	struct pcmig_wire_frame f;
	enum pcmig_rx_act act;
	u64 arg;
	int err;

	err = pcmig_send_preamble(s, PCMIG_WIRE_RP_MAGIC);
	if (err)
		return err;
	s->tx_broken = false;
	err = pcmig_recv(s, buf, sizeof(buf));
	if (err)
		return err;
	err = pcmig_rx_preamble(&c->rx, buf, s->caps, &c->why);
	if (err)
		return err;

	for (;;) {
		err = pcmig_recv(s, buf, PCMIG_WIRE_FRAME_HDR_LEN);
		if (err)
			return err;
		err = pcmig_rx_frame_hdr(&c->rx, buf, &f, &c->why);
		if (err)
			return err;
		err = pcmig_recv(s, c->payload, f.length);
		if (err)
			return err;
		err = pcmig_rx_frame(&c->rx, &f, c->payload, &act, &arg,
				     &c->why);
		if (!err)
			err = apply(c, &f, act, arg);
		if (err)
			return err;
		pcmig_session_progress(s, false);
		if (act != PCMIG_RX_EOS)
			continue;
		if (c->rx.phase != PCMIG_PHASE_POSTCOPY)
			s->stats.downtime_ms = ktime_ms_delta(ktime_get(),
							      s->stopped_at);
		return pcmig_send_frame(s, PCMIG_SEC_RETURN, PCMIG_RET_COMPLETE,
					NULL, 0);
	}
}

int pcmig_dest_main(void *data)
{
	struct dest_ctx c = { .s = data };
	int err;

	pcmig_stream_setup(c.s);
	pcmig_rx_init(&c.rx, false);
	c.payload = kvmalloc(PCMIG_WIRE_FRAME_MAX + 1, GFP_KERNEL);
	if (!c.payload) {
		pcmig_session_end(c.s, PCMIG_PHASE_FAILED,
				  "out of memory for the receive buffer");
		return -ENOMEM;
	}
	err = dest_run(&c);
	if (err)
		dest_fail(&c, err);
	else
		pcmig_session_complete(c.s);
	kvfree(c.payload);
	return err;
}
