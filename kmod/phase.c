// SPDX-License-Identifier: GPL-2.0
/*
 * Phase rules of pcmig (pure: see phase.h).  The clauses are numbered as
 * in the design's rule S2 so tests and reviewers can match them.
 */
#include "phase.h"

/*
 * "Small enough for the stopped phase": transferable within the downtime
 * limit at the measured bandwidth.  Nothing fits at an unknown bandwidth,
 * except nothing at all.
 */
bool pcmig_fits_downtime(u64 bytes, u64 bandwidth, u32 downtime_limit_ms)
{
	u64 per_ms = bandwidth / 1000;
	u64 extra = (bandwidth % 1000) * downtime_limit_ms / 1000;
	u64 budget;

	if (!bytes)
		return true;
	if (!bandwidth)
		return false;
	/* A budget beyond U64_MAX holds any byte count. */
	if (per_ms && downtime_limit_ms > U64_MAX / per_ms)
		return true;
	budget = per_ms * downtime_limit_ms;
	if (budget > U64_MAX - extra)
		return true;
	return bytes <= budget + extra;
}

static u64 sat_add(u64 a, u64 b)
{
	return a + b < a ? U64_MAX : a + b;
}

enum pcmig_decision pcmig_decide(const struct pcmig_phase_input *in)
{
	const struct pcmig_pending *p = &in->pending;
	u64 bw = in->bandwidth;
	u32 dl = in->downtime_limit_ms;
	u64 before_start = sat_add(p->precopy_only, p->compatible);
	u64 all = sat_add(before_start, p->postcopy_only);
	/* State that must reach the destination before it starts (S1, S6). */
	u64 must_before = p->precopy_only;
	bool fits_all = pcmig_fits_downtime(all, bw, dl);

	/* Without postcopy-ram, RAM cannot follow the destination's start. */
	if (!(in->caps & (1U << PCMIG_CAP_POSTCOPY_RAM)))
		must_before = before_start;

	/* S2: all four clauses must hold to start postcopy. */
	if ((in->caps & PCMIG_CAPS_POSTCOPY) &&			/* (1) */
	    !fits_all &&						/* (2) */
	    pcmig_fits_downtime(must_before, bw, dl) &&		/* (3) */
	    (in->postcopy_requested ||					/* (4a) */
	     pcmig_fits_downtime(before_start, bw, dl)))		/* (4b) */
		return PCMIG_GO_STOP_POSTCOPY;

	if (fits_all || in->precopy_exhausted)
		return PCMIG_GO_STOP_COMPLETE;
	return PCMIG_GO_ON_PRECOPY;
}

enum pcmig_postcopy_req pcmig_postcopy_request(u32 phase, u32 caps)
{
	switch (phase) {
	case PCMIG_PHASE_SETUP:
	case PCMIG_PHASE_PRECOPY:
	case PCMIG_PHASE_STOPPED:
		if (!(caps & PCMIG_CAPS_POSTCOPY))
			return PCMIG_PCREQ_NO_CAP;
		return PCMIG_PCREQ_RECORDED;
	default:
		/* Already in postcopy, or ended: S3 says harmless. */
		return PCMIG_PCREQ_IGNORED;
	}
}

u64 pcmig_rate_limit(u32 phase, bool requested_page, u64 max_bandwidth,
		     u64 max_postcopy_bandwidth)
{
	if (phase != PCMIG_PHASE_POSTCOPY)
		return max_bandwidth;
	/* S4: max-bandwidth is ignored in postcopy; requested pages never wait. */
	if (requested_page)
		return 0;
	return max_postcopy_bandwidth;
}
