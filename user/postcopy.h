/* SPDX-License-Identifier: GPL-2.0 */
/*
 * migrate --postcopy-after POLICY: pcmigd itself issues start-postcopy
 * (PCMIG_CMD_START_POSTCOPY) once, when the policy says so, on the
 * session it follows.  `pcmigd start-postcopy` from another shell works
 * regardless.
 */
#ifndef PCMIGD_POSTCOPY_H
#define PCMIGD_POSTCOPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "follow.h"
#include "json.h"
#include "nl.h"
#include "opts.h"
#include "progress.h"
#include "session.h"

#define PC_SWITCH_WHY_LEN 64

struct pc_switch {
	struct postcopy_policy policy;
	int64_t start_ms;	/* monotonic: when START succeeded */
	bool fired;		/* START_POSTCOPY sent (once, refused or not) */
	bool over;		/* past precopy, or requested elsewhere */
	int64_t fired_ms;	/* ms after start */
	char why[PC_SWITCH_WHY_LEN];	/* "3 passes done", ... */
	char error[PCNL_EXTACK_LEN + 64];	/* START_POSTCOPY refused */
};

/*
 * Whether policy p wants the switch now, for s elapsed_ms after START: in
 * the setup or precopy phase only, and never once start-postcopy was
 * issued (by anyone).  If so why says so: "3 passes done", "not
 * converging", "5 s elapsed".
 */
bool pc_policy_due(const struct postcopy_policy *p,
		   const struct pcmig_session *s, int64_t elapsed_ms,
		   char *why, size_t len);

/*
 * follow_hooks.watch part: sends START_POSTCOPY when due, says
 * "switching to postcopy: WHY" (ending p's progress line first) and asks
 * to be woken for seconds:T.  A refusal is a warning: the migration goes
 * on in precopy.
 */
void pc_switch_watch(struct pc_switch *w, struct progress *p,
		     struct pcnl *req, const struct pcmig_session *s,
		     struct follow_news *news);

/*
 * "postcopy_after": {"policy": "passes:3", "fired": true, "reason": "3
 * passes done", "elapsed_ms": N, "error": "..."}; reason and elapsed_ms
 * only when fired, error only when refused.
 */
void pc_switch_json(const struct pc_switch *w, struct json *j);

#endif
