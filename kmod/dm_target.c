// SPDX-License-Identifier: GPL-2.0
/*
 * The device-mapper target "pcmig": a linear mapping that records writes
 * in the named dirty bitmaps of its node (see dm_target.h).
 *
 * A write is marked twice: in ->map, before it is issued, so a bitmap
 * reader sees writes in flight as dirty; and again in ->end_io, so a
 * bitmap cleared while the write was in flight (a backup tool taking its
 * snapshot) still ends up with the granules the write changed.  The second
 * pass normally finds the bits set and costs no atomic operation.
 *
 * No ->prepare_ioctl and no DAX: both would let data change behind the
 * bitmaps' back.
 */
#include <linux/module.h>
#include <linux/device-mapper.h>
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/rculist.h>
#include <linux/atomic.h>
#include <linux/log2.h>
#include <linux/sched.h>

#include "compat.h"
#include "dm_target.h"

#define DM_MSG_PREFIX "pcmig"

/* Words a long bitmap loop handles between two cond_resched(). */
#define PCMIG_BITMAP_CHUNK_WORDS	65536U

static LIST_HEAD(pcmig_nodes);
static DEFINE_MUTEX(pcmig_nodes_lock);	/* guards pcmig_nodes */

/* Per-bio data: what a write covers, to mark it again at completion. */
struct pcmig_io {
	sector_t sector;		/* relative to the target */
	unsigned int sectors;		/* 0: nothing to mark */
};

/* ---- marking (I/O path: no locks, no sleeping) ------------------------- */

static void pcmig_mark_word(u64 *word, u64 mask)
{
	/* Already dirty: no atomic operation, no cache line bouncing. */
	if ((READ_ONCE(*word) & mask) == mask)
		return;
	atomic64_or((s64)mask, (atomic64_t *)word);
}

static void pcmig_mark_bits(u64 *words, u64 first, u64 last)
{
	u64 w = first / PCMIG_BITMAP_WORD_BITS;
	u64 wlast = last / PCMIG_BITMAP_WORD_BITS;
	u64 mask = pcmig_bitmap_head_mask(first);

	for (; w < wlast; w++, mask = U64_MAX)
		pcmig_mark_word(&words[w], mask);
	pcmig_mark_word(&words[wlast], mask & pcmig_bitmap_tail_mask(last));
}

static void pcmig_mark(struct pcmig_node *node, sector_t sector,
		       unsigned int sectors)
{
	struct pcmig_dirty_bitmap *bm;
	u64 first, last;

	rcu_read_lock();
	list_for_each_entry_rcu(bm, &node->bitmaps, node_list) {
		if (!READ_ONCE(bm->enabled))
			continue;
		if (pcmig_bitmap_range((u64)sector << SECTOR_SHIFT,
				       (u64)sectors << SECTOR_SHIFT,
				       node->size, bm->gran_shift,
				       &first, &last))
			pcmig_mark_bits(bm->bits, first, last);
	}
	rcu_read_unlock();
}

/* ---- the target -------------------------------------------------------- */

static struct pcmig_node *pcmig_find_node(const char *name)
{
	struct pcmig_node *node;

	lockdep_assert_held(&pcmig_nodes_lock);
	list_for_each_entry(node, &pcmig_nodes, registry)
		if (!strcmp(node->name, name))
			return node;
	return NULL;
}

static void pcmig_node_release(struct kref *ref)
{
	struct pcmig_node *node = container_of(ref, struct pcmig_node, ref);

	mutex_destroy(&node->lock);
	kfree(node);
}

/*
 * Node names go back out in the table line, where dm splits arguments at
 * white space and takes backslashes as escapes: neither may appear.
 */
static char *pcmig_check_node_name(const char *name)
{
	size_t len = strnlen(name, PCMIG_NAME_MAX + 1);
	size_t i;

	if (!len)
		return "Invalid node name: empty";
	if (len > PCMIG_NAME_MAX)
		return "Invalid node name: longer than 255 bytes";
	for (i = 0; i < len; i++) {
		unsigned char c = name[i];

		if (c <= ' ' || c == 0x7f || c == '\\')
			return "Invalid node name: white space, control character or backslash";
	}
	return NULL;
}

