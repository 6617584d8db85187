// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "ops.h"

static int on_info(struct nl_msg *msg, void *arg)
{
	return info_from_msg(msg, arg);
}

static int on_session(struct nl_msg *msg, void *arg)
{
	return session_from_msg(msg, arg);
}

int op_get_info(struct pcnl *nl, struct pcmig_info *info)
{
	struct nl_msg *msg = pcnl_msg(nl, PCMIG_CMD_GET_INFO, 0);

	if (!msg)
		return -ENOMEM;
	return pcnl_request(nl, msg, on_info, info);
}

int put_bitmap_map(struct nl_msg *msg, const struct bitmap_map *m)
{
	for (unsigned int i = 0; m && i < m->n; i++) {
		struct nlattr *nest = nla_nest_start(msg, PCMIG_A_BITMAP_MAP);

		if (!nest || nla_put_string(msg, PCMIG_A_NODE, m->v[i].src) ||
		    nla_put_string(msg, PCMIG_A_NODE_DST, m->v[i].dst))
			return -EMSGSIZE;
		nla_nest_end(msg, nest);
	}
	return 0;
}

/*
 * The optional limits of p, which SESSION_NEW and SESSION_SET both carry,
 * each only when set.  0 or -EMSGSIZE.
 */
static int put_limits(struct nl_msg *msg, const struct session_params *p)
{
	if ((p->has_max_bandwidth &&
	     nla_put_u64(msg, PCMIG_A_MAX_BANDWIDTH, p->max_bandwidth)) ||
	    (p->has_downtime_limit &&
	     nla_put_u32(msg, PCMIG_A_DOWNTIME_LIMIT, p->downtime_limit)) ||
	    (p->has_max_postcopy_bandwidth &&
	     nla_put_u64(msg, PCMIG_A_MAX_POSTCOPY_BANDWIDTH,
			 p->max_postcopy_bandwidth)))
		return -EMSGSIZE;
	return 0;
}

int op_session_new(struct pcnl *nl, const struct session_params *p,
		   struct pcmig_session *out)
{
	struct nl_msg *msg = pcnl_msg(nl, PCMIG_CMD_SESSION_NEW, 0);

	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, PCMIG_A_ROLE, p->role) ||
	    nla_put_u32(msg, PCMIG_A_CAPS, p->caps) || put_limits(msg, p) ||
	    put_bitmap_map(msg, p->bitmap_map)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	memset(out, 0, sizeof(*out));
	return pcnl_request(nl, msg, on_session, out);
}

int op_session_set(struct pcnl *nl, uint32_t id,
		   const struct session_params *p)
{
	struct nl_msg *msg = pcnl_msg(nl, PCMIG_CMD_SESSION_SET, 0);

	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, PCMIG_A_SESSION_ID, id) || put_limits(msg, p)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return pcnl_request(nl, msg, NULL, NULL);
}

static struct nl_msg *session_msg(struct pcnl *nl, uint8_t cmd, uint32_t id)
{
	struct nl_msg *msg = pcnl_msg(nl, cmd, 0);

