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
#include "netlink.h"
#include "session.h"
#include "stream.h"
#include "wire.h"

struct dest_ctx {
	struct pcmig_session *s;
	struct pcmig_rx rx;
	u8 *payload;		/* PCMIG_WIRE_FRAME_MAX + 1 bytes */
	const char *why;	/* protocol error, if any */
	bool local;		/* @why is about this host, not the stream */
	bool switching;		/* asked the VMM to resume at the postcopy switch */
	char reason[PCMIG_REASON_MAX];
};

static int send_ack(struct pcmig_session *s, u32 phase)
{
	u8 buf[4];

	put_unaligned_be32(phase, buf);
	return pcmig_send_frame(s, PCMIG_SEC_RETURN, PCMIG_RET_ACK, buf,
				sizeof(buf));
}

/*
 * The destination's failure report (RET_FAIL).  At the postcopy switch,
 * one sent before the ACK tells the source that the guest never ran
 * here, so it may resume its copy: once the VMM was asked to resume, a
 * failure is left unsaid and the source keeps its copy stopped.
 */
static void last_word(struct dest_ctx *c, const char *reason)
{
	if (c->switching)
		return;
	pcmig_send_last_word(c->s, PCMIG_SEC_RETURN, PCMIG_RET_FAIL, reason);
}

/* How long the VMM may take to load its state and resume. */
#define PCMIG_RESUME_TIMEOUT	(60 * HZ)

/*
 * The VMM contract, destination side: all state is here; the VMM loads
 * the device state, resumes, and says so.  The source completes (and its
 * VMM quits) only after that, so a destination that cannot resume leaves
 * the guest to the source.
 */
static int await_resume(struct dest_ctx *c)
{
	struct pcmig_session *s = c->s;

	mutex_lock(&s->lock);
	s->resume_requested = true;
	mutex_unlock(&s->lock);
	pcmig_nl_notify(s, PCMIG_EVENT_RESUME_REQUEST);
	wait_event_timeout(s->wq, READ_ONCE(s->vm_resumed) ||
			   READ_ONCE(s->stopping), PCMIG_RESUME_TIMEOUT);
	if (READ_ONCE(s->vm_resumed))
		return 0;
	if (READ_ONCE(s->stopping))
		return -EINTR;
	last_word(c, "the destination VMM did not resume");
	pcmig_session_end(s, PCMIG_PHASE_FAILED,
			  "the VMM did not acknowledge the resume request within %u s",
			  PCMIG_RESUME_TIMEOUT / HZ);
	return -ETIMEDOUT;
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
		if (arg == PCMIG_PHASE_STOPPED) {
			s->stopped_at = ktime_get();
		} else {
			/* Postcopy: the VM runs from here, then we ACK. */
			if (pcmig_vm_attached(&s->vm)) {
				err = (s->caps & (1U << PCMIG_CAP_POSTCOPY_RAM)) ?
				      pcmig_pc_dest_start(s, &c->why) : 0;
				if (err)
					return err;
				c->switching = true;
				err = await_resume(c);
				if (err)
					return err;
				pcmig_session_guest_at(s, PCMIG_GUEST_THERE);
				c->switching = false;
			}
			s->stats.downtime_ms = ktime_ms_delta(ktime_get(),
							      s->stopped_at);
		}
		pcmig_session_set_phase(s, arg);
		return send_ack(s, arg);
	case PCMIG_RX_DEV_DONE:
		mutex_lock(&s->lock);
		s->dev.done = true;
		mutex_unlock(&s->lock);
		return 0;
	case PCMIG_RX_BM_ANNOUNCE:
	case PCMIG_RX_BM_START:
	case PCMIG_RX_BM_BITS:
	case PCMIG_RX_BM_ZEROES:
	case PCMIG_RX_BM_COMPLETE:
	case PCMIG_RX_BM_EOS:
		return pcmig_bm_apply(s, act, arg, &c->rx, c->payload, &c->why);
	case PCMIG_RX_RAM_LAYOUT:
	case PCMIG_RX_RAM_PAGE:
	case PCMIG_RX_RAM_ZERO:
	case PCMIG_RX_RAM_DISCARD:
		return pcmig_ram_apply(s, act, arg, c->payload, &c->why);
	case PCMIG_RX_EOS:
		if (pcmig_vm_attached(&s->vm) && !c->rx.ram_layout) {
			c->why = "stream ended without RAM for the attached VM";
			return -EPROTO;
		}
		if (!pcmig_vm_attached(&s->vm))
			return 0;
		err = pcmig_ram_complete(s, &c->why);
		if (!err)
			pcmig_pc_dest_stop(s, false);
		return err;
	case PCMIG_RX_CANCELLED:
		c->payload[f->length] = '\0';
		snprintf(c->reason, sizeof(c->reason), "%s", c->payload);
		return -ECANCELED;
	default:
		return 0;
	}
}

