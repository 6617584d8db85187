/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading a Multiboot v1 kernel the way qemu-system-x86_64 -kernel does:
 * the image (ELF32 program headers, or the header's a.out-kludge address
 * fields) goes into guest RAM, and the multiboot information structure
 * (memory sizes, a memory map of the slots, the command line, the loader
 * name) is written to low memory.
 */
#ifndef PCMIG_VMM_MULTIBOOT_H
#define PCMIG_VMM_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "memslots.h"

struct mb_boot {
	uint32_t entry;		/* 32-bit entry point */
	uint32_t mbi;		/* guest physical address of the info */
};

/* Returns 0, or -1 with a message in ERR. */
int mb_load(struct vmm_mem *m, const char *path, const char *cmdline,
	    struct mb_boot *out, char *err, size_t errlen);

#endif
