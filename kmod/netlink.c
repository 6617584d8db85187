// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "pcmig" (Documentation/netlink/specs/pcmig.yaml).
 *
 * Every op has its own strict policy, so an attribute an op does not take
 * is refused rather than ignored.  Ops that change state need
 * CAP_NET_ADMIN in the user namespace owning the caller's network
 * namespace; sessions are only visible from the namespace they live in.
 */
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "compat.h"
#include "netlink.h"
#include "phase.h"
#include "session.h"

static bool pcmig_nl_live;

/* Ranges wider than the s16 bounds NLA_POLICY_RANGE can hold. */
static struct netlink_range_validation pcmig_downtime_range = {
	.min = 1,
	.max = PCMIG_DOWNTIME_LIMIT_MAX,
};

static struct netlink_range_validation pcmig_fd_range = {
	.min = 0,
	.max = INT_MAX,
};

static const struct nla_policy pcmig_id_policy[PCMIG_A_MAX + 1] = {
	[PCMIG_A_SESSION_ID] = NLA_POLICY_MIN(NLA_U32, 1),
};

#define PCMIG_NAME_POLICY { .type = NLA_STRING, .len = PCMIG_NAME_MAX }

/* One node mapping: PCMIG_A_NODE (source side) -> PCMIG_A_NODE_DST. */
static const struct nla_policy pcmig_map_policy[PCMIG_A_MAX + 1] = {
	[PCMIG_A_NODE] = PCMIG_NAME_POLICY,
	[PCMIG_A_NODE_DST] = PCMIG_NAME_POLICY,
};

#define PCMIG_PARAMS_POLICY						\
	[PCMIG_A_CAPS] = NLA_POLICY_MASK(NLA_U32, PCMIG_CAPS_ALL),	\
	[PCMIG_A_MAX_BANDWIDTH] = { .type = NLA_U64 },			\
	[PCMIG_A_DOWNTIME_LIMIT] =					\
		NLA_POLICY_FULL_RANGE(NLA_U32, &pcmig_downtime_range),	\
	[PCMIG_A_MAX_POSTCOPY_BANDWIDTH] = { .type = NLA_U64 },		\
	[PCMIG_A_BITMAP_MAP] = NLA_POLICY_NESTED(pcmig_map_policy)

static const struct nla_policy pcmig_new_policy[PCMIG_A_MAX + 1] = {
	PCMIG_PARAMS_POLICY,
	[PCMIG_A_ROLE] = NLA_POLICY_RANGE(NLA_U32, PCMIG_ROLE_SOURCE,
					  PCMIG_ROLE_DESTINATION),
};

