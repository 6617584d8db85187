/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device-state provider: the VMM's opaque device and vCPU state, a bounded
 * blob that is precopy-only state (rule S1): it must be complete on the
 * destination before the destination's CPUs start.
 */
#ifndef _PCMIG_DEVSTATE_H
#define _PCMIG_DEVSTATE_H

#include <linux/types.h>

struct pcmig_session;

struct pcmig_devstate {
	u8 *buf;		/* kvmalloc'ed, @cap bytes */
	u64 size;		/* bytes held */
	u64 cap;
	u64 sent;		/* source: bytes already on the wire */
	bool done;		/* source: all sent; destination: all received */
};

int pcmig_devstate_append(struct pcmig_devstate *d, u64 off, const void *data,
			  u32 len, const char **why);
int pcmig_devstate_alloc(struct pcmig_devstate *d, u64 size);
void pcmig_devstate_free(struct pcmig_devstate *d);

/* Provider hooks used by the source worker. */
u64 pcmig_devstate_pending(struct pcmig_session *s);
int pcmig_devstate_save(struct pcmig_session *s);

#endif /* _PCMIG_DEVSTATE_H */
