/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Real KVM VMs for the selftests that drive sessions with guest RAM: a VM
 * with three memslots (no vCPU unless a test makes one), attached to a
 * session over netlink, and the source VMM's side of the stop handshake.
 * Shared by ram_test.c and return_path_test.c.
 */
#ifndef _PCMIG_SELFTEST_KVM_VM_H
#define _PCMIG_SELFTEST_KVM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "pcmig_nl.h"

#define PAGE 4096UL
#define NSLOTS 3
#define RING_BYTES (1024 * 16)	/* 1024 entries of struct kvm_dirty_gfn */

/*
 * Slot layout: pages and guest-physical address of each.  640 KiB at 0,
 * 1 MiB at 1 MiB, 256 KiB at 3 MiB: holes between the slots, as a PC has.
 */
extern const unsigned long slot_pages[NSLOTS];
extern const unsigned long slot_gpa[NSLOTS];

struct vm {
	int kvm, fd;
	unsigned char *mem[NSLOTS];
};

/* A VM with the slots above (the last one @last_pages long). */
int vm_create(struct vm *v, bool ring, unsigned long last_pages);
void vm_destroy(struct vm *v, unsigned long last_pages);

/* VM_ATTACH: hand the KVM VM @fd to session @id. */
int vm_attach(struct tnl *nl, uint32_t id, int fd);

/* Play the VMM: wait for the stop request, put a state, acknowledge. */
int ack_stop(struct tnl *nl, uint32_t id);

#endif /* _PCMIG_SELFTEST_KVM_VM_H */
