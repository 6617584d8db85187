// SPDX-License-Identifier: GPL-2.0
/*
 * Session registry and lifecycle.
 *
 * Sessions live in one id-allocating xarray.  The array holds one
 * reference; lookups take theirs under the array lock, so a session found
 * there cannot be freed under the finder.  Destroying a session takes it
 * out of the array first, then stops its worker, then drops the array's
 * reference: whoever still holds one keeps a dead but valid session.
 */
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "netlink.h"
#include "session.h"

#define PCMIG_PROGRESS_INTERVAL_MS	250

static DEFINE_XARRAY_ALLOC1(pcmig_sessions);
static u32 pcmig_next_id;

static void session_release(struct kref *ref)
{
	struct pcmig_session *s = container_of(ref, struct pcmig_session, ref);

	if (s->sock)
		sockfd_put(s->sock);
	pcmig_devstate_free(&s->dev);
	pcmig_bm_free(s);
	pcmig_ram_free(s);
	pcmig_pc_free(s);
	pcmig_vm_release(&s->vm);
	put_net(s->net);
	kfree(s);
}

void pcmig_session_put(struct pcmig_session *s)
{
	kref_put(&s->ref, session_release);
}

static unsigned int sessions_in(struct net *net)
{
	struct pcmig_session *s;
	unsigned long idx;
	unsigned int n = 0;

	xa_lock(&pcmig_sessions);
	xa_for_each(&pcmig_sessions, idx, s)
		n += net_eq(s->net, net);
	xa_unlock(&pcmig_sessions);
	return n;
}

struct pcmig_session *pcmig_session_new(struct net *net, u32 portid,
					enum pcmig_role role, int *err)
{
	struct pcmig_session *s;

	/* Racy count, but genl serialises creators; the cap is a guard rail. */
	if (sessions_in(net) >= pcmig_sessions_max) {
		*err = -ENOSPC;
		return NULL;
	}
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	kref_init(&s->ref);
	mutex_init(&s->lock);
	mutex_init(&s->tx_lock);
	init_waitqueue_head(&s->wq);
	pcmig_pc_init(s);
	pcmig_bm_init(s);
	s->net = get_net(net);
	s->owner_portid = portid;
	s->role = role;
	s->phase = PCMIG_PHASE_SETUP;
	s->downtime_limit_ms = PCMIG_DOWNTIME_LIMIT_DEFAULT;
	s->tx_broken = true;	/* nothing valid sent yet */

	*err = xa_alloc_cyclic(&pcmig_sessions, &s->id, s, xa_limit_31b,
			       &pcmig_next_id, GFP_KERNEL);
	if (*err < 0) {
		pcmig_session_put(s);
		return NULL;
	}
	*err = 0;
	kref_get(&s->ref);	/* the caller's, beside the array's */
	return s;
}

struct pcmig_session *pcmig_session_get(struct net *net, u32 id)
{
	struct pcmig_session *s;

	xa_lock(&pcmig_sessions);
	s = xa_load(&pcmig_sessions, id);
	if (s && net_eq(s->net, net))
		kref_get(&s->ref);
	else
		s = NULL;
	xa_unlock(&pcmig_sessions);
	return s;
}

/* Next session of @net at or after *@idx, with a reference, for dumps. */
struct pcmig_session *pcmig_session_next(struct net *net, unsigned long *idx)
{
	struct pcmig_session *s;

	xa_lock(&pcmig_sessions);
	xa_for_each_start(&pcmig_sessions, *idx, s, *idx) {
		if (net_eq(s->net, net)) {
			kref_get(&s->ref);
			xa_unlock(&pcmig_sessions);
			return s;
		}
	}
	xa_unlock(&pcmig_sessions);
	return NULL;
}

static void session_signal_stop(struct pcmig_session *s)
{
	WRITE_ONCE(s->stopping, true);
	wake_up_all(&s->wq);
}

/* @s is out of the array; the caller passes the array's reference in. */
static void session_teardown(struct pcmig_session *s, const char *why)
{
	struct task_struct *worker;

	mutex_lock(&s->lock);
	s->dead = true;
	worker = s->worker;
	s->worker = NULL;
	mutex_unlock(&s->lock);

	session_signal_stop(s);
	/*
	 * Nothing is left to tell the peer (no last word on teardown): shut
	 * the socket down so a worker blocked on it returns at once, rather
	 * than at its next one-second poll of s->stopping.
	 */
	if (s->sock)
		kernel_sock_shutdown(s->sock, SHUT_RDWR);
	if (worker) {
		kthread_stop(worker);
		put_task_struct(worker);
	}
	pcmig_session_end(s, PCMIG_PHASE_CANCELLED, "%s", why);
	pcmig_nl_notify(s, PCMIG_EVENT_DESTROYED);
	pcmig_session_put(s);
}

