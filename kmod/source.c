// SPDX-License-Identifier: GPL-2.0
/*
 * Source side of a migration: the session worker that drives the phases
 * and writes the stream.
 *
 * State is held by providers, each of one sort (rule S1).  Compatible
 * state is iterated in precopy passes until pcmig_decide() (rule S2) says
 * to stop; precopy-only state goes in the stopped phase; postcopy-only
 * state goes in the stopped phase or, when S2 chose it, after the
 * destination has started.
 */
#include <linux/kthread.h>
#include <linux/sched.h>

#include "devstate.h"
#include "netlink.h"
#include "phase.h"
#include "session.h"
#include "stream.h"
#include "wire.h"

/* How long the VMM may take to stop after PCMIG_EVENT_STOP_REQUEST. */
#define PCMIG_STOP_TIMEOUT	(30 * HZ)

struct pcmig_provider {
	const char *name;
	enum pcmig_sort sort;
	u64 (*pending)(struct pcmig_session *s);
	/*
	 * Postcopy-only state, optional: in the stopped phase, before the
	 * destination may start, tell it what will follow.
	 */
	int (*announce)(struct pcmig_session *s);
	/* Send what the provider holds now (one pass for compatible state). */
	int (*save)(struct pcmig_session *s);
};

static const struct pcmig_provider pcmig_providers[] = {
	{
		.name = "device",
		.sort = PCMIG_SORT_PRECOPY_ONLY,
		.pending = pcmig_devstate_pending,
		.save = pcmig_devstate_save,
	},
	{
		.name = "ram",
		.sort = PCMIG_SORT_COMPATIBLE,
		.pending = pcmig_ram_pending,
		.save = pcmig_ram_save,
	},
	{
		.name = "bitmaps",
		.sort = PCMIG_SORT_POSTCOPY_ONLY,
		.pending = pcmig_bm_pending,
		.announce = pcmig_bm_announce,
		.save = pcmig_bm_save,
	},
};

static struct pcmig_pending pending_of(struct pcmig_session *s)
{
	struct pcmig_pending p = {};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pcmig_providers); i++) {
		const struct pcmig_provider *pr = &pcmig_providers[i];
		u64 n = pr->pending(s);

		if (pr->sort == PCMIG_SORT_PRECOPY_ONLY)
			p.precopy_only += n;
		else if (pr->sort == PCMIG_SORT_COMPATIBLE)
			p.compatible += n;
		else
			p.postcopy_only += n;
	}
	s->stats.bytes_remaining = p.precopy_only + p.compatible +
				   p.postcopy_only;
	return p;
}

static int save_sort(struct pcmig_session *s, enum pcmig_sort sort)
{
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(pcmig_providers); i++) {
		const struct pcmig_provider *pr = &pcmig_providers[i];

		if (pr->sort != sort || !pr->pending(s))
			continue;
		err = pr->save(s);
		if (err)
			return err;
	}
	return 0;
}

static int announce_all(struct pcmig_session *s)
{
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(pcmig_providers); i++) {
		const struct pcmig_provider *pr = &pcmig_providers[i];

		if (!pr->announce)
			continue;
		err = pr->announce(s);
		if (err)
			return err;
	}
	return 0;
}

static u64 expected_downtime_ms(u64 bytes, u64 bandwidth)
{
	return bandwidth ? div64_u64(bytes * 1000, bandwidth) : 0;
}

/* Precopy passes until rule S2 lets the source stop. */
static int run_precopy(struct pcmig_session *s, enum pcmig_decision *out)
{
	struct pcmig_phase_input in = {};
	enum pcmig_decision d;
	int err;

	for (;;) {
		in.pending = pending_of(s);
		in.caps = s->caps;
		in.postcopy_requested = READ_ONCE(s->postcopy_requested);
		in.precopy_exhausted = !in.pending.compatible;
		in.bandwidth = s->stats.passes || s->ram.probed ?
			       s->stats.bandwidth : 0;
		in.downtime_limit_ms = READ_ONCE(s->downtime_limit_ms);
		s->stats.expected_downtime_ms =
			expected_downtime_ms(in.pending.precopy_only +
					     in.pending.compatible,
					     in.bandwidth);
		d = pcmig_decide(&in);
		if (d != PCMIG_GO_ON_PRECOPY)
			break;
		/*
		 * Postcopy requested before the bandwidth is known: measure
		 * it on the first pages rather than a whole pass, so that the
		 * switch comes at once if rule S2 allows it.
		 */
		if (in.postcopy_requested && !in.bandwidth &&
		    pcmig_vm_attached(&s->vm) && !s->ram.probed) {
			err = pcmig_ram_probe(s);
			if (err)
				return err;
			s->ram.probed = true;
			pcmig_session_progress(s, true);
			continue;
		}
		err = save_sort(s, PCMIG_SORT_COMPATIBLE);
		if (err)
			return err;
		/* A pass cut short for postcopy is no pass. */
		if (!s->ram.cut_short)
			s->stats.passes++;
		s->ram.cut_short = false;
		pcmig_session_progress(s, true);
	}
	*out = d;
	return 0;
}

