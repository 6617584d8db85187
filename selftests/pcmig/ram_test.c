// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM through the module, with real KVM VMs made here (no vCPU):
 * memory of several memslots, data and zero pages, arrives intact in the
 * destination VM, in dirty-bitmap and dirty-ring mode; the stop request
 * and its acknowledgement; a destination whose layout differs is refused
 * before any page, with both layouts in the reason; VM attach errors.
 * The tracking of guest writes is tested with a running guest by
 * ram_migrate_test.sh (the reference VMM).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kselftest_harness.h"
#include "lib/kvm_vm.h"
#include "lib/pcmig_nl.h"

/* Random data with every third page zero; the destination starts dirty. */
static void fill(struct vm *src, struct vm *dst)
{
	unsigned long i, p;
	int s;

	srandom(7);
	for (s = 0; s < NSLOTS; s++)
		for (p = 0; p < slot_pages[s]; p++) {
			unsigned char *pg = src->mem[s] + p * PAGE;

			if (p % 3 == 0)
				memset(pg, 0, PAGE);
			else
				for (i = 0; i < PAGE; i++)
					pg[i] = random();
			memset(dst->mem[s] + p * PAGE, 0xaa, PAGE);
		}
}

FIXTURE(ram) {
	struct tnl nl;
	struct vm src, dst;
	uint32_t sid, did;
	int sp[2];
	unsigned long dst_last;
};

FIXTURE_VARIANT(ram) {
	bool ring;
};

FIXTURE_VARIANT_ADD(ram, dirty_bitmap) {
	.ring = false,
};

FIXTURE_VARIANT_ADD(ram, dirty_ring) {
	.ring = true,
};

FIXTURE_SETUP(ram)
{
	if (access("/dev/kvm", R_OK | W_OK))
		SKIP(return, "no /dev/kvm");
	ASSERT_EQ(0, tnl_open(&self->nl));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->sp));
	ASSERT_EQ(0, vm_create(&self->src, variant->ring,
			       slot_pages[NSLOTS - 1]));
	self->dst_last = slot_pages[NSLOTS - 1];
	ASSERT_EQ(0, vm_create(&self->dst, false, self->dst_last));
	ASSERT_EQ(0, tnl_new(&self->nl, PCMIG_ROLE_SOURCE, 0, &self->sid));
	ASSERT_EQ(0, tnl_new(&self->nl, PCMIG_ROLE_DESTINATION, 0,
			     &self->did));
	ASSERT_EQ(0, tnl_attach(&self->nl, self->sid, self->sp[0]));
	ASSERT_EQ(0, tnl_attach(&self->nl, self->did, self->sp[1]));
}

FIXTURE_TEARDOWN(ram)
{
	tnl_close(&self->nl);
	close(self->sp[0]);
	close(self->sp[1]);
	vm_destroy(&self->src, slot_pages[NSLOTS - 1]);
	vm_destroy(&self->dst, self->dst_last);
}

