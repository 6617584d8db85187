// SPDX-License-Identifier: GPL-2.0
/*
 * Socket I/O for the session workers.
 *
 * The socket gets one-second send and receive timeouts, so a worker blocked
 * on a silent or stalled peer wakes up regularly to look at s->stopping.
 * That keeps cancel, session teardown and module unload bounded without
 * racing a shutdown() against a worker that may still want to tell the
 * peer why it stops.
 */
#include <linux/delay.h>
#include <linux/math64.h>
#include <linux/net.h>
#include <linux/sched.h>
#include <linux/socket.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <net/sock.h>

#include "phase.h"
#include "session.h"
#include "stream.h"
#include "wire.h"

#define PCMIG_IO_POLL		HZ
#define PCMIG_RATE_WINDOW_NS	NSEC_PER_SEC
#define PCMIG_KEEPALIVE_IDLE	10	/* s before the first probe */
#define PCMIG_KEEPALIVE_INTVL	5	/* s between probes */
#define PCMIG_KEEPALIVE_CNT	3	/* unanswered probes = dead */
#define PCMIG_USER_TIMEOUT_MS	30000	/* unacknowledged data = dead */
/* Postcopy: bytes queued unsent before a background page waits. */
#define PCMIG_PC_UNSENT_MAX	(64U << 10)

void pcmig_stream_setup(struct pcmig_session *s)
{
	struct sock *sk = s->sock->sk;

	lock_sock(sk);
	sk->sk_sndtimeo = PCMIG_IO_POLL;
	sk->sk_rcvtimeo = PCMIG_IO_POLL;
	release_sock(sk);
	/*
	 * A peer host that vanishes (power loss, cut link) sends no FIN or
	 * RST: keepalive probes turn that into an error within ~25 s instead
	 * of a worker waiting forever.
	 */
	if (sk->sk_protocol == IPPROTO_TCP) {
		sock_set_keepalive(sk);
		tcp_sock_set_keepidle(sk, PCMIG_KEEPALIVE_IDLE);
		tcp_sock_set_keepintvl(sk, PCMIG_KEEPALIVE_INTVL);
		tcp_sock_set_keepcnt(sk, PCMIG_KEEPALIVE_CNT);
		/*
		 * Data the peer does not acknowledge for this long (a cut
		 * link while we send, where keepalive never starts) is an
		 * error rather than retransmissions for a quarter hour.
		 */
		tcp_sock_set_user_timeout(sk, PCMIG_USER_TIMEOUT_MS);
		/*
		 * Small frames must not wait for the previous one's ACK
		 * (Nagle, up to a delayed-ACK timeout): page requests and
		 * requested pages are latency bound.  Bulk frames are
		 * coalesced with MSG_MORE instead.
		 */
		tcp_sock_set_nodelay(sk);
	}
	s->rl_start = ktime_get();
	s->rl_bytes = 0;
}

const char *pcmig_io_error(int err)
{
	switch (err) {
	case -ENOTCONN:
		return "connection closed by peer";
	case -ECONNRESET:
		return "connection reset by peer";
	case -ECONNABORTED:
		return "connection aborted";
	case -EPIPE:
		return "connection broken";
	case -ETIMEDOUT:
		return "connection timed out";
	case -EINTR:
		return "aborted";
	default:
		return "socket error";
	}
}

/*
 * Send all of @buf.  @final: a last word to the peer (cancel or failure
 * notice) that must not hold teardown up; give up at the first timeout.
 * @more: more follows at once (a frame's payload after its header), so
 * TCP may put both in one segment.
 */
static int send_buf(struct pcmig_session *s, const void *buf, size_t len,
		    bool final, bool more)
{
	int err = 0;

	while (len && !err) {
		struct kvec iov = { .iov_base = (void *)buf, .iov_len = len };
		struct msghdr msg = {
			.msg_flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0),
		};
		int n = kernel_sendmsg(s->sock, &msg, &iov, 1, len);

		if (n == -EAGAIN) {
			if (final)
				err = -ETIMEDOUT;
			else if (pcmig_session_aborted(s))
				err = -EINTR;
			continue;
		}
		if (n < 0) {
			err = n;
			continue;
		}
		buf += n;
		len -= n;
		s->stats.bytes_sent += n;
	}
	/* The peer can no longer parse what follows a torn frame. */
	if (err)
		s->tx_broken = true;
	return err;
}

