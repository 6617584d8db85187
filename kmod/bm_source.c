// SPDX-License-Identifier: GPL-2.0
/*
 * Source side of bitmap migration: the bitmaps provider, postcopy-only
 * (rule S8).  Nothing goes in precopy.  In the stopped phase the provider
 * announces every bitmap it will send (so the destination has them before
 * it starts), then, in the stopped phase or in postcopy as rule S2 chose,
 * sends each one in chunks: START, BITS or ZEROES per chunk, COMPLETE;
 * EOS after the last.  No return path is needed (rule S9).
 *
 * The bits are read once the source is stopped, so no write of the
 * guest's can come after its chunk was read.  Each bitmap is held while
 * it is migrated (the user cannot remove, clear or disable it meanwhile).
 */
#include <linux/slab.h>
#include <linux/mm.h>

#include "bm_migrate.h"
#include "session.h"
#include "stream.h"

/* Stream bytes for a bitmap of @nbits bits, at most (all chunks BITS). */
static u64 wire_bytes(u64 nbits)
{
	u64 chunks = DIV_ROUND_UP_ULL(nbits, PCMIG_BM_CHUNK_BITS);

	return DIV_ROUND_UP_ULL(nbits, 8) +
	       chunks * (PCMIG_WIRE_FRAME_HDR_LEN + PCMIG_BM_CHUNK_HDR) +
	       2 * PCMIG_WIRE_FRAME_HDR_LEN + PCMIG_BM_START_MAX;
}

static bool enabled_for(struct pcmig_session *s)
{
	return s->caps & (1U << PCMIG_CAP_POSTCOPY_BITMAPS);
}

struct estimate {
	struct pcmig_session *s;
	u64 bytes;
};

static int estimate_node(const struct pcmig_node_info *info, void *arg)
{
	struct estimate *est = arg;

	if (info->nr_bitmaps && pcmig_bm_map_name(est->s, info->name))
		est->bytes += wire_bytes(info->bitmap_bits) +
			      PCMIG_WIRE_FRAME_HDR_LEN;
	return 0;
}

u64 pcmig_bm_pending(struct pcmig_session *s)
{
	struct estimate est = { .s = s };

	if (!enabled_for(s))
		return 0;
	if (s->bm.announced)
		return s->bm.left;
	/* Before the stop: what the bitmaps would take now. */
	pcmig_node_for_each(0, estimate_node, &est);
	return est.bytes;
}

/* Names of the live nodes, copied out of the registry walk. */
struct node_name {
	struct list_head list;
	char name[PCMIG_NAME_MAX + 1];
};

static int collect_node(const struct pcmig_node_info *info, void *arg)
{
	struct node_name *n;

	if (!info->nr_bitmaps)
		return 0;
	n = kmalloc(sizeof(*n), GFP_KERNEL);
	if (!n)
		return -ENOMEM;
	strscpy(n->name, info->name, sizeof(n->name));
	list_add_tail(&n->list, arg);
	return 0;
}

static int collect_bitmap(const struct pcmig_bitmap_info *info, void *arg)
{
	struct node_name *n = kmalloc(sizeof(*n), GFP_KERNEL);

	if (!n)
		return -ENOMEM;
	strscpy(n->name, info->name, sizeof(n->name));
	list_add_tail(&n->list, arg);
	return 0;
}

static void free_names(struct list_head *names)
{
	struct node_name *n, *tmp;

	list_for_each_entry_safe(n, tmp, names, list)
		kfree(n);
	INIT_LIST_HEAD(names);
}

/* An entry for bitmap @name of @node (S10: named bitmaps, named nodes). */
static int add_bitmap(struct pcmig_session *s, const char *node_name,
		      const char *wire_node, const char *name)
{
	struct pcmig_bitmap_info *info;
	struct pcmig_bm_entry *e;
	const char *why;
	int err;

	e = pcmig_bm_add_entry(s, node_name, wire_node ?: node_name, name);
	if (!e)
		return -ENOMEM;
	if (!wire_node) {
		pcmig_bm_set_state(s, e, PCMIG_BITMAP_SKIPPED,
				   "node is not in the bitmap mapping");
		return 0;
	}
	e->node = pcmig_node_get(node_name);
	if (!e->node) {
		pcmig_bm_set_state(s, e, PCMIG_BITMAP_ERROR, "node is gone");
		return 0;
	}
	info = kmalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	err = pcmig_bitmap_hold(e->node, name, info, &why);
	if (err) {
		pcmig_bm_let_go(e, false);
		pcmig_bm_set_state(s, e, PCMIG_BITMAP_ERROR, "%s", why);
	} else {
		e->held = true;
		e->granularity = info->granularity;
		e->enabled = info->enabled;
		e->size = pcmig_node_size(e->node);
		s->bm.left += wire_bytes(info->nbits);
	}
	kfree(info);
	return 0;
}

