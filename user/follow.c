// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "follow.h"
#include "names.h"
#include "net.h"
#include "ops.h"
#include "output.h"
#include "pcmigd.h"

int signals_catch(sigset_t *old)
{
	sigset_t set;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, old) < 0)
		return -1;
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		sigprocmask(SIG_SETMASK, old, NULL);
	return sfd;
}

void signals_restore(int sfd, const sigset_t *old)
{
	close(sfd);
	sigprocmask(SIG_SETMASK, old, NULL);
}

struct follow_ctx {
	uint32_t id;
	struct pcmig_session *s;
	struct progress *p;
	struct pcnl *req;
	const struct follow_hooks *hooks;
	struct follow_news news;
	int64_t last_news;	/* when we last heard of the session */
	bool lost;		/* the kernel dropped events (ENOBUFS) */
	bool destroyed;
	bool stop_event;	/* PCMIG_EVENT_STOP_REQUEST came */
	bool stop_done;		/* the stop request was handled */
	bool resume_event;	/* PCMIG_EVENT_RESUME_REQUEST came */
	bool resume_done;	/* the resume request was handled */
};

/* Hands the session's new state to the watch hook, if any. */
static void watch(struct follow_ctx *c, enum follow_how how)
{
	const struct follow_hooks *h = c->hooks;

	if (!h || !h->watch)
		return;
	c->news.how = how;
	c->news.now_ms = now_ms();
	if (how == FOLLOW_TIMER)
		c->news.wake_ms = INT64_MAX;
	h->watch(h->watch_arg, c->req, c->s, &c->news);
}

static int on_event(struct nl_msg *msg, void *arg)
{
	struct follow_ctx *c = arg;
	struct pcmig_session ev;

	/* Other sessions of this netns share the group: skip them. */
	if (session_from_msg(msg, &ev) || ev.id != c->id)
		return 0;
	c->last_news = now_ms();
	if (ev.event == PCMIG_EVENT_DESTROYED) {
		c->destroyed = true;
		return 0;
	}
	if (ev.event == PCMIG_EVENT_STOP_REQUEST)
		c->stop_event = true;
	if (ev.event == PCMIG_EVENT_RESUME_REQUEST)
		c->resume_event = true;
	*c->s = ev;
	progress_update(c->p, c->s, now_ms());
	watch(c, FOLLOW_EVENT);
	return 0;
}

/* Ask the kernel for the session's state instead of waiting for events. */
static int refresh(struct pcnl *req, struct follow_ctx *c)
{
	struct pcmig_session s;
	int ret = op_session_get(req, c->id, &s);

	if (ret)
		return pcnl_fail(req, "SESSION_GET", ret);
	*c->s = s;
	c->last_news = now_ms();
	c->lost = false;
	return EXIT_OK;
}

static int resync(struct pcnl *req, struct follow_ctx *c)
{
	int ret = refresh(req, c);

	if (!ret) {
		progress_update(c->p, c->s, c->last_news);
		watch(c, FOLLOW_GET);
	}
	return ret;
}

/* How long poll() may wait: until the resync, or the hook's wake_ms. */
static int poll_ms(const struct follow_ctx *c)
{
	int64_t left = c->news.wake_ms - now_ms();

	if (left >= FOLLOW_RESYNC_MS)
		return FOLLOW_RESYNC_MS;
	return left > 0 ? (int)left : 0;
}

/* CANCEL; the session may have ended on its own meanwhile: fine. */
static int cancel(struct pcnl *req, uint32_t id)
{
	int ret = op_session_cmd(req, PCMIG_CMD_CANCEL, id);

	if (ret && ret != -ENOENT && ret != -EINVAL)
		return pcnl_fail(req, "CANCEL", ret);
	return EXIT_OK;
}

/*
 * A request of the module to the VMM, once: by its event or by its flag
 * (the event may have been lost).  A failed hook cancels the session; its
 * exit code is the hook's business, following goes on to the end.
 */