static const struct nla_policy pcmig_set_policy[PCMIG_A_MAX + 1] = {
	PCMIG_PARAMS_POLICY,
	[PCMIG_A_SESSION_ID] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy pcmig_attach_policy[PCMIG_A_MAX + 1] = {
	[PCMIG_A_SESSION_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[PCMIG_A_SOCK_FD] = NLA_POLICY_FULL_RANGE(NLA_U32, &pcmig_fd_range),
};

static const struct nla_policy pcmig_vm_attach_policy[PCMIG_A_MAX + 1] = {
	[PCMIG_A_SESSION_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[PCMIG_A_VM_FD] = NLA_POLICY_FULL_RANGE(NLA_U32, &pcmig_fd_range),
};

static const struct nla_policy pcmig_devstate_policy[PCMIG_A_MAX + 1] = {
	[PCMIG_A_SESSION_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[PCMIG_A_OFFSET] = { .type = NLA_U64 },
	[PCMIG_A_DATA] = { .type = NLA_BINARY, .len = PCMIG_DEVSTATE_CHUNK },
};

/*
 * Report @why, a message chosen at run time (the NL_SET_ERR_MSG macros
 * take literals only), and return @err.  All such messages are string
 * literals, so the pointer outlives the request.
 */
int pcmig_nl_err(struct netlink_ext_ack *extack, const struct nlattr *attr,
		 int err, const char *why)
{
	if (!extack || !why)
		return err;
	extack->_msg = why;
	if (attr)
		NL_SET_BAD_ATTR(extack, attr);
	return err;
}

static struct netlink_range_validation pcmig_gran_range = {
	.min = PCMIG_GRANULARITY_MIN,
	.max = PCMIG_GRANULARITY_MAX,
};

static const struct nla_policy pcmig_bitmap_policy[PCMIG_A_MAX + 1] = {
	[PCMIG_A_NODE] = PCMIG_NAME_POLICY,
	[PCMIG_A_BITMAP] = PCMIG_NAME_POLICY,
};

static const struct nla_policy pcmig_bitmap_add_policy[PCMIG_A_MAX + 1] = {
	[PCMIG_A_NODE] = PCMIG_NAME_POLICY,
	[PCMIG_A_BITMAP] = PCMIG_NAME_POLICY,
	[PCMIG_A_GRANULARITY] = NLA_POLICY_FULL_RANGE(NLA_U32,
						      &pcmig_gran_range),
	[PCMIG_A_ENABLED] = NLA_POLICY_MAX(NLA_U8, 1),
};

static const struct nla_policy pcmig_bitmap_set_policy[PCMIG_A_MAX + 1] = {
	[PCMIG_A_NODE] = PCMIG_NAME_POLICY,
	[PCMIG_A_BITMAP] = PCMIG_NAME_POLICY,
	[PCMIG_A_ENABLED] = NLA_POLICY_MAX(NLA_U8, 1),
};

static const struct nla_policy pcmig_bitmap_merge_policy[PCMIG_A_MAX + 1] = {
	[PCMIG_A_NODE] = PCMIG_NAME_POLICY,
	[PCMIG_A_BITMAP] = PCMIG_NAME_POLICY,
	[PCMIG_A_BITMAP_SRC] = PCMIG_NAME_POLICY,
};

static const struct nla_policy pcmig_node_policy[PCMIG_A_MAX + 1] = {
	[PCMIG_A_NODE] = PCMIG_NAME_POLICY,
};

static const struct nla_policy pcmig_extents_policy[PCMIG_A_MAX + 1] = {
	[PCMIG_A_NODE] = PCMIG_NAME_POLICY,
	[PCMIG_A_BITMAP] = PCMIG_NAME_POLICY,
	[PCMIG_A_OFFSET] = { .type = NLA_U64 },
};

static int put_stats(struct sk_buff *skb, struct pcmig_session *s)
{
	struct pcmig_stats *st = &s->stats;
	struct nlattr *nest = nla_nest_start(skb, PCMIG_A_STATS);
	u64 elapsed = 0;

	if (!nest)
		return -EMSGSIZE;
	if (s->started)
		elapsed = ktime_ms_delta(s->ended ? s->ended : ktime_get(),
					 s->started);
	if (nla_put_u64_64bit(skb, PCMIG_STAT_BYTES_SENT,
			      READ_ONCE(st->bytes_sent), PCMIG_STAT_PAD) ||
	    nla_put_u64_64bit(skb, PCMIG_STAT_BYTES_RECEIVED,
			      READ_ONCE(st->bytes_received), PCMIG_STAT_PAD) ||
	    nla_put_u64_64bit(skb, PCMIG_STAT_BYTES_REMAINING,
			      READ_ONCE(st->bytes_remaining), PCMIG_STAT_PAD) ||
	    nla_put_u64_64bit(skb, PCMIG_STAT_BANDWIDTH,
			      READ_ONCE(st->bandwidth), PCMIG_STAT_PAD) ||
	    nla_put_u32(skb, PCMIG_STAT_PASSES, READ_ONCE(st->passes)) ||
	    nla_put_u64_64bit(skb, PCMIG_STAT_ELAPSED_MS, elapsed,
			      PCMIG_STAT_PAD) ||
	    nla_put_u64_64bit(skb, PCMIG_STAT_DOWNTIME_MS,
			      READ_ONCE(st->downtime_ms), PCMIG_STAT_PAD) ||
	    nla_put_u64_64bit(skb, PCMIG_STAT_EXPECTED_DOWNTIME_MS,
			      READ_ONCE(st->expected_downtime_ms),
			      PCMIG_STAT_PAD) ||
	    nla_put_u32(skb, PCMIG_STAT_BITMAPS_DONE, s->bm.done) ||
	    nla_put_u32(skb, PCMIG_STAT_BITMAPS_FAILED, s->bm.failed) ||
	    (pcmig_vm_attached(&s->vm) &&
	     (nla_put_u64_64bit(skb, PCMIG_STAT_PAGES_SENT,
				READ_ONCE(st->pages_sent), PCMIG_STAT_PAD) ||
	      nla_put_u64_64bit(skb, PCMIG_STAT_ZERO_PAGES,
				READ_ONCE(st->zero_pages), PCMIG_STAT_PAD) ||
	      nla_put_u64_64bit(skb, PCMIG_STAT_DIRTY_PAGES,
				READ_ONCE(st->dirty_pages), PCMIG_STAT_PAD) ||
	      nla_put_u64_64bit(skb, PCMIG_STAT_DIRTY_RATE,
				READ_ONCE(st->dirty_rate), PCMIG_STAT_PAD) ||
	      nla_put_u32(skb, PCMIG_STAT_NOT_CONVERGING,
			  READ_ONCE(st->not_converging)))) ||
	    (pcmig_vm_attached(&s->vm) &&
	     (s->caps & (1U << PCMIG_CAP_POSTCOPY_RAM)) &&
	     pcmig_pc_fill_stats(s, skb))) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* One session as seen by GET, dumps and events; takes @s->lock. */
static int fill_session(struct sk_buff *skb, struct pcmig_session *s,
			u32 portid, u32 seq, int flags, u8 cmd, u32 event)
{
	void *hdr = genlmsg_put(skb, portid, seq, &pcmig_family, flags, cmd);
	int err = -EMSGSIZE;

	if (!hdr)
		return -EMSGSIZE;
	mutex_lock(&s->lock);
	if (nla_put_u32(skb, PCMIG_A_SESSION_ID, s->id) ||
	    nla_put_u32(skb, PCMIG_A_ROLE, s->role) ||
	    nla_put_u32(skb, PCMIG_A_PHASE, s->phase) ||
	    nla_put_u32(skb, PCMIG_A_CAPS, s->caps) ||
	    nla_put_u64_64bit(skb, PCMIG_A_MAX_BANDWIDTH, s->max_bandwidth,
			      PCMIG_A_PAD) ||
	    nla_put_u32(skb, PCMIG_A_DOWNTIME_LIMIT, s->downtime_limit_ms) ||
	    nla_put_u64_64bit(skb, PCMIG_A_MAX_POSTCOPY_BANDWIDTH,
			      s->max_postcopy_bandwidth, PCMIG_A_PAD) ||
	    nla_put_u64_64bit(skb, PCMIG_A_DEVSTATE_SIZE, s->dev.size,
			      PCMIG_A_PAD) ||
	    (pcmig_vm_attached(&s->vm) &&
	     nla_put_u64_64bit(skb, PCMIG_A_RAM_SIZE,
			       s->vm.pages * PCMIG_RAM_PAGE_SIZE, PCMIG_A_PAD)) ||
	    (s->postcopy_requested &&
	     nla_put_flag(skb, PCMIG_A_POSTCOPY_REQUESTED)) ||
	    (s->stop_requested && !s->vm_stopped &&
	     !pcmig_phase_ended(s->phase) &&
	     nla_put_flag(skb, PCMIG_A_STOP_REQUESTED)) ||
	    (s->resume_requested && !s->vm_resumed &&
	     !pcmig_phase_ended(s->phase) &&
	     nla_put_flag(skb, PCMIG_A_RESUME_REQUESTED)) ||
	    (s->guest_at && nla_put_u32(skb, PCMIG_A_GUEST_AT, s->guest_at)) ||
	    (s->reason[0] && nla_put_string(skb, PCMIG_A_REASON, s->reason)) ||
	    (event && nla_put_u32(skb, PCMIG_A_EVENT, event)) ||
	    put_stats(skb, s))
		goto cancel;
	mutex_unlock(&s->lock);
	genlmsg_end(skb, hdr);
	return 0;
cancel:
	mutex_unlock(&s->lock);
	genlmsg_cancel(skb, hdr);
	return err;
}

void pcmig_nl_notify(struct pcmig_session *s, enum pcmig_event event)
{
	struct sk_buff *skb;

	if (!READ_ONCE(pcmig_nl_live))
		return;
	skb = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!skb)
		return;
	if (fill_session(skb, s, 0, 0, 0, PCMIG_CMD_EVENT, event)) {
		nlmsg_free(skb);
		return;
	}
	/* No listener (-ESRCH) is normal: events are for whoever cares. */
	genlmsg_multicast_netns(&pcmig_family, s->net, skb, 0, 0, GFP_KERNEL);
}

static int reply_session(struct genl_info *info, struct pcmig_session *s,
			 u8 cmd)
{
	struct sk_buff *skb = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	int err;

	if (!skb)
		return -ENOMEM;
	err = fill_session(skb, s, info->snd_portid, info->snd_seq, 0, cmd, 0);
	if (err) {
		nlmsg_free(skb);
		return err;
	}
	return genlmsg_reply(skb, info);
}

/* The session named by PCMIG_A_SESSION_ID, with a reference. */
static struct pcmig_session *session_of(struct genl_info *info)
{
	struct pcmig_session *s;

	if (GENL_REQ_ATTR_CHECK(info, PCMIG_A_SESSION_ID))
		return ERR_PTR(-EINVAL);
	s = pcmig_session_get(genl_info_net(info),
			      nla_get_u32(info->attrs[PCMIG_A_SESSION_ID]));
	if (!s) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[PCMIG_A_SESSION_ID],
				    "no such session in this network namespace");
		return ERR_PTR(-ENOENT);
	}
	return s;
}

static int pcmig_get_info(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	void *hdr;

	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &pcmig_family, 0,
				PCMIG_CMD_GET_INFO);
	if (!hdr ||
	    nla_put_u32(msg, PCMIG_A_VERSION, PCMIG_GENL_VERSION) ||
	    nla_put_u32(msg, PCMIG_A_STREAM_VERSION, PCMIG_STREAM_VERSION) ||
	    nla_put_u32(msg, PCMIG_A_CAPS_SUPPORTED, PCMIG_CAPS_ALL) ||
	    nla_put_u32(msg, PCMIG_A_SESSIONS_MAX, pcmig_sessions_max)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* The names of one PCMIG_A_BITMAP_MAP entry, checked. */
static int parse_map_entry(const struct nlattr *attr, struct pcmig_bm_map *m,
			   struct netlink_ext_ack *extack)
{
	struct nlattr *tb[PCMIG_A_MAX + 1];
	int err;

	err = nla_parse_nested(tb, PCMIG_A_MAX, attr, pcmig_map_policy,
			       extack);
	if (err)
		return err;
	if (!tb[PCMIG_A_NODE] || !tb[PCMIG_A_NODE_DST])
		return pcmig_nl_err(extack, attr, -EINVAL,
				    "bitmap-map entry needs node and node-dst");
	if (nla_strscpy(m->src, tb[PCMIG_A_NODE], sizeof(m->src)) <= 0 ||
	    nla_strscpy(m->dst, tb[PCMIG_A_NODE_DST], sizeof(m->dst)) <= 0)
		return pcmig_nl_err(extack, attr, -EINVAL,
				    "bitmap-map entry has an empty node name");
	return 0;
}

/*
 * Every PCMIG_A_BITMAP_MAP of the request (the attribute repeats), into
 * *@out (*@n entries; the caller frees it).  One to one, as QEMU's
 * block-bitmap-mapping is: no node on either side twice.
 */
static int parse_map(struct genl_info *info, struct pcmig_bm_map **out,
		     unsigned int *n)
{
	const struct nlattr *attr;
	struct pcmig_bm_map *map;
	unsigned int i;
	int rem, err;

	map = kcalloc(PCMIG_BITMAP_MAP_MAX, sizeof(*map), GFP_KERNEL);
	if (!map)
		return -ENOMEM;
	*n = 0;
	nla_for_each_attr(attr, genlmsg_data(info->genlhdr),
			  genlmsg_len(info->genlhdr), rem) {
		if (nla_type(attr) != PCMIG_A_BITMAP_MAP)
			continue;
		if (*n == PCMIG_BITMAP_MAP_MAX) {
			err = pcmig_nl_err(info->extack, attr, -E2BIG,
					   "more than 64 bitmap-map entries");
			goto out;
		}
		err = parse_map_entry(attr, &map[*n], info->extack);
		if (err)
			goto out;
		for (i = 0; i < *n; i++) {
			if (!strcmp(map[i].src, map[*n].src) ||
			    !strcmp(map[i].dst, map[*n].dst)) {
				err = pcmig_nl_err(info->extack, attr, -EINVAL,
						   "bitmap-map names a node twice");
				goto out;
			}
		}
		(*n)++;
	}
	*out = map;
	return 0;
out:
	kfree(map);
	return err;
}

/*
 * Apply caps and parameters, all or nothing; caller holds @s->lock.
 * Bitmap migration reaches every pcmig node of the host, as the bitmap
 * ops do: it needs CAP_NET_ADMIN in the initial user namespace, not just
 * in the session's.
 */
static int apply_params(struct pcmig_session *s, struct sk_buff *skb,
			struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	struct pcmig_bm_map *map = NULL;
	unsigned int nr_map = 0;
	int err;

	if ((a[PCMIG_A_CAPS] || a[PCMIG_A_BITMAP_MAP]) &&
	    s->phase != PCMIG_PHASE_SETUP) {
		NL_SET_ERR_MSG(info->extack,
			       "capabilities and bitmap-map can only change before start");
		return -EBUSY;
	}
	if (a[PCMIG_A_CAPS] &&
	    nla_get_u32(a[PCMIG_A_CAPS]) & (1U << PCMIG_CAP_POSTCOPY_BITMAPS) &&
	    !netlink_capable(skb, CAP_NET_ADMIN)) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[PCMIG_A_CAPS],
				    "postcopy-bitmaps needs CAP_NET_ADMIN in the initial user namespace");
		return -EPERM;
	}
	if (pcmig_phase_ended(s->phase) &&
	    (a[PCMIG_A_MAX_BANDWIDTH] || a[PCMIG_A_DOWNTIME_LIMIT] ||
	     a[PCMIG_A_MAX_POSTCOPY_BANDWIDTH])) {
		NL_SET_ERR_MSG(info->extack, "session has ended");
		return -EINVAL;
	}
	if (a[PCMIG_A_BITMAP_MAP]) {
		err = parse_map(info, &map, &nr_map);
		if (err)
			return err;
		pcmig_bm_set_map(s, map, nr_map);
	}
	if (a[PCMIG_A_CAPS])
		s->caps = nla_get_u32(a[PCMIG_A_CAPS]);
	/* Parameters may change while migrating; the worker re-reads them. */
	if (a[PCMIG_A_MAX_BANDWIDTH])
		WRITE_ONCE(s->max_bandwidth,
			   nla_get_u64(a[PCMIG_A_MAX_BANDWIDTH]));
	if (a[PCMIG_A_DOWNTIME_LIMIT])
		WRITE_ONCE(s->downtime_limit_ms,
			   nla_get_u32(a[PCMIG_A_DOWNTIME_LIMIT]));
	if (a[PCMIG_A_MAX_POSTCOPY_BANDWIDTH])
		WRITE_ONCE(s->max_postcopy_bandwidth,
			   nla_get_u64(a[PCMIG_A_MAX_POSTCOPY_BANDWIDTH]));
	return 0;
}

static int pcmig_session_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct pcmig_session *s;
	u32 id;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, PCMIG_A_ROLE))
		return -EINVAL;
	s = pcmig_session_new(genl_info_net(info), info->snd_portid,
			      nla_get_u32(info->attrs[PCMIG_A_ROLE]), &err);
	if (!s) {
		if (err == -ENOSPC)
			NL_SET_ERR_MSG(info->extack,
				       "too many sessions in this network namespace");
		return err;
	}
	mutex_lock(&s->lock);
	err = apply_params(s, skb, info);
	mutex_unlock(&s->lock);
	if (!err)
		err = reply_session(info, s, PCMIG_CMD_SESSION_NEW);
	id = s->id;
	pcmig_session_put(s);
	if (err)
		pcmig_session_destroy(genl_info_net(info), id);
	return err;
}

