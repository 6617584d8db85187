/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The phase rules of pcmig (S2, S3, S4 of the design), as pure functions
 * shared by the module and the host unit tests.
 */
#ifndef _PCMIG_PHASE_H
#define _PCMIG_PHASE_H

#include "pure.h"

/* What the source does after a precopy pass (rule S2). */
enum pcmig_decision {
	PCMIG_GO_ON_PRECOPY,	/* iterate again */
	PCMIG_GO_STOP_COMPLETE,	/* stop; everything left goes while stopped */
	PCMIG_GO_STOP_POSTCOPY,	/* stop; destination starts, rest in postcopy */
};

/* Bytes each sort of state (S1) still holds on the source. */
struct pcmig_pending {
	u64 precopy_only;
	u64 compatible;
	u64 postcopy_only;
};

struct pcmig_phase_input {
	struct pcmig_pending pending;
	u32 caps;			/* negotiated capabilities */
	bool postcopy_requested;	/* start-postcopy was issued (S3) */
	/*
	 * No compatible state is left to iterate on: another precopy pass
	 * cannot shrink what the stopped phase must carry, so waiting longer
	 * only delays the same downtime.
	 */
	bool precopy_exhausted;
	u64 bandwidth;			/* measured bytes/s; 0 = not known */
	u32 downtime_limit_ms;
};

bool pcmig_fits_downtime(u64 bytes, u64 bandwidth, u32 downtime_limit_ms);
enum pcmig_decision pcmig_decide(const struct pcmig_phase_input *in);

/* Rule S3: what start-postcopy does in each phase. */
enum pcmig_postcopy_req {
	PCMIG_PCREQ_RECORDED,	/* remembered; S2 decides when to switch */
	PCMIG_PCREQ_IGNORED,	/* too late to matter: harmless no-op */
	PCMIG_PCREQ_NO_CAP,	/* no postcopy capability on this session */
};

enum pcmig_postcopy_req pcmig_postcopy_request(u32 phase, u32 caps);

/* Rule S4: the bandwidth limit for a phase, 0 = unlimited. */
u64 pcmig_rate_limit(u32 phase, bool requested_page, u64 max_bandwidth,
		     u64 max_postcopy_bandwidth);

#endif /* _PCMIG_PHASE_H */