/* Play the destination's VMM: wait for the resume request, acknowledge. */
static int ack_resume(struct tnl *nl, uint32_t id)
{
	struct tnl_session s;
	int i;

	for (i = 0; i < 6000; i++) {
		if (tnl_get(nl, id, &s))
			return -EIO;
		if (s.resume_requested)
			return tnl_simple(nl, PCMIG_CMD_VM_RESUMED, id);
		if (s.phase >= PCMIG_PHASE_COMPLETED)
			return -ECANCELED;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

TEST_F(ram, arrives_intact)
{
	unsigned long total = 0;
	struct tnl_session s, d;
	char state[8];
	int i;

	for (i = 0; i < NSLOTS; i++)
		total += slot_pages[i];
	fill(&self->src, &self->dst);
	ASSERT_EQ(0, vm_attach(&self->nl, self->sid, self->src.fd))
		TH_LOG("%s", self->nl.errmsg);
	ASSERT_EQ(0, vm_attach(&self->nl, self->did, self->dst.fd))
		TH_LOG("%s", self->nl.errmsg);
	ASSERT_EQ(0, tnl_get(&self->nl, self->sid, &s));
	EXPECT_EQ(total * PAGE, s.ram_size);
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->did));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->sid));
	ASSERT_EQ(0, ack_stop(&self->nl, self->sid));
	/* The source completes only once the destination's VM runs. */
	ASSERT_EQ(0, ack_resume(&self->nl, self->did));
	EXPECT_EQ(PCMIG_PHASE_COMPLETED,
		  tnl_wait_phase(&self->nl, self->sid, PCMIG_PHASE_COMPLETED,
				 60000));
	EXPECT_EQ(PCMIG_PHASE_COMPLETED,
		  tnl_wait_phase(&self->nl, self->did, PCMIG_PHASE_COMPLETED,
				 60000));
	ASSERT_EQ(0, tnl_get(&self->nl, self->sid, &s));
	ASSERT_EQ(0, tnl_get(&self->nl, self->did, &d));
	EXPECT_STREQ("", s.reason);
	EXPECT_STREQ("", d.reason);
	for (i = 0; i < NSLOTS; i++)
		EXPECT_EQ(0, memcmp(self->src.mem[i], self->dst.mem[i],
				    slot_pages[i] * PAGE)) TH_LOG("slot %d", i);
	/* Zero pages go as runs: every page once, a third of them as zero. */
	EXPECT_EQ(total, s.pages_sent + s.zero_pages);
	EXPECT_EQ(s.pages_sent, d.pages_sent);
	EXPECT_EQ(s.zero_pages, d.zero_pages);
	EXPECT_GE(s.zero_pages, total / 3);
	/* Less than the memory: the zero pages took no room. */
	EXPECT_LT(s.bytes_sent, total * PAGE);
	ASSERT_EQ(5, tnl_devstate_get(&self->nl, self->did, state,
				      sizeof(state)));
	EXPECT_EQ(0, memcmp(state, "vcpus", 5));
}

TEST_F(ram, attach_errors)
{
	int pipefd[2];

	ASSERT_EQ(0, pipe(pipefd));
	EXPECT_EQ(-EINVAL, vm_attach(&self->nl, self->sid, pipefd[0]));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "not a KVM VM"));
	EXPECT_EQ(-EBADF, vm_attach(&self->nl, self->sid, 1000));
	EXPECT_EQ(0, vm_attach(&self->nl, self->sid, self->src.fd));
	EXPECT_EQ(-EBUSY, vm_attach(&self->nl, self->sid, self->src.fd));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "attached already"));
	EXPECT_EQ(-EINVAL, tnl_simple(&self->nl, PCMIG_CMD_VM_STOPPED,
				      self->sid));
	EXPECT_NE(NULL, strstr(self->nl.errmsg, "no stop request"));
	close(pipefd[0]);
	close(pipefd[1]);
}

/* Rule: a destination whose memory differs gets no page at all. */
TEST_F(ram, layout_mismatch_refused)
{
	struct tnl_session s, d;
	struct vm other;

	memset(&other, 0, sizeof(other));
	ASSERT_EQ(0, vm_create(&other, false, slot_pages[NSLOTS - 1] * 2));
	fill(&self->src, &self->dst);
	ASSERT_EQ(0, vm_attach(&self->nl, self->sid, self->src.fd));
	ASSERT_EQ(0, vm_attach(&self->nl, self->did, other.fd));
	memset(other.mem[0], 0xaa, PAGE);
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->did));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->sid));
	EXPECT_EQ(PCMIG_PHASE_FAILED,
		  tnl_wait_phase(&self->nl, self->did, PCMIG_PHASE_COMPLETED,
				 60000));
	EXPECT_EQ(PCMIG_PHASE_FAILED,
		  tnl_wait_phase(&self->nl, self->sid, PCMIG_PHASE_COMPLETED,
				 60000));
	ASSERT_EQ(0, tnl_get(&self->nl, self->did, &d));
	ASSERT_EQ(0, tnl_get(&self->nl, self->sid, &s));
	TH_LOG("destination: %s", d.reason);
	TH_LOG("source: %s", s.reason);
	EXPECT_NE(NULL, strstr(d.reason, "memory layout differs: source "
			       "0x0+640K,0x100000+1024K,0x300000+256K, this VM "
			       "0x0+640K,0x100000+1024K,0x300000+512K"));
	EXPECT_NE(NULL, strstr(s.reason, "memory layout differs"));
	EXPECT_EQ(0, d.pages_sent);
	/* Not one page written. */
	EXPECT_EQ(0xaa, other.mem[0][0]);
	vm_destroy(&other, slot_pages[NSLOTS - 1] * 2);
}