static int pcmig_session_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	if (GENL_REQ_ATTR_CHECK(info, PCMIG_A_SESSION_ID))
		return -EINVAL;
	if (pcmig_session_destroy(genl_info_net(info),
				  nla_get_u32(info->attrs[PCMIG_A_SESSION_ID]))) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[PCMIG_A_SESSION_ID],
				    "no such session in this network namespace");
		return -ENOENT;
	}
	return 0;
}

static int pcmig_session_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct pcmig_session *s = session_of(info);
	int err;

	if (IS_ERR(s))
		return PTR_ERR(s);
	err = reply_session(info, s, PCMIG_CMD_SESSION_GET);
	pcmig_session_put(s);
	return err;
}

static int pcmig_session_get_dumpit(struct sk_buff *skb,
				    struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	unsigned long idx = cb->args[0];
	struct pcmig_session *s;
	int err = 0;

	while ((s = pcmig_session_next(net, &idx))) {
		err = fill_session(skb, s, NETLINK_CB(cb->skb).portid,
				   cb->nlh->nlmsg_seq, NLM_F_MULTI,
				   PCMIG_CMD_SESSION_GET, 0);
		pcmig_session_put(s);
		if (err)
			break;
		idx++;
	}
	cb->args[0] = idx;
	/* A full skb ends this part of the dump; the next one resumes. */
	return err == -EMSGSIZE && skb->len ? skb->len : err ?: skb->len;
}

