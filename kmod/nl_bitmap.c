// SPDX-License-Identifier: GPL-2.0
/*
 * Netlink ops on the dirty bitmaps of block nodes (dm target "pcmig").
 * The ops table and policies are in netlink.c with the rest of the family.
 *
 * Block devices are global, not per network namespace, so these ops need
 * CAP_NET_ADMIN in the initial user namespace (GENL_ADMIN_PERM).
 */
#include <net/genetlink.h>
#include <net/netlink.h>

#include "compat.h"
#include "dm_target.h"
#include "netlink.h"

/* The node named by PCMIG_A_NODE, with a reference. */
static struct pcmig_node *node_of(struct nlattr **attrs,
				  struct netlink_ext_ack *extack)
{
	char name[PCMIG_NAME_MAX + 1];
	struct pcmig_node *node;

	if (!attrs[PCMIG_A_NODE]) {
		NL_SET_ERR_MSG(extack, "node is required");
		return ERR_PTR(-EINVAL);
	}
	nla_strscpy(name, attrs[PCMIG_A_NODE], sizeof(name));
	node = pcmig_node_get(name);
	if (!node) {
		NL_SET_ERR_MSG_ATTR(extack, attrs[PCMIG_A_NODE],
				    "no pcmig block node of that name");
		return ERR_PTR(-ENODEV);
	}
	return node;
}

static int bitmap_name(struct genl_info *info, int type, char *name)
{
	if (!info->attrs[type])
		return pcmig_nl_err(info->extack, NULL, -EINVAL,
				    type == PCMIG_A_BITMAP_SRC ?
				    "bitmap-src is required" :
				    "bitmap is required");
	nla_strscpy(name, info->attrs[type], PCMIG_NAME_MAX + 1);
	return 0;
}

int pcmig_nl_bitmap_add(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	char name[PCMIG_NAME_MAX + 1];
	struct pcmig_node *node;
	const char *why = NULL;
	u64 gran = 0;
	bool enabled = true;
	int err;

	err = bitmap_name(info, PCMIG_A_BITMAP, name);
	if (err)
		return err;
	if (a[PCMIG_A_GRANULARITY])
		gran = nla_get_u32(a[PCMIG_A_GRANULARITY]);
	if (a[PCMIG_A_ENABLED])
		enabled = nla_get_u8(a[PCMIG_A_ENABLED]);
	node = node_of(a, info->extack);
	if (IS_ERR(node))
		return PTR_ERR(node);
	err = pcmig_bitmap_add(node, name, gran, enabled, &why);
	pcmig_node_put(node);
	return err ? pcmig_nl_err(info->extack, NULL, err, why) : 0;
}

/* The ops that name one bitmap and change it. */
enum bitmap_change { BM_DEL, BM_SET, BM_CLEAR, BM_MERGE };

static int bitmap_change(struct genl_info *info, enum bitmap_change what)
{
	char name[PCMIG_NAME_MAX + 1], src[PCMIG_NAME_MAX + 1];
	struct pcmig_node *node;
	const char *why = NULL;
	bool enabled;
	int err;

	err = bitmap_name(info, PCMIG_A_BITMAP, name);
	if (!err && what == BM_MERGE)
		err = bitmap_name(info, PCMIG_A_BITMAP_SRC, src);
	if (!err && what == BM_SET && !info->attrs[PCMIG_A_ENABLED]) {
		NL_SET_ERR_MSG(info->extack, "enabled is required");
		err = -EINVAL;
	}
	if (err)
		return err;
	node = node_of(info->attrs, info->extack);
	if (IS_ERR(node))
		return PTR_ERR(node);
	switch (what) {
	case BM_DEL:
		err = pcmig_bitmap_remove(node, name, &why);
		break;
	case BM_SET:
		enabled = nla_get_u8(info->attrs[PCMIG_A_ENABLED]);
		err = pcmig_bitmap_set_enabled(node, name, enabled, &why);
		break;
	case BM_CLEAR:
		err = pcmig_bitmap_clear(node, name, &why);
		break;
	case BM_MERGE:
		err = pcmig_bitmap_merge(node, src, name, &why);
		break;
	}
	pcmig_node_put(node);
	return err ? pcmig_nl_err(info->extack, NULL, err, why) : 0;
}

int pcmig_nl_bitmap_del(struct sk_buff *skb, struct genl_info *info)
{
	return bitmap_change(info, BM_DEL);
}

int pcmig_nl_bitmap_set(struct sk_buff *skb, struct genl_info *info)
{
	return bitmap_change(info, BM_SET);
}

int pcmig_nl_bitmap_clear(struct sk_buff *skb, struct genl_info *info)
{
	return bitmap_change(info, BM_CLEAR);
}

int pcmig_nl_bitmap_merge(struct sk_buff *skb, struct genl_info *info)
{
	return bitmap_change(info, BM_MERGE);
}

/*
 * BITMAP_GET dump.  cb->args: [0] node index, [1] bitmap index within
 * that node, so a dump split over several messages resumes in place.
 */
struct list_ctx {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	const char *node;
	u64 node_size;
	char first[PCMIG_NAME_MAX + 1];	/* node_for_each: the node found */
	u64 first_size;
};

