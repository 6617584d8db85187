// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM over the stream (ram.h), on top of the attached VM (vm.h).
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "postcopy.h"
#include "ram.h"
#include "session.h"
#include "stream.h"

/* A pass's frames go out 16 pages at a time, in one sendmsg. */
#define PCMIG_RAM_TX_LEN	(16 * (PCMIG_WIRE_FRAME_HDR_LEN + \
				       PCMIG_RAM_PAGE_LEN))
/* Pages of the bandwidth probe (pcmig_ram_probe()): 1 MiB. */
#define PCMIG_RAM_PROBE_PAGES	256
/* Pages between two looks at cancel and (ring mode) at KVM's log. */
#define PCMIG_RAM_BATCH		256

/* ---- source ------------------------------------------------------------ */

static void harvest(struct pcmig_session *s)
{
	struct pcmig_ram_state *r = &s->ram;
	ktime_t now = ktime_get();
	s64 ms = ktime_ms_delta(now, r->harvested);
	u64 newly;
	int err;

	if (r->err)
		return;
	err = pcmig_vm_harvest(&s->vm, &newly, &r->why);
	if (err) {
		r->err = err;
		return;
	}
	/* Over at least a second: harvests often come back to back. */
	r->rate_pages += newly;
	if (ms >= 1000) {
		WRITE_ONCE(s->stats.dirty_rate,
			   div64_u64(r->rate_pages * 1000, ms));
		r->rate_pages = 0;
		r->harvested = now;
	}
	WRITE_ONCE(s->stats.dirty_pages, s->vm.dirty);
}

u64 pcmig_ram_pending(struct pcmig_session *s)
{
	if (!pcmig_vm_attached(&s->vm))
		return 0;
	if (!s->ram.started)
		return s->vm.pages * PCMIG_RAM_PAGE_SIZE;
	harvest(s);
	return s->vm.dirty * PCMIG_RAM_PAGE_SIZE;
}

static int send_layout(struct pcmig_session *s)
{
	struct pcmig_ram_range *ranges;
	u8 *buf;
	u32 n, len;
	int err = -ENOMEM;

	ranges = kcalloc(PCMIG_RAM_RANGES_MAX, sizeof(*ranges), GFP_KERNEL);
	buf = kmalloc(PCMIG_RAM_LAYOUT_MAX, GFP_KERNEL);
	if (ranges && buf) {
		n = pcmig_vm_ranges(&s->vm, ranges);
		len = pcmig_wire_put_ram_layout(buf, ranges, n);
		err = pcmig_send_frame(s, PCMIG_SEC_RAM, PCMIG_RAM_LAYOUT, buf,
				       len);
	}
	kfree(buf);
	kfree(ranges);
	return err;
}

/* Start of the first pass: logging on, then the layout. */
static int ram_start(struct pcmig_session *s)
{
	struct pcmig_ram_state *r = &s->ram;
	int err;

	r->frame = kmalloc(PCMIG_RAM_PAGE_LEN, GFP_KERNEL);
	r->tx = kvmalloc(PCMIG_RAM_TX_LEN, GFP_KERNEL);
	if (!r->frame || !r->tx)
		return -ENOMEM;
	err = pcmig_vm_log_start(&s->vm, &r->why);
	if (err) {
		r->err = err;
		return err;
	}
	r->harvested = ktime_get();
	r->started = true;
	err = send_layout(s);
	/* A destination whose memory differs refuses before any page. */
	return err ?: pcmig_source_wait_layout(s);
}

struct zero_run {
	u64 gpa;
	u32 pages;
};

/*
 * The gathered frames go out.  In postcopy they give way to a page
 * request (-EAGAIN): kept, to go once the request is served.
 */
static int tx_flush(struct pcmig_session *s, enum pcmig_frames_pace pace)
{
	int err = 0;

	if (s->ram.tx_len)
		err = pcmig_send_frames(s, s->ram.tx, s->ram.tx_len, pace);
	if (err != -EAGAIN)
		s->ram.tx_len = 0;
	return err;
}

