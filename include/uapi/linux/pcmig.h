/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pcmig: live migration of KVM virtual machines as a kernel service.
 *
 * Generic netlink family "pcmig", version 1.  The same family is described
 * in Documentation/netlink/specs/pcmig.yaml; keep both in step.
 */
#ifndef _UAPI_LINUX_PCMIG_H
#define _UAPI_LINUX_PCMIG_H

#define PCMIG_GENL_NAME		"pcmig"
#define PCMIG_GENL_VERSION	1
#define PCMIG_MCGRP_EVENTS	"events"

/* Version of the migration stream spoken by the module (see stream.rst). */
#define PCMIG_STREAM_VERSION	1

/* Largest device-state blob a session accepts (precopy-only state). */
#define PCMIG_DEVSTATE_MAX	(16U << 20)
/* Largest piece of device state carried by one netlink attribute. */
#define PCMIG_DEVSTATE_CHUNK	(32U << 10)
/* Downtime limit (PCMIG_A_DOWNTIME_LIMIT, ms): default and bounds. */
#define PCMIG_DOWNTIME_LIMIT_DEFAULT	300
#define PCMIG_DOWNTIME_LIMIT_MAX	2000000

/* Dirty bitmaps of block nodes (dm target "pcmig"). */
#define PCMIG_NAME_MAX			255	/* names, bytes without NUL */
#define PCMIG_GRANULARITY_MIN		512U
#define PCMIG_GRANULARITY_MAX		(2U << 30)
#define PCMIG_GRANULARITY_DEFAULT	(64U << 10)

/* Longest reason string reported for a failed session, including NUL. */
#define PCMIG_REASON_MAX	256

/* Capabilities (bit numbers of PCMIG_A_CAPS). */
enum pcmig_cap {
	PCMIG_CAP_POSTCOPY_RAM,
	PCMIG_CAP_POSTCOPY_BITMAPS,

	__PCMIG_CAP_COUNT
};

#define PCMIG_CAPS_ALL		((1U << __PCMIG_CAP_COUNT) - 1)
#define PCMIG_CAPS_POSTCOPY	((1U << PCMIG_CAP_POSTCOPY_RAM) | \
				 (1U << PCMIG_CAP_POSTCOPY_BITMAPS))

enum pcmig_role {
	PCMIG_ROLE_SOURCE = 1,
	PCMIG_ROLE_DESTINATION,
};

/*
 * Session phases.  A session moves forward only:
 * setup -> precopy -> stopped -> [postcopy ->] completed,
 * and from any phase before completed to failed or cancelled.
 */
enum pcmig_phase {
	PCMIG_PHASE_SETUP = 1,
	PCMIG_PHASE_PRECOPY,
	PCMIG_PHASE_STOPPED,
	PCMIG_PHASE_POSTCOPY,
	PCMIG_PHASE_COMPLETED,
	PCMIG_PHASE_FAILED,
	PCMIG_PHASE_CANCELLED,
};

/*
 * Whether the guest runs on the destination, once the source has stopped
 * it (PCMIG_A_GUEST_AT, sessions with a VM attached).  It decides what
 * becomes of the source's stopped VM if the migration does not complete:
 * resume it (here), quit it (there: the destination has all the state),
 * or keep it stopped (postcopy RAM still on the source, or not known).
 */
enum pcmig_guest_at {
	PCMIG_GUEST_HERE = 1,	/* source: the destination never resumed it */
	PCMIG_GUEST_MAYBE_THERE,	/* the postcopy switch went out unanswered */
	PCMIG_GUEST_THERE,	/* the destination resumed it at the switch */
};

/* Sort of state a provider holds (rule S1). */
enum pcmig_sort {
	PCMIG_SORT_PRECOPY_ONLY = 1,
	PCMIG_SORT_COMPATIBLE,
	PCMIG_SORT_POSTCOPY_ONLY,
};

/*
 * What became of one dirty bitmap in a migration (PCMIG_CMD_SESSION_BITMAPS).
 * On the source: announced to the destination, then sent in full.  On the
 * destination (rule S11): created or updated and then complete; refused
 * (different granularity, no such node, ...); or dropped because the
 * stream ended before it was complete (rule S8).
 */
enum pcmig_bitmap_state {
	PCMIG_BITMAP_PENDING = 1,	/* announced, bits still to come */
	PCMIG_BITMAP_DONE,		/* sent / received in full */
	PCMIG_BITMAP_ERROR,		/* refused or failed: see reason */
	PCMIG_BITMAP_DROPPED,		/* incomplete at the end: removed */
	PCMIG_BITMAP_SKIPPED,		/* source: node not in the mapping */
};

/* Most node mappings (PCMIG_A_BITMAP_MAP) one session takes. */
#define PCMIG_BITMAP_MAP_MAX		64

