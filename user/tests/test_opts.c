// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <linux/pcmig.h>

#include "opts.h"
#include "tap.h"

static void size_ok(const char *s, uint64_t want)
{
	uint64_t v = 0;
	char err[128];
	int ret = parse_size(s, &v, err, sizeof(err));

	if (!tap_ok(!ret && v == want, "parse_size(\"%s\") = %" PRIu64, s,
		    want))
		tap_diag("ret %d value %" PRIu64, ret, v);
}

static void size_bad(const char *s, int want)
{
	uint64_t v = 42;
	char err[128] = "";
	int ret = parse_size(s, &v, err, sizeof(err));

	tap_ok(ret == want && v == 42 && err[0],
	       "parse_size(\"%s\") fails with %d", s, want);
}

static void caps_ok(const char *s, uint32_t want)
{
	uint32_t v = 99;
	char err[128];

	tap_ok(!parse_caps(s, &v, err, sizeof(err)) && v == want,
	       "parse_caps(\"%s\") = %#x", s, want);
}

void test_opts(void)
{
	uint32_t u;
	char err[128];

	size_ok("0", 0);
	size_ok("100", 100);
	size_ok("5B", 5);
	size_ok("512k", 512 << 10);
	size_ok("100M", 100ULL << 20);
	size_ok("1G", 1ULL << 30);
	size_ok("1g", 1ULL << 30);
	size_ok("64KiB", 64 << 10);
	size_ok("2TB", 2ULL << 40);
	size_ok("18446744073709551615", UINT64_MAX);
	size_bad("", -EINVAL);
	size_bad("-1", -EINVAL);
	size_bad(" 1", -EINVAL);
	size_bad("+1", -EINVAL);
	size_bad("1X", -EINVAL);
	size_bad("1.5G", -EINVAL);
	size_bad("M", -EINVAL);
	size_bad("1MM", -EINVAL);
	size_bad("1 M", -EINVAL);
	size_bad("18446744073709551616", -ERANGE);
	size_bad("17179869184G", -ERANGE);

	caps_ok("", 0);
	caps_ok("none", 0);
	caps_ok("postcopy-ram", 1U << PCMIG_CAP_POSTCOPY_RAM);
	caps_ok("postcopy-bitmaps", 1U << PCMIG_CAP_POSTCOPY_BITMAPS);
	caps_ok("postcopy-ram,postcopy-bitmaps", PCMIG_CAPS_ALL);
	caps_ok("postcopy-bitmaps,postcopy-ram,postcopy-ram", PCMIG_CAPS_ALL);
	tap_ok(parse_caps("postcopy-ram,", &u, err, sizeof(err)) == -EINVAL,
	       "parse_caps rejects an empty element");
	tap_ok(parse_caps("postcopy", &u, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "'postcopy'") && strstr(err, "postcopy-bitmaps"),
	       "parse_caps names the unknown capability and the known ones");
	tap_ok(parse_caps("Postcopy-RAM", &u, err, sizeof(err)) == -EINVAL,
	       "parse_caps is case-sensitive");

	tap_ok(!parse_u32("300", 0, UINT32_MAX, &u, err, sizeof(err)) &&
	       u == 300, "parse_u32(\"300\")");
	tap_ok(!parse_u32("4294967295", 0, UINT32_MAX, &u, err, sizeof(err)) &&
	       u == UINT32_MAX, "parse_u32 takes UINT32_MAX");
	tap_ok(parse_u32("4294967296", 0, UINT32_MAX, &u, err, sizeof(err)) ==
	       -ERANGE, "parse_u32 rejects 2^32");
	tap_ok(parse_u32("0", 1, 10, &u, err, sizeof(err)) == -ERANGE,
	       "parse_u32 enforces the minimum");
	tap_ok(parse_u32("10s", 1, 100, &u, err, sizeof(err)) == -EINVAL,
	       "parse_u32 rejects a suffix");
	tap_ok(parse_u32("-1", 0, 100, &u, err, sizeof(err)) == -EINVAL,
	       "parse_u32 rejects a sign");
}
