// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "bitmap.h"
#include "names.h"
#include "opts.h"
#include "units.h"

int parse_granularity(const char *s, uint32_t *out, char *err,
		      size_t errlen)
{
	uint64_t v;
	int ret;

	ret = parse_size(s, &v, err, errlen);
	if (ret)
		return ret;
	if (v < PCMIG_GRANULARITY_MIN || v > PCMIG_GRANULARITY_MAX) {
		snprintf(err, errlen, "%s is out of range (512 to 2G)", s);
		return -ERANGE;
	}
	/* One bit covers one granule: the module shifts, never divides. */
	if (v & (v - 1)) {
		snprintf(err, errlen, "%s is not a power of two", s);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

int check_name(const char *s, char *err, size_t errlen)
{
	size_t len = strlen(s);

	if (!len) {
		snprintf(err, errlen, "empty name");
		return -EINVAL;
	}
	if (len > PCMIG_NAME_MAX) {
		snprintf(err, errlen, "name longer than %d bytes",
			 PCMIG_NAME_MAX);
		return -EINVAL;
	}
	return 0;
}

/*
 * Lengths (and the NUL of strings) are checked by libnl against this
 * policy before any nla_get_*.
 */
static const struct nla_policy attr_policy[PCMIG_A_MAX + 1] = {
	[PCMIG_A_NODE] = { .type = NLA_STRING },
	[PCMIG_A_BITMAP] = { .type = NLA_STRING },
	[PCMIG_A_GRANULARITY] = { .type = NLA_U32 },
	[PCMIG_A_ENABLED] = { .type = NLA_U8 },
	[PCMIG_A_DIRTY_COUNT] = { .type = NLA_U64 },
	[PCMIG_A_NODE_SIZE] = { .type = NLA_U64 },
	[PCMIG_A_OFFSET] = { .type = NLA_U64 },
	[PCMIG_A_LENGTH] = { .type = NLA_U64 },
	[PCMIG_A_SESSION_ID] = { .type = NLA_U32 },
	[PCMIG_A_BITMAP_STATE] = { .type = NLA_U32 },
	[PCMIG_A_REASON] = { .type = NLA_STRING },
};

static int parse(struct nl_msg *msg, struct nlattr **tb)
{
	return genlmsg_parse(nlmsg_hdr(msg), 0, tb, PCMIG_A_MAX,
			     attr_policy) < 0 ? -EBADMSG : 0;
}

int bitmap_from_msg(struct nl_msg *msg, struct pcmig_bitmap *b)
{
	struct nlattr *tb[PCMIG_A_MAX + 1];

	memset(b, 0, sizeof(*b));
	if (parse(msg, tb) || !tb[PCMIG_A_NODE] || !tb[PCMIG_A_BITMAP] ||
	    !tb[PCMIG_A_GRANULARITY] || !tb[PCMIG_A_ENABLED] ||
	    !tb[PCMIG_A_DIRTY_COUNT] || !tb[PCMIG_A_NODE_SIZE])
		return -EBADMSG;
	nla_strlcpy(b->node, tb[PCMIG_A_NODE], sizeof(b->node));
	nla_strlcpy(b->name, tb[PCMIG_A_BITMAP], sizeof(b->name));
	b->granularity = nla_get_u32(tb[PCMIG_A_GRANULARITY]);
	b->enabled = nla_get_u8(tb[PCMIG_A_ENABLED]) != 0;
	b->dirty_count = nla_get_u64(tb[PCMIG_A_DIRTY_COUNT]);
	b->node_size = nla_get_u64(tb[PCMIG_A_NODE_SIZE]);
	return 0;
}

int session_bitmap_from_msg(struct nl_msg *msg,
			    struct pcmig_session_bitmap *b)
{
	struct nlattr *tb[PCMIG_A_MAX + 1];

	memset(b, 0, sizeof(*b));
	if (parse(msg, tb) || !tb[PCMIG_A_SESSION_ID] || !tb[PCMIG_A_NODE] ||
	    !tb[PCMIG_A_BITMAP] || !tb[PCMIG_A_BITMAP_STATE])
		return -EBADMSG;
	nla_strlcpy(b->node, tb[PCMIG_A_NODE], sizeof(b->node));
	nla_strlcpy(b->name, tb[PCMIG_A_BITMAP], sizeof(b->name));
	b->state = nla_get_u32(tb[PCMIG_A_BITMAP_STATE]);
	if (tb[PCMIG_A_GRANULARITY]) {
		b->has_granularity = true;
		b->granularity = nla_get_u32(tb[PCMIG_A_GRANULARITY]);
	}
	if (tb[PCMIG_A_ENABLED]) {
		b->has_enabled = true;
		b->enabled = nla_get_u8(tb[PCMIG_A_ENABLED]) != 0;
	}
	if (tb[PCMIG_A_NODE_SIZE]) {
		b->has_node_size = true;
		b->node_size = nla_get_u64(tb[PCMIG_A_NODE_SIZE]);
	}
	if (tb[PCMIG_A_REASON])
		nla_strlcpy(b->reason, tb[PCMIG_A_REASON], sizeof(b->reason));
	return 0;
}

int extent_from_msg(struct nl_msg *msg, struct pcmig_extent *e)
{
	struct nlattr *tb[PCMIG_A_MAX + 1];

	if (parse(msg, tb) || !tb[PCMIG_A_OFFSET] || !tb[PCMIG_A_LENGTH])
		return -EBADMSG;
	e->offset = nla_get_u64(tb[PCMIG_A_OFFSET]);
	e->length = nla_get_u64(tb[PCMIG_A_LENGTH]);
	return 0;
}

int extent_next(uint64_t *next, const struct pcmig_extent *e)
{
	if (!e->length || e->offset < *next ||
	    e->length > UINT64_MAX - e->offset)
		return -EPROTO;
	*next = e->offset + e->length;
	return 0;
}

uint64_t bitmap_dirty_bytes(const struct pcmig_bitmap *b)
{
	uint64_t bytes;

	/* The counts come from outside: never let them wrap to small. */
	if (b->granularity && b->dirty_count > UINT64_MAX / b->granularity)
		bytes = UINT64_MAX;
	else
		bytes = b->dirty_count * b->granularity;
	return bytes < b->node_size ? bytes : b->node_size;
}

void bitmap_json(struct json *j, const char *key, const struct pcmig_bitmap *b)
{
	json_obj_begin(j, key);
	json_str(j, "node", b->node);
	json_str(j, "bitmap", b->name);
	json_u64(j, "granularity", b->granularity);
	json_bool(j, "enabled", b->enabled);
	json_u64(j, "dirty_count", b->dirty_count);
	json_u64(j, "dirty_bytes", bitmap_dirty_bytes(b));
	json_u64(j, "node_size", b->node_size);
	json_obj_end(j);
}

/* Appends text to buf (used bytes so far), control characters as '?'. */
static void put_text(char *buf, size_t len, size_t *used, const char *text)
{
	for (; *text && *used + 1 < len; text++)
		buf[(*used)++] = (unsigned char)*text < 0x20 || *text == 0x7f ?
					 '?' : *text;
	buf[*used] = '\0';
}

void session_bitmap_line(const struct pcmig_session_bitmap *b, char *buf,
			 size_t len)
{
	const char *state = bitmap_state_name(b->state);
	char num[16];
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if (!state) {
		snprintf(num, sizeof(num), "%" PRIu32, b->state);
		state = num;
	}
	put_text(buf, len, &used, "bitmap ");
	put_text(buf, len, &used, b->node);
	put_text(buf, len, &used, "/");
	put_text(buf, len, &used, b->name);
	put_text(buf, len, &used, ": ");
	put_text(buf, len, &used, state);
	if (!b->reason[0])
		return;
	/* A failure is explained; a success only annotated. */
	if (bitmap_state_failed(b->state)) {
		put_text(buf, len, &used, ": ");
		put_text(buf, len, &used, b->reason);
	} else {
		put_text(buf, len, &used, " (");
		put_text(buf, len, &used, b->reason);
		put_text(buf, len, &used, ")");
	}
}

void session_bitmap_json(struct json *j, const char *key,
			 const struct pcmig_session_bitmap *b)
{
	const char *state = bitmap_state_name(b->state);

	json_obj_begin(j, key);
	json_str(j, "node", b->node);
	json_str(j, "bitmap", b->name);
	/* A state newer than pcmigd: its number, as for other enums. */
	if (state) {
		json_str(j, "state", state);
	} else {
		char num[16];

		snprintf(num, sizeof(num), "%" PRIu32, b->state);
		json_str(j, "state", num);
	}
	if (b->has_granularity)
		json_u64(j, "granularity", b->granularity);
	if (b->has_enabled)
		json_bool(j, "enabled", b->enabled);
	if (b->has_node_size)
		json_u64(j, "node_size", b->node_size);
	if (b->reason[0])
		json_str(j, "reason", b->reason);
	json_obj_end(j);
}

void session_bitmaps_json(struct json *j, const char *key,
			  const struct pcmig_session_bitmap *v, size_t n)
{
	json_arr_begin(j, key);
	for (size_t i = 0; i < n; i++)
		session_bitmap_json(j, NULL, &v[i]);
	json_arr_end(j);
}

enum { COL_NODE, COL_BITMAP, COL_GRAN, COL_ENABLED, COL_DIRTY,
       COL_DIRTY_BYTES, COL_SIZE, NCOLS };
#define CELL_LEN (PCMIG_NAME_MAX + 1)

static const char *const col_head[NCOLS] = {
	"NODE", "BITMAP", "GRANULARITY", "ENABLED", "DIRTY-GRANULES",
	"DIRTY-BYTES", "NODE-SIZE",
};
/* Numbers line up on the right, names and words on the left. */
static const bool col_right[NCOLS] = {
	[COL_DIRTY] = true, [COL_DIRTY_BYTES] = true, [COL_SIZE] = true,
};

/* Names come from other users of the node: keep the table one line each. */
static void cell_name(char *cell, const char *name)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < CELL_LEN; i++)
		cell[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ?
				  '?' : name[i];
	cell[i] = '\0';
}

/* Granularities are powers of two: exact, "4 KiB" rather than "4.0 KiB". */
static void cell_granularity(char *cell, uint32_t g)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB" };
	unsigned int i = 0;

	while (g >= 1024 && !(g & 1023) && i + 1 < 4) {
		g >>= 10;
		i++;
	}
	snprintf(cell, CELL_LEN, "%" PRIu32 " %s", g, unit[i]);
}