/* <backing dev> <offset> <node name> */
static int pcmig_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct pcmig_node *node;
	unsigned long long start;
	char dummy, *why;
	int ret;

	if (argc != 3) {
		ti->error = "Invalid argument count: want <backing dev> <offset> <node name>";
		return -EINVAL;
	}
	if (ti->len > U64_MAX >> SECTOR_SHIFT) {
		ti->error = "Invalid length: more bytes than 64 bits count";
		return -EINVAL;
	}
	if (sscanf(argv[1], "%llu%c", &start, &dummy) != 1 ||
	    start != (sector_t)start) {
		ti->error = "Invalid offset: not a sector number";
		return -EINVAL;
	}
	if (start > (sector_t)-1 - ti->len) {
		ti->error = "Invalid offset: offset + length overflow";
		return -EINVAL;
	}
	why = pcmig_check_node_name(argv[2]);
	if (why) {
		ti->error = why;
		return -EINVAL;
	}

	node = kzalloc(sizeof(*node), GFP_KERNEL);
	if (!node) {
		ti->error = "Cannot allocate the node";
		return -ENOMEM;
	}
	kref_init(&node->ref);
	mutex_init(&node->lock);
	INIT_LIST_HEAD(&node->bitmaps);
	strscpy(node->name, argv[2], sizeof(node->name));
	node->start = start;
	node->size = (u64)ti->len << SECTOR_SHIFT;

	ret = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table),
			    &node->dev);
	if (ret) {
		ti->error = "Backing device lookup failed";
		goto bad;
	}
	if (start + ti->len > bdev_nr_sectors(node->dev->bdev)) {
		ti->error = "Invalid offset: offset + length beyond the backing device";
		ret = -EINVAL;
		goto bad_dev;
	}

	mutex_lock(&pcmig_nodes_lock);
	if (pcmig_find_node(node->name)) {
		mutex_unlock(&pcmig_nodes_lock);
		ti->error = "Duplicate node name: a live pcmig target has it";
		ret = -EEXIST;
		goto bad_dev;
	}
	list_add_tail(&node->registry, &pcmig_nodes);
	mutex_unlock(&pcmig_nodes_lock);

	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->num_secure_erase_bios = 1;
	ti->num_write_zeroes_bios = 1;
	ti->per_io_data_size = sizeof(struct pcmig_io);
	ti->private = node;
	return 0;

bad_dev:
	dm_put_device(ti, node->dev);
bad:
	pcmig_node_put(node);
	return ret;
}

static void pcmig_free_bitmap(struct pcmig_dirty_bitmap *bm)
{
	kvfree(bm->bits);
	kfree(bm);
}

static void pcmig_dtr(struct dm_target *ti)
{
	struct pcmig_node *node = ti->private;
	struct pcmig_dirty_bitmap *bm, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&pcmig_nodes_lock);
	list_del(&node->registry);
	mutex_unlock(&pcmig_nodes_lock);

	/*
	 * dm destroys a table only once no bio is in its ->map or ->end_io
	 * (it waits for in-flight I/O and syncs its SRCU/RCU readers), so no
	 * RCU reader of the list is left: no grace period to wait for.
	 */
	mutex_lock(&node->lock);
	node->dead = true;
	list_splice_init(&node->bitmaps, &gone);
	WRITE_ONCE(node->nr_bitmaps, 0);
	WRITE_ONCE(node->bitmap_bits, 0);
	mutex_unlock(&node->lock);

	list_for_each_entry_safe(bm, tmp, &gone, node_list)
		pcmig_free_bitmap(bm);

	dm_put_device(ti, node->dev);
	node->dev = NULL;
	pcmig_node_put(node);
}

static int pcmig_map(struct dm_target *ti, struct bio *bio)
{
	struct pcmig_node *node = ti->private;
	struct pcmig_io *io = dm_per_bio_data(bio, sizeof(*io));
	sector_t sector;

	io->sectors = 0;
	bio_set_dev(bio, node->dev->bdev);
	/* An empty flush has no sector to remap and marks nothing. */
	if (!bio_sectors(bio))
		return DM_MAPIO_REMAPPED;

	sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	/* Writes, discards, secure erases, write-zeroes: not reads. */
	if (op_is_write(bio_op(bio))) {
		io->sector = sector;
		io->sectors = bio_sectors(bio);
		pcmig_mark(node, sector, io->sectors);
	}
	bio->bi_iter.bi_sector = node->start + sector;
	return DM_MAPIO_REMAPPED;
}

