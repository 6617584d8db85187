/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels pcmig supports (Debian's 6.1 LTS and
 * 6.12 LTS) is absorbed here, so the rest of the module is written against
 * one API.
 */
#ifndef _PCMIG_COMPAT_H
#define _PCMIG_COMPAT_H

#include <linux/version.h>

/* 6.12 moved the unaligned access helpers out of asm/. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#include <net/genetlink.h>

/* Attributes of a dump request, parsed by the genl core with the op's policy. */
static inline struct nlattr **pcmig_dump_attrs(struct netlink_callback *cb)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	return genl_info_dump(cb)->attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

/* Unmap the pages of [start, start + size), all inside @vma. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define pcmig_zap(vma, start, size) \
	zap_page_range_single(vma, start, size, NULL)
#else
#define pcmig_zap(vma, start, size) zap_page_range(vma, start, size)
#endif

#endif /* _PCMIG_COMPAT_H */
