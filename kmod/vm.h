/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A KVM VM attached to a session (PCMIG_CMD_VM_ATTACH): its memory layout,
 * KVM's dirty logging on its memslots, and access to guest pages.
 *
 * The module uses KVM only through what KVM exports and its ioctls: the VM
 * file is checked with file_is_kvm(), slots are read under kvm->srcu, dirty
 * logging is switched with KVM_SET_USER_MEMORY_REGION, dirty pages come
 * from the vCPUs' dirty rings (entries collected and marked for reset,
 * then KVM_RESET_DIRTY_RINGS) or from KVM_GET_DIRTY_LOG.  The ioctls run
 * in the session worker after kthread_use_mm() of the VMM's mm, as KVM
 * requires, with their arguments in a scratch mapping in that mm.  Guest
 * pages are read and written at the VMM's addresses for them, so nothing
 * passes through userspace.
 */
#ifndef _PCMIG_VM_H
#define _PCMIG_VM_H

#include <linux/types.h>

#include "wire.h"

struct file;
struct kvm;
struct mm_struct;

/* One user memslot of the VM. */
struct pcmig_vm_slot {
	u32 id;			/* KVM slot id (address space 0) */
	u32 flags;		/* as the VMM set them */
	u64 gpa;
	u64 npages;
	unsigned long uaddr;	/* the VMM's address of the slot's memory */
	unsigned long *dirty;	/* the module's dirty bitmap, npages bits */
};

struct pcmig_vm {
	struct file *file;	/* the VM file, with a reference */
	struct kvm *kvm;
	struct mm_struct *mm;	/* kvm->mm, mmget() while the worker runs */
	bool ring;		/* dirty ring (else dirty bitmap) */
	bool logging;		/* dirty logging switched on by us */
	struct pcmig_vm_slot *slots;	/* by ascending gpa */
	u32 nr_slots;
	u64 pages;		/* of all slots */
	u64 dirty;		/* bits set in the slots' bitmaps */
	u32 *fetch;		/* ring: next entry per vCPU index */
	u32 nr_fetch;
	unsigned long scratch;	/* in the VMM's mm, scratch_len bytes */
	unsigned long scratch_len;
};

/* Netlink context: take the VM of @fd, read its layout. */
int pcmig_vm_attach(struct pcmig_vm *vm, int fd, const char **why);
void pcmig_vm_release(struct pcmig_vm *vm);

static inline bool pcmig_vm_attached(const struct pcmig_vm *vm)
{
	return vm->kvm;
}

/* Pages [@page, @page + @n) lie in @sl (without overflow). */
static inline bool pcmig_vm_run_in_slot(const struct pcmig_vm_slot *sl,
					u64 page, u64 n)
{
	return page <= sl->npages && n <= sl->npages - page;
}

/* Worker: enter / leave the VMM's mm (pcmig_vm_enter() may fail). */
int pcmig_vm_enter(struct pcmig_vm *vm, const char **why);
void pcmig_vm_leave(struct pcmig_vm *vm);

/* Source: start / stop KVM's dirty logging; start marks all dirty. */
int pcmig_vm_log_start(struct pcmig_vm *vm, const char **why);
void pcmig_vm_log_stop(struct pcmig_vm *vm);
/* Collect what KVM logged into the module's bitmaps; new dirty pages. */
int pcmig_vm_harvest(struct pcmig_vm *vm, u64 *newly, const char **why);

/* The layout as ranges for the stream (at most PCMIG_RAM_RANGES_MAX). */
u32 pcmig_vm_ranges(const struct pcmig_vm *vm, struct pcmig_ram_range *r);
/* Slot and page index of @gpa, or NULL. */
struct pcmig_vm_slot *pcmig_vm_find(struct pcmig_vm *vm, u64 gpa,
				    u64 *page);

int pcmig_vm_read_page(struct pcmig_vm *vm, const struct pcmig_vm_slot *sl,
		       u64 page, void *buf);
int pcmig_vm_write_page(struct pcmig_vm *vm, const struct pcmig_vm_slot *sl,
			u64 page, const void *buf);
int pcmig_vm_zero_pages(struct pcmig_vm *vm, const struct pcmig_vm_slot *sl,
			u64 page, u64 n);

/*
 * Destination (zero runs, RAM postcopy).  pcmig_vm_zap() drops what the VMM's memory
 * holds for @n pages from @page, so that touching them faults; guest
 * memory must be anonymous and private (-EOPNOTSUPP otherwise).
 * pcmig_vm_revoke() replaces all guest memory with an inaccessible
 * mapping: after a failed postcopy, a vCPU or VMM thread touching it gets
 * an error rather than a page that never arrived.  The VMM's mm must be
 * current.
 */
int pcmig_vm_zap(struct pcmig_vm *vm, const struct pcmig_vm_slot *sl,
		 u64 page, u64 n);
int pcmig_vm_revoke(struct pcmig_vm *vm);
/* Has the VMM exited (only the module's reference on its mm is left)? */
bool pcmig_vm_vmm_gone(const struct pcmig_vm *vm);

#endif /* _PCMIG_VM_H */
