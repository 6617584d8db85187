// SPDX-License-Identifier: GPL-2.0
/* pcmigd caps: what the loaded module speaks and supports. */
#include <getopt.h>
#include <stdio.h>

#include "json.h"
#include "names.h"
#include "nl.h"
#include "ops.h"
#include "output.h"
#include "pcmigd.h"

static const char help[] =
	"Usage: pcmigd caps [--json]\n"
	"\n"
	"Show what the loaded pcmig module speaks: the version of its netlink\n"
	"family, the version of the migration stream it sends and accepts, the\n"
	"capabilities it supports and how many sessions a network namespace may\n"
	"hold.  Both sides of a migration must run the same stream version and\n"
	"enable the same capabilities.  Needs no privilege.\n"
	"\n"
	"Options:\n"
	"  --json       print one JSON object: version, stream_version,\n"
	"               caps_supported (names), sessions_max\n"
	"  -h, --help   show this help\n"
	"\n"
	EXIT_STATUS_HELP
	"\n"
	"Example:\n"
	"  $ pcmigd caps\n"
	"  family version:  1\n"
	"  stream version:  1\n"
	"  capabilities:    postcopy-ram,postcopy-bitmaps\n"
	"  sessions max:    8\n";

int cmd_caps(int argc, char **argv)
{
	struct pcmig_info info;
	bool json = false;
	struct pcnl nl;
	char caps[128];
	int ret;

	ret = simple_options("caps", help, argc, argv, &json);
	if (ret >= 0)
		return ret;
	if (optind < argc)
		return usage_error("caps", "unexpected argument '%s'",
				   argv[optind]);

	ret = pcnl_open(&nl, false);
	if (ret)
		return ret;
	ret = op_get_info(&nl, &info);
	if (ret) {
		ret = pcnl_fail(&nl, "GET_INFO", ret);
		goto out;
	}
	if (json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_u64(&j, "version", info.version);
		json_u64(&j, "stream_version", info.stream_version);
		json_caps(&j, "caps_supported", info.caps_supported);
		json_u64(&j, "sessions_max", info.sessions_max);
		json_obj_end(&j);
		json_done(&j);
	} else {
		caps_format(info.caps_supported, caps, sizeof(caps));
		printf("family version:  %u\n", info.version);
		printf("stream version:  %u\n", info.stream_version);
		printf("capabilities:    %s\n", caps);
		printf("sessions max:    %u\n", info.sessions_max);
	}
out:
	pcnl_close(&nl);
	return ret;
}