static void row_cells(const struct pcmig_bitmap *b, char cell[NCOLS][CELL_LEN])
{
	char u[UNITS_LEN];

	cell_name(cell[COL_NODE], b->node);
	cell_name(cell[COL_BITMAP], b->name);
	cell_granularity(cell[COL_GRAN], b->granularity);
	snprintf(cell[COL_ENABLED], CELL_LEN, "%s", b->enabled ? "yes" : "no");
	snprintf(cell[COL_DIRTY], CELL_LEN, "%" PRIu64, b->dirty_count);
	snprintf(cell[COL_DIRTY_BYTES], CELL_LEN, "%s",
		 fmt_bytes(bitmap_dirty_bytes(b), u));
	snprintf(cell[COL_SIZE], CELL_LEN, "%s", fmt_bytes(b->node_size, u));
}

static void print_row(FILE *f, char cell[NCOLS][CELL_LEN],
		      const int width[NCOLS])
{
	for (int i = 0; i < NCOLS; i++) {
		const char *sep = i ? "  " : "";

		if (col_right[i])
			fprintf(f, "%s%*s", sep, width[i], cell[i]);
		else if (i + 1 < NCOLS)
			fprintf(f, "%s%-*s", sep, width[i], cell[i]);
		else
			fprintf(f, "%s%s", sep, cell[i]);
	}
	fputc('\n', f);
}