/* The session a dump names by PCMIG_A_SESSION_ID, with a reference. */
static struct pcmig_session *dump_session(struct sk_buff *skb,
					  struct netlink_callback *cb)
{
	struct nlattr **attrs = pcmig_dump_attrs(cb);
	struct pcmig_session *s;

	if (!attrs[PCMIG_A_SESSION_ID]) {
		NL_SET_ERR_MSG(cb->extack, "session-id is required");
		return ERR_PTR(-EINVAL);
	}
	s = pcmig_session_get(sock_net(skb->sk),
			      nla_get_u32(attrs[PCMIG_A_SESSION_ID]));
	if (!s) {
		NL_SET_ERR_MSG(cb->extack,
			       "no such session in this network namespace");
		return ERR_PTR(-ENOENT);
	}
	return s;
}

static int put_bitmap_entry(struct sk_buff *skb, struct pcmig_session *s,
			    const struct pcmig_bm_entry *e,
			    struct netlink_callback *cb)
{
	void *hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				cb->nlh->nlmsg_seq, &pcmig_family, NLM_F_MULTI,
				PCMIG_CMD_SESSION_BITMAPS);

	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, PCMIG_A_SESSION_ID, s->id) ||
	    nla_put_string(skb, PCMIG_A_NODE, e->node_name) ||
	    nla_put_string(skb, PCMIG_A_BITMAP, e->name) ||
	    nla_put_u32(skb, PCMIG_A_BITMAP_STATE, e->state) ||
	    (e->granularity &&
	     (nla_put_u32(skb, PCMIG_A_GRANULARITY, e->granularity) ||
	      nla_put_u8(skb, PCMIG_A_ENABLED, e->enabled) ||
	      nla_put_u64_64bit(skb, PCMIG_A_NODE_SIZE, e->size,
				PCMIG_A_PAD))) ||
	    (e->reason[0] && nla_put_string(skb, PCMIG_A_REASON, e->reason))) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int pcmig_session_bitmaps_dumpit(struct sk_buff *skb,
					struct netlink_callback *cb)
{
	const struct pcmig_bm_entry *e;
	struct pcmig_session *s;
	unsigned long i = 0;
	int err = 0;

