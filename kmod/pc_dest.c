// SPDX-License-Identifier: GPL-2.0
/*
 * RAM postcopy, destination side (postcopy.h).
 */
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "postcopy.h"
#include "session.h"
#include "stream.h"

/* Scratch pages in the VMM's mm: the worker's and the fault thread's. */
enum {
	PC_WORKER_ARG,		/* ioctl arguments */
	PC_WORKER_PAGE,		/* the page being placed */
	PC_FAULTER_ARG,
	PC_FAULTER_MSGS,	/* fault messages read */
	PC_SCRATCH_PAGES
};

#define PC_SCRATCH(s, part)	((s)->pc.scratch + (part) * PAGE_SIZE)
#define PC_MSGS_MAX		64
/* How often the fault thread looks at the VMM when no fault comes. */
#define PC_IDLE			(HZ / 4)

void pcmig_pc_init(struct pcmig_session *s)
{
	spin_lock_init(&s->pc.lock);
	xa_init(&s->pc.requested);
}

void pcmig_pc_free(struct pcmig_session *s)
{
	xa_destroy(&s->pc.requested);
	kvfree(s->pc.samples);
	s->pc.samples = NULL;
	pcmig_uffd_close(&s->pc.uffd);
}

/* /dev/userfaultfd is opened with the rights of who starts the session. */
int pcmig_pc_dest_prepare(struct pcmig_session *s, const char **why)
{
	if (!(s->caps & (1U << PCMIG_CAP_POSTCOPY_RAM)) ||
	    !pcmig_vm_attached(&s->vm) || s->pc.uffd.dev)
		return 0;
	return pcmig_uffd_open_dev(&s->pc.uffd, why);
}

/*
 * The name of the VMM thread @tid (its id as the fault message gives it,
 * in the VMM's pid namespace, which is ours unless the VMM runs in a
 * namespace of its own: then no name).
 */
static void thread_name(u32 tid, char *comm)
{
	struct task_struct *t;
	struct pid *pid;

	comm[0] = '\0';
	pid = find_get_pid(tid);
	t = pid ? get_pid_task(pid, PIDTYPE_PID) : NULL;
	if (t) {
		__get_task_comm(comm, TASK_COMM_LEN, t);
		put_task_struct(t);
	}
	put_pid(pid);
}

static struct pcmig_pc_blocked *thread_of(struct pcmig_postcopy *pc, u32 tid)
{
	u32 i;

	for (i = 0; i < pc->nr_threads; i++)
		if (pc->threads[i].tid == tid)
			return &pc->threads[i];
	if (pc->nr_threads < PCMIG_PC_THREADS_MAX - 1 ||
	    (pc->nr_threads == PCMIG_PC_THREADS_MAX - 1 && !tid)) {
		pc->threads[pc->nr_threads].tid = tid;
		return &pc->threads[pc->nr_threads++];
	}
	return tid ? thread_of(pc, 0) : NULL;
}

/* Under pc->lock: @gfn is in place; account who waited for it. */
static void release_waiters(struct pcmig_postcopy *pc, u64 gfn, ktime_t now)
{
	u32 i;

	for (i = 0; i < pc->nr_threads; i++) {
		struct pcmig_pc_blocked *t = &pc->threads[i];

		if (t->waiting && t->gfn == gfn) {
			t->waiting = false;
			t->blocked_ns += ktime_to_ns(ktime_sub(now, t->since));
		}
	}
}

static void add_latency(struct pcmig_postcopy *pc, u64 us)
{
	u32 v = min_t(u64, us, U32_MAX);

	if (!pc->samples)
		return;
	pc->latencies++;
	pc->max_us = max(pc->max_us, us);
	if (pc->nr_samples < PCMIG_PC_SAMPLES) {
		pc->samples[pc->nr_samples++] = v;
		return;
	}
	/* Reservoir sampling keeps a uniform sample of all latencies. */
	if (get_random_u32() % pc->latencies < PCMIG_PC_SAMPLES)
		pc->samples[get_random_u32() % PCMIG_PC_SAMPLES] = v;
}

/* @n pages from @page of @sl are in place: bookkeeping and statistics. */
static void placed(struct pcmig_session *s, struct pcmig_vm_slot *sl,
		   u64 page, u64 n)
{
	struct pcmig_postcopy *pc = &s->pc;
	u64 gfn = (sl->gpa >> PAGE_SHIFT) + page;
	ktime_t now = ktime_get();
	void *t;

	for (; n; n--, page++, gfn++) {
		spin_lock(&pc->lock);
		if (!__test_and_set_bit(page, sl->dirty))
			s->vm.dirty++;
		release_waiters(pc, gfn, now);
		spin_unlock(&pc->lock);
		t = xa_erase(&pc->requested, gfn);
		spin_lock(&pc->lock);
		if (t) {
			add_latency(pc, div_u64(ktime_to_ns(now) -
						xa_to_value(t), NSEC_PER_USEC));
			s->stats.pc_pages_requested++;
		} else {
			s->stats.pc_pages_background++;
		}
		spin_unlock(&pc->lock);
	}
}

