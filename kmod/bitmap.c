// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty bitmap helpers (pure: see bitmap.h).  Word scans use their own
 * bit tricks rather than hweight64()/__ffs64(), which the host build does
 * not have; the compiler turns them into the same instructions.
 */
#include "bitmap.h"

#define WORD_BITS	PCMIG_BITMAP_WORD_BITS

/* Index of the lowest set bit of @w, which is not 0. */
static unsigned int lowest_bit(u64 w)
{
	unsigned int n = 0;

	if (!(u32)w) {
		n = 32;
		w >>= 32;
	}
	return n + __builtin_ctz((u32)w);
}

static unsigned int popcount64(u64 w)
{
	w -= (w >> 1) & 0x5555555555555555ULL;
	w = (w & 0x3333333333333333ULL) + ((w >> 2) & 0x3333333333333333ULL);
	w = (w + (w >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (w * 0x0101010101010101ULL) >> 56;
}

u64 pcmig_bitmap_nbits(u64 size, u32 gran_shift)
{
	return size ? ((size - 1) >> gran_shift) + 1 : 0;
}

u64 pcmig_bitmap_nwords(u64 nbits)
{
	return nbits / WORD_BITS + !!(nbits % WORD_BITS);
}

bool pcmig_bitmap_range(u64 offset, u64 len, u64 size, u32 gran_shift,
			u64 *first, u64 *last)
{
	if (!len || offset >= size)
		return false;
	/* offset < size, so size - offset does not wrap, nor does the sum. */
	if (len > size - offset)
		len = size - offset;
	*first = offset >> gran_shift;
	*last = (offset + len - 1) >> gran_shift;
	return true;
}

void pcmig_bitmap_set(u64 *words, u64 first, u64 last)
{
	u64 w = first / WORD_BITS, wlast = last / WORD_BITS;

	if (w == wlast) {
		words[w] |= pcmig_bitmap_head_mask(first) &
			    pcmig_bitmap_tail_mask(last);
		return;
	}
	words[w++] |= pcmig_bitmap_head_mask(first);
	while (w < wlast)
		words[w++] = U64_MAX;
	words[wlast] |= pcmig_bitmap_tail_mask(last);
}

u64 pcmig_bitmap_weight(const u64 *words, u64 nbits)
{
	u64 full = nbits / WORD_BITS, w, n = 0;

	for (w = 0; w < full; w++)
		n += popcount64(READ_ONCE(words[w]));
	if (nbits % WORD_BITS)
		n += popcount64(READ_ONCE(words[full]) &
				pcmig_bitmap_tail_mask(nbits - 1));
	return n;
}

bool pcmig_bitmap_next_run(const u64 *words, u64 nbits, u64 from,
			   u64 *start, u64 *len)
{
	u64 nwords = pcmig_bitmap_nwords(nbits);
	u64 w = from / WORD_BITS, s, e, word, zeros;

	if (from >= nbits)
		return false;

	/* The first set bit at or after @from. */
	word = READ_ONCE(words[w]) & pcmig_bitmap_head_mask(from);
	while (!word) {
		if (++w >= nwords)
			return false;
		word = READ_ONCE(words[w]);
	}
	s = w * WORD_BITS + lowest_bit(word);
	if (s >= nbits)
		return false;

	/* The first clear bit after it, in the word as loaded above first. */
	zeros = ~word & pcmig_bitmap_head_mask(s);
	while (!zeros) {
		if (++w >= nwords) {
			e = nbits;
			goto out;
		}
		zeros = ~READ_ONCE(words[w]);
	}
	e = w * WORD_BITS + lowest_bit(zeros);
	if (e > nbits)
		e = nbits;
out:
	*start = s;
	*len = e - s;
	return true;
}

void pcmig_bitmap_run_bytes(u64 start, u64 len, u64 size, u32 gran_shift,
			    u64 *offset, u64 *bytes)
{
	/* start < nbits, so start << gran_shift < size: no overflow. */
	u64 off = start << gran_shift;
	u64 left = size - off;

	*offset = off;
	/* Granules left from @start: ((left - 1) >> gran_shift) + 1. */
	if (len > (left - 1) >> gran_shift)
		*bytes = left;
	else
		*bytes = len << gran_shift;
}

void pcmig_bitmap_or(u64 *dst, const u64 *src, u64 nbits)
{
	u64 w, nwords = pcmig_bitmap_nwords(nbits);

	for (w = 0; w < nwords; w++)
		dst[w] |= src[w];
}

void pcmig_bitmap_zero(u64 *words, u64 nbits)
{
	u64 w, nwords = pcmig_bitmap_nwords(nbits);

	for (w = 0; w < nwords; w++)
		WRITE_ONCE(words[w], 0);
}
