// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "names.h"
#include "session.h"
#include "units.h"

/*
 * Lengths are checked by libnl against this policy before any nla_get_*;
 * attributes this pcmigd does not know (newer module) are ignored.
 */
static const struct nla_policy attr_policy[PCMIG_A_MAX + 1] = {
	[PCMIG_A_VERSION] = { .type = NLA_U32 },
	[PCMIG_A_STREAM_VERSION] = { .type = NLA_U32 },
	[PCMIG_A_CAPS_SUPPORTED] = { .type = NLA_U32 },
	[PCMIG_A_CAPS] = { .type = NLA_U32 },
	[PCMIG_A_SESSION_ID] = { .type = NLA_U32 },
	[PCMIG_A_ROLE] = { .type = NLA_U32 },
	[PCMIG_A_PHASE] = { .type = NLA_U32 },
	[PCMIG_A_MAX_BANDWIDTH] = { .type = NLA_U64 },
	[PCMIG_A_DOWNTIME_LIMIT] = { .type = NLA_U32 },
	[PCMIG_A_MAX_POSTCOPY_BANDWIDTH] = { .type = NLA_U64 },
	[PCMIG_A_OFFSET] = { .type = NLA_U64 },
	[PCMIG_A_DEVSTATE_SIZE] = { .type = NLA_U64 },
	[PCMIG_A_REASON] = { .type = NLA_STRING },
	[PCMIG_A_POSTCOPY_REQUESTED] = { .type = NLA_FLAG },
	[PCMIG_A_EVENT] = { .type = NLA_U32 },
	[PCMIG_A_STATS] = { .type = NLA_NESTED },
	[PCMIG_A_SESSIONS_MAX] = { .type = NLA_U32 },
	[PCMIG_A_VM_FD] = { .type = NLA_U32 },
	[PCMIG_A_RAM_SIZE] = { .type = NLA_U64 },
	[PCMIG_A_STOP_REQUESTED] = { .type = NLA_FLAG },
	[PCMIG_A_RESUME_REQUESTED] = { .type = NLA_FLAG },
	[PCMIG_A_GUEST_AT] = { .type = NLA_U32 },
};

static const struct nla_policy stat_policy[PCMIG_STAT_MAX + 1] = {
	[PCMIG_STAT_BYTES_SENT] = { .type = NLA_U64 },
	[PCMIG_STAT_BYTES_RECEIVED] = { .type = NLA_U64 },
	[PCMIG_STAT_BYTES_REMAINING] = { .type = NLA_U64 },
	[PCMIG_STAT_BANDWIDTH] = { .type = NLA_U64 },
	[PCMIG_STAT_PASSES] = { .type = NLA_U32 },
	[PCMIG_STAT_ELAPSED_MS] = { .type = NLA_U64 },
	[PCMIG_STAT_DOWNTIME_MS] = { .type = NLA_U64 },
	[PCMIG_STAT_EXPECTED_DOWNTIME_MS] = { .type = NLA_U64 },
	[PCMIG_STAT_BITMAPS_DONE] = { .type = NLA_U32 },
	[PCMIG_STAT_BITMAPS_FAILED] = { .type = NLA_U32 },
	[PCMIG_STAT_PAGES_SENT] = { .type = NLA_U64 },
	[PCMIG_STAT_ZERO_PAGES] = { .type = NLA_U64 },
	[PCMIG_STAT_DIRTY_PAGES] = { .type = NLA_U64 },
	[PCMIG_STAT_DIRTY_RATE] = { .type = NLA_U64 },
	[PCMIG_STAT_NOT_CONVERGING] = { .type = NLA_U32 },
	[PCMIG_STAT_PC_REQUESTS] = { .type = NLA_U64 },
	[PCMIG_STAT_PC_PAGES_REQUESTED] = { .type = NLA_U64 },
	[PCMIG_STAT_PC_PAGES_BACKGROUND] = { .type = NLA_U64 },
	[PCMIG_STAT_PC_DUP_REQUESTS] = { .type = NLA_U64 },
	[PCMIG_STAT_PC_FAULTS] = { .type = NLA_U64 },
	[PCMIG_STAT_PC_LATENCY_P50_US] = { .type = NLA_U64 },
	[PCMIG_STAT_PC_LATENCY_P99_US] = { .type = NLA_U64 },
	[PCMIG_STAT_PC_LATENCY_MAX_US] = { .type = NLA_U64 },
	[PCMIG_STAT_PC_THREAD] = { .type = NLA_NESTED },
};