int pcmig_pc_place_page(struct pcmig_session *s, struct pcmig_vm_slot *sl,
			u64 page, const void *data)
{
	unsigned long src = PC_SCRATCH(s, PC_WORKER_PAGE);
	int err;

	if (test_bit(page, sl->dirty))
		return 0;	/* here already: the source repeats itself */
	if (copy_to_user((void __user *)src, data, PAGE_SIZE))
		return -EFAULT;
	err = pcmig_uffd_copy(&s->pc.uffd, PC_SCRATCH(s, PC_WORKER_ARG),
			      sl->uaddr + (page << PAGE_SHIFT), src);
	if (err && err != -EEXIST)
		return err;
	placed(s, sl, page, 1);
	return 0;
}

/* Zero runs: only the pages not here yet, as runs of their own. */
int pcmig_pc_place_zero(struct pcmig_session *s, struct pcmig_vm_slot *sl,
			u64 page, u64 n)
{
	unsigned long b = page, e, end = page + n;
	int err;

	if (!pcmig_vm_run_in_slot(sl, page, n))
		return -EINVAL;
	for_each_clear_bitrange_from(b, e, sl->dirty, end) {
		err = pcmig_uffd_zero(&s->pc.uffd, PC_SCRATCH(s, PC_WORKER_ARG),
				      sl->uaddr + (b << PAGE_SHIFT),
				      (e - b) << PAGE_SHIFT);
		if (err && err != -EEXIST)
			return err;
		placed(s, sl, b, e - b);
	}
	return 0;
}

static struct pcmig_vm_slot *slot_of_addr(struct pcmig_vm *vm,
					  unsigned long addr, u64 *page)
{
	u32 i;

	for (i = 0; i < vm->nr_slots; i++) {
		struct pcmig_vm_slot *sl = &vm->slots[i];

		if (addr >= sl->uaddr &&
		    addr - sl->uaddr < (sl->npages << PAGE_SHIFT)) {
			*page = (addr - sl->uaddr) >> PAGE_SHIFT;
			return sl;
		}
	}
	return NULL;
}

/* One missing-page fault: ask the source for the page (rule S5). */
static int on_fault(struct pcmig_session *s, const struct uffd_msg *m)
{
	struct pcmig_postcopy *pc = &s->pc;
	unsigned long addr = m->arg.pagefault.address & PAGE_MASK;
	struct pcmig_pc_blocked *t;
	struct pcmig_vm_slot *sl;
	ktime_t now = ktime_get();
	u8 req[PCMIG_RAM_RUN_LEN];
	char comm[TASK_COMM_LEN];
	bool first, here, named;
	u64 page, gfn;

	if (m->event != UFFD_EVENT_PAGEFAULT)
		return 0;
	sl = slot_of_addr(&s->vm, addr, &page);
	if (!sl)
		return 0;	/* registered ranges are slots: cannot be */
	gfn = (sl->gpa >> PAGE_SHIFT) + page;
	first = !xa_insert(&pc->requested, gfn,
			   xa_mk_value(ktime_to_ns(now)), GFP_KERNEL);
	/* The name is looked up once per thread, outside the lock. */
	spin_lock(&pc->lock);
	t = thread_of(pc, m->arg.pagefault.feat.ptid);
	named = t && t->faults;
	spin_unlock(&pc->lock);
	if (!named)
		thread_name(m->arg.pagefault.feat.ptid, comm);
	spin_lock(&pc->lock);
	s->stats.pc_faults++;
	here = test_bit(page, sl->dirty);
	t = thread_of(pc, m->arg.pagefault.feat.ptid);
	if (t) {
		if (!t->faults)
			strscpy(t->comm, comm, sizeof(t->comm));
		t->faults++;
		if (!here) {
			t->waiting = true;
			t->gfn = gfn;
			t->since = now;
		}
	}
	if (!here && first)
		s->stats.pc_requests++;
	spin_unlock(&pc->lock);
	if (here) {
		/* Placed since the fault: make sure its thread runs on. */
		if (first)
			xa_erase(&pc->requested, gfn);
		return pcmig_uffd_wake(&pc->uffd, PC_SCRATCH(s, PC_FAULTER_ARG),
				       addr, PAGE_SIZE);
	}
	if (!first)
		return 0;	/* asked for already */
	pcmig_wire_put_ram_run(req, sl->gpa + (page << PAGE_SHIFT), 1);
	return pcmig_send_frame_urgent(s, PCMIG_SEC_RETURN, PCMIG_RET_PAGE_REQ,
				       req, sizeof(req));
}

