/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Following one session through its multicast events until it ends, with
 * progress shown and SIGINT/SIGTERM turned into a CANCEL.
 */
#ifndef PCMIGD_FOLLOW_H
#define PCMIGD_FOLLOW_H

#include <signal.h>

#include "nl.h"
#include "progress.h"
#include "session.h"

/*
 * Without events for this long, ask the kernel (SESSION_GET): multicast
 * delivery is best effort, a lost phase event must not hang pcmigd.
 */
#define FOLLOW_RESYNC_MS 2000

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