/* Why an event was sent (PCMIG_A_EVENT). */
enum pcmig_event {
	PCMIG_EVENT_PHASE = 1,	/* the session changed phase */
	PCMIG_EVENT_PROGRESS,	/* periodic progress while data moves */
	PCMIG_EVENT_DESTROYED,	/* the session is gone */
	/*
	 * Source with a VM attached: stop the VM now, PUT the device state,
	 * then acknowledge with PCMIG_CMD_VM_STOPPED.
	 */
	PCMIG_EVENT_STOP_REQUEST,
	/*
	 * Destination with a VM attached: everything has arrived; load the
	 * device state (DEVSTATE_GET), resume the VM, then acknowledge with
	 * PCMIG_CMD_VM_RESUMED.  Only then does the source hear "complete".
	 */
	PCMIG_EVENT_RESUME_REQUEST,
};

enum pcmig_attr {
	PCMIG_A_UNSPEC,
	PCMIG_A_PAD,
	PCMIG_A_VERSION,		/* u32: family version */
	PCMIG_A_STREAM_VERSION,		/* u32: stream protocol version */
	PCMIG_A_CAPS_SUPPORTED,		/* u32: capability mask */
	PCMIG_A_CAPS,			/* u32: capability mask */
	PCMIG_A_SESSION_ID,		/* u32 */
	PCMIG_A_ROLE,			/* u32: enum pcmig_role */
	PCMIG_A_PHASE,			/* u32: enum pcmig_phase */
	PCMIG_A_MAX_BANDWIDTH,		/* u64: bytes/s, 0 = unlimited */
	PCMIG_A_DOWNTIME_LIMIT,		/* u32: ms */
	PCMIG_A_MAX_POSTCOPY_BANDWIDTH,	/* u64: bytes/s, 0 = unlimited */
	PCMIG_A_SOCK_FD,		/* u32: fd of a connected stream socket */
	PCMIG_A_DATA,			/* binary: device-state piece */
	PCMIG_A_OFFSET,			/* u64: device-state or extent offset */
	PCMIG_A_DEVSTATE_SIZE,		/* u64: bytes of device state held */
	PCMIG_A_REASON,			/* string: why the session failed */
	PCMIG_A_POSTCOPY_REQUESTED,	/* flag: start-postcopy was issued */
	PCMIG_A_EVENT,			/* u32: enum pcmig_event */
	PCMIG_A_STATS,			/* nest: PCMIG_STAT_* */
	PCMIG_A_SESSIONS_MAX,		/* u32: sessions allowed per netns */
	PCMIG_A_NODE,			/* string: block node (dm table name) */
	PCMIG_A_BITMAP,			/* string: dirty bitmap name */
	PCMIG_A_BITMAP_SRC,		/* string: bitmap merged from */
	PCMIG_A_GRANULARITY,		/* u32: bytes, power of two */
	PCMIG_A_ENABLED,		/* u8: 0 or 1 */
	PCMIG_A_DIRTY_COUNT,		/* u64: granules marked dirty */
	PCMIG_A_NODE_SIZE,		/* u64: bytes of the node */
	PCMIG_A_LENGTH,			/* u64: bytes of a dirty extent */
	PCMIG_A_NODE_DST,		/* string: node a mapping leads to */
	PCMIG_A_BITMAP_MAP,		/* nest, repeated: node -> node-dst */
	PCMIG_A_BITMAP_STATE,		/* u32: enum pcmig_bitmap_state */
	PCMIG_A_VM_FD,			/* u32: fd of a KVM VM (KVM_CREATE_VM) */
	PCMIG_A_RAM_SIZE,		/* u64: bytes of guest RAM attached */
	PCMIG_A_STOP_REQUESTED,		/* flag: waiting for PCMIG_CMD_VM_STOPPED */
	PCMIG_A_RESUME_REQUESTED,	/* flag: waiting for PCMIG_CMD_VM_RESUMED */
	PCMIG_A_GUEST_AT,		/* u32: enum pcmig_guest_at */

	__PCMIG_A_MAX
};

#define PCMIG_A_MAX (__PCMIG_A_MAX - 1)