static int faulter(void *data)
{
	struct pcmig_session *s = data;
	struct pcmig_postcopy *pc = &s->pc;
	struct uffd_msg *msgs;
	int n, i, err = 0;

	msgs = kmalloc_array(PC_MSGS_MAX, sizeof(*msgs), GFP_KERNEL);
	kthread_use_mm(s->vm.mm);
	while (!kthread_should_stop()) {
		if (err || !msgs) {
			/* Failed: the worker fails the session; wait for it. */
			schedule_timeout_interruptible(PC_IDLE);
			continue;
		}
		n = pcmig_uffd_read(&pc->uffd, PC_SCRATCH(s, PC_FAULTER_MSGS),
				    msgs, PC_MSGS_MAX);
		for (i = 0; i < n && !err; i++)
			err = on_fault(s, &msgs[i]);
		if (err) {
			WRITE_ONCE(pc->fault_why, err == -EINTR ? NULL :
				   "sending a page request failed");
			continue;
		}
		if (n > 0)
			continue;
		if (pcmig_vm_vmm_gone(&s->vm)) {
			WRITE_ONCE(pc->fault_why,
				   "the destination VMM exited during postcopy");
			err = -ESRCH;
			wake_up_all(&s->wq);
			continue;
		}
		pcmig_uffd_wait(&pc->uffd, PC_IDLE);
	}
	kthread_unuse_mm(s->vm.mm);
	kfree(msgs);
	return 0;
}

/* Make every page not received missing, then let faults come to us. */
static int register_memory(struct pcmig_session *s, const char **why)
{
	struct pcmig_vm *vm = &s->vm;
	unsigned long arg = PC_SCRATCH(s, PC_WORKER_ARG);
	unsigned long b, e;
	u32 i;
	int err;

	for (i = 0; i < vm->nr_slots; i++) {
		struct pcmig_vm_slot *sl = &vm->slots[i];

		for_each_clear_bitrange(b, e, sl->dirty, sl->npages) {
			err = pcmig_vm_zap(vm, sl, b, e - b);
			if (err == -EOPNOTSUPP)
				*why = "postcopy-ram needs anonymous private guest memory";
			else if (err)
				*why = "guest memory is not mapped in the VMM";
			if (err)
				return err;
			cond_resched();
		}
		err = pcmig_uffd_register(&s->pc.uffd, arg, sl->uaddr,
					  sl->npages << PAGE_SHIFT);
		if (err) {
			*why = "cannot register guest memory with the userfaultfd";
			return err;
		}
	}
	return 0;
}