TEST_F(ram, destination_without_vm_refuses_ram)
{
	struct tnl_session d;

	ASSERT_EQ(0, vm_attach(&self->nl, self->sid, self->src.fd));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->did));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->sid));
	EXPECT_EQ(PCMIG_PHASE_FAILED,
		  tnl_wait_phase(&self->nl, self->did, PCMIG_PHASE_COMPLETED,
				 60000));
	ASSERT_EQ(0, tnl_get(&self->nl, self->did, &d));
	EXPECT_NE(NULL, strstr(d.reason, "no VM is attached here"));
}

/*
 * A real-mode guest program at gpa 0x1000 that writes 0x55 to the first
 * byte of each page in @pages (all below 0x10fff0: real mode reaches the
 * first slot and, through segment 0xffff, 15 pages of the second), then
 * halts.  Returns the code's length.
 */
static size_t guest_code(unsigned char *c, const unsigned long *pages, int n)
{
	size_t len = 0;
	int i;

	for (i = 0; i < n; i++) {
		unsigned long seg = pages[i] < 0x100000 ? pages[i] >> 4 : 0xffff;
		unsigned long off = pages[i] - seg * 16;

		c[len++] = 0xb8;			/* mov ax, seg */
		c[len++] = seg;
		c[len++] = seg >> 8;
		c[len++] = 0x8e;			/* mov ds, ax */
		c[len++] = 0xd8;
		c[len++] = 0xc6;			/* mov byte [off], 0x55 */
		c[len++] = 0x06;
		c[len++] = off;
		c[len++] = off >> 8;
		c[len++] = 0x55;
	}
	c[len++] = 0xf4;				/* hlt */
	return len;
}

/* Run vCPU 0 of @v from 0x100:0 (gpa 0x1000) until it halts. */
static int run_guest(struct vm *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 2 };
	struct kvm_run *run;
	int vcpu, size, ret = -EIO;

	vcpu = ioctl(v->fd, KVM_CREATE_VCPU, 0);
	size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || size <= 0)
		return -errno;
	run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs))
		goto out;
	sregs.cs.base = 0x1000;
	sregs.cs.selector = 0x100;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) ||
	    ioctl(vcpu, KVM_SET_REGS, &regs))
		goto out;
	while (!ioctl(vcpu, KVM_RUN, 0)) {
		if (run->exit_reason == KVM_EXIT_HLT) {
			ret = 0;
			break;
		}
		if (run->exit_reason != KVM_EXIT_DIRTY_RING_FULL)
			break;
		usleep(1000);	/* the module harvests the ring */
	}
out:
	if (run != MAP_FAILED)
		munmap(run, size);
	close(vcpu);
	return ret;
}

/*
 * Tracking, as KVM's dirty_log_test proves it: after the first pass the
 * guest writes known pages (while the source waits for its VMM to stop);
 * each of them is sent again and arrives, other pages are not sent again
 * (beyond the few KVM dirties itself).
 */
TEST_F(ram, guest_writes_are_tracked)
{
	static const unsigned long pages[] = {
		0x20000, 0x23000, 0x30000, 0x31000, 0x4f000, 0x60000,
		0x9e000, 0x100000, 0x104000, 0x10e000,
	};
	const int n = sizeof(pages) / sizeof(pages[0]);
	unsigned long total = 0, resent;
	struct tnl_session s, d;
	int i;

	for (i = 0; i < NSLOTS; i++)
		total += slot_pages[i];
	fill(&self->src, &self->dst);
	guest_code(self->src.mem[0] + 0x1000, pages, n);
	ASSERT_EQ(0, vm_attach(&self->nl, self->sid, self->src.fd));
	ASSERT_EQ(0, vm_attach(&self->nl, self->did, self->dst.fd));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->did));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->sid));
	for (i = 0; i < 3000; i++) {
		ASSERT_EQ(0, tnl_get(&self->nl, self->sid, &s));
		if (s.stop_requested)
			break;
		usleep(10000);
	}
	ASSERT_TRUE(s.stop_requested);
	/* The first pass is done: every page went once. */
	ASSERT_EQ(total, s.pages_sent + s.zero_pages);
	ASSERT_EQ(0, run_guest(&self->src));
	for (i = 0; i < n; i++) {
		unsigned long p = pages[i];
		unsigned char *b = p < 0x100000 ? self->src.mem[0] + p :
				   self->src.mem[1] + p - 0x100000;

		ASSERT_EQ(0x55, *b) TH_LOG("guest did not write 0x%lx", p);
	}
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_VM_STOPPED, self->sid));
	ASSERT_EQ(0, ack_resume(&self->nl, self->did));
	EXPECT_EQ(PCMIG_PHASE_COMPLETED,
		  tnl_wait_phase(&self->nl, self->sid, PCMIG_PHASE_COMPLETED,
				 60000));
	EXPECT_EQ(PCMIG_PHASE_COMPLETED,
		  tnl_wait_phase(&self->nl, self->did, PCMIG_PHASE_COMPLETED,
				 60000));
	ASSERT_EQ(0, tnl_get(&self->nl, self->sid, &s));
	ASSERT_EQ(0, tnl_get(&self->nl, self->did, &d));
	for (i = 0; i < NSLOTS; i++)
		EXPECT_EQ(0, memcmp(self->src.mem[i], self->dst.mem[i],
				    slot_pages[i] * PAGE)) TH_LOG("slot %d", i);
	resent = s.pages_sent + s.zero_pages - total;
	TH_LOG("pages sent again after the guest ran: %lu (%d written)",
	       resent, n);
	EXPECT_GE(resent, n);
	EXPECT_LE(resent, n + 4);
}