/* Room for a RAM frame of @len payload bytes in the pass's buffer. */
static u8 *tx_reserve(struct pcmig_session *s, u8 type, u32 len, int *err)
{
	u8 *p;

	if (s->ram.tx_len + PCMIG_WIRE_FRAME_HDR_LEN + len > PCMIG_RAM_TX_LEN) {
		*err = tx_flush(s, PCMIG_FRAMES_PACED);
		if (*err)
			return NULL;
	}
	p = s->ram.tx + s->ram.tx_len;
	pcmig_wire_put_frame(p, PCMIG_SEC_RAM, type, len);
	s->ram.tx_len += PCMIG_WIRE_FRAME_HDR_LEN + len;
	return p + PCMIG_WIRE_FRAME_HDR_LEN;
}

/*
 * A zero run is 12 bytes on the wire: in postcopy, outside a batch, it is
 * never paced, so only a background batch gives way to a request.
 */
static int flush_zeroes(struct pcmig_session *s, struct zero_run *z)
{
	u8 buf[PCMIG_RAM_RUN_LEN];
	u32 len;
	int err;

	if (!z->pages)
		return 0;
	if (s->ram.batching) {
		u8 *p = tx_reserve(s, PCMIG_RAM_ZERO, PCMIG_RAM_RUN_LEN, &err);

		if (!p)
			return err;
		pcmig_wire_put_ram_run(p, z->gpa, z->pages);
		s->stats.zero_pages += z->pages;
		z->pages = 0;
		return 0;
	}
	len = pcmig_wire_put_ram_run(buf, z->gpa, z->pages);
	if (READ_ONCE(s->phase) == PCMIG_PHASE_POSTCOPY)
		err = pcmig_send_frame_urgent(s, PCMIG_SEC_RAM, PCMIG_RAM_ZERO,
					      buf, len);
	else
		err = pcmig_send_frame(s, PCMIG_SEC_RAM, PCMIG_RAM_ZERO, buf,
				       len);
	if (err)
		return err;
	s->stats.zero_pages += z->pages;
	z->pages = 0;
	return 0;
}

/*
 * One page: zero pages extend the run @z.  @urgent: requested in postcopy,
 * so not paced (rule S4) and not held back in a run.  A paced page gives
 * way to a page request with -EAGAIN, unsent.
 */
static int send_page(struct pcmig_session *s, struct pcmig_vm_slot *sl,
		     u64 page, struct zero_run *z, bool urgent)
{
	u64 gpa = sl->gpa + (page << PAGE_SHIFT);
	u8 *data = s->ram.frame + 8, *frame;
	int err;

	err = pcmig_vm_read_page(&s->vm, sl, page, data);
	if (err) {
		s->ram.why = "guest memory unreadable: the VMM exited or unmapped it";
		return err;
	}
	if (!memchr_inv(data, 0, PCMIG_RAM_PAGE_SIZE)) {
		if (z->pages && z->gpa + ((u64)z->pages << PAGE_SHIFT) == gpa &&
		    z->pages < U32_MAX) {
			z->pages++;
			return 0;
		}
		err = flush_zeroes(s, z);
		z->gpa = gpa;
		z->pages = 1;
		return err ?: urgent ? flush_zeroes(s, z) : 0;
	}
	err = flush_zeroes(s, z);
	if (err)
		return err;
	/* In a pass or a postcopy batch, it joins the frames that go together. */
	if (s->ram.batching && !urgent) {
		frame = tx_reserve(s, PCMIG_RAM_PAGE, PCMIG_RAM_PAGE_LEN, &err);
		if (!frame)
			return err;
		pcmig_wire_put_ram_page_gpa(frame, gpa);
		memcpy(frame + 8, data, PCMIG_RAM_PAGE_SIZE);
		s->stats.pages_sent++;
		return 0;
	}
	pcmig_wire_put_ram_page_gpa(s->ram.frame, gpa);
	if (urgent)
		err = pcmig_send_frame_urgent(s, PCMIG_SEC_RAM, PCMIG_RAM_PAGE,
					      s->ram.frame, PCMIG_RAM_PAGE_LEN);
	else
		err = pcmig_send_frame(s, PCMIG_SEC_RAM, PCMIG_RAM_PAGE,
				       s->ram.frame, PCMIG_RAM_PAGE_LEN);
	if (!err)
		s->stats.pages_sent++;
	return err;
}