	s = dump_session(skb, cb);
	if (IS_ERR(s))
		return PTR_ERR(s);
	mutex_lock(&s->lock);
	list_for_each_entry(e, &s->bm.entries, list) {
		if (i++ < cb->args[0])
			continue;
		err = put_bitmap_entry(skb, s, e, cb);
		if (err)
			break;
		cb->args[0] = i;
	}
	mutex_unlock(&s->lock);
	pcmig_session_put(s);
	/* A full skb ends this part of the dump; the next one resumes. */
	return err == -EMSGSIZE && skb->len ? skb->len : err ?: skb->len;
}

static int pcmig_session_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct pcmig_session *s = session_of(info);
	int err;

	if (IS_ERR(s))
		return PTR_ERR(s);
	mutex_lock(&s->lock);
	err = apply_params(s, skb, info);
	mutex_unlock(&s->lock);
	pcmig_session_put(s);
	return err;
}

static int pcmig_sock_attach_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct pcmig_session *s;
	const char *why = NULL;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, PCMIG_A_SOCK_FD))
		return -EINVAL;
	s = session_of(info);
	if (IS_ERR(s))
		return PTR_ERR(s);
	mutex_lock(&s->lock);
	err = pcmig_session_attach(s, nla_get_u32(info->attrs[PCMIG_A_SOCK_FD]),
				   &why);
	mutex_unlock(&s->lock);
	if (err)
		pcmig_nl_err(info->extack, info->attrs[PCMIG_A_SOCK_FD], err,
			     why);
	pcmig_session_put(s);
	return err;
}

