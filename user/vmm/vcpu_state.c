// SPDX-License-Identifier: GPL-2.0
/* vCPU state and the device-state blob (see vcpu_state.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm.h"
#include "vcpu_state.h"

struct ds_vm {
	uint32_t finish_req;
	uint32_t pad;
	struct vm_result result;
};

struct blob {
	uint8_t *buf;
	size_t len, cap;
	int err;
};

static void *blob_add(struct blob *b, uint32_t tag, unsigned int cpu, uint32_t len)
{
	size_t need = sizeof(struct ds_record) + ((len + 7) & ~7u);
	struct ds_record *r;

	if (b->err)
		return NULL;
	if (b->len + need > DEVSTATE_MAX_SIZE) {
		b->err = EFBIG;
		return NULL;
	}
	if (b->len + need > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		uint8_t *p;

		while (cap < b->len + need)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (!p) {
			b->err = ENOMEM;
			return NULL;
		}
		b->buf = p;
		b->cap = cap;
	}
	r = (struct ds_record *)(b->buf + b->len);
	memset(r, 0, need);
	r->tag = tag;
	r->cpu = cpu;
	r->len = len;
	b->len += need;
	return r + 1;
}

/* KVM_GET_* of one vCPU into a record. */
static int get_rec(struct blob *b, struct vcpu *v, uint32_t tag, unsigned long req,
		   uint32_t len, const char **what)
{
	void *p = blob_add(b, tag, v->index, len);

	if (!p)
		return -1;
	if (ioctl(v->fd, req, p) < 0) {
		b->err = errno;
		*what = tag == DS_REGS ? "KVM_GET_REGS" : tag == DS_SREGS ? "KVM_GET_SREGS" :
			tag == DS_FPU ? "KVM_GET_FPU" : tag == DS_XSAVE ? "KVM_GET_XSAVE" :
			tag == DS_XCRS ? "KVM_GET_XCRS" : tag == DS_EVENTS ? "KVM_GET_VCPU_EVENTS" :
			tag == DS_DEBUGREGS ? "KVM_GET_DEBUGREGS" : "KVM_GET_MP_STATE";
		return -1;
	}
	return 0;
}

static int vcpu_state_save(struct blob *b, struct vcpu *v, const char **what)
{
	struct kvm_vm *k = &v->vm->kvm;
	struct kvm_msrs *msrs;
	int n;

	*what = "out of memory";
	if (get_rec(b, v, DS_SREGS, KVM_GET_SREGS, sizeof(struct kvm_sregs), what) ||
	    get_rec(b, v, DS_REGS, KVM_GET_REGS, sizeof(struct kvm_regs), what))
		return -1;
	if (k->has_xsave) {
		if (get_rec(b, v, DS_XSAVE, KVM_GET_XSAVE, sizeof(struct kvm_xsave), what))
			return -1;
	} else if (get_rec(b, v, DS_FPU, KVM_GET_FPU, sizeof(struct kvm_fpu), what)) {
		return -1;
	}
	if (k->has_xcrs && get_rec(b, v, DS_XCRS, KVM_GET_XCRS, sizeof(struct kvm_xcrs), what))
		return -1;
	msrs = blob_add(b, DS_MSRS, v->index,
			sizeof(*msrs) + k->nmsrs * sizeof(struct kvm_msr_entry));
	if (!msrs)
		return -1;
	msrs->nmsrs = k->nmsrs;
	for (unsigned int i = 0; i < k->nmsrs; i++)
		msrs->entries[i].index = k->msrs[i];
	n = ioctl(v->fd, KVM_GET_MSRS, msrs);
	if (n != (int)k->nmsrs) {
		b->err = n < 0 ? errno : EIO;
		*what = "KVM_GET_MSRS";
		return -1;
	}
	if (get_rec(b, v, DS_EVENTS, KVM_GET_VCPU_EVENTS, sizeof(struct kvm_vcpu_events), what))
		return -1;
	if (k->has_debugregs &&
	    get_rec(b, v, DS_DEBUGREGS, KVM_GET_DEBUGREGS, sizeof(struct kvm_debugregs), what))
		return -1;
	if (get_rec(b, v, DS_MP_STATE, KVM_GET_MP_STATE, sizeof(struct kvm_mp_state), what))
		return -1;
	return 0;
}

int devstate_save(struct vm *vm, uint8_t **blob, size_t *len, char *err, size_t errlen)
{
	struct blob b = { 0 };
	struct ds_header *h;
	struct ds_vm *dv;
	const char *what = "out of memory";

	if (!blob_add(&b, 0, 0, sizeof(*h) - sizeof(struct ds_record)))
		goto fail;
	b.len = sizeof(*h);	/* the header takes the first record's place */
	dv = blob_add(&b, DS_VM, 0, sizeof(*dv));
	if (!dv)
		goto fail;
	dv->finish_req = vm->finish_req;
	dv->result = vm->result;
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		struct vcpu_guest *g = blob_add(&b, DS_VCPU_VMM, i, sizeof(*g));

		if (!g)
			goto fail;
		*g = vm->vcpu[i].g;
		if (vcpu_state_save(&b, &vm->vcpu[i], &what) < 0)
			goto fail;
	}
	h = (struct ds_header *)b.buf;
	memcpy(h->magic, DEVSTATE_MAGIC, 8);
	h->version = DEVSTATE_VERSION;
	h->nvcpus = vm->nvcpus;
	h->size = b.len;
	*blob = b.buf;
	*len = b.len;
	return 0;
fail:
	snprintf(err, errlen, "device state: %s: %s", what,
		 b.err == EFBIG ? "larger than 16 MiB" : strerror(b.err ? b.err : ENOMEM));
	free(b.buf);
	return -1;
}

