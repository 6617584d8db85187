/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The save file: a header, the memslot layout, the device-state blob
 * (vcpu_state.h) and the RAM of every slot at page-aligned offsets (pages
 * of zeros are left as holes).  "Migration through a file": save on the
 * source, --restore on the destination, which refuses a file whose layout
 * differs from its own.  Format in vmm.rst.
 */
#ifndef PCMIG_VMM_SNAPSHOT_H
#define PCMIG_VMM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "memslots.h"

#define SNAP_MAGIC	"PCMIGVM1"
#define SNAP_VERSION	1

struct snap_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;	/* sizeof(struct snap_header) */
	uint32_t nslots;
	uint32_t nvcpus;
	uint64_t blob_offset, blob_size;
	uint64_t ram_offset, ram_size;
	uint32_t ring_entries;	/* informational: the source's dirty ring */
	uint32_t reserved[3];
};

struct snap_slot {
	uint32_t id;
	uint32_t flags;
	uint64_t gpa;
	uint64_t size;
	uint64_t file_offset;
};

struct vm;

struct snap {
	int fd;
	struct snap_header h;
	struct vmm_mem layout;
	uint64_t off[VMM_MAX_SLOTS];
};

/* Write a stopped VM to PATH (atomically: PATH.tmp, then rename). */
int snap_save(struct vm *vm, const char *path, char *err, size_t errlen);
/* Open a save file and read its header and layout. */
int snap_open(struct snap *s, const char *path, char *err, size_t errlen);
/* 0 when the file fits a VM with layout WANT and NVCPUS vCPUs; else -1
 * and a message showing both layouts. */
int snap_check(const struct snap *s, const struct vmm_mem *want, unsigned int nvcpus,
	       char *err, size_t errlen);
/* Copy the RAM into the mapped slots of M. */
int snap_load_ram(struct snap *s, struct vmm_mem *m, char *err, size_t errlen);
/* The device-state blob, malloc'ed. */
int snap_load_blob(struct snap *s, uint8_t **blob, size_t *len, char *err, size_t errlen);
void snap_close(struct snap *s);

/*
 * The device-state blob alone, for the control commands pcmig uses
 * ("devstate FILE", "load-devstate FILE"): written as FILE.tmp, then
 * renamed; read back with a size check (at most DEVSTATE_MAX_SIZE, a
 * regular file).  The blob itself is checked by devstate_load().
 */
int devstate_write_file(struct vm *vm, const char *path, size_t *len, char *err, size_t errlen);
int devstate_read_file(const char *path, uint8_t **blob, size_t *len, char *err, size_t errlen);
/* The RAM of a save file into a VM of the same layout (load-ram FILE). */
int snap_load_ram_file(struct vm *vm, const char *path, char *err, size_t errlen);

#endif
