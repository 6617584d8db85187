// SPDX-License-Identifier: GPL-2.0
/*
 * RAM postcopy on the pcmigd side: --postcopy-after parsing and decisions,
 * the PC_* statistics parsed from netlink and rendered as text and JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include <linux/pcmig.h>

#include "json.h"
#include "opts.h"
#include "postcopy.h"
#include "progress.h"
#include "session.h"
#include "tap.h"
#include "units.h"

static void policy_ok(const char *s, enum postcopy_after when, uint64_t n,
		      const char *canon)
{
	struct postcopy_policy p = { .when = PC_AFTER_AUTO, .passes = 7 };
	char err[256] = "", b[64];
	int ret = parse_postcopy_after(s, &p, err, sizeof(err));
	uint64_t got = when == PC_AFTER_SECONDS ? p.ms : p.passes;

	if (!tap_ok(!ret && p.when == when &&
		    (when == PC_AFTER_NEVER || when == PC_AFTER_AUTO ||
		     got == n) &&
		    !strcmp(postcopy_policy_str(&p, b, sizeof(b)), canon),
		    "parse_postcopy_after(\"%s\") = %s", s, canon))
		tap_diag("ret %d when %d n %llu str %s err %s", ret, p.when,
			 (unsigned long long)got, b, err);
}

static void policy_bad(const char *s, int want, const char *msg)
{
	struct postcopy_policy p = { .when = PC_AFTER_PASSES, .passes = 7 };
	char err[256] = "";
	int ret = parse_postcopy_after(s, &p, err, sizeof(err));

	if (!tap_ok(ret == want && p.when == PC_AFTER_PASSES &&
		    p.passes == 7 && strstr(err, msg),
		    "parse_postcopy_after(\"%s\") fails: %s", s, msg))
		tap_diag("ret %d err '%s'", ret, err);
}

static void test_parse(void)
{
	char b[UNITS_LEN];

	policy_ok("never", PC_AFTER_NEVER, 0, "never");
	policy_ok("auto", PC_AFTER_AUTO, 0, "auto");
	policy_ok("passes:0", PC_AFTER_PASSES, 0, "passes:0");
	policy_ok("passes:3", PC_AFTER_PASSES, 3, "passes:3");
	policy_ok("passes:4294967295", PC_AFTER_PASSES, 4294967295ULL,
		  "passes:4294967295");
	policy_ok("seconds:0", PC_AFTER_SECONDS, 0, "seconds:0");
	policy_ok("seconds:5", PC_AFTER_SECONDS, 5000, "seconds:5");
	policy_ok("seconds:2.5", PC_AFTER_SECONDS, 2500, "seconds:2.5");
	policy_ok("seconds:0.125", PC_AFTER_SECONDS, 125, "seconds:0.125");
	policy_ok("seconds:1.50", PC_AFTER_SECONDS, 1500, "seconds:1.5");
	policy_ok("seconds:1000000", PC_AFTER_SECONDS, 1000000000ULL,
		  "seconds:1000000");

	policy_bad("", -EINVAL, "'' is not a policy (never, passes:N, seconds:T or auto)");
	policy_bad("sometimes", -EINVAL, "is not a policy (never, passes:N, seconds:T or auto)");
	policy_bad("Never", -EINVAL, "is not a policy");
	policy_bad("passes", -EINVAL, "is not a policy");
	policy_bad("passes:", -EINVAL, "N of passes:N is not a whole number");
	policy_bad("passes:x", -EINVAL, "N of passes:N is not a whole number");
	policy_bad("passes:-1", -EINVAL, "not a whole number");
	policy_bad("passes:1.5", -EINVAL, "not a whole number");
	policy_bad("passes:4294967296", -ERANGE, "N of passes:N is too large");
	policy_bad("seconds:", -EINVAL, "T of seconds:T is not a number of seconds");
	policy_bad("seconds:x", -EINVAL, "not a number of seconds");
	policy_bad("seconds:-1", -EINVAL, "not a number of seconds");
	policy_bad("seconds:.5", -EINVAL, "not a number of seconds");
	policy_bad("seconds:1.", -EINVAL, "not a number of seconds");
	policy_bad("seconds:1.2345", -EINVAL, "at most 3 decimals");
	policy_bad("seconds:5s", -EINVAL, "not a number of seconds");
	policy_bad("seconds:1000000.001", -ERANGE, "out of range (0 to 1000000)");
	policy_bad("seconds:99999999999999999999", -ERANGE, "out of range");
	policy_bad("auto:1", -EINVAL, "is not a policy");

	tap_ok(!strcmp(fmt_secs(0, b), "0") &&
	       !strcmp(fmt_secs(10000, b), "10") &&
	       !strcmp(fmt_secs(100, b), "0.1") &&
	       !strcmp(fmt_secs(1050, b), "1.05"), "fmt_secs");
	tap_ok(!strcmp(fmt_us(850, b), "850 us") &&
	       !strcmp(fmt_us(2100, b), "2.1 ms") &&
	       !strcmp(fmt_us(12300000, b), "12.3 s"), "fmt_us");
}

static void due(const struct postcopy_policy *p, const struct pcmig_session *s,
		int64_t elapsed, const char *want, const char *what)
{
	char why[PC_SWITCH_WHY_LEN] = "";
	bool d = pc_policy_due(p, s, elapsed, why, sizeof(why));

	if (!tap_ok(want ? d && !strcmp(why, want) : !d, "policy: %s", what))
		tap_diag("due %d why '%s'", d, why);
}

static void test_due(void)
{
	struct pcmig_session s = {
		.id = 1, .role = PCMIG_ROLE_SOURCE,
		.phase = PCMIG_PHASE_PRECOPY,
	};
	struct postcopy_policy p = { .when = PC_AFTER_NEVER };

	s.has = 1ULL << PCMIG_A_PHASE | 1ULL << PCMIG_A_STATS;
	due(&p, &s, 100000, NULL, "never: never due");
	p = (struct postcopy_policy){ .when = PC_AFTER_PASSES };
	due(&p, &s, 0, "0 passes done", "passes:0 at once, no stats yet");
	p.passes = 3;
	s.stats_has = 1ULL << PCMIG_STAT_PASSES;
	s.stats[PCMIG_STAT_PASSES] = 2;
	due(&p, &s, 0, NULL, "passes:3 after 2 passes: not yet");
	s.stats[PCMIG_STAT_PASSES] = 3;
	due(&p, &s, 0, "3 passes done", "passes:3 after 3 passes");
	p.passes = 1;
	s.stats[PCMIG_STAT_PASSES] = 1;
	due(&p, &s, 0, "1 pass done", "passes:1: singular");
	s.phase = PCMIG_PHASE_STOPPED;
	due(&p, &s, 0, NULL, "not in the stopped phase");
	s.phase = PCMIG_PHASE_FAILED;
	due(&p, &s, 0, NULL, "not once ended");
	s.phase = PCMIG_PHASE_PRECOPY;
	s.postcopy_requested = true;
	due(&p, &s, 0, NULL, "not once start-postcopy was issued elsewhere");
	s.postcopy_requested = false;

	p = (struct postcopy_policy){ .when = PC_AFTER_SECONDS, .ms = 5000 };
	due(&p, &s, 4999, NULL, "seconds:5 at 4.999 s: not yet");
	due(&p, &s, 5000, "5 s elapsed", "seconds:5 at 5 s");
	p.ms = 2500;
	due(&p, &s, 3000, "2.5 s elapsed", "seconds:2.5");
	p.ms = 0;
	due(&p, &s, 0, "0 s elapsed", "seconds:0 at once");

	p = (struct postcopy_policy){ .when = PC_AFTER_AUTO };
	due(&p, &s, 0, NULL, "auto without not-converging stat");
	s.stats_has |= 1ULL << PCMIG_STAT_NOT_CONVERGING;
	s.stats[PCMIG_STAT_NOT_CONVERGING] = 0;
	due(&p, &s, 0, NULL, "auto while converging");
	s.stats[PCMIG_STAT_NOT_CONVERGING] = 1;
	due(&p, &s, 0, "not converging", "auto when not converging");
}

/* A destination session with postcopy-ram and every PC_* statistic. */
static struct nl_msg *pc_msg(uint32_t caps, int threads)
{
	/* Room for SESSION_PC_THREADS_MAX and more. */
	struct nl_msg *msg = nlmsg_alloc_size(1 << 16);
	struct nlattr *nest, *t;

