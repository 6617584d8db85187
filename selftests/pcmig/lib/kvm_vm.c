// SPDX-License-Identifier: GPL-2.0
/* Real KVM VMs for the selftests (see kvm_vm.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kvm_vm.h"

const unsigned long slot_pages[NSLOTS] = { 160, 256, 64 };
const unsigned long slot_gpa[NSLOTS] = {
	0, 0x100000, 0x300000,
};

int vm_create(struct vm *v, bool ring, unsigned long last_pages)
{
	int i;

	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		return -errno;
	v->fd = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->fd < 0)
		return -errno;
	if (ring) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_DIRTY_LOG_RING,
			.args = { RING_BYTES },
		};

		if (ioctl(v->fd, KVM_ENABLE_CAP, &cap))
			return -errno;
	}
	for (i = 0; i < NSLOTS; i++) {
		unsigned long pages = i == NSLOTS - 1 ? last_pages :
							slot_pages[i];
		struct kvm_userspace_memory_region r = {
			.slot = i,
			.guest_phys_addr = slot_gpa[i],
			.memory_size = pages * PAGE,
		};

		v->mem[i] = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (v->mem[i] == MAP_FAILED)
			return -errno;
		r.userspace_addr = (unsigned long)v->mem[i];
		if (ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &r))
			return -errno;
	}
	return 0;
}

void vm_destroy(struct vm *v, unsigned long last_pages)
{
	int i;

	for (i = 0; i < NSLOTS; i++)
		if (v->mem[i] && v->mem[i] != MAP_FAILED)
			munmap(v->mem[i], (i == NSLOTS - 1 ? last_pages :
					   slot_pages[i]) * PAGE);
	close(v->fd);
	close(v->kvm);
}

int vm_attach(struct tnl *nl, uint32_t id, int fd)
{
	struct tnl_req r;

	tnl_req_init(nl, &r, PCMIG_CMD_VM_ATTACH, false);
	tnl_put_u32(&r, PCMIG_A_SESSION_ID, id);
	tnl_put_u32(&r, PCMIG_A_VM_FD, fd);
	return tnl_call(nl, &r, NULL, NULL);
}

int ack_stop(struct tnl *nl, uint32_t id)
{
	struct tnl_session s;
	int i;

	for (i = 0; i < 3000; i++) {
		if (tnl_get(nl, id, &s))
			return -EIO;
		if (s.stop_requested)
			break;
		if (s.phase >= PCMIG_PHASE_COMPLETED)
			return -ECANCELED;
		usleep(10000);
	}
	if (!s.stop_requested)
		return -ETIMEDOUT;
	if (tnl_devstate_put(nl, id, "vcpus", 5))
		return -EIO;
	return tnl_simple(nl, PCMIG_CMD_VM_STOPPED, id);
}
