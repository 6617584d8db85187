// SPDX-License-Identifier: GPL-2.0
/* pcmigd status: sessions of this network namespace. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bitmap.h"
#include "json.h"
#include "nl.h"
#include "ops.h"
#include "opts.h"
#include "output.h"
#include "pcmigd.h"

static const char help[] =
	"Usage: pcmigd status [--bitmaps] [--json] [SESSION]\n"
	"\n"
	"Show the pcmig sessions of this network namespace, or only SESSION (a\n"
	"session id as printed by migrate, incoming and monitor): role, phase,\n"
	"capabilities, parameters, size of the device state held,\n"
	"whether start-postcopy was issued, the reason of a failure, and the\n"
	"statistics (bytes sent, received and remaining, bandwidth, precopy\n"
	"passes, elapsed time, downtime and expected downtime, bitmaps migrated\n"
	"in full and bitmaps that failed).  With a VM attached also its RAM\n"
	"size, whether a stop request waits for the VMM, and the RAM\n"
	"statistics: pages sent (received), zero pages, dirty pages still to\n"
	"send, dirty rate (pages/s) and whether the migration is not\n"
	"converging (the guest dirties memory faster than a pass sends it:\n"
	"then the first line says \"(not converging)\").\n"
	"\n"
	"With postcopy-ram also the RAM postcopy statistics the module keeps:\n"
	"on the source pc-requests (page requests received), pc-pages-requested\n"
	"(pages sent on request), pc-pages-background (sent by the background\n"
	"stream) and pc-dup-requests (requests for pages already sent); on the\n"
	"destination pc-requests (sent), pc-faults (faults on missing pages),\n"
	"pc-latency (request to page present: \"p50 850 us, p99 2.1 ms, max 3.0\n"
	"ms\") and one line per VMM thread that waited, \"pc-thread TID: 12\n"
	"faults, blocked 10.2 ms\".\n"
	"\n"
	"Options:\n"
	"  --bitmaps    also list the dirty bitmaps each session migrates and\n"
	"               what became of each so far, one line per bitmap:\n"
	"               \"bitmap NODE/NAME: STATE\", then \" (why)\" for pending or\n"
	"               done, \": why\" for error, dropped or skipped; NODE is\n"
	"               the node on this host.  With --json, each session gets\n"
	"               \"bitmaps\": [{\"node\", \"bitmap\", \"state\",\n"
	"               \"granularity\", \"enabled\", \"node_size\", \"reason\"}]\n"
	"  --json       print one JSON object {\"sessions\": [...]}; keys are the\n"
	"               netlink attribute names in snake_case (\"id\", \"role\",\n"
	"               \"phase\", \"caps\", \"max_bandwidth\", \"downtime_limit\",\n"
	"               \"max_postcopy_bandwidth\", \"devstate_size\",\n"
	"               \"ram_size\", \"postcopy_requested\", \"stop_requested\",\n"
	"               \"guest_at\" (\"here\", \"maybe-there\", \"there\": where the\n"
	"               guest runs once the source stopped it),\n"
	"               \"reason\", \"stats\": {...}, RAM stats \"pages_sent\",\n"
	"               \"zero_pages\", \"dirty_pages\", \"dirty_rate\" and\n"
	"               \"not_converging\" (0 or 1) among them,\n"
	"               with --bitmaps \"bitmaps\": [...]);\n"
	"               role, phase and caps are names.  With postcopy-ram\n"
	"               also \"postcopy\": {\"requests\", \"pages_requested\",\n"
	"               \"pages_background\", \"dup_requests\", \"faults\",\n"
	"               \"latency_us\": {\"p50\", \"p99\", \"max\"}, \"threads\":\n"
	"               [{\"tid\", \"faults\", \"blocked_us\"}]}, each number\n"
	"               when the module keeps it on this side, \"threads\"\n"
	"               always ([] when none)\n"
	"  -h, --help   show this help\n"
	"\n"
	EXIT_STATUS_HELP
	"\n"
	"Examples:\n"
	"  pcmigd status\n"
	"  pcmigd status --json 3\n"
	"  pcmigd status --bitmaps 3\n";

enum { OPT_JSON = 256, OPT_BITMAPS };

/*
 * Options: -1 to go on (optind at the first positional argument), else
 * the exit status (help printed, or usage error).
 */