struct tag_info {
	uint32_t tag;
	unsigned long req;
	uint32_t len;
	const char *name;
};

static const struct tag_info tags[] = {
	{ DS_REGS, KVM_SET_REGS, sizeof(struct kvm_regs), "KVM_SET_REGS" },
	{ DS_SREGS, KVM_SET_SREGS, sizeof(struct kvm_sregs), "KVM_SET_SREGS" },
	{ DS_FPU, KVM_SET_FPU, sizeof(struct kvm_fpu), "KVM_SET_FPU" },
	{ DS_XSAVE, KVM_SET_XSAVE, sizeof(struct kvm_xsave), "KVM_SET_XSAVE" },
	{ DS_XCRS, KVM_SET_XCRS, sizeof(struct kvm_xcrs), "KVM_SET_XCRS" },
	{ DS_EVENTS, KVM_SET_VCPU_EVENTS, sizeof(struct kvm_vcpu_events), "KVM_SET_VCPU_EVENTS" },
	{ DS_DEBUGREGS, KVM_SET_DEBUGREGS, sizeof(struct kvm_debugregs), "KVM_SET_DEBUGREGS" },
	{ DS_MP_STATE, KVM_SET_MP_STATE, sizeof(struct kvm_mp_state), "KVM_SET_MP_STATE" },
};

int devstate_load(struct vm *vm, const uint8_t *blob, size_t len, char *err, size_t errlen)
{
	const struct ds_header *h = (const void *)blob;
	size_t off = sizeof(*h);
	uint32_t seen[VMM_MAX_VCPUS] = { 0 };

	if (len < sizeof(*h) || memcmp(h->magic, DEVSTATE_MAGIC, 8)) {
		snprintf(err, errlen, "device state: bad magic");
		return -1;
	}
	if (h->version != DEVSTATE_VERSION || h->size != len || len > DEVSTATE_MAX_SIZE) {
		snprintf(err, errlen, "device state: version %u size %llu (want %u, %zu)",
			 h->version, (unsigned long long)h->size, DEVSTATE_VERSION, len);
		return -1;
	}
	if (h->nvcpus != vm->nvcpus) {
		snprintf(err, errlen, "device state has %u vCPUs, this VM %u",
			 h->nvcpus, vm->nvcpus);
		return -1;
	}
	while (off < len) {
		const struct ds_record *r = (const void *)(blob + off);
		const void *p = r + 1;
		size_t need;

		if (len - off < sizeof(*r)) {
			snprintf(err, errlen, "device state: truncated record at %zu", off);
			return -1;
		}
		need = sizeof(*r) + (((size_t)r->len + 7) & ~(size_t)7);
		if (r->len > len || need > len - off || r->cpu >= vm->nvcpus) {
			snprintf(err, errlen, "device state: bad record at %zu (tag %u cpu %u len %u)",
				 off, r->tag, r->cpu, r->len);
			return -1;
		}
		off += need;
		if (r->tag == DS_VM) {
			struct ds_vm dv;

			if (r->len != sizeof(dv))
				goto badlen;
			memcpy(&dv, p, sizeof(dv));
			vm->finish_req = dv.finish_req;
			vm->result = dv.result;
			continue;
		}
		if (r->tag == DS_VCPU_VMM) {
			if (r->len != sizeof(struct vcpu_guest))
				goto badlen;
			memcpy(&vm->vcpu[r->cpu].g, p, sizeof(struct vcpu_guest));
			continue;
		}
		if (r->tag == DS_MSRS) {
			const struct kvm_msrs *m = p;

			if (r->len < sizeof(*m) ||
			    (r->len - sizeof(*m)) / sizeof(struct kvm_msr_entry) != m->nmsrs ||
			    (r->len - sizeof(*m)) % sizeof(struct kvm_msr_entry))
				goto badlen;
			if (ioctl(vm->vcpu[r->cpu].fd, KVM_SET_MSRS, p) != (int)m->nmsrs) {
				snprintf(err, errlen, "cpu %u: KVM_SET_MSRS refused an MSR", r->cpu);
				return -1;
			}
			seen[r->cpu] |= 1u << 5;
			continue;
		}
		{
			const struct tag_info *t = NULL;
			void *copy;

			for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
				if (tags[i].tag == r->tag)
					t = &tags[i];
			if (!t) {
				snprintf(err, errlen, "device state: unknown record tag %u", r->tag);
				return -1;
			}
			if (r->len != t->len)
				goto badlen;
			if ((r->tag == DS_XSAVE && !vm->kvm.has_xsave) ||
			    (r->tag == DS_XCRS && !vm->kvm.has_xcrs) ||
			    (r->tag == DS_DEBUGREGS && !vm->kvm.has_debugregs)) {
				snprintf(err, errlen, "device state needs %s, which this KVM lacks",
					 t->name);
				return -1;
			}
			/* aligned copy: the ioctl structs want natural alignment */
			copy = malloc(t->len);
			if (!copy) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			memcpy(copy, p, t->len);
			if (ioctl(vm->vcpu[r->cpu].fd, t->req, copy) < 0) {
				snprintf(err, errlen, "cpu %u: %s: %s", r->cpu, t->name, strerror(errno));
				free(copy);
				return -1;
			}
			free(copy);
			if (r->tag == DS_REGS)
				seen[r->cpu] |= 1;
			if (r->tag == DS_SREGS)
				seen[r->cpu] |= 2;
		}
	}
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		if ((seen[i] & 3) != 3) {
			snprintf(err, errlen, "device state: cpu %u has no registers", i);
			return -1;
		}
	}
	return 0;
badlen:
	snprintf(err, errlen, "device state: record of wrong length");
	return -1;
}
