// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <linux/pcmig.h>

#include "names.h"
#include "opts.h"
#include "units.h"

/*
 * strtoull() accepts leading blanks, a sign ("-1" wraps to 2^64-1) and
 * an empty string; none of those is a size, so digits are checked by hand.
 */
static int parse_digits(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	const char *p = s;
	unsigned int shift = 0;
	uint64_t v;
	int ret;

	ret = parse_digits(&p, &v);
	if (ret == -ERANGE) {
		snprintf(err, errlen, "'%s' is too large", s);
		return ret;
	}
	if (ret)
		goto bad;
	switch (toupper((unsigned char)*p)) {
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	case 'T': shift = 40; break;
	case '\0': break;
	case 'B': break;
	default: goto bad;
	}
	if (shift) {
		p++;
		if (!strcasecmp(p, "ib"))
			p += 2;
	}
	if (!strcasecmp(p, "b"))
		p++;
	if (*p)
		goto bad;
	if (shift && v > (UINT64_MAX >> shift)) {
		snprintf(err, errlen, "'%s' is too large", s);
		return -ERANGE;
	}
	*out = v << shift;
	return 0;
bad:
	snprintf(err, errlen,
		 "'%s' is not a size (a number with an optional K, M, G or T suffix)",
		 s);
	return -EINVAL;
}

int parse_caps(const char *s, uint32_t *out, char *err, size_t errlen)
{
	uint32_t mask = 0;
	const char *p = s;

	if (!*s || !strcmp(s, "none")) {
		*out = 0;
		return 0;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		int bit = cap_from_name(p, len);

		if (bit < 0) {
			char known[128];

			caps_format(PCMIG_CAPS_ALL, known,
				    sizeof(known));
			snprintf(err, errlen,
				 "unknown capability '%.*s' (known: %s)",
				 (int)len, p, known);
			return -EINVAL;
		}
		mask |= 1U << bit;
		if (!p[len])
			break;
		p += len + 1;
	}
	*out = mask;
	return 0;
}

int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out,
	      char *err, size_t errlen)
{
	const char *p = s;
	uint64_t v;

	if (parse_digits(&p, &v) || *p) {
		snprintf(err, errlen, "'%s' is not a number", s);
		return -EINVAL;
	}
	if (v < min || v > max) {
		snprintf(err, errlen, "%s is out of range (%u to %u)", s, min,
			 max);
		return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

/* One side of SRC:DST, len bytes long; 0 or -EINVAL with err set. */
static int map_name(const char *s, size_t len, const char *side, char *err,
		    size_t errlen)
{
	if (!len) {
		snprintf(err, errlen, "'%.80s': empty %s node name", s, side);
		return -EINVAL;
	}
	if (len > PCMIG_NAME_MAX) {
		snprintf(err, errlen,
			 "%s node name of %zu bytes, longer than %d bytes",
			 side, len, PCMIG_NAME_MAX);
		return -EINVAL;
	}
	return 0;
}

int parse_bitmap_map(const char *s, struct bitmap_map *m, char *err,
		     size_t errlen)
{
	const char *colon = strchr(s, ':');
	size_t slen, dlen;

	if (!colon) {
		snprintf(err, errlen,
			 "'%.80s' is not SRC:DST (no ':')", s);
		return -EINVAL;
	}
	slen = (size_t)(colon - s);
	dlen = strlen(colon + 1);
	if (map_name(s, slen, "source", err, errlen) ||
	    map_name(s, dlen, "destination", err, errlen))
		return -EINVAL;
	for (unsigned int i = 0; i < m->n; i++) {
		bool src = strlen(m->v[i].src) == slen &&
			   !memcmp(m->v[i].src, s, slen);

		if (src || !strcmp(m->v[i].dst, colon + 1)) {
			snprintf(err, errlen,
				 "'%.60s': node '%.*s' is already mapped on the %s side (mappings are one to one)",
				 s, src ? (int)(slen < 60 ? slen : 60) : 60,
				 src ? s : colon + 1,
				 src ? "source" : "destination");
			return -EINVAL;
		}
	}
	if (m->n == PCMIG_BITMAP_MAP_MAX) {
		snprintf(err, errlen, "more than %d mappings",
			 PCMIG_BITMAP_MAP_MAX);
		return -E2BIG;
	}
	memcpy(m->v[m->n].src, s, slen);
	m->v[m->n].src[slen] = '\0';
	memcpy(m->v[m->n].dst, colon + 1, dlen + 1);
	m->n++;
	return 0;
}

/* "T" of seconds:T: decimal seconds, at most 3 decimals, to ms. */
static int parse_seconds(const char *s, uint64_t *ms)
{
	const char *p = s;
	uint64_t v, frac = 0;
	int ret, digits = 0;

	ret = parse_digits(&p, &v);
	if (ret)
		return ret;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++, digits++) {
			if (digits == 3)
				return -EINVAL;
			frac = frac * 10 + (uint64_t)(*p - '0');
		}
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (*p)
		return -EINVAL;
	if (v > PC_AFTER_SECONDS_MAX || (v == PC_AFTER_SECONDS_MAX && frac))
		return -ERANGE;
	*ms = v * 1000 + frac;
	return 0;
}

int parse_postcopy_after(const char *s, struct postcopy_policy *p, char *err,
			 size_t errlen)
{
	struct postcopy_policy v = { .when = PC_AFTER_NEVER };
	const char *arg;
	int ret;

	if (!strcmp(s, "never")) {
		*p = v;
		return 0;
	}
	if (!strcmp(s, "auto")) {
		v.when = PC_AFTER_AUTO;
		*p = v;
		return 0;
	}
	if (!strncmp(s, "passes:", 7)) {
		arg = s + 7;
		v.when = PC_AFTER_PASSES;
		ret = parse_u32(arg, 0, UINT32_MAX, &v.passes, err, errlen);
		if (ret) {
			snprintf(err, errlen,
				 "'%.80s': N of passes:N is %s (%s)", s,
				 ret == -ERANGE ? "too large" :
				 "not a whole number of passes",
				 PC_AFTER_FORMS);
			return ret;
		}
		*p = v;
		return 0;
	}
	if (!strncmp(s, "seconds:", 8)) {
		arg = s + 8;
		v.when = PC_AFTER_SECONDS;
		ret = parse_seconds(arg, &v.ms);
		if (ret == -ERANGE) {
			snprintf(err, errlen,
				 "'%.80s': T of seconds:T is out of range (0 to %d)",
				 s, PC_AFTER_SECONDS_MAX);
			return ret;
		}
		if (ret) {
			snprintf(err, errlen,
				 "'%.80s': T of seconds:T is not a number of seconds (e.g. 30 or 2.5, at most 3 decimals; %s)",
				 s, PC_AFTER_FORMS);
			return ret;
		}
		*p = v;
		return 0;
	}
	snprintf(err, errlen, "'%.80s' is not a policy (%s)", s,
		 PC_AFTER_FORMS);
	return -EINVAL;
}

const char *postcopy_policy_str(const struct postcopy_policy *p, char *buf,
				size_t len)
{
	char secs[UNITS_LEN];

	switch (p->when) {
	case PC_AFTER_PASSES:
		snprintf(buf, len, "passes:%u", (unsigned int)p->passes);
		break;
	case PC_AFTER_SECONDS:
		snprintf(buf, len, "seconds:%s", fmt_secs(p->ms, secs));
		break;
	case PC_AFTER_AUTO:
		snprintf(buf, len, "auto");
		break;
	default:
		snprintf(buf, len, "never");
		break;
	}
	return buf;
}
