// SPDX-License-Identifier: GPL-2.0
/* The KVM VM (see kvm.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "kvm.h"

/* Guest-visible MSRs worth migrating for a 32/64-bit guest without an
 * in-kernel APIC; kept when KVM lists them and they can be read. */
static const uint32_t msr_candidates[] = {
	0x00000010,	/* TSC */
	0x0000003b,	/* TSC_ADJUST */
	0x00000174,	/* SYSENTER_CS */
	0x00000175,	/* SYSENTER_ESP */
	0x00000176,	/* SYSENTER_EIP */
	0x000001a0,	/* MISC_ENABLE */
	0x00000277,	/* PAT */
	0xc0000081,	/* STAR */
	0xc0000082,	/* LSTAR */
	0xc0000083,	/* CSTAR */
	0xc0000084,	/* SFMASK */
	0xc0000102,	/* KERNEL_GS_BASE */
	0xc0000103,	/* TSC_AUX */
};

int kvm_vm_create(struct kvm_vm *k, uint32_t ring, char *err, size_t errlen)
{
	int n, ver;

	memset(k, 0, sizeof(*k));
	k->vm_fd = -1;
	k->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->sys_fd < 0) {
		snprintf(err, errlen, "/dev/kvm: %s", strerror(errno));
		return -1;
	}
	ver = ioctl(k->sys_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		snprintf(err, errlen, "KVM API version %d, want %d", ver, KVM_API_VERSION);
		goto fail;
	}
	k->run_size = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->run_size <= 0) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		goto fail;
	}
	if (ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
		snprintf(err, errlen, "KVM lacks KVM_CAP_IMMEDIATE_EXIT");
		goto fail;
	}
	k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	/* Needed on Intel (real-mode TSS and identity map), harmless on AMD;
	 * both addresses are in the hole below 4 GiB the guest never uses. */
	if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0) {
		snprintf(err, errlen, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		goto fail;
	}
	{
		uint64_t idmap = 0xfffbc000ull;

		if (ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0) {
			snprintf(err, errlen, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
			goto fail;
		}
	}
	if (ring) {
		int max = ioctl(k->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING);
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_DIRTY_LOG_RING,
			.args[0] = (uint64_t)ring * sizeof(struct kvm_dirty_gfn),
		};

		if (max <= 0) {
			snprintf(err, errlen, "KVM has no dirty ring (KVM_CAP_DIRTY_LOG_RING)");
			goto fail;
		}
		if (cap.args[0] > (uint64_t)max) {
			snprintf(err, errlen, "--dirty-ring %u: KVM allows at most %zu entries",
				 ring, (size_t)max / sizeof(struct kvm_dirty_gfn));
			goto fail;
		}
		if (ioctl(k->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
			snprintf(err, errlen, "enabling the dirty ring with %u entries: %s",
				 ring, strerror(errno));
			goto fail;
		}
		k->ring_entries = ring;
	}
	k->has_xsave = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
	k->has_xcrs = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	k->has_debugregs = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_DEBUGREGS) > 0;

	for (n = 64; ; n *= 2) {
		k->cpuid = calloc(1, sizeof(*k->cpuid) + n * sizeof(struct kvm_cpuid_entry2));
		if (!k->cpuid) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		k->cpuid->nent = n;
		if (ioctl(k->sys_fd, KVM_GET_SUPPORTED_CPUID, k->cpuid) == 0)
			break;
		free(k->cpuid);
		k->cpuid = NULL;
		if (errno != E2BIG || n > 4096) {
			snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
			goto fail;
		}
	}
	return 0;
fail:
	kvm_vm_destroy(k);
	return -1;
}

void kvm_pick_msrs(struct kvm_vm *k, int vcpu_fd)
{
	struct kvm_msr_list *list;
	unsigned int n = 256;

	k->nmsrs = 0;
	list = calloc(1, sizeof(*list) + n * sizeof(uint32_t));
	if (!list)
		return;
	list->nmsrs = n;
	if (ioctl(k->sys_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		free(list);
		return;
	}
	for (size_t i = 0; i < sizeof(msr_candidates) / sizeof(msr_candidates[0]); i++) {
		struct {
			struct kvm_msrs h;
			struct kvm_msr_entry e;
		} one = { .h.nmsrs = 1, .e.index = msr_candidates[i] };
		bool listed = false;

		for (unsigned int j = 0; j < list->nmsrs; j++)
			listed |= list->indices[j] == msr_candidates[i];
		if (listed && ioctl(vcpu_fd, KVM_GET_MSRS, &one) == 1 &&
		    k->nmsrs < KVM_MAX_SAVED_MSRS)
			k->msrs[k->nmsrs++] = msr_candidates[i];
	}
	free(list);
}

void kvm_vm_destroy(struct kvm_vm *k)
{
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->sys_fd >= 0)
		close(k->sys_fd);
	free(k->cpuid);
	k->cpuid = NULL;
	k->vm_fd = k->sys_fd = -1;
}
