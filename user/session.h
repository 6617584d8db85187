/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A session as the kernel reports it (SESSION_NEW/SESSION_GET replies, dump
 * entries and EVENT messages share one attribute set), and its rendering as
 * text and JSON.
 */
#ifndef PCMIGD_SESSION_H
#define PCMIGD_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/pcmig.h>
#include <netlink/msg.h>

#include "json.h"

/*
 * Most threads of a VMM (PCMIG_STAT_PC_THREAD) one session keeps; the
 * module's others are counted in pc_threads_total.
 */
#define SESSION_PC_THREADS_MAX 256

/* Destination, RAM postcopy: one VMM thread that waited for pages. */
struct session_pc_thread {
	uint32_t tid;
	char name[16];		/* the thread's name (comm), or "" */
	uint64_t faults;
	uint64_t blocked_us;
};

struct pcmig_session {
	/* Bit n set: attribute n (PCMIG_A_* / PCMIG_STAT_*) was present. */
	uint64_t has;
	uint64_t stats_has;
	uint32_t event;
	uint32_t id;
	uint32_t role;
	uint32_t phase;
	uint32_t caps;
	uint32_t downtime_limit;
	uint64_t max_bandwidth;
	uint64_t max_postcopy_bandwidth;
	uint64_t devstate_size;
	uint64_t ram_size;		/* PCMIG_A_RAM_SIZE: a VM is attached */
	bool postcopy_requested;
	bool stop_requested;		/* PCMIG_A_STOP_REQUESTED */
	bool resume_requested;		/* PCMIG_A_RESUME_REQUESTED */
	uint32_t guest_at;		/* PCMIG_A_GUEST_AT, 0 if absent */
	char reason[PCMIG_REASON_MAX];
	uint64_t stats[PCMIG_STAT_MAX + 1];	/* indexed by PCMIG_STAT_* */
	/* PCMIG_STAT_PC_THREAD, in the module's order. */
	uint32_t pc_threads_total;	/* as many as the module sent */
	uint32_t pc_threads;		/* kept in pc_thread[] */
	struct session_pc_thread pc_thread[SESSION_PC_THREADS_MAX];
};

struct pcmig_info {
	uint32_t version;
	uint32_t stream_version;
	uint32_t caps_supported;
	uint32_t sessions_max;
};

#define SESSION_HAS(s, attr) (((s)->has >> (attr)) & 1)
#define SESSION_HAS_STAT(s, stat) (((s)->stats_has >> (stat)) & 1)

/* 0 or -EBADMSG; a message without SESSION_ID is malformed. */
int session_from_msg(struct nl_msg *msg, struct pcmig_session *s);
int info_from_msg(struct nl_msg *msg, struct pcmig_info *info);

/* PCMIG_STAT_NOT_CONVERGING reported and set. */
bool session_not_converging(const struct pcmig_session *s);

/*
 * RAM postcopy statistics apply: the session has postcopy-ram and the
 * module sent statistics (it sends the PC_* ones only then).
 */
bool session_has_postcopy_ram(const struct pcmig_session *s);

/*
 * "p50 850 us, p99 2.1 ms, max 3.0 ms": the fault latencies the module
 * sent, NULL if none.
 */
#define SESSION_PC_LATENCY_LEN 80
const char *session_pc_latency(const struct pcmig_session *s, char *buf,
			       size_t len);

/* Multi-line description for `pcmigd status`. */
void session_print(FILE *f, const struct pcmig_session *s);
/*
 * One line: "session 3 source precopy" for monitor and lists, with
 * " (not converging)" while the guest dirties faster than a pass sends and
 * ": REASON" for a failure.
 */
void session_print_brief(FILE *f, const struct pcmig_session *s);
/*
 * JSON object; keys are the uapi attribute names in lower case
 * (SESSION_ID is "id"), phase/role/caps as names.  The PC_* statistics
 * are not in "stats" but in "postcopy" (session_has_postcopy_ram only):
 * {"requests", "pages_requested", "pages_background", "dup_requests",
 * "faults", "latency_us": {"p50", "p99", "max"}, "threads": [{"tid",
 * "faults", "blocked_us"}]}, each number only when the module sent it,
 * "threads" always ([] when none).
 */
void session_json(struct json *j, const char *key,
		  const struct pcmig_session *s);
/* The same members, for an object the caller extends (migrate --json). */
void session_json_members(struct json *j, const struct pcmig_session *s);

#endif
