// SPDX-License-Identifier: GPL-2.0
/* pcmigd start-postcopy / cancel / set: one request on one session. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "nl.h"
#include "ops.h"
#include "opts.h"
#include "output.h"
#include "pcmigd.h"

/* After EXIT_STATUS_HELP: the codes of pick_session()'s failures. */
#define PICK_STATUS_HELP \
	"  (no matching session: 3; several candidates: 2)\n"

static const char start_postcopy_help[] =
	"Usage: pcmigd start-postcopy [SESSION]\n"
	"\n"
	"Ask a source session to switch from precopy to postcopy (rule S3).  The\n"
	"request may be issued any time after the migration started, even at\n"
	"once; it is recorded and the switch happens when the conditions of\n"
	"rule S2 allow it, so it does not guarantee an immediate switch.\n"
	"Issued after the migration ended it is harmless.  The session must\n"
	"have a postcopy capability (postcopy-ram or postcopy-bitmaps).\n"
	"\n"
	"Without SESSION, acts on the only source session of this network\n"
	"namespace; if there is none or several, says so and lists them.\n"
	"Needs CAP_NET_ADMIN.\n"
	"\n"
	HELP_ONLY_OPTIONS_HELP
	PICK_STATUS_HELP
	"\n"
	"Examples:\n"
	"  pcmigd start-postcopy\n"
	"  pcmigd start-postcopy 3\n";

static const char cancel_help[] =
	"Usage: pcmigd cancel [SESSION]\n"
	"\n"
	"Cancel a session: its migration stops and the session ends in phase\n"
	"cancelled.  The pcmigd that owns the session (migrate or incoming)\n"
	"then exits with status 1.  A cancelled source VM keeps running on the\n"
	"source, except during RAM postcopy, where neither side holds a\n"
	"complete copy of the guest (rule S7).\n"
	"\n"
	"Without SESSION, acts on the only session of this network namespace;\n"
	"if there is none or several, says so and lists them.  Needs\n"
	"CAP_NET_ADMIN.\n"
	"\n"
	HELP_ONLY_OPTIONS_HELP
	PICK_STATUS_HELP
	"\n"
	"Examples:\n"
	"  pcmigd cancel\n"
	"  pcmigd cancel 3\n";

/* The one session matching role (0: any); prints the candidates if not. */
static int pick_session(struct pcnl *nl, const char *cmd, uint32_t role,
			uint32_t *id)
{
	struct pcmig_session *list;
	size_t n, match = 0;
	int ret;

	ret = op_session_list(nl, &list, &n);
	if (ret)
		return pcnl_fail(nl, "SESSION_GET", ret);
	for (size_t i = 0; i < n; i++) {
		if (role && list[i].role != role)
			continue;
		*id = list[i].id;
		match++;
	}
	if (match == 1) {
		ret = EXIT_OK;
	} else {
		error("%s: %s %ssession in this network namespace%s", cmd,
		      match ? "more than one" : "no", role ? "source " : "",
		      match ? "; name one:" : "");
		for (size_t i = 0; i < n; i++) {
			if (!match || (role && list[i].role != role))
				continue;
			fputs("  ", stderr);
			session_print_brief(stderr, &list[i]);
			fputc('\n', stderr);
		}
		ret = match ? EXIT_USAGE : EXIT_ENV;
	}
	free(list);
	return ret;
}

/*
 * The optional SESSION argument, the last one; *have_id says whether it
 * was given.  EXIT_OK or the usage error.
 */
static int take_session(const char *cmd, int argc, char **argv,
			uint32_t *id, bool *have_id)
{
	char err[128];

	*have_id = false;
	if (optind < argc) {
		if (parse_u32(argv[optind], 0, UINT32_MAX, id, err,
			      sizeof(err)))
			return usage_error(cmd, "SESSION: %s", err);
		*have_id = true;
		optind++;
	}
	if (optind < argc)
		return usage_error(cmd, "unexpected argument '%s'",
				   argv[optind]);
	return EXIT_OK;
}

/*
 * Sends nlcmd (SESSION_SET: with the limits of p) to session id, or
 * without have_id to the one session of role (0: any), and says how it
 * went: "DONE: session N".
 */
static int request(const char *cmd, bool have_id, uint32_t id,
		   uint32_t role, uint8_t nlcmd,
		   const struct session_params *p, const char *done)
{
	struct pcnl nl;
	int ret;

	ret = pcnl_open(&nl, false);
	if (ret)
		return ret;
	if (!have_id)
		ret = pick_session(&nl, cmd, role, &id);
	if (!ret) {
		if (nlcmd == PCMIG_CMD_SESSION_SET)
			ret = op_session_set(&nl, id, p);
		else
			ret = op_session_cmd(&nl, nlcmd, id);
		if (ret) {
			char what[64];

			snprintf(what, sizeof(what), "%s session %u", cmd, id);
			ret = pcnl_fail(&nl, what, ret);
		} else {
			printf("%s: session %u\n", done, id);
		}
	}
	pcnl_close(&nl);
	return ret;
}