static int pcmig_end_io(struct dm_target *ti, struct bio *bio,
			blk_status_t *error)
{
	struct pcmig_io *io = dm_per_bio_data(bio, sizeof(*io));

	/* Failed writes too: part of the data may have landed. */
	if (io->sectors)
		pcmig_mark(ti->private, io->sector, io->sectors);
	return DM_ENDIO_DONE;
}

static void pcmig_status(struct dm_target *ti, status_type_t type,
			 unsigned int status_flags, char *result,
			 unsigned int maxlen)
{
	struct pcmig_node *node = ti->private;
	size_t sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%u", READ_ONCE(node->nr_bitmaps));
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %llu %s", node->dev->name,
		       (unsigned long long)node->start, node->name);
		break;
	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",device_name=%s,start=%llu,node_name=%s;",
		       node->dev->name, (unsigned long long)node->start,
		       node->name);
		break;
	}
}

static int pcmig_iterate_devices(struct dm_target *ti,
				 iterate_devices_callout_fn fn, void *data)
{
	struct pcmig_node *node = ti->private;

	return fn(ti, node->dev, node->start, ti->len, data);
}

static struct target_type pcmig_target = {
	.name		= "pcmig",
	.version	= {1, 0, 0},
	.features	= DM_TARGET_NOWAIT,
	.module		= THIS_MODULE,
	.ctr		= pcmig_ctr,
	.dtr		= pcmig_dtr,
	.map		= pcmig_map,
	.end_io		= pcmig_end_io,
	.status		= pcmig_status,
	.iterate_devices = pcmig_iterate_devices,
};

int pcmig_dm_init(void)
{
	int err = dm_register_target(&pcmig_target);

	if (err)
		DMERR("cannot register the target: %d", err);
	return err;
}

void pcmig_dm_exit(void)
{
	dm_unregister_target(&pcmig_target);
}

/* ---- nodes ------------------------------------------------------------- */

struct pcmig_node *pcmig_node_get(const char *name)
{
	struct pcmig_node *node;

	mutex_lock(&pcmig_nodes_lock);
	node = pcmig_find_node(name);
	if (node)
		kref_get(&node->ref);
	mutex_unlock(&pcmig_nodes_lock);
	return node;
}

void pcmig_node_put(struct pcmig_node *node)
{
	if (node)
		kref_put(&node->ref, pcmig_node_release);
}

int pcmig_node_for_each(unsigned long skip,
			int (*fn)(const struct pcmig_node_info *info, void *arg),
			void *arg)
{
	struct pcmig_node_info info;
	struct pcmig_node *node;
	unsigned long i = 0;
	int ret = 0;

	mutex_lock(&pcmig_nodes_lock);
	list_for_each_entry(node, &pcmig_nodes, registry) {
		if (i++ < skip)
			continue;
		info.name = node->name;
		info.size = node->size;
		info.nr_bitmaps = READ_ONCE(node->nr_bitmaps);
		info.bitmap_bits = READ_ONCE(node->bitmap_bits);
		ret = fn(&info, arg);
		if (ret)
			break;
	}
	mutex_unlock(&pcmig_nodes_lock);
	return ret;
}

/* ---- bitmaps ----------------------------------------------------------- */

static int pcmig_check_bitmap_name(const char *name, const char **why)
{
	size_t len = strnlen(name, PCMIG_NAME_MAX + 1);

	if (!len) {
		*why = "bitmap name is empty";
		return -EINVAL;
	}
	if (len > PCMIG_NAME_MAX) {
		*why = "bitmap name is longer than 255 bytes";
		return -EINVAL;
	}
	return 0;
}

/* Take @node->lock unless the node is gone. */
static int pcmig_lock_node(struct pcmig_node *node, const char **why)
{
	mutex_lock(&node->lock);
	if (node->dead) {
		mutex_unlock(&node->lock);
		*why = "node is gone";
		return -ENODEV;
	}
	return 0;
}

static struct pcmig_dirty_bitmap *
pcmig_find_bitmap(struct pcmig_node *node, const char *name)
{
	struct pcmig_dirty_bitmap *bm;

	lockdep_assert_held(&node->lock);
	list_for_each_entry(bm, &node->bitmaps, node_list)
		if (!strcmp(bm->name, name))
			return bm;
	return NULL;
}