	genlmsg_put(msg, 0, 0, 42, 0, 0, PCMIG_CMD_SESSION_GET, 1);
	nla_put_u32(msg, PCMIG_A_SESSION_ID, 9);
	nla_put_u32(msg, PCMIG_A_ROLE, PCMIG_ROLE_DESTINATION);
	nla_put_u32(msg, PCMIG_A_PHASE, PCMIG_PHASE_COMPLETED);
	nla_put_u32(msg, PCMIG_A_CAPS, caps);
	nest = nla_nest_start(msg, PCMIG_A_STATS);
	nla_put_u64(msg, PCMIG_STAT_BYTES_RECEIVED, 4096);
	nla_put_u64(msg, PCMIG_STAT_PC_REQUESTS, 120);
	nla_put_u64(msg, PCMIG_STAT_PC_PAGES_REQUESTED, 340);
	nla_put_u64(msg, PCMIG_STAT_PC_PAGES_BACKGROUND, 16000);
	nla_put_u64(msg, PCMIG_STAT_PC_FAULTS, 12);
	nla_put_u64(msg, PCMIG_STAT_PC_LATENCY_P50_US, 850);
	nla_put_u64(msg, PCMIG_STAT_PC_LATENCY_P99_US, 2100);
	nla_put_u64(msg, PCMIG_STAT_PC_LATENCY_MAX_US, 3000);
	for (int i = 0; i < threads; i++) {
		t = nla_nest_start(msg, PCMIG_STAT_PC_THREAD);
		nla_put_u32(msg, PCMIG_PCT_TID, 4242 + (uint32_t)i);
		nla_put_u64(msg, PCMIG_PCT_FAULTS, i ? 1 : 12);
		nla_put_u64(msg, PCMIG_PCT_BLOCKED_US, i ? 500 : 10200);
		/* A field from a newer module is ignored. */
		nla_put_u32(msg, PCMIG_PCT_MAX + 3, 1);
		nla_nest_end(msg, t);
	}
	nla_nest_end(msg, nest);
	return msg;
}

