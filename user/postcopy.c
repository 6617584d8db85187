// SPDX-License-Identifier: GPL-2.0
/* migrate --postcopy-after (see postcopy.h). */
#include <stdio.h>

#include "ops.h"
#include "output.h"
#include "postcopy.h"
#include "units.h"

bool pc_policy_due(const struct postcopy_policy *p,
		   const struct pcmig_session *s, int64_t elapsed_ms,
		   char *why, size_t len)
{
	char b[UNITS_LEN];
	uint64_t passes;

	if (s->postcopy_requested ||
	    (s->phase != PCMIG_PHASE_SETUP && s->phase != PCMIG_PHASE_PRECOPY))
		return false;
	switch (p->when) {
	case PC_AFTER_PASSES:
		passes = SESSION_HAS_STAT(s, PCMIG_STAT_PASSES) ?
			 s->stats[PCMIG_STAT_PASSES] : 0;
		if (passes < p->passes)
			return false;
		snprintf(why, len, "%llu pass%s done",
			 (unsigned long long)passes, passes == 1 ? "" : "es");
		return true;
	case PC_AFTER_SECONDS:
		if (elapsed_ms < 0 || (uint64_t)elapsed_ms < p->ms)
			return false;
		snprintf(why, len, "%s s elapsed", fmt_secs(p->ms, b));
		return true;
	case PC_AFTER_AUTO:
		if (!session_not_converging(s))
			return false;
		snprintf(why, len, "not converging");
		return true;
	default:
		return false;
	}
}

void pc_switch_watch(struct pc_switch *w, struct progress *p,
		     struct pcnl *req, const struct pcmig_session *s,
		     struct follow_news *news)
{
	int64_t elapsed = news->now_ms - w->start_ms;
	int64_t at = w->start_ms + (int64_t)w->policy.ms;
	char msg[PCNL_EXTACK_LEN + 32];
	int ret;

	if (w->fired || w->over || w->policy.when == PC_AFTER_NEVER ||
	    news->cancelled)
		return;
	/* Past precopy, or requested by someone else: too late for us. */
	if (s->postcopy_requested || s->phase > PCMIG_PHASE_PRECOPY) {
		w->over = true;
		return;
	}
	if (!pc_policy_due(&w->policy, s, elapsed, w->why, sizeof(w->why))) {
		if (w->policy.when == PC_AFTER_SECONDS && at < news->wake_ms)
			news->wake_ms = at;
		return;
	}
	w->fired = true;
	w->fired_ms = elapsed;
	progress_end(p);
	info("switching to postcopy: %s", w->why);
	ret = op_session_cmd(req, PCMIG_CMD_START_POSTCOPY, s->id);
	if (!ret)
		return;
	pcnl_describe(req, ret, msg, sizeof(msg));
	snprintf(w->error, sizeof(w->error), "START_POSTCOPY: %s", msg);
	error("warning: %s: the migration goes on as it is", w->error);
}

void pc_switch_json(const struct pc_switch *w, struct json *j)
{
	char b[32];

	json_obj_begin(j, "postcopy_after");
	json_str(j, "policy", postcopy_policy_str(&w->policy, b, sizeof(b)));
	json_bool(j, "fired", w->fired);
	if (w->fired) {
		json_str(j, "reason", w->why);
		json_u64(j, "elapsed_ms",
			 w->fired_ms > 0 ? (uint64_t)w->fired_ms : 0);
	}
	if (w->error[0])
		json_str(j, "error", w->error);
	json_obj_end(j);
}
