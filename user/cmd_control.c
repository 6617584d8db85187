// SPDX-License-Identifier: GPL-2.0
/* pcmigd start-postcopy / cancel: one request on one session. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "nl.h"
#include "ops.h"
#include "opts.h"
#include "output.h"
#include "pcmigd.h"

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
	"Options:\n"
	"  -h, --help   show this help\n"
	"\n"
	EXIT_STATUS_HELP
	"  (no matching session: 3; several candidates: 2)\n"
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
	"Options:\n"
	"  -h, --help   show this help\n"
	"\n"
	EXIT_STATUS_HELP
	"  (no matching session: 3; several candidates: 2)\n"
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

static int run(int argc, char **argv, const char *cmd, const char *help,
	       uint8_t nlcmd, uint32_t role, const char *done)
{
	bool have_id = false;
	uint32_t id = 0;
	struct pcnl nl;
	char err[128];
	int ret;

	ret = simple_options(cmd, help, argc, argv, NULL);
	if (ret >= 0)
		return ret;
	if (optind < argc) {
		if (parse_u32(argv[optind], 0, UINT32_MAX, &id, err,
			      sizeof(err)))
			return usage_error(cmd, "SESSION: %s", err);
		have_id = true;
		optind++;
	}
	if (optind < argc)
		return usage_error(cmd, "unexpected argument '%s'",
				   argv[optind]);

	ret = pcnl_open(&nl, false);
	if (ret)
		return ret;
	if (!have_id)
		ret = pick_session(&nl, cmd, role, &id);
	if (!ret) {
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
