/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RAM postcopy (capability postcopy-ram, rules S5-S7).
 *
 * Source: at the switch, the stopped phase sends no RAM but DISCARDs the
 * pages still dirty; after the destination started, pages go on request
 * first (a return-path reader queues the requests) and in the background
 * otherwise, until every page has gone once.  The guest's stopped state is
 * left as it is until the destination reports completion.
 *
 * Destination: at the switch every page not received (or discarded) is
 * dropped from the VMM's memory and guest memory is registered with a
 * userfaultfd driven by the module (uffd.h).  A fault thread turns faults
 * into page requests; the session worker places arriving pages, which
 * wakes whoever waits for them.  On failure guest memory is revoked, so
 * the waiting threads get an error instead of a page that never came.
 */
#ifndef _PCMIG_POSTCOPY_H
#define _PCMIG_POSTCOPY_H

#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include "uffd.h"
#include "wire.h"

struct pcmig_session;
struct pcmig_vm_slot;
struct sk_buff;

/* Threads of the VMM tracked one by one; more are added up as tid 0. */
#define PCMIG_PC_THREADS_MAX	64
/* Fault latencies kept for the percentiles (a uniform sample beyond). */
#define PCMIG_PC_SAMPLES	4096
/* Page requests the source holds before the reader waits (back-pressure). */
#define PCMIG_PC_QUEUE		256

struct pcmig_pc_blocked {
	u32 tid;
	char comm[TASK_COMM_LEN];	/* at its first fault, or "" */
	u64 faults;
	u64 blocked_ns;
	u64 gfn;		/* the page it waits for, if waiting */
	ktime_t since;
	bool waiting;
};

struct pcmig_pc_req {
	u64 gpa;
	u32 pages;
};

struct pcmig_postcopy {
	bool ram;		/* RAM goes (went) after the destination started */

	/* Destination. */
	struct pcmig_uffd uffd;
	bool active;		/* guest memory registered: pages are placed */
	unsigned long scratch;	/* PCMIG_PC_SCRATCH bytes in the VMM's mm */
	struct task_struct *faulter;
	struct xarray requested;	/* gfn -> request time (ns) */
	spinlock_t lock;	/* received bits while active, threads, samples */
	struct pcmig_pc_blocked threads[PCMIG_PC_THREADS_MAX];
	u32 nr_threads;
	u32 *samples;		/* fault latencies, us */
	u32 nr_samples;
	u64 latencies;		/* measured in all */
	u64 max_us;
	const char *fault_why;	/* the fault thread failed the session */

	/* Source. */
	struct task_struct *reader;
	bool rx_stop;		/* the reader is asked to stop */
	struct pcmig_pc_req queue[PCMIG_PC_QUEUE];
	u32 head, tail;		/* under @lock */
	bool acked;		/* the destination runs */
	bool completed;		/* ... and has everything */
	bool reader_done;
	int rx_err;		/* the return path broke */
	const char *rx_why;	/* ... as the checker saw it */
	char peer_reason[PCMIG_WIRE_REASON_MAX + 1];	/* its FAIL */
	bool peer_failed;
};

void pcmig_pc_init(struct pcmig_session *s);
void pcmig_pc_free(struct pcmig_session *s);

/* Source worker. */
int pcmig_pc_source_start(struct pcmig_session *s);
int pcmig_pc_source_wait(struct pcmig_session *s, bool complete);
int pcmig_pc_source_ram(struct pcmig_session *s);
void pcmig_pc_source_stop(struct pcmig_session *s);
bool pcmig_pc_source_broken(struct pcmig_session *s);
bool pcmig_pc_pop(struct pcmig_session *s, struct pcmig_pc_req *r);
/* Stream: may a paced sender stop waiting (a request is queued)? */
bool pcmig_pc_request_queued(struct pcmig_session *s);

/* Destination: netlink (process context) and worker. */
int pcmig_pc_dest_prepare(struct pcmig_session *s, const char **why);
int pcmig_pc_dest_start(struct pcmig_session *s, const char **why);
int pcmig_pc_place_page(struct pcmig_session *s, struct pcmig_vm_slot *sl,
			u64 page, const void *data);
int pcmig_pc_place_zero(struct pcmig_session *s, struct pcmig_vm_slot *sl,
			u64 page, u64 n);
void pcmig_pc_dest_stop(struct pcmig_session *s, bool failed);

/* Netlink: the postcopy statistics of PCMIG_A_STATS. */
int pcmig_pc_fill_stats(struct pcmig_session *s, struct sk_buff *skb);

#endif /* _PCMIG_POSTCOPY_H */
