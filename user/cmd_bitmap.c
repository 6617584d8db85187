// SPDX-License-Identifier: GPL-2.0
/* pcmigd bitmap ...: dirty bitmaps of block nodes (dm target "pcmig"). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitmap.h"
#include "json.h"
#include "nl.h"
#include "opts.h"
#include "output.h"
#include "pcmigd.h"

static const char bitmap_help[] =
	"Usage: pcmigd bitmap SUBCOMMAND [OPTIONS] ARGUMENTS\n"
	"       pcmigd bitmap SUBCOMMAND --help\n"
	"\n"
	"Manage the dirty bitmaps of pcmig block nodes.  A node is one instance\n"
	"of the device-mapper target \"pcmig\", a linear mapping onto a backing\n"
	"device whose table line names the node:\n"
	"\n"
	"  START LENGTH pcmig BACKING-DEVICE OFFSET NODE\n"
	"\n"
	"A node holds any number of named bitmaps.  An enabled bitmap marks every\n"
	"granule (GRANULARITY bytes, a power of two) touched by a write, discard\n"
	"or write-zeroes on the node; a disabled bitmap keeps its bits as they\n"
	"are.  A backup tool reads the dirty extents with \"bitmap dump\" and\n"
	"copies only those.  Bitmaps live in kernel memory: they vanish with the\n"
	"target.\n"
	"\n"
	"Subcommands:\n"
	"  add NODE NAME [--granularity SIZE] [--disabled]\n"
	"                      create a bitmap, all clean\n"
	"  remove NODE NAME    delete a bitmap\n"
	"  list [NODE] [--json]\n"
	"                      show the bitmaps of every node, or of NODE\n"
	"  enable NODE NAME    record writes in a bitmap\n"
	"  disable NODE NAME   stop recording writes in a bitmap\n"
	"  clear NODE NAME     mark every granule of a bitmap clean\n"
	"  merge NODE SRC DST  mark dirty in DST every granule dirty in SRC\n"
	"  dump NODE NAME [--from OFFSET] [--json]\n"
	"                      print the dirty extents of a bitmap\n"
	"\n"
	"Every subcommand needs CAP_NET_ADMIN and takes -h, --help.\n"
	"\n"
	EXIT_STATUS_HELP
	"\n"
	"Example (incremental backups of node vda):\n"
	"  pcmigd bitmap add vda inc1      # with the full backup\n"
	"  pcmigd bitmap add vda inc2      # later: the next increment starts\n"
	"  pcmigd bitmap disable vda inc1  # and this one is frozen\n"
	"  pcmigd bitmap dump vda inc1 >inc1.extents\n"
	"  pcmigd bitmap remove vda inc1   # once inc1.extents were copied\n";

static const char add_help[] =
	"Usage: pcmigd bitmap add NODE NAME [--granularity SIZE] [--disabled]\n"
	"\n"
	"Create bitmap NAME on NODE, with every granule clean.  From then on an\n"
	"enabled bitmap marks what is written to the node.  NAME is 1 to 255\n"
	"bytes and must not exist on NODE yet; the module refuses names with\n"
	"characters it does not accept.\n"
	"\n"
	"Options:\n"
	"  --granularity SIZE  bytes covered by one bit: a power of two from 512\n"
	"                      to 2G, with an optional K, M or G suffix (powers\n"
	"                      of 1024); default 64K.  Smaller granules make\n"
	"                      smaller increments and larger bitmaps (one bit per\n"
	"                      granule of the node, in kernel memory).  Bitmaps\n"
	"                      merge only with bitmaps of the same granularity.\n"
	"  --disabled          create the bitmap disabled: it marks nothing until\n"
	"                      \"bitmap enable\"\n"
	"  -h, --help          show this help\n"
	"\n"
	EXIT_STATUS_HELP
	"\n"
	"Examples:\n"
	"  pcmigd bitmap add vda backup\n"
	"  pcmigd bitmap add vda fine --granularity 4K --disabled\n";

static const char remove_help[] =
	"Usage: pcmigd bitmap remove NODE NAME\n"
	"\n"
	"Delete bitmap NAME of NODE and free its memory.  Its dirty granules are\n"
	"lost: merge them into another bitmap first if they are still needed.\n"
	"\n"
	HELP_ONLY_OPTIONS_HELP
	"\n"
	"Example:\n"
	"  pcmigd bitmap remove vda backup\n";

static const char list_help[] =
	"Usage: pcmigd bitmap list [NODE] [--json]\n"
	"\n"
	"Show the bitmaps of every node, or only those of NODE, one line each:\n"
	"node, bitmap, granularity, whether it is enabled, dirty granules,\n"
	"dirty bytes (dirty granules times the granularity, at most the node\n"
	"size) and the size of the node.  Nodes without bitmaps are not shown.\n"
	"\n"
	"Options:\n"
	"  --json       print one JSON object {\"bitmaps\": [...]}; each bitmap has\n"
	"               the keys \"node\", \"bitmap\", \"granularity\" (bytes),\n"
	"               \"enabled\" (true or false), \"dirty_count\" (granules),\n"
	"               \"dirty_bytes\" and \"node_size\" (bytes)\n"
	"  -h, --help   show this help\n"
	"\n"
	EXIT_STATUS_HELP
	"\n"
	"Example:\n"
	"  $ pcmigd bitmap list\n"
	"  NODE  BITMAP  GRANULARITY  ENABLED  DIRTY-GRANULES  DIRTY-BYTES  NODE-SIZE\n"
	"  vda   inc2    64 KiB       yes                 162     10.1 MiB   20.0 GiB\n";

static const char enable_help[] =
	"Usage: pcmigd bitmap enable NODE NAME\n"
	"\n"
	"Enable bitmap NAME of NODE: from now on it marks the granules written\n"
	"to the node, in addition to those already dirty.  Enabling an enabled\n"
	"bitmap changes nothing.\n"
	"\n"
	HELP_ONLY_OPTIONS_HELP
	"\n"
	"Example:\n"
	"  pcmigd bitmap enable vda backup\n";

static const char disable_help[] =
	"Usage: pcmigd bitmap disable NODE NAME\n"
	"\n"
	"Disable bitmap NAME of NODE: it keeps its dirty granules but marks no\n"
	"new ones, so its extents stay as they are while a backup tool reads\n"
	"them.  Writes that were in flight may still be marked.  Disabling a\n"
	"disabled bitmap changes nothing.\n"
	"\n"
	HELP_ONLY_OPTIONS_HELP
	"\n"
	"Example:\n"
	"  pcmigd bitmap disable vda backup\n";

static const char clear_help[] =
	"Usage: pcmigd bitmap clear NODE NAME\n"
	"\n"
	"Mark every granule of bitmap NAME of NODE clean; an enabled bitmap goes\n"
	"on marking new writes.  What was dirty is lost: writes between the last\n"
	"dump and the clear are in no increment.  To start a new increment\n"
	"without such a gap, add a new bitmap and disable the old one instead.\n"
	"\n"
	HELP_ONLY_OPTIONS_HELP
	"\n"
	"Example:\n"
	"  pcmigd bitmap clear vda backup\n";

static const char merge_help[] =
	"Usage: pcmigd bitmap merge NODE SRC DST\n"
	"\n"
	"Mark dirty in bitmap DST of NODE every granule that is dirty in bitmap\n"
	"SRC of NODE (DST |= SRC).  SRC is left as it is; DST may be enabled and\n"
	"in use meanwhile.  Both must have the same granularity.\n"
	"\n"
	HELP_ONLY_OPTIONS_HELP
	"\n"
	"Example (a failed backup of inc1: retry its extents with the next one):\n"
	"  pcmigd bitmap merge vda inc1 inc2\n";

static const char dump_help[] =
	"Usage: pcmigd bitmap dump NODE NAME [--from OFFSET] [--json]\n"
	"\n"
	"Print the dirty extents of bitmap NAME of NODE: the byte ranges of the\n"
	"node whose granules are dirty, in increasing order.  One line per\n"
	"extent, \"OFFSET LENGTH\", both decimal numbers of bytes.  Extents are\n"
	"whole granules, except that the last granule of the node may be\n"
	"partial and an extent holding --from starts at --from.\n"
	"\n"
	"The extents are printed as the module sends them, in constant memory\n"
	"whatever the size of the bitmap.  An enabled bitmap may gain extents\n"
	"while it is read: disable it first for a stable set.  If the dump\n"
	"fails part-way, the lines printed are correct but incomplete, the\n"
	"exit status is not 0, and --from with the end of the last extent\n"
	"printed resumes it.\n"
	"\n"
	"Options:\n"
	"  --from OFFSET  start at byte OFFSET of the node (a number with an\n"
	"                 optional K, M, G or T suffix; default 0)\n"
	"  --json         print one JSON object instead: {\"extents\":\n"
	"                 [{\"offset\": N, \"length\": N}, ...], \"total_bytes\": N}\n"
	"                 (total_bytes is the sum of the lengths)\n"
	"  -h, --help     show this help\n"
	"\n"
	EXIT_STATUS_HELP
	"\n"
	"Examples:\n"
	"  $ pcmigd bitmap dump vda inc1\n"
	"  0 65536\n"
	"  1048576 196608\n"
	"  $ pcmigd bitmap dump vda inc1 --from 1G --json\n";

/*
 * The positional arguments of a subcommand, node and bitmap names: what[i]
 * names the i-th in messages; the last nopt of the n may be missing.
 */
