// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <linux/pcmig.h>

#include "names.h"
#include "opts.h"

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
