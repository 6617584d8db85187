// SPDX-License-Identifier: GPL-2.0
/*
 * RAM postcopy, source side (postcopy.h): the return-path reader and its
 * queue of page requests.  The pages themselves go from ram.c.
 */
#include <linux/kthread.h>
#include <linux/sched.h>

#include "postcopy.h"
#include "session.h"
#include "stream.h"

static bool queue_full(struct pcmig_postcopy *pc)
{
	return pc->tail - pc->head == PCMIG_PC_QUEUE;
}

bool pcmig_pc_request_queued(struct pcmig_session *s)
{
	return READ_ONCE(s->pc.tail) != READ_ONCE(s->pc.head);
}

/* Next queued request, if any (the worker). */
bool pcmig_pc_pop(struct pcmig_session *s, struct pcmig_pc_req *r)
{
	struct pcmig_postcopy *pc = &s->pc;
	bool got = false;

	spin_lock(&pc->lock);
	if (pc->tail != pc->head) {
		*r = pc->queue[pc->head % PCMIG_PC_QUEUE];
		pc->head++;
		got = true;
	}
	spin_unlock(&pc->lock);
	if (got)
		wake_up_all(&s->wq);	/* the reader may wait for room */
	return got;
}

/*
 * A request for pages the destination cannot have asked for in good faith
 * is a broken return path; a full queue holds the reader (and through TCP
 * the destination) back, so a flood of requests costs the source nothing
 * but the time to skip pages it has sent already.
 */
static int queue_request(struct pcmig_session *s, u64 gpa, u32 pages)
{
	struct pcmig_postcopy *pc = &s->pc;
	struct pcmig_vm_slot *first, *last;
	u64 page;

	first = pcmig_vm_find(&s->vm, gpa, &page);
	last = pcmig_vm_find(&s->vm, gpa + ((u64)(pages - 1) << PAGE_SHIFT),
			     &page);
	if (!first || first != last) {
		pc->rx_why = "page request outside guest RAM";
		return -EPROTO;
	}
	while (queue_full(pc)) {
		if (pcmig_session_aborted(s) || READ_ONCE(pc->rx_stop))
			return -EINTR;
		wait_event_interruptible_timeout(s->wq, !queue_full(pc) ||
						 pcmig_session_aborted(s) ||
						 READ_ONCE(pc->rx_stop), HZ);
	}
	spin_lock(&pc->lock);
	pc->queue[pc->tail % PCMIG_PC_QUEUE] =
		(struct pcmig_pc_req){ .gpa = gpa, .pages = pages };
	pc->tail++;
	s->stats.pc_requests++;
	spin_unlock(&pc->lock);
	wake_up_all(&s->wq);
	return 0;
}

/* One return-path frame; > 0 when the return path has said its last. */
static int read_frame(struct pcmig_session *s, u8 *payload)
{
	struct pcmig_postcopy *pc = &s->pc;
	u8 hdr[PCMIG_WIRE_FRAME_HDR_LEN];
	struct pcmig_wire_frame f;
	enum pcmig_rx_act act;
	u64 arg;
	int err;

	err = pcmig_recv(s, hdr, sizeof(hdr));
	if (err)
		return err;
	err = pcmig_rx_frame_hdr(&s->rp, hdr, &f, &pc->rx_why);
	if (!err)
		err = pcmig_recv(s, payload, f.length);
	if (!err)
		err = pcmig_rx_frame(&s->rp, &f, payload, &act, &arg,
				     &pc->rx_why);
	if (err)
		return err;
	pcmig_session_returned(s, act, arg);
	switch (act) {
	case PCMIG_RX_ACK:
		if (arg == PCMIG_PHASE_POSTCOPY)
			WRITE_ONCE(pc->acked, true);
		return 0;
	case PCMIG_RX_PAGE_REQ:
		return queue_request(s, arg, pcmig_wire_ram_run_pages(payload));
	case PCMIG_RX_COMPLETE:
		WRITE_ONCE(pc->completed, true);
		return 1;
	case PCMIG_RX_PEER_FAILED:
		payload[f.length] = '\0';
		strscpy(pc->peer_reason, payload, sizeof(pc->peer_reason));
		WRITE_ONCE(pc->peer_failed, true);
		return 1;
	default:
		return 0;
	}
}

static int reader(void *data)
{
	struct pcmig_session *s = data;
	struct pcmig_postcopy *pc = &s->pc;
	u8 payload[PCMIG_WIRE_REASON_MAX + 1];
	int err;

	do {
		err = read_frame(s, payload);
		wake_up_all(&s->wq);
	} while (!err);
	if (err < 0)
		pc->rx_err = err;
	WRITE_ONCE(pc->reader_done, true);
	wake_up_all(&s->wq);
	/* kthread_stop() collects us. */
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

int pcmig_pc_source_start(struct pcmig_session *s)
{
	struct task_struct *t;

	t = kthread_run(reader, s, "pcmig-rp/%u", s->id);
	if (IS_ERR(t))
		return PTR_ERR(t);
	get_task_struct(t);
	s->pc.reader = t;
	return 0;
}

static void drop_requests(struct pcmig_session *s)
{
	struct pcmig_pc_req r;

	while (pcmig_pc_pop(s, &r))
		s->stats.pc_dup_requests++;
}

/*
 * Until the destination runs (@complete false) or has everything: 0, or
 * the reader's error (> 0 and the reason in s->pc when the peer failed).
 */
int pcmig_pc_source_wait(struct pcmig_session *s, bool complete)
{
	struct pcmig_postcopy *pc = &s->pc;
	bool *what = complete ? &pc->completed : &pc->acked;

	for (;;) {
		/* Every page went: what is still asked for is a duplicate. */
		if (complete)
			drop_requests(s);
		if (READ_ONCE(*what))
			return 0;
		if (READ_ONCE(pc->reader_done))
			return pc->rx_err ?: -EPROTO;
		if (pcmig_session_aborted(s))
			return -EINTR;
		wait_event_interruptible_timeout(s->wq, READ_ONCE(*what) ||
						 READ_ONCE(pc->reader_done) ||
						 (complete &&
						  pcmig_pc_request_queued(s)) ||
						 pcmig_session_aborted(s), HZ);
	}
}

/* Has the return path ended, in failure? */
bool pcmig_pc_source_broken(struct pcmig_session *s)
{
	return READ_ONCE(s->pc.reader_done) && !READ_ONCE(s->pc.completed);
}

void pcmig_pc_source_stop(struct pcmig_session *s)
{
	struct pcmig_postcopy *pc = &s->pc;

	if (!pc->reader)
		return;
	WRITE_ONCE(pc->rx_stop, true);
	wake_up_all(&s->wq);
	kthread_stop(pc->reader);
	put_task_struct(pc->reader);
	pc->reader = NULL;
	WRITE_ONCE(pc->rx_stop, false);
}
