/* SPDX-License-Identifier: GPL-2.0 */
/* Generic netlink control plane of pcmig: family "pcmig". */
#ifndef _PCMIG_NETLINK_H
#define _PCMIG_NETLINK_H

#include <uapi/linux/pcmig.h>

#include <net/genetlink.h>

struct pcmig_session;

extern struct genl_family pcmig_family;

int pcmig_nl_init(void);
void pcmig_nl_exit(void);
void pcmig_nl_notify(struct pcmig_session *s, enum pcmig_event event);
int pcmig_nl_err(struct netlink_ext_ack *extack, const struct nlattr *attr,
		 int err, const char *why);

/* Dirty bitmap ops (nl_bitmap.c), in the family's ops table. */
int pcmig_nl_bitmap_add(struct sk_buff *skb, struct genl_info *info);
int pcmig_nl_bitmap_del(struct sk_buff *skb, struct genl_info *info);
int pcmig_nl_bitmap_set(struct sk_buff *skb, struct genl_info *info);
int pcmig_nl_bitmap_clear(struct sk_buff *skb, struct genl_info *info);
int pcmig_nl_bitmap_merge(struct sk_buff *skb, struct genl_info *info);
int pcmig_nl_bitmap_get_dumpit(struct sk_buff *skb,
			       struct netlink_callback *cb);
int pcmig_nl_bitmap_extents_dumpit(struct sk_buff *skb,
				   struct netlink_callback *cb);

#endif /* _PCMIG_NETLINK_H */
