// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <linux/pcmig.h>

#include "nl.h"
#include "output.h"
#include "pcmigd.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Room for the largest request: a DEVSTATE_PUT piece plus its headers. */
#define PCNL_MSG_SIZE (PCMIG_DEVSTATE_CHUNK + 4096)
/* Progress events come several times a second per session: buffer them. */
#define PCNL_EVENT_RCVBUF (1 << 20)

/* libnl's own error codes, for the few failures that are not the kernel's. */
static int nle_to_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_NOMEM: return ENOMEM;	/* also what ENOBUFS maps to */
	case NLE_PERM: return EPERM;
	case NLE_OBJ_NOTFOUND: return ENOENT;
	case NLE_AGAIN: return EAGAIN;
	case NLE_INTR: return EINTR;
	case NLE_MSGSIZE: return EMSGSIZE;
	default: return EIO;
	}
}

static void copy_string_attr(const struct nlattr *a, char *msg, size_t len)
{
	size_t n = (size_t)a->nla_len - NLA_HDRLEN;

	/* The attribute may or may not carry its NUL: stop at either. */
	n = strnlen((const char *)a + NLA_HDRLEN, n);
	if (n >= len)
		n = len - 1;
	memcpy(msg, (const char *)a + NLA_HDRLEN, n);
	msg[n] = '\0';
}

static void parse_tlvs(const char *p, size_t left, char *msg, size_t len)
{
	uint32_t miss_type = 0;
	bool have_miss = false;

	while (left >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		size_t step;

		if (a->nla_len < NLA_HDRLEN || a->nla_len > left)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
			copy_string_attr(a, msg, len);
		else if ((a->nla_type & NLA_TYPE_MASK) ==
				 NLMSGERR_ATTR_MISS_TYPE &&
			 a->nla_len >= NLA_HDRLEN + sizeof(uint32_t)) {
			memcpy(&miss_type, p + NLA_HDRLEN, sizeof(miss_type));
			have_miss = true;
		}
		step = NLA_ALIGN(a->nla_len);
		if (step >= left)
			break;
		p += step;
		left -= step;
	}
	/* Policy rejections may name the missing attribute without text. */
	if (!msg[0] && have_miss)
		snprintf(msg, len, "missing attribute %u", miss_type);
}

int pcnl_parse_error(const struct nlmsghdr *nlh, char *msg, size_t len)
{
	const char *p = (const char *)nlh;
	size_t total = nlh->nlmsg_len;
	size_t off;
	int err;

	msg[0] = '\0';
	if (total < NLMSG_HDRLEN + sizeof(int))
		return -EBADMSG;
	memcpy(&err, p + NLMSG_HDRLEN, sizeof(err));
	if (nlh->nlmsg_type == NLMSG_DONE) {
		/* A dump that failed part-way: errno, then extack TLVs. */
		off = NLMSG_HDRLEN + sizeof(int);
	} else {
		const struct nlmsgerr *e = (const void *)(p + NLMSG_HDRLEN);

		if (total < NLMSG_HDRLEN + sizeof(*e))
			return -EBADMSG;
		/* Without NLM_F_CAPPED the whole request is echoed first. */
		off = NLMSG_HDRLEN + sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
			if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
				return err;
			off += NLMSG_ALIGN(e->msg.nlmsg_len) -
			       sizeof(struct nlmsghdr);
		}
	}
	if (err > 0)		/* nobody should, but errno is negative */
		err = -err;
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off < total)
		parse_tlvs(p + off, total - off, msg, len);
	return err;
}

struct req_ctx {
	struct pcnl *nl;
	pcnl_msg_fn fn;
	void *arg;
	int err;
	int fn_err;
	bool done;
};

static int any_seq(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct req_ctx *c = arg;
	int ret;

	if (c->fn && !c->fn_err) {
		ret = c->fn(msg, c->arg);
		/* Keep reading: what is left of a dump must be drained. */
		if (ret < 0)
			c->fn_err = ret;
	}
	return NL_OK;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct req_ctx *c = arg;

	(void)msg;
	c->done = true;
	return NL_STOP;
}

static int on_finish(struct nl_msg *msg, void *arg)
{
	struct req_ctx *c = arg;

	c->err = pcnl_parse_error(nlmsg_hdr(msg), c->nl->extack,
				  sizeof(c->nl->extack));
	/* An old-style NLMSG_DONE without payload is a clean end. */
	if (c->err == -EBADMSG)
		c->err = 0;
	c->done = true;
	return NL_STOP;
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	/* libnl hands us the payload; the header sits right before it. */
	const struct nlmsghdr *nlh =
		(const void *)((const char *)e - NLMSG_HDRLEN);
	struct req_ctx *c = arg;

	(void)who;
	c->err = pcnl_parse_error(nlh, c->nl->extack, sizeof(c->nl->extack));
	if (!c->err)
		c->err = -EBADMSG;
	c->done = true;
	return NL_STOP;
}