static char *render_json(const struct pcmig_session *s)
{
	char *out = NULL;
	size_t len;
	struct json j;
	FILE *f = open_memstream(&out, &len);

	json_init(&j, f);
	session_json(&j, NULL, s);
	json_done(&j);
	fclose(f);
	return out;
}

static char *render_text(const struct pcmig_session *s)
{
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	session_print(f, s);
	fclose(f);
	return out;
}

static void test_stats(void)
{
	static struct pcmig_session s;
	struct nl_msg *msg = pc_msg(1U << PCMIG_CAP_POSTCOPY_RAM, 2);
	char line[PROGRESS_LINE_MAX], *out;
	struct nlattr *nest;

	tap_ok(!session_from_msg(msg, &s) &&
	       s.stats[PCMIG_STAT_PC_REQUESTS] == 120 &&
	       s.stats[PCMIG_STAT_PC_LATENCY_MAX_US] == 3000 &&
	       SESSION_HAS_STAT(&s, PCMIG_STAT_PC_THREAD) &&
	       s.pc_threads == 2 && s.pc_threads_total == 2 &&
	       s.pc_thread[0].tid == 4242 && s.pc_thread[0].faults == 12 &&
	       s.pc_thread[0].blocked_us == 10200 &&
	       s.pc_thread[1].tid == 4243 && s.pc_thread[1].blocked_us == 500 &&
	       session_has_postcopy_ram(&s),
	       "PC_* stats and repeated PC_THREAD nests parsed");
	nlmsg_free(msg);

	out = render_json(&s);
	if (!tap_ok(strstr(out, "\"stats\":{\"bytes_received\":4096},"
			   "\"postcopy\":{\"requests\":120,"
			   "\"pages_requested\":340,\"pages_background\":16000,"
			   "\"faults\":12,\"latency_us\":{\"p50\":850,"
			   "\"p99\":2100,\"max\":3000},\"threads\":["
			   "{\"tid\":4242,\"faults\":12,\"blocked_us\":10200},"
			   "{\"tid\":4243,\"faults\":1,\"blocked_us\":500}]}}\n") != NULL,
		    "JSON: \"postcopy\" object, PC_* stats not in \"stats\""))
		tap_diag("got %s", out);
	free(out);

	out = render_text(&s);
	if (!tap_ok(strstr(out, "  pc-requests:            120\n"
			   "  pc-pages-requested:     340\n"
			   "  pc-pages-background:    16000\n"
			   "  pc-faults:              12\n"
			   "  pc-latency:             p50 850 us, p99 2.1 ms, max 3.0 ms\n"
			   "  pc-thread 4242:         12 faults, blocked 10.2 ms\n"
			   "  pc-thread 4243:         1 fault, blocked 500 us\n") != NULL,
		    "status text: pc-* lines"))
		tap_diag("got %s", out);
	free(out);

	progress_postcopy(&s, line, sizeof(line));
	if (!tap_ok(!strcmp(line, "postcopy: 120 requests, 340 pages on request, 16000 in the background, 12 faults, latency p50 850 us, p99 2.1 ms, max 3.0 ms"),
		    "summary line (destination)"))
		tap_diag("got %s", line);
	progress_pc_thread(&s.pc_thread[0], line, sizeof(line));
	tap_ok(!strcmp(line, "postcopy thread 4242: 12 faults, blocked 10.2 ms"),
	       "thread line");

	memset(&s, 0, sizeof(s));
	s.has = 1ULL << PCMIG_A_STATS;
	s.stats_has = 1ULL << PCMIG_STAT_PC_REQUESTS |
		      1ULL << PCMIG_STAT_PC_DUP_REQUESTS |
		      1ULL << PCMIG_STAT_PC_PAGES_REQUESTED |
		      1ULL << PCMIG_STAT_PC_PAGES_BACKGROUND;
	s.stats[PCMIG_STAT_PC_REQUESTS] = 1;
	s.stats[PCMIG_STAT_PC_DUP_REQUESTS] = 0;
	s.stats[PCMIG_STAT_PC_PAGES_REQUESTED] = 340;
	s.stats[PCMIG_STAT_PC_PAGES_BACKGROUND] = 16000;
	progress_postcopy(&s, line, sizeof(line));
	if (!tap_ok(!strcmp(line, "postcopy: 1 request (0 duplicate), 340 pages on request, 16000 in the background"),
		    "summary line (source)"))
		tap_diag("got %s", line);
	s.stats_has = 0;
	progress_postcopy(&s, line, sizeof(line));
	tap_ok(!strcmp(line, "postcopy: no statistics"),
	       "summary line without statistics");

	msg = pc_msg(1U << PCMIG_CAP_POSTCOPY_BITMAPS, 1);
	tap_ok(!session_from_msg(msg, &s) && !session_has_postcopy_ram(&s),
	       "without postcopy-ram: no postcopy statistics");
	nlmsg_free(msg);
	out = render_json(&s);
	tap_ok(!strstr(out, "postcopy\":{") && !strstr(out, "latency"),
	       "JSON: no \"postcopy\" without postcopy-ram");
	free(out);
	out = render_text(&s);
	tap_ok(!strstr(out, "pc-"), "text: no pc-* lines without postcopy-ram");
	free(out);

	msg = pc_msg(1U << PCMIG_CAP_POSTCOPY_RAM, SESSION_PC_THREADS_MAX + 2);
	tap_ok(!session_from_msg(msg, &s) &&
	       s.pc_threads == SESSION_PC_THREADS_MAX &&
	       s.pc_threads_total == SESSION_PC_THREADS_MAX + 2,
	       "threads beyond %d are counted, not kept",
	       SESSION_PC_THREADS_MAX);
	nlmsg_free(msg);
	out = render_json(&s);
	tap_ok(strstr(out, "]},\"threads_omitted\":2}") || strstr(out, "}],\"threads_omitted\":2}"),
	       "JSON: threads_omitted");
	free(out);

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, 42, 0, 0, PCMIG_CMD_SESSION_GET, 1);
	nla_put_u32(msg, PCMIG_A_SESSION_ID, 3);
	nest = nla_nest_start(msg, PCMIG_A_STATS);
	nla_put_u32(msg, PCMIG_STAT_PC_FAULTS, 1);	/* u64 expected */
	nla_nest_end(msg, nest);
	tap_ok(session_from_msg(msg, &s) == -EBADMSG,
	       "short pc_faults stat is rejected by the policy");
	nlmsg_free(msg);

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, 42, 0, 0, PCMIG_CMD_SESSION_GET, 1);
	nla_put_u32(msg, PCMIG_A_SESSION_ID, 3);
	nest = nla_nest_start(msg, PCMIG_A_STATS);
	{
		struct nlattr *t = nla_nest_start(msg, PCMIG_STAT_PC_THREAD);

		nla_put_u8(msg, PCMIG_PCT_TID, 1);	/* u32 expected */
		nla_nest_end(msg, t);
	}
	nla_nest_end(msg, nest);
	tap_ok(session_from_msg(msg, &s) == -EBADMSG,
	       "short thread id is rejected by the policy");
	nlmsg_free(msg);
}