static const struct nla_policy pct_policy[PCMIG_PCT_MAX + 1] = {
	[PCMIG_PCT_TID] = { .type = NLA_U32 },
	[PCMIG_PCT_FAULTS] = { .type = NLA_U64 },
	[PCMIG_PCT_BLOCKED_US] = { .type = NLA_U64 },
	[PCMIG_PCT_NAME] = { .type = NLA_NUL_STRING, .maxlen = 15 },
};

/* The counters among the stats; the others are u64 (or nests). */
static bool stat_is_u32(int stat)
{
	return stat == PCMIG_STAT_PASSES || stat == PCMIG_STAT_BITMAPS_DONE ||
	       stat == PCMIG_STAT_BITMAPS_FAILED ||
	       stat == PCMIG_STAT_NOT_CONVERGING;
}

/* 64-bit presence masks must cover every attribute. */
_Static_assert(PCMIG_A_MAX < 64 && PCMIG_STAT_MAX < 64, "presence masks");

/*
 * PCMIG_STAT_PC_THREAD is repeated, which nla_parse_nested() reduces to the
 * last one: walk the nest for all of them.  A field left out reads 0.
 */
static int parse_pc_threads(struct nlattr *nest, struct pcmig_session *s)
{
	struct nlattr *a, *tb[PCMIG_PCT_MAX + 1];
	int rem;

	nla_for_each_nested(a, nest, rem) {
		struct session_pc_thread *t;

		if (nla_type(a) != PCMIG_STAT_PC_THREAD)
			continue;
		if (nla_parse_nested(tb, PCMIG_PCT_MAX, a, pct_policy) < 0)
			return -EBADMSG;
		s->pc_threads_total++;
		if (s->pc_threads == SESSION_PC_THREADS_MAX)
			continue;
		t = &s->pc_thread[s->pc_threads++];
		if (tb[PCMIG_PCT_TID])
			t->tid = nla_get_u32(tb[PCMIG_PCT_TID]);
		if (tb[PCMIG_PCT_FAULTS])
			t->faults = nla_get_u64(tb[PCMIG_PCT_FAULTS]);
		if (tb[PCMIG_PCT_BLOCKED_US])
			t->blocked_us = nla_get_u64(tb[PCMIG_PCT_BLOCKED_US]);
		if (tb[PCMIG_PCT_NAME])
			snprintf(t->name, sizeof(t->name), "%s",
				 nla_get_string(tb[PCMIG_PCT_NAME]));
	}
	return 0;
}

static int parse_stats(struct nlattr *nest, struct pcmig_session *s)
{
	struct nlattr *tb[PCMIG_STAT_MAX + 1];

	if (nla_parse_nested(tb, PCMIG_STAT_MAX, nest, stat_policy) < 0)
		return -EBADMSG;
	for (int i = PCMIG_STAT_BYTES_SENT; i <= PCMIG_STAT_MAX; i++) {
		if (!tb[i])
			continue;
		s->stats_has |= 1ULL << i;
		if (i == PCMIG_STAT_PC_THREAD)
			continue;
		s->stats[i] = stat_is_u32(i) ? nla_get_u32(tb[i]) :
					       nla_get_u64(tb[i]);
	}
	if (tb[PCMIG_STAT_PC_THREAD])
		return parse_pc_threads(nest, s);
	return 0;
}

