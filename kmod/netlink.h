/* SPDX-License-Identifier: GPL-2.0 */
/* Generic netlink control plane of pcmig: family "pcmig". */
#ifndef _PCMIG_NETLINK_H
#define _PCMIG_NETLINK_H

#include <uapi/linux/pcmig.h>

struct pcmig_session;

int pcmig_nl_init(void);
void pcmig_nl_exit(void);
void pcmig_nl_notify(struct pcmig_session *s, enum pcmig_event event);

#endif /* _PCMIG_NETLINK_H */
