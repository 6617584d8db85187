// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>

#include <linux/pcmig.h>

#include "names.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const caps[] = {
	[PCMIG_CAP_POSTCOPY_RAM] = "postcopy-ram",
	[PCMIG_CAP_POSTCOPY_BITMAPS] = "postcopy-bitmaps",
};
/* A capability added to the uapi must get a name here. */
_Static_assert(ARRAY_SIZE(caps) == __PCMIG_CAP_COUNT, "cap names");

static const char *const roles[] = {
	[PCMIG_ROLE_SOURCE] = "source",
	[PCMIG_ROLE_DESTINATION] = "destination",
};

static const char *const phases[] = {
	[PCMIG_PHASE_SETUP] = "setup",
	[PCMIG_PHASE_PRECOPY] = "precopy",
	[PCMIG_PHASE_STOPPED] = "stopped",
	[PCMIG_PHASE_POSTCOPY] = "postcopy",
	[PCMIG_PHASE_COMPLETED] = "completed",
	[PCMIG_PHASE_FAILED] = "failed",
	[PCMIG_PHASE_CANCELLED] = "cancelled",
};

static const char *const events[] = {
	[PCMIG_EVENT_PHASE] = "phase",
	[PCMIG_EVENT_PROGRESS] = "progress",
	[PCMIG_EVENT_DESTROYED] = "destroyed",
	[PCMIG_EVENT_STOP_REQUEST] = "stop-request",
};

static const char *const bitmap_states[] = {
	[PCMIG_BITMAP_PENDING] = "pending",
	[PCMIG_BITMAP_DONE] = "done",
	[PCMIG_BITMAP_ERROR] = "error",
	[PCMIG_BITMAP_DROPPED] = "dropped",
	[PCMIG_BITMAP_SKIPPED] = "skipped",
};

static const char *const guest_ats[] = {
	[PCMIG_GUEST_HERE] = "here",
	[PCMIG_GUEST_MAYBE_THERE] = "maybe-there",
	[PCMIG_GUEST_THERE] = "there",
};

static const char *lookup(const char *const *tab, size_t n, uint32_t v)
{
	return v < n ? tab[v] : NULL;
}

const char *cap_name(unsigned int bit)
{
	return lookup(caps, ARRAY_SIZE(caps), bit);
}

const char *guest_at_name(uint32_t at)
{
	return lookup(guest_ats, ARRAY_SIZE(guest_ats), at);
}

const char *role_name(uint32_t role)
{
	return lookup(roles, ARRAY_SIZE(roles), role);
}

const char *phase_name(uint32_t phase)
{
	return lookup(phases, ARRAY_SIZE(phases), phase);
}

const char *event_name(uint32_t event)
{
	return lookup(events, ARRAY_SIZE(events), event);
}

const char *bitmap_state_name(uint32_t state)
{
	return lookup(bitmap_states, ARRAY_SIZE(bitmap_states), state);
}

int bitmap_state_failed(uint32_t state)
{
	return state == PCMIG_BITMAP_ERROR || state == PCMIG_BITMAP_DROPPED ||
	       state == PCMIG_BITMAP_SKIPPED;
}

int cap_from_name(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		if (strlen(caps[i]) == len && !memcmp(caps[i], name, len))
			return (int)i;
	return -1;
}

void caps_format(uint32_t mask, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if (!mask) {
		snprintf(buf, len, "none");
		return;
	}
	for (unsigned int bit = 0; bit < 32; bit++) {
		const char *name = cap_name(bit);
		int n;

		if (!(mask & (1U << bit)))
			continue;
		if (name)
			n = snprintf(buf + used, len - used, "%s%s",
				     used ? "," : "", name);
		else
			n = snprintf(buf + used, len - used, "%sbit%u",
				     used ? "," : "", bit);
		if (n < 0 || (size_t)n >= len - used)
			return;		/* truncated but NUL-terminated */
		used += (size_t)n;
	}
}

int phase_is_end(uint32_t phase)
{
	return phase == PCMIG_PHASE_COMPLETED || phase == PCMIG_PHASE_FAILED ||
	       phase == PCMIG_PHASE_CANCELLED;
}