/*
 * Stopped, with everything that must precede the destination's start
 * sent: decide again (rule S2) with what is left, now that the bandwidth
 * has been measured on real data.  Postcopy-only state that does not fit
 * the downtime limit goes after the destination starts.
 */
static enum pcmig_decision decide_stopped(struct pcmig_session *s)
{
	struct pcmig_phase_input in = {};

	pcmig_session_progress(s, true);
	in.pending = pending_of(s);
	in.caps = s->caps;
	in.postcopy_requested = READ_ONCE(s->postcopy_requested);
	in.precopy_exhausted = true;
	in.bandwidth = s->stats.bandwidth;
	in.downtime_limit_ms = READ_ONCE(s->downtime_limit_ms);
	return pcmig_decide(&in);
}

/*
 * The destination may have said why it stopped just before the connection
 * broke under our sends: look for its FAIL on the return path, without
 * waiting for more than one socket timeout.
 */
static bool peer_reason(struct pcmig_session *s, struct pcmig_rx *rx,
			char *reason, size_t len)
{
	u8 hdr[PCMIG_WIRE_FRAME_HDR_LEN];
	u8 payload[PCMIG_WIRE_REASON_MAX + 1];
	struct pcmig_wire_frame f;
	enum pcmig_rx_act act;
	const char *why;
	u64 arg;

	while (!pcmig_recv_last_word(s, hdr, sizeof(hdr)) &&
	       !pcmig_rx_frame_hdr(rx, hdr, &f, &why) &&
	       !pcmig_recv_last_word(s, payload, f.length) &&
	       !pcmig_rx_frame(rx, &f, payload, &act, &arg, &why)) {
		pcmig_session_returned(s, act, arg);
		if (act == PCMIG_RX_PEER_FAILED) {
			payload[f.length] = '\0';
			strscpy(reason, payload, len);
			return true;
		}
		if (act == PCMIG_RX_COMPLETE)
			break;
	}
	return false;
}

/*
 * Failing in postcopy, the destination has run the guest: the source must
 * not resume it.  Without postcopy-ram the destination had all RAM and
 * device state and runs on; with it, RAM was still coming, and the
 * stopped state here is all a later recovery has (rule S7).
 */
static const char *moved_note(struct pcmig_session *s)
{
	switch (READ_ONCE(s->guest_at)) {
	case PCMIG_GUEST_MAYBE_THERE:
		return " (the guest may run there; state kept here for recovery: do not resume)";
	case PCMIG_GUEST_THERE:
		return s->pc.ram ?
		       " (the guest ran there; state kept here for recovery: do not resume)" :
		       " (the destination has all other state and runs on: do not resume here)";
	default:
		return "";
	}
}

static void source_fail(struct pcmig_session *s, struct pcmig_rx *rx,
			int err, const char *what)
{
	char reason[PCMIG_WIRE_REASON_MAX + 1];

	if (pcmig_session_aborted(s)) {
		if (s->cancel_requested) {
			pcmig_send_last_word(s, PCMIG_SEC_CONTROL,
					     PCMIG_CTL_CANCEL,
					     "cancelled on the source");
			pcmig_session_end(s, PCMIG_PHASE_CANCELLED,
					  "cancelled by user");
		}
		return;	/* teardown sets its own reason */
	}
	if (s->ram.why) {
		pcmig_send_last_word(s, PCMIG_SEC_CONTROL, PCMIG_CTL_CANCEL,
				     s->ram.why);
		pcmig_session_end(s, PCMIG_PHASE_FAILED, "guest RAM: %s%s",
				  s->ram.why, moved_note(s));
		return;
	}
	/* RAM postcopy: the return path was the reader's (pc_source.c). */
	if (s->pc.reader) {
		pcmig_pc_source_stop(s);
		if (s->pc.peer_failed) {
			pcmig_session_end(s, PCMIG_PHASE_FAILED,
					  "destination failed: %s%s",
					  s->pc.peer_reason, moved_note(s));
			return;
		}
		if (s->pc.rx_why && s->pc.rx_err != -EINTR) {
			pcmig_send_last_word(s, PCMIG_SEC_CONTROL,
					     PCMIG_CTL_CANCEL, s->pc.rx_why);
			pcmig_session_end(s, PCMIG_PHASE_FAILED,
					  "bad return path: %s%s",
					  s->pc.rx_why, moved_note(s));
			return;
		}
		if (s->pc.rx_err)
			err = s->pc.rx_err;
		what = "return path";
	} else if (rx->preamble_seen && !rx->ended &&
	    peer_reason(s, rx, reason, sizeof(reason))) {
		pcmig_session_end(s, PCMIG_PHASE_FAILED,
				  "destination failed: %s%s", reason,
				  moved_note(s));
		return;
	}
	pcmig_session_end(s, PCMIG_PHASE_FAILED, "%s: %s%s", what,
			  pcmig_io_error(err), moved_note(s));
}