static int add_node(struct pcmig_session *s, const char *node_name)
{
	const char *wire_node = pcmig_bm_map_name(s, node_name);
	struct pcmig_node *node = pcmig_node_get(node_name);
	struct node_name *n;
	LIST_HEAD(names);
	int err;

	if (!node)
		return 0;	/* removed since the walk: nothing to send */
	err = pcmig_bitmap_for_each(node, 0, collect_bitmap, &names);
	pcmig_node_put(node);
	if (err == -ENODEV)
		err = 0;
	list_for_each_entry(n, &names, list) {
		if (err)
			break;
		err = add_bitmap(s, node_name, wire_node, n->name);
	}
	free_names(&names);
	return err;
}

static int send_start(struct pcmig_session *s, u8 type,
		      const struct pcmig_bm_entry *e)
{
	u32 len = pcmig_wire_put_bm_start(s->bm.frame, e->wire_node, e->name,
					  e->granularity, e->enabled, e->size);

	return pcmig_send_frame(s, PCMIG_SEC_BITMAPS, type, s->bm.frame, len);
}

int pcmig_bm_announce(struct pcmig_session *s)
{
	struct pcmig_bm_entry *e;
	struct node_name *n;
	LIST_HEAD(nodes);
	int err;

	if (!enabled_for(s) || s->bm.announced)
		return 0;
	s->bm.announced = true;
	s->bm.words = kvmalloc(PCMIG_BM_CHUNK_BITS / 8, GFP_KERNEL);
	s->bm.frame = kvmalloc(PCMIG_BM_BITS_MAX, GFP_KERNEL);
	if (!s->bm.words || !s->bm.frame)
		return -ENOMEM;

	err = pcmig_node_for_each(0, collect_node, &nodes);
	list_for_each_entry(n, &nodes, list) {
		if (err)
			break;
		err = add_node(s, n->name);
	}
	free_names(&nodes);
	if (err)
		return err;

	list_for_each_entry(e, &s->bm.entries, list) {
		if (!e->held)
			continue;
		err = send_start(s, PCMIG_BM_ANNOUNCE, e);
		if (err)
			return err;
	}
	if (s->bm.left)
		s->bm.left += PCMIG_WIRE_FRAME_HDR_LEN;	/* BM_EOS */
	return 0;
}

static void sent(struct pcmig_session *s, u64 bytes)
{
	s->bm.left -= min(s->bm.left, bytes);
}

/*
 * One chunk.  A chunk that cannot be read (the node went away under the
 * migration) is sent as all dirty: the destination's bitmap then asks for
 * more to be backed up, never less.
 */
static int send_chunk(struct pcmig_session *s, struct pcmig_bm_entry *e,
		      u64 first, u32 nbits, const char **why)
{
	u64 *words = s->bm.words;
	bool lost;
	u8 type;
	u32 len;
	int err;

	lost = pcmig_bitmap_get_bits(e->node, e->name, first, nbits, words,
				     why);
	if (lost)
		memset(words, 0xff, DIV_ROUND_UP(nbits, 64) * sizeof(u64));
	if (!lost && pcmig_wire_bm_chunk_is_zero(words, 0, nbits)) {
		type = PCMIG_BM_ZEROES;
		len = pcmig_wire_put_bm_zeroes(s->bm.frame, first, nbits);
	} else {
		/* @words start at bit @first: encode from 0, fix the header. */
		type = PCMIG_BM_BITS;
		len = pcmig_wire_put_bm_bits(s->bm.frame, words, 0, nbits);
		pcmig_wire_put_bm_zeroes(s->bm.frame, first, nbits);
	}
	sent(s, DIV_ROUND_UP(nbits, 8));
	err = pcmig_send_frame(s, PCMIG_SEC_BITMAPS, type, s->bm.frame, len);
	return err ?: lost;	/* 1: sent, but as all dirty */
}

static int send_bitmap(struct pcmig_session *s, struct pcmig_bm_entry *e)
{
	u64 nbits = pcmig_wire_bm_nbits(e->size, e->granularity);
	const char *why = NULL;
	bool lost = false;
	u64 first;
	u32 n;
	int err;

	err = send_start(s, PCMIG_BM_START, e);
	for (first = 0; !err && first < nbits; first += n) {
		n = pcmig_wire_bm_chunk_bits(nbits, first);
		err = send_chunk(s, e, first, n, &why);
		if (err > 0) {
			lost = true;
			err = 0;
		}
		if (!err && pcmig_session_aborted(s))
			err = -EINTR;
	}
	if (!err)
		err = pcmig_send_frame(s, PCMIG_SEC_BITMAPS,
				       PCMIG_BM_COMPLETE, NULL, 0);
	if (err)
		return err;
	pcmig_bm_let_go(e, false);
	if (lost)
		pcmig_bm_set_state(s, e, PCMIG_BITMAP_ERROR,
				   "%s while it was sent: sent as all dirty",
				   why);
	else
		pcmig_bm_set_state(s, e, PCMIG_BITMAP_DONE, NULL);
	return 0;
}

int pcmig_bm_save(struct pcmig_session *s)
{
	struct pcmig_bm_entry *e;
	int err;

	list_for_each_entry(e, &s->bm.entries, list) {
		if (!e->held)
			continue;
		err = send_bitmap(s, e);
		if (err)
			return err;
	}
	err = pcmig_send_frame(s, PCMIG_SEC_BITMAPS, PCMIG_BM_EOS, NULL, 0);
	if (!err)
		s->bm.left = 0;
	return err;
}
