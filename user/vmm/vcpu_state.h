/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vCPU state and the device-state blob.
 *
 * devstate_save() serializes everything of a stopped VM that is not RAM:
 * per vCPU the KVM state (regs, sregs, FPU/XSAVE, XCRs, MSRs, events,
 * debug registers, MP state) and the VMM's own per-vCPU and VM state
 * (what the guest reported, finish flag).  This blob is what the VMM will
 * hand to pcmig as its device state (precopy-only, at most
 * DEVSTATE_MAX_SIZE); the RAM is not in it.  The format is in vmm.rst.
 */
#ifndef PCMIG_VMM_VCPU_STATE_H
#define PCMIG_VMM_VCPU_STATE_H

#include <stddef.h>
#include <stdint.h>

#define DEVSTATE_MAGIC		"PCMIGDS1"
#define DEVSTATE_VERSION	1
#define DEVSTATE_MAX_SIZE	(16u << 20)

struct vm;
struct vcpu;

/* Record tags. */
enum {
	DS_VM = 1,		/* struct ds_vm */
	DS_VCPU_VMM = 2,	/* struct vcpu_guest (vmm.h) */
	DS_REGS = 16,		/* struct kvm_regs */
	DS_SREGS = 17,		/* struct kvm_sregs */
	DS_FPU = 18,		/* struct kvm_fpu (no XSAVE) */
	DS_XSAVE = 19,		/* struct kvm_xsave */
	DS_XCRS = 20,		/* struct kvm_xcrs */
	DS_MSRS = 21,		/* struct kvm_msrs + entries */
	DS_EVENTS = 22,		/* struct kvm_vcpu_events */
	DS_DEBUGREGS = 23,	/* struct kvm_debugregs */
	DS_MP_STATE = 24,	/* struct kvm_mp_state */
};

struct ds_header {
	char magic[8];
	uint32_t version;
	uint32_t nvcpus;
	uint64_t size;		/* whole blob, header included */
};

struct ds_record {
	uint32_t tag;
	uint16_t cpu;
	uint16_t reserved;
	uint32_t len;		/* payload bytes; payload padded to 8 */
	uint32_t reserved2;
};

/* Blob of a stopped VM, malloc'ed into *BLOB. */
int devstate_save(struct vm *vm, uint8_t **blob, size_t *len, char *err, size_t errlen);
/* Load a blob (untrusted input: every length is checked) into a VM whose
 * vCPUs are created and not running. */
int devstate_load(struct vm *vm, const uint8_t *blob, size_t len, char *err, size_t errlen);

#endif
