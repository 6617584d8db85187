// SPDX-License-Identifier: GPL-2.0
/*
 * Bitmap migration, both sides: the node name mapping and the per-bitmap
 * report of a session (see bm_migrate.h).
 */
#include <linux/slab.h>
#include <linux/mm.h>

#include "bm_migrate.h"
#include "session.h"

void pcmig_bm_init(struct pcmig_session *s)
{
	INIT_LIST_HEAD(&s->bm.entries);
}

void pcmig_bm_free(struct pcmig_session *s)
{
	struct pcmig_bm_entry *e, *tmp;

	/* pcmig_bm_end() has let go of everything; this is the memory. */
	list_for_each_entry_safe(e, tmp, &s->bm.entries, list) {
		pcmig_bm_let_go(e, false);
		kfree(e);
	}
	kfree(s->bm.map);
	kvfree(s->bm.words);
	kvfree(s->bm.frame);
}

void pcmig_bm_set_map(struct pcmig_session *s, struct pcmig_bm_map *map,
		      unsigned int n)
{
	kfree(s->bm.map);
	s->bm.map = map;
	s->bm.nr_map = n;
}

const char *pcmig_bm_map_name(struct pcmig_session *s, const char *name)
{
	unsigned int i;

	if (!s->bm.nr_map)
		return name;
	for (i = 0; i < s->bm.nr_map; i++) {
		const struct pcmig_bm_map *m = &s->bm.map[i];

		if (!strcmp(m->src, name))
			return m->dst;
	}
	/*
	 * The same mapping given to both sides: the source already renamed
	 * the node, so the stream carries a destination name.
	 */
	if (s->role == PCMIG_ROLE_DESTINATION)
		for (i = 0; i < s->bm.nr_map; i++)
			if (!strcmp(s->bm.map[i].dst, name))
				return s->bm.map[i].dst;
	return NULL;
}

struct pcmig_bm_entry *pcmig_bm_add_entry(struct pcmig_session *s,
					  const char *node_name,
					  const char *wire_node,
					  const char *name)
{
	struct pcmig_bm_entry *e;

	if (s->bm.nr_entries >= PCMIG_BM_ENTRIES_MAX)
		return NULL;
	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return NULL;
	strscpy(e->node_name, node_name, sizeof(e->node_name));
	strscpy(e->wire_node, wire_node, sizeof(e->wire_node));
	strscpy(e->name, name, sizeof(e->name));
	e->state = PCMIG_BITMAP_PENDING;
	mutex_lock(&s->lock);
	list_add_tail(&e->list, &s->bm.entries);
	s->bm.nr_entries++;
	mutex_unlock(&s->lock);
	return e;
}

static bool state_failed(u32 state)
{
	return state == PCMIG_BITMAP_ERROR || state == PCMIG_BITMAP_DROPPED ||
	       state == PCMIG_BITMAP_SKIPPED;
}

void pcmig_bm_set_state(struct pcmig_session *s, struct pcmig_bm_entry *e,
			u32 state, const char *fmt, ...)
{
	va_list args;

	mutex_lock(&s->lock);
	s->bm.done -= e->state == PCMIG_BITMAP_DONE;
	s->bm.failed -= state_failed(e->state);
	e->state = state;
	s->bm.done += state == PCMIG_BITMAP_DONE;
	s->bm.failed += state_failed(state);
	e->reason[0] = '\0';
	if (fmt) {
		va_start(args, fmt);
		vsnprintf(e->reason, sizeof(e->reason), fmt, args);
		va_end(args);
	}
	mutex_unlock(&s->lock);
}

void pcmig_bm_let_go(struct pcmig_bm_entry *e, bool drop)
{
	if (e->held) {
		if (drop)
			pcmig_bitmap_drop(e->node, e->name);
		else
			pcmig_bitmap_release(e->node, e->name);
		e->held = false;
	}
	pcmig_node_put(e->node);
	e->node = NULL;
}

unsigned int pcmig_bm_end(struct pcmig_session *s, bool ok)
{
	bool dest = s->role == PCMIG_ROLE_DESTINATION;
	struct pcmig_bm_entry *e;
	unsigned int dropped = 0;

	if (s->bm.ended)
		return 0;
	s->bm.ended = true;
	s->bm.cur = NULL;
	/* Only the worker (or teardown after it) adds entries: no lock. */
	list_for_each_entry(e, &s->bm.entries, list) {
		bool drop = dest && e->held;

		pcmig_bm_let_go(e, drop);
		if (e->state != PCMIG_BITMAP_PENDING)
			continue;
		if (!dest) {
			pcmig_bm_set_state(s, e, PCMIG_BITMAP_DROPPED,
					   "migration ended before it was sent");
			continue;
		}
		/* Rule S8: a bitmap that did not complete is dropped. */
		pcmig_bm_set_state(s, e, PCMIG_BITMAP_DROPPED, ok ?
				   "announced but never sent by the source" :
				   "stream ended before it was complete: dropped");
		dropped++;
	}
	return dropped;
}