enum pcmig_stat {
	PCMIG_STAT_UNSPEC,
	PCMIG_STAT_PAD,
	PCMIG_STAT_BYTES_SENT,		/* u64: stream bytes written */
	PCMIG_STAT_BYTES_RECEIVED,	/* u64: stream bytes read */
	PCMIG_STAT_BYTES_REMAINING,	/* u64: state still to send */
	PCMIG_STAT_BANDWIDTH,		/* u64: measured bytes/s */
	PCMIG_STAT_PASSES,		/* u32: precopy passes done */
	PCMIG_STAT_ELAPSED_MS,		/* u64: since start */
	PCMIG_STAT_DOWNTIME_MS,		/* u64: stopped phase length */
	PCMIG_STAT_EXPECTED_DOWNTIME_MS,	/* u64: estimate for the rest */
	PCMIG_STAT_BITMAPS_DONE,	/* u32: bitmaps sent / received in full */
	PCMIG_STAT_BITMAPS_FAILED,	/* u32: refused, dropped or skipped */
	PCMIG_STAT_PAGES_SENT,		/* u64: RAM pages sent with data */
	PCMIG_STAT_ZERO_PAGES,		/* u64: RAM pages sent as zero */
	PCMIG_STAT_DIRTY_PAGES,		/* u64: RAM pages still to send */
	PCMIG_STAT_DIRTY_RATE,		/* u64: pages dirtied per second */
	PCMIG_STAT_NOT_CONVERGING,	/* u32: 1 while dirtying outruns the link */
	/* RAM postcopy (postcopy-ram, rule S5). */
	PCMIG_STAT_PC_REQUESTS,		/* u64: page requests sent / received */
	PCMIG_STAT_PC_PAGES_REQUESTED,	/* u64: pages moved on request */
	PCMIG_STAT_PC_PAGES_BACKGROUND,	/* u64: pages moved by the background */
	PCMIG_STAT_PC_DUP_REQUESTS,	/* u64: requests for pages already sent */
	PCMIG_STAT_PC_FAULTS,		/* u64: destination: missing-page faults */
	PCMIG_STAT_PC_LATENCY_P50_US,	/* u64: destination: request -> page */
	PCMIG_STAT_PC_LATENCY_P99_US,	/* u64 */
	PCMIG_STAT_PC_LATENCY_MAX_US,	/* u64 */
	PCMIG_STAT_PC_THREAD,		/* nest, repeated: PCMIG_PCT_* */

	__PCMIG_STAT_MAX
};

#define PCMIG_STAT_MAX (__PCMIG_STAT_MAX - 1)

/*
 * Destination, RAM postcopy: one thread of the VMM (a vCPU, or the VMM
 * itself) that waited for missing pages (PCMIG_STAT_PC_THREAD).
 */
enum pcmig_pc_thread {
	PCMIG_PCT_UNSPEC,
	PCMIG_PCT_PAD,
	PCMIG_PCT_TID,			/* u32: thread id in the VMM */
	PCMIG_PCT_FAULTS,		/* u64: faults on missing pages */
	PCMIG_PCT_BLOCKED_US,		/* u64: time blocked on them */
	PCMIG_PCT_NAME,			/* string: the thread's name (comm) */

	__PCMIG_PCT_MAX
};

#define PCMIG_PCT_MAX (__PCMIG_PCT_MAX - 1)

enum pcmig_cmd {
	PCMIG_CMD_UNSPEC,
	PCMIG_CMD_GET_INFO,		/* module info and capabilities */
	PCMIG_CMD_SESSION_NEW,		/* role [caps] [params] -> id */
	PCMIG_CMD_SESSION_DEL,		/* id */
	PCMIG_CMD_SESSION_GET,		/* id, or dump all in this netns */
	PCMIG_CMD_SESSION_SET,		/* id [caps] [params], setup only */
	PCMIG_CMD_SOCK_ATTACH,		/* id sock-fd, setup only */
	PCMIG_CMD_DEVSTATE_PUT,		/* id offset data, source, setup */
	PCMIG_CMD_DEVSTATE_GET,		/* id -> dump of data pieces */
	PCMIG_CMD_START,		/* id */
	PCMIG_CMD_START_POSTCOPY,	/* id (rule S3) */
	PCMIG_CMD_CANCEL,		/* id */
	PCMIG_CMD_EVENT,		/* multicast notification */
	PCMIG_CMD_BITMAP_ADD,		/* node bitmap [granularity] [enabled] */
	PCMIG_CMD_BITMAP_DEL,		/* node bitmap */
	PCMIG_CMD_BITMAP_GET,		/* dump: [node] -> bitmaps */
	PCMIG_CMD_BITMAP_SET,		/* node bitmap enabled */
	PCMIG_CMD_BITMAP_CLEAR,		/* node bitmap */
	PCMIG_CMD_BITMAP_MERGE,		/* node bitmap-src -> bitmap */
	/*
	 * Dump of maximal runs of dirty granules as byte ranges, in order,
	 * from [offset] (a run holding it starts there), the last one cut at
	 * the end of the node.
	 */
	PCMIG_CMD_BITMAP_EXTENTS,	/* dump: node bitmap [offset] */
	/*
	 * Dump of the bitmaps a session migrates and what became of each:
	 * node, bitmap, granularity, state and, for errors, the reason.
	 */
	PCMIG_CMD_SESSION_BITMAPS,	/* dump: id -> bitmaps */
	/*
	 * Give a session the VMM's VM (setup only): on the source its RAM is
	 * migrated, on the destination received pages are written to it.
	 */
	PCMIG_CMD_VM_ATTACH,		/* id vm-fd */
	/* The VMM stopped the VM after PCMIG_EVENT_STOP_REQUEST. */
	PCMIG_CMD_VM_STOPPED,		/* id */
	/* The VMM resumed the VM after PCMIG_EVENT_RESUME_REQUEST. */
	PCMIG_CMD_VM_RESUMED,		/* id */

	__PCMIG_CMD_MAX
};

#define PCMIG_CMD_MAX (__PCMIG_CMD_MAX - 1)

#endif /* _UAPI_LINUX_PCMIG_H */
