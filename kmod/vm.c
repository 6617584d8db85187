// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM VM of a session: layout, dirty logging, guest pages (vm.h).
 */
#include <linux/kvm_host.h>
#include <linux/kthread.h>
#include <linux/file.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "vm.h"

static int cmp_slot(const void *a, const void *b)
{
	const struct pcmig_vm_slot *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

/* The VM's user memslots of address space 0, by gpa. */
static int read_layout(struct pcmig_vm *vm, const char **why)
{
	struct kvm_memory_slot *ms;
	struct kvm_memslots *slots;
	u32 n = 0, i;
	int bkt, idx;

	vm->slots = kcalloc(PCMIG_RAM_RANGES_MAX, sizeof(*vm->slots),
			    GFP_KERNEL);
	if (!vm->slots)
		goto nomem;
	idx = srcu_read_lock(&vm->kvm->srcu);
	slots = kvm_memslots(vm->kvm);
	kvm_for_each_memslot(ms, bkt, slots) {
		if (ms->id >= KVM_USER_MEM_SLOTS)
			continue;	/* KVM's own, not guest RAM */
		if (n == PCMIG_RAM_RANGES_MAX) {
			srcu_read_unlock(&vm->kvm->srcu, idx);
			*why = "VM has more memslots than pcmig migrates (256)";
			return -E2BIG;
		}
		vm->slots[n].id = ms->id;
		vm->slots[n].flags = ms->flags;
		vm->slots[n].gpa = ms->base_gfn << PAGE_SHIFT;
		vm->slots[n].npages = ms->npages;
		vm->slots[n].uaddr = ms->userspace_addr;
		n++;
	}
	srcu_read_unlock(&vm->kvm->srcu, idx);
	if (!n) {
		*why = "VM has no memory";
		return -EINVAL;
	}
	vm->nr_slots = n;
	sort(vm->slots, n, sizeof(*vm->slots), cmp_slot, NULL);
	for (i = 0; i < n; i++) {
		vm->pages += vm->slots[i].npages;
		vm->slots[i].dirty = kvcalloc(BITS_TO_LONGS(vm->slots[i].npages),
					      sizeof(long), GFP_KERNEL_ACCOUNT);
		if (!vm->slots[i].dirty)
			goto nomem;
	}
	return 0;
nomem:
	*why = "out of memory for the VM's dirty bitmaps";
	return -ENOMEM;
}

int pcmig_vm_attach(struct pcmig_vm *vm, int fd, const char **why)
{
	struct file *file = fget(fd);
	int err;

	if (!file) {
		*why = "vm-fd is not an open file";
		return -EBADF;
	}
	if (!file_is_kvm(file)) {
		fput(file);
		*why = "vm-fd is not a KVM VM (KVM_CREATE_VM)";
		return -EINVAL;
	}
	/* The file holds the VM; the VM holds its mm_struct (not its users). */
	vm->file = file;
	vm->kvm = file->private_data;
	vm->mm = vm->kvm->mm;
	vm->ring = READ_ONCE(vm->kvm->dirty_ring_size) != 0;
	err = read_layout(vm, why);
	if (err)
		pcmig_vm_release(vm);
	return err;
}

void pcmig_vm_release(struct pcmig_vm *vm)
{
	u32 i;

	if (vm->slots)
		for (i = 0; i < vm->nr_slots; i++)
			kvfree(vm->slots[i].dirty);
	kfree(vm->slots);
	kfree(vm->fetch);
	if (vm->file)
		fput(vm->file);
	memset(vm, 0, sizeof(*vm));
}

int pcmig_vm_enter(struct pcmig_vm *vm, const char **why)
{
	unsigned long len = 0;
	u32 i;

	if (!mmget_not_zero(vm->mm)) {
		*why = "the VMM is gone";
		return -ESRCH;
	}
	kthread_use_mm(vm->mm);
	/* KVM_GET_DIRTY_LOG wants its arguments in the VMM's memory. */
	for (i = 0; i < vm->nr_slots; i++)
		len = max_t(unsigned long, len,
			    BITS_TO_LONGS(vm->slots[i].npages) * sizeof(long));
	len = PAGE_ALIGN(len) + PAGE_SIZE;
	vm->scratch = vm_mmap(NULL, 0, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(vm->scratch)) {
		vm->scratch = 0;
		pcmig_vm_leave(vm);
		*why = "cannot map scratch memory in the VMM";
		return -ENOMEM;
	}
	vm->scratch_len = len;
	return 0;
}

void pcmig_vm_leave(struct pcmig_vm *vm)
{
	if (vm->scratch)
		vm_munmap(vm->scratch, vm->scratch_len);
	vm->scratch = 0;
	kthread_unuse_mm(vm->mm);
	mmput(vm->mm);
}

static long vm_ioctl(struct pcmig_vm *vm, unsigned int cmd, unsigned long arg)
{
	return vm->file->f_op->unlocked_ioctl(vm->file, cmd, arg);
}

/* KVM_SET_USER_MEMORY_REGION, changing only the slot's flags. */
static int set_flags(struct pcmig_vm *vm, const struct pcmig_vm_slot *sl,
		     u32 flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = sl->id,
		.flags = flags,
		.guest_phys_addr = sl->gpa,
		.memory_size = sl->npages << PAGE_SHIFT,
		.userspace_addr = sl->uaddr,
	};

	if (copy_to_user((void __user *)vm->scratch, &r, sizeof(r)))
		return -EFAULT;
	return vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, vm->scratch);
}

