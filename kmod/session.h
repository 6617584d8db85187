/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A migration session: one side (source or destination) of one migration,
 * living in one network namespace and owned by the netlink socket that
 * created it.
 */
#ifndef _PCMIG_SESSION_H
#define _PCMIG_SESSION_H

#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/ktime.h>
#include <linux/net.h>
#include <net/net_namespace.h>
#include <uapi/linux/pcmig.h>

#include "bm_migrate.h"
#include "devstate.h"
#include "postcopy.h"
#include "ram.h"
#include "vm.h"

struct task_struct;

struct pcmig_stats {
	u64 bytes_sent;
	u64 bytes_received;
	u64 bytes_remaining;
	u64 bandwidth;		/* bytes/s over the data sent so far */
	u32 passes;
	u64 downtime_ms;
	u64 expected_downtime_ms;
	u64 pages_sent;
	u64 zero_pages;
	u64 dirty_pages;
	u64 dirty_rate;		/* pages/s */
	bool not_converging;
	u64 pc_requests;	/* RAM postcopy (postcopy.h) */
	u64 pc_pages_requested;
	u64 pc_pages_background;
	u64 pc_dup_requests;
	u64 pc_faults;
};

struct pcmig_session {
	u32 id;
	enum pcmig_role role;
	struct net *net;		/* holds a reference */
	u32 owner_portid;		/* netlink socket that created us */
	struct kref ref;
	struct list_head reap;		/* on a teardown list */

	/*
	 * @lock serialises control operations against each other and against
	 * the worker's phase changes.  The worker never holds it across I/O.
	 */
	struct mutex lock;
	u32 phase;			/* enum pcmig_phase, READ_ONCE outside @lock */
	u32 caps;
	u64 max_bandwidth;
	u32 downtime_limit_ms;
	u64 max_postcopy_bandwidth;
	bool postcopy_requested;
	char reason[PCMIG_REASON_MAX];

	struct socket *sock;		/* the migration connection, owned */
	struct task_struct *worker;	/* holds a task reference */
	bool stopping;			/* cancel or teardown: abort I/O */
	bool cancel_requested;		/* by the user, not by teardown */
	bool dead;			/* destroyed: no new worker */
	bool tx_broken;			/* a frame went out in part only */
	wait_queue_head_t wq;		/* woken when @stopping is set */

	struct pcmig_devstate dev;
	struct pcmig_rx rp;		/* source: the return path's checker */
	struct pcmig_vm vm;		/* attached VM, if any (vm.h) */
	struct pcmig_ram_state ram;
	struct pcmig_postcopy pc;	/* RAM postcopy (postcopy.h) */
	struct mutex tx_lock;		/* one frame at a time (stream.c) */
	bool stop_requested;		/* source: asked the VMM to stop */
	bool vm_stopped;		/* ... and it acknowledged */
	bool resume_requested;		/* destination: asked the VMM to run */
	bool vm_resumed;		/* ... and it acknowledged */
	u32 guest_at;			/* enum pcmig_guest_at, 0: not yet */
	struct pcmig_bm_state bm;	/* bitmaps migrated (bm_migrate.h) */
	struct pcmig_stats stats;
	ktime_t started;
	ktime_t stopped_at;		/* source: entered the stopped phase */
	ktime_t ended;			/* reached an end phase */
	ktime_t last_progress;

	/* Pacing of the sender (see stream.c), touched by the worker only. */
	ktime_t rl_start;
	u64 rl_bytes;
	u64 rl_limit;
	bool rl_yielded;	/* the frames last paced gave way, charged */
};

extern unsigned int pcmig_sessions_max;

static inline bool pcmig_phase_ended(u32 phase)
{
	return phase == PCMIG_PHASE_COMPLETED || phase == PCMIG_PHASE_FAILED ||
	       phase == PCMIG_PHASE_CANCELLED;
}

struct pcmig_session *pcmig_session_new(struct net *net, u32 portid,
					enum pcmig_role role, int *err);
struct pcmig_session *pcmig_session_get(struct net *net, u32 id);
void pcmig_session_put(struct pcmig_session *s);
int pcmig_session_destroy(struct net *net, u32 id);
void pcmig_session_destroy_owned(struct net *net, u32 portid);
void pcmig_session_destroy_all(void);
struct pcmig_session *pcmig_session_next(struct net *net, unsigned long *idx);

int pcmig_session_attach(struct pcmig_session *s, int fd, const char **why);
int pcmig_session_start(struct pcmig_session *s, const char **why);
int pcmig_session_cancel(struct pcmig_session *s);

int pcmig_source_main(void *data);
/* Source worker: wait until the destination accepted the RAM layout. */
int pcmig_source_wait_layout(struct pcmig_session *s);
int pcmig_dest_main(void *data);

/* Called by the worker; take @s->lock themselves. */
void pcmig_session_set_phase(struct pcmig_session *s, u32 phase);
void pcmig_session_guest_at(struct pcmig_session *s, u32 at);
void pcmig_session_returned(struct pcmig_session *s, enum pcmig_rx_act act,
			    u64 arg);
void pcmig_session_end(struct pcmig_session *s, u32 phase, const char *fmt,
		       ...) __printf(3, 4);
void pcmig_session_complete(struct pcmig_session *s);
bool pcmig_session_aborted(struct pcmig_session *s);
void pcmig_session_progress(struct pcmig_session *s, bool force);

#endif /* _PCMIG_SESSION_H */
