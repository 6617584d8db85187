/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A userfaultfd of the VMM's mm, driven by the module (destination, RAM
 * postcopy).
 *
 * The module is the userfaultfd handler on the VMM's behalf, so the VMM
 * needs nothing beyond the contract of vm.h: /dev/userfaultfd is opened
 * in process context (the user starting the session); the session worker,
 * inside the VMM's mm (kthread_use_mm()), asks it for a userfaultfd of
 * that mm and registers guest memory in missing mode.  Every access to a
 * page that has not arrived, by a vCPU through KVM or by the VMM itself,
 * then waits in handle_userfault() until the module places the page with
 * UFFDIO_COPY (or UFFDIO_ZEROPAGE), which wakes it.  The ioctls take their
 * arguments in user memory: a scratch mapping in the VMM's mm, one part
 * per thread that uses the userfaultfd.
 */
#ifndef _PCMIG_UFFD_H
#define _PCMIG_UFFD_H

#include <linux/poll.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>
#include <linux/wait.h>

struct file;

struct pcmig_uffd {
	struct file *dev;		/* /dev/userfaultfd */
	struct file *file;		/* the userfaultfd */
	wait_queue_head_t *wqh;		/* the userfaultfd's poll queue */
	wait_queue_entry_t wait;	/* ... our entry on it */
	poll_table pt;
	wait_queue_head_t ready_wq;	/* woken when a fault is queued */
	bool ready;
};

/* Process context: open /dev/userfaultfd with the caller's rights. */
int pcmig_uffd_open_dev(struct pcmig_uffd *u, const char **why);
/* Worker, inside the VMM's mm; @arg: scratch user memory for ioctls. */
int pcmig_uffd_create(struct pcmig_uffd *u, unsigned long arg,
		      const char **why);
void pcmig_uffd_close(struct pcmig_uffd *u);

int pcmig_uffd_register(struct pcmig_uffd *u, unsigned long arg,
			unsigned long start, unsigned long len);
int pcmig_uffd_unregister(struct pcmig_uffd *u, unsigned long arg,
			  unsigned long start, unsigned long len);
/* Place the page at user address @src at @dst; wakes who waits on it. */
int pcmig_uffd_copy(struct pcmig_uffd *u, unsigned long arg,
		    unsigned long dst, unsigned long src);
int pcmig_uffd_zero(struct pcmig_uffd *u, unsigned long arg,
		    unsigned long start, unsigned long len);
int pcmig_uffd_wake(struct pcmig_uffd *u, unsigned long arg,
		    unsigned long start, unsigned long len);

/*
 * Queued fault messages into @msgs (at most @n), through user memory @buf
 * of n * sizeof(struct uffd_msg) bytes; -EAGAIN when none is queued.
 */
int pcmig_uffd_read(struct pcmig_uffd *u, unsigned long buf,
		    struct uffd_msg *msgs, unsigned int n);
/* Wait up to @timeout jiffies for a fault to be queued. */
void pcmig_uffd_wait(struct pcmig_uffd *u, long timeout);

#endif /* _PCMIG_UFFD_H */
