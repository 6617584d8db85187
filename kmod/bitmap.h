/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dirty bitmaps of block nodes (the dm target "pcmig"), as pure functions
 * shared by the module and the host unit tests.
 *
 * A bitmap covers a device of @size bytes with one bit per granule of
 * 2^gran_shift bytes; the last granule may be partial.  Bits are stored in
 * an array of u64 words, bit b in word b / 64 at position b % 64, on every
 * architecture (so the layout does not depend on BITS_PER_LONG and the
 * same memory can be handed to these functions and to the kernel's
 * atomic64 operations).  Bits at and beyond nbits in the last word are
 * always zero.
 *
 * None of these functions is atomic: pcmig_bitmap_set() and
 * pcmig_bitmap_or() are for bitmaps nobody else writes (the host tests,
 * private copies); the I/O path marks with atomic64_or() on the word masks
 * from pcmig_bitmap_head_mask() / pcmig_bitmap_tail_mask().  The readers
 * (weight, next run) and pcmig_bitmap_zero() load and store each word once,
 * so they may run while the I/O path marks: a bit set concurrently is
 * either seen or not, never torn.
 */
#ifndef _PCMIG_BITMAP_H
#define _PCMIG_BITMAP_H

#include "pure.h"

/* Granularity limits (bytes = 1 << shift): 512 B to 2 GiB, 64 KiB default. */
#define PCMIG_GRAN_SHIFT_MIN		9
#define PCMIG_GRAN_SHIFT_MAX		31
#define PCMIG_GRAN_SHIFT_DEFAULT	16

#define PCMIG_BITMAP_WORD_BITS		64

/* Word mask of bit @first and the bits above it in its word. */
static inline u64 pcmig_bitmap_head_mask(u64 first)
{
	return U64_MAX << (first % PCMIG_BITMAP_WORD_BITS);
}

/* Word mask of bit @last and the bits below it in its word. */
static inline u64 pcmig_bitmap_tail_mask(u64 last)
{
	return U64_MAX >> (PCMIG_BITMAP_WORD_BITS - 1 -
			   last % PCMIG_BITMAP_WORD_BITS);
}

/* Granules (bits) covering @size bytes: the last one may be partial. */
u64 pcmig_bitmap_nbits(u64 size, u32 gran_shift);

/* u64 words holding @nbits bits. */
u64 pcmig_bitmap_nwords(u64 nbits);

/*
 * Granules touched by the bytes [@offset, @offset + @len) of a device of
 * @size bytes, clamped to the device: *@first and *@last (inclusive) get
 * the first and last bit.  Partial granules at either end count.  Returns
 * false (and leaves *@first, *@last alone) when no byte of the range is on
 * the device: @len 0, or @offset at or beyond @size.  No overflow for any
 * input.
 */
bool pcmig_bitmap_range(u64 offset, u64 len, u64 size, u32 gran_shift,
			u64 *first, u64 *last);

/* Set bits @first..@last (inclusive; @first <= @last < nbits), non-atomic. */
void pcmig_bitmap_set(u64 *words, u64 first, u64 last);

/* Set bits among the first @nbits (the dirty granules). */
u64 pcmig_bitmap_weight(const u64 *words, u64 nbits);

/*
 * The first run of set bits that starts at or after bit @from, or contains
 * it (then the run is reported from @from on).  Returns false when no bit
 * at or after @from is set; else *@start and *@len (>= 1) describe the run,
 * which ends at the first clear bit or at @nbits.
 */
bool pcmig_bitmap_next_run(const u64 *words, u64 nbits, u64 from,
			   u64 *start, u64 *len);

/*
 * Bytes of the device covered by the run of @len bits from bit @start:
 * *@offset and *@bytes, clamped at @size (the last granule may be partial).
 * @start must be below pcmig_bitmap_nbits(@size, @gran_shift).
 */
void pcmig_bitmap_run_bytes(u64 start, u64 len, u64 size, u32 gran_shift,
			    u64 *offset, u64 *bytes);

/* @dst |= @src, both of @nbits bits; non-atomic. */
void pcmig_bitmap_or(u64 *dst, const u64 *src, u64 nbits);

/* Clear all @nbits bits, one store per word. */
void pcmig_bitmap_zero(u64 *words, u64 nbits);

#endif /* _PCMIG_BITMAP_H */
