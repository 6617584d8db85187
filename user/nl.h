/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Generic netlink transport for the "pcmig" family (libnl-genl): requests
 * with NLM_F_ACK whose failures come back as -errno plus the kernel's
 * extended-ack message, and a multicast socket for the "events" group.
 */
#ifndef PCMIGD_NL_H
#define PCMIGD_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>
#include <netlink/msg.h>

#define PCNL_EXTACK_LEN 256

struct pcnl {
	struct nl_sock *sk;
	struct nl_cb *cb;
	int family;
	/* Extended-ack message of the last failed request, "" if none. */
	char extack[PCNL_EXTACK_LEN];
};

/* Called for each reply message (or event); < 0 makes the request fail. */
typedef int (*pcnl_msg_fn)(struct nl_msg *msg, void *arg);

/*
 * Opens a socket and resolves the family; with events, joins the "events"
 * multicast group instead of being used for requests.  Prints what went
 * wrong and returns EXIT_ENV, or EXIT_OK.
 */
int pcnl_open(struct pcnl *nl, bool events);
void pcnl_close(struct pcnl *nl);
int pcnl_fd(const struct pcnl *nl);

/* New request for cmd (flags: 0 or NLM_F_DUMP); NULL if out of memory. */
struct nl_msg *pcnl_msg(struct pcnl *nl, uint8_t cmd, int flags);

/*
 * Sends msg (consumed) and waits for the ACK, the end of the dump or the
 * error; fn sees every reply.  0 or -errno (extack in nl->extack).
 */
int pcnl_request(struct pcnl *nl, struct nl_msg *msg, pcnl_msg_fn fn,
		 void *arg);

/* A dump reply the kernel flagged NLM_F_DUMP_INTR: its objects changed. */
bool pcnl_dump_interrupted(struct nl_msg *msg);

/*
 * Sends the dump request msg (consumed) and collects its replies into a
 * malloc'ed array of elements of elem_size bytes: fill(reply, element)
 * writes each one, and a reply it refuses (nonzero) is malformed,
 * -EBADMSG.  With intr, an interrupted reply (pcnl_dump_interrupted())
 * fails the dump with -EINTR and sets *intr: half of an old list and half
 * of a new one is no list.  0 with *list (free it; void ** as in
 * posix_memalign()) and *n, or -errno with both unchanged.
 */
int pcnl_dump_array(struct pcnl *nl, struct nl_msg *msg, size_t elem_size,
		    pcnl_msg_fn fill, bool *intr, void **list, size_t *n);

/*
 * Event socket: hands every queued message to fn without blocking.
 * 0, or -ENOBUFS when the kernel dropped events (receive buffer overrun).
 */
int pcnl_recv_events(struct pcnl *nl, pcnl_msg_fn fn, void *arg);

/*
 * Prints "pcmigd: WHAT: <extack or strerror> (ENAME)" (EPERM: "permission
 * denied: needs CAP_NET_ADMIN") and returns EXIT_ENV.
 */
int pcnl_fail(const struct pcnl *nl, const char *what, int err);
/* The same text without "pcmigd: WHAT: ", e.g. "no such session (ENOENT)". */
void pcnl_describe(const struct pcnl *nl, int err, char *buf, size_t len);

/*
 * Error from an NLMSG_ERROR or NLMSG_DONE message: returns the (negative)
 * error, 0 for an ACK, and copies the extended-ack text to msg ("" if none).
 * Pure and bounds-checked: the message comes from outside.
 */
int pcnl_parse_error(const struct nlmsghdr *nlh, char *msg, size_t len);

#endif
