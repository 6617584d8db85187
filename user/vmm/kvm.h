/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KVM VM: /dev/kvm, the VM fd and what the VMM learnt from KVM about
 * it.  The VM fd is what the VMM will hand to pcmig (a netlink attribute);
 * nothing else in the VMM needs to change for that.
 */
#ifndef PCMIG_VMM_KVM_H
#define PCMIG_VMM_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KVM_MAX_SAVED_MSRS	32

struct kvm_vm {
	int sys_fd;		/* /dev/kvm */
	int vm_fd;		/* the VM: hand this to pcmig */
	int run_size;		/* mmap size of struct kvm_run */
	uint32_t ring_entries;	/* dirty ring entries per vCPU, 0 = bitmap */
	bool has_xsave, has_xcrs, has_debugregs;
	struct kvm_cpuid2 *cpuid;
	unsigned int nmsrs;
	uint32_t msrs[KVM_MAX_SAVED_MSRS];	/* saved with the vCPU state */
};

/* Open /dev/kvm, create the VM, enable the dirty ring when RING > 0. */
int kvm_vm_create(struct kvm_vm *k, uint32_t ring, char *err, size_t errlen);
void kvm_vm_destroy(struct kvm_vm *k);
/* Decide which MSRs are saved, probing them on a vCPU fd. */
void kvm_pick_msrs(struct kvm_vm *k, int vcpu_fd);

#endif