static int take_first_node(const struct pcmig_node_info *info, void *arg)
{
	struct list_ctx *c = arg;

	strscpy(c->first, info->name, sizeof(c->first));
	c->first_size = info->size;
	return 1;
}

static int put_bitmap(const struct pcmig_bitmap_info *bi, void *arg)
{
	struct list_ctx *c = arg;
	void *hdr = genlmsg_put(c->skb, NETLINK_CB(c->cb->skb).portid,
				c->cb->nlh->nlmsg_seq, &pcmig_family,
				NLM_F_MULTI, PCMIG_CMD_BITMAP_GET);

	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_string(c->skb, PCMIG_A_NODE, c->node) ||
	    nla_put_string(c->skb, PCMIG_A_BITMAP, bi->name) ||
	    nla_put_u32(c->skb, PCMIG_A_GRANULARITY, bi->granularity) ||
	    nla_put_u8(c->skb, PCMIG_A_ENABLED, bi->enabled) ||
	    nla_put_u64_64bit(c->skb, PCMIG_A_DIRTY_COUNT, bi->dirty,
			      PCMIG_A_PAD) ||
	    nla_put_u64_64bit(c->skb, PCMIG_A_NODE_SIZE, c->node_size,
			      PCMIG_A_PAD)) {
		genlmsg_cancel(c->skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(c->skb, hdr);
	c->cb->args[1]++;
	return 0;
}

int pcmig_nl_bitmap_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nlattr **attrs = pcmig_dump_attrs(cb);
	struct list_ctx c = { .skb = skb, .cb = cb };
	struct pcmig_node *node;
	int err;

	for (;;) {
		if (attrs[PCMIG_A_NODE]) {
			/* One node only: index 0 is it, index 1 the end. */
			if (cb->args[0])
				break;
			nla_strscpy(c.first, attrs[PCMIG_A_NODE],
				    sizeof(c.first));
		} else if (!pcmig_node_for_each(cb->args[0], take_first_node,
						&c)) {
			break;	/* past the last node */
		}
		node = pcmig_node_get(c.first);
		if (!node) {
			if (attrs[PCMIG_A_NODE]) {
				NL_SET_ERR_MSG(cb->extack,
					       "no pcmig block node of that name");
				return -ENODEV;
			}
			cb->args[0]++;	/* went away meanwhile */
			cb->args[1] = 0;
			continue;
		}
		c.node = c.first;
		c.node_size = node->size;
		err = pcmig_bitmap_for_each(node, cb->args[1], put_bitmap, &c);
		pcmig_node_put(node);
		if (err == -EMSGSIZE && skb->len)
			return skb->len;
		if (err && err != -ENODEV)
			return err;
		cb->args[0]++;
		cb->args[1] = 0;
	}
	return skb->len;
}

/* BITMAP_EXTENTS dump: cb->args[0] is the byte offset to resume from. */
struct extents_ctx {
	struct sk_buff *skb;
	struct netlink_callback *cb;
};

static int put_extent(u64 offset, u64 length, void *arg)
{
	struct extents_ctx *c = arg;
	void *hdr = genlmsg_put(c->skb, NETLINK_CB(c->cb->skb).portid,
				c->cb->nlh->nlmsg_seq, &pcmig_family,
				NLM_F_MULTI, PCMIG_CMD_BITMAP_EXTENTS);

	if (!hdr)
		goto full;
	if (nla_put_u64_64bit(c->skb, PCMIG_A_OFFSET, offset, PCMIG_A_PAD) ||
	    nla_put_u64_64bit(c->skb, PCMIG_A_LENGTH, length, PCMIG_A_PAD)) {
		genlmsg_cancel(c->skb, hdr);
		goto full;
	}
	genlmsg_end(c->skb, hdr);
	c->cb->args[0] = offset + length;
	return 0;
full:
	c->cb->args[0] = offset;
	return -EMSGSIZE;
}

int pcmig_nl_bitmap_extents_dumpit(struct sk_buff *skb,
				   struct netlink_callback *cb)
{
	struct nlattr **attrs = pcmig_dump_attrs(cb);
	struct extents_ctx c = { .skb = skb, .cb = cb };
	char name[PCMIG_NAME_MAX + 1];
	struct pcmig_node *node;
	const char *why = NULL;
	int err;

	/* args[1]: set once the dump is done, so the next call ends it. */
	if (cb->args[1])
		return 0;
	if (!attrs[PCMIG_A_BITMAP]) {
		NL_SET_ERR_MSG(cb->extack, "bitmap is required");
		return -EINVAL;
	}
	nla_strscpy(name, attrs[PCMIG_A_BITMAP], sizeof(name));
	if (!cb->args[0] && attrs[PCMIG_A_OFFSET])
		cb->args[0] = nla_get_u64(attrs[PCMIG_A_OFFSET]);
	node = node_of(attrs, cb->extack);
	if (IS_ERR(node))
		return PTR_ERR(node);
	err = pcmig_bitmap_extents(node, name, cb->args[0], put_extent, &c,
				   &why);
	pcmig_node_put(node);
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	if (err)
		return pcmig_nl_err(cb->extack, NULL, err, why);
	cb->args[1] = 1;
	return skb->len;
}
