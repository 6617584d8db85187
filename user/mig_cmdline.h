/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command line `migrate` and `incoming` share: --caps, --timeout,
 * --bitmap-map, --vmm, --json, -v and -h mean the same to both, so one
 * parser reads them and hands each command only its own options.
 */
#ifndef PCMIGD_MIG_CMDLINE_H
#define PCMIGD_MIG_CMDLINE_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "mig.h"
#include "opts.h"

/* getopt_long() values of the shared options (after those, -v and -h). */
enum {
	MIG_OPT_CAPS = 256,
	MIG_OPT_TIMEOUT,
	MIG_OPT_BITMAP_MAP,
	MIG_OPT_VMM,
	MIG_OPT_JSON,
	MIG_OPT_OWN,	/* a command numbers its own options from here */
};

/* Their entries, for the end of a command's table, before { 0 }. */
#define MIG_CMDLINE_OPTIONS						\
	{ "caps", required_argument, NULL, MIG_OPT_CAPS },		\
	{ "timeout", required_argument, NULL, MIG_OPT_TIMEOUT },	\
	{ "bitmap-map", required_argument, NULL, MIG_OPT_BITMAP_MAP },	\
	{ "vmm", required_argument, NULL, MIG_OPT_VMM },		\
	{ "json", no_argument, NULL, MIG_OPT_JSON },			\
	{ "verbose", no_argument, NULL, 'v' },				\
	{ "help", no_argument, NULL, 'h' }

struct mig_cmdline {
	const char *cmd;		/* "migrate" or "incoming", in messages */
	const char *help;		/* what -h prints */
	struct mig *m;			/* takes --json and -v */
	struct session_params *p;	/* takes --caps and --bitmap-map */
	struct bitmap_map map;		/* p->bitmap_map once one is given */
	uint32_t timeout_s;		/* --timeout; the command presets it */
	const char *vmm_path;		/* --vmm, NULL without */
	/* Once mig_getopt() returned -1: -1 to go on, else the exit status. */
	int status;
	bool scanning;			/* mig_getopt() started its scan */
};

/*
 * getopt_long() over argv with opts: takes the shared options into cl and
 * returns each of the command's own (MIG_OPT_OWN and above), with optarg.
 * -1 at the end, or as soon as -h printed cl->help (cl->status EXIT_OK)
 * or an option or a positional argument is wrong (usage error printed,
 * cl->status EXIT_USAGE); cl->status is -1 when the command goes on.
 */
int mig_getopt(struct mig_cmdline *cl, int argc, char **argv,
	       const struct option *opts);

/*
 * After the command's own checks of its command line: --json moves the
 * informational lines to stderr, and a --bitmap-map without --caps
 * postcopy-bitmaps gets a warning (it does nothing).
 */
void mig_cmdline_done(const struct mig_cmdline *cl);

#endif