/* Lock @node and find bitmap @name; on success the caller unlocks. */
static struct pcmig_dirty_bitmap *
pcmig_lock_bitmap(struct pcmig_node *node, const char *name, int *err,
		  const char **why)
{
	struct pcmig_dirty_bitmap *bm;

	*err = pcmig_check_bitmap_name(name, why);
	if (*err)
		return NULL;
	*err = pcmig_lock_node(node, why);
	if (*err)
		return NULL;
	bm = pcmig_find_bitmap(node, name);
	if (!bm) {
		mutex_unlock(&node->lock);
		*why = "no bitmap of that name on this node";
		*err = -ENOENT;
	}
	return bm;
}

/* As pcmig_lock_bitmap(), for operations a migration's hold excludes. */
static struct pcmig_dirty_bitmap *
pcmig_lock_idle_bitmap(struct pcmig_node *node, const char *name, int *err,
		       const char **why)
{
	struct pcmig_dirty_bitmap *bm = pcmig_lock_bitmap(node, name, err, why);

	if (bm && bm->busy) {
		mutex_unlock(&node->lock);
		*why = "bitmap is in use by a migration";
		*err = -EBUSY;
		return NULL;
	}
	return bm;
}

static u64 pcmig_count_bits(const struct pcmig_dirty_bitmap *bm)
{
	u64 nwords = pcmig_bitmap_nwords(bm->nbits);
	u64 w, chunk, n = 0;

	for (w = 0; w < nwords; w += chunk) {
		chunk = min_t(u64, nwords - w, PCMIG_BITMAP_CHUNK_WORDS);
		n += pcmig_bitmap_weight(bm->bits + w,
					min(chunk * PCMIG_BITMAP_WORD_BITS,
					    bm->nbits - w * PCMIG_BITMAP_WORD_BITS));
		cond_resched();
	}
	return n;
}

static void pcmig_fill_info(const struct pcmig_dirty_bitmap *bm,
			    struct pcmig_bitmap_info *info)
{
	strscpy(info->name, bm->name, sizeof(info->name));
	info->granularity = 1ULL << bm->gran_shift;
	info->enabled = bm->enabled;
	info->nbits = bm->nbits;
	info->dirty = pcmig_count_bits(bm);
}

static void pcmig_link_bitmap(struct pcmig_node *node,
			      struct pcmig_dirty_bitmap *bm)
{
	lockdep_assert_held(&node->lock);
	list_add_tail_rcu(&bm->node_list, &node->bitmaps);
	WRITE_ONCE(node->nr_bitmaps, node->nr_bitmaps + 1);
	WRITE_ONCE(node->bitmap_bits, node->bitmap_bits + bm->nbits);
}

static void pcmig_unlink_bitmap(struct pcmig_node *node,
				struct pcmig_dirty_bitmap *bm)
{
	lockdep_assert_held(&node->lock);
	list_del_rcu(&bm->node_list);
	WRITE_ONCE(node->nr_bitmaps, node->nr_bitmaps - 1);
	WRITE_ONCE(node->bitmap_bits, node->bitmap_bits - bm->nbits);
}

/* A new, all-clear bitmap for @node, not yet on its list. */
static struct pcmig_dirty_bitmap *
pcmig_new_bitmap(struct pcmig_node *node, const char *name, u64 granularity,
		 bool enabled, int *err, const char **why)
{
	struct pcmig_dirty_bitmap *bm;
	u32 shift = PCMIG_GRAN_SHIFT_DEFAULT;
	u64 bytes;

	*err = pcmig_check_bitmap_name(name, why);
	if (*err)
		return NULL;
	if (granularity) {
		if (granularity & (granularity - 1) ||
		    granularity < 1ULL << PCMIG_GRAN_SHIFT_MIN ||
		    granularity > 1ULL << PCMIG_GRAN_SHIFT_MAX) {
			*why = "granularity is not a power of two from 512 B to 2 GiB";
			*err = -EINVAL;
			return NULL;
		}
		shift = ilog2(granularity);
	}

	bm = kzalloc(sizeof(*bm), GFP_KERNEL_ACCOUNT);
	if (!bm)
		goto nomem;
	strscpy(bm->name, name, sizeof(bm->name));
	bm->gran_shift = shift;
	bm->enabled = enabled;
	bm->nbits = pcmig_bitmap_nbits(node->size, shift);
	bytes = pcmig_bitmap_nwords(bm->nbits) * sizeof(u64);
	/* kvmalloc() refuses more than INT_MAX bytes. */
	if (bytes > INT_MAX) {
		kfree(bm);
		*why = "bitmap too large for the device: use a coarser granularity";
		*err = -E2BIG;
		return NULL;
	}
	bm->bits = kvzalloc(bytes, GFP_KERNEL_ACCOUNT);
	if (bm->bits)
		return bm;
	kfree(bm);
nomem:
	*why = "out of memory for the bitmap";
	*err = -ENOMEM;
	return NULL;
}

