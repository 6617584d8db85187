// SPDX-License-Identifier: GPL-2.0
/*
 * The module's userfaultfd client (uffd.h).
 */
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/uaccess.h>

#include "uffd.h"

#define PCMIG_UFFD_DEV	"/dev/userfaultfd"

int pcmig_uffd_open_dev(struct pcmig_uffd *u, const char **why)
{
	struct file *f = filp_open(PCMIG_UFFD_DEV, O_RDWR | O_CLOEXEC, 0);

	if (IS_ERR(f)) {
		*why = "postcopy-ram needs " PCMIG_UFFD_DEV " (Linux >= 6.1), and access";
		return PTR_ERR(f);
	}
	u->dev = f;
	return 0;
}

/* One ioctl on the userfaultfd with its argument copied through @ua. */
static long uffd_ioctl(struct pcmig_uffd *u, unsigned long ua,
		       unsigned int cmd, void *arg, size_t len)
{
	long ret;

	if (copy_to_user((void __user *)ua, arg, len))
		return -EFAULT;
	ret = u->file->f_op->unlocked_ioctl(u->file, cmd, ua);
	if (copy_from_user(arg, (void __user *)ua, len) && !ret)
		ret = -EFAULT;
	return ret;
}

/* Called by vfs_poll(): put our entry on the userfaultfd's queue. */
static void uffd_queue_proc(struct file *file, wait_queue_head_t *wqh,
			    poll_table *pt)
{
	struct pcmig_uffd *u = container_of(pt, struct pcmig_uffd, pt);

	u->wqh = wqh;
	add_wait_queue(wqh, &u->wait);
}

/* A fault was queued (called under the queue's lock: only flag it). */
static int uffd_wake(wait_queue_entry_t *wait, unsigned int mode, int sync,
		     void *key)
{
	struct pcmig_uffd *u = container_of(wait, struct pcmig_uffd, wait);

	WRITE_ONCE(u->ready, true);
	wake_up(&u->ready_wq);
	return 0;
}

int pcmig_uffd_create(struct pcmig_uffd *u, unsigned long arg,
		      const char **why)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_THREAD_ID,
	};
	long fd;
	int err;

	/*
	 * USERFAULTFD_IOC_NEW makes a userfaultfd of current->mm, the VMM's
	 * here, and installs it in current's table (the kernel threads'):
	 * keep the file, drop the descriptor at once.
	 */
	fd = u->dev->f_op->unlocked_ioctl(u->dev, USERFAULTFD_IOC_NEW,
					  O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		*why = "cannot create a userfaultfd for the VMM";
		return fd;
	}
	u->file = fget(fd);
	close_fd(fd);
	if (!u->file) {
		*why = "userfaultfd vanished";
		return -EBADF;
	}
	err = uffd_ioctl(u, arg, UFFDIO_API, &api, sizeof(api));
	if (err) {
		*why = "userfaultfd: UFFDIO_API failed";
		return err;
	}
	init_waitqueue_head(&u->ready_wq);
	init_waitqueue_func_entry(&u->wait, uffd_wake);
	init_poll_funcptr(&u->pt, uffd_queue_proc);
	vfs_poll(u->file, &u->pt);
	if (!u->wqh) {
		*why = "userfaultfd cannot be polled";
		return -EINVAL;
	}
	return 0;
}

void pcmig_uffd_close(struct pcmig_uffd *u)
{
	if (u->wqh)
		remove_wait_queue(u->wqh, &u->wait);
	u->wqh = NULL;
	/*
	 * The last reference: userfaultfd_release() unregisters the ranges
	 * and wakes every thread still waiting, which then faults again.
	 */
	if (u->file)
		fput(u->file);
	u->file = NULL;
	if (u->dev)
		fput(u->dev);
	u->dev = NULL;
}

int pcmig_uffd_register(struct pcmig_uffd *u, unsigned long arg,
			unsigned long start, unsigned long len)
{
	struct uffdio_register r = {
		.range = { .start = start, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	return uffd_ioctl(u, arg, UFFDIO_REGISTER, &r, sizeof(r));
}

int pcmig_uffd_unregister(struct pcmig_uffd *u, unsigned long arg,
			  unsigned long start, unsigned long len)
{
	struct uffdio_range r = { .start = start, .len = len };

	return uffd_ioctl(u, arg, UFFDIO_UNREGISTER, &r, sizeof(r));
}

int pcmig_uffd_copy(struct pcmig_uffd *u, unsigned long arg,
		    unsigned long dst, unsigned long src)
{
	struct uffdio_copy c = { .dst = dst, .src = src, .len = PAGE_SIZE };
	long ret;

	/* -EAGAIN: the mm changed under the copy; nothing was placed. */
	do {
		c.copy = 0;
		ret = uffd_ioctl(u, arg, UFFDIO_COPY, &c, sizeof(c));
	} while (ret == -EAGAIN && !c.copy);
	return ret;
}

int pcmig_uffd_zero(struct pcmig_uffd *u, unsigned long arg,
		    unsigned long start, unsigned long len)
{
	struct uffdio_zeropage z = { .range = { .start = start, .len = len } };
	long ret;

	while (len) {
		z.zeropage = 0;
		ret = uffd_ioctl(u, arg, UFFDIO_ZEROPAGE, &z, sizeof(z));
		if (z.zeropage > 0) {
			/* In part: go on after what was placed. */
			z.range.start += z.zeropage;
			z.range.len -= z.zeropage;
			len = z.range.len;
			continue;
		}
		if (ret && ret != -EAGAIN)
			return ret;
		if (!ret)
			return 0;
	}
	return 0;
}

int pcmig_uffd_wake(struct pcmig_uffd *u, unsigned long arg,
		    unsigned long start, unsigned long len)
{
	struct uffdio_range r = { .start = start, .len = len };

	return uffd_ioctl(u, arg, UFFDIO_WAKE, &r, sizeof(r));
}

int pcmig_uffd_read(struct pcmig_uffd *u, unsigned long buf,
		    struct uffd_msg *msgs, unsigned int n)
{
	size_t len = n * sizeof(*msgs);
	loff_t pos = 0;
	ssize_t got;

	WRITE_ONCE(u->ready, false);
	/*
	 * The userfaultfd's ->read() writes to user memory (6.1), its
	 * ->read_iter() (later kernels) takes kernel memory too.
	 */
	if (u->file->f_op->read_iter) {
		got = kernel_read(u->file, msgs, len, &pos);
	} else {
		got = u->file->f_op->read(u->file, (char __user *)buf, len,
					  &pos);
		if (got > 0 && copy_from_user(msgs, (void __user *)buf, got))
			return -EFAULT;
	}
	if (got < 0)
		return got;
	return got / sizeof(*msgs);
}

void pcmig_uffd_wait(struct pcmig_uffd *u, long timeout)
{
	wait_event_interruptible_timeout(u->ready_wq, READ_ONCE(u->ready),
					 timeout);
}
