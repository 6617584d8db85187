// SPDX-License-Identifier: GPL-2.0
/* Dirty logging done by the VMM itself (see dirty.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "vmm.h"

static uint64_t slot_pages(const struct vmm_slot *s)
{
	return s->size / VMM_PAGE_SIZE;
}

int dirty_init(struct vm *vm, bool logging)
{
	struct dirty *d = &vm->dirty;
	uint64_t max = 0;

	pthread_mutex_init(&d->lock, NULL);
	/*
	 * The VMM harvests only what it logs itself (--dirty-log, the
	 * dirty-log test).  Otherwise whatever fills KVM's dirty log is
	 * pcmig's: a full ring is waited out, never harvested here.
	 */
	d->vmm_harvests = logging;
	d->logging = logging;
	for (unsigned int i = 0; i < vm->mem.n; i++) {
		uint64_t words = (slot_pages(&vm->mem.slot[i]) + 63) / 64;

		d->acc[i] = calloc(words, 8);
		if (!d->acc[i])
			return -1;
		if (words > max)
			max = words;
	}
	d->buf = calloc(max, 8);
	return d->buf ? 0 : -1;
}

void dirty_free(struct vm *vm)
{
	for (unsigned int i = 0; i < VMM_MAX_SLOTS; i++) {
		free(vm->dirty.acc[i]);
		vm->dirty.acc[i] = NULL;
	}
	free(vm->dirty.buf);
	vm->dirty.buf = NULL;
}

int dirty_start_logging(struct vm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->dirty.lock);
	if (vm->dirty.logging)
		goto out;
	if (vm->vmfd_given) {
		/* the module may be logging: two harvesters lose pages */
		errno = EBUSY;
		ret = -1;
		goto out;
	}
	ret = mem_register(&vm->mem, vm->kvm.vm_fd, KVM_MEM_LOG_DIRTY_PAGES);
	if (!ret) {
		vm->dirty.logging = true;
		vm->dirty.vmm_harvests = true;
	}
out:
	pthread_mutex_unlock(&vm->dirty.lock);
	return ret < 0 ? -1 : 0;
}

static void mark(struct vm *vm, unsigned int slot, uint64_t page)
{
	if (slot < vm->mem.n && page < slot_pages(&vm->mem.slot[slot]))
		vm->dirty.acc[slot][page / 64] |= 1ull << (page % 64);
}

static long harvest_rings(struct vm *vm)
{
	long n = 0;

	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];

		if (!v->ring)
			continue;
		for (;;) {
			struct kvm_dirty_gfn *e = &v->ring[v->ring_fetch % vm->kvm.ring_entries];

			if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & KVM_DIRTY_GFN_F_DIRTY))
				break;
			/* slot = as_id << 16 | id; the VMM uses address space 0 */
			mark(vm, e->slot & 0xffff, e->offset);
			__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
			v->ring_fetch++;
			n++;
		}
	}
	if (n && ioctl(vm->kvm.vm_fd, KVM_RESET_DIRTY_RINGS, 0) < 0)
		vm_fail(vm, EXIT_ENV, "KVM_RESET_DIRTY_RINGS: %s", strerror(errno));
	return n;
}

