// SPDX-License-Identifier: GPL-2.0
/* The save file (see snapshot.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "snapshot.h"
#include "vcpu_state.h"
#include "vmm.h"

static uint64_t page_up(uint64_t x)
{
	return (x + VMM_PAGE_SIZE - 1) & ~(VMM_PAGE_SIZE - 1);
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = pwrite(fd, p, len, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= w;
		off += w;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = pread(fd, p, len, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		p += r;
		len -= r;
		off += r;
	}
	return 0;
}

static bool page_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (unsigned int i = 0; i < VMM_PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

int snap_save(struct vm *vm, const char *path, char *err, size_t errlen)
{
	struct snap_header h = { 0 };
	struct snap_slot ss[VMM_MAX_SLOTS];
	uint8_t *blob = NULL;
	size_t blen;
	uint64_t off;
	char tmp[4096];
	int fd = -1;

	if (devstate_save(vm, &blob, &blen, err, errlen) < 0)
		return -1;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "path too long");
		goto fail;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto ioerr;
	memcpy(h.magic, SNAP_MAGIC, 8);
	h.version = SNAP_VERSION;
	h.header_size = sizeof(h);
	h.nslots = vm->mem.n;
	h.nvcpus = vm->nvcpus;
	h.ring_entries = vm->kvm.ring_entries;
	h.blob_offset = sizeof(h) + vm->mem.n * sizeof(struct snap_slot);
	h.blob_size = blen;
	h.ram_offset = page_up(h.blob_offset + blen);
	off = h.ram_offset;
	for (unsigned int i = 0; i < vm->mem.n; i++) {
		const struct vmm_slot *s = &vm->mem.slot[i];

		ss[i] = (struct snap_slot){ s->id, s->flags, s->gpa, s->size, off };
		off += s->size;
	}
	h.ram_size = off - h.ram_offset;
	if (write_all(fd, &h, sizeof(h), 0) ||
	    write_all(fd, ss, vm->mem.n * sizeof(ss[0]), sizeof(h)) ||
	    write_all(fd, blob, blen, h.blob_offset))
		goto ioerr;
	for (unsigned int i = 0; i < vm->mem.n; i++) {
		const struct vmm_slot *s = &vm->mem.slot[i];

		for (uint64_t p = 0; p < s->size; p += VMM_PAGE_SIZE)
			if (!page_zero(s->hva + p) &&
			    write_all(fd, s->hva + p, VMM_PAGE_SIZE, ss[i].file_offset + p))
				goto ioerr;
	}
	if (ftruncate(fd, off) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto ioerr;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto ioerr;
	free(blob);
	return 0;
ioerr:
	snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(blob);
	return -1;
}

int snap_open(struct snap *s, const char *path, char *err, size_t errlen)
{
	struct snap_slot ss;
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0 || fstat(s->fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (read_all(s->fd, &s->h, sizeof(s->h), 0) || memcmp(s->h.magic, SNAP_MAGIC, 8)) {
		snprintf(err, errlen, "%s: not a pcmig-vmm save file", path);
		goto fail;
	}
	if (s->h.version != SNAP_VERSION || s->h.header_size != sizeof(s->h) ||
	    s->h.nslots < 1 || s->h.nslots > VMM_MAX_SLOTS ||
	    s->h.nvcpus < 1 || s->h.nvcpus > VMM_MAX_VCPUS ||
	    s->h.blob_size > DEVSTATE_MAX_SIZE ||
	    s->h.blob_offset != sizeof(s->h) + s->h.nslots * sizeof(ss) ||
	    s->h.ram_offset < s->h.blob_offset + s->h.blob_size ||
	    s->h.ram_offset % VMM_PAGE_SIZE || s->h.ram_size > (uint64_t)st.st_size ||
	    s->h.ram_offset > (uint64_t)st.st_size - s->h.ram_size) {
		snprintf(err, errlen, "%s: inconsistent header (version %u)", path, s->h.version);
		goto fail;
	}
	s->layout.n = s->h.nslots;
	for (unsigned int i = 0; i < s->h.nslots; i++) {
		if (read_all(s->fd, &ss, sizeof(ss), sizeof(s->h) + i * sizeof(ss))) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (ss.size % VMM_PAGE_SIZE || ss.file_offset < s->h.ram_offset ||
		    ss.size > s->h.ram_size ||
		    ss.file_offset - s->h.ram_offset > s->h.ram_size - ss.size) {
			snprintf(err, errlen, "%s: slot %u outside the file", path, i);
			goto fail;
		}
		s->layout.slot[i] = (struct vmm_slot){ .id = ss.id, .flags = ss.flags,
						       .gpa = ss.gpa, .size = ss.size };
		s->layout.total += ss.size;
		s->off[i] = ss.file_offset;
	}
	return 0;
fail:
	snap_close(s);
	return -1;
}

int snap_check(const struct snap *s, const struct vmm_mem *want, unsigned int nvcpus,
	       char *err, size_t errlen)
{
	char a[1024], b[1024];

	if (mem_layout_equal(&s->layout, want) && s->h.nvcpus == nvcpus)
		return 0;
	mem_layout_str(&s->layout, a, sizeof(a));
	mem_layout_str(want, b, sizeof(b));
	snprintf(err, errlen,
		 "memory layout mismatch, refusing to restore:\n"
		 "  saved: %u vCPUs, %llu MiB in %u slots: %s\n"
		 "  this VM: %u vCPUs, %llu MiB in %u slots: %s",
		 s->h.nvcpus, (unsigned long long)(s->layout.total / VMM_MIB), s->layout.n, a,
		 nvcpus, (unsigned long long)(want->total / VMM_MIB), want->n, b);
	return -1;
}

int snap_load_ram(struct snap *s, struct vmm_mem *m, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < m->n; i++) {
		if (read_all(s->fd, m->slot[i].hva, m->slot[i].size, s->off[i])) {
			snprintf(err, errlen, "reading RAM of slot %u: %s", i, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int snap_load_blob(struct snap *s, uint8_t **blob, size_t *len, char *err, size_t errlen)
{
	*blob = malloc(s->h.blob_size ? s->h.blob_size : 1);
	if (!*blob) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (read_all(s->fd, *blob, s->h.blob_size, s->h.blob_offset)) {
		snprintf(err, errlen, "reading the device state: %s", strerror(errno));
		free(*blob);
		*blob = NULL;
		return -1;
	}
	*len = s->h.blob_size;
	return 0;
}

void snap_close(struct snap *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

int devstate_write_file(struct vm *vm, const char *path, size_t *len, char *err, size_t errlen)
{
	uint8_t *blob = NULL;
	char tmp[4096];
	int fd;

	if (devstate_save(vm, &blob, len, err, errlen) < 0)
		return -1;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "path too long");
		free(blob);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto ioerr;
	if (write_all(fd, blob, *len, 0) || fsync(fd) < 0) {
		close(fd);
		goto ioerr;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0)
		goto ioerr;
	free(blob);
	return 0;
ioerr:
	snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	unlink(tmp);
	free(blob);
	return -1;
}

int devstate_read_file(const char *path, uint8_t **blob, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	*blob = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)DEVSTATE_MAX_SIZE) {
		snprintf(err, errlen, "%s: %s", path, S_ISREG(st.st_mode) ?
			 "larger than a device state can be (16 MiB)" : "not a regular file");
		goto fail;
	}
	*blob = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!*blob) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (read_all(fd, *blob, st.st_size, 0)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	*len = st.st_size;
	close(fd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(*blob);
	*blob = NULL;
	return -1;
}

int snap_load_ram_file(struct vm *vm, const char *path, char *err, size_t errlen)
{
	struct snap s;
	char e[2048];
	int ret = -1;

	if (snap_open(&s, path, err, errlen) < 0)
		return -1;
	if (snap_check(&s, &vm->mem, vm->nvcpus, e, sizeof(e)) < 0) {
		/* one reply line: the two layouts joined */
		for (char *p = e; *p; p++)
			if (*p == '\n')
				*p = ';';
		snprintf(err, errlen, "%s: %s", path, e);
	} else {
		ret = snap_load_ram(&s, &vm->mem, err, errlen);
	}
	snap_close(&s);
	return ret;
}
