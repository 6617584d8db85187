// SPDX-License-Identifier: GPL-2.0
/*
 * Writes the seed corpus of wire_fuzz into the directory given as argv[1]:
 * a few small valid streams in the fuzz input format (stream_builder.h),
 * built with the codec's own encoder so they follow the code, and a few
 * refused at their last frame, right past a rule of RAM postcopy whose
 * other side the fuzzer could hardly reach by itself (the capabilities
 * are in both the mode byte and the preamble).  Streams with RAM pages
 * are longer than 4096 bytes (see wire_fuzz.c on -max_len); the others
 * stay below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream_builder.h"

static const char *dir;

static void emit(const char *name, bool rp, u32 caps, struct sb *s)
{
	char path[4096];
	u8 mode = fuzz_mode(rp, caps);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&mode, 1, 1, f) != 1 ||
	    fwrite(s->b, 1, s->n, f) != s->n || fclose(f)) {
		perror(path);
		exit(1);
	}
	sb_free(s);
}

int main(int argc, char **argv)
{
	u64 words[4] = { 0x8000000000000001ULL, 0, 0xf0f0f0f0f0f0f0f0ULL,
			 0x15ULL };
	u32 bm = 1U << PCMIG_CAP_POSTCOPY_BITMAPS;
	u32 pcram = 1U << PCMIG_CAP_POSTCOPY_RAM;
	static struct pcmig_ram_range many[PCMIG_RAM_RANGES_MAX];
	static const struct pcmig_ram_range pc[] = {
		{ 0, 0xa0000 },
		{ 0x100000, 0x100000 },
	};
	const u64 top = U64_MAX - PCMIG_RAM_PAGE_SIZE + 1;
	u8 blob[200];
	struct sb s;
	u32 i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	sb_pattern(blob, sizeof(blob), 42);

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 0);
	sb_end(&s);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_eos(&s);
	emit("fwd-empty", false, 0, &s);

	sb_init(&s);
	sb_fwd(&s, 0);
	sb_begin(&s, 64);
	sb_data(&s, blob, 20);
	sb_data(&s, blob + 20, 20);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_data(&s, blob + 40, 24);
	sb_end(&s);
	sb_eos(&s);
	emit("fwd-devstate", false, 0, &s);

	sb_init(&s);
	sb_fwd(&s, PCMIG_CAPS_POSTCOPY);
	sb_devstate(&s, blob, 100, 33);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_eos(&s);
	emit("fwd-postcopy", false, PCMIG_CAPS_POSTCOPY, &s);

	sb_init(&s);
	sb_fwd(&s, 1U << PCMIG_CAP_POSTCOPY_RAM);
	sb_begin(&s, 8);
	sb_cancel(&s, "cancelled by user");
	emit("fwd-cancel", false, 1U << PCMIG_CAP_POSTCOPY_RAM, &s);

	sb_init(&s);
	sb_rp(&s, 1U << PCMIG_CAP_POSTCOPY_RAM);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_ack(&s, PCMIG_PHASE_POSTCOPY);
	sb_complete(&s);
	emit("rp-complete", true, 1U << PCMIG_CAP_POSTCOPY_RAM, &s);

	/* Bitmaps in the stopped phase and in postcopy. */
	sb_init(&s);
	sb_fwd(&s, PCMIG_CAPS_POSTCOPY);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_devstate(&s, blob, 16, 16);
	sb_bitmap(&s, "vda", "backup-0", 512, true, 197 * 512 - 3, words);
	sb_bitmap(&s, "vda", "empty", 4096, false, 4096 * 3, NULL);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_bitmap(&s, "vdb", "b", 65536, true, 65536 * 64, words);
	sb_bm_eos(&s);
	sb_eos(&s);
	emit("fwd-bitmaps", false, PCMIG_CAPS_POSTCOPY, &s);

	sb_init(&s);
	sb_fwd(&s, bm);
	sb_devstate(&s, blob, 0, 1);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_bitmap(&s, "n", "b", 1U << 31, true, 5ULL << 31, words);
	sb_bm_eos(&s);
	sb_eos(&s);
	emit("fwd-bitmaps-stopped", false, bm, &s);

	/*
	 * As the source sends them: every bitmap announced while stopped,
	 * postcopy, then each bitmap's data.
	 */
	sb_init(&s);
	sb_fwd(&s, PCMIG_CAPS_POSTCOPY);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_devstate(&s, blob, 40, 32);
	sb_bm_announce(&s, "vda", "backup-0", 512, true, 197 * 512 - 3);
	sb_bm_announce(&s, "vdb", "b", 65536, false, 65536 * 64);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_bitmap(&s, "vda", "backup-0", 512, true, 197 * 512 - 3, words);
	sb_bitmap(&s, "vdb", "b", 65536, false, 65536 * 64, NULL);
	sb_bm_eos(&s);
	sb_eos(&s);
	emit("fwd-announce-postcopy", false, PCMIG_CAPS_POSTCOPY, &s);

	/* Announces among the device frames, all of it while stopped. */
	sb_init(&s);
	sb_fwd(&s, bm);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_bm_announce(&s, "n", "a", 4096, true, 4096 * 200);
	sb_begin(&s, 8);
	sb_bm_announce(&s, "n", "b", 1U << 31, false, 5ULL << 31);
	sb_data(&s, blob, 8);
	sb_end(&s);
	sb_bitmap(&s, "n", "a", 4096, true, 4096 * 200, words);
	sb_bitmap(&s, "n", "b", 1U << 31, false, 5ULL << 31, words);
	sb_bm_eos(&s);
	sb_eos(&s);
	emit("fwd-announce-stopped", false, bm, &s);

	/* Announced, never sent: only BM_EOS follows. */
	sb_init(&s);
	sb_fwd(&s, bm);
	sb_devstate(&s, blob, 0, 1);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_bm_announce(&s, "vda", "b", 512, true, 512);
	sb_bm_eos(&s);
	sb_eos(&s);
	emit("fwd-announce-only", false, bm, &s);

	sb_init(&s);
	sb_rp(&s, 0);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_fail(&s, "no memory");
	emit("rp-fail", true, 0, &s);

	/*
	 * Guest RAM as the source sends it: the layout first in the first
	 * precopy pass, pages and zero runs (within one range), another
	 * pass, then what is left in the stopped phase.
	 */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_ram_layout(&s, pc, 2);
	sb_ram_zero(&s, 0, 1);
	sb_ram_page(&s, 0x1000, NULL);
	sb_ram_zero(&s, 0x2000, 0x9e);
	sb_ram_zero(&s, 0x100000, 0x100);
	sb_ram_zero(&s, 0x1000, 1);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_devstate(&s, blob, 40, 32);
	sb_ram_page(&s, 0x9f000, NULL);
	sb_ram_zero(&s, 0x1ff000, 1);
	sb_eos(&s);
	emit("fwd-ram", false, 0, &s);

	/* Zero runs only: short enough for any -max_len. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_ram_layout(&s, pc, 2);
	sb_ram_zero(&s, 0, 0xa0);
	sb_ram_zero(&s, 0x100000, 0x100);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_begin(&s, 0);
	sb_ram_zero(&s, 0x5000, 3);
	sb_end(&s);
	sb_ram_zero(&s, 0x1fe000, 2);
	sb_eos(&s);
	emit("fwd-ram-zero", false, 0, &s);

	/* RAM before the switch to postcopy, bitmaps after it. */
	sb_init(&s);
	sb_fwd(&s, PCMIG_CAPS_POSTCOPY);
	sb_ram_layout(&s, pc, 2);
	sb_ram_zero(&s, 0, 0xa0);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_devstate(&s, blob, 16, 16);
	sb_ram_zero(&s, 0x100000, 0x100);
	sb_bm_announce(&s, "vda", "b", 512, true, 512 * 70);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_bitmap(&s, "vda", "b", 512, true, 512 * 70, words);
	sb_bm_eos(&s);
	sb_eos(&s);
	emit("fwd-ram-postcopy", false, PCMIG_CAPS_POSTCOPY, &s);

	/*
	 * Bitmaps postcopy without postcopy-ram: all of RAM before the
	 * start, none after it.
	 */
	sb_init(&s);
	sb_fwd(&s, bm);
	sb_ram_layout(&s, pc, 2);
	sb_ram_zero(&s, 0, 0xa0);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_devstate(&s, blob, 16, 16);
	sb_ram_zero(&s, 0x100000, 0x100);
	sb_bm_announce(&s, "vda", "b", 512, true, 512 * 70);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_bitmap(&s, "vda", "b", 512, true, 512 * 70, words);
	sb_bm_eos(&s);
	sb_eos(&s);
	emit("fwd-ram-postcopy-bm", false, bm, &s);

	/* No precopy pass: the layout in the stopped phase. */
	sb_init(&s);
	sb_fwd(&s, 1U << PCMIG_CAP_POSTCOPY_RAM);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_devstate(&s, blob, 0, 1);
	sb_ram_layout1(&s, 0x100000000ULL, 0x4000);
	sb_ram_page(&s, 0x100002000ULL, NULL);
	sb_ram_zero(&s, 0x100000000ULL, 2);
	sb_ram_zero(&s, 0x100003000ULL, 1);
	sb_eos(&s);
	emit("fwd-ram-stopped", false, 1U << PCMIG_CAP_POSTCOPY_RAM, &s);

	/* The largest layout: 256 ranges. */
	for (i = 0; i < PCMIG_RAM_RANGES_MAX; i++) {
		many[i].gpa = (u64)i * 2 * PCMIG_RAM_PAGE_SIZE;
		many[i].size = PCMIG_RAM_PAGE_SIZE;
	}
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_ram_layout(&s, many, PCMIG_RAM_RANGES_MAX);
	sb_ram_zero(&s, many[255].gpa, 1);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_devstate(&s, blob, 0, 1);
	sb_eos(&s);
	emit("fwd-ram-layout-max", false, 0, &s);

	/* At the top of the address space, and the longest run. */
	sb_init(&s);
	sb_fwd(&s, 0);
	sb_ram_layout1(&s, 0, top);
	sb_ram_zero(&s, top - (u64)UINT32_MAX * PCMIG_RAM_PAGE_SIZE,
		    UINT32_MAX);
	sb_ram_zero(&s, top - PCMIG_RAM_PAGE_SIZE, 1);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_devstate(&s, blob, 0, 1);
	sb_ram_page(&s, top - PCMIG_RAM_PAGE_SIZE, NULL);
	sb_eos(&s);
	emit("fwd-ram-top", false, 0, &s);

	/*
	 * RAM postcopy (postcopy-ram): the pages dirtied since they were
	 * sent are discarded while stopped, and come again after the start
	 * (requested ones first, then the background stream).
	 */
	sb_init(&s);
	sb_fwd(&s, pcram);
	sb_ram_layout(&s, pc, 2);
	sb_ram_zero(&s, 0, 0xa0);
	sb_ram_page(&s, 0x1000, NULL);
	sb_ram_zero(&s, 0x100000, 0x100);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_devstate(&s, blob, 24, 16);
	sb_ram_discard(&s, 0x1000, 2);
	sb_ram_discard(&s, 0x100000, 0x10);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_ram_page(&s, 0x1000, NULL);
	sb_ram_zero(&s, 0x2000, 1);
	sb_ram_zero(&s, 0x100000, 0x10);
	sb_eos(&s);
	emit("fwd-ram-postcopy-ram", false, pcram, &s);

	/* Zero runs and discards only: short enough for any -max_len. */
	sb_init(&s);
	sb_fwd(&s, pcram);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_ram_layout(&s, pc, 2);
	sb_devstate(&s, blob, 0, 1);
	sb_ram_discard(&s, 0, 0xa0);
	sb_ram_zero(&s, 0x100000, 0x100);
	sb_ram_discard(&s, top - PCMIG_RAM_PAGE_SIZE, 1);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_ram_zero(&s, 0, 0x9f);
	sb_ram_zero(&s, 0x9f000, 1);
	sb_eos(&s);
	emit("fwd-ram-discard", false, pcram, &s);

	/* Both postcopy capabilities: RAM and bitmaps after the start. */
	sb_init(&s);
	sb_fwd(&s, PCMIG_CAPS_POSTCOPY);
	sb_ram_layout1(&s, 0, 0x10000);
	sb_ram_zero(&s, 0, 0x10);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_devstate(&s, blob, 16, 16);
	sb_ram_discard(&s, 0x4000, 4);
	sb_bm_announce(&s, "vda", "b", 512, true, 512 * 70);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_ram_zero(&s, 0x5000, 1);
	sb_bitmap(&s, "vda", "b", 512, true, 512 * 70, words);
	sb_ram_zero(&s, 0x4000, 1);
	sb_ram_zero(&s, 0x6000, 2);
	sb_bm_eos(&s);
	sb_eos(&s);
	emit("fwd-ram-postcopy-both", false, PCMIG_CAPS_POSTCOPY, &s);

	/* The return path of RAM postcopy: the layout taken, requests. */
	sb_init(&s);
	sb_rp(&s, pcram);
	sb_layout_ok(&s);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_ack(&s, PCMIG_PHASE_POSTCOPY);
	sb_page_req(&s, 0x1000, 1);
	sb_page_req(&s, 0x100000, PCMIG_RAM_REQ_MAX);
	sb_page_req(&s, 0x1000, 1);
	sb_page_req(&s, top - PCMIG_RAM_PAGE_SIZE, 1);
	sb_complete(&s);
	emit("rp-page-req", true, pcram, &s);

	sb_init(&s);
	sb_rp(&s, PCMIG_CAPS_POSTCOPY);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_layout_ok(&s);
	sb_ack(&s, PCMIG_PHASE_POSTCOPY);
	sb_page_req(&s, 0x9f000, 1);
	sb_fail(&s, "VMM gone");
	emit("rp-page-req-fail", true, PCMIG_CAPS_POSTCOPY, &s);

	/* Refused at the last frame: RAM postcopy without postcopy-ram. */
	sb_init(&s);
	sb_fwd(&s, bm);
	sb_ram_layout(&s, pc, 2);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_devstate(&s, blob, 0, 1);
	sb_ram_discard(&s, 0x1000, 1);
	emit("bad-fwd-discard-bm", false, bm, &s);

	sb_init(&s);
	sb_fwd(&s, bm);
	sb_ram_layout(&s, pc, 2);
	sb_phase(&s, PCMIG_PHASE_STOPPED);
	sb_devstate(&s, blob, 0, 1);
	sb_phase(&s, PCMIG_PHASE_POSTCOPY);
	sb_ram_zero(&s, 0x1000, 1);
	emit("bad-fwd-ram-after-start-bm", false, bm, &s);

	sb_init(&s);
	sb_rp(&s, bm);
	sb_layout_ok(&s);
	sb_ack(&s, PCMIG_PHASE_STOPPED);
	sb_ack(&s, PCMIG_PHASE_POSTCOPY);
	sb_page_req(&s, 0x1000, 1);
	emit("bad-rp-page-req-bm", true, bm, &s);
	return 0;
}