int pcnl_open(struct pcnl *nl, bool events)
{
	int one = 1, ret, grp;

	memset(nl, 0, sizeof(*nl));
	nl->sk = nl_socket_alloc();
	nl->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!nl->sk || !nl->cb) {
		error("out of memory");
		goto fail;
	}
	ret = genl_connect(nl->sk);
	if (ret < 0) {
		error("netlink socket: %s", nl_geterror(ret));
		goto fail;
	}
	/* Replies to DEVSTATE_GET exceed libnl's default buffer. */
	nl_socket_enable_msg_peek(nl->sk);
	/*
	 * Errors carry the kernel's explanation (EXT_ACK) and need not echo
	 * a 32 KiB DEVSTATE_PUT back (CAP_ACK).  Old kernels lack these;
	 * errors then come without text, which is still usable.
	 */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));

	nl->family = genl_ctrl_resolve(nl->sk, PCMIG_GENL_NAME);
	if (nl->family < 0) {
		if (nl->family == -NLE_OBJ_NOTFOUND)
			error("pcmig module not loaded (family \"%s\" not registered)",
			      PCMIG_GENL_NAME);
		else
			error("resolving netlink family \"%s\": %s",
			      PCMIG_GENL_NAME, nl_geterror(nl->family));
		goto fail;
	}
	if (!events)
		return EXIT_OK;

	grp = genl_ctrl_resolve_grp(nl->sk, PCMIG_GENL_NAME,
				    PCMIG_MCGRP_EVENTS);
	if (grp < 0) {
		error("pcmig module has no \"%s\" multicast group: %s",
		      PCMIG_MCGRP_EVENTS, nl_geterror(grp));
		goto fail;
	}
	ret = nl_socket_add_membership(nl->sk, grp);
	if (ret < 0) {
		error("joining multicast group \"%s\": %s", PCMIG_MCGRP_EVENTS,
		      nl_geterror(ret));
		goto fail;
	}
	/*
	 * Events are unsolicited: no sequence numbers to match.  The check
	 * lives in the callback set used for receiving, not only the
	 * socket's default one.
	 */
	nl_socket_disable_seq_check(nl->sk);
	nl_cb_set(nl->cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, any_seq, NULL);
	nl_socket_set_buffer_size(nl->sk, PCNL_EVENT_RCVBUF, 0);
	nl_socket_set_nonblocking(nl->sk);
	return EXIT_OK;
fail:
	pcnl_close(nl);
	return EXIT_ENV;
}

void pcnl_close(struct pcnl *nl)
{
	if (nl->cb)
		nl_cb_put(nl->cb);
	if (nl->sk)
		nl_socket_free(nl->sk);
	nl->cb = NULL;
	nl->sk = NULL;
}

int pcnl_fd(const struct pcnl *nl)
{
	return nl_socket_get_fd(nl->sk);
}

struct nl_msg *pcnl_msg(struct pcnl *nl, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc_size(PCNL_MSG_SIZE);

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 flags | NLM_F_ACK, cmd, PCMIG_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static void set_callbacks(struct nl_cb *cb, struct req_ctx *c)
{
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, c);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, c);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, c);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, c);
}

int pcnl_request(struct pcnl *nl, struct nl_msg *msg, pcnl_msg_fn fn,
		 void *arg)
{
	struct req_ctx c = { .nl = nl, .fn = fn, .arg = arg };
	int ret;

	nl->extack[0] = '\0';
	set_callbacks(nl->cb, &c);
	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return -nle_to_errno(ret);
	while (!c.done) {
		ret = nl_recvmsgs(nl->sk, nl->cb);
		if (ret < 0 && !c.done)
			return -nle_to_errno(ret);
	}
	return c.err ? c.err : c.fn_err;
}

bool pcnl_dump_interrupted(struct nl_msg *msg)
{
	return nlmsg_hdr(msg)->nlmsg_flags & NLM_F_DUMP_INTR;
}

struct array_ctx {
	size_t elem_size;
	pcnl_msg_fn fill;
	bool *intr;		/* NULL: interrupted dumps are taken as they are */
	char *v;
	size_t n, cap;
};

static int on_array_entry(struct nl_msg *msg, void *arg)
{
	struct array_ctx *a = arg;

	if (a->intr && pcnl_dump_interrupted(msg)) {
		*a->intr = true;
		return -EINTR;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		char *v = realloc(a->v, cap * a->elem_size);

		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	if (a->fill(msg, a->v + a->n * a->elem_size))
		return -EBADMSG;
	a->n++;
	return 0;
}

int pcnl_dump_array(struct pcnl *nl, struct nl_msg *msg, size_t elem_size,
		    pcnl_msg_fn fill, bool *intr, void **list, size_t *n)
{
	struct array_ctx a = {
		.elem_size = elem_size, .fill = fill, .intr = intr,
	};
	int ret;

	if (intr)
		*intr = false;
	ret = pcnl_request(nl, msg, on_array_entry, &a);
	if (ret) {
		free(a.v);
		return ret;
	}
	*list = a.v;
	*n = a.n;
	return 0;
}

int pcnl_recv_events(struct pcnl *nl, pcnl_msg_fn fn, void *arg)
{
	struct req_ctx c = { .nl = nl, .fn = fn, .arg = arg };
	int ret;

	set_callbacks(nl->cb, &c);
	for (;;) {
		ret = nl_recvmsgs(nl->sk, nl->cb);
		if (ret == -NLE_AGAIN)
			return 0;
		/* libnl reports the kernel's ENOBUFS as NLE_NOMEM. */
		if (ret == -NLE_NOMEM)
			return -ENOBUFS;
		if (ret < 0)
			return -nle_to_errno(ret);
	}
}

void pcnl_describe(const struct pcnl *nl, int err, char *buf, size_t len)
{
	const char *name = strerrorname_np(-err);

	if (err == -EPERM)
		snprintf(buf, len, "permission denied: needs CAP_NET_ADMIN");
	else
		snprintf(buf, len, "%s (%s)",
			 nl->extack[0] ? nl->extack : strerror(-err),
			 name ? name : "?");
}

int pcnl_fail(const struct pcnl *nl, const char *what, int err)
{
	char msg[PCNL_EXTACK_LEN + 64];

	pcnl_describe(nl, err, msg, sizeof(msg));
	error("%s: %s", what, msg);
	return EXIT_ENV;
}
