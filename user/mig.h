/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Steps shared by `migrate` and `incoming` once they hold a TCP connection:
 * negotiate, create the session, hand the socket to the kernel, start and
 * follow it, report the result.
 */
#ifndef PCMIGD_MIG_H
#define PCMIGD_MIG_H

#include <stdbool.h>
#include <stddef.h>

#include "bridge.h"
#include "hello.h"
#include "nl.h"
#include "ops.h"
#include "postcopy.h"
#include "progress.h"
#include "session.h"

#define MIG_DEFAULT_TIMEOUT_S 10

struct mig {
	struct pcnl req;		/* owns the session: open until the end */
	struct pcnl ev;			/* events group */
	bool ev_open;
	struct pcmig_info info;
	struct hello local;
	struct hello peer;
	bool json, verbose;
	int timeout_ms;			/* negotiation bound */
	struct progress progress;
	struct bridge *vmm;		/* --vmm: &bridge; NULL without */
	struct bridge bridge;		/* opened by mig_open() with --vmm */
	struct pc_switch pcs;		/* migrate --postcopy-after */
};

/*
 * Opens the request socket, asks GET_INFO and checks that the module
 * supports the capabilities asked for; fills m->local.  With vmm_path
 * (--vmm), then takes the VM of that VMM: bridge_open() into m->vmm.
 * Exit code; mig_close() is due even when it fails.
 */
int mig_open(struct mig *m, const struct session_params *p,
	     const char *vmm_path);
/* Closes m->vmm's bridge and the netlink sockets. */
void mig_close(struct mig *m);

/*
 * Runs the negotiation on fd and prints its outcome, then SESSION_NEW
 * with p, VM_ATTACH of m->vmm's VM, DEVSTATE_PUT of devstate (source),
 * SOCK_ATTACH of fd (always closed here: the kernel holds its own
 * reference), START, then follows the session to its end (with m->vmm:
 * answering the stop request on the source), and with m->vmm once
 * started, bridge_end().  Exit code; *s is the final state.
 */
int mig_run(struct mig *m, const struct session_params *p, int fd,
	    const void *devstate, size_t devstate_len,
	    struct pcmig_session *s);

/*
 * Summary line or JSON document, with postcopy-ram the postcopy
 * statistics ("postcopy: ..." and a line per VMM thread that waited, or
 * "postcopy" in the JSON) and on the source the --postcopy-after outcome
 * ("postcopy_after" in the JSON).  EXIT_OK only if the session completed,
 * else EXIT_MIGRATION, or the exit code of a failed step of m->vmm.
 */
int mig_report(struct mig *m, const struct pcmig_session *s);

#endif
