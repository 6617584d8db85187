// SPDX-License-Identifier: GPL-2.0
/* pcmigd status: sessions of this network namespace. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "json.h"
#include "nl.h"
#include "ops.h"
#include "opts.h"
#include "output.h"
#include "pcmigd.h"

static const char help[] =
	"Usage: pcmigd status [--json] [SESSION]\n"
	"\n"
	"Show the pcmig sessions of this network namespace, or only SESSION (a\n"
	"session id as printed by migrate, incoming and monitor): role, phase,\n"
	"capabilities, parameters, size of the device state held,\n"
	"whether start-postcopy was issued, the reason of a failure, and the\n"
	"statistics (bytes sent, received and remaining, bandwidth, precopy\n"
	"passes, elapsed time, downtime and expected downtime).\n"
	"\n"
	"Options:\n"
	"  --json       print one JSON object {\"sessions\": [...]}; keys are the\n"
	"               netlink attribute names in snake_case (\"id\", \"role\",\n"
	"               \"phase\", \"caps\", \"max_bandwidth\", \"downtime_limit\",\n"
	"               \"max_postcopy_bandwidth\", \"devstate_size\",\n"
	"               \"postcopy_requested\", \"reason\", \"stats\": {...});\n"
	"               role, phase and caps are names\n"
	"  -h, --help   show this help\n"
	"\n"
	EXIT_STATUS_HELP
	"\n"
	"Examples:\n"
	"  pcmigd status\n"
	"  pcmigd status --json 3\n";

int cmd_status(int argc, char **argv)
{
	struct pcmig_session one, *list = &one;
	bool json = false, have_id = false;
	size_t n = 1;
	uint32_t id = 0;
	struct pcnl nl;
	char err[128];
	int ret;

	ret = simple_options("status", help, argc, argv, &json);
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
	if (json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_arr_begin(&j, "sessions");
		for (size_t i = 0; i < n; i++)
			session_json(&j, NULL, &list[i]);
		json_arr_end(&j);
		json_obj_end(&j);
		json_done(&j);
	} else if (!n) {
		printf("no sessions\n");
	} else {
		for (size_t i = 0; i < n; i++) {
			if (i)
				putchar('\n');
			session_print(stdout, &list[i]);
		}
	}
	if (list != &one)
		free(list);
out:
	pcnl_close(&nl);
	return ret;
}