/*
 * Read the return path until the destination acknowledges phase @until
 * (0: until it completes) or, with @layout, accepts the RAM layout.
 */
static int wait_return_path(struct pcmig_session *s, struct pcmig_rx *rx,
			    u32 until, bool layout)
{
	u8 hdr[PCMIG_WIRE_FRAME_HDR_LEN];
	u8 payload[PCMIG_WIRE_REASON_MAX + 1];
	struct pcmig_wire_frame f;
	enum pcmig_rx_act act;
	const char *why;
	u64 arg;
	int err;

	for (;;) {
		err = pcmig_recv(s, hdr, sizeof(hdr));
		if (err) {
			source_fail(s, rx, err, "return path");
			return err;
		}
		err = pcmig_rx_frame_hdr(rx, hdr, &f, &why);
		if (!err) {
			err = pcmig_recv(s, payload, f.length);
			if (err) {
				source_fail(s, rx, err, "return path");
				return err;
			}
			err = pcmig_rx_frame(rx, &f, payload, &act, &arg,
					     &why);
		}
		if (err) {
			pcmig_session_end(s, PCMIG_PHASE_FAILED,
					  "bad return path: %s", why);
			return err;
		}
		pcmig_session_returned(s, act, arg);
		if (act == PCMIG_RX_PEER_FAILED) {
			payload[f.length] = '\0';
			pcmig_session_end(s, PCMIG_PHASE_FAILED,
					  "destination failed: %s%s", payload,
					  moved_note(s));
			return -EPROTO;
		}
		if (act == PCMIG_RX_COMPLETE)
			return 0;
		if (act == PCMIG_RX_LAYOUT_OK && layout)
			return 0;
		if (act == PCMIG_RX_ACK && arg == until && !layout)
			return 0;
	}
}

int pcmig_source_wait_layout(struct pcmig_session *s)
{
	return wait_return_path(s, &s->rp, 0, true);
}

static int send_phase(struct pcmig_session *s, u32 phase)
{
	u8 buf[4];

	put_unaligned_be32(phase, buf);
	pcmig_session_set_phase(s, phase);
	return pcmig_send_frame(s, PCMIG_SEC_CONTROL, PCMIG_CTL_PHASE, buf,
				sizeof(buf));
}

/*
 * The VMM contract: when the source is ready to stop, it asks the VMM
 * (PCMIG_EVENT_STOP_REQUEST); the VMM stops its vCPUs, puts its device
 * state and acknowledges (PCMIG_CMD_VM_STOPPED).  The downtime starts here.
 */
static int request_stop(struct pcmig_session *s)
{
	s->stopped_at = ktime_get();
	mutex_lock(&s->lock);
	s->stop_requested = true;
	mutex_unlock(&s->lock);
	pcmig_nl_notify(s, PCMIG_EVENT_STOP_REQUEST);
	wait_event_timeout(s->wq, READ_ONCE(s->vm_stopped) ||
			   READ_ONCE(s->stopping), PCMIG_STOP_TIMEOUT);
	if (READ_ONCE(s->vm_stopped)) {
		pcmig_session_guest_at(s, PCMIG_GUEST_HERE);
		return 0;
	}
	if (READ_ONCE(s->stopping))
		return -EINTR;
	pcmig_send_last_word(s, PCMIG_SEC_CONTROL, PCMIG_CTL_CANCEL,
			     "the source VMM did not stop");
	pcmig_session_end(s, PCMIG_PHASE_FAILED,
			  "the VMM did not acknowledge the stop request within %u s",
			  PCMIG_STOP_TIMEOUT / HZ);
	return -ETIMEDOUT;
}