int session_from_msg(struct nl_msg *msg, struct pcmig_session *s)
{
	struct nlattr *tb[PCMIG_A_MAX + 1];

	memset(s, 0, sizeof(*s));
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, PCMIG_A_MAX, attr_policy) < 0 ||
	    !tb[PCMIG_A_SESSION_ID])
		return -EBADMSG;
	for (int i = 0; i <= PCMIG_A_MAX; i++)
		if (tb[i])
			s->has |= 1ULL << i;

	s->id = nla_get_u32(tb[PCMIG_A_SESSION_ID]);
	if (tb[PCMIG_A_EVENT])
		s->event = nla_get_u32(tb[PCMIG_A_EVENT]);
	if (tb[PCMIG_A_ROLE])
		s->role = nla_get_u32(tb[PCMIG_A_ROLE]);
	if (tb[PCMIG_A_PHASE])
		s->phase = nla_get_u32(tb[PCMIG_A_PHASE]);
	if (tb[PCMIG_A_CAPS])
		s->caps = nla_get_u32(tb[PCMIG_A_CAPS]);
	if (tb[PCMIG_A_DOWNTIME_LIMIT])
		s->downtime_limit = nla_get_u32(tb[PCMIG_A_DOWNTIME_LIMIT]);
	if (tb[PCMIG_A_MAX_BANDWIDTH])
		s->max_bandwidth = nla_get_u64(tb[PCMIG_A_MAX_BANDWIDTH]);
	if (tb[PCMIG_A_MAX_POSTCOPY_BANDWIDTH])
		s->max_postcopy_bandwidth =
			nla_get_u64(tb[PCMIG_A_MAX_POSTCOPY_BANDWIDTH]);
	if (tb[PCMIG_A_DEVSTATE_SIZE])
		s->devstate_size = nla_get_u64(tb[PCMIG_A_DEVSTATE_SIZE]);
	if (tb[PCMIG_A_RAM_SIZE])
		s->ram_size = nla_get_u64(tb[PCMIG_A_RAM_SIZE]);
	s->postcopy_requested = tb[PCMIG_A_POSTCOPY_REQUESTED] != NULL;
	s->stop_requested = tb[PCMIG_A_STOP_REQUESTED] != NULL;
	s->resume_requested = tb[PCMIG_A_RESUME_REQUESTED] != NULL;
	if (tb[PCMIG_A_GUEST_AT])
		s->guest_at = nla_get_u32(tb[PCMIG_A_GUEST_AT]);
	if (tb[PCMIG_A_REASON])
		nla_strlcpy(s->reason, tb[PCMIG_A_REASON], sizeof(s->reason));
	if (tb[PCMIG_A_STATS])
		return parse_stats(tb[PCMIG_A_STATS], s);
	return 0;
}

int info_from_msg(struct nl_msg *msg, struct pcmig_info *info)
{
	struct nlattr *tb[PCMIG_A_MAX + 1];

	memset(info, 0, sizeof(*info));
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, PCMIG_A_MAX, attr_policy) < 0 ||
	    !tb[PCMIG_A_VERSION] || !tb[PCMIG_A_STREAM_VERSION] ||
	    !tb[PCMIG_A_CAPS_SUPPORTED])
		return -EBADMSG;
	info->version = nla_get_u32(tb[PCMIG_A_VERSION]);
	info->stream_version = nla_get_u32(tb[PCMIG_A_STREAM_VERSION]);
	info->caps_supported = nla_get_u32(tb[PCMIG_A_CAPS_SUPPORTED]);
	if (tb[PCMIG_A_SESSIONS_MAX])
		info->sessions_max = nla_get_u32(tb[PCMIG_A_SESSIONS_MAX]);
	return 0;
}

bool session_not_converging(const struct pcmig_session *s)
{
	return SESSION_HAS_STAT(s, PCMIG_STAT_NOT_CONVERGING) &&
	       s->stats[PCMIG_STAT_NOT_CONVERGING];
}

bool session_has_postcopy_ram(const struct pcmig_session *s)
{
	return SESSION_HAS(s, PCMIG_A_CAPS) &&
	       (s->caps & (1U << PCMIG_CAP_POSTCOPY_RAM)) &&
	       SESSION_HAS(s, PCMIG_A_STATS);
}