static int recv_buf(struct pcmig_session *s, void *buf, size_t len,
		    bool final)
{
	while (len) {
		struct kvec iov = { .iov_base = buf, .iov_len = len };
		struct msghdr msg = { .msg_flags = 0 };
		int n = kernel_recvmsg(s->sock, &msg, &iov, 1, len,
				       MSG_WAITALL);

		if (n == -EAGAIN) {
			if (final)
				return -ETIMEDOUT;
			if (pcmig_session_aborted(s) || READ_ONCE(s->pc.rx_stop))
				return -EINTR;
			/* The destination's fault thread failed the session. */
			if (READ_ONCE(s->pc.fault_why))
				return -ESHUTDOWN;
			continue;
		}
		if (n < 0)
			return n;
		if (n == 0)
			return -ENOTCONN;
		buf += n;
		len -= n;
		s->stats.bytes_received += n;
	}
	return 0;
}

int pcmig_recv(struct pcmig_session *s, void *buf, size_t len)
{
	return recv_buf(s, buf, len, false);
}

/* What the peer still has to say once we are failing: wait no longer. */
int pcmig_recv_last_word(struct pcmig_session *s, void *buf, size_t len)
{
	return recv_buf(s, buf, len, true);
}

/*
 * Pace the sender to the limit of the current phase (rule S4): account the
 * bytes first, then sleep until the time they are due.  Idle time is not
 * banked beyond one window, so a long pause cannot turn into a burst.
 */
static int rate_limit(struct pcmig_session *s, u32 len, bool yield)
{
	u64 limit = pcmig_rate_limit(READ_ONCE(s->phase), false,
				     READ_ONCE(s->max_bandwidth),
				     READ_ONCE(s->max_postcopy_bandwidth));
	ktime_t now = ktime_get();
	s64 elapsed = ktime_to_ns(ktime_sub(now, s->rl_start));
	u64 due;

	if (limit != s->rl_limit || elapsed > PCMIG_RATE_WINDOW_NS) {
		due = s->rl_limit ? mul_u64_u64_div_u64(s->rl_bytes,
							NSEC_PER_SEC,
							s->rl_limit) : 0;
		if (limit != s->rl_limit || due < elapsed) {
			s->rl_start = now;
			s->rl_bytes = 0;
			s->rl_limit = limit;
			elapsed = 0;
		}
	}
	if (!limit)
		return 0;
	s->rl_bytes += len;
	due = mul_u64_u64_div_u64(s->rl_bytes, NSEC_PER_SEC, limit);
	if (due <= elapsed)
		return 0;
	wait_event_timeout(s->wq, pcmig_session_aborted(s) ||
			   (yield && pcmig_pc_request_queued(s)),
			   nsecs_to_jiffies(due - elapsed));
	if (pcmig_session_aborted(s))
		return -EINTR;
	/*
	 * A page request (postcopy) came before these bytes were due: it
	 * goes first.  They stay charged, so when tried again they wait only
	 * for the rest of their time: requests do not starve the background.
	 */
	if (yield && pcmig_pc_request_queued(s) &&
	    ktime_to_ns(ktime_sub(ktime_get(), s->rl_start)) < due)
		return -EAGAIN;
	return 0;
}

/*
 * Postcopy: a requested page queues behind what the socket holds unsent,
 * so the background keeps that short (the bytes in flight are on their
 * way anyway).  Waits while it is long, unless a request is waiting.
 */
int pcmig_stream_wait_room(struct pcmig_session *s)
{
	struct tcp_sock *tp;

	if (s->sock->sk->sk_protocol != IPPROTO_TCP)
		return 0;
	tp = tcp_sk(s->sock->sk);
	while (READ_ONCE(tp->write_seq) - READ_ONCE(tp->snd_nxt) >
	       PCMIG_PC_UNSENT_MAX) {
		/* A broken connection: the next send says how. */
		if (READ_ONCE(s->sock->sk->sk_err) ||
		    READ_ONCE(s->sock->sk->sk_state) != TCP_ESTABLISHED)
			return 0;
		if (pcmig_session_aborted(s))
			return -EINTR;
		if (pcmig_pc_request_queued(s))
			return -EAGAIN;
		usleep_range(100, 200);
	}
	return 0;
}

