/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dirty logging as the VMM does it before pcmig takes it over: turn
 * KVM_MEM_LOG_DIRTY_PAGES on for every slot, harvest the dirty ring or
 * the dirty bitmap into the VMM's own per-slot bitmap, and the dirty-log
 * exactness test (guest mode=dirtytest).  Once the module harvests, the
 * VMM only answers KVM_EXIT_DIRTY_RING_FULL by waiting (dirty_ring_full).
 */
#ifndef PCMIG_VMM_DIRTY_H
#define PCMIG_VMM_DIRTY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "memslots.h"

struct vm;
struct vcpu;

struct dirty {
	bool logging;		/* KVM_MEM_LOG_DIRTY_PAGES on the slots */
	bool vmm_harvests;	/* false once someone else (pcmig) harvests */
	pthread_mutex_t lock;
	uint64_t *acc[VMM_MAX_SLOTS];	/* pages seen dirty, per slot */
	uint64_t *buf;			/* KVM_GET_DIRTY_LOG buffer */
	uint64_t harvests, harvested, ring_full;

	/* dirty-log test state */
	bool dt_active;
	uint64_t dt_list_gpa, dt_cap, dt_area;
	uint32_t dt_round, dt_rounds, dt_n;
	uint64_t dt_prev[1024];
	uint64_t dt_rng;
	uint64_t dt_pages, dt_missed, dt_spurious, dt_private, dt_badval;
	bool dt_done;
};

int dirty_init(struct vm *vm, bool logging);
void dirty_free(struct vm *vm);
/* Turn logging on (re-registers the slots) if it is off. */
int dirty_start_logging(struct vm *vm);
/* Collect what KVM logged (rings or bitmaps); returns pages collected. */
long dirty_harvest(struct vm *vm);
/* Pages in the accumulated bitmap. */
uint64_t dirty_count(struct vm *vm);
/* A vCPU got KVM_EXIT_DIRTY_RING_FULL. */
void dirty_ring_full(struct vcpu *v);
/* Dirty-log test: the guest's area report and its PORT_DT_NEXT read. */
void dirtytest_area(struct vm *vm, uint64_t list_gpa, uint64_t cap, uint64_t area);
uint32_t dirtytest_next(struct vcpu *v);

#endif
