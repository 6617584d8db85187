// SPDX-License-Identifier: GPL-2.0
/* Multiboot v1 loader (see multiboot.h). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "multiboot.h"
#include "ports.h"

#define MB_SEARCH	8192
#define MB_FLAG_MEMINFO	(1u << 1)
#define MB_FLAG_AOUT	(1u << 16)
#define MB_KNOWN_FLAGS	(0x7u | MB_FLAG_AOUT)	/* bit 2 (video) is ignored, as QEMU does */

struct mb_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
};

struct mb_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

static int put(struct vmm_mem *m, uint64_t gpa, const void *src, uint64_t len,
	       char *err, size_t errlen)
{
	void *p = mem_hva(m, gpa, len);

	if (!p) {
		snprintf(err, errlen, "image part 0x%llx+0x%llx is not inside one memory slot",
			 (unsigned long long)gpa, (unsigned long long)len);
		return -1;
	}
	if (src)
		memcpy(p, src, len);
	else
		memset(p, 0, len);
	return 0;
}

static int load_elf(struct vmm_mem *m, const uint8_t *img, size_t size, uint32_t *entry,
		    char *err, size_t errlen)
{
	const Elf32_Ehdr *eh = (const void *)img;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS32 || eh->e_machine != EM_386) {
		snprintf(err, errlen, "not a 32-bit x86 ELF and no a.out kludge in the multiboot header");
		return -1;
	}
	if (eh->e_phentsize != sizeof(Elf32_Phdr) || eh->e_phoff > size ||
	    (size - eh->e_phoff) / sizeof(Elf32_Phdr) < eh->e_phnum) {
		snprintf(err, errlen, "ELF program headers outside the file");
		return -1;
	}
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf32_Phdr ph;

		memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > size ||
		    size - ph.p_offset < ph.p_filesz) {
			snprintf(err, errlen, "ELF segment %u outside the file", i);
			return -1;
		}
		if (put(m, ph.p_paddr, img + ph.p_offset, ph.p_filesz, err, errlen) ||
		    put(m, (uint64_t)ph.p_paddr + ph.p_filesz, NULL, ph.p_memsz - ph.p_filesz,
			err, errlen))
			return -1;
	}
	*entry = eh->e_entry;
	return 0;
}

static int load_aout(struct vmm_mem *m, const uint8_t *img, size_t size, size_t hoff,
		     const struct mb_header *h, uint32_t *entry, char *err, size_t errlen)
{
	uint64_t start, load_len, end;

	if (h->load_addr > h->header_addr || h->header_addr - h->load_addr > hoff) {
		snprintf(err, errlen, "multiboot header: load_addr after header_addr");
		return -1;
	}
	start = hoff - (h->header_addr - h->load_addr);
	end = h->load_end_addr ? h->load_end_addr : h->load_addr + (size - start);
	if (end < h->load_addr || end - h->load_addr > size - start) {
		snprintf(err, errlen, "multiboot header: load_end_addr beyond the file");
		return -1;
	}
	load_len = end - h->load_addr;
	if (put(m, h->load_addr, img + start, load_len, err, errlen))
		return -1;
	if (h->bss_end_addr > end &&
	    put(m, end, NULL, h->bss_end_addr - end, err, errlen))
		return -1;
	*entry = h->entry_addr;
	return 0;
}