struct names_spec {
	const char *const *what;
	int n, nopt;
};

/*
 * Takes the positional arguments left by getopt into out, as spec says; a
 * missing one is NULL.
 */
static int take_names(const char *cmd, int argc, char **argv,
		      const struct names_spec *spec, const char **out)
{
	char err[64];

	for (int i = 0; i < spec->n; i++) {
		out[i] = NULL;
		if (optind >= argc) {
			if (i < spec->n - spec->nopt)
				return usage_error(cmd, "missing %s",
						   spec->what[i]);
			continue;
		}
		if (check_name(argv[optind], err, sizeof(err)))
			return usage_error(cmd, "%s: %s", spec->what[i], err);
		out[i] = argv[optind++];
	}
	if (optind < argc)
		return usage_error(cmd, "unexpected argument '%s'",
				   argv[optind]);
	return EXIT_OK;
}

/*
 * What every subcommand does once its options are read: takes its names,
 * then opens the request socket.  EXIT_OK with nl open, else the exit
 * status.
 */
static int open_names(const char *cmd, int argc, char **argv,
		      const struct names_spec *spec, const char **names,
		      struct pcnl *nl)
{
	int ret = take_names(cmd, argc, argv, spec, names);

	if (ret)
		return ret;
	return pcnl_open(nl, false);
}

