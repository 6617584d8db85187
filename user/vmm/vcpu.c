// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs: one thread each running KVM_RUN, the guest's I/O ports, and the
 * stop/resume handshake.
 *
 * Stop: the control thread sets vm->stop_req and, for every vCPU not yet
 * parked, run->immediate_exit = 1 and a SIGUSR1 (the signal kicks a vCPU
 * out of the guest; immediate_exit covers the window just before it
 * enters KVM_RUN).  The vCPU thread then calls KVM_RUN once more with
 * immediate_exit set, which completes a pending I/O instruction without
 * running guest code (api.rst, "KVM_RUN ... immediate_exit"), so the
 * registers are consistent for saving, and parks.  vm_stop() returns when
 * every vCPU is parked: that is the acknowledgement.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmm.h"
#include "ports.h"

int vcpu_create(struct vm *vm, unsigned int index)
{
	struct vcpu *v = &vm->vcpu[index];

	v->vm = vm;
	v->index = index;
	v->fd = ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, index);
	if (v->fd < 0)
		return -1;
	v->run = mmap(NULL, vm->kvm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return -1;
	}
	if (vm->kvm.ring_entries) {
		long pg = sysconf(_SC_PAGESIZE);

		v->ring = mmap(NULL, vm->kvm.ring_entries * sizeof(struct kvm_dirty_gfn),
			       PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
			       (off_t)KVM_DIRTY_LOG_PAGE_OFFSET * pg);
		if (v->ring == MAP_FAILED) {
			v->ring = NULL;
			return -1;
		}
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, vm->kvm.cpuid) < 0)
		return -1;
	if (index == 0)
		kvm_pick_msrs(&vm->kvm, v->fd);
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->ring)
		munmap(v->ring, v->vm->kvm.ring_entries * sizeof(struct kvm_dirty_gfn));
	if (v->run)
		munmap(v->run, v->vm->kvm.run_size);
	if (v->fd > 0)
		close(v->fd);
	v->ring = NULL;
	v->run = NULL;
	v->fd = -1;
}

/* Flat 32-bit protected mode as Multiboot v1 specifies it. */
int vcpu_boot_state(struct vcpu *v, uint32_t entry, uint32_t eax,
		    uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 0xb,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment data = code;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	data.selector = 0x10;
	data.type = 0x3;
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -1;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.cr0 = 0x11;	/* PE | ET; paging off, caches on */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -1;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = entry;
	regs.rax = eax;
	regs.rbx = ebx;
	regs.rcx = ecx;
	regs.rdx = edx;
	return ioctl(v->fd, KVM_SET_REGS, &regs);
}

static void kick_all(struct vm *vm);

static void report(struct vcpu *v, uint32_t gpa)
{
	struct vm *vm = v->vm;
	struct pcmig_report r;
	void *p = mem_hva(&vm->mem, gpa, sizeof(r));

	if (!p) {
		vm_fail(vm, EXIT_GUEST, "cpu %u: report at 0x%x outside RAM", v->index, gpa);
		return;
	}
	memcpy(&r, p, sizeof(r));
	if (r.magic != PCMIG_REPORT_MAGIC) {
		vm_fail(vm, EXIT_GUEST, "cpu %u: bad report magic 0x%x", v->index, r.magic);
		return;
	}
	pthread_mutex_lock(&vm->lock);
	switch (r.type) {
	case REPORT_LIVE:
		v->g.live_gpa = r.v[0];
		break;
	case REPORT_PROGRESS:
		v->g.progress_valid = 1;
		v->g.iters = r.v[0];
		v->g.writes = r.v[1];
		v->g.reads = r.v[2];
		v->g.readsum = r.v[3];
		v->g.sleeps = r.v[4];
		break;
	case REPORT_DIGEST:
		vm->result.valid = 1;
		vm->result.digest = r.v[0];
		vm->result.pages = r.v[1];
		vm->result.vcpus = r.v[2];
		vm->result.seed = r.v[3];
		vm->result.iters = r.v[4];
		vm->result.write_pct = r.v[5];
		break;
	case REPORT_DT_AREA:
		pthread_mutex_unlock(&vm->lock);
		dirtytest_area(vm, r.v[0], r.v[1], r.v[2]);
		return;
	default:
		pthread_mutex_unlock(&vm->lock);
		vm_fail(vm, EXIT_GUEST, "cpu %u: unknown report type %u", v->index, r.type);
		return;
	}
	pthread_mutex_unlock(&vm->lock);
}

static void vcpu_done(struct vcpu *v, uint32_t status, bool halted)
{
	pthread_mutex_lock(&v->vm->lock);
	v->g.done = 1;
	v->g.status = status;
	v->g.halted = halted;
	pthread_mutex_unlock(&v->vm->lock);
	vm_notify(v->vm);
}

static void io_out(struct vcpu *v, uint16_t port, uint32_t val)
{
	struct vm *vm = v->vm;

	switch (port) {
	case PORT_CONSOLE:
	case PORT_COM1:
		vm_console(vm, (char)val);
		break;
	case PORT_SLEEP: {
		struct timespec ts = { val / 1000000, (val % 1000000) * 1000 };

		v->g.sleep_us += val;
		/* a stop request's signal cuts the sleep short: harmless */
		nanosleep(&ts, NULL);
		break;
	}
	case PORT_REPORT:
		report(v, val);
		break;
	case PORT_EXIT:
		vcpu_done(v, val, false);
		break;
	case PORT_DEBUG_EXIT:
		/* QEMU's isa-debug-exit ends the whole VM */
		pthread_mutex_lock(&vm->lock);
		for (unsigned int i = 0; i < vm->nvcpus; i++) {
			if (!vm->vcpu[i].g.done) {
				vm->vcpu[i].g.done = 1;
				vm->vcpu[i].g.status = val;
			}
		}
		kick_all(vm);
		pthread_mutex_unlock(&vm->lock);
		vm_notify(vm);
		break;
	default:
		break;	/* other ports, incl. the rest of the UART: ignored */
	}
}

