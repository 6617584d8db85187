/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest RAM, compatible state (rule S1): the source's RAM provider sends
 * every page in the first precopy pass and the pages KVM logged dirty in
 * later ones and in the stopped phase; the destination writes what it
 * receives into the attached VM.  Zero pages travel as runs, not data.
 */
#ifndef _PCMIG_RAM_H
#define _PCMIG_RAM_H

#include <linux/ktime.h>
#include <linux/types.h>

#include "wire.h"

struct pcmig_session;

struct pcmig_ram_state {
	bool started;		/* source: logging on, layout sent */
	bool probed;		/* source: the bandwidth was measured */
	bool cut_short;		/* source: a pass ended early for postcopy */
	u8 *frame;		/* one RAM_PAGE payload */
	u8 *tx;			/* source: frames sent together (ram.c) */
	u32 tx_len;		/* ... bytes gathered */
	bool batching;		/* ... in a pass or a postcopy batch */
	ktime_t harvested;	/* source: start of the dirty-rate window */
	u64 rate_pages;		/* source: pages dirtied in that window */
	int err;		/* source: a harvest failed ... */
	const char *why;	/* ... and why */
	char msg[320];		/* destination: a layout mismatch, in full */
};

u64 pcmig_ram_pending(struct pcmig_session *s);
int pcmig_ram_save(struct pcmig_session *s);
int pcmig_ram_probe(struct pcmig_session *s);
void pcmig_ram_free(struct pcmig_session *s);
/* RAM postcopy, source: the stopped phase's DISCARDs, then the pages. */
int pcmig_ram_discard(struct pcmig_session *s);
int pcmig_ram_postcopy(struct pcmig_session *s);

int pcmig_ram_apply(struct pcmig_session *s, enum pcmig_rx_act act, u64 arg,
		    const u8 *payload, const char **why);
/* Destination, at the end of the stream: every page arrived? */
int pcmig_ram_complete(struct pcmig_session *s, const char **why);

#endif /* _PCMIG_RAM_H */