static long harvest_bitmaps(struct vm *vm)
{
	long n = 0;

	for (unsigned int i = 0; i < vm->mem.n; i++) {
		uint64_t words = (slot_pages(&vm->mem.slot[i]) + 63) / 64;
		struct kvm_dirty_log log = {
			.slot = vm->mem.slot[i].id,
			.dirty_bitmap = vm->dirty.buf,
		};

		memset(vm->dirty.buf, 0, words * 8);
		if (ioctl(vm->kvm.vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
			vm_fail(vm, EXIT_ENV, "KVM_GET_DIRTY_LOG slot %u: %s",
				vm->mem.slot[i].id, strerror(errno));
			return n;
		}
		for (uint64_t w = 0; w < words; w++) {
			vm->dirty.acc[i][w] |= vm->dirty.buf[w];
			n += __builtin_popcountll(vm->dirty.buf[w]);
		}
	}
	return n;
}

long dirty_harvest(struct vm *vm)
{
	struct dirty *d = &vm->dirty;
	long n;

	if (!d->logging || !d->vmm_harvests)
		return 0;
	pthread_mutex_lock(&d->lock);
	n = vm->kvm.ring_entries ? harvest_rings(vm) : harvest_bitmaps(vm);
	d->harvests++;
	d->harvested += n;
	pthread_mutex_unlock(&d->lock);
	return n;
}

uint64_t dirty_count(struct vm *vm)
{
	uint64_t n = 0;

	pthread_mutex_lock(&vm->dirty.lock);
	for (unsigned int i = 0; i < vm->mem.n; i++)
		for (uint64_t w = 0; w < (slot_pages(&vm->mem.slot[i]) + 63) / 64; w++)
			n += __builtin_popcountll(vm->dirty.acc[i][w]);
	pthread_mutex_unlock(&vm->dirty.lock);
	return n;
}

/*
 * KVM_EXIT_DIRTY_RING_FULL: this vCPU's ring reached its soft limit and
 * KVM_RUN will not enter the guest until entries were harvested and reset.
 * While the VMM is the harvester (--dirty-log) it collects the rings right
 * here, so the guest never waits forever.  Otherwise the log is pcmig's
 * (the module turned KVM_MEM_LOG_DIRTY_PAGES on for a migration and
 * harvests the rings itself): the vCPU pauses 1 ms so the module can
 * catch up, and KVM_RUN is retried, as often as needed.  The main loop
 * re-checks a stop request before every KVM_RUN, so the vCPU stays
 * stoppable meanwhile.
 */
void dirty_ring_full(struct vcpu *v)
{
	struct timespec ts = { 0, 1000 * 1000 };

	__atomic_fetch_add(&v->vm->dirty.ring_full, 1, __ATOMIC_RELAXED);
	v->g.ring_full++;
	if (v->vm->dirty.vmm_harvests)
		dirty_harvest(v->vm);
	else
		nanosleep(&ts, NULL);
}

/* ---- dirty-log exactness test ------------------------------------------- */

static uint64_t dt_rand(struct dirty *d)
{
	d->dt_rng ^= d->dt_rng << 13;
	d->dt_rng ^= d->dt_rng >> 7;
	d->dt_rng ^= d->dt_rng << 17;
	return d->dt_rng;
}

void dirtytest_area(struct vm *vm, uint64_t list_gpa, uint64_t cap, uint64_t area)
{
	struct dirty *d = &vm->dirty;

	if (cap > 1024)
		cap = 1024;
	d->dt_list_gpa = list_gpa;
	d->dt_cap = cap;
	d->dt_area = (area + VMM_PAGE_SIZE - 1) & ~(VMM_PAGE_SIZE - 1);
	d->dt_round = 0;
	d->dt_rng = 0x9e3779b97f4a7c15ull;
	d->dt_active = true;
	if (dirty_start_logging(vm) < 0)
		vm_fail(vm, EXIT_ENV, "enabling dirty logging: %s",
			vm->vmfd_given ? "the VM fd was handed out (vmfd): pcmig owns the dirty log" :
			strerror(errno));
}

static bool dt_listed(struct dirty *d, uint64_t gpa)
{
	for (uint32_t i = 0; i < d->dt_n; i++)
		if (d->dt_prev[i] == gpa)
			return true;
	return false;
}

/* Check the round the guest just wrote: every page it wrote is reported,
 * no page of the test area it did not write is; then clear. */
static void dt_check(struct vm *vm)
{
	struct dirty *d = &vm->dirty;

	pthread_mutex_lock(&d->lock);
	for (uint32_t i = 0; i < d->dt_n; i++) {
		struct vmm_slot *s = mem_slot_of(&vm->mem, d->dt_prev[i]);
		uint64_t pg = (d->dt_prev[i] - s->gpa) / VMM_PAGE_SIZE;
		uint64_t want = ((uint64_t)d->dt_round << 32) | i;
		uint64_t *w = mem_hva(&vm->mem, d->dt_prev[i], 8);

		if (!(d->acc[s - vm->mem.slot][pg / 64] & (1ull << (pg % 64)))) {
			d->dt_missed++;
			fprintf(stderr, "dirtytest: round %u: page 0x%llx written, not reported\n",
				d->dt_round, (unsigned long long)d->dt_prev[i]);
		}
		if (!w || *w != want)
			d->dt_badval++;
	}
	for (unsigned int i = 0; i < vm->mem.n; i++) {
		struct vmm_slot *s = &vm->mem.slot[i];

		for (uint64_t pg = 0; pg < slot_pages(s); pg++) {
			uint64_t gpa = s->gpa + pg * VMM_PAGE_SIZE;

			if (!(d->acc[i][pg / 64] & (1ull << (pg % 64))))
				continue;
			if (gpa < d->dt_area) {
				d->dt_private++;
			} else if (!dt_listed(d, gpa)) {
				d->dt_spurious++;
				fprintf(stderr, "dirtytest: round %u: page 0x%llx reported, not written\n",
					d->dt_round, (unsigned long long)gpa);
			}
		}
		memset(d->acc[i], 0, (slot_pages(s) + 63) / 64 * 8);
	}
	pthread_mutex_unlock(&d->lock);
}

uint32_t dirtytest_next(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct dirty *d = &vm->dirty;
	uint32_t *list;
	uint64_t ram_pages = 0;
	uint32_t n;

	if (!d->dt_active)
		return 0;
	dirty_harvest(vm);
	if (d->dt_round == 0) {
		/* drop what boot dirtied */
		pthread_mutex_lock(&d->lock);
		for (unsigned int i = 0; i < vm->mem.n; i++)
			memset(d->acc[i], 0, (slot_pages(&vm->mem.slot[i]) + 63) / 64 * 8);
		pthread_mutex_unlock(&d->lock);
	} else {
		dt_check(vm);
	}
	if (d->dt_round >= d->dt_rounds) {
		d->dt_done = true;
		return 0;
	}
	list = mem_hva(&vm->mem, d->dt_list_gpa, d->dt_cap * 4);
	if (!list) {
		vm_fail(vm, EXIT_GUEST, "dirtytest: list at 0x%llx not in RAM",
			(unsigned long long)d->dt_list_gpa);
		return 0;
	}
	for (unsigned int i = 0; i < vm->mem.n; i++) {
		struct vmm_slot *s = &vm->mem.slot[i];

		if (s->gpa + s->size > d->dt_area)
			ram_pages += (s->gpa + s->size - (s->gpa > d->dt_area ? s->gpa : d->dt_area)) /
				     VMM_PAGE_SIZE;
	}
	/* 1..64 distinct pages, the first one again the previous round's first */
	n = 1 + dt_rand(d) % 64;
	if (n > d->dt_cap)
		n = d->dt_cap;
	if (n > ram_pages)
		n = ram_pages;
	{
		uint64_t keep = d->dt_n ? d->dt_prev[0] : 0;
		uint32_t k = 0;

		d->dt_n = 0;
		if (keep)
			d->dt_prev[k++] = keep, d->dt_n = 1;
		while (k < n) {
			uint64_t idx = dt_rand(d) % ram_pages, gpa = 0;

			for (unsigned int i = 0; i < vm->mem.n; i++) {
				struct vmm_slot *s = &vm->mem.slot[i];
				uint64_t lo = s->gpa > d->dt_area ? s->gpa : d->dt_area;
				uint64_t cnt = s->gpa + s->size > lo ? (s->gpa + s->size - lo) / VMM_PAGE_SIZE : 0;

				if (idx < cnt) {
					gpa = lo + idx * VMM_PAGE_SIZE;
					break;
				}
				idx -= cnt;
			}
			if (dt_listed(d, gpa))
				continue;
			d->dt_prev[k++] = gpa;
			d->dt_n = k;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		list[i] = d->dt_prev[i];
	d->dt_pages += n;
	d->dt_round++;
	return n;
}