int pcmig_bitmap_add(struct pcmig_node *node, const char *name,
		     u64 granularity, bool enabled, const char **why)
{
	struct pcmig_dirty_bitmap *bm;
	int err;

	bm = pcmig_new_bitmap(node, name, granularity, enabled, &err, why);
	if (!bm)
		return err;
	err = pcmig_lock_node(node, why);
	if (err)
		goto free;
	if (pcmig_find_bitmap(node, name)) {
		mutex_unlock(&node->lock);
		*why = "a bitmap of that name is on this node";
		err = -EEXIST;
		goto free;
	}
	pcmig_link_bitmap(node, bm);
	mutex_unlock(&node->lock);
	return 0;

free:
	pcmig_free_bitmap(bm);
	return err;
}

int pcmig_bitmap_remove(struct pcmig_node *node, const char *name,
			const char **why)
{
	struct pcmig_dirty_bitmap *bm;
	int err;

	bm = pcmig_lock_idle_bitmap(node, name, &err, why);
	if (!bm)
		return err;
	pcmig_unlink_bitmap(node, bm);
	mutex_unlock(&node->lock);

	/* Let the I/O path finish with it. */
	synchronize_rcu();
	pcmig_free_bitmap(bm);
	return 0;
}

int pcmig_bitmap_set_enabled(struct pcmig_node *node, const char *name,
			     bool enabled, const char **why)
{
	struct pcmig_dirty_bitmap *bm;
	int err;

	bm = pcmig_lock_idle_bitmap(node, name, &err, why);
	if (!bm)
		return err;
	WRITE_ONCE(bm->enabled, enabled);
	mutex_unlock(&node->lock);
	return 0;
}

/* Writes marking meanwhile stay marked (word stores, no RMW). */
static void pcmig_zero_bitmap(struct pcmig_dirty_bitmap *bm)
{
	u64 nwords = pcmig_bitmap_nwords(bm->nbits);
	u64 w, chunk;

	for (w = 0; w < nwords; w += chunk) {
		chunk = min_t(u64, nwords - w, PCMIG_BITMAP_CHUNK_WORDS);
		pcmig_bitmap_zero(bm->bits + w, chunk * PCMIG_BITMAP_WORD_BITS);
		cond_resched();
	}
}

int pcmig_bitmap_clear(struct pcmig_node *node, const char *name,
		       const char **why)
{
	struct pcmig_dirty_bitmap *bm;
	int err;

	bm = pcmig_lock_idle_bitmap(node, name, &err, why);
	if (!bm)
		return err;
	pcmig_zero_bitmap(bm);
	mutex_unlock(&node->lock);
	return 0;
}

int pcmig_bitmap_merge(struct pcmig_node *node, const char *src,
		       const char *dst, const char **why)
{
	struct pcmig_dirty_bitmap *s, *d;
	u64 w, nwords;
	int err;

	err = pcmig_check_bitmap_name(dst, why);
	if (err)
		return err;
	s = pcmig_lock_bitmap(node, src, &err, why);
	if (!s)
		return err;
	d = pcmig_find_bitmap(node, dst);
	if (!d) {
		*why = "no bitmap of the destination's name on this node";
		err = -ENOENT;
		goto out;
	}
	if (d->busy) {
		*why = "bitmap is in use by a migration";
		err = -EBUSY;
		goto out;
	}
	if (s->gran_shift != d->gran_shift) {
		*why = "bitmaps differ in granularity";
		err = -EINVAL;
		goto out;
	}
	if (s->nbits != d->nbits) {
		*why = "bitmaps differ in size";
		err = -EINVAL;
		goto out;
	}
	/* @d may be enabled: OR whole words atomically, like the I/O path. */
	nwords = pcmig_bitmap_nwords(s->nbits);
	for (w = 0; w < nwords; w++) {
		u64 v = READ_ONCE(s->bits[w]);

		if (v)
			pcmig_mark_word(&d->bits[w], v);
		if (!((w + 1) % PCMIG_BITMAP_CHUNK_WORDS))
			cond_resched();
	}
out:
	mutex_unlock(&node->lock);
	return err;
}

