/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Following one session through its multicast events until it ends, with
 * progress shown and SIGINT/SIGTERM turned into a CANCEL.
 */
#ifndef PCMIGD_FOLLOW_H
#define PCMIGD_FOLLOW_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "nl.h"
#include "progress.h"
#include "session.h"

/*
 * Without events for this long, ask the kernel (SESSION_GET): multicast
 * delivery is best effort, a lost phase event must not hang pcmigd.
 */
#define FOLLOW_RESYNC_MS 2000

/* How follow_hooks.watch learned of the state it is given. */
enum follow_how {
	FOLLOW_EVENT,		/* an event of the session */
	FOLLOW_GET,		/* SESSION_GET: events may have been missed */
	FOLLOW_TIMER,		/* wake_ms passed: the last state again */
};

struct follow_news {
	enum follow_how how;
	bool cancelled;		/* pcmigd sent CANCEL (signal or failed hook) */
	int64_t now_ms;		/* monotonic (now_ms()) */
	/*
	 * In/out: when to call the hook again without news (INT64_MAX:
	 * never).  Reset to INT64_MAX before a FOLLOW_TIMER call.
	 */
	int64_t wake_ms;
};

/* What the follower does besides showing progress; all optional. */
struct follow_hooks {
	/*
	 * The source asks the VMM to stop (PCMIG_EVENT_STOP_REQUEST, or the
	 * flag PCMIG_A_STOP_REQUESTED seen in the session after a resync):
	 * called once per session, never after a CANCEL was sent.  Returns
	 * EXIT_OK, or an exit code with the error reported: the session is
	 * then cancelled and followed to its end.
	 */
	int (*stop_request)(void *arg, struct pcnl *req, uint32_t id);
	/*
	 * The destination asks the VMM to resume (PCMIG_EVENT_RESUME_REQUEST
	 * or the flag PCMIG_A_RESUME_REQUESTED): the same rules.
	 */
	int (*resume_request)(void *arg, struct pcnl *req, uint32_t id);
	void *arg;
	/*
	 * Every state of the session as it is learned (in order, the end
	 * included), and at news->wake_ms: to act on statistics or keep
	 * track of the phases.  It cannot fail the following.
	 */
	void (*watch)(void *arg, struct pcnl *req,
		      const struct pcmig_session *s, struct follow_news *news);
	void *watch_arg;
};

/*
 * Waits until session id reaches completed, failed or cancelled; *s then
 * holds its final state.  The first SIGINT/SIGTERM cancels the session and
 * keeps waiting, a second one gives up at once.  hooks may be NULL.
 * Returns EXIT_OK when *s is final, else an exit code (the error already
 * printed).
 */
int follow_session(struct pcnl *req, struct pcnl *ev, uint32_t id,
		   struct progress *p, struct pcmig_session *s,
		   const struct follow_hooks *hooks);

/*
 * signalfd for SIGINT and SIGTERM, which are blocked so they arrive only
 * there; -1 with errno on failure.  Restore the mask with signals_restore.
 */
int signals_catch(sigset_t *old);
void signals_restore(int sfd, const sigset_t *old);

#endif