static int on_request(struct pcnl *req, struct follow_ctx *c,
		      int (*hook)(void *, struct pcnl *, uint32_t), void *arg,
		      bool asked, bool *done, bool *cancelled)
{
	if (*done || !hook || *cancelled || phase_is_end(c->s->phase) ||
	    !asked)
		return EXIT_OK;
	*done = true;
	progress_end(c->p);
	if (hook(arg, req, c->id) == EXIT_OK)
		return EXIT_OK;
	*cancelled = true;
	info("cancelling session %u", c->id);
	return cancel(req, c->id);
}

static int on_requests(struct pcnl *req, struct follow_ctx *c,
		       const struct follow_hooks *h, bool *cancelled)
{
	int ret;

	if (!h)
		return EXIT_OK;
	ret = on_request(req, c, h->stop_request, h->arg,
			 c->stop_event || c->s->stop_requested, &c->stop_done,
			 cancelled);
	if (!ret)
		ret = on_request(req, c, h->resume_request, h->arg,
				 c->resume_event || c->s->resume_requested,
				 &c->resume_done, cancelled);
	return ret;
}

static int on_signal(struct pcnl *req, struct follow_ctx *c, int sfd,
		     bool *interrupted, bool *cancelled)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return EXIT_OK;
	progress_end(c->p);
	if (*interrupted) {
		/* Closing our netlink socket cancels the session anyway. */
		error("interrupted again: exiting without waiting");
		return EXIT_MIGRATION;
	}
	*interrupted = true;
	if (*cancelled) {
		info("session %u is being cancelled (interrupt again to exit at once)",
		     c->id);
		return EXIT_OK;
	}
	*cancelled = true;
	info("cancelling session %u (interrupt again to exit at once)", c->id);
	return cancel(req, c->id);
}

int follow_session(struct pcnl *req, struct pcnl *ev, uint32_t id,
		   struct progress *p, struct pcmig_session *s,
		   const struct follow_hooks *hooks)
{
	struct follow_ctx c = {
		.id = id, .s = s, .p = p, .req = req, .hooks = hooks,
		.news.wake_ms = INT64_MAX,
	};
	bool interrupted = false;
	sigset_t old;
	int sfd, ret = EXIT_OK;

	sfd = signals_catch(&old);
	if (sfd < 0) {
		error("signalfd: %s", strerror(errno));
		return EXIT_ENV;
	}
	/* Events sent before we looked are not replayed: start from now. */
	ret = resync(req, &c);
	if (!ret)
		ret = on_requests(req, &c, hooks, &c.news.cancelled);
	while (!ret && !phase_is_end(s->phase)) {
		struct pollfd pfd[2] = {
			{ .fd = pcnl_fd(ev), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		int n = poll(pfd, 2, poll_ms(&c));

		if (n < 0 && errno != EINTR) {
			error("poll: %s", strerror(errno));
			ret = EXIT_ENV;
			break;
		}
		if (n > 0 && (pfd[1].revents & POLLIN))
			ret = on_signal(req, &c, sfd, &interrupted,
					&c.news.cancelled);
		if (!ret && n > 0 && (pfd[0].revents & POLLIN)) {
			int r = pcnl_recv_events(ev, on_event, &c);

			if (r == -ENOBUFS)
				c.lost = true;
			else if (r < 0)
				ret = pcnl_fail(ev, "receiving events", r);
		}
		/* Quiet for a while, or events lost: ask the kernel. */
		if (!ret && !c.destroyed &&
		    (c.lost || now_ms() - c.last_news >= FOLLOW_RESYNC_MS))
			ret = resync(req, &c);
		if (!ret && !c.destroyed && now_ms() >= c.news.wake_ms)
			watch(&c, FOLLOW_TIMER);
		if (!ret && !c.destroyed)
			ret = on_requests(req, &c, hooks, &c.news.cancelled);
		if (!ret && c.destroyed) {
			progress_end(p);
			error("session %u was destroyed before it ended", id);
			ret = EXIT_MIGRATION;
		}
	}
	progress_end(p);
	signals_restore(sfd, &old);
	/*
	 * The final event may come before the last stats: read them all,
	 * for the summary (the progress line is closed already).
	 */
	if (!ret)
		ret = refresh(req, &c);
	return ret;
}