void bitmap_print_table(FILE *f, const struct pcmig_bitmap *v, size_t n)
{
	char cell[NCOLS][CELL_LEN];
	int width[NCOLS];

	/* Two passes: the widths first, so every column lines up. */
	for (int i = 0; i < NCOLS; i++)
		width[i] = (int)strlen(col_head[i]);
	for (size_t r = 0; r < n; r++) {
		row_cells(&v[r], cell);
		for (int i = 0; i < NCOLS; i++)
			if ((int)strlen(cell[i]) > width[i])
				width[i] = (int)strlen(cell[i]);
	}
	for (int i = 0; i < NCOLS; i++)
		snprintf(cell[i], CELL_LEN, "%s", col_head[i]);
	print_row(f, cell, width);
	for (size_t r = 0; r < n; r++) {
		row_cells(&v[r], cell);
		print_row(f, cell, width);
	}
}

/* A request naming a bitmap of a node; NULL if out of memory. */
static struct nl_msg *bitmap_msg(struct pcnl *nl, uint8_t cmd, int flags,
				 const char *node, const char *name)
{
	struct nl_msg *msg = pcnl_msg(nl, cmd, flags);

	if (msg && (nla_put_string(msg, PCMIG_A_NODE, node) ||
		    nla_put_string(msg, PCMIG_A_BITMAP, name))) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

int op_bitmap_add(struct pcnl *nl, const char *node, const char *name,
		  uint32_t granularity, bool enabled)
{
	struct nl_msg *msg = bitmap_msg(nl, PCMIG_CMD_BITMAP_ADD, 0, node,
					name);

	if (!msg)
		return -ENOMEM;
	/* Sent only when set, so the module's defaults apply otherwise. */
	if ((granularity &&
	     nla_put_u32(msg, PCMIG_A_GRANULARITY, granularity)) ||
	    (!enabled && nla_put_u8(msg, PCMIG_A_ENABLED, 0))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return pcnl_request(nl, msg, NULL, NULL);
}

static int simple(struct pcnl *nl, uint8_t cmd, const char *node,
		  const char *name)
{
	struct nl_msg *msg = bitmap_msg(nl, cmd, 0, node, name);

	if (!msg)
		return -ENOMEM;
	return pcnl_request(nl, msg, NULL, NULL);
}

int op_bitmap_del(struct pcnl *nl, const char *node, const char *name)
{
	return simple(nl, PCMIG_CMD_BITMAP_DEL, node, name);
}

int op_bitmap_clear(struct pcnl *nl, const char *node, const char *name)
{
	return simple(nl, PCMIG_CMD_BITMAP_CLEAR, node, name);
}

int op_bitmap_set(struct pcnl *nl, const char *node, const char *name,
		  bool enabled)
{
	struct nl_msg *msg = bitmap_msg(nl, PCMIG_CMD_BITMAP_SET, 0, node,
					name);

	if (!msg)
		return -ENOMEM;
	if (nla_put_u8(msg, PCMIG_A_ENABLED, enabled)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return pcnl_request(nl, msg, NULL, NULL);
}

int op_bitmap_merge(struct pcnl *nl, const char *node, const char *src,
		    const char *dst)
{
	struct nl_msg *msg = bitmap_msg(nl, PCMIG_CMD_BITMAP_MERGE, 0, node,
					dst);

	if (!msg)
		return -ENOMEM;
	if (nla_put_string(msg, PCMIG_A_BITMAP_SRC, src)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return pcnl_request(nl, msg, NULL, NULL);
}

/* Set after pcnl_request(): the end of the dump resets nl->extack. */
static void explain(struct pcnl *nl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void explain(struct pcnl *nl, const char *fmt, ...)
{
	va_list ap;

	if (nl->extack[0])
		return;
	va_start(ap, fmt);
	vsnprintf(nl->extack, sizeof(nl->extack), fmt, ap);
	va_end(ap);
}

/* The BITMAP_GET and SESSION_BITMAPS dumps, refused when interrupted. */
static int dump_bitmaps(struct pcnl *nl, struct nl_msg *msg,
			size_t elem_size, pcnl_msg_fn fill, void **list,
			size_t *n)
{
	bool intr;
	int ret = pcnl_dump_array(nl, msg, elem_size, fill, &intr, list, n);

	if (intr)
		explain(nl, "the bitmaps changed during the dump; try again");
	return ret;
}

static int on_bitmap(struct nl_msg *msg, void *arg)
{
	return bitmap_from_msg(msg, arg);
}

int op_bitmap_list(struct pcnl *nl, const char *node,
		   struct pcmig_bitmap **list, size_t *n)
{
	struct nl_msg *msg = pcnl_msg(nl, PCMIG_CMD_BITMAP_GET, NLM_F_DUMP);

	if (!msg)
		return -ENOMEM;
	if (node && nla_put_string(msg, PCMIG_A_NODE, node)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return dump_bitmaps(nl, msg, sizeof(**list), on_bitmap, (void **)list,
			    n);
}

static int on_session_bitmap(struct nl_msg *msg, void *arg)
{
	return session_bitmap_from_msg(msg, arg);
}

int op_session_bitmaps(struct pcnl *nl, uint32_t id,
		       struct pcmig_session_bitmap **list, size_t *n)
{
	struct nl_msg *msg = pcnl_msg(nl, PCMIG_CMD_SESSION_BITMAPS,
				      NLM_F_DUMP);

	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, PCMIG_A_SESSION_ID, id)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return dump_bitmaps(nl, msg, sizeof(**list), on_session_bitmap,
			    (void **)list, n);
}

struct extents_ctx {
	extent_fn fn;
	void *arg;
	uint64_t next;		/* no extent may start before this */
	struct pcmig_extent bad;
	bool disorder, intr;
};

static int on_extent(struct nl_msg *msg, void *arg)
{
	struct extents_ctx *c = arg;
	struct pcmig_extent e;

	if (pcnl_dump_interrupted(msg)) {
		c->intr = true;
		return -EINTR;
	}
	if (extent_from_msg(msg, &e))
		return -EBADMSG;
	if (extent_next(&c->next, &e)) {
		c->bad = e;
		c->disorder = true;
		return -EPROTO;
	}
	return c->fn(&e, c->arg);
}

int op_bitmap_extents(struct pcnl *nl, const char *node, const char *name,
		      uint64_t from, extent_fn fn, void *arg)
{
	struct nl_msg *msg = bitmap_msg(nl, PCMIG_CMD_BITMAP_EXTENTS,
					NLM_F_DUMP, node, name);
	struct extents_ctx c = { .fn = fn, .arg = arg, .next = from };
	int ret;

	if (!msg)
		return -ENOMEM;
	if (from && nla_put_u64(msg, PCMIG_A_OFFSET, from)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	ret = pcnl_request(nl, msg, on_extent, &c);
	if (c.intr)
		explain(nl, "the bitmap changed during the dump; try again");
	if (c.disorder)
		explain(nl,
			"extent of %" PRIu64 " bytes at offset %" PRIu64
			" is empty, out of order or overlapping (expected offset %" PRIu64 " or more)",
			c.bad.length, c.bad.offset, c.next);
	return ret;
}