/* Up to @max of the pages dirty now, each sent once. */
static int pass_pages(struct pcmig_session *s, u64 max)
{
	struct pcmig_vm *vm = &s->vm;
	u64 before = s->stats.pages_sent + s->stats.zero_pages;
	struct zero_run z = {};
	unsigned long page;
	u32 i, n = 0;
	int err = 0;

	harvest(s);
	for (i = 0; i < vm->nr_slots && !err; i++) {
		struct pcmig_vm_slot *sl = &vm->slots[i];

		for_each_set_bit(page, sl->dirty, sl->npages) {
			if (n == max || s->ram.cut_short)
				break;
			__clear_bit(page, sl->dirty);
			vm->dirty--;
			err = send_page(s, sl, page, &z, false);
			if (err)
				break;
			if (++n % PCMIG_RAM_BATCH)
				continue;
			if (pcmig_session_aborted(s)) {
				err = -EINTR;
				break;
			}
			/*
			 * In precopy the guest lives only in the source VMM:
			 * once it is gone there is no device state to come.
			 */
			if (READ_ONCE(s->phase) == PCMIG_PHASE_PRECOPY &&
			    pcmig_vm_vmm_gone(vm)) {
				s->ram.why = "the source VMM exited";
				err = -ESRCH;
				break;
			}
			/*
			 * start-postcopy (rule S3) need not wait for the end
			 * of the pass: what was sent measured the bandwidth,
			 * rule S2 decides now (once: if it says go on, the
			 * passes run whole again).
			 */
			if (READ_ONCE(s->phase) == PCMIG_PHASE_PRECOPY &&
			    READ_ONCE(s->postcopy_requested) &&
			    (s->caps & (1U << PCMIG_CAP_POSTCOPY_RAM)) &&
			    max == U64_MAX && !s->ram.probed) {
				s->ram.cut_short = true;
				s->ram.probed = true;
			}
			/* A full ring would hold the vCPUs up: drain it. */
			if (vm->ring)
				harvest(s);
			WRITE_ONCE(s->stats.dirty_pages, vm->dirty);
			pcmig_session_progress(s, false);
		}
		/* Runs do not cross slots. */
		if (!err)
			err = flush_zeroes(s, &z);
	}
	if (!err)
		err = s->ram.err;
	if (err || n == max || s->ram.cut_short)
		return err;
	harvest(s);
	/* Dirtied during the pass at least as many pages as it sent. */
	WRITE_ONCE(s->stats.not_converging, s->stats.passes &&
		   vm->dirty >= s->stats.pages_sent + s->stats.zero_pages -
				before);
	return s->ram.err;
}

/*
 * A pass's frames are gathered and go out 16 pages at a time: one
 * sendmsg, not two per page.
 */
static int ram_pass(struct pcmig_session *s, u64 max)
{
	int err;

	if (!s->ram.started) {
		err = ram_start(s);
		if (err)
			return err;
	}
	s->ram.batching = true;
	err = pass_pages(s, max);
	s->ram.batching = false;
	if (err) {
		s->ram.tx_len = 0;	/* the stream fails: nothing follows */
		return err;
	}
	return tx_flush(s, PCMIG_FRAMES_PACED);
}

/* One pass: every page dirty now, each sent once. */
int pcmig_ram_save(struct pcmig_session *s)
{
	return ram_pass(s, U64_MAX);
}

/*
 * The start of a pass, only to measure the bandwidth: rule S2 needs it to
 * judge the stopped phase, and postcopy requested at once should not wait
 * for a whole pass to learn it.
 */
int pcmig_ram_probe(struct pcmig_session *s)
{
	return ram_pass(s, PCMIG_RAM_PROBE_PAGES);
}

/*
 * Stopped phase, RAM postcopy: no page now.  The pages still dirty are
 * named to the destination, which drops its stale copies of them.
 */
int pcmig_ram_discard(struct pcmig_session *s)
{
	struct pcmig_vm *vm = &s->vm;
	u8 buf[PCMIG_RAM_RUN_LEN];
	unsigned long b, e;
	u32 i, n;
	int err;

	if (!s->ram.started) {
		err = ram_start(s);
		if (err)
			return err;
	}
	harvest(s);
	if (s->ram.err)
		return s->ram.err;
	for (i = 0; i < vm->nr_slots; i++) {
		struct pcmig_vm_slot *sl = &vm->slots[i];

		for_each_set_bitrange(b, e, sl->dirty, sl->npages) {
			/* A run's page count is 32 bits on the wire. */
			for (; b < e; b += n) {
				n = min_t(unsigned long, e - b, U32_MAX);
				pcmig_wire_put_ram_run(buf, sl->gpa +
						       (b << PAGE_SHIFT), n);
				err = pcmig_send_frame(s, PCMIG_SEC_RAM,
						       PCMIG_RAM_DISCARD, buf,
						       sizeof(buf));
				if (err)
					return err;
			}
		}
	}
	return 0;
}

