// SPDX-License-Identifier: GPL-2.0
/*
 * Device-state provider.  The VMM hands its device state to the source
 * session over netlink (DEVSTATE_PUT, appended piece by piece); the source
 * sends it in the stopped phase; the destination keeps what it received
 * for its VMM to read back (DEVSTATE_GET).
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <uapi/linux/pcmig.h>

#include "devstate.h"
#include "session.h"
#include "stream.h"
#include "wire.h"

static int devstate_reserve(struct pcmig_devstate *d, u64 need)
{
	u64 cap = max_t(u64, d->cap, PCMIG_DEVSTATE_CHUNK);
	u8 *buf;

	if (need <= d->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	cap = min_t(u64, cap, PCMIG_DEVSTATE_MAX);
	buf = kvmalloc(cap, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	if (d->size)
		memcpy(buf, d->buf, d->size);
	kvfree(d->buf);
	d->buf = buf;
	d->cap = cap;
	return 0;
}

/*
 * Pieces are appended in order: @off must be the current size, so a VMM
 * that retries or reorders pieces gets an error instead of a corrupt blob.
 * Offset 0 starts the blob over.
 */
int pcmig_devstate_append(struct pcmig_devstate *d, u64 off, const void *data,
			  u32 len, const char **why)
{
	int err;

	if (off == 0)
		d->size = 0;
	if (off != d->size) {
		*why = "device state must be appended in order (offset != size held)";
		return -EINVAL;
	}
	if (len > PCMIG_DEVSTATE_MAX - d->size) {
		*why = "device state larger than PCMIG_DEVSTATE_MAX";
		return -EFBIG;
	}
	err = devstate_reserve(d, d->size + len);
	if (err) {
		*why = "out of memory for device state";
		return err;
	}
	memcpy(d->buf + d->size, data, len);
	d->size += len;
	return 0;
}

int pcmig_devstate_alloc(struct pcmig_devstate *d, u64 size)
{
	pcmig_devstate_free(d);
	if (!size)
		return 0;
	d->buf = kvzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!d->buf)
		return -ENOMEM;
	d->cap = size;
	d->size = size;
	return 0;
}

void pcmig_devstate_free(struct pcmig_devstate *d)
{
	kvfree(d->buf);
	memset(d, 0, sizeof(*d));
}

u64 pcmig_devstate_pending(struct pcmig_session *s)
{
	/* The frames around the blob count too, so 0 means really done. */
	if (s->dev.done)
		return 0;
	return s->dev.size - s->dev.sent + 2 * PCMIG_WIRE_FRAME_HDR_LEN + 8;
}

int pcmig_devstate_save(struct pcmig_session *s)
{
	struct pcmig_devstate *d = &s->dev;
	u8 size[8];
	int err;

	put_unaligned_be64(d->size, size);
	err = pcmig_send_frame(s, PCMIG_SEC_DEVICE, PCMIG_DEV_BEGIN, size,
			       sizeof(size));
	d->sent = 0;
	while (!err && d->sent < d->size) {
		u32 n = min_t(u64, d->size - d->sent, PCMIG_WIRE_FRAME_MAX);

		err = pcmig_send_frame(s, PCMIG_SEC_DEVICE, PCMIG_DEV_DATA,
				       d->buf + d->sent, n);
		if (!err) {
			d->sent += n;
			s->stats.bytes_remaining -=
				min_t(u64, s->stats.bytes_remaining, n);
		}
	}
	if (!err)
		err = pcmig_send_frame(s, PCMIG_SEC_DEVICE, PCMIG_DEV_END,
				       NULL, 0);
	d->done = !err;
	return err;
}