int pcmig_bitmap_count(struct pcmig_node *node, const char *name,
		       u64 *count, const char **why)
{
	struct pcmig_dirty_bitmap *bm;
	int err;

	bm = pcmig_lock_bitmap(node, name, &err, why);
	if (!bm)
		return err;
	*count = pcmig_count_bits(bm);
	mutex_unlock(&node->lock);
	return 0;
}

int pcmig_bitmap_info(struct pcmig_node *node, const char *name,
		      struct pcmig_bitmap_info *info, const char **why)
{
	struct pcmig_dirty_bitmap *bm;
	int err;

	bm = pcmig_lock_bitmap(node, name, &err, why);
	if (!bm)
		return err;
	pcmig_fill_info(bm, info);
	mutex_unlock(&node->lock);
	return 0;
}

int pcmig_bitmap_for_each(struct pcmig_node *node, unsigned long skip,
			  int (*fn)(const struct pcmig_bitmap_info *info,
				    void *arg),
			  void *arg)
{
	struct pcmig_bitmap_info *info;
	struct pcmig_dirty_bitmap *bm;
	unsigned long i = 0;
	const char *why;
	int err;

	info = kmalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	err = pcmig_lock_node(node, &why);
	if (err)
		goto out;
	list_for_each_entry(bm, &node->bitmaps, node_list) {
		if (i++ < skip)
			continue;
		pcmig_fill_info(bm, info);
		err = fn(info, arg);
		if (err)
			break;
	}
	mutex_unlock(&node->lock);
out:
	kfree(info);
	return err;
}

int pcmig_bitmap_extents(struct pcmig_node *node, const char *name, u64 from,
			 int (*fn)(u64 offset, u64 length, void *arg),
			 void *arg, const char **why)
{
	struct pcmig_dirty_bitmap *bm;
	u64 bit, start, len, off, bytes;
	unsigned int n = 0;
	int err;

	bm = pcmig_lock_bitmap(node, name, &err, why);
	if (!bm)
		return err;
	if (from >= node->size)
		goto out;
	bit = from >> bm->gran_shift;
	while (pcmig_bitmap_next_run(bm->bits, bm->nbits, bit, &start, &len)) {
		pcmig_bitmap_run_bytes(start, len, node->size, bm->gran_shift,
				       &off, &bytes);
		if (off < from) {
			bytes -= from - off;
			off = from;
		}
		err = fn(off, bytes, arg);
		if (err)
			break;
		bit = start + len;
		if (!(++n % 1024))
			cond_resched();
	}
out:
	mutex_unlock(&node->lock);
	return err;
}

/* ---- migration --------------------------------------------------------- */

int pcmig_bitmap_hold(struct pcmig_node *node, const char *name,
		      struct pcmig_bitmap_info *info, const char **why)
{
	struct pcmig_dirty_bitmap *bm;
	int err;

	bm = pcmig_lock_idle_bitmap(node, name, &err, why);
	if (!bm)
		return err;
	bm->busy = true;
	pcmig_fill_info(bm, info);
	mutex_unlock(&node->lock);
	return 0;
}

void pcmig_bitmap_release(struct pcmig_node *node, const char *name)
{
	struct pcmig_dirty_bitmap *bm;
	const char *why;
	int err;

	bm = pcmig_lock_bitmap(node, name, &err, &why);
	if (!bm)
		return;	/* the node went away, and the bitmap with it */
	bm->busy = false;
	mutex_unlock(&node->lock);
}

