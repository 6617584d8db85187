/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Migration of block dirty bitmaps (capability postcopy-bitmaps, rules
 * S8-S11): the bitmaps provider of the source (bm_source.c) and what the
 * destination does with the bitmaps section (bm_dest.c).
 *
 * Each session keeps one entry per bitmap it migrates, saying what became
 * of it; PCMIG_CMD_SESSION_BITMAPS reports them.  The worker adds and
 * updates entries under the session's lock, so the report can be read at
 * any time.  Entries hold their node (a reference) and their bitmap (a
 * hold, dm_target.h) until the bitmap is done or the session ends.
 */
#ifndef _PCMIG_BM_MIGRATE_H
#define _PCMIG_BM_MIGRATE_H

#include <linux/list.h>
#include <linux/types.h>

#include "dm_target.h"
#include "wire.h"

struct pcmig_session;

/* A node name mapping (--bitmap-map SRC:DST, like QEMU's mapping). */
struct pcmig_bm_map {
	char src[PCMIG_NAME_MAX + 1];
	char dst[PCMIG_NAME_MAX + 1];
};

#define PCMIG_BM_REASON_MAX	160
/* Bitmaps one session migrates at most (bounds what a stream can make). */
#define PCMIG_BM_ENTRIES_MAX	16384

struct pcmig_bm_entry {
	struct list_head list;
	struct pcmig_node *node;	/* with a reference while held */
	bool held;			/* the bitmap is held (dm_target.h) */
	bool created;			/* destination: it did not exist */
	u32 state;			/* enum pcmig_bitmap_state */
	u32 granularity;
	bool enabled;
	u64 size;			/* bytes of the node, as sent */
	char node_name[PCMIG_NAME_MAX + 1];	/* on this host */
	char wire_node[PCMIG_NAME_MAX + 1];	/* in the stream */
	char name[PCMIG_NAME_MAX + 1];
	char reason[PCMIG_BM_REASON_MAX];
};

struct pcmig_bm_state {
	struct pcmig_bm_map *map;	/* set before start, then read-only */
	unsigned int nr_map;
	struct list_head entries;	/* under the session's lock */
	unsigned int nr_entries;
	u32 done;			/* entries in PCMIG_BITMAP_DONE */
	u32 failed;			/* ERROR, DROPPED or SKIPPED */
	bool ended;			/* pcmig_bm_end() ran */
	bool announced;			/* source: entries are final */
	/* Worker only: */
	struct pcmig_bm_entry *cur;	/* destination: the open bitmap */
	u64 left;			/* source: bytes still to send */
	u64 *words;			/* one chunk, PCMIG_BM_CHUNK_BITS */
	u8 *frame;			/* source: one BITS payload */
};

void pcmig_bm_init(struct pcmig_session *s);
void pcmig_bm_free(struct pcmig_session *s);

/* Replace the session's mapping (setup only; validated by netlink.c). */
void pcmig_bm_set_map(struct pcmig_session *s, struct pcmig_bm_map *map,
		      unsigned int n);
/*
 * The name node @name goes by on the other side of the mapping: on the
 * source, a local node's name in the stream; on the destination, the
 * local node a name in the stream means (a mapping's source side, or its
 * destination side when both hosts were given the same mapping).  @name
 * itself without a mapping, NULL when the mapping does not name it.
 */
const char *pcmig_bm_map_name(struct pcmig_session *s, const char *name);

struct pcmig_bm_entry *pcmig_bm_add_entry(struct pcmig_session *s,
					  const char *node_name,
					  const char *wire_node,
					  const char *name);
/* Set @e's state and reason (a printf format, may be NULL). */
void pcmig_bm_set_state(struct pcmig_session *s, struct pcmig_bm_entry *e,
			u32 state, const char *fmt, ...) __printf(4, 5);
/* Let go of @e's bitmap and node (dropping the bitmap if @drop). */
void pcmig_bm_let_go(struct pcmig_bm_entry *e, bool drop);

/*
 * The session ends (@ok: completed): let go of every bitmap; on the
 * destination, bitmaps that did not complete are dropped (rule S8).
 * Runs once; returns the number of bitmaps dropped.
 */
unsigned int pcmig_bm_end(struct pcmig_session *s, bool ok);

/* Source: the bitmaps provider (postcopy-only, rule S8). */
u64 pcmig_bm_pending(struct pcmig_session *s);
int pcmig_bm_announce(struct pcmig_session *s);
int pcmig_bm_save(struct pcmig_session *s);

/* Destination: one accepted frame of the bitmaps section. */
int pcmig_bm_apply(struct pcmig_session *s, enum pcmig_rx_act act, u64 arg,
		   const struct pcmig_rx *rx, const u8 *payload,
		   const char **why);

#endif /* _PCMIG_BM_MIGRATE_H */