int pcmig_pc_dest_start(struct pcmig_session *s, const char **why)
{
	struct pcmig_postcopy *pc = &s->pc;
	struct task_struct *t;
	int err;

	if (!pc->uffd.dev) {
		*why = "postcopy-ram was not prepared on this side";
		return -EINVAL;
	}
	if (s->vm.dirty == s->vm.pages)
		return 0;	/* every page is here: nothing to wait for */
	pc->ram = true;
	pc->samples = kvcalloc(PCMIG_PC_SAMPLES, sizeof(*pc->samples),
			       GFP_KERNEL);
	pc->scratch = vm_mmap(NULL, 0, PC_SCRATCH_PAGES * PAGE_SIZE,
			      PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (!pc->samples || IS_ERR_VALUE(pc->scratch)) {
		pc->scratch = 0;
		*why = "out of memory for postcopy";
		return -ENOMEM;
	}
	err = pcmig_uffd_create(&pc->uffd, PC_SCRATCH(s, PC_WORKER_ARG), why);
	if (err)
		return err;
	err = register_memory(s, why);
	if (err)
		return err;
	pc->active = true;
	t = kthread_run(faulter, s, "pcmig-flt/%u", s->id);
	if (IS_ERR(t)) {
		*why = "cannot create the fault thread";
		return PTR_ERR(t);
	}
	get_task_struct(t);
	pc->faulter = t;
	return 0;
}

/*
 * The end of postcopy.  On success every page is in place and the
 * registration goes.  On failure guest memory is revoked first, then the
 * userfaultfd is closed, which wakes every waiting thread into a fault on
 * inaccessible memory: KVM_RUN fails with EFAULT, the VMM learns of it.
 */
void pcmig_pc_dest_stop(struct pcmig_session *s, bool failed)
{
	struct pcmig_postcopy *pc = &s->pc;
	u32 i;

	if (pc->faulter) {
		kthread_stop(pc->faulter);
		put_task_struct(pc->faulter);
		pc->faulter = NULL;
	}
	if (pc->active && failed) {
		/*
		 * Could the memory not be revoked, the userfaultfd stays: the
		 * waiting threads stay blocked (killable) rather than read
		 * zeros, until the session goes.
		 */
		if (pcmig_vm_revoke(&s->vm)) {
			pc->active = false;
			return;
		}
	} else if (pc->active) {
		for (i = 0; i < s->vm.nr_slots; i++)
			pcmig_uffd_unregister(&pc->uffd,
					      PC_SCRATCH(s, PC_WORKER_ARG),
					      s->vm.slots[i].uaddr,
					      s->vm.slots[i].npages << PAGE_SHIFT);
	}
	pc->active = false;
	pcmig_uffd_close(&pc->uffd);
	if (pc->scratch)
		vm_munmap(pc->scratch, PC_SCRATCH_PAGES * PAGE_SIZE);
	pc->scratch = 0;
}

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

static int fill_threads(struct pcmig_session *s, struct sk_buff *skb)
{
	struct pcmig_pc_blocked *t;
	struct nlattr *nest;
	int err = 0;
	u32 n, i;

	t = kmalloc_array(PCMIG_PC_THREADS_MAX, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	spin_lock(&s->pc.lock);
	n = s->pc.nr_threads;
	memcpy(t, s->pc.threads, n * sizeof(*t));
	spin_unlock(&s->pc.lock);
	for (i = 0; i < n; i++) {
		u64 blocked = t[i].blocked_ns;

		if (t[i].waiting)
			blocked += ktime_to_ns(ktime_sub(ktime_get(),
							 t[i].since));
		nest = nla_nest_start(skb, PCMIG_STAT_PC_THREAD);
		if (!nest || nla_put_u32(skb, PCMIG_PCT_TID, t[i].tid) ||
		    nla_put_u64_64bit(skb, PCMIG_PCT_FAULTS, t[i].faults,
				      PCMIG_PCT_PAD) ||
		    nla_put_u64_64bit(skb, PCMIG_PCT_BLOCKED_US,
				      div_u64(blocked, NSEC_PER_USEC),
				      PCMIG_PCT_PAD) ||
		    (t[i].comm[0] &&
		     nla_put_string(skb, PCMIG_PCT_NAME, t[i].comm))) {
			err = -EMSGSIZE;
			break;
		}
		nla_nest_end(skb, nest);
	}
	kfree(t);
	return err;
}

int pcmig_pc_fill_stats(struct pcmig_session *s, struct sk_buff *skb)
{
	struct pcmig_stats *st = &s->stats;
	u64 p50 = 0, p99 = 0, max;
	u32 *v = NULL, n;

	spin_lock(&s->pc.lock);
	n = s->pc.nr_samples;
	max = s->pc.max_us;
	spin_unlock(&s->pc.lock);
	if (n)
		v = kvmalloc_array(n, sizeof(*v), GFP_KERNEL);
	if (v) {
		spin_lock(&s->pc.lock);
		n = min(n, s->pc.nr_samples);
		memcpy(v, s->pc.samples, n * sizeof(*v));
		spin_unlock(&s->pc.lock);
		sort(v, n, sizeof(*v), cmp_u32, NULL);
		p50 = v[(n - 1) / 2];
		p99 = v[div_u64((u64)(n - 1) * 99, 100)];
		kvfree(v);
	}
	if (nla_put_u64_64bit(skb, PCMIG_STAT_PC_REQUESTS,
			      READ_ONCE(st->pc_requests), PCMIG_STAT_PAD) ||
	    nla_put_u64_64bit(skb, PCMIG_STAT_PC_PAGES_REQUESTED,
			      READ_ONCE(st->pc_pages_requested),
			      PCMIG_STAT_PAD) ||
	    nla_put_u64_64bit(skb, PCMIG_STAT_PC_PAGES_BACKGROUND,
			      READ_ONCE(st->pc_pages_background),
			      PCMIG_STAT_PAD) ||
	    nla_put_u64_64bit(skb, PCMIG_STAT_PC_DUP_REQUESTS,
			      READ_ONCE(st->pc_dup_requests), PCMIG_STAT_PAD))
		return -EMSGSIZE;
	if (s->role != PCMIG_ROLE_DESTINATION)
		return 0;
	if (nla_put_u64_64bit(skb, PCMIG_STAT_PC_FAULTS,
			      READ_ONCE(st->pc_faults), PCMIG_STAT_PAD) ||
	    nla_put_u64_64bit(skb, PCMIG_STAT_PC_LATENCY_P50_US, p50,
			      PCMIG_STAT_PAD) ||
	    nla_put_u64_64bit(skb, PCMIG_STAT_PC_LATENCY_P99_US, p99,
			      PCMIG_STAT_PAD) ||
	    nla_put_u64_64bit(skb, PCMIG_STAT_PC_LATENCY_MAX_US, max,
			      PCMIG_STAT_PAD))
		return -EMSGSIZE;
	return fill_threads(s, skb);
}