int pcmig_bitmap_prepare(struct pcmig_node *node, const char *name,
			 u64 granularity, bool enabled, bool *created,
			 u64 *have, const char **why)
{
	struct pcmig_dirty_bitmap *bm, *new;
	int err;

	/* Allocated up front: the node's lock is not held across kvzalloc. */
	new = pcmig_new_bitmap(node, name, granularity, enabled, &err, why);
	if (!new)
		return err;
	err = pcmig_lock_node(node, why);
	if (err)
		goto free;
	bm = pcmig_find_bitmap(node, name);
	*created = !bm;
	if (!bm) {
		new->busy = true;
		pcmig_link_bitmap(node, new);
		mutex_unlock(&node->lock);
		return 0;
	}
	if (bm->busy) {
		*why = "bitmap is in use by another migration";
		err = -EBUSY;
	} else if (bm->gran_shift != new->gran_shift) {
		*have = 1ULL << bm->gran_shift;
		*why = "bitmap exists with another granularity";
		err = -EINVAL;
	} else {
		/*
		 * Clear, then enable: writes made from here on are the
		 * destination's own and stay marked (rule S11 update).
		 */
		bm->busy = true;
		WRITE_ONCE(bm->enabled, false);
		pcmig_zero_bitmap(bm);
		WRITE_ONCE(bm->enabled, enabled);
	}
	mutex_unlock(&node->lock);
free:
	pcmig_free_bitmap(new);
	return err;
}

void pcmig_bitmap_drop(struct pcmig_node *node, const char *name)
{
	struct pcmig_dirty_bitmap *bm;
	const char *why;
	int err;

	bm = pcmig_lock_bitmap(node, name, &err, &why);
	if (!bm)
		return;
	pcmig_unlink_bitmap(node, bm);
	mutex_unlock(&node->lock);
	synchronize_rcu();
	pcmig_free_bitmap(bm);
}

/* Lock @node, find held bitmap @name and check the range; caller unlocks. */
static struct pcmig_dirty_bitmap *
pcmig_lock_range(struct pcmig_node *node, const char *name, u64 first,
		 u32 nbits, int *err, const char **why)
{
	struct pcmig_dirty_bitmap *bm = pcmig_lock_bitmap(node, name, err, why);

	if (!bm)
		return NULL;
	if (first % PCMIG_BITMAP_WORD_BITS || first > bm->nbits ||
	    nbits > bm->nbits - first) {
		mutex_unlock(&node->lock);
		*why = "bits past the end of the bitmap";
		*err = -EINVAL;
		return NULL;
	}
	return bm;
}

int pcmig_bitmap_get_bits(struct pcmig_node *node, const char *name,
			  u64 first, u32 nbits, u64 *words, const char **why)
{
	struct pcmig_dirty_bitmap *bm;
	u64 w0 = first / PCMIG_BITMAP_WORD_BITS;
	u32 i, n = DIV_ROUND_UP(nbits, PCMIG_BITMAP_WORD_BITS);
	int err;

	bm = pcmig_lock_range(node, name, first, nbits, &err, why);
	if (!bm)
		return err;
	for (i = 0; i < n; i++)
		words[i] = READ_ONCE(bm->bits[w0 + i]);
	/* Bits past the bitmap's end are never set; keep it that way. */
	if (nbits % PCMIG_BITMAP_WORD_BITS)
		words[n - 1] &= pcmig_bitmap_tail_mask(nbits - 1);
	mutex_unlock(&node->lock);
	return 0;
}

int pcmig_bitmap_or_bits(struct pcmig_node *node, const char *name,
			 u64 first, u32 nbits, const u64 *words,
			 const char **why)
{
	struct pcmig_dirty_bitmap *bm;
	u64 w0 = first / PCMIG_BITMAP_WORD_BITS;
	u32 i, n = DIV_ROUND_UP(nbits, PCMIG_BITMAP_WORD_BITS);
	u64 v;
	int err;

	bm = pcmig_lock_range(node, name, first, nbits, &err, why);
	if (!bm)
		return err;
	for (i = 0; i < n; i++) {
		v = words[i];
		if (i == n - 1 && nbits % PCMIG_BITMAP_WORD_BITS)
			v &= pcmig_bitmap_tail_mask(nbits - 1);
		if (v)
			pcmig_mark_word(&bm->bits[w0 + i], v);
	}
	mutex_unlock(&node->lock);
	return 0;
}
