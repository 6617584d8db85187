/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The negotiation exchange on a connected TCP socket (see hello.h for the
 * wire format): both sides send a hello, judge the peer's, send a verdict
 * and read the peer's.  The connection goes to the kernel only when both
 * verdicts accept, so the module never sees a refused socket.
 */
#ifndef PCMIGD_NEGOTIATE_H
#define PCMIGD_NEGOTIATE_H

#include "hello.h"

#define NEGO_MSG_LEN 512

struct nego {
	struct hello peer;		/* valid once a hello was decoded */
	int nmsg;
	char msg[2][NEGO_MSG_LEN];	/* why it failed: local, then peer */
};

/*
 * Returns EXIT_OK when both sides accept, EXIT_REFUSED when either refuses
 * or the peer is not pcmigd, EXIT_NET on a network error; the reasons are
 * in n->msg.  timeout_ms bounds the whole exchange.
 */
int negotiate(int fd, const struct hello *local, int timeout_ms,
	      struct nego *n);

#endif
