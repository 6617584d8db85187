// SPDX-License-Identifier: GPL-2.0
/* Raw generic netlink client for the pcmig selftests (see pcmig_nl.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pcmig_nl.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

#define NLA_DATA(a)	((void *)((char *)(a) + NLA_HDRLEN))
#define NLA_LEN(a)	((a)->nla_len - NLA_HDRLEN)
#define GENL_HDR(n)	((struct genlmsghdr *)NLMSG_DATA(n))
#define GENL_ATTRS(n)	((struct nlattr *)((char *)GENL_HDR(n) + GENL_HDRLEN))

uint32_t tnl_u32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, NLA_DATA(a), sizeof(v));
	return v;
}

uint64_t tnl_u64(const struct nlattr *a)
{
	uint64_t v;

	memcpy(&v, NLA_DATA(a), sizeof(v));
	return v;
}

static void parse(struct nlattr *a, int len, struct nlattr **tb, int max)
{
	memset(tb, 0, sizeof(*tb) * (max + 1));
	while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= len) {
		int type = a->nla_type & NLA_TYPE_MASK;

		if (type <= max)
			tb[type] = a;
		len -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
	}
}

static void parse_msg(struct nlmsghdr *n, struct tnl_attrs *at)
{
	int len = n->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;

	parse(GENL_ATTRS(n), len, at->a, PCMIG_A_MAX);
	memset(at->stat, 0, sizeof(at->stat));
	if (at->a[PCMIG_A_STATS])
		parse(NLA_DATA(at->a[PCMIG_A_STATS]),
		      NLA_LEN(at->a[PCMIG_A_STATS]), at->stat, PCMIG_STAT_MAX);
}

void tnl_req_init(struct tnl *nl, struct tnl_req *r, uint8_t cmd, bool dump)
{
	struct genlmsghdr *g;

	memset(r->raw, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	r->nlh.nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN;
	r->nlh.nlmsg_type = nl->family;
	r->nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (dump ? NLM_F_DUMP : 0);
	r->nlh.nlmsg_seq = ++nl->seq;
	g = GENL_HDR(&r->nlh);
	g->cmd = cmd;
	g->version = PCMIG_GENL_VERSION;
}

void tnl_put(struct tnl_req *r, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(r->raw + NLMSG_ALIGN(r->nlh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy(NLA_DATA(a), data, len);
	r->nlh.nlmsg_len = NLMSG_ALIGN(r->nlh.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

void tnl_put_u32(struct tnl_req *r, uint16_t type, uint32_t v)
{
	tnl_put(r, type, &v, sizeof(v));
}

void tnl_put_u64(struct tnl_req *r, uint16_t type, uint64_t v)
{
	tnl_put(r, type, &v, sizeof(v));
}

void tnl_put_str(struct tnl_req *r, uint16_t type, const char *s)
{
	tnl_put(r, type, s, strlen(s) + 1);
}

struct nlattr *tnl_nest_start(struct tnl_req *r, uint16_t type)
{
	struct nlattr *nest = (struct nlattr *)(r->raw +
						NLMSG_ALIGN(r->nlh.nlmsg_len));

	tnl_put(r, type | NLA_F_NESTED, NULL, 0);
	return nest;
}

void tnl_nest_end(struct tnl_req *r, struct nlattr *nest)
{
	nest->nla_len = r->raw + r->nlh.nlmsg_len - (unsigned char *)nest;
}

/* Pull the extended-ack message out of an NLMSG_ERROR. */
static void take_extack(struct tnl *nl, struct nlmsghdr *n)
{
	struct nlmsgerr *e = NLMSG_DATA(n);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = sizeof(*e);
	int len;

	nl->errmsg[0] = '\0';
	if (!(n->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(n->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	len = n->nlmsg_len - NLMSG_HDRLEN - off;
	parse((struct nlattr *)((char *)e + off), len, tb, NLMSGERR_ATTR_MAX);
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(nl->errmsg, sizeof(nl->errmsg), "%s",
			 (char *)NLA_DATA(tb[NLMSGERR_ATTR_MSG]));
}

int tnl_call(struct tnl *nl, struct tnl_req *r, tnl_cb cb, void *arg)
{
	struct tnl_attrs at;

	nl->errmsg[0] = '\0';
	if (send(nl->fd, r->raw, r->nlh.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		int len = recv(nl->fd, nl->buf, sizeof(nl->buf), MSG_TRUNC);
		struct nlmsghdr *n = (struct nlmsghdr *)nl->buf;

		if (len < 0)
			return -errno;
		/* A cut message would never show its ack: say so, not hang. */
		if (len > (int)sizeof(nl->buf))
			return -EMSGSIZE;
		for (; NLMSG_OK(n, len); n = NLMSG_NEXT(n, len)) {
			if (n->nlmsg_seq != r->nlh.nlmsg_seq)
				continue;	/* a multicast or stale message */
			if (n->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(n);

				take_extack(nl, n);
				return e->error;
			}
			if (n->nlmsg_type == NLMSG_DONE) {
				int *err = NLMSG_DATA(n);

				if (*err)
					take_extack(nl, n);
				return *err;
			}
			if (cb) {
				parse_msg(n, &at);
				cb(&at, arg);
			}
		}
	}
}

struct resolve {
	uint16_t family;
	uint32_t mcgrp;
};

static int resolve_family(struct tnl *nl, struct resolve *out)
{
	struct tnl_req r;
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	struct nlattr *grp[CTRL_ATTR_MCAST_GRP_MAX + 1];
	struct genlmsghdr *g;
	int len;

	memset(r.raw, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	r.nlh.nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN;
	r.nlh.nlmsg_type = GENL_ID_CTRL;
	r.nlh.nlmsg_flags = NLM_F_REQUEST;
	r.nlh.nlmsg_seq = ++nl->seq;
	g = GENL_HDR(&r.nlh);
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	tnl_put(&r, CTRL_ATTR_FAMILY_NAME, PCMIG_GENL_NAME,
		sizeof(PCMIG_GENL_NAME));
	if (send(nl->fd, r.raw, r.nlh.nlmsg_len, 0) < 0)
		return -errno;
	len = recv(nl->fd, nl->buf, sizeof(nl->buf), 0);
	if (len < 0)
		return -errno;
	struct nlmsghdr *n = (struct nlmsghdr *)nl->buf;

	if (!NLMSG_OK(n, len))
		return -EBADMSG;
	if (n->nlmsg_type == NLMSG_ERROR)
		return ((struct nlmsgerr *)NLMSG_DATA(n))->error;
	parse(GENL_ATTRS(n), n->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, tb,
	      CTRL_ATTR_MAX);
	if (!tb[CTRL_ATTR_FAMILY_ID] || !tb[CTRL_ATTR_MCAST_GROUPS])
		return -EBADMSG;
	memcpy(&out->family, NLA_DATA(tb[CTRL_ATTR_FAMILY_ID]), 2);
	/* One group, "events": the first nest holds it. */
	parse(NLA_DATA(NLA_DATA(tb[CTRL_ATTR_MCAST_GROUPS])),
	      NLA_LEN((struct nlattr *)NLA_DATA(tb[CTRL_ATTR_MCAST_GROUPS])),
	      grp, CTRL_ATTR_MCAST_GRP_MAX);
	if (!grp[CTRL_ATTR_MCAST_GRP_ID])
		return -EBADMSG;
	out->mcgrp = tnl_u32(grp[CTRL_ATTR_MCAST_GRP_ID]);
	return 0;
}

int tnl_open(struct tnl *nl)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct resolve res;
	int one = 1, err;

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	/*
	 * CAP_ACK: an error need not echo the whole request back, which for
	 * a large request would not fit the receive buffer.
	 */
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one,
		       sizeof(one)) < 0 ||
	    setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one,
		       sizeof(one)) < 0) {
		err = -errno;
		close(nl->fd);
		return err;
	}
	err = resolve_family(nl, &res);
	if (err) {
		close(nl->fd);
		return err;
	}
	nl->family = res.family;
	nl->mcgrp = res.mcgrp;
	return 0;
}

void tnl_close(struct tnl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

int tnl_subscribe(struct tnl *nl)
{
	if (setsockopt(nl->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &nl->mcgrp,
		       sizeof(nl->mcgrp)) < 0)
		return -errno;
	return 0;
}

int tnl_event(struct tnl *nl, struct tnl_attrs *at, int ms)
{
	struct pollfd p = { .fd = nl->fd, .events = POLLIN };

	while (poll(&p, 1, ms) == 1) {
		int len = recv(nl->fd, nl->buf, sizeof(nl->buf), 0);
		struct nlmsghdr *n = (struct nlmsghdr *)nl->buf;

		if (len <= 0)
			return 0;
		for (; NLMSG_OK(n, len); n = NLMSG_NEXT(n, len)) {
			if (n->nlmsg_type != nl->family ||
			    GENL_HDR(n)->cmd != PCMIG_CMD_EVENT)
				continue;
			parse_msg(n, at);
			return 1;
		}
	}
	return 0;
}

void tnl_session_parse(const struct tnl_attrs *at, struct tnl_session *s)
{
	struct nlattr *const *a = at->a;

	memset(s, 0, sizeof(*s));
	if (a[PCMIG_A_SESSION_ID])
		s->id = tnl_u32(a[PCMIG_A_SESSION_ID]);
	if (a[PCMIG_A_ROLE])
		s->role = tnl_u32(a[PCMIG_A_ROLE]);
	if (a[PCMIG_A_PHASE])
		s->phase = tnl_u32(a[PCMIG_A_PHASE]);
	if (a[PCMIG_A_CAPS])
		s->caps = tnl_u32(a[PCMIG_A_CAPS]);
	if (a[PCMIG_A_DOWNTIME_LIMIT])
		s->downtime = tnl_u32(a[PCMIG_A_DOWNTIME_LIMIT]);
	if (a[PCMIG_A_MAX_BANDWIDTH])
		s->max_bw = tnl_u64(a[PCMIG_A_MAX_BANDWIDTH]);
	if (a[PCMIG_A_MAX_POSTCOPY_BANDWIDTH])
		s->max_pc_bw = tnl_u64(a[PCMIG_A_MAX_POSTCOPY_BANDWIDTH]);
	if (a[PCMIG_A_DEVSTATE_SIZE])
		s->devstate_size = tnl_u64(a[PCMIG_A_DEVSTATE_SIZE]);
	if (at->stat[PCMIG_STAT_BYTES_SENT])
		s->bytes_sent = tnl_u64(at->stat[PCMIG_STAT_BYTES_SENT]);
	if (at->stat[PCMIG_STAT_BYTES_RECEIVED])
		s->bytes_received = tnl_u64(at->stat[PCMIG_STAT_BYTES_RECEIVED]);
	if (a[PCMIG_A_RAM_SIZE])
		s->ram_size = tnl_u64(a[PCMIG_A_RAM_SIZE]);
	if (at->stat[PCMIG_STAT_PAGES_SENT])
		s->pages_sent = tnl_u64(at->stat[PCMIG_STAT_PAGES_SENT]);
	if (at->stat[PCMIG_STAT_ZERO_PAGES])
		s->zero_pages = tnl_u64(at->stat[PCMIG_STAT_ZERO_PAGES]);
	s->postcopy_requested = a[PCMIG_A_POSTCOPY_REQUESTED] != NULL;
	s->stop_requested = a[PCMIG_A_STOP_REQUESTED] != NULL;
	s->resume_requested = a[PCMIG_A_RESUME_REQUESTED] != NULL;
	if (a[PCMIG_A_GUEST_AT])
		s->guest_at = tnl_u32(a[PCMIG_A_GUEST_AT]);
	if (a[PCMIG_A_REASON])
		snprintf(s->reason, sizeof(s->reason), "%s",
			 (char *)NLA_DATA(a[PCMIG_A_REASON]));
}

static void take_session(const struct tnl_attrs *at, void *arg)
{
	tnl_session_parse(at, arg);
}

int tnl_new(struct tnl *nl, uint32_t role, uint32_t caps, uint32_t *id)
{
	struct tnl_req r;
	struct tnl_session s = {};
	int err;

	tnl_req_init(nl, &r, PCMIG_CMD_SESSION_NEW, false);
	tnl_put_u32(&r, PCMIG_A_ROLE, role);
	tnl_put_u32(&r, PCMIG_A_CAPS, caps);
	err = tnl_call(nl, &r, take_session, &s);
	if (!err)
		*id = s.id;
	return err;
}

int tnl_get(struct tnl *nl, uint32_t id, struct tnl_session *s)
{
	struct tnl_req r;

	tnl_req_init(nl, &r, PCMIG_CMD_SESSION_GET, false);
	tnl_put_u32(&r, PCMIG_A_SESSION_ID, id);
	return tnl_call(nl, &r, take_session, s);
}

int tnl_simple(struct tnl *nl, uint8_t cmd, uint32_t id)
{
	struct tnl_req r;

	tnl_req_init(nl, &r, cmd, false);
	tnl_put_u32(&r, PCMIG_A_SESSION_ID, id);
	return tnl_call(nl, &r, NULL, NULL);
}

int tnl_attach(struct tnl *nl, uint32_t id, int fd)
{
	struct tnl_req r;

	tnl_req_init(nl, &r, PCMIG_CMD_SOCK_ATTACH, false);
	tnl_put_u32(&r, PCMIG_A_SESSION_ID, id);
	tnl_put_u32(&r, PCMIG_A_SOCK_FD, fd);
	return tnl_call(nl, &r, NULL, NULL);
}

int tnl_devstate_put(struct tnl *nl, uint32_t id, const void *buf, size_t len)
{
	size_t off = 0;

	do {
		size_t n = len - off < PCMIG_DEVSTATE_CHUNK ?
			   len - off : PCMIG_DEVSTATE_CHUNK;
		struct tnl_req r;
		int err;

		tnl_req_init(nl, &r, PCMIG_CMD_DEVSTATE_PUT, false);
		tnl_put_u32(&r, PCMIG_A_SESSION_ID, id);
		tnl_put_u64(&r, PCMIG_A_OFFSET, off);
		tnl_put(&r, PCMIG_A_DATA, (const char *)buf + off, n);
		err = tnl_call(nl, &r, NULL, NULL);
		if (err)
			return err;
		off += n;
	} while (off < len);
	return 0;
}

struct devstate_read {
	unsigned char *buf;
	size_t cap;
	size_t got;
	bool bad;
};

static void take_piece(const struct tnl_attrs *at, void *arg)
{
	struct devstate_read *d = arg;
	uint64_t off;
	size_t n;

	if (!at->a[PCMIG_A_OFFSET] || !at->a[PCMIG_A_DATA]) {
		d->bad = true;
		return;
	}
	off = tnl_u64(at->a[PCMIG_A_OFFSET]);
	n = NLA_LEN(at->a[PCMIG_A_DATA]);
	if (off != d->got || off + n > d->cap) {
		d->bad = true;
		return;
	}
	memcpy(d->buf + off, NLA_DATA(at->a[PCMIG_A_DATA]), n);
	d->got += n;
}

long tnl_devstate_get(struct tnl *nl, uint32_t id, void *buf, size_t cap)
{
	struct devstate_read d = { .buf = buf, .cap = cap };
	struct tnl_req r;
	int err;

	tnl_req_init(nl, &r, PCMIG_CMD_DEVSTATE_GET, true);
	tnl_put_u32(&r, PCMIG_A_SESSION_ID, id);
	err = tnl_call(nl, &r, take_piece, &d);
	if (err)
		return err;
	return d.bad ? -EBADMSG : (long)d.got;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint32_t tnl_wait_phase(struct tnl *nl, uint32_t id, uint32_t phase,
			int timeout_ms)
{
	long end = now_ms() + timeout_ms;
	struct tnl_session s = {};

	do {
		if (tnl_get(nl, id, &s))
			return 0;
		if (s.phase == phase || s.phase >= PCMIG_PHASE_COMPLETED)
			return s.phase;
		usleep(20 * 1000);
	} while (now_ms() < end);
	return s.phase;
}