/* Name of an enum value, or its number for values newer than pcmigd. */
static const char *name_or_num(const char *name, uint32_t v, char buf[16])
{
	if (name)
		return name;
	snprintf(buf, 16, "%" PRIu32, v);
	return buf;
}

void session_print_brief(FILE *f, const struct pcmig_session *s)
{
	char rb[16], pb[16];

	fprintf(f, "session %" PRIu32, s->id);
	if (SESSION_HAS(s, PCMIG_A_ROLE))
		fprintf(f, " %s", name_or_num(role_name(s->role), s->role, rb));
	if (SESSION_HAS(s, PCMIG_A_PHASE))
		fprintf(f, " %s",
			name_or_num(phase_name(s->phase), s->phase, pb));
	if (session_not_converging(s))
		fprintf(f, " (not converging)");
	if (s->reason[0])
		fprintf(f, ": %s", s->reason);
}

static void print_stat_bytes(FILE *f, const struct pcmig_session *s, int stat,
			     const char *label)
{
	char b[UNITS_LEN];

	if (SESSION_HAS_STAT(s, stat))
		fprintf(f, "  %-23s %s (%" PRIu64 ")\n", label,
			fmt_bytes(s->stats[stat], b), s->stats[stat]);
}

static void print_stat_count(FILE *f, const struct pcmig_session *s,
			     int stat, const char *label)
{
	if (SESSION_HAS_STAT(s, stat))
		fprintf(f, "  %-23s %" PRIu64 "\n", label, s->stats[stat]);
}

static void print_stat_ms(FILE *f, const struct pcmig_session *s, int stat,
			  const char *label)
{
	char b[UNITS_LEN];

	if (SESSION_HAS_STAT(s, stat))
		fprintf(f, "  %-23s %s\n", label, fmt_ms(s->stats[stat], b));
}

const char *session_pc_latency(const struct pcmig_session *s, char *buf,
			       size_t len)
{
	static const struct {
		int stat;
		const char *name;
	} q[] = {
		{ PCMIG_STAT_PC_LATENCY_P50_US, "p50" },
		{ PCMIG_STAT_PC_LATENCY_P99_US, "p99" },
		{ PCMIG_STAT_PC_LATENCY_MAX_US, "max" },
	};
	const char *sep = "";
	char b[UNITS_LEN];
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		int n;

		if (!SESSION_HAS_STAT(s, q[i].stat) || used >= len)
			continue;
		n = snprintf(buf + used, len - used, "%s%s %s", sep, q[i].name,
			     fmt_us(s->stats[q[i].stat], b));
		if (n > 0)
			used += (size_t)n;
		sep = ", ";
	}
	return buf[0] ? buf : NULL;
}

/*
 * RAM postcopy: what the module sent of pc-requests, pc-pages-requested,
 * pc-pages-background, pc-dup-requests, pc-faults, "pc-latency: p50 850
 * us, p99 2.1 ms, max 3.0 ms", then "pc-thread TID: 12 faults, blocked
 * 10.2 ms" per thread.
 */
static void print_postcopy(FILE *f, const struct pcmig_session *s)
{
	char b[UNITS_LEN], label[32], lat[SESSION_PC_LATENCY_LEN];

	print_stat_count(f, s, PCMIG_STAT_PC_REQUESTS, "pc-requests:");
	print_stat_count(f, s, PCMIG_STAT_PC_PAGES_REQUESTED,
			 "pc-pages-requested:");
	print_stat_count(f, s, PCMIG_STAT_PC_PAGES_BACKGROUND,
			 "pc-pages-background:");
	print_stat_count(f, s, PCMIG_STAT_PC_DUP_REQUESTS,
			 "pc-dup-requests:");
	print_stat_count(f, s, PCMIG_STAT_PC_FAULTS, "pc-faults:");
	if (session_pc_latency(s, lat, sizeof(lat)))
		fprintf(f, "  %-23s %s\n", "pc-latency:", lat);
	for (uint32_t i = 0; i < s->pc_threads; i++) {
		const struct session_pc_thread *t = &s->pc_thread[i];

		snprintf(label, sizeof(label), "pc-thread %" PRIu32 "%s%s%s:",
			 t->tid, *t->name ? " (" : "", t->name,
			 *t->name ? ")" : "");
		fprintf(f, "  %-23s %" PRIu64 " fault%s, blocked %s\n", label,
			t->faults, t->faults == 1 ? "" : "s",
			fmt_us(t->blocked_us, b));
	}
	if (s->pc_threads_total > s->pc_threads)
		fprintf(f, "  %-23s %" PRIu32 " more, not shown\n",
			"pc-threads:", s->pc_threads_total - s->pc_threads);
}

