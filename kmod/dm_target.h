/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device-mapper target "pcmig": a linear mapping onto a backing device
 * that records writes in named dirty bitmaps (rules S8-S11 of the design).
 *
 * Table line:  <start> <len> pcmig <backing dev> <offset> <node name>
 *
 * Each target instance is a block node, registered under its node name
 * (unique among live pcmig targets) for the netlink layer.  A node carries
 * any number of named bitmaps; each write, discard, secure erase or
 * write-zeroes marks every granule it touches in every enabled bitmap.
 * The bitmaps are in kernel memory only and go away with the target.
 *
 * Locking: pcmig_nodes_lock (dm_target.c) guards the registry; a node's
 * @lock serialises the bitmap operations below against each other and
 * against the target's destruction.  The I/O path takes no lock: it walks
 * the node's bitmap list under RCU and marks with atomic64 operations.
 */
#ifndef _PCMIG_DM_TARGET_H
#define _PCMIG_DM_TARGET_H

#include <linux/types.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>

#include "bitmap.h"

/* Longest node or bitmap name, in bytes, without the terminating NUL. */
#define PCMIG_NAME_MAX		255

struct dm_dev;

struct pcmig_dirty_bitmap {
	struct list_head node_list;	/* node->bitmaps, RCU for the I/O path */
	u64 *bits;			/* nbits bits in u64 words (bitmap.h) */
	u64 nbits;
	u32 gran_shift;
	bool enabled;			/* READ_ONCE in the I/O path */
	bool busy;			/* held by a migration (under node lock) */
	char name[PCMIG_NAME_MAX + 1];
};

struct pcmig_node {
	struct list_head registry;	/* on pcmig_nodes, under its lock */
	struct kref ref;
	u64 size;			/* bytes mapped by the target */

	/* Table arguments, for the status line. */
	struct dm_dev *dev;
	sector_t start;

	struct mutex lock;		/* guards what follows */
	struct list_head bitmaps;	/* in creation order */
	unsigned int nr_bitmaps;	/* READ_ONCE outside @lock */
	u64 bitmap_bits;		/* of all bitmaps, READ_ONCE outside */
	bool dead;			/* target destroyed, bitmaps freed */
	char name[PCMIG_NAME_MAX + 1];
};

/* What the listing functions report, copied out under the node's lock. */
struct pcmig_bitmap_info {
	char name[PCMIG_NAME_MAX + 1];
	u64 granularity;		/* bytes */
	bool enabled;
	u64 nbits;
	u64 dirty;			/* set bits (dirty granules) */
};

struct pcmig_node_info {
	const char *name;
	u64 size;			/* bytes */
	unsigned int nr_bitmaps;
	u64 bitmap_bits;		/* bits of all its bitmaps together */
};

int pcmig_dm_init(void);
void pcmig_dm_exit(void);

/*
 * Find a live node by name and take a reference, or NULL.  The node stays
 * valid until pcmig_node_put(); if its target is destroyed meanwhile, the
 * operations below fail with -ENODEV ("node is gone").
 */
struct pcmig_node *pcmig_node_get(const char *name);
void pcmig_node_put(struct pcmig_node *node);

/* Bytes the node's target maps (fixed for the node's life). */
static inline u64 pcmig_node_size(const struct pcmig_node *node)
{
	return node->size;
}

/*
 * Call @fn for each live node after the first @skip, in creation order,
 * under the registry lock (@fn must not call pcmig_node_get()).  A non-zero
 * return from @fn stops the walk and is returned.
 */
int pcmig_node_for_each(unsigned long skip,
			int (*fn)(const struct pcmig_node_info *info, void *arg),
			void *arg);

/*
 * Bitmap operations.  All sleep (node lock, allocation, RCU grace period),
 * return 0 or a negative errno, and on error point *@why at a static
 * message for the user (never NULL on error).
 *
 * @granularity is in bytes: a power of two from 512 B to 2 GiB, 0 for the
 * default (64 KiB).  -EEXIST: a bitmap of that name is on the node;
 * -ENOENT: no such bitmap; -ENODEV: the node's target is gone; -EINVAL: bad
 * name or granularity, or merge of bitmaps that differ in granularity or
 * size; -E2BIG: bitmap too large; -ENOMEM; -EBUSY: a migration holds the
 * bitmap (remove, enable/disable, clear and merging into it wait for the
 * migration to let go, as QEMU's "busy" bitmaps do).
 */
