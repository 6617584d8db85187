// SPDX-License-Identifier: GPL-2.0
/*
 * Destination side of bitmap migration: what the bitmaps section of an
 * accepted stream does to the local nodes (rules S8, S10, S11).
 *
 * A bitmap is prepared when it is announced (or, failing that, started):
 * an existing bitmap of the same name and granularity is cleared, one of
 * another granularity is refused for that bitmap only, a missing one is
 * created with the source's granularity and enabled state.  From then on
 * it is held and, if enabled, records the destination's own writes, so
 * writes made after the destination starts are kept: each chunk is ORed
 * in word by word, atomically.  A bitmap that does not complete is
 * dropped (pcmig_bm_end()); none of this fails the migration of the rest.
 */
#include <linux/mm.h>

#include "bm_migrate.h"
#include "session.h"

static struct pcmig_bm_entry *find_entry(struct pcmig_session *s,
					 const struct pcmig_rx_bitmap *bm)
{
	struct pcmig_bm_entry *e;

	list_for_each_entry(e, &s->bm.entries, list)
		if (!strcmp(e->wire_node, bm->node) &&
		    !strcmp(e->name, bm->name))
			return e;
	return NULL;
}

static void refuse(struct pcmig_session *s, struct pcmig_bm_entry *e,
		   const char *why)
{
	pcmig_bm_let_go(e, false);
	pcmig_bm_set_state(s, e, PCMIG_BITMAP_ERROR, "%s", why);
}

/*
 * Rule S11 for the bitmap in @bm; *@why only for a session failure.  A
 * bitmap first seen @late (started in postcopy, never announced) would
 * miss the destination's writes made before it: refused.
 */
static struct pcmig_bm_entry *prepare(struct pcmig_session *s,
				      const struct pcmig_rx_bitmap *bm,
				      bool late, const char **why)
{
	const char *local = pcmig_bm_map_name(s, bm->node);
	struct pcmig_bm_entry *e;
	const char *err_why;
	u64 have = 0;
	int err;

	e = pcmig_bm_add_entry(s, local ?: bm->node, bm->node, bm->name);
	if (!e) {
		*why = s->bm.nr_entries >= PCMIG_BM_ENTRIES_MAX ?
		       "too many bitmaps in the stream" :
		       "out of memory for a bitmap";
		return NULL;
	}
	e->granularity = bm->granularity;
	e->enabled = bm->enabled;
	e->size = bm->node_size;
	if (!local) {
		refuse(s, e, "node is not in the bitmap mapping");
		return e;
	}
	if (late) {
		refuse(s, e, "not announced before the destination started");
		return e;
	}
	e->node = pcmig_node_get(local);
	if (!e->node) {
		refuse(s, e, "no pcmig node of that name on the destination");
		return e;
	}
	have = pcmig_node_size(e->node);
	if (have != bm->node_size) {
		pcmig_bm_let_go(e, false);
		pcmig_bm_set_state(s, e, PCMIG_BITMAP_ERROR,
				   "node size differs: %llu bytes here, %llu in the stream",
				   have, bm->node_size);
		return e;
	}
	have = 0;
	err = pcmig_bitmap_prepare(e->node, e->name, bm->granularity,
				   bm->enabled, &e->created, &have, &err_why);
	if (err == -EINVAL && have) {
		pcmig_bm_let_go(e, false);
		pcmig_bm_set_state(s, e, PCMIG_BITMAP_ERROR,
				   "granularity differs: %llu bytes here, %u in the stream",
				   have, bm->granularity);
	} else if (err) {
		refuse(s, e, err_why);
	} else {
		e->held = true;
	}
	return e;
}

/* OR one BITS chunk (first bit @first) into the open bitmap. */
static void or_chunk(struct pcmig_session *s, struct pcmig_bm_entry *e,
		     u64 first, const u8 *payload)
{
	u32 nbits = get_unaligned_be32(payload + 8);
	const u8 *data = payload + PCMIG_BM_CHUNK_HDR;
	u32 i, n = DIV_ROUND_UP(nbits, 64);
	const char *why;

	if (!s->bm.words) {
		s->bm.words = kvmalloc(PCMIG_BM_CHUNK_BITS / 8, GFP_KERNEL);
		if (!s->bm.words) {
			pcmig_bm_let_go(e, true);
			pcmig_bm_set_state(s, e, PCMIG_BITMAP_ERROR,
					   "out of memory: dropped");
			return;
		}
	}
	for (i = 0; i < n; i++)
		s->bm.words[i] = pcmig_wire_bm_get_word(data, nbits, i);
	if (pcmig_bitmap_or_bits(e->node, e->name, first, nbits,
				 s->bm.words, &why)) {
		pcmig_bm_let_go(e, true);
		pcmig_bm_set_state(s, e, PCMIG_BITMAP_ERROR, "%s: dropped",
				   why);
	}
}

int pcmig_bm_apply(struct pcmig_session *s, enum pcmig_rx_act act, u64 arg,
		   const struct pcmig_rx *rx, const u8 *payload,
		   const char **why)
{
	struct pcmig_bm_entry *e = s->bm.cur;

	switch (act) {
	case PCMIG_RX_BM_ANNOUNCE:
		if (!find_entry(s, &rx->bm) &&
		    !prepare(s, &rx->bm, false, why))
			return -ENOMEM;
		return 0;
	case PCMIG_RX_BM_START:
		e = find_entry(s, &rx->bm);
		if (!e) {
			e = prepare(s, &rx->bm,
				    rx->phase == PCMIG_PHASE_POSTCOPY, why);
			if (!e)
				return -ENOMEM;
		}
		if (e->held && (e->granularity != rx->bm.granularity ||
				e->size != rx->bm.node_size ||
				e->enabled != rx->bm.enabled)) {
			pcmig_bm_let_go(e, true);
			pcmig_bm_set_state(s, e, PCMIG_BITMAP_ERROR,
					   "started unlike it was announced: dropped");
		}
		/* A bitmap sent twice: its first copy stands. */
		s->bm.cur = e->state == PCMIG_BITMAP_PENDING ? e : NULL;
		return 0;
	case PCMIG_RX_BM_BITS:
		if (e && e->held)
			or_chunk(s, e, arg, payload);
		return 0;
	case PCMIG_RX_BM_COMPLETE:
		if (e && e->held) {
			pcmig_bm_let_go(e, false);
			pcmig_bm_set_state(s, e, PCMIG_BITMAP_DONE, "%s",
					   e->created ? "created" : "updated");
		}
		s->bm.cur = NULL;
		return 0;
	default:	/* ZEROES: nothing to OR in; EOS */
		return 0;
	}
}
