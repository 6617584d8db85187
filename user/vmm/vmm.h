/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pcmig-vmm: the VM, its vCPUs and the state shared between the vCPU
 * threads and the main (control) thread.
 *
 * Locking: vm->lock protects the run state (stop_req, quit, parked, done)
 * and the VMM-side per-vCPU state; vm->cond signals every change of it.
 * The vCPU threads never hold the lock while in KVM_RUN.
 */
#ifndef PCMIG_VMM_H
#define PCMIG_VMM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "kvm.h"
#include "memslots.h"
#include "dirty.h"

#define VMM_MAX_VCPUS	16

/* Exit status of pcmig-vmm (also in --help and vmm.rst). */
enum {
	EXIT_OK = 0,		/* the guest finished, status 0 */
	EXIT_GUEST = 1,		/* the guest failed */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_ENV = 3,		/* KVM or the environment failed */
	EXIT_INPUT = 4,		/* bad kernel image or state file, layout mismatch */
	EXIT_STOPPED = 5,	/* ended before the guest finished (quit, signal) */
};

/* What the guest told the VMM; part of the device state. */
struct vcpu_guest {
	uint32_t done;		/* vCPU signalled exit or halted */
	uint32_t status;	/* its exit status */
	uint32_t halted;	/* ended by HLT rather than PORT_EXIT */
	uint32_t progress_valid;
	uint64_t live_gpa;	/* struct pcmig_live of this vCPU, 0 if none */
	uint64_t iters, writes, reads, readsum, sleeps;
	uint64_t exits, io_exits, sleep_us, ring_full;
};

struct vcpu {
	struct vm *vm;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	bool parked;		/* waiting in the stop loop (under vm->lock) */
	struct kvm_dirty_gfn *ring;
	uint32_t ring_fetch;
	struct vcpu_guest g;
};

struct vm_result {
	uint32_t valid;
	uint32_t pad;
	uint64_t digest, pages, vcpus, seed, iters, write_pct;
};

struct vm {
	struct kvm_vm kvm;
	struct vmm_mem mem;
	struct dirty dirty;
	unsigned int nvcpus;
	struct vcpu vcpu[VMM_MAX_VCPUS];

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop_req;
	bool quit;
	uint32_t finish_req;	/* guest asked to finish (PORT_FINISH) */
	int fatal;		/* an EXIT_* code once something went wrong */
	char fatal_msg[256];
	int notify_fd;		/* eventfd: a vCPU finished or failed */

	/*
	 * Migration (control commands vmfd, devstate, load-devstate):
	 * incoming: started with --incoming and no state loaded yet;
	 * need_state: the vCPUs have no usable state (incoming, or a
	 * load-devstate failed half-way): resume and save are refused;
	 * vmfd_given: the VM fd went out with "vmfd", so pcmig may own the
	 * dirty log from now on: the VMM must never harvest it.
	 */
	bool incoming;
	bool need_state;
	bool vmfd_given;

	struct vm_result result;
	bool console_stderr;
	char con[512];
	unsigned int con_len;
};

void vm_notify(struct vm *vm);
void vm_fail(struct vm *vm, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vm_console(struct vm *vm, char c);

/* vcpu.c */
int vcpu_create(struct vm *vm, unsigned int index);
void vcpu_destroy(struct vcpu *v);
int vcpu_boot_state(struct vcpu *v, uint32_t entry, uint32_t eax,
		    uint32_t ebx, uint32_t ecx, uint32_t edx);
int vcpus_start(struct vm *vm);
/* Kick every vCPU out of KVM_RUN and wait until all are parked. */
void vm_stop(struct vm *vm);
void vm_resume(struct vm *vm);
void vm_quit(struct vm *vm);
bool vm_all_done(struct vm *vm);
bool vm_stopped(struct vm *vm);

#endif
