/* SPDX-License-Identifier: GPL-2.0 */
/* Names of the uapi enums as users see them (CLI, messages, JSON). */
#ifndef PCMIGD_NAMES_H
#define PCMIGD_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* NULL for values this pcmigd does not know (a newer module). */
const char *cap_name(unsigned int bit);
const char *role_name(uint32_t role);
const char *phase_name(uint32_t phase);
const char *event_name(uint32_t event);
/* enum pcmig_guest_at: "here", "maybe-there", "there". */
const char *guest_at_name(uint32_t at);
/* enum pcmig_bitmap_state: "pending", "done", "error", "dropped", ... */
const char *bitmap_state_name(uint32_t state);

/* Error, dropped or skipped: counted in PCMIG_STAT_BITMAPS_FAILED. */
int bitmap_state_failed(uint32_t state);

/* -1 if unknown. */
int cap_from_name(const char *name, size_t len);

/*
 * "postcopy-ram,postcopy-bitmaps", "none" for an empty mask; unknown bits
 * as "bitN" so nothing the kernel reports is silently hidden.
 */
void caps_format(uint32_t caps, char *buf, size_t len);

/* True for completed, failed and cancelled: the session will not move on. */
int phase_is_end(uint32_t phase);

#endif