/*
 * Rule S8: bitmaps that did not complete are dropped before the end is
 * reported.  Without postcopy-ram, a destination that failed in postcopy
 * holds all RAM and device state and runs on: say so.
 */
static void settle_bitmaps(struct dest_ctx *c, char *note, size_t len)
{
	struct pcmig_session *s = c->s;
	unsigned int dropped = pcmig_bm_end(s, false);

	note[0] = '\0';
	if (c->rx.phase == PCMIG_PHASE_POSTCOPY &&
	    !(s->caps & (1U << PCMIG_CAP_POSTCOPY_RAM)))
		snprintf(note, len,
			 " (all other state had arrived: the destination runs on; %u bitmap(s) dropped)",
			 dropped);
	else if (dropped)
		snprintf(note, len, " (%u bitmap(s) dropped)", dropped);
}

static void dest_fail(struct dest_ctx *c, int err)
{
	struct pcmig_session *s = c->s;
	char note[96];

	/* Threads waiting for pages that will not come get an error now. */
	pcmig_pc_dest_stop(s, true);
	settle_bitmaps(c, note, sizeof(note));
	if (!c->why && !pcmig_session_aborted(s) && READ_ONCE(s->pc.fault_why)) {
		c->why = s->pc.fault_why;
		c->local = true;
	}
	if (err == -ECANCELED) {
		pcmig_session_end(s, PCMIG_PHASE_CANCELLED, "source: %s%s",
				  c->reason, note);
		return;
	}
	if (pcmig_session_aborted(s)) {
		if (s->cancel_requested) {
			last_word(c, "cancelled on the destination");
			pcmig_session_end(s, PCMIG_PHASE_CANCELLED,
					  "cancelled by user%s", note);
		}
		return;
	}
	if (c->why) {
		last_word(c, c->why);
		pcmig_session_end(s, PCMIG_PHASE_FAILED, "%s%s%s",
				  c->local ? "" : "bad stream: ", c->why, note);
		return;
	}
	pcmig_session_end(s, PCMIG_PHASE_FAILED, "stream: %s%s",
			  pcmig_io_error(err), note);
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
		if (READ_ONCE(s->pc.fault_why))
			return -ESHUTDOWN;
		if (pcmig_vm_attached(&s->vm) && pcmig_vm_vmm_gone(&s->vm)) {
			c->why = "the destination VMM exited";
			c->local = true;
			return -ESRCH;
		}
		pcmig_session_progress(s, false);
		if (act != PCMIG_RX_EOS)
			continue;
		if (pcmig_vm_attached(&s->vm) && !READ_ONCE(s->vm_resumed)) {
			err = await_resume(c);
			if (err)
				return err;
		}
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
	err = pcmig_vm_attached(&c.s->vm) ?
	      pcmig_vm_enter(&c.s->vm, &c.why) : 0;
	if (err) {
		pcmig_session_end(c.s, PCMIG_PHASE_FAILED, "VM: %s", c.why);
		kvfree(c.payload);
		return err;
	}
	err = dest_run(&c);
	if (err)
		dest_fail(&c, err);
	else
		pcmig_session_complete(c.s);
	if (pcmig_vm_attached(&c.s->vm))
		pcmig_vm_leave(&c.s->vm);
	kvfree(c.payload);
	return err;
}