void session_print(FILE *f, const struct pcmig_session *s)
{
	char b[UNITS_LEN], caps[128];

	session_print_brief(f, s);
	fputc('\n', f);
	if (SESSION_HAS(s, PCMIG_A_CAPS)) {
		caps_format(s->caps, caps, sizeof(caps));
		fprintf(f, "  %-23s %s\n", "caps:", caps);
	}
	if (SESSION_HAS(s, PCMIG_A_MAX_BANDWIDTH))
		fprintf(f, "  %-23s %s\n", "max-bandwidth:",
			fmt_rate(s->max_bandwidth, 1, b));
	if (SESSION_HAS(s, PCMIG_A_DOWNTIME_LIMIT))
		fprintf(f, "  %-23s %" PRIu32 " ms\n", "downtime-limit:",
			s->downtime_limit);
	if (SESSION_HAS(s, PCMIG_A_MAX_POSTCOPY_BANDWIDTH))
		fprintf(f, "  %-23s %s\n", "max-postcopy-bandwidth:",
			fmt_rate(s->max_postcopy_bandwidth, 1, b));
	if (SESSION_HAS(s, PCMIG_A_DEVSTATE_SIZE))
		fprintf(f, "  %-23s %s (%" PRIu64 ")\n", "devstate-size:",
			fmt_bytes(s->devstate_size, b), s->devstate_size);
	fprintf(f, "  %-23s %s\n", "postcopy-requested:",
		s->postcopy_requested ? "yes" : "no");
	if (SESSION_HAS(s, PCMIG_A_RAM_SIZE))
		fprintf(f, "  %-23s %s (%" PRIu64 ")\n", "ram-size:",
			fmt_bytes(s->ram_size, b), s->ram_size);
	if (SESSION_HAS(s, PCMIG_A_RAM_SIZE) || s->stop_requested)
		fprintf(f, "  %-23s %s\n", "stop-requested:",
			s->stop_requested ? "yes" : "no");
	if (SESSION_HAS(s, PCMIG_A_GUEST_AT))
		fprintf(f, "  %-23s %s\n", "guest-at:",
			name_or_num(guest_at_name(s->guest_at), s->guest_at,
				    b));
	print_stat_bytes(f, s, PCMIG_STAT_BYTES_SENT, "bytes-sent:");
	print_stat_bytes(f, s, PCMIG_STAT_BYTES_RECEIVED, "bytes-received:");
	print_stat_bytes(f, s, PCMIG_STAT_BYTES_REMAINING, "bytes-remaining:");
	if (SESSION_HAS_STAT(s, PCMIG_STAT_BANDWIDTH))
		fprintf(f, "  %-23s %s\n", "bandwidth:",
			fmt_rate(s->stats[PCMIG_STAT_BANDWIDTH], 0, b));
	if (SESSION_HAS_STAT(s, PCMIG_STAT_PASSES))
		fprintf(f, "  %-23s %" PRIu64 "\n", "passes:",
			s->stats[PCMIG_STAT_PASSES]);
	print_stat_ms(f, s, PCMIG_STAT_ELAPSED_MS, "elapsed:");
	print_stat_ms(f, s, PCMIG_STAT_DOWNTIME_MS, "downtime:");
	print_stat_ms(f, s, PCMIG_STAT_EXPECTED_DOWNTIME_MS,
		      "expected-downtime:");
	if (SESSION_HAS_STAT(s, PCMIG_STAT_BITMAPS_DONE))
		fprintf(f, "  %-23s %" PRIu64 "\n", "bitmaps-done:",
			s->stats[PCMIG_STAT_BITMAPS_DONE]);
	if (SESSION_HAS_STAT(s, PCMIG_STAT_BITMAPS_FAILED))
		fprintf(f, "  %-23s %" PRIu64 "\n", "bitmaps-failed:",
			s->stats[PCMIG_STAT_BITMAPS_FAILED]);
	print_stat_count(f, s, PCMIG_STAT_PAGES_SENT,
			 s->role == PCMIG_ROLE_DESTINATION ? "pages-received:" :
							     "pages-sent:");
	print_stat_count(f, s, PCMIG_STAT_ZERO_PAGES, "zero-pages:");
	if (s->role != PCMIG_ROLE_DESTINATION) {
		print_stat_count(f, s, PCMIG_STAT_DIRTY_PAGES, "dirty-pages:");
		if (SESSION_HAS_STAT(s, PCMIG_STAT_DIRTY_RATE))
			fprintf(f, "  %-23s %" PRIu64 " pages/s\n", "dirty-rate:",
				s->stats[PCMIG_STAT_DIRTY_RATE]);
	}
	if (SESSION_HAS_STAT(s, PCMIG_STAT_NOT_CONVERGING))
		fprintf(f, "  %-23s %s\n", "not-converging:",
			session_not_converging(s) ?
			"yes (the guest dirties memory faster than a pass sends it)" :
			"no");
	if (session_has_postcopy_ram(s))
		print_postcopy(f, s);
}