static uint32_t io_in(struct vcpu *v, uint16_t port)
{
	switch (port) {
	case PORT_FINISH:
		return __atomic_load_n(&v->vm->finish_req, __ATOMIC_ACQUIRE);
	case PORT_DT_NEXT:
		return dirtytest_next(v);
	case PORT_COM1 + 5:
		return 0x60;	/* LSR: transmitter empty */
	default:
		return port >= PORT_COM1 && port < PORT_COM1 + 8 ? 0 : 0xffffffff;
	}
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	v->g.io_exits++;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		uint32_t val = 0;

		if (run->io.direction == KVM_EXIT_IO_OUT) {
			memcpy(&val, data, run->io.size);
			io_out(v, run->io.port, val);
		} else {
			val = io_in(v, run->io.port);
			memcpy(data, &val, run->io.size);
		}
	}
}

/* Park while stopped or done; false when the VMM quits. */
static bool wait_runnable(struct vcpu *v)
{
	struct vm *vm = v->vm;
	bool ok;

	pthread_mutex_lock(&vm->lock);
	while (!vm->quit && (vm->stop_req || v->g.done || vm->fatal)) {
		if (!v->parked) {
			/* Complete a pending IN/OUT so the state is consistent;
			 * KVM_RUN returns -EINTR at once, and still not under
			 * the lock, which the control thread must always get. */
			pthread_mutex_unlock(&vm->lock);
			__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
			ioctl(v->fd, KVM_RUN, 0);
			pthread_mutex_lock(&vm->lock);
			__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
			v->parked = true;
			pthread_cond_broadcast(&vm->cond);
			continue;	/* the state may have changed meanwhile */
		}
		pthread_cond_wait(&vm->cond, &vm->lock);
	}
	v->parked = false;
	ok = !vm->quit;
	pthread_mutex_unlock(&vm->lock);
	return ok;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	struct kvm_run *run = v->run;

	while (wait_runnable(v)) {
		int r = ioctl(v->fd, KVM_RUN, 0);

		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_fail(vm, EXIT_ENV, "cpu %u: KVM_RUN: %s", v->index, strerror(errno));
			continue;
		}
		v->g.exits++;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(v);
			break;
		case KVM_EXIT_HLT:
			vcpu_done(v, 0, true);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_DIRTY_RING_FULL:
			dirty_ring_full(v);
			break;
		case KVM_EXIT_MMIO:
			vm_fail(vm, EXIT_GUEST, "cpu %u: %s 0x%llx, which is not RAM",
				v->index, run->mmio.is_write ? "write to" : "read from",
				(unsigned long long)run->mmio.phys_addr);
			break;
		case KVM_EXIT_SHUTDOWN:
			vm_fail(vm, EXIT_GUEST, "cpu %u: triple fault (shutdown)", v->index);
			break;
		case KVM_EXIT_FAIL_ENTRY:
			vm_fail(vm, EXIT_GUEST, "cpu %u: entry failed, reason 0x%llx", v->index,
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			vm_fail(vm, EXIT_GUEST, "cpu %u: KVM internal error, suberror %u",
				v->index, run->internal.suberror);
			break;
		default:
			vm_fail(vm, EXIT_GUEST, "cpu %u: unhandled exit reason %u",
				v->index, run->exit_reason);
			break;
		}
	}
	return NULL;
}

static void kick_handler(int sig)
{
	(void)sig;
}

int vcpus_start(struct vm *vm)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;	/* no SA_RESTART: KVM_RUN returns EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return -1;
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		char name[16];

		errno = pthread_create(&vm->vcpu[i].thread, NULL, vcpu_thread, &vm->vcpu[i]);
		if (errno)
			return -1;
		/* Named, so per-thread reports (postcopy faults) say which. */
		snprintf(name, sizeof(name), "vcpu%u", i);
		pthread_setname_np(vm->vcpu[i].thread, name);
		vm->vcpu[i].thread_started = true;
	}
	return 0;
}

/* Under vm->lock: make every vCPU leave KVM_RUN soon. */
static void kick_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];

		if (!v->thread_started || v->parked)
			continue;
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, SIGUSR1);
	}
}

static bool all_parked(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nvcpus; i++)
		if (vm->vcpu[i].thread_started && !vm->vcpu[i].parked)
			return false;
	return true;
}

void vm_stop(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->stop_req = true;
	kick_all(vm);
	while (!all_parked(vm)) {
		struct timespec ts;

		/* re-kick now and then: a vCPU may have been between its
		 * check and KVM_RUN, or asleep in PORT_SLEEP */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&vm->cond, &vm->lock, &ts) == ETIMEDOUT)
			kick_all(vm);
	}
	pthread_mutex_unlock(&vm->lock);
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->stop_req = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

void vm_quit(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->quit = true;
	kick_all(vm);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpu[i].thread_started)
			pthread_join(vm->vcpu[i].thread, NULL);
		vm->vcpu[i].thread_started = false;
	}
}

bool vm_all_done(struct vm *vm)
{
	bool done = true;

	pthread_mutex_lock(&vm->lock);
	for (unsigned int i = 0; i < vm->nvcpus; i++)
		done &= vm->vcpu[i].g.done != 0;
	pthread_mutex_unlock(&vm->lock);
	return done;
}

bool vm_stopped(struct vm *vm)
{
	bool s;

	pthread_mutex_lock(&vm->lock);
	s = vm->stop_req && all_parked(vm);
	pthread_mutex_unlock(&vm->lock);
	return s;
}
