// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the dirty bitmap helpers (kmod/bitmap.c) behind the
 * dm target "pcmig": which granules a write marks (partial granules at
 * both ends, the device's partial last granule, offsets near 2^64), bit
 * runs across word boundaries for the extents dump, merge and count.
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "bitmap.h"

#define KiB		1024ULL
#define MiB		(1024 * KiB)
#define GiB		(1024 * MiB)
#define G64K		16		/* 64 KiB granules */

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* Set bits of @words as a string of '0'/'1', bit 0 first. */
static void bits_str(const u64 *words, u64 nbits, char *out)
{
	u64 b;

	for (b = 0; b < nbits; b++)
		out[b] = (words[b / 64] >> (b % 64)) & 1 ? '1' : '0';
	out[nbits] = '\0';
}

static bool bit_is_set(const u64 *words, u64 b)
{
	return (words[b / 64] >> (b % 64)) & 1;
}

/* ------------------------------------------------------------------ */
/* sizes                                                               */
/* ------------------------------------------------------------------ */

TEST(nbits_and_nwords)
{
	EXPECT_EQ(0, pcmig_bitmap_nbits(0, G64K));
	EXPECT_EQ(1, pcmig_bitmap_nbits(1, G64K));
	EXPECT_EQ(1, pcmig_bitmap_nbits(64 * KiB, G64K));
	EXPECT_EQ(2, pcmig_bitmap_nbits(64 * KiB + 1, G64K));
	/* The example: 16 TiB at 64 KiB = 256 Mi bits = 32 MiB. */
	EXPECT_EQ(256 * MiB, pcmig_bitmap_nbits(16 * 1024 * GiB, G64K));
	EXPECT_EQ(4 * MiB, pcmig_bitmap_nwords(256 * MiB));
	/* Largest device, finest and coarsest granularity: no overflow. */
	EXPECT_EQ(1ULL << 55, pcmig_bitmap_nbits(U64_MAX, 9));
	EXPECT_EQ(1ULL << 33, pcmig_bitmap_nbits(U64_MAX, 31));

	EXPECT_EQ(0, pcmig_bitmap_nwords(0));
	EXPECT_EQ(1, pcmig_bitmap_nwords(1));
	EXPECT_EQ(1, pcmig_bitmap_nwords(64));
	EXPECT_EQ(2, pcmig_bitmap_nwords(65));
	EXPECT_EQ(1ULL << 58, pcmig_bitmap_nwords(U64_MAX));
}

/* ------------------------------------------------------------------ */
/* pcmig_bitmap_range                                                  */
/* ------------------------------------------------------------------ */

struct range {
	bool hit;
	u64 first, last;
};

static struct range range(u64 off, u64 len, u64 size, u32 shift)
{
	struct range r = { .first = 0xdead, .last = 0xbeef };

	r.hit = pcmig_bitmap_range(off, len, size, shift, &r.first, &r.last);
	return r;
}

TEST(range_partial_granules_both_ends)
{
	struct range r = range(1000, 70000, MiB, G64K);

	/* Bytes 1000..70999: the tail of granule 0, the head of granule 1. */
	ASSERT_TRUE(r.hit);
	EXPECT_EQ(0, r.first);
	EXPECT_EQ(1, r.last);

	/* One byte either side of a whole granule: three granules. */
	r = range(64 * KiB - 1, 64 * KiB + 2, MiB, G64K);
	ASSERT_TRUE(r.hit);
	EXPECT_EQ(0, r.first);
	EXPECT_EQ(2, r.last);
}

TEST(range_single_byte)
{
	struct range r;

	r = range(0, 1, MiB, G64K);
	ASSERT_TRUE(r.hit);
	EXPECT_EQ(0, r.first);
	EXPECT_EQ(0, r.last);

	r = range(64 * KiB - 1, 1, MiB, G64K);
	ASSERT_TRUE(r.hit);
	EXPECT_EQ(0, r.first);
	EXPECT_EQ(0, r.last);

	r = range(64 * KiB, 1, MiB, G64K);
	ASSERT_TRUE(r.hit);
	EXPECT_EQ(1, r.first);
	EXPECT_EQ(1, r.last);

	/* The device's last byte. */
	r = range(MiB - 1, 1, MiB, G64K);
	ASSERT_TRUE(r.hit);
	EXPECT_EQ(15, r.first);
	EXPECT_EQ(15, r.last);
}

TEST(range_exact_boundaries)
{
	struct range r;

	/* Exactly granule 1. */
	r = range(64 * KiB, 64 * KiB, MiB, G64K);
	ASSERT_TRUE(r.hit);
	EXPECT_EQ(1, r.first);
	EXPECT_EQ(1, r.last);

	/* One byte more reaches granule 2, one byte earlier granule 0. */
	r = range(64 * KiB, 64 * KiB + 1, MiB, G64K);
	EXPECT_EQ(1, r.first);
	EXPECT_EQ(2, r.last);
	r = range(64 * KiB - 1, 64 * KiB, MiB, G64K);
	EXPECT_EQ(0, r.first);
	EXPECT_EQ(1, r.last);

	/* The whole device. */
	r = range(0, MiB, MiB, G64K);
	EXPECT_EQ(0, r.first);
	EXPECT_EQ(15, r.last);

	/* 512 B granules: a 4 KiB sector-aligned write is 8 granules. */
	r = range(4096, 4096, MiB, 9);
	EXPECT_EQ(8, r.first);
	EXPECT_EQ(15, r.last);

	/* 2 GiB granules. */
	r = range(2 * GiB - 1, 2, 8 * GiB, 31);
	EXPECT_EQ(0, r.first);
	EXPECT_EQ(1, r.last);
}

TEST(range_nothing_to_mark)
{
	struct range r;

	/* Empty ranges (an empty flush) mark nothing... */
	r = range(0, 0, MiB, G64K);
	EXPECT_FALSE(r.hit);
	r = range(4096, 0, MiB, G64K);
	EXPECT_FALSE(r.hit);
	/* ...nor does anything at or past the device's end... */
	r = range(MiB, 1, MiB, G64K);
	EXPECT_FALSE(r.hit);
	r = range(U64_MAX, U64_MAX, MiB, G64K);
	EXPECT_FALSE(r.hit);
	/* ...nor anything on an empty device, and outputs are left alone. */
	r = range(0, 1, 0, G64K);
	EXPECT_FALSE(r.hit);
	EXPECT_EQ(0xdead, r.first);
	EXPECT_EQ(0xbeef, r.last);
}

TEST(range_last_partial_granule)
{
	/* 3 whole granules and 100 bytes: 4 bits, the last one partial. */
	u64 size = 3 * 64 * KiB + 100;
	struct range r;

	ASSERT_EQ(4, pcmig_bitmap_nbits(size, G64K));

	r = range(size - 1, 1, size, G64K);
	ASSERT_TRUE(r.hit);
	EXPECT_EQ(3, r.first);
	EXPECT_EQ(3, r.last);

	/* A range running past the end is clamped to the last granule. */
	r = range(3 * 64 * KiB, 64 * KiB, size, G64K);
	EXPECT_EQ(3, r.first);
	EXPECT_EQ(3, r.last);
	r = range(64 * KiB - 1, U64_MAX, size, G64K);
	EXPECT_EQ(0, r.first);
	EXPECT_EQ(3, r.last);

	/* Device smaller than one granule. */
	r = range(0, 4096, 512, G64K);
	EXPECT_EQ(0, r.first);
	EXPECT_EQ(0, r.last);
}

TEST(range_huge_offsets)
{
	struct range r;

	/* offset + len wraps around 2^64: clamped, not wrapped. */
	r = range(U64_MAX - 1, U64_MAX, U64_MAX, G64K);
	ASSERT_TRUE(r.hit);
	EXPECT_EQ((U64_MAX - 1) >> G64K, r.first);
	EXPECT_EQ((U64_MAX - 1) >> G64K, r.last);

	r = range(U64_MAX - 1, 1, U64_MAX, 9);
	EXPECT_EQ((U64_MAX - 1) >> 9, r.first);
	EXPECT_EQ((U64_MAX - 1) >> 9, r.last);

	r = range(1ULL << 63, 1ULL << 63, U64_MAX, 31);
	EXPECT_EQ(1ULL << 32, r.first);
	EXPECT_EQ((1ULL << 33) - 1, r.last);
	EXPECT_EQ(pcmig_bitmap_nbits(U64_MAX, 31) - 1, r.last);

	r = range(0, U64_MAX, U64_MAX, 9);
	EXPECT_EQ(0, r.first);
	EXPECT_EQ((1ULL << 55) - 1, r.last);

	/* 16 TiB device, write at its last 4 KiB. */
	r = range(16 * 1024 * GiB - 4096, 4096, 16 * 1024 * GiB, G64K);
	EXPECT_EQ(256 * MiB - 1, r.first);
	EXPECT_EQ(256 * MiB - 1, r.last);
}

/* ------------------------------------------------------------------ */
/* set, weight, zero                                                   */
/* ------------------------------------------------------------------ */

TEST(set_within_a_word)
{
	u64 w[2] = { 0, 0 };

	pcmig_bitmap_set(w, 3, 3);
	EXPECT_EQ(1ULL << 3, w[0]);
	pcmig_bitmap_set(w, 0, 63);
	EXPECT_EQ(U64_MAX, w[0]);
	EXPECT_EQ(0, w[1]);
	pcmig_bitmap_set(w, 64, 64);
	EXPECT_EQ(1, w[1]);
	pcmig_bitmap_set(w, 127, 127);
	EXPECT_EQ(1 | 1ULL << 63, w[1]);
}

TEST(set_across_words)
{
	u64 w[4] = { 0, 0, 0, 0 };
	char s[257];

	/* 60..130: the top of word 0, all of word 1, the bottom of word 2. */
	pcmig_bitmap_set(w, 60, 130);
	EXPECT_EQ(0xfULL << 60, w[0]);
	EXPECT_EQ(U64_MAX, w[1]);
	EXPECT_EQ((1ULL << 3) - 1, w[2]);
	EXPECT_EQ(0, w[3]);
	EXPECT_EQ(71, pcmig_bitmap_weight(w, 256));

	/* Adjacent words, no full word in between. */
	memset(w, 0, sizeof(w));
	pcmig_bitmap_set(w, 63, 64);
	bits_str(w, 130, s);
	EXPECT_EQ(1ULL << 63, w[0]);
	EXPECT_EQ(1, w[1]);
	EXPECT_EQ(2, pcmig_bitmap_weight(w, 256));
}

TEST(weight_counts_only_nbits)
{
	u64 w[2] = { U64_MAX, U64_MAX };

	EXPECT_EQ(128, pcmig_bitmap_weight(w, 128));
	EXPECT_EQ(70, pcmig_bitmap_weight(w, 70));
	EXPECT_EQ(64, pcmig_bitmap_weight(w, 64));
	EXPECT_EQ(1, pcmig_bitmap_weight(w, 1));
	EXPECT_EQ(0, pcmig_bitmap_weight(w, 0));

	w[0] = 0x8000000000000001ULL;
	w[1] = 0x5555555555555555ULL;
	EXPECT_EQ(2 + 32, pcmig_bitmap_weight(w, 128));
}

TEST(zero_clears_everything)
{
	u64 w[3] = { U64_MAX, 1, 1ULL << 63 };

	pcmig_bitmap_zero(w, 129);
	EXPECT_EQ(0, w[0]);
	EXPECT_EQ(0, w[1]);
	EXPECT_EQ(0, w[2]);
	EXPECT_EQ(0, pcmig_bitmap_weight(w, 129));
}

/* ------------------------------------------------------------------ */
/* runs (the extents dump)                                             */
/* ------------------------------------------------------------------ */

struct run {
	bool hit;
	u64 start, len;
};

static struct run next_run(const u64 *w, u64 nbits, u64 from)
{
	struct run r = { .start = 0xdead, .len = 0xbeef };

	r.hit = pcmig_bitmap_next_run(w, nbits, from, &r.start, &r.len);
	return r;
}

TEST(run_none)
{
	u64 w[3] = { 0, 0, 0 };
	struct run r;

	r = next_run(w, 192, 0);
	EXPECT_FALSE(r.hit);
	EXPECT_EQ(0xdead, r.start);
	r = next_run(w, 0, 0);
	EXPECT_FALSE(r.hit);
	w[0] = 1;
	r = next_run(w, 192, 192);
	EXPECT_FALSE(r.hit);
	r = next_run(w, 192, 1);
	EXPECT_FALSE(r.hit);
}

TEST(run_across_word_boundaries)
{
	u64 w[4] = { 0, 0, 0, 0 };
	struct run r;

	pcmig_bitmap_set(w, 60, 130);
	r = next_run(w, 256, 0);
	ASSERT_TRUE(r.hit);
	EXPECT_EQ(60, r.start);
	EXPECT_EQ(71, r.len);

	/* From inside the run: the rest of it. */
	r = next_run(w, 256, 100);
	EXPECT_EQ(100, r.start);
	EXPECT_EQ(31, r.len);
	r = next_run(w, 256, 130);
	EXPECT_EQ(130, r.start);
	EXPECT_EQ(1, r.len);
	r = next_run(w, 256, 131);
	EXPECT_FALSE(r.hit);

	/* A run ending exactly at a word boundary, another starting there. */
	memset(w, 0, sizeof(w));
	pcmig_bitmap_set(w, 0, 63);
	pcmig_bitmap_set(w, 128, 128);
	r = next_run(w, 256, 0);
	EXPECT_EQ(0, r.start);
	EXPECT_EQ(64, r.len);
	r = next_run(w, 256, 64);
	EXPECT_EQ(128, r.start);
	EXPECT_EQ(1, r.len);

	/* Three full words in a row. */
	memset(w, 0, sizeof(w));
	pcmig_bitmap_set(w, 64, 255);
	r = next_run(w, 256, 0);
	EXPECT_EQ(64, r.start);
	EXPECT_EQ(192, r.len);
}

TEST(run_stops_at_nbits)
{
	u64 w[2] = { 0, 0 };
	struct run r;

	/* 70 bits, the last 10 set: the run ends at nbits. */
	pcmig_bitmap_set(w, 60, 69);
	r = next_run(w, 70, 0);
	ASSERT_TRUE(r.hit);
	EXPECT_EQ(60, r.start);
	EXPECT_EQ(10, r.len);

	/* All 64 bits of an exactly full bitmap. */
	w[0] = U64_MAX;
	r = next_run(w, 64, 5);
	EXPECT_EQ(5, r.start);
	EXPECT_EQ(59, r.len);

	/* Garbage beyond nbits is not a run, nor part of one. */
	w[0] = 0;
	w[1] = 1ULL << 40;
	r = next_run(w, 70, 0);
	EXPECT_FALSE(r.hit);
	w[1] = U64_MAX;
	r = next_run(w, 70, 0);
	EXPECT_EQ(64, r.start);
	EXPECT_EQ(6, r.len);
	w[1] = (1ULL << 40) - 1;
	r = next_run(w, 70, 0);
	EXPECT_EQ(64, r.start);
	EXPECT_EQ(6, r.len);
}

TEST(run_walk_alternating)
{
	u64 w[4] = { 0x5555555555555555ULL, 0x5555555555555555ULL,
		     0x5555555555555555ULL, 0x5555555555555555ULL };
	u64 from = 0, n = 0;
	struct run r;

	for (;;) {
		r = next_run(w, 256, from);
		if (!r.hit)
			break;
		EXPECT_EQ(2 * n, r.start);
		EXPECT_EQ(1, r.len);
		from = r.start + r.len;
		n++;
	}
	EXPECT_EQ(128, n);
}

TEST(run_bytes_clamped_at_device_end)
{
	u64 size = 3 * 64 * KiB + 100, off, bytes;

	pcmig_bitmap_run_bytes(0, 1, size, G64K, &off, &bytes);
	EXPECT_EQ(0, off);
	EXPECT_EQ(64 * KiB, bytes);

	pcmig_bitmap_run_bytes(1, 3, size, G64K, &off, &bytes);
	EXPECT_EQ(64 * KiB, off);
	EXPECT_EQ(2 * 64 * KiB + 100, bytes);

	pcmig_bitmap_run_bytes(3, 1, size, G64K, &off, &bytes);
	EXPECT_EQ(3 * 64 * KiB, off);
	EXPECT_EQ(100, bytes);

	/* The whole of the largest device, coarsest granularity. */
	pcmig_bitmap_run_bytes(0, pcmig_bitmap_nbits(U64_MAX, 31), U64_MAX,
			       31, &off, &bytes);
	EXPECT_EQ(0, off);
	EXPECT_EQ(U64_MAX, bytes);

	pcmig_bitmap_run_bytes((1ULL << 33) - 1, 1, U64_MAX, 31, &off, &bytes);
	EXPECT_EQ(((1ULL << 33) - 1) << 31, off);
	EXPECT_EQ(U64_MAX - off, bytes);
}

/* ------------------------------------------------------------------ */
/* merge                                                               */
/* ------------------------------------------------------------------ */

TEST(merge_ors_words)
{
	u64 dst[3] = { 0x0f, 0, 1ULL << 63 };
	u64 src[3] = { 0xf0, U64_MAX, 1 };

	pcmig_bitmap_or(dst, src, 190);
	EXPECT_EQ(0xff, dst[0]);
	EXPECT_EQ(U64_MAX, dst[1]);
	EXPECT_EQ(1 | 1ULL << 63, dst[2]);
	/* The source is untouched. */
	EXPECT_EQ(0xf0, src[0]);
	EXPECT_EQ(1, src[2]);
	EXPECT_EQ(8 + 64 + 2, pcmig_bitmap_weight(dst, 192));

	/* Merging into itself changes nothing. */
	pcmig_bitmap_or(dst, dst, 190);
	EXPECT_EQ(0xff, dst[0]);
	EXPECT_EQ(8 + 64 + 2, pcmig_bitmap_weight(dst, 192));
}

/* ------------------------------------------------------------------ */
/* a model: random writes against a per-byte reference                 */
/* ------------------------------------------------------------------ */

/* Deterministic (xorshift64) so a failure reproduces. */
static u64 rnd(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

TEST(model_random_writes)
{
	static const u32 shifts[] = { 9, 12, 16 };
	/* Not a multiple of any granularity above 512 B. */
	const u64 size = 1000 * 512 + 512 * 3;
	unsigned char *dirty = malloc(size);
	u64 seed = 0x9e3779b97f4a7c15ULL;
	unsigned int i, k;

	ASSERT_NE(NULL, dirty);
	for (k = 0; k < ARRAY_LEN(shifts); k++) {
		u32 shift = shifts[k];
		u64 nbits = pcmig_bitmap_nbits(size, shift);
		u64 *w = calloc(pcmig_bitmap_nwords(nbits), sizeof(u64));
		u64 b, from, covered, expect_count = 0, first, last;
		struct run r;

		ASSERT_NE(NULL, w);
		memset(dirty, 0, size);
		for (i = 0; i < 200; i++) {
			u64 off = rnd(&seed) % (size + 4096);
			u64 len = rnd(&seed) % 20000;

			if (!pcmig_bitmap_range(off, len, size, shift,
						&first, &last)) {
				EXPECT_TRUE(!len || off >= size);
				continue;
			}
			pcmig_bitmap_set(w, first, last);
			memset(dirty + off, 1,
			       (off + len > size ? size : off + len) - off);
		}
		/* A bit is set iff a byte of its granule was written. */
		for (b = 0; b < nbits; b++) {
			u64 lo = b << shift;
			u64 hi = (b + 1) << shift > size ? size : (b + 1) << shift;
			bool any = memchr(dirty + lo, 1, hi - lo);

			EXPECT_EQ(any, bit_is_set(w, b));
			expect_count += any;
		}
		EXPECT_EQ(expect_count, pcmig_bitmap_weight(w, nbits));

		/* The runs, as byte extents, cover exactly the dirty granules. */
		from = 0;
		covered = 0;
		while ((r = next_run(w, nbits, from)).hit) {
			u64 off, bytes, x;

			pcmig_bitmap_run_bytes(r.start, r.len, size, shift,
					       &off, &bytes);
			EXPECT_LE(off + bytes, size);
			for (x = r.start; x < r.start + r.len; x++)
				EXPECT_TRUE(bit_is_set(w, x));
			if (r.start + r.len < nbits)
				EXPECT_FALSE(bit_is_set(w, r.start + r.len));
			covered += r.len;
			from = r.start + r.len;
		}
		EXPECT_EQ(expect_count, covered);
		free(w);
	}
	free(dirty);
}

TEST_HARNESS_MAIN