int pcmig_vm_log_start(struct pcmig_vm *vm, const char **why)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;
	u32 s;
	int err;

	for (s = 0; s < vm->nr_slots; s++) {
		struct pcmig_vm_slot *sl = &vm->slots[s];

		if (!(sl->flags & KVM_MEM_LOG_DIRTY_PAGES)) {
			err = set_flags(vm, sl, sl->flags |
					KVM_MEM_LOG_DIRTY_PAGES);
			if (err) {
				pcmig_vm_log_stop(vm);
				*why = "KVM refused dirty logging on a memslot";
				return err;
			}
		}
		vm->logging = true;
		/* The first pass sends every page. */
		bitmap_fill(sl->dirty, sl->npages);
	}
	vm->dirty = vm->pages;
	if (!vm->ring)
		return 0;
	/*
	 * Entries logged before now are covered by the first pass: start
	 * each vCPU's harvest where KVM will reset next.
	 */
	vm->nr_fetch = READ_ONCE(vm->kvm->created_vcpus);
	vm->fetch = kcalloc(max(vm->nr_fetch, 1U), sizeof(*vm->fetch),
			    GFP_KERNEL);
	if (!vm->fetch) {
		*why = "out of memory";
		return -ENOMEM;
	}
	kvm_for_each_vcpu(i, vcpu, vm->kvm)
		if (i < vm->nr_fetch)
			vm->fetch[i] = READ_ONCE(vcpu->dirty_ring.reset_index);
	return 0;
}

void pcmig_vm_log_stop(struct pcmig_vm *vm)
{
	u32 s;

	if (!vm->logging)
		return;
	/* Slots the VMM logged itself keep their logging. */
	for (s = 0; s < vm->nr_slots; s++)
		if (!(vm->slots[s].flags & KVM_MEM_LOG_DIRTY_PAGES))
			set_flags(vm, &vm->slots[s], vm->slots[s].flags);
	vm->logging = false;
}

static struct pcmig_vm_slot *slot_of(struct pcmig_vm *vm, u32 id)
{
	u32 i;

	for (i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i].id == id)
			return &vm->slots[i];
	return NULL;
}

static void mark(struct pcmig_vm *vm, struct pcmig_vm_slot *sl, u64 page,
		 u64 *newly)
{
	if (!sl || page >= sl->npages)
		return;	/* a slot the VMM added since, or KVM's own */
	if (!__test_and_set_bit(page, sl->dirty)) {
		vm->dirty++;
		(*newly)++;
	}
}