static int options(int argc, char **argv, bool *json, bool *bitmaps)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "bitmaps", no_argument, NULL, OPT_BITMAPS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			*json = true;
			break;
		case OPT_BITMAPS:
			*bitmaps = true;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_OK;
		default:
			return bad_option("status", argv);
		}
	}
	return -1;
}

/* A session and, with --bitmaps, what it does with its bitmaps. */
struct shown {
	struct pcmig_session *s;
	struct pcmig_session_bitmap *bm;
	size_t nbm;
	bool have_bm;
};

/*
 * SESSION_BITMAPS of each session.  A session that went away since it
 * was listed is shown without bitmaps.  Exit code.
 */
static int get_bitmaps(struct pcnl *nl, struct shown *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = op_session_bitmaps(nl, v[i].s->id, &v[i].bm,
					     &v[i].nbm);

		if (ret == -ENOENT)
			continue;
		if (ret)
			return pcnl_fail(nl, "SESSION_BITMAPS", ret);
		v[i].have_bm = true;
	}
	return EXIT_OK;
}

static void print_json(const struct shown *v, size_t n)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	json_arr_begin(&j, "sessions");
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(&j, NULL);
		session_json_members(&j, v[i].s);
		if (v[i].have_bm)
			session_bitmaps_json(&j, "bitmaps", v[i].bm,
					     v[i].nbm);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_done(&j);
}

static void print_text(const struct shown *v, size_t n, bool bitmaps)
{
	char line[SESSION_BITMAP_LINE_MAX];

	if (!n) {
		printf("no sessions\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			putchar('\n');
		session_print(stdout, v[i].s);
		if (!bitmaps || !v[i].have_bm)
			continue;
		if (!v[i].nbm)
			printf("  %-23s %s\n", "bitmaps:", "none");
		for (size_t k = 0; k < v[i].nbm; k++) {
			session_bitmap_line(&v[i].bm[k], line, sizeof(line));
			printf("  %s\n", line);
		}
	}
}

int cmd_status(int argc, char **argv)
{
	struct pcmig_session one, *list = &one;
	bool json = false, bitmaps = false, have_id = false;
	struct shown *shown = NULL;
	size_t n = 1;
	uint32_t id = 0;
	struct pcnl nl;
	char err[128];
	int ret;

	ret = options(argc, argv, &json, &bitmaps);
	if (ret >= 0)
		return ret;
	if (optind < argc) {
		if (parse_u32(argv[optind], 0, UINT32_MAX, &id, err,
			      sizeof(err)))
			return usage_error("status", "SESSION: %s", err);
		have_id = true;
		optind++;
	}
	if (optind < argc)
		return usage_error("status", "unexpected argument '%s'",
				   argv[optind]);

	ret = pcnl_open(&nl, false);
	if (ret)
		return ret;
	if (have_id)
		ret = op_session_get(&nl, id, &one);
	else
		ret = op_session_list(&nl, &list, &n);
	if (ret) {
		ret = pcnl_fail(&nl, "SESSION_GET", ret);
		goto out;
	}
	shown = calloc(n ? n : 1, sizeof(*shown));
	if (!shown) {
		error("out of memory");
		ret = EXIT_ENV;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		shown[i].s = &list[i];
	if (bitmaps) {
		ret = get_bitmaps(&nl, shown, n);
		if (ret)
			goto out;
	}
	if (json)
		print_json(shown, n);
	else
		print_text(shown, n, bitmaps);
out:
	for (size_t i = 0; shown && i < n; i++)
		free(shown[i].bm);
	free(shown);
	if (list != &one)
		free(list);
	pcnl_close(&nl);
	return ret;
}
