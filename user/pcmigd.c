// SPDX-License-Identifier: GPL-2.0
/*
 * pcmigd: drives pcmig, live migration of KVM VMs as a kernel service.
 * This file only dispatches to the subcommands (cmd_*.c).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <linux/pcmig.h>

#include "output.h"
#include "pcmigd.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "caps", cmd_caps, "show the module's versions and capabilities" },
	{ "incoming", cmd_incoming, "receive a migration (destination side)" },
	{ "migrate", cmd_migrate, "send a migration (source side)" },
	{ "start-postcopy", cmd_start_postcopy,
	  "ask a source session to switch to postcopy" },
	{ "cancel", cmd_cancel, "cancel a session" },
	{ "set", cmd_set, "change a running session's limits" },
	{ "status", cmd_status, "show sessions and their statistics" },
	{ "monitor", cmd_monitor, "print session events as they happen" },
	{ "bitmap", cmd_bitmap,
	  "manage the dirty bitmaps of block nodes (dm target pcmig)" },
};

static void help(void)
{
	printf("Usage: pcmigd COMMAND [OPTIONS]\n"
	       "       pcmigd COMMAND --help\n"
	       "       pcmigd --help | --version\n"
	       "\n"
	       "Live migration of KVM virtual machines with the pcmig kernel module.\n"
	       "pcmigd negotiates with its peer over TCP, hands the connection to\n"
	       "the module over the \"pcmig\" generic netlink family and follows the\n"
	       "migration; the data itself moves in the kernel.\n"
	       "\n"
	       "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-16s %s\n", commands[i].name, commands[i].summary);
	printf("\n"
	       "Options:\n"
	       "  -h, --help     show this help\n"
	       "  --version      show pcmigd's version and the uapi versions it speaks\n"
	       "\n"
	       EXIT_STATUS_HELP
	       "\n"
	       "Example (two hosts):\n"
	       "  dst$ pcmigd incoming --listen :4444 --caps postcopy-ram\n"
	       "  src$ pcmigd migrate --to 127.0.1.2:4444 --caps postcopy-ram\n"
	       "  src$ pcmigd start-postcopy\n"
	       "\n"
	       "See pcmigd(8) (Documentation/pcmig/pcmigd.rst) for details.\n");
}

int main(int argc, char **argv)
{
	/* Line-buffered even into a pipe: scripts follow our output live. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A vanished peer must be an error return, not a silent death. */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2)
		return usage_error(NULL, "missing command");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		help();
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("pcmigd %s (netlink family \"%s\" version %d, stream version %d)\n",
		       PCMIGD_VERSION, PCMIG_GENL_NAME, PCMIG_GENL_VERSION,
		       PCMIG_STREAM_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return usage_error(NULL, "unknown option '%s'", argv[1]);
	return usage_error(NULL, "unknown command '%s'", argv[1]);
}
