/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMM bridge of migrate/incoming --vmm SOCKET: pcmigd takes the VM fd
 * from the VMM's control socket and attaches it to the session; on the
 * source it answers the module's stop request for the VMM (stop, device
 * state, VM_STOPPED); at the end it quits or resumes the VMM, and on the
 * destination loads the device state into it and resumes it.  Every
 * step and its wording is in Documentation/pcmig/pcmigd.rst ("The VMM
 * bridge").
 */
#ifndef PCMIGD_BRIDGE_H
#define PCMIGD_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "follow.h"
#include "json.h"
#include "nl.h"
#include "session.h"
#include "vmmctl.h"

struct bridge {
	struct vmm vmm;
	uint32_t role;
	pid_t pid;		/* the VMM, in our pid namespace */
	int vm_fd;		/* ours until attached, -1 after */
	bool stop_seen;		/* source: the stop request came */
	bool resume_seen;	/* destination: the resume request came */
	bool stop_sent;		/* source: pcmigd sent "stop" */
	bool stopped;		/* source: the VMM replied "ok stopped" */
	uint64_t devstate_bytes;	/* put (source) or loaded (destination) */
	/* What bridge_attach and bridge_watch learned of the session. */
	uint32_t session_id;
	uint32_t caps;		/* the session's capabilities */
	/*
	 * What pcmigd did with the VMM at the end: "quit", "quit-failed",
	 * "resumed", "stopped" (resume failed), "running" (never stopped),
	 * "kept-stopped" (source: the guest ran, or may have run, on the
	 * destination in RAM postcopy, then the migration failed); NULL
	 * before the end.
	 */
	const char *outcome;
	int exit_code;		/* EXIT_OK, or the code of the failed step */
	char error[768];	/* the first failure, "" if none */
};

/*
 * Connects to the control socket and takes the VM fd (vmfd +
 * pidfd_getfd).  role: PCMIG_ROLE_*.  Exit code (EXIT_VMM), error printed.
 */
int bridge_open(struct bridge *b, const char *path, uint32_t role);
void bridge_close(struct bridge *b);

/* VM_ATTACH to session id, then our fd is closed.  Exit code. */
int bridge_attach(struct bridge *b, struct pcnl *req, uint32_t id);

/*
 * Source, at the stop request: "stop", "devstate FILE", DEVSTATE_PUT of
 * FILE, VM_STOPPED.  Exit code; on failure the error is printed and
 * recorded (the caller cancels the session).  Matches
 * follow_hooks.stop_request (arg is the bridge).
 */
int bridge_stop_request(void *arg, struct pcnl *req, uint32_t id);

/*
 * Destination, at the resume request: DEVSTATE_GET, "load-devstate FILE",
 * "resume", VM_RESUMED (the source completes only then).  Exit code; on
 * failure the caller cancels the session, which fails the source, whose
 * VMM keeps the guest.  Matches follow_hooks.resume_request.
 */
int bridge_resume_request(void *arg, struct pcnl *req, uint32_t id);

/*
 * follow_hooks.watch part: keeps the session's capabilities, for
 * bridge_end().
 */
void bridge_watch(struct bridge *b, const struct pcmig_session *s,
		  const struct follow_news *news);

/*
 * Once the session ended (s final, or NULL when following it failed; req
 * then asks the module), by where the guest runs (PCMIG_A_GUEST_AT):
 * source: "quit" after completed.  Else, if pcmigd stopped the VM:
 * "resume" if the guest is here (the destination never resumed it, or
 * no postcopy was possible); "quit" if the destination resumed it
 * without postcopy-ram (it had all the state); otherwise nothing: the
 * guest ran or may have run on the destination and its stopped state
 * stays here for recovery ("kept-stopped", exit status 1 as for any
 * failure).
 * destination: nothing if it completed with the VM resumed, or resumed
 * at the switch to postcopy without postcopy-ram (bitmaps were still
 * coming); else "quit" (with postcopy-ram its state is incomplete).
 */
void bridge_end(struct bridge *b, struct pcnl *req,
		const struct pcmig_session *s);

/* "vmm": {...} for the final JSON of migrate/incoming. */
void bridge_json(const struct bridge *b, struct json *j);

#endif