static void test_switch_json(void)
{
	struct pc_switch w = {
		.policy = { .when = PC_AFTER_PASSES, .passes = 3 },
	};
	char *out = NULL;
	size_t len;
	struct json j;
	FILE *f = open_memstream(&out, &len);

	json_init(&j, f);
	json_obj_begin(&j, NULL);
	pc_switch_json(&w, &j);
	w.fired = true;
	w.fired_ms = 1234;
	strcpy(w.why, "3 passes done");
	pc_switch_json(&w, &j);
	json_obj_end(&j);
	json_done(&j);
	fclose(f);
	if (!tap_ok(!strcmp(out, "{\"postcopy_after\":{\"policy\":\"passes:3\",\"fired\":false},"
			    "\"postcopy_after\":{\"policy\":\"passes:3\",\"fired\":true,"
			    "\"reason\":\"3 passes done\",\"elapsed_ms\":1234}}\n"),
		    "postcopy_after JSON, before and after firing"))
		tap_diag("got %s", out);
	free(out);
}

/* The paths of pc_switch_watch that send nothing (no netlink needed). */
static void test_switch_watch(void)
{
	struct pc_switch w = {
		.policy = { .when = PC_AFTER_SECONDS, .ms = 5000 },
		.start_ms = 1000,
	};
	struct pcmig_session s = {
		.id = 1, .phase = PCMIG_PHASE_PRECOPY,
		.has = 1ULL << PCMIG_A_PHASE,
	};
	struct follow_news n = {
		.how = FOLLOW_EVENT, .now_ms = 2000, .wake_ms = INT64_MAX,
	};
	struct progress p;

	progress_init(&p, stderr, false, true);
	pc_switch_watch(&w, &p, NULL, &s, &n);
	tap_ok(!w.fired && !w.over && n.wake_ms == 6000,
	       "seconds:5: woken at start + 5 s");
	n.now_ms = 7000;
	n.wake_ms = INT64_MAX;
	s.phase = PCMIG_PHASE_STOPPED;
	pc_switch_watch(&w, &p, NULL, &s, &n);
	tap_ok(!w.fired && w.over && n.wake_ms == INT64_MAX,
	       "stopped before the time: the policy is over, no more wake-ups");

	w = (struct pc_switch){ .policy = { .when = PC_AFTER_AUTO } };
	s.phase = PCMIG_PHASE_PRECOPY;
	s.postcopy_requested = true;
	s.stats_has = 1ULL << PCMIG_STAT_NOT_CONVERGING;
	s.stats[PCMIG_STAT_NOT_CONVERGING] = 1;
	pc_switch_watch(&w, &p, NULL, &s, &n);
	tap_ok(!w.fired && w.over,
	       "auto: start-postcopy issued from another shell first: not again");

	w = (struct pc_switch){ .policy = { .when = PC_AFTER_AUTO } };
	s.postcopy_requested = false;
	n.cancelled = true;
	pc_switch_watch(&w, &p, NULL, &s, &n);
	tap_ok(!w.fired, "auto: nothing once pcmigd cancelled the session");
}

void test_postcopy(void)
{
	test_parse();
	test_due();
	test_stats();
	test_switch_json();
	test_switch_watch();
}