static const char *const stat_keys[PCMIG_STAT_MAX + 1] = {
	[PCMIG_STAT_BYTES_SENT] = "bytes_sent",
	[PCMIG_STAT_BYTES_RECEIVED] = "bytes_received",
	[PCMIG_STAT_BYTES_REMAINING] = "bytes_remaining",
	[PCMIG_STAT_BANDWIDTH] = "bandwidth",
	[PCMIG_STAT_PASSES] = "passes",
	[PCMIG_STAT_ELAPSED_MS] = "elapsed_ms",
	[PCMIG_STAT_DOWNTIME_MS] = "downtime_ms",
	[PCMIG_STAT_EXPECTED_DOWNTIME_MS] = "expected_downtime_ms",
	[PCMIG_STAT_BITMAPS_DONE] = "bitmaps_done",
	[PCMIG_STAT_BITMAPS_FAILED] = "bitmaps_failed",
	[PCMIG_STAT_PAGES_SENT] = "pages_sent",
	[PCMIG_STAT_ZERO_PAGES] = "zero_pages",
	[PCMIG_STAT_DIRTY_PAGES] = "dirty_pages",
	[PCMIG_STAT_DIRTY_RATE] = "dirty_rate",
	[PCMIG_STAT_NOT_CONVERGING] = "not_converging",
	/* PCMIG_STAT_PC_*: in "postcopy" (postcopy_json), not in "stats". */
};
/* A stat added to the uapi must get a JSON key here or in postcopy_json. */
_Static_assert(PCMIG_STAT_MAX == PCMIG_STAT_PC_THREAD, "stat keys");

static void json_stat(struct json *j, const struct pcmig_session *s,
		      int stat, const char *key)
{
	if (SESSION_HAS_STAT(s, stat))
		json_u64(j, key, s->stats[stat]);
}