int pcmig_bitmap_add(struct pcmig_node *node, const char *name,
		     u64 granularity, bool enabled, const char **why);
int pcmig_bitmap_remove(struct pcmig_node *node, const char *name,
			const char **why);
int pcmig_bitmap_set_enabled(struct pcmig_node *node, const char *name,
			     bool enabled, const char **why);
int pcmig_bitmap_clear(struct pcmig_node *node, const char *name,
		       const char **why);
/* @dst |= @src, both on @node; @dst may be live (atomic per word). */
int pcmig_bitmap_merge(struct pcmig_node *node, const char *src,
		       const char *dst, const char **why);
/* Dirty granules in *@count. */
int pcmig_bitmap_count(struct pcmig_node *node, const char *name,
		       u64 *count, const char **why);
/* Details of one bitmap, copied into *@info. */
int pcmig_bitmap_info(struct pcmig_node *node, const char *name,
		      struct pcmig_bitmap_info *info, const char **why);

/*
 * Call @fn for each bitmap of @node after the first @skip, in creation
 * order, under the node's lock.  A non-zero return from @fn stops the walk
 * and is returned; -ENODEV if the node is gone.
 */
int pcmig_bitmap_for_each(struct pcmig_node *node, unsigned long skip,
			  int (*fn)(const struct pcmig_bitmap_info *info,
				    void *arg),
			  void *arg);

/*
 * The dirty extents of bitmap @name, in order, as byte ranges of the
 * device: @fn(offset, length, arg) for each run of dirty granules that ends
 * after @from (a run holding @from is reported from @from on; the last
 * granule is cut at the device's end).  A non-zero return from @fn stops
 * the walk and is returned: a dump that ran out of room resumes with @from
 * = the offset @fn could not take.  Returns 0 after the last extent.
 */
int pcmig_bitmap_extents(struct pcmig_node *node, const char *name, u64 from,
			 int (*fn)(u64 offset, u64 length, void *arg),
			 void *arg, const char **why);

/*
 * For migrations (kmod/bm_source.c, kmod/bm_dest.c).  A migration holds
 * each bitmap it sends or receives: held bitmaps cannot be removed,
 * cleared, enabled/disabled or merged into by the user, so the bitmap a
 * name refers to stays the same until pcmig_bitmap_release().
 */

/* Hold bitmap @name (-EBUSY if already held) and copy its details. */
int pcmig_bitmap_hold(struct pcmig_node *node, const char *name,
		      struct pcmig_bitmap_info *info, const char **why);
void pcmig_bitmap_release(struct pcmig_node *node, const char *name);

/*
 * Rule S11, on the destination: make bitmap @name ready to receive a
 * migrated bitmap and hold it.  An existing bitmap of that granularity is
 * cleared and takes @enabled (the migrated bits replace its contents); a
 * missing one is created.  -EINVAL if one exists with another granularity
 * (its granularity in *@have), -EBUSY if it is held.  *@created says which.
 */
int pcmig_bitmap_prepare(struct pcmig_node *node, const char *name,
			 u64 granularity, bool enabled, bool *created,
			 u64 *have, const char **why);

/* Remove a bitmap the caller holds (a migrated bitmap that is dropped). */
void pcmig_bitmap_drop(struct pcmig_node *node, const char *name);

/*
 * Copy bits @first..@first + @nbits - 1 of held bitmap @name into @words
 * (bit @first at bit 0 of @words[0]; @first a multiple of 64), or OR
 * @words into them (atomically per word: the node's writes mark
 * concurrently).  -EINVAL if the range is past the bitmap's end.
 */
int pcmig_bitmap_get_bits(struct pcmig_node *node, const char *name,
			  u64 first, u32 nbits, u64 *words, const char **why);
int pcmig_bitmap_or_bits(struct pcmig_node *node, const char *name,
			 u64 first, u32 nbits, const u64 *words,
			 const char **why);

#endif /* _PCMIG_DM_TARGET_H */
