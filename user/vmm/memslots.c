// SPDX-License-Identifier: GPL-2.0
/* The memslot table (see memslots.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#include "memslots.h"

int mem_layout(struct vmm_mem *m, unsigned int mib, unsigned int nslots,
	       char *err, size_t errlen)
{
	uint64_t gpa = 0;
	unsigned int i, each;

	memset(m, 0, sizeof(*m));
	if (nslots < 1 || nslots > VMM_MAX_SLOTS) {
		snprintf(err, errlen, "--slots must be 1..%d", VMM_MAX_SLOTS);
		return -1;
	}
	if (mib < 2 || mib > VMM_MAX_MEM_MIB) {
		snprintf(err, errlen, "--mem must be 2..%d MiB", VMM_MAX_MEM_MIB);
		return -1;
	}
	each = mib / nslots;
	if (each < 2) {
		snprintf(err, errlen,
			 "--mem %u in %u slots: every slot needs at least 2 MiB",
			 mib, nslots);
		return -1;
	}
	for (i = 0; i < nslots; i++) {
		struct vmm_slot *s = &m->slot[i];

		if (i % 2 == 1)
			gpa += VMM_SLOT_GAP;
		s->id = i;
		s->gpa = gpa;
		s->size = (uint64_t)(i == nslots - 1 ? mib - each * (nslots - 1) : each) * VMM_MIB;
		gpa += s->size;
		m->total += s->size;
	}
	m->n = nslots;
	return 0;
}

int mem_map(struct vmm_mem *m, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < m->n; i++) {
		void *p = mmap(NULL, m->slot[i].size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED) {
			snprintf(err, errlen, "mmap %llu bytes for slot %u: %s",
				 (unsigned long long)m->slot[i].size, i, strerror(errno));
			mem_unmap(m);
			return -1;
		}
		m->slot[i].hva = p;
	}
	return 0;
}

void mem_unmap(struct vmm_mem *m)
{
	for (unsigned int i = 0; i < m->n; i++) {
		if (m->slot[i].hva)
			munmap(m->slot[i].hva, m->slot[i].size);
		m->slot[i].hva = NULL;
	}
}

int mem_register(struct vmm_mem *m, int vm_fd, uint32_t flags)
{
	for (unsigned int i = 0; i < m->n; i++) {
		struct vmm_slot *s = &m->slot[i];
		struct kvm_userspace_memory_region r = {
			.slot = s->id,
			.flags = flags,
			.guest_phys_addr = s->gpa,
			.memory_size = s->size,
			.userspace_addr = (uintptr_t)s->hva,
		};

		if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return -1;
		s->flags = flags;
	}
	return 0;
}

struct vmm_slot *mem_slot_of(struct vmm_mem *m, uint64_t gpa)
{
	for (unsigned int i = 0; i < m->n; i++)
		if (gpa >= m->slot[i].gpa && gpa - m->slot[i].gpa < m->slot[i].size)
			return &m->slot[i];
	return NULL;
}

void *mem_hva(const struct vmm_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < m->n; i++) {
		const struct vmm_slot *s = &m->slot[i];

		if (gpa >= s->gpa && gpa - s->gpa < s->size) {
			if (len > s->size - (gpa - s->gpa) || !s->hva)
				return NULL;
			return s->hva + (gpa - s->gpa);
		}
	}
	return NULL;
}

bool mem_layout_equal(const struct vmm_mem *a, const struct vmm_mem *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned int i = 0; i < a->n; i++)
		if (a->slot[i].id != b->slot[i].id || a->slot[i].gpa != b->slot[i].gpa ||
		    a->slot[i].size != b->slot[i].size)
			return false;
	return true;
}

void mem_layout_str(const struct vmm_mem *m, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (unsigned int i = 0; i < m->n && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%sslot %u 0x%llx+%lluMiB",
				 i ? ", " : "", m->slot[i].id,
				 (unsigned long long)m->slot[i].gpa,
				 (unsigned long long)(m->slot[i].size / VMM_MIB));

		if (w < 0)
			break;
		off += w;
	}
}