/* Pages sent after a requested one, while they are dirty: the guest
 * often touches its neighbours next.
 */
#define PCMIG_PC_NEIGHBOURS	7
/*
 * Background pages gathered into one sendmsg, between two looks at the
 * request queue: 32 KiB, so a request waits for little more than that.
 */
#define PCMIG_PC_BATCH		8

/* Requested pages first (rule S5): those already sent are skipped. */
static int serve_requests(struct pcmig_session *s, struct zero_run *z)
{
	struct pcmig_vm *vm = &s->vm;
	struct pcmig_pc_req r;
	struct pcmig_vm_slot *sl;
	u64 first, page, end, data;
	u32 asked;
	int err;

	while (pcmig_pc_pop(s, &r)) {
		sl = pcmig_vm_find(vm, r.gpa, &first);
		if (!sl)
			continue;	/* checked by the reader */
		end = min_t(u64, first + r.pages + PCMIG_PC_NEIGHBOURS,
			    sl->npages);
		for (page = first, asked = 0; page < end; page++) {
			bool wanted = page - first < r.pages;

			if (!__test_and_clear_bit(page, sl->dirty)) {
				if (wanted)
					continue;
				break;	/* neighbours end at a sent page */
			}
			vm->dirty--;
			data = s->stats.pages_sent;
			err = send_page(s, sl, page, z, true);
			if (err)
				return err;
			if (wanted) {
				asked++;
				s->stats.pc_pages_requested++;
				continue;
			}
			/*
			 * A neighbour is background sent early: it counts
			 * against max-postcopy-bandwidth (rule S4).
			 */
			s->stats.pc_pages_background++;
			if (s->stats.pages_sent != data)
				pcmig_rate_charge(s, PCMIG_WIRE_FRAME_HDR_LEN +
						  PCMIG_RAM_PAGE_LEN);
		}
		if (asked)
			continue;
		s->stats.pc_dup_requests++;
		/* It may be in the zero run being built: that goes now. */
		err = flush_zeroes(s, z);
		if (err)
			return err;
	}
	return 0;
}

/*
 * A postcopy batch goes out, after the requests that came first: its
 * pages are no longer dirty, so a request for one of them counts as a
 * duplicate.  Then the batch may hold a page asked for, which must not
 * wait for the pace (rule S4): it goes at once, charged to the budget.
 */
static int pc_flush(struct pcmig_session *s, struct zero_run *z)
{
	u64 dups;
	int err;

	for (;;) {
		err = tx_flush(s, PCMIG_FRAMES_YIELD);
		if (err != -EAGAIN)
			return err;
		dups = s->stats.pc_dup_requests;
		err = serve_requests(s, z);
		if (err)
			return err;
		if (s->stats.pc_dup_requests != dups)
			return tx_flush(s, PCMIG_FRAMES_NOW);
	}
}

/*
 * Postcopy: every page still dirty goes once, requested ones first, the
 * rest in the background, paced by max-postcopy-bandwidth only (rule S4),
 * gathered PCMIG_PC_BATCH pages to a sendmsg.
 */
int pcmig_ram_postcopy(struct pcmig_session *s)
{
	struct pcmig_vm *vm = &s->vm;
	struct zero_run z = {};
	unsigned long page = 0;
	u32 i = 0, n;
	int err;

	while (vm->dirty && i < vm->nr_slots) {
		struct pcmig_vm_slot *sl = &vm->slots[i];

		err = serve_requests(s, &z);
		if (err)
			return err;
		if (pcmig_pc_source_broken(s))
			return -EPROTO;
		err = pcmig_stream_wait_room(s);
		if (err == -EAGAIN)
			continue;	/* serve the request first */
		if (err)
			return err;
		s->ram.batching = true;
		for (n = 0; n < PCMIG_PC_BATCH; n++) {
			page = find_next_bit(sl->dirty, sl->npages, page);
			if (page >= sl->npages)
				break;
			__clear_bit(page, sl->dirty);
			vm->dirty--;
			err = send_page(s, sl, page, &z, false);
			if (err)
				break;
			s->stats.pc_pages_background++;
		}
		s->ram.batching = false;
		err = err ?: pc_flush(s, &z);
		/* Runs do not cross slots. */
		if (!err && page >= sl->npages) {
			err = flush_zeroes(s, &z);
			page = 0;
			i++;
		}
		if (err) {
			s->ram.tx_len = 0;	/* the stream fails */
			return err;
		}
		WRITE_ONCE(s->stats.dirty_pages, vm->dirty);
		if (pcmig_session_aborted(s))
			return -EINTR;
	}
	WRITE_ONCE(s->stats.dirty_pages, vm->dirty);
	return flush_zeroes(s, &z);
}