/*
 * open_names() for a subcommand whose only options are -h and, with json,
 * --json (simple_options()).  -1 with nl open to go on, else the exit
 * status.
 */
static int simple_open_names(const char *cmd, const char *help, int argc,
			     char **argv, bool *json,
			     const struct names_spec *spec, const char **names,
			     struct pcnl *nl)
{
	int ret = simple_options(cmd, help, argc, argv, json);

	if (ret >= 0)
		return ret;
	ret = open_names(cmd, argc, argv, spec, names, nl);
	return ret ? ret : -1;
}

static const char *const node_name_what[] = { "NODE", "NAME" };
static const struct names_spec node_name = { .what = node_name_what, .n = 2 };

/* Reports the outcome of a request on bitmap name of node. */
static int report(struct pcnl *nl, int err, const char *cmd,
		  const char *node, const char *name, const char *done)
{
	char what[2 * PCMIG_NAME_MAX + 64];

	if (err) {
		snprintf(what, sizeof(what), "%s '%s' on node '%s'", cmd, name,
			 node);
		return pcnl_fail(nl, what, err);
	}
	printf("%s: bitmap '%s' on node '%s'\n", done, name, node);
	return EXIT_OK;
}

static int bitmap_add(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "granularity", required_argument, NULL, 'g' },
		{ "disabled", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *cmd = "bitmap add", *names[2];
	uint32_t granularity = 0;
	bool enabled = true;
	struct pcnl nl;
	char err[128];
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'g':
			if (parse_granularity(optarg, &granularity, err,
					      sizeof(err)))
				return usage_error(cmd, "--granularity: %s",
						   err);
			break;
		case 'd': enabled = false; break;
		case 'h': fputs(add_help, stdout); return EXIT_OK;
		default: return bad_option(cmd, argv);
		}
	}
	ret = open_names(cmd, argc, argv, &node_name, names, &nl);
	if (ret)
		return ret;
	ret = op_bitmap_add(&nl, names[0], names[1], granularity, enabled);
	ret = report(&nl, ret, cmd, names[0], names[1],
		     enabled ? "added" : "added (disabled)");
	pcnl_close(&nl);
	return ret;
}

