/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dirty bitmaps of block nodes (instances of the dm target "pcmig"): the
 * BITMAP_* requests, their replies and the values users write for them.
 * Requests return 0 or -errno with the kernel's explanation in nl->extack
 * (report it with pcnl_fail()), as in ops.h.
 */
#ifndef PCMIGD_BITMAP_H
#define PCMIGD_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/pcmig.h>
#include <netlink/msg.h>

#include "json.h"
#include "nl.h"

/* One BITMAP_GET dump entry. */
struct pcmig_bitmap {
	char node[PCMIG_NAME_MAX + 1];
	char name[PCMIG_NAME_MAX + 1];
	uint32_t granularity;	/* bytes */
	bool enabled;
	uint64_t dirty_count;	/* granules */
	uint64_t node_size;	/* bytes */
};

/* One BITMAP_EXTENTS dump entry: dirty bytes [offset, offset + length). */
struct pcmig_extent {
	uint64_t offset;
	uint64_t length;
};

/*
 * One SESSION_BITMAPS dump entry: a bitmap a migration moves and what
 * became of it.  Granularity, enabled and node size are there when the
 * module knew them (has_*); reason is "" when it gave none.
 */
struct pcmig_session_bitmap {
	char node[PCMIG_NAME_MAX + 1];	/* node on this host */
	char name[PCMIG_NAME_MAX + 1];
	uint32_t state;			/* enum pcmig_bitmap_state */
	bool has_granularity, has_enabled, has_node_size;
	uint32_t granularity;		/* bytes */
	bool enabled;
	uint64_t node_size;		/* bytes */
	char reason[PCMIG_REASON_MAX];
};

/* Room for session_bitmap_line(): two names, a state and a reason. */
#define SESSION_BITMAP_LINE_MAX (2 * PCMIG_NAME_MAX + PCMIG_REASON_MAX + 64)

/*
 * A granularity as parse_size() reads it ("64K", "1M", "4096"), which must
 * be a power of two from PCMIG_GRANULARITY_MIN to PCMIG_GRANULARITY_MAX.
 * 0, -EINVAL or -ERANGE with the reason in err.
 */
int parse_granularity(const char *s, uint32_t *out, char *err,
		      size_t errlen);

/*
 * A node or bitmap name: 1 to PCMIG_NAME_MAX bytes.  0 or -EINVAL with the
 * reason in err; the kernel has the last word on the characters allowed.
 */
int check_name(const char *s, char *err, size_t errlen);

/*
 * 0 or -EBADMSG.  Every attribute of the entry is required: a message
 * without one is malformed; attributes this pcmigd does not know are
 * ignored.
 */
int bitmap_from_msg(struct nl_msg *msg, struct pcmig_bitmap *b);
int extent_from_msg(struct nl_msg *msg, struct pcmig_extent *e);

/*
 * 0 or -EBADMSG.  SESSION_ID, NODE, BITMAP and BITMAP_STATE are required;
 * the others are optional.
 */
int session_bitmap_from_msg(struct nl_msg *msg,
			    struct pcmig_session_bitmap *b);

/*
 * "bitmap NODE/BITMAP: STATE", then the reason: " (REASON)" when the
 * bitmap is pending or done ("done (created)"), ": REASON" when it failed
 * ("error: granularity differs: ...").  Control characters of names and
 * reason are shown as '?'; a state this pcmigd does not know as a number.
 */
void session_bitmap_line(const struct pcmig_session_bitmap *b, char *buf,
			 size_t len);

/*
 * JSON object {"node", "bitmap", "state" (a name), "granularity",
 * "enabled" (true/false), "node_size", "reason"}, each optional attribute
 * only when present; session_bitmaps_json() is an array of them.
 */
void session_bitmap_json(struct json *j, const char *key,
			 const struct pcmig_session_bitmap *b);
void session_bitmaps_json(struct json *j, const char *key,
			  const struct pcmig_session_bitmap *v, size_t n);

/* The bitmaps of session id (SESSION_BITMAPS); *list is malloc'ed. */
int op_session_bitmaps(struct pcnl *nl, uint32_t id,
		       struct pcmig_session_bitmap **list, size_t *n);

/*
 * Checks that e may follow the extents already seen, all before *next
 * (initially the start offset): non-empty, at or after *next, not past
 * 2^64.  0 and *next moved to its end, or -EPROTO.
 */
int extent_next(uint64_t *next, const struct pcmig_extent *e);

/*
 * Bytes covered by the dirty granules, at most the node size (its last
 * granule may be partial), saturated rather than wrapped.
 */
uint64_t bitmap_dirty_bytes(const struct pcmig_bitmap *b);

/*
 * JSON object with the keys "node", "bitmap", "granularity", "enabled",
 * "dirty_count", "dirty_bytes", "node_size".
 */
void bitmap_json(struct json *j, const char *key, const struct pcmig_bitmap *b);

/*
 * The table of `pcmigd bitmap list`: a header line, then one line per
 * bitmap; columns as wide as their widest cell, control characters of
 * names shown as '?'.
 */
void bitmap_print_table(FILE *f, const struct pcmig_bitmap *v, size_t n);

/* granularity 0: the module's default.  Enabled is the module's default. */
int op_bitmap_add(struct pcnl *nl, const char *node, const char *name,
		  uint32_t granularity, bool enabled);
int op_bitmap_del(struct pcnl *nl, const char *node, const char *name);
int op_bitmap_set(struct pcnl *nl, const char *node, const char *name,
		  bool enabled);
int op_bitmap_clear(struct pcnl *nl, const char *node, const char *name);
/* dst |= src; both on node, of the same granularity. */
int op_bitmap_merge(struct pcnl *nl, const char *node, const char *src,
		    const char *dst);
/* The bitmaps of node, or of every node (NULL); *list is malloc'ed. */
int op_bitmap_list(struct pcnl *nl, const char *node,
		   struct pcmig_bitmap **list, size_t *n);

/* Gets each extent as it arrives; < 0 stops the dump. */
typedef int (*extent_fn)(const struct pcmig_extent *e, void *arg);

/*
 * Streams the dirty extents of a bitmap, from byte offset from on, to fn.
 * Extents must be non-empty, at or after from and in increasing order
 * without overlaps: -EPROTO (explained in nl->extack) if not, since a
 * backup built from them would silently miss or repeat data.  A dump the
 * kernel flagged as interrupted (NLM_F_DUMP_INTR) fails with -EINTR.
 */
int op_bitmap_extents(struct pcnl *nl, const char *node, const char *name,
		      uint64_t from, extent_fn fn, void *arg);

#endif