static int pcmig_devstate_put_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *data = info->attrs[PCMIG_A_DATA];
	struct pcmig_session *s;
	const char *why = NULL;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, PCMIG_A_OFFSET) ||
	    GENL_REQ_ATTR_CHECK(info, PCMIG_A_DATA))
		return -EINVAL;
	s = session_of(info);
	if (IS_ERR(s))
		return PTR_ERR(s);
	mutex_lock(&s->lock);
	if (s->role != PCMIG_ROLE_SOURCE) {
		why = "device state is put on the source session";
		err = -EINVAL;
	} else if (s->phase != PCMIG_PHASE_SETUP &&
		   !(s->stop_requested && !s->vm_stopped)) {
		/*
		 * The worker reads the blob without the lock once started,
		 * except while it waits for the VMM to stop and put it.
		 */
		why = "device state can only change before start or after a stop request";
		err = -EBUSY;
	} else {
		err = pcmig_devstate_append(&s->dev,
					    nla_get_u64(info->attrs[PCMIG_A_OFFSET]),
					    nla_data(data), nla_len(data), &why);
	}
	mutex_unlock(&s->lock);
	if (err)
		pcmig_nl_err(info->extack, NULL, err, why);
	pcmig_session_put(s);
	return err;
}

/* Headers and the other attributes of one DEVSTATE_GET dump message. */
#define PCMIG_DEVSTATE_MSG_OVERHEAD					\
	(NLMSG_HDRLEN + GENL_HDRLEN + nla_total_size(sizeof(u32)) +	\
	 nla_total_size_64bit(sizeof(u64)) + nla_total_size(0) + NLA_ALIGNTO)

static int pcmig_devstate_get_dumpit(struct sk_buff *skb,
				     struct netlink_callback *cb)
{
	struct pcmig_session *s;
	u64 off = cb->args[0];
	int err = 0;

	s = dump_session(skb, cb);
	if (IS_ERR(s))
		return PTR_ERR(s);
	mutex_lock(&s->lock);
	/* The destination's copy is read only once all of it is there. */
	if (s->role == PCMIG_ROLE_DESTINATION && !s->dev.done) {
		mutex_unlock(&s->lock);
		pcmig_session_put(s);
		NL_SET_ERR_MSG(cb->extack, "device state has not fully arrived");
		return -EAGAIN;
	}
	while (off < s->dev.size) {
		/* Pieces sized to the dump buffer the reader gave us. */
		int room = skb_tailroom(skb) - PCMIG_DEVSTATE_MSG_OVERHEAD;
		u32 n = min_t(u64, s->dev.size - off, PCMIG_DEVSTATE_CHUNK);
		void *hdr;

		if (room <= 0)
			break;
		n = min_t(u32, n, room);
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &pcmig_family,
				  NLM_F_MULTI, PCMIG_CMD_DEVSTATE_GET);
		if (!hdr)
			break;
		if (nla_put_u32(skb, PCMIG_A_SESSION_ID, s->id) ||
		    nla_put_u64_64bit(skb, PCMIG_A_OFFSET, off, PCMIG_A_PAD) ||
		    nla_put(skb, PCMIG_A_DATA, n, s->dev.buf + off)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		off += n;
	}
	if (!skb->len && off < s->dev.size)
		err = -EMSGSIZE;
	mutex_unlock(&s->lock);
	pcmig_session_put(s);
	cb->args[0] = off;
	return err ?: skb->len;
}

