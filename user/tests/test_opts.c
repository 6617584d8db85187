// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
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

static void map_bad(struct bitmap_map *m, const char *s, int want,
		    const char *msg)
{
	unsigned int n = m->n;
	char err[256] = "";
	int ret = parse_bitmap_map(s, m, err, sizeof(err));

	if (!tap_ok(ret == want && m->n == n && strstr(err, msg),
		    "parse_bitmap_map(\"%.40s\") fails: %s", s, msg))
		tap_diag("ret %d, n %u, err '%s'", ret, m->n, err);
}

static void test_bitmap_map(void)
{
	static struct bitmap_map m;
	char name[PCMIG_NAME_MAX + 2], arg[2 * PCMIG_NAME_MAX + 8];
	char err[256];
	bool all = true;

	memset(&m, 0, sizeof(m));
	tap_ok(!parse_bitmap_map("vm0-vda:vm1-vda", &m, err, sizeof(err)) &&
	       m.n == 1 && !strcmp(m.v[0].src, "vm0-vda") &&
	       !strcmp(m.v[0].dst, "vm1-vda"),
	       "parse_bitmap_map(\"vm0-vda:vm1-vda\")");
	tap_ok(!parse_bitmap_map("a:b:c", &m, err, sizeof(err)) && m.n == 2 &&
	       !strcmp(m.v[1].src, "a") && !strcmp(m.v[1].dst, "b:c"),
	       "parse_bitmap_map splits at the first ':'");
	tap_ok(!parse_bitmap_map("x:x", &m, err, sizeof(err)) && m.n == 3,
	       "parse_bitmap_map: a node may keep its name");
	map_bad(&m, "nocolon", -EINVAL, "'nocolon' is not SRC:DST (no ':')");
	map_bad(&m, "", -EINVAL, "is not SRC:DST");
	map_bad(&m, ":d", -EINVAL, "empty source node name");
	map_bad(&m, "s:", -EINVAL, "empty destination node name");
	map_bad(&m, ":", -EINVAL, "empty source node name");
	map_bad(&m, "vm0-vda:other", -EINVAL,
		"node 'vm0-vda' is already mapped on the source side");
	map_bad(&m, "other:vm1-vda", -EINVAL,
		"node 'vm1-vda' is already mapped on the destination side");
	map_bad(&m, "b:x", -EINVAL,
		"node 'x' is already mapped on the destination side");
	tap_ok(!parse_bitmap_map("vm1-vda:vm0-vda", &m, err, sizeof(err)) &&
	       m.n == 4, "the same name on opposite sides is no duplicate");

	memset(name, 'n', sizeof(name));
	name[PCMIG_NAME_MAX] = '\0';
	snprintf(arg, sizeof(arg), "%s:%s", name, name);
	tap_ok(!parse_bitmap_map(arg, &m, err, sizeof(err)) && m.n == 5 &&
	       strlen(m.v[4].src) == PCMIG_NAME_MAX &&
	       strlen(m.v[4].dst) == PCMIG_NAME_MAX,
	       "parse_bitmap_map takes names of 255 bytes");
	name[PCMIG_NAME_MAX] = 'n';
	name[PCMIG_NAME_MAX + 1] = '\0';
	snprintf(arg, sizeof(arg), "%s:d", name);
	map_bad(&m, arg, -EINVAL,
		"source node name of 256 bytes, longer than 255 bytes");
	snprintf(arg, sizeof(arg), "s:%s", name);
	map_bad(&m, arg, -EINVAL,
		"destination node name of 256 bytes, longer than 255 bytes");

	memset(&m, 0, sizeof(m));
	for (int i = 0; i < PCMIG_BITMAP_MAP_MAX; i++) {
		snprintf(arg, sizeof(arg), "s%d:d%d", i, i);
		all = all && !parse_bitmap_map(arg, &m, err, sizeof(err));
	}
	tap_ok(all && m.n == PCMIG_BITMAP_MAP_MAX,
	       "parse_bitmap_map takes %d mappings", PCMIG_BITMAP_MAP_MAX);
	map_bad(&m, "s64:d64", -E2BIG, "more than 64 mappings");
	map_bad(&m, "s0:d64", -EINVAL, "already mapped");
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

	test_bitmap_map();
}