static void postcopy_json(struct json *j, const struct pcmig_session *s)
{
	json_obj_begin(j, "postcopy");
	json_stat(j, s, PCMIG_STAT_PC_REQUESTS, "requests");
	json_stat(j, s, PCMIG_STAT_PC_PAGES_REQUESTED, "pages_requested");
	json_stat(j, s, PCMIG_STAT_PC_PAGES_BACKGROUND, "pages_background");
	json_stat(j, s, PCMIG_STAT_PC_DUP_REQUESTS, "dup_requests");
	json_stat(j, s, PCMIG_STAT_PC_FAULTS, "faults");
	if (SESSION_HAS_STAT(s, PCMIG_STAT_PC_LATENCY_P50_US) ||
	    SESSION_HAS_STAT(s, PCMIG_STAT_PC_LATENCY_P99_US) ||
	    SESSION_HAS_STAT(s, PCMIG_STAT_PC_LATENCY_MAX_US)) {
		json_obj_begin(j, "latency_us");
		json_stat(j, s, PCMIG_STAT_PC_LATENCY_P50_US, "p50");
		json_stat(j, s, PCMIG_STAT_PC_LATENCY_P99_US, "p99");
		json_stat(j, s, PCMIG_STAT_PC_LATENCY_MAX_US, "max");
		json_obj_end(j);
	}
	json_arr_begin(j, "threads");
	for (uint32_t i = 0; i < s->pc_threads; i++) {
		json_obj_begin(j, NULL);
		json_u64(j, "tid", s->pc_thread[i].tid);
		if (*s->pc_thread[i].name)
			json_str(j, "name", s->pc_thread[i].name);
		json_u64(j, "faults", s->pc_thread[i].faults);
		json_u64(j, "blocked_us", s->pc_thread[i].blocked_us);
		json_obj_end(j);
	}
	json_arr_end(j);
	if (s->pc_threads_total > s->pc_threads)
		json_u64(j, "threads_omitted",
			 s->pc_threads_total - s->pc_threads);
	json_obj_end(j);
}

void session_json_members(struct json *j, const struct pcmig_session *s)
{
	char b[16];

	json_u64(j, "id", s->id);
	if (SESSION_HAS(s, PCMIG_A_ROLE))
		json_str(j, "role", name_or_num(role_name(s->role), s->role, b));
	if (SESSION_HAS(s, PCMIG_A_PHASE))
		json_str(j, "phase",
			 name_or_num(phase_name(s->phase), s->phase, b));
	if (SESSION_HAS(s, PCMIG_A_CAPS))
		json_caps(j, "caps", s->caps);
	if (SESSION_HAS(s, PCMIG_A_MAX_BANDWIDTH))
		json_u64(j, "max_bandwidth", s->max_bandwidth);
	if (SESSION_HAS(s, PCMIG_A_DOWNTIME_LIMIT))
		json_u64(j, "downtime_limit", s->downtime_limit);
	if (SESSION_HAS(s, PCMIG_A_MAX_POSTCOPY_BANDWIDTH))
		json_u64(j, "max_postcopy_bandwidth",
			 s->max_postcopy_bandwidth);
	if (SESSION_HAS(s, PCMIG_A_DEVSTATE_SIZE))
		json_u64(j, "devstate_size", s->devstate_size);
	if (SESSION_HAS(s, PCMIG_A_RAM_SIZE))
		json_u64(j, "ram_size", s->ram_size);
	json_bool(j, "postcopy_requested", s->postcopy_requested);
	/* Sessions with a VM only: the others never stop a VMM. */
	if (SESSION_HAS(s, PCMIG_A_RAM_SIZE) || s->stop_requested)
		json_bool(j, "stop_requested", s->stop_requested);
	if (SESSION_HAS(s, PCMIG_A_GUEST_AT))
		json_str(j, "guest_at",
			 name_or_num(guest_at_name(s->guest_at), s->guest_at,
				     b));
	if (SESSION_HAS(s, PCMIG_A_REASON))
		json_str(j, "reason", s->reason);
	if (SESSION_HAS(s, PCMIG_A_STATS)) {
		json_obj_begin(j, "stats");
		for (int i = 0; i <= PCMIG_STAT_MAX; i++)
			if (stat_keys[i] && SESSION_HAS_STAT(s, i))
				json_u64(j, stat_keys[i], s->stats[i]);
		json_obj_end(j);
	}
	if (session_has_postcopy_ram(s))
		postcopy_json(j, s);
}

void session_json(struct json *j, const char *key,
		  const struct pcmig_session *s)
{
	json_obj_begin(j, key);
	session_json_members(j, s);
	json_obj_end(j);
}