static int write_info(struct vmm_mem *m, const char *path, const char *cmdline,
		      char *err, size_t errlen)
{
	struct mb_info *mbi = mem_hva(m, MBI_GPA, sizeof(*mbi));
	struct mb_mmap *mm = mem_hva(m, MBI_MMAP_GPA, MBI_LOADER_GPA - MBI_MMAP_GPA);
	char *cl = mem_hva(m, MBI_CMDLINE_GPA, MBI_CMDLINE_MAX);
	char *name = mem_hva(m, MBI_LOADER_GPA, 16);
	const struct vmm_slot *s0 = &m->slot[0];
	unsigned int n = 0;

	if (!mbi || !mm || !cl || !name || s0->gpa != 0 || s0->size < 2 * VMM_MIB) {
		snprintf(err, errlen, "slot 0 must start at 0 and hold at least 2 MiB");
		return -1;
	}
	/* like QEMU and GRUB: the image's name, then the arguments */
	if (snprintf(cl, MBI_CMDLINE_MAX, "%s%s%s", path, *cmdline ? " " : "", cmdline) >=
	    (int)MBI_CMDLINE_MAX) {
		snprintf(err, errlen, "kernel path and --append longer than %u bytes",
			 MBI_CMDLINE_MAX - 1);
		return -1;
	}
	strcpy(name, "pcmig-vmm");
	/* the PC layout: low RAM, EBDA and BIOS area reserved, RAM from 1 MiB */
	mm[n++] = (struct mb_mmap){ 20, 0, 0x9fc00, 1 };
	mm[n++] = (struct mb_mmap){ 20, 0x9fc00, 0x400, 2 };
	mm[n++] = (struct mb_mmap){ 20, 0xf0000, 0x10000, 2 };
	mm[n++] = (struct mb_mmap){ 20, 0x100000, s0->size - 0x100000, 1 };
	for (unsigned int i = 1; i < m->n; i++)
		mm[n++] = (struct mb_mmap){ 20, m->slot[i].gpa, m->slot[i].size, 1 };
	memset(mbi, 0, sizeof(*mbi));
	mbi->flags = (1u << 0) | (1u << 2) | (1u << 6) | (1u << 9);
	mbi->mem_lower = 639;
	mbi->mem_upper = (s0->size - 0x100000) / 1024;
	mbi->cmdline = MBI_CMDLINE_GPA;
	mbi->mmap_addr = MBI_MMAP_GPA;
	mbi->mmap_length = n * sizeof(struct mb_mmap);
	mbi->boot_loader_name = MBI_LOADER_GPA;
	return 0;
}

int mb_load(struct vmm_mem *m, const char *path, const char *cmdline,
	    struct mb_boot *out, char *err, size_t errlen)
{
	struct mb_header h;
	uint8_t *img = NULL;
	struct stat st;
	size_t hoff, size;
	ssize_t got;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < 12 || st.st_size > (off_t)VMM_MAX_MEM_MIB * (off_t)VMM_MIB) {
		snprintf(err, errlen, "%s: not a kernel image (size %lld)", path,
			 (long long)st.st_size);
		goto out;
	}
	size = st.st_size;
	img = malloc(size);
	if (!img) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	got = pread(fd, img, size, 0);
	if (got != (ssize_t)size) {
		snprintf(err, errlen, "%s: short read", path);
		goto out;
	}
	for (hoff = 0; hoff + 12 <= size && hoff < MB_SEARCH; hoff += 4) {
		memcpy(&h, img + hoff, 12);
		if (h.magic == MB_HEADER_MAGIC && h.magic + h.flags + h.checksum == 0)
			break;
	}
	if (hoff + 12 > size || hoff >= MB_SEARCH) {
		snprintf(err, errlen, "%s: no Multiboot v1 header in the first 8 KiB", path);
		goto out;
	}
	if (h.flags & 0xffff & ~MB_KNOWN_FLAGS) {
		snprintf(err, errlen, "%s: multiboot header asks for unsupported features (flags 0x%x)",
			 path, h.flags);
		goto out;
	}
	if (h.flags & MB_FLAG_AOUT) {
		if (hoff + sizeof(h) > size) {
			snprintf(err, errlen, "%s: truncated multiboot header", path);
			goto out;
		}
		memcpy(&h, img + hoff, sizeof(h));
		if (load_aout(m, img, size, hoff, &h, &out->entry, err, errlen))
			goto out;
	} else if (load_elf(m, img, size, &out->entry, err, errlen)) {
		goto out;
	}
	if (write_info(m, path, cmdline, err, errlen))
		goto out;
	out->mbi = MBI_GPA;
	rc = 0;
out:
	free(img);
	if (fd >= 0)
		close(fd);
	return rc;
}