/*
 * Sessions leave the array only under this mutex, so one found in the
 * array while holding it is alive (the array's reference) without taking
 * a reference of its own.
 */
static DEFINE_MUTEX(pcmig_unlink_lock);

static void teardown_list(struct list_head *list, const char *why)
{
	struct pcmig_session *s, *tmp;

	/* Wake every worker first so they wind down in parallel. */
	list_for_each_entry(s, list, reap)
		session_signal_stop(s);
	list_for_each_entry_safe(s, tmp, list, reap) {
		list_del(&s->reap);
		session_teardown(s, why);
	}
}

int pcmig_session_destroy(struct net *net, u32 id)
{
	struct pcmig_session *s;
	LIST_HEAD(list);

	mutex_lock(&pcmig_unlink_lock);
	s = xa_load(&pcmig_sessions, id);
	if (s && net_eq(s->net, net)) {
		xa_erase(&pcmig_sessions, id);
		list_add(&s->reap, &list);
	}
	mutex_unlock(&pcmig_unlink_lock);
	if (list_empty(&list))
		return -ENOENT;
	teardown_list(&list, "session destroyed");
	return 0;
}

/* The netlink socket @portid of @net closed: its sessions go with it. */
void pcmig_session_destroy_owned(struct net *net, u32 portid)
{
	struct pcmig_session *s;
	unsigned long idx;
	LIST_HEAD(list);

	mutex_lock(&pcmig_unlink_lock);
	xa_for_each(&pcmig_sessions, idx, s) {
		if (net_eq(s->net, net) && s->owner_portid == portid) {
			xa_erase(&pcmig_sessions, idx);
			list_add_tail(&s->reap, &list);
		}
	}
	mutex_unlock(&pcmig_unlink_lock);
	teardown_list(&list, "owner netlink socket closed");
}

void pcmig_session_destroy_all(void)
{
	struct pcmig_session *s;
	unsigned long idx;
	LIST_HEAD(list);

	mutex_lock(&pcmig_unlink_lock);
	xa_for_each(&pcmig_sessions, idx, s) {
		xa_erase(&pcmig_sessions, idx);
		list_add_tail(&s->reap, &list);
	}
	mutex_unlock(&pcmig_unlink_lock);
	teardown_list(&list, "module unloaded");
}

bool pcmig_session_aborted(struct pcmig_session *s)
{
	return READ_ONCE(s->stopping);
}

int pcmig_session_attach(struct pcmig_session *s, int fd, const char **why)
{
	struct socket *sock;
	struct sock *sk;
	int err;

	if (s->sock) {
		*why = "a socket is already attached to this session";
		return -EBUSY;
	}
	if (s->phase != PCMIG_PHASE_SETUP) {
		*why = "sockets can only be attached before start";
		return -EBUSY;
	}
	sock = sockfd_lookup(fd, &err);
	if (!sock) {
		*why = err == -ENOTSOCK ? "sock-fd is not a socket" :
					  "sock-fd is not an open file descriptor";
		return err;
	}
	sk = sock->sk;
	err = -EINVAL;
	if (sock->type != SOCK_STREAM) {
		*why = "socket is not a stream socket (TCP or unix stream needed)";
	} else if (sk->sk_family != AF_UNIX &&
		   !((sk->sk_family == AF_INET || sk->sk_family == AF_INET6) &&
		     sk->sk_protocol == IPPROTO_TCP)) {
		*why = "socket is neither TCP nor a unix stream socket";
	} else if (READ_ONCE(sk->sk_state) != TCP_ESTABLISHED) {
		*why = "socket is not connected";
		err = -ENOTCONN;
	} else {
		s->sock = sock;
		return 0;
	}
	sockfd_put(sock);
	return err;
}

int pcmig_session_start(struct pcmig_session *s, const char **why)
{
	struct task_struct *t;
	bool src = s->role == PCMIG_ROLE_SOURCE;

	if (s->dead) {
		*why = "session is being destroyed";
		return -ENOENT;
	}
	if (s->phase != PCMIG_PHASE_SETUP) {
		*why = "session already started";
		return -EBUSY;
	}
	if (!s->sock) {
		*why = "no socket attached (use SOCK_ATTACH first)";
		return -ENOTCONN;
	}
	if (!src) {
		int err = pcmig_pc_dest_prepare(s, why);

		if (err)
			return err;
	}
	t = kthread_create(src ? pcmig_source_main : pcmig_dest_main, s,
			   "pcmig-%s/%u", src ? "src" : "dst", s->id);
	if (IS_ERR(t)) {
		*why = "cannot create the session worker";
		return PTR_ERR(t);
	}
	get_task_struct(t);
	s->worker = t;
	s->started = ktime_get();
	s->last_progress = s->started;
	s->phase = PCMIG_PHASE_PRECOPY;
	wake_up_process(t);
	return 0;
}