/* Grow the per-vCPU harvest positions to vCPUs created since. */
static int fit_vcpus(struct pcmig_vm *vm)
{
	u32 n = READ_ONCE(vm->kvm->created_vcpus);
	u32 *f;

	if (n <= vm->nr_fetch)
		return 0;
	f = krealloc_array(vm->fetch, n, sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	memset(f + vm->nr_fetch, 0, (n - vm->nr_fetch) * sizeof(*f));
	vm->fetch = f;
	vm->nr_fetch = n;
	return 0;
}

/*
 * The dirty ring: entries KVM flagged DIRTY are recorded and flagged
 * RESET (release: KVM reads the entry after seeing the flag), then
 * KVM_RESET_DIRTY_RINGS lets KVM recycle them and write-protect the pages
 * again.  Entries already flagged RESET were harvested before tracking
 * started (the first pass covers them).
 */
static int harvest_ring(struct pcmig_vm *vm, u64 *newly)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;
	bool any = false;

	if (fit_vcpus(vm))
		return -ENOMEM;
	kvm_for_each_vcpu(i, vcpu, vm->kvm) {
		struct kvm_dirty_ring *ring = &vcpu->dirty_ring;
		u32 n;

		if (i >= vm->nr_fetch || !ring->dirty_gfns || !ring->size)
			continue;
		for (n = 0; n < ring->size; n++) {
			struct kvm_dirty_gfn *e =
				&ring->dirty_gfns[vm->fetch[i] & (ring->size - 1)];
			/* Pairs with KVM's write barrier before the flag. */
			u32 flags = smp_load_acquire(&e->flags);

			if (flags & KVM_DIRTY_GFN_F_DIRTY) {
				if ((READ_ONCE(e->slot) >> 16) == 0)
					mark(vm, slot_of(vm, READ_ONCE(e->slot)),
					     READ_ONCE(e->offset), newly);
				/* KVM reads slot/offset after the flag. */
				smp_store_release(&e->flags,
						  KVM_DIRTY_GFN_F_RESET);
				any = true;
			} else if (!(flags & KVM_DIRTY_GFN_F_RESET)) {
				break;
			}
			vm->fetch[i]++;
		}
	}
	if (any && vm_ioctl(vm, KVM_RESET_DIRTY_RINGS, 0) < 0)
		return -EIO;
	return 0;
}

/* KVM_GET_DIRTY_LOG (and KVM_CLEAR_DIRTY_LOG with manual protection). */
static int harvest_bitmap(struct pcmig_vm *vm, u64 *newly)
{
	unsigned long ubits = vm->scratch + PAGE_SIZE;
	unsigned long *buf;
	u32 s;
	int err = 0;

	buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	for (s = 0; s < vm->nr_slots && !err; s++) {
		struct pcmig_vm_slot *sl = &vm->slots[s];
		struct kvm_dirty_log log = {
			.slot = sl->id,
			.dirty_bitmap = (void __user *)ubits,
		};
		struct kvm_clear_dirty_log clr = {
			.slot = sl->id,
			.num_pages = sl->npages,
			.dirty_bitmap = (void __user *)ubits,
		};
		u64 words = BITS_TO_LONGS(sl->npages), w, chunk, b;

		if (copy_to_user((void __user *)vm->scratch, &log, sizeof(log)) ||
		    vm_ioctl(vm, KVM_GET_DIRTY_LOG, vm->scratch) < 0) {
			err = -EIO;
			break;
		}
		if (READ_ONCE(vm->kvm->manual_dirty_log_protect) &&
		    (copy_to_user((void __user *)vm->scratch, &clr,
				  sizeof(clr)) ||
		     vm_ioctl(vm, KVM_CLEAR_DIRTY_LOG, vm->scratch) < 0)) {
			err = -EIO;
			break;
		}
		for (w = 0; w < words; w += chunk) {
			chunk = min_t(u64, words - w, PAGE_SIZE / sizeof(long));
			if (copy_from_user(buf, (void __user *)(ubits +
					   w * sizeof(long)),
					   chunk * sizeof(long))) {
				err = -EFAULT;
				break;
			}
			for_each_set_bit(b, buf, chunk * BITS_PER_LONG)
				mark(vm, sl, w * BITS_PER_LONG + b, newly);
		}
	}
	kfree(buf);
	return err;
}