	if (msg && nla_put_u32(msg, PCMIG_A_SESSION_ID, id)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int op_session_get(struct pcnl *nl, uint32_t id, struct pcmig_session *out)
{
	struct nl_msg *msg = session_msg(nl, PCMIG_CMD_SESSION_GET, id);
	int ret;

	if (!msg)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	ret = pcnl_request(nl, msg, on_session, out);
	/* An ACK without a reply would leave *out empty: not a session. */
	if (!ret && !SESSION_HAS(out, PCMIG_A_SESSION_ID))
		ret = -EBADMSG;
	return ret;
}

int op_session_list(struct pcnl *nl, struct pcmig_session **list, size_t *n)
{
	struct nl_msg *msg = pcnl_msg(nl, PCMIG_CMD_SESSION_GET, NLM_F_DUMP);

	if (!msg)
		return -ENOMEM;
	return pcnl_dump_array(nl, msg, sizeof(**list), on_session, NULL,
			       (void **)list, n);
}

int op_devstate_put(struct pcnl *nl, uint32_t id, const void *data,
		    size_t len)
{
	size_t off = 0;

	/* Offsets say where each piece goes: the kernel takes appends only. */
	while (off < len) {
		size_t n = len - off < PCMIG_DEVSTATE_CHUNK ?
				   len - off : PCMIG_DEVSTATE_CHUNK;
		struct nl_msg *msg = session_msg(nl, PCMIG_CMD_DEVSTATE_PUT,
						 id);
		int ret;

		if (!msg)
			return -ENOMEM;
		if (nla_put_u64(msg, PCMIG_A_OFFSET, off) ||
		    nla_put(msg, PCMIG_A_DATA, (int)n,
			    (const char *)data + off)) {
			nlmsg_free(msg);
			return -EMSGSIZE;
		}
		ret = pcnl_request(nl, msg, NULL, NULL);
		if (ret)
			return ret;
		off += n;
	}
	return 0;
}

struct devstate_ctx {
	devstate_piece_fn fn;
	void *arg;
	uint64_t total;
	uint64_t bad_offset;
	bool disorder;
};

static int on_devstate_piece(struct nl_msg *msg, void *arg)
{
	static const struct nla_policy policy[PCMIG_A_MAX + 1] = {
		[PCMIG_A_OFFSET] = { .type = NLA_U64 },
	};
	struct devstate_ctx *c = arg;
	struct nlattr *tb[PCMIG_A_MAX + 1];
	size_t len;
	int ret;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, PCMIG_A_MAX, policy) < 0 ||
	    !tb[PCMIG_A_OFFSET] || !tb[PCMIG_A_DATA])
		return -EBADMSG;
	/* A gap or an overlap would silently corrupt the VMM's state. */
	if (nla_get_u64(tb[PCMIG_A_OFFSET]) != c->total) {
		c->bad_offset = nla_get_u64(tb[PCMIG_A_OFFSET]);
		c->disorder = true;
		return -EPROTO;
	}
	len = (size_t)nla_len(tb[PCMIG_A_DATA]);
	ret = c->fn(nla_data(tb[PCMIG_A_DATA]), len, c->arg);
	if (ret < 0)
		return ret;
	c->total += len;
	return 0;
}

int op_devstate_get(struct pcnl *nl, uint32_t id, devstate_piece_fn fn,
		    void *arg, uint64_t *total)
{
	struct nl_msg *msg = pcnl_msg(nl, PCMIG_CMD_DEVSTATE_GET, NLM_F_DUMP);
	struct devstate_ctx c = { .fn = fn, .arg = arg };
	int ret;

	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, PCMIG_A_SESSION_ID, id)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	ret = pcnl_request(nl, msg, on_devstate_piece, &c);
	if (c.disorder && !nl->extack[0])
		snprintf(nl->extack, sizeof(nl->extack),
			 "device state piece at offset %llu, expected %llu",
			 (unsigned long long)c.bad_offset,
			 (unsigned long long)c.total);
	*total = c.total;
	return ret;
}

int devstate_write_piece(const void *data, size_t len, void *arg)
{
	struct devstate_writer *w = arg;
	const char *p = data;

	while (len) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			w->err = errno;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* SOCK_ATTACH, VM_ATTACH: the session id and the fd, as attribute attr. */
static int fd_attach(struct pcnl *nl, uint8_t cmd, uint32_t id, int attr,
		     int fd)
{
	struct nl_msg *msg = session_msg(nl, cmd, id);

	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, attr, (uint32_t)fd)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return pcnl_request(nl, msg, NULL, NULL);
}

int op_sock_attach(struct pcnl *nl, uint32_t id, int sock_fd)
{
	return fd_attach(nl, PCMIG_CMD_SOCK_ATTACH, id, PCMIG_A_SOCK_FD,
			 sock_fd);
}

int op_vm_attach(struct pcnl *nl, uint32_t id, int vm_fd)
{
	return fd_attach(nl, PCMIG_CMD_VM_ATTACH, id, PCMIG_A_VM_FD, vm_fd);
}

int op_session_cmd(struct pcnl *nl, uint8_t cmd, uint32_t id)
{
	struct nl_msg *msg = session_msg(nl, cmd, id);

	if (!msg)
		return -ENOMEM;
	return pcnl_request(nl, msg, NULL, NULL);
}