/* Called with @s->lock held; cancelling an ended session is a no-op. */
int pcmig_session_cancel(struct pcmig_session *s)
{
	if (pcmig_phase_ended(s->phase))
		return 0;
	if (s->phase == PCMIG_PHASE_SETUP) {
		s->phase = PCMIG_PHASE_CANCELLED;
		s->ended = ktime_get();
		strscpy(s->reason, "cancelled by user", sizeof(s->reason));
		if (s->sock)
			kernel_sock_shutdown(s->sock, SHUT_RDWR);
		return 1;	/* caller notifies */
	}
	s->cancel_requested = true;
	session_signal_stop(s);
	return 0;
}

static void update_stats(struct pcmig_session *s)
{
	s64 ms = ktime_ms_delta(ktime_get(), s->started);
	u64 bytes = s->role == PCMIG_ROLE_SOURCE ? s->stats.bytes_sent :
						   s->stats.bytes_received;

	if (ms > 0)
		s->stats.bandwidth = div64_u64(bytes * 1000, ms);
}

void pcmig_session_set_phase(struct pcmig_session *s, u32 phase)
{
	mutex_lock(&s->lock);
	if (pcmig_phase_ended(s->phase)) {
		mutex_unlock(&s->lock);
		return;
	}
	s->phase = phase;
	update_stats(s);
	mutex_unlock(&s->lock);
	pcmig_nl_notify(s, PCMIG_EVENT_PHASE);
}

/* Where the guest runs (enum pcmig_guest_at), for the VMM's bridge. */
void pcmig_session_guest_at(struct pcmig_session *s, u32 at)
{
	mutex_lock(&s->lock);
	s->guest_at = at;
	mutex_unlock(&s->lock);
}

/*
 * Source: what a return-path frame (@act, @arg) says of where the guest
 * runs.  RET_ACK(postcopy): the destination resumed it.  RET_FAIL before
 * that: it never did, as a destination that asked its VMM to resume
 * says nothing more (dest.c).
 */
void pcmig_session_returned(struct pcmig_session *s, enum pcmig_rx_act act,
			    u64 arg)
{
	if (!pcmig_vm_attached(&s->vm))
		return;
	mutex_lock(&s->lock);
	if (act == PCMIG_RX_ACK && arg == PCMIG_PHASE_POSTCOPY)
		s->guest_at = PCMIG_GUEST_THERE;
	else if (act == PCMIG_RX_PEER_FAILED &&
		 s->guest_at == PCMIG_GUEST_MAYBE_THERE)
		s->guest_at = PCMIG_GUEST_HERE;
	mutex_unlock(&s->lock);
}

static void session_end(struct pcmig_session *s, u32 phase,
			const char *reason)
{
	/* Bitmaps are settled before anyone can see the end (rule S8). */
	pcmig_bm_end(s, phase == PCMIG_PHASE_COMPLETED);
	mutex_lock(&s->lock);
	if (pcmig_phase_ended(s->phase)) {
		mutex_unlock(&s->lock);
		return;
	}
	s->phase = phase;
	s->ended = ktime_get();
	if (s->started)
		update_stats(s);
	strscpy(s->reason, reason, sizeof(s->reason));
	/*
	 * Userspace may still hold a descriptor of the socket: shut it down
	 * so the peer learns at once that this side gave up.
	 */
	if (phase != PCMIG_PHASE_COMPLETED && s->sock)
		kernel_sock_shutdown(s->sock, SHUT_RDWR);
	mutex_unlock(&s->lock);
	pcmig_nl_notify(s, PCMIG_EVENT_PHASE);
}

void pcmig_session_end(struct pcmig_session *s, u32 phase, const char *fmt,
		       ...)
{
	char reason[PCMIG_REASON_MAX];
	va_list args;

	va_start(args, fmt);
	vsnprintf(reason, sizeof(reason), fmt, args);
	va_end(args);
	session_end(s, phase, reason);
}

void pcmig_session_complete(struct pcmig_session *s)
{
	session_end(s, PCMIG_PHASE_COMPLETED, "");
}

void pcmig_session_progress(struct pcmig_session *s, bool force)
{
	ktime_t now = ktime_get();

	if (!force &&
	    ktime_ms_delta(now, s->last_progress) < PCMIG_PROGRESS_INTERVAL_MS)
		return;
	s->last_progress = now;
	update_stats(s);
	pcmig_nl_notify(s, PCMIG_EVENT_PROGRESS);
}