int pcmig_vm_harvest(struct pcmig_vm *vm, u64 *newly, const char **why)
{
	int err;

	*newly = 0;
	if (!vm->logging)
		return 0;
	err = vm->ring ? harvest_ring(vm, newly) : harvest_bitmap(vm, newly);
	if (err)
		*why = "cannot read KVM's dirty log";
	return err;
}

u32 pcmig_vm_ranges(const struct pcmig_vm *vm, struct pcmig_ram_range *r)
{
	u32 i;

	for (i = 0; i < vm->nr_slots; i++) {
		r[i].gpa = vm->slots[i].gpa;
		r[i].size = vm->slots[i].npages << PAGE_SHIFT;
	}
	return vm->nr_slots;
}

struct pcmig_vm_slot *pcmig_vm_find(struct pcmig_vm *vm, u64 gpa, u64 *page)
{
	u32 i;

	for (i = 0; i < vm->nr_slots; i++) {
		struct pcmig_vm_slot *sl = &vm->slots[i];

		if (gpa >= sl->gpa && gpa - sl->gpa < sl->npages << PAGE_SHIFT) {
			*page = (gpa - sl->gpa) >> PAGE_SHIFT;
			return sl;
		}
	}
	return NULL;
}

static void __user *page_ptr(const struct pcmig_vm_slot *sl, u64 page)
{
	return (void __user *)(sl->uaddr + (page << PAGE_SHIFT));
}

int pcmig_vm_read_page(struct pcmig_vm *vm, const struct pcmig_vm_slot *sl,
		       u64 page, void *buf)
{
	return copy_from_user(buf, page_ptr(sl, page), PAGE_SIZE) ?
	       -EFAULT : 0;
}

int pcmig_vm_write_page(struct pcmig_vm *vm, const struct pcmig_vm_slot *sl,
			u64 page, const void *buf)
{
	return copy_to_user(page_ptr(sl, page), buf, PAGE_SIZE) ? -EFAULT : 0;
}

int pcmig_vm_zero_pages(struct pcmig_vm *vm, const struct pcmig_vm_slot *sl,
			u64 page, u64 n)
{
	u64 chunk;

	if (!pcmig_vm_run_in_slot(sl, page, n))
		return -EINVAL;
	/* A run may span gigabytes: clear it a piece at a time. */
	for (; n; n -= chunk, page += chunk) {
		chunk = min_t(u64, n, 512);
		if (clear_user(page_ptr(sl, page), chunk << PAGE_SHIFT))
			return -EFAULT;
		cond_resched();
	}
	return 0;
}

int pcmig_vm_zap(struct pcmig_vm *vm, const struct pcmig_vm_slot *sl,
		 u64 page, u64 n)
{
	unsigned long start = sl->uaddr + (page << PAGE_SHIFT);
	unsigned long end = start + (n << PAGE_SHIFT);
	struct vm_area_struct *vma;
	unsigned long len;
	int err = 0;

	mmap_read_lock(vm->mm);
	while (start < end && !err) {
		vma = vma_lookup(vm->mm, start);
		if (!vma) {
			err = -EFAULT;
			break;
		}
		/* Zapping shared or file memory would not make it missing. */
		if (!vma_is_anonymous(vma) || (vma->vm_flags & VM_SHARED)) {
			err = -EOPNOTSUPP;
			break;
		}
		len = min(end, vma->vm_end) - start;
		pcmig_zap(vma, start, len);
		start += len;
	}
	mmap_read_unlock(vm->mm);
	return err;
}

int pcmig_vm_revoke(struct pcmig_vm *vm)
{
	unsigned long addr;
	int err = 0;
	u32 i;

	for (i = 0; i < vm->nr_slots; i++) {
		addr = vm_mmap(NULL, vm->slots[i].uaddr,
			       vm->slots[i].npages << PAGE_SHIFT, PROT_NONE,
			       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS |
			       MAP_NORESERVE, 0);
		if (IS_ERR_VALUE(addr))
			err = (int)addr;
	}
	return err;
}

bool pcmig_vm_vmm_gone(const struct pcmig_vm *vm)
{
	/* The VMM's threads each hold a user; the session worker one more. */
	return atomic_read(&vm->mm->mm_users) <= 1;
}
