/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A raw generic netlink client for the pcmig selftests.  It speaks to the
 * family byte by byte (no libnl) so the tests see exactly what the kernel
 * accepts, refuses, and says in its extended acks.
 */
#ifndef _PCMIG_SELFTEST_NL_H
#define _PCMIG_SELFTEST_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>
#include <linux/pcmig.h>

#define TNL_BUF 65536

struct tnl {
	int fd;
	uint16_t family;
	uint32_t mcgrp;
	uint32_t seq;
	char errmsg[256];	/* extended ack message of the last error */
	unsigned char buf[TNL_BUF];
};

/* A request under construction. */
struct tnl_req {
	union {
		struct nlmsghdr nlh;
		unsigned char raw[TNL_BUF];
	};
};

/* Attributes of one reply message, indexed by type. */
struct tnl_attrs {
	struct nlattr *a[PCMIG_A_MAX + 1];
	struct nlattr *stat[PCMIG_STAT_MAX + 1];
};

int tnl_open(struct tnl *nl);
void tnl_close(struct tnl *nl);
int tnl_subscribe(struct tnl *nl);

void tnl_req_init(struct tnl *nl, struct tnl_req *r, uint8_t cmd, bool dump);
void tnl_put(struct tnl_req *r, uint16_t type, const void *data, size_t len);
void tnl_put_u32(struct tnl_req *r, uint16_t type, uint32_t v);
void tnl_put_u64(struct tnl_req *r, uint16_t type, uint64_t v);
/* A NUL-terminated string. */
void tnl_put_str(struct tnl_req *r, uint16_t type, const char *s);
/* Attributes put between these two go inside a nest of @type. */
struct nlattr *tnl_nest_start(struct tnl_req *r, uint16_t type);
void tnl_nest_end(struct tnl_req *r, struct nlattr *nest);

/*
 * Send @r and collect the answer.  For each reply message @cb is called
 * (may be NULL).  Returns 0 or -errno from the kernel's ack, with
 * nl->errmsg holding the extended ack text.
 */
typedef void (*tnl_cb)(const struct tnl_attrs *at, void *arg);
int tnl_call(struct tnl *nl, struct tnl_req *r, tnl_cb cb, void *arg);

/* Wait up to @ms for one multicast event; 1 = got one, 0 = timeout. */
int tnl_event(struct tnl *nl, struct tnl_attrs *at, int ms);

uint32_t tnl_u32(const struct nlattr *a);
uint64_t tnl_u64(const struct nlattr *a);

/* Shortcuts used by most tests. */
struct tnl_session {
	uint32_t id, role, phase, caps, downtime;
	uint64_t max_bw, max_pc_bw, devstate_size;
	uint64_t bytes_sent, bytes_received;
	uint64_t ram_size, pages_sent, zero_pages;
	bool postcopy_requested, stop_requested, resume_requested;
	uint32_t guest_at;		/* enum pcmig_guest_at, 0: absent */
	char reason[PCMIG_REASON_MAX];
};

void tnl_session_parse(const struct tnl_attrs *at, struct tnl_session *s);
int tnl_new(struct tnl *nl, uint32_t role, uint32_t caps, uint32_t *id);
int tnl_get(struct tnl *nl, uint32_t id, struct tnl_session *s);
int tnl_simple(struct tnl *nl, uint8_t cmd, uint32_t id);
int tnl_attach(struct tnl *nl, uint32_t id, int fd);
int tnl_devstate_put(struct tnl *nl, uint32_t id, const void *buf,
		     size_t len);
/* Read back up to @cap bytes of device state; returns bytes or -errno. */
long tnl_devstate_get(struct tnl *nl, uint32_t id, void *buf, size_t cap);
/* Poll until the session reaches @phase or any end phase; returns it. */
uint32_t tnl_wait_phase(struct tnl *nl, uint32_t id, uint32_t phase,
			int timeout_ms);

#endif /* _PCMIG_SELFTEST_NL_H */