void pcmig_ram_free(struct pcmig_session *s)
{
	kfree(s->ram.frame);
	s->ram.frame = NULL;
	kvfree(s->ram.tx);
	s->ram.tx = NULL;
}

/* ---- destination ------------------------------------------------------- */

static int print_ranges(char *buf, size_t len, const struct pcmig_ram_range *r,
			u32 n)
{
	size_t used = 0;
	u32 i;

	for (i = 0; i < n && used < len; i++)
		used += scnprintf(buf + used, len - used, "%s0x%llx+%lluK",
				  i ? "," : "", r[i].gpa, r[i].size >> 10);
	return used;
}

/* Rule: a destination whose memory differs is refused before any page. */
static int check_layout(struct pcmig_session *s, const u8 *payload,
			const char **why)
{
	struct pcmig_ram_range *src, *dst;
	u32 i, n = pcmig_wire_ram_ranges(payload), m;
	bool same;
	int used;

	src = kcalloc(PCMIG_RAM_RANGES_MAX, sizeof(*src), GFP_KERNEL);
	dst = kcalloc(PCMIG_RAM_RANGES_MAX, sizeof(*dst), GFP_KERNEL);
	if (!src || !dst) {
		kfree(src);
		kfree(dst);
		*why = "out of memory";
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		pcmig_wire_ram_range(payload, i, &src[i]);
	m = pcmig_vm_ranges(&s->vm, dst);
	same = n == m && !memcmp(src, dst, n * sizeof(*src));
	if (!same) {
		used = scnprintf(s->ram.msg, sizeof(s->ram.msg),
				 "memory layout differs: source ");
		used += print_ranges(s->ram.msg + used,
				     sizeof(s->ram.msg) - used, src, n);
		used += scnprintf(s->ram.msg + used, sizeof(s->ram.msg) - used,
				  ", this VM ");
		print_ranges(s->ram.msg + used, sizeof(s->ram.msg) - used,
			     dst, m);
		*why = s->ram.msg;
	}
	kfree(src);
	kfree(dst);
	return same ? 0 : -EINVAL;
}

static void received(struct pcmig_vm *vm, struct pcmig_vm_slot *sl, u64 page,
		     u64 n)
{
	for (; n; n--, page++)
		if (!__test_and_set_bit(page, sl->dirty))
			vm->dirty++;
}

/* Pages [page, end) not received: cleared unless they read as zero. */
static int zero_unless_zero(struct pcmig_session *s,
			    struct pcmig_vm_slot *sl, u64 page, u64 end)
{
	int err;

	if (!s->ram.frame) {
		s->ram.frame = kmalloc(PCMIG_RAM_PAGE_LEN, GFP_KERNEL);
		if (!s->ram.frame)
			return -ENOMEM;
	}
	for (; page < end; page++) {
		if (!pcmig_vm_read_page(&s->vm, sl, page, s->ram.frame) &&
		    !memchr_inv(s->ram.frame, 0, PCMIG_RAM_PAGE_SIZE))
			continue;
		err = pcmig_vm_zero_pages(&s->vm, sl, page, 1);
		if (err)
			return err;
		if (!((page + 1) % 512))
			cond_resched();
	}
	return 0;
}

/*
 * A zero run.  Pages not received before are dropped from the VMM's
 * memory (anonymous memory then reads as zero): one page-table walk per
 * run, where reading each page to see whether it is zero cost the
 * destination more than the source spent sending the run, a backlog the
 * stopped phase then waited for.  Pages that held data are cleared.  On
 * memory that cannot be dropped (shared, file-backed), a page not
 * received that reads as zero is left alone, so a fresh VM's memory is
 * not allocated by zeros.
 */
static int zero_run(struct pcmig_session *s, struct pcmig_vm_slot *sl,
		    u64 page, u64 n)
{
	unsigned long b = page, e, end = page + n;
	int err;

	if (!pcmig_vm_run_in_slot(sl, page, n))
		return -EINVAL;
	for_each_set_bitrange_from(b, e, sl->dirty, end) {
		err = pcmig_vm_zero_pages(&s->vm, sl, b, e - b);
		if (err)
			return err;
		cond_resched();
	}
	b = page;
	for_each_clear_bitrange_from(b, e, sl->dirty, end) {
		err = pcmig_vm_zap(&s->vm, sl, b, e - b);
		if (err == -EOPNOTSUPP)
			err = zero_unless_zero(s, sl, b, e);
		if (err)
			return err;
		cond_resched();
	}
	return 0;
}

/* Stale here: missing until the page comes again in postcopy. */
static int stale_run(struct pcmig_session *s, struct pcmig_vm_slot *sl,
		     u64 page, u64 n, const char **why)
{
	if (!pcmig_vm_run_in_slot(sl, page, n)) {
		*why = "discard run outside the VM's memory";
		return -EINVAL;
	}
	for (; n; n--, page++)
		if (__test_and_clear_bit(page, sl->dirty))
			s->vm.dirty--;
	return 0;
}

/* Postcopy: placed through the userfaultfd, which wakes who waits. */
static int pc_apply(struct pcmig_session *s, enum pcmig_rx_act act,
		    struct pcmig_vm_slot *sl, u64 page, const u8 *payload,
		    const char **why)
{
	u32 n = 1;
	int err;

	if (act == PCMIG_RX_RAM_ZERO) {
		n = pcmig_wire_ram_run_pages(payload);
		err = pcmig_pc_place_zero(s, sl, page, n);
		s->stats.zero_pages += n;
	} else {
		err = pcmig_pc_place_page(s, sl, page, payload + 8);
		s->stats.pages_sent++;
	}
	if (err == -EINVAL)
		*why = "zero-page run outside the VM's memory";
	else if (err)
		*why = "the VMM's memory refused a page (UFFDIO_COPY)";
	return err;
}

int pcmig_ram_apply(struct pcmig_session *s, enum pcmig_rx_act act, u64 arg,
		    const u8 *payload, const char **why)
{
	struct pcmig_vm_slot *sl;
	u64 page;

	if (!pcmig_vm_attached(&s->vm)) {
		*why = "RAM in the stream, but no VM is attached here";
		return -EINVAL;
	}
	if (act == PCMIG_RX_RAM_LAYOUT) {
		int err = check_layout(s, payload, why);

		return err ?: pcmig_send_frame(s, PCMIG_SEC_RETURN,
					       PCMIG_RET_LAYOUT_OK, NULL, 0);
	}
	sl = pcmig_vm_find(&s->vm, arg, &page);
	if (!sl) {
		*why = "RAM page outside the VM's memory";
		return -EINVAL;
	}
	if (act == PCMIG_RX_RAM_DISCARD)
		return stale_run(s, sl, page, pcmig_wire_ram_run_pages(payload),
				 why);
	if (s->pc.active)
		return pc_apply(s, act, sl, page, payload, why);
	if (act == PCMIG_RX_RAM_ZERO) {
		u32 n = pcmig_wire_ram_run_pages(payload);
		int err = zero_run(s, sl, page, n);

		if (err == -EINVAL)
			*why = "zero-page run outside the VM's memory";
		else if (err)
			*why = "guest memory unwritable in the VMM";
		if (err)
			return err;
		received(&s->vm, sl, page, n);
		s->stats.zero_pages += n;
		return 0;
	}
	if (pcmig_vm_write_page(&s->vm, sl, page, payload + 8)) {
		*why = "guest memory unwritable in the VMM";
		return -EFAULT;
	}
	received(&s->vm, sl, page, 1);
	s->stats.pages_sent++;
	return 0;
}

int pcmig_ram_complete(struct pcmig_session *s, const char **why)
{
	struct pcmig_vm *vm = &s->vm;

	/* On the destination the slots' bitmaps hold the pages received. */
	if (vm->dirty == vm->pages)
		return 0;
	snprintf(s->ram.msg, sizeof(s->ram.msg),
		 "%llu of the VM's %llu pages never arrived",
		 vm->pages - vm->dirty, vm->pages);
	*why = s->ram.msg;
	return -EPROTO;
}
