/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pcmig requests, one function each.  All return 0 or -errno, with the
 * kernel's explanation in nl->extack (report it with pcnl_fail()).
 */
#ifndef PCMIGD_OPS_H
#define PCMIGD_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "nl.h"
#include "opts.h"
#include "session.h"

struct session_params {
	uint32_t role;
	uint32_t caps;
	/* Optional parameters are sent only when set, so the kernel's
	 * defaults (e.g. a 300 ms downtime limit) apply otherwise. */
	bool has_max_bandwidth, has_downtime_limit, has_max_postcopy_bandwidth;
	uint64_t max_bandwidth;
	uint32_t downtime_limit;
	uint64_t max_postcopy_bandwidth;
	/* Node mappings for bitmap migration; NULL or empty: none sent. */
	const struct bitmap_map *bitmap_map;
};

/*
 * One PCMIG_A_BITMAP_MAP nest (PCMIG_A_NODE, PCMIG_A_NODE_DST) per
 * mapping of m, in order.  0 or -EMSGSIZE.
 */
int put_bitmap_map(struct nl_msg *msg, const struct bitmap_map *m);

int op_get_info(struct pcnl *nl, struct pcmig_info *info);
int op_session_new(struct pcnl *nl, const struct session_params *p,
		   struct pcmig_session *out);
int op_session_get(struct pcnl *nl, uint32_t id, struct pcmig_session *out);
/* SESSION_SET of the parameters p has (caps and role are not sent). */
int op_session_set(struct pcnl *nl, uint32_t id,
		   const struct session_params *p);
/* Every session in this netns; *list is malloc'ed (free it). */
int op_session_list(struct pcnl *nl, struct pcmig_session **list,
		    size_t *n);
/* Uploads data in PCMIG_DEVSTATE_CHUNK pieces at increasing offsets. */
int op_devstate_put(struct pcnl *nl, uint32_t id, const void *data,
		    size_t len);
/* Gets each piece of device state, in order; < 0 stops the transfer. */
typedef int (*devstate_piece_fn)(const void *data, size_t len, void *arg);
/*
 * Dumps the device state held by session id to fn.  Pieces must arrive in
 * order without gaps or overlaps: -EPROTO (explained in nl->extack) if
 * not.  *total is the number of bytes handed to fn.
 */
int op_devstate_get(struct pcnl *nl, uint32_t id, devstate_piece_fn fn,
		    void *arg, uint64_t *total);
/* A devstate_piece_fn that writes each piece to a file. */
struct devstate_writer {
	int fd;
	int err;	/* errno of a failed write: the file's fault */
};
int devstate_write_piece(const void *data, size_t len, void *arg);
int op_sock_attach(struct pcnl *nl, uint32_t id, int sock_fd);
/* VM_ATTACH: vm_fd is a KVM VM fd of this process (setup phase only). */
int op_vm_attach(struct pcnl *nl, uint32_t id, int vm_fd);
/*
 * START, START_POSTCOPY, CANCEL, SESSION_DEL, VM_STOPPED: just the
 * session id.
 */
int op_session_cmd(struct pcnl *nl, uint8_t cmd, uint32_t id);

#endif