/* remove, enable, disable, clear: NODE NAME and one request. */
static int simple(int argc, char **argv, const char *cmd, const char *help,
		  uint8_t nlcmd, bool enable, const char *done)
{
	const char *names[2];
	struct pcnl nl;
	int ret;

	ret = simple_open_names(cmd, help, argc, argv, NULL, &node_name, names,
				&nl);
	if (ret >= 0)
		return ret;
	if (nlcmd == PCMIG_CMD_BITMAP_SET)
		ret = op_bitmap_set(&nl, names[0], names[1], enable);
	else if (nlcmd == PCMIG_CMD_BITMAP_DEL)
		ret = op_bitmap_del(&nl, names[0], names[1]);
	else
		ret = op_bitmap_clear(&nl, names[0], names[1]);
	ret = report(&nl, ret, cmd, names[0], names[1], done);
	pcnl_close(&nl);
	return ret;
}

static int bitmap_remove(int argc, char **argv)
{
	return simple(argc, argv, "bitmap remove", remove_help,
		      PCMIG_CMD_BITMAP_DEL, false, "removed");
}

static int bitmap_enable(int argc, char **argv)
{
	return simple(argc, argv, "bitmap enable", enable_help,
		      PCMIG_CMD_BITMAP_SET, true, "enabled");
}

static int bitmap_disable(int argc, char **argv)
{
	return simple(argc, argv, "bitmap disable", disable_help,
		      PCMIG_CMD_BITMAP_SET, false, "disabled");
}

static int bitmap_clear(int argc, char **argv)
{
	return simple(argc, argv, "bitmap clear", clear_help,
		      PCMIG_CMD_BITMAP_CLEAR, false, "cleared");
}

static int bitmap_merge(int argc, char **argv)
{
	static const char *const what[] = { "NODE", "SRC", "DST" };
	static const struct names_spec spec = { .what = what, .n = 3 };
	const char *cmd = "bitmap merge", *names[3];
	char desc[3 * PCMIG_NAME_MAX + 64];
	struct pcnl nl;
	int ret;

	ret = simple_open_names(cmd, merge_help, argc, argv, NULL, &spec, names,
				&nl);
	if (ret >= 0)
		return ret;
	snprintf(desc, sizeof(desc), "'%s' into '%s' on node '%s'", names[1],
		 names[2], names[0]);
	ret = op_bitmap_merge(&nl, names[0], names[1], names[2]);
	if (ret) {
		char what_failed[sizeof(desc) + 16];

		snprintf(what_failed, sizeof(what_failed), "%s %s", cmd, desc);
		ret = pcnl_fail(&nl, what_failed, ret);
	} else {
		printf("merged: bitmap %s\n", desc);
	}
	pcnl_close(&nl);
	return ret;
}

/* ---- list ---------------------------------------------------------- */

static int bitmap_list(int argc, char **argv)
{
	static const char *const what[] = { "NODE" };
	static const struct names_spec spec = { .what = what, .n = 1, .nopt = 1 };
	const char *cmd = "bitmap list", *node;
	struct pcmig_bitmap *list = NULL;
	bool json = false;
	struct pcnl nl;
	size_t n = 0;
	int ret;

	ret = simple_open_names(cmd, list_help, argc, argv, &json, &spec, &node,
				&nl);
	if (ret >= 0)
		return ret;
	ret = op_bitmap_list(&nl, node, &list, &n);
	if (ret) {
		char what[PCMIG_NAME_MAX + 64];

		snprintf(what, sizeof(what), "%s%s%s%s", cmd,
			 node ? " on node '" : "", node ? node : "",
			 node ? "'" : "");
		ret = pcnl_fail(&nl, what, ret);
		goto out;
	}
	if (json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_arr_begin(&j, "bitmaps");
		for (size_t i = 0; i < n; i++)
			bitmap_json(&j, NULL, &list[i]);
		json_arr_end(&j);
		json_obj_end(&j);
		json_done(&j);
	} else if (!n) {
		printf("no bitmaps\n");
	} else {
		bitmap_print_table(stdout, list, n);
	}
	free(list);
out:
	pcnl_close(&nl);
	return ret;
}

