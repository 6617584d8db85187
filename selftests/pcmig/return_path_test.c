// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile return-path input at a real source session in RAM postcopy
 * (issue 5, rule S5): the real module, a real KVM VM made here (no vCPU),
 * a real TCP connection over loopback, and on its other end a destination
 * played by hand.  The source is given postcopy-ram, a downtime limit of
 * 1 ms and start-postcopy before its start, so it switches right after
 * its 1 MiB bandwidth probe: most of the VM is left for postcopy.
 *
 * The fake destination reads and checks the forward stream in a thread
 * of its own for the whole session: a source in postcopy serves requests
 * and sends pages from one worker, so a destination that stopped reading
 * while it writes requests would stall the source itself, and the test
 * would measure its own deadlock.  The main thread plays the VMM
 * (netlink) and writes the hostile frames.
 *
 * Cases: page requests outside guest RAM or across a memslot's end;
 * malformed requests (the checker's reasons, kmod/wire.c); a request
 * before the layout was accepted; a flood of valid requests, after which
 * the migration must still complete with every page intact; the
 * connection shut or reset by the destination in the middle of postcopy.
 * In every case the source's guest memory must stay as it was.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/kvm_vm.h"
#include "lib/pcmig_nl.h"
#include "lib/tcp_pair.h"
#include "wire.h"

#define CAPS		(1U << PCMIG_CAP_POSTCOPY_RAM)
#define FLOOD		100000
/* Frames per write of the flood. */
#define FLOOD_BATCH	2048
/* The longest answer of the fake destination: a RET_FAIL reason. */
#define RP_FRAME_MAX	(PCMIG_WIRE_FRAME_HDR_LEN + 64)
/*
 * Background pace in postcopy: slow enough that the source is still
 * sending when the hostile frame comes, fast enough to finish in seconds.
 */
#define PC_BW		(256 << 10)
/* A writer the source takes nothing from for this long has been left. */
#define STALL_MS	15000
/* What the source adds to a failure in RAM postcopy (source.c). */
#define KEPT		" (the guest ran there; state kept here for recovery: " \
			"do not resume)"

static void put_be32(unsigned char *b, uint32_t v)
{
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

static void put_be64(unsigned char *b, uint64_t v)
{
	put_be32(b, v >> 32);
	put_be32(b + 4, v);
}

static uint32_t get_be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
}

static uint64_t get_be64(const unsigned char *b)
{
	return (uint64_t)get_be32(b) << 32 | get_be32(b + 4);
}

static size_t put_frame(unsigned char *b, uint8_t sec, uint8_t type,
			uint32_t len)
{
	b[0] = sec;
	b[1] = type;
	b[2] = 0;
	b[3] = 0;
	put_be32(b + 4, len);
	return PCMIG_WIRE_FRAME_HDR_LEN;
}

/*
 * RET_PAGE_REQ whose header says @len: 12 is valid; shorter frames carry
 * the first bytes of the run, longer ones zero padding after it.
 */
static size_t put_req(unsigned char *b, uint64_t gpa, uint32_t pages,
		      uint32_t len)
{
	unsigned char run[16] = {};

	put_be64(run, gpa);
	put_be32(run + 8, pages);
	put_frame(b, PCMIG_SEC_RETURN, PCMIG_RET_PAGE_REQ, len);
	memcpy(b + PCMIG_WIRE_FRAME_HDR_LEN, run, len);
	return PCMIG_WIRE_FRAME_HDR_LEN + len;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int recv_all(int fd, void *buf, size_t len)
{
	while (len) {
		ssize_t n = recv(fd, buf, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf = (char *)buf + n;
		len -= n;
	}
	return 0;
}

/*
 * All of @buf, or -1 with errno: ETIMEDOUT when the peer took nothing
 * for @stall_ms (it stopped reading), never blocking for longer.
 */
static int send_all(int fd, const void *buf, size_t len, int stall_ms)
{
	while (len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n;
		int r = poll(&p, 1, stall_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (!r) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -1;
		buf = (const char *)buf + n;
		len -= n;
	}
	return 0;
}

/* The slot and page of @gpa, or -1 outside the VM. */
static int find_page(uint64_t gpa, unsigned long *page)
{
	int i;

	for (i = 0; i < NSLOTS; i++)
		if (gpa >= slot_gpa[i] && gpa < slot_gpa[i] + slot_pages[i] * PAGE) {
			*page = (gpa - slot_gpa[i]) / PAGE;
			return i;
		}
	return -1;
}

enum close_how {
	KEEP_OPEN,
	CLOSE_FIN,	/* shutdown(SHUT_WR): the return path ends, reads go on */
	CLOSE_RST,	/* close() with data unread: the kernel resets */
};

/* How the destination answers CTL_PHASE(postcopy). */
enum switch_how {
	SWITCH_ACK,	/* resumed: RET_ACK(postcopy) */
	SWITCH_FAIL,	/* failed before resuming: RET_FAIL, then closes */
	SWITCH_SILENT,	/* says nothing and closes (resumed or not) */
};

#define SWITCH_FAIL_WHY	"guest memory here is not anonymous"

/* The destination, played by hand on the accepted end of the connection. */
struct fdst {
	int fd;
	pthread_t thr;
	bool started;
	/* Whole frames on fd; never held while waiting for the stream. */
	pthread_mutex_t wlock;
	/* Everything below. */
	pthread_mutex_t lock;

	/* Set before the start. */
	bool req_instead_of_layout_ok;	/* answer the layout with a request */
	enum close_how close_how;
	unsigned long close_after;	/* postcopy pages before closing */
	enum switch_how switch_how;

	/* What came, checked as it came. */
	unsigned char *mem[NSLOTS];	/* each page as it arrived */
	unsigned char *have[NSLOTS];	/* per page: arrived, not discarded */
	uint32_t phase;			/* of the last CTL_PHASE */
	uint32_t acked;			/* last RET_ACK sent */
	bool layout, eos, done;
	unsigned long pages;		/* pages (data or zero) received */
	unsigned long pc_pages;		/* of them after CTL_PHASE(postcopy) */
	unsigned long discarded;
	unsigned long twice;		/* postcopy pages it had already */
	char cancel[PCMIG_WIRE_REASON_MAX + 1];
	char err[256];			/* the stream broke a rule: why */
};

static void fdst_error(struct fdst *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fdst_error(struct fdst *f, const char *fmt, ...)
{
	va_list ap;

	if (f->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(f->err, sizeof(f->err), fmt, ap);
	va_end(ap);
}

/* Pages [page, page + n) of @slot arrived: @data, or zeroes if NULL. */
static void fdst_got(struct fdst *f, int slot, unsigned long page,
		     unsigned long n, const unsigned char *data)
{
	for (; n; n--, page++) {
		if (f->phase == PCMIG_PHASE_POSTCOPY) {
			f->pc_pages++;
			if (f->have[slot][page])
				f->twice++;
		}
		if (data)
			memcpy(f->mem[slot] + page * PAGE, data, PAGE);
		else
			memset(f->mem[slot] + page * PAGE, 0, PAGE);
		f->have[slot][page] = 1;
		f->pages++;
	}
}

/* A run (ZERO, DISCARD) must lie inside one slot. */
static int fdst_run(struct fdst *f, const unsigned char *pl,
		    unsigned long *page, uint32_t *n)
{
	int slot = find_page(get_be64(pl), page);

	*n = get_be32(pl + 8);
	if (slot < 0 || !*n || *n > slot_pages[slot] - *page) {
		fdst_error(f, "run 0x%llx+%u outside a slot",
			   (unsigned long long)get_be64(pl), *n);
		return -1;
	}
	return slot;
}

/*
 * One forward frame, with f->lock held: what a destination does with it,
 * and the frame to answer in @reply.  false: the stream is over.
 */
static bool fdst_frame(struct fdst *f, const unsigned char *hdr,
		       const unsigned char *pl, uint32_t len,
		       unsigned char *reply, size_t *rlen)
{
	unsigned long page;
	uint32_t n;
	int i, slot;

	switch (hdr[0] << 8 | hdr[1]) {
	case PCMIG_SEC_CONTROL << 8 | PCMIG_CTL_PHASE:
		f->phase = get_be32(pl);
		if (f->phase == PCMIG_PHASE_POSTCOPY &&
		    f->switch_how == SWITCH_SILENT)
			return false;
		if (f->phase == PCMIG_PHASE_POSTCOPY &&
		    f->switch_how == SWITCH_FAIL) {
			*rlen = put_frame(reply, PCMIG_SEC_RETURN,
					  PCMIG_RET_FAIL,
					  strlen(SWITCH_FAIL_WHY)) +
				strlen(SWITCH_FAIL_WHY);
			memcpy(reply + PCMIG_WIRE_FRAME_HDR_LEN,
			       SWITCH_FAIL_WHY, strlen(SWITCH_FAIL_WHY));
			return false;
		}
		put_frame(reply, PCMIG_SEC_RETURN, PCMIG_RET_ACK, 4);
		put_be32(reply + PCMIG_WIRE_FRAME_HDR_LEN, f->phase);
		*rlen = PCMIG_WIRE_FRAME_HDR_LEN + 4;
		return true;
	case PCMIG_SEC_CONTROL << 8 | PCMIG_CTL_EOS:
		f->eos = true;
		return false;
	case PCMIG_SEC_CONTROL << 8 | PCMIG_CTL_CANCEL:
		if (len >= sizeof(f->cancel))
			len = sizeof(f->cancel) - 1;
		memcpy(f->cancel, pl, len);
		f->cancel[len] = '\0';
		return false;
	case PCMIG_SEC_DEVICE << 8 | PCMIG_DEV_BEGIN:
	case PCMIG_SEC_DEVICE << 8 | PCMIG_DEV_DATA:
	case PCMIG_SEC_DEVICE << 8 | PCMIG_DEV_END:
		return true;
	case PCMIG_SEC_RAM << 8 | PCMIG_RAM_LAYOUT:
		/* The source's VM is the one made here: the same slots. */
		if (len != 4 + NSLOTS * PCMIG_RAM_RANGE_LEN ||
		    get_be32(pl) != NSLOTS)
			fdst_error(f, "layout of %u bytes", len);
		for (i = 0; i < NSLOTS && len == 4 + NSLOTS * 16; i++)
			if (get_be64(pl + 4 + 16 * i) != slot_gpa[i] ||
			    get_be64(pl + 12 + 16 * i) != slot_pages[i] * PAGE)
				fdst_error(f, "layout range %d differs", i);
		f->layout = true;
		if (f->req_instead_of_layout_ok)
			*rlen = put_req(reply, 0, 1, PCMIG_RAM_RUN_LEN);
		else
			*rlen = put_frame(reply, PCMIG_SEC_RETURN,
					  PCMIG_RET_LAYOUT_OK, 0);
		return true;
	case PCMIG_SEC_RAM << 8 | PCMIG_RAM_PAGE:
		slot = find_page(get_be64(pl), &page);
		if (!f->layout || slot < 0) {
			fdst_error(f, "page 0x%llx outside the layout",
				   (unsigned long long)get_be64(pl));
			return false;
		}
		fdst_got(f, slot, page, 1, pl + 8);
		break;
	case PCMIG_SEC_RAM << 8 | PCMIG_RAM_ZERO:
		slot = fdst_run(f, pl, &page, &n);
		if (!f->layout || slot < 0)
			return false;
		fdst_got(f, slot, page, n, NULL);
		break;
	case PCMIG_SEC_RAM << 8 | PCMIG_RAM_DISCARD:
		slot = fdst_run(f, pl, &page, &n);
		if (slot < 0 || f->phase != PCMIG_PHASE_STOPPED) {
			fdst_error(f, "discard outside the stopped phase");
			return false;
		}
		memset(f->have[slot] + page, 0, n);
		f->discarded += n;
		return true;
	default:
		fdst_error(f, "unexpected frame %u/%u", hdr[0], hdr[1]);
		return false;
	}
	return true;
}

/* In postcopy, after close_after pages: end the connection as asked. */
static bool fdst_close_now(struct fdst *f)
{
	bool go = f->close_how != KEEP_OPEN &&
		  f->phase == PCMIG_PHASE_POSTCOPY &&
		  f->pc_pages >= f->close_after;

	if (!go)
		return false;
	pthread_mutex_lock(&f->wlock);
	if (f->close_how == CLOSE_FIN) {
		shutdown(f->fd, SHUT_WR);
	} else {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(f->fd);
		f->fd = -1;
	}
	pthread_mutex_unlock(&f->wlock);
	f->close_how = KEEP_OPEN;
	return f->fd < 0;
}

static void *fdst_main(void *arg)
{
	unsigned char pre[PCMIG_WIRE_PREAMBLE_LEN], hdr[PCMIG_WIRE_FRAME_HDR_LEN];
	unsigned char reply[RP_FRAME_MAX];
	struct fdst *f = arg;
	unsigned char *pl = malloc(PCMIG_WIRE_FRAME_MAX + 1);
	bool more = pl != NULL;
	uint32_t len;
	size_t rlen;

	if (more && recv_all(f->fd, pre, sizeof(pre))) {
		fdst_error(f, "no preamble from the source");
		more = false;
	}
	if (more && (get_be32(pre) != PCMIG_WIRE_MAGIC ||
		     get_be32(pre + 4) != (1U << 16 | PCMIG_WIRE_PREAMBLE_LEN) ||
		     get_be32(pre + 8) != CAPS || get_be32(pre + 12))) {
		fdst_error(f, "bad preamble from the source");
		more = false;
	}
	while (more) {
		/* EOF: the source shut the connection down (or it broke). */
		if (recv_all(f->fd, hdr, sizeof(hdr)))
			break;
		len = get_be32(hdr + 4);
		if (len > PCMIG_WIRE_FRAME_MAX || recv_all(f->fd, pl, len)) {
			pthread_mutex_lock(&f->lock);
			fdst_error(f, "frame %u/%u of %u bytes torn or too long",
				   hdr[0], hdr[1], len);
			pthread_mutex_unlock(&f->lock);
			break;
		}
		rlen = 0;
		pthread_mutex_lock(&f->lock);
		more = fdst_frame(f, hdr, pl, len, reply, &rlen);
		pthread_mutex_unlock(&f->lock);
		if (rlen) {
			pthread_mutex_lock(&f->wlock);
			if (send_all(f->fd, reply, rlen, STALL_MS))
				fdst_error(f, "answer %u/%u not taken: %s",
					   reply[0], reply[1], strerror(errno));
			pthread_mutex_unlock(&f->wlock);
			pthread_mutex_lock(&f->lock);
			if (reply[1] == PCMIG_RET_ACK)
				f->acked = f->phase;
			pthread_mutex_unlock(&f->lock);
		}
		pthread_mutex_lock(&f->lock);
		if (fdst_close_now(f))
			more = false;
		pthread_mutex_unlock(&f->lock);
	}
	free(pl);
	pthread_mutex_lock(&f->wlock);
	/* No answer to the switch, or a failure: the connection ends. */
	if (f->switch_how != SWITCH_ACK && f->fd >= 0)
		shutdown(f->fd, SHUT_WR);
	pthread_mutex_unlock(&f->wlock);
	pthread_mutex_lock(&f->lock);
	f->done = true;
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static int fdst_send(struct fdst *f, const void *buf, size_t len)
{
	int err;

	pthread_mutex_lock(&f->wlock);
	err = f->fd < 0 ? -1 : send_all(f->fd, buf, len, STALL_MS);
	pthread_mutex_unlock(&f->wlock);
	return err;
}

/* Wait up to @ms for @cond on the destination's state. */
static bool fdst_wait(struct fdst *f, bool (*cond)(struct fdst *f), int ms)
{
	long end = now_ms() + ms;
	bool ok;

	for (;;) {
		pthread_mutex_lock(&f->lock);
		ok = cond(f);
		pthread_mutex_unlock(&f->lock);
		if (ok || now_ms() > end)
			return ok;
		usleep(5000);
	}
}

static bool acked_postcopy(struct fdst *f)
{
	return f->acked == PCMIG_PHASE_POSTCOPY || f->done;
}

static bool stream_over(struct fdst *f)
{
	return f->done;
}

/* Everything a test needs: the VMM's VM, the session, the destination. */
struct ctx {
	struct tnl nl;
	struct vm vm;
	unsigned char *orig[NSLOTS];	/* the VM's memory before the start */
	uint32_t sid;
	int sp[2];
	struct fdst d;
};

/* Random data with every third page zero, and a copy of it to compare. */
static int ctx_fill(struct ctx *c)
{
	unsigned long i, p;
	int s;

	srandom(5);
	for (s = 0; s < NSLOTS; s++) {
		for (p = 0; p < slot_pages[s]; p++) {
			unsigned char *pg = c->vm.mem[s] + p * PAGE;

			if (p % 3 == 0)
				memset(pg, 0, PAGE);
			else
				for (i = 0; i < PAGE; i++)
					pg[i] = random();
		}
		c->orig[s] = malloc(slot_pages[s] * PAGE);
		c->d.mem[s] = malloc(slot_pages[s] * PAGE);
		c->d.have[s] = calloc(slot_pages[s], 1);
		if (!c->orig[s] || !c->d.mem[s] || !c->d.have[s])
			return -ENOMEM;
		memcpy(c->orig[s], c->vm.mem[s], slot_pages[s] * PAGE);
	}
	return 0;
}

static void ctx_setup(struct __test_metadata *_metadata, struct ctx *c)
{
	c->sp[0] = c->sp[1] = c->d.fd = -1;
	pthread_mutex_init(&c->d.lock, NULL);
	pthread_mutex_init(&c->d.wlock, NULL);
	if (access("/dev/kvm", R_OK | W_OK))
		SKIP(return, "no /dev/kvm");
	ASSERT_EQ(0, tnl_open(&c->nl));
	ASSERT_EQ(0, vm_create(&c->vm, false, slot_pages[NSLOTS - 1]));
	ASSERT_EQ(0, ctx_fill(c));
	ASSERT_EQ(0, tcp_pair(c->sp));
	c->d.fd = c->sp[1];
	c->sp[1] = -1;
	ASSERT_EQ(0, tnl_new(&c->nl, PCMIG_ROLE_SOURCE, CAPS, &c->sid));
	ASSERT_EQ(0, tnl_attach(&c->nl, c->sid, c->sp[0]));
	ASSERT_EQ(0, vm_attach(&c->nl, c->sid, c->vm.fd))
		TH_LOG("%s", c->nl.errmsg);
}

static void ctx_teardown(struct ctx *c)
{
	int i;

	/* A session still running is cancelled, so nothing waits on us. */
	if (c->sid)
		tnl_simple(&c->nl, PCMIG_CMD_CANCEL, c->sid);
	pthread_mutex_lock(&c->d.wlock);
	if (c->d.fd >= 0)
		shutdown(c->d.fd, SHUT_RDWR);
	pthread_mutex_unlock(&c->d.wlock);
	if (c->d.started)
		pthread_join(c->d.thr, NULL);
	if (c->d.fd >= 0)
		close(c->d.fd);
	if (c->sp[0] >= 0)
		close(c->sp[0]);
	if (c->sid)
		tnl_wait_phase(&c->nl, c->sid, PCMIG_PHASE_COMPLETED, 10000);
	tnl_close(&c->nl);
	if (c->vm.kvm > 0)
		vm_destroy(&c->vm, slot_pages[NSLOTS - 1]);
	for (i = 0; i < NSLOTS; i++) {
		free(c->orig[i]);
		free(c->d.mem[i]);
		free(c->d.have[i]);
	}
}

/*
 * Start the migration: the destination's preamble goes first (the source
 * sends its own, then reads ours), then the reader starts.  With
 * start-postcopy already requested the source probes the bandwidth on
 * 1 MiB, asks its VMM to stop, discards and enters postcopy; the fake
 * destination acknowledges every phase.  @to_postcopy: return once the
 * destination has acknowledged postcopy.
 */
static void ctx_start(struct __test_metadata *_metadata, struct ctx *c,
		      uint64_t pc_bw, bool to_postcopy)
{
	unsigned char pre[PCMIG_WIRE_PREAMBLE_LEN] = {};
	struct tnl_req r;

	tnl_req_init(&c->nl, &r, PCMIG_CMD_SESSION_SET, false);
	tnl_put_u32(&r, PCMIG_A_SESSION_ID, c->sid);
	/* Nothing but the device state fits 1 ms: postcopy right away. */
	tnl_put_u32(&r, PCMIG_A_DOWNTIME_LIMIT, 1);
	/* And the probe cannot measure loopback at memory speed. */
	tnl_put_u64(&r, PCMIG_A_MAX_BANDWIDTH, 32 << 20);
	tnl_put_u64(&r, PCMIG_A_MAX_POSTCOPY_BANDWIDTH, pc_bw);
	ASSERT_EQ(0, tnl_call(&c->nl, &r, NULL, NULL))
		TH_LOG("%s", c->nl.errmsg);
	ASSERT_EQ(0, tnl_simple(&c->nl, PCMIG_CMD_START_POSTCOPY, c->sid))
		TH_LOG("%s", c->nl.errmsg);

	put_be32(pre, PCMIG_WIRE_RP_MAGIC);
	put_be32(pre + 4, 1U << 16 | PCMIG_WIRE_PREAMBLE_LEN);
	put_be32(pre + 8, CAPS);
	ASSERT_EQ(0, fdst_send(&c->d, pre, sizeof(pre)));
	ASSERT_EQ(0, pthread_create(&c->d.thr, NULL, fdst_main, &c->d));
	c->d.started = true;
	ASSERT_EQ(0, tnl_simple(&c->nl, PCMIG_CMD_START, c->sid));
	if (!to_postcopy)
		return;
	ASSERT_EQ(0, ack_stop(&c->nl, c->sid));
	ASSERT_TRUE(fdst_wait(&c->d, acked_postcopy, 30000));
	pthread_mutex_lock(&c->d.lock);
	EXPECT_STREQ("", c->d.err);
	EXPECT_EQ(PCMIG_PHASE_POSTCOPY, c->d.acked);
	/* The probe's pages stay; the rest is left for postcopy. */
	EXPECT_GT(c->d.pages, 0);
	EXPECT_GT(c->d.discarded, 0);
	TH_LOG("before postcopy: %lu pages arrived, %lu discarded",
	       c->d.pages, c->d.discarded);
	pthread_mutex_unlock(&c->d.lock);
}

/* The source's guest memory, through the VMM's own mapping, is untouched. */
static void check_source_memory(struct __test_metadata *_metadata,
				struct ctx *c)
{
	int i;

	for (i = 0; i < NSLOTS; i++)
		EXPECT_EQ(0, memcmp(c->vm.mem[i], c->orig[i],
				    slot_pages[i] * PAGE)) TH_LOG("slot %d", i);
}

/* The source ends in @phase; its reason. */
static void wait_end(struct __test_metadata *_metadata, struct ctx *c,
		     uint32_t phase, struct tnl_session *s)
{
	EXPECT_EQ(phase, tnl_wait_phase(&c->nl, c->sid, phase, 30000));
	ASSERT_EQ(0, tnl_get(&c->nl, c->sid, s));
	TH_LOG("source: %s", s->reason);
}

struct pc_stats {
	uint64_t requests, dup, requested, background, dirty;
};

static void take_pc_stats(const struct tnl_attrs *at, void *arg)
{
	struct pc_stats *p = arg;

#define STAT(n) (at->stat[n] ? tnl_u64(at->stat[n]) : 0)
	p->requests = STAT(PCMIG_STAT_PC_REQUESTS);
	p->dup = STAT(PCMIG_STAT_PC_DUP_REQUESTS);
	p->requested = STAT(PCMIG_STAT_PC_PAGES_REQUESTED);
	p->background = STAT(PCMIG_STAT_PC_PAGES_BACKGROUND);
	p->dirty = STAT(PCMIG_STAT_DIRTY_PAGES);
#undef STAT
}

static int get_pc_stats(struct tnl *nl, uint32_t id, struct pc_stats *p)
{
	struct tnl_req r;

	tnl_req_init(nl, &r, PCMIG_CMD_SESSION_GET, false);
	tnl_put_u32(&r, PCMIG_A_SESSION_ID, id);
	return tnl_call(nl, &r, take_pc_stats, p);
}

/*
 * One hostile page request (or a frame of the wrong length) after the
 * destination acknowledged postcopy.  The source must fail with the exact
 * reason, tell the destination the same in its CTL_CANCEL, and keep its
 * guest: the reason says so, and the memory is untouched.
 */
FIXTURE(bad_req) {
	struct ctx c;
};

FIXTURE_VARIANT(bad_req) {
	uint64_t gpa;
	uint32_t pages;
	uint32_t len;		/* of the frame's payload */
	bool before_layout_ok;	/* instead of accepting the layout */
	const char *why;	/* the checker's or the source's words */
};

/* The source judges against its own layout (kmod/pc_source.c). */
FIXTURE_VARIANT_ADD(bad_req, in_a_hole) {
	.gpa = 0xa0000, .pages = 1, .len = 12,
	.why = "page request outside guest RAM",
};

FIXTURE_VARIANT_ADD(bad_req, far_beyond_ram) {
	.gpa = 1ULL << 40, .pages = 1, .len = 12,
	.why = "page request outside guest RAM",
};

/* The last page of slot 0 and the first of the hole after it. */
FIXTURE_VARIANT_ADD(bad_req, straddles_slot_end) {
	.gpa = 0x9f000, .pages = 2, .len = 12,
	.why = "page request outside guest RAM",
};

/* The last page of the last slot, and 63 pages past the end of RAM. */
FIXTURE_VARIANT_ADD(bad_req, straddles_ram_end) {
	.gpa = 0x33f000, .pages = 64, .len = 12,
	.why = "page request outside guest RAM",
};

/* The checker's rules (kmod/wire.c rx_page_req(), frame_len_ok()). */
FIXTURE_VARIANT_ADD(bad_req, zero_pages) {
	.gpa = 0x100000, .pages = 0, .len = 12,
	.why = "bad page request",
};

FIXTURE_VARIANT_ADD(bad_req, too_many_pages) {
	.gpa = 0x100000, .pages = PCMIG_RAM_REQ_MAX + 1, .len = 12,
	.why = "bad page request",
};

FIXTURE_VARIANT_ADD(bad_req, misaligned_gpa) {
	.gpa = 0x100800, .pages = 1, .len = 12,
	.why = "bad page request",
};

FIXTURE_VARIANT_ADD(bad_req, end_past_2_64) {
	.gpa = 0xfffffffffffff000ULL, .pages = 2, .len = 12,
	.why = "bad page request",
};

FIXTURE_VARIANT_ADD(bad_req, short_frame) {
	.gpa = 0x100000, .pages = 1, .len = 11,
	.why = "frame length out of range for its type",
};

FIXTURE_VARIANT_ADD(bad_req, long_frame) {
	.gpa = 0x100000, .pages = 1, .len = 13,
	.why = "frame length out of range for its type",
};

FIXTURE_VARIANT_ADD(bad_req, before_layout_ok) {
	.gpa = 0, .pages = 1, .len = 12, .before_layout_ok = true,
	.why = "page request before the RAM layout was accepted",
};

FIXTURE_SETUP(bad_req)
{
	ctx_setup(_metadata, &self->c);
	self->c.d.req_instead_of_layout_ok = variant->before_layout_ok;
}

FIXTURE_TEARDOWN(bad_req)
{
	ctx_teardown(&self->c);
}

TEST_F_TIMEOUT(bad_req, fails_the_source, 90)
{
	unsigned char buf[RP_FRAME_MAX];
	struct ctx *c = &self->c;
	struct tnl_session s;
	char want[PCMIG_REASON_MAX];

	ctx_start(_metadata, c, PC_BW, !variant->before_layout_ok);
	if (!variant->before_layout_ok)
		ASSERT_EQ(0, fdst_send(&c->d, buf, put_req(buf, variant->gpa,
							   variant->pages,
							   variant->len)));
	wait_end(_metadata, c, PCMIG_PHASE_FAILED, &s);
	if (variant->before_layout_ok) {
		/*
		 * Read while waiting for the layout's answer, in precopy: no
		 * guest ran elsewhere, nothing to keep, no page sent.
		 */
		snprintf(want, sizeof(want), "bad return path: %s",
			 variant->why);
		EXPECT_STREQ(want, s.reason);
		EXPECT_FALSE(s.stop_requested);
	} else {
		snprintf(want, sizeof(want), "bad return path: %s%s",
			 variant->why, KEPT);
		EXPECT_STREQ(want, s.reason);
	}
	ASSERT_TRUE(fdst_wait(&c->d, stream_over, 10000));
	pthread_mutex_lock(&c->d.lock);
	EXPECT_STREQ("", c->d.err);
	EXPECT_FALSE(c->d.eos);
	if (variant->before_layout_ok) {
		EXPECT_EQ(0, c->d.pages);
	} else {
		/* The source's last word names the broken rule. */
		EXPECT_STREQ(variant->why, c->d.cancel);
		/* It was still sending: the request came mid-postcopy. */
		EXPECT_LT(c->d.pc_pages, c->d.discarded);
	}
	pthread_mutex_unlock(&c->d.lock);
	check_source_memory(_metadata, c);
}

/* Postcopy with valid but abundant, or abruptly ended, return paths. */
FIXTURE(pc) {
	struct ctx c;
};

FIXTURE_SETUP(pc)
{
	ctx_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(pc)
{
	ctx_teardown(&self->c);
}

/* Global page @k (slots in order) as slot and page. */
static int nth_page(unsigned long k, unsigned long *page)
{
	int i;

	for (i = 0; i < NSLOTS; i++) {
		if (k < slot_pages[i]) {
			*page = k;
			return i;
		}
		k -= slot_pages[i];
	}
	return -1;
}

/*
 * 100000 valid requests, as fast as the source takes them: the first
 * pass over the VM asks for each page once, from the last page down, so
 * that it reaches pages the background has not sent yet; the later ones
 * ask again for runs of up to 64 pages (never past a slot's end), all
 * sent already.  The queue holds the source's reader back, and the
 * migration must still complete: CTL_EOS, then RET_COMPLETE, and every
 * page of the VM arrived exactly once in postcopy, as it is in the VM.
 */
TEST_F_TIMEOUT(pc, request_flood, 240)
{
	unsigned long total = 0, bad = 0, k, page = 0, i;
	struct ctx *c = &self->c;
	unsigned char *buf, *b;
	struct tnl_session s;
	struct pc_stats st;
	long t0;
	int slot, err = 0;

	for (i = 0; i < NSLOTS; i++)
		total += slot_pages[i];
	buf = malloc(FLOOD_BATCH * RP_FRAME_MAX);
	ASSERT_NE(NULL, buf);
	ctx_start(_metadata, c, PC_BW, true);
	t0 = now_ms();
	for (i = 0; i < FLOOD && !err; ) {
		for (b = buf; b - buf < FLOOD_BATCH * 20 && i < FLOOD; i++) {
			uint32_t n = 1 + (i / total) % PCMIG_RAM_REQ_MAX;

			k = total - 1 - i % total;
			slot = nth_page(k, &page);
			if (n > slot_pages[slot] - page)
				n = slot_pages[slot] - page;
			b += put_req(b, slot_gpa[slot] + page * PAGE, n,
				     PCMIG_RAM_RUN_LEN);
		}
		err = fdst_send(&c->d, buf, b - buf);
	}
	free(buf);
	TH_LOG("%lu requests written in %ld ms%s", i, now_ms() - t0,
	       err ? ", then the source took no more" : "");
	EXPECT_EQ(0, err) TH_LOG("the source stopped reading its return path "
				 "for %d s", STALL_MS / 1000);
	EXPECT_TRUE(fdst_wait(&c->d, stream_over, 60000));
	pthread_mutex_lock(&c->d.lock);
	EXPECT_STREQ("", c->d.err);
	EXPECT_TRUE(c->d.eos) TH_LOG("no CTL_EOS; cancel: %s", c->d.cancel);
	pthread_mutex_unlock(&c->d.lock);
	{
		unsigned char fr[PCMIG_WIRE_FRAME_HDR_LEN];

		put_frame(fr, PCMIG_SEC_RETURN, PCMIG_RET_COMPLETE, 0);
		EXPECT_EQ(0, fdst_send(&c->d, fr, sizeof(fr)));
	}
	EXPECT_EQ(PCMIG_PHASE_COMPLETED,
		  tnl_wait_phase(&c->nl, c->sid, PCMIG_PHASE_COMPLETED, 30000));
	ASSERT_EQ(0, tnl_get(&c->nl, c->sid, &s));
	ASSERT_EQ(0, get_pc_stats(&c->nl, c->sid, &st));
	TH_LOG("source: phase %u \"%s\"; requests %llu (dup %llu), pages "
	       "requested %llu, background %llu, still dirty %llu", s.phase,
	       s.reason, (unsigned long long)st.requests,
	       (unsigned long long)st.dup, (unsigned long long)st.requested,
	       (unsigned long long)st.background,
	       (unsigned long long)st.dirty);
	if (s.phase == PCMIG_PHASE_POSTCOPY && !st.dirty)
		TH_LOG("every page sent, yet RET_COMPLETE never read: the "
		       "source's reader waits for room in a request queue "
		       "that nothing drains any more");
	EXPECT_STREQ("", s.reason);
	EXPECT_GT(st.requests, 0);
	EXPECT_GT(st.dup, 0);
	/* The first requests came before the background got there. */
	EXPECT_GT(st.requested, 0);

	pthread_mutex_lock(&c->d.lock);
	EXPECT_EQ(0, c->d.twice);
	for (slot = 0; slot < NSLOTS; slot++)
		for (page = 0; page < slot_pages[slot]; page++) {
			size_t off = page * PAGE;

			if (c->d.have[slot][page] &&
			    !memcmp(c->d.mem[slot] + off, c->orig[slot] + off,
				    PAGE))
				continue;
			if (!bad++)
				TH_LOG("page 0x%lx %s", slot_gpa[slot] + off,
				       c->d.have[slot][page] ? "differs" :
				       "never arrived");
		}
	EXPECT_EQ(0, bad) TH_LOG("%lu pages wrong or missing", bad);
	pthread_mutex_unlock(&c->d.lock);
	check_source_memory(_metadata, c);
}

/*
 * The destination goes away in the middle of postcopy.  The source
 * cannot resume its guest (it ran on the destination) and must not lose
 * it either (rule S7): it fails, saying the connection is gone and that
 * the stopped state is kept; its guest memory is untouched.
 */
static void closed_mid_postcopy(struct __test_metadata *_metadata,
				struct ctx *c, enum close_how how,
				const char *const *reasons)
{
	struct tnl_session s;
	bool known = false;
	int i;

	c->d.close_how = how;
	c->d.close_after = 8;
	ctx_start(_metadata, c, PC_BW, true);
	wait_end(_metadata, c, PCMIG_PHASE_FAILED, &s);
	for (i = 0; reasons[i]; i++)
		known |= !strcmp(reasons[i], s.reason);
	EXPECT_TRUE(known) TH_LOG("unexpected reason");
	EXPECT_NE(NULL, strstr(s.reason, "kept here for recovery"));
	EXPECT_EQ(PCMIG_GUEST_THERE, s.guest_at);
	ASSERT_TRUE(fdst_wait(&c->d, stream_over, 10000));
	pthread_mutex_lock(&c->d.lock);
	EXPECT_STREQ("", c->d.err);
	EXPECT_FALSE(c->d.eos);
	/* It was closed in postcopy, with pages still to come. */
	EXPECT_GE(c->d.pc_pages, 8);
	EXPECT_LT(c->d.pc_pages, c->d.discarded);
	pthread_mutex_unlock(&c->d.lock);
	check_source_memory(_metadata, c);
}

/* The return path ends (FIN); the forward stream is still read. */
TEST_F_TIMEOUT(pc, destination_shuts_return_path, 90)
{
	static const char *const reasons[] = {
		"return path: connection closed by peer" KEPT,
		NULL,
	};

	closed_mid_postcopy(_metadata, &self->c, CLOSE_FIN, reasons);
}

/*
 * The destination's process dies with data unread: its kernel resets
 * the connection.  The source's reader and its sender both see it; which
 * consumes the reset decides between its two words for it.
 */
TEST_F_TIMEOUT(pc, destination_resets_connection, 90)
{
	static const char *const reasons[] = {
		"return path: connection reset by peer" KEPT,
		"return path: connection closed by peer" KEPT,
		NULL,
	};

	closed_mid_postcopy(_metadata, &self->c, CLOSE_RST, reasons);
}

/*
 * The destination answers the switch to postcopy as @how says; the
 * source must fail with @reason and say where the guest runs (@at).
 */
static void switch_fails(struct __test_metadata *_metadata, struct ctx *c,
			 enum switch_how how, const char *reason, uint32_t at)
{
	struct tnl_session s;

	c->d.switch_how = how;
	ctx_start(_metadata, c, PC_BW, false);
	ASSERT_EQ(0, ack_stop(&c->nl, c->sid));
	wait_end(_metadata, c, PCMIG_PHASE_FAILED, &s);
	EXPECT_STREQ(reason, s.reason);
	EXPECT_EQ(at, s.guest_at);
	check_source_memory(_metadata, c);
}

/*
 * A failure in answer to the switch: the destination never resumed the
 * guest (dest.c says nothing once it asked its VMM to resume), so the
 * source's copy may run again, and its reason does not forbid it.
 */
TEST_F_TIMEOUT(pc, switch_refused_guest_here, 90)
{
	switch_fails(_metadata, &self->c, SWITCH_FAIL,
		     "destination failed: " SWITCH_FAIL_WHY, PCMIG_GUEST_HERE);
}

/*
 * The connection ends with the switch unanswered: the destination may
 * have resumed the guest; the source keeps its copy stopped, says why.
 */
TEST_F_TIMEOUT(pc, switch_unanswered_guest_maybe_there, 90)
{
	switch_fails(_metadata, &self->c, SWITCH_SILENT,
		     "return path: connection closed by peer (the guest may run there; state kept here for recovery: do not resume)",
		     PCMIG_GUEST_MAYBE_THERE);
}

TEST_HARNESS_MAIN
