/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The memslot table: guest RAM as KVM memslots, each backed by its own
 * anonymous mapping.  This is the part of the VM pcmig reads and writes
 * (the module walks exactly these slots), so the layout is explicit and
 * comparable: a destination whose layout differs is refused.
 */
#ifndef PCMIG_VMM_MEMSLOTS_H
#define PCMIG_VMM_MEMSLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMM_MAX_SLOTS	32
#define VMM_PAGE_SIZE	4096ull
#define VMM_MIB		(1ull << 20)
#define VMM_MAX_MEM_MIB	3072	/* the guest is 32-bit: stay below 4 GiB */
#define VMM_SLOT_GAP	VMM_MIB	/* hole before every odd-numbered slot */

struct vmm_slot {
	uint32_t id;		/* KVM slot id (address space 0) */
	uint32_t flags;		/* KVM_MEM_* as registered */
	uint64_t gpa;		/* guest physical address */
	uint64_t size;		/* bytes, multiple of 1 MiB */
	uint8_t *hva;		/* userspace address (NULL until mapped) */
};

struct vmm_mem {
	unsigned int n;
	struct vmm_slot slot[VMM_MAX_SLOTS];
	uint64_t total;		/* bytes of RAM in all slots */
};

/* Compute the layout for MIB MiB in NSLOTS slots (no mapping). */
int mem_layout(struct vmm_mem *m, unsigned int mib, unsigned int nslots,
	       char *err, size_t errlen);
/* mmap every slot (anonymous, zero-filled). */
int mem_map(struct vmm_mem *m, char *err, size_t errlen);
void mem_unmap(struct vmm_mem *m);
/* (Re)register every slot with KVM with FLAGS (e.g. KVM_MEM_LOG_DIRTY_PAGES). */
int mem_register(struct vmm_mem *m, int vm_fd, uint32_t flags);
/* Host pointer for [gpa, gpa + len) when it lies in one slot, else NULL. */
void *mem_hva(const struct vmm_mem *m, uint64_t gpa, uint64_t len);
/* The slot holding GPA, or NULL. */
struct vmm_slot *mem_slot_of(struct vmm_mem *m, uint64_t gpa);
/* Same ids, addresses and sizes. */
bool mem_layout_equal(const struct vmm_mem *a, const struct vmm_mem *b);
/* "slot 0 0x0+16MiB, slot 1 0x1100000+16MiB" into BUF. */
void mem_layout_str(const struct vmm_mem *m, char *buf, size_t len);

#endif