/* ---- dump ---------------------------------------------------------- */

struct dump_out {
	FILE *f;
	bool json;
	bool started;		/* the JSON document was opened */
	struct json j;
	uint64_t total;
	int werr;		/* errno of a failed write: the reader's fault */
};

/*
 * The JSON document opens with the first extent (or at the end), so a
 * request the module refuses at once leaves stdout empty.
 */
static void dump_start(struct dump_out *o)
{
	if (!o->json || o->started)
		return;
	json_init(&o->j, o->f);
	json_obj_begin(&o->j, NULL);
	json_arr_begin(&o->j, "extents");
	o->started = true;
}

static int dump_extent(const struct pcmig_extent *e, void *arg)
{
	struct dump_out *o = arg;

	if (o->json) {
		dump_start(o);
		json_obj_begin(&o->j, NULL);
		json_u64(&o->j, "offset", e->offset);
		json_u64(&o->j, "length", e->length);
		json_obj_end(&o->j);
	} else {
		fprintf(o->f, "%" PRIu64 " %" PRIu64 "\n", e->offset,
			e->length);
	}
	o->total += e->length;
	/* A reader that went away (EPIPE) ends the dump: it is useless now. */
	if (ferror(o->f)) {
		o->werr = errno ? errno : EIO;
		return -o->werr;
	}
	return 0;
}

static int dump_finish(struct dump_out *o)
{
	if (o->json) {
		dump_start(o);
		json_arr_end(&o->j);
		json_u64(&o->j, "total_bytes", o->total);
		json_obj_end(&o->j);
		json_done(&o->j);
	}
	if ((fflush(o->f) == EOF || ferror(o->f)) && !o->werr)
		o->werr = errno ? errno : EIO;
	if (o->werr) {
		error("writing the extents: %s", strerror(o->werr));
		return EXIT_ENV;
	}
	return EXIT_OK;
}

static int bitmap_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *cmd = "bitmap dump", *names[2];
	struct dump_out o = { .f = stdout };
	char err[128], what[2 * PCMIG_NAME_MAX + 64];
	uint64_t from = 0;
	struct pcnl nl;
	int c, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (parse_size(optarg, &from, err, sizeof(err)))
				return usage_error(cmd, "--from: %s", err);
			break;
		case 'j': o.json = true; break;
		case 'h': fputs(dump_help, stdout); return EXIT_OK;
		default: return bad_option(cmd, argv);
		}
	}
	/*
	 * Millions of extents must not cost a write(2) each: into a pipe or
	 * a file, stdout is written a buffer at a time (still as the dump
	 * streams); on a terminal it stays line by line.  Nothing was
	 * written to it yet.
	 */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 0);
	ret = open_names(cmd, argc, argv, &node_name, names, &nl);
	if (ret)
		return ret;
	ret = op_bitmap_extents(&nl, names[0], names[1], from, dump_extent,
				&o);
	if (o.werr) {
		/* Reported by dump_finish(); the module did nothing wrong. */
		ret = 0;
	} else if (ret) {
		snprintf(what, sizeof(what), "%s '%s' on node '%s'", cmd,
			 names[1], names[0]);
		ret = pcnl_fail(&nl, what, ret);
		goto out;
	}
	ret = dump_finish(&o);
out:
	pcnl_close(&nl);
	return ret;
}

/* ---- dispatch ------------------------------------------------------ */

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct subcommand subcommands[] = {
	{ "add", bitmap_add },
	{ "remove", bitmap_remove },
	{ "list", bitmap_list },
	{ "enable", bitmap_enable },
	{ "disable", bitmap_disable },
	{ "clear", bitmap_clear },
	{ "merge", bitmap_merge },
	{ "dump", bitmap_dump },
};

int cmd_bitmap(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("bitmap", "missing subcommand");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(bitmap_help, stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]);
	     i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return usage_error("bitmap", "unknown option '%s'", argv[1]);
	return usage_error("bitmap", "unknown subcommand '%s'", argv[1]);
}