static int source_run(struct pcmig_session *s)
{
	enum pcmig_decision d;
	struct pcmig_rx *rx = &s->rp;
	int err;

	pcmig_stream_setup(s);
	pcmig_rx_init(rx, true);
	err = pcmig_send_preamble(s, PCMIG_WIRE_MAGIC);
	if (err) {
		source_fail(s, rx, err, "sending stream preamble");
		return err;
	}
	s->tx_broken = false;

	/* The destination answers with its own preamble on the return path. */
	{
		u8 pre[PCMIG_WIRE_PREAMBLE_LEN];
		const char *why;

		err = pcmig_recv(s, pre, sizeof(pre));
		if (err) {
			source_fail(s, rx, err, "waiting for the destination");
			return err;
		}
		err = pcmig_rx_preamble(rx, pre, s->caps, &why);
		if (err) {
			pcmig_session_end(s, PCMIG_PHASE_FAILED,
					  "bad return path: %s", why);
			return err;
		}
	}

	err = run_precopy(s, &d);
	if (err) {
		source_fail(s, rx, err, "precopy");
		return err;
	}

	if (pcmig_vm_attached(&s->vm)) {
		err = request_stop(s);
		if (err == -EINTR)
			source_fail(s, rx, err, "stopping");
		if (err)
			return err;
	} else {
		s->stopped_at = ktime_get();
	}
	err = send_phase(s, PCMIG_PHASE_STOPPED);
	if (!err)
		err = save_sort(s, PCMIG_SORT_PRECOPY_ONLY);
	/* RAM postcopy (S6): no page now, only what the destination must drop. */
	s->pc.ram = d == PCMIG_GO_STOP_POSTCOPY && pcmig_vm_attached(&s->vm) &&
		    (s->caps & (1U << PCMIG_CAP_POSTCOPY_RAM));
	if (!err)
		err = s->pc.ram ? pcmig_ram_discard(s) :
		      save_sort(s, PCMIG_SORT_COMPATIBLE);
	if (!err) {
		err = announce_all(s);
		if (err == -ENOMEM) {
			pcmig_session_end(s, PCMIG_PHASE_FAILED,
					  "announcing bitmaps: out of memory, or more than %u bitmaps",
					  PCMIG_BM_ENTRIES_MAX);
			return err;
		}
	}
	if (!err && d == PCMIG_GO_STOP_COMPLETE)
		d = decide_stopped(s);
	if (!err && d == PCMIG_GO_STOP_POSTCOPY) {
		/* From here until it answers, the destination may resume. */
		if (pcmig_vm_attached(&s->vm))
			pcmig_session_guest_at(s, PCMIG_GUEST_MAYBE_THERE);
		err = send_phase(s, PCMIG_PHASE_POSTCOPY);
		if (err) {
			source_fail(s, rx, err, "sending the stream");
			return err;
		}
		/* Downtime ends when the destination says it runs. */
		if (s->pc.ram) {
			err = pcmig_pc_source_start(s);
			if (!err)
				err = pcmig_pc_source_wait(s, false);
			if (err) {
				source_fail(s, rx, err, "return path");
				return err;
			}
		} else {
			err = wait_return_path(s, rx, PCMIG_PHASE_POSTCOPY,
					       false);
			if (err)
				return err;
		}
		s->stats.downtime_ms = ktime_ms_delta(ktime_get(),
						      s->stopped_at);
	}
	if (!err && s->pc.ram)
		err = pcmig_ram_postcopy(s);
	if (!err)
		err = save_sort(s, PCMIG_SORT_POSTCOPY_ONLY);
	if (!err)
		err = pcmig_send_frame(s, PCMIG_SEC_CONTROL, PCMIG_CTL_EOS,
				       NULL, 0);
	if (err) {
		source_fail(s, rx, err, "sending the stream");
		return err;
	}
	if (s->pc.ram) {
		/* The source's state stays until the destination has it all. */
		pending_of(s);
		err = pcmig_pc_source_wait(s, true);
		if (err) {
			source_fail(s, rx, err, "return path");
			return err;
		}
		pcmig_pc_source_stop(s);
		pcmig_session_complete(s);
		return 0;
	}
	pending_of(s);
	err = wait_return_path(s, rx, 0, false);
	if (err)
		return err;
	if (d != PCMIG_GO_STOP_POSTCOPY)
		s->stats.downtime_ms = ktime_ms_delta(ktime_get(),
						      s->stopped_at);
	pcmig_session_complete(s);
	return 0;
}

int pcmig_source_main(void *data)
{
	struct pcmig_session *s = data;
	bool vm = pcmig_vm_attached(&s->vm);
	const char *why;
	int err;

	if (vm) {
		err = pcmig_vm_enter(&s->vm, &why);
		if (err) {
			pcmig_session_end(s, PCMIG_PHASE_FAILED, "VM: %s", why);
			return err;
		}
	}
	err = source_run(s);
	pcmig_pc_source_stop(s);
	if (vm) {
		/* The guest runs on at full speed, here or there. */
		pcmig_vm_log_stop(&s->vm);
		pcmig_vm_leave(&s->vm);
	}
	return err;
}