static int pcmig_vm_attach_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct pcmig_session *s;
	const char *why = NULL;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, PCMIG_A_VM_FD))
		return -EINVAL;
	s = session_of(info);
	if (IS_ERR(s))
		return PTR_ERR(s);
	mutex_lock(&s->lock);
	if (s->phase != PCMIG_PHASE_SETUP) {
		why = "a VM can only be attached before start";
		err = -EBUSY;
	} else if (pcmig_vm_attached(&s->vm)) {
		why = "a VM is attached already";
		err = -EBUSY;
	} else {
		err = pcmig_vm_attach(&s->vm,
				      nla_get_u32(info->attrs[PCMIG_A_VM_FD]),
				      &why);
	}
	mutex_unlock(&s->lock);
	if (err)
		pcmig_nl_err(info->extack, info->attrs[PCMIG_A_VM_FD], err, why);
	pcmig_session_put(s);
	return err;
}

/* VM_STOPPED and VM_RESUMED: the VMM did what the worker waits for. */
static int pcmig_vm_ack_doit(struct sk_buff *skb, struct genl_info *info)
{
	bool stop = info->genlhdr->cmd == PCMIG_CMD_VM_STOPPED;
	struct pcmig_session *s = session_of(info);
	int err = 0;

	if (IS_ERR(s))
		return PTR_ERR(s);
	mutex_lock(&s->lock);
	if (!(stop ? s->stop_requested : s->resume_requested) ||
	    pcmig_phase_ended(s->phase)) {
		err = pcmig_nl_err(info->extack, NULL, -EINVAL, stop ?
				   "no stop request is pending" :
				   "no resume request is pending");
	} else if (stop) {
		WRITE_ONCE(s->vm_stopped, true);
	} else {
		WRITE_ONCE(s->vm_resumed, true);
	}
	mutex_unlock(&s->lock);
	wake_up_all(&s->wq);
	pcmig_session_put(s);
	return err;
}

static int pcmig_start_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct pcmig_session *s = session_of(info);
	const char *why = NULL;
	int err;

	if (IS_ERR(s))
		return PTR_ERR(s);
	mutex_lock(&s->lock);
	err = pcmig_session_start(s, &why);
	mutex_unlock(&s->lock);
	if (err)
		pcmig_nl_err(info->extack, NULL, err, why);
	else
		pcmig_nl_notify(s, PCMIG_EVENT_PHASE);
	pcmig_session_put(s);
	return err;
}

static int pcmig_start_postcopy_doit(struct sk_buff *skb,
				     struct genl_info *info)
{
	struct pcmig_session *s = session_of(info);
	int err = 0;

	if (IS_ERR(s))
		return PTR_ERR(s);
	mutex_lock(&s->lock);
	switch (pcmig_postcopy_request(s->phase, s->caps)) {
	case PCMIG_PCREQ_RECORDED:
		if (s->role != PCMIG_ROLE_SOURCE) {
			NL_SET_ERR_MSG(info->extack,
				       "start-postcopy is issued on the source session");
			err = -EINVAL;
			break;
		}
		WRITE_ONCE(s->postcopy_requested, true);
		break;
	case PCMIG_PCREQ_NO_CAP:
		NL_SET_ERR_MSG(info->extack,
			       "no postcopy capability enabled on this session");
		err = -EINVAL;
		break;
	case PCMIG_PCREQ_IGNORED:
		break;	/* rule S3: harmless once postcopy or the end is reached */
	}
	mutex_unlock(&s->lock);
	pcmig_session_put(s);
	return err;
}

static int pcmig_cancel_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct pcmig_session *s = session_of(info);
	int notify;

	if (IS_ERR(s))
		return PTR_ERR(s);
	mutex_lock(&s->lock);
	notify = pcmig_session_cancel(s);
	mutex_unlock(&s->lock);
	if (notify)
		pcmig_nl_notify(s, PCMIG_EVENT_PHASE);
	pcmig_session_put(s);
	return 0;
}

#define PCMIG_ADMIN GENL_UNS_ADMIN_PERM