static int run(int argc, char **argv, const char *cmd, const char *help,
	       uint8_t nlcmd, uint32_t role, const char *done)
{
	uint32_t id = 0;
	bool have_id;
	int ret;

	ret = simple_options(cmd, help, argc, argv, NULL);
	if (ret >= 0)
		return ret;
	ret = take_session(cmd, argc, argv, &id, &have_id);
	if (ret)
		return ret;
	return request(cmd, have_id, id, role, nlcmd, NULL, done);
}

int cmd_start_postcopy(int argc, char **argv)
{
	return run(argc, argv, "start-postcopy", start_postcopy_help,
		   PCMIG_CMD_START_POSTCOPY, PCMIG_ROLE_SOURCE,
		   "postcopy requested");
}

int cmd_cancel(int argc, char **argv)
{
	return run(argc, argv, "cancel", cancel_help, PCMIG_CMD_CANCEL, 0,
		   "cancel requested");
}

static const char set_help[] =
	"Usage: pcmigd set [SESSION] [--max-bandwidth N] [--downtime-limit MS]\n"
	"                  [--max-postcopy-bandwidth N]\n"
	"\n"
	"Change the limits of a running session; the module uses the new value\n"
	"from its next decision or frame.  This is the remedy for a guest that\n"
	"does not converge (its RAM is dirtied faster than a precopy pass can\n"
	"send it): raise --max-bandwidth, or --downtime-limit so that rule S2\n"
	"lets the source stop with more left to send.\n"
	"\n"
	"Without SESSION, acts on the only session of this network namespace;\n"
	"if there is none or several, says so and lists them.  Needs\n"
	"CAP_NET_ADMIN.\n"
	"\n"
	"Options:\n"
	"  --max-bandwidth N   precopy bandwidth limit in bytes/s; suffixes K, M,\n"
	"                      G (binary); 0 = unlimited\n"
	"  --downtime-limit MS the stopped phase may last this long (1..2000000)\n"
	"  --max-postcopy-bandwidth N\n"
	"                      bandwidth limit in postcopy; 0 = unlimited\n"
	"  -h, --help          show this help\n"
	"\n"
	EXIT_STATUS_HELP
	PICK_STATUS_HELP
	"\n"
	"Examples:\n"
	"  pcmigd set --max-bandwidth 1G\n"
	"  pcmigd set 3 --downtime-limit 2000\n";

enum { OPT_SET_MAX_BW = 256, OPT_SET_DOWNTIME, OPT_SET_MAX_PC_BW };

int cmd_set(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "max-bandwidth", required_argument, NULL, OPT_SET_MAX_BW },
		{ "downtime-limit", required_argument, NULL, OPT_SET_DOWNTIME },
		{ "max-postcopy-bandwidth", required_argument, NULL,
		  OPT_SET_MAX_PC_BW },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct session_params p = { 0 };
	uint32_t id = 0;
	bool have_id;
	char err[128];
	int c, ret;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SET_MAX_BW:
			if (parse_size(optarg, &p.max_bandwidth, err,
				       sizeof(err)))
				return usage_error("set", "--max-bandwidth: %s",
						   err);
			p.has_max_bandwidth = true;
			break;
		case OPT_SET_DOWNTIME:
			if (parse_u32(optarg, 1, PCMIG_DOWNTIME_LIMIT_MAX,
				      &p.downtime_limit, err, sizeof(err)))
				return usage_error("set", "--downtime-limit: %s",
						   err);
			p.has_downtime_limit = true;
			break;
		case OPT_SET_MAX_PC_BW:
			if (parse_size(optarg, &p.max_postcopy_bandwidth, err,
				       sizeof(err)))
				return usage_error("set",
						   "--max-postcopy-bandwidth: %s",
						   err);
			p.has_max_postcopy_bandwidth = true;
			break;
		case 'h':
			fputs(set_help, stdout);
			return EXIT_OK;
		default:
			return bad_option("set", argv);
		}
	}
	ret = take_session("set", argc, argv, &id, &have_id);
	if (ret)
		return ret;
	if (!p.has_max_bandwidth && !p.has_downtime_limit &&
	    !p.has_max_postcopy_bandwidth)
		return usage_error("set", "nothing to set: give --max-bandwidth, --downtime-limit or --max-postcopy-bandwidth");
	return request("set", have_id, id, 0, PCMIG_CMD_SESSION_SET, &p, "set");
}
