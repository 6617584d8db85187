/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsing and validation of command-line values.  Pure functions: each
 * returns 0 or -EINVAL/-ERANGE and, on error, says why in err.
 */
#ifndef PCMIGD_OPTS_H
#define PCMIGD_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/pcmig.h>

/*
 * "100M", "1G", "512k", "64KiB", "1048576": an integer with an optional
 * K/M/G/T suffix (powers of 1024, case-insensitive, optionally followed by
 * "iB" or "B").  0 means unlimited where the option allows it.
 */
int parse_size(const char *s, uint64_t *out, char *err, size_t errlen);

/* "postcopy-ram,postcopy-bitmaps"; "" or "none" is the empty set. */
int parse_caps(const char *s, uint32_t *out, char *err, size_t errlen);

/* Plain decimal integer within [min, max], no suffix. */
int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out,
	      char *err, size_t errlen);

/*
 * Node mappings for the migration of dirty bitmaps (--bitmap-map SRC:DST,
 * sent as PCMIG_A_BITMAP_MAP), in the order given.  SRC names a node on
 * the source side, DST one on the destination side, on both hosts.
 */
struct bitmap_map {
	unsigned int n;
	struct {
		char src[PCMIG_NAME_MAX + 1];
		char dst[PCMIG_NAME_MAX + 1];
	} v[PCMIG_BITMAP_MAP_MAX];
};

/*
 * Adds "SRC:DST" to m, split at the first ':'.  Both names are 1 to
 * PCMIG_NAME_MAX bytes, one to one: no node twice on either side, at most
 * PCMIG_BITMAP_MAP_MAX mappings.  0, or -EINVAL/-E2BIG with the reason in
 * err and m unchanged.
 */
int parse_bitmap_map(const char *s, struct bitmap_map *m, char *err,
		     size_t errlen);

/*
 * When `migrate` itself issues start-postcopy (--postcopy-after POLICY):
 * "never", "passes:N" (N complete precopy passes, 0 = at once),
 * "seconds:T" (T seconds after START, at most 3 decimals) or "auto" (the
 * module reports not converging).
 */
enum postcopy_after {
	PC_AFTER_NEVER,
	PC_AFTER_PASSES,
	PC_AFTER_SECONDS,
	PC_AFTER_AUTO,
};

/* Longest seconds:T, and the forms, as errors and --help give them. */
#define PC_AFTER_SECONDS_MAX 1000000
#define PC_AFTER_FORMS "never, passes:N, seconds:T or auto"

struct postcopy_policy {
	enum postcopy_after when;
	uint32_t passes;	/* PC_AFTER_PASSES */
	uint64_t ms;		/* PC_AFTER_SECONDS */
};

/* 0, or -EINVAL/-ERANGE with err naming the accepted forms; p unchanged. */
int parse_postcopy_after(const char *s, struct postcopy_policy *p, char *err,
			 size_t errlen);

/* The policy as parse_postcopy_after() reads it: "seconds:1.5", ... */
const char *postcopy_policy_str(const struct postcopy_policy *p, char *buf,
				size_t len);

#endif