/*
 * The destination's VMM cannot resume (it cancels instead): the source
 * fails with the destination's reason, so its VMM keeps the guest.
 */
TEST_F(ram, destination_that_cannot_resume_fails_the_source)
{
	struct tnl_session s, d;
	int i;

	fill(&self->src, &self->dst);
	ASSERT_EQ(0, vm_attach(&self->nl, self->sid, self->src.fd));
	ASSERT_EQ(0, vm_attach(&self->nl, self->did, self->dst.fd));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->did));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->sid));
	ASSERT_EQ(0, ack_stop(&self->nl, self->sid));
	for (i = 0; i < 6000; i++) {
		ASSERT_EQ(0, tnl_get(&self->nl, self->did, &d));
		if (d.resume_requested)
			break;
		usleep(10000);
	}
	ASSERT_TRUE(d.resume_requested);
	ASSERT_EQ(0, tnl_get(&self->nl, self->sid, &s));
	EXPECT_EQ(PCMIG_PHASE_STOPPED, s.phase) TH_LOG("source ran ahead");
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_CANCEL, self->did));
	EXPECT_EQ(PCMIG_PHASE_FAILED,
		  tnl_wait_phase(&self->nl, self->sid, PCMIG_PHASE_COMPLETED,
				 20000));
	ASSERT_EQ(0, tnl_get(&self->nl, self->sid, &s));
	TH_LOG("source: %s", s.reason);
	EXPECT_NE(NULL, strstr(s.reason, "cancelled on the destination"));
	EXPECT_EQ(-EINVAL, tnl_simple(&self->nl, PCMIG_CMD_VM_RESUMED,
				      self->did));
}

/* Cancel while the source waits for its VMM: both sides end cleanly. */
TEST_F(ram, cancel_while_waiting_for_stop)
{
	struct tnl_session s;
	int i;

	fill(&self->src, &self->dst);
	ASSERT_EQ(0, vm_attach(&self->nl, self->sid, self->src.fd));
	ASSERT_EQ(0, vm_attach(&self->nl, self->did, self->dst.fd));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->did));
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_START, self->sid));
	for (i = 0; i < 3000; i++) {
		ASSERT_EQ(0, tnl_get(&self->nl, self->sid, &s));
		if (s.stop_requested)
			break;
		usleep(10000);
	}
	ASSERT_TRUE(s.stop_requested);
	ASSERT_EQ(0, tnl_simple(&self->nl, PCMIG_CMD_CANCEL, self->sid));
	EXPECT_EQ(PCMIG_PHASE_CANCELLED,
		  tnl_wait_phase(&self->nl, self->sid, PCMIG_PHASE_COMPLETED,
				 20000));
	EXPECT_EQ(PCMIG_PHASE_CANCELLED,
		  tnl_wait_phase(&self->nl, self->did, PCMIG_PHASE_COMPLETED,
				 20000));
	ASSERT_EQ(0, tnl_get(&self->nl, self->sid, &s));
	EXPECT_FALSE(s.stop_requested);
}

TEST_HARNESS_MAIN