/* Bytes sent unpaced that the paced stream makes up for (rule S4). */
void pcmig_rate_charge(struct pcmig_session *s, u32 len)
{
	if (s->rl_limit)
		s->rl_bytes += len;
}

enum pcmig_pace {
	PCMIG_PACED,		/* by the phase's limit (rule S4) */
	PCMIG_UNPACED,		/* requested pages, page requests, last words */
};

/*
 * @final: a last word (see send_buf()).  Two threads may send on one
 * session (the destination's fault thread sends page requests): a frame
 * goes out whole under s->tx_lock.  Pacing happens before, in the one
 * thread that sends paced frames, the session worker.
 */
static int send_frame(struct pcmig_session *s, u8 section, u8 type,
		      const void *payload, u32 len, bool final,
		      enum pcmig_pace pace)
{
	u8 hdr[PCMIG_WIRE_FRAME_HDR_LEN];
	int err = 0;

	if (!final && pcmig_session_aborted(s))
		return -EINTR;
	if (!final && pace != PCMIG_UNPACED)
		err = rate_limit(s, len + sizeof(hdr), false);
	if (err)
		return err;
	pcmig_wire_put_frame(hdr, section, type, len);
	mutex_lock(&s->tx_lock);
	err = send_buf(s, hdr, sizeof(hdr), final, len != 0);
	if (!err && len)
		err = send_buf(s, payload, len, final, false);
	mutex_unlock(&s->tx_lock);
	if (!err && !final && pace != PCMIG_UNPACED)
		pcmig_session_progress(s, false);
	return err;
}

/*
 * Frames already laid out in @buf (a precopy pass or a postcopy batch
 * gathers its pages): paced as one, sent with one sendmsg, whole under
 * s->tx_lock.  PCMIG_FRAMES_YIELD: -EAGAIN, unsent, when a page request
 * came first; the same frames are to be sent again (charged already).
 */
int pcmig_send_frames(struct pcmig_session *s, const void *buf, u32 len,
		      enum pcmig_frames_pace pace)
{
	u32 charge = s->rl_yielded ? 0 : len;
	int err = 0;

	if (pcmig_session_aborted(s))
		return -EINTR;
	if (pace == PCMIG_FRAMES_NOW)
		pcmig_rate_charge(s, charge);
	else
		err = rate_limit(s, charge, pace == PCMIG_FRAMES_YIELD);
	s->rl_yielded = err == -EAGAIN;
	if (err)
		return err;
	mutex_lock(&s->tx_lock);
	err = send_buf(s, buf, len, false, false);
	mutex_unlock(&s->tx_lock);
	if (!err)
		pcmig_session_progress(s, false);
	return err;
}

int pcmig_send_frame(struct pcmig_session *s, u8 section, u8 type,
		     const void *payload, u32 len)
{
	return send_frame(s, section, type, payload, len, false, PCMIG_PACED);
}

/* Rule S4: requested pages and page requests never wait for a limit. */
int pcmig_send_frame_urgent(struct pcmig_session *s, u8 section, u8 type,
			    const void *payload, u32 len)
{
	return send_frame(s, section, type, payload, len, false,
			  PCMIG_UNPACED);
}

/* Best effort: tell the peer why we stop, without waiting on it. */
void pcmig_send_last_word(struct pcmig_session *s, u8 section, u8 type,
			  const char *reason)
{
	if (s->tx_broken)
		return;
	send_frame(s, section, type, reason,
		   min_t(size_t, strlen(reason), PCMIG_WIRE_REASON_MAX), true,
		   PCMIG_UNPACED);
}

int pcmig_send_preamble(struct pcmig_session *s, u32 magic)
{
	u8 buf[PCMIG_WIRE_PREAMBLE_LEN];

	pcmig_wire_put_preamble(buf, magic, s->caps);
	return send_buf(s, buf, sizeof(buf), false, false);
}