static const struct genl_ops pcmig_ops[] = {
	{
		.cmd = PCMIG_CMD_GET_INFO,
		.doit = pcmig_get_info,
	},
	{
		.cmd = PCMIG_CMD_SESSION_NEW,
		.doit = pcmig_session_new_doit,
		.policy = pcmig_new_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = PCMIG_ADMIN,
	},
	{
		.cmd = PCMIG_CMD_SESSION_DEL,
		.doit = pcmig_session_del_doit,
		.policy = pcmig_id_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = PCMIG_ADMIN,
	},
	{
		.cmd = PCMIG_CMD_SESSION_GET,
		.doit = pcmig_session_get_doit,
		.dumpit = pcmig_session_get_dumpit,
		.policy = pcmig_id_policy,
		.maxattr = PCMIG_A_MAX,
	},
	{
		.cmd = PCMIG_CMD_SESSION_SET,
		.doit = pcmig_session_set_doit,
		.policy = pcmig_set_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = PCMIG_ADMIN,
	},
	{
		.cmd = PCMIG_CMD_SOCK_ATTACH,
		.doit = pcmig_sock_attach_doit,
		.policy = pcmig_attach_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = PCMIG_ADMIN,
	},
	{
		.cmd = PCMIG_CMD_DEVSTATE_PUT,
		.doit = pcmig_devstate_put_doit,
		.policy = pcmig_devstate_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = PCMIG_ADMIN,
	},
	{
		/* Device state is the guest's: reading it is privileged too. */
		.cmd = PCMIG_CMD_DEVSTATE_GET,
		.dumpit = pcmig_devstate_get_dumpit,
		.policy = pcmig_id_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = PCMIG_ADMIN,
	},
	{
		.cmd = PCMIG_CMD_START,
		.doit = pcmig_start_doit,
		.policy = pcmig_id_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = PCMIG_ADMIN,
	},
	{
		.cmd = PCMIG_CMD_START_POSTCOPY,
		.doit = pcmig_start_postcopy_doit,
		.policy = pcmig_id_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = PCMIG_ADMIN,
	},
	{
		.cmd = PCMIG_CMD_CANCEL,
		.doit = pcmig_cancel_doit,
		.policy = pcmig_id_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = PCMIG_ADMIN,
	},
	{
		.cmd = PCMIG_CMD_BITMAP_ADD,
		.doit = pcmig_nl_bitmap_add,
		.policy = pcmig_bitmap_add_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PCMIG_CMD_BITMAP_DEL,
		.doit = pcmig_nl_bitmap_del,
		.policy = pcmig_bitmap_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PCMIG_CMD_BITMAP_GET,
		.dumpit = pcmig_nl_bitmap_get_dumpit,
		.policy = pcmig_node_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PCMIG_CMD_BITMAP_SET,
		.doit = pcmig_nl_bitmap_set,
		.policy = pcmig_bitmap_set_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PCMIG_CMD_BITMAP_CLEAR,
		.doit = pcmig_nl_bitmap_clear,
		.policy = pcmig_bitmap_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PCMIG_CMD_BITMAP_MERGE,
		.doit = pcmig_nl_bitmap_merge,
		.policy = pcmig_bitmap_merge_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PCMIG_CMD_BITMAP_EXTENTS,
		.dumpit = pcmig_nl_bitmap_extents_dumpit,
		.policy = pcmig_extents_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PCMIG_CMD_SESSION_BITMAPS,
		.dumpit = pcmig_session_bitmaps_dumpit,
		.policy = pcmig_id_policy,
		.maxattr = PCMIG_A_MAX,
	},
	{
		.cmd = PCMIG_CMD_VM_ATTACH,
		.doit = pcmig_vm_attach_doit,
		.policy = pcmig_vm_attach_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = PCMIG_ADMIN,
	},
	{
		.cmd = PCMIG_CMD_VM_STOPPED,
		.doit = pcmig_vm_ack_doit,
		.policy = pcmig_id_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = PCMIG_ADMIN,
	},
	{
		.cmd = PCMIG_CMD_VM_RESUMED,
		.doit = pcmig_vm_ack_doit,
		.policy = pcmig_id_policy,
		.maxattr = PCMIG_A_MAX,
		.flags = PCMIG_ADMIN,
	},
};

static const struct genl_multicast_group pcmig_mcgrps[] = {
	{ .name = PCMIG_MCGRP_EVENTS },
};

struct genl_family pcmig_family __ro_after_init = {
	.name = PCMIG_GENL_NAME,
	.version = PCMIG_GENL_VERSION,
	.maxattr = PCMIG_A_MAX,
	.netnsok = true,
	.module = THIS_MODULE,
	.ops = pcmig_ops,
	.n_ops = ARRAY_SIZE(pcmig_ops),
	/* Every op is strict: no policy means no attributes accepted. */
	.resv_start_op = PCMIG_CMD_GET_INFO,
	.mcgrps = pcmig_mcgrps,
	.n_mcgrps = ARRAY_SIZE(pcmig_mcgrps),
};

/* A netlink socket closed: the sessions it created go with it. */
static int pcmig_nl_release(struct notifier_block *nb, unsigned long event,
			    void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event == NETLINK_URELEASE && n->protocol == NETLINK_GENERIC &&
	    n->portid)
		pcmig_session_destroy_owned(n->net, n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block pcmig_nl_notifier = {
	.notifier_call = pcmig_nl_release,
};

int pcmig_nl_init(void)
{
	int err = netlink_register_notifier(&pcmig_nl_notifier);

	if (err)
		return err;
	err = genl_register_family(&pcmig_family);
	if (err) {
		netlink_unregister_notifier(&pcmig_nl_notifier);
		return err;
	}
	WRITE_ONCE(pcmig_nl_live, true);
	return 0;
}

/*
 * After this no op runs and no notifier fires, so the caller can tear
 * the remaining sessions down without racing new ones.
 */
void pcmig_nl_exit(void)
{
	WRITE_ONCE(pcmig_nl_live, false);
	genl_unregister_family(&pcmig_family);
	netlink_unregister_notifier(&pcmig_nl_notifier);
}
